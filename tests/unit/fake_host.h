/* A fake host for subsystem unit tests (src/daemon/subsys.h): the host
 * functions over an in-memory record list, config and state table, and a
 * real libuv loop — no daemon, engine, store or network. Regeneration runs
 * when the test says (fake_host_regen), commands are recorded and "run"
 * at once with the outcome the test chose. */
#ifndef MN_FAKE_HOST_H
#define MN_FAKE_HOST_H
#include "src/daemon/subsys.h"
#include "src/daemon/config.h"
#include "crypto/key.h"

#define FAKE_MAX_RECORDS 64
#define FAKE_MAX_STATE 64

struct mn_host {
	const struct subsys *s;
	void *st;
	uv_loop_t loop;
	struct config cfg;                  /* core options */
	_Alignas(16) unsigned char conf[SUBSYS_CONF_MAX];   /* its section */
	uint8_t self[32];
	struct node_key key;                /* fake_host_key: host_key() gives it */
	bool have_key;
	uint64_t now_ms;
	struct { uint8_t wire[1024]; size_t len; uint8_t id[32]; bool used; } rec[FAKE_MAX_RECORDS];
	struct { char key[64]; uint8_t val[1024]; size_t len; bool used; } state[FAKE_MAX_STATE];
	struct { uint8_t pk[32]; enum host_peer_state st; uint64_t since; } peers[16];
	unsigned npeers;                    /* fake_host_peer'd states */
	uint8_t revoked[8][32];             /* fake_host_revoke'd keys */
	unsigned nrevoked;
	unsigned dirty;                     /* host_dirty calls */
	unsigned runs;                      /* host_run calls */
	char last_cmd[512];
	bool run_fails;                     /* the next commands fail */
};

/* A host for subsystem s, with the defaults of its options and of the core. */
void fake_host_init(struct mn_host *h, const struct subsys *s);
/* Set one of its options from text; 0 or -EINVAL. */
int fake_host_set(struct mn_host *h, const char *opt, const char *val);
/* Give this node a real key from a seed (self becomes its public key):
 * host_key() returns it; without this call host_key() is NULL. */
void fake_host_key(struct mn_host *h, const uint8_t seed[32]);
/* Start it (s->start); NULL with the message on stderr. */
void *fake_host_start(struct mn_host *h);
/* Hold a record (unsigned: the fake checks nothing) and tell the subsystem
 * if it takes that kind; body NULL: a tombstone. Returns its slot. */
int fake_host_add(struct mn_host *h, unsigned kind, const uint8_t origin[32], const char *key,
		  uint64_t version, const union body *body);
/* Chains (host_chain, host_chain_records) are the cert records held: from
 * a key up through each cert's issuer to the configured root (cfg.root),
 * what the key's own cert says (role, depth, scope, mesh address) in the
 * result; a revoked key or one below it has none (-EACCES). The root
 * without a cert of its own: an empty chain. */
/* Forget a key's records (as a revocation would), mark it revoked and tell
 * the subsystem. */
void fake_host_revoke(struct mn_host *h, const uint8_t origin[32]);
/* Set what host_peer_state says of pk (a key never set: -ENOENT). */
void fake_host_peer(struct mn_host *h, const uint8_t pk[32], enum host_peer_state st,
		    uint64_t since_ms);
/* Run the regeneration now, as the host's timer would. */
void fake_host_regen(struct mn_host *h);
/* Call its API method name with req (borrowed); returns the handler's rc. */
int fake_host_call(struct mn_host *h, const char *name, struct json_object *req,
		   struct json_object **res, char *err, size_t errcap);
void fake_host_done(struct mn_host *h);

#endif
