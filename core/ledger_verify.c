/*
 * ledger_verify.c: the ledger's side of verification: the hn_verify_ctx
 * callbacks over the store, the call into core/verify.c for every vertex
 * the ledger stores, and what needs the DAA (block templates).
 *
 * A rejection sets res->verr_code (enum hn_verr_code), res->msg to
 * "<reason-name>: <details>" and is logged once here, at info level.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daa.h"
#include "feature.h"
#include "ledger_int.h"
#include "nodesvc.h"
#include "store.h"
#include "verify.h"

#include "hn/err.h"
#include "hn/hex.h"
#include "hn/log.h"
#include "hn/network.h"
#include "hn/vertex.h"

#define COMP "verify"

static int cb_info(void *arg, const uint8_t hash[32],
		   struct hn_verify_info *out)
{
	struct hn_ledger *l = arg;
	struct hn_vmeta m;
	int rc = hn_store_get_meta(l->st, hash, HN_VMETA_CORE, &m);

	if (rc < 0)
		return rc;
	memset(out, 0, sizeof(*out));
	out->is_block = m.is_block;
	out->version = m.version;
	out->timestamp = m.timestamp;
	out->weight = m.weight;
	out->height = m.height;
	out->min_height = m.min_height;
	out->is_genesis = hn_network_is_genesis(l->net, hash);
	out->voided = m.n_voided_by > 0;
	out->has_first_block = m.has_first_block;
	hn_vmeta_release(&m);
	return 0;
}

static int cb_vertex(void *arg, const uint8_t hash[32], struct hn_vertex **out)
{
	struct hn_ledger *l = arg;

	return hn_store_get_vertex(l->st, hash, out);
}

/* Fills one DAA entry from @hash's metadata; *@height is its height. */
static int chain_entry(struct hn_ledger *l, const uint8_t hash[32],
		       struct hn_daa_block *out, uint64_t *height)
{
	struct hn_vmeta m;
	int rc = hn_store_get_meta(l->st, hash, HN_VMETA_CORE, &m);

	if (rc < 0)
		return rc;
	out->timestamp = m.timestamp;
	out->weight = m.weight;
	*height = m.height;
	hn_vmeta_release(&m);
	return 0;
}

/*
 * The DAA walk of every new block reads the metadata of the ~20 blocks
 * below it (and the height index to find each parent): ~40 sqlite
 * lookups per block, a fifth of a sync's core time.  What it reads of a
 * block (timestamp, weight, height, parent) never changes once the block
 * exists (a reorg changes which chain is best, not a block's parent or
 * height), so the entries are cached by hash, direct-mapped, with no
 * invalidation.  An entry of a block whose storing was rolled back stays
 * true for that hash.
 */
#define DAA_CACHE 4096                  /* power of two */

struct daa_cent {
	uint8_t hash[32];
	uint8_t parent[32];
	uint64_t height;
	double weight;
	uint32_t timestamp;
	bool used;
};

static struct daa_cent *daa_slot(struct hn_ledger *l, const uint8_t h[32])
{
	uint32_t x;

	if (!l->daa_cache)
		return NULL;
	/* The last bytes: the first ones are the PoW's zeros. */
	memcpy(&x, h + 28, sizeof(x));
	return &l->daa_cache[x & (DAA_CACHE - 1)];
}

/* @n blocks from @hash down parents[0].  Off the best chain the walk
 * decodes each block for its parent; once it reaches a block of the
 * best chain (height index), it follows the height index instead.
 * Blocks whose parent is known come from the cache. */
static int cb_chain(void *arg, const uint8_t hash[32], size_t n,
		    struct hn_daa_block *out)
{
	struct hn_ledger *l = arg;
	uint8_t cur[32], at[32];
	bool on_best = false;
	uint64_t h = 0;
	int rc;

	memcpy(cur, hash, 32);
	for (size_t i = 0; i < n; i++) {
		struct daa_cent *e = daa_slot(l, cur);
		uint8_t was[32];

		if (e && e->used && !memcmp(e->hash, cur, 32)) {
			out[i].timestamp = e->timestamp;
			out[i].weight = e->weight;
			h = e->height;
			if (i + 1 == n)
				break;
			memcpy(cur, e->parent, 32);
			on_best = false;
			continue;
		}
		if ((rc = chain_entry(l, cur, &out[i], &h)) < 0)
			return rc;
		if (i + 1 == n)
			break;
		if (h == 0)
			return HN_EINVAL;       /* genesis has no parent */
		memcpy(was, cur, 32);
		if (!on_best) {
			rc = hn_store_height_get(l->st, h, at);
			if (rc < 0 && rc != HN_ENOENT)
				return rc;
			on_best = rc == 0 && !memcmp(at, cur, 32);
		}
		if (on_best) {
			if ((rc = hn_store_height_get(l->st, h - 1, cur)) < 0)
				return rc;
		} else {
			struct hn_vertex *v = NULL;

			if ((rc = hn_store_get_vertex(l->st, cur, &v)) < 0)
				return rc;
			if (v->n_parents < 1) {
				hn_vertex_free(v);
				return HN_EINVAL;
			}
			memcpy(cur, v->parents[0], 32);
			hn_vertex_free(v);
		}
		if (e) {
			memcpy(e->hash, was, 32);
			memcpy(e->parent, cur, 32);
			e->height = h;
			e->weight = out[i].weight;
			e->timestamp = out[i].timestamp;
			e->used = true;
		}
	}
	return 0;
}

void hn_ledger__daa_note(struct hn_ledger *l, const struct hn_vertex *v,
			 uint64_t height)
{
	struct daa_cent *e;

	if (!hn_vertex_is_block(v) || v->n_parents < 1 ||
	    !(e = daa_slot(l, v->hash)))
		return;
	memcpy(e->hash, v->hash, 32);
	memcpy(e->parent, v->parents[0], 32);
	e->height = height;
	e->weight = v->weight;
	e->timestamp = v->timestamp;
	e->used = true;
}

static int cb_spenders(void *arg, const uint8_t tx[32], uint8_t index,
		       uint8_t (*out)[32], size_t max, size_t *n)
{
	struct hn_ledger *l = arg;
	struct hn_hash_list sp = { 0 };
	int rc = hn_store_get_spenders(l->st, tx, index, &sp);

	if (rc < 0) {
		hn_hash_list_release(&sp);
		return rc;
	}
	*n = sp.n;
	if (sp.n)
		memcpy(out, sp.h, (sp.n < max ? sp.n : max) * 32);
	hn_hash_list_release(&sp);
	return 0;
}

static int cb_best_height(void *arg, uint64_t *height)
{
	struct hn_ledger *l = arg;
	uint8_t h[32];

	return hn_store_best(l->st, h, height);
}

static double cb_now(void *arg)
{
	return hn_ledger_now(arg);
}

/* The feature machine's source: blocks, records and the height index
 * from the store. */
static int fa_load(void *arg, const uint8_t hash[32], struct hn_fa_rec *out)
{
	struct hn_store_fa r;
	int rc = hn_store_fa_get(arg, hash, &r);

	if (rc < 0)
		return rc;
	out->height = r.height;
	out->states = r.states;
	memcpy(out->counts, r.counts, sizeof(out->counts));
	return 0;
}

static int fa_save(void *arg, const uint8_t hash[32],
		   const struct hn_fa_rec *in)
{
	struct hn_store_fa r;

	r.height = in->height;
	r.states = in->states;
	memcpy(r.counts, in->counts, sizeof(r.counts));
	return hn_store_fa_put(arg, hash, &r);
}

static int fa_at_height(void *arg, uint64_t height, uint8_t out[32])
{
	return hn_store_height_get(arg, height, out);
}

/* Opening: persisted records of another feature table are dropped, and
 * a database without records for its chain (schema 1, or records
 * dropped) gets them now, up to the best block, a batch of heights per
 * transaction, so the loop never has to. */
#define FA_WARM_BATCH 50000

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void fa_open(struct hn_ledger *l)
{
	struct hn_fa_source src = {
		.get = hn_fa_store_get, .load = fa_load, .save = fa_save,
		.at_height = fa_at_height, .arg = l->st,
	};
	struct hn_store_fa probe;
	struct hn_fa_rec r;
	uint8_t best[32], h[32];
	uint64_t bh, reads;
	char key[64];
	double t0;
	int rc;

	if (!(l->fa = hn_fa_new_src(l->net, &src)))
		return;
	hn_fa_net_key(l->net, key, sizeof(key));
	if (hn_store_fa_key(l->st, key) < 0 ||
	    hn_store_best(l->st, best, &bh) < 0 ||
	    hn_store_fa_get(l->st, best, &probe) != HN_ENOENT)
		return;
	t0 = mono_now();
	for (uint64_t at = 0; at < bh;) {
		at = bh - at > FA_WARM_BATCH ? at + FA_WARM_BATCH : bh;
		if (hn_store_begin(l->st) < 0)
			return;
		rc = hn_store_height_get(l->st, at, h);
		if (rc == 0)
			rc = hn_fa_rec(l->fa, h, &r);
		if (rc < 0) {
			hn_store_rollback(l->st);
			hn_warn(COMP, "cannot compute feature states at height "
				"%llu: %s", (unsigned long long)at,
				hn_strerror(rc));
			return;
		}
		if (hn_store_commit(l->st) < 0)
			return;
	}
	reads = hn_fa_reads(l->fa);
	if (reads > 1)
		hn_info(COMP, "feature states computed up to height %llu "
			"(%llu block reads, %.1f s)", (unsigned long long)bh,
			(unsigned long long)reads, mono_now() - t0);
}

int hn_ledger__feature_stored(struct hn_ledger *l, const struct hn_vertex *v,
			      uint64_t height)
{
	struct hn_fa_block b;

	if (!l->fa)
		return HN_ENOMEM;
	b.height = height;
	b.signal_bits = v->signal_bits;
	memcpy(b.parent, v->parents[0], 32);
	return hn_fa_block_stored(l->fa, v->hash, &b);
}

static int cb_daa_config(void *arg, const uint8_t parent[32],
			 uint64_t parent_height, struct hn_daa_config *cfg)
{
	struct hn_ledger *l = arg;

	if (!l->fa)
		return HN_ENOMEM;
	return hn_fa_daa_config(l->fa, parent, parent_height, cfg, NULL);
}

/* The states of @v's features: a block from its parent's record and its
 * own bits (it is not stored yet), a tx at the best block. */
static int cb_features(void *arg, const struct hn_vertex *v,
		       struct hn_verify_features *out)
{
	struct hn_ledger *l = arg;
	size_t n = l->net->n_features, miss;
	struct hn_fa_rec pr, br;
	uint8_t best[32];
	uint64_t bh;
	int rc;

	memset(out, 0, sizeof(*out));
	out->missing_signal = -1;
	if (!l->fa)
		return HN_ENOMEM;
	if (!n)
		return 0;
	if (!hn_vertex_is_block(v)) {
		if ((rc = hn_store_best(l->st, best, &bh)) < 0 ||
		    (rc = hn_fa_rec(l->fa, best, &br)) < 0)
			return rc;
		for (size_t i = 0; i < n; i++)
			if (hn_fa_rec_state(&br, i) == HN_FS_ACTIVE)
				out->active |= 1u << i;
		return 0;
	}
	if (v->n_parents < 1)
		return HN_EINVAL;
	if ((rc = hn_fa_rec(l->fa, v->parents[0], &pr)) < 0 ||
	    (rc = hn_fa_child_rec(l->fa, v->parents[0], v->signal_bits,
				  &br)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		if (hn_fa_rec_state(&pr, i) == HN_FS_ACTIVE)
			out->active |= 1u << i;
		if (hn_fa_rec_state(&br, i) == HN_FS_ACTIVE)
			out->active_self |= 1u << i;
	}
	if (hn_fa_rec_missing_signal(l->fa, &br, &miss) == 1)
		out->missing_signal = (int)miss;
	return 0;
}

void hn_ledger__verify_init(struct hn_ledger *l)
{
	struct hn_verify_ctx *c = calloc(1, sizeof(*c));

	/* Without memory the ledger refuses every vertex (see below). */
	if (c) {
		c->net = l->net;
		c->arg = l;
		c->get_info = cb_info;
		c->get_vertex = cb_vertex;
		c->block_chain = cb_chain;
		c->spenders = cb_spenders;
		c->best_height = cb_best_height;
		c->now = cb_now;
		c->daa_config = cb_daa_config;
		c->features = cb_features;
		c->test_mode = l->test_mode;
	}
	l->vctx = c;
	/* Without it every block is refused (internal error). */
	fa_open(l);
	/* Without it the walk reads the store every time. */
	l->daa_cache = calloc(DAA_CACHE, sizeof(*l->daa_cache));
}

void hn_ledger__verify_release(struct hn_ledger *l)
{
	free(l->vctx);
	l->vctx = NULL;
	hn_fa_free(l->fa);
	l->fa = NULL;
	free(l->daa_cache);
	l->daa_cache = NULL;
}

struct hn_fa *hn_ledger_fa(struct hn_ledger *l)
{
	return l->fa;
}

const struct hn_verify_ctx *hn_ledger_verify_ctx(struct hn_ledger *l)
{
	return l->vctx;
}

/* VertexHandler entry point -> VerificationParams. */
static int verify_flags(int add_flags)
{
	int f = HN_VERIFY_REJECT_LOCKED_REWARD;

	if (add_flags & (HN_ADD_MEMPOOL | HN_ADD_PUSH_TX))
		f |= HN_VERIFY_MEMPOOL;
	/* on_new_relayed_vertex: Features.for_mempool (the restrictive
	 * features on). */
	if (add_flags & HN_ADD_RELAYED)
		f |= HN_VERIFY_FA_CHECKDATASIG | HN_VERIFY_FA_OPCODES_V2;
	return f;
}

int hn_ledger__verify(struct hn_ledger *l, const struct hn_vertex *v,
		      const uint8_t *bytes, size_t len, int flags,
		      struct hn_ledger_result *res)
{
	struct hn_verr err;
	uint64_t height = 0;
	char hex[65];
	int rc;

	(void)bytes;
	(void)len;
	if (!l->vctx) {
		res->code = HN_ENOMEM;
		snprintf(res->msg, sizeof(res->msg), "out of memory");
		return res->code;
	}
	if (hn_vertex_is_block(v) && v->n_parents > 0) {
		struct hn_vmeta pm;

		rc = hn_store_get_meta(l->st, v->parents[0], HN_VMETA_CORE,
				       &pm);
		if (rc == 0) {
			height = pm.height + 1;
			hn_vmeta_release(&pm);
		}
	}
	rc = hn_verify_vertex(l->vctx, v, height, verify_flags(flags), &err);
	if (rc == 0)
		return 0;
	res->code = rc;
	res->verr_code = err.code;
	snprintf(res->msg, sizeof(res->msg), "%s: %s",
		 hn_verr_name(err.code), err.msg);
	hn_hex_encode(v->hash, 32, hex);
	hn_info(COMP, "rejected %s '%s': %s", hn_vertex_is_block(v) ?
		"block" : "tx", hex, res->msg);
	return rc;
}

/* BitSignalingService._calculate_feature_signals without --signal-support
 * options: a feature in a signaling state at @best signals when it
 * signals support by default, or once it has been seen in MUST_SIGNAL
 * (on_must_signal enables its support for good). */
static int template_signal_bits(struct hn_ledger *l, const uint8_t best[32],
				uint8_t *bits)
{
	struct hn_fa_rec r;
	int rc;

	*bits = 0;
	if (!l->net->n_features)
		return 0;
	if ((rc = hn_fa_rec(l->fa, best, &r)) < 0)
		return rc;
	for (size_t i = 0; i < l->net->n_features; i++) {
		const struct hn_feature *f = &l->net->features[i];
		enum hn_feature_state s = hn_fa_rec_state(&r, i);

		if (s == HN_FS_MUST_SIGNAL)
			l->fa_must_signal |= 1u << i;
		if (s != HN_FS_STARTED && s != HN_FS_MUST_SIGNAL &&
		    s != HN_FS_LOCKED_IN)
			continue;
		if (f->signal_support_by_default ||
		    (l->fa_must_signal & (1u << i)))
			*bits |= (uint8_t)(1u << f->bit);
	}
	return 0;
}

int hn_ledger_block_template(struct hn_ledger *l, uint32_t timestamp,
			     struct hn_block_template *out)
{
	struct hn_block_info best;
	struct hn_daa_config cfg;
	uint8_t txp[2][32];
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = hn_ledger_best_block(l, &best)) < 0)
		return rc;
	memcpy(out->parents[0], best.hash, 32);
	if ((rc = hn_ledger_tx_parents(l, txp)) < 0)
		return rc;
	memcpy(out->parents[1], txp[0], 32);
	memcpy(out->parents[2], txp[1], 32);
	out->height = best.height + 1;
	out->min_timestamp = best.timestamp + 1;
	out->timestamp = timestamp > out->min_timestamp ? timestamp :
		out->min_timestamp;
	if (!l->vctx)
		return HN_ENOMEM;
	rc = hn_verify_block_weight(l->vctx, best.hash, out->timestamp,
				    &out->weight);
	if (rc < 0)
		return rc;
	if (!l->fa)
		return HN_ENOMEM;
	rc = hn_fa_daa_config(l->fa, best.hash, best.height, &cfg,
			      &out->v2_start_height);
	if (rc < 0)
		return rc;
	out->reward = hn_daa_reward(l->net, &cfg, out->height);
	out->avg_time = cfg.avg_time;
	out->reward_reduction_factor = cfg.reward_reduction_factor;
	return template_signal_bits(l, best.hash, &out->signal_bits);
}

int hn_nodesvc_verify_basic(struct hn_ledger *l, const uint8_t *bytes,
			    size_t len, struct hn_verr *verr)
{
	struct hn_verr local;
	struct hn_vertex *v = NULL;
	struct hn_vmeta pm;
	uint64_t height = 0;
	char msg[160];
	int rc;

	if (!verr)
		verr = &local;
	memset(verr, 0, sizeof(*verr));
	rc = hn_vertex_decode(bytes, len, &v, msg, sizeof(msg));
	if (rc < 0) {
		snprintf(verr->msg, sizeof(verr->msg), "%s", msg);
		return HN_EPARSE;
	}
	if (!l->vctx) {
		hn_vertex_free(v);
		return HN_ENOMEM;
	}
	if (hn_vertex_is_block(v) && v->n_parents > 0 &&
	    hn_store_get_meta(l->st, v->parents[0], HN_VMETA_CORE, &pm) == 0) {
		height = pm.height + 1;
		hn_vmeta_release(&pm);
	}
	rc = hn_verify_basic(l->vctx, v, height, 0, verr);
	hn_vertex_free(v);
	return rc;
}
