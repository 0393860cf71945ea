/* The AI endpoint's HAProxy configuration and the checks on what reaches
 * it (aicfg.h). Peer-supplied text never enters haproxy.cfg: addresses are
 * parsed as IPs, ports are numbers, servers are named s0, s1, ...; model
 * names (checked to a narrow alphabet) go only into models.map (name →
 * backend) and models.json. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include "src/ai/aicfg.h"
#include "src/expose/hacfg.h"

const char *const aicfg_file_names[AICFG_NFILES] = {
	"haproxy.cfg", "models.map", "models.json", "404.json", "503.http",
};

const char *const aicfg_refusal_names[AICFG_NREFUSALS] = {
	"ok", "bad_service", "bad_endpoint", "bad_port", "bad_model",
};

bool aicfg_model_ok(const char *s)
{
	size_t n = 0;

	if (!s || !s[0] || s[0] == '-')
		return false;
	for (; s[n]; n++) {
		char ch = s[n];
		if (n >= AICFG_MODEL_MAX)
			return false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
		      strchr("._:@+/-", ch)))
			return false;
	}
	return true;
}

enum aicfg_refusal aicfg_svc_check(const struct svc_body *b, const char *mesh_addr,
				   char (*out)[AICFG_MODEL_MAX + 1], size_t *nout)
{
	*nout = 0;
	if (strcmp(b->service, AICFG_SVC))
		return AICFG_BAD_SERVICE;
	/* the endpoint is where peers send prompts: only the origin's own
	 * certified mesh address, never a name or a third box */
	if (!mesh_addr[0] || !hacfg_addr_ok(mesh_addr) || strcmp(b->endpoint, mesh_addr))
		return AICFG_BAD_ENDPOINT;
	if (b->port == 0)
		return AICFG_BAD_PORT;
	for (size_t i = 0; i < b->n_attrs && i < MN_MAX_ATTRS; i++) {
		if (strcmp(b->attrs[i].k, AICFG_ATTR))
			continue;   /* other attributes: not ours to judge */
		if (!aicfg_model_ok(b->attrs[i].v)) {
			*nout = 0;
			return AICFG_BAD_MODEL;
		}
		if (*nout < AICFG_MAX_MODELS)
			snprintf(out[(*nout)++], AICFG_MODEL_MAX + 1, "%.*s", AICFG_MODEL_MAX, b->attrs[i].v);
	}
	return AICFG_OK;
}

int aicfg_parse_models(const char *json, size_t len, char (*out)[AICFG_MODEL_MAX + 1], size_t cap,
		       size_t *n, unsigned *bad)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *j = NULL, *data;
	int rc = -EINVAL;

	*n = 0;
	*bad = 0;
	if (!tok)
		return -ENOMEM;
	if (len <= INT32_MAX)
		j = json_tokener_parse_ex(tok, json, (int)len);
	if (!j || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_object_get_ex(j, "data", &data) || !json_object_is_type(data, json_type_array))
		goto out;
	for (size_t i = 0; i < json_object_array_length(data); i++) {
		struct json_object *e = json_object_array_get_idx(data, i), *id;
		const char *s;
		if (!json_object_object_get_ex(e, "id", &id) || !json_object_is_type(id, json_type_string) ||
		    !aicfg_model_ok(s = json_object_get_string(id))) {
			(*bad)++;
			continue;
		}
		bool dup = false;
		for (size_t k = 0; k < *n && !dup; k++)
			dup = !strcmp(out[k], s);
		if (!dup && *n < cap)
			snprintf(out[(*n)++], AICFG_MODEL_MAX + 1, "%s", s);
	}
	rc = 0;
out:
	json_object_put(j);
	json_tokener_free(tok);
	return rc;
}

void aicfg_out_free(struct aicfg_out *out)
{
	for (int i = 0; i < AICFG_NFILES; i++) {
		free(out->text[i]);
		out->text[i] = NULL;
		out->len[i] = 0;
	}
}

/* The distinct models, in order of first appearance (boxes first to last). */
struct mlist {
	const char **name;
	size_t n;
};

static int models_of(const struct aicfg *c, struct mlist *m)
{
	size_t cap = 0;

	for (size_t b = 0; b < c->nboxes; b++)
		cap += c->boxes[b].nmodels;
	m->n = 0;
	m->name = calloc(cap ? cap : 1, sizeof *m->name);
	if (!m->name)
		return -ENOMEM;
	for (size_t b = 0; b < c->nboxes; b++)
		for (size_t i = 0; i < c->boxes[b].nmodels; i++) {
			const char *s = c->boxes[b].models[i];
			bool dup = !aicfg_model_ok(s);
			for (size_t k = 0; k < m->n && !dup; k++)
				dup = !strcmp(m->name[k], s);
			if (!dup)
				m->name[m->n++] = s;
		}
	return 0;
}

static bool holds(const struct aicfg_box *b, const char *model)
{
	for (size_t i = 0; i < b->nmodels; i++)
		if (!strcmp(b->models[i], model))
			return true;
	return false;
}

static bool box_ok(const struct aicfg_box *b)
{
	return hacfg_addr_ok(b->addr) && b->port != 0;
}

static void error_json(FILE *f, const char *msg, const char *type, const char *code)
{
	fprintf(f, "{\"error\":{\"message\":\"%s\",\"type\":\"%s\",\"param\":\"model\",\"code\":\"%s\"}}\n",
		msg, type, code);
}

#define DIR_OK(s) (s[0] == '/' && !strpbrk(s, " \t\r\n'\"\\#"))

int aicfg_render(const struct aicfg *c, struct aicfg_out *out, char *msg, size_t cap)
{
	FILE *f[AICFG_NFILES] = { NULL };
	struct mlist m = { NULL, 0 };
	int rc = -ENOMEM;

	memset(out, 0, sizeof *out);
	if (!DIR_OK(c->gen_dir) || strlen(c->gen_dir) > AICFG_DIR_MAX) {
		snprintf(msg, cap, "ai: a bad directory");
		return -EINVAL;
	}
	if (!hacfg_backend_ok(c->listen) || (c->mesh_bind[0] && !hacfg_backend_ok(c->mesh_bind)) ||
	    (c->local[0] && !hacfg_backend_ok(c->local))) {
		snprintf(msg, cap, "ai: a bad address (ip:port)");
		return -EINVAL;
	}
	if (models_of(c, &m) < 0)
		goto fail;
	for (int i = 0; i < AICFG_NFILES; i++)
		if (!(f[i] = open_memstream(&out->text[i], &out->len[i])))
			goto fail;

	FILE *o = f[AICFG_CFG];
	const char *d = c->gen_dir;
	unsigned inter = c->check_ms ? c->check_ms : 2000;
	fprintf(o, "# mirrornetd (ai): the local OpenAI-compatible endpoint, routed by model (docs/ai.md).\n"
		   "# Written on every change; do not edit.\n"
		   "global\n\tmaxconn 256\n\ttune.bufsize 262144\n\n"
		   "defaults\n\tmode http\n\ttimeout connect 3s\n\ttimeout client 300s\n"
		   "\ttimeout server 300s\n\ttimeout http-request 30s\n\ttimeout check 3s\n"
		   "\tretries 2\n\toption redispatch 1\n\tretry-on conn-failure empty-response\n"
		   "\terrorfile 503 %s/503.http\n\n", c->gen_dir);
	fprintf(o, "frontend ai_local\n\tbind %s\n\toption http-buffer-request\n"
		   "\thttp-request return status 200 content-type application/json file %s/models.json "
		   "if { method GET } { path /v1/models }\n"
		   "\thttp-request set-var(txn.model) req.body,json_query('$.model') if { method POST }\n"
		   "\thttp-request set-var(txn.be) var(txn.model),map(%s/models.map) "
		   "if { var(txn.model) -m found }\n"
		   "\thttp-request return status 404 content-type application/json file %s/404.json "
		   "if !{ var(txn.be) -m found }\n"
		   "\tuse_backend %%[var(txn.be)]\n\n",
		c->listen, d, d, d);
	/* the peers' side: our server alone, no retry (a refused connection
	 * is a 503 at once, so the peers' checks take us out quickly) */
	if (c->mesh_bind[0] && c->local[0])
		fprintf(o, "frontend ai_mesh\n\tbind %s\n\tdefault_backend ai_self\n\n"
			   "backend ai_self\n\tretries 0\n\tserver local %s\n\n", c->mesh_bind, c->local);

	fprintf(f[AICFG_MODELS], "{\"object\":\"list\",\"data\":[");
	for (size_t k = 0; k < m.n; k++) {
		unsigned ns = 0;
		fprintf(o, "backend m%zu\n\toption httpchk GET /v1/models\n\thttp-check expect status 200\n", k);
		for (size_t b = 0; b < c->nboxes && ns < AICFG_MAX_HOLDERS; b++) {
			const struct aicfg_box *x = &c->boxes[b];
			if (!box_ok(x) || !holds(x, m.name[k]))
				continue;
			bool v6 = strchr(x->addr, ':') != NULL;
			/* the first holder (ours when we hold it) takes the
			 * traffic, the others in order when it is down */
			fprintf(o, "\tserver s%zu %s%s%s:%u check inter %u fall 2 rise 1%s\n", b, v6 ? "[" : "",
				x->addr, v6 ? "]" : "", x->port, inter, ns ? " backup" : "");
			ns++;
		}
		fputc('\n', o);
		fprintf(f[AICFG_MAP], "%s m%zu\n", m.name[k], k);
		fprintf(f[AICFG_MODELS], "%s{\"id\":\"%s\",\"object\":\"model\",\"owned_by\":\"mirrornet\"}",
			k ? "," : "", m.name[k]);
	}
	fprintf(f[AICFG_MODELS], "]}\n");
	error_json(f[AICFG_404], "The model does not exist on any box of the mesh",
		   "invalid_request_error", "model_not_found");
	{
		char *body = NULL;
		size_t blen = 0;
		FILE *bf = open_memstream(&body, &blen);
		if (!bf)
			goto fail;
		error_json(bf, "Every box of the mesh that serves this model is down",
			   "server_error", "model_unavailable");
		if (fclose(bf) != 0 || !body) {
			free(body);
			goto fail;
		}
		fprintf(f[AICFG_503], "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
				      "Cache-Control: no-cache\r\nConnection: close\r\nContent-Length: %zu\r\n\r\n%s",
			blen, body);
		free(body);
	}
	out->nmodels = m.n;
	rc = 0;
fail:
	for (int i = 0; i < AICFG_NFILES; i++)
		if (f[i] && fclose(f[i]) != 0)
			rc = -ENOMEM;
	for (int i = 0; rc == 0 && i < AICFG_NFILES; i++)
		if (!out->text[i])
			rc = -ENOMEM;
	free(m.name);
	if (rc < 0) {
		aicfg_out_free(out);
		snprintf(msg, cap, "out of memory");
	}
	return rc;
}
