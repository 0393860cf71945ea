# shellcheck shell=bash
# The mesh the faults are tried on, and the faults that take more than one
# line of tests/netns/lib.sh (sourced here, with tests/lib.sh); used by
# tests/faults/test_faults.sh and tools/soak. A star of K hosts provisioned
# by configuration over wireguard-go; stores compared by the digest
# `status` reports (two daemons with the same digest hold the same records).
# The caller sets K and calls tmpdir first.
#
#   star_up                    namespaces, keys, wireguard-go and a star config in hosts 1..K
#                              (fatal on failure)
#   start I [ENV=VALUE...]     host I's daemon (ns_mn_start), watched; its PID in PID[I]
#   kill9 I                    SIGKILL host I's daemon (no longer watched), until it is gone
#   all_alive                  every host counts the K-1 others alive
#   digest I                   "RECORDS DIGEST" as host I reports them
#   digests_equal [I...]       those hosts (default 1..K) answer, with the same count and digest
#   svc NAME / publish I NAME  a svc record's body / publish it on host I
#   wg_kill I                  SIGKILL host I's wireguard-go, its UAPI socket removed
#                              (ns_wg_up I starts it again)
#   store_tmpfs I SIZE         host I's store on a tmpfs of its own (mount's size=, e.g. 4m;
#                              unmounted at exit)
#   disk_fill I / disk_free I  fill host I's store file system up / free it again
. "$(dirname "${BASH_SOURCE[0]}")/../netns/lib.sh"
declare -a PID=()

star_up() {
	local i
	ns_init "$K" || fatal "namespaces"
	ns_mn_keys "$K" || fatal "keys and certificates"
	for i in $(seq 1 "$K"); do
		ns_wg_up "$i" || fatal "wireguard-go in host $i"
		ns_mn_star "$i" "$K" >"$T/h$i/mirrornetd.conf"
	done
}
start() {
	local i=$1
	ns_mn_start "$@" || return 1
	PID[$i]=$SPAWNED
	watch_pid "$SPAWNED" "daemon of host $i" "$T/h$i/log"
}
kill9() {
	unwatch_pid "${PID[$1]}"
	kill -KILL "${PID[$1]}"
	poll 10 gone "${PID[$1]}"
}
all_alive() { local i; for i in $(seq 1 "$K"); do alive_ge "$i" $((K - 1)) || return 1; done; }
digest() { json_val '"\(.records) \(.digest)"' on "$1" status --json; }
digests_equal() {
	local i d first="" hosts=("$@")
	[ $# -gt 0 ] || mapfile -t hosts < <(seq 1 "$K")
	for i in "${hosts[@]}"; do
		d=$(digest "$i") && [ -n "$d" ] || return 1
		echo "host $i: $d"
		[ -z "$first" ] && first=$d
		[ "$d" = "$first" ] || return 1
	done
}
svc() { echo "{\"service\":\"$1\",\"endpoint\":\"x:1\",\"port\":1}"; }
publish() { on "$1" publish svc "$2" --body "$(svc "$2")" >/dev/null; }
wg_kill() {
	local pid wgpid=""
	for pid in $(ip netns pids "$(ns_host "$1")"); do
		[ "$(cat /proc/"$pid"/comm 2>/dev/null)" = wireguard-go ] && kill -KILL "$pid" && wgpid=$pid
	done
	[ -n "$wgpid" ] || { echo "no wireguard-go in host $1"; return 1; }
	poll 10 gone "$wgpid" || return 1
	rm -f "/var/run/wireguard/$(ns_if "$1").sock"   # (a killed wireguard-go leaves its socket)
}
store_tmpfs() {
	mkdir -p "$T/h$1/st" && mount -t tmpfs -o "size=$2,mode=700" mnfaults "$T/h$1/st" || return 1
	at_exit "umount '$T/h$1/st' 2>/dev/null"
	sed -i "s|^db .*|db $T/h$1/st/store.db|" "$T/h$1/mirrornetd.conf"
}
disk_fill() { dd if=/dev/zero of="$T/h$1/st/filler" bs=64k >/dev/null 2>&1; [ -s "$T/h$1/st/filler" ]; }
disk_free() { rm -f "$T/h$1/st/filler"; }
