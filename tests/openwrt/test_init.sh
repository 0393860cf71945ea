#!/bin/bash
# /etc/init.d/mirrornet (openwrt/mirrornet/files/mirrornet.init) without
# OpenWrt: the script is sourced over stubs of what /etc/rc.common,
# /lib/functions.sh and procd.sh give it (UCI from shell variables, every
# procd call recorded), with the real mirrornetd -n checking what it
# writes. Checks:
#   - reload never calls stop (stop deletes procd's service and its
#     triggers: reload_config would find nothing to trigger until a reboot);
#   - enabled '0' then reload: start runs, no instance is declared (procd
#     stops mirrornetd), the triggers on mirrornet and master-link are sent
#     again; enabled '1' then reload: the instance is back;
#   - a reload that changes a reload-safe option sends SIGHUP, one that
#     changes an option read only at start re-registers (procd restarts);
#   - master-link.main.role wins over the base's role and over a stale
#     `role` in /etc/config/mirrornet; unset, the base's role stays;
#   - with cscli installed, the service registers with CrowdSec once
#     (mirrornetctl ioc setup) and adds the ioc options (a UCI ioc option
#     wins), none when mirrornet.main.crowdsec is '0'.
# shellcheck disable=SC2034  # UCI_* are read by indirection (_uci); OUT by has/hasnt
. "$(dirname "$0")/../lib.sh"
B=${MN_BUILD:?MN_BUILD: the build directory}
S=${MN_SOURCE:-$(dirname "$0")/../..}
INIT=$S/openwrt/mirrornet/files/mirrornet.init
[ -x "$B/mirrornetd" ] || fatal "mirrornetd not built"
tmpdir mn-init
CALLS=$T/calls

# ---- stubs ----
# UCI: UCI_<config>_<section>_<option>, '-' in names as '_'; the last
# config_load'ed one is what config_get reads, and (as in OpenWrt, whose
# uci_load leaves the option variables of an earlier config_load in place)
# the variables of both are visible: a stale mirrornet.main.role is
# CONFIG_main_role after config_load mirrornet.
_cfg=""
config_load() { _cfg=${1//-/_}; echo "config_load $1" >>"$CALLS"; }
_uci() { local v="UCI_${1//-/_}_$2_$3"; printf '%s' "${!v-}"; }
config_get() {
	local _v
	_v=$(_uci "$_cfg" "$2" "$3")
	[ -n "$_v" ] || _v=$(_uci "$_stale" "$2" "$3")   # what OpenWrt's uci_load leaves behind
	printf -v "$1" '%s' "${_v:-${4:-}}"
}
config_get_bool() {
	local _b; config_get _b "$2" "$3" "${4:-0}"
	case "$_b" in 1|on|true|yes|enabled) _b=1 ;; *) _b=0 ;; esac
	printf -v "$1" '%s' "$_b"
}
config_list_foreach() { local item; for item in $(_uci "$_cfg" "$1" "$2"); do "$3" "$item" "${@:4}"; done; }
uci_get() { _uci "${1//-/_}" "$2" "$3"; }
logger() { echo "logger $*" >>"$CALLS"; }
procd_open_instance() { echo "procd_open_instance" >>"$CALLS"; }
procd_set_param() { echo "procd_set_param $*" >>"$CALLS"; }
procd_close_instance() { echo "procd_close_instance" >>"$CALLS"; }
procd_add_reload_trigger() { echo "procd_add_reload_trigger $*" >>"$CALLS"; }
procd_send_signal() { echo "procd_send_signal $*" >>"$CALLS"; }
procd_running() { [ -n "$RUNNING" ]; }
# rc.common's procd start and stop
start() {
	echo "start" >>"$CALLS"
	echo "procd_open_service mirrornet" >>"$CALLS"
	start_service "$@"
	service_triggers
	echo "procd_close_service" >>"$CALLS"
}
stop() { echo "stop" >>"$CALLS"; }

# shellcheck source=/dev/null
. "$INIT" || fatal "source the init script"
PROG=$B/mirrornetd
BASE=$T/etc/mirrornetd.conf
CONF=$T/var/mirrornet.conf
mkdir -p "$T/etc" "$T/var/lib" "$T/run"
umask 077
"$B/mirrornetctl" mesh init --name r1 --dir "$T/etc" --api "$T/run/api.sock" \
	--db "$T/var/lib/store.db" >/dev/null || fatal "mesh init"
# the base as a join writes it: role peer
sed -i 's/^role master$/role peer/' "$BASE"
_stale=""
UCI_mirrornet_main_enabled=1
RUNNING=""

calls() { : >"$CALLS"; "$@"; }
called() { grep -qx -- "$1" "$CALLS"; }
role_in_conf() { "$B/mirrornetd" -n -c "$CONF" | sed -n 's/^role //p'; }

# ---- start, enabled ----
calls start
OUT=$CALLS
has "start: an instance runs mirrornetd -c CONF" "^procd_set_param command $PROG -c $CONF\$"
has "the triggers on both configs" "^procd_add_reload_trigger mirrornet master-link\$"
check "the configuration passes mirrornetd -n" "$B/mirrornetd" -n -c "$CONF"
RUNNING=1

# ---- disabled through UCI, reload_config ----
UCI_mirrornet_main_enabled=0
calls reload_service
OUT=$CALLS
hasnt "disabled + reload: stop is never called" "^stop\$"
has "start registers the service again" "^procd_open_service mirrornet\$"
hasnt "with no instance (procd stops mirrornetd)" "^procd_open_instance\$"
has "and the triggers again" "^procd_add_reload_trigger mirrornet master-link\$"
RUNNING=""

# ---- enabled again, reload_config ----
UCI_mirrornet_main_enabled=1
calls reload_service
OUT=$CALLS
hasnt "enabled + reload: no stop" "^stop\$"
has "the instance is back" "^procd_set_param command $PROG -c $CONF\$"
RUNNING=1

# ---- reloads of a running daemon ----
UCI_mirrornet_main_log_level=debug
calls reload_service
OUT=$CALLS
has "a reload-safe option: SIGHUP" "^procd_send_signal mirrornet \* HUP\$"
hasnt "and no re-registration" "^start\$"
UCI_mirrornet_main_wg_port=51999
calls reload_service
OUT=$CALLS
has "an option read at start: re-registered (procd restarts it)" "^procd_set_param command "
hasnt "still no stop" "^stop\$"
unset UCI_mirrornet_main_wg_port UCI_mirrornet_main_log_level

# ---- the role ----
calls reload_service
check "no master-link role: the base's (peer)" test "$(role_in_conf)" = peer
UCI_master_link_main_role=sub-master
calls reload_service
check "master-link.main.role wins over the base's" test "$(role_in_conf)" = sub-master
OUT=$CALLS
has "a role change is a reload (SIGHUP)" "^procd_send_signal mirrornet \* HUP\$"
# a stale role in /etc/config/mirrornet, visible after config_load mirrornet
UCI_mirrornet_main_role=master
_stale=mirrornet
calls reload_service
check "a stale mirrornet.main.role loses to master-link's" test "$(role_in_conf)" = sub-master
unset UCI_master_link_main_role
calls reload_service
check "and is not taken when master-link has none" test "$(role_in_conf)" = peer
_stale=""

# ---- not joined: not started, nothing stopped ----
mv "$BASE" "$BASE.away"
calls reload_service
OUT=$CALLS
hasnt "not joined: no stop" "^stop\$"
hasnt "no instance" "^procd_open_instance\$"
has "the log says why" "not in a mesh yet"
mv "$BASE.away" "$BASE"

# ---- CrowdSec: registered once, its options added ----
# the real cscli against a CrowdSec config of our own (no LAPI needed:
# cscli writes the machine and the bouncer into its database)
if command -v cscli >/dev/null && [ -f /etc/crowdsec/profiles.yaml ]; then
	. "$(dirname "$0")/../netns/crowdsec_lib.sh"
	cs_setup "$T/cs" 127.0.0.1:18081 || fatal "cs_setup"
	mkdir -p "$T/bin"
	printf '#!/bin/sh\nexec %s -c %s "$@"\n' "$(command -v cscli)" "$T/cs/config.yaml" >"$T/bin/cscli"
	chmod 755 "$T/bin/cscli"
	PATH="$T/bin:$PATH"
	CTL=$B/mirrornetctl
	CS_DIR=$T/etc/crowdsec
	RUNNING=1
	calls reload_service
	OUT=$CALLS
	has "cscli installed: registered with CrowdSec (logged)" "registered with CrowdSec"
	has "ioc_lapi is read at start: re-registered" "^procd_set_param command "
	check "the credentials are 0600" test "$(stat -c %a "$CS_DIR/bouncer.key") $(stat -c %a "$CS_DIR/password")" = "600 600"
	OUT=$CONF
	has "the config names the LAPI" "^ioc_lapi http://127.0.0.1:18081\$"
	has "and the password file" "^ioc_password_file $CS_DIR/password\$"
	check "and passes mirrornetd -n" "$B/mirrornetd" -n -c "$CONF"
	calls reload_service
	OUT=$CALLS
	hasnt "the next reload registers nothing" "registered with CrowdSec"
	has "and changes nothing (SIGHUP)" "^procd_send_signal mirrornet \* HUP\$"
	UCI_mirrornet_main_ioc_lapi=http://127.0.0.1:9999
	calls reload_service
	check "an ioc_lapi set in UCI wins" test "$("$B/mirrornetd" -n -c "$CONF" | sed -n 's/^ioc_lapi //p')" = http://127.0.0.1:9999
	unset UCI_mirrornet_main_ioc_lapi
	UCI_mirrornet_main_crowdsec=0
	calls reload_service
	OUT=$CONF
	hasnt "crowdsec '0': no ioc options" "^ioc_"
	unset UCI_mirrornet_main_crowdsec
else
	skip "CrowdSec: no cscli"
fi
finish
