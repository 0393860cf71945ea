#!/bin/sh
# Runs shellcheck on every shell script of the OpenWrt packages (every file
# under openwrt/ that starts with #!/bin/sh: mirrornet's init script,
# uci-defaults, ...; luci-app-mirrornet's rpcd wrapper; POSIX sh, as
# OpenWrt's ash runs them) and on the tests of them. The scripts a join package carries are generated
# by src/ctl/ipk_join.c: tests/unit/test_ipk.c checks those.
# Usage: check_shell.sh SOURCE_ROOT; skips (77) without shellcheck.
top=${1:-$(dirname "$0")/../..}
cd "$top" || exit 1
command -v shellcheck >/dev/null || { echo "skip: no shellcheck"; exit 77; }
pass=0 fail=0
for f in $(find openwrt -type f | sort); do
	head -n1 "$f" | grep -q '^#!/bin/sh' || continue
	if shellcheck -s sh "$f"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $f"; fi
done
for f in tests/openwrt/*.sh tests/lint/*.sh tests/integration/test_rpcd.sh tests/integration/test_luci.sh; do
	if shellcheck -x -S warning "$f"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL $f"; fi
done
[ $pass -gt 0 ] || { echo "no scripts found under $top/openwrt"; exit 1; }
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
