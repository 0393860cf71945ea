// The HTTP side of the LuCI test harness (tests/integration/test_luci.sh).
//
// REAL here: the files of openwrt/luci-app-mirrornet (the views, their
// modules, the menu and the ACL, read as shipped) and the rpcd plugin (the
// package's wrapper, exec'd per call as rpcd does: `list` once, `call
// METHOD` with the arguments on stdin, its first JSON value on stdout as the
// reply, anything but an object refused as rpcd refuses it).
// STAND-IN (not LuCI, not uhttpd, not rpcd): this server plays uhttpd's
// ubus JSON-RPC endpoint (/ubus) and rpcd's session and ACL check (a session
// holding the read and/or write grants of luci-app-mirrornet.json), serves
// the page a menu entry leads to (the view path from menu.d) with
// tests/js/luci/standin.js in place of LuCI's runtime.
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { spawn, execFileSync } from 'node:child_process';

const OBJECT = 'luci.mirrornet';

// ubus status codes (libubus): what rpcd/uhttpd put first in a result
const UBUS = { OK: 0, INVALID_ARGUMENT: 2, METHOD_NOT_FOUND: 3, NOT_FOUND: 4, NO_DATA: 5, PERMISSION_DENIED: 6 };

// opts: pkg (the package directory), plugin (an executable), socket,
// grants (['read', 'write'])
export async function startHarness(opts) {
  const htdocs = path.join(opts.pkg, 'htdocs');
  const menu = JSON.parse(fs.readFileSync(path.join(opts.pkg, 'root/usr/share/luci/menu.d/luci-app-mirrornet.json')));
  const acl = JSON.parse(fs.readFileSync(path.join(opts.pkg, 'root/usr/share/rpcd/acl.d/luci-app-mirrornet.json')));
  const env = { ...process.env, MIRRORNET_SOCKET: opts.socket };
  const listed = JSON.parse(execFileSync(opts.plugin, ['list'], { env }).toString());
  const allowed = new Set();
  for (const g of opts.grants || ['read', 'write'])
    for (const m of acl['luci-app-mirrornet'][g]?.ubus?.[OBJECT] || []) allowed.add(m);
  const calls = {};   // method -> count, for the test

  function plugin(method, args) {
    return new Promise((resolve) => {
      const p = spawn(opts.plugin, ['call', method], { env, stdio: ['pipe', 'pipe', 'pipe'] });
      let out = '';
      p.stdout.on('data', (d) => { out += d; });
      p.stderr.on('data', () => {});
      p.stdin.on('error', () => {});
      p.stdin.end(JSON.stringify(args));
      p.on('close', () => {
        // rpcd: the first JSON value; an object is the reply, else INVALID_ARGUMENT; none: NO_DATA
        const text = out.trim();
        if (!text) return resolve([UBUS.NO_DATA]);
        try {
          const v = JSON.parse(text.split('\n')[0]);
          resolve(v && typeof v === 'object' && !Array.isArray(v) ? [UBUS.OK, v] : [UBUS.INVALID_ARGUMENT]);
        } catch {
          resolve([UBUS.INVALID_ARGUMENT]);
        }
      });
    });
  }

  async function ubus(msg) {
    if (msg.method !== 'call' || !Array.isArray(msg.params) || msg.params.length < 3)
      return { error: { code: -32600, message: 'Invalid request' } };
    const [, object, method, args] = msg.params;
    if (object !== OBJECT) return { result: [UBUS.NOT_FOUND] };
    if (!(method in listed)) return { result: [UBUS.METHOD_NOT_FOUND] };
    if (!allowed.has(method)) return { result: [UBUS.PERMISSION_DENIED] };
    calls[method] = (calls[method] || 0) + 1;
    return { result: await plugin(method, args || {}) };
  }

  function page(viewPath, title) {
    return `<!DOCTYPE html><html><head><meta charset="utf-8"><title>${title} - LuCI (test stand-in)</title></head>
<body><header>LuCI stand-in: ${title}</header><div id="notifications"></div><div id="view"></div>
<script src="/standin.js"></script>
<script>L.require('view.${viewPath.replace(/\//g, '.')}').catch(function(e) {
  document.getElementById('view').setAttribute('data-ready', 'error');
  document.getElementById('view').textContent = String(e);
});</script></body></html>`;
  }

  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://x');
    const send = (code, type, body) => { res.writeHead(code, { 'Content-Type': type }); res.end(body); };
    if (req.method === 'POST' && url.pathname.replace(/\/$/, '') === '/ubus') {
      let body = '';
      req.on('data', (d) => { body += d; });
      req.on('end', async () => {
        let msg;
        try { msg = JSON.parse(body); } catch { return send(200, 'application/json', JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32700, message: 'Parse error' } })); }
        const r = await ubus(msg);
        send(200, 'application/json', JSON.stringify({ jsonrpc: '2.0', id: msg.id, ...r }));
      });
      return;
    }
    if (url.pathname === '/standin.js')
      return send(200, 'text/javascript', fs.readFileSync(new URL('./luci/standin.js', import.meta.url)));
    if (url.pathname.startsWith('/cgi-bin/luci/')) {
      const entry = menu[url.pathname.slice('/cgi-bin/luci/'.length)];
      if (!entry || entry.action?.type !== 'view') return send(404, 'text/plain', 'no such menu entry');
      return send(200, 'text/html', page(entry.action.path, entry.title));
    }
    if (url.pathname.startsWith('/luci-static/')) {
      const file = path.normalize(path.join(htdocs, url.pathname));
      if (!file.startsWith(htdocs + path.sep) || !fs.existsSync(file)) return send(404, 'text/plain', 'not found');
      return send(200, 'text/javascript', fs.readFileSync(file));
    }
    send(404, 'text/plain', 'not found');
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${server.address().port}`,
    calls,
    listed,
    close: () => new Promise((r) => server.close(r)),
  };
}
