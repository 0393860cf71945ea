#!/bin/bash
# The LuCI views of luci-app-mirrornet in a real headless browser (Chromium
# from Debian, driven by npm playwright-core, pinned in tests/js and
# installed by tools/deps; tests/js/luci_check.mjs) against the rpcd plugin
# and live daemons.
#
# Real: the package's view and module files (htdocs/), its menu.d entry
# (which URL leads to which view) and its ACL (which grant allows which
# method), the rpcd plugin (the package's wrapper exec'ing mirrornetctl rpcd,
# its /usr/sbin path pointed at the build), mirrornetd, Chromium, and
# zbarimg (zbar-tools) reading the QR codes the view draws.
# Stand-in: LuCI's client runtime (L, E, view, rpc, ui, poll:
# tests/js/luci/standin.js) and uhttpd/rpcd's ubus JSON-RPC endpoint with
# its session ACL check (tests/js/luci_harness.mjs): LuCI is not in Debian
# and the tests have no network.
#
# A 3-daemon mesh on loopback: the overview shows node2 and node3 alive and
# refreshes; IoCs: both tables, empty; an exposure added and removed from the
# form; the invitation refused (no WireGuard) as a notification; the QR
# encoder at seven lengths read back by zbarimg; a read-only session refused
# a write. With root and wireguard-go, a mesh root with WireGuard in a
# network namespace: the invitation dialog's token and QR code (read back),
# the invitation listed and revoked.
. "$(dirname "$0")/../lib.sh"
B=${MN_BUILD:?}
S=${MN_SOURCE:?}
need_cmd node jq zbarimg
CHROMIUM=${MN_CHROMIUM:-/usr/lib/chromium/chromium}
[ -x "$CHROMIUM" ] || skip_all "needs Chromium ($CHROMIUM; tools/deps installs the chromium package)"
[ -d "$S/tests/js/node_modules/playwright-core" ] ||
	skip_all "playwright-core is not installed (tools/deps installs it into tests/js)"
tmpdir mn-luci-test
BASE=$(( 23000 + ($$ % 1000) * 10 ))
# shellcheck disable=SC2034  # read by on() (tests/lib.sh)
MN_SOCKETS=$T/node%s/api.sock
PKG=$S/openwrt/luci-app-mirrornet
PLUGIN=$T/luci.mirrornet
sed "s#/usr/sbin/mirrornetctl#$B/mirrornetctl#" "$PKG/root/usr/libexec/rpcd/luci.mirrornet" >"$PLUGIN"
chmod 755 "$PLUGIN"

browser() {   # browser MODE SOCKET: the checks of luci_check.mjs, counted here
	local line
	node "$S/tests/js/luci_check.mjs" "$1" "$PKG" "$PLUGIN" "$2" "$CHROMIUM" "$T" \
		>"$T/browser.out" 2>"$T/browser.err" || { bad "the browser check ($1) exited non-zero"; _t_show "$T/browser.err"; }
	while IFS= read -r line; do
		case $line in
		"ok: "*) ok "$1: ${line#ok: }" ;;
		"FAIL: "*) bad "$1: ${line#FAIL: }" ;;
		esac
	done <"$T/browser.out"
	grep -q . "$T/browser.out" || { bad "the browser check ($1) printed nothing"; _t_show "$T/browser.err"; }
}

mesh() { MN_BUILD=$B "$S/tools/mesh" "$@" -d "$T" -b "$B"; }
at_exit 'mesh stop >/dev/null 2>&1'
mesh start -n 3 -p $BASE >"$T/start.log" 2>&1 || { cat "$T/start.log"; fatal "mesh start"; }
all_alive() { for i in 1 2 3; do alive_ge "$i" 2 || return 1; done; }
wait_for 60 "3 daemons converge" all_alive
names_known() { json_ok '[.[] | select(.name != "")] | length >= 2' on 1 peers --json; }
wait_for 30 "node1 knows its peers' names" names_known
browser mesh "$T/node1/api.sock"

wg_root "$T/wg"
case $? in
2) skip "the invitation dialog (needs root, ip, wireguard-go and /dev/net/tun for a mesh root with WireGuard)"; finish ;;
0) ;;
*) fatal "no mesh root with WireGuard" ;;
esac
browser wg "$T/wg/api.sock"
token_logged() { grep -q 'mirrornet://' "$T/wg/log"; }
if token_logged; then bad "an invitation token is in the daemon's log"; else ok "no invitation token in the daemon's log"; fi
finish
