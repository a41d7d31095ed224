/*
 * hash.c: SHA-256, double SHA-256 and HASH160 through OpenSSL.
 */
#include "hn/hash.h"

#include <openssl/evp.h>
#include <openssl/sha.h>

#include "hn/err.h"

void hn_sha256(const void *data, size_t len, uint8_t out[32])
{
	SHA256(data, len, out);
}

void hn_sha256d(const void *data, size_t len, uint8_t out[32])
{
	uint8_t tmp[32];

	SHA256(data, len, tmp);
	SHA256(tmp, sizeof(tmp), out);
}

int hn_hash160(const void *data, size_t len, uint8_t out[20])
{
	uint8_t sha[32];
	unsigned int n = 0;

	SHA256(data, len, sha);
	if (!EVP_Digest(sha, sizeof(sha), out, &n, EVP_ripemd160(), NULL) ||
	    n != 20)
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
