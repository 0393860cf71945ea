/* Sample bodies of every kind for tests: `full` fills every list to its
 * limit and every string near its maximum. */
#ifndef MN_SAMPLE_BODIES_H
#define MN_SAMPLE_BODIES_H
#include <stdio.h>
#include <string.h>
#include "proto/body.h"

static inline void sample_fill_key(uint8_t *k, uint8_t seed)
{
	for (int i = 0; i < 32; i++)
		k[i] = (uint8_t)(seed * 31 + i);
}

/* A string of exactly n lower-case letters (n <= cap - 1). */
static inline void sample_str(char *dst, size_t n, char c)
{
	memset(dst, c, n);
	dst[n] = 0;
}

static inline void sample_body(unsigned kind, union body *b, int full)
{
	memset(b, 0, sizeof *b);
	switch (kind) {
	case KIND_NODE: {
		struct node_body *n = &b->node;
		strcpy(n->name, "node1");
		sample_fill_key(n->wg_key, 1);
		n->n_endpoints = full ? MN_MAX_ENDPOINTS : 1;
		for (int i = 0; i < n->n_endpoints; i++)
			snprintf(n->endpoints[i].addr, sizeof n->endpoints[i].addr, "192.0.2.%d:51820", i + 1);
		if (full)
			sample_str(n->endpoints[0].addr, MN_MAX_ENDPOINT, 'e');
		strcpy(n->mesh_addr, full ? "fd42:4242::2/128" : "10.42.0.2");
		n->role = ROLE_SUBMASTER;
		n->depth = 1;
		n->n_caps = full ? MN_MAX_CAPS : 2;
		for (int i = 0; i < n->n_caps; i++)
			snprintf(n->caps[i].name, sizeof n->caps[i].name, "cap%d", i);
		strcpy(n->sw_version, "0.1.0");
		break;
	}
	case KIND_CERT: {
		struct cert_body *c = &b->cert;
		sample_fill_key(c->subject, 2);
		c->role = ROLE_PEER;
		c->depth = 1;
		c->max_depth = 3;
		strcpy(c->dns_scope, "node1.example.io");
		strcpy(c->mesh_addr, "10.42.0.2/32");
		c->not_before = 1700000000;
		c->not_after = full ? UINT64_MAX : 1800000000;
		break;
	}
	case KIND_REVOKE:
		sample_fill_key(b->revoke.subject, 3);
		if (full)
			sample_str(b->revoke.reason, MN_MAX_TEXT, 'r');
		else
			strcpy(b->revoke.reason, "key compromised");
		b->revoke.time = 1750000000;
		break;
	case KIND_DNS: {
		struct dns_body *d = &b->dns;
		strcpy(d->zone, "node1.example.io");
		sample_fill_key(d->delegate, 4);
		d->n_ns = full ? MN_MAX_NS : 1;
		for (int i = 0; i < d->n_ns; i++) {
			snprintf(d->ns[i].host, sizeof d->ns[i].host, "ns%d.node1.example.io", i);
			snprintf(d->ns[i].addr, sizeof d->ns[i].addr, "10.42.0.%d", i + 2);
		}
		d->ttl = 300;
		d->n_names = full ? MN_MAX_DNS_NAMES : 2;
		for (int i = 0; i < d->n_names; i++) {
			snprintf(d->names[i].label, sizeof d->names[i].label, "svc%d", i);
			snprintf(d->names[i].addr, sizeof d->names[i].addr, "10.42.1.%d", i + 1);
			d->names[i].port = (uint16_t)(i ? 8000 + i : 0);
		}
		break;
	}
	case KIND_EXPOSE: {
		struct expose_body *e = &b->expose;
		strcpy(e->service, "cloud");
		e->port = 443;
		e->channels = CH_MESH | CH_DNS;
		strcpy(e->domain, "cloud.node1.example.io");
		e->n_mirrors = full ? MN_MAX_MIRRORS : 1;
		for (int i = 0; i < e->n_mirrors; i++)
			sample_fill_key(e->mirrors[i].node, (uint8_t)(10 + i));
		e->proto = EXPOSE_TLS;
		if (full) {
			e->channels |= CH_TOR;
			strcpy(e->onion, "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion");
		}
		break;
	}
	case KIND_IOC: {
		struct ioc_body *io = &b->ioc;
		io->n_iocs = full ? 8 : 3;   /* 8 long URLs fit in MN_MAX_BODY */
		for (int i = 0; i < io->n_iocs; i++) {
			struct ioc *c = &io->iocs[i];
			c->scope = (uint8_t)(i % 5);
			switch (c->scope) {
			case IOC_IP: snprintf(c->value, sizeof c->value, "203.0.113.%d", i); break;
			case IOC_RANGE: strcpy(c->value, "198.51.100.0/24"); break;
			case IOC_DOMAIN: strcpy(c->value, "evil.example.com"); break;
			case IOC_URL:
				if (full)
					sample_str(c->value, MN_MAX_IOC_VALUE, 'u');
				else
					strcpy(c->value, "http://evil.example.com/x");
				break;
			default: sample_str(c->value, 64, 'f'); break;
			}
			c->action = (uint8_t)(i % 3);
			strcpy(c->scenario, "crowdsecurity/ssh-bf");
			c->confidence = (uint8_t)(50 + i);
			c->valid_until = 1800000000 + (uint64_t)i;
		}
		break;
	}
	case KIND_SVC: {
		struct svc_body *s = &b->svc;
		strcpy(s->service, "mail");
		strcpy(s->endpoint, "mx.node1.example.io");
		s->port = 25;
		s->n_attrs = full ? MN_MAX_ATTRS : 1;
		for (int i = 0; i < s->n_attrs; i++) {
			snprintf(s->attrs[i].k, sizeof s->attrs[i].k, "k%d", i);
			snprintf(s->attrs[i].v, sizeof s->attrs[i].v, "v%d é", i);
		}
		break;
	}
	case KIND_ENDPOINT: {
		struct endpoint_body *ep = &b->endpoint;
		ep->n_seen = full ? MN_MAX_SEEN : 2;
		for (int i = 0; i < ep->n_seen; i++) {
			sample_fill_key(ep->seen[i].node, (uint8_t)(40 + i));
			snprintf(ep->seen[i].endpoint, sizeof ep->seen[i].endpoint, "198.51.100.%d:51820", i + 1);
			ep->seen[i].at = 1800000000 + (uint64_t)i;
		}
		if (full)
			sample_str(ep->seen[0].endpoint, MN_MAX_ENDPOINT, 'h');
		break;
	}
	case KIND_BACKUP: {
		struct backup_body *bk = &b->backup;
		strcpy(bk->snapshot, "2026-11-29T05:00Z");
		bk->size = full ? UINT64_MAX : 123456789;
		sample_fill_key(bk->hash, 7);
		bk->n_holders = full ? MN_MAX_HOLDERS : 2;
		bk->n_receipts = bk->n_holders;
		for (int i = 0; i < bk->n_holders; i++) {
			sample_fill_key(bk->holders[i].node, (uint8_t)(20 + i));
			memset(bk->receipts[i].sig, 40 + i, sizeof bk->receipts[i].sig);
		}
		strcpy(bk->name, "config");
		bk->created = full ? UINT64_MAX : 1800000000;
		if (full)
			sample_str(bk->name, MN_MAX_NAME, 'n');
		break;
	}
	}
}

#endif
