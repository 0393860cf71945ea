#!/bin/bash
# The UAPI backend against real wireguard-go: two network namespaces joined
# by a veth pair (192.168.77.1/.2 and fd77::1/::2, only inside them), a
# wireguard-go in each with its own interface name (the UAPI socket
# directory /var/run/wireguard is shared by every namespace), mesh
# addresses 10.42.77.1/.2. Both sides are configured only through
# wg_uapi_tool (src/wg/uapi.c); the checks: a ping through the tunnel, what
# get reads back (peer, endpoint, recent handshake, counters), the same as
# `wg show`, allowed IPs replaced on update, an IPv6 endpoint, remove-peer
# (ping fails after), removing an unknown peer, clean failures.
# Needs root, iproute2, wireguard-go and /dev/net/tun; skips (77) otherwise.
# Everything it starts or makes is removed on every exit path.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd ip wireguard-go
[ -c /dev/net/tun ] || skip_all "needs /dev/net/tun"
tool=${WG_UAPI_TOOL:-${MN_BUILD:-build}/tests/wg_uapi_tool}
[ -x "$tool" ] || fatal "$tool not built"

tag="mnw$$"
nsa="${tag}a"
nsb="${tag}b"
ifa="$(printf '%.14s' "mnt$$")a"       # ≤ 15 characters, distinct per side
ifb="$(printf '%.14s' "mnt$$")b"
sockdir=/var/run/wireguard
tmpdir mn-wg-uapi
tmp=$T
wgpids=""

# wireguard-go (spawned: stopped at exit), then anything left in our namespaces
cleanup() {
	local pid
	stop_tracked
	for ns in "$nsa" "$nsb"; do
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	rm -f "$sockdir/$ifa.sock" "$sockdir/$ifb.sock"
}
at_exit cleanup

randkey() { od -An -tx1 -N32 /dev/urandom | tr -d ' \n'; }
# hex → base64 (wg prints keys in base64), with POSIX printf octal escapes: no xxd needed
b64() {
	h=$1 out=""
	while [ -n "$h" ]; do
		out="$out\\$(printf %o "0x${h%"${h#??}"}")"
		h=${h#??}
	done
	printf "$out" | base64
}
in_a() { ip netns exec "$nsa" "$@"; }
in_b() { ip netns exec "$nsb" "$@"; }
# The get line of peer KEY as read through the tool on interface IF.
peer_line() { "$tool" "$1" get | grep "^peer $2 "; }
# Field NAME of a peer line on stdin.
field() { awk -v k="$1" '{ for (i = 2; i < NF; i++) if ($i == k) print $(i + 1) }'; }
sorted() { tr ',' '\n' | sort | tr '\n' ',' | sed 's/,$//'; }

# ---- the underlay ----
if ! ip netns add "$nsa" || ! ip netns add "$nsb"; then fatal "create namespaces"; fi
ip link add "v$nsa" netns "$nsa" type veth peer name "v$nsb" netns "$nsb" || fatal "veth pair"
ip -n "$nsa" addr add 192.168.77.1/24 dev "v$nsa"
ip -n "$nsb" addr add 192.168.77.2/24 dev "v$nsb"
ip -n "$nsa" addr add fd77::1/64 dev "v$nsa" nodad
ip -n "$nsb" addr add fd77::2/64 dev "v$nsb" nodad
for ns in "$nsa" "$nsb"; do
	ip -n "$ns" link set lo up
	ip -n "$ns" link set "v$ns" up
done

# ---- wireguard-go, one per namespace ----
for side in a b; do
	if [ $side = a ]; then ns=$nsa; ifn=$ifa; else ns=$nsb; ifn=$ifb; fi
	[ -e "$sockdir/$ifn.sock" ] && fatal "$sockdir/$ifn.sock already exists"
	spawn "$tmp/wg-$side.log" ip netns exec "$ns" wireguard-go -f "$ifn"
	wgpids="$wgpids $SPAWNED"
done
if ! poll 10 test -S "$sockdir/$ifa.sock" -a -S "$sockdir/$ifb.sock"; then
	cat "$tmp"/wg-*.log
	fatal "wireguard-go sockets did not appear"
fi
ip -n "$nsa" addr add 10.42.77.1/24 dev "$ifa"
ip -n "$nsb" addr add 10.42.77.2/24 dev "$ifb"
ip -n "$nsa" link set "$ifa" up
ip -n "$nsb" link set "$ifb" up

# ---- configure both sides through the UAPI backend ----
privA=$(randkey); privB=$(randkey)
pubA=$("$tool" pubkey "$privA"); pubB=$("$tool" pubkey "$privB")
check "set-device a" "$tool" "$ifa" set-device "$privA" 51820
check "set-device b" "$tool" "$ifb" set-device "$privB" 51821
"$tool" "$ifa" get >"$tmp/get" 2>&1
if grep -qx "public_key $pubA" "$tmp/get" && grep -qx "listen_port 51820" "$tmp/get" &&
   ! grep -q '^peer ' "$tmp/get"; then
	ok "get a: the public key derived from the private key, the port, no peers"
else
	bad "get a: device"; sed 's/^/    /' "$tmp/get"
fi
check "set-peer a -> b (v4 endpoint, keepalive 25)" \
	"$tool" "$ifa" set-peer "$pubB" 192.168.77.2:51821 10.42.77.2/32 25
check "set-peer b -> a (no keepalive)" \
	"$tool" "$ifb" set-peer "$pubA" 192.168.77.1:51820 10.42.77.1/32
check "ping a -> b through the tunnel" in_a ping -c 3 -i 0.3 -w 10 10.42.77.2
check "ping b -> a through the tunnel" in_b ping -c 2 -i 0.3 -w 5 10.42.77.1

# ---- what get reads back ----
now=$(date +%s)
line=$(peer_line "$ifa" "$pubB")
hs=$(echo "$line" | field handshake)
if [ "$(echo "$line" | field endpoint)" = 192.168.77.2:51821 ] &&
   [ "$(echo "$line" | field keepalive)" = 25 ] &&
   [ "$(echo "$line" | field allowed)" = 10.42.77.2/32 ] &&
   [ -n "$hs" ] && [ "$hs" -gt $((now - 60)) ] && [ "$hs" -le $((now + 5)) ] &&
   [ "$(echo "$line" | field rx)" -gt 0 ] && [ "$(echo "$line" | field tx)" -gt 0 ]; then
	ok "get a: peer b, its endpoint, keepalive, allowed IP, a recent handshake, traffic"
else
	bad "get a: peer b"; echo "    now $now: ${line:-no peer line}"
fi
line=$(peer_line "$ifb" "$pubA")
if [ "$(echo "$line" | field endpoint)" = 192.168.77.1:51820 ] &&
   [ "$(echo "$line" | field keepalive)" = 0 ] &&
   [ "$(echo "$line" | field handshake)" -gt 0 ]; then
	ok "get b: peer a"
else
	bad "get b: peer a"; echo "    ${line:-no peer line}"
fi

# ---- the same as wg show ----
if command -v wg >/dev/null 2>&1; then
	in_a wg show "$ifa" dump >"$tmp/dump" 2>&1
	line=$(peer_line "$ifa" "$pubB")
	# device: private public port fwmark; peer: public psk endpoint allowed handshake rx tx keepalive
	dev=$(head -n 1 "$tmp/dump")
	wpeer=$(grep "^$(b64 "$pubB")	" "$tmp/dump")
	if [ "$(echo "$dev" | cut -f2)" = "$(b64 "$pubA")" ] &&
	   [ "$(echo "$dev" | cut -f3)" = 51820 ] &&
	   [ "$(echo "$wpeer" | cut -f3)" = "$(echo "$line" | field endpoint)" ] &&
	   [ "$(echo "$wpeer" | cut -f4)" = "$(echo "$line" | field allowed)" ] &&
	   [ "$(echo "$wpeer" | cut -f8)" = "$(echo "$line" | field keepalive)" ] &&
	   [ "$(echo "$wpeer" | cut -f5)" = "$(echo "$line" | field handshake)" ] &&
	   [ "$(wc -l <"$tmp/dump")" = 2 ]; then
		ok "wg show agrees with get (keys, port, endpoint, allowed IPs, keepalive, handshake)"
	else
		bad "wg show vs get"; sed 's/^/    /' "$tmp/dump"; echo "    $line"
	fi
else
	skip "wg show comparison (wg is not installed)"
fi

# ---- update: endpoint kept, allowed IPs replaced ----
check "set-peer a -> b again: no endpoint, two allowed IPs, keepalive off" \
	"$tool" "$ifa" set-peer "$pubB" - 10.42.77.2/32,10.42.78.9/24 0
line=$(peer_line "$ifa" "$pubB")
if [ "$(echo "$line" | field endpoint)" = 192.168.77.2:51821 ] &&
   [ "$(echo "$line" | field keepalive)" = 0 ] &&
   [ "$(echo "$line" | field allowed | sorted)" = "10.42.77.2/32,10.42.78.0/24" ]; then
	ok "update: endpoint kept, keepalive off, allowed IPs masked and added"
else
	bad "update"; echo "    ${line:-no peer line}"
fi
if command -v wg >/dev/null 2>&1; then
	w=$(in_a wg show "$ifa" allowed-ips | cut -f2 | tr ' ' '\n' | sort | tr '\n' ',' | sed 's/,$//')
	if [ "$w" = "10.42.77.2/32,10.42.78.0/24" ]; then ok "wg show sees both allowed IPs"
	else bad "wg show allowed-ips: $w"; fi
fi
"$tool" "$ifa" set-peer "$pubB" - 10.42.77.2/32 25 >/dev/null 2>&1
line=$(peer_line "$ifa" "$pubB")
if [ "$(echo "$line" | field allowed)" = 10.42.77.2/32 ]; then
	ok "update: allowed IPs replaced, not merged"
else
	bad "update: replace"; echo "    ${line:-no peer line}"
fi

# ---- an IPv6 endpoint ----
check "set-peer a -> b with endpoint [fd77::2]:51821" \
	"$tool" "$ifa" set-peer "$pubB" "[fd77::2]:51821" 10.42.77.2/32 25
if [ "$(peer_line "$ifa" "$pubB" | field endpoint)" = "[fd77::2]:51821" ]; then
	ok "get a: the IPv6 endpoint"
else
	bad "get a: IPv6 endpoint"; peer_line "$ifa" "$pubB" | sed 's/^/    /'
fi
check "ping a -> b over the IPv6 underlay" in_a ping -c 2 -i 0.3 -w 5 10.42.77.2
if [ "$(peer_line "$ifb" "$pubA" | field endpoint)" = "[fd77::1]:51820" ]; then
	ok "get b: a's endpoint roamed to IPv6 (learned from its packets)"
else
	bad "get b: roaming"; peer_line "$ifb" "$pubA" | sed 's/^/    /'
fi

# ---- remove ----
check "remove-peer b from a" "$tool" "$ifa" remove-peer "$pubB"
if "$tool" "$ifa" get >"$tmp/get" 2>&1 && ! grep -q '^peer ' "$tmp/get"; then
	ok "get a: no peer left"
else
	bad "get a after remove"; sed 's/^/    /' "$tmp/get"
fi
if command -v wg >/dev/null 2>&1; then
	if [ -z "$(in_a wg show "$ifa" peers)" ]; then ok "wg show: no peer left"
	else bad "wg show still lists a peer"; fi
fi
if in_a ping -c 2 -W 1 10.42.77.2 >/dev/null 2>&1; then
	bad "ping a -> b still passes without the peer"
else
	ok "ping a -> b fails without the peer"
fi
check "remove-peer of an unknown key is not an error" "$tool" "$ifa" remove-peer "$pubB"

# ---- many peers: a longer get reply, read back whole ----
n=0; rc=0
while [ $n -lt 100 ]; do
	k=$(randkey)
	echo "$k" >>"$tmp/keys"
	"$tool" "$ifa" set-peer "$k" "192.168.77.$((n + 10)):$((40000 + n))" \
		"10.43.$n.0/24,fd43:$n::/64" >/dev/null 2>&1 || rc=1
	n=$((n + 1))
done
got=$("$tool" "$ifa" get | grep -c '^peer ')
if [ $rc = 0 ] && [ "$got" = 100 ] &&
   { ! command -v wg >/dev/null 2>&1 || [ "$(in_a wg show "$ifa" peers | wc -l)" = 100 ]; }; then
	ok "100 peers set, get reads back 100 (as wg show)"
else
	bad "100 peers: set rc $rc, get sees $got"
fi
rc=0
while read -r k; do "$tool" "$ifa" remove-peer "$k" >/dev/null 2>&1 || rc=1; done <"$tmp/keys"
if [ $rc = 0 ] && ! "$tool" "$ifa" get | grep -q '^peer '; then
	ok "100 peers removed"
else
	bad "removing 100 peers"
fi

# ---- clean failures ----
if "$tool" "$ifa" set-peer "$pubB" - 10.42.77.2/33 >"$tmp/out" 2>&1; then
	bad "a bad allowed IP was accepted"
elif grep -q "Invalid argument" "$tmp/out" && ! "$tool" "$ifa" get | grep -q '^peer '; then
	ok "a bad allowed IP is refused before anything changes"
else
	bad "bad allowed IP"; sed 's/^/    /' "$tmp/out"
fi
none="$(printf '%.13s' "mnx$$")zz"
if "$tool" "$none" get >"$tmp/out" 2>&1; then
	bad "get on an interface that does not exist succeeded"
elif grep -q "cannot reach WireGuard UAPI socket $sockdir/$none.sock" "$tmp/out"; then
	ok "no wireguard-go: a clear error"
else
	bad "no wireguard-go"; sed 's/^/    /' "$tmp/out"
fi
if "$tool" -b netlink "$ifa" get >"$tmp/out" 2>&1; then
	echo "note: the netlink backend reached $ifa (kernel module present?)"
elif grep -Eq "WireGuard kernel module not available|not reachable over netlink" "$tmp/out"; then
	ok "netlink backend fails cleanly here: $(cat "$tmp/out")"
else
	bad "netlink backend failure"; sed 's/^/    /' "$tmp/out"
fi

cleanup
left=""
ip netns list | grep -q "$tag" && left="$left namespaces"
{ [ -e "$sockdir/$ifa.sock" ] || [ -e "$sockdir/$ifb.sock" ]; } && left="$left sockets"
for pid in $wgpids; do gone "$pid" || left="$left wireguard-go($pid)"; done
[ -z "$left" ] && ok "cleanup leaves nothing behind" || bad "left behind:$left"
finish
