#!/bin/bash
# Shared threat intelligence over real WireGuard (docs/ioc.md): two hosts,
# each with its own CrowdSec LAPI (offline, in its namespace, on its own
# loopback) and mirrornetd's ioc subsystem. A decision added on host 1
# with cscli becomes a decision of origin mirrornet on host 2; deleting it
# on host 1 removes it on host 2; indicators the allowlist refuses (a
# peer's endpoint, the mesh subnet, 192.168.1.1, 0.0.0.0/0) are counted and
# never reach host 2's LAPI; a flood over the rate is dropped and counted;
# host 2's LAPI stopped: retried, applied when back; a wrong password: one
# log line. Prints the time from `cscli decisions add` to the decision on
# host 2 and the LAPI calls per indicator.
# (cscli decisions list shows decisions of origin mirrornet only with --all.)
# Needs root, wireguard-go, crowdsec, jq; skips otherwise.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/crowdsec_lib.sh"
need_root
need_cmd wireguard-go jq crowdsec cscli
B=${MN_BUILD:?}
K=2
tmpdir mn-ioc
at_exit 'for i in 1 2; do cs_stop "$T/cs$i"; done'

ns_init "$K" || fatal "namespaces"
ns_mn_keys "$K" || fatal "keys and certificates"
for i in 1 2; do
	need cs_setup "$T/cs$i" 127.0.0.1:8080
	cs_start "$T/cs$i" "$(ns_host "$i")"
	track "$(cat "$T/cs$i/pid")"
done
lapi_up() { ns_exec "$1" curl -s -o /dev/null -m 2 http://127.0.0.1:8080/health; }
for i in 1 2; do wait_for 30 "host $i's LAPI answers" lapi_up "$i"; done
for i in 1 2; do ns_wg_up "$i" || fatal "wireguard-go in host $i"; done
conf() {
	ns_mn_star "$1" "$K"
	printf '%s\n' "ioc_lapi http://127.0.0.1:8080" "ioc_bouncer_key_file $T/cs$1/bouncer.key" \
		"ioc_machine_id mirrornet" "ioc_password_file $T/cs$1/password" "ioc_poll_ms 500" \
		"ioc_rate 40" "ioc_dnsmasq_file $T/h$1/dnsguard.conf"
}
for i in 1 2; do
	conf "$i" > "$T/h$i/mirrornetd.conf"
	ns_mn_start "$i" || fatal "config or start of host $i"
	watch_pid "$SPAWNED" "mirrornetd of host $i" "$T/h$i/log"
done
both() { alive_ge 1 1 && alive_ge 2 1; }
wait_for 90 "the hosts see each other over WireGuard" both
st() { on "$1" status --json | jq -r ".ioc.$2"; }
wait_for 30 "host 1's LAPI is up for mirrornetd" test "$(st 1 stream)" = up

mesh_decision() {   # mesh_decision HOST VALUE: its LAPI holds VALUE with origin mirrornet
	cscli_ "$T/cs$1" "$(ns_host "$1")" decisions list -o json --all 2>/dev/null |
		jq -e --arg v "$2" '[.[]?.decisions[]? | select(.value == $v and .origin == "mirrornet")] | length > 0' >/dev/null
}
t0=$(date +%s%N)
check "cscli decisions add --ip 203.0.113.7 on host 1" \
	cscli_ "$T/cs1" "$(ns_host 1)" decisions add --ip 203.0.113.7 --duration 2h --reason mn-test
wait_for 30 "host 2's LAPI holds 203.0.113.7 with origin mirrornet" mesh_decision 2 203.0.113.7
t1=$(date +%s%N)
echo "measured: cscli decisions add on host 1 -> active on host 2: $(( (t1 - t0) / 1000000 )) ms"
never_for 3 "host 1 does not echo it back (no mirrornet decision on host 1)" mesh_decision 1 203.0.113.7
calls=$(st 2 lapi_calls)
echo "measured: host 2 made $calls LAPI calls (stream polls included) for $(st 2 applied_total) indicator(s)"

check "cscli decisions delete --ip 203.0.113.7 on host 1" \
	cscli_ "$T/cs1" "$(ns_host 1)" decisions delete --ip 203.0.113.7
gone_on_2() { ! mesh_decision 2 203.0.113.7; }
wait_for 30 "deleting it on host 1 removes it on host 2" gone_on_2

# indicators the allowlist refuses, published as a record of host 1 (not
# through its own checks): a peer's endpoint, the mesh subnet, a private
# address, everything
now=$(date +%s)
ioc_json() { printf '{"scope":"%s","value":"%s","action":"ban","scenario":"t","confidence":90,"valid_until":%s}' "$1" "$2" $((now + 3600)); }
body="{\"iocs\":[$(ioc_json ip "$NS_UNDERLAY.1"),$(ioc_json range 10.42.0.0/16),$(ioc_json ip 192.168.1.1),$(ioc_json range 0.0.0.0/0)]}"
check "host 1 publishes four indicators the policy must refuse" on 1 publish ioc bad1 --body "$body"
refused4() { [ "$(st 2 refused_total)" -ge 4 ]; }
wait_for 30 "host 2 refuses and counts them ($(st 2 refused | tr -d '\n '))" refused4
for v in "$NS_UNDERLAY.1" 10.42.0.0/16 192.168.1.1 0.0.0.0/0; do
	if mesh_decision 2 "$v"; then bad "$v reached host 2's LAPI"; else ok "$v never reached host 2's LAPI"; fi
done

# host 2's LAPI stopped: retried, applied when back; a wrong password: one
# log line. Prints the time from `cscli decisions add` to the decision on
# host 2 and the LAPI calls per indicator.
# (cscli decisions list shows decisions of origin mirrornet only with --all.)
# Needs root, wireguard-go, crowdsec, jq; skips otherwise.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/crowdsec_lib.sh"
need_root
need_cmd wireguard-go jq crowdsec cscli
B=${MN_BUILD:?}
K=2
tmpdir mn-ioc
at_exit 'for i in 1 2; do cs_stop "$T/cs$i"; done'

ns_init "$K" || fatal "namespaces"
ns_mn_keys "$K" || fatal "keys and certificates"
for i in 1 2; do
	need cs_setup "$T/cs$i" 127.0.0.1:8080
	cs_start "$T/cs$i" "$(ns_host "$i")"
	track "$(cat "$T/cs$i/pid")"
done
lapi_up() { ns_exec "$1" curl -s -o /dev/null -m 2 http://127.0.0.1:8080/health; }
for i in 1 2; do wait_for 30 "host $i's LAPI answers" lapi_up "$i"; done
for i in 1 2; do ns_wg_up "$i" || fatal "wireguard-go in host $i"; done
conf() {
	ns_mn_star "$1" "$K"
	printf '%s\n' "ioc_lapi http://127.0.0.1:8080" "ioc_bouncer_key_file $T/cs$1/bouncer.key" \
		"ioc_machine_id mirrornet" "ioc_password_file $T/cs$1/password" "ioc_poll_ms 500" \
		"ioc_rate 40" "ioc_dnsmasq_file $T/h$1/dnsguard.conf"
}
for i in 1 2; do
	conf "$i" > "$T/h$i/mirrornetd.conf"
	ns_mn_start "$i" || fatal "config or start of host $i"
	watch_pid "$SPAWNED" "mirrornetd of host $i" "$T/h$i/log"
done
both() { alive_ge 1 1 && alive_ge 2 1; }
wait_for 90 "the hosts see each other over WireGuard" both
st() { on "$1" status --json | jq -r ".ioc.$2"; }
wait_for 30 "host 1's LAPI is up for mirrornetd" test "$(st 1 stream)" = up

mesh_decision() {   # mesh_decision HOST VALUE: its LAPI holds VALUE with origin mirrornet
	cscli_ "$T/cs$1" "$(ns_host "$1")" decisions list -o json --all 2>/dev/null |
		jq -e --arg v "$2" '[.[]?.decisions[]? | select(.value == $v and .origin == "mirrornet")] | length > 0' >/dev/null
}
t0=$(date +%s%N)
check "cscli decisions add --ip 203.0.113.7 on host 1" \
	cscli_ "$T/cs1" "$(ns_host 1)" decisions add --ip 203.0.113.7 --duration 2h --reason mn-test
wait_for 30 "host 2's LAPI holds 203.0.113.7 with origin mirrornet" mesh_decision 2 203.0.113.7
t1=$(date +%s%N)
echo "measured: cscli decisions add on host 1 -> active on host 2: $(( (t1 - t0) / 1000000 )) ms"
never_for 3 "host 1 does not echo it back (no mirrornet decision on host 1)" mesh_decision 1 203.0.113.7
calls=$(st 2 lapi_calls)
echo "measured: host 2 made $calls LAPI calls (stream polls included) for $(st 2 applied_total) indicator(s)"

check "cscli decisions delete --ip 203.0.113.7 on host 1" \
	cscli_ "$T/cs1" "$(ns_host 1)" decisions delete --ip 203.0.113.7
gone_on_2() { ! mesh_decision 2 203.0.113.7; }
wait_for 30 "deleting it on host 1 removes it on host 2" gone_on_2

# indicators the allowlist refuses, published as a record of host 1 (not
# through its own checks): a peer's endpoint, the mesh subnet, a private
# address, everything
now=$(date +%s)
ioc_json() { printf '{"scope":"%s","value":"%s","action":"ban","scenario":"t","confidence":90,"valid_until":%s}' "$1" "$2" $((now + 3600)); }
body="{\"iocs\":[$(ioc_json ip "$NS_UNDERLAY.1"),$(ioc_json range 10.42.0.0/16),$(ioc_json ip 192.168.1.1),$(ioc_json range 0.0.0.0/0)]}"
check "host 1 publishes four indicators the policy must refuse" on 1 publish ioc bad1 --body "$body"
refused4() { [ "$(st 2 refused_total)" -ge 4 ]; }
wait_for 30 "host 2 refuses and counts them ($(st 2 refused | tr -d '\n '))" refused4
for v in "$NS_UNDERLAY.1" 10.42.0.0/16 192.168.1.1 0.0.0.0/0; do
	if mesh_decision 2 "$v"; then bad "$v reached host 2's LAPI"; else ok "$v never reached host 2's LAPI"; fi
done

# a flood over the rate (40 an hour): 64 new indicators, 40 pass at most
for b in 0 1; do
	items=""
	for k in $(seq 1 32); do items="$items${items:+,}$(ioc_json ip "198.18.$b.$k")"; done
	on 1 publish ioc "flood$b" --body "{\"iocs\":[$items]}" >/dev/null || bad "publish flood$b"
done
rated() { [ "$(on 2 status --json | jq '.ioc.refused.rate')" -ge 24 ]; }
wait_for 30 "a flood over the rate is dropped and counted on host 2" rated

# host 2's LAPI stopped: retried with backoff, applied when it is back
cs_stop "$T/cs2"
check "cscli decisions add --ip 203.0.113.8 on host 1" \
	cscli_ "$T/cs1" "$(ns_host 1)" decisions add --ip 203.0.113.8 --duration 2h --reason mn-test
down2() { [ "$(st 2 lapi)" = down ]; }
wait_for 30 "host 2 sees its LAPI down" down2
cs_start "$T/cs2" "$(ns_host 2)"
track "$(cat "$T/cs2/pid")"
wait_for 90 "back up, host 2's LAPI gets 203.0.113.8" mesh_decision 2 203.0.113.8

# a wrong password: one clear line, no retry storm
stop_pid "$(pgrep -f "mirrornetd -c $T/h2/mirrornetd.conf" | head -1)" >/dev/null
(umask 077; echo wrong > "$T/cs2/password")
ns_mn_start 2 || fatal "restart host 2"
check "cscli decisions add --ip 203.0.113.9 on host 1" \
	cscli_ "$T/cs1" "$(ns_host 1)" decisions add --ip 203.0.113.9 --duration 2h --reason mn-test
authf() { [ "$(st 2 lapi)" = "auth failed" ]; }
wait_for 30 "host 2's status says auth failed" authf
n=$(grep -c "refused machine" "$T/h2/log")
[ "$n" = 1 ] && ok "one log line for the wrong password" || bad "$n log lines for the wrong password"
hasnt_secret() { ! grep -q "$(cat "$T/cs1/password")" "$T/h1/log" "$T/h2/log"; }
check "no password in the logs" hasnt_secret
finish
