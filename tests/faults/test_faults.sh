#!/bin/bash
# Faults on a mesh over real WireGuard (wireguard-go), 4 hosts in network
# namespaces (a star provisioned by configuration, tests/netns/lib.sh), and
# what must hold after each (docs/faults.md). Stores are compared by the
# digest `status` reports (two daemons with the same digest hold the same
# record set):
#   - loss, delay with jitter, reordering and duplication on the underlay
#     (tc netem; where the kernel has no sch_netem, mn_impair in user space
#     between the host and the bridge): records published meanwhile reach everyone, digests equal
#   - a partition (host 2's underlay drops everything, nftables) and its heal: digests equal after
#   - kill -9 of a daemon during a burst of publishes, restart: every publish
#     the CLI acknowledged is held by every host, digests equal
#   - wireguard-go killed and started again: the daemon sets its key, port
#     and peers again (status .wireguard.device_restored), gossip flows
#   - a full disk under host 4's store (a 4 MiB tmpfs): it keeps serving,
#     counts what it cannot save (store_unsaved), refuses local publishes
#     saying why, saves everything when space returns (a kill -9 and a
#     restart cut off from the mesh find all of it on disk)
#   - a clock an hour behind: records of the others are refused as future
#     (counted), the daemon keeps serving; its clock set right, it converges
#   - a reload command that fails (host 2) or hangs (host 3, `sleep 600 &
#     wait`): counted and logged, the hanging one killed after 10 s with its
#     child, the daemon serving all along
# Needs root, iproute2 (tc), wireguard-go; skips otherwise.
. "$(dirname "$0")/lib.sh"
need_root
need_cmd wireguard-go tc jq
: "${MN_BUILD:?}"
K=4
tmpdir mn-faults
star_up
# host 4's store on a small file system of its own (the full-disk case below)
store_tmpfs 4 4m || fatal "tmpfs for host 4's store"
# reload commands that fail (host 2) and hang (host 3: killed after 10 s, with its child)
printf '%s\n' "hosts_file $T/h2/hosts" "hosts_reload false" >>"$T/h2/mirrornetd.conf"
printf '%s\n' "hosts_file $T/h3/hosts" "hosts_reload sleep 600 & wait" >>"$T/h3/mirrornetd.conf"
for i in $(seq 1 $K); do need start "$i"; done
wait_for 60 "$K hosts over WireGuard see each other alive" all_alive
wait_for 30 "their stores are equal (digest)" digests_equal

# ---- reload commands that fail or hang (at the start: the first hosts file) ----
check "a failing reload command (host 2) is counted and said: $(json_val .hosts.reload on 2 status --json)" \
	json_ok '.hosts.reload_failures >= 1 and (.hosts.reload | test("exit status 1"))' on 2 status --json
wait_for 20 "  ...and tried again by itself, with no membership change" \
	json_ok '.hosts.retries >= 1 and .hosts.reload_failures >= 2' on 2 status --json
sleeps() { local p; for p in $(ip netns pids "$(ns_host 3)"); do
	[ "$(cat /proc/"$p"/comm 2>/dev/null)" = sleep ] && echo "$p"; done; }
# polled: a hang is killed after 10 s and retried 5 s later, so one look
# may fall between two (session 14: 1 of 9 flakes rounds)
hang_seen() { [ -n "$(sleeps)" ]; }
wait_for 30 "host 3's reload command hangs" hang_seen
hanging=$(sleeps)
[ -n "$hanging" ] && ok "  ...its child: sleep $hanging" || bad "no hanging reload in host 3"
running() { grep -q '^State:[[:space:]]*[RSD]' "/proc/$1/status" 2>/dev/null; }   # (a zombie is gone)
hang_gone() { local p; for p in $hanging; do ! running "$p" || return 1; done; }
wait_for 15 "  ...killed within its 10 s, with its child (the command's process group)" hang_gone
check "  ...counted and logged" eval 'json_ok ".hosts.reload_failures >= 1" on 3 status --json &&
	grep -q "timed out after 10 s" "$T/h3/log"'
check "  ...and host 3 kept serving meanwhile (its store equals the others')" digests_equal

# ---- loss, delay, reordering, duplication on the underlay ----
# tc netem where the kernel has it (delay with jitter, reordering, loss,
# duplication); else mn_impair, the same in user space (ns_slow)
if ns_has_netem 2; then
	for i in 2 3; do
		ns_netem "$i" delay 30ms 20ms loss 10% duplicate 5% reorder 25% 50% || fatal "netem on host $i"
	done
	how="10 % loss, 30±20 ms, reordering, 5 % duplicates (netem)"
else
	for i in 2 3; do ns_slow "$i" 30 20 10 5 120 || fatal "mn_impair on host $i"; done
	how="10 % loss, 30±20 ms, reordering, 5 % duplicates (mn_impair)"
fi
for n in $(seq 1 15); do publish 2 "lossy2-$n"; publish 4 "lossy4-$n"; done
wait_for 60 "under $how: 30 records reach all, digests equal" digests_equal
check "  ...host 3 (impaired) holds all 30" json_ok '[.[] | select(.key | startswith("lossy"))] | length == 30' on 3 records svc --json
if [ ${#NS_SLOWS[@]} -gt 0 ]; then
	for i in 2 3; do
		ns_unslow "$i" || fatal "host $i's link back on the bridge"
		counts=$(tail -n 1 "$T/slow$i.log")
		# the faults were there: frames lost, sent twice and overtaken
		# (reordered counts frames sent after a later one)
		[[ $counts =~ lost\ [1-9].*duplicated\ [1-9].*reordered\ [1-9] ]] &&
			ok "  ...host $i's underlay: $counts" || bad "host $i's underlay was not impaired: $counts"
	done
	wait_for 30 "  ...links back on the bridge: every host counts the others alive" all_alive
else
	for i in 2 3; do ns_exec "$i" tc qdisc del dev "u$i" root; done
fi

# ---- a partition and its heal ----
# held 30 s, with records published on both sides meanwhile: what was
# sent on a stream connection across the cut sits in TCP's retransmission
# backoff (its next resend 10-25 s after the heal); a peer back from
# suspicion has such connections started afresh (connections_reset_back)
resets() { local i n=0; for i in $(seq 1 "$K"); do
	n=$((n + $(json_val .counters.connections_reset_back on "$i" status --json))); done; echo "$n"; }
resets0=$(resets)
need ns_isolate 2
for n in 1 2 3; do publish 2 "island$n"; publish 1 "mainland$n"; done
never_for 30 "cut off, host 2 does not get the mainland's records" has_key 2 svc mainland1
need ns_rejoin 2
healed_at=$(date +%s%N)
wait_for 60 "the partition healed: digests equal" digests_equal
# (whether a stream carried data into the cut depends on the timing, so
# the resets are printed, not asserted: docs/faults.md has the runs)
took=$(( ($(date +%s%N) - healed_at) / 1000000 ))
ok "  ...$took ms after the heal; stuck connections started afresh: $(( $(resets) - resets0 ))"
check "  ...the island's records are everywhere" has_key 4 svc island3

# ---- kill -9 during a burst ----
: >"$T/acked"
(for n in $(seq 1 300); do
	on 3 publish svc "burst-$n" --body "$(svc "burst-$n")" >/dev/null 2>&1 && echo "burst-$n" >>"$T/acked"
done) &
BURST=$!
track $BURST
acked_ge() { [ "$(wc -l <"$T/acked")" -ge "$1" ]; }
poll 20 acked_ge 20
kill9 3
wait "$BURST" 2>/dev/null
n_acked=$(wc -l <"$T/acked")
[ "$n_acked" -ge 20 ] && [ "$n_acked" -lt 300 ] && ok "host 3 killed (-9) within a burst: $n_acked of 300 publishes acknowledged" ||
	bad "the burst: $n_acked of 300 acknowledged (the kill was not within it)"
need start 3
holds_acked() {   # host I holds every acknowledged burst record
	local keys
	keys=$(json_val '[.[] | .key | select(startswith("burst-"))] | join(" ")' on "$1" records svc --json) || return 1
	while read -r k; do case " $keys " in *" $k "*) ;; *) echo "host $1 lacks $k"; return 1 ;; esac; done <"$T/acked"
}
wait_for 30 "restarted, host 3 holds all $n_acked acknowledged records" holds_acked 3
wait_for 60 "  ...and so does everyone: digests equal" digests_equal
for i in 1 2 4; do holds_acked "$i" || bad "host $i lacks an acknowledged record"; done

# ---- wireguard-go killed and started again ----
restored() { json_ok '.wireguard.device_restored >= 1' on 4 status --json; }
need wg_kill 4
need ns_wg_up 4   # the interface again, with its address (netifd's part on a router)
wait_for 30 "wireguard-go restarted: the daemon set its key, port and peers again" restored
wg_peers4() { [ "$(ns_exec 4 wg show "$(ns_if 4)" peers | wc -l)" -ge $((K - 1)) ]; }
check "  ...all $((K - 1)) WireGuard peers are back" wg_peers4
publish 1 "after-wg-restart"; publish 4 "from-restarted-wg"
wait_for 30 "  ...gossip flows both ways again" eval 'has_key 4 svc after-wg-restart && has_key 1 svc from-restarted-wg'

# ---- a full disk under the store ----
need disk_fill 4
big() {   # a svc record of about 1 KiB
	local pad; pad=$(head -c 250 /dev/zero | tr '\0' a)
	printf '{"service":"%s","endpoint":"x:1","port":1,"attrs":[{"k":"a","v":"%s"},{"k":"b","v":"%s"},{"k":"c","v":"%s"}]}' \
		"$1" "$pad" "$pad" "$pad"
}
for n in $(seq 1 40); do on 1 publish svc "full-$n" --body "$(big "full-$n")" >/dev/null; done
unsaved() { [ "$(counter 4 store_unsaved)" -gt 0 ]; }
wait_for 30 "host 4's disk is full: the records it cannot save are counted (store_unsaved)" unsaved
all_full() { [ "$(json_val '[.[] | select(.key | startswith("full-"))] | length' on 4 records svc --json)" = 40 ]; }
# (polled: the first refused write is counted before the last of the 40 arrives)
wait_for 30 "  ...it keeps serving: it holds all 40 in memory, status answers" all_full
on 4 publish svc refused --body "$(svc refused)" >"$T/refused.out" 2>&1 &&
	bad "a publish on host 4 was acknowledged while its store cannot write" ||
	{ grep -q "store cannot write" "$T/refused.out" && ok "  ...a local publish is refused, saying why: $(head -c 120 "$T/refused.out")" ||
		bad "refused without a reason: $(cat "$T/refused.out")"; }
disk_free 4
saved() { [ "$(counter 4 store_unsaved)" = 0 ] && [ "$(counter 4 store_lost)" = 0 ]; }
wait_for 30 "space back: host 4 saves what it held, loses nothing (store_unsaved 0, store_lost 0)" saved
all_full() { [ "$(json_val '[.[] | select(.key | startswith("full-"))] | length' on 4 records svc --json)" = 40 ]; }
# (all 40 first: a restart cut off from the mesh cannot fetch one it never got)
wait_for 30 "  ...and holds all 40" all_full
need ns_isolate 4   # after a restart, what it holds comes from its disk only
kill9 4
need start 4
wait_for 30 "  ...killed (-9) and restarted cut off from the mesh, it holds all 40 from its disk" all_full
need ns_rejoin 4

# ---- a clock an hour behind ----
stop_pid "${PID[2]}"
need start 2 MIRRORNET_TIME_OFFSET_S=-3600
wait_for 30 "host 2 restarted with its clock an hour behind" digest 2
f0=$(counter 2 future); f0=${f0:-0}
publish 1 "from-the-present"
future_moved() { [ "$(counter 2 future)" -gt "$f0" ]; }
wait_for 30 "  ...it refuses the present's new record as from the future (counted)" future_moved
never_for 3 "  ...and does not hold it" has_key 2 svc from-the-present
check "  ...while it keeps serving (status answers)" digest 2
stop_pid "${PID[2]}"
need start 2
rec_lines() { on "$1" records --json | jq -r '.[] | "\(.kind) \(.origin[-6:]) \(.key) \(.version) \(.expires)"' | sort; }
wait_for 60 "its clock set right again, it converges: digests equal" digests_equal ||
	{ diff <(rec_lines 1) <(rec_lines 2) | _t_show
	  for i in 1 3 4; do echo "host $i about host 2: $(on $i peers --json | jq -c --arg n host2 '.[] | select(.name == $n) | {state, score, graylisted}') $(on $i status --json | jq -c '.counters | {graylisted_drops, future, malformed, rate_limited, strangers}')"; done
	  on 2 peers --json | jq -c '.[] | {name, state, score, graylisted}'; on 2 status --json | jq -c .counters; }

finish
