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
# Prints each join's time to full state. Needs root, wireguard-go.
# tools/bench-join runs it with 10 000 records (MN_RECORDS) as a benchmark.
. "$(dirname "$0")/../netns/lib.sh"
need_root
need_cmd wireguard-go jq
: "${MN_BUILD:?}"
J=${MN_JOINS:-4}
K=$((J + 2))   # the last host: a join whose tunnel is held back 4 s
FULL_S=${MN_FULL_S:-5}   # (a longer bound measures how late the old code was)
tmpdir mn-join
ns_init $K || fatal "namespaces"
ns_view_init $K || fatal "the hosts' private views"
start_daemon() {
	ns_sh_bg "$1" "$T/d$1.log" "exec mirrornetd -c /etc/mirrornet/mirrornetd.conf"
	watch_pid "$SPAWNED" "daemon of host $1"
}
status_json() { on "$1" status --json 2>/dev/null; }
nrec() { json_val .records on "$1" status --json; }
for i in $(seq 1 $K); do need ns_wg_start "$i"; done
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
finish
