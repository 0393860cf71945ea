#!/bin/bash
# Trust over real WireGuard (docs/trust.md "Whose chain is it", "Claims"):
# four hosts, host 1 the root, hosts 3 and 4 the root's members, host 2 a
# sub-master the root certified. Host 2 comes up late and hostile: its
# store holds a cert it issued to host 3 (a member it did not certify), a
# revocation of host 3, and a node record of host 4 (signed with host 4's
# key, newer than host 4's own) claiming the root's mesh address. Its
# anti-entropy offers them to everyone. Must hold: the foreign cert and the
# revocation are refused (host 3 keeps its records and its WireGuard peers
# everywhere), the claim is refused (no host puts the root's address in the
# allowed IPs of another peer), each counted in `status`.
# Needs root, iproute2, wireguard-go, jq; skips otherwise.
set -u
if [ "$(id -u)" != 0 ] || ! command -v wireguard-go >/dev/null || ! command -v jq >/dev/null; then
	echo "skip: needs root, wireguard-go and jq"
	exit 77
fi
B=${MN_BUILD:?}
S=${MN_SOURCE:?}
K=4
ctl=$B/mirrornetctl
T=$(mktemp -d /tmp/mn-trust.XXXXXX)
NS_LOGDIR=$T
. "$S/tests/netns/lib.sh"
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
final() { ns_cleanup; [ -n "${MN_KEEP:-}" ] || rm -rf "$T"; }
trap final EXIT
trap 'final; exit 130' INT TERM
on() { local i=$1; shift; MIRRORNET_SOCKET=$T/h$i/api.sock "$ctl" "$@"; }
wait_for() {
	local secs=$1 what=$2; shift 2
	local end=$((SECONDS + secs))
	while [ $SECONDS -lt $end ]; do
		if "$@" >/dev/null 2>&1; then ok "$what"; return 0; fi
		sleep 0.5
	done
	no "$what (not within ${secs}s)"
	return 1
}
id() { jq -r ".$2" "$T/h$1/id.json"; }
has_key() { on "$1" records "$2" --json | jq -e --arg k "$3" 'map(select(.key == $k)) | length == 1'; }
alive_n() { on "$1" status --json | jq -e ".alive >= $2"; }
counter() { on "$1" status --json | jq -r ".counters.$2 // empty"; }
b64() { printf "$(echo "$1" | sed 's/../\\x&/g')" | base64; }

ns_init "$K" || { no "namespaces"; exit 1; }
for i in $(seq 1 "$K"); do
	mkdir -p "$T/h$i"
	"$ctl" keygen --out "$T/h$i/node.key" >/dev/null
	"$ctl" keygen --show "$T/h$i/node.key" --json > "$T/h$i/id.json"
done
ROOT=$(id 1 did)
for i in 2 3 4; do
	role=peer; [ $i = 2 ] && role=sub-master
	"$ctl" cert issue --key "$T/h1/node.key" --subject "$(id $i did)" --role $role \
		--depth 1 --addr "10.42.0.$i" --out "$T/h$i/node.cert" >/dev/null || { no "cert $i"; exit 1; }
done
conf() {
	local i=$1 j
	echo "name host$i"
	echo "key $T/h$i/node.key"
	echo "db $T/h$i/store.db"
	echo "api $T/h$i/api.sock"
	echo "root $ROOT"
	echo "mesh_addr 10.42.0.$i"
	echo "wg_interface $(ns_if "$i")"
	echo "wg_endpoint $NS_UNDERLAY.$i:51820"
	echo "wg_keepalive_s 10"
	if [ "$i" = 1 ]; then
		echo "role master"
		for j in 2 3 4; do
			echo "wg_peer $(id $j did) $(id $j wireguard_public_key) $NS_UNDERLAY.$j:51820 10.42.0.$j"
		done
	else
		echo "cert $T/h$i/node.cert"
		echo "wg_peer $ROOT $(id 1 wireguard_public_key) $NS_UNDERLAY.1:51820 10.42.0.1"
	fi
}
start() {
	local i=$1
	conf "$i" > "$T/h$i/mirrornetd.conf"
	"$B/mirrornetd" -n -c "$T/h$i/mirrornetd.conf" >/dev/null || { no "config of host $i"; exit 1; }
	ns_bg "$i" "$T/h$i/log" "$B/mirrornetd" -c "$T/h$i/mirrornetd.conf" >/dev/null
}
for i in 1 2 3 4; do ns_wg_up "$i" || { no "wireguard-go in host $i"; exit 1; }; done

# the honest part first: hosts 1, 3, 4 agree on host 3's chain (root → host 3)
for i in 1 3 4; do start $i; done
three_alive() { alive_n 1 2 && alive_n 3 2 && alive_n 4 2; }
wait_for 90 "hosts 1, 3, 4 over WireGuard see each other alive" three_alive
H3=$(id 3 public_key)
all_cert3() { local i; for i in 1 3 4; do has_key "$i" cert "$H3" || return 1; done; }
wait_for 60 "hosts 1, 3, 4 hold host 3's certificate" all_cert3

# host 2's hostile store: an adoption of host 3, a revocation of host 3, and
# host 4's node record claiming the root's mesh address
"$ctl" record sign cert "$H3" --key "$T/h2/node.key" --out "$T/adopt.rec" --body \
	"{\"subject\":\"$H3\",\"role\":\"peer\",\"depth\":2,\"max_depth\":3,\"dns_scope\":\"\",\"mesh_addr\":\"10.42.0.3\",\"not_before\":0,\"not_after\":$(( $(date +%s) + 86400 )),\"node_id\":\"$(printf '0%.0s' $(seq 64))\"}" \
	>/dev/null || no "sign the adoption"
"$ctl" record sign revoke "$H3" --key "$T/h2/node.key" --out "$T/revoke.rec" --ttl 3650d \
	--body "{\"subject\":\"$H3\",\"reason\":\"adopted\",\"time\":$(date +%s)}" >/dev/null || no "sign the revocation"
"$ctl" record sign node self --key "$T/h4/node.key" --out "$T/claim.rec" \
	--version $(( ($(date +%s) + 120) * 1000000 )) --body \
	"{\"name\":\"host4\",\"wg_key\":\"$(id 4 wireguard_public_key)\",\"endpoints\":[\"$NS_UNDERLAY.4:51820\"],\"mesh_addr\":\"10.42.0.1\",\"role\":\"peer\",\"depth\":1,\"caps\":[],\"sw_version\":\"\"}" \
	>/dev/null || no "sign the claim"
"$ctl" store put --db "$T/h2/store.db" "$T/adopt.rec" "$T/revoke.rec" "$T/claim.rec" >/dev/null ||
	no "host 2's store takes the hostile records"
start 2
# (host 2's own view is hostile: it revoked host 3 and maps host 4 to the
# root's address, so it talks to the root; what the root accepts, all get)
alive_with() { on "$1" peers --json | jq -e --arg d "$2" 'map(select(.did == $d and .state == "alive")) | length == 1'; }
both_alive() { alive_with 1 "$(id 2 did)" && alive_with 2 "$ROOT"; }
wait_for 90 "host 2 comes up: it and the root see each other alive" both_alive

# the hostile records reach the root (anti-entropy from host 2): refused, counted
refused() { [ "$(counter 1 certs_refused)" -ge 1 ] && [ "$(counter 1 claims_refused)" -ge 1 ]; }
wait_for 90 "the root refuses host 2's adoption of host 3 and host 4's claim (status counters)" refused
for i in 1 3 4; do
	if has_key "$i" revoke "$H3" >/dev/null 2>&1; then no "host $i holds host 2's revocation of host 3"
	else ok "host $i: no revocation of host 3 held"; fi
done
# host 3 keeps its WireGuard peers, and its records still travel
W3=$(b64 "$(id 3 wireguard_public_key)")
for i in 1 4; do
	ns_exec "$i" wg show "$(ns_if "$i")" peers | grep -q "$W3" &&
		ok "host $i keeps host 3's WireGuard peer" || no "host $i lost host 3's WireGuard peer"
done
on 3 publish svc after-adopt --body '{"service":"after"}' >/dev/null
wait_for 30 "a record of host 3 reaches host 1" has_key 1 svc after-adopt
wait_for 30 "a record of host 3 reaches host 4" has_key 4 svc after-adopt
# the root holds host 4's own node record (its cert's address), not the claim
own4() { on 1 records node --origin "$(id 4 did)" --json | jq -e '.[0].body.mesh_addr == "10.42.0.4"'; }
own4 >/dev/null 2>&1 && ok "the root holds host 4's node record with its own address" ||
	no "the root took host 4's claim: $(on 1 records node --origin "$(id 4 did)" --json | jq -c '.[0].body.mesh_addr')"
# nobody puts the root's mesh address on another peer: sampled for 10 s
W1=$(b64 "$(id 1 wireguard_public_key)")
stolen() {
	local i
	for i in 3 4; do
		ns_exec "$i" wg show "$(ns_if "$i")" allowed-ips | grep -v "^$W1" | grep -q "10\.42\.0\.1/32" && return 0
	done
	return 1
}
bad=0
for _ in $(seq 20); do stolen && bad=1; sleep 0.5; done
[ $bad = 0 ] && ok "no host gives the root's mesh address to another WireGuard peer" ||
	no "the root's mesh address went to another WireGuard peer: $(ns_exec 3 wg show "$(ns_if 3)" allowed-ips)"
ns_exec 3 wg show "$(ns_if 3)" allowed-ips | grep "^$W1" | grep -q "10\.42\.0\.1/32" &&
	ok "host 3 reaches the root at 10.42.0.1" || no "host 3 has no route to the root's mesh address"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
