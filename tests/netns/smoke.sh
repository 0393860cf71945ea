#!/bin/bash
# netns suite smoke test: the machine can make two network namespaces joined
# by a veth pair and pass traffic between them, and this test removes all it
# made, even when interrupted. Later multi-host tests build on the same
# steps. Needs root and iproute2; skips (exit 77) otherwise.
. "$(dirname "$0")/../lib.sh"
need_root
need_cmd ip
tag="mns$$"
a="${tag}a"
b="${tag}b"
cleanup() {
	ip netns del "$a" 2>/dev/null
	ip netns del "$b" 2>/dev/null
}
at_exit cleanup
ip netns add "$a" && ip netns add "$b" || fatal "create namespaces"
ip link add "v$a" netns "$a" type veth peer name "v$b" netns "$b" || fatal "veth"
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
	bad "a cut link still passes traffic"
else
	ok "a cut link passes nothing"
fi
cleanup
ip netns list | grep -q "$tag" && bad "namespaces left behind" || ok "no namespace left behind"
finish
