/*
 * tk_txgen.c: signed transactions pushed through the HTTP API (tk.h).
 */
#include "tk.h"

#include <json-c/json.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "daa.h"
#include "hn/b64.h"
#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"
#include "hn/vertex.h"

struct gen {
	const struct tk_txgen_opts *o;
	struct hn_error *err;
};

static int api(struct gen *g, const char *method, const char *path,
	       const char *body, struct json_object **out)
{
	return tk_api_json(g->o->api, g->o->timeout_s, method, path, body,
			   out, g->err);
}

static struct json_object *member(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	return json_object_object_get_ex(o, k, &v) ? v : NULL;
}

/* tx and meta objects of /v1a/transaction?id=@hex (borrowed from *@root,
 * which the caller puts). */
static int get_tx(struct gen *g, const char *hex, struct json_object **root,
		  struct json_object **tx, struct json_object **meta)
{
	char path[128];
	int rc;

	snprintf(path, sizeof(path), "/transaction?id=%s", hex);
	if ((rc = api(g, "GET", path, NULL, root)) < 0)
		return rc;
	*tx = member(*root, "tx");
	*meta = member(*root, "meta");
	if (!*tx || !json_object_is_type(*tx, json_type_object) ||
	    !json_object_is_type(member(*tx, "timestamp"), json_type_int)) {
		json_object_put(*root);
		*root = NULL;
		return hn_error_set(g->err, HN_EPROTO, "transaction %s: "
				    "unexpected answer", hex);
	}
	return 0;
}

static int timestamp_of(struct gen *g, const uint8_t h[32], uint32_t *ts)
{
	struct json_object *root, *tx, *meta;
	char hex[65];
	int rc;

	hn_hex_encode(h, 32, hex);
	if ((rc = get_tx(g, hex, &root, &tx, &meta)) < 0)
		return rc;
	*ts = (uint32_t)json_object_get_int64(member(tx, "timestamp"));
	json_object_put(root);
	return 0;
}

/* True iff meta.spent_outputs ([[index, [spenders]], ...]) lists a
 * spender of output @index. */
static bool spent(struct json_object *meta, int index)
{
	struct json_object *so = meta ? member(meta, "spent_outputs") : NULL;

	if (!so || !json_object_is_type(so, json_type_array))
		return false;
	for (size_t i = 0; i < json_object_array_length(so); i++) {
		struct json_object *e = json_object_array_get_idx(so, i);
		struct json_object *ix, *l;

		if (!json_object_is_type(e, json_type_array) ||
		    json_object_array_length(e) != 2)
			continue;
		ix = json_object_array_get_idx(e, 0);
		l = json_object_array_get_idx(e, 1);
		if (json_object_get_int(ix) == index &&
		    json_object_is_type(l, json_type_array) &&
		    json_object_array_length(l) > 0)
			return true;
	}
	return false;
}

struct utxo {
	uint8_t tx[32];
	uint8_t index;
	uint64_t value;
	uint32_t ts;
};

/* Newest matured, unspent reward paying @script. */
static int find_reward(struct gen *g, const uint8_t script[25],
		       struct utxo *u)
{
	struct json_object *t = NULL;
	struct hn_vertex *tmpl = NULL;
	uint64_t next, best, lock = g->o->net->reward_spend_min_blocks;
	int rc;

	if ((rc = api(g, "GET", "/get_block_template", NULL, &t)) < 0)
		return rc;
	rc = tk_template_parse(json_object_to_json_string(t), &tmpl, &next,
			       g->err);
	json_object_put(t);
	hn_vertex_free(tmpl);
	if (rc < 0)
		return rc;
	best = next ? next - 1 : 0;
	for (uint64_t h = best >= lock ? best - lock : 0;
	     h >= 1 && best - h < lock + 1000; h--) {
		struct json_object *root, *blk, *tx, *meta, *outs, *o0;
		const char *hex, *s64;
		uint8_t *s = NULL;
		size_t sl = 0;
		char path[64], id[65];
		bool match;

		snprintf(path, sizeof(path), "/block_at_height?height=%llu",
			 (unsigned long long)h);
		if ((rc = api(g, "GET", path, NULL, &root)) < 0)
			return rc;
		blk = member(root, "block");
		/* Our node says "hash", the reference (to_json_extended)
		 * "tx_id". */
		hex = blk ? json_object_get_string(member(blk, "hash")) : NULL;
		if (!hex && blk)
			hex = json_object_get_string(member(blk, "tx_id"));
		if (!hex || strlen(hex) != 64) {
			json_object_put(root);
			return hn_error_set(g->err, HN_EPROTO, "block_at_height "
					    "%llu: no block hash",
					    (unsigned long long)h);
		}
		memcpy(id, hex, 65);
		json_object_put(root);
		if ((rc = get_tx(g, id, &root, &tx, &meta)) < 0)
			return rc;
		outs = member(tx, "outputs");
		o0 = outs && json_object_is_type(outs, json_type_array) ?
			json_object_array_get_idx(outs, 0) : NULL;
		s64 = o0 ? json_object_get_string(member(o0, "script")) : NULL;
		match = s64 && hn_b64_decode(s64, &s, &sl) == 0 && sl == 25 &&
			!memcmp(s, script, 25) && !spent(meta, 0);
		free(s);
		if (match) {
			hn_hex_to_hash(id, u->tx);
			u->index = 0;
			u->value = (uint64_t)json_object_get_int64(
				member(o0, "value"));
			u->ts = (uint32_t)json_object_get_int64(
				member(tx, "timestamp"));
			json_object_put(root);
			return 0;
		}
		json_object_put(root);
	}
	return hn_error_set(g->err, HN_ENOENT, "no unspent matured block "
			    "reward of the test key within 1000 blocks of "
			    "height %llu (mine some with hathor-miner)",
			    (unsigned long long)best);
}

/* Builds, signs, mines and pushes one tx spending @u; @u becomes its
 * change. */
static int push_one(struct gen *g, const struct tk_wallet *w,
		    const uint8_t dest[25], struct utxo *u,
		    struct tk_txgen_stats *st)
{
	struct json_object *r = NULL, *a, *req = NULL;
	struct hn_vertex *v = hn_vertex_new();
	uint32_t ts = g->o->now ? g->o->now : (uint32_t)time(NULL), pts;
	uint8_t *bytes = NULL;
	char *hex = NULL;
	uint64_t tries;
	size_t n;
	long size;
	int rc;

	if (!v)
		return hn_error_set(g->err, HN_ENOMEM, "out of memory");
	v->version = HN_VTX_TX;
	v->n_parents = 2;
	v->parents = malloc(2 * 32);
	v->n_inputs = 1;
	v->inputs = calloc(1, sizeof(*v->inputs));
	v->outputs = calloc(2, sizeof(*v->outputs));
	if (!v->parents || !v->inputs || !v->outputs) {
		rc = hn_error_set(g->err, HN_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = api(g, "GET", "/tx_parents", NULL, &r)) < 0)
		goto out;
	a = member(r, "tx_parents");
	if (!a || !json_object_is_type(a, json_type_array) ||
	    json_object_array_length(a) != 2) {
		rc = hn_error_set(g->err, HN_EPROTO, "tx_parents: unexpected "
				  "answer");
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		const char *p = json_object_get_string(
			json_object_array_get_idx(a, (size_t)i));

		if (!p || hn_hex_to_hash(p, v->parents[i]) < 0) {
			rc = hn_error_set(g->err, HN_EPROTO, "tx_parents: "
					  "bad hash");
			goto out;
		}
		if ((rc = timestamp_of(g, v->parents[i], &pts)) < 0)
			goto out;
		if (pts >= ts)
			ts = pts + 1;
	}
	if (u->ts >= ts)
		ts = u->ts + 1;
	v->timestamp = ts;
	memcpy(v->inputs[0].tx_id, u->tx, 32);
	v->inputs[0].index = u->index;
	if (u->value >= 2) {
		rc = tk_output_set(&v->outputs[0], 1, 0, dest);
		rc |= tk_output_set(&v->outputs[1], u->value - 1, 0, w->script);
		v->n_outputs = 2;
	} else {
		rc = tk_output_set(&v->outputs[0], u->value, 0, w->script);
		v->n_outputs = 1;
	}
	if (rc) {
		rc = hn_error_set(g->err, HN_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = tk_wallet_sign(w, v)) < 0 ||
	    (size = hn_vertex_encoded_size(v)) < 0) {
		rc = hn_error_set(g->err, rc < 0 ? rc : HN_EINVAL,
				  "signing failed");
		goto out;
	}
	v->weight = hn_daa_min_tx_weight(g->o->net, (size_t)size,
					 (double)hn_vertex_sum_outputs(v));
	rc = tk_mine(v, 0, &tries);
	st->hashes += tries;
	if (rc != 1 || (rc = hn_vertex_encode(v, &bytes, &n)) < 0) {
		rc = hn_error_set(g->err, rc < 0 ? rc : HN_EINVAL,
				  "mining failed");
		goto out;
	}
	if (!(hex = malloc(2 * n + 1)) || !(req = json_object_new_object())) {
		rc = hn_error_set(g->err, HN_ENOMEM, "out of memory");
		goto out;
	}
	hn_hex_encode(bytes, n, hex);
	json_object_object_add(req, "hex_tx", json_object_new_string(hex));
	json_object_put(r);
	r = NULL;
	if ((rc = api(g, "POST", "/push_tx", json_object_to_json_string_ext(
			req, JSON_C_TO_STRING_PLAIN), &r)) < 0)
		goto out;
	if (!json_object_get_boolean(member(r, "success"))) {
		rc = hn_error_set(g->err, HN_ECONSENSUS, "push_tx refused: %s",
				  json_object_get_string(member(r, "message")));
		goto out;
	}
	memcpy(u->tx, v->hash, 32);
	u->index = (uint8_t)(v->n_outputs - 1);
	u->value = v->outputs[v->n_outputs - 1].value;
	u->ts = v->timestamp;
	memcpy(st->last, v->hash, 32);
	st->pushed++;
	if (g->o->out) {
		char h[65];

		hn_hex_encode(v->hash, 32, h);
		fprintf(g->o->out, "%s\n", h);
		fflush(g->o->out);
	}
	rc = 0;
out:
	json_object_put(r);
	json_object_put(req);
	free(bytes);
	free(hex);
	hn_vertex_free(v);
	return rc;
}

int tk_txgen_run(const struct tk_txgen_opts *o, struct tk_txgen_stats *st,
		 struct hn_error *err)
{
	struct gen g = { .o = o, .err = err };
	struct tk_wallet w;
	uint8_t dest[25];
	struct utxo u;
	int rc;

	memset(st, 0, sizeof(*st));
	if ((rc = tk_wallet_init(&w, o->net, tk_unittests_key)) < 0)
		return hn_error_set(err, rc, "test key refused");
	memcpy(dest, w.script, 25);
	if (o->address && tk_address_to_script(o->net, o->address, dest) < 0) {
		tk_wallet_release(&w);
		return hn_error_set(err, HN_EINVAL, "bad address %s for %s",
				    o->address, o->net->name);
	}
	rc = o->count ? find_reward(&g, w.script, &u) : 0;
	if (rc == 0 && o->count)
		memcpy(st->spent_block, u.tx, 32);
	for (uint64_t i = 0; rc == 0 && i < o->count; i++)
		rc = push_one(&g, &w, dest, &u, st);
	tk_wallet_release(&w);
	return rc;
}
