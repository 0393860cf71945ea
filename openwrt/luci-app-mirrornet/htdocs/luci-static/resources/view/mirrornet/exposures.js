'use strict';
'require view';
'require ui';
'require poll';
'require mirrornet.common as mn';

/*
 * MirrorNet exposures and zones: the services this router exposes on the
 * mesh's CDN (add, remove), those every member exposes, and the Vortex DNS
 * delegations (zones) of the mesh. Methods: exposures, dns, peers, identity;
 * expose_add, expose_remove.
 */

var CHANNELS = [ 'mesh', 'dns', 'tor', 'mdns' ];

return view.extend({
	load: function() {
		return Promise.all([ mn.settle('exposures'), mn.settle('dns'), mn.settle('peers'), mn.settle('identity') ]);
	},

	/* did -> name, from the peers and this node's identity */
	names: function(peers, self) {
		var n = {};
		(peers.ok ? peers.value : []).forEach(function(p) { n[p.did] = p.name; });
		if (self.ok)
			n[self.value.did] = self.value.name;
		return function(did) { return n[did] || mn.shortDid(did); };
	},

	remove: function(service) {
		return mn.settle('expose_remove', service).then(L.bind(function(r) {
			if (!r.ok)
				ui.addNotification(null, E('p', _('Remove') + ': ' + r.message), 'danger');
			return this.refresh();
		}, this));
	},

	add: function() {
		var f = this.form;
		var ch = CHANNELS.filter(function(c) { return f.channels[c].checked; }).join(',');
		return mn.settle('expose_add', f.service.value.trim(), +f.port.value, f.proto.value,
			f.backend.value.trim() || undefined, f.domain.value.trim() || undefined, ch || undefined).then(L.bind(function(r) {
			if (!r.ok) {
				ui.addNotification(null, E('p', _('Expose') + ': ' + r.message), 'danger');
				return;
			}
			f.service.value = '';
			return this.refresh();
		}, this));
	},

	ownTable: function(r) {
		if (!r.ok)
			return mn.failure(_('Exposures'), r);
		return mn.table('mirrornet-expose-own', [ _('Service'), _('Port'), _('Protocol'), _('Backend'), _('Domain'), _('Channels'), '' ],
			r.value.own.map(L.bind(function(x) {
				return { key: x.service, cells: [ x.service, String(x.port), x.proto || '', x.backend || '', x.domain || '', x.channels || '',
					E('button', { 'class': 'btn cbi-button-remove', 'data-action': 'remove',
						'click': ui.createHandlerFn(this, 'remove', x.service) }, _('Remove')) ] };
			}, this)), _('This router exposes nothing'));
	},

	meshTable: function(r, name) {
		if (!r.ok)
			return mn.failure(_('Exposures'), r);
		return mn.table('mirrornet-expose-mesh', [ _('Service'), _('Member'), _('Domain'), _('Channels'), _('Mirrors'), _('Onion') ],
			r.value.mesh.map(function(x) {
				return { key: x.service, cells: [ x.service, name(x.origin), x.domain || '', x.channels,
					(x.mirrors || []).map(name).join(', '), x.onion || '' ] };
			}), _('No member exposes anything'));
	},

	zonesTable: function(r, name) {
		if (!r.ok)
			return mn.failure(_('Zones'), r);
		var rows = r.value.delegations.filter(function(rec) { return !rec.tombstone && rec.body; }).map(function(rec) {
			var b = rec.body;
			return { key: rec.key, cells: [ b.zone || rec.key, b.delegate ? b.delegate.substr(0, 16) + '…' : '-', name(rec.origin),
				(b.ns || []).map(function(ns) { return ns.host + ' ' + ns.addr; }).join(', '), String(b.ttl || '') ] };
		});
		return mn.table('mirrornet-zones', [ _('Zone'), _('Delegated to'), _('By'), _('Name servers'), _('TTL') ], rows,
			_('No zone is delegated'));
	},

	refresh: function() {
		return this.load().then(L.bind(function(d) {
			var name = this.names(d[2], d[3]);
			mn.replace(this.ownBox, this.ownTable(d[0]));
			mn.replace(this.meshBox, this.meshTable(d[0], name));
			mn.replace(this.zonesBox, this.zonesTable(d[1], name));
		}, this));
	},

	render: function(d) {
		var name = this.names(d[2], d[3]);
		var f = this.form = {
			service: E('input', { 'class': 'cbi-input-text', 'type': 'text', 'id': 'mirrornet-expose-service', 'placeholder': 'web' }),
			port: E('input', { 'class': 'cbi-input-text', 'type': 'number', 'id': 'mirrornet-expose-port', 'value': '80', 'min': 1, 'max': 65535 }),
			proto: E('select', { 'class': 'cbi-input-select', 'id': 'mirrornet-expose-proto' },
				[ 'http', 'tls', 'tcp' ].map(function(p) { return E('option', { 'value': p }, p); })),
			backend: E('input', { 'class': 'cbi-input-text', 'type': 'text', 'placeholder': '127.0.0.1:8080' }),
			domain: E('input', { 'class': 'cbi-input-text', 'type': 'text', 'placeholder': _('(optional) public name') }),
			channels: {}
		};
		CHANNELS.forEach(function(c) { f.channels[c] = E('input', { 'type': 'checkbox', 'checked': c == 'mesh' ? '' : null }); });
		this.ownBox = E('div', {}, this.ownTable(d[0]));
		this.meshBox = E('div', {}, this.meshTable(d[0], name));
		this.zonesBox = E('div', {}, this.zonesTable(d[1], name));
		poll.add(L.bind(this.refresh, this), 10);
		return E('div', { 'class': 'cbi-map' }, [
			E('h2', _('MirrorNet exposures and zones')),
			E('div', { 'class': 'cbi-section' }, [
				E('h3', _('Exposed by this router')), this.ownBox,
				E('div', { 'class': 'cbi-section-create' }, [
					f.service, ' ', f.port, ' ', f.proto, ' ', f.backend, ' ', f.domain, ' ',
					E('span', {}, CHANNELS.map(function(c) { return E('label', {}, [ f.channels[c], ' ' + c + ' ' ]); })),
					E('button', { 'class': 'btn cbi-button-add', 'id': 'mirrornet-expose-add',
						'click': ui.createHandlerFn(this, 'add') }, _('Expose'))
				])
			]),
			E('div', { 'class': 'cbi-section' }, [ E('h3', _('Exposed by the mesh')), this.meshBox ]),
			E('div', { 'class': 'cbi-section' }, [ E('h3', _('DNS zones')), this.zonesBox ])
		]);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
