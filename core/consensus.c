/*
 * consensus.c: hathor-core's consensus algorithm, ported to the store.
 *
 * The functions below follow hathor/consensus/block_consensus.py and
 * transaction_consensus.py closely (same names, same order of effects) so
 * the two can be compared line by line; docstrings there explain the why.
 * Differences: no nano contracts, no soft-voided list, no twins (the
 * filters that depend on them are the identity here); an invariant the
 * reference asserts is a logged error that fails the run, so the ledger
 * rolls the vertex back instead of crashing.
 *
 * voided_by rules (ConsensusAlgorithm docstring): a vertex is executed iff
 * voided_by is empty; voided_by of a vertex is a superset of the voided_by
 * of everything it verifies or spends, except that a block's own hash is
 * not propagated to other blocks; a tx's own hash is in its voided_by only
 * when it lost a conflict; a block not on the best chain has its own hash.
 */
#include "consensus.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "verify.h"

#include "hn/err.h"
#include "hn/hex.h"
#include "hn/log.h"
#include "hn/network.h"
#include "hn/vertex.h"

#define COMP "consensus"

static int cfail(struct hn_cons *c, int code, const char *fmt, ...)
	HN_PRINTF(3, 4);

static int cfail(struct hn_cons *c, int code, const char *fmt, ...)
{
	va_list ap;

	if (c->err)
		return c->err;
	va_start(ap, fmt);
	vsnprintf(c->msg, sizeof(c->msg), fmt, ap);
	va_end(ap);
	c->err = code;
	hn_err(COMP, "%s", c->msg);
	return code;
}

static void hexs(const uint8_t h[32], char out[65])
{
	hn_hex_encode(h, 32, out);
}

/* --- node cache ------------------------------------------------------------- */

static size_t hslot(const uint8_t h[32], size_t cap)
{
	uint64_t x;

	memcpy(&x, h + 24, 8);  /* low bytes: never the PoW zeros */
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ULL;
	return (size_t)(x ^ (x >> 32)) & (cap - 1);
}

static void node_free(struct hn_cnode *n)
{
	if (!n)
		return;
	hn_vertex_free(n->v);
	hn_vmeta_release(&n->m);
	free(n);
}

void hn_cons_init(struct hn_cons *c, struct hn_store *st,
		  const struct hn_network *net)
{
	memset(c, 0, sizeof(*c));
	c->st = st;
	c->net = net;
}

void hn_cons_release(struct hn_cons *c)
{
	for (size_t i = 0; i < c->cap; i++)
		node_free(c->tab[i]);
	free(c->tab);
	free(c->aff);
	free(c->changes);
	memset(c, 0, sizeof(*c));
}

static struct hn_cnode *tab_find(struct hn_cons *c, const uint8_t h[32])
{
	if (!c->cap)
		return NULL;
	for (size_t i = hslot(h, c->cap);; i = (i + 1) & (c->cap - 1)) {
		struct hn_cnode *n = c->tab[i];

		if (!n)
			return NULL;
		if (!memcmp(n->hash, h, 32))
			return n;
	}
}

static int tab_insert(struct hn_cons *c, struct hn_cnode *n)
{
	if ((c->n + 1) * 2 > c->cap) {
		size_t ncap = c->cap ? c->cap * 2 : 64;
		struct hn_cnode **nt = calloc(ncap, sizeof(*nt));

		if (!nt)
			return HN_ENOMEM;
		for (size_t i = 0; i < c->cap; i++) {
			struct hn_cnode *o = c->tab[i];
			size_t j;

			if (!o)
				continue;
			for (j = hslot(o->hash, ncap); nt[j];
			     j = (j + 1) & (ncap - 1))
				;
			nt[j] = o;
		}
		free(c->tab);
		c->tab = nt;
		c->cap = ncap;
	}
	size_t j;

	for (j = hslot(n->hash, c->cap); c->tab[j];
	     j = (j + 1) & (c->cap - 1))
		;
	c->tab[j] = n;
	c->n++;
	return 0;
}

static bool meta_in_mempool(const struct hn_vmeta *m)
{
	return !m->is_block && !m->has_first_block && !m->n_voided_by;
}

struct hn_cnode *hn_cons_get(struct hn_cons *c, const uint8_t hash[32])
{
	struct hn_cnode *n;
	char hex[65];
	int rc;

	if (c->err)
		return NULL;
	if ((n = tab_find(c, hash)))
		return n;
	n = calloc(1, sizeof(*n));
	if (!n) {
		cfail(c, HN_ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(n->hash, hash, 32);
	/* Metadata only: most nodes are loaded for their voided_by,
	 * first_block or timestamp; vx() decodes the vertex on first use. */
	rc = hn_store_get_meta(c->st, hash, HN_VMETA_CORE, &n->m);
	if (rc < 0) {
		hexs(hash, hex);
		cfail(c, rc == HN_ENOENT ? HN_EIO : rc,
		      "consensus needs vertex '%s': %s", hex, hn_strerror(rc));
		node_free(n);
		return NULL;
	}
	n->was_voided = n->m.n_voided_by > 0;
	n->was_mempool = meta_in_mempool(&n->m);
	if (tab_insert(c, n) < 0) {
		cfail(c, HN_ENOMEM, "out of memory");
		node_free(n);
		return NULL;
	}
	return n;
}

/* The decoded vertex of @n (loaded on first use), or NULL with c->err
 * set. */
static const struct hn_vertex *vx(struct hn_cons *c, struct hn_cnode *n)
{
	char hex[65];
	int rc;

	if (n->v || c->err)
		return n->v;
	rc = hn_store_get_vertex(c->st, n->hash, &n->v);
	if (rc < 0) {
		n->v = NULL;
		hexs(n->hash, hex);
		cfail(c, rc == HN_ENOENT ? HN_EIO : rc,
		      "consensus needs vertex '%s': %s", hex, hn_strerror(rc));
	}
	return n->v;
}

struct hn_cnode *hn_cons_add_new(struct hn_cons *c, struct hn_vertex *v,
				 const struct hn_vmeta *m)
{
	struct hn_cnode *n = calloc(1, sizeof(*n));

	if (!n) {
		hn_vertex_free(v);
		cfail(c, HN_ENOMEM, "out of memory");
		return NULL;
	}
	memcpy(n->hash, v->hash, 32);
	n->v = v;
	n->m = *m;
	/* Arrays are not shared with the caller's copy. */
	n->m.voided_by = NULL;
	n->m.conflict_with = NULL;
	n->m.children = NULL;
	n->m.spent = NULL;
	n->m.twins = NULL;
	n->m.n_twins = 0;
	n->m.n_voided_by = n->m.n_conflict_with = 0;
	n->m.n_children = n->m.n_spent = 0;
	n->is_new = true;
	c->new_init = n->m;     /* scalars; its arrays are empty */
	n->was_voided = false;
	n->was_mempool = false;
	if (tab_insert(c, n) < 0) {
		node_free(n);
		cfail(c, HN_ENOMEM, "out of memory");
		return NULL;
	}
	return n;
}

/* context.save(): remember the change; written by hn_cons_flush(). */
static void save(struct hn_cons *c, struct hn_cnode *n)
{
	n->dirty = true;
	if (n->affected)
		return;
	if (c->n_aff == c->cap_aff) {
		size_t ncap = c->cap_aff ? c->cap_aff * 2 : 32;
		void *p = realloc(c->aff, ncap * sizeof(*c->aff));

		if (!p) {
			cfail(c, HN_ENOMEM, "out of memory");
			return;
		}
		c->aff = p;
		c->cap_aff = ncap;
	}
	c->aff[c->n_aff++] = n;
	n->affected = true;
}

/* --- hash sets in metadata ----------------------------------------------- */

static bool set_has(uint8_t (*a)[32], size_t n, const uint8_t h[32])
{
	for (size_t i = 0; i < n; i++)
		if (!memcmp(a[i], h, 32))
			return true;
	return false;
}

static int set_add(struct hn_cons *c, uint8_t (**a)[32], size_t *n,
		   const uint8_t h[32])
{
	void *p;

	if (set_has(*a, *n, h))
		return 0;
	p = realloc(*a, (*n + 1) * 32);
	if (!p)
		return cfail(c, HN_ENOMEM, "out of memory");
	*a = p;
	memcpy((*a)[*n], h, 32);
	(*n)++;
	return 0;
}

static void set_del(uint8_t (*a)[32], size_t *n, const uint8_t h[32])
{
	for (size_t i = 0; i < *n; i++) {
		if (memcmp(a[i], h, 32))
			continue;
		memmove(a[i], a[i + 1], (*n - i - 1) * 32);
		(*n)--;
		return;
	}
}

static bool voided(const struct hn_cnode *n)
{
	return n->m.n_voided_by > 0;
}

static bool vb_has(const struct hn_cnode *n, const uint8_t h[32])
{
	return set_has(n->m.voided_by, n->m.n_voided_by, h);
}

static int vb_add(struct hn_cons *c, struct hn_cnode *n, const uint8_t h[32])
{
	return set_add(c, &n->m.voided_by, &n->m.n_voided_by, h);
}

static void vb_del(struct hn_cnode *n, const uint8_t h[32])
{
	set_del(n->m.voided_by, &n->m.n_voided_by, h);
	if (!n->m.n_voided_by) {
		free(n->m.voided_by);
		n->m.voided_by = NULL;
	}
}

/* voided_by == {h} */
static bool vb_is_only(const struct hn_cnode *n, const uint8_t h[32])
{
	return n->m.n_voided_by == 1 && !memcmp(n->m.voided_by[0], h, 32);
}

/* A working copy of a hash set (voided_by unions). */
struct hset {
	uint8_t (*h)[32];
	size_t n;
};

static void hset_release(struct hset *s)
{
	free(s->h);
	s->h = NULL;
	s->n = 0;
}

/* --- BFSTimestampWalk ------------------------------------------------------ */

struct walk {
	struct hn_cons *c;
	bool l2r;                       /* towards the tips (children) */
	struct hn_cnode **heap;
	size_t n, cap;
	struct hn_cnode **seen;         /* pointer set */
	size_t sn, scap;
};

static size_t pslot(const void *p, size_t cap)
{
	uintptr_t x = (uintptr_t)p;

	x ^= x >> 17;
	x *= 0x9e3779b97f4a7c15ULL;
	return (size_t)(x >> 20) & (cap - 1);
}

static bool seen_has(struct walk *w, struct hn_cnode *n)
{
	if (!w->scap)
		return false;
	for (size_t i = pslot(n, w->scap);; i = (i + 1) & (w->scap - 1)) {
		if (!w->seen[i])
			return false;
		if (w->seen[i] == n)
			return true;
	}
}

static void seen_put_raw(struct hn_cnode **t, size_t cap, struct hn_cnode *n)
{
	size_t i;

	for (i = pslot(n, cap); t[i] && t[i] != (void *)1;
	     i = (i + 1) & (cap - 1))
		;
	t[i] = n;
}

static int seen_add(struct walk *w, struct hn_cnode *n)
{
	if ((w->sn + 1) * 2 > w->scap) {
		size_t ncap = w->scap ? w->scap * 2 : 64;
		struct hn_cnode **nt = calloc(ncap, sizeof(*nt));

		if (!nt)
			return cfail(w->c, HN_ENOMEM, "out of memory");
		for (size_t i = 0; i < w->scap; i++)
			if (w->seen[i] && w->seen[i] != (void *)1)
				seen_put_raw(nt, ncap, w->seen[i]);
		free(w->seen);
		w->seen = nt;
		w->scap = ncap;
	}
	seen_put_raw(w->seen, w->scap, n);
	w->sn++;
	return 0;
}

/* Removal leaves a tombstone (1) so probing continues past it. */
static void seen_del(struct walk *w, struct hn_cnode *n)
{
	if (!w->scap)
		return;
	for (size_t i = pslot(n, w->scap);; i = (i + 1) & (w->scap - 1)) {
		if (!w->seen[i])
			return;
		if (w->seen[i] == n) {
			w->seen[i] = (void *)1;
			return;
		}
	}
}

/* Heap order: earliest timestamp first (l2r) or latest first (r2l). */
static bool hless(const struct walk *w, const struct hn_cnode *a,
		  const struct hn_cnode *b)
{
	if (w->l2r)
		return a->m.timestamp < b->m.timestamp;
	return a->m.timestamp > b->m.timestamp;
}

static int heap_push(struct walk *w, struct hn_cnode *n)
{
	size_t i;

	if (w->n == w->cap) {
		size_t ncap = w->cap ? w->cap * 2 : 32;
		void *p = realloc(w->heap, ncap * sizeof(*w->heap));

		if (!p)
			return cfail(w->c, HN_ENOMEM, "out of memory");
		w->heap = p;
		w->cap = ncap;
	}
	i = w->n++;
	w->heap[i] = n;
	while (i > 0) {
		size_t p = (i - 1) / 2;

		if (!hless(w, w->heap[i], w->heap[p]))
			break;
		struct hn_cnode *t = w->heap[i];

		w->heap[i] = w->heap[p];
		w->heap[p] = t;
		i = p;
	}
	return 0;
}

static struct hn_cnode *heap_pop(struct walk *w)
{
	struct hn_cnode *top;
	size_t i = 0;

	if (!w->n)
		return NULL;
	top = w->heap[0];
	w->heap[0] = w->heap[--w->n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;

		if (l < w->n && hless(w, w->heap[l], w->heap[m]))
			m = l;
		if (r < w->n && hless(w, w->heap[r], w->heap[m]))
			m = r;
		if (m == i)
			break;
		struct hn_cnode *t = w->heap[i];

		w->heap[i] = w->heap[m];
		w->heap[m] = t;
		i = m;
	}
	return top;
}

static void walk_init(struct walk *w, struct hn_cons *c, bool l2r)
{
	memset(w, 0, sizeof(*w));
	w->c = c;
	w->l2r = l2r;
}

static void walk_release(struct walk *w)
{
	free(w->heap);
	free(w->seen);
}

static void walk_visit_hash(struct walk *w, const uint8_t h[32])
{
	struct hn_cnode *nb = hn_cons_get(w->c, h);

	if (!nb || nb->removed || seen_has(w, nb))
		return;
	if (seen_add(w, nb) == 0)
		heap_push(w, nb);
}

/* Neighbours in both DAGs (verifications and funds). */
static void walk_add_neighbors(struct walk *w, struct hn_cnode *n)
{
	struct hn_cons *c = w->c;

	if (c->err)
		return;
	if (w->l2r) {
		struct hn_hash_list l = { 0 };
		int rc = hn_store_get_children(c->st, n->hash, &l);

		if (rc == 0)
			rc = hn_store_get_all_spenders(c->st, n->hash, &l);
		if (rc < 0) {
			hn_hash_list_release(&l);
			cfail(c, rc, "cannot walk children: %s",
			      hn_store_errmsg(c->st));
			return;
		}
		for (size_t i = 0; i < l.n && !c->err; i++)
			walk_visit_hash(w, l.h[i]);
		hn_hash_list_release(&l);
	} else {
		const struct hn_vertex *v = vx(c, n);

		for (unsigned i = 0; v && i < v->n_parents && !c->err; i++)
			walk_visit_hash(w, v->parents[i]);
		for (unsigned i = 0; v && i < v->n_inputs && !c->err; i++)
			walk_visit_hash(w, v->inputs[i].tx_id);
	}
}

static void walk_root(struct walk *w, struct hn_cnode *root, bool skip_root)
{
	if (seen_add(w, root) < 0)
		return;
	if (!skip_root)
		heap_push(w, root);
	else
		walk_add_neighbors(w, root);
}

/* Next vertex, or NULL at the end or on error. */
static struct hn_cnode *walk_next(struct walk *w)
{
	struct hn_cnode *n;

	if (w->c->err)
		return NULL;
	n = heap_pop(w);
	if (n)
		seen_del(w, n);
	return n;
}

/* --- helpers over the DAG ------------------------------------------------- */

static bool is_block(const struct hn_cnode *n)
{
	return n->m.is_block;
}

/* Number of parents of @n (0 on error, with c->err set). */
static unsigned n_parents(struct hn_cons *c, struct hn_cnode *n)
{
	const struct hn_vertex *v = vx(c, n);

	return v ? v->n_parents : 0;
}

static struct hn_cnode *block_parent(struct hn_cons *c, struct hn_cnode *b)
{
	const struct hn_vertex *v = vx(c, b);

	if (!v)
		return NULL;
	if (!v->n_parents) {
		cfail(c, HN_EIO, "genesis has no parent block");
		return NULL;
	}
	return hn_cons_get(c, v->parents[0]);
}

/* Spenders of any output of @n (funds DAG). */
static int spenders_of(struct hn_cons *c, struct hn_cnode *n,
		       struct hn_hash_list *l)
{
	int rc = hn_store_get_all_spenders(c->st, n->hash, l);

	if (rc < 0)
		return cfail(c, rc, "cannot read spenders: %s",
			     hn_store_errmsg(c->st));
	return 0;
}

static int n_children(struct hn_cons *c, struct hn_cnode *n, size_t *cnt)
{
	struct hn_hash_list l = { 0 };
	int rc = hn_store_get_children(c->st, n->hash, &l);

	*cnt = l.n;
	hn_hash_list_release(&l);
	if (rc < 0)
		return cfail(c, rc, "cannot read children: %s",
			     hn_store_errmsg(c->st));
	return 0;
}

static struct hn_cnode *best_block(struct hn_cons *c)
{
	uint8_t h[32];
	int rc = hn_store_best(c->st, h, NULL);

	if (rc < 0) {
		cfail(c, HN_EIO, "no best block in the height index");
		return NULL;
	}
	return hn_cons_get(c, h);
}

static bool is_genesis(struct hn_cons *c, const struct hn_cnode *n)
{
	return hn_network_is_genesis(c->net, n->hash);
}

/* --- transaction consensus (forward declarations) --------------------------- */

static void tx_add_voided_by(struct hn_cons *c, struct hn_cnode *tx,
			     const uint8_t vh[32]);
static void tx_remove_voided_by(struct hn_cons *c, struct hn_cnode *tx,
				const uint8_t vh[32]);
static void tx_check_conflicts(struct hn_cons *c, struct hn_cnode *tx);
static void tx_mark_as_voided(struct hn_cons *c, struct hn_cnode *tx);

/* update_accumulated_weight(stop_value): own work plus the work of every
 * descendant in both DAGs, stopping once above @stop (if @has_stop). */
static void update_accumulated_weight(struct hn_cons *c, struct hn_cnode *tx,
				      bool has_stop, hn_u128 stop)
{
	struct walk w;
	struct hn_cnode *n;
	hn_u128 work;

	if (has_stop && tx->m.acc_work > stop)
		return;
	work = hn_weight_to_work(tx->m.weight);
	walk_init(&w, c, true);
	walk_root(&w, tx, true);
	while ((n = walk_next(&w))) {
		work += hn_weight_to_work(n->m.weight);
		if (has_stop && work > stop)
			break;
		walk_add_neighbors(&w, n);
	}
	walk_release(&w);
	if (c->err)
		return;
	tx->m.acc_work = work;
	save(c, tx);
}

/* --- block consensus --------------------------------------------------------- */

static void block_add_voided_by(struct hn_cons *c, struct hn_cnode *b,
				const uint8_t *vh);
static void block_mark_as_voided(struct hn_cons *c, struct hn_cnode *b,
				 bool skip_remove_first_block_markers);
static void update_score_and_mark_as_the_best_chain_if_possible(
	struct hn_cons *c, struct hn_cnode *b);

/* union_voided_by_from_parents: parents' voided_by, without the hash of a
 * parent block itself (block hashes do not propagate along chains). */
static int union_voided_by_from_parents(struct hn_cons *c, struct hn_cnode *b,
					struct hset *out)
{
	const struct hn_vertex *bv = vx(c, b);

	if (!bv)
		return c->err;
	for (unsigned i = 0; i < bv->n_parents; i++) {
		struct hn_cnode *p = hn_cons_get(c, bv->parents[i]);

		if (!p)
			return c->err;
		for (size_t j = 0; j < p->m.n_voided_by; j++) {
			if (is_block(p) && !memcmp(p->m.voided_by[j], p->hash,
						   32))
				continue;
			if (set_add(c, &out->h, &out->n, p->m.voided_by[j]) < 0)
				return c->err;
		}
	}
	return 0;
}

/* _find_first_parent_in_best_chain */
static struct hn_cnode *first_parent_in_best_chain(struct hn_cons *c,
						   struct hn_cnode *b)
{
	struct hn_cnode *p = block_parent(c, b);

	while (p && voided(p)) {
		if (!n_parents(c, p)) {
			cfail(c, HN_EIO, "voided genesis block");
			return NULL;
		}
		p = block_parent(c, p);
	}
	return p;
}

/* remove_first_block_markers: clear first_block == @b on the txs it
 * confirmed (BFS towards genesis). */
static void remove_first_block_markers(struct hn_cons *c, struct hn_cnode *b)
{
	struct walk w;
	struct hn_cnode *n;

	walk_init(&w, c, false);
	walk_root(&w, b, true);
	while ((n = walk_next(&w))) {
		if (is_block(n))
			continue;
		if (!n->m.has_first_block || memcmp(n->m.first_block, b->hash,
						    32))
			continue;
		n->m.has_first_block = false;
		memset(n->m.first_block, 0, 32);
		save(c, n);
		walk_add_neighbors(&w, n);
	}
	walk_release(&w);
}

/* One block of calculate_score: its work, its parent block's score, and
 * the work of the txs it is the first to confirm (BFS from its tx
 * parents, skipping txs confirmed at or before @newest_ts). */
static hn_u128 score_one_block(struct hn_cons *c, struct hn_cnode *b,
			       hn_u128 parent_score, struct walk *used,
			       bool mark, uint32_t newest_ts)
{
	hn_u128 score = hn_weight_to_work(b->m.weight) + parent_score;
	const struct hn_vertex *bv = vx(c, b);

	for (unsigned i = 1; bv && i < bv->n_parents && !c->err; i++) {
		struct hn_cnode *root = hn_cons_get(c, bv->parents[i]);
		struct walk w;
		struct hn_cnode *n;

		if (!root)
			break;
		if (is_block(root)) {
			cfail(c, HN_EIO, "block with two parent blocks");
			break;
		}
		walk_init(&w, c, false);
		walk_root(&w, root, false);
		while ((n = walk_next(&w))) {
			if (is_block(n) || seen_has(used, n))
				continue;
			if (seen_add(used, n) < 0)
				break;
			if (n->m.has_first_block) {
				struct hn_cnode *fb = hn_cons_get(c,
							n->m.first_block);

				if (!fb)
					break;
				if (fb->m.timestamp <= newest_ts)
					continue;
			}
			if (mark) {
				if (n->m.has_first_block) {
					char h1[65];

					hexs(n->hash, h1);
					cfail(c, HN_EIO, "tx '%s' already has a "
					      "first block", h1);
					break;
				}
				n->m.has_first_block = true;
				memcpy(n->m.first_block, b->hash, 32);
				save(c, n);
			}
			score += hn_weight_to_work(n->m.weight);
			walk_add_neighbors(&w, n);
		}
		walk_release(&w);
	}
	if (c->err)
		return 0;
	if (!b->m.score) {
		b->m.score = score;
		save(c, b);
	} else if (b->m.score != score) {
		char h1[65];

		hexs(b->hash, h1);
		cfail(c, HN_EIO, "score of block '%s' changed", h1);
	}
	return score;
}

/* calculate_score(block, mark_as_best_chain): iterative form of
 * _score_block_dfs (the parent-block recursion walks the side chain down
 * to the first block in the best chain, oldest first). */
static hn_u128 calculate_score(struct hn_cons *c, struct hn_cnode *b,
			       bool mark)
{
	struct hn_cnode *p, **chain = NULL;
	size_t n = 0, cap = 0;
	struct walk used;
	hn_u128 score;

	if (is_genesis(c, b)) {
		score = hn_weight_to_work(b->m.weight);
		if (mark) {
			b->m.score = score;
			save(c, b);
		}
		return score;
	}
	p = first_parent_in_best_chain(c, b);
	if (!p)
		return 0;
	/* chain: b, its parent, ... down to (excluding) blocks at or before
	 * p's timestamp (whose stored score is used). */
	for (struct hn_cnode *x = b; x && !c->err;) {
		if (x != b && x->m.timestamp <= p->m.timestamp)
			break;
		if (n == cap) {
			void *q;

			cap = cap ? cap * 2 : 16;
			q = realloc(chain, cap * sizeof(*chain));
			if (!q) {
				cfail(c, HN_ENOMEM, "out of memory");
				break;
			}
			chain = q;
		}
		chain[n++] = x;
		x = block_parent(c, x);
		if (!x)
			break;
	}
	if (c->err) {
		free(chain);
		return 0;
	}
	walk_init(&used, c, false);     /* only its seen set is used */
	score = 0;
	for (size_t i = n; i-- > 0 && !c->err;) {
		struct hn_cnode *x = chain[i];
		hn_u128 ps;

		if (i == n - 1) {
			struct hn_cnode *xp = block_parent(c, x);

			if (!xp)
				break;
			ps = xp->m.score;
		} else {
			ps = score;
		}
		score = score_one_block(c, x, ps, &used, mark,
					p->m.timestamp);
	}
	walk_release(&used);
	free(chain);
	return score;
}

/* add_voided_by (block): add @vh (default own hash) and propagate it to
 * the spenders of the block's outputs. */
static void block_add_voided_by(struct hn_cons *c, struct hn_cnode *b,
				const uint8_t *vh)
{
	struct hn_hash_list l = { 0 };

	if (!vh)
		vh = b->hash;
	if (vb_has(b, vh))
		return;
	if (vb_add(c, b, vh) < 0)
		return;
	save(c, b);
	if (spenders_of(c, b, &l) < 0)
		return;
	for (size_t i = 0; i < l.n && !c->err; i++) {
		struct hn_cnode *tx = hn_cons_get(c, l.h[i]);

		if (tx)
			tx_add_voided_by(c, tx, vh);
	}
	hn_hash_list_release(&l);
}

static bool block_remove_voided_by(struct hn_cons *c, struct hn_cnode *b,
				   const uint8_t *vh)
{
	struct hn_hash_list l = { 0 };

	if (!vh)
		vh = b->hash;
	if (!vb_has(b, vh))
		return false;
	vb_del(b, vh);
	save(c, b);
	if (spenders_of(c, b, &l) < 0)
		return false;
	for (size_t i = 0; i < l.n && !c->err; i++) {
		struct hn_cnode *tx = hn_cons_get(c, l.h[i]);

		if (tx)
			tx_remove_voided_by(c, tx, vh);
	}
	hn_hash_list_release(&l);
	return !c->err;
}

static void block_mark_as_voided(struct hn_cons *c, struct hn_cnode *b,
				 bool skip_remove_first_block_markers)
{
	if (!skip_remove_first_block_markers)
		remove_first_block_markers(c, b);
	block_add_voided_by(c, b, NULL);
}

/* update_voided_by_from_parents: true if the block is voided by them. */
static bool update_voided_by_from_parents(struct hn_cons *c,
					  struct hn_cnode *b)
{
	struct hset vb = { 0 };
	bool any;

	if (union_voided_by_from_parents(c, b, &vb) < 0) {
		hset_release(&vb);
		return false;
	}
	any = vb.n > 0;
	for (size_t i = 0; i < vb.n && !c->err; i++)
		vb_add(c, b, vb.h[i]);
	if (any)
		save(c, b);
	hset_release(&vb);
	return any && !c->err;
}

static void add_voided_by_to_multiple_chains(struct hn_cons *c,
					     struct hn_cnode *head,
					     struct hn_cnode *first)
{
	while (head && !c->err) {
		if (head->m.timestamp <= first->m.timestamp)
			break;
		if (!vb_has(head, head->hash))
			block_mark_as_voided(c, head, false);
		head = block_parent(c, head);
	}
}

static void remove_voided_by_from_chain(struct hn_cons *c, struct hn_cnode *b)
{
	while (b && !c->err) {
		if (!block_remove_voided_by(c, b, NULL))
			break;
		if (!n_parents(c, b))
			break;
		b = block_parent(c, b);
	}
}

static void update_score_and_mark_as_the_best_chain_if_possible(
	struct hn_cons *c, struct hn_cnode *b)
{
	calculate_score(c, b, true);
	remove_voided_by_from_chain(c, b);
	if (c->err)
		return;
	if (update_voided_by_from_parents(c, b)) {
		struct hn_cnode *head = best_block(c), *first;

		if (!head)
			return;
		first = first_parent_in_best_chain(c, head);
		if (!first)
			return;
		add_voided_by_to_multiple_chains(c, b, first);
		if (memcmp(head->hash, b->hash, 32))
			update_score_and_mark_as_the_best_chain_if_possible(
				c, head);
	}
}

/* height.add_new: extend the height index (never a reorg). */
static void height_add_new(struct hn_cons *c, struct hn_cnode *b)
{
	uint8_t cur[32];
	uint64_t h;
	int rc = hn_store_best(c->st, cur, &h);

	if (rc < 0) {
		cfail(c, HN_EIO, "empty height index");
		return;
	}
	if (b->m.height == h + 1) {
		rc = hn_store_height_set(c->st, b->m.height, b->hash, false);
	} else if (b->m.height <= h) {
		uint8_t at[32];

		rc = hn_store_height_get(c->st, b->m.height, at);
		if (rc == 0 && memcmp(at, b->hash, 32))
			rc = cfail(c, HN_EIO, "height index add_new would "
				   "reorg at height %llu",
				   (unsigned long long)b->m.height);
	} else {
		rc = cfail(c, HN_EIO, "height index gap at %llu",
			   (unsigned long long)b->m.height);
	}
	if (rc < 0)
		cfail(c, rc, "height index update failed");
	c->best_changed = true;
}

/* height.update_new_chain: rewrite the index from the fork point up. */
static void height_update_new_chain(struct hn_cons *c, struct hn_cnode *b)
{
	struct hn_cnode *x = b;
	struct hn_cnode **items = NULL;
	size_t n = 0, cap = 0;

	while (x && !c->err) {
		uint8_t at[32];
		int rc = hn_store_height_get(c->st, x->m.height, at);

		if (rc == 0 && !memcmp(at, x->hash, 32))
			break;
		if (rc < 0 && rc != HN_ENOENT) {
			cfail(c, rc, "height index read failed");
			break;
		}
		if (n == cap) {
			void *p;

			cap = cap ? cap * 2 : 16;
			p = realloc(items, cap * sizeof(*items));
			if (!p) {
				cfail(c, HN_ENOMEM, "out of memory");
				break;
			}
			items = p;
		}
		items[n++] = x;
		if (!n_parents(c, x))
			break;
		x = block_parent(c, x);
	}
	for (size_t i = n; i-- > 0 && !c->err;) {
		if (hn_store_height_set(c->st, items[i]->m.height,
					items[i]->hash, true) < 0)
			cfail(c, HN_EIO, "height index write failed");
	}
	free(items);
	c->best_changed = true;
}

static void mark_as_reorg_if_needed(struct hn_cons *c, struct hn_cnode *common,
				    struct hn_cnode *new_best)
{
	uint8_t old[32];
	uint64_t old_h;

	if (hn_store_best(c->st, old, &old_h) < 0) {
		cfail(c, HN_EIO, "empty height index");
		return;
	}
	if (old_h == common->m.height)
		return;         /* reorg size 0 */
	c->reorg = true;
	memcpy(c->old_best, old, 32);
	c->old_height = old_h;
	memcpy(c->common, common->hash, 32);
	c->common_height = common->m.height;
	memcpy(c->new_best, new_best->hash, 32);
	c->new_height = new_best->m.height;
}

/* BlockConsensusAlgorithm.update_voided_info */
static void block_update_voided_info(struct hn_cons *c, struct hn_cnode *b)
{
	struct hset vb = { 0 };
	struct hn_cnode *parent;
	size_t nch;
	bool head_conn, best_conn;

	if (!n_parents(c, b)) {
		if (c->err)
			return;
		update_score_and_mark_as_the_best_chain_if_possible(c, b);
		return;
	}
	if (union_voided_by_from_parents(c, b, &vb) < 0)
		goto out;
	/* Update the accumulated weight of the txs voiding us. */
	for (size_t i = 0; i < vb.n && !c->err; i++) {
		struct hn_cnode *t = hn_cons_get(c, vb.h[i]);

		if (!t)
			goto out;
		t->m.acc_work += hn_weight_to_work(b->m.weight);
		save(c, t);
	}
	for (size_t i = 0; i < vb.n && !c->err; i++) {
		struct hn_cnode *t = hn_cons_get(c, vb.h[i]);

		if (t && !is_block(t))
			tx_check_conflicts(c, t);
	}
	if (c->err || !(parent = block_parent(c, b)))
		goto out;
	if (n_children(c, parent, &nch) < 0)
		goto out;
	head_conn = nch == 1;
	best_conn = !voided(parent);
	if (head_conn && best_conn) {
		/* Case (i): on the head of the best chain. */
		update_score_and_mark_as_the_best_chain_if_possible(c, b);
		if (!c->err && !voided(b))
			height_add_new(c, b);
	} else {
		struct hn_cnode *head;
		hn_u128 best_score, score;
		bool winner;

		block_mark_as_voided(c, b, true);
		if (c->err || !(head = best_block(c)))
			goto out;
		best_score = head->m.score;
		score = calculate_score(c, b, false);
		if (c->err)
			goto out;
		winner = score > best_score ||
			 (score == best_score &&
			  memcmp(b->hash, head->hash, 32) < 0);
		/* The conflict resolution above (check_conflicts of the txs
		 * voiding us) may have voided the head: a tx of this chain
		 * outweighed a tx the best chain confirms.  The reference
		 * asserts that the new block then wins on score, but the
		 * tx's accumulated weight counts only the blocks after the
		 * conflict, so a shorter fork can get there first.  The head
		 * and the blocks confirming the loser are invalid now; the
		 * chain holding the winning tx becomes the best chain.  If
		 * the old chain grows heavier later, its next block wins on
		 * score and the conflict is settled again. */
		if (voided(head))
			winner = true;
		if (!winner) {
			update_voided_by_from_parents(c, b);
		} else {
			struct hn_cnode *common =
				first_parent_in_best_chain(c, b);

			if (!common)
				goto out;
			add_voided_by_to_multiple_chains(c, head, common);
			update_score_and_mark_as_the_best_chain_if_possible(c,
									    b);
			if (!c->err && !voided(b)) {
				if (common != head)
					mark_as_reorg_if_needed(c, common, b);
				height_update_new_chain(c, b);
			}
		}
	}
out:
	hset_release(&vb);
}

/* --- transaction consensus --------------------------------------------------- */

/* mark_input_as_used: conflicts with every earlier spender of the same
 * output void us until check_conflicts decides. */
static void tx_mark_inputs_as_used(struct hn_cons *c, struct hn_cnode *tx)
{
	for (unsigned i = 0; i < tx->v->n_inputs && !c->err; i++) {
		const struct hn_tx_input *in = &tx->v->inputs[i];
		struct hn_hash_list l = { 0 };
		int rc = hn_store_get_spenders(c->st, in->tx_id, in->index, &l);

		if (rc < 0) {
			cfail(c, rc, "cannot read spenders: %s",
			      hn_store_errmsg(c->st));
			return;
		}
		for (size_t j = 0; j < l.n && !c->err; j++) {
			struct hn_cnode *o;

			if (!memcmp(l.h[j], tx->hash, 32))
				continue;       /* ourselves (already stored) */
			vb_add(c, tx, tx->hash);
			set_add(c, &tx->m.conflict_with, &tx->m.n_conflict_with,
				l.h[j]);
			o = hn_cons_get(c, l.h[j]);
			if (!o)
				break;
			set_add(c, &o->m.conflict_with, &o->m.n_conflict_with,
				tx->hash);
			save(c, o);
		}
		hn_hash_list_release(&l);
		save(c, tx);
	}
}

static int cmp_input(const void *a, const void *b)
{
	const struct hn_tx_input *x = a, *y = b;
	int c = memcmp(x->tx_id, y->tx_id, 32);
	size_t n;

	if (c)
		return c;
	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	n = x->data_len < y->data_len ? x->data_len : y->data_len;
	if (n && (c = memcmp(x->data, y->data, n)))
		return c;
	return (x->data_len > y->data_len) - (x->data_len < y->data_len);
}

static int cmp_output(const void *a, const void *b)
{
	const struct hn_tx_output *x = a, *y = b;
	size_t n = x->script_len < y->script_len ? x->script_len :
		y->script_len;
	int c = n ? memcmp(x->script, y->script, n) : 0;

	if (c)
		return c;
	if (x->script_len != y->script_len)
		return x->script_len < y->script_len ? -1 : 1;
	return (x->value > y->value) - (x->value < y->value);
}

/* Same inputs (tx_id, index, data) and outputs (script, value), in any
 * order (check_twins). */
static bool are_twins(const struct hn_vertex *a, const struct hn_vertex *b)
{
	struct hn_tx_input *ia, *ib;
	struct hn_tx_output *oa, *ob;
	bool eq = false;

	if (a->n_inputs != b->n_inputs || a->n_outputs != b->n_outputs ||
	    !memcmp(a->hash, b->hash, 32))
		return false;
	ia = calloc(a->n_inputs + 1u, sizeof(*ia));
	ib = calloc(a->n_inputs + 1u, sizeof(*ib));
	oa = calloc(a->n_outputs + 1u, sizeof(*oa));
	ob = calloc(a->n_outputs + 1u, sizeof(*ob));
	if (!ia || !ib || !oa || !ob)
		goto out;
	memcpy(ia, a->inputs, a->n_inputs * sizeof(*ia));
	memcpy(ib, b->inputs, a->n_inputs * sizeof(*ib));
	memcpy(oa, a->outputs, a->n_outputs * sizeof(*oa));
	memcpy(ob, b->outputs, a->n_outputs * sizeof(*ob));
	qsort(ia, a->n_inputs, sizeof(*ia), cmp_input);
	qsort(ib, a->n_inputs, sizeof(*ib), cmp_input);
	qsort(oa, a->n_outputs, sizeof(*oa), cmp_output);
	qsort(ob, a->n_outputs, sizeof(*ob), cmp_output);
	eq = true;
	for (unsigned i = 0; eq && i < a->n_inputs; i++)
		eq = !cmp_input(&ia[i], &ib[i]);
	for (unsigned i = 0; eq && i < a->n_outputs; i++)
		eq = !cmp_output(&oa[i], &ob[i]);
out:
	free(ia);
	free(ib);
	free(oa);
	free(ob);
	return eq;
}

/* set_conflict_twins: conflicts spending and paying exactly the same are
 * twins of each other (metadata only). */
static void tx_set_conflict_twins(struct hn_cons *c, struct hn_cnode *tx)
{
	for (size_t i = 0; i < tx->m.n_conflict_with && !c->err; i++) {
		struct hn_cnode *o = hn_cons_get(c, tx->m.conflict_with[i]);

		if (!o || !vx(c, o) || !are_twins(tx->v, o->v))
			continue;
		set_add(c, &tx->m.twins, &tx->m.n_twins, o->hash);
		set_add(c, &o->m.twins, &o->m.n_twins, tx->hash);
		save(c, o);
		save(c, tx);
	}
}

/* TransactionConsensusAlgorithm.update_voided_info */
static void tx_update_voided_info(struct hn_cons *c, struct hn_cnode *tx)
{
	struct hset vb = { 0 };

	for (unsigned i = 0; i < tx->v->n_parents && !c->err; i++) {
		struct hn_cnode *p = hn_cons_get(c, tx->v->parents[i]);

		for (size_t j = 0; p && j < p->m.n_voided_by; j++)
			set_add(c, &vb.h, &vb.n, p->m.voided_by[j]);
	}
	for (unsigned i = 0; i < tx->v->n_inputs && !c->err; i++) {
		struct hn_cnode *s = hn_cons_get(c, tx->v->inputs[i].tx_id);

		for (size_t j = 0; s && j < s->m.n_voided_by; j++)
			set_add(c, &vb.h, &vb.n, s->m.voided_by[j]);
	}
	if (c->err)
		goto out;
	if (set_has(vb.h, vb.n, tx->hash)) {
		cfail(c, HN_EIO, "tx voided by itself through its parents");
		goto out;
	}
	/* Update the accumulated weight of the txs voiding us. */
	for (size_t i = 0; i < vb.n && !c->err; i++) {
		struct hn_cnode *t = hn_cons_get(c, vb.h[i]);

		if (!t)
			goto out;
		t->m.acc_work += hn_weight_to_work(tx->m.weight);
		save(c, t);
	}
	if (tx->m.n_conflict_with)
		set_add(c, &vb.h, &vb.n, tx->hash);
	if (vb.n) {
		for (size_t i = 0; i < vb.n; i++)
			vb_add(c, tx, vb.h[i]);
		save(c, tx);
	}
	/* Check conflicts of the txs voiding us. */
	for (size_t i = 0; i < vb.n && !c->err; i++) {
		struct hn_cnode *t;

		if (!memcmp(vb.h[i], tx->hash, 32))
			continue;
		t = hn_cons_get(c, vb.h[i]);
		if (t && !is_block(t))
			tx_check_conflicts(c, t);
	}
	/* Mark voided conflicts as voided. */
	for (size_t i = 0; i < tx->m.n_conflict_with && !c->err; i++) {
		struct hn_cnode *o = hn_cons_get(c, tx->m.conflict_with[i]);

		if (!o || !voided(o))
			continue;
		if (o->m.has_first_block) {
			char h1[65];

			hexs(o->hash, h1);
			hn_info(COMP, "skipping voided conflict with first "
				"block '%s'", h1);
			continue;
		}
		tx_mark_as_voided(c, o);
	}
	if (!c->err && vb_is_only(tx, tx->hash))
		tx_check_conflicts(c, tx);
out:
	hset_release(&vb);
}

/* check_conflicts: @tx wins if its accumulated weight beats every
 * candidate conflict; a tie voids everyone. */
static void tx_check_conflicts(struct hn_cons *c, struct hn_cnode *tx)
{
	struct hn_cnode **list = NULL, **cand = NULL;
	size_t nl = 0, nc = 0, ties = 0;
	bool highest = true;

	if (!vb_is_only(tx, tx->hash))
		return;
	nl = tx->m.n_conflict_with;
	if (nl) {
		list = calloc(nl, sizeof(*list));
		cand = calloc(nl, sizeof(*cand));
		if (!list || !cand) {
			cfail(c, HN_ENOMEM, "out of memory");
			goto out;
		}
	}
	for (size_t i = 0; i < nl; i++) {
		struct hn_cnode *o = hn_cons_get(c, tx->m.conflict_with[i]);

		if (!o)
			goto out;
		list[i] = o;
		if (!voided(o) || vb_is_only(o, o->hash))
			cand[nc++] = o;
	}
	/* First against the voided candidates. */
	for (size_t i = 0; i < nc; i++) {
		if (voided(cand[i]) && cand[i]->m.acc_work > tx->m.acc_work) {
			highest = false;
			break;
		}
	}
	if (!highest)
		goto out;
	/* Then against the executed ones. */
	for (size_t i = 0; i < nc && !c->err; i++) {
		if (voided(cand[i]))
			continue;
		update_accumulated_weight(c, cand[i], true, tx->m.acc_work);
		if (cand[i]->m.acc_work == tx->m.acc_work) {
			ties++;
		} else if (cand[i]->m.acc_work > tx->m.acc_work) {
			highest = false;
			break;
		}
	}
	if (!highest || c->err)
		goto out;
	/* A tie or a win: void the conflicts, newest first. */
	for (size_t i = 0; i < nl; i++) {
		for (size_t j = i + 1; j < nl; j++) {
			if (list[j]->m.timestamp > list[i]->m.timestamp) {
				struct hn_cnode *t = list[i];

				list[i] = list[j];
				list[j] = t;
			}
		}
	}
	for (size_t i = 0; i < nl && !c->err; i++)
		tx_mark_as_voided(c, list[i]);
	if (!ties && !c->err)
		tx_remove_voided_by(c, tx, tx->hash);   /* mark_as_winner */
out:
	free(list);
	free(cand);
}

static void tx_mark_as_voided(struct hn_cons *c, struct hn_cnode *tx)
{
	if (vb_has(tx, tx->hash))
		return;
	tx_add_voided_by(c, tx, tx->hash);
}

/* add_voided_by (tx): add @vh to @tx and every descendant in both DAGs;
 * blocks met on the way are voided (they confirm a voided tx). */
static void tx_add_voided_by(struct hn_cons *c, struct hn_cnode *tx,
			     const uint8_t vh[32])
{
	struct walk w;
	struct hn_cnode *n, **check = NULL;
	size_t nck = 0, cck = 0;
	uint8_t h[32];

	memcpy(h, vh, 32);      /* @vh may point into a voided_by array */
	if (vb_has(tx, h))
		return;
	walk_init(&w, c, true);
	walk_root(&w, tx, false);
	while ((n = walk_next(&w))) {
		if (is_block(n))
			block_mark_as_voided(c, n, false);
		if (c->err)
			break;
		if (vb_has(n, h))
			continue;       /* reached through a nested walk */
		if (n != tx && n->m.n_conflict_with && !voided(n)) {
			for (size_t i = 0; i < n->m.n_conflict_with; i++) {
				struct hn_cnode *o =
					hn_cons_get(c, n->m.conflict_with[i]);

				if (!o)
					break;
				if (nck == cck) {
					void *p;

					cck = cck ? cck * 2 : 8;
					p = realloc(check, cck * sizeof(*check));
					if (!p) {
						cfail(c, HN_ENOMEM, "oom");
						break;
					}
					check = p;
				}
				check[nck++] = o;
			}
		}
		if (c->err || vb_add(c, n, h) < 0)
			break;
		if (n->m.n_conflict_with) {
			tx_mark_as_voided(c, n);
			/* Voided txs with conflicts keep an exact
			 * accumulated weight. */
			update_accumulated_weight(c, n, false, 0);
		}
		save(c, n);
		walk_add_neighbors(&w, n);
	}
	walk_release(&w);
	for (size_t i = 0; i < nck && !c->err; i++)
		tx_check_conflicts(c, check[i]);
	free(check);
}

/* remove_voided_by (tx): remove @vh from @tx and its descendants. */
static void tx_remove_voided_by(struct hn_cons *c, struct hn_cnode *tx,
				const uint8_t vh[32])
{
	struct walk w;
	struct hn_cnode *n, **check = NULL;
	size_t nck = 0, cck = 0;
	uint8_t h[32];

	memcpy(h, vh, 32);
	if (!vb_has(tx, h))
		return;
	walk_init(&w, c, true);
	walk_root(&w, tx, false);
	while ((n = walk_next(&w))) {
		if (!vb_has(n, h))
			continue;
		vb_del(n, h);
		if (vb_is_only(n, n->hash)) {
			if (nck == cck) {
				void *p;

				cck = cck ? cck * 2 : 8;
				p = realloc(check, cck * sizeof(*check));
				if (!p) {
					cfail(c, HN_ENOMEM, "out of memory");
					break;
				}
				check = p;
			}
			check[nck++] = n;
		}
		save(c, n);
		walk_add_neighbors(&w, n);
	}
	walk_release(&w);
	for (size_t i = 0; i < nck && !c->err; i++)
		if (!is_block(check[i]))
			tx_check_conflicts(c, check[i]);
	free(check);
}

/* --- the run ---------------------------------------------------------------- */

int hn_cons_update(struct hn_cons *c, struct hn_cnode *n)
{
	uint8_t before[32];
	uint64_t hb = 0;

	if (hn_store_best(c->st, before, &hb) < 0)
		return cfail(c, HN_EIO, "empty height index");
	save(c, n);
	if (is_block(n)) {
		block_update_voided_info(c, n);
	} else {
		tx_mark_inputs_as_used(c, n);
		if (!c->err)
			tx_update_voided_info(c, n);
		if (!c->err)
			tx_set_conflict_twins(c, n);
	}
	if (!c->err) {
		uint8_t after[32];
		uint64_t ha;

		if (hn_store_best(c->st, after, &ha) < 0)
			return cfail(c, HN_EIO, "empty height index");
		c->best_changed = memcmp(before, after, 32) != 0;
		if (c->reorg && ha < hb)
			hn_warn(COMP, "height decreased from %llu to %llu, "
				"re-checking mempool", (unsigned long long)hb,
				(unsigned long long)ha);
	}
	return c->err;
}

static int push_change(struct hn_cons *c, const struct hn_cnode *n)
{
	struct hn_cons_change *ch;
	void *p = realloc(c->changes, (c->n_changes + 1) * sizeof(*ch));

	if (!p)
		return cfail(c, HN_ENOMEM, "out of memory");
	c->changes = p;
	ch = &c->changes[c->n_changes++];
	memcpy(ch->hash, n->hash, 32);
	ch->is_block = is_block(n);
	ch->voided_before = n->is_new ? false : n->was_voided;
	ch->voided_after = voided(n);
	ch->mempool_before = n->was_mempool;
	ch->mempool_after = !n->removed && meta_in_mempool(&n->m);
	ch->removed = n->removed;
	return 0;
}

/* _reward_lock_mempool_rule: false if @tx can no longer be confirmed by
 * the next block at @best_height. */
static bool reward_lock_ok(struct hn_cons *c, struct hn_cnode *tx,
			   uint64_t best_height)
{
	uint64_t lock = c->net->reward_spend_min_blocks;

	if (!vx(c, tx))
		return true;
	for (unsigned i = 0; i < tx->v->n_inputs; i++) {
		struct hn_cnode *s = hn_cons_get(c, tx->v->inputs[i].tx_id);

		if (!s)
			return true;
		if (!is_block(s))
			continue;
		/* needed = REWARD_SPEND_MIN_BLOCKS - (best - spent height) */
		if (best_height < s->m.height ||
		    best_height - s->m.height < lock)
			return false;
	}
	return best_height + 1 >= tx->m.min_height;
}

static int remove_one(struct hn_cons *c, struct hn_cnode *n)
{
	char hex[65];
	int rc;

	hexs(n->hash, hex);
	if (is_block(n)) {
		/* Only a voided block can be to the right of a mempool tx
		 * (a best-chain block would have given it a first_block). */
		if (!voided(n))
			return cfail(c, HN_ECONSENSUS, "block '%s' to the right of "
				     "an invalid mempool tx is not voided", hex);
		hn_warn(COMP, "removing voided block '%s': it confirms a "
			"transaction removed after a reorg", hex);
	} else {
		hn_warn(COMP, "removing transaction '%s' from the mempool: it "
			"or a transaction it depends on became invalid after "
			"a reorg", hex);
	}
	if (!vx(c, n))
		return c->err;
	if ((rc = hn_store_remove_vertex(c->st, n->v)) < 0)
		return cfail(c, rc, "cannot remove '%s': %s", hex,
			     hn_store_errmsg(c->st));
	n->removed = true;
	save(c, n);
	for (size_t i = 0; i < n->m.n_conflict_with && !c->err; i++) {
		struct hn_cnode *o = hn_cons_get(c, n->m.conflict_with[i]);

		if (!o || o->removed)
			continue;
		set_del(o->m.conflict_with, &o->m.n_conflict_with, n->hash);
		if ((rc = hn_store_update_meta(c->st, &o->m)) < 0)
			return cfail(c, rc, "cannot write metadata");
		save(c, o);
	}
	for (unsigned j = 0; j < n->v->n_parents && !c->err; j++)
		if (hn_store_mempool_refresh(c->st, n->v->parents[j]) < 0)
			return cfail(c, HN_EIO, "cannot update mempool");
	for (unsigned j = 0; j < n->v->n_inputs && !c->err; j++)
		if (hn_store_mempool_refresh(c->st, n->v->inputs[j].tx_id) < 0)
			return cfail(c, HN_EIO, "cannot update mempool");
	return c->err;
}

/* The mempool rules of _compute_vertices_that_became_invalid for @tx at
 * the new best height @bh: 1 valid, 0 invalid (logged), <0 error. */
static int mempool_rules_ok(struct hn_cons *c, struct hn_cnode *tx,
			    uint64_t bh)
{
	struct hn_verr err;
	char hex[65];
	int rc;

	hexs(tx->hash, hex);
	if (!reward_lock_ok(c, tx, bh)) {
		hn_warn(COMP, "mempool transaction '%s' became invalid after "
			"the reorg: reward locked at height %llu", hex,
			(unsigned long long)bh);
		return 0;
	}
	if (!c->vctx)
		return 1;
	if (!vx(c, tx))
		return c->err;
	rc = hn_verify_feature_recheck(c->vctx, tx->v, &err);
	if (rc == HN_ECONSENSUS || rc == HN_ENOENT) {
		hn_warn(COMP, "mempool transaction '%s' became invalid after "
			"the reorg (feature activation rules): %s: %s", hex,
			hn_verr_name(err.code), err.msg);
		return 0;
	}
	if (rc < 0)
		return cfail(c, rc, "cannot re-check '%s': %s", hex, err.msg);
	return 1;
}

/* _compute_vertices_that_became_invalid + _remove_transactions: after a
 * reorg, mempool txs that break a mempool rule at the new best block
 * (reward lock, _feature_activation_rules) are removed with everything
 * that depends on them. */
static int remove_invalid_mempool(struct hn_cons *c)
{
	struct hn_hash_list tips = { 0 };
	struct hn_cnode **bad = NULL, **rm = NULL, *n;
	size_t nbad = 0, nrm = 0;
	uint8_t best[32];
	uint64_t bh;
	struct walk w;
	int rc;

	if ((rc = hn_store_best(c->st, best, &bh)) < 0 ||
	    (rc = hn_store_mempool_tips(c->st, &tips)) < 0)
		return cfail(c, HN_EIO, "cannot read mempool tips");
	walk_init(&w, c, false);
	for (size_t i = 0; i < tips.n && !c->err; i++) {
		n = hn_cons_get(c, tips.h[i]);
		if (n)
			walk_root(&w, n, false);
	}
	while ((n = walk_next(&w))) {
		if (is_block(n) || n->m.has_first_block)
			continue;
		if ((rc = mempool_rules_ok(c, n, bh)) < 0)
			break;
		if (rc == 0) {
			void *p = realloc(bad, (nbad + 1) * sizeof(*bad));

			if (!p) {
				cfail(c, HN_ENOMEM, "out of memory");
				break;
			}
			bad = p;
			bad[nbad++] = n;
		}
		walk_add_neighbors(&w, n);
	}
	walk_release(&w);
	hn_hash_list_release(&tips);
	if (!nbad || c->err)
		goto out;
	walk_init(&w, c, true);
	for (size_t i = 0; i < nbad && !c->err; i++)
		walk_root(&w, bad[i], false);
	while ((n = walk_next(&w))) {
		void *p = realloc(rm, (nrm + 1) * sizeof(*rm));

		if (!p) {
			cfail(c, HN_ENOMEM, "out of memory");
			break;
		}
		rm = p;
		rm[nrm++] = n;
		walk_add_neighbors(&w, n);
	}
	walk_release(&w);
	{
		size_t nb = 0;

		for (size_t i = 0; i < nrm; i++)
			nb += is_block(rm[i]);
		hn_warn(COMP, "%zu mempool transactions became invalid after "
			"the reorg: removing them and what depends on them "
			"(%zu transactions, %zu voided blocks of the losing "
			"chain)", nbad, nrm - nb, nb);
	}
	/* Newest first, so nothing removed still has a stored child. */
	for (size_t i = nrm; i-- > 0 && !c->err;)
		remove_one(c, rm[i]);
out:
	free(bad);
	free(rm);
	return c->err;
}

/* Recomputes the mempool-tip flag of @n once per flush (transactions
 * only: a block is never a mempool tip).  @live_child: a non-voided
 * vertex has @n as parent or spends one of its outputs. */
static int mempool_refresh(struct hn_cons *c, struct hn_cnode *n,
			   bool live_child)
{
	int rc;

	if (!n)
		return c->err;
	if (n->refreshed || n->removed || is_block(n))
		return 0;
	n->refreshed = true;
	/* Only a mempool tx can be a mempool tip: one that was not in the
	 * mempool when loaded (so its stored flag is 0, every change of
	 * mempool membership being refreshed here) and is not now keeps 0. */
	if (!n->was_mempool && !meta_in_mempool(&n->m))
		return 0;
	/* The flag's definition (S_MEMPOOL_REFRESH) where it is known
	 * without the query: 0 out of the mempool or with a live child; 1
	 * for the new vertex in the mempool, which nothing stored refers
	 * to yet. */
	if (!meta_in_mempool(&n->m) || live_child)
		rc = hn_store_mempool_set(c->st, n->hash, false);
	else if (n->is_new)
		rc = hn_store_mempool_set(c->st, n->hash, true);
	else
		rc = hn_store_mempool_refresh(c->st, n->hash);
	if (rc < 0)
		return cfail(c, rc, "cannot update mempool");
	return 0;
}

/* Whether hn_store_update_meta() would write anything @m does not
 * already hold in @was (the row as the new vertex was inserted). */
static bool meta_changed(const struct hn_vmeta *was, const struct hn_vmeta *m)
{
	return was->validation != m->validation ||
	       was->height != m->height || was->acc_work != m->acc_work ||
	       was->score != m->score ||
	       was->has_first_block != m->has_first_block ||
	       (m->has_first_block &&
		memcmp(was->first_block, m->first_block, 32)) ||
	       was->min_height != m->min_height ||
	       m->n_voided_by || m->n_conflict_with || m->n_twins;
}

int hn_cons_flush(struct hn_cons *c)
{
	struct hn_store *st = c->st;
	int rc;

	if (c->err)
		return c->err;
	/* 1. metadata rows */
	for (size_t i = 0; i < c->n_aff; i++) {
		struct hn_cnode *n = c->aff[i];

		if (!n->dirty || n->removed)
			continue;
		if (n->is_new && !meta_changed(&c->new_init, &n->m)) {
			n->dirty = false;       /* as inserted */
			continue;
		}
		if ((rc = hn_store_update_meta(st, &n->m)) < 0)
			return cfail(c, rc, "cannot write metadata: %s",
				     hn_store_errmsg(st));
		n->dirty = false;
	}
	/* 2. block/tx tips follow voidedness */
	for (size_t i = 0; i < c->n_aff; i++) {
		struct hn_cnode *n = c->aff[i];
		enum hn_tips_kind k = is_block(n) ? HN_TIPS_BLOCK : HN_TIPS_TX;
		bool was = n->is_new ? true : n->was_voided;

		if (n->removed || was == voided(n))
			continue;
		if (!vx(c, n))
			return c->err;
		rc = voided(n) ? hn_store_tips_remove(st, k, n->v) :
			n->is_new ? hn_store_tips_add_new(st, k, n->v) :
			hn_store_tips_add(st, k, n->v);
		if (rc < 0)
			return cfail(c, rc, "cannot update tips: %s",
				     hn_store_errmsg(st));
	}
	/* 3. mempool tips: recompute every affected tx, and its deps when
	 * it is new or its voidedness changed (the only way it changes their
	 * flag; a dep whose own metadata changed is affected itself). */
	for (size_t i = 0; i < c->n_aff; i++) {
		struct hn_cnode *n = c->aff[i];
		const struct hn_vertex *v;
		bool live = !voided(n);

		if (mempool_refresh(c, n, false) < 0)
			return c->err;
		if (!n->is_new && n->was_voided == voided(n))
			continue;
		if (!(v = vx(c, n)))
			return c->err;
		for (unsigned j = 0; j < v->n_parents; j++)
			if (mempool_refresh(c, hn_cons_get(c, v->parents[j]),
					    live) < 0)
				return c->err;
		for (unsigned j = 0; j < v->n_inputs; j++)
			if (mempool_refresh(c, hn_cons_get(c,
						v->inputs[j].tx_id), live) < 0)
				return c->err;
	}
	if (c->reorg && remove_invalid_mempool(c) < 0)
		return c->err;
	for (size_t i = 0; i < c->n_aff; i++)
		if (push_change(c, c->aff[i]) < 0)
			return c->err;
	return 0;
}
