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
#                              (not for a host behind NAT)
#   ns_nat I                   put host I behind a NAT router (namespace $(ns_router I)):
#                              host I gets 172.16.I.2/24 on a private link (still uI),
#                              the router takes 192.168.242.I on the bridge, masquerades
#                              (UDP to ports 40000-40999, so a mapping shows) and drops
#                              unsolicited inbound traffic, like a home router
#   ns_netem I ARGS...         tc netem on host I's underlay link (e.g. delay 20ms loss 5%)
#   ns_bg I LOGFILE CMD...     run CMD in host I in the background; its PID is remembered
#   ns_cleanup                 kill what we started (by PID), delete the namespaces
#   ns_wait SECS CMD...        true as soon as CMD succeeds (every 0.5 s), false after SECS
#   ns_wg_b64 HEX              a WireGuard key as wg prints it (base64)
#
# Test bookkeeping:
#   ns_logdir NAME             a fresh /tmp/NAME.XXXXXX as NS_LOGDIR (and the trap set);
#                              ns_cleanup removes it unless MN_KEEP is set
#   ns_ok MSG / ns_no MSG      count a check that passed / failed, and print it
#   ns_check SECS WHAT CMD...  ns_wait for CMD, then ns_ok or ns_no WHAT
#   ns_done                    print "N passed, N failed"; true if none failed
#
# Mesh helpers: NS_BUILD is the build directory (mirrornetctl, mirrornetd),
# NS_LOGDIR the test's directory; host I's files are in $NS_LOGDIR/hI; host 1
# is the mesh root.
#   ns_mn_keys K               node keys for hosts 1..K, certificates from host 1 for the others
#   ns_mn_id I FIELD           FIELD of host I's identity (did, public_key, wireguard_public_key)
#   ns_mn_conf I               the lines every host's config has (name, key, store, API, root,
#                              mesh address 10.42.0.I, wg_interface, cert for I > 1)
#   ns_mn_wg_peer J HOST:PORT  a wg_peer line naming host J at HOST:PORT
#   ns_mn_start I              check $NS_LOGDIR/hI/mirrornetd.conf, start mirrornetd with it in host I
#   ns_on I ARGS...            mirrornetctl ARGS against host I's API
#
# Names carry the test's PID so parallel runs do not collide; interface
# names differ per host because wireguard-go's UAPI socket path
# (/var/run/wireguard/IFNAME.sock) is shared by all namespaces. Traffic
# stays inside these namespaces.

NS_TAG="m$$"
NS_K=0
NS_PIDS=()
NS_UNDERLAY=192.168.242
NS_NATS=()
NS_RMDIR=""
NS_PASS=0
NS_FAIL=0

ns_host() { echo "${NS_TAG}h$1"; }
ns_if() { echo "${NS_TAG}w$1"; }
ns_br() { echo "${NS_TAG}br"; }
ns_router() { echo "${NS_TAG}r$1"; }

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
	for i in "${NS_NATS[@]}"; do ip netns del "$(ns_router "$i")" 2>/dev/null; done
	NS_NATS=()
	ip netns del "$(ns_br)" 2>/dev/null
	NS_K=0
	[ -n "$NS_RMDIR" ] && [ -z "${MN_KEEP:-}" ] && rm -rf "$NS_RMDIR"
	NS_RMDIR=""
}

# the test's own EXIT trap, if it set one first, is kept (it calls ns_cleanup)
ns_trap() {
	[ -n "$(trap -p EXIT)" ] && return 0
	trap 'ns_cleanup' EXIT
	trap 'ns_cleanup; exit 130' INT TERM
}

ns_init() {
	local k=$1 i br
	ns_trap
	br=$(ns_br)
	ip netns add "$br" || return 1
	# promiscuous: a capture on br0 sees the frames the bridge forwards
	# between hosts, not only its own; no multicast snooping: the bridge
	# itself sends nothing (no IGMP reports of its own)
	ip -n "$br" link add br0 type bridge mcast_snooping 0
	ip -n "$br" link set br0 promisc on
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

ns_nat() {
	local i=$1 h r br
	h=$(ns_host "$i"); r=$(ns_router "$i"); br=$(ns_br)
	ip netns add "$r" || return 1
	NS_NATS+=("$i")
	ip netns exec "$r" sysctl -qw net.ipv4.ip_forward=1 || return 1
	ip -n "$r" link set lo up
	# the host's place on the bridge becomes the router's (deleting uI deletes bI)
	ip -n "$h" link del "u$i" || return 1
	ip link add "u$i" netns "$r" type veth peer name "b$i" netns "$br" || return 1
	ip -n "$br" link set "b$i" master br0
	ip -n "$br" link set "b$i" up
	ip -n "$r" addr add "$NS_UNDERLAY.$i/24" dev "u$i"
	ip -n "$r" link set "u$i" up
	# the private link: nI on the router, uI on the host
	ip link add "n$i" netns "$r" type veth peer name "u$i" netns "$h" || return 1
	ip -n "$r" addr add "172.16.$i.1/24" dev "n$i"
	ip -n "$r" link set "n$i" up
	ip -n "$h" addr add "172.16.$i.2/24" dev "u$i"
	ip -n "$h" link set "u$i" up
	ip -n "$h" route add default via "172.16.$i.1"
	ip netns exec "$r" nft -f - <<-EOF || return 1
	table ip nat {
		chain post {
			type nat hook postrouting priority srcnat;
			oifname "u$i" meta l4proto udp masquerade to :40000-40999 random
			oifname "u$i" masquerade
		}
	}
	table ip filter {
		chain forward {
			type filter hook forward priority filter; policy drop;
			iifname "n$i" accept
			ct state established,related accept
		}
		chain input {
			type filter hook input priority filter; policy drop;
			iifname { "lo", "n$i" } accept
			ct state established,related accept
		}
	}
	EOF
}

ns_wait() {
	local end=$((SECONDS + $1)); shift
	while [ $SECONDS -lt $end ]; do
		"$@" >/dev/null 2>&1 && return 0
		sleep 0.5
	done
	return 1
}

ns_wg_b64() { printf "$(echo "$1" | sed 's/../\\x&/g')" | base64; }

ns_mn_id() { jq -r ".$2" "$NS_LOGDIR/h$1/id.json"; }

ns_mn_keys() {
	local k=$1 i
	for i in $(seq 1 "$k"); do
		mkdir -p "$NS_LOGDIR/h$i"
		"$NS_BUILD/mirrornetctl" keygen --out "$NS_LOGDIR/h$i/node.key" >/dev/null || return 1
		"$NS_BUILD/mirrornetctl" keygen --show "$NS_LOGDIR/h$i/node.key" --json > "$NS_LOGDIR/h$i/id.json" || return 1
	done
	for i in $(seq 2 "$k"); do
		"$NS_BUILD/mirrornetctl" cert issue --key "$NS_LOGDIR/h1/node.key" --subject "$(ns_mn_id "$i" did)" \
			--depth 1 --addr "10.42.0.$i" --out "$NS_LOGDIR/h$i/node.cert" >/dev/null || return 1
	done
}

ns_mn_conf() {
	local i=$1 d="$NS_LOGDIR/h$1"
	printf '%s\n' "name host$i" "key $d/node.key" "db $d/store.db" "api $d/api.sock" \
		"root $(ns_mn_id 1 did)" "mesh_addr 10.42.0.$i" "wg_interface $(ns_if "$i")"
	[ "$i" = 1 ] || echo "cert $d/node.cert"
}

ns_mn_wg_peer() { echo "wg_peer $(ns_mn_id "$1" did) $(ns_mn_id "$1" wireguard_public_key) $2 10.42.0.$1"; }

ns_mn_start() {
	local i=$1 d="$NS_LOGDIR/h$1"
	"$NS_BUILD/mirrornetd" -n -c "$d/mirrornetd.conf" >/dev/null || return 1
	ns_bg "$i" "$d/log" "$NS_BUILD/mirrornetd" -c "$d/mirrornetd.conf" >/dev/null
}

ns_on() { local i=$1; shift; MIRRORNET_SOCKET=$NS_LOGDIR/h$i/api.sock "$NS_BUILD/mirrornetctl" "$@"; }

ns_logdir() {
	NS_LOGDIR=$(mktemp -d "/tmp/$1.XXXXXX") || return 1
	NS_RMDIR=$NS_LOGDIR
	ns_trap
}

ns_ok() { NS_PASS=$((NS_PASS + 1)); echo "ok: $*"; }
ns_no() { NS_FAIL=$((NS_FAIL + 1)); echo "FAIL: $*"; }

ns_check() {
	local secs=$1 what=$2; shift 2
	ns_wait "$secs" "$@" && { ns_ok "$what"; return 0; }
	ns_no "$what (not within ${secs}s)"
	return 1
}

ns_done() { echo "$NS_PASS passed, $NS_FAIL failed"; [ "$NS_FAIL" -eq 0 ]; }
