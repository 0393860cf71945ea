/* The exposure subsystem's Tor and mDNS channels (docs/expose.md, "Tor" and
 * "mDNS"): internal to the subsystem (expose.c, expose_chan.c,
 * expose_tor.c, expose_mdns.c); the rest of the daemon sees only
 * subsys_expose.
 *
 * expose.c owns the exposures and their records and calls in at a few
 * points: its options table takes EXPOSE_CHAN_OPTS, generate() hands each
 * channel the own exposures (expose_*_regen), own_body() asks for the onion
 * name, status and the life calls go through. */
#ifndef MN_EXPOSE_CHAN_H
#define MN_EXPOSE_CHAN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include "src/daemon/subsys.h"
#include "src/expose/torcfg.h"

/* ---- options (rows in expose.c's table) ---- */

struct expose_chan_conf {
	uint8_t tor;                          /* 0 none, 1 tor */
	char tor_dir[TORCFG_DIR_MAX + 1];     /* the hidden services' keys: persistent */
	char tor_bin[TORCFG_DIR_MAX + 1];
	bool tor_network;                     /* no: DisableNetwork 1 */
	char mdns_dir[TORCFG_DIR_MAX + 1];    /* "": no mDNS files */
	uint8_t mdns_format;                  /* 0 avahi, 1 umdns */
	char mdns_reload[256];                /* "": none */
};

/* .parse checks of the paths (torcfg_dir_ok) */
int expose_chan_check_tor_dir(void *sect, char *val, char *msg, size_t cap);
int expose_chan_check_tor_bin(void *sect, char *val, char *msg, size_t cap);
int expose_chan_check_mdns_dir(void *sect, char *val, char *msg, size_t cap);

/* The rows, for a section struct T holding a struct expose_chan_conf m. */
#define EXPOSE_CHAN_OPTS(T, m) \
	{ "expose_tor", CONF_INDEX, 0, CONF_FIELD(T, m.tor), .choices = "none|tor", .def = "none", \
	  .help = "none or tor" }, \
	{ "expose_tor_dir", CONF_STR, 0, CONF_FIELD(T, m.tor_dir), .parse = expose_chan_check_tor_dir, \
	  .def = "/etc/mirrornet/tor", .help = "an absolute directory path" }, \
	{ "expose_tor_bin", CONF_STR, 0, CONF_FIELD(T, m.tor_bin), .parse = expose_chan_check_tor_bin, \
	  .def = "/usr/sbin/tor", .help = "the tor program (an absolute path)" }, \
	{ "expose_tor_network", CONF_YESNO, 0, CONF_FIELD(T, m.tor_network), .def = "yes", \
	  .help = "yes or no" }, \
	{ "expose_mdns_dir", CONF_STR, 0, CONF_FIELD(T, m.mdns_dir), .parse = expose_chan_check_mdns_dir, \
	  .help = "an absolute directory path" }, \
	{ "expose_mdns_format", CONF_INDEX, 0, CONF_FIELD(T, m.mdns_format), .choices = "avahi|umdns", \
	  .def = "avahi", .help = "avahi or umdns" }, \
	{ "expose_mdns_reload", CONF_STR, 0, CONF_FIELD(T, m.mdns_reload), \
	  .help = "a command of at most 255 bytes" }

/* ---- what the channels get from expose.c ---- */

/* One of this box's exposures as the channels see it (borrowed strings). */
struct expose_svc {
	const char *service;                  /* a DNS label, checked */
	uint16_t port;
	uint8_t proto;                        /* enum expose_proto */
	uint8_t channels;                     /* as published (defaults applied) */
	const char *backend;                  /* IP:PORT on this box, checked */
};

/* The subsystem's state (host_run's done callbacks get it) to each channel's. */
struct expose_tor *expose_tor_of(void *st);
struct expose_mdns *expose_mdns_of(void *st);

/* ---- shared helpers (expose_chan.c) ---- */

/* mkdir -p: the parents 0755, path itself `mode` (made so if it exists
 * with more). 0 or a negative errno. */
int expose_mkdirs(const char *path, unsigned mode);
/* The pid in pidfile if a live process named comm (not a zombie) holds
 * it, else 0. */
pid_t expose_pid_named(const char *pidfile, const char *comm);
/* The most telling line of a command's log (the last holding one of the
 * marks, else the first), for status. */
void expose_log_line(const char *path, const char *const *marks, char *out, size_t cap);
/* Counters into a status object, one integer member per row. */
struct expose_count {
	const char *key;
	unsigned n;
};
void expose_json_counts(struct json_object *j, const struct expose_count *rows, size_t n);
/* A string member, only when s is not empty. */
void expose_json_text(struct json_object *j, const char *key, const char *s);

/* ---- Tor (expose_tor.c) ---- */

struct expose_tor;
/* onion_changed(arg) runs when a published onion name appears or goes (so
 * that expose.c republishes the record at once). NULL if out of memory. */
struct expose_tor *expose_tor_new(struct mn_host *h, void (*onion_changed)(void *arg), void *arg);
void expose_tor_stop(struct expose_tor *t);     /* closes its timer (the loop still runs) */
void expose_tor_free(struct expose_tor *t);     /* accepts NULL */
/* The configuration changed: forget a refused torrc and a failed start, so
 * they are tried again at once. */
void expose_tor_reload(struct expose_tor *t);
/* Bring tor in line with the exposures that have the tor channel: render
 * the torrc under expose_dir/tor, check a new one with `tor
 * --verify-config`, switch to it and reload (SIGHUP) or start tor; stop
 * tor when none is left or the channel is off. May run the subsystem's
 * command. */
void expose_tor_regen(struct expose_tor *t, const struct expose_chan_conf *c, const char *expose_dir,
		      const struct expose_svc *svcs, size_t n);
/* The .onion name of service's hidden service (tor serves it and its
 * hostname file was checked), into out; "" if none. */
void expose_tor_onion(const struct expose_tor *t, const char *service, char *out, size_t cap);
struct json_object *expose_tor_status(const struct expose_tor *t, const struct expose_chan_conf *c);

/* ---- mDNS (expose_mdns.c) ---- */

struct expose_mdns;
struct expose_mdns *expose_mdns_new(struct mn_host *h);
void expose_mdns_free(struct expose_mdns *m);   /* accepts NULL */
/* Write the service files of the exposures with the mdns channel and of
 * the node into c->mdns_dir (only what changed; ours left over removed),
 * then run c->mdns_reload if anything changed. */
void expose_mdns_regen(struct expose_mdns *m, const struct expose_chan_conf *c,
		       const struct expose_svc *svcs, size_t n);
struct json_object *expose_mdns_status(const struct expose_mdns *m, const struct expose_chan_conf *c);

#endif
