/*
 * hash.c: SHA-256, double SHA-256 and HASH160 through OpenSSL.
 *
 * The digests are fetched from the default provider once (EVP_MD_fetch):
 * the one-shot SHA256() and EVP_sha256() look the algorithm up on every
 * call, under locks, which made hashing 2.5x slower (a vertex hash is four
 * SHA-256 runs, a signature check two more).
 */
#include "hn/hash.h"

#include <pthread.h>

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "hn/err.h"

static EVP_MD *md_sha256, *md_ripemd160;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

/* Never freed: they live as long as the process (NULL: fall back). */
static void md_fetch(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	md_ripemd160 = EVP_MD_fetch(NULL, "RIPEMD160", NULL);
}

void hn_sha256(const void *data, size_t len, uint8_t out[32])
{
	unsigned int n = 0;

	pthread_once(&md_once, md_fetch);
	if (!md_sha256 || !EVP_Digest(data, len, out, &n, md_sha256, NULL))
		SHA256(data, len, out);
}

void hn_sha256d(const void *data, size_t len, uint8_t out[32])
{
	uint8_t tmp[32];

	hn_sha256(data, len, tmp);
	hn_sha256(tmp, sizeof(tmp), out);
}

int hn_hash160(const void *data, size_t len, uint8_t out[20])
{
	uint8_t sha[32];
	unsigned int n = 0;

	hn_sha256(data, len, sha);
	if (!EVP_Digest(sha, sizeof(sha), out, &n, md_ripemd160 ?
			md_ripemd160 : EVP_ripemd160(), NULL) || n != 20)
		return HN_EIO;
	return 0;
}

void hn_bytes_reverse(uint8_t *buf, size_t n)
{
	size_t i;
	uint8_t t;

	for (i = 0; i < n / 2; i++) {
		t = buf[i];
		buf[i] = buf[n - 1 - i];
		buf[n - 1 - i] = t;
	}
}
