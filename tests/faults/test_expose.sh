#!/bin/bash
# An HAProxy reload that hangs, then fails (issue #19, docs/faults.md): two
# hosts over wireguard-go, each running the CDN's own real HAProxy
# (docs/expose.md). Host 2 exposes web services; host 1 (the root, their
# ancestor) routes them down to host 2. Host 1's `expose_haproxy` is a
# wrapper around the real haproxy that, told so by a file, hangs (`sleep
# 600 & wait`: a child too) or fails (exit 1 with an ALERT line) instead.
# Every reload goes through it: `haproxy -c` on the new generation, then
# USR2 to the master (or a start). What must hold:
#   - while the check hangs: host 1's API answers and gossip flows both ways
#   - the hang is killed at its 30 s bound with its child (no process of it
#     left in host 1's namespace), counted (check_failures) and said in
#     status and in the log; the running HAProxy keeps serving the old routes
#   - a failing command is counted and said (its ALERT line)
#   - tried again by itself (`retries`, no record needed to set it off): once
#     the command works, the live configuration holds every exposed name
#     and the running HAProxy routes them through to host 2's backend
# Needs root, wireguard-go, haproxy, curl, python3, jq; skips otherwise.
. "$(dirname "$0")/../netns/lib.sh"
need_root
need_cmd wireguard-go haproxy curl python3 jq
: "${MN_BUILD:?}"
K=2
tmpdir mn-fexpose
HAPROXY=$(command -v haproxy)

ns_init $K || fatal "namespaces"
ns_mn_keys $K || fatal "keys and certificates"
did() { ns_mn_id "$1" did; }
# the root's certificate holds the mesh domain; host 2's zone node2.example.io
need "$MN_BUILD/mirrornetctl" cert issue --key "$T/h1/node.key" --subject "$(did 1)" --role master \
	--depth 0 --max-depth 3 --scope example.io --addr 10.42.0.1 --out "$T/h1/root.cert" >/dev/null
need ns_mn_issue 1 2 peer 1 node2.example.io
for i in 1 2; do ns_wg_up "$i" || fatal "wireguard-go in host $i"; done

# host 1's haproxy: the real one unless $T/mode says hang or fail
cat >"$T/haproxy-wrap" <<EOF
#!/bin/sh
case "\$(cat '$T/mode' 2>/dev/null)" in
hang) sleep 600 & wait; exit 0 ;;
fail) echo "[ALERT] (test) injected failure of \$*" >&2; exit 1 ;;
esac
exec '$HAPROXY' "\$@"
EOF
chmod 755 "$T/haproxy-wrap"
echo ok >"$T/mode"

for i in 1 2; do
	{
		ns_mn_star "$i" $K
		echo "expose_proxy haproxy"
		echo "expose_dir $T/h$i/expose"
		if [ "$i" = 1 ]; then
			echo "cert $T/h1/root.cert"
			echo "expose_public 127.0.0.1"
			echo "expose_haproxy $T/haproxy-wrap"
		fi
	} >"$T/h$i/mirrornetd.conf"
done
for i in 1 2; do
	ns_mn_start "$i" || fatal "config or start of host $i"
	PID[$i]=$SPAWNED
	watch_pid "$SPAWNED" "the daemon of host $i" "$T/h$i/log"
done
# host 2's services: files served on 127.0.0.1:8001 and :8002
mkdir -p "$T/www"
echo "web of host 2" >"$T/www/index.html"
for port in 8001 8002 8003; do
	ns_bg 2 "$T/backend$port.err" python3 -m http.server --bind 127.0.0.1 --directory "$T/www" "$port"
	watch_pid "$SPAWNED" "host 2's backend on $port" "$T/backend$port.err"
done

wait_for 60 "the two hosts over WireGuard see each other alive" eval 'alive_ge 1 1 && alive_ge 2 1'
st() { json_val ".expose.$2 // empty" on "$1" status --json; }
get() {   # get NAME: through host 1's public HTTP frontend, routed to host 2
	ns_exec 1 curl -sS --max-time 3 -H "Host: $1" http://127.0.0.1/ 2>&1
}
reaches() { get "$1" | grep -q "web of host 2"; }
need on 2 expose add web1 --port 8001 --proto http >/dev/null
wait_for 60 "host 1's HAProxy routes web1 down to host 2's backend" reaches web1.node2.example.io

# ---- a reload that hangs ----
echo hang >"$T/mode"
f0=$(st 1 check_failures)
need on 2 expose add web2 --port 8002 --proto http >/dev/null
ns_sleeps() { local p; for p in $(ip netns pids "$(ns_host 1)"); do
	[ "$(cat /proc/"$p"/comm 2>/dev/null)" = sleep ] && echo "$p"; done; }
hang_pids() { hanging=$(ns_sleeps); [ -n "$hanging" ]; }
wait_for 30 "web2's record reaches host 1 and its reload hangs (the check's child sleeps)" hang_pids
t_hang=$(_t_us)
check "  ...host 1's API answers meanwhile" json_ok '.records > 0' on 1 status --json
on 1 publish svc during-hang --body '{"service":"during-hang","endpoint":"x:1","port":1}' >/dev/null
on 2 publish svc from-2 --body '{"service":"from-2","endpoint":"x:1","port":1}' >/dev/null
wait_for 10 "  ...gossip flows both ways meanwhile" eval 'has_key 2 svc during-hang && has_key 1 svc from-2'
check "  ...the running HAProxy keeps serving the old routes" reaches web1.node2.example.io
echo fail >"$T/mode"   # what the command does the next time it runs
running() { grep -q '^State:[[:space:]]*[RSD]' "/proc/$1/status" 2>/dev/null; }   # (a zombie is gone)
hang_gone() { local p; for p in $hanging; do ! running "$p" || return 1; done; }
if wait_for 45 "  ...the hang is killed at its 30 s bound, with its child" hang_gone; then
	s=$(( ($(_t_us) - t_hang) / 1000000 ))
	[ "$s" -ge 20 ] && ok "  ...not before its bound (gone about $s s after it was seen hanging)" ||
		bad "  ...the hang went after $s s: killed before its bound?"
fi
check "  ...no process of the command left in host 1's namespace" test -z "$(ns_sleeps)"
failed_ge() { [ "$(st 1 check_failures)" -ge "$1" ]; }
check "  ...counted (check_failures $f0 -> $(st 1 check_failures))" failed_ge $((f0 + 1))
check "  ...and logged (the daemon's log)" grep -q "haproxy -c did not finish on gen.* (timed out after 30 s: killed)" "$T/h1/log"

# ---- a reload that fails ----
wait_for 30 "a failing reload is counted and said in status" \
	eval "failed_ge $((f0 + 2)) && st 1 last_error | grep -q 'injected failure'" &&
	ok "  ...$(st 1 last_error | head -c 160)"
check "  ...the running HAProxy still serves the old routes" reaches web1.node2.example.io

# ---- the command works again: retried without a new record ----
r0=$(st 1 retries)
echo ok >"$T/mode"
wait_for 60 "once the command works again, HAProxy routes web2 too" reaches web2.node2.example.io
check "  ...tried again by its retry timer (retries $r0 -> $(st 1 retries))" eval "[ \"\$(st 1 retries)\" -gt $r0 ]"
names_live() {   # every name host 1 holds an exposure for (2 now) is in its live host map
	local n c=0
	for n in $(on 1 expose list --json | jq -r '.. | objects | .domain? // empty' | sort -u); do
		grep -q "^$n " "$T/h1/expose/live/host.map" || { echo "$n not in host.map"; return 1; }
		c=$((c + 1))
	done
	[ $c -ge 2 ] || { echo "only $c names in expose list"; return 1; }
}
check "  ...the live configuration holds every exposed name (host.map)" names_live
check "  ...and says no error any more" eval '[ -z "$(st 1 last_error)" ]'
need on 2 expose add web3 --port 8003 --proto http >/dev/null
wait_for 30 "  ...a new exposure after that reaches it as usual" reaches web3.node2.example.io
check "  ...host 1's daemon served all along (the same process)" kill -0 "${PID[1]}"
finish
