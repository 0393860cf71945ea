#!/bin/sh
# Layer rules (docs/architecture.md):
#   proto/   pure codecs: no libsodium, libuv, sqlite, curl, c-ares, json-c;
#            nothing from crypto/ or src/; no logging, no exit, no clock
#   crypto/  the only code that includes sodium.h; may use proto/; no libuv,
#            sqlite, curl, c-ares, json-c; nothing from src/; no logging
#   src/engine/ sans-I/O: no libuv, sqlite, curl, c-ares, json-c, no clock
#            or socket calls; from src/ only its own headers
#   engine_int.h (engine internals) is included only inside src/engine/
#   src/ioc/policy.c, src/ioc/lapi_json.c: no I/O, no clock (lapi.c does it)
#   src/dns, src/expose, src/ai, src/mail, src/ioc, src/http, src/wg, src/store, src/apiclient, src/onboard and the src/*.c
#            the daemon and CLI share include nothing from src/daemon/ or
#            src/ctl/; src/onboard (the join client) libuv, but no sqlite,
#            c-ares or json-c;
#            src/daemon/ nothing from src/ctl/, nor src/ctl/ from
#            src/daemon/ (the CLI talks to the daemon over the API);
#            the simulator (tools/sim/) nothing from src/ but the engine
# The build enforces the same by linking (meson.build: one library per
# layer; the simulator and the engine's tests link the engine alone); this
# grep is the second guard, and names the line.
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
bad src/engine '#include[[:space:]]*"src/[^e]' "the engine knows nothing in src/ but itself"
bad src/engine '#include[[:space:]]*[<"](json-c/|json\.h)' "the engine links no json-c"
bad src/engine '\b(time|clock_gettime|gettimeofday|socket|sendto|recvfrom|open|fopen|printf|fprintf|syslog)\(' "the engine is sans-I/O"

# engine internals stay inside the engine
hits=$(grep -rlE '#include[[:space:]]*"src/engine/engine_int\.h"' --include='*.c' --include='*.h' \
	src tools tests proto crypto | grep -v '^src/engine/' || true)
if [ -n "$hits" ]; then
	echo "layer violation (engine_int.h outside src/engine/):"
	echo "$hits"
	fail=1
fi
upper='#include[[:space:]]*"src/(daemon|ctl)/'
for d in src/dns src/expose src/ai src/mail src/wg src/apiclient src/onboard src/backup src/ioc src/http; do
	bad "$d" "$upper" "a lower layer includes the daemon or the CLI"
done
bad src/expose "$libs|#include[[:space:]]*[<\"](sys/socket\.h|unistd\.h)" "the HAProxy renderer does no I/O"
bad src/ai '#include[[:space:]]*[<"](uv\.h|sqlite3\.h|curl/|ares\.h|sys/socket\.h|unistd\.h)' "the AI renderer does no I/O"
bad src/mail '#include[[:space:]]*[<"](uv\.h|sqlite3\.h|curl/|ares\.h|sys/socket\.h|unistd\.h)' "the mail maps renderer does no I/O"
hits=$(grep -nE "$upper|#include[[:space:]]*<(uv|sqlite3|ares)\.h>" src/*.c src/*.h | grep -v '^src/mirrornetd\.c:' | grep -v '^src/store\.[ch]:.*sqlite3' || true)
if [ -n "$hits" ]; then
	echo "layer violation in src/*.c (shared code includes the daemon, the CLI, libuv, sqlite or c-ares):"
	echo "$hits"
	fail=1
fi
# the IoC policy and the LAPI's answers are pure (the client, lapi.c, does the I/O)
for f in src/ioc/policy.c src/ioc/policy.h src/ioc/lapi_json.c src/ioc/lapi_json.h; do
	[ -f "$f" ] || continue
	hits=$(grep -nE "#include[[:space:]]*[<\"](uv\.h|sqlite3\.h|curl/|ares\.h|unistd\.h|sys/socket\.h|time\.h)|\b(printf|fprintf|syslog|time|clock_gettime|fopen|open)\(" "$f" || true)
	if [ -n "$hits" ]; then
		echo "layer violation in $f (no I/O, no clock):"
		echo "$hits"
		fail=1
	fi
done
bad src/onboard '#include[[:space:]]*[<"](sqlite3\.h|ares\.h|json-c/|json\.h)' "the join client needs libuv only"
bad src/daemon '#include[[:space:]]*"src/ctl/' "the daemon does not know the CLI"
bad src/ctl '#include[[:space:]]*"src/daemon/' "the CLI does not link the daemon (the local API)"
bad tools/sim '#include[[:space:]]*"src/[^e]' "the simulator links the engine only"

# subsystems (src/daemon/subsys.h) reach the daemon only through the host:
# no daemon.h, engine or store; host_core.h and the WireGuard sync for
# onboarding (the core's own) only
for f in $(grep -lE '^const struct subsys subsys_' src/daemon/*.c 2>/dev/null); do
	hits=$(grep -nE '#include[[:space:]]*"src/(daemon/(daemon|daemon_int|api|host|transport)\.h|engine/|store\.h)' "$f" || true)
	# backup signs challenges and receipts and opens its own snapshots with the node key
	case $f in */onboard*.c|*/backup.c) ;; *) hits="$hits$(grep -nE 'host_core\.h|wgsync\.h' "$f" || true)" ;; esac
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
