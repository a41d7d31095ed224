/*
 * hn/hash.h: SHA-256 helpers (OpenSSL).
 *
 * Byte order: Hathor vertex hashes are sha256d(...) with the 32 bytes
 * reversed; that reversed form is what the reference node stores, puts in
 * parents/inputs on the wire and prints.  Every hash[32] in this project is
 * kept in that display order, so hn_hex_encode() of it prints what the
 * reference prints.
 */
#ifndef HN_HASH_H
#define HN_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HN_HASH_LEN 32

/* out = SHA256(data) */
void hn_sha256(const void *data, size_t len, uint8_t out[32]);

/* out = SHA256(SHA256(data)), not reversed. */
void hn_sha256d(const void *data, size_t len, uint8_t out[32]);

/* RIPEMD160(SHA256(data)), the 20 bytes used in P2PKH addresses. */
int hn_hash160(const void *data, size_t len, uint8_t out[20]);

/* Reverses @n bytes in place. */
void hn_bytes_reverse(uint8_t *buf, size_t n);

#endif /* HN_HASH_H */
