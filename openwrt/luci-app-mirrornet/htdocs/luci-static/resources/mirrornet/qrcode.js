'use strict';
'require baseclass';

/*
 * A QR code encoder (ISO/IEC 18004), written for MirrorNet's invitation
 * dialog: byte mode, error correction level M, versions 1 to 40, the mask
 * with the lowest penalty. Written from the standard's description; no code
 * of another encoder in it. Tested by decoding what the view draws with
 * zbarimg (tests/integration/test_luci.sh).
 *
 *   qr.encode(text) -> { size, dark(x, y) }   (throws when text is too long)
 *   qr.svg(text, scale) -> an <svg> element, 4 modules of quiet zone
 */

/* level M: error correction codewords per block, and blocks, by version */
var ECC_PER_BLOCK = [ 0,
	10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26,
	26, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28 ];
var BLOCKS = [ 0,
	1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16,
	17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31, 33, 35, 37, 38, 40, 43, 45, 47, 49 ];
var FORMAT_LEVEL_M = 0;   /* the two format bits of level M */

/* the modules of a version that carry codewords (data and ECC) */
function codewordModules(v) {
	var n = (16 * v + 128) * v + 64;   /* all, less finders, separators, timing, format */
	if (v >= 2) {
		var a = Math.floor(v / 7) + 2;
		n -= (25 * a - 10) * a - 55;   /* alignment patterns, less their overlap with timing */
		if (v >= 7)
			n -= 36;                   /* the two version blocks */
	}
	return n;
}

function dataCodewords(v) {
	return Math.floor(codewordModules(v) / 8) - ECC_PER_BLOCK[v] * BLOCKS[v];
}

/* GF(2^8) with the polynomial x^8 + x^4 + x^3 + x^2 + 1 */
function gfMul(a, b) {
	var r = 0;
	for (var i = 7; i >= 0; i--) {
		r = (r << 1) ^ ((r >>> 7) * 0x11d);
		if ((b >>> i) & 1)
			r ^= a;
	}
	return r & 0xff;
}

/* the generator polynomial (x - a^0)(x - a^1)...(x - a^(n-1)), its
 * coefficients from the highest power down, the leading 1 left out */
function rsGenerator(n) {
	var g = [];
	var root = 1;
	for (var i = 0; i < n; i++)
		g.push(0);
	g[n - 1] = 1;
	for (var k = 0; k < n; k++) {
		for (var j = 0; j < n; j++) {
			g[j] = gfMul(g[j], root);
			if (j + 1 < n)
				g[j] ^= g[j + 1];
		}
		root = gfMul(root, 2);
	}
	return g;
}

function rsRemainder(data, gen) {
	var rem = gen.map(function() { return 0; });
	data.forEach(function(byte) {
		var f = byte ^ rem.shift();
		rem.push(0);
		for (var i = 0; i < gen.length; i++)
			rem[i] ^= gfMul(gen[i], f);
	});
	return rem;
}

function utf8(text) {
	return Array.from(new TextEncoder().encode(text));
}

/* the codewords of text in version v: mode, count, bytes, terminator,
 * padding; then split into blocks, each with its ECC, interleaved */
function codewords(bytes, v) {
	var bits = [];
	function put(val, n) {
		for (var i = n - 1; i >= 0; i--)
			bits.push((val >>> i) & 1);
	}
	var cap = dataCodewords(v) * 8;
	put(4, 4);                              /* byte mode */
	put(bytes.length, v < 10 ? 8 : 16);
	bytes.forEach(function(b) { put(b, 8); });
	put(0, Math.min(4, cap - bits.length)); /* terminator */
	put(0, (8 - bits.length % 8) % 8);
	for (var pad = 0xec; bits.length < cap; pad ^= 0xec ^ 0x11)
		put(pad, 8);
	var data = [];
	for (var i = 0; i < bits.length; i += 8)
		data.push(bits.slice(i, i + 8).reduce(function(a, b) { return a << 1 | b; }, 0));

	var nb = BLOCKS[v], ecc = ECC_PER_BLOCK[v], total = Math.floor(codewordModules(v) / 8);
	var shortLen = Math.floor(total / nb), nShort = nb - total % nb;
	var gen = rsGenerator(ecc), blocks = [], at = 0;
	for (var b = 0; b < nb; b++) {
		var len = shortLen - ecc + (b < nShort ? 0 : 1);
		var d = data.slice(at, at + len);
		at += len;
		blocks.push({ data: d, ecc: rsRemainder(d, gen) });
	}
	var out = [];
	for (var k = 0; k <= shortLen - ecc; k++)
		blocks.forEach(function(bl) { if (k < bl.data.length) out.push(bl.data[k]); });
	for (k = 0; k < ecc; k++)
		blocks.forEach(function(bl) { out.push(bl.ecc[k]); });
	return out;
}

function alignmentCentres(v, size) {
	if (v == 1)
		return [];
	var n = Math.floor(v / 7) + 2;
	var step = v == 32 ? 26 : Math.ceil((v * 4 + 4) / (n * 2 - 2)) * 2;
	var pos = [];
	for (var p = size - 7; pos.length < n - 1; p -= step)
		pos.unshift(p);
	pos.unshift(6);
	return pos;
}

function bch(value, poly, degree) {
	var r = value << degree;
	for (var i = 31 - Math.clz32(r); i >= degree; i--)
		if ((r >>> i) & 1)
			r ^= poly << (i - degree);
	return value << degree | r;
}

var MASKS = [
	function(x, y) { return (x + y) % 2 == 0; },
	function(x, y) { return y % 2 == 0; },
	function(x, y) { return x % 3 == 0; },
	function(x, y) { return (x + y) % 3 == 0; },
	function(x, y) { return (Math.floor(x / 3) + Math.floor(y / 2)) % 2 == 0; },
	function(x, y) { return x * y % 2 + x * y % 3 == 0; },
	function(x, y) { return (x * y % 2 + x * y % 3) % 2 == 0; },
	function(x, y) { return ((x + y) % 2 + x * y % 3) % 2 == 0; }
];

function Grid(v) {
	this.size = v * 4 + 17;
	this.m = [];
	this.fixed = [];
	for (var i = 0; i < this.size * this.size; i++) {
		this.m.push(false);
		this.fixed.push(false);
	}
}
Grid.prototype.set = function(x, y, dark) {
	if (x < 0 || y < 0 || x >= this.size || y >= this.size)
		return;
	this.m[y * this.size + x] = dark;
	this.fixed[y * this.size + x] = true;
};
Grid.prototype.get = function(x, y) {
	return this.m[y * this.size + x];
};

function drawFunctionPatterns(g, v) {
	var s = g.size;
	for (var i = 0; i < s; i++) {   /* timing */
		g.set(6, i, i % 2 == 0);
		g.set(i, 6, i % 2 == 0);
	}
	[[3, 3], [s - 4, 3], [3, s - 4]].forEach(function(c) {   /* finders with separators */
		for (var dy = -4; dy <= 4; dy++)
			for (var dx = -4; dx <= 4; dx++) {
				var d = Math.max(Math.abs(dx), Math.abs(dy));
				g.set(c[0] + dx, c[1] + dy, d != 2 && d != 4);
			}
	});
	var al = alignmentCentres(v, s), last = al.length - 1;
	al.forEach(function(ay, i) {
		al.forEach(function(ax, j) {
			if ((i == 0 && j == 0) || (i == 0 && j == last) || (i == last && j == 0))
				return;   /* where the finders are */
			for (var dy = -2; dy <= 2; dy++)
				for (var dx = -2; dx <= 2; dx++)
					g.set(ax + dx, ay + dy, Math.max(Math.abs(dx), Math.abs(dy)) != 1);
		});
	});
	drawFormat(g, 0);   /* reserved now, written with the mask */
	if (v >= 7) {
		var bits = bch(v, 0x1f25, 12);
		for (var k = 0; k < 18; k++) {
			var dark = ((bits >>> k) & 1) == 1, a = s - 11 + k % 3, b = Math.floor(k / 3);
			g.set(a, b, dark);
			g.set(b, a, dark);
		}
	}
}

function drawFormat(g, mask) {
	var s = g.size, bits = bch(FORMAT_LEVEL_M << 3 | mask, 0x537, 10) ^ 0x5412;
	function bit(i) { return ((bits >>> i) & 1) == 1; }
	for (var i = 0; i < 15; i++) {
		/* around the top left finder */
		if (i < 6)
			g.set(8, i, bit(i));
		else if (i < 8)
			g.set(8, i + 1, bit(i));
		else if (i == 8)
			g.set(7, 8, bit(i));
		else
			g.set(14 - i, 8, bit(i));
		/* split between the other two */
		if (i < 8)
			g.set(s - 1 - i, 8, bit(i));
		else
			g.set(8, s - 15 + i, bit(i));
	}
	g.set(8, s - 8, true);   /* the dark module */
}

function placeData(g, cw) {
	var s = g.size, n = 0, total = cw.length * 8;
	for (var right = s - 1; right >= 1; right -= 2) {
		if (right == 6)
			right = 5;   /* the vertical timing pattern */
		var up = ((right + 1) & 2) == 0;
		for (var k = 0; k < s; k++) {
			var y = up ? s - 1 - k : k;
			for (var j = 0; j < 2; j++) {
				var x = right - j;
				if (g.fixed[y * s + x])
					continue;
				g.m[y * s + x] = n < total && ((cw[n >>> 3] >>> (7 - (n & 7))) & 1) == 1;
				n++;
			}
		}
	}
}

function applyMask(g, mask) {
	for (var y = 0; y < g.size; y++)
		for (var x = 0; x < g.size; x++)
			if (!g.fixed[y * g.size + x] && MASKS[mask](x, y))
				g.m[y * g.size + x] = !g.m[y * g.size + x];
}

/* the standard's four penalty rules */
function penalty(g) {
	var s = g.size, p = 0, dark = 0;
	function line(get) {
		var run = 1, seq = '';
		for (var i = 0; i < s; i++) {
			var c = get(i);
			seq += c ? '1' : '0';
			if (i > 0 && c == get(i - 1)) {
				run++;
			} else {
				if (run >= 5)
					p += run - 2;
				run = 1;
			}
		}
		if (run >= 5)
			p += run - 2;
		var padded = '0000' + seq + '0000';
		for (var at = padded.indexOf('1011101'); at >= 0; at = padded.indexOf('1011101', at + 1))
			if (padded.substr(at - 4, 4) == '0000' || padded.substr(at + 7, 4) == '0000')
				p += 40;
	}
	for (var i = 0; i < s; i++) {
		line(function(x) { return g.get(x, i); });
		line(function(y) { return g.get(i, y); });
	}
	for (var y = 0; y < s; y++)
		for (var x = 0; x < s; x++) {
			var c = g.get(x, y);
			if (c)
				dark++;
			if (x + 1 < s && y + 1 < s && c == g.get(x + 1, y) && c == g.get(x, y + 1) && c == g.get(x + 1, y + 1))
				p += 3;
		}
	p += 10 * Math.floor(Math.abs(dark * 20 - s * s * 10) / (s * s));
	return p;
}

function encode(text) {
	var bytes = utf8(text), v;
	for (v = 1; v <= 40; v++)
		if (4 + (v < 10 ? 8 : 16) + bytes.length * 8 <= dataCodewords(v) * 8)
			break;
	if (v > 40)
		throw new Error('too long for a QR code: ' + bytes.length + ' bytes');
	var cw = codewords(bytes, v), best = null, bestP = Infinity;
	for (var mask = 0; mask < 8; mask++) {
		var g = new Grid(v);
		drawFunctionPatterns(g, v);
		placeData(g, cw);
		applyMask(g, mask);
		drawFormat(g, mask);
		var p = penalty(g);
		if (p < bestP) {
			best = g;
			bestP = p;
		}
	}
	return {
		version: v,
		size: best.size,
		dark: function(x, y) { return best.get(x, y); }
	};
}

function svg(text, scale) {
	var q = encode(text), ns = 'http://www.w3.org/2000/svg', d = '', quiet = 4;
	var side = q.size + 2 * quiet;
	for (var y = 0; y < q.size; y++)
		for (var x = 0; x < q.size; x++)
			if (q.dark(x, y))
				d += 'M' + (x + quiet) + ' ' + (y + quiet) + 'h1v1h-1z';
	var el = document.createElementNS(ns, 'svg');
	el.setAttribute('viewBox', '0 0 ' + side + ' ' + side);
	el.setAttribute('width', side * (scale || 4));
	el.setAttribute('height', side * (scale || 4));
	el.setAttribute('shape-rendering', 'crispEdges');
	el.setAttribute('data-qr-version', q.version);
	var bg = document.createElementNS(ns, 'rect');
	bg.setAttribute('width', side);
	bg.setAttribute('height', side);
	bg.setAttribute('fill', '#fff');
	var path = document.createElementNS(ns, 'path');
	path.setAttribute('d', d);
	path.setAttribute('fill', '#000');
	el.appendChild(bg);
	el.appendChild(path);
	return el;
}

return baseclass.extend({
	encode: encode,
	svg: svg
});
