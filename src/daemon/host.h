/* The daemon's side of the subsystem interface (subsys.h): one host per
 * registered subsystem, driven by daemon.c and api.c. */
#ifndef MN_HOST_H
#define MN_HOST_H
#include <json-c/json.h>
#include <uv.h>
#include "src/daemon/subsys.h"

struct daemon;
struct hosts;

struct hosts *hosts_new(struct daemon *d, uv_loop_t *loop);
/* Start each subsystem in registry order; on failure the message names it. */
int hosts_start(struct hosts *hs, char *err, size_t errcap);
void hosts_record(struct hosts *hs, const struct rec_view *v);
void hosts_trust(struct hosts *hs, const uint8_t origin[32]);
/* After a reload swapped the configuration: old is the previous one. */
void hosts_reload(struct hosts *hs, const struct config *old);
/* The subsystems' periodic work (subsys.h: on the WireGuard cycle). */
void hosts_tick(struct hosts *hs, uint64_t now_ms);
/* Each subsystem's status object under its name. */
void hosts_status(struct hosts *hs, struct json_object *o);
/* The API call named name, and the state to call it with; NULL if none. */
const struct subsys_call *hosts_call(struct hosts *hs, const char *name, void **st);
/* The call names, comma-separated, for an error message. */
void hosts_call_names(const struct hosts *hs, char *buf, size_t cap);
void hosts_stop(struct hosts *hs);
void hosts_free(struct hosts *hs);

#endif
