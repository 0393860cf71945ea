/* The daemon's transport (src/daemon/transport.c), on loopback:
 * transport_peer_back closes a connection to the peer that is stuck — data
 * the other end does not take (here a listener that never reads: the
 * window closes and the writes pile up, as they do behind a partition where
 * TCP backs off) — and the next message opens a fresh one; a healthy idle
 * connection to a peer that reads is left alone. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <uv.h>
#include "src/daemon/transport.h"
#include "tests/check.h"

static unsigned received;

static int on_recv(void *ctx, const uint8_t pk[32], const uint8_t *msg, size_t len,
		   const struct sockaddr *from, bool stream)
{
	(void)ctx, (void)pk, (void)msg, (void)len, (void)from, (void)stream;
	received++;
	return 0;
}

static struct sockaddr_in lo(unsigned port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sa;
}

static void stop_cb(uv_timer_t *t)
{
	uv_stop(t->loop);
}

/* Run the loop for about ms. */
static void run_ms(uv_loop_t *loop, unsigned ms)
{
	uv_timer_t t;

	uv_timer_init(loop, &t);
	uv_timer_start(&t, stop_cb, ms, 0);
	uv_run(loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&t, NULL);
	uv_run(loop, UV_RUN_NOWAIT);
}

static int accepted[8];
static unsigned naccepted;

/* Accept what is pending (kept open and never read); how many. */
static unsigned accept_all(int lfd)
{
	unsigned n = 0;
	int fd;

	while ((fd = accept(lfd, NULL, NULL)) >= 0) {
		if (naccepted < 8)
			accepted[naccepted++] = fd;
		else
			close(fd);
		n++;
	}
	return n;
}

int main(void)
{
	uv_loop_t loop;
	unsigned base = 40000 + (unsigned)getpid() % 5000 * 3;
	struct sockaddr_in sa = lo(base), sb = lo(base + 1), sx = lo(base + 2);
	uint8_t pa[32], pb[32], px[32];
	struct transport *a, *b;
	struct transport_stats st;
	char err[200];

	memset(pa, 1, 32);
	memset(pb, 2, 32);
	memset(px, 3, 32);
	uv_loop_init(&loop);
	CHECK_INT(transport_open(&loop, (struct sockaddr *)&sa, pa, false, on_recv, NULL, &a, err, sizeof err), 0);
	CHECK_INT(transport_open(&loop, (struct sockaddr *)&sb, pb, false, on_recv, NULL, &b, err, sizeof err), 0);

	/* x: a listener that accepts and never reads, with a small window */
	int lfd = socket(AF_INET, SOCK_STREAM, 0), small = 4096, one = 1;
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	setsockopt(lfd, SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
	CHECK(bind(lfd, (struct sockaddr *)&sx, sizeof sx) == 0 && listen(lfd, 8) == 0);
	fcntl(lfd, F_SETFL, O_NONBLOCK);

	/* a healthy connection a -> b, idle after one message */
	transport_set_addr(a, pb, (struct sockaddr *)&sb);
	static uint8_t msg[60000];
	memset(msg, 0x5a, sizeof msg);
	CHECK_INT(transport_send(a, pb, msg, 100, CHAN_STREAM), 0);
	for (int i = 0; i < 50 && !received; i++)
		run_ms(&loop, 20);
	CHECK_INT(received, 1);
	transport_peer_back(a, pb);
	transport_get_stats(a, &st);
	CHECK_INT(st.conns_reset_back, 0);
	CHECK_INT(st.conns_out, 1);

	/* a -> x: 1 MiB the other end does not take */
	transport_set_addr(a, px, (struct sockaddr *)&sx);
	for (int i = 0; i < 16; i++)
		transport_send(a, px, msg, sizeof msg, CHAN_STREAM);
	run_ms(&loop, 300);
	CHECK_INT(accept_all(lfd), 1);
	transport_get_stats(a, &st);
	CHECK_INT(st.conns_out, 2);
	transport_peer_back(a, px);
	transport_get_stats(a, &st);
	CHECK_INT(st.conns_reset_back, 1);
	CHECK_INT(st.conns_out, 1);   /* the one to b stays */
	/* the next message opens a fresh connection */
	CHECK_INT(transport_send(a, px, msg, 100, CHAN_STREAM), 0);
	run_ms(&loop, 300);
	CHECK_INT(accept_all(lfd), 1);
	transport_get_stats(a, &st);
	CHECK_INT(st.conns_out, 2);
	/* and the healthy one still carries messages */
	CHECK_INT(transport_send(a, pb, msg, 100, CHAN_STREAM), 0);
	for (int i = 0; i < 50 && received < 2; i++)
		run_ms(&loop, 20);
	CHECK_INT(received, 2);

	transport_close(a);
	transport_close(b);
	uv_run(&loop, UV_RUN_DEFAULT);
	close(lfd);
	for (unsigned i = 0; i < naccepted; i++)
		close(accepted[i]);
	CHECK_INT(uv_loop_close(&loop), 0);
	return check_exit();
}
