/* A member's certificate chain as the list of its keys, root first: what
 * the expose subsystem routes along (root -> sub-master -> leaf) and what
 * Vortex walks up to find a name's nearest entry point. Built on the host
 * calls only (subsys.h), so the subsystems' unit tests run it against the
 * fake host. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "src/daemon/subsys.h"
#include "src/daemon/config.h"
#include "crypto/chain.h"
#include "proto/body.h"
#include "proto/record.h"

int subsys_chain_path(struct mn_host *h, const uint8_t pk[32], uint8_t (*path)[32], size_t cap,
		      size_t *n, struct chain_result *res)
{
	const uint8_t *wire[MN_MAX_DEPTH + 2];
	size_t len[MN_MAX_DEPTH + 2], nl = 0;
	int rc;

	*n = 0;
	if (cap < 2)
		return -EINVAL;
	if ((rc = host_chain_records(h, pk, wire, len, MN_MAX_DEPTH + 2, &nl, res)) < 0)
		return rc;
	memcpy(path[(*n)++], host_config(h)->root, 32);
	for (size_t i = 0; i < nl && *n < cap; i++) {
		struct record r;
		union body b;
		if (record_decode_envelope(wire[i], len[i], &r) < 0 || r.kind != KIND_CERT ||
		    body_decode(KIND_CERT, r.body, r.body_len, &b) < 0)
			return -EINVAL;
		if (!memcmp(b.cert.subject, path[0], 32))
			continue;   /* the root's own cert */
		memcpy(path[(*n)++], b.cert.subject, 32);
	}
	if (memcmp(path[*n - 1], pk, 32) != 0) {
		if (*n == cap)
			return -ENOSPC;
		memcpy(path[(*n)++], pk, 32);   /* (a chain without pk's own link: the root) */
	}
	return 0;
}

static void strip_prefix(const char *in, char *out, size_t cap)
{
	snprintf(out, cap, "%.*s", (int)strcspn(in, "/"), in);
}

struct root_addr {
	const uint8_t *root;
	char *out;
	size_t cap;
};

static int root_node_cb(void *ctx, const struct record *r, const uint8_t id[32])
{
	struct root_addr *ra = ctx;
	union body b;

	(void)id;
	if (r->kind != KIND_NODE || memcmp(r->origin, ra->root, 32) != 0 || record_is_tombstone(r) ||
	    body_decode(KIND_NODE, r->body, r->body_len, &b) < 0)
		return 0;
	strip_prefix(b.node.mesh_addr, ra->out, ra->cap);
	return 1;
}

void subsys_mesh_addr(struct mn_host *h, const uint8_t pk[32], char *out, size_t cap)
{
	struct chain_result cr;

	out[0] = 0;
	if (host_chain(h, pk, &cr) == 0 && cr.mesh_addr[0]) {
		strip_prefix(cr.mesh_addr, out, cap);
	} else if (!memcmp(pk, host_self(h), 32) && host_config(h)->mesh_addr[0]) {
		strip_prefix(host_config(h)->mesh_addr, out, cap);
	} else if (!memcmp(pk, host_config(h)->root, 32)) {
		struct root_addr ra = { pk, out, cap };
		host_each(h, KIND_BIT(KIND_NODE), pk, root_node_cb, &ra);
	}
}
