# Multi-host test harness: K hosts as network namespaces joined by veth
# links to a bridge in a namespace of their own, wireguard-go and a
# mirrornetd in each. Source it from a test (bash), call ns_init first; the
# EXIT/INT/TERM trap tears everything down even when the test fails.
#
#   ns_init K                  make the bridge and K hosts (underlay 192.168.242.i/24)
#   ns_exec I CMD...           run CMD in host I
#   ns_wg_up I                 start wireguard-go (interface $(ns_if I)) in host I,
#                              mesh address 10.42.0.I/16 on it
#   ns_cut I J / ns_heal I J   drop / restore underlay traffic between hosts I and J
#   ns_move I NEWLAST          change host I's underlay address to 192.168.242.NEWLAST
#   ns_netem I ARGS...         tc netem on host I's underlay link (e.g. delay 20ms loss 5%)
#   ns_bg I LOGFILE CMD...     run CMD in host I in the background; its PID is remembered
#   ns_cleanup                 kill what we started (by PID), delete the namespaces
#
# Names carry the test's PID so parallel runs do not collide; interface
# names differ per host because wireguard-go's UAPI socket path
# (/var/run/wireguard/IFNAME.sock) is shared by all namespaces. Traffic
# stays inside these namespaces.

NS_TAG="m$$"
NS_K=0
NS_PIDS=()
NS_UNDERLAY=192.168.242

ns_host() { echo "${NS_TAG}h$1"; }
ns_if() { echo "${NS_TAG}w$1"; }
ns_br() { echo "${NS_TAG}br"; }

ns_cleanup() {
	local pid ns i
	for pid in "${NS_PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${NS_PIDS[@]}"; do
		for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
	done
	NS_PIDS=()
	for i in $(seq 1 "$NS_K"); do
		ns=$(ns_host "$i")
		# anything still running in our namespaces was started by us
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
		rm -f "/var/run/wireguard/$(ns_if "$i").sock"
	done
	ip netns del "$(ns_br)" 2>/dev/null
	NS_K=0
}

ns_init() {
	local k=$1 i br
	trap 'ns_cleanup' EXIT
	trap 'ns_cleanup; exit 130' INT TERM
	br=$(ns_br)
	ip netns add "$br" || return 1
	ip -n "$br" link add br0 type bridge
	ip -n "$br" link set br0 up
	ip -n "$br" link set lo up
	for i in $(seq 1 "$k"); do
		local h; h=$(ns_host "$i")
		ip netns add "$h" || return 1
		NS_K=$i
		ip link add "u$i" netns "$h" type veth peer name "b$i" netns "$br" || return 1
		ip -n "$br" link set "b$i" master br0
		ip -n "$br" link set "b$i" up
		ip -n "$h" addr add "$NS_UNDERLAY.$i/24" dev "u$i"
		ip -n "$h" link set "u$i" up
		ip -n "$h" link set lo up
	done
}

ns_exec() { local i=$1; shift; ip netns exec "$(ns_host "$i")" "$@"; }

ns_bg() {
	local i=$1 log=$2; shift 2
	ip netns exec "$(ns_host "$i")" "$@" >>"$log" 2>&1 &
	NS_PIDS+=($!)
	echo $!
}

ns_wg_up() {
	local i=$1 ifn; ifn=$(ns_if "$i")
	ns_bg "$i" "${NS_LOGDIR:-/tmp}/wg$i.log" wireguard-go -f "$ifn" >/dev/null
	for _ in $(seq 50); do [ -S "/var/run/wireguard/$ifn.sock" ] && break; sleep 0.1; done
	[ -S "/var/run/wireguard/$ifn.sock" ] || { echo "wireguard-go did not start in host $i"; return 1; }
	ns_exec "$i" ip addr add "10.42.0.$i/16" dev "$ifn"
	ns_exec "$i" ip link set "$ifn" up
}

ns_cut() {
	ns_exec "$1" ip route add blackhole "$NS_UNDERLAY.$2/32" 2>/dev/null
	ns_exec "$2" ip route add blackhole "$NS_UNDERLAY.$1/32" 2>/dev/null
	true
}

ns_heal() {
	ns_exec "$1" ip route del blackhole "$NS_UNDERLAY.$2/32" 2>/dev/null
	ns_exec "$2" ip route del blackhole "$NS_UNDERLAY.$1/32" 2>/dev/null
	true
}

ns_move() {
	local i=$1 new=$2 old
	old=$(ns_exec "$i" ip -4 -o addr show dev "u$i" | awk '{print $4}')
	# delete first: deleting a primary address also deletes the secondaries
	ns_exec "$i" ip addr del "$old" dev "u$i"
	ns_exec "$i" ip addr add "$NS_UNDERLAY.$new/24" dev "u$i"
}

ns_netem() { local i=$1; shift; ns_exec "$i" tc qdisc replace dev "u$i" root netem "$@"; }
