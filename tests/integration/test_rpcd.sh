#!/bin/bash
# The rpcd plugin luci.mirrornet (docs/luci.md) under rpcd's exec contract,
# against live daemons: the package's own wrapper
# (openwrt/luci-app-mirrornet/root/usr/libexec/rpcd/luci.mirrornet, its
# /usr/sbin path pointed at the build) run as rpcd runs it — `list` once,
# `call METHOD` with the arguments as one JSON object on stdin, stdin closed.
#   - a 3-daemon mesh on loopback (tools/mesh): list, every read method
#     answers one object, two indicators held for review approved and
#     rejected (iocs, ioc_approve, ioc_reject), expose add/remove, join approve/reject of an
#     unknown invitation refused, a node revoked;
#   - bad input: not JSON, an array, trailing data, 1 MiB, too deep, wrong
#     types, unknown arguments, an unknown method, the daemon down — each one
#     error object on stdout, exit 1 (rpcd ignores the status), nothing on
#     the way to a crash;
#   - with root, wireguard-go and /dev/net/tun: a mesh root with WireGuard
#     in a network namespace of its own, where invitations work: create
#     (the token, in the answer only: not in any log), list, revoke.
. "$(dirname "$0")/../lib.sh"
B=${MN_BUILD:?}
S=${MN_SOURCE:?}
need_cmd jq
tmpdir mn-rpcd-test
BASE=$(( 22000 + ($$ % 1000) * 10 ))
# shellcheck disable=SC2034  # read by on() (tests/lib.sh)
MN_SOCKETS=$T/node%s/api.sock
WRAPPER=$S/openwrt/luci-app-mirrornet/root/usr/libexec/rpcd/luci.mirrornet

# the wrapper as shipped: two lines, exec of mirrornetctl rpcd
check "the wrapper is two lines" test "$(wc -l <"$WRAPPER")" = 2
check "it execs /usr/sbin/mirrornetctl rpcd with its arguments" \
	grep -qx 'exec /usr/sbin/mirrornetctl rpcd "$@"' "$WRAPPER"
check "it is executable (rpcd skips files without S_IXUSR)" test -x "$WRAPPER"
PLUGIN=$T/luci.mirrornet
sed "s#/usr/sbin/mirrornetctl#$B/mirrornetctl#" "$WRAPPER" >"$PLUGIN"
chmod 755 "$PLUGIN"

# rpc SOCKET METHOD INPUT: the plugin as rpcd calls it; stdout in $T/o,
# stderr in $T/e, exit status in RC
rpc() {
	printf '%s' "$3" | MIRRORNET_SOCKET=$1 "$PLUGIN" call "$2" >"$T/o" 2>"$T/e"
	RC=$?
}
one_object() { jq -se 'length == 1 and (.[0] | type) == "object"' "$T/o" >/dev/null 2>&1; }
# ok_call WHAT METHOD INPUT FILTER: {"result": ...}, exit 0, FILTER holds on .result
ok_call() {
	rpc "$SOCK" "$2" "$3"
	if [ "$RC" = 0 ] && one_object && jq -e ".result | $4" "$T/o" >/dev/null 2>&1; then
		ok "$1"
	else
		bad "$1 (exit $RC)"
		_t_show "$T/o" "$T/e"
	fi
}
# err_call WHAT METHOD INPUT CODE [SOCKET]: one error object with CODE and a message, exit 1
err_call() {
	rpc "${5:-$SOCK}" "$2" "$3"
	if [ "$RC" = 1 ] && one_object &&
		jq -e --arg c "$4" '.error == $c and (.message | type) == "string" and (has("result") | not)' \
			"$T/o" >/dev/null 2>&1; then
		ok "$1: $4"
	else
		bad "$1: expected error $4, exit 1; got exit $RC"
		_t_show "$T/o" "$T/e"
	fi
}

# ---- list: what rpcd reads at start ----
"$PLUGIN" list >"$T/list" 2>"$T/e" </dev/null
check "list: exit 0, one JSON object" jq -se 'length == 1 and (.[0] | type) == "object"' "$T/list"
reads="status identity peers records exposures iocs dns services backups invites joins"
writes="invite_create invite_revoke join_approve join_reject revoke_node expose_add expose_remove ioc_approve ioc_reject"
check "list: exactly the 20 methods" jq -e --arg m "$reads $writes" \
	'(keys | sort) == ($m | split(" ") | sort)' "$T/list"
check "list: each signature is an object of sample values (string, 32-bit int, bool, array)" jq -e \
	'[.[] | type == "object" and ([.[] | . == "" or . == 32 or . == true or . == []] | all)] | all' "$T/list"
check "list: invite_create's signature" jq -e \
	'.invite_create == {"name":"","role":"","ttl_s":32,"auto_approve":true,"zone":""}' "$T/list"

# ---- a live mesh ----
mesh() { MN_BUILD=$B "$S/tools/mesh" "$@" -d "$T" -b "$B"; }
at_exit 'mesh stop >/dev/null 2>&1'
mesh start -n 3 -p $BASE >"$T/start.log" 2>&1 || { cat "$T/start.log"; fatal "mesh start"; }
all_alive() { for i in 1 2 3; do alive_ge "$i" 2 || return 1; done; }
wait_for 60 "3 daemons converge" all_alive
need on 2 publish svc mail --body '{"service":"mail","endpoint":"mx.node2.example.io","port":25}' >/dev/null
wait_for 30 "node2's svc mail reaches node1" has_key 1 svc mail
SOCK=$T/node1/api.sock
did3=$(cat "$T/node3/did")

ok_call "status" status '{}' '.name == "node1" and .alive >= 2'
ok_call "status with rpcd's empty table '{ }'" status '{ }' '.name == "node1"'
ok_call "status with no input at all" status '' '.name == "node1"'
ok_call "identity: name, did, role, version" identity '{}' \
	'.name == "node1" and (.did | startswith("did:key:z6Mk")) and .role == "master" and (.version | length > 0)'
ok_call "peers: node2 and node3 alive, with state, RTT and score" peers '{}' \
	'([.[] | select(.state == "alive")] | length) >= 2 and all(has("rtt_ms") and has("score") and has("name"))'
ok_call "records" records '{}' 'type == "array" and length >= 5'
ok_call "records of kind node" records '{"kind":"node"}' 'length >= 3 and all(.kind == "node")'
ok_call "exposures: own and mesh" exposures '{}' '(.own | type) == "array" and (.mesh | type) == "array"'
ok_call "dns: delegations and status" dns '{}' '(.delegations | type) == "array" and has("status")'
ok_call "services: node2's mail" services '{}' 'any(.key == "mail")'
ok_call "services of one name" services '{"service":"nope"}' 'length == 0'
ok_call "invites" invites '{}' 'type == "array"'
ok_call "joins (invitations waiting for approval)" joins '{}' 'type == "array"'
ok_call "backups: the mesh's snapshots (none yet)" backups '{"all":true}' 'type == "array" and length == 0'
# the ioc subsystem (no LAPI here: applied ip indicators stay queued):
# node2 publishes two of low confidence, node1 holds them for review
ok_call "iocs: none yet" iocs '{}' 'type == "array" and length == 0'
until_s=$(( $(date +%s) + 3600 ))
ioc_item() { printf '{"scope":"ip","value":"%s","action":"ban","scenario":"t","confidence":10,"valid_until":%s}' "$1" "$until_s"; }
need on 2 publish ioc b1 --body "{\"iocs\":[$(ioc_item 203.0.113.5),$(ioc_item 203.0.113.6)]}" >/dev/null
pending2() { rpc "$SOCK" iocs '{"state":"pending"}' && jq -e '.result | length == 2' "$T/o" >/dev/null; }
wait_for 30 "iocs: node2's two indicators pending on node1" pending2
id5=$(jq -r '.result[] | select(.value == "203.0.113.5") | .id' "$T/o")
id6=$(jq -r '.result[] | select(.value == "203.0.113.6") | .id' "$T/o")
ok_call "ioc_approve 203.0.113.5" ioc_approve "{\"id\":\"$id5\"}" '.value == "203.0.113.5" and .state == "queued"'
ok_call "ioc_reject 203.0.113.6" ioc_reject "{\"id\":\"$id6\"}" '.state == "refused" and .step == "trust_review"'
ok_call "iocs: nothing pending any more" iocs '{"state":"pending"}' 'length == 0'
err_call "ioc_approve of an unknown id" ioc_approve '{"id":"1"}' not_found
err_call "ioc_reject of an unknown id" ioc_reject '{"id":"1"}' not_found

# writes that need no WireGuard
ok_call "expose_add web" expose_add '{"service":"web","port":8080,"channels":"mesh"}' '.service == "web"'
ok_call "exposures shows it" exposures '{}' 'any(.own[]; .service == "web")'
ok_call "expose_remove web" expose_remove '{"service":"web"}' '.removed == true'
err_call "join_approve of an unknown invitation" join_approve '{"invitation":"00000000"}' invalid
err_call "join_reject of an unknown invitation" join_reject '{"invitation":"00000000","reason":"no"}' invalid
err_call "invite_create without WireGuard (the daemon's sentence)" invite_create '{"name":"x"}' forbidden
has_wg_sentence() { jq -e '.message | test("WireGuard")' "$T/o" >/dev/null; }
check "...which says WireGuard is needed" has_wg_sentence
err_call "revoke_node of something that is not a key" revoke_node '{"node":"node3"}' invalid_argument
ok_call "revoke_node node3" revoke_node "{\"node\":\"$did3\",\"reason\":\"test\"}" '.kind == "revoke"'
revoked_on_2() { json_ok 'length >= 1' on 2 records revoke --json; }
wait_for 30 "the revocation reaches node2" revoked_on_2

# ---- bad input: one error object each ----
err_call "not JSON" status 'this is not json' bad_input
err_call "an array" status '[{"a":1}]' bad_input
err_call "a string" status '"status"' bad_input
err_call "trailing data after the object" status '{} {}' bad_input
err_call "a truncated object" status '{"kind":' bad_input
err_call "a NUL byte" records "$(printf '{"kind":"x"}\001')" bad_input
deep=$(printf '%0.s[' $(seq 100))
err_call "nesting 100 deep" status "{\"a\":$deep" bad_input
head -c 1048576 /dev/zero | tr '\0' ' ' >"$T/big"
printf '{"kind":"%s"}' "$(head -c 70000 /dev/zero | tr '\0' 'a')" >"$T/big2"
rpc_file() { MIRRORNET_SOCKET=$SOCK "$PLUGIN" call "$1" <"$2" >"$T/o" 2>"$T/e"; RC=$?; }
rpc_file records "$T/big"
{ [ "$RC" = 1 ] && one_object && jq -e '.error == "too_big"' "$T/o" >/dev/null; } &&
	ok "1 MiB of input: too_big" || { bad "1 MiB: exit $RC"; _t_show "$T/o"; }
rpc_file records "$T/big2"
{ [ "$RC" = 1 ] && one_object && jq -e '.error == "too_big"' "$T/o" >/dev/null; } &&
	ok "a 70 kB string: too_big" || { bad "70 kB: exit $RC"; _t_show "$T/o"; }
err_call "wrong type: kind a number" records '{"kind":7}' invalid_argument
err_call "wrong type: port a string" expose_add '{"service":"web","port":"80"}' invalid_argument
err_call "wrong type: mirrors not strings" expose_add '{"service":"web","port":80,"mirrors":[1]}' invalid_argument
err_call "wrong type: auto_approve a string" invite_create '{"name":"x","auto_approve":"yes"}' invalid_argument
err_call "a missing required argument" invite_revoke '{}' invalid_argument
err_call "an unknown argument" peers '{"all":true}' invalid_argument
err_call "an unknown method" nosuch '{}' unknown_method
err_call "a method name with a slash" '../status' '{}' unknown_method
err_call "the daemon's own refusal passed on" records '{"kind":"nosuchkind"}' invalid
err_call "the daemon down" status '{}' daemon_unreachable "$T/none.sock"
"$PLUGIN" bogus </dev/null >"$T/o" 2>"$T/e"
rc=$?
[ "$rc" = 2 ] && [ ! -s "$T/o" ] && ok "a command line rpcd never makes: usage on stderr, exit 2" ||
	bad "bogus command line: exit $rc"
check "node1 still serves after all that" json_ok '.name == "node1"' on 1 status --json

# ---- invitations: a mesh root with WireGuard (root, wireguard-go) ----
wg_root "$T/wg"
case $? in
2) skip "invitations (need root, ip, wireguard-go and /dev/net/tun for a mesh root with WireGuard)"; finish ;;
0) ;;
*) fatal "no mesh root with WireGuard" ;;
esac
SOCK=$T/wg/api.sock
ok_call "identity: its WireGuard key" identity '{}' '(.wireguard.public_key | length) == 64'
ok_call "invite_create" invite_create '{"name":"node7","ttl_s":3600}' \
	'(.token | startswith("mirrornet://")) and (.id | length > 0)'
token=$(jq -r '.result.token' "$T/o")
inv=$(jq -r '.result.id' "$T/o")
check "the plugin wrote nothing on stderr" test ! -s "$T/e"
ok_call "invites lists it, open, without its token" invites '{}' \
	"any(.id == \"$inv\" and .state == \"open\") and (tostring | contains(\"mirrornet://\") | not)"
ok_call "invites of state open" invites '{"state":"open"}' "any(.id == \"$inv\")"
ok_call "joins: none waiting" joins '{}' 'length == 0'
err_call "join_approve of an open invitation (no join waiting)" join_approve "{\"invitation\":\"$inv\"}" conflict
ok_call "invite_revoke" invite_revoke "{\"invitation\":\"$inv\"}" '.state == "revoked"'
ok_call "invites: revoked" invites '{}' "any(.id == \"$inv\" and .state == \"revoked\")"
ok_call "invite_revoke again: the same answer" invite_revoke "{\"invitation\":\"$inv\"}" '.state == "revoked"'
secret_logged() { grep -rqF "${token#mirrornet://}" "$T/wg/log" "$T"/node*/log; }
if secret_logged; then bad "the invitation token is in a daemon log"; else ok "the token is in no log"; fi
finish
