/*
 * memnode.c: an in-memory node service for P2P tests and the interop
 * harness, used until (and besides) the real core.  It is NOT a ledger:
 * it checks proof of work and that dependencies exist, nothing else
 * (no scripts, no balances, no DAA).  The best chain is the highest one
 * (ties: the first seen); a transaction's first block is the first best-
 * chain block that reaches it through parents/inputs.
 *
 * Answers are delivered from the loop (0 s timer) like an IPC reply would,
 * or synchronously when MEMNODE_SYNC=1 (both must work for the engine).
 */
#include "memnode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hn/err.h"
#include "hn/network.h"
#include "hn/vertex.h"

struct mn_vertex {
	uint8_t hash[32];
	uint8_t *bytes;
	size_t len;
	bool is_block;
	int64_t height;
	uint8_t n_parents;
	uint8_t parents[3][32];
	size_t n_inputs;
	uint8_t (*inputs)[32];
	bool has_fb;
	uint8_t fb[32];
	size_t seq;             /* arrival order */
};

struct job {
	struct job *next;
	struct memnode *m;
	void (*run)(struct job *j);
	void *cb;
	void *arg;
	size_t n;
	uint64_t *heights;
	uint8_t (*hashes)[32];
	bool *flags;
	struct p2p_vinfo *vi;
	enum p2p_add_result *res;
	uint64_t height;
	uint8_t hash[32];
	char msg[128];
	int rc;
};

static struct mn_vertex *get(struct memnode *m, const uint8_t h[32])
{
	return p2p_hmap_get(&m->map, h);
}

static bool on_chain(struct memnode *m, const struct mn_vertex *v)
{
	return v->is_block && v->height >= 0 &&
	       (size_t)v->height < m->chain_len &&
	       memcmp(m->chain[v->height], v->hash, 32) == 0;
}

/* Marks unconfirmed transactions reachable from @blk as confirmed by it. */
static void confirm(struct memnode *m, struct mn_vertex *blk)
{
	uint8_t (*stack)[32] = NULL;
	size_t n = 0, cap = 0, i;

	for (i = 1; i < blk->n_parents; i++) {
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			stack = realloc(stack, cap * 32);
		}
		memcpy(stack[n++], blk->parents[i], 32);
	}
	while (n) {
		struct mn_vertex *v = get(m, stack[--n]);

		if (!v || v->is_block || v->has_fb)
			continue;
		v->has_fb = true;
		memcpy(v->fb, blk->hash, 32);
		for (i = 0; i < v->n_parents + v->n_inputs; i++) {
			const uint8_t *d = i < v->n_parents ? v->parents[i] :
					   v->inputs[i - v->n_parents];

			if (n == cap) {
				cap = cap ? cap * 2 : 64;
				stack = realloc(stack, cap * 32);
			}
			memcpy(stack[n++], d, 32);
		}
	}
	free(stack);
}

static void set_best(struct memnode *m, struct mn_vertex *tip)
{
	struct mn_vertex *v = tip;
	size_t h = (size_t)tip->height;

	if (h + 1 > m->chain_cap) {
		m->chain_cap = (h + 1) * 2;
		m->chain = realloc(m->chain, m->chain_cap * 32);
	}
	m->chain_len = h + 1;
	while (v) {
		memcpy(m->chain[v->height], v->hash, 32);
		if (v->height == 0)
			break;
		v = get(m, v->parents[0]);
	}
	/* Confirm along the new chain, from low to high. */
	for (h = 1; h < m->chain_len; h++)
		confirm(m, get(m, m->chain[h]));
}

/* The common case: @tip extends the best chain by one block. */
static void extend_best(struct memnode *m, struct mn_vertex *tip)
{
	if (m->chain_len + 1 > m->chain_cap) {
		m->chain_cap *= 2;
		m->chain = realloc(m->chain, m->chain_cap * 32);
	}
	memcpy(m->chain[m->chain_len++], tip->hash, 32);
	confirm(m, tip);
}

/* Stores one vertex.  Returns enum p2p_add_result. */
static enum p2p_add_result add_one(struct memnode *m, const uint8_t *bytes,
				   size_t len, char *msg, size_t msglen)
{
	struct hn_vertex *hv = NULL;
	struct mn_vertex *v;
	size_t i;
	char err[128];

	if (hn_vertex_decode(bytes, len, &hv, err, sizeof(err)) < 0) {
		snprintf(msg, msglen, "cannot decode: %.100s", err);
		return P2P_ADD_INVALID;
	}
	if (get(m, hv->hash)) {
		hn_vertex_free(hv);
		return P2P_ADD_KNOWN;
	}
	if (!hn_vertex_pow_ok(hv)) {
		snprintf(msg, msglen, "insufficient proof of work");
		hn_vertex_free(hv);
		return P2P_ADD_INVALID;
	}
	if (hn_vertex_is_block(hv) && hv->n_parents < 1) {
		snprintf(msg, msglen, "block without parents");
		hn_vertex_free(hv);
		return P2P_ADD_INVALID;
	}
	for (i = 0; i < hv->n_parents; i++) {
		if (!get(m, hv->parents[i])) {
			hn_vertex_free(hv);
			return P2P_ADD_MISSING_DEPS;
		}
	}
	for (i = 0; i < hv->n_inputs; i++) {
		if (!get(m, hv->inputs[i].tx_id)) {
			hn_vertex_free(hv);
			return P2P_ADD_MISSING_DEPS;
		}
	}
	if (hn_vertex_is_block(hv) && !get(m, hv->parents[0])->is_block) {
		snprintf(msg, msglen, "first parent is not a block");
		hn_vertex_free(hv);
		return P2P_ADD_INVALID;
	}
	v = calloc(1, sizeof(*v));
	memcpy(v->hash, hv->hash, 32);
	v->bytes = malloc(len);
	memcpy(v->bytes, bytes, len);
	v->len = len;
	v->is_block = hn_vertex_is_block(hv);
	v->n_parents = hv->n_parents > 3 ? 3 : hv->n_parents;
	memcpy(v->parents, hv->parents, v->n_parents * 32);
	v->n_inputs = hv->n_inputs;
	v->inputs = calloc(hv->n_inputs ? hv->n_inputs : 1, 32);
	for (i = 0; i < hv->n_inputs; i++)
		memcpy(v->inputs[i], hv->inputs[i].tx_id, 32);
	v->seq = m->seq++;
	v->height = -1;
	hn_vertex_free(hv);
	p2p_hmap_put(&m->map, v->hash, v);
	if (v->is_block) {
		struct mn_vertex *parent = get(m, v->parents[0]);

		v->height = parent->height + 1;
		if ((size_t)v->height == m->chain_len &&
		    memcmp(m->chain[m->chain_len - 1], parent->hash, 32) == 0)
			extend_best(m, v);
		else if ((size_t)v->height >= m->chain_len)
			set_best(m, v);
	}
	m->n_added++;
	return P2P_ADD_ACCEPTED;
}

static void add_genesis(struct memnode *m, const struct hn_genesis_vertex *g,
			bool block)
{
	struct mn_vertex *v = calloc(1, sizeof(*v));

	memcpy(v->hash, g->hash, 32);
	v->bytes = malloc(g->len);
	memcpy(v->bytes, g->bytes, g->len);
	v->len = g->len;
	v->is_block = block;
	v->height = block ? 0 : -1;
	v->inputs = calloc(1, 32);
	v->seq = m->seq++;
	p2p_hmap_put(&m->map, v->hash, v);
}

int memnode_init(struct memnode *m, struct ev_loop *loop,
		 const struct hn_network *net)
{
	const char *sync = getenv("MEMNODE_SYNC");

	memset(m, 0, sizeof(*m));
	m->loop = loop;
	m->net = net;
	m->sync = sync && sync[0] == '1';
	p2p_hmap_init(&m->map);
	add_genesis(m, &net->genesis_block, true);
	add_genesis(m, &net->genesis_tx1, false);
	add_genesis(m, &net->genesis_tx2, false);
	m->chain_cap = 64;
	m->chain = calloc(m->chain_cap, 32);
	memcpy(m->chain[0], net->genesis_block.hash, 32);
	m->chain_len = 1;
	/* Genesis txs are confirmed by block 1 (first_block), not before. */
	return 0;
}

static void job_free(struct job *j)
{
	free(j->heights);
	free(j->hashes);
	free(j->flags);
	free(j->vi);
	free(j->res);
	free(j);
}

static void jobs_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct memnode *m = w->data;

	(void)loop;
	(void)revents;
	if (m->defer) {
		struct job *j = m->jobs, *next;

		/* What these answers submit waits for the next turn. */
		m->jobs = m->jobs_tail = NULL;
		for (; j; j = next) {
			next = j->next;
			j->run(j);
			job_free(j);
		}
		return;
	}
	while (m->jobs) {
		struct job *j = m->jobs;

		m->jobs = j->next;
		if (!m->jobs)
			m->jobs_tail = NULL;
		j->run(j);
		job_free(j);
	}
}

static void submit(struct memnode *m, struct job *j)
{
	if (m->sync) {
		j->run(j);
		job_free(j);
		return;
	}
	if (m->jobs_tail)
		m->jobs_tail->next = j;
	else
		m->jobs = j;
	m->jobs_tail = j;
	if (!m->timer_init) {
		ev_timer_init(&m->timer, jobs_cb, 0, 0);
		m->timer.data = m;
		m->timer_init = true;
	}
	if (!ev_is_active(&m->timer)) {
		ev_timer_set(&m->timer, 0, 0);
		ev_timer_start(m->loop, &m->timer);
	}
}

void memnode_release(struct memnode *m)
{
	size_t pos = 0;
	struct p2p_hmap_slot *s;

	if (m->timer_init)
		ev_timer_stop(m->loop, &m->timer);
	/* Calls in flight still complete (the engine's callbacks then only
	 * drop their references), as a node service must do on shutdown. */
	while (m->jobs) {
		struct job *j = m->jobs;

		m->jobs = j->next;
		if (!m->jobs)
			m->jobs_tail = NULL;
		j->run(j);
		job_free(j);
	}
	while ((s = p2p_hmap_next(&m->map, &pos))) {
		struct mn_vertex *v = s->val;

		free(v->bytes);
		free(v->inputs);
		free(v);
	}
	p2p_hmap_release(&m->map);
	free(m->chain);
}

static struct memnode *mn(void *ctx)
{
	return ((struct testenv *)ctx)->node_ctx;
}

static struct job *job_new(struct memnode *m, void (*run)(struct job *),
			   void *cb, void *arg)
{
	struct job *j = calloc(1, sizeof(*j));

	j->m = m;
	j->run = run;
	j->cb = cb;
	j->arg = arg;
	return j;
}

/* best_block */
static void run_best(struct job *j)
{
	struct memnode *m = j->m;

	((p2p_best_cb)j->cb)(j->arg, 0, m->chain_len - 1,
			     m->chain[m->chain_len - 1]);
}

static int op_best(void *ctx, p2p_best_cb cb, void *arg)
{
	struct memnode *m = mn(ctx);

	m->n_calls++;
	submit(m, job_new(m, run_best, (void *)cb, arg));
	return 0;
}

/* height_hashes */
static void run_heights(struct job *j)
{
	struct memnode *m = j->m;
	size_t i;

	j->flags = calloc(j->n ? j->n : 1, sizeof(bool));
	j->hashes = calloc(j->n ? j->n : 1, 32);
	for (i = 0; i < j->n; i++) {
		if (j->heights[i] < m->chain_len) {
			j->flags[i] = true;
			memcpy(j->hashes[i], m->chain[j->heights[i]], 32);
		}
	}
	((p2p_hashes_cb)j->cb)(j->arg, 0, j->n, j->flags,
			       (const uint8_t (*)[32])j->hashes);
}

static int op_heights(void *ctx, const uint64_t *heights, size_t n,
		      p2p_hashes_cb cb, void *arg)
{
	struct memnode *m = mn(ctx);
	struct job *j = job_new(m, run_heights, (void *)cb, arg);

	m->n_calls++;
	j->n = n;
	j->heights = malloc((n ? n : 1) * sizeof(uint64_t));
	memcpy(j->heights, heights, n * sizeof(uint64_t));
	submit(m, j);
	return 0;
}

static void fill_vinfo(struct memnode *m, const uint8_t h[32],
		       struct p2p_vinfo *vi)
{
	struct mn_vertex *v = get(m, h);

	memset(vi, 0, sizeof(*vi));
	if (!v)
		return;
	vi->found = true;
	memcpy(vi->hash, v->hash, 32);
	vi->bytes = v->bytes;
	vi->len = v->len;
	vi->is_block = v->is_block;
	vi->voided = v->is_block && !on_chain(m, v);
	vi->fully_valid = true;
	vi->height = v->height;
	vi->has_first_block = v->has_fb;
	memcpy(vi->first_block, v->fb, 32);
	vi->first_block_height = -1;
	if (v->has_fb) {
		struct mn_vertex *b = get(m, v->fb);

		if (b)
			vi->first_block_height = b->height;
	}
}

static void run_vertices(struct job *j)
{
	struct memnode *m = j->m;
	size_t i;

	j->vi = calloc(j->n ? j->n : 1, sizeof(*j->vi));
	for (i = 0; i < j->n; i++)
		fill_vinfo(m, j->hashes[i], &j->vi[i]);
	((p2p_vinfo_cb)j->cb)(j->arg, 0, j->n, j->vi);
}

static int op_vertices(void *ctx, const uint8_t (*hashes)[32], size_t n,
		       p2p_vinfo_cb cb, void *arg)
{
	struct memnode *m = mn(ctx);
	struct job *j = job_new(m, run_vertices, (void *)cb, arg);

	m->n_calls++;
	j->n = n;
	j->hashes = malloc((n ? n : 1) * 32);
	memcpy(j->hashes, hashes, n * 32);
	submit(m, j);
	return 0;
}

static void run_exists(struct job *j)
{
	struct memnode *m = j->m;
	size_t i;

	j->flags = calloc(j->n ? j->n : 1, sizeof(bool));
	for (i = 0; i < j->n; i++)
		j->flags[i] = get(m, j->hashes[i]) != NULL;
	((p2p_flags_cb)j->cb)(j->arg, 0, j->n, j->flags);
}

static int op_exists(void *ctx, const uint8_t (*hashes)[32], size_t n,
		     p2p_flags_cb cb, void *arg)
{
	struct memnode *m = mn(ctx);
	struct job *j = job_new(m, run_exists, (void *)cb, arg);

	m->n_calls++;
	j->n = n;
	j->hashes = malloc((n ? n : 1) * 32);
	memcpy(j->hashes, hashes, n * 32);
	submit(m, j);
	return 0;
}

struct add_job {
	uint8_t **bytes;
	size_t *lens;
};

static void run_add(struct job *j)
{
	struct memnode *m = j->m;
	struct add_job *aj = (struct add_job *)j->heights;
	size_t i, done = 0;

	j->res = calloc(j->n ? j->n : 1, sizeof(*j->res));
	for (i = 0; i < j->n; i++) {
		j->res[i] = add_one(m, aj->bytes[i], aj->lens[i], j->msg,
				    sizeof(j->msg));
		done++;
		if (j->res[i] == P2P_ADD_ACCEPTED && m->on_accept)
			m->on_accept(m->on_accept_arg, aj->bytes[i],
				     aj->lens[i]);
		if (j->res[i] == P2P_ADD_INVALID ||
		    j->res[i] == P2P_ADD_MISSING_DEPS)
			break;
	}
	((p2p_add_cb)j->cb)(j->arg, 0, done, j->res, j->msg[0] ? j->msg :
			    NULL);
	for (i = 0; i < j->n; i++)
		free(aj->bytes[i]);
	free(aj->bytes);
	free(aj->lens);
}

static int op_add(void *ctx, enum p2p_add_kind kind, size_t n,
		  const uint8_t *const *bytes, const size_t *lens,
		  p2p_add_cb cb, void *arg)
{
	struct memnode *m = mn(ctx);
	struct job *j = job_new(m, run_add, (void *)cb, arg);
	struct add_job *aj = calloc(1, sizeof(*aj));
	size_t i;

	(void)kind;
	m->n_calls++;
	j->n = n;
	aj->bytes = calloc(n ? n : 1, sizeof(*aj->bytes));
	aj->lens = calloc(n ? n : 1, sizeof(*aj->lens));
	for (i = 0; i < n; i++) {
		aj->bytes[i] = malloc(lens[i] ? lens[i] : 1);
		memcpy(aj->bytes[i], bytes[i], lens[i]);
		aj->lens[i] = lens[i];
	}
	j->heights = (uint64_t *)aj;    /* freed by job_free */
	submit(m, j);
	return 0;
}

static void run_tips(struct job *j)
{
	struct memnode *m = j->m;
	struct p2p_hmap referenced;
	struct p2p_hmap_slot *s;
	size_t pos = 0, n = 0, cap = 16;

	p2p_hmap_init(&referenced);
	while ((s = p2p_hmap_next(&m->map, &pos))) {
		struct mn_vertex *v = s->val;
		size_t i;

		if (v->is_block || v->has_fb)
			continue;
		for (i = 0; i < v->n_parents; i++)
			p2p_hmap_put(&referenced, v->parents[i], NULL);
	}
	j->hashes = calloc(cap, 32);
	pos = 0;
	while ((s = p2p_hmap_next(&m->map, &pos))) {
		struct mn_vertex *v = s->val;

		if (v->is_block || v->has_fb || v->height != -1 ||
		    p2p_hmap_has(&referenced, v->hash) || v->seq < 3)
			continue;
		if (n == cap) {
			cap *= 2;
			j->hashes = realloc(j->hashes, cap * 32);
		}
		memcpy(j->hashes[n++], v->hash, 32);
	}
	p2p_hmap_release(&referenced);
	j->flags = calloc(n ? n : 1, sizeof(bool));
	((p2p_hashes_cb)j->cb)(j->arg, 0, n, j->flags,
			       (const uint8_t (*)[32])j->hashes);
}

static int op_tips(void *ctx, p2p_hashes_cb cb, void *arg)
{
	struct memnode *m = mn(ctx);

	m->n_calls++;
	submit(m, job_new(m, run_tips, (void *)cb, arg));
	return 0;
}

static void run_htips(struct job *j)
{
	struct memnode *m = j->m;
	size_t n = j->n < m->chain_len ? j->n : m->chain_len, i;

	j->heights = calloc(n ? n : 1, sizeof(uint64_t));
	j->hashes = calloc(n ? n : 1, 32);
	for (i = 0; i < n; i++) {
		j->heights[i] = m->chain_len - 1 - i;
		memcpy(j->hashes[i], m->chain[m->chain_len - 1 - i], 32);
	}
	((p2p_htips_cb)j->cb)(j->arg, 0, n, j->heights,
			      (const uint8_t (*)[32])j->hashes);
}

static int op_htips(void *ctx, unsigned n, p2p_htips_cb cb, void *arg)
{
	struct memnode *m = mn(ctx);
	struct job *j = job_new(m, run_htips, (void *)cb, arg);

	m->n_calls++;
	j->n = n;
	submit(m, j);
	return 0;
}

const struct p2p_node_ops memnode_ops = {
	.best_block = op_best,
	.height_hashes = op_heights,
	.get_vertices = op_vertices,
	.exists = op_exists,
	.add_vertices = op_add,
	.mempool_tips = op_tips,
	.n_height_tips = op_htips,
};

int memnode_add(struct memnode *m, const uint8_t *bytes, size_t len)
{
	char msg[128];

	return (int)add_one(m, bytes, len, msg, sizeof(msg));
}

void memnode_best(struct memnode *m, uint64_t *height, uint8_t hash[32])
{
	*height = m->chain_len - 1;
	memcpy(hash, m->chain[m->chain_len - 1], 32);
}

size_t memnode_count(struct memnode *m)
{
	return m->map.n;
}

size_t memnode_mempool(struct memnode *m)
{
	struct p2p_hmap_slot *s;
	size_t pos = 0, n = 0;

	while ((s = p2p_hmap_next(&m->map, &pos))) {
		struct mn_vertex *v = s->val;

		if (!v->is_block && !v->has_fb && v->seq >= 3)
			n++;
	}
	return n;
}

bool memnode_has(struct memnode *m, const uint8_t hash[32])
{
	return get(m, hash) != NULL;
}

static int cmp_seq(const void *a, const void *b)
{
	const struct mn_vertex *x = *(struct mn_vertex *const *)a;
	const struct mn_vertex *y = *(struct mn_vertex *const *)b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void memnode_foreach(struct memnode *m,
		     void (*fn)(void *arg, const uint8_t *bytes, size_t len),
		     void *arg)
{
	struct mn_vertex **all = calloc(m->map.n + 1, sizeof(*all));
	struct p2p_hmap_slot *s;
	size_t pos = 0, n = 0, i;

	if (!all)
		return;
	while ((s = p2p_hmap_next(&m->map, &pos)))
		if (((struct mn_vertex *)s->val)->seq >= 3)
			all[n++] = s->val;
	qsort(all, n, sizeof(*all), cmp_seq);
	for (i = 0; i < n; i++)
		fn(arg, all[i]->bytes, all[i]->len);
	free(all);
}
