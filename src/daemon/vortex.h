/* Vortex DNS in the daemon (docs/dns.md): the dns records held (signed
 * delegations), with the node records (names, mesh addresses) and mesh
 * exposures, become zone files for every zone of the mesh plus the
 * configuration of the DNS server the box runs (dns_server knot | bind |
 * dnsmasq; none = off), under dns_dir. A file is written (temp + rename)
 * only when its content changes, the zone's SOA serial then moves forward
 * (kept in the store), and one reload command runs (dns_reload) when
 * anything changed; its failure is counted and shown in status. Any node
 * serves every zone it holds, so a zone stays resolvable while its own
 * node is offline. */
#ifndef MN_VORTEX_H
#define MN_VORTEX_H
#include <json-c/json.h>
#include <uv.h>

struct daemon;
struct vortex;

struct vortex *vortex_new(struct daemon *d, uv_loop_t *loop);
void vortex_close(struct vortex *v);
void vortex_free(struct vortex *v);
/* Records changed: regenerate soon (debounced). */
void vortex_dirty(struct vortex *v);
struct json_object *vortex_status(struct vortex *v);

/* API calls: 0 with *res, or a negative errno and a message. */
int vortex_show(struct vortex *v, const char *zone, char **text, char *err, size_t errcap);
int vortex_api_init(struct vortex *v, struct json_object *req, struct json_object **res,
		    char *err, size_t errcap);
int vortex_api_delegate(struct vortex *v, struct json_object *req, struct json_object **res,
			char *err, size_t errcap);
int vortex_api_leave(struct vortex *v, struct json_object *req, struct json_object **res,
		     char *err, size_t errcap);
int vortex_api_show(struct vortex *v, struct json_object *req, struct json_object **res,
		    char *err, size_t errcap);

#endif
