/*
 * node_direct.c: the node service of hathor/node.h by direct calls into
 * core/nodesvc.h (see node_direct.h).  The shapes, codes and messages
 * follow core/ipc_node.c (the node.ipc side of the same table) so that a
 * plugin sees the same results in both modes.
 */
#include "node_direct.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <ev.h>
#include <json-c/json.h>

#include "intake.h"
#include "ledger.h"
#include "nodesvc.h"
#include "store.h"

#include "hn/err.h"
#include "hn/log.h"
#include "hn/plugin_load.h"

#define COMP "node-direct"

enum op {
	OP_VERTEX = 1, OP_VERTICES, OP_BLOCK_DEPS, OP_VERIFY, OP_PUBLISH,
	OP_GENESIS, OP_GET_VERTEX, OP_GET_BLOCK, OP_PARENT, OP_BEST,
	OP_LATEST_TS, OP_FIRST_TS, OP_EXISTS, OP_PEXISTS, OP_CAN_VALIDATE,
	OP_COMPARE, OP_BB_TIPS, OP_NH_TIPS, OP_HEIGHT_GET, OP_MEMPOOL_TIPS,
	OP_TX_TIPS, OP_MERKLE, OP_RANGE, OP_VINFOS, OP_EXISTS_MANY,
	OP_PEXISTS_MANY, OP_HEIGHT_MANY,
};

union pcb {
	hathor_add_cb add;
	hathor_verify_cb verify;
	hathor_done_cb done;
	hathor_vertex_cb vertex;
	hathor_u64_cb u64;
	hathor_bool_cb b;
	hathor_hashes_cb hashes;
	hathor_height_tips_cb htips;
	hathor_hash_cb hash;
	hathor_tip_intervals_cb tips;
	hathor_merkle_cb merkle;
	hathor_range_cb range;
	hathor_vinfos_cb vinfos;
	hathor_bools_cb bools;
	hathor_hashes_found_cb hfound;
};

struct call {
	struct call *next;
	struct hathor_host *h;
	enum op op;
	union pcb cb;
	void *arg;
	bool done;                      /* callback ran */

	/* Inputs (owned copies). */
	int origin;
	uint8_t hash[32];
	uint64_t u1, u2;
	size_t count;
	bool flag;
	uint8_t *bytes;                 /* one vertex / the block */
	size_t len;
	struct hn_buf *v;               /* batch / deps */
	size_t n;
	uint8_t (*hashes)[32];
	uint64_t *heights;
	char *key, *json;

	/* on_new_vertices: results; in slices, the batch (core/intake.c). */
	struct hn_ledger_result *res;
	struct hn_intake_batch b;
};

struct hn_node_direct {
	struct ev_loop *loop;
	struct hn_ledger *ledger;
	struct hn_intake_sched sched;   /* next run of the queue */
	struct call *head, *tail;
	struct call *job;               /* batch in slices, off the queue */
	struct call *cur;               /* being run (off the queue) */
	unsigned slice_us, slice_max;
	bool closing;
	struct hn_plugin_rt *rt;        /* events go here */
	bool subscribed;
	uint64_t epoch;
	struct hn_node_direct_stats st;
};

#define mono_us hn_intake_mono_us

static struct hn_node_direct *ND(struct hathor_host *h)
{
	return hn_plugin_host_node_ctx(h);
}

/* --- completion --------------------------------------------------------- */

static void call_free(struct call *c)
{
	size_t i;

	if (!c)
		return;
	free(c->bytes);
	for (i = 0; c->v && i < c->n; i++)
		free((void *)c->v[i].data);
	free(c->v);
	free(c->hashes);
	free(c->heights);
	free(c->key);
	free(c->json);
	free(c->res);
	free(c);
}

/* True once: the caller may run the callback now. */
static bool take(struct hn_node_direct *nd, struct call *c)
{
	if (c->done)
		return false;
	c->done = true;
	nd->st.completed++;
	return true;
}

static void fail(struct hn_node_direct *nd, struct call *c, int rc,
		 const char *msg)
{
	static const uint8_t zero[32];

	if (!take(nd, c))
		return;
	if (!msg)
		msg = hn_strerror(rc);
	switch (c->op) {
	case OP_VERTEX:
	case OP_VERTICES:
	case OP_BLOCK_DEPS:
		c->cb.add(c->arg, rc, msg, 0, NULL);
		break;
	case OP_VERIFY:
		c->cb.verify(c->arg, rc, msg, 0);
		break;
	case OP_PUBLISH:
		c->cb.done(c->arg, rc, msg);
		break;
	case OP_GENESIS:
	case OP_GET_VERTEX:
	case OP_GET_BLOCK:
	case OP_PARENT:
	case OP_BEST:
		c->cb.vertex(c->arg, rc, msg, NULL);
		break;
	case OP_LATEST_TS:
	case OP_FIRST_TS:
		c->cb.u64(c->arg, rc, msg, 0);
		break;
	case OP_EXISTS:
	case OP_PEXISTS:
	case OP_CAN_VALIDATE:
	case OP_COMPARE:
		c->cb.b(c->arg, rc, msg, false);
		break;
	case OP_BB_TIPS:
	case OP_MEMPOOL_TIPS:
		c->cb.hashes(c->arg, rc, msg, 0, NULL);
		break;
	case OP_NH_TIPS:
		c->cb.htips(c->arg, rc, msg, 0, NULL);
		break;
	case OP_HEIGHT_GET:
		c->cb.hash(c->arg, rc, msg, zero);
		break;
	case OP_TX_TIPS:
		c->cb.tips(c->arg, rc, msg, 0, NULL);
		break;
	case OP_MERKLE:
		c->cb.merkle(c->arg, rc, msg, zero, 0, NULL);
		break;
	case OP_RANGE:
		c->cb.range(c->arg, rc, msg, 0, NULL, false, 0, 0);
		break;
	case OP_VINFOS:
		c->cb.vinfos(c->arg, rc, msg, 0, NULL);
		break;
	case OP_EXISTS_MANY:
	case OP_PEXISTS_MANY:
		c->cb.bools(c->arg, rc, msg, 0, NULL);
		break;
	case OP_HEIGHT_MANY:
		c->cb.hfound(c->arg, rc, msg, 0, NULL, NULL);
		break;
	}
}

/* --- conversions (as core/ipc_node.c encodes them) ---------------------- */

static void vinfo_of(struct hn_ledger *l, const struct hn_nodesvc_vertex *v,
		     struct hathor_vinfo *o)
{
	const struct hn_vmeta *m = &v->meta;

	memset(o, 0, sizeof(*o));
	o->found = true;
	memcpy(o->hash, m->hash, 32);
	o->bytes = v->bytes;
	o->len = v->len;
	o->is_block = m->is_block;
	o->voided = m->n_voided_by > 0;
	o->fully_valid = m->validation == HN_VALID_FULL;
	o->height = m->is_block ? (int64_t)m->height : -1;
	o->first_block_height = -1;
	if (!m->is_block && m->has_first_block) {
		struct hn_nodesvc_vertex fb = { 0 };

		o->has_first_block = true;
		memcpy(o->first_block, m->first_block, 32);
		if (hn_nodesvc_get_vertex(l, m->first_block, HN_VMETA_CORE,
					  &fb) == 0)
			o->first_block_height = (int64_t)fb.meta.height;
		hn_nodesvc_vertex_release(&fb);
	}
	o->timestamp = m->timestamp;
	o->weight = m->weight;
}

static uint32_t add_status(int rc, const struct hn_ledger_result *r)
{
	if (rc == 0)
		return r->stored ? HATHOR_ADD_ACCEPTED : HATHOR_ADD_KNOWN;
	switch (rc) {
	case HN_EEXIST:
		return HATHOR_ADD_KNOWN;
	case HN_ENOENT:
		return HATHOR_ADD_MISSING_DEPS;
	case HN_EPARSE:
	case HN_EUNSUPPORTED:
	case HN_ECONSENSUS:
	case HN_EINVAL:
		return HATHOR_ADD_INVALID;
	default:
		return HATHOR_ADD_FAILED;
	}
}

/* @o->msg points into @r or is static: valid while @r is. */
static void add_res(int rc, const struct hn_ledger_result *r,
		    const char *msg_override, struct hathor_add_result *o)
{
	uint32_t st = add_status(rc, r);

	memset(o, 0, sizeof(*o));
	o->status = st;
	o->code = st == HATHOR_ADD_ACCEPTED || st == HATHOR_ADD_KNOWN ? 0 :
		  (rc < 0 ? rc : HN_EIO);
	o->decoded = r->decoded;
	if (r->decoded)
		memcpy(o->hash, r->hash, 32);
	o->is_block = r->is_block;
	o->voided = r->voided;
	o->best_changed = r->best_changed;
	o->height = r->height;
	if (msg_override)
		o->msg = msg_override;
	else if (st != HATHOR_ADD_ACCEPTED && st != HATHOR_ADD_KNOWN)
		o->msg = r->msg[0] ? r->msg : hn_strerror(rc);
}

/* --- running the calls -------------------------------------------------- */

static void x_vertex_get(struct hn_node_direct *nd, struct call *c)
{
	struct hn_nodesvc_vertex v = { 0 };
	struct hathor_vinfo vi;
	const char *enoent = NULL;
	int rc;

	switch (c->op) {
	case OP_GENESIS:
		rc = hn_nodesvc_get_genesis(nd->ledger, c->hash, &v);
		enoent = "not a genesis of this network";
		break;
	case OP_GET_VERTEX:
		rc = hn_nodesvc_get_vertex(nd->ledger, c->hash, HN_VMETA_CORE,
					   &v);
		enoent = "vertex not found";
		break;
	case OP_GET_BLOCK:
		rc = hn_nodesvc_get_block(nd->ledger, c->hash, HN_VMETA_CORE,
					  &v);
		enoent = "block not found";
		break;
	case OP_PARENT:
		rc = hn_nodesvc_get_parent_block(nd->ledger, c->hash,
						 HN_VMETA_CORE, &v);
		enoent = "block not found";
		break;
	default:
		rc = hn_nodesvc_get_best_block(nd->ledger, HN_VMETA_CORE, &v);
		break;
	}
	if (rc < 0) {
		hn_nodesvc_vertex_release(&v);
		fail(nd, c, rc, rc == HN_ENOENT ? enoent : NULL);
		return;
	}
	vinfo_of(nd->ledger, &v, &vi);
	if (take(nd, c))
		c->cb.vertex(c->arg, 0, NULL, &vi);
	hn_nodesvc_vertex_release(&v);
}

static void x_on_vertex(struct hn_node_direct *nd, struct call *c)
{
	struct hn_ledger_result r = { 0 };
	struct hathor_add_result ar;
	int rc;

	rc = hn_nodesvc_on_new_vertex(nd->ledger, c->bytes, c->len,
				      (enum hn_nodesvc_origin)c->origin, &r);
	add_res(rc, &r, NULL, &ar);
	if (take(nd, c))
		c->cb.add(c->arg, 0, NULL, 1, &ar);
}

/* Results of the @done vertices handled (as ipc_node.c's batch_reply). */
static void batch_done(struct hn_node_direct *nd, struct call *c,
		       size_t done, int rc, size_t fail_at)
{
	struct hathor_add_result *ar;
	size_t i;

	ar = calloc(done ? done : 1, sizeof(*ar));
	if (!ar) {
		fail(nd, c, HN_ENOMEM, "out of memory");
		return;
	}
	for (i = 0; i < done; i++)
		add_res(rc < 0 && i >= fail_at ? rc : c->res[i].code,
			&c->res[i], NULL, &ar[i]);
	if (take(nd, c))
		c->cb.add(c->arg, 0, NULL, done, ar);
	free(ar);
}

/* The whole batch in one commit (slicing off, or one vertex). */
static void x_on_vertices_whole(struct hn_node_direct *nd, struct call *c)
{
	size_t done = 0;
	int rc;

	rc = hn_nodesvc_on_new_vertices(nd->ledger, c->v, c->n,
					(enum hn_nodesvc_origin)c->origin,
					c->res, &done);
	if (rc < 0 && done == 0) {
		fail(nd, c, rc, "batch commit failed");
		return;
	}
	batch_done(nd, c, done, rc, 0);
}

/* One slice of the batch @c (core/intake.c) within @budget_us. */
static void job_slice(struct hn_node_direct *nd, struct call *c,
		      unsigned budget_us)
{
	struct hn_intake_slice_info si;

	hn_intake_slice(nd->ledger, &c->b, budget_us, nd->slice_max, &si);
	if (!si.us)
		return;
	nd->st.slices++;
	if (si.us > nd->st.max_slice_us)
		nd->st.max_slice_us = si.us;
	if (si.us > HN_INTAKE_SLOW_US)
		nd->st.slow_slices++;
}

static void job_finish(struct hn_node_direct *nd, struct call *c)
{
	if (c->b.begin_failed && c->b.fail_at == 0)
		fail(nd, c, c->b.rc, "batch commit failed");
	else
		batch_done(nd, c, c->b.next, c->b.rc, c->b.fail_at);
}

static void x_on_block(struct hn_node_direct *nd, struct call *c)
{
	struct hn_ledger_result bres = { 0 }, *dres;
	struct hathor_add_result *ar;
	size_t i;
	int rc;

	dres = calloc(c->n ? c->n : 1, sizeof(*dres));
	ar = calloc(c->n + 1, sizeof(*ar));
	if (!dres || !ar) {
		free(dres);
		free(ar);
		fail(nd, c, HN_ENOMEM, "out of memory");
		return;
	}
	rc = hn_nodesvc_on_new_block(nd->ledger, c->bytes, c->len, c->v, c->n,
				     &bres, dres);
	add_res(rc, &bres, NULL, &ar[0]);
	for (i = 0; i < c->n; i++) {
		/* A dep never tried (an earlier one failed): not handled. */
		bool tried = dres[i].decoded || dres[i].code != 0 ||
			     dres[i].msg[0];

		if (tried)
			add_res(dres[i].code, &dres[i], NULL, &ar[i + 1]);
		else
			add_res(HN_EIO, &dres[i], "not tried: an earlier "
				"dependency failed", &ar[i + 1]);
	}
	if (take(nd, c))
		c->cb.add(c->arg, 0, NULL, c->n + 1, ar);
	free(ar);
	free(dres);
}

static void x_verify(struct hn_node_direct *nd, struct call *c)
{
	int rc = hn_nodesvc_verify_basic(nd->ledger, c->bytes, c->len, NULL);

	if (rc < 0 && rc != HN_EPARSE && rc != HN_ECONSENSUS &&
	    rc != HN_EUNSUPPORTED) {
		fail(nd, c, rc, NULL);
		return;
	}
	if (take(nd, c))
		c->cb.verify(c->arg, rc, rc < 0 ? hn_strerror(rc) : NULL, 0);
}

static void x_publish(struct hn_node_direct *nd, struct call *c)
{
	int rc = hn_nodesvc_publish(nd->ledger, c->key, c->json);

	if (rc < 0)
		fail(nd, c, rc, NULL);
	else if (take(nd, c))
		c->cb.done(c->arg, 0, NULL);
}

static void x_u64(struct hn_node_direct *nd, struct call *c)
{
	uint64_t ts = 0;
	int rc = c->op == OP_LATEST_TS ?
		 hn_nodesvc_get_latest_timestamp(nd->ledger, &ts) :
		 hn_nodesvc_get_first_timestamp(nd->ledger, &ts);

	if (rc < 0)
		fail(nd, c, rc, NULL);
	else if (take(nd, c))
		c->cb.u64(c->arg, 0, NULL, ts);
}

static void x_bool(struct hn_node_direct *nd, struct call *c)
{
	bool v = false;
	int rc = 0;

	switch (c->op) {
	case OP_EXISTS:
		v = hn_nodesvc_vertex_exists(nd->ledger, c->hash);
		break;
	case OP_PEXISTS:
		v = hn_nodesvc_partial_vertex_exists(nd->ledger, c->hash);
		break;
	case OP_CAN_VALIDATE:
		rc = hn_nodesvc_can_validate_full(nd->ledger, c->bytes, c->len,
						  &v);
		break;
	default:
		rc = hn_nodesvc_compare_bytes_with_local_vertex(
			nd->ledger, c->bytes, c->len, &v);
		if (rc == HN_ENOENT) {
			fail(nd, c, rc, "vertex not found");
			return;
		}
		break;
	}
	if (rc < 0)
		fail(nd, c, rc, NULL);
	else if (take(nd, c))
		c->cb.b(c->arg, 0, NULL, v);
}

static void x_hashes(struct hn_node_direct *nd, struct call *c)
{
	struct hn_hash_list hl = { 0 };
	int rc = c->op == OP_BB_TIPS ?
		 hn_nodesvc_get_best_block_tips(nd->ledger, &hl) :
		 hn_nodesvc_get_mempool_tips(nd->ledger, &hl);

	if (rc < 0)
		fail(nd, c, rc, NULL);
	else if (take(nd, c))
		c->cb.hashes(c->arg, 0, NULL, hl.n,
			     (const uint8_t (*)[32])hl.h);
	hn_hash_list_release(&hl);
}

static void x_nh_tips(struct hn_node_direct *nd, struct call *c)
{
	struct hn_height_info *hi = calloc(c->count, sizeof(*hi));
	struct hathor_height_info *t = calloc(c->count, sizeof(*t));
	size_t got = 0, i;
	int rc;

	if (!hi || !t) {
		free(hi);
		free(t);
		fail(nd, c, HN_ENOMEM, "out of memory");
		return;
	}
	rc = hn_nodesvc_get_n_height_tips(nd->ledger, c->count, hi, &got);
	if (rc < 0) {
		fail(nd, c, rc, NULL);
	} else {
		for (i = 0; i < got; i++) {
			t[i].height = hi[i].height;
			memcpy(t[i].hash, hi[i].hash, 32);
		}
		if (take(nd, c))
			c->cb.htips(c->arg, 0, NULL, got, t);
	}
	free(hi);
	free(t);
}

static void x_height_get(struct hn_node_direct *nd, struct call *c)
{
	uint8_t hash[32];
	int rc = hn_nodesvc_height_index_get(nd->ledger, c->u1, hash);

	if (rc < 0)
		fail(nd, c, rc, rc == HN_ENOENT ? "above the best height" :
		     NULL);
	else if (take(nd, c))
		c->cb.hash(c->arg, 0, NULL, hash);
}

static void x_tx_tips(struct hn_node_direct *nd, struct call *c)
{
	struct hn_tip_interval *ti = NULL;
	struct hathor_tip_interval *t;
	size_t n = 0, i;
	int rc;

	rc = hn_nodesvc_get_tx_tips(nd->ledger, c->flag, c->u1, &ti, &n);
	if (rc < 0) {
		free(ti);
		fail(nd, c, rc, NULL);
		return;
	}
	t = calloc(n ? n : 1, sizeof(*t));
	if (!t) {
		free(ti);
		fail(nd, c, HN_ENOMEM, "out of memory");
		return;
	}
	for (i = 0; i < n; i++) {
		t[i].begin = ti[i].begin;
		t[i].end = ti[i].end;
		memcpy(t[i].hash, ti[i].hash, 32);
	}
	free(ti);
	if (take(nd, c))
		c->cb.tips(c->arg, 0, NULL, n, t);
	free(t);
}

static void x_merkle(struct hn_node_direct *nd, struct call *c)
{
	struct hn_hash_list hl = { 0 };
	uint8_t merkle[32];
	int rc = hn_nodesvc_get_merkle_tree(nd->ledger, c->u1, merkle, &hl);

	if (rc < 0)
		fail(nd, c, rc, NULL);
	else if (take(nd, c))
		c->cb.merkle(c->arg, 0, NULL, merkle, hl.n,
			     (const uint8_t (*)[32])hl.h);
	hn_hash_list_release(&hl);
}

static void x_range(struct hn_node_direct *nd, struct call *c)
{
	struct hn_hash_list hl = { 0 };
	uint64_t nts = 0, noff = 0;
	bool has_next = false;
	int rc;

	rc = hn_nodesvc_get_hashes_and_next_idx(nd->ledger, c->u1, c->u2,
						c->count, &hl, &has_next, &nts,
						&noff);
	if (rc < 0)
		fail(nd, c, rc, NULL);
	else if (take(nd, c))
		c->cb.range(c->arg, 0, NULL, hl.n, (const uint8_t (*)[32])hl.h,
			    has_next, has_next ? nts : 0, has_next ? noff : 0);
	hn_hash_list_release(&hl);
}

static void x_vinfos(struct hn_node_direct *nd, struct call *c)
{
	struct hn_nodesvc_vertex *v = calloc(c->n ? c->n : 1, sizeof(*v));
	struct hathor_vinfo *vi = calloc(c->n ? c->n : 1, sizeof(*vi));
	size_t i;
	int rc = 0;

	if (!v || !vi) {
		free(v);
		free(vi);
		fail(nd, c, HN_ENOMEM, "out of memory");
		return;
	}
	for (i = 0; i < c->n && rc == 0; i++) {
		rc = hn_nodesvc_get_vertex(nd->ledger, c->hashes[i],
					   HN_VMETA_CORE, &v[i]);
		if (rc == HN_ENOENT) {
			hn_nodesvc_vertex_release(&v[i]);
			memset(&vi[i], 0, sizeof(vi[i]));
			memcpy(vi[i].hash, c->hashes[i], 32);
			rc = 0;
		} else if (rc == 0) {
			vinfo_of(nd->ledger, &v[i], &vi[i]);
		}
	}
	if (rc < 0)
		fail(nd, c, rc, NULL);
	else if (take(nd, c))
		c->cb.vinfos(c->arg, 0, NULL, c->n, vi);
	for (i = 0; i < c->n; i++)
		hn_nodesvc_vertex_release(&v[i]);
	free(v);
	free(vi);
}

static void x_exists_many(struct hn_node_direct *nd, struct call *c)
{
	bool *out = calloc(c->n ? c->n : 1, sizeof(*out));
	size_t i;
	int rc = 0;

	if (!out) {
		fail(nd, c, HN_ENOMEM, "out of memory");
		return;
	}
	if (c->op == OP_PEXISTS_MANY)
		for (i = 0; i < c->n; i++)
			out[i] = hn_nodesvc_partial_vertex_exists(nd->ledger,
								  c->hashes[i]);
	else
		rc = hn_nodesvc_vertex_exists_many(
			nd->ledger, (const uint8_t (*)[32])c->hashes, c->n,
			out);
	if (rc < 0)
		fail(nd, c, rc, NULL);
	else if (take(nd, c))
		c->cb.bools(c->arg, 0, NULL, c->n, out);
	free(out);
}

static void x_height_many(struct hn_node_direct *nd, struct call *c)
{
	uint8_t (*out)[32] = calloc(c->n ? c->n : 1, sizeof(*out));
	bool *found = calloc(c->n ? c->n : 1, sizeof(*found));
	int rc;

	if (!out || !found) {
		free(out);
		free(found);
		fail(nd, c, HN_ENOMEM, "out of memory");
		return;
	}
	rc = hn_nodesvc_height_index_get_many(nd->ledger, c->heights, c->n,
					      out, found);
	if (rc < 0)
		fail(nd, c, rc, NULL);
	else if (take(nd, c))
		c->cb.hfound(c->arg, 0, NULL, c->n, found,
			     (const uint8_t (*)[32])out);
	free(out);
	free(found);
}

static void run_one(struct hn_node_direct *nd, struct call *c)
{
	switch (c->op) {
	case OP_VERTEX:
		x_on_vertex(nd, c);
		break;
	case OP_VERTICES:
		x_on_vertices_whole(nd, c);
		break;
	case OP_BLOCK_DEPS:
		x_on_block(nd, c);
		break;
	case OP_VERIFY:
		x_verify(nd, c);
		break;
	case OP_PUBLISH:
		x_publish(nd, c);
		break;
	case OP_GENESIS:
	case OP_GET_VERTEX:
	case OP_GET_BLOCK:
	case OP_PARENT:
	case OP_BEST:
		x_vertex_get(nd, c);
		break;
	case OP_LATEST_TS:
	case OP_FIRST_TS:
		x_u64(nd, c);
		break;
	case OP_EXISTS:
	case OP_PEXISTS:
	case OP_CAN_VALIDATE:
	case OP_COMPARE:
		x_bool(nd, c);
		break;
	case OP_BB_TIPS:
	case OP_MEMPOOL_TIPS:
		x_hashes(nd, c);
		break;
	case OP_NH_TIPS:
		x_nh_tips(nd, c);
		break;
	case OP_HEIGHT_GET:
		x_height_get(nd, c);
		break;
	case OP_TX_TIPS:
		x_tx_tips(nd, c);
		break;
	case OP_MERKLE:
		x_merkle(nd, c);
		break;
	case OP_RANGE:
		x_range(nd, c);
		break;
	case OP_VINFOS:
		x_vinfos(nd, c);
		break;
	case OP_EXISTS_MANY:
	case OP_PEXISTS_MANY:
		x_exists_many(nd, c);
		break;
	case OP_HEIGHT_MANY:
		x_height_many(nd, c);
		break;
	}
}

static void arm(struct hn_node_direct *nd)
{
	hn_intake_sched_arm(&nd->sched);
}

/* One loop iteration's share of the queue: calls and slices of a batch
 * for up to slice_us, then the loop's other watchers. */
static void run_cb(void *arg)
{
	struct hn_node_direct *nd = arg;
	uint64_t t0 = mono_us(), us;
	struct call *c;

	for (;;) {
		if ((c = nd->job)) {
			us = mono_us() - t0;
			nd->cur = c;
			if (!c->done)
				job_slice(nd, c, us < nd->slice_us ?
					  (unsigned)(nd->slice_us - us) : 1);
			nd->cur = NULL;
			if (c->done || c->b.finished) {
				hn_intake_release(nd->ledger, &c->b);
				nd->job = NULL;
				job_finish(nd, c);
				call_free(c);
			}
		} else if ((c = nd->head)) {
			nd->head = c->next;
			if (!nd->head)
				nd->tail = NULL;
			c->next = NULL;
			if (c->op == OP_VERTICES && nd->slice_us && c->n > 1) {
				c->b.v = c->v;
				c->b.res = c->res;
				c->b.n = c->n;
				c->b.origin =
					(enum hn_nodesvc_origin)c->origin;
				nd->job = c;
				nd->st.batches++;
				continue;
			}
			nd->cur = c;
			run_one(nd, c);
			nd->cur = NULL;
			call_free(c);
		} else {
			break;
		}
		if (nd->slice_us && mono_us() - t0 >= nd->slice_us)
			break;
	}
	us = mono_us() - t0;
	if (us > nd->st.max_iter_us)
		nd->st.max_iter_us = us;
	if (nd->job || nd->head)
		arm(nd);
}

/* --- the call path ------------------------------------------------------ */

static struct call *call_new(struct hathor_host *h, enum op op, union pcb cb,
			     void *arg)
{
	struct call *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->h = h;
	c->op = op;
	c->cb = cb;
	c->arg = arg;
	return c;
}

/* Queues @c (taken) or frees it on failure. */
static int submit(struct hathor_host *h, struct call *c)
{
	struct hn_node_direct *nd = ND(h);

	if (!c)
		return HATHOR_ENOMEM;
	if (!nd || nd->closing) {
		call_free(c);
		return HATHOR_ECLOSED;
	}
	if (nd->tail)
		nd->tail->next = c;
	else
		nd->head = c;
	nd->tail = c;
	nd->st.calls++;
	arm(nd);
	return 0;
}

static int dup_bytes(struct call *c, const uint8_t *b, size_t len)
{
	c->bytes = malloc(len ? len : 1);
	if (!c->bytes)
		return HATHOR_ENOMEM;
	memcpy(c->bytes, b, len);
	c->len = len;
	return 0;
}

static int dup_bufs(struct call *c, size_t n, const uint8_t *const *b,
		    const size_t *lens)
{
	size_t i;

	c->v = calloc(n ? n : 1, sizeof(*c->v));
	if (!c->v)
		return HATHOR_ENOMEM;
	c->n = n;
	for (i = 0; i < n; i++) {
		uint8_t *d;

		if (!b[i])
			return HATHOR_EINVAL;
		d = malloc(lens[i] ? lens[i] : 1);
		if (!d)
			return HATHOR_ENOMEM;
		memcpy(d, b[i], lens[i]);
		c->v[i].data = d;
		c->v[i].len = lens[i];
	}
	return 0;
}

static int dup_hashes(struct call *c, size_t n, const uint8_t (*hashes)[32])
{
	c->hashes = calloc(n ? n : 1, 32);
	if (!c->hashes)
		return HATHOR_ENOMEM;
	if (n)
		memcpy(c->hashes, hashes, n * 32);
	c->n = n;
	return 0;
}

/* Frees @c and returns @rc when @rc < 0, else queues it. */
static int finish(struct hathor_host *h, struct call *c, int rc)
{
	if (!c)
		return HATHOR_ENOMEM;
	if (rc < 0) {
		call_free(c);
		return rc;
	}
	return submit(h, c);
}

#define CB(field, f) ((union pcb){ .field = (f) })

static int n_on_new_vertex(struct hathor_host *h, enum hathor_origin origin,
			   const uint8_t *bytes, size_t len, hathor_add_cb cb,
			   void *arg)
{
	struct call *c;

	if (!bytes || (unsigned)origin > HATHOR_ORIGIN_RELAYED)
		return HATHOR_EINVAL;
	c = call_new(h, OP_VERTEX, CB(add, cb), arg);
	if (c)
		c->origin = (int)origin;
	return finish(h, c, c ? dup_bytes(c, bytes, len) : 0);
}

static int n_on_new_vertices(struct hathor_host *h, enum hathor_origin origin,
			     size_t n, const uint8_t *const *bytes,
			     const size_t *lens, hathor_add_cb cb, void *arg)
{
	struct call *c;
	int rc;

	if (n > HATHOR_NODE_MAX_BATCH)
		return HATHOR_ERANGE;
	if ((n && (!bytes || !lens)) ||
	    (unsigned)origin > HATHOR_ORIGIN_RELAYED)
		return HATHOR_EINVAL;
	c = call_new(h, OP_VERTICES, CB(add, cb), arg);
	if (!c)
		return HATHOR_ENOMEM;
	c->origin = (int)origin;
	rc = dup_bufs(c, n, bytes, lens);
	if (rc == 0 && !(c->res = calloc(n ? n : 1, sizeof(*c->res))))
		rc = HATHOR_ENOMEM;
	return finish(h, c, rc);
}

static int n_on_new_block(struct hathor_host *h, const uint8_t *block,
			  size_t block_len, size_t n_deps,
			  const uint8_t *const *deps, const size_t *dep_lens,
			  hathor_add_cb cb, void *arg)
{
	struct call *c;
	int rc;

	if (n_deps > HATHOR_NODE_MAX_BATCH)
		return HATHOR_ERANGE;
	if (!block || (n_deps && (!deps || !dep_lens)))
		return HATHOR_EINVAL;
	c = call_new(h, OP_BLOCK_DEPS, CB(add, cb), arg);
	if (!c)
		return HATHOR_ENOMEM;
	rc = dup_bytes(c, block, block_len);
	if (rc == 0)
		rc = dup_bufs(c, n_deps, deps, dep_lens);
	return finish(h, c, rc);
}

static int bytes_call(struct hathor_host *h, enum op op, const uint8_t *bytes,
		      size_t len, union pcb cb, void *arg)
{
	struct call *c;

	if (!bytes)
		return HATHOR_EINVAL;
	c = call_new(h, op, cb, arg);
	return finish(h, c, c ? dup_bytes(c, bytes, len) : 0);
}

static int n_verify_basic(struct hathor_host *h, const uint8_t *bytes,
			  size_t len, hathor_verify_cb cb, void *arg)
{
	return bytes_call(h, OP_VERIFY, bytes, len, CB(verify, cb), arg);
}

static int n_publish(struct hathor_host *h, const char *key,
		     const char *json, hathor_done_cb cb, void *arg)
{
	struct call *c;
	int rc = 0;

	if (!key)
		return HATHOR_EINVAL;
	c = call_new(h, OP_PUBLISH, CB(done, cb), arg);
	if (!c)
		return HATHOR_ENOMEM;
	if (!(c->key = strdup(key)))
		rc = HATHOR_ENOMEM;
	if (rc == 0 && json) {
		/* As node.ipc: an object, stored in its plain form. */
		struct json_object *j = json_tokener_parse(json);

		if (!json_object_is_type(j, json_type_object))
			rc = HATHOR_EINVAL;
		else if (!(c->json = strdup(json_object_to_json_string_ext(
					j, JSON_C_TO_STRING_PLAIN))))
			rc = HATHOR_ENOMEM;
		json_object_put(j);
	}
	return finish(h, c, rc);
}

static int hash_call(struct hathor_host *h, enum op op, const uint8_t *hash,
		     union pcb cb, void *arg)
{
	struct call *c;

	if (!hash)
		return HATHOR_EINVAL;
	c = call_new(h, op, cb, arg);
	if (c)
		memcpy(c->hash, hash, 32);
	return finish(h, c, 0);
}

static int n_get_genesis(struct hathor_host *h, const uint8_t hash[32],
			 hathor_vertex_cb cb, void *arg)
{
	return hash_call(h, OP_GENESIS, hash, CB(vertex, cb), arg);
}

static int n_get_vertex(struct hathor_host *h, const uint8_t hash[32],
			hathor_vertex_cb cb, void *arg)
{
	return hash_call(h, OP_GET_VERTEX, hash, CB(vertex, cb), arg);
}

static int n_get_block(struct hathor_host *h, const uint8_t hash[32],
		       hathor_vertex_cb cb, void *arg)
{
	return hash_call(h, OP_GET_BLOCK, hash, CB(vertex, cb), arg);
}

static int n_get_parent_block(struct hathor_host *h, const uint8_t hash[32],
			      hathor_vertex_cb cb, void *arg)
{
	return hash_call(h, OP_PARENT, hash, CB(vertex, cb), arg);
}

static int plain_call(struct hathor_host *h, enum op op, union pcb cb,
		      void *arg)
{
	return finish(h, call_new(h, op, cb, arg), 0);
}

static int n_get_best_block(struct hathor_host *h, hathor_vertex_cb cb,
			    void *arg)
{
	return plain_call(h, OP_BEST, CB(vertex, cb), arg);
}

static int n_get_latest_timestamp(struct hathor_host *h, hathor_u64_cb cb,
				  void *arg)
{
	return plain_call(h, OP_LATEST_TS, CB(u64, cb), arg);
}

static int n_get_first_timestamp(struct hathor_host *h, hathor_u64_cb cb,
				 void *arg)
{
	return plain_call(h, OP_FIRST_TS, CB(u64, cb), arg);
}

static int n_vertex_exists(struct hathor_host *h, const uint8_t hash[32],
			   hathor_bool_cb cb, void *arg)
{
	return hash_call(h, OP_EXISTS, hash, CB(b, cb), arg);
}

static int n_partial_vertex_exists(struct hathor_host *h,
				   const uint8_t hash[32], hathor_bool_cb cb,
				   void *arg)
{
	return hash_call(h, OP_PEXISTS, hash, CB(b, cb), arg);
}

static int n_can_validate_full(struct hathor_host *h, const uint8_t *bytes,
			       size_t len, hathor_bool_cb cb, void *arg)
{
	return bytes_call(h, OP_CAN_VALIDATE, bytes, len, CB(b, cb), arg);
}

static int n_compare_bytes(struct hathor_host *h, const uint8_t *bytes,
			   size_t len, hathor_bool_cb cb, void *arg)
{
	return bytes_call(h, OP_COMPARE, bytes, len, CB(b, cb), arg);
}

static int n_get_best_block_tips(struct hathor_host *h, hathor_hashes_cb cb,
				 void *arg)
{
	return plain_call(h, OP_BB_TIPS, CB(hashes, cb), arg);
}

static int n_get_n_height_tips(struct hathor_host *h, size_t n,
			       hathor_height_tips_cb cb, void *arg)
{
	struct call *c;

	if (n < 1 || n > HATHOR_NODE_MAX_HEIGHT_TIPS)
		return HATHOR_ERANGE;
	c = call_new(h, OP_NH_TIPS, CB(htips, cb), arg);
	if (c)
		c->count = n;
	return finish(h, c, 0);
}

static int n_height_index_get(struct hathor_host *h, uint64_t height,
			      hathor_hash_cb cb, void *arg)
{
	struct call *c = call_new(h, OP_HEIGHT_GET, CB(hash, cb), arg);

	if (c)
		c->u1 = height;
	return finish(h, c, 0);
}

static int n_get_mempool_tips(struct hathor_host *h, hathor_hashes_cb cb,
			      void *arg)
{
	return plain_call(h, OP_MEMPOOL_TIPS, CB(hashes, cb), arg);
}

static int n_get_tx_tips(struct hathor_host *h, bool has_ts,
			 uint64_t timestamp, hathor_tip_intervals_cb cb,
			 void *arg)
{
	struct call *c = call_new(h, OP_TX_TIPS, CB(tips, cb), arg);

	if (c) {
		c->flag = has_ts;
		c->u1 = timestamp;
	}
	return finish(h, c, 0);
}

static int n_get_merkle_tree(struct hathor_host *h, uint64_t timestamp,
			     hathor_merkle_cb cb, void *arg)
{
	struct call *c = call_new(h, OP_MERKLE, CB(merkle, cb), arg);

	if (c)
		c->u1 = timestamp;
	return finish(h, c, 0);
}

static int n_get_hashes_and_next_idx(struct hathor_host *h, uint64_t from_ts,
				     uint64_t from_off, size_t count,
				     hathor_range_cb cb, void *arg)
{
	struct call *c;

	if (count < 1 || count > HATHOR_NODE_MAX_RANGE)
		return HATHOR_ERANGE;
	c = call_new(h, OP_RANGE, CB(range, cb), arg);
	if (c) {
		c->u1 = from_ts;
		c->u2 = from_off;
		c->count = count;
	}
	return finish(h, c, 0);
}

static int hashes_call(struct hathor_host *h, enum op op, size_t n,
		       const uint8_t (*hashes)[32], union pcb cb, void *arg)
{
	struct call *c;

	if (n > HATHOR_NODE_MAX_BATCH)
		return HATHOR_ERANGE;
	if (n && !hashes)
		return HATHOR_EINVAL;
	c = call_new(h, op, cb, arg);
	return finish(h, c, c ? dup_hashes(c, n, hashes) : 0);
}

static int n_get_vertices(struct hathor_host *h, size_t n,
			  const uint8_t (*hashes)[32], hathor_vinfos_cb cb,
			  void *arg)
{
	return hashes_call(h, OP_VINFOS, n, hashes, CB(vinfos, cb), arg);
}

static int n_vertex_exists_many(struct hathor_host *h, size_t n,
				const uint8_t (*hashes)[32], hathor_bools_cb cb,
				void *arg)
{
	return hashes_call(h, OP_EXISTS_MANY, n, hashes, CB(bools, cb), arg);
}

static int n_partial_vertex_exists_many(struct hathor_host *h, size_t n,
					const uint8_t (*hashes)[32],
					hathor_bools_cb cb, void *arg)
{
	return hashes_call(h, OP_PEXISTS_MANY, n, hashes, CB(bools, cb), arg);
}

static int n_height_index_get_many(struct hathor_host *h, size_t n,
				   const uint64_t *heights,
				   hathor_hashes_found_cb cb, void *arg)
{
	struct call *c;
	int rc = 0;

	if (n > HATHOR_NODE_MAX_BATCH)
		return HATHOR_ERANGE;
	if (n && !heights)
		return HATHOR_EINVAL;
	c = call_new(h, OP_HEIGHT_MANY, CB(hfound, cb), arg);
	if (c) {
		c->heights = calloc(n ? n : 1, sizeof(*c->heights));
		if (!c->heights)
			rc = HATHOR_ENOMEM;
		else if (n)
			memcpy(c->heights, heights, n * sizeof(*heights));
		c->n = n;
	}
	return finish(h, c, rc);
}

const struct hathor_node_ops hn_node_direct_ops = {
	.size = sizeof(struct hathor_node_ops),
	.on_new_vertex = n_on_new_vertex,
	.on_new_vertices = n_on_new_vertices,
	.on_new_block = n_on_new_block,
	.verify_basic = n_verify_basic,
	.publish = n_publish,
	.get_genesis = n_get_genesis,
	.get_vertex = n_get_vertex,
	.get_block = n_get_block,
	.get_parent_block = n_get_parent_block,
	.get_best_block = n_get_best_block,
	.get_latest_timestamp = n_get_latest_timestamp,
	.get_first_timestamp = n_get_first_timestamp,
	.vertex_exists = n_vertex_exists,
	.partial_vertex_exists = n_partial_vertex_exists,
	.can_validate_full = n_can_validate_full,
	.compare_bytes_with_local_vertex = n_compare_bytes,
	.get_best_block_tips = n_get_best_block_tips,
	.get_n_height_tips = n_get_n_height_tips,
	.height_index_get = n_height_index_get,
	.get_mempool_tips = n_get_mempool_tips,
	.get_tx_tips = n_get_tx_tips,
	.get_merkle_tree = n_get_merkle_tree,
	.get_hashes_and_next_idx = n_get_hashes_and_next_idx,
	.get_vertices = n_get_vertices,
	.vertex_exists_many = n_vertex_exists_many,
	.partial_vertex_exists_many = n_partial_vertex_exists_many,
	.height_index_get_many = n_height_index_get_many,
};

/* --- cancel, events, lifecycle ----------------------------------------- */

void hn_node_direct_cancel(void *node_ctx, struct hathor_host *h)
{
	struct hn_node_direct *nd = node_ctx;
	struct call **pp = &nd->head, *c;

	nd->tail = NULL;
	while ((c = *pp)) {
		if (h && c->h != h) {
			nd->tail = c;
			pp = &c->next;
			continue;
		}
		*pp = c->next;
		nd->st.cancelled++;
		fail(nd, c, HATHOR_ECLOSED, "plugin unloading");
		call_free(c);
	}
	if (nd->job && (!h || nd->job->h == h) && !nd->job->done) {
		nd->st.cancelled++;
		fail(nd, nd->job, HATHOR_ECLOSED, "plugin unloading");
		hn_intake_release(nd->ledger, &nd->job->b);
		if (nd->cur != nd->job) {
			call_free(nd->job);
			nd->job = NULL;
		}
	}
	/* A call being run completes once, with ECLOSED. */
	if (nd->cur && nd->cur != nd->job && (!h || nd->cur->h == h) &&
	    !nd->cur->done) {
		nd->st.cancelled++;
		fail(nd, nd->cur, HATHOR_ECLOSED, "plugin unloading");
	}
}

static void on_ledger_event(const struct hn_ledger_event *e, void *arg)
{
	struct hn_node_direct *nd = arg;
	struct hathor_event ev;

	if (!nd->rt)
		return;
	memset(&ev, 0, sizeof(ev));
	ev.size = sizeof(ev);
	ev.type = (uint32_t)e->type;    /* HN_LEV_* == HATHOR_EV_* */
	ev.epoch = nd->epoch;
	ev.seq = e->seq;
	memcpy(ev.hash, e->hash, 32);
	ev.is_block = e->is_block;
	ev.voided = e->voided;
	ev.height = e->height;
	ev.bytes = e->bytes;
	ev.len = e->len;
	memcpy(ev.old_best, e->old_best, 32);
	ev.old_height = e->old_height;
	memcpy(ev.common, e->common, 32);
	ev.reorg_depth = e->reorg_depth;
	ev.key = e->key;
	ev.json = e->json;
	nd->st.events++;
	hn_plugin_rt_event(nd->rt, &ev);
}

int hn_node_direct_attach_events(struct hn_node_direct *nd,
				 struct hn_plugin_rt *rt)
{
	int rc;

	nd->rt = rt;
	if (rt && !nd->subscribed) {
		rc = hn_ledger_subscribe(nd->ledger, on_ledger_event, nd);
		if (rc < 0)
			return rc;
		nd->subscribed = true;
	}
	return 0;
}

int hn_node_direct_new(struct ev_loop *loop, struct hn_ledger *l,
		       struct hn_node_direct **out)
{
	struct hn_node_direct *nd;

	if (!loop || !l)
		return HN_EINVAL;
	nd = calloc(1, sizeof(*nd));
	if (!nd)
		return HN_ENOMEM;
	nd->loop = loop;
	nd->ledger = l;
	nd->slice_us = HN_NODE_DIRECT_SLICE_US;
	if (getrandom(&nd->epoch, sizeof(nd->epoch), 0) !=
	    (ssize_t)sizeof(nd->epoch) || !nd->epoch)
		nd->epoch = (uint64_t)time(NULL) | 1;
	hn_intake_sched_init(&nd->sched, loop, run_cb, nd);
	*out = nd;
	return 0;
}

void hn_node_direct_free(struct hn_node_direct *nd)
{
	if (!nd)
		return;
	nd->closing = true;
	hn_intake_sched_disarm(&nd->sched);
	hn_node_direct_cancel(nd, NULL);
	if (nd->subscribed)
		hn_ledger_unsubscribe(nd->ledger, on_ledger_event, nd);
	free(nd);
}

void hn_node_direct_set_slice(struct hn_node_direct *nd, unsigned budget_us,
			      unsigned max_vertices)
{
	nd->slice_us = budget_us;
	nd->slice_max = max_vertices;
}

void hn_node_direct_stats(const struct hn_node_direct *nd,
			  struct hn_node_direct_stats *st)
{
	const struct call *c;

	*st = nd->st;
	st->pending = nd->job ? 1 : 0;
	for (c = nd->head; c; c = c->next)
		st->pending++;
}
