/*
 * hn/hex.h: lowercase hexadecimal encoding.
 *
 * Hashes are printed as 64 lower-case hex digits of their 32 bytes in the
 * order stored (our hashes are stored in the order the reference node
 * displays, see hn/hash.h).
 */
#ifndef HN_HEX_H
#define HN_HEX_H

#include <stddef.h>
#include <stdint.h>

/* Writes 2*@n lowercase hex digits and a NUL to @out (2n+1 bytes).
 * Returns 0. */
int hn_hex_encode(const uint8_t *in, size_t n, char *out);

/* Decodes the NUL-terminated @hex (upper or lower case, even length, no
 * spaces or prefix) into @out.  Sets *@outlen (may be NULL) to the number of
 * bytes written.  Returns 0, HN_EPARSE on a bad digit or odd length, or
 * HN_ERANGE if the result would not fit in @outcap bytes. */
int hn_hex_decode(const char *hex, uint8_t *out, size_t outcap, size_t *outlen);

/* Like hn_hex_decode() on the first @len characters of @hex, which need not
 * be NUL-terminated. */
int hn_hex_decode_n(const char *hex, size_t len, uint8_t *out, size_t outcap,
		    size_t *outlen);

/* Decodes exactly 64 hex digits into a 32-byte hash.  Returns 0 or
 * HN_EPARSE. */
int hn_hex_to_hash(const char *hex, uint8_t out[32]);

#endif /* HN_HEX_H */
