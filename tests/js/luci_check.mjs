// The MirrorNet LuCI views in a real headless Chromium (Debian's), driven by
// playwright-core, against the rpcd plugin and live daemons
// (tests/integration/test_luci.sh; what is real and what is a stand-in:
// luci_harness.mjs and luci/standin.js).
// Usage: node luci_check.mjs mesh|wg PKG PLUGIN SOCKET CHROMIUM TMPDIR
// Prints "ok: WHAT" / "FAIL: WHAT" lines for the shell harness; exit 0.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startHarness } from './luci_harness.mjs';

const [mode, pkg, plugin, socket, exe, tmp] = process.argv.slice(2);
const ok = (w) => console.log(`ok: ${w}`);
const bad = (w) => console.log(`FAIL: ${w}`);
const check = (cond, w, seen) => (cond ? ok(w) : bad(w + (seen === undefined ? '' : `: ${String(seen).slice(0, 300)}`)));
const T = 15000;   // ms: the bound of every wait in the page

// zbarimg's reading of a PNG: the text of the one QR code in it, or null
function zbar(png) {
  try {
    return execFileSync('zbarimg', ['--quiet', '--raw', '-Sdisable', '-Sqrcode.enable', png]).toString().replace(/\n$/, '');
  } catch {
    return null;
  }
}

async function open(page, h, entry) {
  await page.goto(`${h.url}/cgi-bin/luci/admin/services/mirrornet/${entry}`);
  await page.waitForSelector('#view[data-ready]', { timeout: T });
  const state = await page.getAttribute('#view', 'data-ready');
  check(state === '1', `${entry}: the view loads and renders`, state === '1' ? '' : await page.textContent('#view'));
}

async function rows(page, sel) {
  return page.$$eval(`${sel} tr[data-key]`, (trs) => trs.map((tr) => ({
    key: tr.getAttribute('data-key'), cells: [...tr.querySelectorAll('td')].map((td) => td.textContent),
  })));
}

// wait (bounded) until fn() is true; its last value
async function until(fn, ms = T) {
  const end = Date.now() + ms;
  let v;
  while (!(v = await fn()) && Date.now() < end) await new Promise((r) => setTimeout(r, 200));
  return v;
}

const browser = await chromium.launch({ executablePath: exe, headless: true, args: ['--no-sandbox'] });
const harness = await startHarness({ pkg, plugin, socket });
const page = await browser.newPage();
const errors = [];
page.on('pageerror', (e) => errors.push(e.message));

try {
  if (mode === 'mesh') {
    // ---- overview: live peers ----
    await open(page, harness, 'overview');
    const peers = await rows(page, '#mirrornet-peers');
    const names = peers.map((r) => r.cells[0]).sort();
    check(names.join(',') === 'node2,node3', 'overview: the peers node2 and node3 by name', names);
    check(peers.every((r) => r.cells[3] === 'alive'), 'overview: both alive', peers.map((r) => r.cells[3]));
    check(peers.every((r) => /^\d+ ms$|^-$/.test(r.cells[4])), 'overview: an RTT column', peers.map((r) => r.cells[4]));
    check(peers.every((r) => /^score -?\d/.test(r.cells[5])), 'overview: trust (peer score)', peers.map((r) => r.cells[5]));
    check(peers.every((r) => r.cells[6] === '-'), 'overview: handshake "-" without WireGuard', peers.map((r) => r.cells[6]));
    const me = await page.textContent('#mirrornet-status');
    check(me.includes('node1') && me.includes('master'), 'overview: this node, node1, master', me);
    const before = harness.calls.peers || 0;
    const polled = await until(() => (harness.calls.peers || 0) > before, 12000);
    check(polled, 'overview: poll.add refreshes the peers (a new call within 12 s)');
    check((await rows(page, '#mirrornet-peers')).length === 2, 'overview: still two peers after the refresh');

    // ---- threat indicators: the ioc subsystem, with nothing held yet ----
    await open(page, harness, 'iocs');
    const notes = await page.$$eval('[data-error]', (n) => n.map((x) => x.getAttribute('data-error')));
    check(notes.length === 0, 'iocs: no section says "not available"', notes);
    check(await page.isVisible('#mirrornet-iocs-pending tr.placeholder') && await page.isVisible('#mirrornet-iocs tr.placeholder'),
      'iocs: both tables there, empty (nothing waits for review, no indicators)');

    // ---- exposures: add through the form, shown, removed ----
    await open(page, harness, 'exposures');
    await page.fill('#mirrornet-expose-service', 'shop');
    await page.fill('#mirrornet-expose-port', '8081');
    await page.click('#mirrornet-expose-add');
    const added = await until(async () => (await rows(page, '#mirrornet-expose-own')).find((r) => r.key === 'shop'));
    check(added && added.cells[1] === '8081' && added.cells[5] === 'mesh', 'exposures: "shop" added from the form, port 8081, channel mesh',
      JSON.stringify(added));
    const inMesh = await until(async () => (await rows(page, '#mirrornet-expose-mesh')).find((r) => r.key === 'shop'));
    check(inMesh && inMesh.cells[1] === 'node1', 'exposures: and in the mesh list, by node1', JSON.stringify(inMesh));
    check(await page.isVisible('#mirrornet-zones'), 'exposures: the zones table');
    await page.click('#mirrornet-expose-own tr[data-key="shop"] button[data-action="remove"]');
    const gone = await until(async () => !(await rows(page, '#mirrornet-expose-own')).some((r) => r.key === 'shop'));
    check(gone, 'exposures: removed with its button');

    // ---- members: an invitation this node cannot make (no WireGuard) ----
    await open(page, harness, 'members');
    const members = (await rows(page, '#mirrornet-members')).map((r) => r.cells[0]).sort();
    check(members.join(',') === 'node2,node3', 'members: node2 and node3', members);
    check(await page.isVisible('#mirrornet-joins tr.placeholder'), 'members: no join waiting');
    await page.click('#mirrornet-invite');
    await page.fill('#mirrornet-invite-name', 'node9');
    await page.click('#mirrornet-invite-create');
    const note = await until(() => page.$eval('#notifications', (n) => n.textContent).catch(() => ''));
    check(/WireGuard/.test(note), 'members: the daemon\'s refusal shown as a notification', note);

    // ---- the QR encoder: versions 1 to 27, read back by zbarimg ----
    for (const n of [1, 20, 77, 150, 231, 400, 1000]) {
      const text = Array.from({ length: n }, (_, i) => 'mirrornet://ABCxyz-_0123456789'[i % 31]).join('');
      const v = await page.evaluate(async (t) => {
        const qr = await L.require('mirrornet.qrcode');
        const box = document.getElementById('qr-test') || document.body.appendChild(Object.assign(document.createElement('div'), { id: 'qr-test' }));
        box.textContent = '';
        const el = qr.svg(t, 3);
        box.appendChild(el);
        return el.getAttribute('data-qr-version');
      }, text);
      const png = path.join(tmp, `qr-${n}.png`);
      await page.locator('#qr-test svg').screenshot({ path: png });
      const read = zbar(png);
      check(read === text, `qrcode: ${n} bytes (version ${v}) read back by zbarimg`, read);
    }

    // ---- a session with the read grant only ----
    const ro = await startHarness({ pkg, plugin, socket, grants: ['read'] });
    await open(page, ro, 'exposures');
    await page.fill('#mirrornet-expose-service', 'nope');
    await page.click('#mirrornet-expose-add');
    const denied = await until(() => page.$eval('#notifications', (n) => n.textContent).catch(() => ''));
    check(/Permission denied/.test(denied) && !ro.calls.expose_add, 'read grant only: expose_add refused by the ACL', denied);
    await ro.close();
  } else if (mode === 'wg') {
    // ---- the invitation dialog on a mesh root with WireGuard ----
    await open(page, harness, 'members');
    await page.click('#mirrornet-invite');
    await page.fill('#mirrornet-invite-name', 'node8');
    await page.click('#mirrornet-invite-create');
    await page.waitForSelector('#mirrornet-token', { timeout: T });
    const token = await page.inputValue('#mirrornet-token');
    check(token.startsWith('mirrornet://'), 'invite: the dialog shows the token', token.slice(0, 20));
    const png = path.join(tmp, 'invite-qr.png');
    await page.locator('#mirrornet-qr svg').screenshot({ path: png });
    const read = zbar(png);
    check(read === token, `invite: its QR code (version ${await page.getAttribute('#mirrornet-qr svg', 'data-qr-version')}) reads back as the token`, read);
    await page.click('#mirrornet-token-close');
    const inv = await until(async () => (await rows(page, '#mirrornet-invites')).find((r) => r.cells[1] === 'node8'));
    check(inv && inv.cells[4] === 'open', 'invite: listed, open', JSON.stringify(inv));
    const html = await page.content();
    check(!html.includes(token), 'invite: the token is gone from the page once the dialog is closed');
    await page.click(`#mirrornet-invites tr[data-key="${inv.key}"] button[data-action="revoke-invite"]`);
    const rev = await until(async () => (await rows(page, '#mirrornet-invites')).find((r) => r.key === inv.key && r.cells[4] === 'revoked'));
    check(rev, 'invite: revoked with its button');
  }
  check(errors.length === 0, 'no JavaScript error in the page', errors.join('; '));
} catch (e) {
  bad(`the browser check stopped: ${e.message.split('\n')[0]}`);
} finally {
  await harness.close();
  await browser.close();
}
