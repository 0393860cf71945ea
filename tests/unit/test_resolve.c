/* The c-ares resolver inside a libuv loop: numeric endpoints at once, a
 * name from /etc/hosts (localhost: no query leaves the machine) through
 * the loop, the cache, bad input. */
#include <arpa/inet.h>
#include <errno.h>
#include "tests/check.h"
#include "src/daemon/resolve.h"

static int done_calls;

static void on_done(void *ctx)
{
	(void)ctx;
	done_calls++;
}

int main(void)
{
	uv_loop_t loop;
	struct sockaddr_storage sa;
	char err[128];
	uint64_t now = 1800000000000ull;

	uv_loop_init(&loop);
	struct resolver *r = resolver_new(&loop, on_done, NULL, err, sizeof err);
	CHECK(r != NULL);
	CHECK_INT(resolver_lookup(r, "192.0.2.7:51820", &sa, now), 0);
	CHECK_INT(sa.ss_family, AF_INET);
	CHECK_INT(ntohs(((struct sockaddr_in *)&sa)->sin_port), 51820);
	CHECK_INT(resolver_lookup(r, "[2001:db8::1]:51820", &sa, now), 0);
	CHECK_INT(sa.ss_family, AF_INET6);
	CHECK_INT(resolver_lookup(r, "no-port", &sa, now), -EINVAL);
	CHECK_INT(resolver_lookup(r, "localhost:99999", &sa, now), -EINVAL);
	CHECK_INT(resolver_lookup(r, ":51820", &sa, now), -EINVAL);

	int rc = resolver_lookup(r, "localhost:51820", &sa, now);
	CHECK(rc == -EAGAIN || rc == 0);
	for (int i = 0; i < 50 && !done_calls; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	CHECK_INT(done_calls, 1);
	CHECK_INT(resolver_lookup(r, "localhost:51820", &sa, now + 10), 0);
	if (sa.ss_family == AF_INET) {
		char ip[INET_ADDRSTRLEN];
		inet_ntop(AF_INET, &((struct sockaddr_in *)&sa)->sin_addr, ip, sizeof ip);
		CHECK_STR(ip, "127.0.0.1");
		CHECK_INT(ntohs(((struct sockaddr_in *)&sa)->sin_port), 51820);
	} else {
		CHECK_INT(sa.ss_family, AF_INET6);
		CHECK_INT(ntohs(((struct sockaddr_in6 *)&sa)->sin6_port), 51820);
	}
	/* cached: no new lookup */
	CHECK_INT(resolver_lookup(r, "localhost:51820", &sa, now + 20), 0);
	CHECK_INT(done_calls, 1);
	/* forgotten: looked up again */
	resolver_forget(r, "localhost:51820");
	rc = resolver_lookup(r, "localhost:51820", &sa, now + 30);
	CHECK(rc == -EAGAIN || rc == 0);
	for (int i = 0; i < 50 && done_calls < 2; i++)
		uv_run(&loop, UV_RUN_NOWAIT);
	CHECK_INT(done_calls, 2);
	resolver_free(r);
	uv_run(&loop, UV_RUN_DEFAULT);
	CHECK_INT(uv_loop_close(&loop), 0);
	return check_exit();
}
