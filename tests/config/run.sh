#!/bin/sh
# Golden tests of the configuration table: every NAME.conf here goes through
# `mirrornetd -n`; a good file's normalised print must equal NAME.out, a bad
# file's (bad-*.conf) error must equal NAME.err, exit status 1.
# MN_UPDATE=1 rewrites the expected files (review the diff before committing).
set -u
D=$(cd "$(dirname "$0")" && pwd)
B=${MN_BUILD:?MN_BUILD: the build directory}
cd "$D" || exit 1
pass=0 fail=0
for f in *.conf; do
	n=${f%.conf}
	case $n in
	bad-*) want=$n.err; "$B/mirrornetd" -n -c "$f" >/dev/null 2>"$n.got"; rc=$?; wrc=1 ;;
	*) want=$n.out; "$B/mirrornetd" -n -c "$f" >"$n.got" 2>/dev/null; rc=$?; wrc=0 ;;
	esac
	if [ "${MN_UPDATE:-}" = 1 ]; then
		mv "$n.got" "$want"
		continue
	fi
	if [ "$rc" = "$wrc" ] && cmp -s "$n.got" "$want"; then
		pass=$((pass + 1))
	else
		fail=$((fail + 1))
		echo "FAIL $f: exit $rc (want $wrc)"
		diff "$want" "$n.got" | sed 's/^/    /' | head -20
	fi
	rm -f "$n.got"
done
echo "config: $pass passed, $fail failed"
[ "$fail" = 0 ] && [ "$pass" -gt 0 ]
