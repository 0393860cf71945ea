/* Ed25519 node keys and their key file; see key.h. */
#define _GNU_SOURCE     /* mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sodium.h>
#include "crypto/crypto.h"
#include "crypto/key.h"

#define KEY_HEADER "mirrornet-ed25519-seed-v1\n"
#define KEY_HEADER_LEN (sizeof(KEY_HEADER) - 1)
#define KEY_SEED_HEX 64
/* more than a valid file holds, so a longer file fails to parse */
#define KEY_READ_MAX 128
#define TMP_SUFFIX ".tmp-XXXXXX"

_Static_assert(KEY_HEADER_LEN + KEY_SEED_HEX + 1 == NODE_KEY_FILE_LEN, "key file length");
_Static_assert(KEY_READ_MAX > NODE_KEY_FILE_LEN, "key read bound");

int node_key_from_seed(struct node_key *k, const uint8_t seed[32])
{
	if (!k || !seed)
		return CRYPTO_ERR_ARG;
	if (crypto_sign_ed25519_seed_keypair(k->pk, k->sk, seed) != 0) {
		node_key_wipe(k);
		return CRYPTO_ERR_ARG;
	}
	return 0;
}

int node_key_generate(struct node_key *k)
{
	uint8_t seed[32];
	int err;

	if (!k)
		return CRYPTO_ERR_ARG;
	randombytes_buf(seed, sizeof seed);
	err = node_key_from_seed(k, seed);
	sodium_memzero(seed, sizeof seed);
	return err;
}

void node_key_wipe(struct node_key *k)
{
	if (k)
		sodium_memzero(k, sizeof *k);
}

/* Value of a lower-case hex digit, with no branch or table lookup on c;
 * any other character sets bits in *bad. */
static uint8_t unhex_ct(unsigned char ch, unsigned *bad)
{
	unsigned c = ch;
	unsigned num = c ^ 48U;                 /* '0'..'9' -> 0..9 */
	unsigned num_ok = (num - 10U) >> 8;     /* all ones iff num < 10 */
	unsigned alpha = c - 87U;               /* 'a'..'f' -> 10..15 */
	unsigned alpha_ok = ((alpha - 10U) ^ (alpha - 16U)) >> 8;

	*bad |= ~(num_ok | alpha_ok) & 0xffU;
	return (uint8_t)((num_ok & num) | (alpha_ok & alpha));
}

int node_key_parse(struct node_key *k, const char *buf, size_t len)
{
	uint8_t seed[32];
	const char *hex;
	unsigned bad = 0;
	int err;

	if (!k)
		return CRYPTO_ERR_ARG;
	if (!buf || len != NODE_KEY_FILE_LEN || memcmp(buf, KEY_HEADER, KEY_HEADER_LEN) != 0 ||
	    buf[len - 1] != '\n') {
		node_key_wipe(k);
		return CRYPTO_ERR_FORMAT;
	}
	hex = buf + KEY_HEADER_LEN;
	for (size_t i = 0; i < sizeof seed; i++) {
		uint8_t hi = unhex_ct((unsigned char)hex[2 * i], &bad);
		uint8_t lo = unhex_ct((unsigned char)hex[2 * i + 1], &bad);

		seed[i] = (uint8_t)(hi << 4 | lo);
	}
	if (bad) {
		node_key_wipe(k);
		err = CRYPTO_ERR_FORMAT;
	} else {
		err = node_key_from_seed(k, seed);
	}
	sodium_memzero(seed, sizeof seed);
	return err;
}

static int write_all(int fd, const char *p, size_t n)
{
	while (n) {
		ssize_t r = write(fd, p, n);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* fsync the directory holding path; a directory that cannot be synced
 * (EINVAL) counts as synced. */
static int sync_parent(const char *path)
{
	char dir[PATH_MAX];
	const char *slash = strrchr(path, '/');
	size_t n;
	int fd, r, saved;

	if (!slash) {
		memcpy(dir, ".", 2);
	} else {
		n = slash == path ? 1 : (size_t)(slash - path);
		if (n >= sizeof dir) {
			errno = ENAMETOOLONG;
			return -1;
		}
		memcpy(dir, path, n);
		dir[n] = 0;
	}
	fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	r = fsync(fd);
	if (r < 0 && errno == EINVAL)
		r = 0;
	saved = errno;
	close(fd);
	errno = saved;
	return r;
}

int node_key_save(const struct node_key *k, const char *path)
{
	char text[NODE_KEY_FILE_LEN + 1];       /* sodium_bin2hex adds a NUL */
	char tmp[PATH_MAX];
	size_t plen;
	bool have_tmp = false;
	int fd = -1, err, saved;

	if (!k || !path || !*path)
		return CRYPTO_ERR_ARG;
	plen = strlen(path);
	if (plen > sizeof tmp - sizeof TMP_SUFFIX) {
		errno = ENAMETOOLONG;
		return CRYPTO_ERR_IO;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, TMP_SUFFIX, sizeof TMP_SUFFIX);

	memcpy(text, KEY_HEADER, KEY_HEADER_LEN);
	sodium_bin2hex(text + KEY_HEADER_LEN, KEY_SEED_HEX + 1, k->sk, 32);
	text[NODE_KEY_FILE_LEN - 1] = '\n';

	err = CRYPTO_ERR_IO;
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		goto out;
	have_tmp = true;
	if (fchmod(fd, 0600) < 0 || write_all(fd, text, NODE_KEY_FILE_LEN) < 0 || fsync(fd) < 0)
		goto out;
	if (close(fd) < 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	if (link(tmp, path) < 0) {
		if (errno == EEXIST)
			err = CRYPTO_ERR_EXISTS;
		goto out;
	}
	if (unlink(tmp) < 0)
		goto out;
	have_tmp = false;
	if (sync_parent(path) < 0)
		goto out;
	err = 0;
out:
	saved = errno;
	sodium_memzero(text, sizeof text);
	if (fd >= 0)
		close(fd);
	if (have_tmp)
		unlink(tmp);
	errno = saved;
	return err;
}

int node_key_load(struct node_key *k, const char *path, bool *insecure)
{
	char buf[KEY_READ_MAX];
	size_t len = 0;
	struct stat st;
	int fd, err, saved;

	if (insecure)
		*insecure = false;
	if (!k)
		return CRYPTO_ERR_ARG;
	if (!path) {
		node_key_wipe(k);
		return CRYPTO_ERR_ARG;
	}
	/* O_NONBLOCK: a FIFO planted at path must not hang us */
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		node_key_wipe(k);
		return CRYPTO_ERR_IO;
	}
	err = CRYPTO_ERR_IO;
	if (fstat(fd, &st) < 0)
		goto out;
	if (!S_ISREG(st.st_mode)) {
		errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		goto out;
	}
	if (insecure)
		*insecure = (st.st_mode & 077) != 0;
	while (len < sizeof buf) {
		ssize_t r = read(fd, buf + len, sizeof buf - len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto out;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	err = node_key_parse(k, buf, len);
out:
	saved = errno;
	sodium_memzero(buf, sizeof buf);
	close(fd);
	if (err < 0)
		node_key_wipe(k);
	errno = saved;
	return err;
}

void x25519_public(const uint8_t priv[32], uint8_t pub[32])
{
	crypto_scalarmult_curve25519_base(pub, priv);
}

void node_key_wireguard(const struct node_key *k, uint8_t priv[32], uint8_t pub[32])
{
	static const char label[] = "mirrornet/v1/wireguard";

	/* k->sk starts with the 32-byte seed */
	crypto_generichash(priv, 32, (const unsigned char *)label, sizeof label - 1, k->sk, 32);
	priv[0] &= 248;
	priv[31] &= 127;
	priv[31] |= 64;
	x25519_public(priv, pub);
}
