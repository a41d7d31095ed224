/*
 * ledgernode.c: the P2P engine's node service backed by the real core
 * ledger (core/nodesvc.h: sqlite storage, full verification, consensus),
 * called in-process, for the harness and interop tests.  The ipc helper's
 * direct node service does the same job for --p2p-mode=inprocess; this
 * one exists so the engine can be tested against the real core before
 * (and independently of) the plugin ABI.
 *
 * Answers are delivered synchronously, inside the call.
 */
#include "ledgernode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hn/err.h"
#include "ledger.h"
#include "nodesvc.h"
#include "store.h"

static struct hn_ledger *L(void *ctx)
{
	return ((struct testenv *)ctx)->node_ctx;
}

static int op_best(void *ctx, p2p_best_cb cb, void *arg)
{
	struct hn_nodesvc_vertex v = { 0 };
	int rc = hn_nodesvc_get_best_block(L(ctx), HN_VMETA_CORE, &v);

	cb(arg, rc, rc ? 0 : v.meta.height, v.meta.hash);
	hn_nodesvc_vertex_release(&v);
	return 0;
}

static int op_heights(void *ctx, const uint64_t *heights, size_t n,
		      p2p_hashes_cb cb, void *arg)
{
	uint8_t (*out)[32] = calloc(n ? n : 1, 32);
	bool *found = calloc(n ? n : 1, sizeof(bool));
	int rc;

	if (!out || !found) {
		free(out);
		free(found);
		return HN_ENOMEM;
	}
	rc = hn_nodesvc_height_index_get_many(L(ctx), heights, n, out, found);
	cb(arg, rc, n, found, (const uint8_t (*)[32])out);
	free(out);
	free(found);
	return 0;
}

static int op_vertices(void *ctx, const uint8_t (*hashes)[32], size_t n,
		       p2p_vinfo_cb cb, void *arg)
{
	struct hn_nodesvc_vinfo *in = calloc(n ? n : 1, sizeof(*in));
	struct p2p_vinfo *out = calloc(n ? n : 1, sizeof(*out));
	size_t i;
	int rc;

	if (!in || !out) {
		free(in);
		free(out);
		return HN_ENOMEM;
	}
	rc = hn_nodesvc_get_vertices(L(ctx), hashes, n, in);
	for (i = 0; rc == 0 && i < n; i++) {
		out[i].found = in[i].found;
		memcpy(out[i].hash, in[i].hash, 32);
		out[i].bytes = in[i].bytes;
		out[i].len = in[i].len;
		out[i].is_block = in[i].is_block;
		out[i].voided = in[i].voided;
		out[i].fully_valid = in[i].fully_valid;
		out[i].height = in[i].height;
		out[i].has_first_block = in[i].has_first_block;
		memcpy(out[i].first_block, in[i].first_block, 32);
		out[i].first_block_height = in[i].first_block_height;
	}
	cb(arg, rc, n, out);
	if (rc == 0)
		hn_nodesvc_vinfo_release(in, n);
	free(in);
	free(out);
	return 0;
}

static int op_exists(void *ctx, const uint8_t (*hashes)[32], size_t n,
		     p2p_flags_cb cb, void *arg)
{
	bool *flags = calloc(n ? n : 1, sizeof(bool));
	int rc;

	if (!flags)
		return HN_ENOMEM;
	rc = hn_nodesvc_vertex_exists_many(L(ctx), hashes, n, flags);
	cb(arg, rc, n, flags);
	free(flags);
	return 0;
}

static int op_add(void *ctx, enum p2p_add_kind kind, size_t n,
		  const uint8_t *const *bytes, const size_t *lens,
		  p2p_add_cb cb, void *arg)
{
	struct hn_buf *v = calloc(n ? n : 1, sizeof(*v));
	struct hn_ledger_result *res = calloc(n ? n : 1, sizeof(*res));
	enum p2p_add_result *out = calloc(n ? n : 1, sizeof(*out));
	enum hn_nodesvc_origin origin = kind == P2P_ADD_MEMPOOL ?
		HN_ORIGIN_MEMPOOL : kind == P2P_ADD_RELAY ?
		HN_ORIGIN_RELAYED : HN_ORIGIN_BLOCK;
	const char *msg = NULL;
	size_t done = 0, i;
	int rc;

	if (!v || !res || !out) {
		free(v);
		free(res);
		free(out);
		return HN_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		v[i].data = bytes[i];
		v[i].len = lens[i];
	}
	rc = hn_nodesvc_on_new_vertices(L(ctx), v, n, origin, res, &done);
	for (i = 0; rc >= 0 && i < done; i++) {
		if (res[i].code == 0 && res[i].stored)
			out[i] = P2P_ADD_ACCEPTED;
		else if (res[i].code == 0 || res[i].code == HN_EEXIST)
			out[i] = P2P_ADD_KNOWN;
		else if (res[i].code == HN_ENOENT)
			out[i] = P2P_ADD_MISSING_DEPS;
		else
			out[i] = P2P_ADD_INVALID;
		if (out[i] >= P2P_ADD_MISSING_DEPS && !msg)
			msg = res[i].msg;
	}
	cb(arg, rc < 0 ? rc : 0, done, out, msg);
	free(v);
	free(res);
	free(out);
	return 0;
}

static int op_tips(void *ctx, p2p_hashes_cb cb, void *arg)
{
	struct hn_hash_list l = { 0 };
	bool *flags;
	int rc = hn_nodesvc_get_mempool_tips(L(ctx), &l);

	flags = calloc(l.n ? l.n : 1, sizeof(bool));
	cb(arg, rc, rc ? 0 : l.n, flags, (const uint8_t (*)[32])l.h);
	free(flags);
	hn_hash_list_release(&l);
	return 0;
}

static int op_htips(void *ctx, unsigned n, p2p_htips_cb cb, void *arg)
{
	struct hn_height_info *hi = calloc(n ? n : 1, sizeof(*hi));
	uint64_t *heights = calloc(n ? n : 1, sizeof(*heights));
	uint8_t (*hashes)[32] = calloc(n ? n : 1, 32);
	size_t got = 0, i;
	int rc;

	if (!hi || !heights || !hashes) {
		free(hi);
		free(heights);
		free(hashes);
		return HN_ENOMEM;
	}
	rc = hn_nodesvc_get_n_height_tips(L(ctx), n, hi, &got);
	for (i = 0; rc == 0 && i < got; i++) {
		heights[i] = hi[i].height;
		memcpy(hashes[i], hi[i].hash, 32);
	}
	cb(arg, rc, rc ? 0 : got, heights, (const uint8_t (*)[32])hashes);
	free(hi);
	free(heights);
	free(hashes);
	return 0;
}

const struct p2p_node_ops ledgernode_ops = {
	.best_block = op_best,
	.height_hashes = op_heights,
	.get_vertices = op_vertices,
	.exists = op_exists,
	.add_vertices = op_add,
	.mempool_tips = op_tips,
	.n_height_tips = op_htips,
};

int ledgernode_open(const char *dir, const struct hn_network *net,
		    struct hn_ledger **out, char *err, size_t errlen)
{
	struct hn_ledger_opts o = { 0 };
	struct hn_error e = { 0 };
	char path[4096];
	int rc;

	snprintf(path, sizeof(path), "%s/ledger.db", dir);
	o.db_path = path;
	o.net = net;
	o.sync = HN_STORE_SYNC_NORMAL;
	o.create = true;
	rc = hn_ledger_open(&o, out, &e);
	if (rc < 0)
		snprintf(err, errlen, "%s", e.msg);
	return rc;
}

void ledgernode_best(struct hn_ledger *l, uint64_t *height, uint8_t hash[32])
{
	struct hn_nodesvc_vertex v = { 0 };

	if (hn_nodesvc_get_best_block(l, HN_VMETA_CORE, &v) == 0) {
		*height = v.meta.height;
		memcpy(hash, v.meta.hash, 32);
	} else {
		*height = 0;
		memset(hash, 0, 32);
	}
	hn_nodesvc_vertex_release(&v);
}

size_t ledgernode_count(struct hn_ledger *l)
{
	uint64_t b = 0, t = 0;

	hn_ledger_counts(l, &b, &t);
	return (size_t)(b + t);
}

size_t ledgernode_mempool(struct hn_ledger *l)
{
	struct hn_hash_list h = { 0 };
	size_t n;

	if (hn_ledger_mempool(l, &h) < 0)
		return 0;
	n = h.n;
	hn_hash_list_release(&h);
	return n;
}
