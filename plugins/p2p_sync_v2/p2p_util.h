/*
 * p2p_util.h: small containers used by the engine: a set/map of 32-byte
 * hashes (open addressing) and a growable byte buffer.
 */
#ifndef P2P_UTIL_H
#define P2P_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct p2p_hmap_slot {
	uint8_t key[32];
	void *val;
	uint8_t used;           /* 0 empty, 1 used, 2 deleted */
};

/* Map from 32-byte hash to a pointer (NULL allowed; then it is a set).
 * Iteration order is unspecified. */
struct p2p_hmap {
	struct p2p_hmap_slot *slots;
	size_t cap;             /* power of two or 0 */
	size_t n;               /* live entries */
	size_t tomb;            /* deleted slots */
};

void p2p_hmap_init(struct p2p_hmap *m);
void p2p_hmap_release(struct p2p_hmap *m);      /* values are not freed */
void p2p_hmap_clear(struct p2p_hmap *m);
/* Inserts or replaces.  Returns 1 if new, 0 if replaced, HN_ENOMEM. */
int p2p_hmap_put(struct p2p_hmap *m, const uint8_t key[32], void *val);
bool p2p_hmap_has(const struct p2p_hmap *m, const uint8_t key[32]);
/* Value of @key, or NULL (also for a present key mapped to NULL). */
void *p2p_hmap_get(const struct p2p_hmap *m, const uint8_t key[32]);
/* Removes @key; returns its value (or NULL) and sets *@found. */
void *p2p_hmap_del(struct p2p_hmap *m, const uint8_t key[32], bool *found);
/* Iterates: *@pos starts at 0; returns the next slot or NULL. */
struct p2p_hmap_slot *p2p_hmap_next(struct p2p_hmap *m, size_t *pos);

struct p2p_buf {
	uint8_t *data;
	size_t len, cap;
};

void p2p_buf_release(struct p2p_buf *b);
int p2p_buf_append(struct p2p_buf *b, const void *p, size_t n);
int p2p_buf_printf(struct p2p_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int p2p_buf_vprintf(struct p2p_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Lower hex of a 32-byte hash into @out (65 bytes). */
void p2p_hex32(const uint8_t h[32], char out[65]);

#endif /* P2P_UTIL_H */
