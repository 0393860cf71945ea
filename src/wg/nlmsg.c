/* Netlink plumbing shared by the generic netlink backend (netlink.c) and
 * rtnetlink (rtnl.c): an attribute writer that never writes past its
 * buffer (it marks itself full instead, and the message is refused), and
 * bounded readers for messages and attributes that return -EBADMSG rather
 * than read outside (buf, len). Attributes of rtnetlink (struct rtattr)
 * and generic netlink (struct nlattr) have the same layout: one reader.
 * Pure: no I/O. See wg_int.h. */
#include <errno.h>
#include <string.h>
#include <linux/netlink.h>
#include "src/wg/wg_int.h"
#include "crypto/crypto.h"

/* ---- writer ---- */

void *wg_nlw_reserve(struct wg_nlw *w, size_t n)
{
	size_t padded = NLA_ALIGN(n);
	void *p;

	if (w->full || padded > w->cap - w->len) {
		w->full = true;
		return NULL;
	}
	p = w->buf + w->len;
	memset(p, 0, padded);
	w->len += padded;
	return p;
}

void wg_nlw_put(struct wg_nlw *w, uint16_t type, const void *data, size_t n)
{
	struct nlattr *a;

	if (n > UINT16_MAX - NLA_HDRLEN) {
		w->full = true;
		return;
	}
	a = wg_nlw_reserve(w, NLA_HDRLEN + n);
	if (!a)
		return;
	a->nla_type = type;
	a->nla_len = (uint16_t)(NLA_HDRLEN + n);
	if (n)
		memcpy((uint8_t *)a + NLA_HDRLEN, data, n);
}

void wg_nlw_u8(struct wg_nlw *w, uint16_t type, uint8_t v) { wg_nlw_put(w, type, &v, 1); }
void wg_nlw_u16(struct wg_nlw *w, uint16_t type, uint16_t v) { wg_nlw_put(w, type, &v, 2); }
void wg_nlw_u32(struct wg_nlw *w, uint16_t type, uint32_t v) { wg_nlw_put(w, type, &v, 4); }

void wg_nlw_str(struct wg_nlw *w, uint16_t type, const char *s)
{
	wg_nlw_put(w, type, s, strlen(s) + 1);
}

size_t wg_nlw_nest_start(struct wg_nlw *w, uint16_t type)
{
	size_t off = w->len;
	struct nlattr *a = wg_nlw_reserve(w, NLA_HDRLEN);

	if (a)
		a->nla_type = type | NLA_F_NESTED;
	return off;
}

void wg_nlw_nest_end(struct wg_nlw *w, size_t off)
{
	struct nlattr *a = (struct nlattr *)(w->buf + off);

	if (w->full)
		return;
	if (w->len - off > UINT16_MAX) {
		w->full = true;
		return;
	}
	a->nla_len = (uint16_t)(w->len - off);
}

void *wg_nlw_msg_start(struct wg_nlw *w, uint16_t type, uint16_t flags, uint32_t seq,
                       size_t fixed)
{
	struct nlmsghdr *h = wg_nlw_reserve(w, NLMSG_HDRLEN);
	void *f = wg_nlw_reserve(w, fixed);

	if (!h || !f)
		return NULL;
	h->nlmsg_type = type;
	h->nlmsg_flags = flags;
	h->nlmsg_seq = seq;
	h->nlmsg_pid = 0;
	return f;
}

int wg_nlw_msg_end(struct wg_nlw *w)
{
	if (w->full || w->len > INT32_MAX) {
		crypto_wipe(w->buf, w->cap);
		return -EMSGSIZE;
	}
	((struct nlmsghdr *)w->buf)->nlmsg_len = (uint32_t)w->len;
	return (int)w->len;
}

/* ---- readers ---- */

int wg_nla_next(struct wg_nla_iter *it, uint16_t *type, const uint8_t **data, size_t *len)
{
	struct nlattr a;
	size_t step;

	if (it->left == 0)
		return 0;
	if (it->left < NLA_HDRLEN)
		return -EBADMSG;
	memcpy(&a, it->p, sizeof a);
	if (a.nla_len < NLA_HDRLEN || a.nla_len > it->left)
		return -EBADMSG;
	*type = a.nla_type & NLA_TYPE_MASK;
	*data = it->p + NLA_HDRLEN;
	*len = a.nla_len - NLA_HDRLEN;
	step = NLA_ALIGN(a.nla_len);
	if (step > it->left)
		step = it->left;                /* the last one may go unpadded */
	it->p += step;
	it->left -= step;
	return 1;
}

/* 1 and the next message (header copied, payload bounded), 0 at the end,
 * -EBADMSG if one overruns. */
static int nlmsg_next(struct wg_nla_iter *it, struct nlmsghdr *h, const uint8_t **payload,
                      size_t *plen)
{
	size_t step;

	if (it->left == 0)
		return 0;
	if (it->left < NLMSG_HDRLEN)
		return -EBADMSG;
	memcpy(h, it->p, sizeof *h);
	if (h->nlmsg_len < NLMSG_HDRLEN || h->nlmsg_len > it->left)
		return -EBADMSG;
	*payload = it->p + NLMSG_HDRLEN;
	*plen = h->nlmsg_len - NLMSG_HDRLEN;
	step = NLMSG_ALIGN(h->nlmsg_len);
	if (step > it->left)
		step = it->left;
	it->p += step;
	it->left -= step;
	return 1;
}

/* The error of an NLMSG_ERROR payload (0 = ack), or -EBADMSG. */
static int nlmsg_error(const uint8_t *payload, size_t plen)
{
	int32_t e;

	if (plen < sizeof e)
		return -EBADMSG;
	memcpy(&e, payload, sizeof e);
	if (e > 0 || e < -4095)
		return -EBADMSG;
	return e;
}

int wg_nl_walk(const uint8_t *buf, size_t len, uint32_t seq, bool want_ack, wg_nl_msg_fn *fn,
               void *ctx)
{
	struct wg_nla_iter it = { buf, len };
	struct nlmsghdr h;
	const uint8_t *payload;
	size_t plen;
	int r;

	while ((r = nlmsg_next(&it, &h, &payload, &plen)) > 0) {
		if (h.nlmsg_seq != seq)
			continue;                   /* a late answer to an earlier request */
		if (h.nlmsg_type == NLMSG_NOOP)
			continue;
		if (h.nlmsg_type == NLMSG_ERROR) {
			r = nlmsg_error(payload, plen);
			if (r == 0 && !want_ack)
				continue;
			return r == 0 ? 1 : r;
		}
		if (h.nlmsg_type == NLMSG_DONE) {
			/* a dump's error travels in its DONE message */
			if (plen >= 4) {
				r = nlmsg_error(payload, plen);
				if (r < 0)
					return r;
			}
			return 1;
		}
		if (h.nlmsg_type == NLMSG_OVERRUN)
			return -EBADMSG;
		/* the object changed during a multi-part dump: its parts disagree */
		if (h.nlmsg_flags & NLM_F_DUMP_INTR)
			return -EAGAIN;
		if (!fn)
			continue;
		r = fn(&h, payload, plen, ctx);
		if (r != 0)
			return r;
	}
	return r;
}
