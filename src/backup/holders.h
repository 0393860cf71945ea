/* Choosing a snapshot's holders (docs/backup.md, "Holders"): rendezvous
 * hashing over the offers, pure — no I/O, no clock. Every box computes
 * the same order for the same offers, and a new offer moves few
 * snapshots: each offer scores BLAKE2b-256(hash ‖ its key), highest first;
 * first one offer per parent (the key above it on its certificate chain)
 * not yet used, then the rest in score order; never the owner, never an
 * offer with less free space than the blob, never a key to skip (holders
 * the snapshot has already). */
#ifndef MN_HOLDERS_H
#define MN_HOLDERS_H
#include <stddef.h>
#include <stdint.h>

struct holder_offer {
	uint8_t pk[32];
	uint8_t parent[32];          /* the key above it (zeros: none known) */
	uint64_t free;               /* bytes it offers now */
};

/* Up to want offers (indexes into offers, in order of choice) in out;
 * returns how many. skip: nskip keys of 32 bytes. offers is not changed. */
size_t holders_choose(const uint8_t hash[32], const uint8_t owner[32], uint64_t size,
		      const struct holder_offer *offers, size_t n, const uint8_t (*skip)[32],
		      size_t nskip, size_t want, size_t *out);

#endif
