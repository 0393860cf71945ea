/* The .ipk writer, checked with the system's tar and gzip: the three
 * members in order, modes and owners in control.tar.gz and data.tar.gz,
 * byte-exact contents, the control file, gzip -t; refusals (names,
 * versions, newlines, paths, sizes) leave nothing behind; CRC-32 vectors. */
#define _GNU_SOURCE     /* mkdtemp */
#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include "tests/check.h"
#include "src/ctl/ipk.h"

static char dir[256];

/* Run a shell command in dir; its exit status (-1 if it did not exit). */
static int run(const char *cmd)
{
	char full[1024];
	int st;

	snprintf(full, sizeof full, "cd '%s' && %s", dir, cmd);
	st = system(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* A command's stdout (in dir), NUL-terminated, at most cap - 1 bytes. */
static size_t capture(const char *cmd, char *out, size_t cap)
{
	char full[1024];
	size_t n = 0, k;
	FILE *p;

	snprintf(full, sizeof full, "cd '%s' && %s", dir, cmd);
	p = popen(full, "r");
	if (!p) {
		out[0] = 0;
		return 0;
	}
	while (n < cap - 1 && (k = fread(out + n, 1, cap - 1 - n, p)) > 0)
		n += k;
	out[n] = 0;
	pclose(p);
	return n;
}

/* A file under dir into a new buffer; its length, or -1. */
static long slurp(const char *rel, uint8_t **out)
{
	char path[512];
	FILE *f;
	long n;

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	*out = NULL;
	if (!(f = fopen(path, "rb")))
		return -1;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	*out = malloc(n > 0 ? (size_t)n : 1);
	if (!*out || fread(*out, 1, (size_t)n, f) != (size_t)n)
		n = -1;
	fclose(f);
	return n;
}

static bool exists(const char *rel)
{
	char path[512];
	struct stat st;

	snprintf(path, sizeof path, "%s/%s", dir, rel);
	return lstat(path, &st) == 0;
}

/* The line of `tar -tv` output that names path, or NULL. */
static const char *listing_line(const char *listing, const char *path, char *line, size_t cap)
{
	for (const char *l = listing; *l;) {
		size_t k = strcspn(l, "\n");
		size_t pl = strlen(path);
		if (k > pl && l[k - pl - 1] == ' ' && !strncmp(l + k - pl, path, pl)) {
			snprintf(line, cap, "%.*s", (int)k, l);
			return line;
		}
		l += k + (l[k] == '\n');
	}
	return NULL;
}

/* The entry of path in a `tar -tv --numeric-owner` listing has these
 * permissions and owner 0/0. */
static void check_entry(const char *listing, const char *path, const char *perm)
{
	char line[512];

	if (!listing_line(listing, path, line, sizeof line)) {
		fprintf(stderr, "no '%s' in:\n%s", path, listing);
		CHECK(0);
		return;
	}
	CHECK(!strncmp(line, perm, strlen(perm)));
	CHECK(strstr(line, " 0/0 ") != NULL);
	if (strncmp(line, perm, strlen(perm)))
		fprintf(stderr, "  %s: expected %s\n", line, perm);
}

struct mode_want {
	const char *path, *perm;
};

/* `tar -tvzf archive`: each entry with its permissions, owner 0/0 and
 * (by name) root/root. */
static void check_modes(const char *archive, const struct mode_want *w, size_t n)
{
	char cmd[256], buf[8192];

	snprintf(cmd, sizeof cmd, "tar -tvzf %s --numeric-owner", archive);
	capture(cmd, buf, sizeof buf);
	for (size_t i = 0; i < n; i++)
		check_entry(buf, w[i].path, w[i].perm);
	snprintf(cmd, sizeof cmd, "tar -tvzf %s", archive);
	capture(cmd, buf, sizeof buf);
	CHECK(strstr(buf, " root/root ") != NULL);
}

/* The file rel under dir holds exactly these bytes. */
static void check_file(const char *rel, const void *data, size_t len)
{
	uint8_t *got;
	long n = slurp(rel, &got);

	CHECK_INT(n, (long)len);
	CHECK(n == (long)len && (!len || !memcmp(got, data, len)));
	if (n >= 0 && (n != (long)len || (len && memcmp(got, data, len))))
		fprintf(stderr, "%s:\n%.*s\nexpected:\n%.*s\n", rel, n > 300 ? 300 : (int)n,
			(char *)got, len > 300 ? 300 : (int)len, (const char *)data);
	free(got);
}

static void test_crc32(void)
{
	static const struct { const char *in; uint32_t crc; } v[] = {
		{ "", 0 },
		{ "a", 0xE8B7BE43u },
		{ "abc", 0x352441C2u },
		{ "123456789", 0xCBF43926u },
		{ "The quick brown fox jumps over the lazy dog", 0x414FA339u },
	};
	uint8_t big[100000];

	for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
		CHECK_INT(ipk_crc32(0, v[i].in, strlen(v[i].in)), v[i].crc);
	/* pieces in order give the crc of the whole */
	CHECK_INT(ipk_crc32(ipk_crc32(0, "1234", 4), "56789", 5), 0xCBF43926u);
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 7 + (i >> 8));
	uint32_t whole = ipk_crc32(0, big, sizeof big), part = 0;
	for (size_t off = 0; off < sizeof big; off += 777)
		part = ipk_crc32(part, big + off, sizeof big - off < 777 ? sizeof big - off : 777);
	CHECK_INT(part, whole);
	/* 32 zero bytes */
	memset(big, 0, 32);
	CHECK_INT(ipk_crc32(0, big, 32), 0x190A55ADu);
}

#define MTIME 1700000000LL

static const char postinst[] =
	"#!/bin/sh\n[ -n \"$IPKG_INSTROOT\" ] || mirrornetctl join /etc/mirrornet/invite\nexit 0\n";
static const char prerm[] = "#!/bin/sh\nexit 0\n";

static void test_package(void)
{
	uint8_t invite[300], big[200000];
	static const char conf[] = "config mirrornet 'main'\n\toption enabled '1'\n";
	char buf[8192], expect[2048];
	struct stat st;
	uint8_t *got;
	long n;

	for (size_t i = 0; i < sizeof invite; i++)
		invite[i] = (uint8_t)i;                /* every byte value, NULs too */
	for (size_t i = 0; i < sizeof big; i++)
		big[i] = (uint8_t)(i * 131 + 7);       /* several stored blocks */
	const struct ipk_file files[] = {
		{ "./etc/mirrornet/invite", 0600, invite, sizeof invite, 0700 },
		{ "./etc/config/mirrornet", 0644, conf, strlen(conf), 0 },
		{ "./etc/mirrornet/empty", 0640, NULL, 0, 0 },
		{ "./usr/share/mirrornet/big.bin", 0444, big, sizeof big, 0 },
		{ "./usr/sbin/tool", 0755, "#!/bin/sh\n", 10, 0 },
	};
	const struct ipk_spec s = {
		.package = "mirrornet-join-node7", .version = "1.0.0-r1", .depends = "mirrornet",
		.architecture = "all", .description = "MirrorNet invitation for node7",
		.maintainer = "MirrorNet <mirrornet@example.org>", .license = "GPL-2.0-or-later",
		.section = "net", .source = "mirrornetctl invite create",
		.data = files, .ndata = sizeof files / sizeof files[0],
		.postinst = postinst, .prerm = prerm, .conffiles = "/etc/config/mirrornet",
		.mtime = MTIME,
	};
	char err[256] = "", path[512];

	snprintf(path, sizeof path, "%s/pkg.ipk", dir);
	CHECK_INT(ipk_write(path, 0600, &s, err, sizeof err), 0);
	CHECK_STR(err, "");
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0600);
	CHECK(S_ISREG(st.st_mode));
	CHECK(st.st_size <= (off_t)IPK_TOTAL_MAX);

	/* the outer archive: gzip -t, exactly three members in order */
	CHECK_INT(run("gzip -t pkg.ipk"), 0);
	capture("tar -tzf pkg.ipk", buf, sizeof buf);
	CHECK_STR(buf, "./debian-binary\n./control.tar.gz\n./data.tar.gz\n");
	CHECK_INT(run("tar -xzf pkg.ipk"), 0);
	n = slurp("debian-binary", &got);
	CHECK(n == 4 && !memcmp(got, "2.0\n", 4));
	free(got);
	CHECK_INT(run("gzip -t control.tar.gz && gzip -t data.tar.gz"), 0);
	static const struct mode_want outer[] = {
		{ "./debian-binary", "-rw-r--r--" }, { "./control.tar.gz", "-rw-r--r--" },
		{ "./data.tar.gz", "-rw-r--r--" },
	};
	check_modes("pkg.ipk", outer, 3);

	/* control.tar.gz: names sorted, scripts executable */
	capture("tar -tzf control.tar.gz", buf, sizeof buf);
	CHECK_STR(buf, "./\n./conffiles\n./control\n./postinst\n./prerm\n");
	static const struct mode_want ctl[] = {
		{ "./", "drwxr-xr-x" }, { "./control", "-rw-r--r--" },
		{ "./conffiles", "-rw-r--r--" }, { "./postinst", "-rwxr-xr-x" },
		{ "./prerm", "-rwxr-xr-x" },
	};
	check_modes("control.tar.gz", ctl, 5);
	CHECK_INT(run("mkdir ctl && tar -xzf control.tar.gz -C ctl"), 0);
	/* Installed-Size is the uncompressed data tar, as ipkg-build has it */
	char isize[32];
	capture("gzip -dc data.tar.gz | wc -c | tr -d ' \\n'", isize, sizeof isize);
	snprintf(expect, sizeof expect,
		 "Package: mirrornet-join-node7\nVersion: 1.0.0-r1\nDepends: mirrornet\n"
		 "Source: mirrornetctl invite create\nLicense: GPL-2.0-or-later\nSection: net\n"
		 "Maintainer: MirrorNet <mirrornet@example.org>\nArchitecture: all\n"
		 "Installed-Size: %s\nDescription: MirrorNet invitation for node7\n", isize);
	check_file("ctl/control", expect, strlen(expect));
	check_file("ctl/conffiles", "/etc/config/mirrornet\n", 22);
	check_file("ctl/postinst", postinst, strlen(postinst));
	check_file("ctl/prerm", prerm, strlen(prerm));

	/* data.tar.gz: parents before their files, each once */
	capture("tar -tzf data.tar.gz", buf, sizeof buf);
	CHECK_STR(buf, "./\n./etc/\n./etc/mirrornet/\n./etc/mirrornet/invite\n./etc/config/\n"
		  "./etc/config/mirrornet\n./etc/mirrornet/empty\n./usr/\n./usr/share/\n"
		  "./usr/share/mirrornet/\n./usr/share/mirrornet/big.bin\n./usr/sbin/\n"
		  "./usr/sbin/tool\n");
	static const struct mode_want data[] = {
		{ "./", "drwxr-xr-x" }, { "./etc/", "drwxr-xr-x" },
		{ "./etc/mirrornet/", "drwx------" }, { "./etc/mirrornet/invite", "-rw-------" },
		{ "./etc/config/mirrornet", "-rw-r--r--" },
		{ "./etc/mirrornet/empty", "-rw-r-----" },
		{ "./usr/share/mirrornet/big.bin", "-r--r--r--" },
		{ "./usr/sbin/tool", "-rwxr-xr-x" },
	};
	check_modes("data.tar.gz", data, sizeof data / sizeof data[0]);

	/* contents round-trip byte-exact; the mtime too */
	CHECK_INT(run("mkdir root && tar -xzf data.tar.gz -C root"), 0);
	for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
		char rel[256];
		snprintf(rel, sizeof rel, "root/%s", files[i].path + 2);
		check_file(rel, files[i].data, files[i].len);
	}
	snprintf(path, sizeof path, "%s/root/etc/mirrornet/invite", dir);
	CHECK(stat(path, &st) == 0 && st.st_mtime == MTIME);
	CHECK_INT(run("rm -rf root ctl debian-binary control.tar.gz data.tar.gz pkg.ipk"), 0);

	/* ipk_build gives the same bytes ipk_write wrote; another mode */
	uint8_t *pkg;
	size_t len;
	CHECK_INT(ipk_build(&s, &pkg, &len, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/again.ipk", dir);
	CHECK_INT(ipk_write(path, 0640, &s, err, sizeof err), 0);
	CHECK(stat(path, &st) == 0 && (st.st_mode & 07777) == 0640);
	n = slurp("again.ipk", &got);
	CHECK(n == (long)len && !memcmp(got, pkg, len));
	free(got);
	free(pkg);
	CHECK_INT(run("rm -f again.ipk"), 0);
}

static void test_minimal(void)
{
	/* no data, no scripts, no Depends: still a valid package */
	const struct ipk_spec s = {
		.package = "x", .version = "0", .architecture = "aarch64_cortex-a53",
		.description = "d", .maintainer = "m", .license = "l", .section = "s",
		.source = "src",
	};
	char err[256], path[512], buf[4096];

	snprintf(path, sizeof path, "%s/min.ipk", dir);
	CHECK_INT(ipk_write(path, 0644, &s, err, sizeof err), 0);
	CHECK_INT(run("gzip -t min.ipk && tar -xzf min.ipk"), 0);
	capture("tar -tzf control.tar.gz", buf, sizeof buf);
	CHECK_STR(buf, "./\n./control\n");
	capture("tar -tzf data.tar.gz", buf, sizeof buf);
	CHECK_STR(buf, "./\n");
	capture("tar -xzOf control.tar.gz ./control", buf, sizeof buf);
	CHECK(strstr(buf, "Depends") == NULL);
	CHECK(strstr(buf, "Architecture: aarch64_cortex-a53\n") != NULL);
	CHECK(strstr(buf, "Installed-Size: 1536\n") != NULL);   /* "./" + end blocks */
	CHECK_INT(run("rm -f min.ipk debian-binary control.tar.gz data.tar.gz"), 0);
}

/* The join package of an invitation (src/ctl/ipk_join.c): two invitations
 * for the same name give two versions, the newer one higher (dpkg's
 * comparison is opkg's); no conffiles; the invitation outside what
 * sysupgrade keeps; the scripts parse, call mirrornetctl by its full
 * path, and do nothing when installed into an image. */
static void test_join_packages(void)
{
	const char *src = getenv("MN_SOURCE");
	char err[256] = "", path[512], buf[4096], v1[128], v2[128], keep[512];

	snprintf(path, sizeof path, "%s/j1.ipk", dir);
	CHECK_INT(ipk_join_write(path, "node7", "0123456789abcdef", "mirrornet://AAAA", 1700000000,
				 err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/j2.ipk", dir);
	CHECK_INT(ipk_join_write(path, "node7", "fedcba9876543210", "mirrornet://BBBB", 1700000060,
				 err, sizeof err), 0);
	CHECK_INT(run("mkdir j1 j2 && tar -xzf j1.ipk -C j1 && tar -xzf j2.ipk -C j2 && "
		      "tar -xzf j1/control.tar.gz -C j1 && tar -xzf j2/control.tar.gz -C j2 && "
		      "tar -xzf j1/data.tar.gz -C j1 && tar -xzf j2/data.tar.gz -C j2"), 0);
	capture("sed -n 's/^Version: //p' j1/control", v1, sizeof v1);
	capture("sed -n 's/^Version: //p' j2/control", v2, sizeof v2);
	CHECK_STR(v1, "1.0.1700000000-0123456789abcdef\n");
	CHECK_STR(v2, "1.0.1700000060-fedcba9876543210\n");
	CHECK(strcmp(v1, v2) != 0);
	capture("sed -n 's/^Package: //p' j2/control", buf, sizeof buf);
	CHECK_STR(buf, "mirrornet-join-node7\n");
	if (run("command -v dpkg >/dev/null") == 0)
		CHECK_INT(run("dpkg --compare-versions \"$(sed -n 's/^Version: //p' j2/control)\" gt "
			      "\"$(sed -n 's/^Version: //p' j1/control)\""), 0);
	/* no conffiles: nothing of the invitation is kept on upgrade */
	capture("tar -tzf j1/control.tar.gz", buf, sizeof buf);
	CHECK_STR(buf, "./\n./control\n./postinst\n");
	capture("tar -tzf j1/data.tar.gz", buf, sizeof buf);
	CHECK_STR(buf, "./\n./etc/\n./etc/mirrornet-join/\n./etc/mirrornet-join/invite-0123456789abcdef\n"
		  "./etc/uci-defaults/\n./etc/uci-defaults/95-mirrornet-join-0123456789abcdef\n");
	static const struct mode_want modes[] = {
		{ "./etc/mirrornet-join/", "drwx------" },
		{ "./etc/mirrornet-join/invite-0123456789abcdef", "-rw-------" },
		{ "./etc/uci-defaults/95-mirrornet-join-0123456789abcdef", "-rwxr-xr-x" },
	};
	check_modes("j1/data.tar.gz", modes, 3);
	check_file("j1/etc/mirrornet-join/invite-0123456789abcdef", "mirrornet://AAAA\n", 17);
	/* sysupgrade keeps what /lib/upgrade/keep.d/mirrornet lists: not the
	 * invitation (each line is a path or a directory prefix) */
	snprintf(keep, sizeof keep, "%s/openwrt/mirrornet/files/mirrornet.keep", src ? src : ".");
	FILE *k = fopen(keep, "r");
	CHECK(k != NULL);
	while (k && fgets(buf, sizeof buf, k)) {
		buf[strcspn(buf, "\n")] = 0;
		if (!buf[0] || buf[0] == '#')
			continue;
		size_t n = strlen(buf);
		const char *inv = "/etc/mirrornet-join/invite-0123456789abcdef";
		bool covered = !strncmp(inv, buf, n) && (buf[n - 1] == '/' || inv[n] == '/' || !inv[n]);
		if (covered)
			fprintf(stderr, "keep.d line '%s' keeps the invitation\n", buf);
		CHECK(!covered);
	}
	if (k)
		fclose(k);
	/* the scripts */
	CHECK_INT(run("sh -n j1/postinst && sh -n j1/etc/uci-defaults/95-mirrornet-join-0123456789abcdef"), 0);
	if (run("command -v shellcheck >/dev/null") == 0)
		CHECK_INT(run("shellcheck -s sh j1/postinst j1/etc/uci-defaults/95-mirrornet-join-*"), 0);
	CHECK_INT(run("grep -q '/usr/sbin/mirrornetctl join --invite-file \"$f\"' "
		      "j1/etc/uci-defaults/95-mirrornet-join-0123456789abcdef"), 0);
	/* mirrornetctl only by its full path, outside comments */
	CHECK_INT(run("grep -v '^#' j1/postinst j1/etc/uci-defaults/95-* | grep -E '(^|[^/])mirrornetctl'"), 1);
	/* the invitation goes once the join succeeded */
	CHECK_INT(run("grep -q 'rm -f \"$f\"' j1/etc/uci-defaults/95-mirrornet-join-0123456789abcdef"), 0);
	/* into an image: the postinst does nothing (first boot joins) */
	CHECK_INT(run("IPKG_INSTROOT=/nonexistent sh -x j1/postinst 2>trace"), 0);
	capture("cat trace", buf, sizeof buf);
	CHECK_STR(buf, "+ [ -n /nonexistent ]\n+ exit 0\n");
	CHECK_INT(run("rm -rf j1 j2 j1.ipk j2.ipk trace"), 0);
	/* refused */
	CHECK(ipk_join_write(path, "node7", "0123456789abcdef", "t", -1, err, sizeof err) < 0);
	CHECK(ipk_join_write(path, "node7", "not an id", "t", 1, err, sizeof err) < 0);
}

/* No file left in dir but the ones named "keep*". */
static bool dir_clean(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	bool clean = true;

	while (d && (e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..") &&
		    strncmp(e->d_name, "keep", 4)) {
			fprintf(stderr, "left behind: %s\n", e->d_name);
			clean = false;
		}
	if (d)
		closedir(d);
	return d && clean;
}

/* A spec that fails must give rc, a message, and no file at path. */
static void refused(const struct ipk_spec *s, int rc, const char *what)
{
	char err[256] = "", path[512];

	snprintf(path, sizeof path, "%s/bad.ipk", dir);
	int got = ipk_write(path, 0600, s, err, sizeof err);
	if (got != rc)
		fprintf(stderr, "%s: got %d (%s), expected %d\n", what, got, err, rc);
	CHECK_INT(got, rc);
	CHECK(err[0] != 0);
	CHECK(!exists("bad.ipk"));
	uint8_t *out = (uint8_t *)1;
	size_t len = 1;
	CHECK_INT(ipk_build(s, &out, &len, err, sizeof err), rc);
	CHECK(out == NULL && len == 0);
}

/* ipk_build() succeeds (0) or its error; the package is freed. */
static int builds(const struct ipk_spec *s)
{
	char err[256];
	uint8_t *pkg;
	size_t len;
	int rc = ipk_build(s, &pkg, &len, err, sizeof err);

	if (rc < 0)
		fprintf(stderr, "ipk_build: %s\n", err);
	free(pkg);
	return rc;
}

static void test_refusals(void)
{
	static const struct ipk_file one = { "./etc/mirrornet/invite", 0600, "x", 1, 0 };
	const struct ipk_spec good = {
		.package = "mirrornet-join-a", .version = "1.0.0-r1", .depends = "mirrornet",
		.architecture = "all", .description = "d", .maintainer = "m", .license = "l",
		.section = "net", .source = "s", .data = &one, .ndata = 1,
	};
	struct ipk_spec s;
	char err[256], path[512];

#define F(field) offsetof(struct ipk_spec, field)
	/* one string field of the good spec replaced: every one is refused */
	static const struct { size_t off; const char *v; } bad[] = {
		{ F(package), "" }, { F(package), "-x" }, { F(package), ".x" },
		{ F(package), "a b" }, { F(package), "a/b" }, { F(package), "a:b" },
		{ F(package), "n\xc3\xa4me" }, { F(package), "a_b\n" }, { F(package), NULL },
		{ F(version), "" }, { F(version), "v1" }, { F(version), "1.0_1" },
		{ F(version), "1:" }, { F(version), "a:1" }, { F(version), ":1" },
		{ F(version), "1 0" }, { F(version), "1.0/2" }, { F(version), "1:2:3" },
		{ F(architecture), "arm/v7" }, { F(description), NULL },
		/* newlines (control field injection) and other control characters */
		{ F(package), "a\nb" }, { F(version), "1.0\n" },
		{ F(depends), "x\nPackage: evil" }, { F(description), "x\nPackage: evil" },
		{ F(maintainer), "x\nPackage: evil" }, { F(license), "x\nPackage: evil" },
		{ F(section), "x\nPackage: evil" }, { F(source), "x\nPackage: evil" },
		{ F(architecture), "x\nPackage: evil" }, { F(description), "x\ry" },
		{ F(maintainer), "x\ty" }, { F(source), "x\x7fy" },
		/* scripts need a #! line; conffiles name the package's files */
		{ F(postinst), "echo no shebang\n" }, { F(prerm), "" },
		{ F(conffiles), "/etc/config/other\n" }, { F(conffiles), "etc/mirrornet/invite" },
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char what[64];
		s = good;
		*(const char **)((char *)&s + bad[i].off) = bad[i].v;
		snprintf(what, sizeof what, "bad[%zu]", i);
		refused(&s, -EINVAL, what);
	}
	/* accepted: epoch, tilde, plus; upper case and '_' in names; no Depends */
	static const struct { size_t off; const char *v; } ok[] = {
		{ F(version), "2:1.0-r3" }, { F(version), "1.0~rc1" },
		{ F(version), "1.0+git20240101-1" }, { F(version), "0" },
		{ F(package), "Lib_foo+bar.2" }, { F(depends), NULL }, { F(depends), "" },
		{ F(conffiles), "/etc/mirrornet/invite\n" }, { F(conffiles), "" },
	};
#undef F
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		s = good;
		*(const char **)((char *)&s + ok[i].off) = ok[i].v;
		CHECK_INT(builds(&s), 0);
	}
	s = good;
	s.mtime = -1;
	refused(&s, -EINVAL, "mtime");

	/* data paths */
	static const char *bad_paths[] = { "etc/x", "/etc/x", "./", "./etc/", "./etc//x",
					   "./etc/../x", "./etc/./x", "./a b", "./a\nb", "./x*" };
	for (size_t i = 0; i < sizeof bad_paths / sizeof bad_paths[0]; i++) {
		struct ipk_file f = one;
		f.path = bad_paths[i];
		s = good;
		s.data = &f;
		refused(&s, -EINVAL, bad_paths[i]);
	}
	char longp[IPK_PATH_MAX + 2];
	memset(longp, 'a', sizeof longp - 1);
	memcpy(longp, "./", 2);
	longp[sizeof longp - 1] = 0;
	{
		struct ipk_file f = one;
		f.path = longp;
		s = good;
		s.data = &f;
		refused(&s, -EINVAL, "long path");
		longp[IPK_PATH_MAX] = 0;   /* exactly IPK_PATH_MAX: fine */
		CHECK_INT(builds(&s), 0);
	}
	{
		struct ipk_file two[2] = { one, one };
		s = good;
		s.data = two;
		s.ndata = 2;
		refused(&s, -EINVAL, "duplicate");
		two[1].path = "./etc/mirrornet/invite/x";   /* a file used as a directory */
		refused(&s, -EINVAL, "file as dir");
		two[1].path = "./etc/mirrornet";
		refused(&s, -EINVAL, "dir as file");
		two[1].path = "./etc/mirrornet2";
		two[1].mode = 010644;
		refused(&s, -EINVAL, "mode");
	}

	/* sizes */
	size_t mib = IPK_FILE_MAX;
	uint8_t *blob = calloc(1, mib + 1);
	CHECK(blob != NULL);
	if (blob) {
		struct ipk_file f = { "./big", 0644, blob, mib + 1, 0 };
		s = good;
		s.data = &f;
		refused(&s, -EFBIG, "file over 1 MiB");
		f.len = mib;   /* exactly 1 MiB is fine */
		snprintf(path, sizeof path, "%s/big.ipk", dir);
		CHECK_INT(ipk_write(path, 0600, &s, err, sizeof err), 0);
		CHECK_INT(run("gzip -t big.ipk && tar -xzf big.ipk ./data.tar.gz && "
			      "tar -xzf data.tar.gz ./big && head -c 1048576 /dev/zero | cmp -s - big"),
			  0);
		CHECK_INT(run("rm -f big big.ipk data.tar.gz"), 0);
		/* five files of 1 MiB: the data alone is over 4 MiB */
		struct ipk_file five[5];
		for (int i = 0; i < 5; i++) {
			five[i] = f;
			five[i].path = (const char *[]){ "./a", "./b", "./c", "./d", "./e" }[i];
		}
		s.data = five;
		s.ndata = 5;
		refused(&s, -EFBIG, "data over 4 MiB");
		/* four: the data is exactly 4 MiB, the package with headers is not */
		s.ndata = 4;
		refused(&s, -EFBIG, "package over 4 MiB");
		free(blob);
	}
	s = good;
	s.ndata = IPK_MAX_FILES + 1;
	refused(&s, -EINVAL, "too many files");

	/* write failures leave no file, and an existing one untouched */
	s = good;
	snprintf(path, sizeof path, "%s/no/such/dir/x.ipk", dir);
	CHECK(ipk_write(path, 0600, &s, err, sizeof err) == -ENOENT);
	CHECK(strstr(err, "x.ipk") != NULL);
	CHECK_INT(run("mkdir keepdir"), 0);
	snprintf(path, sizeof path, "%s/keepdir", dir);
	CHECK(ipk_write(path, 0600, &s, err, sizeof err) < 0);   /* rename over a directory */
	CHECK(dir_clean());
	snprintf(path, sizeof path, "%s/keep.ipk", dir);
	CHECK_INT(run("printf old > keep.ipk"), 0);
	s.package = "bad name";
	CHECK_INT(ipk_write(path, 0600, &s, err, sizeof err), -EINVAL);
	s = good;
	CHECK_INT(ipk_write(path, 01000000, &s, err, sizeof err), -EINVAL);
	uint8_t *old;
	CHECK(slurp("keep.ipk", &old) == 3 && !memcmp(old, "old", 3));
	free(old);
	CHECK(dir_clean());
	CHECK_INT(run("rm -rf keepdir keep.ipk"), 0);
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof dir, "%s/test_ipk.XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_crc32();
	test_package();
	test_minimal();
	test_join_packages();
	test_refusals();
	if (check_fail == 0) {
		char cmd[512];
		snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "could not remove %s\n", dir);
	} else
		fprintf(stderr, "kept %s\n", dir);
	return check_exit();
}
