#!/bin/bash
# One member publishes past its budget against real daemons
# (tools/bench-hostile): the daemon it sends to and the one that relays
# hold at most max_record_bytes_per_origin (2 MiB) of its records, count
# the rest as over_origin_budget, and keep serving (a record published
# afterwards by an honest node still arrives). Every daemon is stopped by
# PID and the directory removed by bench-hostile, even on failure.
set -u
B=${MN_BUILD:?}
S=${MN_SOURCE:?}
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
out=$(MN_BUILD=$B "$S/tools/bench-hostile" --json --count 800 --size 4000 --rate 100) ||
	{ no "bench-hostile ran"; echo "$out"; exit 1; }
echo "$out"
t() {   # t DESCRIPTION JQ-EXPRESSION
	if echo "$out" | jq -e "$2" >/dev/null; then ok "$1"; else no "$1 ($2)"; fi
}
t "the member sent about 3.2 MB" '.sent * .size > 3000000'
t "node1 holds at most 2 MiB of its records" '(.node1_from_hostile.record_bytes // 1e12) <= 2097152'
t "node1 holds most of its budget" '(.node1_from_hostile.record_bytes // 0) > 1500000'
t "node1 counts the refusals" '(.node1.over_origin_budget // 0) >= 200'
t "node2 (relayed) holds at most 2 MiB of them" '(.node2_from_hostile.record_bytes // 1e12) <= 2097152'
t "node2 holds what node1 accepted" '.node2_from_hostile.records == .node1_from_hostile.records'
t "an honest record published afterwards arrives" '.honest_delivered'
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
