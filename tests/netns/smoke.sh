#!/bin/sh
# netns suite smoke test: the machine can make two network namespaces joined
# by a veth pair and pass traffic between them, and this test removes all it
# made, even when interrupted. Later multi-host tests build on the same
# steps. Needs root and iproute2; skips (exit 77) otherwise.
set -u
if [ "$(id -u)" != 0 ] || ! command -v ip >/dev/null 2>&1; then
	echo "skip: needs root and iproute2"
	exit 77
fi
tag="mns$$"
a="${tag}a"
b="${tag}b"
cleanup() {
	ip netns del "$a" 2>/dev/null
	ip netns del "$b" 2>/dev/null
}
trap cleanup EXIT INT TERM
fail=0
check() {   # check WHAT CMD...
	what=$1; shift
	if "$@" >/dev/null 2>&1; then echo "ok: $what"; else echo "FAIL: $what"; fail=$((fail + 1)); fi
}
ip netns add "$a" && ip netns add "$b" || { echo "FAIL: cannot create namespaces"; exit 1; }
ip link add "v$a" netns "$a" type veth peer name "v$b" netns "$b" || { echo "FAIL: veth"; exit 1; }
ip -n "$a" addr add 192.0.2.1/24 dev "v$a"
ip -n "$b" addr add 192.0.2.2/24 dev "v$b"
for ns in "$a" "$b"; do
	ip -n "$ns" link set lo up
	ip -n "$ns" link set "v$ns" up
done
check "ping a -> b inside the test's namespaces" ip netns exec "$a" ping -c 1 -W 2 192.0.2.2
check "ping b -> a" ip netns exec "$b" ping -c 1 -W 2 192.0.2.1
ip -n "$a" link set "v$a" down
if ip netns exec "$a" ping -c 1 -W 1 192.0.2.2 >/dev/null 2>&1; then
	echo "FAIL: a cut link still passes traffic"; fail=$((fail + 1))
else
	echo "ok: a cut link passes nothing"
fi
cleanup
trap - EXIT INT TERM
if ip netns list | grep -q "$tag"; then echo "FAIL: namespaces left behind"; fail=$((fail + 1)); fi
echo "$((4 - fail)) passed, $fail failed"
[ $fail -eq 0 ]
