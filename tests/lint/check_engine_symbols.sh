#!/bin/sh
# The engine library exports its interface and nothing else: every global
# symbol defined in libmn_engine.a must be a function or object declared in
# src/engine/engine.h or src/engine/wire.h. Internals (engine_int.h) are
# hidden and made local by tools/link-hidden (docs/architecture.md).
# Usage: check_engine_symbols.sh LIBMN_ENGINE.A SOURCE_ROOT
lib=$1 top=$2
[ -f "$lib" ] && [ -f "$top/src/engine/engine.h" ] || { echo "usage: $0 LIB SOURCE_ROOT"; exit 1; }
nm=${NM:-nm}
# names declared in the public headers: an identifier followed by "("
public=$(sed -n 's/.*[^A-Za-z0-9_]\([a-z_][a-z0-9_]*\)(.*/\1/p' \
	"$top/src/engine/engine.h" "$top/src/engine/wire.h" | sort -u)
# global defined symbols, without the toolchain's own (__asan_*, __odr_*, ...)
syms=$("$nm" -g --defined-only "$lib" | awk 'NF == 3 { print $3 }' | grep -v '^__' | sort -u)
[ -n "$syms" ] || { echo "check_engine_symbols: no symbols in $lib"; exit 1; }
fail=0
for s in $syms; do
	if ! printf '%s\n' "$public" | grep -qx "$s"; then
		echo "engine exports $s, which engine.h and wire.h do not declare (an internal"
		echo "  not declared in engine_int.h, or a missing 'static')"
		fail=1
	fi
done
if [ $fail -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
