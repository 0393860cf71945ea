#!/bin/bash
# Real daemons on loopback: 10 converge; a record published on one reaches
# all; a daemon restarted after missing records catches up; a daemon killed
# with SIGKILL is seen suspect then dead, and alive again when restarted; a
# stranger sending garbage leaves no state while the rest keep
# working; strangers on the plain transport (spoofed keys, random keys, idle
# connections) cost the members nothing. Every daemon is stopped (by PID)
# and the directory removed, even on failure.
. "$(dirname "$0")/../lib.sh"
B=${MN_BUILD:?}
S=${MN_SOURCE:?}
tmpdir mn-mesh-test
N=10
# below the ephemeral port range (32768+), where our own connections live
BASE=$(( 20000 + ($$ % 1000) * 10 ))
ctl="$B/mirrornetctl"
MN_SOCKETS=$T/node%s/api.sock
mesh() { MN_BUILD=$B "$S/tools/mesh" "$@" -d "$T" -b "$B"; }
at_exit 'mesh stop >/dev/null 2>&1'
all_alive() { for i in $(seq 1 $N); do alive_ge "$i" $((N - 1)) || return 1; done; }
everyone_has() { for i in $(seq 1 $N); do [ -e "$T/node$i/pid" ] || continue; has_key "$i" "$1" "$2" || return 1; done; }
status_ok() { json_ok "$2" on "$1" status --json; }   # status_ok NODE FILTER
# a daemon of ours (started here, not by tools/mesh): tools/mesh stop stops it by its pid file
start_node() { "$B/mirrornetd" -c "$T/node$1/mirrornetd.conf" >> "$T/node$1/log" 2>&1 & echo $! > "$T/node$1/pid"; }

mesh start -n $N -p $BASE > "$T/start.log" 2>&1 || { cat "$T/start.log"; fatal "mesh start"; }
wait_for 60 "$N daemons converge (everyone sees $((N - 1)) alive)" all_alive

# a record published on one reaches all
check "publish on node3" on 3 publish svc mail --body '{"service":"mail","endpoint":"mx.node3.example.io","port":25}'
wait_for 30 "the record reaches all $N daemons" everyone_has svc mail

# a daemon restarted after missing records catches up
P7=$(cat "$T/node7/pid"); rm -f "$T/node7/pid"
kill -TERM "$P7"
wait_for 10 "node7 stops on SIGTERM" gone "$P7"
for k in a b c d e; do on 2 publish svc "late-$k" --body "{\"service\":\"late-$k\"}" >/dev/null; done
wait_for 30 "the others get the records published while node7 is down" has_key 9 svc late-e
start_node 7
catch_up() { for k in a b c d e; do has_key 7 svc "late-$k" || return 1; done; }
wait_for 45 "node7, restarted, catches up on what it missed" catch_up

# SIGKILL: suspect, then dead, then alive again after a restart
D5=$(cat "$T/node5/did")
kill -KILL "$(cat "$T/node5/pid")"; rm -f "$T/node5/pid"
not_alive() { local s; s=$(state_of "$1" "$2"); [ -n "$s" ] && [ "$s" != alive ]; }
wait_for 30 "node5 killed: suspect (or already dead) on node1" not_alive 1 "$D5"
wait_for 40 "node5 killed: dead on node1" state_is 1 "$D5" dead
wait_for 40 "node5 killed: dead on node8" state_is 8 "$D5" dead
start_node 5
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
# counters are read before an injection and polled until they move
c0=$(json_val '.counters.bad_datagrams + .counters.strangers' on 2 status --json)
"$B/tests/mn_inject" "127.0.0.1:$PORT2" garbage 300 >/dev/null
wait_for 30 "garbage from a stranger is counted on node2" status_ok 2 ".counters.bad_datagrams + .counters.strangers > ${c0:-0}"
# the injector's did (its key comes from the seed mn_inject uses)
INJDID=$("$ctl" keygen --seed eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee)
check "the stranger has no peer entry on node2" json_ok --arg d "$INJDID" 'map(select(.did == $d)) | length == 0' on 2 peers --json
D3=$(cat "$T/node3/did")
addr_of() { json_val --arg d "$2" '.[] | select(.did == $d) | .addr' on "$1" peers --json; }
A3=$(addr_of 2 "$D3")
graylisted_on2() { json_ok --arg d "$1" '.[] | select(.did == $d) | .graylisted' on 2 peers --json; }
moved_on2() { [ "$(addr_of 2 "$D3")" != "$A3" ]; }
c0=$(counter 2 unattributed_penalties)
"$B/tests/mn_inject" "127.0.0.1:$PORT2" spoof "$D3" 400 >/dev/null
spoofed_effect() { graylisted_on2 "$D3" || moved_on2; }
never_for 5 "node3 is never graylisted, its address never moved on node2, while a stranger sends garbage under its key" spoofed_effect
wait_for 30 "garbage under node3's key is seen as unauthenticated on node2" \
	status_ok 2 ".counters.unattributed_penalties > ${c0:-0}"
check "node3 is not graylisted by a stranger using its key" \
	json_ok --arg d "$D3" '.[] | select(.did == $d) | .graylisted == false' on 2 peers --json
[ "$(addr_of 2 "$D3")" = "$A3" ] && ok "node3's address on node2 is unchanged ($A3)" \
	|| bad "node3's address moved to $(addr_of 2 "$D3")"
# forged records under node4's key: verified and refused, node4 not blamed
D4=$(cat "$T/node4/did")
"$ctl" record sign svc forged --key "$T/node4/node.key" --out "$T/forged.rec" --body '{"service":"forged"}' >/dev/null
c0=$(counter 2 bad_signatures)
MN_INJECT_AS=$D4 "$B/tests/mn_inject" "127.0.0.1:$PORT2" forged "$T/forged.rec" 50 >/dev/null
wait_for 30 "forged records fail verification on node2" status_ok 2 ".counters.bad_signatures >= ${c0:-0} + 1"
has_key 2 svc forged && bad "a forged record was accepted" || ok "the forged record is not held"
check "node4 is not graylisted for records forged under its key" \
	json_ok --arg d "$D4" '.[] | select(.did == $d) | .graylisted == false' on 2 peers --json
# 2 000 random keys
P2=$(json_val .peers on 2 status --json)
c0=$(counter 2 strangers)
"$B/tests/mn_inject" "127.0.0.1:$PORT2" strangers 2000 >/dev/null
wait_for 30 "2 000 random-key frames are counted as strangers on node2" status_ok 2 ".counters.strangers >= ${c0:-0} + 1500"
[ "$(json_val .peers on 2 status --json)" = "$P2" ] && ok "node2 still has $P2 peers after 2 000 random keys" \
	|| bad "node2 has $(json_val .peers on 2 status --json) peers (was $P2)"
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
start_node 11
wait_for 60 "a new member joins after the flood: node11 alive on node2" state_is 2 "$(cat "$d/did")" alive
# 300 idle TCP connections from one source, held for 60 s
spawn "$T/slow.err" "$B/tests/mn_inject" "127.0.0.1:$PORT2" slowconns 300 60
SLOWPID=$SPAWNED
wait_for 15 "300 idle TCP connections to node2 are open" grep -q "connections open" "$T/slow.err"
attrs=$(for i in $(seq 1 8); do printf '{"k":"a%d","v":"%0255d"},' "$i" 0; done)
check "a record of over 2 KB published on node3" on 3 publish svc big --body "{\"service\":\"big\",\"attrs\":[${attrs%,}]}"
wait_for 30 "the big record reaches node2 while 300 idle connections are held" has_key 2 svc big
status_ok 2 '.counters.connections_in <= 130' \
	&& ok "node2 holds at most its inbound budget ($(counter 2 connections_in) in)" \
	|| bad "node2 holds $(counter 2 connections_in) inbound connections"
stop_pid "$SLOWPID"
c0=$(counter 2 oversize_frames)
"$B/tests/mn_inject" "127.0.0.1:$PORT2" oversize >/dev/null
"$B/tests/mn_inject" "127.0.0.1:$PORT2" halfopen >/dev/null
wait_for 15 "an oversize stream frame is counted" status_ok 2 ".counters.oversize_frames >= ${c0:-0} + 1"
# forged membership claims (issue #11 item 1): a stranger tells every other
# daemon that node3 left, at incarnation 2^32-1, and that it died, at its
# current incarnation. A third party's word is at most a suspicion node3
# refutes: it is never left or dead anywhere, and alive everywhere after.
D3=$(cat "$T/node3/did")
INC3=$(json_val --arg d "$D3" '.[] | select(.did == $d) | .incarnation' on 1 peers --json)
for i in $(seq 1 $N); do
	[ "$i" = 3 ] && continue
	MN_INJECT_SEED=cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc \
		"$B/tests/mn_inject" "127.0.0.1:$((BASE + i))" member "$D3" 3 4294967295 3 >/dev/null
	MN_INJECT_SEED=cccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccccc \
		"$B/tests/mn_inject" "127.0.0.1:$((BASE + i))" member "$D3" 2 "$INC3" 3 >/dev/null
done
evicted() {   # the daemons on which node3 is left or dead (true if any)
	local i e=""
	for i in $(seq 1 $N); do
		[ "$i" = 3 ] && continue
		case "$(state_of "$i" "$D3")" in left|dead) e="$e node$i";; esac
	done
	[ -n "$e" ] && echo "node3 evicted (left or dead) on:$e"
}
# past the suspicion time (5 s): a forged death would have ripened
never_for 15 "forged LEFT/DEAD claims evict node3 nowhere" evicted
all_see_3() { for i in $(seq 1 $N); do [ "$i" = 3 ] || state_is "$i" "$D3" alive || return 1; done; }
wait_for 30 "node3 alive on every daemon after the forged claims" all_see_3

# and the mesh still works
on 6 publish svc after-attack --body '{"service":"after"}' >/dev/null
wait_for 30 "after the attack a new record still reaches everyone" everyone_has svc after-attack ||
	for i in $(seq 1 $N); do has_key "$i" svc after-attack >/dev/null || { echo "  node$i lacks it:"; on "$i" peers | sed 's/^/    /'; }; done
died=""
for i in $(seq 1 $N); do gone "$(cat "$T/node$i/pid")" && died="$died node$i"; done
[ -z "$died" ] && ok "all daemons still running" || bad "daemons died:$died"

# a name with control characters (node3's own signed node record, replayed to
# node2) reaches the terminal escaped; --json escapes it the JSON way
"$ctl" record sign node self --key "$T/node3/node.key" --out "$T/evil.rec" \
	--body "{\"name\":\"ev\u001b[31mil\u0007\",\"endpoints\":[\"127.0.0.1:$((BASE + 3))\"],\"role\":\"peer\",\"mesh_addr\":\"10.42.0.3\"}" >/dev/null
MN_INJECT_AS=$D3 "$B/tests/mn_inject" "127.0.0.1:$PORT2" replay "$T/evil.rec" 3 >/dev/null
wait_for 30 "node2 holds node3's node record with a control-character name" \
	json_ok 'map(select(.name == "ev\u001b[31mil\u0007")) | length == 1' on 2 peers --json
on 2 peers > "$T/peers.txt"
grep -qF 'ev\x1b[31mil\x07' "$T/peers.txt" && ok "peers prints the name escaped" || bad "peers: $(cat -v "$T/peers.txt")"
LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' "$T/peers.txt" && bad "peers printed a control character" \
	|| ok "no control character in peers' output"

# configuration: -n names the bad line; SIGHUP with a bad file keeps the old one
C9=$T/node9/mirrornetd.conf
cp "$C9" "$T/good.conf"
echo "mesh_degree lots" >> "$C9"
expect 1 "-n refuses a bad file" "$B/mirrornetd" -n -c "$C9"
has "-n names the bad line" "mirrornetd.conf:[0-9]*: mesh_degree"
kill -HUP "$(cat "$T/node9/pid")"
wait_for 10 "SIGHUP with a bad file is refused and counted" status_ok 9 '.counters.reload_failures == 1'
gone "$(cat "$T/node9/pid")" && bad "node9 died on a bad reload" || ok "node9 still runs on its old configuration"
# the plain transport on a non-loopback address without WireGuard: refused unless forced
sed 's/^listen .*/listen 10.99.0.1:7332/' "$T/good.conf" > "$T/public.conf"
expect 1 "-n refuses a non-loopback listen without WireGuard" "$B/mirrornetd" -n -c "$T/public.conf"
has "-n says why: insecure_listen yes would force it" "not a loopback address.*insecure_listen yes"
echo "insecure_listen yes" >> "$T/public.conf"
check "insecure_listen yes forces it" "$B/mirrornetd" -n -c "$T/public.conf"
# the store is not readable by others
[ "$(stat -c %a "$T/node2/store.db")" = 600 ] && ok "store.db is mode 0600" || bad "store.db mode $(stat -c %a "$T/node2/store.db")"
cp "$T/good.conf" "$C9"
echo "log_level debug" >> "$C9"
kill -HUP "$(cat "$T/node9/pid")"
wait_for 10 "SIGHUP with a good file reloads" status_ok 9 '.counters.reloads == 2 and .counters.reload_failures == 1'
# a subsystem turned on by a reload: the hosts file (docs/subsystems.md) lists
# every member that has a node record (node9's own too), then its command runs
HF=$T/node9/hosts
{ echo "hosts_file $HF"; echo "hosts_domain mesh.test"; echo "hosts_reload touch $T/hosts.reloaded"; } >> "$C9"
kill -HUP "$(cat "$T/node9/pid")"
hosts_full() { [ "$(grep -cE '^10\.42\.0\.[0-9]+	node[0-9]+	node[0-9]+\.mesh\.test$' "$HF" 2>/dev/null)" = "$N" ]; }
wait_for 20 "the hosts file lists $N members (node1-11 but node3) after a reload turned it on" hosts_full
check "the hosts file has node11 (joined later) at its mesh address" grep -qx '10.42.0.11	node11	node11.mesh.test' "$HF"
# node3's own signed node record now carries a name with control characters
# (above): no line may come from it
hasnt_node3() { ! grep -q '^10\.42\.0\.3	' "$HF"; }
check "node3, whose name has control characters, has no line in the hosts file" hasnt_node3
wait_for 10 "its reload command ran" test -e "$T/hosts.reloaded"
check "status shows it (.hosts): entries, the one skipped, the reload" json_ok ".hosts.entries == $N and .hosts.skipped == 1 and .hosts.writes >= 1 and .hosts.reload == \"ok\"" on 9 status --json
api9() { "$ctl" api-raw --socket "$T/node9/api.sock" "$@"; }
check "the API lists the members (hosts_list)" json_ok ".result | length == $N and (map(.fqdn) | index(\"node11.mesh.test\")) != null" api9 '{"cmd":"hosts_list","id":1}'
check "mirrornetctl hosts --json lists them too" json_ok "length == $N and .[0].addr != null" on 9 hosts --json
expect 0 "mirrornetctl hosts prints a table" on 9 hosts
has "... with node11's line" "^10\.42\.0\.11 +node11 +node11\.mesh\.test$"
check "hosts_list refuses an argument it does not take" json_ok '.error.code == "bad_request"' api9 '{"cmd":"hosts_list","id":2,"zone":"x"}'
# SIGTERM: leaves the mesh cleanly, exit 0, the others see it left
P9=$(cat "$T/node9/pid")
kill -TERM "$P9"
wait_for 5 "node9 stops on SIGTERM" gone "$P9"
rm -f "$T/node9/pid"
D9=$(cat "$T/node9/did")
wait_for 10 "the others see node9 as left" state_is 1 "$D9" left
check "node9's store is intact after SIGTERM" "$ctl" store check --db "$T/node9/store.db"
finish
