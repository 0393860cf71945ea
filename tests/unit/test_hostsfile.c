/* The hosts subsystem (src/daemon/hostsfile.c) against a fake host
 * (tests/unit/fake_host.c): no daemon, no engine. What a demanding user
 * expects of a generated hosts file: one line per member with its mesh
 * address, sorted, the domain suffix when set, nothing for a tombstone or
 * a revoked member, written only when it changes (and then the reload
 * command), a clear status when it cannot be written. */
#include <stdlib.h>
#include <unistd.h>
#include <sys/stat.h>
#include "tests/check.h"
#include "tests/unit/fake_host.h"
#include "proto/body.h"

extern const struct subsys subsys_hosts;

static char dir[] = "/tmp/mn-hostsfile-XXXXXX";
static char path[300];

/* The file's text (a static copy; "" when unreadable). */
static const char *slurp(const char *p)
{
	static char buf[4096];
	char *t = check_slurp(p);
	bool ok = t != NULL;

	snprintf(buf, sizeof buf, "%s", ok ? t : "");
	free(t);
	return ok ? buf : NULL;
}

static void node(struct mn_host *h, uint8_t who, const char *name, const char *addr)
{
	union body b;
	uint8_t pk[32];

	memset(&b, 0, sizeof b);
	memset(pk, who, 32);
	snprintf(b.node.name, sizeof b.node.name, "%s", name);
	snprintf(b.node.mesh_addr, sizeof b.node.mesh_addr, "%s", addr);
	CHECK(fake_host_add(h, KIND_NODE, pk, "node", 1000 + who, &b) >= 0);
}

static void no_op(uv_timer_t *t)
{
	(void)t;
}

static void test_file(void)
{
	struct mn_host *h = calloc(1, sizeof *h);
	const char *t;

	fake_host_init(h, &subsys_hosts);
	snprintf(path, sizeof path, "%s/hosts", dir);
	CHECK_INT(fake_host_set(h, "hosts_file", path), 0);
	CHECK_INT(fake_host_set(h, "hosts_domain", "mesh.example"), 0);
	CHECK_INT(fake_host_set(h, "hosts_reload", "true"), 0);
	CHECK(fake_host_start(h) != NULL);
	CHECK(h->dirty >= 1);   /* the first file is due at start */
	node(h, 2, "zulu", "10.42.0.2");
	node(h, 3, "alpha", "fd42::3/64");
	unsigned dirty = h->dirty;
	node(h, 4, "mike", "10.42.0.4");
	CHECK(h->dirty > dirty);   /* a node record makes it due */
	fake_host_regen(h);
	t = slurp(path);
	CHECK(t != NULL);
	CHECK_STR(t, "# mirrornetd: the mesh's members (written when they change; do not edit)\n"
		     "fd42::3\talpha\talpha.mesh.example\n"
		     "10.42.0.4\tmike\tmike.mesh.example\n"
		     "10.42.0.2\tzulu\tzulu.mesh.example\n");
	struct stat st;
	CHECK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0644);
	CHECK_INT(h->runs, 1);
	CHECK_STR(h->last_cmd, "true");
	/* nothing changed: not written again, no reload */
	fake_host_regen(h);
	CHECK_INT(h->runs, 1);
	/* a renamed member, a deleted one, a revoked one */
	node(h, 2, "yankee", "10.42.0.2");
	CHECK(fake_host_add(h, KIND_NODE, (const uint8_t[32]){ 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4,
			    4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4, 4 }, "node", 2000, NULL) >= 0);
	uint8_t three[32];
	memset(three, 3, 32);
	fake_host_revoke(h, three);
	h->run_fails = true;
	fake_host_regen(h);
	CHECK_STR(slurp(path), "# mirrornetd: the mesh's members (written when they change; do not edit)\n"
			       "10.42.0.2\tyankee\tyankee.mesh.example\n");
	CHECK_INT(h->runs, 2);
	/* the status says what happened */
	struct json_object *s = subsys_hosts.status(h->st), *x;
	CHECK(json_object_object_get_ex(s, "entries", &x) && json_object_get_int(x) == 1);
	CHECK(json_object_object_get_ex(s, "writes", &x) && json_object_get_int(x) == 2);
	CHECK(json_object_object_get_ex(s, "reload_failures", &x) && json_object_get_int(x) == 1);
	CHECK(json_object_object_get_ex(s, "reload", &x) &&
	      !strcmp(json_object_get_string(x), "failed: exit status 1"));
	json_object_put(s);
	/* the failed reload is tried again by itself (no record changes): the
	 * retry timer makes the subsystem due within its 5 s, the file is
	 * unchanged but the reload still owed; once it passed, none more */
	unsigned d0 = h->dirty;
	uv_timer_t bound;   /* keeps the loop alive (the retry timer does not) */
	uv_timer_init(&h->loop, &bound);
	uv_timer_start(&bound, no_op, 15000, 0);
	while (h->dirty == d0 && uv_timer_get_due_in(&bound) > 0)
		uv_run(&h->loop, UV_RUN_ONCE);
	CHECK(h->dirty > d0);
	h->run_fails = false;
	fake_host_regen(h);
	CHECK_INT(h->runs, 3);
	CHECK_STR(h->last_cmd, "true");
	fake_host_regen(h);
	CHECK_INT(h->runs, 3);
	s = subsys_hosts.status(h->st);
	CHECK(json_object_object_get_ex(s, "retries", &x) && json_object_get_int(x) == 1);
	CHECK(json_object_object_get_ex(s, "writes", &x) && json_object_get_int(x) == 2);
	CHECK(json_object_object_get_ex(s, "reload", &x) && !strcmp(json_object_get_string(x), "ok"));
	json_object_put(s);
	uv_close((uv_handle_t *)&bound, NULL);
	/* the API call lists the members */
	struct json_object *res = NULL, *req = json_object_new_object();
	char err[200] = "";
	CHECK_INT(fake_host_call(h, "hosts_list", req, &res, err, sizeof err), 0);
	CHECK(res && json_object_array_length(res) == 1);
	if (res && json_object_array_length(res) == 1) {
		struct json_object *e = json_object_array_get_idx(res, 0);
		CHECK(json_object_object_get_ex(e, "fqdn", &x) &&
		      !strcmp(json_object_get_string(x), "yankee.mesh.example"));
	}
	json_object_put(res);
	json_object_put(req);
	/* cannot write: the error is in status, the old file stays */
	snprintf(path, sizeof path, "%s/no/such/dir/hosts", dir);
	CHECK_INT(fake_host_set(h, "hosts_file", path), 0);
	node(h, 5, "echo", "10.42.0.5");
	fake_host_regen(h);
	s = subsys_hosts.status(h->st);
	CHECK(json_object_object_get_ex(s, "last_error", &x) && strstr(json_object_get_string(x), "No such file"));
	json_object_put(s);
	fake_host_done(h);
	free(h);
}

static void test_options(void)
{
	struct mn_host *h = calloc(1, sizeof *h);

	fake_host_init(h, &subsys_hosts);
	CHECK_INT(fake_host_set(h, "hosts_file", "relative/hosts"), -EINVAL);
	CHECK_INT(fake_host_set(h, "hosts_file", "/etc/../etc/hosts"), -EINVAL);
	CHECK_INT(fake_host_set(h, "hosts_file", "/tmp/a b"), -EINVAL);
	CHECK_INT(fake_host_set(h, "hosts_domain", "not a name"), -EINVAL);
	CHECK_INT(fake_host_set(h, "hosts_domain", "mesh"), 0);
	/* off by default: started, it writes nothing and asks for nothing */
	CHECK(fake_host_start(h) != NULL);
	CHECK_INT(h->dirty, 0);
	node(h, 2, "zulu", "10.42.0.2");
	CHECK_INT(h->dirty, 0);
	fake_host_regen(h);
	CHECK_INT(h->runs, 0);
	fake_host_done(h);
	free(h);
}

int main(void)
{
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_file();
	test_options();
	char cmd[400];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
	return check_exit();
}
