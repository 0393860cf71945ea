/* The records an engine holds, and the ids it has seen.
 *
 * Two chained hash tables over the same entries: by key (kind, origin,
 * key → the one current version) and by id (for IHAVE/IWANT and dedup).
 * The XOR of all ids is kept in step so the digest is O(1). A sorted view
 * by keyhash, rebuilt lazily, serves anti-entropy ranges.
 *
 * A record's wire bytes are freed once the driver's store holds them
 * (index_spill) unless the engine reads them itself (the chain: certs and
 * revocations; claims: node records) or they are membership the daemon
 * walks often (endpoint records); serving it then reads them back
 * (index_wire). The data records that make up most of a big mesh's state
 * (IoCs, DNS, services) then cost ~100 bytes of memory each instead of
 * ~300 (docs/limits.md "Memory"). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "src/engine/engine_int.h"
#include "crypto/crypto.h"

const uint8_t *rec_origin(const struct rec *x)
{
	return x->org->pk;
}

static void free_rec(struct rec *x)
{
	if (!x->spilled)
		free(x->wire);
	free(x);
}

uint64_t rec_keyhash(unsigned kind, const uint8_t origin[32], const char *key)
{
	uint8_t buf[1 + 32 + MN_MAX_RKEY], h[32];
	size_t n = strnlen(key, MN_MAX_RKEY);
	uint64_t v = 0;

	buf[0] = (uint8_t)kind;
	memcpy(buf + 1, origin, 32);
	memcpy(buf + 33, key, n);
	crypto_blake2b(buf, 33 + n, h);
	for (int i = 0; i < 8; i++)
		v = (v << 8) | h[i];
	return v;
}

static uint64_t id_hash(const uint8_t *id)
{
	uint64_t v;

	memcpy(&v, id, sizeof v);
	return v;
}

int index_init(struct rec_index *ix)
{
	memset(ix, 0, sizeof *ix);
	ix->nbuckets = 256;
	ix->by_key = calloc(ix->nbuckets, sizeof *ix->by_key);
	ix->by_id = calloc(ix->nbuckets, sizeof *ix->by_id);
	if (!ix->by_key || !ix->by_id) {
		index_free(ix);
		return -ENOMEM;
	}
	return 0;
}

void index_free(struct rec_index *ix)
{
	if (ix->by_key) {
		for (size_t i = 0; i < ix->nbuckets; i++) {
			struct rec *x = ix->by_key[i], *nx;
			for (; x; x = nx) {
				nx = x->next_key;
				free_rec(x);
			}
		}
	}
	free(ix->by_key);
	free(ix->by_id);
	free(ix->sorted);
	free(ix->buf);
	memset(ix, 0, sizeof *ix);
}

static void grow(struct rec_index *ix)
{
	size_t nb = ix->nbuckets * 2;
	struct rec **bk = calloc(nb, sizeof *bk), **bi = calloc(nb, sizeof *bi);

	if (!bk || !bi) {   /* keep the old tables: slower, still correct */
		free(bk);
		free(bi);
		return;
	}
	for (size_t i = 0; i < ix->nbuckets; i++) {
		struct rec *x = ix->by_key[i], *nx;
		for (; x; x = nx) {
			nx = x->next_key;
			size_t b = x->keyhash & (nb - 1);
			x->next_key = bk[b];
			bk[b] = x;
			size_t c = id_hash(x->id) & (nb - 1);
			x->next_id = bi[c];
			bi[c] = x;
		}
	}
	free(ix->by_key);
	free(ix->by_id);
	ix->by_key = bk;
	ix->by_id = bi;
	ix->nbuckets = nb;
}

const uint8_t *index_wire(const struct rec_index *ix, const struct rec *x, uint8_t *buf)
{
	if (!x->spilled)
		return x->wire;
	if (!buf)
		buf = ix->buf;
	if (ix->load(ix->load_ctx, x->ref, x->id, buf, MN_MAX_RECORD) != (int)x->wire_len) {
		(*ix->load_errors)++;
		return NULL;
	}
	return buf;
}

void index_spill(struct rec_index *ix, struct rec *x, int64_t ref)
{
	/* the chain and membership stay: the engine reads certs, revocations
	 * and node records itself, the daemon walks node and endpoint records
	 * every few seconds (WireGuard peers); one of each per member */
	if (!ix->load || x->kind == KIND_CERT || x->kind == KIND_REVOKE || x->kind == KIND_NODE ||
	    x->kind == KIND_ENDPOINT)
		return;
	if (!x->spilled)
		free(x->wire);
	x->ref = ref;
	x->spilled = true;
}

/* The key of a held record, from its wire bytes (a spilled one's read back:
 * a new version of a data record; if the store cannot give them, the same
 * kind, origin and 64-bit key hash decide). */
static bool same_key(const struct rec_index *ix, const struct rec *x, unsigned kind,
		     const uint8_t origin[32], const char *key)
{
	struct record r;
	const uint8_t *w;

	if (x->kind != kind || memcmp(rec_origin(x), origin, 32) != 0)
		return false;
	if (!(w = index_wire(ix, x, NULL)))
		return true;
	/* envelope only: the body was checked when the record came in */
	if (record_decode_envelope(w, x->wire_len, &r) < 0)
		return false;
	return strcmp(r.key, key) == 0;
}

struct rec *index_find_key(const struct rec_index *ix, uint64_t keyhash, unsigned kind,
			   const uint8_t origin[32], const char *key)
{
	for (struct rec *x = ix->by_key[keyhash & (ix->nbuckets - 1)]; x; x = x->next_key)
		if (x->keyhash == keyhash && same_key(ix, x, kind, origin, key))
			return x;
	return NULL;
}

struct rec *index_find_id(const struct rec_index *ix, const uint8_t *id, size_t idlen)
{
	for (struct rec *x = ix->by_id[id_hash(id) & (ix->nbuckets - 1)]; x; x = x->next_id)
		if (memcmp(x->id, id, idlen) == 0)
			return x;
	return NULL;
}

static void xor_id(struct rec_index *ix, const uint8_t id[32])
{
	for (int i = 0; i < 32; i++)
		ix->digest[i] ^= id[i];
}

static void unlink_entry(struct rec_index *ix, struct rec *x)
{
	struct rec **pp = &ix->by_key[x->keyhash & (ix->nbuckets - 1)];
	while (*pp && *pp != x)
		pp = &(*pp)->next_key;
	if (*pp)
		*pp = x->next_key;
	pp = &ix->by_id[id_hash(x->id) & (ix->nbuckets - 1)];
	while (*pp && *pp != x)
		pp = &(*pp)->next_id;
	if (*pp)
		*pp = x->next_id;
	xor_id(ix, x->id);
	ix->count--;
	ix->bytes -= x->wire_len;
	ix->dirty = true;
}

struct rec *index_put(struct rec_index *ix, struct rec *old, const struct record *r,
		      const uint8_t id[32], uint64_t keyhash, bool local, struct origin *o)
{
	struct rec *x;

	if (r->wire_len < REC_ORIGIN_AT + 32 || memcmp(r->wire + REC_ORIGIN_AT, r->origin, 32) != 0)
		return NULL;   /* not a canonical envelope: cannot happen after decode */
	x = calloc(1, sizeof *x);
	if (!x || !(x->wire = malloc(r->wire_len))) {
		free(x);
		return NULL;
	}
	if (old)
		index_remove(ix, old);
	if (ix->count + 1 > ix->nbuckets)
		grow(ix);
	memcpy(x->wire, r->wire, r->wire_len);
	x->wire_len = (uint16_t)r->wire_len;
	x->org = o;
	x->keyhash = keyhash;
	x->version = r->version;
	x->expires = r->expires < UINT32_MAX ? (uint32_t)r->expires : UINT32_MAX;   /* 2106 */
	x->kind = r->kind;
	x->local = local;
	memcpy(x->id, id, 32);
	size_t b = keyhash & (ix->nbuckets - 1);
	x->next_key = ix->by_key[b];
	ix->by_key[b] = x;
	b = id_hash(id) & (ix->nbuckets - 1);
	x->next_id = ix->by_id[b];
	ix->by_id[b] = x;
	xor_id(ix, id);
	ix->count++;
	ix->bytes += x->wire_len;
	ix->dirty = true;
	return x;
}

void index_remove(struct rec_index *ix, struct rec *x)
{
	unlink_entry(ix, x);
	free_rec(x);
}

static int by_keyhash(const void *a, const void *b)
{
	const struct rec *x = *(const struct rec *const *)a, *y = *(const struct rec *const *)b;

	if (x->keyhash != y->keyhash)
		return x->keyhash < y->keyhash ? -1 : 1;
	return memcmp(x->id, y->id, 32);
}

struct rec **index_sorted(struct rec_index *ix, size_t *n)
{
	if (ix->dirty || !ix->sorted) {
		if (ix->sorted_cap < ix->count + 1) {
			struct rec **s = realloc(ix->sorted, (ix->count + 1) * 2 * sizeof *s);
			if (!s) {
				*n = 0;
				return NULL;
			}
			ix->sorted = s;
			ix->sorted_cap = (ix->count + 1) * 2;
		}
		size_t k = 0;
		for (size_t i = 0; i < ix->nbuckets; i++)
			for (struct rec *x = ix->by_key[i]; x; x = x->next_key)
				ix->sorted[k++] = x;
		qsort(ix->sorted, k, sizeof *ix->sorted, by_keyhash);
		ix->dirty = false;
	}
	*n = ix->count;
	return ix->sorted;
}

/* Two generations of open-addressing sets: inserts go to the current one;
 * when it is half full the previous one is dropped and the current one
 * becomes the previous. A lookup checks both, so an id stays known for
 * between cap/2 and cap insertions. No deletion, O(1) everything. */
static size_t gen_slot(const struct seen_gen *g, size_t cap, const uint8_t *id, bool *found)
{
	size_t mask = cap - 1, i = id_hash(id) & mask;

	for (;;) {
		if (!g->state[i]) {
			*found = false;
			return i;
		}
		if (memcmp(g->ids[i], id, WIRE_ID_LEN) == 0) {
			*found = true;
			return i;
		}
		i = (i + 1) & mask;
	}
}

int seen_init(struct seen_cache *s, size_t cap)
{
	size_t c = 64;

	memset(s, 0, sizeof *s);
	while (c < cap)
		c *= 2;
	s->cap = c;
	for (int g = 0; g < 2; g++) {
		s->gen[g].ids = calloc(c, sizeof *s->gen[g].ids);
		s->gen[g].state = calloc(c, 1);
		if (!s->gen[g].ids || !s->gen[g].state) {
			seen_free(s);
			return -ENOMEM;
		}
	}
	return 0;
}

void seen_free(struct seen_cache *s)
{
	for (int g = 0; g < 2; g++) {
		free(s->gen[g].ids);
		free(s->gen[g].state);
	}
	memset(s, 0, sizeof *s);
}

int seen_get(const struct seen_cache *s, const uint8_t *id)
{
	bool found;
	int best = 0;

	for (int g = 0; g < 2; g++) {
		size_t i = gen_slot(&s->gen[g], s->cap, id, &found);
		if (found && s->gen[g].state[i] > best)
			best = s->gen[g].state[i];
	}
	return best;
}

void seen_put(struct seen_cache *s, const uint8_t *id, int state)
{
	struct seen_gen *cur = &s->gen[s->current];
	bool found;
	size_t i = gen_slot(cur, s->cap, id, &found);

	if (found) {
		if (state > cur->state[i])
			cur->state[i] = (uint8_t)state;
		return;
	}
	if (cur->n >= s->cap / 2) {
		s->current ^= 1;
		cur = &s->gen[s->current];
		memset(cur->state, 0, s->cap);
		cur->n = 0;
		i = gen_slot(cur, s->cap, id, &found);
	}
	memcpy(cur->ids[i], id, WIRE_ID_LEN);
	cur->state[i] = (uint8_t)state;
	cur->n++;
}

/* ---- fair order ---- */

struct fair_item {
	struct rec *x;
	int rank;
	size_t pos, ord;
};

static int by_origin(const void *a, const void *b)
{
	const struct fair_item *p = a, *q = b;
	int c = memcmp(rec_origin(p->x), rec_origin(q->x), 32);
	return c ? c : (p->pos > q->pos) - (p->pos < q->pos);
}

static int by_turn(const void *a, const void *b)
{
	const struct fair_item *p = a, *q = b;
	if (p->rank != q->rank)
		return p->rank - q->rank;
	if (p->ord != q->ord)
		return (p->ord > q->ord) - (p->ord < q->ord);
	return (p->pos > q->pos) - (p->pos < q->pos);
}

int recs_fair_order(struct rec **v, size_t n, int (*rank)(const struct rec *))
{
	struct fair_item *it;

	if (n < 2)
		return 0;
	it = malloc(n * sizeof *it);
	if (!it)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		it[i].x = v[i];
		it[i].rank = rank ? rank(v[i]) : 0;
		it[i].pos = i;
	}
	qsort(it, n, sizeof *it, by_origin);
	for (size_t i = 0; i < n; i++)
		it[i].ord = i && memcmp(rec_origin(it[i].x), rec_origin(it[i - 1].x), 32) == 0
				    ? it[i - 1].ord + 1 : 0;
	qsort(it, n, sizeof *it, by_turn);
	for (size_t i = 0; i < n; i++)
		v[i] = it[i].x;
	free(it);
	return 0;
}
