/* A dependency-free OpenWrt package (.ipk) writer, all in memory, for the
 * join packages of `mirrornetctl invite create --ipk` (openwrt/README.md).
 *
 * Format (OpenWrt <= 24.10; 25.12 moved to apk v3, which this does not
 * write): a gzip'd tar of three members, written in this order:
 *   ./debian-binary     "2.0\n"
 *   ./control.tar.gz    "./", ./control, and ./conffiles, ./postinst, ./prerm
 *                       when given (scripts mode 0755, the rest 0644)
 *   ./data.tar.gz       "./", then the files, each after its parent
 *                       directories (mode 0755, each once)
 * Tars are POSIX ustar (uid/gid 0, owner/group "root", one mtime for every
 * member); gzip uses deflate stored blocks only (RFC 1951 BTYPE 00, RFC 1952
 * header and CRC-32 trailer), so no zlib: a package is a little larger
 * than its files. OpenWrt's ipkg-build puts data.tar.gz before
 * control.tar.gz; opkg finds the members by name, so either order installs.
 *
 * How opkg unpacks it (what a postinst can rely on):
 *   1. the outer tar.gz is read; control.tar.gz is unpacked into a temp
 *      dir and ./control parsed (Package, Version, Depends, ...);
 *   2. data.tar.gz is unpacked relative to the root ("/" on a live system,
 *      $IPKG_INSTROOT when building an image with the SDK/ImageBuilder);
 *      its file list goes to /usr/lib/opkg/info/<package>.list;
 *   3. the control members are copied to /usr/lib/opkg/info/ as
 *      <package>.control, <package>.conffiles, <package>.postinst, ...;
 *   4. <package>.postinst runs (executed directly: it needs a #! line)
 *      with IPKG_INSTROOT unset or empty on a live system, set to the
 *      image root during an image build — so live actions are guarded with
 *      `[ -n "$IPKG_INSTROOT" ] || { ...; }`. prerm runs before removal.
 *   Files listed in conffiles are kept (as <file>-opkg) on upgrade when
 *   the user changed them.
 *
 * Errors: 0 or a negative errno (src/ convention), with a sentence in err:
 * -EINVAL a field that fails validation (the message names it), -EFBIG a
 * file over IPK_FILE_MAX or a package over IPK_TOTAL_MAX, -ENOMEM, or the
 * system errno of a failed write. */
#ifndef MN_IPK_H
#define MN_IPK_H
#include <stddef.h>
#include <stdint.h>

#define IPK_FILE_MAX  (1u << 20)   /* one data file or script */
#define IPK_TOTAL_MAX (4u << 20)   /* the whole .ipk, and its data files together */
#define IPK_MAX_FILES 256
#define IPK_PATH_MAX  99           /* a ustar name field without the prefix field */
#define IPK_FIELD_MAX 1024         /* one control field value */

struct ipk_file {
	const char *path;   /* "./etc/mirrornet/invite": "./", then components of
	                     * [A-Za-z0-9._+@%=,-], no "." or "..", no trailing '/' */
	unsigned mode;      /* permission bits, at most 07777 (e.g. 0600) */
	const void *data;   /* borrowed; len bytes, at most IPK_FILE_MAX */
	size_t len;
	unsigned dir_mode;  /* of the file's own directory, if this file's entry
	                     * emits it (0: 0755, like every other directory) */
};

struct ipk_spec {
	/* Control fields, borrowed, one line each: no newline or other control
	 * character, at most IPK_FIELD_MAX bytes. All required and non-empty,
	 * except depends (NULL or "" leaves the Depends line out).
	 * package: [A-Za-z0-9._+-], starting with a letter or digit (ipkg-build's
	 * set), at most 128; version: [EPOCH:]UPSTREAM[-REVISION] of
	 * [A-Za-z0-9.+~-], starting with a digit (e.g. "1.0.0-r1");
	 * architecture: [A-Za-z0-9_-] ("all", "aarch64_cortex-a53"). */
	const char *package, *version, *depends, *architecture, *description;
	const char *maintainer, *license, *section, *source;
	const struct ipk_file *data;   /* ndata files, at most IPK_MAX_FILES, distinct */
	size_t ndata;
	const char *postinst;   /* NULL or a script starting with "#!" */
	const char *prerm;      /* NULL or a script starting with "#!" */
	const char *conffiles;  /* NULL or absolute paths, one a line */
	long long mtime;        /* of every member, seconds since the epoch; 0: now */
};

/* Build the package in memory: *out (caller frees; it may hold secrets,
 * wipe it first) and *outlen. Installed-Size is the size of the
 * uncompressed data tar, as ipkg-build computes it. Intermediate buffers
 * are wiped before they are freed. On error *out is NULL. */
int ipk_build(const struct ipk_spec *s, uint8_t **out, size_t *outlen, char *err,
	      size_t errcap);

/* ipk_build(), then write the package atomically to path: a temp file in
 * the same directory, chmod to mode (exactly, no umask: 0600 for a package
 * that carries a secret), fsync, rename over path. On any error nothing is
 * left at path (an existing file there is untouched) and no temp file. */
int ipk_write(const char *path, unsigned mode, const struct ipk_spec *s, char *err,
	      size_t errcap);

/* The join package of an invitation (ipk_join.c, where its layout is
 * described): mirrornet-join-NAME, version 1.0.CREATED-ID (CREATED: unix
 * seconds of the invitation), the token in /etc/mirrornet-join/invite-ID,
 * the join in /etc/uci-defaults/95-mirrornet-join-ID, run by the postinst
 * on a live system or at first boot in an image. Written by ipk_write
 * (mode 0600). 0 or a negative errno with a sentence in err. */
int ipk_join_write(const char *path, const char *name, const char *id, const char *token,
		   long long created, char *err, size_t errcap);

/* CRC-32 (ISO-HDLC, as in gzip and zlib): start with crc 0, feed pieces
 * in order. ipk_crc32(0, "123456789", 9) == 0xCBF43926. */
uint32_t ipk_crc32(uint32_t crc, const void *p, size_t n);

#endif
