#!/bin/sh
# luci-app-mirrornet (openwrt/luci-app-mirrornet, docs/luci.md) holds
# together: the ACL is the one `mirrornetctl rpcd acl` derives from the
# plugin's method table (so every method the plugin lists is in the ACL and
# nothing else is), read and write split exactly as the issue asks, every
# method a view declares is one the plugin lists, every menu entry's view
# exists and every view has an entry, the views follow LuCI's shape, and the
# Makefile has the fields a LuCI app needs.
# Usage: check_luci.sh SOURCE_ROOT (MN_BUILD: the build with mirrornetctl)
top=${1:-$(dirname "$0")/../..}
ctl=${MN_BUILD:-$top/build}/mirrornetctl
pkg=$top/openwrt/luci-app-mirrornet
acl=$pkg/root/usr/share/rpcd/acl.d/luci-app-mirrornet.json
menu=$pkg/root/usr/share/luci/menu.d/luci-app-mirrornet.json
views=$pkg/htdocs/luci-static/resources/view/mirrornet
command -v jq >/dev/null || { echo "skip: no jq"; exit 77; }
[ -x "$ctl" ] || { echo "no $ctl (build first)"; exit 1; }
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
t() {   # t WHAT CMD...
	w=$1; shift
	if "$@"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $w"; fi
}
same() { [ "$1" = "$2" ] || { echo "    want: $2"; echo "    have: $1"; return 1; }; }

"$ctl" rpcd list >"$tmp/list" </dev/null
"$ctl" rpcd acl >"$tmp/acl" </dev/null
t "the shipped ACL is valid JSON" jq -e . "$acl" >/dev/null
t "the shipped ACL is what 'mirrornetctl rpcd acl' derives from the method table" \
	same "$(jq -S -c . "$acl")" "$(jq -S -c . "$tmp/acl")"
listed=$(jq -r 'keys[]' "$tmp/list" | sort | tr '\n' ' ')
read_m=$(jq -r '."luci-app-mirrornet".read.ubus."luci.mirrornet"[]' "$acl" | sort | tr '\n' ' ')
write_m=$(jq -r '."luci-app-mirrornet".write.ubus."luci.mirrornet"[]' "$acl" | sort | tr '\n' ' ')
both=$(printf '%s\n' $read_m $write_m | sort | tr '\n' ' ')
t "every listed method is in the ACL and every ACL method is listed" same "$both" "$listed"
t "no method is both read and write" same "$(printf '%s\n' $read_m $write_m | sort | uniq -d)" ""
t "read: exactly status identity peers records exposures iocs dns services backups invites joins" \
	same "$read_m" "$(printf '%s\n' status identity peers records exposures iocs dns services backups invites joins | sort | tr '\n' ' ')"
t "write: exactly invitations, joins, revocation, exposures, IoC decisions" \
	same "$write_m" "$(printf '%s\n' invite_create invite_revoke join_approve join_reject revoke_node expose_add expose_remove ioc_approve ioc_reject | sort | tr '\n' ' ')"
t "the ACL grants nothing but luci.mirrornet" \
	jq -e '[."luci-app-mirrornet" | .read, .write | keys[]] | unique == ["ubus"]' "$acl" >/dev/null

declared=$(sed -n "s/.*declare('\([a-z_]*\)'.*/\1/p" "$pkg"/htdocs/luci-static/resources/mirrornet/*.js "$views"/*.js | sort -u)
t "the views declare some methods" test -n "$declared"
for m in $declared; do
	t "the views' method $m is listed by the plugin" jq -e --arg m "$m" 'has($m)' "$tmp/list" >/dev/null
done

t "the menu is valid JSON" jq -e . "$menu" >/dev/null
t "the menu's top entry needs the luci-app-mirrornet ACL, which exists" \
	jq -e --slurpfile a "$acl" '."admin/services/mirrornet".depends.acl == ["luci-app-mirrornet"] and ($a[0] | has("luci-app-mirrornet"))' "$menu" >/dev/null
for p in $(jq -r '.[] | select(.action.type == "view") | .action.path' "$menu"); do
	t "menu entry view $p exists" test -f "$pkg/htdocs/luci-static/resources/view/$p.js"
done
for f in "$views"/*.js; do
	v=mirrornet/$(basename "$f" .js)
	t "view $v has a menu entry" jq -e --arg p "$v" 'any(.[]; .action.path == $p)' "$menu" >/dev/null
	t "view $v: 'use strict', 'require view', 'require poll'" sh -c \
		"head -n1 '$f' | grep -qx \"'use strict';\" && grep -qx \"'require view';\" '$f' && grep -qx \"'require poll';\" '$f'"
	t "view $v: view.extend with load, render and poll.add" sh -c \
		"grep -q 'return view.extend({' '$f' && grep -q '^	load: function' '$f' && grep -q '^	render: function' '$f' && grep -q 'poll.add(' '$f'"
	t "view $v: node --check" sh -c "! command -v node >/dev/null || node --check '$f'"
done

mk=$pkg/Makefile
field() { sed -n "s/^[[:space:]]*$1:=//p" "$mk" | head -n1; }
t "Makefile: LUCI_TITLE" test -n "$(field LUCI_TITLE)"
t "Makefile: LUCI_DEPENDS has +mirrornet and +rpcd" sh -c "echo ' $(field LUCI_DEPENDS) ' | grep -q ' +mirrornet ' && echo ' $(field LUCI_DEPENDS) ' | grep -q ' +rpcd '"
t "Makefile: LUCI_PKGARCH:=all" test "$(field LUCI_PKGARCH)" = all
t "Makefile: PKG_LICENSE and PKG_MAINTAINER" sh -c "test -n '$(field PKG_LICENSE)' && echo '$(field PKG_MAINTAINER)' | grep -Eq '^[^<]+ <[^@> ]+@[^> ]+>\$'"
t "Makefile: includes luci.mk" grep -q '^include \$(LUCI_MK)' "$mk"
w=$pkg/root/usr/libexec/rpcd/luci.mirrornet
t "the rpcd wrapper: executable, two lines, exec mirrornetctl rpcd" sh -c \
	"test -x '$w' && test \$(wc -l <'$w') = 2 && grep -qx 'exec /usr/sbin/mirrornetctl rpcd \"\$@\"' '$w'"
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
