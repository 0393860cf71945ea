#!/bin/bash
# Real daemons on loopback: 10 converge; a record published on one reaches
# all; a daemon restarted after missing records catches up; a daemon killed
# with SIGKILL is seen suspect then dead, and alive again when restarted; a
# peer sending garbage and forged records is graylisted while the rest keep
# working. Every daemon is stopped (by PID) and the directory removed, even
# on failure.
set -u
B=${MN_BUILD:?}
S=${MN_SOURCE:?}
T=$(mktemp -d /tmp/mn-mesh-test.XXXXXX)
N=10
# below the ephemeral port range (32768+), where our own connections live
BASE=$(( 20000 + ($$ % 1000) * 10 ))
ctl="$B/mirrornetctl"
mesh() { MN_BUILD=$B "$S/tools/mesh" "$@" -d "$T" -b "$B"; }
cleanup() { mesh stop >/dev/null 2>&1; rm -rf "$T"; }
trap cleanup EXIT INT TERM
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok: $*"; }
no() { fail=$((fail + 1)); echo "FAIL: $*"; }
on() { local i=$1; shift; MIRRORNET_SOCKET=$T/node$i/api.sock "$ctl" "$@"; }
# wait_for SECONDS DESCRIPTION COMMAND...: poll until the command succeeds
wait_for() {
	local secs=$1 what=$2; shift 2
	local end=$((SECONDS + secs))
	while [ $SECONDS -lt $end ]; do
		if "$@" >/dev/null 2>&1; then ok "$what"; return 0; fi
		sleep 0.3
	done
	no "$what (not within ${secs}s)"
	return 1
}
alive_count() { on "$1" status --json | jq -e ".alive >= $2"; }
all_alive() { for i in $(seq 1 $N); do alive_count "$i" $((N - 1)) || return 1; done; }
has_key() {   # has_key NODE KIND KEY
	on "$1" records "$2" --json | jq -e --arg k "$3" 'map(select(.key == $k)) | length == 1'
}
everyone_has() { for i in $(seq 1 $N); do [ -e "$T/node$i/pid" ] || continue; has_key "$i" "$1" "$2" || return 1; done; }
state_of() {   # state_of OBSERVER DID → state
	on "$1" peers --json | jq -r --arg d "$2" '.[] | select(.did == $d) | .state'
}
state_is() { [ "$(state_of "$1" "$2")" = "$3" ]; }

mesh start -n $N -p $BASE > "$T/start.log" 2>&1 || { cat "$T/start.log"; no "mesh start"; exit 1; }
wait_for 60 "$N daemons converge (everyone sees $((N - 1)) alive)" all_alive

# a record published on one reaches all
on 3 publish svc mail --body '{"service":"mail","endpoint":"mx.node3.example.io","port":25}' >/dev/null \
	&& ok "publish on node3" || no "publish on node3"
wait_for 30 "the record reaches all $N daemons" everyone_has svc mail

# a daemon restarted after missing records catches up
kill -TERM "$(cat "$T/node7/pid")"; rm -f "$T/node7/pid"
sleep 1
for k in a b c d e; do on 2 publish svc "late-$k" --body "{\"service\":\"late-$k\"}" >/dev/null; done
wait_for 30 "the others get the records published while node7 is down" has_key 9 svc late-e
"$B/mirrornetd" -c "$T/node7/mirrornetd.conf" >> "$T/node7/log" 2>&1 &
echo $! > "$T/node7/pid"
catch_up() { for k in a b c d e; do has_key 7 svc "late-$k" || return 1; done; }
wait_for 45 "node7, restarted, catches up on what it missed" catch_up

# SIGKILL: suspect, then dead, then alive again after a restart
D5=$(cat "$T/node5/did")
kill -KILL "$(cat "$T/node5/pid")"; rm -f "$T/node5/pid"
wait_for 30 "node5 killed: suspect (or already dead) on node1" \
	bash -c "[ \"\$(MIRRORNET_SOCKET=$T/node1/api.sock $ctl peers --json | jq -r --arg d $D5 '.[] | select(.did == \$d) | .state')\" != alive ]"
wait_for 40 "node5 killed: dead on node1" state_is 1 "$D5" dead
wait_for 40 "node5 killed: dead on node8" state_is 8 "$D5" dead
"$B/mirrornetd" -c "$T/node5/mirrornetd.conf" >> "$T/node5/log" 2>&1 &
echo $! > "$T/node5/pid"
wait_for 40 "node5 restarted: alive again on node1" state_is 1 "$D5" alive
wait_for 40 "node5 restarted: alive again on node8" state_is 8 "$D5" alive

# garbage and forged records from a peer: counted, graylisted, the rest works
on 4 publish svc victim --body '{"service":"victim"}' >/dev/null
wait_for 20 "record to forge reaches node2" has_key 2 svc victim
PORT2=$((BASE + 2))
"$B/tests/mn_inject" "127.0.0.1:$PORT2" garbage 300 >/dev/null
on 2 status --json | jq -e '.counters.bad_datagrams + .counters.malformed > 0' >/dev/null \
	&& ok "garbage is counted on node2" || no "garbage is not counted on node2"
# the injector's did (its key comes from the seed mn_inject uses)
INJDID=$("$ctl" keygen --seed eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee)
wait_for 10 "the garbage sender is graylisted on node2" \
	bash -c "MIRRORNET_SOCKET=$T/node2/api.sock $ctl peers --json | jq -e --arg d $INJDID '.[] | select(.did == \$d) | .graylisted'"
# forged records from a second, fresh sender: make a record file: sign one with node4's key (valid), then the injector flips its signature
"$ctl" record sign svc forged --key "$T/node4/node.key" --out "$T/forged.rec" --body '{"service":"forged"}' >/dev/null
MN_INJECT_SEED=dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd \
	"$B/tests/mn_inject" "127.0.0.1:$PORT2" forged "$T/forged.rec" 50 >/dev/null
sleep 1
on 2 status --json | jq -e '.counters.bad_signatures >= 1' >/dev/null \
	&& ok "forged records fail verification on node2" || no "no bad signature counted on node2"
has_key 2 svc forged >/dev/null && no "a forged record was accepted" || ok "the forged record is not held"
"$B/tests/mn_inject" "127.0.0.1:$PORT2" oversize >/dev/null
"$B/tests/mn_inject" "127.0.0.1:$PORT2" halfopen >/dev/null
on 2 status --json | jq -e '.counters.oversize_frames >= 1' >/dev/null \
	&& ok "an oversize stream frame is counted" || no "oversize frame not counted"
# forged membership claims (issue #11 item 1): a stranger tells every other
# daemon that node3 left, at incarnation 2^32-1, and that it died, at its
# current incarnation. A third party's word is at most a suspicion node3
# refutes: it is never left or dead anywhere, and alive everywhere after.
D3=$(cat "$T/node3/did")
INC3=$(on 1 peers --json | jq -r --arg d "$D3" '.[] | select(.did == $d) | .incarnation')
for i in $(seq 1 $N); do
	[ "$i" = 3 ] && continue
	MN_INJECT_SEED=cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc \
		"$B/tests/mn_inject" "127.0.0.1:$((BASE + i))" member "$D3" 3 4294967295 3 >/dev/null
	MN_INJECT_SEED=cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc \
		"$B/tests/mn_inject" "127.0.0.1:$((BASE + i))" member "$D3" 2 "$INC3" 3 >/dev/null
done
evicted=""
for _ in $(seq 15); do   # past the suspicion time (5 s): a forged death would have ripened
	for i in $(seq 1 $N); do
		[ "$i" = 3 ] && continue
		case "$(state_of "$i" "$D3")" in
		left|dead) case "$evicted " in *" node$i "*) ;; *) evicted="$evicted node$i";; esac;;
		esac
	done
	sleep 1
done
[ -z "$evicted" ] && ok "forged LEFT/DEAD claims evict node3 nowhere" \
	|| no "node3 was evicted (left or dead) on:$evicted"
all_see_3() { for i in $(seq 1 $N); do [ "$i" = 3 ] || state_is "$i" "$D3" alive || return 1; done; }
wait_for 30 "node3 alive on every daemon after the forged claims" all_see_3

# and the mesh still works
on 6 publish svc after-attack --body '{"service":"after"}' >/dev/null
wait_for 30 "after the attack a new record still reaches everyone" everyone_has svc after-attack ||
	for i in $(seq 1 $N); do has_key "$i" svc after-attack >/dev/null || { echo "  node$i lacks it:"; on "$i" peers | sed 's/^/    /'; }; done
for i in $(seq 1 $N); do
	kill -0 "$(cat "$T/node$i/pid")" 2>/dev/null || { no "node$i died"; continue; }
done
ok "all daemons still running"

# configuration: -n names the bad line; SIGHUP with a bad file keeps the old one
C9=$T/node9/mirrornetd.conf
cp "$C9" "$T/good.conf"
echo "mesh_degree lots" >> "$C9"
if "$B/mirrornetd" -n -c "$C9" > "$T/n.out" 2>&1; then no "-n accepted a bad file"; else
	grep -q "mirrornetd.conf:[0-9]*: mesh_degree" "$T/n.out" && ok "-n names the bad line" || no "-n said: $(cat "$T/n.out")"
fi
kill -HUP "$(cat "$T/node9/pid")"
wait_for 10 "SIGHUP with a bad file is refused and counted" \
	bash -c "MIRRORNET_SOCKET=$T/node9/api.sock $ctl status --json | jq -e '.counters.reload_failures == 1'"
kill -0 "$(cat "$T/node9/pid")" && ok "node9 still runs on its old configuration" || no "node9 died on a bad reload"
cp "$T/good.conf" "$C9"
echo "log_level debug" >> "$C9"
kill -HUP "$(cat "$T/node9/pid")"
wait_for 10 "SIGHUP with a good file reloads" \
	bash -c "MIRRORNET_SOCKET=$T/node9/api.sock $ctl status --json | jq -e '.counters.reloads == 2 and .counters.reload_failures == 1'"
# SIGTERM: leaves the mesh cleanly, exit 0, the others see it left
P9=$(cat "$T/node9/pid")
kill -TERM "$P9"
for _ in $(seq 50); do kill -0 "$P9" 2>/dev/null || break; sleep 0.1; done
kill -0 "$P9" 2>/dev/null && no "node9 did not stop on SIGTERM" || ok "node9 stops on SIGTERM"
rm -f "$T/node9/pid"
D9=$(cat "$T/node9/did")
wait_for 10 "the others see node9 as left" state_is 1 "$D9" left
"$ctl" store check --db "$T/node9/store.db" >/dev/null && ok "node9's store is intact after SIGTERM" || no "node9's store check failed"

echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
