#!/bin/bash
# Vortex DNS with real servers in network namespaces (docs/dns.md, issue #7):
#
#   host 1  master   example.io           Knot   (mesh init --domain example.io)
#   host 2  node1    node1.example.io     BIND   sub-master, invited by the master
#   host 3  node2    node2.example.io     Knot   invited by the master
#   host 4  lab      lab.node1.example.io BIND   invited by the sub-master
#   host 5  node3    (not delegated)      dnsmasq forwarding to the mesh servers
#
# Each host has a private mount namespace over test directories (as in
# test_onboard.sh) so its /etc/mirrornet, /var/run/mirrornet, /run/knot and
# /run/named are its own; each server listens on its mesh address, port 53,
# and is reloaded by the daemon's dns_reload command (the master ends with
# dns_zones own, serving only the apex: referrals). Checked: names under a
# slave's zone resolve at the master's server and along the delegation chain
# (kdig, dig, and `mirrornetctl dns check` through c-ares); exposures appear
# and disappear; a stopped slave's zone is still answered by the others; a
# revoked delegation leaves every server; delegations without the scope are
# refused and reach no server; hostile names reach no file; a revoked or
# given-back zone's file leaves every dns_dir (files not ours stay); a steady
# stream of delegations is rate-limited and does not hold a change back. A
# wait fails at once when a daemon or server the test started died.
# MN_BENCH=1: delegate-to-answer times and 1,000 delegations.
. "$(dirname "$0")/lib.sh"
: "${MN_BUILD:?MN_BUILD not set}"
K=5
tmpdir mn-dns
chmod 755 "$T"
# the daemons and servers the test started and expects running are watched
# (watch_pid): a wait fails the test at once, with the log, when one of them
# died, rather than crawling through every bounded wait that follows
for t in knotd knotc named dnsmasq kdig dig jq wireguard-go; do
	command -v $t >/dev/null || fatal "missing $t (tools/deps)"
done

ns_init $K || fatal "cannot make namespaces"
NS_VIEW="$NS_VIEW knotrun:/run/knot namedrun:/run/named"
ns_view_init $K || fatal "the hosts' private views"
for i in $(seq 1 $K); do mkdir -p "$T/h$i/dns"; done
ctl() { ns_ctl "$@"; }
start_daemon() {
	ns_sh_bg "$1" "$T/d$1.log" "exec mirrornetd -c /etc/mirrornet/mirrornetd.conf"; echo "$SPAWNED" >"$T/pid$1"
	watch_pid "$SPAWNED" "the daemon of host $1" "$T/d$1.log"
}
status_json() { on "$1" status --json 2>/dev/null; }
invite() { local i=$1 n=$2; shift 2; ctl "$i" invite create --name "$n" --json "$@" | jq -r .token; }
join() {   # join HOST TOKEN
	ns_sh "$1" "mirrornetctl join '$2' --wg-interface $(ns_if "$1") --timeout 60s" >"$T/join$1.log" 2>&1 ||
		{ cat "$T/join$1.log"; return 1; }
}
addr_of() { sed -n 's/^mesh_addr \([0-9.]*\).*/\1/p' "$T/h$1/etc/mirrornetd.conf" | head -1; }
knows_node() { json_ok --arg n "$2" '[.[] | select(.body.name==$n)] | length == 1' on "$1" records node --json; }

SERVER=([1]=knot [2]=bind [3]=knot [4]=bind [5]=dnsmasq)
dns_conf() {   # the Vortex DNS lines of host I's config
	local i=$1 d="$T/h$1/dns" rl
	case ${SERVER[$i]} in
	knot) rl="knotc -c $d/knot.conf reload" ;;
	bind) rl="kill -HUP \$(cat $T/h$i/server.pid)" ;;
	dnsmasq) rl="kill \$(cat $T/h$i/server.pid)" ;;   # the supervisor starts it again
	esac
	printf '%s\n' "dns_server ${SERVER[$i]}" "dns_dir $d" "dns_port 53" "dns_reload $rl"
	[ "${SERVER[$i]}" = dnsmasq ] || echo "dns_listen $(addr_of "$i")"
}
start_server() {   # once the daemon wrote its server's config
	local i=$1 d="$T/h$1/dns"
	case ${SERVER[$i]} in
	knot)
		poll 60 test -s "$d/knot.conf" || return 1
		ns_sh_bg "$i" "$T/srv$i.log" "exec knotd -c $d/knot.conf"; echo "$SPAWNED" >"$T/h$i/server.pid" ;;
	bind)
		poll 60 test -s "$d/named.conf" || return 1
		ns_sh_bg "$i" "$T/srv$i.log" "exec named -g -c $d/named.conf"; echo "$SPAWNED" >"$T/h$i/server.pid" ;;
	dnsmasq)   # a bounded supervisor, as procd would be
		poll 60 test -s "$d/dnsmasq.conf" || return 1
		ns_sh_bg "$i" "$T/srv$i.log" "for n in \$(seq 500); do
			dnsmasq -k --conf-file=$d/dnsmasq.conf --listen-address=127.0.0.1 --bind-interfaces \
				--port=53 --no-resolv --no-hosts --user=root --pid-file= & echo \$! >$T/h$i/server.pid
			wait; sleep 0.2; done" ;;
	esac
	watch_pid "$SPAWNED" "the ${SERVER[$i]} server of host $i" "$T/srv$i.log"
}

# ask SERVER-HOST NAME TYPE: the answer section (data only), non-recursive;
# kdig for the Knot hosts, dig for the others; host 5 asks its dnsmasq (recursive)
ask() {
	local i=$1 name=$2 type=$3
	case ${SERVER[$i]} in
	knot) ns_exec "$i" kdig +short +norec +time=2 +retry=0 @"$(addr_of "$i")" "$name" "$type" ;;
	bind) ns_exec "$i" dig +short +norec +time=2 +tries=1 @"$(addr_of "$i")" "$name" "$type" ;;
	dnsmasq) ns_exec "$i" dig +short +time=2 +tries=1 @127.0.0.1 "$name" "$type" ;;
	esac 2>/dev/null
}
answers() { [ "$(ask "$1" "$2" "$3" | head -1)" = "$4" ]; }
no_answer() { [ -z "$(ask "$1" "$2" "$3")" ] && ask_rcode "$1" "$2" "$3" | grep -Eq 'NOERROR|NXDOMAIN'; }
ask_rcode() {
	local a
	if [ "${SERVER[$1]}" = dnsmasq ]; then a=127.0.0.1; else a=$(addr_of "$1"); fi
	ns_exec "$1" dig +norec +time=2 +tries=1 @"$a" "$2" "$3" 2>/dev/null | sed -n 's/.*status: \([A-Z]*\).*/\1/p'
}
# the SOA of Z from host I's server is Z's own, authoritative
holds_zone() { ns_exec "$1" dig +norec +time=2 +tries=1 @"$(addr_of "$1")" "$2" SOA 2>/dev/null |
	grep -q "flags: qr aa" && [ "$(ask "$1" "$2" SOA)" != "" ]; }
lacks_zone() { [ -z "$(ask "$1" "$2" SOA)" ] && ! grep -q "\"$2\"\|domain: $2\." "$T/h$1/dns/"*.conf &&
	[ ! -e "$T/h$1/dns/$2.zone" ]; }   # and its file is gone
all_files() { cat "$T"/h[1-5]/dns/*.zone "$T"/h[1-5]/dns/*.conf 2>/dev/null; }

for i in $(seq 1 $K); do need ns_wg_start "$i"; done
# files in a dns_dir that MirrorNet did not write are never removed: one named
# like a zone of the domain, one not
printf 'not ours\n' >"$T/h1/dns/keep.example.io.zone"
printf 'notes\n' >"$T/h1/dns/notes.txt"

# ---- the mesh: master, sub-master, three members ----
need ctl 1 mesh init --name master --domain example.io --endpoint "$NS_UNDERLAY.1:51820" \
	--wg-interface "$(ns_if 1)" >/dev/null
ns_exec 1 ip addr add 10.42.0.1/16 dev "$(ns_if 1)"; ns_exec 1 ip link set "$(ns_if 1)" up
dns_conf 1 >>"$T/h1/etc/mirrornetd.conf"
start_daemon 1
poll 10 status_json 1 || { cat "$T/d1.log"; fatal "master daemon starts"; }
need start_server 1

need join 2 "$(invite 1 node1 --role sub-master --auto-approve)"
echo "wg_endpoint $NS_UNDERLAY.2:51820" >>"$T/h2/etc/mirrornetd.conf"
dns_conf 2 >>"$T/h2/etc/mirrornetd.conf"
start_daemon 2
need join 3 "$(invite 1 node2 --auto-approve)"
need join 5 "$(invite 1 node3 --auto-approve)"
wait_for 30 "the sub-master can invite (invite list answers)" ctl 2 invite list
need join 4 "$(invite 2 lab --auto-approve)"
for i in 3 4 5; do dns_conf $i >>"$T/h$i/etc/mirrornetd.conf"; start_daemon $i; done
for i in 2 3 4 5; do wait_for 20 "the daemon of host $i starts" status_json $i; done
ok "mesh: master $(addr_of 1), node1 $(addr_of 2), node2 $(addr_of 3), lab $(addr_of 4), node3 $(addr_of 5)"
# a new member writes its server's files once it holds the root's node record (the
# apex's name server); the first anti-entropy round after a join can take a while
for i in 2 3 4 5; do wait_for 120 "host $i holds the master's node record" knows_node $i master; done
for i in 2 3 4 5; do need start_server $i; done

# ---- delegations and exposures ----
need ctl 1 dns init example.io >/dev/null
for n in node1 node2 node3; do wait_for 30 "the master knows $n" knows_node 1 $n; done
wait_for 30 "the sub-master knows lab" knows_node 2 lab
ctl 1 dns delegate node1 --to node1 >/dev/null && ok "master delegates node1.example.io to the sub-master" ||
	bad "dns delegate node1"
ctl 1 dns delegate node2 --to node2 >/dev/null && ok "master delegates node2.example.io" || bad "dns delegate node2"
wait_for 30 "the sub-master holds the delegation of node1.example.io" has_key 2 dns node1.example.io
ctl 2 dns delegate lab --to lab >/dev/null && ok "the sub-master delegates lab.node1.example.io" ||
	bad "dns delegate lab"
# (through the expose subsystem, which keeps a node's expose records; the
# generic publish refuses them)
expose() { ctl "$1" expose add "$2" --port "$3" --channels mesh >/dev/null; }
ctl 3 publish expose raw --body "'{\"service\":\"raw\",\"port\":1,\"channels\":1,\"domain\":\"\",\"mirrors\":[]}'" 2>"$T/raw.err" &&
	bad "the generic publish took an expose record" ||
	{ grep -q "mirrornetctl expose" "$T/raw.err" && ok "the generic publish refuses expose records and says where they go" ||
		bad "publish expose: $(cat "$T/raw.err")"; }
need expose 3 web 443
need expose 4 app 8080

A3=$(addr_of 3); A4=$(addr_of 4)
for i in 1 2 3 4 5; do
	poll 30 answers $i web.node2.example.io A "$A3" &&
		ok "web.node2.example.io resolves at host $i (${SERVER[$i]})" ||
		{ bad "web.node2.example.io at host $i: $(ask $i web.node2.example.io A)"; tail -5 "$T/srv$i.log"; }
done
for i in 1 2 3 4 5; do
	poll 30 answers $i app.lab.node1.example.io A "$A4" &&
		ok "app.lab.node1.example.io (two delegations down) resolves at host $i" ||
		bad "app.lab.node1.example.io at host $i: $(ask $i app.lab.node1.example.io A)"
done
wait_for 20 "the exposure's SRV record" answers 1 _web._tcp.node2.example.io SRV "0 0 443 web.node2.example.io." ||
	echo "    SRV: $(ask 1 _web._tcp.node2.example.io SRV)"
# the referral: the parent zone at the master's server holds NS + glue of the child
grep -Pq '^node2\t\d+\tIN\tNS\tns\.node2\.example\.io\.$' "$T/h1/dns/example.io.zone" &&
	grep -Pq "^ns\\.node2\\t\\d+\\tIN\\tA\\t$A3\$" "$T/h1/dns/example.io.zone" &&
	ok "example.io at the master delegates node2 (NS + glue $A3)" || bad "no delegation of node2 in example.io"
ns_exec 1 kdig +norec @"$(addr_of 1)" node2.example.io NS 2>/dev/null | grep -q "ns.node2.example.io" &&
	ok "kdig: the master's server names node2's name server" || bad "kdig NS node2 at the master"
ns_exec 1 dig +norec @"$A3" web.node2.example.io A 2>/dev/null | grep -q "flags: qr aa" &&
	ok "dig: the slave node2 answers web.node2.example.io itself, authoritatively" || bad "dig at node2"

# ---- dns check: the chain, through c-ares ----
ctl 1 dns check lab.node1.example.io --json >"$T/check-lab.json" 2>&1
rc=$?
if [ $rc = 0 ] && jq -e '.[0].ok and ([.[0].steps[] | select(.query=="SOA" and .result=="authoritative")] | length == 3)' \
	"$T/check-lab.json" >/dev/null &&
	jq -e --arg a "$A4" '[.[0].steps[] | select(.query=="NS" and .name=="lab.node1.example.io") | .ns[0].addr] == [$a]' \
	"$T/check-lab.json" >/dev/null; then
	ok "dns check lab.node1.example.io: master -> node1 -> lab, each authoritative"
else
	bad "dns check lab.node1.example.io (exit $rc)"; cat "$T/check-lab.json"
fi
ctl 5 dns check node2.example.io --server "$(addr_of 1)" --name web >"$T/check-web.txt" 2>&1 &&
	grep -q "$A3" "$T/check-web.txt" && ok "dns check --name web from node3 (no server of its own) via --server" ||
	{ bad "dns check --name web"; cat "$T/check-web.txt"; }
ctl 1 dns check >"$T/check-all.txt" 2>&1 && [ "$(grep -c '=> ok' "$T/check-all.txt")" -ge 4 ] &&
	ok "dns check (every zone of dns list): $(grep -c '=> ok' "$T/check-all.txt") zones ok" ||
	{ bad "dns check of every zone"; cat "$T/check-all.txt"; }

# ---- a master that serves only its own zone: names below are referrals ----
echo "dns_zones own" >>"$T/h1/etc/mirrornetd.conf"
kill -HUP "$(cat "$T/pid1")"
refers() {
	local out
	out=$(ns_exec 1 kdig +norec +time=2 +retry=0 @"$(addr_of 1)" app.lab.node1.example.io A 2>/dev/null)
	! echo "$out" | grep -q "flags: qr aa" &&
		echo "$out" | grep -Eq 'node1\.example\.io\.[[:space:]]+[0-9]+[[:space:]]+IN[[:space:]]+NS[[:space:]]+ns\.node1\.example\.io\.'
}
poll 30 refers && ok "dns_zones own: the master refers app.lab.node1.example.io to node1's server (NS + glue, not authoritative)" ||
	{ bad "no referral from the master"; ns_exec 1 kdig +norec @"$(addr_of 1)" app.lab.node1.example.io A; }
ctl 1 dns check lab.node1.example.io --name app >"$T/check-own.txt" 2>&1 && grep -q "$A4" "$T/check-own.txt" &&
	ok "  ...and the name resolves from the master's server by following the referral (dns check)" ||
	{ bad "dns check after dns_zones own"; cat "$T/check-own.txt"; }
# back to serving every zone, for what follows
sed -i '/^dns_zones own$/d' "$T/h1/etc/mirrornetd.conf"
kill -HUP "$(cat "$T/pid1")"
wait_for 30 "the master serves every zone again" holds_zone 1 lab.node1.example.io

# ---- exposures: names appear and disappear ----
need expose 3 api 8443
for i in 1 2 3 4 5; do
	poll 30 answers $i api.node2.example.io A "$A3" || bad "api.node2.example.io did not appear at host $i"
done && ok "a new exposure appears at every server"
ctl 3 expose remove api >/dev/null || bad "withdraw api"
gone=0
for i in 1 2 3 4 5; do poll 30 no_answer $i api.node2.example.io A && gone=$((gone + 1)); done
[ $gone = 5 ] && ok "the withdrawn exposure disappears from every server" || bad "api.node2 still at $((5 - gone)) servers"
answers 1 web.node2.example.io A "$A3" && ok "  ...the other exposure stays" || bad "web.node2 went too"

# ---- refusals: no scope, outside the parent, hostile names ----
D3=$(status_json 3 | jq -r .did)
dnsbody() { echo "'{\"zone\":\"$1\",\"delegate\":\"$2\",\"ns\":[{\"host\":\"ns.$1\",\"addr\":\"$A3\"}],\"ttl\":300,\"names\":[]}'"; }
hexpk=$(python3 -c "
import sys
d='$D3'
a='123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'
n=0
for ch in d[len('did:key:z'):]: n=n*58+a.index(ch)
b=n.to_bytes(34,'big'); print(b[2:].hex())")
refused() { ! ctl "$@" >"$T/refused.log" 2>&1; }
refused 5 publish dns evil.example.io --body "$(dnsbody evil.example.io "$hexpk")" &&
	ok "a member without the scope cannot publish a delegation in the domain: $(tail -1 "$T/refused.log")" ||
	bad "node3 published evil.example.io"
refused 2 publish dns evil2.node2.example.io --body "$(dnsbody evil2.node2.example.io "$hexpk")" &&
	ok "the sub-master cannot delegate outside its zone: $(tail -1 "$T/refused.log")" ||
	bad "node1 published evil2.node2.example.io"
refused 2 publish dns evil3.example.io --body "$(dnsbody evil3.example.io "$hexpk")" &&
	ok "...nor beside it, in its parent" || bad "node1 published evil3.example.io"
# node3 holds the scope node3.example.io by its invitation, but the zone was
# never delegated to it: its delegation below has no parent and is served nowhere
ctl 5 dns delegate orphan --to node3 >/dev/null 2>&1
refused 3 dns init example.io && ok "dns init by a non-root member is refused" || bad "dns init by node2"
refused 1 dns delegate "'a;b'" --to node2 && ok "label 'a;b' refused" || bad "label a;b accepted"
refused 1 dns delegate "'q\"x'" --to node2 && ok "label with a quote refused" || bad "quote label accepted"
refused 1 dns delegate "$(printf 'x%.0s' $(seq 64))" --to node2 && ok "a 64-character label refused" ||
	bad "64-character label accepted"
refused 1 dns delegate "'a
b'" --to node2 && ok "a label with a newline refused" || bad "newline label accepted"
refused 1 dns delegate "'x}; zone \"evil\" {'" --to node2 && ok "a config injection label refused" ||
	bad "injection label accepted"
refused 1 dns delegate Upper --to node2 && ok "an upper-case label refused" || bad "Upper accepted"
refused 1 dns delegate ok1 --to node2 --ns-addr "'10.0.0.1; rm -rf /'" && ok "a hostile --ns-addr refused" ||
	bad "hostile ns-addr accepted"
refused 1 publish dns "'x\";.example.io'" --body "$(dnsbody 'x\\\";.example.io' "$hexpk")" &&
	ok "a raw dns record with a quote in the zone refused" || bad "raw hostile zone accepted"
# odd but legal: a 63-character label, digits and inner hyphens, punycode
L63=$(printf 'a%.0s' $(seq 62))9
for l in "$L63" 0-9--z xn--bcher-kva; do
	ctl 1 dns delegate "$l" --to node2 >/dev/null || bad "legal label $l refused"
done
# '_' passes the record rules but is no host name: published, then kept out of the files
ctl 1 dns delegate a_b --to node2 >/dev/null 2>&1
for l in "$L63" 0-9--z xn--bcher-kva; do
	poll 30 holds_zone 1 "$l.example.io" && poll 30 holds_zone 2 "$l.example.io" ||
		bad "legal zone $l.example.io not served"
done && ok "legal odd labels (63 characters, 0-9--z, xn--bcher-kva) are served by Knot and BIND"
# a_b is the last published: once it is counted, every file has been written after the rest
wait_for 30 "the zone a_b.example.io is counted as rejected" json_ok '.dns.rejected >= 1' status_json 1
if all_files | grep -Eq 'evil|orphan|a;b|q"x|rm -rf|a_b\.|Upper|zone "evil"'; then
	bad "hostile input reached a generated file: $(all_files | grep -E 'evil|a;b|q"x|rm -rf|a_b\.|Upper' | head -3)"
else
	ok "nothing hostile in any generated file of the 5 hosts"
fi
for i in 1 3; do ns_exec $i knotc -c "$T/h$i/dns/knot.conf" conf-check >/dev/null 2>&1 || bad "knotc conf-check $i"; done
for i in 2 4; do named-checkconf -z "$T/h$i/dns/named.conf" >/dev/null 2>&1 || bad "named-checkconf -z $i"; done
dnsmasq --test --conf-file="$T/h5/dns/dnsmasq.conf" >/dev/null 2>&1 || bad "dnsmasq --test"
ok "the generated configs pass knotc conf-check, named-checkconf -z, dnsmasq --test"

# ---- revocation: the delegation leaves every server ----
ctl 2 dns revoke lab.node1.example.io >/dev/null && ok "the sub-master revokes lab.node1.example.io" || bad "dns revoke"
gone=0
for i in 1 2 3 4; do poll 30 lacks_zone $i lab.node1.example.io && gone=$((gone + 1)); done
poll 30 no_answer 5 app.lab.node1.example.io A && gone=$((gone + 1))
poll 30 test ! -e "$T/h5/dns/lab.node1.example.io.zone" && gone=$((gone + 1))
[ $gone = 6 ] && ok "the revoked zone is gone from all 5 servers, and its file from every dns_dir" ||
	bad "revoked zone still at $((6 - gone)) servers or dns_dirs"
answers 1 web.node2.example.io A "$A3" && ok "  ...the other zones stay" || bad "node2 went too"

# ---- give back: dns leave ----
ctl 3 dns leave >/dev/null && ok "node2 gives its zone back (dns leave)" || bad "dns leave"
gone=0
for i in 1 2 4; do poll 30 lacks_zone $i node2.example.io && gone=$((gone + 1)); done
poll 30 test ! -e "$T/h5/dns/node2.example.io.zone" && gone=$((gone + 1))
[ $gone = 4 ] && ok "the given-back zone leaves the other servers, and its file every dns_dir" ||
	bad "given-back zone at $((4 - gone)) servers or dns_dirs"
[ -e "$T/h1/dns/keep.example.io.zone" ] && [ -e "$T/h1/dns/notes.txt" ] &&
	ok "  ...files in dns_dir that MirrorNet did not write stay" || bad "a file not ours was removed"
n=0
for i in 1 2 4; do holds_zone $i example.io && n=$((n + 1)); done
[ $n = 3 ] && ok "  ...and the servers keep answering" || bad "only $n of 3 servers answer after the prune"
ctl 1 dns revoke node2.example.io >/dev/null

# ---- a stopped node: its zone is still answered by the others ----
need ctl 1 dns delegate node2b --to node2 >/dev/null
need expose 3 svc 25
for i in 1 2 3 4; do wait_for 30 "svc.node2b.example.io resolves at host $i" answers $i svc.node2b.example.io A "$A3"; done
stop_pid "$(cat "$T/h3/server.pid")"   # (stop_pid stops watching it too)
stop_pid "$(cat "$T/pid3")"
unanswered() {   # true (and which host) while one of the 3 other servers does not answer
	local i
	for i in 1 2 4; do answers $i svc.node2b.example.io A "$A3" || { echo "host $i: '$(ask $i svc.node2b.example.io A)'"; return 0; }; done
	return 1
}
never_for 3 "with node2 stopped, node2b.example.io is still answered by the 3 other servers" unanswered
ctl 1 dns check node2b.example.io >"$T/check-down.txt" 2>&1 && bad "dns check passed with the slave down" ||
	ok "dns check reports the stopped slave: $(grep FAIL "$T/check-down.txt" | head -1 | sed 's/  */ /g')"

# ---- a member that never stops publishing: generation is rate-limited, and a
# change still reaches the server while the stream goes on ----
g0=$(status_json 1 | jq .dns.generations)
t0=$(date +%s)
for i in $(seq 0 69); do   # 14 s, one delegation every 0.2 s
	echo "{\"cmd\":\"dns_delegate\",\"label\":\"s$i\",\"to\":\"node1\"}"; sleep 0.2
done | ctl 1 api-raw --until-eof >/dev/null &
feeder=$!
seen=
while kill -0 $feeder 2>/dev/null; do
	[ -z "$seen" ] && holds_zone 1 s0.example.io && seen=$(($(date +%s) - t0))
	check_watched; sleep 0.2
done
wait $feeder
g=$(( $(status_json 1 | jq .dns.generations) - g0 ))
t=$(( $(date +%s) - t0 ))
[ -n "$seen" ] && ok "a steady stream of delegations: the first is served after ${seen} s, while the stream goes on" ||
	bad "a steady stream of delegations held back the first one for the whole ${t} s stream"
[ "$g" -le $((t / 6 + 2)) ] && ok "  ...with $g generations in ${t} s (at most one per 6 s)" ||
	bad "$g generations in ${t} s of stream (more than one per 6 s)"

# ---- the daemons' view ----
for i in 1 2 4 5; do
	s=$(status_json $i | jq -c '.dns | {server, zones, generations, writes, reloads, reload_failures, pruned}')
	echo "  host $i: $s"
done

# ---- benchmark ----
if [ -n "${MN_BENCH:-}" ]; then
	t0=$(date +%s.%N)
	need ctl 1 dns delegate bench --to node1 >/dev/null
	poll 60 holds_zone 1 bench.example.io && t1=$(date +%s.%N)
	poll 60 sh -c "[ -n \"\$(ip netns exec $(ns_host 5) dig +short +time=1 +tries=1 @127.0.0.1 bench.example.io SOA)\" ]" &&
		t2=$(date +%s.%N)
	echo "bench: dns delegate -> answered at the master's Knot $(echo "$t1 - $t0" | bc) s," \
		"at node3 through its dnsmasq $(echo "$t2 - $t0" | bc) s"
	z0=$(status_json 1 | jq .dns.zones)
	t0=$(date +%s.%N)
	awk 'BEGIN { for (i = 0; i < 1000; i++) printf "{\"cmd\":\"dns_delegate\",\"label\":\"b%d\",\"to\":\"node3\"}\n", i }' |
		ctl 1 api-raw --until-eof >/dev/null
	t1=$(date +%s.%N)
	poll 120 holds_zone 1 b999.example.io && t2=$(date +%s.%N)
	poll 120 holds_zone 2 b999.example.io && t3=$(date +%s.%N)
	sleep 3
	st=$(status_json 1 | jq -c '.dns | {zones, generate_ms, reload_ms, writes}')
	st2=$(status_json 2 | jq -c '.dns | {zones, generate_ms, reload_ms}')
	echo "bench: 1,000 delegations published in $(echo "$t1 - $t0" | bc) s; b999 answered at the master's Knot" \
		"$(echo "$t2 - $t0" | bc) s, at node1's BIND $(echo "$t3 - $t0" | bc) s (zones before: $z0)"
	echo "bench: example.io.zone $(wc -c <"$T/h1/dns/example.io.zone") bytes, $(wc -l <"$T/h1/dns/example.io.zone") lines;" \
		"all zone files $(cat "$T"/h1/dns/*.zone | wc -c) bytes; master $st; node1 $st2"
fi

finish
