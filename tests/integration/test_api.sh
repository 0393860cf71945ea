#!/bin/bash
# The local API against a real mirrornetd (docs/api.md): status, peers,
# records and publish through mirrornetctl; watch receives what is
# published, of its kinds only; malformed requests get error answers and
# the connection and the daemon survive; a line over 64 KiB closes the
# connection; the 65th client (64 watchers) and a subscriber that stops
# reading are dropped; 70 idle clients do not lock a new caller out and are
# closed after 30 s; a client gone before its answer does not kill the daemon; a
# second daemon on the same socket refuses to start, a stale socket is
# replaced, a file that is not a socket is left alone; SIGTERM exits 0 and
# removes the socket; a missing daemon is exit 3.
#
# MN_VALGRIND=1 runs the daemon under valgrind (errors or leaks fail the
# SIGTERM check). Every process started here is stopped by PID on exit.
. "$(dirname "$0")/../lib.sh"
B=${MN_BUILD:?}
ctl=$B/mirrornetctl
tmpdir mn-api-test
SOCK=$T/api.sock
export MIRRORNET_SOCKET=$SOCK
PID=""          # the daemon under test (watchers, readers: spawn, stopped at exit)
# the daemon: TERM, then KILL, so that valgrind's report is written
at_exit '[ -n "$PID" ] && stop_pid "$PID" 5'
raw() { "$ctl" api-raw "$@"; }
# the daemon's sockets: each API client holds one
nsock() { ls -l "/proc/$PID/fd" 2>/dev/null | grep -c 'socket:'; }
sockets_ge() { [ "$(nsock)" -ge "$1" ]; }
jqcheck() {   # jqcheck DESCRIPTION N FILTER   (line N of $OUT through jq -e)
	if json_ok "$3" sed -n "${2}p" "$OUT"; then ok "$1"
	else bad "$1: line $2 is not $3"; sed -n "${2}p" "$OUT" | cut -c1-300 | sed 's/^/    /'; fi
}

# keys, a certificate from the root, a configuration
ROOT=$("$ctl" keygen --seed 1111111111111111111111111111111111111111111111111111111111111111 --out "$T/root.key")
NODE=$("$ctl" keygen --seed 2222222222222222222222222222222222222222222222222222222222222222 --out "$T/node.key")
"$ctl" cert issue --key "$T/root.key" --subject "$NODE" --depth 1 --addr 10.42.0.2 \
	--out "$T/node.cert" >/dev/null || fatal "cert issue"
write_conf() {   # write_conf FILE PORT DB API
	printf 'name apitest\nkey %s\ndb %s\napi %s\nlisten 127.0.0.1:%s\nroot %s\ncert %s\n' \
		"$T/node.key" "$3" "$4" "$2" "$ROOT" "$T/node.cert" > "$1"
}
# start_daemon: in the background, until the API answers (0), or it exits (1)
api_up() { "$ctl" api-raw '{"cmd":"ping"}' 2>/dev/null | grep -q '"ok":true'; }
up_or_exited() { api_up || gone "$PID"; }
start_daemon() {
	if [ "${MN_VALGRIND:-0}" = 1 ]; then
		valgrind --quiet --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite,indirect \
			"$B/mirrornetd" -c "$T/conf" >> "$T/log" 2>&1 &
	else
		"$B/mirrornetd" -c "$T/conf" >> "$T/log" 2>&1 &
	fi
	PID=$!
	if poll 30 up_or_exited && api_up; then return 0; fi
	gone "$PID" || { echo "mirrornetd did not answer within 30 s" >> "$T/log"; kill -KILL "$PID"; }
	wait "$PID"; PID=""
	return 1
}
# a free port: try a few from one that depends on our PID
PORT=""
for i in $(seq 0 19); do
	p=$((30000 + ($$ % 3000) * 10 + i))
	write_conf "$T/conf" "$p" "$T/store.db" "$SOCK"
	: > "$T/log"
	if start_daemon; then PORT=$p; break; fi
	grep -q "error: listen" "$T/log" || break   # another reason: do not hide it
done
[ -n "$PORT" ] || { sed 's/^/    /' "$T/log"; fatal "mirrornetd starts"; }
ok "mirrornetd starts (port $PORT)"

# the socket: mode 0660
[ -S "$SOCK" ] && ok "the API path is a socket" || bad "$SOCK is not a socket"
[ "$(stat -c %a "$SOCK")" = 660 ] && ok "socket mode 0660" || bad "socket mode $(stat -c %a "$SOCK"), expected 660"

# status, peers, records
expect 0 "status --json" "$ctl" status --json
check "status: name and did" jq -e --arg d "$NODE" '.name == "apitest" and .did == $d' "$T/out"
expect 0 "status" "$ctl" status
has "status: aligned name line" '^name +apitest$'
expect 0 "status --socket" "$ctl" status --socket "$SOCK" --json
expect 0 "peers --json" "$ctl" peers --json
check "peers: an array" jq -e 'type == "array"' "$T/out"
expect 0 "peers" "$ctl" peers
has "peers: table head" '^NAME +DID +ROLE +ADDRESS +STATE +LAST SEEN +RTT +RECORDS'
expect 0 "records --json" "$ctl" records --json
check "records: our certificate is held" jq -e 'map(select(.kind == "cert")) | length == 1' "$T/out"
expect 0 "records cert" "$ctl" records cert
has "records: table" '^cert +z6Mk'

# publish, then records shows it
expect 0 "publish --json" "$ctl" publish svc mail --json \
	--body '{"service":"mail","endpoint":"mx.node2.example.io","port":25}'
check "publish: the record" jq -e --arg d "$NODE" \
	'.kind == "svc" and .key == "mail" and .origin == $d and .body.port == 25 and .tombstone == false' "$T/out"
expect 0 "records svc --json" "$ctl" records svc --json
check "records: the published record" jq -e \
	'map(select(.key == "mail" and .body.endpoint == "mx.node2.example.io")) | length == 1' "$T/out"
expect 0 "records --key --origin" "$ctl" records --key mail --origin "$NODE" --json
check "records --key: one" jq -e 'length == 1 and .[0].key == "mail"' "$T/out"
expect 0 "records --origin ROOT" "$ctl" records svc --origin "$ROOT" --json
check "records --origin: none of the root's" jq -e 'length == 0' "$T/out"
echo '{"service":"web","port":443}' > "$T/web.json"
expect 0 "publish --file" "$ctl" publish svc web --file "$T/web.json" --ttl 2h
has "publish: human line" '^published svc z6Mk.* web v[0-9]+ record, id [0-9a-f]{16}, expires in 2h$'
expect 0 "publish --tombstone" "$ctl" publish svc web --tombstone
has "tombstone line" 'web v[0-9]+ tombstone'
expect 0 "records: tombstone shown" "$ctl" records svc
has "records: tombstone" '^svc .* web .*tombstone$'
expect 2 "publish: unknown field" "$ctl" publish svc x --body '{"service":"a","bogus":1}'
has "publish: field named" 'bogus'
expect 2 "publish: value over a limit" "$ctl" publish svc x --body "{\"service\":\"$(printf 'a%.0s' $(seq 40))\"}"
has "publish: limit named" 'service'
expect 2 "publish: not JSON" "$ctl" publish svc x --body '{nope'
expect 2 "publish: unknown kind" "$ctl" publish blob x --body '{}'
expect 2 "publish: no body" "$ctl" publish svc x
expect 2 "records: unknown kind" "$ctl" records blob
expect 2 "records: bad origin" "$ctl" records --origin nope
expect 2 "watch: unknown kind" "$ctl" watch blob

# watch: one JSON line per record of its kinds; a human one too
spawn "$T/w.json" "$ctl" watch svc --json
W1=$SPAWNED
spawn "$T/w.txt" "$ctl" watch
W2=$SPAWNED
got_watched() {
	grep -q '"key":"watched' "$T/w.json" && grep -q ' watched' "$T/w.txt" &&
		grep -qE '^[0-9:]{8} ioc ' "$T/w.txt"
}
n=0
publish_watched() {   # one more of each, until both watchers are subscribed and see one
	n=$((n + 1))
	"$ctl" publish ioc "block$n" --body '{"iocs":[{"scope":"ip","value":"192.0.2.'"$((n % 250 + 1))"'"}]}'
	"$ctl" publish svc "watched$n" --body '{"service":"w"}'
	got_watched
}
wait_for 15 "watch receives what is published" publish_watched ||
	sed 's/^/    /' "$T/w.json" "$T/w.txt" | head
if json_ok '.event == "record" and .record.kind == "svc"' head -1 "$T/w.json"; then ok "watch --json: an event line"
else bad "watch --json: not an event line: $(head -1 "$T/w.json" | cut -c1-200)"; fi
grep -q '"kind":"ioc"' "$T/w.json" && bad "watch svc received an ioc record" || ok "watch svc receives no ioc record"
grep -qE '^[0-9:]{8} ioc ' "$T/w.txt" && ok "watch (all kinds) shows the ioc record" ||
	bad "watch (all kinds) did not show the ioc record"
kill -INT $W1; wait $W1; rc=$?
[ $rc -eq 0 ] && ok "watch: exit 0 after SIGINT" || bad "watch: exit $rc after SIGINT, expected 0"
kill -TERM $W2; wait $W2; rc=$?
[ $rc -eq 0 ] && ok "watch: exit 0 after SIGTERM" || bad "watch: exit $rc after SIGTERM, expected 0"

# malformed requests: an error answer each, same connection, then it still works
expect 0 "malformed requests" raw 'garbage' '[1,2]' '"str"' '{"cmd":"nope","id":7}' \
	'{"cmd":"records","kind":5,"id":"a"}' '{"cmd":"records","bogus":1}' '{"id":{"x":[1]}}' \
	'{"cmd":"publish","kind":"svc","key":"k"}' '{"cmd":"subscribe","kinds":["bogus"]}' \
	'{"cmd":"ping"} trailing' '{"cmd":"publish","kind":"svc","key":"k","body":{"port":"x"}}' \
	'{"cmd":"ping","id":1}'
jqcheck "not JSON" 1 '.ok == false and .error.code == "bad_request" and .id == null'
jqcheck "not an object" 2 '.error.code == "bad_request"'
jqcheck "a string" 3 '.error.code == "bad_request"'
jqcheck "unknown cmd, id echoed" 4 '.error.code == "unknown_cmd" and .id == 7'
jqcheck "wrong arg type" 5 '.error.code == "bad_request" and .id == "a" and (.error.message | test("kind"))'
jqcheck "unknown arg" 6 '.error.code == "bad_request" and (.error.message | test("bogus"))'
jqcheck "no cmd, object id echoed" 7 '.error.code == "bad_request" and .id.x[0] == 1'
jqcheck "publish without body" 8 '.error.code == "bad_request"'
jqcheck "unknown kind" 9 '.error.code == "invalid"'
jqcheck "trailing data" 10 '.error.code == "bad_request"'
jqcheck "bad body value" 11 '.error.code == "invalid" and (.error.message | test("port"))'
jqcheck "the connection survived" 12 '.ok == true and .id == 1 and .result == "pong"'
# binary junk and a request without a final newline, through a half-closed stream
{ head -c 3000 /dev/urandom | tr -d '\n'; printf '\n{"cmd":"ping","id":2}\n{"cmd":"ping","id":3}'; } | raw > "$T/out" 2>&1
jqcheck "binary junk" 1 '.ok == false'
jqcheck "after junk" 2 '.id == 2 and .ok == true'
jqcheck "last line without newline, at EOF" 3 '.id == 3 and .ok == true'
# a line of exactly 64 KiB is fine; one byte more closes the connection
L="$(printf '%*s' $((65536 - 14)) '')"'{"cmd":"ping"}'
expect 0 "a 64 KiB line" raw "$L"
jqcheck "64 KiB line answered" 1 '.ok == true'
expect 1 "a line over 64 KiB" raw " $L" '{"cmd":"ping","id":9}'
jqcheck "line_too_long" 1 '.error.code == "line_too_long"'
has "then closed" 'connection ended after 1'
expect 0 "the daemon still answers" "$ctl" status --json
check "api errors counted" jq -e '.counters.api_errors >= 10' "$T/out"

# publishes sent together share one commit and sync (docs/api.md "publish"),
# answered in order: 300 in one write, a ping and a bad publish among them
syncs() { "$ctl" status --json | jq '.counters.store_syncs'; }
s0=$(syncs)
python3 - "$SOCK" > "$T/group.out" <<'PY' || bad "grouped publishes: the client failed"
import json, socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
lines = []
for i in range(1, 301):
    if i == 100:
        lines.append({"cmd": "ping", "id": i})
    elif i == 200:   # refused by the body's decoder
        lines.append({"cmd": "publish", "kind": "svc", "key": "g", "body": {"port": "x"}, "id": i})
    elif i == 150:   # ... by the argument checks, before the record is made
        lines.append({"cmd": "publish", "kind": "blob", "key": "g", "body": {}, "id": i})
    elif i == 250:
        lines.append({"cmd": "publish", "kind": "svc", "key": "g", "body": {}, "ttl_s": 0, "id": i})
    elif i == 260:
        lines.append({"cmd": "publish", "kind": "svc", "key": "g", "body": {}, "bogus": 1, "id": i})
    else:
        lines.append({"cmd": "publish", "kind": "svc", "key": "group%d" % i,
                      "body": {"service": "g", "port": i}, "id": i})
s.sendall("".join(json.dumps(l) + "\n" for l in lines).encode())
f = s.makefile("r")
for _ in range(300):
    sys.stdout.write(f.readline())
PY
s1=$(syncs)
check "grouped publishes: 300 answers in order" jq -e -s \
	'length == 300 and ([.[].id] == [range(1; 301)])' "$T/group.out"
check "grouped publishes: each published, the ping and the bad ones answered in place" jq -e -s \
	'(map(select([.id] | inside([100, 150, 200, 250, 260]) | not)) |
	  all(.ok and .result.key == "group\(.id)")) and .[99].result == "pong" and
	 .[149].error.code == "invalid" and .[199].error.code == "invalid" and
	 .[249].error.code == "invalid" and .[259].error.code == "bad_request"' "$T/group.out"
# one commit a run, not one a publish (reads of 16 KiB: a few runs)
[ $((s1 - s0)) -ge 1 ] && [ $((s1 - s0)) -le 50 ] &&
	ok "grouped publishes: $((s1 - s0)) syncs for 295 publishes" ||
	bad "grouped publishes: $((s1 - s0)) syncs for 295 publishes (one each before)"
"$ctl" records svc --json > "$T/out"
check "grouped publishes: all held" jq -e '[.[] | select(.key | startswith("group"))] | length == 295' "$T/out"

# 64 clients at most: the 65th gets an error line. Wait for the watchers by
# counting the daemon's sockets: a client probing meanwhile would take a slot
base=$(nsock)
WS=""
for i in $(seq 64); do spawn /dev/null "$ctl" watch; WS="$WS $SPAWNED"; done
wait_for 30 "64 watchers connected" sockets_ge $((base + 64))
alive=0
for p in $WS; do kill -0 "$p" 2>/dev/null && alive=$((alive + 1)); done
[ $alive -eq 64 ] && ok "64 watchers running" || bad "$alive of 64 watchers still running"
expect 1 "65th client: status" "$ctl" status
has "65th client: message" 'already 64 clients'
# shellcheck disable=SC2086
kill -INT $WS 2>/dev/null; wait $WS 2>/dev/null
wait_for 10 "clients again after the watchers leave" "$ctl" status

# idle clients (connected, no request): 70 of them do not lock a new caller
# out (the one idle the longest gives its slot up), and they are closed
# after 30 s without a request
base=$(nsock)
IDLE=""
for i in $(seq 70); do spawn /dev/null "$ctl" api-raw --hold 50 ''; IDLE="$IDLE $SPAWNED"; done
wait_for 30 "64 idle clients connected" sockets_ge $((base + 64))
wait_for 10 "a new caller gets through while idle clients hold every slot" "$ctl" status
wait_for 10 "an idle client made room (logged)" grep -q "closed to make room" "$T/log"
wait_for 45 "idle clients are closed after 30 s" grep -q "sent no request for 30 s" "$T/log"
# shellcheck disable=SC2086
kill -KILL $IDLE 2>/dev/null; wait $IDLE 2>/dev/null

# a subscriber that stops reading is dropped; the daemon goes on
base=$(nsock)
spawn "$T/slow.out" "$ctl" api-raw --hold 8 --until-eof '{"cmd":"subscribe","kinds":["svc"]}'
SLOW=$SPAWNED
wait_for 10 "a subscriber that will stop reading is connected" sockets_ge $((base + 1))
A=""
for i in $(seq 16); do A="$A{\"k\":\"k$i\",\"v\":\"$(printf 'v%.0s' $(seq 250))\"},"; done
BODY="{\"service\":\"flood\",\"attrs\":[${A%,}]}"
for i in $(seq 400); do
	echo "{\"cmd\":\"publish\",\"kind\":\"svc\",\"key\":\"flood$i\",\"body\":$BODY}"
done | raw > "$T/flood.out" 2>&1
n=$(grep -c '"ok":true' "$T/flood.out")
[ "$n" = 400 ] && ok "flood: 400 publishes answered" || bad "flood: $n of 400 publishes answered"
wait_for 15 "the slow subscriber is dropped (logged)" grep -q "not reading" "$T/log"
wait $SLOW
expect 0 "status after the flood" "$ctl" status --json
check "slow subscriber gone" jq -e '.counters.api_clients == 1' "$T/out"

# a client that pipes requests faster than it reads the answers is slowed
# to its own pace (its requests wait in the socket), not dropped
for i in $(seq 5000); do
	echo "{\"cmd\":\"publish\",\"kind\":\"svc\",\"key\":\"pipe$i\",\"body\":{\"service\":\"p$i\",\"endpoint\":\"x:1\",\"port\":1}}"
done | raw > "$T/pipe.out" 2>&1
n=$(grep -c '"ok":' "$T/pipe.out")   # (the store's budget refuses some: answered too)
[ "$n" = 5000 ] && ok "5000 piped publishes: every one answered" || bad "5000 piped publishes: $n answered"

# clients that leave before their (large) answer: no SIGPIPE death
for i in $(seq 5); do raw --no-read '{"cmd":"records"}' >/dev/null 2>&1; done
expect 0 "status after clients left early" "$ctl" status
never_for 1 "the daemon does not die when clients leave before their answer" gone "$PID"

# a records answer goes out a page at a time (128 records, docs/api.md):
# many pages, every record once, and what the client asked after it waits
"$ctl" status --json > "$T/st.json"
nall=$("$ctl" records --json | jq 'length')
nheld=$(jq '.records' "$T/st.json")
[ "$nall" -gt 1000 ] && [ "$nall" = "$nheld" ] &&
	ok "records: all $nall held, over many pages" || bad "records: $nall listed, $nheld held"
"$ctl" records svc --json > "$T/svc.json"
check "records svc: each record once" jq -e \
	'length > 1000 and (map(.kind + .origin + .key) | unique | length) == length' "$T/svc.json"
nsvc=$(jq 'length' "$T/svc.json")
expect 0 "records, then ping on the same connection" raw \
	'{"cmd":"records","kind":"svc","id":1}' '{"cmd":"ping","id":2}'
jqcheck "records first, whole" 1 ".id == 1 and .ok and (.result | length) == $nsvc"
jqcheck "then the ping's answer" 2 '.id == 2 and .result == "pong"'
# the request's line ends with EOF (no newline): the whole answer, then closed
python3 - "$SOCK" > "$T/eof.out" <<'PY' || bad "records ended by EOF: the client failed"
import socket, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(20)
s.connect(sys.argv[1])
s.sendall(b'{"cmd":"records","id":9}')
s.shutdown(socket.SHUT_WR)
out = b""
while True:
    b = s.recv(65536)
    if not b:
        break
    out += b
sys.stdout.write(out.decode())
PY
check "records ended by EOF: one whole answer" jq -e -s \
	"length == 1 and .[0].id == 9 and (.[0].result | length) == $nall" "$T/eof.out"
# subscribed, then records (docs/api.md): an event that comes while the
# answer goes out (the client does not read: the answer, ~1 MB, waits in
# the daemon) follows the answer, whole and in order
python3 - "$SOCK" "$ctl" > "$T/sub.out" <<'PY' || bad "records on a subscribed connection: the client failed"
import socket, subprocess, sys
s = socket.socket(socket.AF_UNIX)
s.settimeout(30)
s.connect(sys.argv[1])
s.sendall(b'{"cmd":"subscribe","kinds":["svc"],"id":1}\n{"cmd":"records","kind":"svc","id":2}\n')
# a new version of a held record (the origin's budget is full: one that
# does not grow gets in)
subprocess.run([sys.argv[2], "publish", "svc", "pipe1", "--body",
                '{"service":"p1","endpoint":"x:1","port":1}'], check=True,
               stdout=subprocess.DEVNULL)
f = s.makefile("r")
for _ in range(3):
    sys.stdout.write(f.readline())
PY
OUT=$T/sub.out
jqcheck "subscribed" 1 '.id == 1 and .ok'
jqcheck "then the records answer, whole" 2 ".id == 2 and .ok and (.result | length) >= $nsvc"
jqcheck "then the event that came meanwhile" 3 '.event == "record" and .record.key == "pipe1"'
OUT=$T/out

# a second daemon on the same socket refuses to start; the first goes on
write_conf "$T/conf2" $((PORT + 1)) "$T/store2.db" "$SOCK"
timeout 20 "$B/mirrornetd" -c "$T/conf2" > "$T/out" 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && ok "second daemon on the same socket: refused (exit $rc)" ||
	bad "second daemon on the same socket: exit $rc"
has "second daemon: message" 'another mirrornetd is running'
expect 0 "the first still answers" "$ctl" status
# a file that is not a socket is never replaced
echo "precious" > "$T/notasocket"
write_conf "$T/conf3" $((PORT + 2)) "$T/store3.db" "$T/notasocket"
timeout 20 "$B/mirrornetd" -c "$T/conf3" > "$T/out" 2>&1
rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] && ok "api path not a socket: refused (exit $rc)" || bad "api path not a socket: exit $rc"
has "not a socket: message" 'not a socket'
[ "$(cat "$T/notasocket")" = precious ] && ok "the file at the api path is untouched" || bad "the file at the api path was touched"

# watch exits 3 when the daemon goes away; SIGTERM: exit 0, socket removed
base=$(nsock)
spawn "$T/w3.txt" "$ctl" watch
W3=$SPAWNED
wait_for 10 "a watcher is connected" sockets_ge $((base + 1))
kill -TERM "$PID"
wait "$PID"; rc=$?
PID=""
[ $rc -eq 0 ] && ok "SIGTERM: exit 0" || { bad "SIGTERM: exit $rc, expected 0"; tail -30 "$T/log" | sed 's/^/    /'; }
[ ! -e "$SOCK" ] && ok "SIGTERM removes the socket" || bad "the socket is still there after SIGTERM"
wait $W3; rc=$?
[ $rc -eq 3 ] && ok "watch: exit 3 when the daemon went away" || bad "watch: exit $rc when the daemon went away, expected 3"
grep -q "went away" "$T/w3.txt" && ok "watch says the daemon went away" || bad "watch: no message when the daemon went away"
expect 3 "no daemon: status" "$ctl" status
has "no daemon: names the socket" "$SOCK"
expect 3 "no daemon: publish" "$ctl" publish svc x --body '{}'
expect 3 "no daemon: missing directory" "$ctl" peers --socket "$T/nodir/api.sock"
has "missing directory: message" 'no such socket'

# a stale socket (daemon killed) is refused by clients, replaced by the next daemon
start_daemon && ok "restart" || bad "restart"
kill -KILL "$PID"; wait "$PID" 2>/dev/null; PID=""
[ -S "$SOCK" ] && ok "SIGKILL leaves a stale socket (test premise)" || bad "SIGKILL left no socket (test premise)"
expect 3 "stale socket: status" "$ctl" status
has "stale socket: message" 'not running'
start_daemon && ok "restart over a stale socket" || { bad "restart over a stale socket"; tail -20 "$T/log" | sed 's/^/    /'; }
expect 0 "records kept across restarts" "$ctl" records svc --key mail --json
check "mail still there" jq -e 'length == 1' "$T/out"
if [ -n "$PID" ]; then
	kill -TERM "$PID"; wait "$PID"; rc=$?; PID=""
	[ $rc -eq 0 ] && ok "final SIGTERM: exit 0" || bad "final SIGTERM: exit $rc"
fi
finish
