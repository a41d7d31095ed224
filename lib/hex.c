/*
 * hex.c: lowercase hex encoding and strict decoding.
 */
#include "hn/hex.h"

#include <string.h>

#include "hn/err.h"

int hn_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";
	size_t i;

	for (i = 0; i < n; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 0xf];
	}
	out[2 * n] = '\0';
	return 0;
}

static int nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int hn_hex_decode_n(const char *hex, size_t len, uint8_t *out, size_t outcap,
		    size_t *outlen)
{
	size_t i;

	if (len % 2)
		return HN_EPARSE;
	for (i = 0; i < len; i++)
		if (nibble(hex[i]) < 0)
			return HN_EPARSE;
	if (len / 2 > outcap)
		return HN_ERANGE;
	for (i = 0; i < len / 2; i++)
		out[i] = (uint8_t)(nibble(hex[2 * i]) << 4 |
				   nibble(hex[2 * i + 1]));
	if (outlen)
		*outlen = len / 2;
	return 0;
}

int hn_hex_decode(const char *hex, uint8_t *out, size_t outcap, size_t *outlen)
{
	return hn_hex_decode_n(hex, strlen(hex), out, outcap, outlen);
}

int hn_hex_to_hash(const char *hex, uint8_t out[32])
{
	if (strlen(hex) != 64)
		return HN_EPARSE;
	return hn_hex_decode_n(hex, 64, out, 32, NULL);
}
