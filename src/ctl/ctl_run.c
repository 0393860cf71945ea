/* Running a helper program from the CLI (cscli, haproxy -c) with its
 * output captured: bounded in bytes and in time, no shell. */
#include <errno.h>
#include <stdint.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>
#include "src/ctl/ctl.h"

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Append what fd has to buf (NUL-terminated, the rest dropped): 1 while
 * open, 0 at end of file. */
static int drain(int fd, char *buf, size_t cap, size_t *len)
{
	char tmp[4096];
	ssize_t n = read(fd, tmp, sizeof tmp);

	if (n < 0)
		return errno == EINTR || errno == EAGAIN ? 1 : 0;
	if (n == 0)
		return 0;
	if (buf && cap > 1 && *len < cap - 1) {
		size_t k = (size_t)n < cap - 1 - *len ? (size_t)n : cap - 1 - *len;
		memcpy(buf + *len, tmp, k);
		*len += k;
		buf[*len] = '\0';
	}
	return 1;
}

int ctl_run(const char *const argv[], char *out, size_t outcap, char *err, size_t errcap, int timeout_ms)
{
	int po[2], pe[2], st;
	size_t lo = 0, le = 0;
	pid_t pid;

	if (out && outcap)
		out[0] = '\0';
	if (err && errcap)
		err[0] = '\0';
	if (pipe(po) < 0)
		return -1;
	if (pipe(pe) < 0) {
		close(po[0]);
		close(po[1]);
		return -1;
	}
	if ((pid = fork()) < 0) {
		close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]), close(po[1]), close(pe[0]), close(pe[1]);
		execvp(argv[0], (char *const *)(uintptr_t)argv);   /* execvp does not write them */
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	struct pollfd fds[2] = { { .fd = po[0], .events = POLLIN }, { .fd = pe[0], .events = POLLIN } };
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	bool timed_out = false;
	while (fds[0].fd >= 0 || fds[1].fd >= 0) {
		uint64_t t = now_ms();
		if (t >= end) {
			timed_out = true;
			break;
		}
		int n = poll(fds, 2, (int)(end - t));
		if (n < 0 && errno != EINTR)
			break;
		for (int i = 0; n > 0 && i < 2; i++) {
			if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			if (!drain(fds[i].fd, i ? err : out, i ? errcap : outcap, i ? &le : &lo)) {
				close(fds[i].fd);
				fds[i].fd = -1;
			}
		}
	}
	for (int i = 0; i < 2; i++)
		if (fds[i].fd >= 0)
			close(fds[i].fd);
	if (timed_out)
		kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (timed_out)
		return CTL_RUN_TIMEOUT;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

char *ctl_last_line(char *text)
{
	char *line = NULL;

	for (char *s = strtok(text, "\r\n"); s; s = strtok(NULL, "\r\n"))
		if (s[strspn(s, " \t")])
			line = s;
	return line ? line : "";
}
