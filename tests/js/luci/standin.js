/*
 * A STAND-IN for LuCI's client runtime, for tests/integration/test_luci.sh
 * only: it is not LuCI and ships in no package. LuCI is not in Debian and
 * the tests have no network, so this file gives the MirrorNet views the
 * small part of LuCI's client API they use, written from LuCI's documented
 * behaviour (no LuCI code in it):
 *
 *   L.require(name)   loads /luci-static/resources/NAME.js (dots as
 *                     slashes), honours its 'require X' / 'require X as Y'
 *                     directives, runs it as a function of those names and
 *                     instantiates the class it returns (a view's __init__
 *                     loads and renders it into #view)
 *   L.bind, E, _      as LuCI's (E: tag, attributes with on-handlers for
 *                     functions and null skipped, children)
 *   baseclass         extend() / __init__
 *   view              load() -> render() -> #view; a failed load shows its error
 *   rpc.declare       ubus over JSON-RPC 2.0 to /ubus ("call", [sid, object,
 *                     method, args]), as uhttpd-mod-ubus answers it
 *                     ([status, reply]); a non-zero status rejects
 *   ui                showModal / hideModal / addNotification / createHandlerFn
 *   poll              add(fn, interval): fn every interval seconds
 *
 * What the test exercises for real: the view files, their rpc calls as
 * JSON-RPC, the rpcd plugin answering them, the daemons, Chromium.
 */
(function() {
	'use strict';

	var sid = '00000000000000000000000000000000';
	var rpcId = 1;
	var modules = {};

	function makeClass(base, props) {
		function Class() {
			if (this.__init__)
				this.__init__.apply(this, arguments);
		}
		Class.prototype = Object.create(base ? base.prototype : Object.prototype);
		Object.keys(props || {}).forEach(function(k) { Class.prototype[k] = props[k]; });
		Class.prototype.constructor = Class;
		Class.extend = function(p) { return makeClass(Class, p); };
		Class.isClass = true;
		return Class;
	}

	function append(node, child) {
		if (child == null)
			return;
		if (Array.isArray(child))
			child.forEach(function(c) { append(node, c); });
		else if (child instanceof Node)
			node.appendChild(child);
		else
			node.appendChild(document.createTextNode(String(child)));
	}

	function E(tag, attrs, children) {
		var node = document.createElement(tag);
		if (attrs == null || typeof attrs != 'object' || Array.isArray(attrs) || attrs instanceof Node) {
			children = attrs;
			attrs = {};
		}
		Object.keys(attrs).forEach(function(k) {
			var v = attrs[k];
			if (v == null)
				return;
			if (typeof v == 'function')
				node.addEventListener(k, v);
			else
				node.setAttribute(k, String(v));
		});
		append(node, children);
		return node;
	}

	var baseclass = makeClass(null, {});
	baseclass.extend = function(p) { return makeClass(null, p); };

	var view = makeClass(null, {
		__init__: function() {
			var root = document.getElementById('view');
			var self = this;
			return Promise.resolve().then(function() { return self.load(); })
				.then(function(data) { return self.render(data); })
				.then(function(node) {
					root.textContent = '';
					append(root, node);
					root.setAttribute('data-ready', '1');
				}).catch(function(e) {
					root.textContent = '';
					append(root, E('div', { 'class': 'alert-message error', 'id': 'view-error' }, String(e && e.stack || e)));
					root.setAttribute('data-ready', 'error');
				});
		},
		load: function() {},
		render: function() {}
	});

	var ubusStatus = [ 'OK', 'Invalid command', 'Invalid argument', 'Method not found', 'Not found',
		'No data', 'Permission denied', 'Timeout', 'Not supported', 'Unknown error', 'Connection failed' ];

	var rpc = {
		declare: function(opts) {
			var params = opts.params || [];
			return function() {
				var args = {};
				for (var i = 0; i < params.length && i < arguments.length; i++)
					if (arguments[i] !== undefined)
						args[params[i]] = arguments[i];
				var body = { jsonrpc: '2.0', id: rpcId++, method: 'call', params: [ sid, opts.object, opts.method, args ] };
				return fetch('/ubus/', { method: 'POST', headers: { 'Content-Type': 'application/json' },
					body: JSON.stringify(body) }).then(function(r) { return r.json(); }).then(function(msg) {
					if (msg.error)
						throw new Error('RPC error: ' + msg.error.message);
					var st = msg.result[0];
					if (st != 0)
						throw new Error(ubusStatus[st] || 'ubus status ' + st);
					return msg.result[1];
				});
			};
		}
	};

	var ui = {
		showModal: function(title, children) {
			ui.hideModal();
			var m = E('div', { 'id': 'modal_overlay' }, E('div', { 'class': 'modal', 'role': 'dialog' }, [ E('h4', title), children ]));
			document.body.appendChild(m);
			return m;
		},
		hideModal: function() {
			var m = document.getElementById('modal_overlay');
			if (m)
				m.remove();
		},
		addNotification: function(title, children, cls) {
			var box = document.getElementById('notifications');
			var n = E('div', { 'class': 'alert-message ' + (cls || '') }, [ title ? E('h4', title) : null, children ]);
			box.appendChild(n);
			return n;
		},
		createHandlerFn: function(ctx, fn) {
			var args = Array.prototype.slice.call(arguments, 2);
			return function(ev) {
				var f = typeof fn == 'string' ? ctx[fn] : fn;
				var btn = ev && ev.currentTarget;
				if (btn)
					btn.setAttribute('disabled', '');
				return Promise.resolve(f.apply(ctx, args.concat([ ev ]))).finally(function() {
					if (btn)
						btn.removeAttribute('disabled');
				});
			};
		}
	};

	var poll = {
		add: function(fn, interval) {
			var run = function() {
				Promise.resolve().then(fn).catch(function() {}).then(function() {
					setTimeout(run, (interval || 5) * 1000);
				});
			};
			setTimeout(run, (interval || 5) * 1000);
		}
	};

	modules.baseclass = baseclass;
	modules.view = view;
	modules.rpc = rpc;
	modules.ui = ui;
	modules.poll = poll;

	var DIRECTIVE = /^\s*(?:'([^']*)'|"([^"]*)")\s*;/;

	function load(name) {
		if (modules[name])
			return Promise.resolve(modules[name]);
		return fetch('/luci-static/resources/' + name.replace(/\./g, '/') + '.js').then(function(r) {
			if (!r.ok)
				throw new Error('cannot load ' + name + ': HTTP ' + r.status);
			return r.text();
		}).then(function(src) {
			var rest = src, deps = [], m;
			while ((m = DIRECTIVE.exec(rest)) !== null) {
				var d = (m[1] || m[2]).split(/\s+/);
				if (d[0] == 'require')
					deps.push({ name: d[1], as: d[3] || d[1] });
				rest = rest.slice(m[0].length);
			}
			return Promise.all(deps.map(function(d) { return load(d.name); })).then(function(insts) {
				var fn = new Function(deps.map(function(d) { return d.as; }).join(','), src + '\n//# sourceURL=' + name + '.js');
				var ret = fn.apply(window, insts);
				var inst = (ret && ret.isClass) ? new ret() : ret;
				modules[name] = inst;
				return inst;
			});
		});
	}

	window.E = E;
	window._ = function(s) { return s; };
	window.L = {
		bind: function(fn, ctx) { return fn.bind.apply(fn, [ ctx ].concat(Array.prototype.slice.call(arguments, 2))); },
		require: load
	};
})();
