'use strict';
'require view';
'require ui';
'require poll';
'require mirrornet.common as mn';
'require mirrornet.qrcode as qrcode';

/*
 * MirrorNet members: invite a router (a dialog that shows the invitation
 * token and its QR code: the token is a secret until it is used, so it is
 * shown once, here, and nowhere else), the invitations made here, the joins
 * waiting for approval (approve, reject), and the members (revoke).
 * Methods: invites, joins, peers; invite_create, invite_revoke,
 * join_approve, join_reject, revoke_node.
 */

var TTLS = [ [ 3600, '1 h' ], [ 86400, '24 h' ], [ 604800, '7 days' ] ];

function notify(r, what) {
	if (!r.ok)
		ui.addNotification(null, E('p', what + ': ' + r.message), 'danger');
	return r.ok;
}

return view.extend({
	load: function() {
		return Promise.all([ mn.settle('joins'), mn.settle('invites'), mn.settle('peers') ]);
	},

	act: function(what, method) {
		var args = Array.prototype.slice.call(arguments, 2);
		return mn.settle.apply(null, [ method ].concat(args)).then(L.bind(function(r) {
			if (notify(r, what))
				return this.refresh();
		}, this));
	},

	joinsTable: function(r) {
		if (!r.ok)
			return mn.failure(_('Joins waiting'), r);
		return mn.table('mirrornet-joins', [ _('Invitation'), _('Name'), _('Role'), _('Node'), _('Expires'), '' ],
			r.value.map(L.bind(function(j) {
				return { key: j.id, cells: [ j.id, j.node_name || j.name, j.role, mn.shortDid(j.node), mn.date(j.expires),
					E('span', {}, [
						E('button', { 'class': 'btn cbi-button-positive', 'data-action': 'approve',
							'click': ui.createHandlerFn(this, 'act', _('Approve'), 'join_approve', j.id) }, _('Approve')), ' ',
						E('button', { 'class': 'btn cbi-button-negative', 'data-action': 'reject',
							'click': ui.createHandlerFn(this, 'rejectDialog', j) }, _('Reject'))
					]) ] };
			}, this)), _('No join is waiting for approval'));
	},

	invitesTable: function(r) {
		if (!r.ok)
			return mn.failure(_('Invitations'), r);
		return mn.table('mirrornet-invites', [ _('Invitation'), _('Name'), _('Role'), _('Address'), _('State'), _('Expires'), '' ],
			r.value.map(L.bind(function(v) {
				var open = v.state == 'open' || v.state == 'waiting';
				return { key: v.id, cells: [ v.id, v.name, v.role, v.addr, v.state, mn.date(v.expires),
					open ? E('button', { 'class': 'btn cbi-button-remove', 'data-action': 'revoke-invite',
						'click': ui.createHandlerFn(this, 'act', _('Revoke'), 'invite_revoke', v.id) }, _('Revoke')) : '' ] };
			}, this)), _('No invitations'));
	},

	membersTable: function(r) {
		if (!r.ok)
			return mn.failure(_('Members'), r);
		return mn.table('mirrornet-members', [ _('Name'), _('Role'), _('Node'), _('State'), '' ],
			r.value.filter(function(p) { return p.state != 'left'; }).map(L.bind(function(p) {
				return { key: p.did, cells: [ p.name || '-', p.role || '-', E('span', { 'title': p.did }, mn.shortDid(p.did)), p.state,
					E('button', { 'class': 'btn cbi-button-negative', 'data-action': 'revoke-node',
						'click': ui.createHandlerFn(this, 'revokeDialog', p) }, _('Revoke…')) ] };
			}, this)), _('No members known'));
	},

	/* a small dialog asking for a reason, then METHOD(id, reason) */
	reasonDialog: function(title, text, method, id) {
		var reason = E('input', { 'class': 'cbi-input-text', 'type': 'text', 'id': 'mirrornet-reason', 'maxlength': 200 });
		ui.showModal(title, [
			E('p', text),
			E('p', [ _('Reason') + ': ', reason ]),
			E('div', { 'class': 'right' }, [
				E('button', { 'class': 'btn', 'click': ui.hideModal }, _('Cancel')), ' ',
				E('button', { 'class': 'btn cbi-button-negative', 'id': 'mirrornet-confirm', 'click': L.bind(function() {
					ui.hideModal();
					return this.act(title, method, id, reason.value);
				}, this) }, title)
			])
		]);
	},

	rejectDialog: function(j) {
		this.reasonDialog(_('Reject'), _('Refuse the join of %s: the router waiting is told so.').replace('%s', j.node_name || j.name),
			'join_reject', j.id);
	},

	revokeDialog: function(p) {
		this.reasonDialog(_('Revoke'), _('Withdraw %s from the mesh, everywhere and for good (with the members it invited).')
			.replace('%s', p.name || p.did), 'revoke_node', p.did);
	},

	inviteDialog: function() {
		var name = E('input', { 'class': 'cbi-input-text', 'type': 'text', 'id': 'mirrornet-invite-name', 'placeholder': 'node7' });
		var role = E('select', { 'class': 'cbi-input-select', 'id': 'mirrornet-invite-role' }, [
			E('option', { 'value': 'peer' }, _('peer')), E('option', { 'value': 'sub-master' }, _('sub-master')) ]);
		var ttl = E('select', { 'class': 'cbi-input-select', 'id': 'mirrornet-invite-ttl' },
			TTLS.map(function(t) { return E('option', { 'value': t[0], 'selected': t[0] == 86400 ? '' : null }, t[1]); }));
		var auto = E('input', { 'type': 'checkbox', 'id': 'mirrornet-invite-auto' });
		ui.showModal(_('Invite a router'), [
			E('p', _('The new router joins with the invitation token (or its QR code): mirrornetctl join TOKEN.')),
			E('div', { 'class': 'cbi-value' }, [ E('label', { 'class': 'cbi-value-title' }, _('Name')), name ]),
			E('div', { 'class': 'cbi-value' }, [ E('label', { 'class': 'cbi-value-title' }, _('Role')), role ]),
			E('div', { 'class': 'cbi-value' }, [ E('label', { 'class': 'cbi-value-title' }, _('Valid for')), ttl ]),
			E('div', { 'class': 'cbi-value' }, [ E('label', { 'class': 'cbi-value-title' }, _('Approve the join automatically')), auto ]),
			E('div', { 'class': 'right' }, [
				E('button', { 'class': 'btn', 'click': ui.hideModal }, _('Cancel')), ' ',
				E('button', { 'class': 'btn cbi-button-positive', 'id': 'mirrornet-invite-create', 'click': L.bind(function() {
					return mn.settle('invite_create', name.value.trim(), role.value, +ttl.value, auto.checked).then(L.bind(function(r) {
						if (!r.ok) {
							ui.addNotification(null, E('p', _('Invitation') + ': ' + r.message), 'danger');
							return;
						}
						this.showToken(r.value);
						return this.refresh();
					}, this));
				}, this) }, _('Create'))
			])
		]);
	},

	showToken: function(inv) {
		var qr;
		try {
			qr = qrcode.svg(inv.token, 3);
		} catch (e) {
			qr = E('em', e.message);
		}
		ui.showModal(_('Invitation for %s').replace('%s', inv.name || ''), [
			E('p', _('Give this token to the new router, once. It is a secret until it is used: anyone holding it can join as this member.')),
			E('textarea', { 'id': 'mirrornet-token', 'readonly': '', 'rows': 4, 'style': 'width:100%;font-family:monospace' }, inv.token),
			E('div', { 'id': 'mirrornet-qr', 'style': 'text-align:center;margin:1em 0' }, qr),
			E('p', [ _('Invitation') + ' ' + inv.id + ', ' + _('expires') + ' ' + mn.date(inv.expires) ]),
			E('div', { 'class': 'right' }, E('button', { 'class': 'btn', 'id': 'mirrornet-token-close', 'click': ui.hideModal }, _('Close')))
		]);
	},

	refresh: function() {
		return this.load().then(L.bind(function(d) {
			mn.replace(this.joinsBox, this.joinsTable(d[0]));
			mn.replace(this.invitesBox, this.invitesTable(d[1]));
			mn.replace(this.membersBox, this.membersTable(d[2]));
		}, this));
	},

	render: function(d) {
		this.joinsBox = E('div', {}, this.joinsTable(d[0]));
		this.invitesBox = E('div', {}, this.invitesTable(d[1]));
		this.membersBox = E('div', {}, this.membersTable(d[2]));
		poll.add(L.bind(this.refresh, this), 10);
		return E('div', { 'class': 'cbi-map' }, [
			E('h2', _('MirrorNet members')),
			E('div', { 'class': 'cbi-section' }, [
				E('h3', _('Joins waiting for approval')), this.joinsBox ]),
			E('div', { 'class': 'cbi-section' }, [
				E('h3', _('Invitations')),
				E('button', { 'class': 'btn cbi-button-add', 'id': 'mirrornet-invite',
					'click': ui.createHandlerFn(this, 'inviteDialog') }, _('Invite a router…')),
				this.invitesBox ]),
			E('div', { 'class': 'cbi-section' }, [ E('h3', _('Members')), this.membersBox ])
		]);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
