#!/bin/bash
# One member publishes past its budget and its rate against real daemons
# (tools/bench-hostile). With the rate out of the way, the daemon it sends
# to and the one that relays hold at most max_record_bytes_per_origin
# (2 MiB) of its records and count the rest as over_origin_budget; at the
# default rate (4 KiB/s, a 32 KiB burst) they take no more than the rate
# allows and count the rest as origin_rate_limited, penalising nobody. Both
# times they keep serving (a record published afterwards by an honest node
# still arrives). Every daemon is stopped by PID and the directory removed
# by bench-hostile, even on failure.
. "$(dirname "$0")/../lib.sh"
B=${MN_BUILD:?}
S=${MN_SOURCE:?}
t() { if json_ok "$2" echo "$out"; then ok "$1"; else bad "$1 ($2)"; fi; }   # t WHAT JQ-EXPRESSION

echo "== the budget (origin rate 100 MB/s)"
out=$(MN_BUILD=$B "$S/tools/bench-hostile" --json --count 800 --size 4000 --rate 100 \
	--origin-rate 100000000) || { echo "$out"; fatal "bench-hostile ran"; }
echo "$out"
t "the member sent about 3.2 MB" '.sent * .size > 3000000'
t "node1 holds at most 2 MiB of its records" '(.node1_from_hostile.record_bytes // 1e12) <= 2097152'
t "node1 holds most of its budget" '(.node1_from_hostile.record_bytes // 0) > 1500000'
t "node1 counts the refusals" '(.node1.over_origin_budget // 0) >= 200'
t "node2 (relayed) holds at most 2 MiB of them" '(.node2_from_hostile.record_bytes // 1e12) <= 2097152'
t "node2 holds what node1 accepted" '.node2_from_hostile.records == .node1_from_hostile.records'
t "an honest record published afterwards arrives" '.honest_delivered'

echo "== the rate (defaults: 4 KiB/s, a 32 KiB burst)"
out=$(MN_BUILD=$B "$S/tools/bench-hostile" --json --count 400 --size 4000 --rate 100) ||
	{ echo "$out"; fatal "bench-hostile ran"; }
echo "$out"
# what the rate allows over the whole run (.seconds covers the sending and
# the relaying), plus the burst and one record of slack
t "node1 holds no more of its records than the rate allows" \
	'(.node1_from_hostile.record_bytes // 1e12) <= 32768 + 4096 * (.seconds + 1) + 4100'
t "node1 took the burst" '(.node1_from_hostile.record_bytes // 0) >= 28000'
t "node1 counts the rest as over the rate" '(.node1.origin_rate_limited // 0) >= 200'
t "nothing was over the budget" '(.node1.over_origin_budget // 1) == 0'
t "node2 holds what node1 accepted" '.node2_from_hostile.records == .node1_from_hostile.records'
t "an honest record published afterwards arrives" '.honest_delivered'
finish
