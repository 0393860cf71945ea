/* Fuzz target: invite_token_parse(), the invitation token text a joiner
 * is handed (command line, --invite-file, the .ipk), and the msgpack
 * token under it (schema_decode with invite_token_schema). Each input is
 * tried both ways: as text (copied into a heap buffer of exactly size + 1
 * bytes and NUL-terminated, so ASan sees an over-read) and as the binary
 * token. Inputs over 2048 bytes are skipped.
 *
 * Properties checked (abort() on violation):
 *   - text: an accepted token formats back to exactly the input without
 *     the surrounding blanks (canonical: one spelling per token); the
 *     output fits a buffer of exactly that size, one byte less is
 *     -ENOSPC; the formatted text parses to a memcmp-equal token;
 *   - text: a refused input leaves -EINVAL, a non-empty message and a
 *     zeroed token;
 *   - binary: an accepted token re-encodes to the input bytes; it formats
 *     to text that parses back to the same token, or the format refuses
 *     it as too long (-EMSGSIZE): the encoder never makes a token the
 *     parser refuses. */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "crypto/crypto.h"
#include "crypto/invite.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define INPUT_MAX_BYTES 2048

__attribute__((noreturn)) static void fail(const char *what)
{
	fprintf(stderr, "fuzz_invite: property violated: %s\n", what);
	abort();
}

static bool blank(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void check_text(const uint8_t *data, size_t size)
{
	static const struct invite_token zero;
	static struct invite_token t, u;
	char err[256] = "";
	char *text = malloc(size + 1);

	if (!text)
		abort();
	memcpy(text, data, size);
	text[size] = 0;
	memset(&t, 0x5a, sizeof t);
	int rc = invite_token_parse(text, &t, err, sizeof err);
	if (rc != 0) {
		if (rc != -EINVAL)
			fail("parse returned something other than 0 or -EINVAL");
		if (!err[0])
			fail("a refused token without a message");
		if (memcmp(&t, &zero, sizeof t) != 0)
			fail("a refused token left data behind");
		free(text);
		return;
	}

	/* the input as parse sees it: up to the first NUL, blanks trimmed */
	const char *s = text;
	size_t len;
	while (blank(*s))
		s++;
	len = strlen(s);
	while (len && blank(s[len - 1]))
		len--;

	char *exact = malloc(len + 1), *small = malloc(len);
	if (!exact || !small)
		abort();
	if (invite_token_format(&t, exact, len + 1) != 0)
		fail("an accepted token does not format into a buffer of its size");
	if (strlen(exact) != len || memcmp(exact, s, len) != 0)
		fail("an accepted token formats to other text (not canonical)");
	if (invite_token_format(&t, small, len) != -ENOSPC)
		fail("format into a buffer one byte too small did not give -ENOSPC");
	memset(&u, 0xa5, sizeof u);
	if (invite_token_parse(exact, &u, err, sizeof err) != 0 || memcmp(&t, &u, sizeof t) != 0)
		fail("the formatted token does not parse to the same token");
	free(small);
	free(exact);
	free(text);
}

static void check_binary(const uint8_t *data, size_t size)
{
	static struct invite_token t, u;
	static uint8_t bin[INPUT_MAX_BYTES];
	static char text[INPUT_MAX_BYTES * 2];
	char err[256] = "";
	size_t n;

	if (schema_decode(&invite_token_schema, data, size, &t) != 0)
		return;
	if (schema_encode(&invite_token_schema, &t, bin, sizeof bin, &n) != 0)
		fail("schema_encode refused a decoded token");
	if (n != size || memcmp(bin, data, size) != 0)
		fail("a decoded token re-encodes to other bytes (not canonical)");
	int rc = invite_token_format(&t, text, sizeof text);
	if (rc == -EMSGSIZE)
		return;
	if (rc != 0)
		fail("a valid token does not format (other than too long)");
	if (strlen(text) > strlen(INVITE_SCHEME) + INVITE_TEXT_MAX)
		fail("format made a token longer than INVITE_TEXT_MAX");
	memset(&u, 0xa5, sizeof u);
	if (invite_token_parse(text, &u, err, sizeof err) != 0)
		fail("format made a token that does not parse");
	if (memcmp(&t, &u, sizeof t) != 0)
		fail("the formatted token parses to another token");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (crypto_init() != 0)
		abort();
	if (size > INPUT_MAX_BYTES)
		return 0;
	check_text(data, size);
	check_binary(data, size);
	return 0;
}
