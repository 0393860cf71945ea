#!/bin/bash
# Real daemons on loopback: 10 converge; a record published on one reaches
# all; a daemon restarted after missing records catches up; a daemon killed
# with SIGKILL is seen suspect then dead, and alive again when restarted; a
# stranger sending garbage leaves no state while the rest keep
# working; strangers on the plain transport (spoofed keys, random keys, idle
# connections) cost the members nothing. Every daemon is stopped (by PID)
# and the directory removed, even on failure.
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
# never_for SECONDS DESCRIPTION COMMAND...: poll; fail as soon as the command succeeds
never_for() {
	local secs=$1 what=$2; shift 2
	local end=$((SECONDS + secs))
	while [ $SECONDS -lt $end ]; do
		if "$@" >/dev/null 2>&1; then no "$what"; return 1; fi
		sleep 0.3
	done
	ok "$what (watched ${secs}s)"
}

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

# strangers on the plain transport (docs/daemon.md, "Strangers"): garbage from
# an unknown key is counted and leaves no peer entry; garbage and forged
# records under a member's key (from another address) cost that member
# nothing and do not move its address; 2 000 random keys take no peer slot
# and a new member still joins; 300 idle TCP connections from one source do
# not stop the stream path
on 4 publish svc victim --body '{"service":"victim"}' >/dev/null
wait_for 20 "record to forge reaches node2" has_key 2 svc victim
PORT2=$((BASE + 2))
"$B/tests/mn_inject" "127.0.0.1:$PORT2" garbage 300 >/dev/null
wait_for 30 "garbage from a stranger is counted on node2" \
	bash -c "MIRRORNET_SOCKET=$T/node2/api.sock $ctl status --json | jq -e '.counters.bad_datagrams + .counters.strangers > 0'"
# the injector's did (its key comes from the seed mn_inject uses)
INJDID=$("$ctl" keygen --seed eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee)
on 2 peers --json | jq -e --arg d "$INJDID" 'map(select(.did == $d)) | length == 0' >/dev/null \
	&& ok "the stranger has no peer entry on node2" || no "the stranger got a peer entry on node2"
D3=$(cat "$T/node3/did")
addr_of() { on "$1" peers --json | jq -r --arg d "$2" '.[] | select(.did == $d) | .addr'; }
A3=$(addr_of 2 "$D3")
graylisted_on2() { on 2 peers --json | jq -e --arg d "$1" '.[] | select(.did == $d) | .graylisted'; }
moved_on2() { [ "$(addr_of 2 "$D3")" != "$A3" ]; }
"$B/tests/mn_inject" "127.0.0.1:$PORT2" spoof "$D3" 400 >/dev/null
spoofed_effect() { graylisted_on2 "$D3" || moved_on2; }
never_for 5 "node3 is never graylisted, its address never moved on node2, while a stranger sends garbage under its key" spoofed_effect
wait_for 30 "garbage under node3's key is seen as unauthenticated on node2" \
	bash -c "MIRRORNET_SOCKET=$T/node2/api.sock $ctl status --json | jq -e '.counters.unattributed_penalties > 0'"
on 2 peers --json | jq -e --arg d "$D3" '.[] | select(.did == $d) | .graylisted == false' >/dev/null \
	&& ok "node3 is not graylisted by a stranger using its key" || no "node3 graylisted on node2 by spoofed garbage"
[ "$(addr_of 2 "$D3")" = "$A3" ] && ok "node3's address on node2 is unchanged ($A3)" \
	|| no "node3's address moved to $(addr_of 2 "$D3")"
# forged records under node4's key: verified and refused, node4 not blamed
D4=$(cat "$T/node4/did")
"$ctl" record sign svc forged --key "$T/node4/node.key" --out "$T/forged.rec" --body '{"service":"forged"}' >/dev/null
MN_INJECT_AS=$D4 "$B/tests/mn_inject" "127.0.0.1:$PORT2" forged "$T/forged.rec" 50 >/dev/null
wait_for 30 "forged records fail verification on node2" \
	bash -c "MIRRORNET_SOCKET=$T/node2/api.sock $ctl status --json | jq -e '.counters.bad_signatures >= 1'"
has_key 2 svc forged >/dev/null && no "a forged record was accepted" || ok "the forged record is not held"
on 2 peers --json | jq -e --arg d "$D4" '.[] | select(.did == $d) | .graylisted == false' >/dev/null \
	&& ok "node4 is not graylisted for records forged under its key" || no "node4 graylisted on node2"
# 2 000 random keys
P2=$(on 2 status --json | jq .peers)
"$B/tests/mn_inject" "127.0.0.1:$PORT2" strangers 2000 >/dev/null
wait_for 30 "2 000 random-key frames are counted as strangers on node2" \
	bash -c "MIRRORNET_SOCKET=$T/node2/api.sock $ctl status --json | jq -e '.counters.strangers >= 1500'"
[ "$(on 2 status --json | jq .peers)" = "$P2" ] && ok "node2 still has $P2 peers after 2 000 random keys" \
	|| no "node2 has $(on 2 status --json | jq .peers) peers (was $P2)"
# a new member (certified by the root, bootstrapping from node1 and node2) still joins
d=$T/node11
mkdir -p "$d"
"$ctl" keygen --out "$d/node.key" > "$d/did"
"$ctl" cert issue --key "$T/node1/node.key" --subject "$(cat "$d/did")" --depth 1 --addr 10.42.0.11 \
	--out "$d/node.cert" >/dev/null
cat > "$d/mirrornetd.conf" <<EOC
name node11
key $d/node.key
db $d/store.db
api $d/api.sock
listen 127.0.0.1:$((BASE + 11))
root $(cat "$T/node1/did")
mesh_addr 10.42.0.11
cert $d/node.cert
peer $(cat "$T/node1/did") 127.0.0.1:$((BASE + 1))
peer $(cat "$T/node2/did") 127.0.0.1:$PORT2
EOC
"$B/mirrornetd" -c "$d/mirrornetd.conf" >> "$d/log" 2>&1 &
echo $! > "$d/pid"
wait_for 60 "a new member joins after the flood: node11 alive on node2" state_is 2 "$(cat "$d/did")" alive
# 300 idle TCP connections from one source, held for 60 s
"$B/tests/mn_inject" "127.0.0.1:$PORT2" slowconns 300 60 2> "$T/slow.err" &
SLOWPID=$!
sleep 2   # let them connect (the check below is bounded, this only orders the steps)
attrs=$(for i in $(seq 1 8); do printf '{"k":"a%d","v":"%0255d"},' "$i" 0; done)
on 3 publish svc big --body "{\"service\":\"big\",\"attrs\":[${attrs%,}]}" >/dev/null \
	&& ok "a record of over 2 KB published on node3" || no "publish big on node3"
wait_for 30 "the big record reaches node2 while 300 idle connections are held" has_key 2 svc big
on 2 status --json | jq -e '.counters.connections_in <= 130' >/dev/null \
	&& ok "node2 holds at most its inbound budget ($(on 2 status --json | jq .counters.connections_in) in)" \
	|| no "node2 holds $(on 2 status --json | jq .counters.connections_in) inbound connections"
kill "$SLOWPID" 2>/dev/null; wait "$SLOWPID" 2>/dev/null
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

# a name with control characters (node3's own signed node record, replayed to
# node2) reaches the terminal escaped; --json escapes it the JSON way
"$ctl" record sign node self --key "$T/node3/node.key" --out "$T/evil.rec" \
	--body "{\"name\":\"ev\u001b[31mil\u0007\",\"endpoints\":[\"127.0.0.1:$((BASE + 3))\"],\"role\":\"peer\",\"mesh_addr\":\"10.42.0.3\"}" >/dev/null
MN_INJECT_AS=$D3 "$B/tests/mn_inject" "127.0.0.1:$PORT2" replay "$T/evil.rec" 3 >/dev/null
wait_for 30 "node2 holds node3's node record with a control-character name" \
	bash -c "MIRRORNET_SOCKET=$T/node2/api.sock $ctl peers --json | jq -e 'map(select(.name == \"ev\u001b[31mil\u0007\")) | length == 1'"
on 2 peers > "$T/peers.txt"
grep -qF 'ev\x1b[31mil\x07' "$T/peers.txt" && ok "peers prints the name escaped" || no "peers: $(cat -v "$T/peers.txt")"
LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$T/peers.txt" && no "peers printed a control character" \
	|| ok "no control character in peers' output"

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
# the plain transport on a non-loopback address without WireGuard: refused unless forced
sed 's/^listen .*/listen 10.99.0.1:7332/' "$T/good.conf" > "$T/public.conf"
if "$B/mirrornetd" -n -c "$T/public.conf" > "$T/n.out" 2>&1; then no "-n accepted a public plain listen"; else
	grep -q "not a loopback address.*insecure_listen yes" "$T/n.out" && ok "-n refuses a non-loopback listen without WireGuard" \
		|| no "-n said: $(cat "$T/n.out")"
fi
echo "insecure_listen yes" >> "$T/public.conf"
"$B/mirrornetd" -n -c "$T/public.conf" >/dev/null 2>&1 && ok "insecure_listen yes forces it" || no "insecure_listen yes still refused"
# the store is not readable by others
[ "$(stat -c %a "$T/node2/store.db")" = 600 ] && ok "store.db is mode 0600" || no "store.db mode $(stat -c %a "$T/node2/store.db")"
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
