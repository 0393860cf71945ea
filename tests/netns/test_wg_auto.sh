#!/bin/bash
# Which WireGuard mirrornetd gets, for real, on this machine (no kernel
# module): `wg_backend auto` (the default) in a network namespace of its
# own (docs/wireguard.md, "Which backend, and who makes the interface"):
#   - no interface, no module: mirrornetd starts wireguard-go itself, puts
#     wg_address on the TUN device, brings it up, gossips on it; its status
#     says backend uapi, interface_owned; SIGTERM removes both;
#   - its wireguard-go killed: mirrornetd starts another and puts the
#     address and key back (status .wireguard.interface_remade);
#   - a crashed mirrornetd (SIGKILL) does not leave its wireguard-go behind;
#   - a wireguard-go that was there is used and left running at stop;
#   - neither module nor wireguard-go (PATH without it): exit 1 and the one
#     sentence naming kmod-wireguard and wireguard-go; `wg_backend netlink`:
#     the sentence naming kmod-wireguard; nothing left behind.
# Needs root, iproute2, wireguard-go, jq, /dev/net/tun; skips otherwise.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd ip wireguard-go jq
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
B=${MN_BUILD:-build}
{ [ -x "$B/mirrornetd" ] && [ -x "$B/mirrornetctl" ]; } || fatal "mirrornetd/mirrornetctl not built"
ns="mnauto$$"
ifn="$(printf '%.13s' "mna$$")w"        # ≤ 15 characters (the UAPI socket path is shared)
tmpdir mn-wg-auto

cleanup() {
	local pid
	stop_tracked
	for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
	ip netns del "$ns" 2>/dev/null
	rm -f "/var/run/wireguard/$ifn.sock"
}
at_exit cleanup
need ip netns add "$ns"
need ip -n "$ns" link set lo up

need "$B/mirrornetctl" mesh init --name auto --dir "$T/etc" --wg-interface "$ifn" \
	--api "$T/api.sock" --endpoint 192.0.2.1:51820
conf=$T/etc/mirrornetd.conf
check "mesh init writes wg_backend auto and wg_address" \
	grep -qxE "wg_backend auto" "$conf"
check "wg_address is the master's address with the subnet's prefix" grep -qx "wg_address 10.42.0.1/16" "$conf"

ctl() { "$B/mirrornetctl" "$@" --socket "$T/api.sock"; }
in_ns() { ip netns exec "$ns" "$@"; }
link_gone() { ! ip -n "$ns" link show "$ifn" >/dev/null 2>&1; }
wggo_pids() { pgrep -f "^wireguard-go -f $ifn\$"; }
no_wggo() { ! wggo_pids >/dev/null; }

# ---- 1. made and owned ----
spawn "$T/d1.log" ip netns exec "$ns" "$B/mirrornetd" -c "$conf"
d=$SPAWNED
watch_pid "$d" mirrornetd "$T/d1.log"
wait_for 10 "mirrornetd answers" ctl status --json
check "status: backend uapi (wireguard-go), configured auto, interface owned" \
	json_ok '.wireguard.backend == "uapi" and .wireguard.backend_config == "auto" and .wireguard.interface_owned' ctl status --json
OUT=$T/addr; ip -n "$ns" -d addr show dev "$ifn" >"$OUT" 2>&1
has "the interface is wireguard-go's TUN device" "tun type tun"
has "with the mesh address and prefix" "inet 10\.42\.0\.1/16"
has "and up" "[<,]UP[,>]"
wgpid=$(wggo_pids)
check "wireguard-go is mirrornetd's child" test "$(ps -o ppid= -p "${wgpid:-0}" | tr -d ' ')" = "$d"
check "gossip listens on the mesh address inside the tunnel" \
	in_ns sh -c "ss -uln | grep -q '10.42.0.1:7332'"
OUT=$T/d1.log
has "the log says who made it" "made by mirrornetd \(removed at stop\)"
# its wireguard-go dies: made again, with its address, key and port
kill -KILL "$wgpid"
remade() { json_ok '.wireguard.interface_remade >= 1' ctl status --json; }
wait_for 20 "wireguard-go killed: mirrornetd makes the interface again" remade
newpid=$(wggo_pids)
check "a new wireguard-go, mirrornetd's child" \
	test -n "$newpid" -a "$newpid" != "$wgpid" -a "$(ps -o ppid= -p "${newpid:-0}" | tr -d ' ')" = "$d"
addr_back() { ip -n "$ns" addr show dev "$ifn" 2>/dev/null | grep -q "inet 10\.42\.0\.1/16"; }
wait_for 10 "the mesh address is on it again" addr_back
key_back() {
	[ "$(in_ns wg show "$ifn" public-key 2>/dev/null)" = \
		"$(json_val .wireguard.public_key ctl status --json | tr a-f A-F | basenc --base16 -d | base64)" ]
}
check "its key again (wg show = status)" key_back
OUT=$T/d1.log
has "the log says it was made again" "was gone \(wireguard-go exited, or the link was deleted\): made again"
stop_pid "$d"
wait_for 5 "SIGTERM: the interface is removed" link_gone
wait_for 5 "and wireguard-go stopped" no_wggo

# ---- 2. a crash does not leave wireguard-go behind ----
spawn "$T/d2.log" ip netns exec "$ns" "$B/mirrornetd" -c "$conf"
d=$SPAWNED
wait_for 10 "mirrornetd starts again" ctl status --json
{ kill -KILL "$d"; wait "$d"; } 2>/dev/null
wait_for 5 "SIGKILL: its wireguard-go follows it (parent-death signal)" no_wggo
wait_for 5 "and the interface goes with it" link_gone

# ---- 3. one that was there: used, left ----
spawn "$T/wg.log" ip netns exec "$ns" wireguard-go -f "$ifn"
w=$SPAWNED
need poll 10 test -S "/var/run/wireguard/$ifn.sock"
need ip -n "$ns" addr add 10.42.0.1/16 dev "$ifn"
need ip -n "$ns" link set "$ifn" up
spawn "$T/d3.log" ip netns exec "$ns" "$B/mirrornetd" -c "$conf"
d=$SPAWNED
wait_for 10 "mirrornetd with a wireguard-go already there" ctl status --json
check "status: not owned" json_ok '.wireguard.backend == "uapi" and (.wireguard.interface_owned | not)' ctl status --json
stop_pid "$d"
check "stop leaves the interface" ip -n "$ns" link show "$ifn"
check "and its wireguard-go" kill -0 "$w"
stop_pid "$w"
wait_for 5 "(that wireguard-go stopped by the test)" link_gone

# ---- 4. neither ----
expect 1 "no module, no wireguard-go: mirrornetd refuses to start" \
	ip netns exec "$ns" env PATH=/nonexistent "$B/mirrornetd" -c "$conf"
has "with the one sentence naming both" \
	"WireGuard interface $ifn: cannot create it: this kernel has no WireGuard module and wireguard-go is not installed \(install kmod-wireguard, or wireguard-go\)"
check "nothing left behind" link_gone
sed 's/^wg_backend auto$/wg_backend netlink/' "$conf" >"$T/netlink.conf"
chmod 600 "$T/netlink.conf"
expect 1 "wg_backend netlink without the module: refused" ip netns exec "$ns" "$B/mirrornetd" -c "$T/netlink.conf"
has "naming kmod-wireguard" "cannot create it: the kernel has no WireGuard module \(install kmod-wireguard\)"
check "nothing left behind" link_gone
finish
