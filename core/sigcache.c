/*
 * sigcache.c: verified-signature memo and the batch pre-verifier (see
 * sigcache.h).
 */
#include "sigcache.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "script.h"

#include "hn/hash.h"
#include "hn/log.h"
#include "hn/vertex.h"

#define COMP "sigcache"

/* --- the memo -------------------------------------------------------------- */

struct entry {
	bool used;
	uint8_t key[32];
};

static struct entry tab[HN_SIGCACHE_SIZE];
static pthread_mutex_t tab_mu = PTHREAD_MUTEX_INITIALIZER;
static atomic_uint_fast64_t n_checked, n_added, n_hits, n_misses, n_skipped;
static atomic_int n_workers;            /* nothing to take while 0 */

/* sha256 of the three byte strings, each after its 2-byte length, so
 * that no two triples share a key. */
static void make_key(const uint8_t *pubkey, size_t pubkey_len,
		     const uint8_t *sig, size_t sig_len, const uint8_t *msg,
		     size_t msg_len, uint8_t key[32])
{
	uint8_t buf[3 * 2 + 256];
	const uint8_t *part[3] = { pubkey, sig, msg };
	size_t plen[3] = { pubkey_len, sig_len, msg_len };
	size_t o = 0;

	for (int i = 0; i < 3; i++) {
		buf[o++] = (uint8_t)(plen[i] >> 8);
		buf[o++] = (uint8_t)plen[i];
		memcpy(buf + o, part[i], plen[i]);
		o += plen[i];
	}
	hn_sha256(buf, o, key);
}

/* Triples too long for make_key's buffer are never remembered. */
static bool keyable(size_t pubkey_len, size_t sig_len, size_t msg_len)
{
	return pubkey_len <= 64 && sig_len <= 128 && msg_len <= 64;
}

static struct entry *slot(const uint8_t key[32])
{
	uint32_t x;

	memcpy(&x, key, 4);
	return &tab[x & (HN_SIGCACHE_SIZE - 1)];
}

void hn_sigcache_add(const uint8_t *pubkey, size_t pubkey_len,
		     const uint8_t *sig, size_t sig_len, const uint8_t *msg,
		     size_t msg_len)
{
	uint8_t key[32];
	struct entry *e;

	if (!keyable(pubkey_len, sig_len, msg_len))
		return;
	make_key(pubkey, pubkey_len, sig, sig_len, msg, msg_len, key);
	e = slot(key);
	pthread_mutex_lock(&tab_mu);
	e->used = true;
	memcpy(e->key, key, 32);
	pthread_mutex_unlock(&tab_mu);
	atomic_fetch_add(&n_added, 1);
}

bool hn_sigcache_take(const uint8_t *pubkey, size_t pubkey_len,
		      const uint8_t *sig, size_t sig_len, const uint8_t *msg,
		      size_t msg_len)
{
	uint8_t key[32];
	struct entry *e;
	bool hit;

	if (!atomic_load(&n_workers) || !keyable(pubkey_len, sig_len, msg_len))
		return false;
	make_key(pubkey, pubkey_len, sig, sig_len, msg, msg_len, key);
	e = slot(key);
	pthread_mutex_lock(&tab_mu);
	hit = e->used && !memcmp(e->key, key, 32);
	if (hit)
		e->used = false;
	pthread_mutex_unlock(&tab_mu);
	atomic_fetch_add(hit ? &n_hits : &n_misses, 1);
	return hit;
}

void hn_sigcache_stats(struct hn_sigcache_stats *out)
{
	out->checked = atomic_load(&n_checked);
	out->added = atomic_load(&n_added);
	out->hits = atomic_load(&n_hits);
	out->misses = atomic_load(&n_misses);
	out->skipped = atomic_load(&n_skipped);
}

/* --- the worker -------------------------------------------------------------- */

struct copy {
	uint8_t *data;
	size_t len;
};

struct job {
	uint64_t ticket;
	size_t n;
	struct copy *v;                 /* owned copies */
	struct job *next;
};

struct hn_sigpre {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool stop;
	struct job *head, *tail;
	uint64_t last_ticket;
	/* The loop thread's position (a hint: read without the lock). */
	atomic_uint_fast64_t prog_ticket;
	atomic_size_t prog_done;
};

static void job_free(struct job *j)
{
	if (!j)
		return;
	for (size_t i = 0; i < j->n; i++)
		free(j->v[i].data);
	free(j->v);
	free(j);
}

/* A standard P2PKH input: push(signature) push(33-byte public key), each
 * a direct push (opcode = length). */
static bool p2pkh_input(const uint8_t *d, size_t len, const uint8_t **sig,
			size_t *sig_len, const uint8_t **pub)
{
	size_t l1;

	if (len < 2 || d[0] < 1 || d[0] > 75)
		return false;
	l1 = d[0];
	if (len != 1 + l1 + 1 + 33 || d[1 + l1] != 33)
		return false;
	*sig = d + 1;
	*sig_len = l1;
	*pub = d + 1 + l1 + 1;
	return true;
}

static void check_vertex(const struct copy *b)
{
	struct hn_vertex *v = NULL;
	uint8_t sighash[32];
	char msg[64];

	if (hn_vertex_decode(b->data, b->len, &v, msg, sizeof(msg)) < 0)
		return;
	if (hn_vertex_is_block(v) || !v->n_inputs ||
	    hn_vertex_sighash_data(v, sighash) < 0) {
		hn_vertex_free(v);
		return;
	}
	for (unsigned i = 0; i < v->n_inputs; i++) {
		const struct hn_tx_input *in = &v->inputs[i];
		const uint8_t *sig, *pub;
		size_t sig_len;

		if (!in->data ||
		    !p2pkh_input(in->data, in->data_len, &sig, &sig_len, &pub))
			continue;
		if (hn_ecdsa_verify_sha256(pub, 33, sig, sig_len, sighash, 32))
			hn_sigcache_add(pub, 33, sig, sig_len, sighash, 32);
		atomic_fetch_add(&n_checked, 1);
	}
	hn_vertex_free(v);
}

static void *worker(void *arg)
{
	struct hn_sigpre *p = arg;

	pthread_mutex_lock(&p->mu);
	for (;;) {
		struct job *j;

		while (!p->stop && !p->head)
			pthread_cond_wait(&p->cv, &p->mu);
		if (p->stop)
			break;
		j = p->head;
		p->head = j->next;
		if (!p->head)
			p->tail = NULL;
		pthread_mutex_unlock(&p->mu);
		for (size_t i = 0; i < j->n; i++) {
			if (atomic_load(&p->prog_ticket) == j->ticket &&
			    i < atomic_load(&p->prog_done)) {
				atomic_fetch_add(&n_skipped, 1);
				continue;       /* the loop thread got there */
			}
			if (atomic_load(&p->prog_ticket) > j->ticket)
				break;          /* a later batch started */
			check_vertex(&j->v[i]);
		}
		job_free(j);
		pthread_mutex_lock(&p->mu);
	}
	pthread_mutex_unlock(&p->mu);
	return NULL;
}

struct hn_sigpre *hn_sigpre_start(void)
{
	struct hn_sigpre *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->cv, NULL);
	if (pthread_create(&p->th, NULL, worker, p) != 0) {
		hn_warn(COMP, "cannot start the signature thread: signatures "
			"are checked on the loop thread only");
		pthread_cond_destroy(&p->cv);
		pthread_mutex_destroy(&p->mu);
		free(p);
		return NULL;
	}
	atomic_fetch_add(&n_workers, 1);
	return p;
}

void hn_sigpre_stop(struct hn_sigpre *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->stop = true;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	pthread_join(p->th, NULL);
	atomic_fetch_sub(&n_workers, 1);
	while (p->head) {
		struct job *j = p->head;

		p->head = j->next;
		job_free(j);
	}
	pthread_cond_destroy(&p->cv);
	pthread_mutex_destroy(&p->mu);
	free(p);
}

uint64_t hn_sigpre_submit(struct hn_sigpre *p, const struct hn_buf *v,
			  size_t n)
{
	struct job *j;
	uint64_t t;

	if (!p || !n)
		return 0;
	j = calloc(1, sizeof(*j));
	if (!j || !(j->v = calloc(n, sizeof(*j->v)))) {
		free(j);
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		j->v[i].data = malloc(v[i].len ? v[i].len : 1);
		if (!j->v[i].data) {
			j->n = i;
			job_free(j);
			return 0;
		}
		memcpy(j->v[i].data, v[i].data, v[i].len);
		j->v[i].len = v[i].len;
	}
	j->n = n;
	pthread_mutex_lock(&p->mu);
	t = j->ticket = ++p->last_ticket;
	if (p->tail)
		p->tail->next = j;
	else
		p->head = j;
	p->tail = j;
	pthread_cond_signal(&p->cv);
	pthread_mutex_unlock(&p->mu);
	return t;
}

void hn_sigpre_progress(struct hn_sigpre *p, uint64_t ticket, size_t done)
{
	if (!p || !ticket)
		return;
	atomic_store(&p->prog_done, done);
	atomic_store(&p->prog_ticket, ticket);
}
