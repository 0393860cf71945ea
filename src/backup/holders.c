/* See holders.h. */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include "src/backup/holders.h"
#include "crypto/crypto.h"

struct ranked {
	size_t i;
	uint8_t score[32];
};

static int by_score(const void *a, const void *b)
{
	const struct ranked *x = a, *y = b;
	int c = memcmp(y->score, x->score, 32);

	/* equal scores are equal keys: keep the input order (qsort is not
	 * stable) so the result does not depend on the library */
	return c ? c : (x->i > y->i) - (x->i < y->i);
}

size_t holders_choose(const uint8_t hash[32], const uint8_t owner[32], uint64_t size,
		      const struct holder_offer *offers, size_t n, const uint8_t (*skip)[32],
		      size_t nskip, size_t want, size_t *out)
{
	struct ranked *r = n ? calloc(n, sizeof *r) : NULL;
	bool *taken = n ? calloc(n, sizeof *taken) : NULL;
	const uint8_t **used = want ? calloc(want, sizeof *used) : NULL;
	size_t nr = 0, got = 0, nused = 0;

	if ((n && (!r || !taken)) || (want && !used))
		goto out;
	for (size_t i = 0; i < n; i++) {
		bool skipped = !memcmp(offers[i].pk, owner, 32) || offers[i].free < size;
		for (size_t k = 0; k < nskip && !skipped; k++)
			skipped = !memcmp(offers[i].pk, skip[k], 32);
		if (skipped)
			continue;
		uint8_t m[64];
		memcpy(m, hash, 32);
		memcpy(m + 32, offers[i].pk, 32);
		r[nr].i = i;
		crypto_blake2b(m, sizeof m, r[nr].score);
		nr++;
	}
	if (nr)
		qsort(r, nr, sizeof *r, by_score);
	/* pass 0: one per parent not used yet; pass 1: the rest */
	for (int pass = 0; pass < 2 && got < want; pass++)
		for (size_t k = 0; k < nr && got < want; k++) {
			const struct holder_offer *o = &offers[r[k].i];
			bool seen = false;
			if (taken[k])
				continue;
			for (size_t u = 0; u < nused && !seen; u++)
				seen = !memcmp(used[u], o->parent, 32);
			if (pass == 0 && seen)
				continue;
			taken[k] = true;
			out[got++] = r[k].i;
			if (!seen)
				used[nused++] = o->parent;
		}
out:
	free(r);
	free(taken);
	free(used);
	return got;
}
