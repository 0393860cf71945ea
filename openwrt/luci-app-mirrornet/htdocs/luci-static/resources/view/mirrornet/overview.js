'use strict';
'require view';
'require poll';
'require mirrornet.common as mn';

/*
 * MirrorNet overview: this node (name, role, did, WireGuard) and the peers
 * it knows, refreshed every 5 s: state, round-trip time, trust (peer score,
 * graylisting, role) and the WireGuard handshake. Methods: status, peers.
 */

function stateBadge(state) {
	var colour = { alive: '#2e7d32', suspect: '#ef6c00', dead: '#c62828', left: '#757575' }[state] || '#757575';
	return E('span', { 'class': 'mirrornet-state', 'data-state': state, 'style': 'color:' + colour + ';font-weight:bold' }, state);
}

function trust(p) {
	var s = (typeof p.score == 'number' ? p.score.toFixed(1) : '?');
	var parts = [ _('score') + ' ' + s ];
	if (p.graylisted)
		parts.push(_('graylisted'));
	if (p.mesh)
		parts.push(_('in gossip mesh'));
	return parts.join(', ');
}

function handshake(p) {
	if (!p.wireguard)
		return '-';
	var w = p.wireguard;
	return mn.age(w.handshake_age_s) + (w.direct ? ' (' + _('direct') + ')' : '') + (w.endpoint ? ' ' + w.endpoint : '');
}

function peerRows(peers) {
	return peers.slice().sort(function(a, b) {
		return (a.name || a.did).localeCompare(b.name || b.did);
	}).map(function(p) {
		return {
			key: p.did,
			cells: [
				E('span', { 'title': p.did }, p.name || mn.shortDid(p.did)),
				p.role || '-',
				p.mesh_addr || '-',
				stateBadge(p.state),
				p.rtt_ms ? p.rtt_ms + ' ms' : '-',
				trust(p),
				handshake(p),
				p.last_seen_ms ? mn.age((Date.now() - p.last_seen_ms) / 1000) : _('never')
			]
		};
	});
}

function peersTable(r) {
	if (!r.ok)
		return mn.failure(_('Peers'), r);
	return mn.table('mirrornet-peers',
		[ _('Name'), _('Role'), _('Mesh address'), _('State'), _('RTT'), _('Trust'), _('WireGuard handshake'), _('Last seen') ],
		peerRows(r.value), _('No peers known yet'));
}

function statusBox(r) {
	if (!r.ok)
		return mn.failure(_('Status'), r);
	var s = r.value, wg = s.wireguard;
	var rows = [
		[ _('Name'), s.name ], [ _('Role'), s.role ], [ _('Node (did:key)'), s.did ],
		[ _('Version'), s.version ],
		[ _('Peers'), _('%a alive, %s suspect, %d dead').replace('%a', s.alive).replace('%s', s.suspect).replace('%d', s.dead) ],
		[ _('Records held'), String(s.records) ],
		[ _('Uptime'), mn.age(s.uptime_s).replace(/ ago$/, '') ],
		[ _('WireGuard'), wg ? wg.interface + ' (' + wg.backend + ', ' + _('port') + ' ' + wg.port + ')' : _('off') ]
	];
	return E('table', { 'class': 'table', 'id': 'mirrornet-status' }, rows.map(function(row) {
		return E('tr', { 'class': 'tr' }, [
			E('td', { 'class': 'td left', 'style': 'width:25%' }, row[0]),
			E('td', { 'class': 'td left', 'data-field': row[0] }, row[1])
		]);
	}));
}

return view.extend({
	load: function() {
		return Promise.all([ mn.settle('status'), mn.settle('peers') ]);
	},

	render: function(d) {
		var box = E('div', {}, statusBox(d[0])), peers = E('div', {}, peersTable(d[1]));

		poll.add(L.bind(function() {
			return this.load().then(function(n) {
				mn.replace(box, statusBox(n[0]));
				mn.replace(peers, peersTable(n[1]));
			});
		}, this), 5);
		return E('div', { 'class': 'cbi-map' }, [
			E('h2', _('MirrorNet')),
			E('div', { 'class': 'cbi-map-descr' },
				_('This router in the MirrorNet mesh and the peers it knows. Refreshed every 5 seconds.')),
			E('div', { 'class': 'cbi-section' }, [ E('h3', _('This node')), box ]),
			E('div', { 'class': 'cbi-section' }, [ E('h3', _('Peers')), peers ])
		]);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
