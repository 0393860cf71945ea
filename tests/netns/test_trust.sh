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
. "$(dirname "$0")/lib.sh"
need_root
need_cmd wireguard-go jq
B=${MN_BUILD:?}
K=4
ctl=$B/mirrornetctl
tmpdir mn-trust
id() { ns_mn_id "$@"; }

ns_init "$K" || fatal "namespaces"
ns_mn_keys "$K" 2:sub-master || fatal "keys and certificates"
ROOT=$(id 1 did)
start() {
	ns_mn_star "$1" "$K" > "$T/h$1/mirrornetd.conf"
	ns_mn_start "$1" || fatal "config or start of host $1"
}
for i in 1 2 3 4; do ns_wg_up "$i" || fatal "wireguard-go in host $i"; done

# the honest part first: hosts 1, 3, 4 agree on host 3's chain (root → host 3)
for i in 1 3 4; do start $i; done
three_alive() { alive_ge 1 2 && alive_ge 3 2 && alive_ge 4 2; }
wait_for 90 "hosts 1, 3, 4 over WireGuard see each other alive" three_alive
H3=$(id 3 public_key)
all_cert3() { local i; for i in 1 3 4; do has_key "$i" cert "$H3" || return 1; done; }
wait_for 60 "hosts 1, 3, 4 hold host 3's certificate" all_cert3

# host 2's hostile store: an adoption of host 3, a revocation of host 3, and
# host 4's node record claiming the root's mesh address
"$ctl" record sign cert "$H3" --key "$T/h2/node.key" --out "$T/adopt.rec" --body \
	"{\"subject\":\"$H3\",\"role\":\"peer\",\"depth\":2,\"max_depth\":3,\"dns_scope\":\"\",\"mesh_addr\":\"10.42.0.3\",\"not_before\":0,\"not_after\":$(( $(date +%s) + 86400 )),\"node_id\":\"$(printf '0%.0s' $(seq 64))\"}" \
	>/dev/null || fatal "sign the adoption"
"$ctl" record sign revoke "$H3" --key "$T/h2/node.key" --out "$T/revoke.rec" --ttl 3650d \
	--body "{\"subject\":\"$H3\",\"reason\":\"adopted\",\"time\":$(date +%s)}" >/dev/null || fatal "sign the revocation"
"$ctl" record sign node self --key "$T/h4/node.key" --out "$T/claim.rec" \
	--version $(( ($(date +%s) + 120) * 1000000 )) --body \
	"{\"name\":\"host4\",\"wg_key\":\"$(id 4 wireguard_public_key)\",\"endpoints\":[\"$NS_UNDERLAY.4:51820\"],\"mesh_addr\":\"10.42.0.1\",\"role\":\"peer\",\"depth\":1,\"caps\":[],\"sw_version\":\"\"}" \
	>/dev/null || fatal "sign the claim"
check "host 2's store takes the hostile records" \
	"$ctl" store put --db "$T/h2/store.db" "$T/adopt.rec" "$T/revoke.rec" "$T/claim.rec"
start 2
# (host 2's own view is hostile: it revoked host 3 and maps host 4 to the
# root's address, so it talks to the root; what the root accepts, all get)
alive_with() { json_ok --arg d "$2" 'map(select(.did == $d and .state == "alive")) | length == 1' on "$1" peers --json; }
both_alive() { alive_with 1 "$(id 2 did)" && alive_with 2 "$ROOT"; }
wait_for 90 "host 2 comes up: it and the root see each other alive" both_alive

# the hostile records reach the root (anti-entropy from host 2): refused, counted
refused() { json_ok '.counters.certs_refused >= 1 and .counters.claims_refused >= 1' on 1 status --json; }
wait_for 90 "the root refuses host 2's adoption of host 3 and host 4's claim (status counters)" refused
for i in 1 3 4; do
	if has_key "$i" revoke "$H3"; then bad "host $i holds host 2's revocation of host 3"
	else ok "host $i: no revocation of host 3 held"; fi
done
# host 3 keeps its WireGuard peers, and its records still travel
W3=$(ns_wg_b64 "$(id 3 wireguard_public_key)")
for i in 1 4; do
	ns_exec "$i" wg show "$(ns_if "$i")" peers | grep -q "$W3" &&
		ok "host $i keeps host 3's WireGuard peer" || bad "host $i lost host 3's WireGuard peer"
done
on 3 publish svc after-adopt --body '{"service":"after"}' >/dev/null
wait_for 30 "a record of host 3 reaches host 1" has_key 1 svc after-adopt
wait_for 30 "a record of host 3 reaches host 4" has_key 4 svc after-adopt
# the root holds host 4's own node record (its cert's address), not the claim
own4() { json_ok '.[0].body.mesh_addr == "10.42.0.4"' on 1 records node --origin "$(id 4 did)" --json; }
own4 && ok "the root holds host 4's node record with its own address" ||
	bad "the root took host 4's claim: $(on 1 records node --origin "$(id 4 did)" --json | jq -c '.[0].body.mesh_addr')"
# nobody puts the root's mesh address on another peer: sampled for 10 s
W1=$(ns_wg_b64 "$(id 1 wireguard_public_key)")
stolen() {   # true (and the allowed IPs shown) if host 3 or 4 gives 10.42.0.1 to another peer
	local i
	for i in 3 4; do
		if ns_exec "$i" wg show "$(ns_if "$i")" allowed-ips | grep -v "^$W1" | grep -q "10\.42\.0\.1/32"; then
			echo "host $i:"; ns_exec "$i" wg show "$(ns_if "$i")" allowed-ips; return 0
		fi
	done
	return 1
}
never_for 10 "no host gives the root's mesh address to another WireGuard peer" stolen
ns_exec 3 wg show "$(ns_if 3)" allowed-ips | grep "^$W1" | grep -q "10\.42\.0\.1/32" &&
	ok "host 3 reaches the root at 10.42.0.1" || bad "host 3 has no route to the root's mesh address"
finish
