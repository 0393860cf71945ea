#!/bin/bash
# `mirrornetctl ioc setup` (the OpenWrt package's CrowdSec registration,
# docs/ioc.md) against real CrowdSec LAPIs (Debian's, offline, one per
# node, on loopback), then a 2-daemon mesh that uses only what it wrote.
# Checked: the files (0600 secrets, the LAPI's URL), the printed options
# (stdout; stderr in these checks too);
# a second run changes nothing; --force replaces the key and leaves one
# bouncer of the name; bad input (missing cscli, a broken CrowdSec config,
# a bad name) fails with one sentence and writes no secret; the secrets
# never on stdout or stderr; with the printed options both daemons reach
# their LAPI (bouncer stream and watcher), and `cscli decisions add` on
# node1 shows on node2 with origin mirrornet.
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../netns/crowdsec_lib.sh"
B=${MN_BUILD:?}
S=${MN_SOURCE:?}
need_cmd jq cscli crowdsec
[ -f /etc/crowdsec/profiles.yaml ] || skip_all "no /etc/crowdsec/profiles.yaml"
tmpdir mn-iocsetup
ctl="$B/mirrornetctl"
BASE=$(( 24000 + ($$ % 500) * 10 ))
MN_SOCKETS=$T/node%s/api.sock
mesh() { MN_BUILD=$B "$S/tools/mesh" "$@" -d "$T" -b "$B"; }
at_exit 'mesh stop >/dev/null 2>&1; cs_stop "$T/cs1"; cs_stop "$T/cs2"'

for i in 1 2; do
	need cs_setup "$T/cs$i" "127.0.0.1:$((BASE + 7 + i))"
	cs_start "$T/cs$i"
done
setup() { "$ctl" ioc setup --crowdsec-config "$T/cs$1/config.yaml" --dir "$T/cred$1" "${@:2}"; }

# ---- the files ----
expect 0 "ioc setup on node1" setup 1
has "prints ioc_lapi with the LAPI's URL" "ioc_lapi http://127.0.0.1:$((BASE + 8))"
has "prints the bouncer key file" "ioc_bouncer_key_file $T/cred1/bouncer.key"
has "prints the machine" "ioc_machine_id mirrornet"
has "prints the password file" "ioc_password_file $T/cred1/password"
for f in bouncer.key password; do
	[ "$(stat -c %a "$T/cred1/$f")" = 600 ] && ok "$f is 0600" || bad "$f mode $(stat -c %a "$T/cred1/$f")"
	[ -s "$T/cred1/$f" ] && ok "$f is not empty" || bad "$f is empty"
done
[ "$(stat -c %a "$T/cred1")" = 700 ] && ok "the directory is 0700" || bad "directory mode $(stat -c %a "$T/cred1")"
[ ! -e "$T/cred1/.machine.yaml" ] && ok "cscli's credentials file is gone" || bad "$T/cred1/.machine.yaml left"
secret_shown() { grep -qF "$(cat "$T/cred1/bouncer.key")" "$1" || grep -qF "$(cat "$T/cred1/password")" "$1"; }
! secret_shown "$OUT" && ok "no secret on stdout or stderr" || bad "a secret was printed"
key1=$(cat "$T/cred1/bouncer.key")

expect 0 "a second run" setup 1 --json
check "it says already set up" json_ok '.created == false and .ioc_machine_id == "mirrornet"' cat "$OUT"
[ "$(cat "$T/cred1/bouncer.key")" = "$key1" ] && ok "the key is unchanged" || bad "the key changed"
expect 0 "--force" setup 1 --force --json
check "it says created" json_ok '.created == true' cat "$OUT"
[ "$(cat "$T/cred1/bouncer.key")" != "$key1" ] && ok "--force: a new key" || bad "--force kept the key"
bouncers() { cscli_ "$T/cs1" "" bouncers list -o json 2>/dev/null | jq '[.[] | select(.name == "mirrornet")] | length'; }
[ "$(bouncers)" = 1 ] && ok "one bouncer named mirrornet" || bad "bouncers named mirrornet: $(bouncers)"

# ---- bad input ----
expect 1 "cscli missing" "$ctl" ioc setup --cscli "$T/no-cscli" --dir "$T/bad1"
has "says CrowdSec is not installed" "cscli not found"
[ ! -e "$T/bad1/password" ] && [ ! -e "$T/bad1/bouncer.key" ] && ok "no secret written" || bad "a secret was written"
expect 1 "a broken CrowdSec config" "$ctl" ioc setup --crowdsec-config "$T/none.yaml" --dir "$T/bad2"
has "says what cscli said" "$T/none.yaml"
[ "$(wc -l < "$OUT")" = 1 ] && ok "one line" || bad "$(wc -l < "$ERR") lines"
expect 2 "a bad name" "$ctl" ioc setup --name 'a b' --dir "$T/bad3"
expect 2 "an extra argument" "$ctl" ioc setup extra

# ---- a mesh using them ----
expect 0 "ioc setup on node2" setup 2
# stdout alone is a piece of mirrornetd's config
for i in 1 2; do setup "$i" > "$T/opts$i" 2>/dev/null || bad "setup $i again"; done
for i in 1 2; do
	mkdir -p "$T/node$i"
	{ cat "$T/opts$i"; echo "ioc_poll_ms 300"; } > "$T/node$i/extra.conf"
done
mesh start -n 2 -p "$BASE" > "$T/start.log" 2>&1 || { cat "$T/start.log"; fatal "mesh start"; }
for i in 1 2; do watch_pid "$(cat "$T/node$i/pid")" "node$i" "$T/node$i/log"; done
wait_for 60 "2 daemons converge" alive_ge 1 1
is() { [ "$(json_val ".ioc.$2" on "$1" status --json)" = "$3" ]; }
wait_for 30 "node1 reads its decisions stream with the key" is 1 stream up
wait_for 30 "node2 reads its decisions stream with the key" is 2 stream up
mesh_decision() {
	cscli_ "$T/cs$1" "" decisions list -o json --all 2>/dev/null |
		jq -e --arg v "$2" '[.[]?.decisions[]? | select(.value == $v and .origin == "mirrornet")] | length > 0' >/dev/null
}
check "cscli decisions add on node1" cscli_ "$T/cs1" "" decisions add --ip 203.0.113.77 --duration 1h --reason t
wait_for 30 "node2's LAPI holds it with origin mirrornet (watcher login with the password)" mesh_decision 2 203.0.113.77
check "node2's watcher is up" is 2 lapi up
for i in 1 2; do
	! grep -qF "$(cat "$T/cred$i/password")" "$T/node$i/log" && ok "node$i's log holds no password" ||
		bad "node$i logged its password"
done
finish
