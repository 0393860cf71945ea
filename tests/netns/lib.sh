# shellcheck shell=bash
# Multi-host test harness: K hosts as network namespaces joined by veth
# links to a bridge in a namespace of their own, wireguard-go and a
# mirrornetd in each. Source it from a test (bash); it sources tests/lib.sh
# (checks, bounded waits, processes, the test's directory: call tmpdir
# first). ns_init registers ns_cleanup with at_exit, so everything is torn
# down even when the test fails.
#
#   ns_init K                  make the bridge and K hosts (underlay 192.168.242.i/24)
#   ns_exec I CMD...           run CMD in host I
#   ns_wg_start I              start wireguard-go (interface $(ns_if I)) in host I,
#                              until its UAPI socket is there
#   ns_wg_up I                 ns_wg_start, and mesh address 10.42.0.I/16 on it
#   ns_cut I J / ns_heal I J   drop / restore underlay traffic between hosts I and J
#   ns_move I NEWLAST          change host I's underlay address to 192.168.242.NEWLAST
#                              (not for a host behind NAT)
#   ns_nat I                   put host I behind a NAT router (namespace $(ns_router I)):
#                              host I gets 172.16.I.2/24 on a private link (still uI),
#                              the router takes 192.168.242.I on the bridge, masquerades
#                              (UDP to ports 40000-40999, so a mapping shows) and drops
#                              unsolicited inbound traffic, like a home router
#   ns_netem I ARGS...         tc netem on host I's underlay link (e.g. delay 20ms loss 5%);
#                              fails where the kernel has no sch_netem (ns_has_netem says)
#   ns_impair I LOSS DUP       nftables on host I's underlay egress: drop LOSS % of the
#                              packets, send DUP % twice (no netem needed); ns_unimpair I
#   ns_slow I DELAY JITTER LOSS DUP SECONDS
#                              host I's underlay egress delayed DELAY +- JITTER ms (uniform:
#                              frames overtake each other), LOSS % dropped, DUP % sent twice,
#                              for at most SECONDS: mn_impair (a bridge in user space, for
#                              kernels without sch_netem) in a namespace of its own between
#                              host I's veth and the bridge; the host's interface, address and
#                              MAC stay as they are. ns_unslow I stops it (its counts in
#                              $T/slowI.log) and puts the link back on the bridge
#   ns_isolate I / ns_rejoin I  drop everything host I's underlay sends and receives
#   ns_bg I LOGFILE CMD...     run CMD in host I in the background (spawn: $SPAWNED, stopped at exit)
#   ns_cleanup                 stop what we started (by PID), delete the namespaces
#   ns_wg_b64 HEX              a WireGuard key as wg prints it (base64)
#
# Mesh helpers: MN_BUILD is the build directory (mirrornetctl, mirrornetd),
# $T the test's directory; host I's files are in $T/hI; host 1 is the mesh
# root. MN_SOCKETS is set so that `on I` (tests/lib.sh) reaches host I.
#   ns_mn_keys K [I:ROLE]...   node keys for hosts 1..K, certificates from host 1 for the others
#                              (role peer, or ROLE for host I)
#   ns_mn_id I FIELD           FIELD of host I's identity (did, public_key, wireguard_public_key)
#   ns_mn_conf I               the lines every host's config has (name, key, store, API, root,
#                              mesh address 10.42.0.I, wg_interface, cert for I > 1)
#   ns_mn_wg_peer J HOST:PORT  a wg_peer line naming host J at HOST:PORT
#   ns_mn_star I K             host I's config in a star of K hosts provisioned by configuration
#                              (until onboarding hands over WireGuard keys): ns_mn_conf, its
#                              endpoint, keepalive 10 s; the root (role master) has a wg_peer
#                              line for each member, each member one for the root, and members
#                              find each other through the node records the root relays
#   ns_mn_start I [ENV=VALUE...]  check $T/hI/mirrornetd.conf, start mirrornetd with it in host I
#                              (with those variables in its environment; $SPAWNED is its PID)
#   ns_mn_issue I J ROLE DEPTH SCOPE   host I issues host J's certificate (mesh address 10.42.0.J)
#                              with a DNS scope: a chain deeper than the star
#
# Hosts with a private view (installed as on a router: onboarding, DNS): in a
# mount namespace of its own, host I sees $T/hI/SUB at each MOUNTPOINT of
# NS_VIEW ("SUB:MOUNTPOINT" words; etc, run and log by default), with
# mirrornetctl and mirrornetd on PATH and MIRRORNET_SOCKET,
# MIRRORNET_WG_INTERFACE set; MN_SOCKETS becomes $T/h%s/run/api.sock.
#   ns_view_init K             make the directories, and the mount points that are missing
#                              (removed at exit by the last test using them: NS_LOCK)
#   ns_sh I CMD                sh -c CMD in host I's view
#   ns_sh_bg I LOG CMD         the same in the background ($SPAWNED is the process: ip,
#                              unshare and sh exec into it)
#   ns_ctl I ARGS              mirrornetctl ARGS in host I's view (ARGS joined, as sh reads them)
#
# Names carry the test's PID so parallel runs do not collide; interface
# names differ per host because wireguard-go's UAPI socket path
# (/var/run/wireguard/IFNAME.sock) is shared by all namespaces. Traffic
# stays inside these namespaces.

. "$(dirname "${BASH_SOURCE[0]}")/../lib.sh"

NS_TAG="m$$"
NS_K=0
NS_UNDERLAY=192.168.242
NS_NATS=()
NS_VIEW="etc:/etc/mirrornet join:/etc/mirrornet-join ucid:/etc/uci-defaults run:/var/run/mirrornet log:/var/log"
# The mount points are the host's, shared by tests that run at the same
# time (a developer's beside tools/flakes): each holds NS_LOCK shared while
# it uses them, the ones a test made are listed in NS_MADE_FILE, and the
# last one out (an exclusive lock) removes them — none is removed under
# another test's feet.
NS_LOCK=/run/mirrornet-netns-view.lock
NS_MADE_FILE=/run/mirrornet-netns-view.made
NS_LOCK_FD=
MN_SOCKETS=${T:-/tmp}/h%s/api.sock

ns_host() { echo "${NS_TAG}h$1"; }
ns_if() { echo "${NS_TAG}w$1"; }
ns_br() { echo "${NS_TAG}br"; }
ns_router() { echo "${NS_TAG}r$1"; }
ns_slowns() { echo "${NS_TAG}s$1"; }
NS_SLOWS=()
declare -a NS_SLOW_PID=()

ns_cleanup() {
	local pid ns i
	stop_tracked
	for ns in $(ns_br) $(for i in $(seq 1 "$NS_K"); do ns_host "$i"; done) \
		$(for i in "${NS_NATS[@]}"; do ns_router "$i"; done) \
		$(for i in "${NS_SLOWS[@]}"; do ns_slowns "$i"; done); do
		# anything still running in our namespaces was started by us
		for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
		ip netns del "$ns" 2>/dev/null
	done
	for i in $(seq 1 "$NS_K"); do rm -f "/var/run/wireguard/$(ns_if "$i").sock"; done
	NS_NATS=()
	NS_SLOWS=()
	NS_K=0
	if [ -n "$NS_LOCK_FD" ]; then
		if flock -x -n "$NS_LOCK_FD"; then
			[ -f "$NS_MADE_FILE" ] && tac "$NS_MADE_FILE" | while read -r d; do rmdir "$d" 2>/dev/null; done
			rm -f "$NS_MADE_FILE"
		fi
		exec {NS_LOCK_FD}>&-
		NS_LOCK_FD=""
	fi
}

ns_init() {
	local k=$1 i br
	at_exit ns_cleanup
	MN_SOCKETS=$T/h%s/api.sock
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

ns_bg() { local i=$1 log=$2; shift 2; spawn "$log" ip netns exec "$(ns_host "$i")" "$@"; }

ns_wg_start() {
	local i=$1 ifn; ifn=$(ns_if "$i")
	ns_bg "$i" "$T/wg$i.log" wireguard-go -f "$ifn"
	poll 10 test -S "/var/run/wireguard/$ifn.sock" || { echo "wireguard-go did not start in host $i"; return 1; }
}

ns_wg_up() {
	local i=$1 ifn; ifn=$(ns_if "$i")
	ns_wg_start "$i" || return 1
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
ns_has_netem() { ns_netem "$1" delay 0ms 2>/dev/null && ns_exec "$1" tc qdisc del dev "u$1" root; }
ns_impair() {
	ns_exec "$1" nft -f - <<-EOF
	table netdev mnimpair {
		chain egress {
			type filter hook egress device "u$1" priority 0;
			numgen random mod 100 < $2 drop
			numgen random mod 100 < $3 dup to "u$1"
		}
	}
	EOF
}
ns_unimpair() { ns_exec "$1" nft delete table netdev mnimpair; }
ns_slow() {
	local i=$1 s br; s=$(ns_slowns "$i"); br=$(ns_br)
	ip netns add "$s" || return 1
	NS_SLOWS+=("$i")
	ip -n "$s" link set lo up
	# the host's veth peer moves into the slow namespace (the host keeps
	# its uI); a new pair cI-dI links that namespace to the bridge
	ip -n "$br" link set "b$i" netns "$s" || return 1
	ip link add "c$i" netns "$s" type veth peer name "d$i" netns "$br" || return 1
	ip -n "$br" link set "d$i" master br0
	ip -n "$br" link set "d$i" up
	ip -n "$s" link set "b$i" up
	ip -n "$s" link set "c$i" up
	spawn "$T/slow$i.log" ip netns exec "$s" "$MN_BUILD/tests/mn_impair" --a "b$i" --b "c$i" \
		--delay "$2" --jitter "$3" --loss "$4" --dup "$5" --seconds "$6" --seed "$i"
	NS_SLOW_PID[$i]=$SPAWNED
	poll 10 grep -q '^ready' "$T/slow$i.log"
}
ns_unslow() {
	local i=$1 s br; s=$(ns_slowns "$i"); br=$(ns_br)
	stop_pid "${NS_SLOW_PID[$i]}"
	ip -n "$s" link set "b$i" netns "$br" || return 1
	ip -n "$br" link set "b$i" master br0
	ip -n "$br" link set "b$i" up
	ip -n "$s" link del "c$i"
	ip netns del "$s"
	local keep=() j
	for j in "${NS_SLOWS[@]}"; do [ "$j" = "$i" ] || keep+=("$j"); done
	NS_SLOWS=("${keep[@]}")
}
ns_isolate() {
	ns_exec "$1" nft -f - <<-EOF
	table netdev mnisolate {
		chain in { type filter hook ingress device "u$1" priority 0; drop; }
		chain out { type filter hook egress device "u$1" priority 0; drop; }
	}
	EOF
}
ns_rejoin() { ns_exec "$1" nft delete table netdev mnisolate; }

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

ns_wg_b64() { printf "$(echo "$1" | sed 's/../\\x&/g')" | base64; }

ns_mn_id() { jq -r ".$2" "$T/h$1/id.json"; }

ns_mn_keys() {
	local k=$1 i r role; shift
	for i in $(seq 1 "$k"); do
		mkdir -p "$T/h$i"
		"$MN_BUILD/mirrornetctl" keygen --out "$T/h$i/node.key" >/dev/null || return 1
		"$MN_BUILD/mirrornetctl" keygen --show "$T/h$i/node.key" --json > "$T/h$i/id.json" || return 1
	done
	for i in $(seq 2 "$k"); do
		role=peer
		for r in "$@"; do [ "${r%%:*}" = "$i" ] && role=${r#*:}; done
		"$MN_BUILD/mirrornetctl" cert issue --key "$T/h1/node.key" --subject "$(ns_mn_id "$i" did)" \
			--role "$role" --depth 1 --addr "10.42.0.$i" --out "$T/h$i/node.cert" >/dev/null || return 1
	done
}

ns_mn_conf() {
	local i=$1 d="$T/h$1"
	printf '%s\n' "name host$i" "key $d/node.key" "db $d/store.db" "api $d/api.sock" \
		"root $(ns_mn_id 1 did)" "mesh_addr 10.42.0.$i" "wg_interface $(ns_if "$i")"
	[ "$i" = 1 ] || echo "cert $d/node.cert"
}

ns_mn_star() {
	local i=$1 k=$2 j
	ns_mn_conf "$i"
	echo "wg_endpoint $NS_UNDERLAY.$i:51820"
	echo "wg_keepalive_s 10"
	if [ "$i" = 1 ]; then
		echo "role master"
		for j in $(seq 2 "$k"); do ns_mn_wg_peer "$j" "$NS_UNDERLAY.$j:51820"; done
	else
		ns_mn_wg_peer 1 "$NS_UNDERLAY.1:51820"
	fi
}

ns_mn_issue() {
	"$MN_BUILD/mirrornetctl" cert issue --key "$T/h$1/node.key" --subject "$(ns_mn_id "$2" did)" \
		--role "$3" --depth "$4" --scope "$5" --addr "10.42.0.$2" --out "$T/h$2/node.cert" >/dev/null
}

ns_mn_wg_peer() { echo "wg_peer $(ns_mn_id "$1" did) $(ns_mn_id "$1" wireguard_public_key) $2 10.42.0.$1"; }

ns_mn_start() {
	local i=$1 d="$T/h$1"; shift
	"$MN_BUILD/mirrornetd" -n -c "$d/mirrornetd.conf" >/dev/null || return 1
	ns_bg "$i" "$d/log" env "$@" "$MN_BUILD/mirrornetd" -c "$d/mirrornetd.conf"
}

ns_view_init() {
	local k=$1 i v
	MN_SOCKETS=$T/h%s/run/api.sock
	if [ -z "$NS_LOCK_FD" ]; then
		exec {NS_LOCK_FD}>>"$NS_LOCK" && flock -s "$NS_LOCK_FD" || return 1
	fi
	for v in $NS_VIEW; do
		[ -d "${v#*:}" ] || { mkdir -p "${v#*:}" && echo "${v#*:}" >>"$NS_MADE_FILE"; } || return 1
		for i in $(seq 1 "$k"); do mkdir -p "$T/h$i/${v%%:*}" || return 1; done
	done
	for i in $(seq 1 "$k"); do chmod 700 "$T/h$i/etc"; done
}
ns_view_script() {
	local i=$1 v m=""; shift
	for v in $NS_VIEW; do m="$m mount --bind '$T/h$i/${v%%:*}' '${v#*:}' &&"; done
	echo "mount --make-rprivate / 2>/dev/null
		$m export PATH='$MN_BUILD':\$PATH MIRRORNET_SOCKET=/var/run/mirrornet/api.sock \
		MIRRORNET_WG_INTERFACE=$(ns_if "$i") && $*"
}
ns_sh() { local i=$1; shift; ip netns exec "$(ns_host "$i")" unshare -m sh -c "$(ns_view_script "$i" "$@")"; }
ns_sh_bg() {
	local i=$1 log=$2; shift 2
	spawn "$log" ip netns exec "$(ns_host "$i")" unshare -m sh -c "$(ns_view_script "$i" "$@")"
}
ns_ctl() { local i=$1; shift; ns_sh "$i" "mirrornetctl $*"; }
