/*
 * hn/b64.h: standard base64 (RFC 4648, with '=' padding), via OpenSSL.
 */
#ifndef HN_B64_H
#define HN_B64_H

#include <stddef.h>
#include <stdint.h>

/* Returns a malloc'd NUL-terminated encoding of @n bytes (caller frees),
 * or NULL when out of memory.  @in may be NULL when @n is 0. */
char *hn_b64_encode(const uint8_t *in, size_t n);

/* Decodes the NUL-terminated @b64 (no whitespace; padding required).  On
 * success *@out is a malloc'd buffer (caller frees; non-NULL even for empty
 * input) of *@outlen bytes.  Returns 0, HN_EPARSE on malformed input, or
 * HN_ENOMEM.  On failure *@out is untouched. */
int hn_b64_decode(const char *b64, uint8_t **out, size_t *outlen);

#endif /* HN_B64_H */
