/* mn_impair: an Ethernet bridge in user space between two interfaces that
 * delays the frames of one direction by DELAY +- JITTER ms (uniform, so
 * frames overtake each other: reordering), drops LOSS % of them and sends
 * DUP % twice; the other direction is passed on at once. It stands in for
 * `tc netem` on kernels without sch_netem (tests/netns/lib.sh ns_slow puts
 * it in a namespace of its own between a host's veth and the bridge).
 *
 *   mn_impair --a IF --b IF --seconds N [--delay MS] [--jitter MS]
 *             [--loss PCT] [--dup PCT] [--seed N]
 *
 * Frames from IF a go out of IF b, impaired; frames from b go out of a.
 * Bounded: it ends after N seconds (or at SIGTERM/SIGINT), holds at most
 * QMAX frames (more are dropped and counted as overflow). Prints "ready"
 * once both sockets are bound, and a line of counts at the end. Root. */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>

#define QMAX 4096
#define FRAME_MAX 2048

struct held {
	uint64_t due_us, seq;
	uint16_t len;
	uint8_t data[FRAME_MAX];
};

static struct held *q;
static size_t nq;
static volatile sig_atomic_t stop;
static uint64_t rng;
static struct {
	uint64_t in, sent, lost, dup, reordered, overflow, back, errors;
} ct;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t rnd(uint64_t n)   /* uniform enough in [0, n) for a test */
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return n ? rng % n : 0;
}

static int open_if(const char *name, int *ifindex)
{
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	int one = 1;

	if (fd < 0)
		return -1;
	sa.sll_ifindex = (int)if_nametoindex(name);
	if (!sa.sll_ifindex || bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
		close(fd);
		return -1;
	}
	/* our own sends are not read back (kernels before 4.20: pkttype below) */
	(void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
	struct packet_mreq mr = { .mr_ifindex = sa.sll_ifindex, .mr_type = PACKET_MR_PROMISC };
	(void)setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &mr, sizeof mr);
	*ifindex = sa.sll_ifindex;
	return fd;
}

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (; n > 1; n -= 2, p += 2)
		s += (uint32_t)p[0] << 8 | p[1];
	if (n)
		s += (uint32_t)p[0] << 8;
	return s;
}

/* A veth hands its peer's packet socket IPv4 UDP and TCP with the checksum
 * left to the hardware (only the pseudo-header's sum in it): sent on as
 * read, the receiver would drop it. Computed here for whole datagrams. */
static void fix_checksum(uint8_t *f, size_t n)
{
	if (n < 34 || f[12] != 0x08 || f[13] != 0x00)
		return;
	uint8_t *ip = f + 14;
	size_t ihl = (size_t)(ip[0] & 15) * 4, tot = (size_t)ip[2] << 8 | ip[3];
	if ((ip[0] >> 4) != 4 || ihl < 20 || tot < ihl || 14 + tot > n || (ip[6] & 0x3f) || ip[7])
		return;   /* not IPv4, cut short, or a fragment */
	size_t l4len = tot - ihl, off;
	if (ip[9] == 17 && l4len >= 8)
		off = 6;
	else if (ip[9] == 6 && l4len >= 20)
		off = 16;
	else
		return;
	uint8_t *l4 = ip + ihl;
	l4[off] = l4[off + 1] = 0;
	uint32_t s = sum16(ip + 12, 8, ip[9] + (uint32_t)l4len);
	s = sum16(l4, l4len, s);
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	uint16_t c = (uint16_t)~s;
	if (c == 0 && ip[9] == 17)
		c = 0xffff;
	l4[off] = (uint8_t)(c >> 8);
	l4[off + 1] = (uint8_t)c;
}

static void send_to(int fd, int ifindex, uint8_t *f, size_t n)
{
	struct sockaddr_ll sa = { .sll_family = AF_PACKET, .sll_ifindex = ifindex, .sll_halen = 6 };

	memcpy(sa.sll_addr, f, 6);
	fix_checksum(f, n);
	if (sendto(fd, f, n, 0, (struct sockaddr *)&sa, sizeof sa) < 0)
		ct.errors++;
}

static void hold(const uint8_t *f, size_t n, uint64_t due, uint64_t seq)
{
	if (nq == QMAX) {
		ct.overflow++;
		return;
	}
	q[nq].due_us = due;
	q[nq].seq = seq;
	q[nq].len = (uint16_t)n;
	memcpy(q[nq].data, f, n);
	nq++;
}

/* Send what is due, earliest first; the time until the next (ms, -1 none). */
static int flush_due(int fd, int ifindex, uint64_t *max_seq)
{
	for (;;) {
		uint64_t t = now_us();
		size_t best = nq;
		for (size_t i = 0; i < nq; i++)
			if (best == nq || q[i].due_us < q[best].due_us)
				best = i;
		if (best == nq)
			return -1;
		if (q[best].due_us > t)
			return (int)((q[best].due_us - t + 999) / 1000);
		send_to(fd, ifindex, q[best].data, q[best].len);
		ct.sent++;
		if (q[best].seq < *max_seq)
			ct.reordered++;
		else
			*max_seq = q[best].seq;
		q[best] = q[--nq];
	}
}

static int usage(void)
{
	fprintf(stderr, "usage: mn_impair --a IF --b IF --seconds N [--delay MS] [--jitter MS] "
			"[--loss PCT] [--dup PCT] [--seed N]\n");
	return 2;
}

int main(int argc, char **argv)
{
	const char *ia = NULL, *ib = NULL;
	long seconds = 0, delay = 0, jitter = 0, loss = 0, dup = 0;
	unsigned long long seed = 1;

	for (int i = 1; i + 1 < argc; i += 2) {
		const char *o = argv[i], *v = argv[i + 1];
		char *end;
		long n = strtol(v, &end, 10);
		bool num = *v && !*end && n >= 0;
		if (!strcmp(o, "--a"))
			ia = v;
		else if (!strcmp(o, "--b"))
			ib = v;
		else if (!num)
			return usage();
		else if (!strcmp(o, "--seconds"))
			seconds = n;
		else if (!strcmp(o, "--delay"))
			delay = n;
		else if (!strcmp(o, "--jitter"))
			jitter = n;
		else if (!strcmp(o, "--loss") && n <= 100)
			loss = n;
		else if (!strcmp(o, "--dup") && n <= 100)
			dup = n;
		else if (!strcmp(o, "--seed"))
			seed = (unsigned long long)n;
		else
			return usage();
	}
	if (argc % 2 != 1 || !ia || !ib || seconds <= 0 || jitter > delay)
		return usage();
	rng = seed * 2654435761u + 0x9e3779b97f4a7c15ull;
	q = calloc(QMAX, sizeof *q);
	int xa, xb, fa = open_if(ia, &xa), fb = open_if(ib, &xb);
	if (!q || fa < 0 || fb < 0) {
		fprintf(stderr, "mn_impair: %s or %s: %s\n", ia, ib, strerror(errno));
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	printf("ready\n");
	fflush(stdout);

	uint64_t end = now_us() + (uint64_t)seconds * 1000000u, seq = 0, max_seq = 0;
	uint8_t f[FRAME_MAX];
	while (!stop && now_us() < end) {
		int wait = flush_due(fb, xb, &max_seq);
		int left = (int)((end - now_us()) / 1000) + 1;
		if (wait < 0 || wait > left)
			wait = left;
		struct pollfd p[2] = { { fa, POLLIN, 0 }, { fb, POLLIN, 0 } };
		if (poll(p, 2, wait) < 0 && errno != EINTR)
			break;
		for (int s = 0; s < 2; s++) {
			if (!(p[s].revents & POLLIN))
				continue;
			struct sockaddr_ll from;
			socklen_t fl = sizeof from;
			ssize_t n = recvfrom(p[s].fd, f, sizeof f, MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
			if (n < 14 || from.sll_pkttype == PACKET_OUTGOING)
				continue;
			if (s == 1) {   /* toward the host: at once */
				send_to(fa, xa, f, (size_t)n);
				ct.back++;
				continue;
			}
			ct.in++;
			if ((long)rnd(100) < loss) {
				ct.lost++;
				continue;
			}
			uint64_t t = now_us();
			uint64_t d = (uint64_t)(delay - jitter) * 1000u + rnd((uint64_t)(2 * jitter) * 1000u + 1);
			hold(f, (size_t)n, t + d, ++seq);
			if ((long)rnd(100) < dup) {
				ct.dup++;
				d = (uint64_t)(delay - jitter) * 1000u + rnd((uint64_t)(2 * jitter) * 1000u + 1);
				hold(f, (size_t)n, t + d, seq);
			}
		}
	}
	printf("frames in %llu, sent %llu, lost %llu, duplicated %llu, reordered %llu, overflow %llu, "
	       "passed back %llu, send errors %llu\n",
	       (unsigned long long)ct.in, (unsigned long long)ct.sent, (unsigned long long)ct.lost,
	       (unsigned long long)ct.dup, (unsigned long long)ct.reordered, (unsigned long long)ct.overflow,
	       (unsigned long long)ct.back, (unsigned long long)ct.errors);
	free(q);
	return 0;
}
