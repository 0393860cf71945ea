/* The mesh address plan: parsing, containment, the lowest free address. */
#include <errno.h>
#include "tests/check.h"
#include "src/addrplan.h"

int main(void)
{
	struct addrplan p;
	char out[64];

	CHECK_INT(addrplan_parse("10.42.0.0/16", &p), 0);
	CHECK_INT(addrplan_parse("10.42.0.1/16", &p), -EINVAL);    /* host bits */
	CHECK_INT(addrplan_parse("10.42.0.0", &p), -EINVAL);       /* no prefix */
	CHECK_INT(addrplan_parse("10.42.0.0/31", &p), -EINVAL);    /* too small */
	CHECK_INT(addrplan_parse("10.42.0.0/33", &p), -EINVAL);
	CHECK_INT(addrplan_parse("banana/8", &p), -EINVAL);
	CHECK_INT(addrplan_parse("fd42:4242::/64", &p), 0);
	CHECK_INT(addrplan_parse("fd42:4242::1/64", &p), -EINVAL);

	CHECK_INT(addrplan_parse("10.42.0.0/16", &p), 0);
	CHECK(addrplan_contains(&p, "10.42.7.9"));
	CHECK(addrplan_contains(&p, "10.42.7.9/32"));
	CHECK(!addrplan_contains(&p, "10.43.0.1"));
	CHECK(!addrplan_contains(&p, "fd42::1"));
	CHECK_INT(addrplan_next(&p, NULL, 0, out, sizeof out), 0);
	CHECK_STR(out, "10.42.0.1");
	const char *used[] = { "10.42.0.1", "10.42.0.2/32", "10.42.0.4", "192.0.2.1", "junk", NULL };
	CHECK_INT(addrplan_next(&p, used, 6, out, sizeof out), 0);
	CHECK_STR(out, "10.42.0.3");
	/* crossing a byte boundary */
	const char *many[300];
	char bufs[300][32];
	for (int i = 0; i < 300; i++) {
		snprintf(bufs[i], sizeof bufs[i], "10.42.%d.%d", (i + 1) / 256, (i + 1) % 256);
		many[i] = bufs[i];
	}
	CHECK_INT(addrplan_next(&p, many, 300, out, sizeof out), 0);
	CHECK_STR(out, "10.42.1.45");
	/* a full subnet; the broadcast address is never given */
	CHECK_INT(addrplan_parse("10.9.9.0/30", &p), 0);
	const char *full[] = { "10.9.9.1", "10.9.9.2" };
	CHECK_INT(addrplan_next(&p, full, 2, out, sizeof out), -ENOSPC);
	CHECK_INT(addrplan_next(&p, full, 1, out, sizeof out), 0);
	CHECK_STR(out, "10.9.9.2");
	/* IPv6 ULA */
	CHECK_INT(addrplan_parse("fd42:4242::/64", &p), 0);
	const char *v6[] = { "fd42:4242::1" };
	CHECK_INT(addrplan_next(&p, v6, 1, out, sizeof out), 0);
	CHECK_STR(out, "fd42:4242::2");
	CHECK_INT(addrplan_next(&p, v6, 1, out, 4), -EINVAL);
	return check_exit();
}
