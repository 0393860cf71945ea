'use strict';
'require baseclass';
'require rpc';

/*
 * What the MirrorNet views share: one rpc.declare per method of the rpcd
 * object luci.mirrornet (mirrornetctl rpcd, docs/luci.md), the unwrapping
 * of its answers ({result} or {error, message}) and small formatters.
 */

var OBJECT = 'luci.mirrornet';

function declare(method, params) {
	return rpc.declare({ object: OBJECT, method: method, params: params || [] });
}

var calls = {
	status: declare('status'),
	identity: declare('identity'),
	peers: declare('peers'),
	exposures: declare('exposures'),
	iocs: declare('iocs', [ 'state' ]),
	dns: declare('dns'),
	invites: declare('invites', [ 'state' ]),
	joins: declare('joins'),
	invite_create: declare('invite_create', [ 'name', 'role', 'ttl_s', 'auto_approve', 'zone' ]),
	invite_revoke: declare('invite_revoke', [ 'invitation' ]),
	join_approve: declare('join_approve', [ 'invitation' ]),
	join_reject: declare('join_reject', [ 'invitation', 'reason' ]),
	revoke_node: declare('revoke_node', [ 'node', 'reason' ]),
	expose_add: declare('expose_add', [ 'service', 'port', 'proto', 'backend', 'domain', 'channels' ]),
	expose_remove: declare('expose_remove', [ 'service', 'channel' ]),
	ioc_approve: declare('ioc_approve', [ 'id' ]),
	ioc_reject: declare('ioc_reject', [ 'id' ])
};

/* An answer's result, or an Error carrying the plugin's code and message. */
function result(res) {
	if (res && typeof res.error == 'string') {
		var e = new Error(res.message || res.error);
		e.code = res.error;
		throw e;
	}
	if (!res || !('result' in res))
		throw new Error(_('No answer from luci.mirrornet'));
	return res.result;
}

/* Call METHOD with its arguments: a promise of {ok, value} or {ok: false,
 * code, message}; never rejected, so one failing call does not blank a page. */
function settle(method) {
	var args = Array.prototype.slice.call(arguments, 1);
	return calls[method].apply(null, args).then(function(res) {
		return { ok: true, value: result(res) };
	}).catch(function(e) {
		return { ok: false, code: e.code || 'rpc', message: e.message };
	});
}

function age(seconds) {
	if (seconds == null)
		return _('never');
	if (seconds < 60)
		return _('%d s ago').replace('%d', Math.round(seconds));
	if (seconds < 3600)
		return _('%d min ago').replace('%d', Math.round(seconds / 60));
	if (seconds < 86400)
		return _('%d h ago').replace('%d', Math.round(seconds / 3600));
	return _('%d days ago').replace('%d', Math.round(seconds / 86400));
}

function date(unix) {
	return unix ? new Date(unix * 1000).toLocaleString() : '-';
}

function shortDid(did) {
	return did && did.length > 24 ? did.substr(0, 16) + '…' + did.substr(-6) : (did || '');
}

/* A table: headers, rows (arrays of cells), the text when there are none. */
function table(id, headers, rows, empty) {
	var t = E('table', { 'class': 'table', 'id': id }, [
		E('tr', { 'class': 'tr table-titles' }, headers.map(function(h) { return E('th', { 'class': 'th' }, h); }))
	]);
	rows.forEach(function(r) {
		t.appendChild(E('tr', { 'class': 'tr', 'data-key': r.key || '' },
			r.cells.map(function(c) { return E('td', { 'class': 'td' }, c); })));
	});
	if (!rows.length)
		t.appendChild(E('tr', { 'class': 'tr placeholder' }, E('td', { 'class': 'td' }, E('em', empty))));
	return t;
}

/* A note in place of what a failed call would have shown. */
function failure(what, r) {
	var text = r.code == 'unavailable'
		? _('%s: not available on this router (%s)').replace('%s', what).replace('%s', r.message)
		: what + ': ' + r.message;
	return E('div', { 'class': 'alert-message warning', 'data-error': r.code }, text);
}

/* Put node in wrap instead of what it held (a poll's refresh). */
function replace(wrap, node) {
	while (wrap.firstChild)
		wrap.removeChild(wrap.firstChild);
	wrap.appendChild(node);
}

return baseclass.extend({
	calls: calls,
	result: result,
	settle: settle,
	age: age,
	date: date,
	shortDid: shortDid,
	table: table,
	failure: failure,
	replace: replace
});
