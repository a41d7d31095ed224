/*
 * tk_mine.c: CPU proof of work.  The 64-byte mining header is one SHA-256
 * block, so its midstate is computed once and each nonce costs the second
 * block plus the outer hash (PROTOCOL.md 1.8).  OpenSSL's low-level SHA-256
 * is used for the midstate copy; it is deprecated in OpenSSL 3 but still
 * the only way to reuse a midstate without a context allocation per try.
 */
#define OPENSSL_SUPPRESS_DEPRECATED 1

#include "tk.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/sha.h>

#include "hn/err.h"
#include "hn/vertex.h"

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (uint8_t)v;
		v >>= 8;
	}
}

/* True iff the hash whose internal (reversed) bytes are @h is below
 * @target (big-endian). */
static bool below(const uint8_t h[32], const uint8_t target[32])
{
	for (int i = 0; i < 32; i++) {
		uint8_t b = h[31 - i];

		if (b != target[i])
			return b < target[i];
	}
	return false;
}

int tk_mine(struct hn_vertex *v, uint64_t max_tries, uint64_t *tries)
{
	uint8_t hdr[64], target[32], nb[16], h1[32], h2[32];
	bool block = hn_vertex_is_block(v);
	uint64_t nonce = v->nonce_lo, n = 0;
	SHA256_CTX base, c;
	int rc;

	if (tries)
		*tries = 0;
	if ((rc = hn_vertex_mining_header(v, hdr)) < 0)
		return rc;
	if ((rc = hn_weight_to_target(v->weight, target)) < 0)
		return rc;
	SHA256_Init(&base);
	SHA256_Update(&base, hdr, sizeof(hdr));
	memset(nb, 0, sizeof(nb));
	if (block)
		put64(nb, v->nonce_hi);
	for (;;) {
		if (max_tries && n >= max_tries) {
			v->nonce_lo = nonce;
			if (tries)
				*tries = n;
			return 0;
		}
		if (!block && nonce > UINT32_MAX) {
			if (tries)
				*tries = n;
			return HN_ERANGE;
		}
		put64(nb + 8, nonce);
		c = base;
		SHA256_Update(&c, nb, sizeof(nb));
		SHA256_Final(h1, &c);
		SHA256_Init(&c);
		SHA256_Update(&c, h1, sizeof(h1));
		SHA256_Final(h2, &c);
		n++;
		if (below(h2, target))
			break;
		nonce++;
	}
	if (tries)
		*tries = n;
	v->nonce_lo = nonce;
	if ((rc = hn_vertex_update_hash(v)) < 0)
		return rc;
	return hn_vertex_pow_ok(v) ? 1 : HN_EINVAL;
}

/* --- several threads, same answer ---------------------------------------- */

#define MT_CHUNK 65536

struct mt {
	SHA256_CTX base;
	uint8_t nb[16];         /* nonce_hi half set */
	uint8_t target[32];
	uint64_t start, limit;  /* nonces [start, limit) */
	_Atomic uint64_t next_chunk;
	_Atomic uint64_t best;  /* lowest solving nonce found, or UINT64_MAX */
	_Atomic uint64_t hashes;
};

static void *mt_worker(void *arg)
{
	struct mt *m = arg;
	uint8_t nb[16], h1[32], h2[32];
	uint64_t n = 0;
	SHA256_CTX c;

	memcpy(nb, m->nb, sizeof(nb));
	for (;;) {
		uint64_t k = atomic_fetch_add(&m->next_chunk, 1);
		uint64_t lo = m->start + k * MT_CHUNK, hi = lo + MT_CHUNK;

		/* Chunks are handed out in order, so every nonce below the
		 * best one is tried by someone before anyone stops. */
		if (lo >= m->limit || lo >= atomic_load(&m->best))
			break;
		if (hi > m->limit)
			hi = m->limit;
		for (uint64_t nonce = lo; nonce < hi; nonce++) {
			put64(nb + 8, nonce);
			c = m->base;
			SHA256_Update(&c, nb, sizeof(nb));
			SHA256_Final(h1, &c);
			SHA256_Init(&c);
			SHA256_Update(&c, h1, sizeof(h1));
			SHA256_Final(h2, &c);
			n++;
			if (below(h2, m->target)) {
				uint64_t cur = atomic_load(&m->best);

				while (nonce < cur &&
				       !atomic_compare_exchange_weak(&m->best,
								     &cur,
								     nonce))
					;
				break;
			}
		}
	}
	atomic_fetch_add(&m->hashes, n);
	return NULL;
}

int tk_mine_mt(struct hn_vertex *v, unsigned threads, uint64_t *tries)
{
	pthread_t th[64];
	uint8_t hdr[64];
	unsigned started = 0;
	struct mt *m;
	uint64_t best;
	int rc;

	if (threads <= 1)
		return tk_mine(v, 0, tries);
	if (threads > 64)
		threads = 64;
	if (tries)
		*tries = 0;
	if ((rc = hn_vertex_mining_header(v, hdr)) < 0)
		return rc;
	if (!(m = calloc(1, sizeof(*m))))
		return HN_ENOMEM;
	if ((rc = hn_weight_to_target(v->weight, m->target)) < 0) {
		free(m);
		return rc;
	}
	SHA256_Init(&m->base);
	SHA256_Update(&m->base, hdr, sizeof(hdr));
	if (hn_vertex_is_block(v))
		put64(m->nb, v->nonce_hi);
	m->start = v->nonce_lo;
	m->limit = hn_vertex_is_block(v) ? UINT64_MAX : (uint64_t)UINT32_MAX + 1;
	atomic_init(&m->next_chunk, 0);
	atomic_init(&m->best, UINT64_MAX);
	atomic_init(&m->hashes, 0);
	for (unsigned i = 0; i < threads; i++)
		if (pthread_create(&th[i], NULL, mt_worker, m) == 0)
			started++;
	if (!started)
		mt_worker(m);
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	best = atomic_load(&m->best);
	if (tries)
		*tries = atomic_load(&m->hashes);
	free(m);
	if (best == UINT64_MAX)
		return HN_ERANGE;
	v->nonce_lo = best;
	if ((rc = hn_vertex_update_hash(v)) < 0)
		return rc;
	return hn_vertex_pow_ok(v) ? 1 : HN_EINVAL;
}
