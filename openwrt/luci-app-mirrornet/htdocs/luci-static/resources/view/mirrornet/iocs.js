'use strict';
'require view';
'require ui';
'require poll';
'require mirrornet.common as mn';

/*
 * MirrorNet threat indicators (IoCs) from the mesh: those the policy held
 * for review (approve: applied like the others; reject: never applied), and
 * all the others with the step that decided them. Methods: iocs;
 * ioc_approve, ioc_reject. A mirrornetd without the ioc subsystem answers
 * "unavailable", shown as such.
 */

return view.extend({
	load: function() {
		return Promise.all([ mn.settle('iocs', 'pending'), mn.settle('iocs') ]);
	},

	act: function(what, method, id) {
		return mn.settle(method, id).then(L.bind(function(r) {
			if (!r.ok)
				ui.addNotification(null, E('p', what + ': ' + r.message), 'danger');
			return this.refresh();
		}, this));
	},

	pendingTable: function(r) {
		if (!r.ok)
			return mn.failure(_('Indicators waiting for review'), r);
		return mn.table('mirrornet-iocs-pending', [ _('Value'), _('Scope'), _('Scenario'), _('Confidence'), _('From'), _('Why held'), '' ],
			r.value.map(L.bind(function(i) {
				return { key: i.id, cells: [ i.value, i.scope, i.scenario, String(i.confidence), mn.shortDid(i.origin), i.detail || i.step,
					E('span', {}, [
						E('button', { 'class': 'btn cbi-button-positive', 'data-action': 'approve',
							'click': ui.createHandlerFn(this, 'act', _('Approve'), 'ioc_approve', i.id) }, _('Approve')), ' ',
						E('button', { 'class': 'btn cbi-button-negative', 'data-action': 'reject',
							'click': ui.createHandlerFn(this, 'act', _('Reject'), 'ioc_reject', i.id) }, _('Reject'))
					]) ] };
			}, this)), _('Nothing waits for review'));
	},

	allTable: function(r) {
		if (!r.ok)
			return mn.failure(_('Indicators'), r);
		return mn.table('mirrornet-iocs', [ _('Value'), _('Scope'), _('State'), _('Scenario'), _('Trust class'), _('Decided by') ],
			r.value.map(function(i) {
				return { key: i.id, cells: [ i.value, i.scope, i.state, i.scenario, i.class, i.step ] };
			}), _('No indicators'));
	},

	refresh: function() {
		return this.load().then(L.bind(function(d) {
			mn.replace(this.pendingBox, this.pendingTable(d[0]));
			mn.replace(this.allBox, this.allTable(d[1]));
		}, this));
	},

	render: function(d) {
		this.pendingBox = E('div', {}, this.pendingTable(d[0]));
		this.allBox = E('div', {}, this.allTable(d[1]));
		poll.add(L.bind(this.refresh, this), 10);
		return E('div', { 'class': 'cbi-map' }, [
			E('h2', _('MirrorNet threat indicators')),
			E('div', { 'class': 'cbi-section' }, [ E('h3', _('Waiting for review')), this.pendingBox ]),
			E('div', { 'class': 'cbi-section' }, [ E('h3', _('All indicators')), this.allBox ])
		]);
	},

	handleSaveApply: null,
	handleSave: null,
	handleReset: null
});
