/* The WireGuard interface a program works on, and who made it.
 *
 * wg_iface_open(IF, mode) first looks for IF and uses what it finds:
 *   a link of kind "wireguard"          the kernel's: netlink backend
 *   a UAPI socket /var/run/wireguard/IF.sock that answers
 *                                       a running wireguard-go: uapi
 *   another link named IF               refused (not WireGuard)
 * Otherwise it makes IF, and then owns it:
 *   kernel     rtnetlink RTM_NEWLINK kind "wireguard" (rtnl.c). Without the
 *              module the kernel answers -EOPNOTSUPP and the generic
 *              netlink family "wireguard" does not resolve (-ENOENT).
 *   userspace  then, with mode auto or uapi: wireguard-go -f IF, a child
 *              process found in $PATH, until its UAPI socket answers.
 *   neither    one sentence naming both ways out (kmod-wireguard, or
 *              wireguard-go).
 * wg_iface_close() closes the backend and removes what wg_iface_open made
 * (RTM_DELLINK; SIGTERM to wireguard-go, which removes its TUN device and
 * socket); an interface that was there before is left as it is.
 *
 * wireguard-go's child: stdin /dev/null, stdout to our stderr (procd's
 * log), WG_PROCESS_FOREGROUND=1 (no banner), PR_SET_PDEATHSIG so that it
 * does not outlive a crashed parent holding the interface. */
#define _GNU_SOURCE     /* environ */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include "src/wg/wg_int.h"

#define SPAWN_WAIT_MS 5000      /* wireguard-go's socket must answer within */
#define STOP_WAIT_MS 2000       /* then SIGKILL */

extern char **environ;

struct wg_iface {
	struct wg_backend *be;
	char ifname[WG_IFNAME_MAX + 1];
	enum wg_impl impl;
	bool created;
	int ifindex;                 /* a kernel link we created */
	pid_t pid;                   /* a wireguard-go we started, else 0 */
	char prog[256];              /* its program */
	uint64_t revive_at_ms;       /* wg_iface_revive: not before (backoff) */
	unsigned revive_backoff_ms;
};

int wg_mode_parse(const char *s, enum wg_mode *m)
{
	if (!strcmp(s, "auto"))
		*m = WG_MODE_AUTO;
	else if (!strcmp(s, "netlink"))
		*m = WG_MODE_KERNEL;
	else if (!strcmp(s, "uapi"))
		*m = WG_MODE_USERSPACE;
	else
		return -EINVAL;
	return 0;
}

struct wg_backend *wg_iface_backend(const struct wg_iface *w)
{
	return w->be;
}

enum wg_impl wg_iface_impl(const struct wg_iface *w)
{
	return w->impl;
}

bool wg_iface_created(const struct wg_iface *w)
{
	return w->created;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

int wg_find_program(const char *name, char *out, size_t cap)
{
	const char *path = getenv("PATH");

	if (!path || !*path)
		path = "/usr/sbin:/usr/bin:/sbin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		int k = snprintf(out, cap, "%.*s/%s", (int)n, path, name);
		if (n && k > 0 && (size_t)k < cap && access(out, X_OK) == 0)
			return 0;
		path += n + (path[n] == ':');
	}
	out[0] = 0;
	return -ENOENT;
}

/* Stop a wireguard-go we started: SIGTERM, then SIGKILL. */
static void stop_child(pid_t pid)
{
	int st;

	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	for (unsigned t = 0; t < STOP_WAIT_MS; t += 20) {
		pid_t r = waitpid(pid, &st, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR))
			return;
		sleep_ms(20);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
}

/* wireguard-go -f IFNAME as our child; its UAPI socket answering. */
static int spawn_userspace(struct wg_iface *w, const char *prog, char *err, size_t errcap)
{
	char *argv[] = { (char *)"wireguard-go", (char *)"-f", w->ifname, NULL };
	char **envp;
	size_t n = 0, k = 0;
	pid_t parent = getpid();
	int st, nul;

	while (environ && environ[n])
		n++;
	/* built before fork: the child may only exec */
	if (!(envp = calloc(n + 2, sizeof *envp))) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "WG_PROCESS_FOREGROUND=", 22) != 0)
			envp[k++] = environ[i];
	envp[k++] = (char *)"WG_PROCESS_FOREGROUND=1";
	nul = open("/dev/null", O_RDONLY | O_CLOEXEC);
	w->pid = fork();
	if (w->pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			_exit(127);
		if (nul >= 0)
			dup2(nul, 0);
		dup2(2, 1);
		execve(prog, argv, envp);
		_exit(127);
	}
	free(envp);
	if (nul >= 0)
		close(nul);
	if (w->pid < 0) {
		w->pid = 0;
		snprintf(err, errcap, "cannot start %s: %s", prog, strerror(errno));
		return -EIO;
	}
	for (unsigned t = 0; t < SPAWN_WAIT_MS; t += 50) {
		char e[256];
		if (waitpid(w->pid, &st, WNOHANG) == w->pid) {
			w->pid = 0;
			snprintf(err, errcap, "%s exited (%s %d) before its socket answered: see its "
			         "messages above", prog, WIFEXITED(st) ? "status" : "signal",
			         WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
			return -EIO;
		}
		if ((w->be = wg_uapi_new(w->ifname, e, sizeof e)) != NULL)
			return 0;
		sleep_ms(50);
	}
	stop_child(w->pid);
	w->pid = 0;
	snprintf(err, errcap, "%s did not open its socket within %d s", prog,
	         SPAWN_WAIT_MS / 1000);
	return -ETIMEDOUT;
}

/* Make the kernel's interface: 0, or a negative errno with err filled
 * (-EOPNOTSUPP: the kernel has no WireGuard). */
static int create_kernel(struct wg_iface *w, char *err, size_t errcap)
{
	struct wg_link l;
	char e[256];
	int r = wg_link_create(w->ifname, "wireguard");

	if (r == -EOPNOTSUPP || r == -ENODEV || r == -ENOENT) {
		/* no link kind; the family too? then the module is absent */
		if (wg_netlink_available() < 0) {
			snprintf(err, errcap, "the kernel has no WireGuard module");
			return -EOPNOTSUPP;
		}
	}
	if (r < 0) {
		snprintf(err, errcap, "cannot create it: %s", strerror(-r));
		return r;
	}
	if ((r = wg_link_find(w->ifname, &l)) < 0) {
		snprintf(err, errcap, "it vanished after its creation: %s", strerror(-r));
		return r;
	}
	w->ifindex = l.ifindex;
	w->created = true;
	w->impl = WG_IMPL_KERNEL;
	if (!(w->be = wg_netlink_new(w->ifname, e, sizeof e))) {
		snprintf(err, errcap, "%s", e);
		return -EIO;
	}
	return 0;
}

struct wg_iface *wg_iface_open(const char *ifname, enum wg_mode mode, char *err, size_t errcap)
{
	struct wg_iface *w;
	struct wg_link l;
	char e[256], prog[256];
	int r;

	if (!wg_ifname_valid(ifname)) {
		snprintf(err, errcap, "invalid WireGuard interface name '%.16s'", ifname ? ifname : "");
		return NULL;
	}
	if (!(w = calloc(1, sizeof *w))) {
		snprintf(err, errcap, "out of memory");
		return NULL;
	}
	strcpy(w->ifname, ifname);
	/* 1. an interface that is there already */
	r = wg_link_find(ifname, &l);
	if (r == 0 && !strcmp(l.kind, "wireguard")) {
		if (mode == WG_MODE_USERSPACE) {
			snprintf(err, errcap, "a kernel WireGuard interface: wg_backend uapi "
			         "(wireguard-go) cannot drive it; use auto or netlink");
			goto fail;
		}
		w->impl = WG_IMPL_KERNEL;
		if (!(w->be = wg_netlink_new(ifname, err, errcap)))
			goto fail;
		return w;
	}
	if (r < 0 && r != -ENODEV) {
		snprintf(err, errcap, "rtnetlink: cannot list the interfaces: %s", strerror(-r));
		goto fail;
	}
	if (mode != WG_MODE_KERNEL && (w->be = wg_uapi_new(ifname, e, sizeof e)) != NULL) {
		w->impl = WG_IMPL_USERSPACE;
		return w;
	}
	if (r == 0) {
		snprintf(err, errcap, "exists and is not WireGuard (kind '%s', no wireguard-go "
		         "socket): pick another wg_interface", l.kind);
		goto fail;
	}
	/* 2. make it: the kernel's first */
	if (mode != WG_MODE_USERSPACE) {
		r = create_kernel(w, e, sizeof e);
		if (r == 0)
			return w;
		if (r != -EOPNOTSUPP || mode == WG_MODE_KERNEL) {
			if (r == -EOPNOTSUPP)
				snprintf(err, errcap, "cannot create it: %s (install kmod-wireguard)", e);
			else
				snprintf(err, errcap, "%s", e);
			goto fail;
		}
	}
	/* 3. wireguard-go */
	if (wg_find_program("wireguard-go", prog, sizeof prog) < 0) {
		if (mode == WG_MODE_AUTO)
			snprintf(err, errcap, "cannot create it: this kernel has no WireGuard module "
			         "and wireguard-go is not installed (install kmod-wireguard, or "
			         "wireguard-go)");
		else
			snprintf(err, errcap, "cannot create it: wireguard-go is not installed (not "
			         "in PATH)");
		goto fail;
	}
	if (spawn_userspace(w, prog, err, errcap) < 0)
		goto fail;
	snprintf(w->prog, sizeof w->prog, "%s", prog);
	w->created = true;
	w->impl = WG_IMPL_USERSPACE;
	return w;
fail:
	wg_iface_close(w);
	return NULL;
}

int wg_iface_revive(struct wg_iface *w, uint64_t now_ms, char *err, size_t errcap)
{
	struct wg_link l;
	int st, r;

	if (!w || !w->created || now_ms < w->revive_at_ms)
		return 0;
	if (w->impl == WG_IMPL_USERSPACE) {
		if (w->pid > 0 && waitpid(w->pid, &st, WNOHANG) == w->pid)
			w->pid = 0;   /* it exited: reaped here */
		if (w->pid > 0)
			return 0;
	} else {
		r = wg_link_find(w->ifname, &l);
		if (r != -ENODEV)
			return 0;   /* there (or rtnetlink cannot say: try next time) */
		w->ifindex = 0;
	}
	/* gone: the old backend talks to nothing */
	if (w->be) {
		w->be->free(w->be);
		w->be = NULL;
	}
	r = w->impl == WG_IMPL_USERSPACE ? spawn_userspace(w, w->prog, err, errcap)
					 : create_kernel(w, err, errcap);
	if (r < 0) {
		w->revive_backoff_ms = w->revive_backoff_ms ? 2 * w->revive_backoff_ms : 1000;
		if (w->revive_backoff_ms > 60000)
			w->revive_backoff_ms = 60000;
		w->revive_at_ms = now_ms + w->revive_backoff_ms;
		return r;
	}
	w->revive_backoff_ms = 0;
	return 1;
}

void wg_iface_close(struct wg_iface *w)
{
	if (!w)
		return;
	if (w->be)
		w->be->free(w->be);
	if (w->ifindex > 0)
		(void)wg_link_delete(w->ifindex);
	stop_child(w->pid);
	free(w);
}
