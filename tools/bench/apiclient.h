/* A blocking client for mirrornetd's local API (JSON lines), for the
 * benchmarks. Not used by the daemon or mirrornetctl. */
#ifndef MN_APICLIENT_H
#define MN_APICLIENT_H
#include <stdbool.h>
#include <stddef.h>
#include <json-c/json.h>

struct apiconn {
	int fd;
	char buf[1 << 16];
	size_t len;
};

int apiconn_open(struct apiconn *c, const char *path);
void apiconn_close(struct apiconn *c);
int apiconn_send(struct apiconn *c, struct json_object *req);
/* Next line as JSON (NULL on EOF/error or timeout_ms passed; -1 waits). */
struct json_object *apiconn_recv(struct apiconn *c, int timeout_ms);
/* Request → the response's "result" (new reference) or NULL. */
struct json_object *apiconn_call(struct apiconn *c, struct json_object *req);

#endif
