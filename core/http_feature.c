/*
 * http_feature.c: GET /v1a/feature (hathor/feature_activation/resources/
 * feature.py FeatureResource).
 *
 * Without arguments: {block_hash, block_height, features: [{name, state,
 * acceptance, threshold, start_height, minimum_activation_height,
 * timeout_height, lock_in_on_timeout, version}]} at the best block, in the
 * network's feature order; acceptance is the bit count / interval while
 * STARTED or MUST_SIGNAL, null otherwise; threshold the threshold count /
 * interval.  With ?block=<hash>: {signal_bits: [{bit, signal, feature,
 * feature_state}]} for the features STARTED or MUST_SIGNAL at that block.
 * Both read the block's feature record (core/feature.h; one row).
 *
 * Errors as the reference's api_endpoint: a block argument that is not
 * hex, 400 {"success": false, "error": ...}; an unknown hash, 400 with the
 * hash as error (TransactionDoesNotExist); a transaction, 200 {"success":
 * false, "error": "Hash '<hex>' is not a Block."}.
 */
#include <stdio.h>
#include <string.h>

#include "feature.h"
#include "http_int.h"
#include "ledger.h"
#include "store.h"

#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"

#define jadd json_object_object_add

static void fail_error(struct http__req *r, unsigned status, const char *msg)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		return;
	jadd(o, "success", json_object_new_boolean(false));
	jadd(o, "error", json_object_new_string(msg));
	http__ok(r, status, o);
}

static uint32_t feature_threshold(const struct hn_network *net,
				  const struct hn_feature *f)
{
	return f->threshold ? f->threshold : net->feature_default_threshold;
}

static bool signaling(enum hn_feature_state s)
{
	return s == HN_FS_STARTED || s == HN_FS_MUST_SIGNAL;
}

/* ?block=<hash>: signal bits of the features in a signalling state. */
static void block_features(struct http__req *r, struct hn_ledger *l,
			   const char *hex)
{
	const struct hn_network *net = hn_ledger_network(l);
	struct hn_fa *fa = hn_ledger_fa(l);
	struct json_object *o, *arr;
	struct hn_vmeta m;
	struct hn_fa_rec rec;
	struct hn_vertex *v = NULL;
	uint8_t hash[32], buf[64];
	char msg[200];
	size_t n = 0;
	int rc;

	if (hn_hex_decode(hex, buf, sizeof(buf), &n) < 0) {
		fail_error(r, 400, "block: value is not a valid hex string");
		return;
	}
	if (n != 32) {
		fail_error(r, 400, hex);      /* TransactionDoesNotExist */
		return;
	}
	memcpy(hash, buf, 32);
	rc = hn_store_get_meta_vertex(hn_ledger_store(l), hash, &m, &v);
	if (rc == HN_ENOENT) {
		fail_error(r, 400, hex);
		return;
	}
	if (rc < 0) {
		http__fail(r, 500, "storage error");
		return;
	}
	hn_vmeta_release(&m);
	if (!hn_vertex_is_block(v)) {
		hn_vertex_free(v);
		snprintf(msg, sizeof(msg), "Hash '%s' is not a Block.", hex);
		fail_error(r, 200, msg);
		return;
	}
	if (!fa || hn_fa_rec(fa, hash, &rec) < 0) {
		hn_vertex_free(v);
		http__fail(r, 500, "cannot compute feature states");
		return;
	}
	if (!(o = json_object_new_object()) ||
	    !(arr = json_object_new_array())) {
		json_object_put(o);
		hn_vertex_free(v);
		return;
	}
	for (size_t i = 0; i < net->n_features; i++) {
		const struct hn_feature *f = &net->features[i];
		enum hn_feature_state s = hn_fa_rec_state(&rec, i);
		struct json_object *e;

		if (!signaling(s) || !(e = json_object_new_object()))
			continue;
		jadd(e, "bit", json_object_new_int(f->bit));
		jadd(e, "signal", json_object_new_int((v->signal_bits >>
						       f->bit) & 1));
		jadd(e, "feature", json_object_new_string(f->name));
		jadd(e, "feature_state", json_object_new_string(
			hn_feature_state_name(s)));
		json_object_array_add(arr, e);
	}
	hn_vertex_free(v);
	jadd(o, "signal_bits", arr);
	http__ok(r, 200, o);
}

void http__feature(struct http__req *r)
{
	struct hn_ledger *l = http__ledger(r);
	const struct hn_network *net;
	struct hn_block_info best;
	struct hn_fa_rec rec;
	struct hn_fa *fa;
	struct json_object *o, *arr;
	const char *blk;
	double I;

	if (!l)
		return;
	if ((blk = http__arg(r, "block"))) {
		block_features(r, l, blk);
		return;
	}
	net = hn_ledger_network(l);
	fa = hn_ledger_fa(l);
	if (hn_ledger_best_block(l, &best) < 0 || !fa ||
	    hn_fa_rec(fa, best.hash, &rec) < 0) {
		http__fail(r, 500, "cannot compute feature states");
		return;
	}
	I = net->feature_evaluation_interval ?
	    (double)net->feature_evaluation_interval : 1.0;
	if (!(o = json_object_new_object()) ||
	    !(arr = json_object_new_array())) {
		json_object_put(o);
		return;
	}
	jadd(o, "block_hash", http__hex(best.hash, 32));
	jadd(o, "block_height", json_object_new_int64((int64_t)best.height));
	for (size_t i = 0; i < net->n_features; i++) {
		const struct hn_feature *f = &net->features[i];
		enum hn_feature_state s = hn_fa_rec_state(&rec, i);
		struct json_object *e = json_object_new_object();

		if (!e)
			continue;
		jadd(e, "name", json_object_new_string(f->name));
		jadd(e, "state", json_object_new_string(
			hn_feature_state_name(s)));
		jadd(e, "acceptance", signaling(s) && f->bit < HN_FA_MAX_BITS ?
		     json_object_new_double(rec.counts[f->bit] / I) : NULL);
		jadd(e, "threshold", json_object_new_double(
			feature_threshold(net, f) / I));
		jadd(e, "start_height",
		     json_object_new_int64((int64_t)f->start_height));
		jadd(e, "minimum_activation_height", json_object_new_int64(
			(int64_t)f->minimum_activation_height));
		jadd(e, "timeout_height",
		     json_object_new_int64((int64_t)f->timeout_height));
		jadd(e, "lock_in_on_timeout",
		     json_object_new_boolean(f->lock_in_on_timeout));
		jadd(e, "version", json_object_new_string(f->version ?
							  f->version : ""));
		json_object_array_add(arr, e);
	}
	jadd(o, "features", arr);
	http__ok(r, 200, o);
}
