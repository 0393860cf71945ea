/* The svc "mail" records held, each checked against its origin's
 * certificate chain (mailcfg_svc_check): what the mail subsystem relays
 * and Vortex writes MX records from (docs/mail.md). Built on the host
 * calls only (subsys.h), so both run it against the fake host. */
#ifndef MN_MAILREC_H
#define MN_MAILREC_H
#include "src/daemon/subsys.h"
#include "src/mail/mailcfg.h"

struct mail_boxes {
	struct mailcfg_box *b;     /* MAILCFG_MAX_BOXES at most, ours included (NULL: none) */
	size_t n;
	unsigned ignored[MAILCFG_NREFUSALS];   /* records refused, by reason */
};

/* Collect them (expired records and tombstones left out; a record whose
 * origin has no valid chain counts as bad_endpoint): 0, or -ENOMEM. Free
 * with mail_boxes_free (also after an error). */
int mail_boxes_collect(struct mn_host *h, struct mail_boxes *out);
void mail_boxes_free(struct mail_boxes *l);

#endif
