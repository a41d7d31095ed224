/*
 * ledger.c: the accept pipeline (decode, verify, store, consensus, events)
 * and the ledger's queries (see ledger.h).
 *
 * One vertex = one store transaction level: hn_ledger_add_vertex() opens
 * a transaction (or a savepoint inside a batch), inserts the vertex with
 * its initial metadata, runs consensus (core/consensus.c), flushes every
 * metadata and index change, and commits; any failure rolls the level
 * back, so the database never holds half a vertex.  Events are queued
 * while the transaction is open and delivered only after the outermost
 * commit, so a subscriber never sees state that could still be undone.
 */
#include "ledger.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "consensus.h"
#include "ledger_int.h"
#include "metrics.h"
#include "nodesvc.h"
#include "sigcache.h"
#include "store.h"
#include "verify.h"

#include "hn/err.h"
#include "hn/hex.h"
#include "hn/log.h"
#include "hn/network.h"
#include "hn/vertex.h"

#define COMP "ledger"

static double default_now(void *arg)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

double hn_ledger_now(const struct hn_ledger *l)
{
	return l->now(l->now_arg);
}

const struct hn_network *hn_ledger_network(const struct hn_ledger *l)
{
	return l->net;
}

struct hn_store *hn_ledger_store(struct hn_ledger *l)
{
	return l->st;
}

int hn_ledger_open(const struct hn_ledger_opts *opts, struct hn_ledger **out,
		   struct hn_error *err)
{
	struct hn_store_opts so = { 0 };
	struct hn_ledger *l;
	int rc;

	if (!opts || !opts->db_path || !opts->net)
		return hn_error_set(err, HN_EINVAL, "ledger: database path and "
				    "network required");
	l = calloc(1, sizeof(*l));
	if (!l)
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	l->net = opts->net;
	l->now = opts->now ? opts->now : default_now;
	l->now_arg = opts->now_arg;
	l->test_mode = opts->test_mode;
	so.path = opts->db_path;
	so.net = opts->net;
	so.flags = opts->create ? HN_STORE_CREATE : 0;
	so.sync = opts->sync;
	so.cache_mb = opts->cache_mb;
	rc = hn_store_open(&so, &l->st, err);
	if (rc < 0) {
		free(l);
		return rc;
	}
	hn_ledger__verify_init(l);
	{
		struct hn_block_info bi;

		if (hn_ledger_best_block(l, &bi) == 0) {
			char hex[65];

			hn_hex_encode(bi.hash, 32, hex);
			hn_info(COMP, "ledger open at height %llu, best block "
				"'%s'", (unsigned long long)bi.height, hex);
		}
	}
	*out = l;
	return 0;
}

static void pending_clear(struct hn_ledger *l, size_t keep)
{
	for (size_t i = keep; i < l->n_pending; i++) {
		free(l->pending[i].bytes);
		free(l->pending[i].key);
		free(l->pending[i].json);
	}
	l->n_pending = keep;
}

/* A vertex stored in the open batch transaction (struct hn_ledger brec):
 * what storing it again needs. */
struct hn_ledger_brec {
	uint8_t *bytes;         /* owned */
	size_t len;
	int flags;
	double received_at;
};

static void brec_clear(struct hn_ledger *l)
{
	for (size_t i = 0; i < l->n_brec; i++)
		free(l->brec[i].bytes);
	l->n_brec = 0;
	l->brec_broken = false;
}

void hn_ledger_close(struct hn_ledger *l)
{
	if (!l)
		return;
	hn_ledger__unpark(l);
	while (hn_store_depth(l->st))
		hn_store_rollback(l->st);
	brec_clear(l);
	free(l->brec);
	if (l->sigpre) {
		struct hn_sigcache_stats ss;

		hn_sigpre_stop(l->sigpre);
		hn_sigcache_stats(&ss);
		hn_info(COMP, "signatures checked ahead by the worker thread: "
			"%llu verified, %llu used by OP_CHECKSIG, %llu checked "
			"on the loop thread, %llu vertices skipped",
			(unsigned long long)ss.added,
			(unsigned long long)ss.hits,
			(unsigned long long)ss.misses,
			(unsigned long long)ss.skipped);
	}
	pending_clear(l, 0);
	free(l->pending);
	free(l->subs);
	hn_ledger__verify_release(l);
	hn_store_close(l->st);
	free(l);
}

/* --- events ---------------------------------------------------------------- */

int hn_ledger_subscribe(struct hn_ledger *l, hn_ledger_event_cb cb, void *arg)
{
	void *p;

	if (!cb)
		return HN_EINVAL;
	p = realloc(l->subs, (l->n_subs + 1) * sizeof(*l->subs));
	if (!p)
		return HN_ENOMEM;
	l->subs = p;
	l->subs[l->n_subs].cb = cb;
	l->subs[l->n_subs].arg = arg;
	l->n_subs++;
	return 0;
}

void hn_ledger_unsubscribe(struct hn_ledger *l, hn_ledger_event_cb cb,
			   void *arg)
{
	for (size_t i = 0; i < l->n_subs; i++) {
		if (l->subs[i].cb != cb || l->subs[i].arg != arg)
			continue;
		if (l->delivering) {
			l->subs[i].cb = NULL;   /* compacted after delivery */
			l->subs_dirty = true;
		} else {
			memmove(&l->subs[i], &l->subs[i + 1],
				(l->n_subs - i - 1) * sizeof(*l->subs));
			l->n_subs--;
		}
		return;
	}
}

uint64_t hn_ledger_event_seq(const struct hn_ledger *l)
{
	return l->seq;
}

struct hn_ledger_pev *hn_ledger__queue(struct hn_ledger *l,
				       enum hn_ledger_event_type type,
				       const uint8_t hash[32])
{
	struct hn_ledger_pev *e;

	if (l->n_pending == l->cap_pending) {
		size_t ncap = l->cap_pending ? l->cap_pending * 2 : 16;
		void *p = realloc(l->pending, ncap * sizeof(*l->pending));

		if (!p)
			return NULL;
		l->pending = p;
		l->cap_pending = ncap;
	}
	e = &l->pending[l->n_pending++];
	memset(e, 0, sizeof(*e));
	e->ev.type = type;
	if (hash)
		memcpy(e->ev.hash, hash, 32);
	return e;
}

/* Delivers the queued events (after the outermost commit). */
void hn_ledger__deliver(struct hn_ledger *l)
{
	size_t n = l->n_pending;

	if (!n || l->delivering)
		return;
	l->delivering++;
	for (size_t i = 0; i < n; i++) {
		struct hn_ledger_pev *e = &l->pending[i];

		e->ev.seq = ++l->seq;
		e->ev.bytes = e->bytes;
		e->ev.key = e->key;
		e->ev.json = e->json;
		for (size_t j = 0; j < l->n_subs; j++)
			if (l->subs[j].cb)
				l->subs[j].cb(&e->ev, l->subs[j].arg);
	}
	l->delivering--;
	/* Callbacks cannot add vertices, so the queue is unchanged. */
	pending_clear(l, 0);
	if (l->subs_dirty) {
		size_t k = 0;

		for (size_t j = 0; j < l->n_subs; j++)
			if (l->subs[j].cb)
				l->subs[k++] = l->subs[j];
		l->n_subs = k;
		l->subs_dirty = false;
	}
}

/* --- accept pipeline ---------------------------------------------------------- */

static int res_fail(struct hn_ledger_result *res, int code, const char *fmt,
		    ...) HN_PRINTF(3, 4);

static int res_fail(struct hn_ledger_result *res, int code, const char *fmt,
		    ...)
{
	va_list ap;

	res->code = code;
	va_start(ap, fmt);
	vsnprintf(res->msg, sizeof(res->msg), fmt, ap);
	va_end(ap);
	return code;
}

/* Structural checks the ledger needs before it may store a vertex (the
 * DAG must stay well formed whatever the verify module says): known
 * dependencies, parent kinds and order, outputs that exist. */
static int check_deps(struct hn_ledger *l, const struct hn_vertex *v,
		      struct hn_ledger_result *res, uint64_t *height,
		      uint64_t *min_height)
{
	bool block = hn_vertex_is_block(v);
	char hex[65];
	int rc;

	*height = 0;
	*min_height = 0;
	if (block && v->n_parents != 3)
		return res_fail(res, HN_ECONSENSUS, "block must have 3 parents,"
				" has %u", v->n_parents);
	if (!block && v->n_parents != 2)
		return res_fail(res, HN_ECONSENSUS, "transaction must have 2 "
				"parents, has %u", v->n_parents);
	for (unsigned i = 0; i < v->n_parents; i++) {
		struct hn_vmeta pm;

		for (unsigned j = 0; j < i; j++)
			if (!memcmp(v->parents[i], v->parents[j], 32))
				return res_fail(res, HN_ECONSENSUS,
						"duplicate parent");
		hn_hex_encode(v->parents[i], 32, hex);
		rc = hn_store_get_meta(l->st, v->parents[i], HN_VMETA_CORE,
				       &pm);
		if (rc == HN_ENOENT)
			return res_fail(res, HN_ENOENT, "parent '%s' is "
					"unknown", hex);
		if (rc < 0)
			return res_fail(res, rc, "storage error reading parent");
		hn_vmeta_release(&pm);
		if (pm.is_block != (block && i == 0))
			return res_fail(res, HN_ECONSENSUS, "parent '%s' is a "
					"%s, expected a %s", hex,
					pm.is_block ? "block" : "transaction",
					(block && i == 0) ? "block" :
					"transaction");
		if (pm.timestamp >= v->timestamp)
			return res_fail(res, HN_ECONSENSUS, "parent '%s' is "
					"not older than the vertex", hex);
		if (block && i == 0)
			*height = pm.height + 1;
		else if (pm.min_height > *min_height)
			*min_height = pm.min_height;
	}
	for (unsigned i = 0; i < v->n_inputs; i++) {
		const struct hn_tx_input *in = &v->inputs[i];
		struct hn_vertex *sv = NULL;
		struct hn_vmeta sm;

		hn_hex_encode(in->tx_id, 32, hex);
		rc = hn_store_get_meta(l->st, in->tx_id, HN_VMETA_CORE, &sm);
		if (rc == HN_ENOENT)
			return res_fail(res, HN_ENOENT, "input tx '%s' is "
					"unknown", hex);
		if (rc < 0)
			return res_fail(res, rc, "storage error reading input");
		hn_vmeta_release(&sm);
		rc = hn_store_get_vertex(l->st, in->tx_id, &sv);
		if (rc < 0)
			return res_fail(res, rc, "storage error reading input");
		rc = in->index < sv->n_outputs ? 0 : HN_ECONSENSUS;
		hn_vertex_free(sv);
		if (rc < 0)
			return res_fail(res, rc, "input '%s' index %u: no such "
					"output", hex, in->index);
		if (sm.min_height > *min_height)
			*min_height = sm.min_height;
		if (sm.is_block) {
			uint64_t mh = sm.height + l->net->reward_spend_min_blocks
				+ 1;

			if (mh > *min_height)
				*min_height = mh;
		}
	}
	return 0;
}

/* Queues the events of one stored vertex. */
static int queue_events(struct hn_ledger *l, const struct hn_cons *c,
			const struct hn_vertex *v, const uint8_t *bytes,
			size_t len, bool is_voided, uint64_t height)
{
	struct hn_ledger_pev *e;

	e = hn_ledger__queue(l, HN_LEV_VERTEX_ACCEPTED, v->hash);
	if (!e)
		return HN_ENOMEM;
	e->ev.is_block = hn_vertex_is_block(v);
	e->ev.voided = is_voided;
	e->ev.height = height;
	e->ev.len = len;
	e->bytes = malloc(len ? len : 1);
	if (!e->bytes)
		return HN_ENOMEM;
	memcpy(e->bytes, bytes, len);
	for (size_t i = 0; i < c->n_changes; i++) {
		const struct hn_cons_change *ch = &c->changes[i];
		bool self = !memcmp(ch->hash, v->hash, 32);

		if (!self && ch->voided_before != ch->voided_after) {
			e = hn_ledger__queue(l, ch->voided_after ?
					     HN_LEV_VOIDED : HN_LEV_UNVOIDED,
					     ch->hash);
			if (!e)
				return HN_ENOMEM;
			e->ev.is_block = ch->is_block;
		}
		if (ch->mempool_before != ch->mempool_after) {
			e = hn_ledger__queue(l, ch->mempool_after ?
					     HN_LEV_MEMPOOL_ADD :
					     HN_LEV_MEMPOOL_REMOVE, ch->hash);
			if (!e)
				return HN_ENOMEM;
		}
	}
	if (c->reorg) {
		e = hn_ledger__queue(l, HN_LEV_REORG, c->new_best);
		if (!e)
			return HN_ENOMEM;
		e->ev.is_block = true;
		e->ev.height = c->new_height;
		memcpy(e->ev.old_best, c->old_best, 32);
		e->ev.old_height = c->old_height;
		memcpy(e->ev.common, c->common, 32);
		e->ev.reorg_depth = c->old_height - c->common_height;
	}
	if (c->best_changed) {
		uint8_t best[32];
		uint64_t bh;

		if (hn_store_best(l->st, best, &bh) == 0) {
			e = hn_ledger__queue(l, HN_LEV_BEST_BLOCK, best);
			if (!e)
				return HN_ENOMEM;
			e->ev.is_block = true;
			e->ev.height = bh;
		}
	}
	return 0;
}

/* Stores @v and runs consensus inside the current transaction level. */
static int store_and_run(struct hn_ledger *l, const uint8_t *bytes,
			 size_t len, struct hn_vertex *v, uint64_t height,
			 uint64_t min_height, int flags, double received_at,
			 struct hn_ledger_result *res)
{
	struct hn_cons c;
	struct hn_cnode *n;
	struct hn_vmeta m;
	int rc;

	memset(&m, 0, sizeof(m));
	memcpy(m.hash, v->hash, 32);
	m.version = v->version;
	m.is_block = hn_vertex_is_block(v);
	m.timestamp = v->timestamp;
	m.weight = v->weight;
	m.validation = HN_VALID_FULL;
	m.height = m.is_block ? height : 0;
	m.min_height = min_height;
	m.acc_work = hn_weight_to_work(v->weight);
	m.received_at = received_at;
	rc = hn_store_put_vertex(l->st, bytes, len, v, &m);
	if (rc < 0) {
		hn_vertex_free(v);
		return res_fail(res, rc == HN_EEXIST ? HN_EEXIST : HN_EIO,
				"cannot store vertex: %s",
				hn_store_errmsg(l->st));
	}
	if (m.is_block && (rc = hn_ledger__feature_stored(l, v, height)) < 0) {
		hn_vertex_free(v);
		return res_fail(res, HN_EIO, "cannot store feature states: "
				"%s", hn_strerror(rc));
	}
	hn_ledger__daa_note(l, v, m.height);
	hn_cons_init(&c, l->st, l->net);
	c.vctx = l->vctx;
	n = hn_cons_add_new(&c, v, &m);     /* takes v */
	if (!n) {
		hn_cons_release(&c);
		return res_fail(res, HN_ENOMEM, "out of memory");
	}
	rc = hn_cons_update(&c, n);
	if (rc == 0)
		rc = hn_cons_flush(&c);
	if (rc < 0) {
		res_fail(res, HN_EIO, "consensus failed: %s", c.msg);
		hn_cons_release(&c);
		return HN_EIO;
	}
	res->stored = true;
	res->voided = n->m.n_voided_by > 0;
	res->best_changed = c.best_changed;
	res->reorg = c.reorg;
	res->height = m.height;
	if (!(flags & HN_ADD_QUIET)) {
		rc = queue_events(l, &c, n->v, bytes, len, res->voided,
				  m.height);
		if (rc < 0) {
			hn_cons_release(&c);
			return res_fail(res, rc, "out of memory");
		}
	}
	/* The hex only when something is logged: debug is off in a sync. */
	if (c.reorg || hn_log_enabled(HN_LOG_DEBUG)) {
		char hex[65];

		hn_hex_encode(v->hash, 32, hex);
		if (m.is_block)
			hn_debug(COMP, "new %sblock '%s' height %llu",
				 res->voided ? "voided " : "", hex,
				 (unsigned long long)m.height);
		else
			hn_debug(COMP, "new %stx '%s'", res->voided ?
				 "voided " : "", hex);
		if (c.reorg) {
			char ob[65], cb[65];

			hn_hex_encode(c.old_best, 32, ob);
			hn_hex_encode(c.common, 32, cb);
			hn_info(COMP, "reorg: size %llu, previous best '%s', "
				"new best '%s' (height %llu), common '%s'",
				(unsigned long long)(c.old_height -
						     c.common_height), ob,
				hex, (unsigned long long)c.new_height, cb);
		}
	}
	hn_cons_release(&c);
	return 0;
}

/* Keeps a copy of a vertex just stored in the open batch transaction;
 * without memory the batch can only be rolled back whole. */
static void brec_keep(struct hn_ledger *l, const uint8_t *bytes, size_t len,
		      int flags, double received_at)
{
	struct hn_ledger_brec *r;

	if (l->brec_broken)
		return;
	if (l->n_brec == l->cap_brec) {
		size_t cap = l->cap_brec ? l->cap_brec * 2 : 64;
		void *p = realloc(l->brec, cap * sizeof(*l->brec));

		if (!p) {
			l->brec_broken = true;
			return;
		}
		l->brec = p;
		l->cap_brec = cap;
	}
	r = &l->brec[l->n_brec];
	r->bytes = malloc(len ? len : 1);
	if (!r->bytes) {
		l->brec_broken = true;
		return;
	}
	memcpy(r->bytes, bytes, len);
	r->len = len;
	r->flags = flags;
	r->received_at = received_at;
	l->n_brec++;
}

/* A vertex failed inside the batch transaction after writing: rolls the
 * transaction back and stores the batch's earlier vertices again, in the
 * same order with the same receive times and without events (theirs are
 * queued already), so the batch goes on as if the failed vertex had
 * never been tried.  If that fails the batch is lost: its events are
 * dropped and hn_ledger_batch_end() returns HN_EIO, as for a failed
 * commit. */
static void batch_redo(struct hn_ledger *l)
{
	size_t i = 0;

	hn_store_rollback(l->st);
	if (l->brec_broken || hn_store_begin(l->st) < 0)
		goto lost;
	for (i = 0; i < l->n_brec; i++) {
		const struct hn_ledger_brec *r = &l->brec[i];
		struct hn_ledger_result res;
		struct hn_vertex *v = NULL;
		uint64_t height, min_height;

		memset(&res, 0, sizeof(res));
		if (hn_vertex_decode(r->bytes, r->len, &v, NULL, 0) < 0)
			goto lost;
		if (check_deps(l, v, &res, &height, &min_height) < 0) {
			hn_vertex_free(v);
			goto lost;
		}
		if (store_and_run(l, r->bytes, r->len, v, height, min_height,
				  r->flags | HN_ADD_QUIET, r->received_at,
				  &res) < 0)
			goto lost;
	}
	hn_info(COMP, "failed vertex rolled back; %zu vertices of its batch "
		"stored again", l->n_brec);
	return;
lost:
	hn_err(COMP, "cannot store the batch's vertices again (%zu of %zu): "
	       "the batch is rolled back", i, l->n_brec);
	if (hn_store_depth(l->st))
		hn_store_rollback(l->st);
	brec_clear(l);
	pending_clear(l, 0);
	l->batch_lost = true;
}

static int add_vertex(struct hn_ledger *l, const uint8_t *bytes,
		      size_t len, int flags, struct hn_ledger_result *res)
{
	struct hn_ledger_result dummy;
	struct hn_vertex *v = NULL;
	uint64_t height = 0, min_height = 0;
	size_t keep_events;
	char msg[160];
	double now;
	bool outer, redo;
	int rc;

	if (!res)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	if (l->delivering)
		return res_fail(res, HN_EINVAL, "add_vertex called from an "
				"event callback");
	if (l->parked && hn_ledger__unpark(l) < 0)
		return res_fail(res, HN_EIO, "cannot commit the paused batch");
	if (!bytes || !len)
		return res_fail(res, HN_EPARSE, "empty vertex");
	rc = hn_vertex_decode(bytes, len, &v, msg, sizeof(msg));
	if (rc < 0)
		return res_fail(res, rc, "cannot decode vertex: %s", msg);
	memcpy(res->hash, v->hash, 32);
	res->decoded = true;
	res->is_block = hn_vertex_is_block(v);

	/* Known vertex: same bytes is a no-op, other bytes an error. */
	rc = hn_store_exists(l->st, v->hash);
	if (rc < 0) {
		hn_vertex_free(v);
		return res_fail(res, HN_EIO, "storage error");
	}
	if (rc == 1) {
		uint8_t *old = NULL;
		size_t olen = 0;
		bool same;

		rc = hn_store_get_bytes(l->st, v->hash, &old, &olen);
		same = rc == 0 && olen == len && !memcmp(old, bytes, len);
		free(old);
		hn_vertex_free(v);
		if (rc < 0)
			return res_fail(res, HN_EIO, "storage error");
		if (!same) {
			char hex[65];

			hn_hex_encode(res->hash, 32, hex);
			hn_err(COMP, "non-equal vertices with the same id '%s'",
			       hex);
			return res_fail(res, HN_ECONSENSUS, "a different vertex "
					"with the same hash is stored");
		}
		return res_fail(res, HN_EEXIST, "vertex already exists");
	}
	if ((flags & HN_ADD_MEMPOOL) && res->is_block) {
		hn_vertex_free(v);
		return res_fail(res, HN_EINVAL, "a block is not a mempool "
				"transaction");
	}
	if ((double)v->timestamp - hn_ledger_now(l) >
	    (double)l->net->max_future_timestamp_allowed) {
		uint32_t ts = v->timestamp;

		hn_vertex_free(v);
		res->verr_code = HN_VERR_TIMESTAMP;
		return res_fail(res, HN_ECONSENSUS, "%s: ignoring vertex in "
				"the future (timestamp=%u)",
				hn_verr_name(HN_VERR_TIMESTAMP), ts);
	}
	if (hn_network_is_genesis(l->net, v->hash)) {
		hn_vertex_free(v);
		return res_fail(res, HN_EEXIST, "genesis already exists");
	}
	/* Verification first, so every rule it covers is refused with its
	 * reason name; check_deps then computes height and min_height. */
	rc = hn_ledger__verify(l, v, bytes, len, flags, res);
	if (rc == 0)
		rc = check_deps(l, v, res, &height, &min_height);
	if (rc < 0) {
		hn_vertex_free(v);
		return rc;
	}
	if (flags & HN_ADD_DRY_RUN) {
		hn_vertex_free(v);
		return 0;
	}

	/* Outside a transaction the vertex gets its own.  In a batch's
	 * transaction there is no savepoint per vertex: sqlite would copy
	 * every page the vertex touches that the batch already changed into
	 * its statement journal (~10 % of an import's instructions).  A
	 * vertex whose writes fail rolls the batch's transaction back
	 * instead, and the batch's vertices before it are stored again
	 * (batch_redo).  Other nesting keeps a savepoint. */
	if (l->in_batch && l->batch_lost) {
		hn_vertex_free(v);
		return res_fail(res, HN_EIO, "the batch's transaction was "
				"rolled back");
	}
	outer = hn_store_depth(l->st) == 0;
	redo = l->in_batch && hn_store_depth(l->st) == 1;
	keep_events = l->n_pending;
	if (!redo && hn_store_begin(l->st) < 0) {
		hn_vertex_free(v);
		return res_fail(res, HN_EIO, "cannot begin transaction: %s",
				hn_store_errmsg(l->st));
	}
	now = hn_ledger_now(l);
	rc = store_and_run(l, bytes, len, v, height, min_height, flags, now,
			   res);
	if (rc < 0) {
		pending_clear(l, keep_events);
		res->stored = false;
		if (redo)
			batch_redo(l);
		else
			hn_store_rollback(l->st);
		return rc;
	}
	if (redo) {
		brec_keep(l, bytes, len, flags, now);
		return 0;
	}
	if (hn_store_commit(l->st) < 0) {
		/* The level is gone (commit failed and was rolled back). */
		pending_clear(l, keep_events);
		res->stored = false;
		return res_fail(res, HN_EIO, "cannot commit: %s",
				hn_store_errmsg(l->st));
	}
	if (outer)
		hn_ledger__deliver(l);
	return 0;
}

/* Why @rc refused a vertex, as a short word from a bounded set (the
 * metrics label); NULL: not refused (stored, or already known). */
static const char *reject_reason(int rc, const struct hn_ledger_result *res)
{
	switch (rc) {
	case 0:
	case HN_EEXIST:
		return NULL;
	case HN_EPARSE:
		return "parse";
	case HN_EUNSUPPORTED:
		return "unsupported";
	case HN_ENOENT:
		return "missing-deps";
	case HN_EINVAL:
		return "not-allowed";
	case HN_ECONSENSUS:
		return res->verr_code ? hn_verr_name(res->verr_code) :
			"conflict";
	default:
		return "internal";
	}
}

int hn_ledger_add_vertex(struct hn_ledger *l, const uint8_t *bytes,
			 size_t len, int flags, struct hn_ledger_result *res)
{
	struct hn_ledger_result dummy;
	int rc;

	if (!res)
		res = &dummy;
	rc = add_vertex(l, bytes, len, flags, res);
	if (!(flags & HN_ADD_DRY_RUN))
		hn_core_metrics_vertex(!res->decoded ? "unknown" :
				       res->is_block ? "block" : "tx",
				       reject_reason(rc, res));
	return rc;
}

int hn_ledger_batch_begin(struct hn_ledger *l)
{
	if (l->parked && hn_ledger__unpark(l) < 0)
		return HN_EIO;
	if (l->in_batch)
		return HN_EINVAL;
	if (hn_store_begin(l->st) < 0)
		return HN_EIO;
	l->in_batch = true;
	brec_clear(l);
	return 0;
}

int hn_ledger_batch_end(struct hn_ledger *l)
{
	int rc;

	if (!l->in_batch)
		return HN_EINVAL;
	l->in_batch = false;
	l->parked = false;
	brec_clear(l);
	if (l->batch_lost) {
		l->batch_lost = false;
		pending_clear(l, 0);
		return HN_EIO;
	}
	rc = hn_store_commit(l->st);
	if (rc < 0) {
		hn_err(COMP, "batch commit failed, batch rolled back: %s",
		       hn_store_errmsg(l->st));
		pending_clear(l, 0);
		return HN_EIO;
	}
	hn_ledger__deliver(l);
	return 0;
}

void hn_ledger_batch_pause(struct hn_ledger *l)
{
	if (l->in_batch)
		l->parked = true;
}

int hn_ledger_batch_resume(struct hn_ledger *l)
{
	int rc;

	if (l->parked) {
		l->parked = false;
		return 0;
	}
	if (l->park_lost) {
		l->park_lost = false;
		return 2;
	}
	rc = hn_ledger_batch_begin(l);
	return rc < 0 ? rc : 1;
}

int hn_ledger__unpark(struct hn_ledger *l)
{
	if (!l->parked)
		return 0;
	if (hn_ledger_batch_end(l) < 0) {
		l->park_lost = true;
		return HN_EIO;
	}
	return 0;
}

uint64_t hn_ledger_prefetch(struct hn_ledger *l, const struct hn_buf *v,
			    size_t n)
{
	if (!l->sigpre && !l->sigpre_failed) {
		l->sigpre = hn_sigpre_start();
		l->sigpre_failed = !l->sigpre;
	}
	return hn_sigpre_submit(l->sigpre, v, n);
}

void hn_ledger_prefetch_done(struct hn_ledger *l, uint64_t ticket,
			     size_t done)
{
	hn_sigpre_progress(l->sigpre, ticket, done);
}

/* --- queries ------------------------------------------------------------------ */

void hn_ledger_vertex_release(struct hn_ledger_vertex *v)
{
	if (!v)
		return;
	free(v->bytes);
	v->bytes = NULL;
	v->len = 0;
	hn_vmeta_release(&v->meta);
}

int hn_ledger_get(struct hn_ledger *l, const uint8_t hash[32], int fields,
		  struct hn_ledger_vertex *out)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = hn_store_get_meta(l->st, hash, fields, &out->meta);
	if (rc < 0)
		return rc;
	rc = hn_store_get_bytes(l->st, hash, &out->bytes, &out->len);
	if (rc < 0)
		hn_ledger_vertex_release(out);
	return rc;
}

int hn_ledger_best_block(struct hn_ledger *l, struct hn_block_info *out)
{
	struct hn_vmeta m;
	uint8_t h[32];
	int rc = hn_store_best(l->st, h, NULL);

	if (rc < 0)
		return rc;
	rc = hn_store_get_meta(l->st, h, HN_VMETA_CORE, &m);
	if (rc < 0)
		return rc;
	memcpy(out->hash, h, 32);
	out->height = m.height;
	out->timestamp = m.timestamp;
	out->weight = m.weight;
	out->score = m.score;
	hn_vmeta_release(&m);
	return 0;
}

int hn_ledger_block_at_height(struct hn_ledger *l, uint64_t height,
			      uint8_t hash[32])
{
	return hn_store_height_get(l->st, height, hash);
}

int hn_ledger_mempool(struct hn_ledger *l, struct hn_hash_list *out)
{
	return hn_store_mempool_all(l->st, out);
}

int hn_ledger_newest(struct hn_ledger *l, bool blocks, uint64_t ts,
		     const uint8_t *hash, size_t count,
		     struct hn_hash_list *out, bool *has_more)
{
	return hn_store_newest(l->st, blocks, ts, hash, count, out, has_more);
}

int hn_ledger_counts(struct hn_ledger *l, uint64_t *n_blocks, uint64_t *n_txs)
{
	return hn_store_counts(l->st, n_blocks, n_txs);
}

int hn_ledger_check(struct hn_ledger *l, struct hn_error *err)
{
	return hn_store_check(l->st, err);
}

/* Tx parents of @hash (for a genesis: the genesis txs), appended. */
static int tx_parents_of(struct hn_ledger *l, const uint8_t hash[32],
			 bool with_inputs, struct hn_hash_list *out)
{
	struct hn_vertex *v = NULL;
	int rc;

	if (hn_network_is_genesis(l->net, hash)) {
		const struct hn_network *n = l->net;

		if (memcmp(hash, n->genesis_tx1.hash, 32))
			hn_hash_list_push(out, n->genesis_tx1.hash);
		if (memcmp(hash, n->genesis_tx2.hash, 32))
			hn_hash_list_push(out, n->genesis_tx2.hash);
		return 0;
	}
	if ((rc = hn_store_get_vertex(l->st, hash, &v)) < 0)
		return rc;
	for (unsigned i = hn_vertex_is_block(v) ? 1 : 0; i < v->n_parents; i++)
		hn_hash_list_push(out, v->parents[i]);
	for (unsigned i = 0; with_inputs && i < v->n_inputs; i++) {
		struct hn_vmeta m;

		if (hn_store_get_meta(l->st, v->inputs[i].tx_id, HN_VMETA_CORE,
				      &m) == 0) {
			if (!m.is_block)
				hn_hash_list_push(out, v->inputs[i].tx_id);
			hn_vmeta_release(&m);
		}
	}
	hn_vertex_free(v);
	return 0;
}

/* Sorts @l by timestamp (ascending), dropping duplicates. */
static void sort_by_ts(struct hn_ledger *l, struct hn_hash_list *lst)
{
	uint32_t *ts = calloc(lst->n ? lst->n : 1, sizeof(*ts));
	size_t k = 0;

	if (!ts)
		return;
	for (size_t i = 0; i < lst->n; i++) {
		struct hn_vmeta m;

		if (hn_store_get_meta(l->st, lst->h[i], HN_VMETA_CORE, &m) == 0) {
			ts[i] = m.timestamp;
			hn_vmeta_release(&m);
		}
	}
	for (size_t i = 1; i < lst->n; i++) {
		for (size_t j = i; j > 0 && ts[j] < ts[j - 1]; j--) {
			uint8_t t[32];
			uint32_t x = ts[j];

			memcpy(t, lst->h[j], 32);
			memcpy(lst->h[j], lst->h[j - 1], 32);
			memcpy(lst->h[j - 1], t, 32);
			ts[j] = ts[j - 1];
			ts[j - 1] = x;
		}
	}
	for (size_t i = 0; i < lst->n; i++) {
		bool dup = false;

		for (size_t j = 0; j < k; j++)
			if (!memcmp(lst->h[j], lst->h[i], 32))
				dup = true;
		if (!dup) {
			memmove(lst->h[k], lst->h[i], 32);
			ts[k] = ts[i];
			k++;
		}
	}
	lst->n = k;
	free(ts);
}

/* generate_parent_txs (hathor/manager.py), deterministic: the newest
 * candidates are taken where the reference picks at random. */
int hn_ledger_tx_parents(struct hn_ledger *l, uint8_t out[2][32])
{
	struct hn_hash_list tips = { 0 }, cand = { 0 };
	struct hn_block_info best;
	int rc;

	if ((rc = hn_ledger_best_block(l, &best)) < 0)
		return rc;
	if ((rc = hn_store_mempool_tips(l->st, &tips)) < 0)
		return rc;
	sort_by_ts(l, &tips);
	if (tips.n >= 2) {
		memcpy(out[0], tips.h[tips.n - 2], 32);
		memcpy(out[1], tips.h[tips.n - 1], 32);
		goto out;
	}
	/* Repeat confirmed parents: the best block's tx parents and their
	 * own tx parents (and input txs). */
	rc = tx_parents_of(l, best.hash, false, &cand);
	if (rc == 0 && tips.n == 1) {
		rc = tx_parents_of(l, tips.h[0], true, &cand);
	} else if (rc == 0) {
		size_t n0 = cand.n;

		for (size_t i = 0; i < n0 && rc == 0; i++) {
			uint8_t h[32];

			memcpy(h, cand.h[i], 32);
			rc = tx_parents_of(l, h, true, &cand);
		}
	}
	if (rc < 0)
		goto out;
	sort_by_ts(l, &cand);
	if (tips.n == 1) {
		/* Drop the tip itself if it is a candidate. */
		for (size_t i = 0; i < cand.n; i++)
			if (!memcmp(cand.h[i], tips.h[0], 32)) {
				memmove(cand.h[i], cand.h[i + 1],
					(cand.n - i - 1) * 32);
				cand.n--;
				break;
			}
		if (!cand.n) {
			rc = HN_ENOENT;
			goto out;
		}
		memcpy(out[0], cand.h[cand.n - 1], 32);
		memcpy(out[1], tips.h[0], 32);
	} else {
		if (cand.n < 2) {
			rc = HN_ENOENT;
			goto out;
		}
		memcpy(out[0], cand.h[cand.n - 2], 32);
		memcpy(out[1], cand.h[cand.n - 1], 32);
	}
out:
	hn_hash_list_release(&tips);
	hn_hash_list_release(&cand);
	return rc;
}
