/*
 * b64.c: standard base64 with padding, using OpenSSL's EVP block coder.
 * EVP_DecodeBlock() ignores padding in its length, so we check the input
 * shape ourselves and subtract the padding.
 */
#include "hn/b64.h"

#include <stdlib.h>
#include <stdbool.h>
#include <string.h>

#include <openssl/evp.h>

#include "hn/err.h"

char *hn_b64_encode(const uint8_t *in, size_t n)
{
	size_t outlen = 4 * ((n + 2) / 3);
	char *out;

	if (n > (size_t)INT32_MAX)
		return NULL;
	out = malloc(outlen + 1);
	if (!out)
		return NULL;
	if (n)
		EVP_EncodeBlock((unsigned char *)out, in, (int)n);
	out[outlen] = '\0';
	return out;
}

static bool b64_char(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
	       (c >= '0' && c <= '9') || c == '+' || c == '/';
}

int hn_b64_decode(const char *b64, uint8_t **out, size_t *outlen)
{
	size_t len = strlen(b64), pad = 0, i;
	uint8_t *buf;
	int n;

	if (len % 4 || len > (size_t)INT32_MAX)
		return HN_EPARSE;
	if (len && b64[len - 1] == '=')
		pad++;
	if (len > 1 && b64[len - 2] == '=')
		pad++;
	for (i = 0; i < len - pad; i++)
		if (!b64_char(b64[i]))
			return HN_EPARSE;
	buf = malloc(len / 4 * 3 + 1);
	if (!buf)
		return HN_ENOMEM;
	if (len) {
		n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len);
		if (n < 0 || (size_t)n < pad) {
			free(buf);
			return HN_EPARSE;
		}
		*outlen = (size_t)n - pad;
	} else {
		*outlen = 0;
	}
	*out = buf;
	return 0;
}
