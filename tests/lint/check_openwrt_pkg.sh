#!/bin/sh
# The OpenWrt package Makefile has what the packages feed asks of it
# (openwrt/README.md): PKG_MAINTAINER with an address, PKG_LICENSE and
# PKG_LICENSE_FILES that exist in the source, URL, SUBMENU:=VPN, and the
# dependencies: kmod-wireguard and every library mirrornetd links.
# Usage: check_openwrt_pkg.sh SOURCE_ROOT
top=${1:-$(dirname "$0")/../..}
mk=$top/openwrt/mirrornet/Makefile
[ -f "$mk" ] || { echo "no $mk"; exit 1; }
pass=0 fail=0
t() {   # t WHAT CMD...
	w=$1; shift
	if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $w"; fi
}
field() { sed -n "s/^[[:space:]]*$1:=//p" "$mk" | head -n1; }
t "PKG_MAINTAINER has a name and <address>" sh -c "echo '$(field PKG_MAINTAINER)' | grep -Eq '^[^<]+ <[^@> ]+@[^> ]+>\$'"
t "PKG_LICENSE is set" test -n "$(field PKG_LICENSE)"
lf=$(field PKG_LICENSE_FILES)
t "PKG_LICENSE_FILES is set" test -n "$lf"
for f in $lf; do t "license file $f exists" test -s "$top/$f"; done
t "URL is set" sh -c "echo '$(field URL)' | grep -Eq '^https?://'"
t "SUBMENU:=VPN" test "$(field SUBMENU)" = VPN
deps=" $(field DEPENDS) "
for d in kmod-wireguard libsodium libuv libcares libsqlite3 libcurl msgpack-c libjson-c; do
	t "DEPENDS +$d" sh -c "echo '$deps' | grep -q ' +$d '"
done
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
