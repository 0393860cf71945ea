/* mirrornetctl keygen [--seed HEX] [--out FILE] [--json]
 * mirrornetctl keygen --show FILE [--json] */
#include <errno.h>
#include <getopt.h>
#include <string.h>
#include <json-c/json.h>
#include "src/ctl/ctl.h"
#include "crypto/crypto.h"
#include "crypto/did.h"
#include "crypto/key.h"
#include "proto/hex.h"

static void keygen_usage(FILE *f)
{
	fprintf(f, "usage: mirrornetctl keygen [--seed HEX] [--out FILE] [--json]\n"
		"       mirrornetctl keygen --show FILE [--json]\n"
		"  --seed HEX  32-byte seed as 64 hex digits: the same seed gives the same key\n"
		"  --out FILE  save the key (mode 0600; an existing file is never overwritten)\n"
		"  --show FILE print the did of an existing key file\n"
		"  --json      print {\"did\", \"public_key\", \"wireguard_public_key\", \"file\"}\n");
}

int ctl_keygen(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "seed", required_argument, NULL, 's' },
		{ "out", required_argument, NULL, 'o' },
		{ "json", no_argument, NULL, 'j' },
		{ "show", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *seed_hex = NULL, *out = NULL, *show = NULL;
	bool json = false;
	struct node_key k;
	uint8_t seed[32];
	char did[DID_KEY_MAX], pkhex[65];
	int c, rc = CTL_FAIL, err;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 's': seed_hex = optarg; break;
		case 'o': out = optarg; break;
		case 'j': json = true; break;
		case 'S': show = optarg; break;
		case 'h': keygen_usage(stdout); return CTL_OK;
		default: keygen_usage(stderr); return CTL_USAGE;
		}
	}
	if (optind != argc) {
		ctl_err("keygen: unexpected argument '%s'", argv[optind]);
		return CTL_USAGE;
	}
	if (show && (seed_hex || out)) {
		ctl_err("keygen: --show goes alone");
		return CTL_USAGE;
	}
	if (show) {
		if (ctl_load_key(show, &k) < 0)
			return CTL_FAIL;
		out = show;
		err = 0;
	} else if (seed_hex) {
		if (hex_decode(seed_hex, seed, sizeof seed) < 0) {
			ctl_err("keygen: --seed wants exactly 64 hex digits (32 bytes)");
			return CTL_USAGE;
		}
		err = node_key_from_seed(&k, seed);
		crypto_wipe(seed, sizeof seed);
	} else {
		err = node_key_generate(&k);
	}
	if (err < 0) {
		ctl_err("keygen: %s", crypto_strerror(err));
		return CTL_FAIL;
	}
	if (out && !show && (err = node_key_save(&k, out)) < 0) {
		if (err == CRYPTO_ERR_IO)
			ctl_err("keygen: %s: %s", out, strerror(errno));
		else
			ctl_err("keygen: %s: %s", out, crypto_strerror(err));
		goto done;
	}
	did_key_encode(DID_ED25519, k.pk, did, sizeof did);
	hex_encode(k.pk, 32, pkhex);
	if (json) {
		struct json_object *o = json_object_new_object();
		json_object_object_add(o, "did", json_object_new_string(did));
		json_object_object_add(o, "public_key", json_object_new_string(pkhex));
		uint8_t wpriv[32], wpub[32];
		char wghex[65];
		node_key_wireguard(&k, wpriv, wpub);
		crypto_wipe(wpriv, sizeof wpriv);
		hex_encode(wpub, 32, wghex);
		json_object_object_add(o, "wireguard_public_key", json_object_new_string(wghex));
		json_object_object_add(o, "file", out ? json_object_new_string(out) : NULL);
		printf("%s\n", json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
		json_object_put(o);
	} else {
		printf("%s\n", did);
		if (!out && !seed_hex && !show)
			fprintf(stderr, "mirrornetctl: note: key not saved (use --out FILE)\n");
	}
	rc = CTL_OK;
done:
	node_key_wipe(&k);
	return rc;
}
