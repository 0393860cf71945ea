/* The AI subsystem's pure half (docs/ai.md): which model names and which
 * svc "ai" records may reach a proxy config, and the configuration of the
 * MirrorNet-owned HAProxy instance that gives every box one local
 * OpenAI-compatible endpoint, routed by the requested model. No I/O: the
 * subsystem, its unit test and a benchmark share it.
 *
 * The files of one generation (one directory; the config names the others
 * by absolute path):
 *   haproxy.cfg   the local frontend (by model), the mesh frontend (our
 *                 local server for the peers), one backend per model
 *   models.map    model name → backend (names never enter haproxy.cfg)
 *   models.json   GET /v1/models: the mesh's models, OpenAI-shaped
 *   404.json      the OpenAI error for a model no box holds
 *   503.http      the OpenAI error when every holder of a model is down */
#ifndef MN_AICFG_H
#define MN_AICFG_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "proto/body.h"
#include "proto/limits.h"

#define AICFG_MODEL_MAX 128       /* bytes of a model name, without the NUL */
#define AICFG_DIR_MAX 200
#define AICFG_MAX_MODELS MN_MAX_ATTRS   /* per box: one svc attribute each */
#define AICFG_MAX_HOLDERS 32      /* per model, in the config */
#define AICFG_SVC "ai"            /* the svc record's key and service */
#define AICFG_ATTR "model"        /* the attribute key of each model */

enum aicfg_file_id { AICFG_CFG, AICFG_MAP, AICFG_MODELS, AICFG_404, AICFG_503, AICFG_NFILES };
extern const char *const aicfg_file_names[AICFG_NFILES];

/* A model name fit for a map file, a JSON string and a log line:
 * 1..AICFG_MODEL_MAX bytes of [A-Za-z0-9._:@+/-], not starting with '-'. */
bool aicfg_model_ok(const char *s);

/* One box that serves models: its address:port ("127.0.0.1:8080" for our
 * own server, "MESHADDR:PORT" for a peer) and its models. */
struct aicfg_box {
	char addr[MN_MAX_ADDR + 1];
	uint16_t port;
	char name[MN_MAX_NAME + 1];       /* for the server's name; "" local */
	char (*models)[AICFG_MODEL_MAX + 1];
	size_t nmodels;
};

/* Why a svc record is refused (aicfg_svc_check). */
enum aicfg_refusal {
	AICFG_OK, AICFG_BAD_SERVICE, AICFG_BAD_ENDPOINT, AICFG_BAD_PORT, AICFG_BAD_MODEL, AICFG_NREFUSALS
};
extern const char *const aicfg_refusal_names[AICFG_NREFUSALS];

/* A svc "ai" body against its origin's certified mesh address (no prefix;
 * "" when it has none): AICFG_OK and the models in out (at most
 * AICFG_MAX_MODELS), or why it is refused. A record with any bad model
 * is refused whole. */
enum aicfg_refusal aicfg_svc_check(const struct svc_body *b, const char *mesh_addr,
				   char (*out)[AICFG_MODEL_MAX + 1], size_t *nout);

struct aicfg {
	char gen_dir[AICFG_DIR_MAX + 1];  /* absolute: where these files go */
	char listen[MN_MAX_ENDPOINT + 1]; /* the local endpoint, ip:port */
	char mesh_bind[MN_MAX_ENDPOINT + 1]; /* "": we serve no peer; else meshaddr:port */
	char local[MN_MAX_ENDPOINT + 1];  /* our server ip:port, "" none */
	unsigned check_ms;                /* health-check interval */
	const struct aicfg_box *boxes;    /* boxes[0] may be ours: first */
	size_t nboxes;
};

struct aicfg_out {
	char *text[AICFG_NFILES];
	size_t len[AICFG_NFILES];
	size_t nmodels;                   /* distinct models routed */
};

/* Render the files; 0, or -EINVAL (a bad address or name: msg says) or
 * -ENOMEM. Boxes or models that are not valid are skipped (the caller
 * checked them). out is freed with aicfg_out_free (also on error). */
int aicfg_render(const struct aicfg *c, struct aicfg_out *out, char *msg, size_t cap);
void aicfg_out_free(struct aicfg_out *out);

/* The model names of an OpenAI GET /v1/models answer (json text of len
 * bytes): 0 and *n names (valid ones only; *bad counts the others), or
 * -EINVAL when it is not such an answer. */
int aicfg_parse_models(const char *json, size_t len, char (*out)[AICFG_MODEL_MAX + 1], size_t cap,
		       size_t *n, unsigned *bad);

#endif
