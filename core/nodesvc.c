/*
 * nodesvc.c: the node service over the ledger (see nodesvc.h).  Each
 * function is a thin, bounded query or a call into the accept pipeline;
 * the semantics are those of hathor-core's P2PDependencies
 * (single_process_p2p_dependencies.py) and the storage methods it calls.
 */
#include "nodesvc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ledger_int.h"
#include "metrics.h"
#include "store.h"

#include "hn/err.h"
#include "hn/hash.h"
#include "hn/hex.h"
#include "hn/log.h"
#include "hn/network.h"
#include "hn/vertex.h"

#define COMP "nodesvc"

void hn_nodesvc_vertex_release(struct hn_nodesvc_vertex *v)
{
	if (!v)
		return;
	free(v->bytes);
	v->bytes = NULL;
	v->len = 0;
	hn_vmeta_release(&v->meta);
}

static int origin_flags(enum hn_nodesvc_origin origin)
{
	switch (origin) {
	case HN_ORIGIN_VERTEX:
	case HN_ORIGIN_BLOCK:
		return 0;
	case HN_ORIGIN_MEMPOOL:
		return HN_ADD_MEMPOOL;
	case HN_ORIGIN_RELAYED:
		return HN_ADD_RELAYED;
	}
	return 0;
}

int hn_nodesvc_on_new_vertex(struct hn_ledger *l, const uint8_t *bytes,
			     size_t len, enum hn_nodesvc_origin origin,
			     struct hn_ledger_result *res)
{
	struct hn_ledger_result dummy;
	int rc;

	if (!res)
		res = &dummy;
	rc = hn_ledger_add_vertex(l, bytes, len, origin_flags(origin), res);
	if (rc == 0 && origin == HN_ORIGIN_RELAYED)
		hn_core_metrics_relay_in();
	if (rc == HN_EEXIST) {
		res->code = 0;
		return 0;
	}
	return rc;
}

struct dep_order {
	size_t idx;
	uint32_t ts;
};

static int dep_cmp(const void *a, const void *b)
{
	const struct dep_order *x = a, *y = b;

	if (x->ts != y->ts)
		return x->ts < y->ts ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int hn_nodesvc_on_new_block(struct hn_ledger *l, const uint8_t *block,
			    size_t block_len, const struct hn_buf *deps,
			    size_t n_deps, struct hn_ledger_result *res,
			    struct hn_ledger_result *dep_res)
{
	struct hn_ledger_result dummy, dres;
	struct dep_order *ord = NULL;
	bool own_batch;
	int rc = 0;

	if (!res)
		res = &dummy;
	memset(res, 0, sizeof(*res));
	if ((rc = hn_ledger__unpark(l)) < 0)
		return rc;
	own_batch = !l->in_batch;
	if (n_deps) {
		ord = calloc(n_deps, sizeof(*ord));
		if (!ord)
			return HN_ENOMEM;
	}
	for (size_t i = 0; i < n_deps; i++) {
		struct hn_vertex_graph g;

		ord[i].idx = i;
		ord[i].ts = 0;
		if (hn_vertex_graph_decode(deps[i].data, deps[i].len, &g, NULL,
					   0) == 0)
			ord[i].ts = g.timestamp;
	}
	if (n_deps)
		qsort(ord, n_deps, sizeof(*ord), dep_cmp);
	if (own_batch && (rc = hn_ledger_batch_begin(l)) < 0) {
		free(ord);
		return rc;
	}
	for (size_t k = 0; k < n_deps; k++) {
		size_t i = ord[k].idx;
		struct hn_ledger_result *r = dep_res ? &dep_res[i] : &dres;

		rc = hn_nodesvc_on_new_vertex(l, deps[i].data, deps[i].len,
					      HN_ORIGIN_BLOCK, r);
		if (rc < 0) {
			res->code = rc;
			snprintf(res->msg, sizeof(res->msg),
				 "dependency rejected: %.200s", r->msg);
			break;
		}
	}
	if (rc == 0)
		rc = hn_nodesvc_on_new_vertex(l, block, block_len,
					      HN_ORIGIN_BLOCK, res);
	if (own_batch) {
		int rc2 = hn_ledger_batch_end(l);

		if (rc2 < 0)
			rc = rc2;
	}
	free(ord);
	return rc;
}

int hn_nodesvc_on_new_vertices(struct hn_ledger *l, const struct hn_buf *v,
			       size_t n, enum hn_nodesvc_origin origin,
			       struct hn_ledger_result *res, size_t *n_done)
{
	bool own_batch;
	size_t done = 0;
	int stored = 0, rc;

	*n_done = 0;
	if ((rc = hn_ledger__unpark(l)) < 0)
		return rc;
	own_batch = !l->in_batch;
	if (own_batch && (rc = hn_ledger_batch_begin(l)) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		rc = hn_nodesvc_on_new_vertex(l, v[i].data, v[i].len, origin,
					      &res[i]);
		done++;
		if (res[i].stored)
			stored++;
		if (rc < 0)
			break;
	}
	if (own_batch && (rc = hn_ledger_batch_end(l)) < 0) {
		for (size_t i = 0; i < done; i++)
			res[i].stored = false;
		*n_done = done;
		return rc;
	}
	*n_done = done;
	return stored;
}

int hn_nodesvc_publish(struct hn_ledger *l, const char *key, const char *json)
{
	struct hn_ledger_pev *e;

	if (!key || !*key)
		return HN_EINVAL;
	e = hn_ledger__queue(l, HN_LEV_PUBLISHED, NULL);
	if (!e)
		return HN_ENOMEM;
	e->key = strdup(key);
	e->json = json ? strdup(json) : NULL;
	if (!e->key || (json && !e->json))
		return HN_ENOMEM;
	if (!hn_store_depth(hn_ledger_store(l)))
		hn_ledger__deliver(l);
	return 0;
}

/* --- reads ---------------------------------------------------------------- */

int hn_nodesvc_get_vertex(struct hn_ledger *l, const uint8_t hash[32],
			  int fields, struct hn_nodesvc_vertex *out)
{
	struct hn_store *st = hn_ledger_store(l);
	int rc;

	memset(out, 0, sizeof(*out));
	rc = hn_store_get_meta(st, hash, fields, &out->meta);
	if (rc < 0)
		return rc;
	rc = hn_store_get_bytes(st, hash, &out->bytes, &out->len);
	if (rc < 0)
		hn_nodesvc_vertex_release(out);
	return rc;
}

int hn_nodesvc_get_genesis(struct hn_ledger *l, const uint8_t hash[32],
			   struct hn_nodesvc_vertex *out)
{
	memset(out, 0, sizeof(*out));
	if (!hn_network_is_genesis(hn_ledger_network(l), hash))
		return HN_ENOENT;
	return hn_nodesvc_get_vertex(l, hash, HN_VMETA_CORE, out);
}

int hn_nodesvc_get_block(struct hn_ledger *l, const uint8_t hash[32],
			 int fields, struct hn_nodesvc_vertex *out)
{
	int rc = hn_nodesvc_get_vertex(l, hash, fields, out);

	if (rc == 0 && !out->meta.is_block) {
		hn_nodesvc_vertex_release(out);
		return HN_EINVAL;
	}
	return rc;
}

void hn_nodesvc_vinfo_release(struct hn_nodesvc_vinfo *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++) {
		free(v[i].bytes);
		v[i].bytes = NULL;
		v[i].len = 0;
	}
}

int hn_nodesvc_get_vertices(struct hn_ledger *l, const uint8_t (*hashes)[32],
			    size_t n, struct hn_nodesvc_vinfo *out)
{
	struct hn_store *st = hn_ledger_store(l);
	int rc = 0;

	if (n > HN_NODESVC_MAX_LIST)
		return HN_EINVAL;
	memset(out, 0, n * sizeof(*out));
	hn_store_read_begin(st);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct hn_nodesvc_vinfo *o = &out[i];
		struct hn_vmeta m;

		memcpy(o->hash, hashes[i], 32);
		rc = hn_store_get_meta(st, hashes[i], HN_VMETA_CORE, &m);
		if (rc == HN_ENOENT) {
			rc = 0;
			continue;
		}
		if (rc < 0)
			break;
		o->is_block = m.is_block;
		o->voided = m.n_voided_by > 0;
		o->fully_valid = m.validation == HN_VALID_FULL;
		o->height = m.is_block ? (int64_t)m.height : -1;
		o->has_first_block = m.has_first_block;
		o->first_block_height = -1;
		if (m.has_first_block) {
			struct hn_vmeta fb;

			memcpy(o->first_block, m.first_block, 32);
			if (hn_store_get_meta(st, m.first_block, HN_VMETA_CORE,
					      &fb) == 0) {
				o->first_block_height = (int64_t)fb.height;
				hn_vmeta_release(&fb);
			}
		}
		hn_vmeta_release(&m);
		rc = hn_store_get_bytes(st, hashes[i], &o->bytes, &o->len);
		if (rc == 0)
			o->found = true;
	}
	hn_store_read_end(st);
	if (rc < 0) {
		hn_nodesvc_vinfo_release(out, n);
		return HN_EIO;
	}
	return 0;
}

int hn_nodesvc_get_parent_block(struct hn_ledger *l, const uint8_t hash[32],
				int fields, struct hn_nodesvc_vertex *out)
{
	struct hn_vertex *v = NULL;
	uint8_t parent[32];
	int rc;

	memset(out, 0, sizeof(*out));
	rc = hn_store_get_vertex(hn_ledger_store(l), hash, &v);
	if (rc < 0)
		return rc;
	if (!hn_vertex_is_block(v) || !v->n_parents) {
		hn_vertex_free(v);
		return HN_EINVAL;       /* a tx, or the genesis block */
	}
	memcpy(parent, v->parents[0], 32);
	hn_vertex_free(v);
	return hn_nodesvc_get_block(l, parent, fields, out);
}

int hn_nodesvc_get_latest_timestamp(struct hn_ledger *l, uint64_t *out)
{
	return hn_store_timestamps(hn_ledger_store(l), NULL, out);
}

int hn_nodesvc_get_first_timestamp(struct hn_ledger *l, uint64_t *out)
{
	return hn_store_timestamps(hn_ledger_store(l), out, NULL);
}

bool hn_nodesvc_vertex_exists(struct hn_ledger *l, const uint8_t hash[32])
{
	int rc = hn_store_exists(hn_ledger_store(l), hash);

	if (rc < 0)
		hn_err(COMP, "vertex_exists: storage error");
	return rc == 1;
}

int hn_nodesvc_vertex_exists_many(struct hn_ledger *l,
				  const uint8_t (*hashes)[32], size_t n,
				  bool *out)
{
	struct hn_store *st = hn_ledger_store(l);

	if (n > HN_NODESVC_MAX_LIST)
		return HN_EINVAL;
	hn_store_read_begin(st);
	for (size_t i = 0; i < n; i++) {
		int rc = hn_store_exists(st, hashes[i]);

		if (rc < 0) {
			hn_store_read_end(st);
			return HN_EIO;
		}
		out[i] = rc == 1;
	}
	hn_store_read_end(st);
	return 0;
}

bool hn_nodesvc_partial_vertex_exists(struct hn_ledger *l,
				      const uint8_t hash[32])
{
	/* Only fully validated vertices are stored (store.h). */
	return hn_nodesvc_vertex_exists(l, hash);
}

int hn_nodesvc_can_validate_full(struct hn_ledger *l, const uint8_t *bytes,
				 size_t len, bool *out)
{
	struct hn_store *st = hn_ledger_store(l);
	struct hn_vertex *v = NULL;
	bool all = true;
	int rc;

	*out = false;
	rc = hn_vertex_decode(bytes, len, &v, NULL, 0);
	if (rc < 0)
		return HN_EPARSE;
	if (hn_network_is_genesis(hn_ledger_network(l), v->hash)) {
		*out = true;
		goto out;
	}
	/* The parent block is left out, as the reference does, so block
	 * streams can be validated ahead. */
	for (unsigned i = hn_vertex_is_block(v) ? 1 : 0; i < v->n_parents;
	     i++) {
		rc = hn_store_exists(st, v->parents[i]);
		if (rc < 0)
			goto out;
		all = all && rc == 1;
	}
	for (unsigned i = 0; i < v->n_inputs; i++) {
		rc = hn_store_exists(st, v->inputs[i].tx_id);
		if (rc < 0)
			goto out;
		all = all && rc == 1;
	}
	rc = 0;
	*out = all;
out:
	hn_vertex_free(v);
	return rc < 0 ? HN_EIO : 0;
}

int hn_nodesvc_compare_bytes_with_local_vertex(struct hn_ledger *l,
					       const uint8_t *bytes,
					       size_t len, bool *equal)
{
	struct hn_vertex_graph g;
	uint8_t *old = NULL;
	size_t olen = 0;
	int rc;

	*equal = false;
	if (hn_vertex_graph_decode(bytes, len, &g, NULL, 0) < 0)
		return HN_EPARSE;
	rc = hn_store_get_bytes(hn_ledger_store(l), g.hash, &old, &olen);
	if (rc < 0)
		return rc;
	*equal = olen == len && !memcmp(old, bytes, len);
	if (!*equal) {
		char hex[65];

		hn_hex_encode(g.hash, 32, hex);
		hn_err(COMP, "non-equal transactions with same id '%s'", hex);
	}
	free(old);
	return 0;
}

int hn_nodesvc_get_best_block(struct hn_ledger *l, int fields,
			      struct hn_nodesvc_vertex *out)
{
	uint8_t h[32];
	int rc = hn_store_best(hn_ledger_store(l), h, NULL);

	memset(out, 0, sizeof(*out));
	if (rc < 0)
		return rc;
	return hn_nodesvc_get_vertex(l, h, fields, out);
}

int hn_nodesvc_get_best_block_tips(struct hn_ledger *l,
				   struct hn_hash_list *out)
{
	struct hn_store *st = hn_ledger_store(l);
	struct hn_tip_interval *t = NULL;
	hn_u128 best = 0;
	size_t n = 0;
	int rc;

	/* get_best_block_tips: block tips not voided by anything but
	 * themselves, with the highest score. */
	rc = hn_store_tips(st, HN_TIPS_BLOCK, UINT64_MAX, &t, &n);
	if (rc < 0)
		return rc;
	for (int pass = 0; pass < 2 && rc == 0; pass++) {
		for (size_t i = 0; i < n; i++) {
			struct hn_vmeta m;

			rc = hn_store_get_meta(st, t[i].hash, HN_VMETA_CORE, &m);
			if (rc < 0)
				break;
			if (!m.n_voided_by ||
			    (m.n_voided_by == 1 &&
			     !memcmp(m.voided_by[0], m.hash, 32))) {
				if (pass == 0 && m.score > best)
					best = m.score;
				else if (pass == 1 && m.score == best)
					rc = hn_hash_list_push(out, m.hash);
			}
			hn_vmeta_release(&m);
		}
	}
	free(t);
	return rc;
}

int hn_nodesvc_get_n_height_tips(struct hn_ledger *l, size_t n,
				 struct hn_height_info *out, size_t *n_out)
{
	struct hn_store *st = hn_ledger_store(l);
	uint8_t h[32];
	uint64_t top;
	int rc;

	*n_out = 0;
	if (n < 1 || n > HN_NODESVC_MAX_HEIGHT_TIPS)
		return HN_EINVAL;
	if ((rc = hn_store_best(st, h, &top)) < 0)
		return rc;
	for (size_t i = 0; i < n && i <= top; i++) {
		rc = hn_store_height_get(st, top - i, out[i].hash);
		if (rc < 0)
			return rc;
		out[i].height = top - i;
		(*n_out)++;
	}
	return 0;
}

int hn_nodesvc_height_index_get(struct hn_ledger *l, uint64_t height,
				uint8_t hash[32])
{
	return hn_store_height_get(hn_ledger_store(l), height, hash);
}

int hn_nodesvc_height_index_get_many(struct hn_ledger *l,
				     const uint64_t *heights, size_t n,
				     uint8_t (*out)[32], bool *found)
{
	if (n > HN_NODESVC_MAX_LIST)
		return HN_EINVAL;
	hn_store_read_begin(hn_ledger_store(l));
	for (size_t i = 0; i < n; i++) {
		int rc = hn_store_height_get(hn_ledger_store(l), heights[i],
					     out[i]);

		if (rc < 0 && rc != HN_ENOENT) {
			hn_store_read_end(hn_ledger_store(l));
			return rc;
		}
		found[i] = rc == 0;
		if (!found[i])
			memset(out[i], 0, 32);
	}
	hn_store_read_end(hn_ledger_store(l));
	return 0;
}

int hn_nodesvc_get_mempool_tips(struct hn_ledger *l, struct hn_hash_list *out)
{
	return hn_store_mempool_tips(hn_ledger_store(l), out);
}

int hn_nodesvc_get_tx_tips(struct hn_ledger *l, bool has_ts,
			   uint64_t timestamp, struct hn_tip_interval **out,
			   size_t *n)
{
	struct hn_store *st = hn_ledger_store(l);
	uint64_t latest;
	int rc;

	if (!has_ts) {
		if ((rc = hn_store_timestamps(st, NULL, &latest)) < 0)
			return rc;
		timestamp = latest;
	}
	return hn_store_tips(st, HN_TIPS_TX, timestamp, out, n);
}

int hn_nodesvc_get_merkle_tree(struct hn_ledger *l, uint64_t timestamp,
			       uint8_t merkle[32], struct hn_hash_list *hashes)
{
	struct hn_tip_interval *t = NULL;
	uint8_t *buf;
	size_t n = 0;
	int rc;

	/* calculate_merkle_tree: sha256 of the sorted tip hashes (the
	 * store returns them ordered by hash). */
	rc = hn_store_tips(hn_ledger_store(l), HN_TIPS_ALL, timestamp, &t, &n);
	if (rc < 0)
		return rc;
	buf = malloc(n ? n * 32 : 1);
	if (!buf) {
		free(t);
		return HN_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(buf + i * 32, t[i].hash, 32);
		if (hashes && rc == 0)
			rc = hn_hash_list_push(hashes, t[i].hash);
	}
	hn_sha256(buf, n * 32, merkle);
	free(buf);
	free(t);
	return rc;
}

int hn_nodesvc_get_hashes_and_next_idx(struct hn_ledger *l,
				       uint64_t from_ts, uint64_t from_off,
				       size_t count, struct hn_hash_list *out,
				       bool *has_next, uint64_t *next_ts,
				       uint64_t *next_off)
{
	if (count < 1 || count > HN_NODESVC_MAX_RANGE)
		return HN_EINVAL;
	return hn_store_range(hn_ledger_store(l), from_ts, from_off, count,
			      out, has_next, next_ts, next_off);
}
