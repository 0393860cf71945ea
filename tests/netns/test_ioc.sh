#!/bin/bash
# Shared threat intelligence over real WireGuard (docs/ioc.md): three hosts,
# the root (1), A (2, certified by the root) and B (3); A and B each with
# its own CrowdSec LAPI (offline, in its namespace, on its own loopback)
# and mirrornetd's ioc subsystem, B with dnsmasq for DNS Guard.
#   - `cscli decisions add` on A becomes a decision of origin mirrornet on
#     B (timed, N = 3 hosts); deleting it on A removes it on B; no echo;
#   - indicators the allowlist refuses (a peer's endpoint, the mesh subnet,
#     192.168.1.1, 0.0.0.0/0), published by the root, are counted on A and
#     B and never reach a LAPI;
#   - review: a low-confidence indicator waits on B until `ioc approve`;
#   - DNS Guard: `ioc add --scope domain evil.example` on A: `dig @B`
#     answers NXDOMAIN; after A's tombstone the normal answer (a local
#     upstream dnsmasq, no internet);
#   - B's LAPI stopped: retried with backoff, applied when it is back;
#   - the root revokes A: A's decisions leave B's LAPI;
#   - a wrong password on B: status "auth failed", one log line;
#   - a flood over the rate (from the root) is dropped and counted;
#   - every mirrornetd stops on SIGTERM without a sanitizer report.
# Every wait is a bounded poll; the bounds add up to 713 s (and 25 s of
# stops), the meson timeout is 900 s; a run takes 20-30 s, under ASan too.
# The waits for a decision added on A to be active on B are 60 s: one the
# source's stream missed comes with its next whole answer (every 60 polls
# and at least 30 s: 30 s here; docs/ioc.md).
# MN_BENCH=1 adds 10,000 IoCs from the root to B (docs/ioc.md "Measured").
# (cscli decisions list shows decisions of origin mirrornet only with --all.)
# Needs root, wireguard-go, crowdsec, jq, dnsmasq, dig; skips otherwise.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/crowdsec_lib.sh"
need_root
need_cmd wireguard-go jq crowdsec cscli dnsmasq dig
: "${MN_BUILD:?}"
K=3
tmpdir mn-ioc
cs_stop_all() { local h; for h in 2 3; do cs_stop "$T/cs$h"; done; }
at_exit cs_stop_all

ns_init "$K" || fatal "namespaces"
ns_mn_keys "$K" || fatal "keys and certificates"
for i in 2 3; do
	need cs_setup "$T/cs$i" 127.0.0.1:8080
	cs_start "$T/cs$i" "$(ns_host "$i")"
	track "$(cat "$T/cs$i/pid")"
done
lapi_up() { ns_exec "$1" curl -s -o /dev/null -m 2 http://127.0.0.1:8080/health; }
for i in 2 3; do wait_for 30 "host $i's LAPI answers" lapi_up "$i"; done

# B's resolver: dnsmasq on 192.168.242.3 loading the DNS Guard file, its
# upstream a second dnsmasq on 127.0.0.2 that knows evil.example (the normal
# answer). Both run daemonized inside B's namespace (ns_cleanup ends
# whatever runs there); the reload command restarts the first by its pid
# file (dnsmasq reads address= lines only at start).
G=$T/h3
mkdir -p "$G"
cat > "$G/upstream.conf" <<EOF
listen-address=127.0.0.2
bind-interfaces
port=53
no-resolv
no-hosts
address=/evil.example/192.0.2.80
address=/good.example/192.0.2.81
pid-file=$G/upstream.pid
EOF
: > "$G/dnsguard.conf"
cat > "$G/dnsmasq.conf" <<EOF
listen-address=$NS_UNDERLAY.3
bind-interfaces
port=53
no-resolv
no-hosts
server=127.0.0.2
cache-size=0
conf-file=$G/dnsguard.conf
pid-file=$G/dnsmasq.pid
EOF
cat > "$G/reload.sh" <<EOF
#!/bin/sh
# restart B's dnsmasq (the pid in its pid file is ours)
p=\$(cat "$G/dnsmasq.pid" 2>/dev/null)
if [ -n "\$p" ]; then
	kill "\$p" 2>/dev/null
	for _ in \$(seq 50); do kill -0 "\$p" 2>/dev/null || break; sleep 0.1; done
fi
echo reload >> "$G/reloads"
exec dnsmasq -C "$G/dnsmasq.conf" -u root
EOF
chmod 755 "$G/reload.sh"
need ns_exec 3 dnsmasq -C "$G/upstream.conf" -u root
need ns_exec 3 "$G/reload.sh"
dig_b() { ns_exec 1 dig +time=1 +tries=2 @"$NS_UNDERLAY.3" "$1" A; }
answers() { dig_b "$1" | grep -qE "^$1\.[[:space:]].*[[:space:]]A[[:space:]]+$2\$"; }
nxdomain() { dig_b "$1" | grep -q 'status: NXDOMAIN'; }
wait_for 10 "B's dnsmasq answers good.example from its upstream" answers good.example 192.0.2.81
check "before any indicator, evil.example resolves normally at B" answers evil.example 192.0.2.80

for i in 1 2 3; do ns_wg_up "$i" || fatal "wireguard-go in host $i"; done
conf() {
	ns_mn_star "$1" "$K"
	[ "$1" = 1 ] && return
	printf '%s\n' "ioc_lapi http://127.0.0.1:8080" "ioc_bouncer_key_file $T/cs$1/bouncer.key" \
		"ioc_machine_id mirrornet" "ioc_password_file $T/cs$1/password" "ioc_poll_ms 500" \
		"ioc_rate 40"
	[ "$1" = 3 ] && printf '%s\n' "ioc_dnsmasq_file $G/dnsguard.conf" \
		"ioc_dnsmasq_reload $G/reload.sh"
}
declare -A MND
for i in 1 2 3; do
	conf "$i" > "$T/h$i/mirrornetd.conf"
	ns_mn_start "$i" || fatal "config or start of host $i"
	MND[$i]=$SPAWNED
	watch_pid "$SPAWNED" "mirrornetd of host $i" "$T/h$i/log"
done
# each daemon stops on SIGTERM, and without a sanitizer's report (ASan
# builds: leaks show at exit)
clean_stop() {
	stop_pid "${MND[$1]}" || return 1
	! grep -qE 'Sanitizer|runtime error' "$T/h$1/log"
}
all() { alive_ge 1 2 && alive_ge 2 2 && alive_ge 3 2; }
wait_for 60 "the three hosts see each other over WireGuard" all
st() { json_val ".ioc.$2" on "$1" status --json; }
is() { [ "$(st "$1" "$2")" = "$3" ]; }
ge() { local v; v=$(st "$1" "$2"); [ -n "$v" ] && [ "$v" -ge "$3" ]; }
wait_for 20 "A's LAPI is up for mirrornetd" is 2 stream up
wait_for 20 "B's LAPI is up for mirrornetd" is 3 stream up

mesh_decision() {   # mesh_decision HOST VALUE: its LAPI holds VALUE with origin mirrornet
	local out
	out=$(cscli_ "$T/cs$1" "$(ns_host "$1")" decisions list -o json --all 2>/dev/null) || return 1
	printf '%s\n' "$out" |
		jq -e --arg v "$2" '[.[]?.decisions[]? | select(.value == $v and .origin == "mirrornet")] | length > 0' >/dev/null
}
no_decision() { ! mesh_decision "$@"; }
cs_add() {   # cs_add HOST IP
	cscli_ "$T/cs$1" "$(ns_host "$1")" decisions add --ip "$2" --duration 2h --reason mn-test >/dev/null 2>&1
}
t0=$(date +%s%N)
check "cscli decisions add --ip 203.0.113.7 on A" cs_add 2 203.0.113.7
wait_for 60 "B's LAPI holds 203.0.113.7 with origin mirrornet" mesh_decision 3 203.0.113.7
t1=$(date +%s%N)
echo "measured: cscli decisions add on A -> active on B (3 hosts): $(( (t1 - t0) / 1000000 )) ms"
never_for 3 "A does not echo it back (no mirrornet decision on A)" mesh_decision 2 203.0.113.7
echo "measured: B made $(st 3 lapi_calls) LAPI calls (stream polls included) for $(st 3 applied_total) indicator(s)"
wait_for 60 "A asks its LAPI for the whole list again (every 60 polls, at least 30 s)" ge 2 stream_resyncs 1
check "... and publishes nothing twice (one record for 203.0.113.7)" is 2 published 1
# a batch is published inside the ioc's state transaction: the daemon's
# group commit must not take it for its own (it rolled it back, refused
# local publishes for a second and logged "state not saved")
no_store_error() { ! grep -qE "state not saved|store: " "$T/h$1/log"; }
check "A's store and state saw no error while publishing" no_store_error 2

check "cscli decisions delete --ip 203.0.113.7 on A" \
	cscli_ "$T/cs2" "$(ns_host 2)" decisions delete --ip 203.0.113.7
wait_for 20 "deleting it on A removes it from B's LAPI" no_decision 3 203.0.113.7

# indicators the allowlist refuses, published as a record of the root (not
# through its own checks): a peer's endpoint, the mesh subnet, a private
# address, everything
now=$(date +%s)
ioc_json() { printf '{"scope":"%s","value":"%s","action":"ban","scenario":"t","confidence":90,"valid_until":%s}' "$1" "$2" $((now + 3600)); }
body="{\"iocs\":[$(ioc_json ip "$NS_UNDERLAY.2"),$(ioc_json range 10.42.0.0/16),$(ioc_json ip 192.168.1.1),$(ioc_json range 0.0.0.0/0)]}"
check "the root publishes four indicators the policy must refuse" on 1 publish ioc bad1 --body "$body"
for i in 2 3; do
	wait_for 20 "host $i refuses and counts them" ge "$i" refused_total 4
done
echo "    B's refusals by step: $(st 3 refused | jq -c 'with_entries(select(.value > 0))')"
for v in "$NS_UNDERLAY.2" 10.42.0.0/16 192.168.1.1 0.0.0.0/0; do
	if mesh_decision 3 "$v" || mesh_decision 2 "$v"; then bad "$v reached a LAPI"
	else ok "$v reached neither LAPI"; fi
done

# review: an indicator below ioc_min_confidence waits on B until
# `mirrornetctl ioc approve`; `ioc explain` names its record
low="{\"iocs\":[{\"scope\":\"ip\",\"value\":\"203.0.113.20\",\"action\":\"ban\",\"scenario\":\"t\",\"confidence\":10,\"valid_until\":$((now + 3600))}]}"
check "the root publishes 203.0.113.20 with confidence 10" on 1 publish ioc low1 --body "$low"
low_id() { json_val '.[] | select(.value == "203.0.113.20") | .id' on 3 ioc pending --json; }
held_b() { [ -n "$(low_id)" ]; }
wait_for 20 "B holds 203.0.113.20 for review (ioc pending)" held_b
never_for 2 "held, it is not in B's LAPI" mesh_decision 3 203.0.113.20
check "mirrornetctl ioc approve on B" on 3 ioc approve "$(low_id)"
wait_for 20 "approved, B's LAPI gets 203.0.113.20" mesh_decision 3 203.0.113.20
check "mirrornetctl ioc explain on B names the root's record low1" \
	json_ok '.held[0].batch == "low1" and .held[0].state == "applied"' on 3 ioc explain 203.0.113.20 --json

# DNS Guard: a domain indicator of A blocks the name at B's dnsmasq; A's
# tombstone lifts it
batch=$(json_val .batch on 2 ioc add --scope domain evil.example --json)
[ -n "$batch" ] && ok "A publishes evil.example (batch $batch)" || bad "ioc add --scope domain on A"
guarded() { grep -qx 'address=/evil.example/' "$G/dnsguard.conf"; }
wait_for 20 "B's DNS Guard file has address=/evil.example/" guarded
wait_for 10 "dig @B evil.example: NXDOMAIN" nxdomain evil.example
check "dig @B good.example still answers" answers good.example 192.0.2.81
check "A's tombstone of $batch" on 2 publish ioc "$batch" --tombstone
unguarded() { ! grep -q 'evil.example' "$G/dnsguard.conf"; }
wait_for 20 "the tombstone empties B's DNS Guard file" unguarded
wait_for 10 "dig @B evil.example resolves normally again" answers evil.example 192.0.2.80

# B's LAPI stopped: retried with backoff, applied when it is back
cs_stop "$T/cs3"
check "cscli decisions add --ip 203.0.113.8 on A" cs_add 2 203.0.113.8
wait_for 20 "B sees its LAPI down" is 3 lapi down
cs_start "$T/cs3" "$(ns_host 3)"
track "$(cat "$T/cs3/pid")"
wait_for 30 "B's LAPI answers again" lapi_up 3
tb=$(date +%s%N)
# a failed call is retried after 1 s doubling to 60 s (sooner once the
# stream answers again): within 60 s, plus a call's 10 s timeout
wait_for 75 "back up, B's LAPI gets 203.0.113.8" mesh_decision 3 203.0.113.8
echo "measured: applied at B $(( ($(date +%s%N) - tb) / 1000000 )) ms after its LAPI answered again"
check "cscli decisions add --ip 203.0.113.10 on A" cs_add 2 203.0.113.10
wait_for 60 "B's LAPI gets 203.0.113.10 too" mesh_decision 3 203.0.113.10

# revocation: the root revokes A; A's decisions leave B's LAPI
check "the root revokes A" on 1 revoke "$(ns_mn_id 2 did)" --reason test
wait_for 20 "A revoked: 203.0.113.8 leaves B's LAPI" no_decision 3 203.0.113.8
wait_for 10 "A revoked: 203.0.113.10 leaves B's LAPI" no_decision 3 203.0.113.10

# a wrong password on B: one clear line, no retry storm
check "B's mirrornetd stops cleanly" clean_stop 3
(umask 077; echo wrong > "$T/cs3/password")
: > "$T/h3/log"
ns_mn_start 3 || fatal "restart B"
MND[3]=$SPAWNED
check "the root publishes an indicator (B must log in)" \
	on 1 publish ioc pw1 --body "{\"iocs\":[$(ioc_json ip 203.0.113.9)]}"
wait_for 20 "B's status says auth failed" is 3 lapi "auth failed"
never_for 3 "B's LAPI does not get 203.0.113.9" mesh_decision 3 203.0.113.9
n=$(grep -c "refused machine" "$T/h3/log")
[ "$n" = 1 ] && ok "one log line for the wrong password" || bad "$n log lines for the wrong password"
logins=$(st 3 logins)
[ "${logins:-99}" -le 2 ] && ok "no retry storm ($logins login(s))" || bad "$logins logins"
hasnt_secret() { ! grep -qF "$(cat "$T/cs2/password")" "$T/h1/log" "$T/h2/log" "$T/h3/log"; }
check "no password in the logs" hasnt_secret

# a flood over the rate (40 an hour) from the root: 64 new indicators, 40
# pass at most (B counts them whatever its LAPI says)
for b in 0 1; do
	items=""
	for k in $(seq 1 32); do items="$items${items:+,}$(ioc_json ip "198.18.$b.$k")"; done
	on 1 publish ioc "flood$b" --body "{\"iocs\":[$items]}" >/dev/null || bad "publish flood$b"
done
wait_for 20 "a flood over the rate is dropped and counted on B" ge 3 refused.rate 24

if [ "${MN_BENCH:-0}" != 1 ]; then
	for i in 1 2 3; do check "host $i's mirrornetd stops cleanly" clean_stop "$i"; done
fi

if [ "${MN_BENCH:-0}" = 1 ]; then
	# 10,000 active mesh IoCs on B: its daemon's RSS before and after, and
	# the time and LAPI calls to apply them (the root publishes 313
	# records of 32; B restarted with the right password, no rate and room
	# for 20,000)
	stop_pid "${MND[3]}" || bad "B's mirrornetd did not stop on SIGTERM"
	cscli_ "$T/cs3" "$(ns_host 3)" machines add mirrornet --password "$(cat "$T/cs2/password")" --force \
		-f /dev/null >/dev/null 2>&1
	(umask 077; cp "$T/cs2/password" "$T/cs3/password")
	sed -i 's/^ioc_rate .*/ioc_rate 0/' "$T/h3/mirrornetd.conf"
	echo "ioc_max_active 20000" >> "$T/h3/mirrornetd.conf"
	ns_mn_start 3 || fatal "restart B"
	MND[3]=$SPAWNED
	wait_for 20 "B's LAPI is up for mirrornetd" is 3 stream up
	wait_for 60 "B applied what waited (the flood's 40)" ge 3 applied 40
	pid=${MND[3]}   # ip netns exec execs mirrornetd: this is its PID
	rss() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
	mkdir -p "$T/bench"
	for r in $(seq 0 312); do   # the bodies first: the shell is slower than the rest
		items=""
		for k in $(seq 0 31); do
			n=$((r * 32 + k)); [ $n -lt 10000 ] || break
			items="$items${items:+,}$(ioc_json ip "198.19.$((n / 250)).$((n % 250 + 1))")"
		done
		echo "{\"iocs\":[$items]}" > "$T/bench/$r.json"
	done
	rss0=$(rss); a0=$(st 3 applied); c0=$(st 3 lapi_calls); p0=$(st 3 alerts)
	t0=$(date +%s%N)
	for r in $(seq 0 312); do
		on 1 publish ioc "bench$r" --file "$T/bench/$r.json" >/dev/null || bad "publish bench$r"
	done
	t1=$(date +%s%N)
	wait_for 300 "B applies 10,000 more" ge 3 applied $((a0 + 10000))
	t2=$(date +%s%N)
	rss1=$(rss); c1=$(st 3 lapi_calls); p1=$(st 3 alerts)
	echo "measured: 10,000 IoCs in 313 records published by the root in $(( (t1 - t0) / 1000000 )) ms; all applied at B's LAPI $(( (t2 - t0) / 1000000 )) ms after the first, $(( (t2 - t1) / 1000000 )) ms after the last; $((p1 - p0)) POST /v1/alerts, $((c1 - c0)) LAPI calls in all (stream polls included)"
	echo "measured: B's mirrornetd RSS ${rss0} kB -> ${rss1} kB (+$((rss1 - rss0)) kB for 10,000 applied)"
	n=$(cscli_ "$T/cs3" "$(ns_host 3)" decisions list -o json --all --limit 0 2>/dev/null |
		jq '[.[]?.decisions[]? | select(.origin == "mirrornet")] | length')
	echo "measured: B's LAPI holds $n decisions of origin mirrornet"
	# the way back: tombstones, one DELETE /v1/decisions/{id} each
	r0=$(st 3 removed); t0=$(date +%s%N)
	for r in $(seq 0 312); do on 1 publish ioc "bench$r" --tombstone >/dev/null || bad "tombstone bench$r"; done
	t1=$(date +%s%N)
	wait_for 300 "B deletes the 10,000" ge 3 removed $((r0 + 10000))
	t2=$(date +%s%N)
	echo "measured: 313 tombstones published in $(( (t1 - t0) / 1000000 )) ms; the 10,000 deleted at B's LAPI $(( (t2 - t0) / 1000000 )) ms after the first, $(( (t2 - t1) / 1000000 )) ms after the last; RSS now $(rss) kB"
fi
finish
