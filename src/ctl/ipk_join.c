/* The join package of an invitation: `mirrornetctl invite create --ipk`
 * (openwrt/README.md, "The join package"). What makes it work on a router:
 *
 *   Package  mirrornet-join-NAME, Depends mirrornet
 *   Version  1.0.CREATED-ID: unique to the invitation (opkg would call a
 *            second package of the same name and version "up to date" and
 *            install nothing) and growing with its creation time, so that
 *            a newer invitation for the same name installs as an upgrade.
 *   data     /etc/mirrornet-join/invite-ID (0600, directory 0700): the
 *            token. Not under /etc/mirrornet/, which sysupgrade keeps
 *            (/lib/upgrade/keep.d/mirrornet), and not a conffile: a used
 *            invitation is worthless, an unused one is not carried into a
 *            new firmware.
 *            /etc/uci-defaults/95-mirrornet-join-ID (0755): the join, in
 *            the background (it may wait for the master's approval), with
 *            /usr/sbin/mirrornetctl by its full path; after a successful
 *            join it removes the invitation and restarts mirrornet.
 *   postinst on a live system runs that uci-defaults script at once and
 *            removes it, as OpenWrt's default_postinst does; with
 *            IPKG_INSTROOT set (an image being built) nothing: the first
 *            boot runs it (/etc/init.d/boot runs /etc/uci-defaults/). */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include "src/ctl/ipk.h"
#include "crypto/crypto.h"

static const char join_fmt[] =
	"#!/bin/sh\n"
	"# MirrorNet: join the mesh with invitation %s (package mirrornet-join-%s).\n"
	"# Run once: by the package's postinst on a live system, else at first boot.\n"
	"f=/etc/mirrornet-join/invite-%s\n"
	"[ -f \"$f\" ] || exit 0\n"
	"mkdir -p /var/log\n"
	"# in the background: a join may wait for the master's approval\n"
	"( /usr/sbin/mirrornetctl join --invite-file \"$f\" >>/var/log/mirrornet-join.log 2>&1 &&\n"
	"  { rm -f \"$f\"; rmdir /etc/mirrornet-join 2>/dev/null;\n"
	"    [ -x /etc/init.d/mirrornet ] && /etc/init.d/mirrornet enable &&\n"
	"    /etc/init.d/mirrornet restart; true; } ) </dev/null >/dev/null 2>&1 &\n"
	"exit 0\n";

static const char postinst_fmt[] =
	"#!/bin/sh\n"
	"# Into an image (IPKG_INSTROOT set): nothing, the first boot joins.\n"
	"[ -n \"$IPKG_INSTROOT\" ] && exit 0\n"
	"# A live system: join now rather than at the next boot.\n"
	"s=/etc/uci-defaults/95-mirrornet-join-%s\n"
	"[ -f \"$s\" ] || exit 0\n"
	"# shellcheck source=/dev/null\n"
	"( . \"$s\" ) && rm -f \"$s\"\n"
	"exit 0\n";

int ipk_join_write(const char *path, const char *name, const char *id, const char *token,
		   long long created, char *err, size_t errcap)
{
	char pkg[160], version[96], fpath[IPK_PATH_MAX + 1], spath[IPK_PATH_MAX + 1];
	char join[sizeof join_fmt + 256], post[sizeof postinst_fmt + 64], desc[256];
	char tok[2048];
	struct ipk_file f[2];
	struct ipk_spec s;
	int rc;

	if (strlen(name) > 63 || strlen(id) > 32 || strlen(token) + 2 > sizeof tok || created < 0) {
		snprintf(err, errcap, "name, id or token too long");
		return -EINVAL;
	}
	snprintf(pkg, sizeof pkg, "mirrornet-join-%s", name);
	snprintf(version, sizeof version, "1.0.%lld-%s", created, id);
	snprintf(fpath, sizeof fpath, "./etc/mirrornet-join/invite-%s", id);
	snprintf(spath, sizeof spath, "./etc/uci-defaults/95-mirrornet-join-%s", id);
	snprintf(join, sizeof join, join_fmt, id, name, id);
	snprintf(post, sizeof post, postinst_fmt, id);
	snprintf(desc, sizeof desc, "Joins this router to a MirrorNet mesh as %s (invitation %s)", name, id);
	snprintf(tok, sizeof tok, "%s\n", token);
	f[0] = (struct ipk_file){ fpath, 0600, tok, strlen(tok), 0700 };
	f[1] = (struct ipk_file){ spath, 0755, join, strlen(join), 0 };
	memset(&s, 0, sizeof s);
	s.package = pkg;
	s.version = version;
	s.depends = "mirrornet";
	s.architecture = "all";
	s.description = desc;
	s.maintainer = "MirrorNet <mirrornet@localhost>";
	s.license = "GPL-2.0-or-later";
	s.section = "net";
	s.source = "mirrornetctl invite create";
	s.data = f;
	s.ndata = 2;
	s.postinst = post;
	s.mtime = created;
	rc = ipk_write(path, 0600, &s, err, errcap);
	crypto_wipe(tok, sizeof tok);
	return rc;
}
