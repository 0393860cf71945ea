/* Fuzz target: snap_header_decode(), the header of an encrypted backup
 * snapshot (a file pulled from a holder: anyone's bytes until its hash is
 * checked against the owner's record, and a restore may read it first).
 *
 * Properties checked (abort() on violation):
 *   - an accepted header re-encodes to the input's prefix + header byte
 *     for byte (canonical), and *hdr_len <= size;
 *   - its rules hold: a valid name (no '/', no leading '.'), the version,
 *     1.. recipients none twice, chunk and plain size in bounds, so
 *     snap_total_size() cannot overflow;
 *   - on error the struct is zeroed. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "proto/snaphdr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

__attribute__((noreturn)) static void fail(const char *what)
{
	fprintf(stderr, "fuzz_snaphdr: property violated: %s\n", what);
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[SNAP_PREFIX_LEN + SNAP_HEADER_MAX];
	struct snap_header h, zero;
	size_t hl = 0, len;

	memset(&zero, 0, sizeof zero);
	if (snap_header_decode(data, size, &h, &hl) < 0) {
		if (memcmp(&h, &zero, sizeof h) != 0)
			fail("struct not zeroed on error");
		return 0;
	}
	if (hl > size || hl < SNAP_PREFIX_LEN)
		fail("header length outside the input");
	if (!snap_name_ok(h.name) || strchr(h.name, '/') || h.name[0] == '.')
		fail("a bad name accepted");
	if (h.v != SNAP_VERSION || h.n_rcpt < 1 || h.n_rcpt > SNAP_MAX_RECIPIENTS ||
	    h.chunk < SNAP_CHUNK_MIN || h.chunk > SNAP_CHUNK_MAX || h.plain_size > SNAP_MAX_PLAIN)
		fail("a rule broken");
	for (unsigned i = 0; i < h.n_rcpt; i++)
		for (unsigned j = 0; j < i; j++)
			if (!memcmp(h.rcpt[i].pk, h.rcpt[j].pk, 32))
				fail("a recipient twice");
	if (snap_total_size(&h, hl) < h.plain_size)
		fail("total size overflowed");
	if (snap_header_encode(&h, out, sizeof out, &len) < 0)
		fail("an accepted header does not encode");
	if (len != hl || memcmp(out, data, len) != 0)
		fail("not canonical: re-encoding differs");
	return 0;
}
