/* Lower-case hex for keys and ids in record keys, file names and output.
 * Keys are public here; secret material is hex-coded by crypto/ in
 * constant time. */
#ifndef MN_HEX_H
#define MN_HEX_H
#include <stddef.h>
#include <stdint.h>

/* out must hold 2*n+1 bytes; always NUL-terminates. */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* Exactly 2*n hex digits (either case) → n bytes; 0 or PROTO_ERR_VALUE. */
int hex_decode(const char *in, uint8_t *out, size_t n);

#endif
