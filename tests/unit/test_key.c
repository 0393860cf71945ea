/* Node keys: generation, the key file format, save/load and its file
 * system rules. Runs in a private mkdtemp directory. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tests/check.h"
#include "crypto/crypto.h"
#include "crypto/key.h"
#include "proto/hex.h"

#define HDR "mirrornet-ed25519-seed-v1\n"
#define HEX0 "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"

static char dir[256];

static void path_in(char *out, size_t cap, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", dir, name);

	if (n < 0 || (size_t)n >= cap)
		abort();
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= b[i];
	return acc == 0;
}

/* Read a whole small file; returns its length or -1. */
static ssize_t slurp(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, cap);
	close(fd);
	return n;
}

static int spew(const char *path, const char *buf, size_t n, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	ssize_t w;

	if (fd < 0)
		return -1;
	w = write(fd, buf, n);
	close(fd);
	return w == (ssize_t)n ? 0 : -1;
}

/* Entries in dir other than . and .. */
static int count_entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void test_generate_wipe(void)
{
	struct node_key a, b;

	CHECK_INT(node_key_generate(&a), 0);
	CHECK_INT(node_key_generate(&b), 0);
	CHECK(memcmp(a.sk, b.sk, 32) != 0);
	CHECK(!all_zero(a.sk, 32));
	CHECK_MEM(a.sk + 32, a.pk, 32);
	node_key_wipe(&a);
	CHECK(all_zero(&a, sizeof a));
	node_key_wipe(NULL);
	CHECK_INT(node_key_generate(NULL), CRYPTO_ERR_ARG);
	CHECK_INT(node_key_from_seed(NULL, b.sk), CRYPTO_ERR_ARG);
	CHECK_INT(node_key_from_seed(&a, NULL), CRYPTO_ERR_ARG);
	node_key_wipe(&b);
}

static void test_save_load(void)
{
	char path[512], buf[256], before[256];
	struct node_key k, k2, got;
	struct stat st;
	bool insecure = true;
	uint8_t seed[32];
	ssize_t n, nb;
	mode_t old;

	path_in(path, sizeof path, "node.key");
	CHECK_INT(node_key_generate(&k), 0);
	old = umask(0);
	CHECK_INT(node_key_save(&k, path), 0);
	umask(old);
	CHECK_INT(lstat(path, &st), 0);
	CHECK(S_ISREG(st.st_mode));
	CHECK_INT(st.st_mode & 07777, 0600);
	CHECK_INT(count_entries(), 1);

	memset(&got, 0x55, sizeof got);
	CHECK_INT(node_key_load(&got, path, &insecure), 0);
	CHECK(!insecure);
	CHECK_MEM(got.pk, k.pk, 32);
	CHECK_MEM(got.sk, k.sk, 64);

	/* refuses to overwrite, leaves the file as it was, no temp left */
	nb = slurp(path, before, sizeof before);
	CHECK_INT(nb, NODE_KEY_FILE_LEN);
	CHECK_INT(node_key_generate(&k2), 0);
	CHECK_INT(node_key_save(&k2, path), CRYPTO_ERR_EXISTS);
	n = slurp(path, buf, sizeof buf);
	CHECK_INT(n, nb);
	CHECK(n == nb && nb > 0 && memcmp(buf, before, (size_t)nb) == 0);
	CHECK_INT(count_entries(), 1);

	/* world-readable: loaded, but reported */
	CHECK_INT(chmod(path, 0644), 0);
	insecure = false;
	CHECK_INT(node_key_load(&got, path, &insecure), 0);
	CHECK(insecure);
	CHECK_MEM(got.sk, k.sk, 64);
	CHECK_INT(chmod(path, 0640), 0);
	insecure = false;
	CHECK_INT(node_key_load(&got, path, &insecure), 0);
	CHECK(insecure);
	CHECK_INT(chmod(path, 0600), 0);
	CHECK_INT(node_key_load(&got, path, NULL), 0);
	CHECK_INT(unlink(path), 0);

	/* the exact bytes written for a known seed */
	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	CHECK_INT(node_key_from_seed(&k, seed), 0);
	CHECK_INT(node_key_save(&k, path), 0);
	n = slurp(path, buf, sizeof buf);
	CHECK_INT(n, NODE_KEY_FILE_LEN);
	CHECK(n == NODE_KEY_FILE_LEN && memcmp(buf, HDR HEX0 "\n", NODE_KEY_FILE_LEN) == 0);
	CHECK_INT(unlink(path), 0);

	/* a path relative to the working directory */
	char cwd[4096];
	CHECK(getcwd(cwd, sizeof cwd) != NULL);
	CHECK_INT(chdir(dir), 0);
	CHECK_INT(node_key_save(&k, "rel.key"), 0);
	CHECK_INT(node_key_load(&got, "rel.key", NULL), 0);
	CHECK_MEM(got.sk, seed, 32);
	CHECK_INT(unlink("rel.key"), 0);
	CHECK_INT(chdir(cwd), 0);

	node_key_wipe(&k);
	node_key_wipe(&k2);
	node_key_wipe(&got);
}

static void test_save_errors(void)
{
	char path[512], target[512];
	struct node_key k;
	static char longpath[8192];

	CHECK_INT(node_key_generate(&k), 0);

	/* missing directory */
	path_in(path, sizeof path, "nodir/node.key");
	errno = 0;
	CHECK_INT(node_key_save(&k, path), CRYPTO_ERR_IO);
	CHECK_INT(errno, ENOENT);

	/* a dangling symlink is not replaced either */
	path_in(path, sizeof path, "dangling.key");
	path_in(target, sizeof target, "elsewhere.key");
	CHECK_INT(symlink(target, path), 0);
	CHECK_INT(node_key_save(&k, path), CRYPTO_ERR_EXISTS);
	CHECK_INT(access(target, F_OK), -1);
	CHECK_INT(unlink(path), 0);

	/* path longer than PATH_MAX */
	memset(longpath, 'a', sizeof longpath - 1);
	errno = 0;
	CHECK_INT(node_key_save(&k, longpath), CRYPTO_ERR_IO);
	CHECK_INT(errno, ENAMETOOLONG);

	CHECK_INT(node_key_save(NULL, path), CRYPTO_ERR_ARG);
	CHECK_INT(node_key_save(&k, NULL), CRYPTO_ERR_ARG);
	CHECK_INT(node_key_save(&k, ""), CRYPTO_ERR_ARG);
	CHECK_INT(count_entries(), 0);
	node_key_wipe(&k);
}

static void test_load_errors(void)
{
	char path[512], link_path[512], big[4096];
	struct node_key k, got;
	bool insecure = true;

	/* missing */
	path_in(path, sizeof path, "missing.key");
	memset(&got, 0x55, sizeof got);
	errno = 0;
	CHECK_INT(node_key_load(&got, path, &insecure), CRYPTO_ERR_IO);
	CHECK_INT(errno, ENOENT);
	CHECK(!insecure);
	CHECK(all_zero(&got, sizeof got));

	/* a symlink to a valid key file is refused */
	CHECK_INT(node_key_generate(&k), 0);
	path_in(path, sizeof path, "real.key");
	path_in(link_path, sizeof link_path, "link.key");
	CHECK_INT(node_key_save(&k, path), 0);
	CHECK_INT(symlink(path, link_path), 0);
	errno = 0;
	CHECK_INT(node_key_load(&got, link_path, NULL), CRYPTO_ERR_IO);
	CHECK_INT(errno, ELOOP);
	CHECK_INT(unlink(link_path), 0);
	CHECK_INT(unlink(path), 0);

	/* a directory */
	errno = 0;
	CHECK_INT(node_key_load(&got, dir, NULL), CRYPTO_ERR_IO);
	CHECK_INT(errno, EISDIR);

	/* a FIFO: refused without blocking */
	path_in(path, sizeof path, "fifo.key");
	CHECK_INT(mkfifo(path, 0600), 0);
	errno = 0;
	CHECK_INT(node_key_load(&got, path, NULL), CRYPTO_ERR_IO);
	CHECK_INT(errno, EINVAL);
	CHECK_INT(unlink(path), 0);

	/* too long: a valid file followed by more */
	path_in(path, sizeof path, "big.key");
	memset(big, '\n', sizeof big);
	memcpy(big, HDR HEX0 "\n", NODE_KEY_FILE_LEN);
	CHECK_INT(spew(path, big, sizeof big, 0600), 0);
	memset(&got, 0x55, sizeof got);
	CHECK_INT(node_key_load(&got, path, NULL), CRYPTO_ERR_FORMAT);
	CHECK(all_zero(&got, sizeof got));
	/* the same file cut to its valid length loads */
	CHECK_INT(truncate(path, NODE_KEY_FILE_LEN), 0);
	CHECK_INT(node_key_load(&got, path, NULL), 0);
	CHECK_INT(unlink(path), 0);

	CHECK_INT(node_key_load(NULL, path, NULL), CRYPTO_ERR_ARG);
	CHECK_INT(node_key_load(&got, NULL, NULL), CRYPTO_ERR_ARG);
	CHECK_INT(count_entries(), 0);
	node_key_wipe(&k);
	node_key_wipe(&got);
}

static void test_parse(void)
{
	static const struct {
		const char *name;
		const char *text;
		size_t len;     /* 0: strlen(text) */
	} bad[] = {
		{ "empty", "", 0 },
		{ "header only", HDR, 0 },
		{ "wrong header", "mirrornet-ed25519-seed-v2\n" HEX0 "\n", 0 },
		{ "header case", "Mirrornet-ed25519-seed-v1\n" HEX0 "\n", 0 },
		{ "no header", HEX0 "\n", 0 },
		{ "short hex", HDR "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1\n", 0 },
		{ "long hex", HDR HEX0 "0\n", 0 },
		{ "long hex 2", HDR HEX0 "00\n", 0 },
		{ "non-hex g", HDR "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1g\n", 0 },
		{ "non-hex space", HDR "000102030405060708090a0b0c0d0e0f 01112131415161718191a1b1c1d1e1f\n", 0 },
		{ "non-hex colon", HDR "000102030405060708090a0b0c0d0e0f:01112131415161718191a1b1c1d1e1f\n", 0 },
		{ "upper-case hex", HDR "000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F\n", 0 },
		{ "0x prefix", HDR "0x0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n", 0 },
		{ "missing newline", HDR HEX0, 0 },
		{ "extra newline", HDR HEX0 "\n\n", 0 },
		{ "extra line", HDR HEX0 "\ncomment\n", 0 },
		{ "CRLF", "mirrornet-ed25519-seed-v1\r\n" HEX0 "\r\n", 0 },
		{ "CR at end", HDR HEX0 "\r", 0 },
		{ "leading blank line", "\n" HDR HEX0 "\n", 0 },
		{ "leading space", " " HDR HEX0, 0 },
		{ "trailing space", HDR HEX0 " ", 0 },
		{ "NUL at end", HDR HEX0 "\0", NODE_KEY_FILE_LEN },
		{ "NUL in hex", HDR "000102030405060708090a0b0c0d0e0f\0" "01112131415161718191a1b1c1d1e1f\n",
		  NODE_KEY_FILE_LEN },
		{ "high byte in hex", HDR "000102030405060708090a0b0c0d0e0f\xb0" "01112131415161718191a1b1c1d1e1f\n", 0 },
	};
	struct node_key k, want;
	uint8_t seed[32];

	for (int i = 0; i < 32; i++)
		seed[i] = (uint8_t)i;
	CHECK_INT(node_key_from_seed(&want, seed), 0);
	CHECK_INT(node_key_parse(&k, HDR HEX0 "\n", NODE_KEY_FILE_LEN), 0);
	CHECK_MEM(k.pk, want.pk, 32);
	CHECK_MEM(k.sk, want.sk, 64);

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		size_t len = bad[i].len ? bad[i].len : strlen(bad[i].text);
		int err;

		memset(&k, 0x55, sizeof k);
		err = node_key_parse(&k, bad[i].text, len);
		if (err != CRYPTO_ERR_FORMAT)
			fprintf(stderr, "accepted bad key file: %s\n", bad[i].name);
		CHECK_INT(err, CRYPTO_ERR_FORMAT);
		CHECK(all_zero(&k, sizeof k));
	}
	/* each byte value in the hex, at positions covering both nibbles */
	for (int c = 0; c < 256; c++) {
		char text[NODE_KEY_FILE_LEN];
		bool lower_hex = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');

		memcpy(text, HDR HEX0 "\n", NODE_KEY_FILE_LEN);
		text[sizeof(HDR) - 1 + (size_t)(c % 64)] = (char)c;
		CHECK_INT(node_key_parse(&k, text, sizeof text), lower_hex ? 0 : CRYPTO_ERR_FORMAT);
	}
	CHECK_INT(node_key_parse(&k, NULL, 0), CRYPTO_ERR_FORMAT);
	CHECK_INT(node_key_parse(NULL, HDR HEX0 "\n", NODE_KEY_FILE_LEN), CRYPTO_ERR_ARG);
	node_key_wipe(&k);
	node_key_wipe(&want);
}

/* Parse a random seed written as the save format does. */
static void test_parse_random(void)
{
	for (int i = 0; i < 100; i++) {
		char text[NODE_KEY_FILE_LEN + 1];
		uint8_t seed[32];
		struct node_key k, want;

		crypto_random(seed, sizeof seed);
		memcpy(text, HDR, sizeof(HDR) - 1);
		hex_encode(seed, 32, text + sizeof(HDR) - 1);
		text[NODE_KEY_FILE_LEN - 1] = '\n';
		CHECK_INT(node_key_from_seed(&want, seed), 0);
		CHECK_INT(node_key_parse(&k, text, NODE_KEY_FILE_LEN), 0);
		CHECK_MEM(k.sk, want.sk, 64);
	}
}

int main(void)
{
	if (crypto_init() < 0) {
		fprintf(stderr, "crypto_init failed\n");
		return 1;
	}
	const char *tmp = getenv("TMPDIR");
	int n = snprintf(dir, sizeof dir, "%s/mn-test-key-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (n < 0 || (size_t)n >= sizeof dir || !mkdtemp(dir)) {
		perror("mkdtemp");
		return 1;
	}
	test_generate_wipe();
	test_save_load();
	test_save_errors();
	test_load_errors();
	test_parse();
	test_parse_random();
	CHECK_INT(count_entries(), 0);
	CHECK_INT(rmdir(dir), 0);
	return check_exit();
}
