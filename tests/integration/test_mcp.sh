#!/bin/bash
# `mirrornetctl mcp` (docs/mcp.md): an MCP server on stdio, driven by the
# official MCP client SDK (npm @modelcontextprotocol/sdk, installed by
# tools/deps into tests/js) against a live 3-daemon mesh on loopback:
# initialize, tools/list (read tools only; with mcp_write yes the write
# tools too; never invitations, joins or revocation), each tool called,
# -32602 for an unknown tool or bad arguments, -32601 for an unknown method,
# the daemon's refusal and the daemon down as isError. Raw lines: garbage is
# -32700 and the server goes on, a line over 1 MiB is refused once, a batch
# is -32600, notifications get no answer, EOF exits 0.
. "$(dirname "$0")/../lib.sh"
B=${MN_BUILD:?}
S=${MN_SOURCE:?}
need_cmd node jq
[ -d "$S/tests/js/node_modules/@modelcontextprotocol/sdk" ] ||
	skip_all "the MCP SDK is not installed (tools/deps installs it into tests/js)"
tmpdir mn-mcp-test
BASE=$(( 21000 + ($$ % 1000) * 10 ))
MN_SOCKETS=$T/node%s/api.sock
mesh() { MN_BUILD=$B "$S/tools/mesh" "$@" -d "$T" -b "$B"; }
at_exit 'mesh stop >/dev/null 2>&1'
mesh start -n 3 -p $BASE > "$T/start.log" 2>&1 || { cat "$T/start.log"; fatal "mesh start"; }
all_alive() { for i in 1 2 3; do alive_ge "$i" 2 || return 1; done; }
wait_for 60 "3 daemons converge" all_alive
need on 2 publish svc mail --body '{"service":"mail","endpoint":"mx.node2.example.io","port":25}'
wait_for 30 "node2's svc mail reaches node1" has_key 1 svc mail

sdk() {   # sdk MODE SOCKET: the SDK client's checks, counted here
	local line
	node "$S/tests/js/mcp_check.mjs" "$B/mirrornetctl" "$2" "$1" >"$T/sdk.out" 2>"$T/sdk.err" ||
		{ bad "the SDK client ($1) exited non-zero"; _t_show "$T/sdk.err"; }
	while IFS= read -r line; do
		case $line in
		"ok: "*) ok "$1: ${line#ok: }" ;;
		"FAIL: "*) bad "$1: ${line#FAIL: }" ;;
		esac
	done <"$T/sdk.out"
	grep -q . "$T/sdk.out" || { bad "the SDK client ($1) printed nothing"; _t_show "$T/sdk.err"; }
}
sdk read "$T/node1/api.sock"

# raw lines: one answer per request line, in order
mcp_raw() { MIRRORNET_SOCKET=$T/node1/api.sock "$B/mirrornetctl" mcp 2>/dev/null; }
{
	echo '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"1999-01-01","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}'
	echo '{"jsonrpc":"2.0","method":"notifications/initialized"}'
	echo 'this is not json'
	echo '{"jsonrpc":"2.0","id":2,"method":"ping"}'
	echo '[{"jsonrpc":"2.0","id":3,"method":"ping"}]'
	head -c 1100000 /dev/zero | tr '\0' 'x'; echo
	echo '{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"peers","arguments":{}}}'
	echo '{"jsonrpc":"2.0","id":5,"method":"tools/call","params":"x"}'
	printf '%s' '{"jsonrpc":"2.0","id":6,"method":"ping"}'   # no newline before EOF
} | mcp_raw >"$T/raw.out"
rc=$?
[ "$rc" = 0 ] && ok "EOF: exit 0" || bad "EOF: exit $rc"
line() { sed -n "${1}p" "$T/raw.out"; }
[ "$(wc -l <"$T/raw.out")" = 8 ] && ok "8 answers to 8 requests (none to the notification)" ||
	{ bad "answers: $(wc -l <"$T/raw.out")"; _t_show "$T/raw.out"; }
line 1 | jq -e '.id == 1 and .result.protocolVersion == "2025-11-25" and .result.capabilities.tools' >/dev/null &&
	ok "initialize with an unknown version: our newest, tools capability" || bad "initialize: $(line 1)"
line 2 | jq -e '.id == null and .error.code == -32700' >/dev/null && ok "garbage: -32700" || bad "garbage: $(line 2)"
line 3 | jq -e '.id == 2 and .result == {}' >/dev/null && ok "...and the server goes on (ping)" || bad "ping: $(line 3)"
line 4 | jq -e '.error.code == -32600' >/dev/null && ok "a batch: -32600" || bad "batch: $(line 4)"
line 5 | jq -e '.error.code == -32700' >/dev/null && ok "a line over 1 MiB: -32700, once" || bad "long line: $(line 5)"
line 6 | jq -e '.id == 4 and .result.isError == false and (.result.content[0].text | fromjson | length) >= 2' \
	>/dev/null && ok "tools/call peers after all that" || bad "peers: $(line 6 | cut -c1-200)"
line 7 | jq -e '.id == 5 and .error.code == -32602' >/dev/null && ok "params not an object: -32602" || bad "params: $(line 7)"
line 8 | jq -e '.id == 6 and .result == {}' >/dev/null && ok "a last line without newline is answered" || bad "last: $(line 8)"

# write tools: offered once the config says mcp_write yes (SIGHUP)
echo "mcp_write yes" >>"$T/node1/mirrornetd.conf"
kill -HUP "$(cat "$T/node1/pid")"
write_on() { json_ok '.mcp.write == true' on 1 status --json; }
wait_for 20 "mcp_write yes after a reload" write_on
sdk write "$T/node1/api.sock"
gone_web() { json_ok '[.[] | select(.key == "web" and (.tombstone | not))] | length == 0' on 1 records expose --json; }
wait_for 10 "expose_remove withdrew the record" gone_web

# the daemon down
sdk down "$T/none.sock"
finish
