// `mirrornetctl mcp` driven by the official MCP client SDK (tests/integration/test_mcp.sh).
// Usage: node mcp_check.mjs MIRRORNETCTL SOCKET read|write|down
// Prints "ok: WHAT" / "FAIL: WHAT" lines for the shell harness; exit 0.
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { ResultSchema, LATEST_PROTOCOL_VERSION } from '@modelcontextprotocol/sdk/types.js';

const [ctl, sock, mode] = process.argv.slice(2);
const ok = (w) => console.log(`ok: ${w}`);
const bad = (w) => console.log(`FAIL: ${w}`);
const check = (cond, w, seen) => (cond ? ok(w) : bad(w + (seen === undefined ? '' : `: ${JSON.stringify(seen).slice(0, 300)}`)));
const READ = ['dns', 'dns_zone', 'exposures', 'ioc_explain', 'iocs', 'mail', 'mail_mx', 'mesh_status', 'peers', 'records', 'services', 'wireguard_status'];
const WRITE = ['expose_add', 'expose_remove', 'ioc_add', 'ioc_approve', 'ioc_reject'];

async function code(p) {
  try { await p; return 'no error'; } catch (e) { return e.code; }
}
const text = (r) => r.content.map((c) => c.text).join('');

const transport = new StdioClientTransport({
  command: ctl, args: ['mcp'], env: { ...process.env, MIRRORNET_SOCKET: sock }, stderr: 'ignore',
});
const client = new Client({ name: 'mirrornet-test', version: '1.0.0' });
await client.connect(transport);
const v = client.getServerVersion();
check(v && v.name === 'mirrornet', 'initialize: serverInfo names mirrornet', v);
ok(`initialize: protocol negotiated (the SDK's newest is ${LATEST_PROTOCOL_VERSION})`);

const names = (await client.listTools()).tools.map((t) => t.name).sort();
check(!names.some((n) => /invite|join|revoke/.test(n)), 'no tool for invitations, joins or revocation', names);
if (mode === 'read') {
  check(JSON.stringify(names) === JSON.stringify(READ), 'tools/list: the read tools only (mcp_write no)', names);
  const st = await client.callTool({ name: 'mesh_status', arguments: {} });
  check(!st.isError && JSON.parse(text(st)).did?.startsWith('did:key:'), 'mesh_status: this node\'s did', text(st));
  const pe = await client.callTool({ name: 'peers' });
  const alive = JSON.parse(text(pe)).filter((p) => p.state === 'alive').length;
  check(!pe.isError && alive >= 2, `peers: ${alive} alive`, text(pe));
  const rec = await client.callTool({ name: 'records', arguments: { kind: 'node' } });
  const recs = JSON.parse(text(rec));
  check(!rec.isError && recs.length >= 3 && recs.every((r) => r.kind === 'node'), `records kind node: ${recs.length}`, text(rec));
  const sv = await client.callTool({ name: 'services', arguments: { service: 'mail' } });
  const svs = JSON.parse(text(sv));
  check(!sv.isError && svs.length === 1 && svs[0].body.endpoint === 'mx.node2.example.io', 'services mail: the record published on node2', text(sv));
  // that record names a host, not node2's mesh address: the mail subsystem refuses it
  const ml = await client.callTool({ name: 'mail' });
  const mls = JSON.parse(text(ml));
  check(!ml.isError && Array.isArray(mls.domains) && mls.domains.length === 0 && Array.isArray(mls.backups), 'mail: no domain from a record whose endpoint is not its mesh address', text(ml));
  const mx = await client.callTool({ name: 'mail_mx', arguments: { domain: 'node2.example.io' } });
  check(mx.isError && /no box/.test(text(mx)), `mail_mx of a domain nobody holds: isError, saying why (${text(mx).slice(0, 60)})`);
  const wg = await client.callTool({ name: 'wireguard_status' });
  const w = JSON.parse(text(wg));
  check(!wg.isError && 'device' in w && Array.isArray(w.peers) && w.peers.length >= 2, 'wireguard_status: device and peers', w);
  const ex = await client.callTool({ name: 'exposures' });
  check(!ex.isError && typeof JSON.parse(text(ex)) === 'object', 'exposures: an answer', text(ex));
  const dn = await client.callTool({ name: 'dns' });
  check(!dn.isError && Array.isArray(JSON.parse(text(dn))), 'dns: the delegations (none in this mesh)', text(dn));
  const dz = await client.callTool({ name: 'dns_zone', arguments: { zone: 'example.io' } });
  check(dz.isError && text(dz).length > 0, `dns_zone without a DNS server: isError, saying why (${text(dz).slice(0, 60)})`);
  check(await code(client.callTool({ name: 'dns_zone', arguments: {} })) === -32602, 'dns_zone without its zone: -32602');
  check(await code(client.callTool({ name: 'nope' })) === -32602, 'unknown tool: -32602');
  check(await code(client.callTool({ name: 'records', arguments: { kind: 7 } })) === -32602, 'argument of the wrong type: -32602');
  check(await code(client.callTool({ name: 'records', arguments: { bogus: 'x' } })) === -32602, 'unknown argument: -32602');
  check(await code(client.callTool({ name: 'expose_add', arguments: { service: 'x', port: 1 } })) === -32602,
    'a write tool while mcp_write is no: -32602 (not offered)');
  check(await code(client.request({ method: 'resources/list' }, ResultSchema)) === -32601, 'unknown method: -32601');
  const io = await client.callTool({ name: 'iocs', arguments: {} });
  check(typeof text(io) === 'string' && text(io).length > 0, `iocs: an answer (isError ${io.isError}: ${text(io).slice(0, 60)})`);
  const ie = await client.callTool({ name: 'ioc_explain', arguments: { value: '192.168.1.1' } });
  check(!ie.isError && /192\.168\.1\.1/.test(text(ie)), 'ioc_explain 192.168.1.1: the policy\'s answer', text(ie));
  const bogus = await client.callTool({ name: 'records', arguments: { kind: 'nokind' } });
  check(bogus.isError && /kind/.test(text(bogus)), 'the daemon refusing: isError with its message', text(bogus));
} else if (mode === 'write') {
  check(JSON.stringify(names) === JSON.stringify([...READ, ...WRITE].sort()), 'tools/list with mcp_write yes: the write tools too', names);
  const add = await client.callTool({ name: 'expose_add', arguments: { service: 'web', port: 8080, channels: 'mesh' } });
  check(!add.isError, 'expose_add web', text(add));
  const ex = await client.callTool({ name: 'exposures' });
  check(text(ex).includes('"web"'), 'exposures lists web', text(ex));
  const rm = await client.callTool({ name: 'expose_remove', arguments: { service: 'web' } });
  check(!rm.isError, 'expose_remove web', text(rm));
  const miss = await code(client.callTool({ name: 'expose_add', arguments: { port: 1 } }));
  check(miss === -32602, 'a required argument missing: -32602', miss);
} else if (mode === 'down') {
  check(JSON.stringify(names) === JSON.stringify(READ), 'daemon down: tools/list still answers (read tools)', names);
  const pe = await client.callTool({ name: 'peers' });
  check(pe.isError && /not reachable/.test(text(pe)), 'daemon down: a tool call is isError, saying so', text(pe));
}
await client.close();
