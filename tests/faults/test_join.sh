#!/bin/bash
# A new member holds the whole mesh state within a few seconds of its
# daemon's start (issue #19, docs/faults.md): a master with MN_RECORDS (40)
# records, then MN_JOINS (4) members join one after another by token over
# wireguard-go; each must hold every record the master holds within 5 s.
# The join's first anti-entropy round used to be lost when the member's
# tunnel took over 3 s (a connect abandoned with its queued messages).
# The last member's underlay drops everything for its daemon's first 4 s
# (ns_isolate): it must hold everything within 5 s of the tunnel coming up,
# its first round carried over to a fresh connect (connections_retried).
# Prints each join's time to full state (tools/bench-join runs it with
# 10 000 records, MN_RECORDS, as a benchmark).
# Then kill -9 during a join, the master grown by MN_BULK (3000) records so
# that a first sync takes long enough to be caught in the middle:
#   - the joiner's daemon killed while it holds some but not all records
#     (its downlink throttled to 1 Mbit/s by tbf, so that its first sync
#     lasts seconds), restarted: its store opens and passes the integrity check (store
#     check), it reaches the master's digest within 30 s, the others hold it
#     alive again and nobody revoked it
#   - the master killed the moment it has certified a joiner (its log says
#     so; whether its answer got out is the race): once it is back, the
#     join completes (the same answer for the same joiner), the member
#     reaches the master's digest and is alive at the master
#   - the same with the answer lost (its data segments dropped by nftables
#     in the master's namespace): the joiner asks again once it is back
#   - the master killed while a join waits for approval: the waiting request
#     survives its restart, is approved, and the join completes
# Needs root, wireguard-go.
. "$(dirname "$0")/../netns/lib.sh"
need_root
need_cmd wireguard-go jq
: "${MN_BUILD:?}"
J=${MN_JOINS:-4}
K=$((J + 2))   # the last host: a join whose tunnel is held back 4 s
FULL_S=${MN_FULL_S:-5}   # (a longer bound measures how late the old code was)
# joiner killed; master killed after certifying; ... with its answer lost; ... while a join waits
KJ=$((K + 1)) KM=$((K + 2)) KL=$((K + 3)) KA=$((K + 4))
tmpdir mn-join
ns_init $KA || fatal "namespaces"
ns_view_init $KA || fatal "the hosts' private views"
start_daemon() {   # host I's daemon (exec'd by the view's shell: its PID in DPID[I])
	ns_sh_bg "$1" "$T/d$1.log" "exec mirrornetd -c /etc/mirrornet/mirrornetd.conf"
	DPID[$1]=$SPAWNED
	watch_pid "$SPAWNED" "daemon of host $1"
}
kill9() { unwatch_pid "${DPID[$1]}"; kill -KILL "${DPID[$1]}"; poll 10 gone "${DPID[$1]}"; }
status_json() { on "$1" status --json 2>/dev/null; }
nrec() { json_val .records on "$1" status --json; }
for i in $(seq 1 $KA); do need ns_wg_start "$i"; done
need ns_ctl 1 mesh init --name master --domain example.io --endpoint "$NS_UNDERLAY.1:51820" \
	--wg-interface "$(ns_if 1)" >/dev/null
ns_exec 1 ip addr add 10.42.0.1/16 dev "$(ns_if 1)"; ns_exec 1 ip link set "$(ns_if 1)" up
start_daemon 1
poll 10 status_json 1 || fatal "the master's daemon starts"
R=${MN_RECORDS:-40}
for b in $(seq 0 500 $((R - 1))); do   # in 500s: api-raw reads the answers at the end
	for n in $(seq $((b + 1)) $((b + 500 < R ? b + 500 : R))); do
		echo "{\"cmd\":\"publish\",\"kind\":\"svc\",\"key\":\"s$n\",\"body\":{\"service\":\"s$n\",\"endpoint\":\"x:1\",\"port\":1,\"attrs\":[]}}"
	done | ns_ctl 1 api-raw --until-eof >/dev/null
done
full() { [ "$(nrec "$1")" -ge "$2" ]; }
retried() { json_val '.counters.connections_retried // 0' on "$1" status --json; }
for j in $(seq 2 $K); do
	tok=$(ns_ctl 1 invite create --name "m$j" --auto-approve --json | jq -r .token)
	ns_sh "$j" "mirrornetctl join '$tok' --wg-interface $(ns_if "$j") --timeout 30s" >"$T/j$j.log" 2>&1 ||
		{ _t_show "$T/j$j.log"; fatal "host $j joins"; }
	want=$(nrec 1)
	if [ "$j" = "$K" ]; then
		# its tunnel is not up for the first 4 s of its daemon (the swap of the
		# invitation's peer, a loaded machine): the first round must not be lost
		need ns_isolate "$j"
		start_daemon "$j"
		poll 10 status_json "$j"
		sleep 4   # the length of the outage itself, not a wait for a result
		need ns_rejoin "$j"
	else
		start_daemon "$j"
	fi
	t0=$(_t_us)
	if poll "$FULL_S" full "$j" "$want"; then
		ok "member $j holds all $want records $(( ($(_t_us) - t0) / 1000 )) ms after its daemon started"
	else
		bad "member $j holds $(nrec "$j") of $want records $FULL_S s after its daemon started (or its tunnel came up)"
		grep -v "suspect\|alive ->" "$T/d$j.log" | tail -5 | _t_show
	fi
done
check "  ...the member whose tunnel came up late sent its first round again on a fresh connect" \
	test "$(retried "$K")" -ge 1

# ---- kill -9 during a join ----
digest() { json_val '"\(.records) \(.digest)"' on "$1" status --json; }
same_digest() { local a b; a=$(digest "$1") && b=$(digest "$2") && echo "$1: $a / $2: $b" && [ -n "$a" ] && [ "$a" = "$b" ]; }
did_of() { ns_sh "$1" "mirrornetctl keygen --show /etc/mirrornet/node.key --json" | jq -r .did; }
alive_at() { [ "$(state_of "$1" "$(did_of "$2")")" = alive ]; }
no_revoke() { json_ok 'length == 0' on "$1" records revoke --json; }
invite() { ns_ctl 1 invite create --name "$1" "${@:2}" --json | jq -r .token; }
gen() { awk -v n="$1" 'BEGIN { for (i = 0; i < n; i++)
	printf "{\"cmd\":\"publish\",\"kind\":\"svc\",\"key\":\"bulk%d\",\"body\":{\"service\":\"b\",\"endpoint\":\"x:1\",\"port\":1,\"attrs\":[]}}\n", i }'; }
bulk=${MN_BULK:-3000}
for k in $(seq 0 250 $((bulk - 1))); do   # in chunks: one API client's answers stay small
	gen "$bulk" | sed -n "$((k + 1)),$((k + 250))p" | ns_ctl 1 api-raw --until-eof >/dev/null
done
total=$(nrec 1)
[ "$total" -ge "$bulk" ] || fatal "the master holds $total records after $bulk more were published"

joined() { gone "$JOINER"; }
completes() {   # completes I WHAT: host I's join ($JOINER) ends well within 60 s, its daemon converges
	local rc
	if wait_for 60 "$2" joined; then
		wait "$JOINER"; rc=$?
		[ "$rc" = 0 ] && ok "  ...successfully (exit 0)" || { bad "  ...but the join failed (exit $rc)"; _t_show "$T/j$1.log"; }
	fi
	start_daemon "$1"
	wait_for 30 "  ...its daemon reaches the master's state (digest)" same_digest "$1" 1
	wait_for 30 "  ...and the master holds it alive" alive_at 1 "$1"
}

# the joiner killed in the middle of its first sync
tok=$(invite "m$KJ" --auto-approve)
ns_sh "$KJ" "mirrornetctl join '$tok' --wg-interface $(ns_if "$KJ") --timeout 30s" >"$T/j$KJ.log" 2>&1 ||
	{ _t_show "$T/j$KJ.log"; fatal "host $KJ joins"; }
# its downlink throttled (tbf on the bridge's port towards it, 1 Mbit/s): the
# first sync takes seconds instead of a fraction of one, wide enough to kill
# it in the middle; status must show at least 100 records (it brings 4 or so
# from the join: its chain and its node record) and fewer than all
throttle() { ip netns exec "$(ns_br)" tc qdisc "$1" dev "b$KJ" root ${2:+tbf rate 1mbit burst 32kbit latency 5s}; }
need throttle add on
start_daemon "$KJ"
partial() { local n; n=$(nrec "$KJ") && echo "$n" && [ "$n" -ge 100 ] && [ "$n" -lt "$total" ]; }
POLL_S=0.02 poll 30 partial && seen=$(cat "$T/.last") || seen=""
kill9 "$KJ"   # at once: what it holds on disk is checked below
need throttle del
db=$(ns_sh "$KJ" "sed -n 's/^db //p' /etc/mirrornet/mirrornetd.conf")
held=$(ns_sh "$KJ" "mirrornetctl store check --db '$db' --json" 2>"$T/check.err" | jq -r '.records // empty')
# (on disk it may hold fewer than status said: records from peers are
# committed in groups, 100 ms after the first; anti-entropy fetches the rest)
[ -n "$seen" ] && [ -n "$held" ] && [ "$held" -lt "$total" ] &&
	ok "member $KJ killed (-9) in its first sync: $seen of $total records in status, $held on its disk" ||
	bad "member $KJ was not killed in its first sync: ${held:-?} of $total records on its disk, ${seen:-none or all} in status (too fast to catch: raise MN_BULK)"
[ -n "$held" ] && ok "  ...its store opens and passes the integrity check after the kill (store check)" ||
	{ bad "  ...its store does not open after the kill"; _t_show "$T/check.err"; }
start_daemon "$KJ"
t0=$(_t_us)
if wait_for 30 "  ...restarted, it reaches the master's state (digest)" same_digest "$KJ" 1; then
	# (printed, not bounded: usually about 1 s, but 9-15 s in some runs:
	# a first round lost, docs/faults.md)
	ok "  ...$(( ($(_t_us) - t0) / 1000 )) ms after its restart"
fi
wait_for 60 "  ...and another member's (which had the $bulk records to take in too)" same_digest "$KJ" 2
check "  ...its status answers" json_ok '.records > 0' on "$KJ" status --json
wait_for 30 "  ...the master holds it alive again" alive_at 1 "$KJ"
wait_for 30 "  ...and so does another member" alive_at 2 "$KJ"
check "  ...nobody revoked it" eval 'no_revoke 1 && no_revoke 2 && no_revoke '"$KJ"

# the master (the sponsor) killed the moment it has certified a joiner
tok=$(invite "m$KM" --auto-approve)
ns_sh_bg "$KM" "$T/j$KM.log" "mirrornetctl join '$tok' --wg-interface $(ns_if "$KM") --timeout 60s"
JOINER=$SPAWNED
certified() { grep -q "m$KM (.*) joined with invitation" "$T/d1.log"; }
POLL_S=0.01 poll 30 certified || fatal "the master never certified m$KM: $(tail -3 "$T/d1.log")"
kill9 1
grep -q "^joined as" "$T/j$KM.log" && by="had its answer" || by="had no answer yet"
ok "the master killed (-9) right after certifying m$KM (the joiner $by)"
sleep 2   # the length of the outage, not a wait for a result
start_daemon 1
completes "$KM" "  ...once the master is back, the join completes"
check "  ...the invitation is used, once" json_ok --arg n "m$KM" '[.[] | select(.name == $n and .state == "used")] | length == 1' on 1 invite list --json

# the master killed after certifying a joiner whose answer never got out:
# the answer's data segments from the join service (7333) are dropped in the
# master's namespace (the handshake and acks are small and pass)
ns_exec 1 nft -f - <<EOF || fatal "nftables in host 1"
table inet mnjoinlost {
	chain out {
		type filter hook output priority 0;
		tcp sport 7333 ip length > 100 drop
	}
}
EOF
tok=$(invite "m$KL" --auto-approve)
ns_sh_bg "$KL" "$T/j$KL.log" "mirrornetctl join '$tok' --wg-interface $(ns_if "$KL") --timeout 90s"
JOINER=$SPAWNED
certified() { grep -q "m$KL (.*) joined with invitation" "$T/d1.log"; }
wait_for 30 "the master certified m$KL, whose answer is dropped" certified
kill9 1
check "  ...the joiner has no answer when the master is killed (-9)" eval '! grep -q "^joined as" "$T/j$KL.log"'
need ns_exec 1 nft delete table inet mnjoinlost
sleep 2   # the outage
start_daemon 1
completes "$KL" "  ...the master back, the joiner asks again and gets the same answer: the join completes"

# the master killed while a join waits for approval
tok=$(invite "m$KA")
ns_sh_bg "$KA" "$T/j$KA.log" "mirrornetctl join '$tok' --wg-interface $(ns_if "$KA") --timeout 90s"
JOINER=$SPAWNED
waiting() { json_ok --arg n "m$KA" '[.[] | select(.name == $n)] | length == 1' on 1 join list --json; }
wait_for 30 "a join that needs approval waits at the master" waiting
kill9 1
sleep 2   # the outage
start_daemon 1
wait_for 30 "  ...killed (-9) and restarted, the master still has the request waiting" waiting
id=$(on 1 join list --json | jq -r --arg n "m$KA" '.[] | select(.name == $n) | .id')
need on 1 join approve "$id" >/dev/null
completes "$KA" "  ...approved, the join completes"
finish
