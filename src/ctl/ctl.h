/* mirrornetctl: one function per command, dispatched by ctl_main(). The
 * executable's main() only calls ctl_main(), so tests can link the
 * commands.
 *
 * Exit codes (docs/cli.md): 0 ok, 1 the operation failed, 2 usage error,
 * 3 daemon not reachable (commands that talk to mirrornetd), 4 verification
 * failed (bad signature, invalid chain, corrupt store). */
#ifndef MN_CTL_H
#define MN_CTL_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include "crypto/key.h"

enum ctl_exit { CTL_OK = 0, CTL_FAIL = 1, CTL_USAGE = 2, CTL_NODAEMON = 3, CTL_INVALID = 4 };

int ctl_main(int argc, char **argv);

int ctl_keygen(int argc, char **argv);
int ctl_record(int argc, char **argv);
int ctl_cert(int argc, char **argv);
int ctl_store(int argc, char **argv);
/* Commands that talk to mirrornetd over its API socket (src/ctl/ctl_daemon.c). */
int ctl_status(int argc, char **argv);
int ctl_peers(int argc, char **argv);
int ctl_records(int argc, char **argv);
int ctl_publish(int argc, char **argv);
int ctl_watch(int argc, char **argv);
int ctl_api_raw(int argc, char **argv);

/* Onboarding (src/ctl/ctl_onboard.c): mesh init, invite, join, revoke, key. */
int ctl_mesh(int argc, char **argv);
int ctl_invite(int argc, char **argv);
int ctl_join(int argc, char **argv);
int ctl_revoke(int argc, char **argv);
int ctl_key(int argc, char **argv);
/* The publish request (a new object, caller owns it) of a revoke record for
 * the node key pk: reason, now, ten years (docs/onboarding.md). */
struct json_object;
struct json_object *ctl_revoke_request(const uint8_t pk[static 32], const char *reason);
/* Vortex DNS (src/ctl/ctl_dns.c; check: src/ctl/ctl_dnscheck.c). */
int ctl_dns(int argc, char **argv);
int ctl_hosts(int argc, char **argv);
int ctl_ai(int argc, char **argv);
int ctl_mail(int argc, char **argv);
int ctl_dns_check(int argc, char **argv);
/* Exposures and the CDN (src/ctl/ctl_expose.c). */
int ctl_expose(int argc, char **argv);
/* An MCP server on stdio (src/ctl/ctl_mcp.c, docs/mcp.md). */
int ctl_mcp(int argc, char **argv);
/* Backups held by peers (src/ctl/ctl_backup.c). */
int ctl_backup(int argc, char **argv);
/* The rpcd plugin luci.mirrornet (src/ctl/ctl_rpcd.c, docs/luci.md). */
int ctl_rpcd(int argc, char **argv);
/* Threat intelligence (src/ctl/ctl_ioc.c; `ioc setup`: src/ctl/ctl_ioc_setup.c). */
int ctl_ioc(int argc, char **argv);
int ctl_ioc_setup(int argc, char **argv);

/* Call the daemon: cmd with the arguments in req (consumed; NULL = none).
 * CTL_OK with *result (caller owns it), or an exit code after a message.
 * socket_opt NULL: $MIRRORNET_SOCKET or the default path. */
int ctl_call(const char *socket_opt, const char *cmd, struct json_object *req,
	     struct json_object **result);
void ctl_print_json(struct json_object *o);
/* The daemon's socket: opt, else $MIRRORNET_SOCKET, else the default. */
const char *ctl_socket_path(const char *opt);

/* Helpers shared by the commands. */
void ctl_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Read a whole file of at most max bytes into a new buffer (caller frees).
 * Returns its length or a negative errno (-EFBIG when over max). */
long ctl_read_file(const char *path, size_t max, uint8_t **out);
/* Write buf to path through a temp file + rename; mode applies. */
int ctl_write_file(const char *path, const uint8_t *buf, size_t len, unsigned mode);
/* Load a node key file, warning on stderr when others can read it. */
int ctl_load_key(const char *path, struct node_key *k);
/* Text from the mesh made safe for a terminal: control characters (C0,
 * DEL, C1) and bytes that are not UTF-8 become \xNN, a backslash \\; the
 * rest is copied. Writes at most cap bytes (NUL included, cut at a whole
 * character or escape) into buf and returns buf. ctl_safe_dup: a new string
 * (caller frees), NULL on ENOMEM. s NULL is "". */
const char *ctl_safe(const char *s, char *buf, size_t cap);
/* The text of o[k] for printing (a number's digits too), "" when missing. */
const char *ctl_text(struct json_object *o, const char *k);
char *ctl_safe_dup(const char *s);
/* Parse a did:key or 64 hex digits into a public key. */
int ctl_parse_pubkey(const char *s, uint8_t pk[32]);
/* Parse "90", "90s", "15m", "12h", "30d" into seconds; -1 if invalid. */
long long ctl_parse_duration(const char *s);
/* Strict unsigned decimal; -1 if invalid. */
int ctl_parse_u64(const char *s, uint64_t *v);
/* Run argv (argv[0] looked up in PATH, no shell) and wait for it, at most
 * timeout_ms (then it is killed: CTL_RUN_TIMEOUT). Its stdout and stderr
 * go into out and err (NUL-terminated, cut at cap - 1 bytes; either may
 * be NULL). Returns its exit status, 128 + signal, CTL_RUN_TIMEOUT, or -1
 * (errno) when it could not be started; 127 when the program is missing
 * (src/ctl/ctl_run.c). */
#define CTL_RUN_TIMEOUT 1000
int ctl_run(const char *const argv[], char *out, size_t outcap, char *err, size_t errcap, int timeout_ms);
/* The last line of text that is not blank ("" if none); cuts text. */
char *ctl_last_line(char *text);

#endif
