#!/bin/bash
# The mesh over real WireGuard (wireguard-go), K hosts in network
# namespaces: it comes up and converges; a record published on one host
# reaches all; the underlay carries only WireGuard; a host that changes its
# underlay address is reachable again; with A–B cut and A–C, C–B up,
# records from A still reach B; a revoked host loses its WireGuard peers
# everywhere. Needs root, iproute2, wireguard-go, tcpdump; skips otherwise.
#   MN_HOSTS=K (default 5)   MN_BENCH=1: also print timings and idle traffic
. "$(dirname "$0")/lib.sh"
need_root
need_cmd wireguard-go tcpdump
B=${MN_BUILD:?}
K=${MN_HOSTS:-5}
tmpdir mn-wg
all_have() { local i; for i in $(seq 1 "$K"); do [ "$i" = "${SKIP:-0}" ] && continue; has_key "$i" "$1" "$2" || return 1; done; }
all_alive() { local i; for i in $(seq 1 "$K"); do alive_ge "$i" $((K - 1)) || return 1; done; }

ns_init "$K" || fatal "namespaces"
# keys: host 1 is the mesh root
ns_mn_keys "$K" || fatal "keys and certificates"
for i in $(seq 1 "$K"); do
	ns_wg_up "$i" || fatal "wireguard-go in host $i"
	{
		ns_mn_star "$i" "$K"
		# extra lines for every host (measurements: MN_EXTRA_CONF="probe_ms 2000")
		[ -n "${MN_EXTRA_CONF:-}" ] && echo "$MN_EXTRA_CONF"
	} > "$T/h$i/mirrornetd.conf"
	ns_mn_start "$i" || fatal "config or start of host $i"
done
t0=$SECONDS
wait_for 90 "$K hosts over WireGuard see each other alive" all_alive
echo "  (converged in $((SECONDS - t0)) s)"
wg_peers() { ns_exec "$1" wg show "$(ns_if "$1")" peers | wc -l; }
full_wg() { local i; for i in $(seq 1 "$K"); do [ "$(wg_peers "$i")" -ge $((K - 1)) ] || return 1; done; }
wait_for 30 "every host has the other $((K - 1)) as WireGuard peers" full_wg

# a record reaches all; the underlay carries only WireGuard meanwhile
ip netns exec "$(ns_br)" timeout 8 tcpdump -i br0 -nn -p 'ip and not (udp port 51820)' \
	> "$T/capture.txt" 2>"$T/capture.err" &
CAP=$!
track $CAP
wait_for 10 "tcpdump listens on the bridge" grep -q "listening on br0" "$T/capture.err"
ts=$(date +%s%N)
on 2 publish svc mail --body '{"service":"mail","endpoint":"mx.host2.example.io","port":25}' >/dev/null
wait_for 30 "a record published on host 2 reaches all $K hosts" all_have svc mail
echo "  (in $(( ($(date +%s%N) - ts) / 1000000 )) ms, including the CLI's polling)"
wait "$CAP" 2>/dev/null   # the capture's window: timeout 8 above
if grep -q " IP" "$T/capture.txt"; then
	bad "the underlay carried something else than WireGuard:"; head -5 "$T/capture.txt"
else
	grep -q "listening on br0" "$T/capture.err" && ok "the underlay carries only WireGuard (tcpdump on the bridge)" ||
		bad "tcpdump did not run: $(cat "$T/capture.err")"
fi
check "peers show the WireGuard view (endpoint, handshake, direct)" \
	json_ok '[.[] | select(.wireguard.direct == true)] | length >= 1' on 3 peers --json

# a host that changes its underlay address is found again
ns_move 3 33
on 3 publish svc moved --body '{"service":"moved"}' >/dev/null
wait_for 60 "host 3 moved to a new underlay address: its new record reaches all" all_have svc moved
on 1 publish svc after-move --body '{"service":"after"}' >/dev/null
wait_for 60 "host 3 moved: records reach it again" has_key 3 svc after-move

# A–B cut, A–C and C–B up: records from A still reach B
ns_cut 1 2
on 1 publish svc cut --body '{"service":"cut"}' >/dev/null
wait_for 60 "with host1–host2 cut, a record from host 1 reaches host 2 through the others" has_key 2 svc cut
ns_heal 1 2

# a revoked host loses its WireGuard peers everywhere
V=$K
VWG=$(ns_mn_id $V wireguard_public_key)
VHEX=$(ns_mn_id $V public_key)
check "the root revokes host $V" \
	on 1 publish revoke "$VHEX" --ttl 3650d --body "{\"subject\":\"$VHEX\",\"reason\":\"test\",\"time\":$(date +%s)}"
wg_gone() {
	local i wgb64
	wgb64=$(ns_wg_b64 "$VWG")
	for i in $(seq 1 $((K - 1))); do
		ns_exec "$i" wg show "$(ns_if "$i")" peers | grep -q "$wgb64" && return 1
	done
	return 0
}
wait_for 30 "host $V's WireGuard peer is removed everywhere" wg_gone

if [ "${MN_BENCH:-0}" = 1 ]; then
	# delivery times over WireGuard: mn_bench subscribes on every host's API
	# (Unix sockets: the file system is shared) and publishes on host 1
	socks=()
	for i in $(seq 1 $((K - 1))); do socks+=("$T/h$i/api.sock"); done
	echo "delivery over WireGuard: $("$B/mn_bench" --burst 20 "${socks[@]}")"
	# idle traffic: WireGuard bytes sent per host over 30 s, keepalives included
	for i in $(seq 1 $((K - 1))); do ns_exec "$i" wg show "$(ns_if "$i")" transfer; done | awk '{s+=$3} END {print s}' > "$T/tx0"
	sleep 30
	for i in $(seq 1 $((K - 1))); do ns_exec "$i" wg show "$(ns_if "$i")" transfer; done | awk '{s+=$3} END {print s}' > "$T/tx1"
	echo "idle: $(( ($(cat "$T/tx1") - $(cat "$T/tx0")) * 8 / 30 / (K - 1) )) bit/s sent per host (WireGuard payload counters)"
fi
finish
