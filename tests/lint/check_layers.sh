#!/bin/sh
# Layer rules (docs/architecture.md):
#   proto/   pure codecs: no libsodium, libuv, sqlite, curl, c-ares, json-c;
#            nothing from crypto/ or src/; no logging, no exit, no clock
#   crypto/  the only code that includes sodium.h; may use proto/; no libuv,
#            sqlite, curl, c-ares, json-c; nothing from src/; no logging
#   src/engine/ (when it exists) sans-I/O: no libuv, sqlite, curl, c-ares,
#            no clock or socket calls
# A violation prints file:line and fails.
top=${1:-$(dirname "$0")/../..}
cd "$top" || exit 1
fail=0

bad() {   # bad DIR REGEX WHAT
	[ -d "$1" ] || return 0
	hits=$(grep -rnE "$2" "$1" --include='*.c' --include='*.h' || true)
	if [ -n "$hits" ]; then
		echo "layer violation in $1/ ($3):"
		echo "$hits"
		fail=1
	fi
}

libs='#include[[:space:]]*[<"](uv\.h|sqlite3\.h|curl/|ares\.h|json-c/|json\.h)'
bad proto "$libs|#include[[:space:]]*[<\"](sodium\.h|sodium/)" "system libraries"
bad proto '#include[[:space:]]*"(crypto|src)/' "upward include"
bad proto '\b(printf|fprintf|puts|syslog|exit|abort|time|clock_gettime|gettimeofday)\(' "logging, exiting or reading the clock"
bad crypto "$libs" "system libraries"
bad crypto '#include[[:space:]]*"src/' "upward include"
bad crypto '\b(printf|fprintf|puts|syslog|exit|abort)[[:space:]]*\(' "logging or exiting"
bad src '#include[[:space:]]*[<"](sodium\.h|sodium/)' "only crypto/ may include libsodium"
bad tools '#include[[:space:]]*[<"](sodium\.h|sodium/)' "only crypto/ may include libsodium"
bad src/engine "$libs|#include[[:space:]]*[<\"](sys/socket\.h|netinet/|time\.h|sys/time\.h)" "the engine is sans-I/O"
bad src/engine '#include[[:space:]]*"src/(store|daemon|api)' "the engine does not know the daemon"
bad src/engine '\b(time|clock_gettime|gettimeofday|socket|sendto|recvfrom|open|fopen|printf|fprintf|syslog)\(' "the engine is sans-I/O"

# subsystems (src/daemon/subsys.h) reach the daemon only through the host:
# no daemon.h, engine or store; host_core.h and the WireGuard sync for
# onboarding (the core's own) only
for f in $(grep -lE '^const struct subsys subsys_' src/daemon/*.c 2>/dev/null); do
	hits=$(grep -nE '#include[[:space:]]*"src/(daemon/(daemon|api|host|transport)\.h|engine/|store\.h)' "$f" || true)
	case $f in */onboard*.c) ;; *) hits="$hits$(grep -nE 'host_core\.h|wgsync\.h' "$f" || true)" ;; esac
	if [ -n "$hits" ]; then
		echo "layer violation in $f (a subsystem uses only subsys.h's host):"
		echo "$hits"
		fail=1
	fi
done

# the check itself must see the tree: an empty proto/ means a wrong path
[ -f proto/record.c ] || { echo "check_layers: run from the source root"; exit 1; }
if [ $fail -eq 0 ]; then echo "1 passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $fail
