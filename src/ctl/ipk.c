/* .ipk writer: validate the spec, then build inside out — data tar, control
 * tar, each gzip'd, then the outer tar, gzip'd — in bounded buffers that are
 * wiped before they are freed (a join package carries an invitation
 * secret). Format notes are in ipk.h. */
#define _GNU_SOURCE     /* explicit_bzero */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include "src/ctl/ipk.h"
#include "src/ctl/ctl.h"

#define TAR_BLOCK 512
#define STORED_MAX 65535   /* RFC 1951 3.2.4: LEN is 16 bits */

static int fail(char *err, size_t errcap, int rc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int fail(char *err, size_t errcap, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err && errcap) {
		va_start(ap, fmt);
		vsnprintf(err, errcap, fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* A growable buffer that refuses to grow past max. */
struct obuf {
	uint8_t *p;
	size_t len, cap, max;
};

static void obuf_free(struct obuf *b)
{
	if (b->p) {
		explicit_bzero(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->len = b->cap = 0;
}

/* Room for n more bytes: 0, -EFBIG past max, -ENOMEM. */
static int obuf_room(struct obuf *b, size_t n)
{
	if (n > b->max - b->len)
		return -EFBIG;
	if (n <= b->cap - b->len)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap - b->len < n)
		cap = cap > b->max / 2 ? b->max : cap * 2;
	/* not realloc: the old block may hold secrets and must be wiped */
	uint8_t *p = malloc(cap);
	if (!p)
		return -ENOMEM;
	if (b->len)
		memcpy(p, b->p, b->len);
	size_t len = b->len;
	obuf_free(b);
	b->p = p;
	b->len = len;
	b->cap = cap;
	return 0;
}

static int obuf_put(struct obuf *b, const void *data, size_t n)
{
	int rc = obuf_room(b, n);

	if (rc < 0)
		return rc;
	if (n)
		memcpy(b->p + b->len, data, n);
	b->len += n;
	return 0;
}

static int obuf_zero(struct obuf *b, size_t n)
{
	int rc = obuf_room(b, n);

	if (rc < 0)
		return rc;
	memset(b->p + b->len, 0, n);
	b->len += n;
	return 0;
}

static int obuf_str(struct obuf *b, const char *s)
{
	return obuf_put(b, s, strlen(s));
}

uint32_t ipk_crc32(uint32_t crc, const void *p, size_t n)
{
	const uint8_t *s = p;

	crc = ~crc;
	while (n--) {
		crc ^= *s++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1)));
	}
	return ~crc;
}

static void le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

/* RFC 1952 member: 10-byte header (no name, mtime 0 as `gzip -n`, OS 3
 * Unix), RFC 1951 stored blocks of at most 65535 bytes (an empty input is
 * one empty final block), CRC-32 and ISIZE. */
static int gzip_stored(struct obuf *out, const uint8_t *in, size_t n)
{
	static const uint8_t hdr[10] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3 };
	uint8_t trailer[8];
	size_t off = 0;
	int rc = obuf_put(out, hdr, sizeof hdr);

	do {
		size_t k = n - off > STORED_MAX ? STORED_MAX : n - off;
		bool last = k == n - off;
		/* BFINAL in bit 0, BTYPE 00; the block starts on a byte boundary
		 * so LEN follows in the next byte */
		uint8_t bh[5] = { last, (uint8_t)k, (uint8_t)(k >> 8), (uint8_t)~k,
				  (uint8_t)(~k >> 8) };
		if (rc == 0)
			rc = obuf_put(out, bh, sizeof bh);
		if (rc == 0)
			rc = obuf_put(out, in + off, k);
		off += k;
	} while (rc == 0 && off < n);
	le32(trailer, ipk_crc32(0, in, n));
	le32(trailer + 4, (uint32_t)n);   /* ISIZE: the size modulo 2^32 */
	if (rc == 0)
		rc = obuf_put(out, trailer, sizeof trailer);
	return rc;
}

/* An octal number of width-1 digits and a NUL; false when it does not fit. */
static bool tar_octal(char *field, size_t width, unsigned long long v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%0*llo", (int)width - 1, v);

	if (n < 0 || (size_t)n != width - 1)
		return false;
	memcpy(field, tmp, width);
	return true;
}

/* One ustar member: header, then data padded to a block. A directory
 * (dir true) has no data and a name ending in '/'. */
static int tar_member(struct obuf *b, const char *name, bool dir, unsigned mode,
		      long long mtime, const void *data, size_t len)
{
	uint8_t h[TAR_BLOCK] = { 0 };
	size_t nlen = strlen(name);
	unsigned sum = 0;
	int rc;

	/* the callers validated name (<= IPK_PATH_MAX) and mode (<= 07777) */
	if (nlen > 100 || !tar_octal((char *)h + 124, 12, len) ||
	    !tar_octal((char *)h + 136, 12, (unsigned long long)mtime))
		return -EINVAL;
	memcpy(h, name, nlen);                          /* name[100] */
	tar_octal((char *)h + 100, 8, mode);            /* mode[8] */
	tar_octal((char *)h + 108, 8, 0);               /* uid[8] */
	tar_octal((char *)h + 116, 8, 0);               /* gid[8] */
	h[156] = dir ? '5' : '0';                       /* typeflag */
	memcpy(h + 257, "ustar", 6);                    /* magic[6] */
	memcpy(h + 263, "00", 2);                       /* version[2] */
	memcpy(h + 265, "root", 4);                     /* uname[32] */
	memcpy(h + 297, "root", 4);                     /* gname[32] */
	tar_octal((char *)h + 329, 8, 0);               /* devmajor[8] */
	tar_octal((char *)h + 337, 8, 0);               /* devminor[8] */
	/* chksum[8]: the byte sum with the field itself as spaces, then six
	 * octal digits, NUL, space */
	memset(h + 148, ' ', 8);
	for (size_t i = 0; i < sizeof h; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	if ((rc = obuf_put(b, h, sizeof h)) < 0 || (rc = obuf_put(b, data, len)) < 0)
		return rc;
	return obuf_zero(b, (TAR_BLOCK - len % TAR_BLOCK) % TAR_BLOCK);
}

static int tar_end(struct obuf *b)
{
	return obuf_zero(b, 2 * TAR_BLOCK);
}

/* ---- validation ---- */

static bool chars_in(const char *s, const char *set)
{
	return s[strspn(s, set)] == 0;
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

static bool is_alnum(char c)
{
	return c && strchr(ALNUM, c);
}

static bool name_valid(const char *s)
{
	size_t n = strlen(s);

	return n > 0 && n <= 128 && is_alnum(s[0]) && chars_in(s, ALNUM "._+-");
}

/* [EPOCH:]UPSTREAM[-REVISION]: the epoch digits only, the rest of
 * [A-Za-z0-9.+~-] starting with a digit. */
static bool version_valid(const char *s)
{
	const char *colon = strchr(s, ':');

	if (strlen(s) > 128)
		return false;
	if (colon) {
		if (colon == s || strspn(s, "0123456789") != (size_t)(colon - s))
			return false;
		s = colon + 1;
	}
	return *s >= '0' && *s <= '9' && chars_in(s, ALNUM ".+~-");
}

/* One control field value: non-empty, one line, printable. */
static bool field_valid(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > IPK_FIELD_MAX)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return false;
	return true;
}

/* "./a/b": "./", then components of the path set, none "." or "..". */
static bool path_valid(const char *p)
{
	size_t n = strlen(p);

	if (n < 3 || n > IPK_PATH_MAX || strncmp(p, "./", 2) ||
	    !chars_in(p + 2, ALNUM "._+@%=,-/"))
		return false;
	for (const char *c = p + 2; *c;) {
		size_t k = strcspn(c, "/");
		if (k == 0 || (k == 1 && c[0] == '.') || (k == 2 && !strncmp(c, "..", 2)))
			return false;
		c += k;
		if (*c == '/' && !*++c)
			return false;   /* trailing '/' */
	}
	return true;
}

/* Is a a directory prefix of b ("./etc" of "./etc/x")? */
static bool dir_prefix(const char *a, const char *b)
{
	size_t n = strlen(a);

	return !strncmp(a, b, n) && b[n] == '/';
}

static int check_conffiles(const struct ipk_spec *s, char *err, size_t errcap)
{
	const char *line = s->conffiles;

	while (*line) {
		size_t k = strcspn(line, "\n");
		size_t i;
		for (i = 0; i < s->ndata; i++) {
			const char *dp = s->data[i].path + 1;   /* "./etc/x" -> "/etc/x" */
			if (strlen(dp) == k && !strncmp(dp, line, k))
				break;
		}
		if (i == s->ndata)
			return fail(err, errcap, -EINVAL,
				    "conffiles: '%.*s' is not one of the package's files "
				    "(absolute paths, one a line)", (int)(k > 200 ? 200 : k), line);
		line += k;
		if (*line)
			line++;
	}
	return 0;
}

static int check_script(const char *name, const char *script, char *err, size_t errcap)
{
	if (!script)
		return 0;
	if (strncmp(script, "#!", 2))
		return fail(err, errcap, -EINVAL, "%s: a script starting with \"#!\"", name);
	if (strlen(script) > IPK_FILE_MAX)
		return fail(err, errcap, -EFBIG, "%s: larger than %u bytes", name, IPK_FILE_MAX);
	return 0;
}

static int check_spec(const struct ipk_spec *s, char *err, size_t errcap)
{
	const struct { const char *name, *v; bool optional; } fields[] = {
		{ "Package", s->package, false }, { "Version", s->version, false },
		{ "Architecture", s->architecture, false }, { "Maintainer", s->maintainer, false },
		{ "License", s->license, false }, { "Section", s->section, false },
		{ "Source", s->source, false }, { "Description", s->description, false },
		{ "Depends", s->depends, true },
	};
	size_t total = 0;
	int rc;

	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		if (!fields[i].v || !*fields[i].v) {
			if (fields[i].optional)
				continue;
			return fail(err, errcap, -EINVAL, "%s: required", fields[i].name);
		}
		if (!field_valid(fields[i].v))
			return fail(err, errcap, -EINVAL,
				    "%s: one line of at most %d printable characters "
				    "(no newline or other control character)", fields[i].name,
				    IPK_FIELD_MAX);
	}
	if (!name_valid(s->package))
		return fail(err, errcap, -EINVAL, "Package '%s': letters, digits and '._+-', "
			    "starting with a letter or digit, at most 128", s->package);
	if (!version_valid(s->version))
		return fail(err, errcap, -EINVAL, "Version '%s': [EPOCH:]VERSION[-REVISION] of "
			    "letters, digits and '.+~-', starting with a digit, at most 128 "
			    "(e.g. 1.0.0-r1)",
			    s->version);
	if (!chars_in(s->architecture, ALNUM "_-"))
		return fail(err, errcap, -EINVAL, "Architecture '%s': letters, digits, '_' and "
			    "'-' (e.g. all, aarch64_cortex-a53)", s->architecture);
	if (s->ndata > IPK_MAX_FILES)
		return fail(err, errcap, -EINVAL, "at most %d data files", IPK_MAX_FILES);
	if (s->ndata && !s->data)
		return fail(err, errcap, -EINVAL, "%zu data files but no array", s->ndata);
	for (size_t i = 0; i < s->ndata; i++) {
		const struct ipk_file *f = &s->data[i];
		if (!f->path || !path_valid(f->path))
			return fail(err, errcap, -EINVAL, "data file '%s': a path like "
				    "./etc/mirrornet/invite of at most %d characters "
				    "(letters, digits, '._+@%%=,-'; no '.' or '..' components)",
				    f->path ? f->path : "(null)", IPK_PATH_MAX);
		if (f->mode > 07777 || f->dir_mode > 07777)
			return fail(err, errcap, -EINVAL, "data file %s: mode %o (directory %o) is "
				    "more than permission bits (at most 07777)", f->path, f->mode,
				    f->dir_mode);
		if (f->len && !f->data)
			return fail(err, errcap, -EINVAL, "data file %s: no data", f->path);
		if (f->len > IPK_FILE_MAX)
			return fail(err, errcap, -EFBIG, "data file %s: %zu bytes, more than %u",
				    f->path, f->len, IPK_FILE_MAX);
		total += f->len;
		if (total > IPK_TOTAL_MAX)
			return fail(err, errcap, -EFBIG, "data files: more than %u bytes together",
				    IPK_TOTAL_MAX);
		for (size_t j = 0; j < i; j++) {
			const char *q = s->data[j].path;
			if (!strcmp(q, f->path) || dir_prefix(q, f->path) || dir_prefix(f->path, q))
				return fail(err, errcap, -EINVAL, "data files %s and %s: the same "
					    "path, or a file where a directory is needed", q, f->path);
		}
	}
	if ((rc = check_script("postinst", s->postinst, err, errcap)) < 0 ||
	    (rc = check_script("prerm", s->prerm, err, errcap)) < 0)
		return rc;
	if (s->conffiles) {
		if (strlen(s->conffiles) > IPK_FILE_MAX)
			return fail(err, errcap, -EFBIG, "conffiles: larger than %u bytes",
				    IPK_FILE_MAX);
		if ((rc = check_conffiles(s, err, errcap)) < 0)
			return rc;
	}
	if (s->mtime < 0 || s->mtime > 077777777777LL)
		return fail(err, errcap, -EINVAL, "mtime %lld: 0 .. 8589934591", s->mtime);
	return 0;
}

/* ---- building ---- */

/* "./", then for each file its parent directories not emitted before (an
 * earlier file with the same prefix emitted them), then the file. */
static int data_tar(struct obuf *b, const struct ipk_spec *s, long long mtime)
{
	char dir[IPK_PATH_MAX + 2];
	int rc = tar_member(b, "./", true, 0755, mtime, NULL, 0);

	for (size_t i = 0; rc == 0 && i < s->ndata; i++) {
		const char *p = s->data[i].path;
		for (const char *sl = strchr(p + 2, '/'); rc == 0 && sl; sl = strchr(sl + 1, '/')) {
			size_t n = (size_t)(sl - p) + 1;   /* with the '/' */
			bool seen = false;
			for (size_t j = 0; j < i && !seen; j++)
				seen = !strncmp(s->data[j].path, p, n);
			if (seen)
				continue;
			memcpy(dir, p, n);
			dir[n] = 0;
			bool own = !strchr(sl + 1, '/');   /* the file's own directory */
			rc = tar_member(b, dir, true, own && s->data[i].dir_mode ? s->data[i].dir_mode : 0755,
					mtime, NULL, 0);
		}
		if (rc == 0)
			rc = tar_member(b, p, false, s->data[i].mode, mtime, s->data[i].data,
					s->data[i].len);
	}
	return rc == 0 ? tar_end(b) : rc;
}

static int control_text(struct obuf *b, const struct ipk_spec *s, size_t installed)
{
	char size[32];
	const struct { const char *name, *v; } f[] = {
		{ "Package", s->package }, { "Version", s->version },
		{ "Depends", s->depends && *s->depends ? s->depends : NULL },
		{ "Source", s->source }, { "License", s->license }, { "Section", s->section },
		{ "Maintainer", s->maintainer }, { "Architecture", s->architecture },
		{ "Installed-Size", size }, { "Description", s->description },
	};
	int rc = 0;

	snprintf(size, sizeof size, "%zu", installed);
	for (size_t i = 0; rc == 0 && i < sizeof f / sizeof f[0]; i++) {
		if (!f[i].v)
			continue;
		if ((rc = obuf_str(b, f[i].name)) == 0 && (rc = obuf_str(b, ": ")) == 0 &&
		    (rc = obuf_str(b, f[i].v)) == 0)
			rc = obuf_str(b, "\n");
	}
	return rc;
}

/* ./conffiles (newline-terminated), ./control, ./postinst, ./prerm: sorted
 * by name as ipkg-build does. */
static int control_tar(struct obuf *b, const struct ipk_spec *s, size_t installed,
		       long long mtime)
{
	struct obuf ctl = { .max = IPK_FIELD_MAX * 16 }, cf = { .max = IPK_FILE_MAX + 1 };
	int rc = tar_member(b, "./", true, 0755, mtime, NULL, 0);

	if (rc == 0 && s->conffiles && *s->conffiles) {
		size_t n = strlen(s->conffiles);
		rc = obuf_put(&cf, s->conffiles, n);
		if (rc == 0 && s->conffiles[n - 1] != '\n')
			rc = obuf_str(&cf, "\n");
		if (rc == 0)
			rc = tar_member(b, "./conffiles", false, 0644, mtime, cf.p, cf.len);
	}
	if (rc == 0)
		rc = control_text(&ctl, s, installed);
	if (rc == 0)
		rc = tar_member(b, "./control", false, 0644, mtime, ctl.p, ctl.len);
	if (rc == 0 && s->postinst)
		rc = tar_member(b, "./postinst", false, 0755, mtime, s->postinst,
				strlen(s->postinst));
	if (rc == 0 && s->prerm)
		rc = tar_member(b, "./prerm", false, 0755, mtime, s->prerm, strlen(s->prerm));
	if (rc == 0)
		rc = tar_end(b);
	obuf_free(&ctl);
	obuf_free(&cf);
	return rc;
}

/* The bound of every buffer: a package may not exceed IPK_TOTAL_MAX, and
 * no part of it may be larger than the whole (stored gzip only adds). */
#define BUF(name) struct obuf name = { .max = IPK_TOTAL_MAX }

int ipk_build(const struct ipk_spec *s, uint8_t **out, size_t *outlen, char *err,
	      size_t errcap)
{
	BUF(data);
	BUF(datagz);
	BUF(ctl);
	BUF(ctlgz);
	BUF(outer);
	BUF(pkg);
	long long mtime;
	int rc;

	*out = NULL;
	*outlen = 0;
	if ((rc = check_spec(s, err, errcap)) < 0)
		return rc;
	mtime = s->mtime ? s->mtime : (long long)time(NULL);
	if ((rc = data_tar(&data, s, mtime)) < 0 || (rc = gzip_stored(&datagz, data.p, data.len)) < 0 ||
	    (rc = control_tar(&ctl, s, data.len, mtime)) < 0 ||
	    (rc = gzip_stored(&ctlgz, ctl.p, ctl.len)) < 0)
		goto out;
	if ((rc = tar_member(&outer, "./debian-binary", false, 0644, mtime, "2.0\n", 4)) < 0 ||
	    (rc = tar_member(&outer, "./control.tar.gz", false, 0644, mtime, ctlgz.p,
			     ctlgz.len)) < 0 ||
	    (rc = tar_member(&outer, "./data.tar.gz", false, 0644, mtime, datagz.p,
			     datagz.len)) < 0 ||
	    (rc = tar_end(&outer)) < 0 || (rc = gzip_stored(&pkg, outer.p, outer.len)) < 0)
		goto out;
	*out = pkg.p;
	*outlen = pkg.len;
	pkg.p = NULL;
out:
	if (rc == -EFBIG)
		fail(err, errcap, rc, "package %s: larger than %u bytes", s->package, IPK_TOTAL_MAX);
	else if (rc < 0)
		fail(err, errcap, rc, "package %s: %s", s->package, strerror(-rc));
	obuf_free(&data);
	obuf_free(&datagz);
	obuf_free(&ctl);
	obuf_free(&ctlgz);
	obuf_free(&outer);
	obuf_free(&pkg);
	return rc;
}

int ipk_write(const char *path, unsigned mode, const struct ipk_spec *s, char *err,
	      size_t errcap)
{
	uint8_t *pkg;
	size_t len;
	int rc;

	if (mode > 07777)
		return fail(err, errcap, -EINVAL, "%s: mode %o is more than permission bits",
			    path, mode);
	if ((rc = ipk_build(s, &pkg, &len, err, errcap)) < 0)
		return rc;
	if ((rc = ctl_write_file(path, pkg, len, mode)) < 0)
		fail(err, errcap, rc, "%s: %s", path, strerror(-rc));
	explicit_bzero(pkg, len);
	free(pkg);
	return rc;
}
