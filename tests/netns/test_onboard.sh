#!/bin/bash
# Onboarding over wireguard-go in network namespaces (docs/onboarding.md):
# a master made by `mesh init`; a sub-master and joiners installed from the
# generated .ipk packages exactly as opkg does (outer tar, data.tar.gz into
# the root, postinst run with IPKG_INSTROOT unset), each host with its own
# /etc/mirrornet, /var/run/mirrornet and /var/log (a private mount
# namespace over directories of this test); a manual approval; refusals
# (reused, revoked and rejected invitations); revocation; key rotation.
#
#   host 1  master (mesh init)          host 4  peer, invited by the sub-master
#   host 2  sub-master (auto-approved)  host 5  peer, manual approval
#   host 3  peer (auto-approved)        host 6  refused joins
#
# MN_BENCH=1 also prints the time from postinst to a joined, synced node.
. "$(dirname "$0")/lib.sh"
: "${MN_BUILD:?MN_BUILD not set}"
K=6
[ -n "${MN_BENCH:-}" ] && K=7   # host 7: the join benchmark
tmpdir mn-onboard

ns_init $K || fatal "cannot make namespaces"
ns_view_init $K || fatal "the hosts' private views"
ctl() { ns_ctl "$@"; }
start_daemon() {   # start_daemon HOST [ENV=VALUE...]; its PID in $T/pidHOST
	local i=$1; shift
	ns_sh_bg "$i" "$T/d$i.log" "$* exec mirrornetd -c /etc/mirrornet/mirrornetd.conf"
	echo "$SPAWNED" >"$T/pid$i"
}
stop_daemon() { stop_pid "$(cat "$T/pid$1")"; }
# opkg's way: outer tar, data.tar.gz into /, then postinst on a live system
# (which runs the package's /etc/uci-defaults script). The one difference:
# the script calls /usr/sbin/mirrornetctl, which is the build's here.
opkg_install() {
	local i=$1 ipk=$2 x="$T/h$1/pkg"
	mkdir -p "$x" && tar -xzf "$ipk" -C "$x" && mkdir -p "$x/control" &&
		tar -xzf "$x/control.tar.gz" -C "$x/control" &&
		ns_sh "$i" "tar -xzf '$x/data.tar.gz' -C / &&
			sed -i 's|/usr/sbin/mirrornetctl|$MN_BUILD/mirrornetctl|' /etc/uci-defaults/95-mirrornet-join-* &&
			cd / && env -u IPKG_INSTROOT sh '$x/control/postinst'"
}
invite_gone() { ! ls "$T/h$1/join/"invite-* >/dev/null 2>&1 && ! ls "$T/h$1/ucid/"95-mirrornet-join-* >/dev/null 2>&1; }
joined() { grep -q '"state":"joined"' "$T/h$1/etc/join.state" 2>/dev/null; }
status_json() { on "$1" status --json 2>/dev/null; }
did_of() { status_json "$1" | jq -r .did; }
alive_peers() { json_val '[.[] | select(.state=="alive")] | length' on "$1" peers --json; }
alive_is() { [ "$(alive_peers "$1")" = "$2" ]; }
records_ge() { [ "$(json_val length on "$1" records --json)" -ge "$2" ]; }
no_wg_peer() { ! ns_exec "$1" wg show "$(ns_if "$1")" peers | grep -q "$2"; }

for i in $(seq 1 $K); do need ns_wg_start "$i"; done

# ---- the master ----
need ctl 1 mesh init --name master --domain example.io --endpoint "$NS_UNDERLAY.1:51820" \
	--wg-interface "$(ns_if 1)" >/dev/null
ns_exec 1 ip addr add 10.42.0.1/16 dev "$(ns_if 1)"; ns_exec 1 ip link set "$(ns_if 1)" up
# the master's certificates last 20 days: a month offline is fatal without renewal
echo "cert_lifetime_s 1728000" >>"$T/h1/etc/mirrornetd.conf"
start_daemon 1
poll 10 status_json 1 || { cat "$T/d1.log"; fatal "master daemon starts"; }
ok "mesh init + master daemon"
[ "$(stat -c %a "$T/h1/etc/node.key")" = 600 ] && [ "$(stat -c %a "$T/h1/etc/mirrornetd.conf")" = 600 ] &&
	ok "key and config are 0600" || bad "key/config modes"

invite() {   # invite HOST NAME ARGS... -> token on stdout, package in $T/NAME.ipk
	local i=$1 n=$2; shift 2
	ctl "$i" invite create --name "$n" --ipk "$T/$n.ipk" --json "$@" | jq -r .token
}

# ---- sub-master through its package ----
tok=$(invite 1 sub --role sub-master --auto-approve)
[ ${#tok} -le 256 ] && ok "token is ${#tok} characters (<= 256)" || bad "token is ${#tok} characters"
tar -tzf "$T/sub.ipk" | grep -q debian-binary && ok "the join package is a gzip'd tar with debian-binary" ||
	bad "ipk layout"
t0=$(date +%s.%N)
need opkg_install 2 "$T/sub.ipk"
wait_for 30 "sub-master joined through its package's postinst" joined 2 ||
	{ cat "$T/h2/log/mirrornet-join.log"; ns_exec 1 wg show; tail -20 "$T/d1.log"; }
wait_for 10 "the used invitation and its uci-defaults script are removed after the join" invite_gone 2
echo "wg_endpoint $NS_UNDERLAY.2:51820" >>"$T/h2/etc/mirrornetd.conf"
start_daemon 2
wait_for 20 "sub-master daemon starts" status_json 2
if [ -n "${MN_BENCH:-}" ]; then
	poll 30 records_ge 2 3
	echo "bench: postinst to joined+synced (sub-master): $(echo "$(date +%s.%N) - $t0" | bc) s"
fi

# ---- a peer of the master, a peer of the sub-master ----
tok3=$(invite 1 peer3 --auto-approve)
need opkg_install 3 "$T/peer3.ipk"
wait_for 30 "the sub-master can invite (invite list answers)" ctl 2 invite list
tok4=$(invite 2 peer4 --auto-approve)
[ -n "$tok4" ] && ok "the sub-master invites" || bad "sub-master invite"
need opkg_install 4 "$T/peer4.ipk"
wait_for 30 "peer3 joined" joined 3 || cat "$T/h3/log/mirrornet-join.log"
wait_for 30 "peer4 joined through the sub-master" joined 4 || cat "$T/h4/log/mirrornet-join.log"
start_daemon 3
start_daemon 4

# ---- manual approval ----
tok5=$(invite 1 peer5)
need opkg_install 5 "$T/peer5.ipk"
wait_for 30 "the joiner says it waits for approval" grep -q '"state":"waiting"' "$T/h5/etc/join.state"
id5=$(ctl 1 join list --json | jq -r '.[0].id')
[ "$(ctl 1 join list --json | jq -r '.[0].node_name')" = peer5 ] && ok "join list shows the waiting joiner" ||
	bad "join list"
# approved the way LuCI does it: the rpcd plugin luci.mirrornet's join_approve
rpc_approve() { ctl 1 "rpcd call join_approve <<'EOJ'
{\"invitation\":\"$id5\"}
EOJ"; }
rpc_approve >"$T/approve.json" 2>&1 && jq -e '.result' "$T/approve.json" >/dev/null &&
	ok "join approve (rpcd join_approve, as LuCI calls it)" || { bad "join approve through rpcd"; _t_show "$T/approve.json"; }
wait_for 30 "peer5 joined after approval" joined 5 || cat "$T/h5/log/mirrornet-join.log"
start_daemon 5

# ---- everyone has everyone ----
for i in 1 2 3 4 5; do
	wait_for 60 "host $i sees 4 live peers" alive_is "$i" 4 || echo "    host $i sees $(alive_peers "$i")"
done
for i in 2 3 4 5; do
	n=$(json_val length on "$i" records cert --json)
	[ "$n" -ge 5 ] && ok "host $i holds the 5 certificates" || bad "host $i holds $n certificates"
done
svc() { echo "{\"service\":\"$1\",\"endpoint\":\"x:1\",\"port\":1,\"attrs\":[]}" >"$T/$1.json"; echo "$T/$1.json"; }
ctl 5 publish svc probe --file "$(svc probe)" >/dev/null || bad "publish on host 5"
for i in 1 2 3 4; do
	wait_for 20 "a record from peer5 reaches host $i" has_key "$i" svc probe
done

# ---- benchmark: postinst to the full state of a mesh of 10,000 records ----
if [ -n "${MN_BENCH:-}" ]; then
	gen() { awk -v p="$1" -v n="$2" 'BEGIN { for (i = 0; i < n; i++)
		printf "{\"cmd\":\"publish\",\"kind\":\"svc\",\"key\":\"%s%d\",\"body\":{\"service\":\"b\",\"endpoint\":\"x:1\",\"port\":1,\"attrs\":[]}}\n", p, i }'; }
	for k in $(seq 20); do   # in chunks: one API client's answers stay small
		gen "m$k-" 250 | ctl 1 api-raw --until-eof >/dev/null
		gen "s$k-" 250 | ctl 2 api-raw --until-eof >/dev/null
	done
	poll 120 records_ge 1 10000
	total=$(json_val length on 1 records --json)
	invite 1 bench7 --auto-approve >/dev/null
	t0=$(date +%s.%N)
	need opkg_install 7 "$T/bench7.ipk"
	poll 60 joined 7
	t1=$(date +%s.%N)
	start_daemon 7
	poll 300 records_ge 7 "$total" && t2=$(date +%s.%N) &&
		echo "bench: mesh of $total records: postinst -> joined $(echo "$t1 - $t0" | bc) s, -> full state $(echo "$t2 - $t0" | bc) s" ||
		echo "bench: host 7 has $(json_val length on 7 records --json) of $total records after 300 s"
fi

# ---- refusals ----
# a used invitation, again, from another node: refused in words
ns_sh 6 "mirrornetctl join '$tok3' --wg-interface $(ns_if 6) --timeout 20s" >"$T/j6a.log" 2>&1
rc=$?
[ $rc != 0 ] && ok "a used invitation is refused (exit $rc)" || bad "used invitation accepted"
grep -Eq "already used|unreachable|gave up" "$T/j6a.log" && ok "  ...with a reason: $(tail -1 "$T/j6a.log")" ||
	{ bad "no reason"; cat "$T/j6a.log"; }
[ ! -e "$T/h6/etc/mirrornetd.conf" ] && [ ! -e "$T/h6/etc/node.key" ] && ok "  ...and nothing is left half-done" ||
	bad "left files behind"
# a revoked invitation
tok6=$(invite 1 six)
id6=$(ctl 1 invite list --json | jq -r '.[] | select(.name=="six") | .id')
ctl 1 invite revoke "$id6" >/dev/null
ns_sh 6 "mirrornetctl join '$tok6' --wg-interface $(ns_if 6) --timeout 8s" >"$T/j6b.log" 2>&1 &&
	bad "revoked invitation accepted" || ok "a revoked invitation gets nowhere: $(tail -1 "$T/j6b.log")"
# interrupted (its tunnel is gone, so it keeps trying): SIGINT while a try
# connects, SIGTERM between tries; either ends the join at once, nothing left
syn_sent() { ns_exec 6 ss -Htn state syn-sent | grep -q ":7333"; }   # (join_port)
retrying() { grep -q '"state":"retrying"' "$T/h6/etc/join.state"; }
stopped() { gone "$(cat "$T/j6pid")"; }
for sig in INT TERM; do
	rm -f "$T/h6/etc/join.state"
	ns_sh_bg 6 "$T/j6$sig.log" "mirrornetctl join '$tok6' --wg-interface $(ns_if 6) --timeout 60s &
		echo \$! >'$T/j6pid'; wait \$!; echo exit=\$?"
	if [ $sig = INT ]; then poll 20 syn_sent; else poll 20 retrying; fi
	kill -$sig "$(cat "$T/j6pid")"
	wait_for 3 "SIG$sig ends a join at once" stopped
	grep -q "exit=1" "$T/j6$sig.log" && grep -q "join: interrupted" "$T/j6$sig.log" &&
		grep -q '"message":"interrupted"' "$T/h6/etc/join.state" &&
		ok "  ...saying so (exit 1, join.state failed: interrupted)" || { bad "SIG$sig"; cat "$T/j6$sig.log"; }
	[ ! -e "$T/h6/etc/node.key" ] && [ -z "$(ns_exec 6 wg show "$(ns_if 6)" peers)" ] &&
		ok "  ...and nothing is left half-done (key, WireGuard peer)" || bad "SIG$sig left things behind"
done
# a rejected join
tok6=$(invite 1 six2)
ns_sh_bg 6 "$T/j6c.log" "mirrornetctl join '$tok6' --wg-interface $(ns_if 6) --timeout 60s; echo exit=\$?"
join_id() { ctl 1 join list --json | jq -r '.[] | select(.name=="six2") | .id' | grep .; }
poll 45 join_id
id6=$(join_id)
rpc_reject() { ctl 1 "rpcd call join_reject <<'EOJ'
{\"invitation\":\"$id6\",\"reason\":\"not-ours\"}
EOJ"; }
rpc_reject >"$T/reject.json" 2>&1 && jq -e '.result' "$T/reject.json" >/dev/null &&
	ok "join reject (rpcd join_reject, as LuCI calls it)" || { bad "join reject through rpcd"; _t_show "$T/reject.json"; }
told_why() { grep -q "exit=1" "$T/j6c.log" && grep -q "not-ours" "$T/j6c.log"; }
wait_for 30 "the rejected joiner is told why" told_why || cat "$T/j6c.log"
# a forged token (secret altered): its temporary key is allowed nowhere
forged=$(echo "$tok3" | sed 's/\(mirrornet:\/\/.\{20\}\)./\1A/')
ns_sh 6 "mirrornetctl join '$forged' --wg-interface $(ns_if 6) --timeout 6s" >"$T/j6d.log" 2>&1 &&
	bad "forged invitation accepted" || ok "a forged invitation is refused: $(tail -1 "$T/j6d.log")"

# ---- key rotation, gossip goes on ----
old4=$(did_of 4)
ctl 4 key rotate >"$T/rot.log" 2>&1 && ok "key rotate: $(tail -1 "$T/rot.log")" || { bad "key rotate"; cat "$T/rot.log"; tail -20 "$T/d4.log"; tail -20 "$T/d2.log"; }
new4=$(did_of 4)
[ -n "$new4" ] && [ "$new4" != "$old4" ] && ok "peer4 has a new key" || bad "peer4 key unchanged"
node_id_kept() { json_ok --arg n "$new4" --arg o "$old4" \
	'[.[] | select(.did == $n and .node_id == $o and .name == "peer4")] | length == 1' on 1 peers --json; }
wait_for 30 "  ...its node id (first key), name and address stay: the master's peers view says so" node_id_kept ||
	on 1 peers --json | jq -c '.[] | {did, node_id, name}'
ctl 1 publish svc after-rotation --file "$(svc r1)" >/dev/null
wait_for 30 "gossip reaches the rotated node" has_key 4 svc after-rotation
ctl 4 publish svc from-rotated --file "$(svc r2)" >/dev/null
wait_for 30 "gossip from the rotated node reaches the master" has_key 1 svc from-rotated

# ---- revocation ----
did3=$(did_of 3)
wg3=$(status_json 3 | jq -r .wireguard.public_key)
ctl 1 revoke "$did3" --reason test >/dev/null && ok "revoke peer3" || bad "revoke"
wg3b=$(ns_wg_b64 "$wg3")
for i in 1 2 4 5; do
	wait_for 30 "host $i removed peer3's WireGuard peer" no_wg_peer "$i" "$wg3b"
done

# ---- a month offline: the certificate expired, the node renews it by itself ----
# (clocks moved with MIRRORNET_TIME_OFFSET_S; only the master and peer5 take part)
month=$((30 * 86400))
before=$(status_json 5 | jq .onboarding.cert_not_after)
need stop_daemon 5
need stop_daemon 1
start_daemon 1 MIRRORNET_TIME_OFFSET_S=$month
start_daemon 5 MIRRORNET_TIME_OFFSET_S=$month
renewed() { [ "$(status_json 5 | jq .onboarding.cert_not_after)" -gt $((before + month)) ]; }
wait_for 180 "after 30 days offline peer5 renewed its expired certificate by itself" renewed ||
	{ grep -v 'suspect\|alive ->\|dead ->' "$T/d5.log" | tail -8
	  grep -v 'suspect\|alive ->\|dead ->' "$T/d1.log" | tail -8
	  ns_exec 5 wg show "$(ns_if 5)"; ns_exec 1 wg show "$(ns_if 1)" | head -30; }
grep -q "has expired" "$T/d5.log" && ok "  ...it said its certificate had expired" || bad "no expiry message"
master_sees_5() { json_ok '[.[] | select(.name=="peer5" and .state=="alive")] | length == 1' on 1 peers --json; }
wait_for 60 "  ...and the master sees it alive again" master_sees_5
finish
