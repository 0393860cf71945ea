# shellcheck shell=bash
# The one harness of the shell tests (tests/integration, tests/netns; bash).
# Source it first; it sets `set -u` and an EXIT trap that stops what the test
# started (by PID) and removes its directory, on every path.
#
# One output format: a line per check, "ok: WHAT", "FAIL: WHAT" (what was seen
# indented below it) or "skip: WHAT"; the last line "N passed, N failed, N
# skipped" (with "(ended early)" when the test did not reach `finish`). Exit
# status 0 when nothing failed, 1 otherwise, 77 (meson's skip) from skip_all.
#
# Checks
#   ok WHAT / bad WHAT / skip WHAT       count one check and print it
#   check WHAT CMD...                    CMD must succeed (its output shown if not)
#   expect CODE WHAT CMD...              CMD must exit CODE; its stdout+stderr in $OUT
#   has WHAT PATTERN / hasnt WHAT PATTERN   grep -E PATTERN in $OUT (must / must not match)
#   finish                               print the summary, exit with the status
#   fatal WHAT                           bad WHAT and stop here (a step the rest needs failed)
#   need CMD...                          CMD must succeed, or fatal "setup: CMD"
#   skip_all WHY                         skip the whole test (exit 77)
#   need_root, need_cmd CMD...           skip_all unless root / unless every CMD is installed
#
# Waiting: a condition is polled with a bound in seconds, never slept for
#   poll SECS CMD...                     true as soon as CMD succeeds (tried every $POLL_S s),
#                                        false once SECS have passed
#   wait_for SECS WHAT CMD...            poll, then ok WHAT, or bad "WHAT (not within SECS s)"
#                                        with the command and its last output
#   never_for SECS WHAT CMD...           bad WHAT (and CMD's output) as soon as CMD succeeds,
#                                        ok after SECS s without
#   watch_pid PID WHAT [LOG]             PID must keep running: every poll checks it and
#                                        fatal()s at once, with LOG's end, when it died
#   unwatch_pid PID, check_watched       stop watching PID; check now
#
# JSON (mirrornetctl ... --json): both take jq's --arg/--argjson options first
#   json_ok [--arg N V]... FILTER CMD... true if CMD's output passes jq -e FILTER
#   json_val [--arg N V]... FILTER CMD... CMD's output through jq -r FILTER
#
# Processes and files
#   tmpdir NAME                          T=/tmp/NAME.XXXXXX (OUT=$T/out), removed at exit
#                                        unless MN_KEEP is set
#   spawn LOG CMD...                     CMD in the background, output appended to LOG;
#                                        its PID in $SPAWNED, stopped at exit if still running
#                                        (and still our child: a PID is never signalled once reused)
#   track PID                            stop PID at exit too (a child started some other way)
#   stop_pid PID [SECS]                  SIGTERM, up to SECS (5) for it to go, then SIGKILL;
#                                        true if it went by itself
#   gone PID                             true when PID is not running
#   at_exit CMD                          eval CMD at exit, after the tracked processes are
#                                        stopped; the last registered runs first
#
# MirrorNet: MN_BUILD the build directory, MN_SOCKETS a printf pattern of node
# I's API socket (e.g. $T/node%s/api.sock)
#   on I ARGS...                         mirrornetctl ARGS against node I's API
#   has_key I KIND KEY                   node I holds exactly one KIND record under KEY
#   alive_ge I N                         node I counts at least N members alive
#   state_of I DID / state_is I DID S    the state node I gives the member DID
#   counter I NAME                       node I's status counter NAME
set -u

POLL_S=${POLL_S:-0.2}
OUT=/dev/null
_T_PASS=0 _T_FAIL=0 _T_SKIP=0 _T_DONE=""
_T_DIR="" _T_POLL=/dev/null
_T_PIDS=()
_T_HOOKS=()
declare -A _T_WATCH=()

ok() { _T_PASS=$((_T_PASS + 1)); echo "ok: $*"; }
bad() { _T_FAIL=$((_T_FAIL + 1)); echo "FAIL: $*"; }
skip() { _T_SKIP=$((_T_SKIP + 1)); echo "skip: $*"; }
_t_show() { sed 's/^/    /' "$@" 2>/dev/null | head -20; }   # what was seen, under a FAIL line

finish() {
	_T_DONE=1
	echo "$_T_PASS passed, $_T_FAIL failed, $_T_SKIP skipped"
	[ "$_T_FAIL" -eq 0 ] && exit 0
	exit 1
}
fatal() { bad "$*"; finish; }
need() { "$@" || fatal "setup: $*"; }
skip_all() { echo "skip: $*"; _T_DONE=1; exit 77; }
need_root() { [ "$(id -u)" = 0 ] || skip_all "needs root"; }
need_cmd() {
	local c
	for c in "$@"; do command -v "$c" >/dev/null 2>&1 || skip_all "needs $c (tools/deps installs it)"; done
}

check() {
	local what=$1; shift
	if "$@" >"$_T_POLL" 2>&1; then ok "$what"; else bad "$what"; _t_show "$_T_POLL"; fi
}
expect() {
	local code=$1 what=$2 rc; shift 2
	"$@" >"$OUT" 2>&1
	rc=$?
	if [ $rc -eq "$code" ]; then ok "$what"; else bad "$what: exit $rc, expected $code"; _t_show "$OUT"; fi
}
has() {
	if grep -qE -- "$2" "$OUT"; then ok "$1"; else bad "$1: no '$2' in output"; _t_show "$OUT"; fi
}
hasnt() {
	if grep -qE -- "$2" "$OUT"; then bad "$1: '$2' in output"; _t_show "$OUT"; else ok "$1"; fi
}

# ---- waiting ----
watch_pid() { _T_WATCH[$1]="$2|${3:-}"; }
unwatch_pid() { unset "_T_WATCH[$1]"; }
check_watched() {
	local pid what log
	for pid in "${!_T_WATCH[@]}"; do
		kill -0 "$pid" 2>/dev/null && continue
		what=${_T_WATCH[$pid]%%|*} log=${_T_WATCH[$pid]#*|}
		unset "_T_WATCH[$pid]"
		bad "$what (pid $pid) is not running any more${log:+; the end of $log:}"
		[ -n "$log" ] && tail -15 "$log" | sed 's/^/    /'
		finish
	done
}
_t_us() { echo "${EPOCHREALTIME//[.,]/}"; }   # microseconds
poll() {
	local end=$(($(_t_us) + $1 * 1000000)); shift
	while :; do
		check_watched
		"$@" >"$_T_POLL" 2>&1 && return 0
		[ "$(_t_us)" -ge $end ] && return 1
		sleep "$POLL_S"
	done
}
wait_for() {
	local secs=$1 what=$2; shift 2
	poll "$secs" "$@" && { ok "$what"; return 0; }
	bad "$what (not within ${secs} s: $*)"
	_t_show "$_T_POLL"
	return 1
}
never_for() {
	local secs=$1 what=$2; shift 2
	local end=$(($(_t_us) + secs * 1000000))
	while [ "$(_t_us)" -lt $end ]; do
		check_watched
		if "$@" >"$_T_POLL" 2>&1; then bad "$what"; _t_show "$_T_POLL"; return 1; fi
		sleep "$POLL_S"
	done
	ok "$what (watched ${secs} s)"
}

# ---- JSON ----
_t_jq() {   # _t_jq JQ-OPTION [--arg N V]... FILTER CMD...
	local opt=$1 args=(); shift
	while [ "$1" = --arg ] || [ "$1" = --argjson ]; do args+=("$1" "$2" "$3"); shift 3; done
	local filter=$1 out; shift
	out=$("$@" 2>/dev/null)
	# jq -e exits 0 on empty input: no output (a daemon not answering) is false
	[ -n "$out" ] || return 1
	printf '%s\n' "$out" | jq "$opt" "${args[@]}" "$filter" 2>/dev/null
}
json_ok() { _t_jq -e "$@" >/dev/null; }
json_val() { _t_jq -r "$@"; }

# ---- processes and files ----
tmpdir() {
	T=$(mktemp -d "/tmp/$1.XXXXXX") || fatal "mktemp"
	_T_DIR=$T OUT=$T/out _T_POLL=$T/.last
}
track() { _T_PIDS+=("$1"); }
spawn() {
	local log=$1; shift
	"$@" >>"$log" 2>&1 &
	SPAWNED=$!
	track "$SPAWNED"
}
gone() { ! kill -0 "$1" 2>/dev/null; }
stop_pid() {
	local pid=$1 n=$((${2:-5} * 10))
	unwatch_pid "$pid"
	kill -TERM "$pid" 2>/dev/null || return 0
	while [ $n -gt 0 ]; do gone "$pid" && return 0; sleep 0.1; n=$((n - 1)); done
	kill -KILL "$pid" 2>/dev/null
	return 1
}
at_exit() { _T_HOOKS+=("$1"); }
# a PID is still ours while its parent is this shell: one that ended (and was
# reaped) may have been given to another process since, which is left alone
_t_ours() {
	local s
	s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	s=${s##*) }
	[ "$(echo "$s" | cut -d' ' -f2)" = "$$" ]
}
stop_tracked() {
	local pid n ours=()
	for pid in "${_T_PIDS[@]}"; do _t_ours "$pid" && ours+=("$pid"); done
	_T_PIDS=()
	for pid in "${ours[@]}"; do kill -TERM "$pid" 2>/dev/null; done
	for pid in "${ours[@]}"; do
		for n in $(seq 30); do gone "$pid" && break; sleep 0.1; done
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
}
_t_exit() {
	local rc=$? i
	trap - EXIT
	_T_WATCH=()
	if [ -z "$_T_DONE" ]; then
		[ $rc -eq 0 ] && rc=1
		echo "$_T_PASS passed, $_T_FAIL failed, $_T_SKIP skipped (ended early, exit $rc)"
	fi
	stop_tracked
	for ((i = ${#_T_HOOKS[@]} - 1; i >= 0; i--)); do eval "${_T_HOOKS[$i]}"; done
	[ -n "$_T_DIR" ] && [ -z "${MN_KEEP:-}" ] && rm -rf "$_T_DIR"
	exit $rc
}
trap _t_exit EXIT
trap 'exit 130' INT TERM

# ---- MirrorNet ----
on() {
	local i=$1; shift
	# shellcheck disable=SC2059
	MIRRORNET_SOCKET=$(printf "$MN_SOCKETS" "$i") "$MN_BUILD/mirrornetctl" "$@"
}
has_key() { json_ok --arg k "$3" 'map(select(.key == $k)) | length == 1' on "$1" records "$2" --json; }
alive_ge() { json_ok ".alive >= $2" on "$1" status --json; }
state_of() { json_val --arg d "$2" '.[] | select(.did == $d) | .state' on "$1" peers --json; }
state_is() { [ "$(state_of "$1" "$2")" = "$3" ]; }
counter() { json_val ".counters.$2 // empty" on "$1" status --json; }

# A mesh root (`mirrornetctl mesh init`) with WireGuard — wireguard-go, in a
# network namespace of its own — whose API is DIR/api.sock; the namespace,
# what runs in it and the UAPI socket are removed at exit. Needs root, ip,
# wireguard-go and /dev/net/tun: without them it makes nothing and returns 2.
#   wg_root DIR                          0 once the root answers with its WireGuard key
wg_root() {
	local dir=$1
	[ "$(id -u)" = 0 ] && command -v wireguard-go >/dev/null && [ -c /dev/net/tun ] &&
		command -v ip >/dev/null || return 2
	_T_WG_NS="mnwg$$" _T_WG_IF="$(printf '%.13s' "mnw$$")w"
	at_exit _t_wg_root_del
	need ip netns add "$_T_WG_NS"
	need ip -n "$_T_WG_NS" link set lo up
	need "$MN_BUILD/mirrornetctl" mesh init --name root --dir "$dir" --wg-interface "$_T_WG_IF" \
		--api "$dir/api.sock" --endpoint 192.0.2.1:51820 >/dev/null
	spawn "$dir/log" ip netns exec "$_T_WG_NS" "$MN_BUILD/mirrornetd" -c "$dir/mirrornetd.conf"
	watch_pid "$SPAWNED" "the mesh root with WireGuard" "$dir/log"
	_t_wg_up() { json_ok '.wireguard.public_key' "$MN_BUILD/mirrornetctl" status --json --socket "$1"; }
	wait_for 20 "a mesh root with WireGuard answers" _t_wg_up "$dir/api.sock"
}
_t_wg_root_del() {
	local pid
	for pid in $(ip netns pids "$_T_WG_NS" 2>/dev/null); do kill -KILL "$pid" 2>/dev/null; done
	ip netns del "$_T_WG_NS" 2>/dev/null
	rm -f "/var/run/wireguard/$_T_WG_IF.sock"
}
