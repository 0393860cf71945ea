#!/bin/bash
# The ai subsystem (docs/ai.md) on a live 3-daemon mesh on loopback, called
# through each box's local endpoint with the official OpenAI client (npm
# openai, installed by tools/deps into tests/js). Mesh addresses are
# 127.0.42.I (MN_MESH_NET), so the boxes' HAProxies reach each other on
# loopback. Deterministic OpenAI-shaped servers (ai_server.py): node1 holds
# alpha and shared, node2 beta and shared, node3 none (a consumer only).
# Checked: each model answered by its holder from every box, GET /v1/models
# lists the mesh's models, ai list [--model], an unknown model is a 404
# model_not_found in the OpenAI shape, the holder stopped → the next holder
# answers, every holder stopped → 503 in the same shape, hostile svc ai
# records ignored and counted, ai_listen removed by a reload → its HAProxy
# stopped. Measured (printed): svc publication → route
# working at another box; latency direct vs through the local endpoint vs
# one mesh hop more.
. "$(dirname "$0")/../lib.sh"
B=${MN_BUILD:?}
S=${MN_SOURCE:?}
need_cmd node jq python3 curl
HAPROXY=${MN_HAPROXY:-/usr/sbin/haproxy}
[ -x "$HAPROXY" ] || skip_all "no haproxy at $HAPROXY"
[ -d "$S/tests/js/node_modules/openai" ] ||
	skip_all "the openai client is not installed (tools/deps installs it into tests/js)"
tmpdir mn-ai-test
BASE=$(( 23000 + ($$ % 1000) * 10 ))
# a free block of ports: the mesh (BASE+1..3), the servers (+4..6), the
# local endpoints (+7..9; mesh frontends share +10 on their own addresses)
MN_SOCKETS=$T/node%s/api.sock
SP() { echo $((BASE + 3 + $1)); }
LP() { echo $((BASE + 6 + $1)); }
MESHPORT=$((BASE + 10))
EP() { echo "http://127.0.0.1:$(LP "$1")/v1"; }

stop_proxies() {
	local i pid
	for i in 1 2 3; do
		pid=$(cat "$T/node$i/ai/haproxy.pid" 2>/dev/null) || continue
		# ours only: a haproxy whose config is under this test's directory
		grep -qF "$T/node$i/ai" "/proc/$pid/cmdline" 2>/dev/null && kill -TERM "$pid" 2>/dev/null
	done
}
mesh() { MN_BUILD=$B MN_MESH_NET=127.0.42. "$S/tools/mesh" "$@" -d "$T" -b "$B"; }
at_exit 'mesh stop >/dev/null 2>&1; stop_proxies'
for i in 1 2 3; do
	mkdir -p "$T/node$i"
	{
		[ "$i" != 3 ] && echo "ai_local http://127.0.0.1:$(SP "$i")"
		echo "ai_listen 127.0.0.1:$(LP "$i")"
		echo "ai_mesh_port $MESHPORT"
		echo "ai_dir $T/node$i/ai"
		echo "ai_haproxy $HAPROXY"
		echo "ai_refresh_s 1"
		echo "ai_check_ms 200"
	} > "$T/node$i/extra.conf"
done
spawn "$T/srv1.log" python3 "$S/tests/integration/ai_server.py" "$(SP 1)" node1 alpha shared
SRV1=$SPAWNED
mesh start -n 3 -p "$BASE" > "$T/start.log" 2>&1 || { cat "$T/start.log"; fatal "mesh start"; }
all_alive() { for i in 1 2 3; do alive_ge "$i" 2 || return 1; done; }
wait_for 60 "3 daemons converge" all_alive

chat() { node "$S/tests/js/ai_check.mjs" chat "$(EP "$1")" "$2" 2>"$T/js.err"; }
answers() { json_ok --arg c "$3" '.ok and .content == $c' chat "$1" "$2"; }
curl_ok() {   # curl_ok NODE MODEL: a 200 through NODE's endpoint (fast, for polls)
	curl -s -o /dev/null -w '%{http_code}' -m 5 -H 'Content-Type: application/json' \
		-d "{\"model\":\"$2\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" \
		"$(EP "$1")/chat/completions" | grep -qx 200
}
wait_for 30 "node1's svc ai reaches node3" has_key 3 svc ai
# every box's proxy, not only node3's: each regenerates its HAProxy on its
# own when node1's record reaches it (node2 was seen a moment late)
for i in 1 2 3; do wait_for 30 "node$i's proxy routes alpha" curl_ok "$i" alpha; done
for i in 1 2 3; do
	answers "$i" alpha "node1: alpha" && ok "alpha at node$i: node1 answers (openai client)" ||
		{ bad "alpha at node$i"; _t_show "$T/js.err"; chat "$i" alpha; }
done

# publication → route: node2's server starts now; when its record is
# published, and when node3's endpoint answers beta
spawn "$T/srv2.log" python3 "$S/tests/integration/ai_server.py" "$(SP 2)" node2 beta shared
t0=$(_t_us) t_pub= t_route=
end=$((t0 + 30000000))
while [ "$(_t_us)" -lt $end ]; do
	[ -z "$t_pub" ] && json_ok '.ai.published >= 1 and .ai.local_up' on 2 status --json && t_pub=$(_t_us)
	curl_ok 3 beta && { t_route=$(_t_us); break; }
	sleep 0.02
done
if [ -n "$t_route" ] && [ -n "$t_pub" ]; then
	ok "beta routed at node3"
	echo "# measured: node2's server up → svc ai published: $(( (t_pub - t0) / 1000 )) ms;" \
		"published → route working at node3: $(( (t_route - t_pub) / 1000 )) ms" \
		"(ai_refresh_s 1, debounce 100 ms, haproxy -c + reload)"
else
	bad "beta not routed at node3 within 30 s (published: ${t_pub:-no})"
fi
for i in 1 2; do wait_for 30 "node$i's proxy routes beta" curl_ok "$i" beta; done
for i in 1 2 3; do
	answers "$i" beta "node2: beta" && ok "beta at node$i: node2 answers" || bad "beta at node$i: $(chat "$i" beta)"
done
# shared: node1 first at node1 (its own server), node2 at node2, and at
# node3 the first holder by mesh address (node1)
answers 1 shared "node1: shared" && ok "shared at node1: its own server" || bad "shared at node1: $(chat 1 shared)"
answers 2 shared "node2: shared" && ok "shared at node2: its own server" || bad "shared at node2: $(chat 2 shared)"
answers 3 shared "node1: shared" && ok "shared at node3: node1, the first holder" || bad "shared at node3: $(chat 3 shared)"

# GET /v1/models: the mesh's models; ai list
json_ok '.ok and .models == ["alpha","beta","shared"]' node "$S/tests/js/ai_check.mjs" models "$(EP 3)" &&
	ok "GET /v1/models at node3: alpha, beta, shared" ||
	bad "models at node3: $(node "$S/tests/js/ai_check.mjs" models "$(EP 3)")"
json_ok 'length == 2 and (map(.endpoint) | sort) == ["127.0.42.1","127.0.42.2"]' on 3 ai list --json &&
	ok "ai list at node3: two boxes at their mesh addresses" || bad "ai list: $(on 3 ai list --json)"
json_ok 'length == 1 and .[0].endpoint == "127.0.42.2" and .[0].models == ["beta","shared"]' \
	on 3 ai list --model beta --json && ok "ai list --model beta: node2" || bad "ai list --model beta"
json_ok 'length == 1 and .[0].box == "self"' on 1 ai list --model alpha --json &&
	ok "ai list --model alpha at node1: itself" || bad "ai list --model alpha at node1"
on 3 ai list > "$OUT" 2>&1 && has "ai list (text) names beta" "beta"

# no box has it: 404, the OpenAI error shape, through the client
json_ok '.ok == false and .status == 404 and .error.code == "model_not_found" and .error.type == "invalid_request_error"' \
	chat 3 nosuchmodel && ok "unknown model: 404 model_not_found (openai client: NotFoundError)" ||
	bad "unknown model: $(chat 3 nosuchmodel)"

# added latency: the server directly, through node1's endpoint (its own
# server), through node3's endpoint (node3 → node1's mesh frontend)
bench() { node "$S/tests/js/ai_check.mjs" bench "$1" "$2" 100 | jq -r '.median_ms'; }
d0=$(bench "http://127.0.0.1:$(SP 1)/v1" alpha)
d1=$(bench "$(EP 1)" alpha)
d2=$(bench "$(EP 3)" alpha)
if [ -n "$d0" ] && [ -n "$d1" ] && [ -n "$d2" ] && [ "$d0" != null ] && [ "$d2" != null ]; then
	ok "latency measured"
	echo "# measured (median of 100, openai client, keep-alive): direct ${d0} ms, local endpoint ${d1} ms" \
		"(+$(echo "$d1 - $d0" | bc -l | xargs printf '%.2f') ms), one mesh hop ${d2} ms" \
		"(+$(echo "$d2 - $d1" | bc -l | xargs printf '%.2f') ms per hop)"
else
	bad "latency: direct '$d0', local '$d1', hop '$d2'"
fi

# hostile records from node3 (no ai_local: it leaves its svc ai alone)
need on 3 publish svc ai --body '{"service":"ai","endpoint":"10.9.9.9","port":80,"attrs":[{"k":"model","v":"evil"}]}'
wait_for 15 "node1 ignores a record not at its origin's mesh address" \
	json_ok '.ai.ignored.bad_endpoint == 1' on 1 status --json
need on 3 publish svc ai --body '{"service":"ai","endpoint":"127.0.42.3","port":80,"attrs":[{"k":"model","v":"a b\"c"}]}'
wait_for 15 "node1 ignores a record whose model is no plain name" \
	json_ok '.ai.ignored.bad_model == 1 and .ai.ignored.bad_endpoint == 0' on 1 status --json
json_ok '.ai.models == 3' on 1 status --json && ok "node1 still routes 3 models" || bad "node1: $(on 1 status --json | jq -c .ai)"
! grep -q 'a b' "$T/node1/ai/live/models.map" && ok "the hostile name is in no file" || bad "hostile name in models.map"

# node1's server stopped: shared at node3 from node2 (the next holder)
stop_pid "$SRV1"
t0=$(_t_us)
from2() {
	curl -s -m 5 -H 'Content-Type: application/json' -d '{"model":"shared","messages":[]}' \
		"$(EP 3)/chat/completions" | grep -q '"node2: shared"'
}
poll 15 from2 && echo "# measured: node1's server stopped → shared answered by node2 at node3 after" \
	"$(( ($(_t_us) - t0) / 1000 )) ms (ai_check_ms 200, fall 2)"
wait_for 15 "node1 stopped: shared at node3 from node2 (openai client)" answers 3 shared "node2: shared"
answers 1 shared "node2: shared" && ok "shared at node1 (its server down): node2" || bad "shared at node1: $(chat 1 shared)"
wait_for 15 "node1's svc ai deleted when its server stopped" \
	json_ok 'map(select(.endpoint == "127.0.42.1")) | length == 0' on 3 ai list --json
# every holder down: 503 in the same shape while its record lives (3
# failed reads), then 404 once the record is deleted
stop_pid "$SPAWNED"
code_is() {   # code_is NODE MODEL CODE: the status, body kept in $T/body
	[ "$(curl -s -o "$T/body" -w '%{http_code}' -m 5 -H 'Content-Type: application/json' \
		-d "{\"model\":\"$2\",\"messages\":[]}" "$(EP "$1")/chat/completions")" = "$3" ]
}
if poll 10 code_is 1 beta 503; then
	json_ok '.error.type == "server_error" and .error.code == "model_unavailable"' cat "$T/body" &&
		ok "every holder down: 503 in the OpenAI error shape" || bad "503 body: $(cat "$T/body")"
else
	bad "every holder down: no 503"; _t_show "$T/body"
fi
wait_for 15 "node2's record deleted: beta is 404 at node1" code_is 1 beta 404

# ai_listen removed (SIGHUP): node3's HAProxy stops
pid3=$(cat "$T/node3/ai/haproxy.pid")
sed -i '/^ai_listen /d' "$T/node3/mirrornetd.conf"
kill -HUP "$(cat "$T/node3/pid")"
wait_for 15 "ai_listen removed by a reload: node3's HAProxy stopped" gone "$pid3" ||
	{ grep "ai:" "$T/node3/log" | tail -5 | _t_show; pgrep -af "haproxy.*$T/node3" | _t_show; }
finish
