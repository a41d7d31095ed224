/*
 * p2p_util.c: hash map of 32-byte keys and a byte buffer (p2p_util.h).
 * Keys are hashes already, so the first 8 bytes are the bucket hash.
 */
#include "p2p_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hn/err.h"
#include "hn/hex.h"

void p2p_hmap_init(struct p2p_hmap *m)
{
	memset(m, 0, sizeof(*m));
}

void p2p_hmap_release(struct p2p_hmap *m)
{
	free(m->slots);
	memset(m, 0, sizeof(*m));
}

void p2p_hmap_clear(struct p2p_hmap *m)
{
	if (m->slots)
		memset(m->slots, 0, m->cap * sizeof(*m->slots));
	m->n = m->tomb = 0;
}

static size_t hkey(const uint8_t key[32])
{
	uint64_t h;

	memcpy(&h, key + 4, sizeof(h));
	h ^= h >> 29;
	h *= 0xbf58476d1ce4e5b9ULL;
	h ^= h >> 32;
	return (size_t)h;
}

static struct p2p_hmap_slot *find(const struct p2p_hmap *m,
				  const uint8_t key[32])
{
	size_t mask, i;

	if (!m->cap)
		return NULL;
	mask = m->cap - 1;
	for (i = hkey(key) & mask;; i = (i + 1) & mask) {
		struct p2p_hmap_slot *s = &m->slots[i];

		if (s->used == 0)
			return NULL;
		if (s->used == 1 && memcmp(s->key, key, 32) == 0)
			return s;
	}
}

static int grow(struct p2p_hmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 16, i;
	struct p2p_hmap_slot *old = m->slots, *ns;
	size_t ocap = m->cap;

	if (m->n * 2 < m->cap)
		ncap = m->cap;  /* only tombstones: rehash in place size */
	ns = calloc(ncap, sizeof(*ns));
	if (!ns)
		return HN_ENOMEM;
	m->slots = ns;
	m->cap = ncap;
	m->n = m->tomb = 0;
	for (i = 0; i < ocap; i++) {
		if (old[i].used == 1) {
			size_t mask = ncap - 1, j;

			for (j = hkey(old[i].key) & mask; ns[j].used;
			     j = (j + 1) & mask)
				;
			ns[j] = old[i];
			m->n++;
		}
	}
	free(old);
	return 0;
}

int p2p_hmap_put(struct p2p_hmap *m, const uint8_t key[32], void *val)
{
	struct p2p_hmap_slot *s = find(m, key);
	size_t mask, i;

	if (s) {
		s->val = val;
		return 0;
	}
	if ((m->n + m->tomb + 1) * 4 >= m->cap * 3) {
		int rc = grow(m);

		if (rc < 0)
			return rc;
	}
	mask = m->cap - 1;
	for (i = hkey(key) & mask; m->slots[i].used == 1; i = (i + 1) & mask)
		;
	s = &m->slots[i];
	if (s->used == 2)
		m->tomb--;
	memcpy(s->key, key, 32);
	s->val = val;
	s->used = 1;
	m->n++;
	return 1;
}

bool p2p_hmap_has(const struct p2p_hmap *m, const uint8_t key[32])
{
	return find(m, key) != NULL;
}

void *p2p_hmap_get(const struct p2p_hmap *m, const uint8_t key[32])
{
	struct p2p_hmap_slot *s = find(m, key);

	return s ? s->val : NULL;
}

void *p2p_hmap_del(struct p2p_hmap *m, const uint8_t key[32], bool *found)
{
	struct p2p_hmap_slot *s = find(m, key);
	void *v;

	if (found)
		*found = s != NULL;
	if (!s)
		return NULL;
	v = s->val;
	s->used = 2;
	s->val = NULL;
	m->n--;
	m->tomb++;
	return v;
}

struct p2p_hmap_slot *p2p_hmap_next(struct p2p_hmap *m, size_t *pos)
{
	while (*pos < m->cap) {
		struct p2p_hmap_slot *s = &m->slots[(*pos)++];

		if (s->used == 1)
			return s;
	}
	return NULL;
}

void p2p_buf_release(struct p2p_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

static int reserve(struct p2p_buf *b, size_t n)
{
	size_t ncap;
	uint8_t *nd;

	if (b->cap - b->len >= n)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap - b->len < n)
		ncap *= 2;
	nd = realloc(b->data, ncap);
	if (!nd)
		return HN_ENOMEM;
	b->data = nd;
	b->cap = ncap;
	return 0;
}

int p2p_buf_append(struct p2p_buf *b, const void *p, size_t n)
{
	int rc = reserve(b, n + 1);

	if (rc < 0)
		return rc;
	memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

int p2p_buf_vprintf(struct p2p_buf *b, const char *fmt, va_list ap)
{
	va_list ap2;
	int n, rc;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return HN_EINVAL;
	rc = reserve(b, (size_t)n + 1);
	if (rc < 0)
		return rc;
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	b->len += (size_t)n;
	return 0;
}

int p2p_buf_printf(struct p2p_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = p2p_buf_vprintf(b, fmt, ap);
	va_end(ap);
	return rc;
}

void p2p_hex32(const uint8_t h[32], char out[65])
{
	hn_hex_encode(h, 32, out);
}
