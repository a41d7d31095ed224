/*
 * tk_miner.c: CPU miner over the HTTP API (tk.h): get_block_template,
 * block assembly, local DAA for historic timestamps, submit_block.
 *
 * The template's weight is for the template's timestamp; a historic
 * block (parent + spacing) needs the DAA at its own timestamp, so the
 * miner keeps the DAA window of the parent's ancestors (fetched with
 * /v1a/transaction, following parents[0]) and computes the weight with
 * core/daa.c.  Which DAA (V1, or V2 once the daemon's REDUCE_DAA_TARGET
 * is active) is read off the template: the one whose reward at the
 * template's height and weight at its timestamp are the template's; when
 * both fit (the minimum weight, and equal rewards) the last one found
 * stays, when neither does the miner warns.
 */
#include "tk.h"

#include <json-c/json.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "daa.h"
#include "hn/b64.h"
#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"
#include "hn/vertex.h"

static bool jget(struct json_object *o, const char *k, json_type t,
		 struct json_object **v)
{
	return json_object_object_get_ex(o, k, v) && json_object_is_type(*v, t);
}

static int b64_field(struct json_object *o, const char *k, uint8_t **out,
		     size_t *len)
{
	struct json_object *v;

	*out = NULL;
	*len = 0;
	if (!json_object_object_get_ex(o, k, &v) || json_object_is_type(v,
	    json_type_null))
		return 0;
	if (!json_object_is_type(v, json_type_string))
		return HN_EPARSE;
	if (!*json_object_get_string(v))
		return 0;
	return hn_b64_decode(json_object_get_string(v), out, len) < 0 ?
		HN_EPARSE : 0;
}

int tk_template_parse(const char *json, struct hn_vertex **out,
		      uint64_t *height, struct hn_error *err)
{
	struct json_object *root = json_tokener_parse(json), *v, *a, *md;
	struct hn_vertex *b = NULL;
	const char *bad = NULL;
	uint8_t *data = NULL;
	size_t n, dlen;

	*out = NULL;
	*height = 0;
	if (!root || !json_object_is_type(root, json_type_object)) {
		bad = "not a JSON object";
		goto fail;
	}
	if (!(b = hn_vertex_new())) {
		json_object_put(root);
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	}
	if (!jget(root, "version", json_type_int, &v) ||
	    !hn_version_is_block((uint8_t)json_object_get_int(v)) ||
	    json_object_get_int(v) != HN_VTX_BLOCK) {
		bad = "version (want a regular block, 0)";
		goto fail;
	}
	b->version = HN_VTX_BLOCK;
	if (jget(root, "signal_bits", json_type_int, &v))
		b->signal_bits = (uint8_t)json_object_get_int(v);
	if (!jget(root, "timestamp", json_type_int, &v)) {
		bad = "timestamp";
		goto fail;
	}
	b->timestamp = (uint32_t)json_object_get_int64(v);
	if (!json_object_object_get_ex(root, "weight", &v) ||
	    !(json_object_is_type(v, json_type_double) ||
	      json_object_is_type(v, json_type_int))) {
		bad = "weight";
		goto fail;
	}
	b->weight = json_object_get_double(v);
	if (!jget(root, "parents", json_type_array, &a) ||
	    (n = json_object_array_length(a)) != 3) {
		bad = "parents (want 3)";
		goto fail;
	}
	b->n_parents = 3;
	b->parents = malloc(3 * 32);
	if (!b->parents)
		goto nomem;
	for (size_t i = 0; i < 3; i++) {
		struct json_object *p = json_object_array_get_idx(a, i);

		if (!json_object_is_type(p, json_type_string) ||
		    hn_hex_to_hash(json_object_get_string(p),
				   b->parents[i]) < 0) {
			bad = "parents (hex hashes)";
			goto fail;
		}
	}
	if (!jget(root, "outputs", json_type_array, &a) ||
	    (n = json_object_array_length(a)) < 1 || n > 255) {
		bad = "outputs";
		goto fail;
	}
	b->outputs = calloc(n, sizeof(*b->outputs));
	if (!b->outputs)
		goto nomem;
	b->n_outputs = (uint8_t)n;
	for (size_t i = 0; i < n; i++) {
		struct json_object *o = json_object_array_get_idx(a, i);
		struct hn_tx_output *to = &b->outputs[i];
		uint8_t *s;
		size_t sl;

		if (!json_object_is_type(o, json_type_object) ||
		    !jget(o, "value", json_type_int, &v) ||
		    json_object_get_int64(v) <= 0) {
			bad = "outputs[].value";
			goto fail;
		}
		to->value = (uint64_t)json_object_get_int64(v);
		if (jget(o, "token_data", json_type_int, &v))
			to->token_data = (uint8_t)json_object_get_int(v);
		if (b64_field(o, "script", &s, &sl) < 0 || sl > 1024) {
			free(s);
			bad = "outputs[].script (base64)";
			goto fail;
		}
		to->script = s;
		to->script_len = (uint16_t)sl;
	}
	if (b64_field(root, "data", &data, &dlen) < 0 ||
	    dlen > sizeof(b->data)) {
		bad = "data (base64)";
		goto fail;
	}
	if (dlen)
		memcpy(b->data, data, dlen);
	b->data_len = (uint8_t)dlen;
	free(data);
	if (jget(root, "metadata", json_type_object, &md) &&
	    jget(md, "height", json_type_int, &v))
		*height = (uint64_t)json_object_get_int64(v);
	if (hn_vertex_update_hash(b) < 0) {
		bad = "fields (block does not encode)";
		goto fail;
	}
	json_object_put(root);
	*out = b;
	return 0;
nomem:
	json_object_put(root);
	hn_vertex_free(b);
	return hn_error_set(err, HN_ENOMEM, "out of memory");
fail:
	json_object_put(root);
	hn_vertex_free(b);
	return hn_error_set(err, HN_EPARSE, "block template: bad %s", bad);
}

int tk_miner_plan(const struct hn_network *net,
		  const struct hn_daa_config *cfg,
		  const struct hn_daa_block *chain, size_t n,
		  uint64_t parent_height, uint32_t tx_max_ts,
		  enum tk_miner_mode mode, uint32_t spacing, uint32_t now,
		  uint32_t *ts, double *weight, bool *historic)
{
	struct hn_daa_config v1;
	size_t need = hn_daa_blocks_needed(net, parent_height);
	uint64_t parent_ts, hist_ts, lo, hi;

	if (n < 1 || n < need)
		return HN_EINVAL;
	if (!spacing)
		spacing = 31;
	parent_ts = chain[0].timestamp;
	lo = (parent_ts > tx_max_ts ? parent_ts : tx_max_ts) + 1;
	hist_ts = parent_ts + spacing > lo ? parent_ts + spacing : lo;
	switch (mode) {
	case TK_MINE_HISTORIC:
		*historic = true;
		break;
	case TK_MINE_LIVE:
		*historic = false;
		break;
	case TK_MINE_AUTO:
		*historic = hist_ts <= now;
		break;
	}
	if (*historic) {
		*ts = (uint32_t)hist_ts;
	} else {
		hi = parent_ts + net->max_distance_between_blocks - 1;
		*ts = (uint32_t)(now < lo ? lo : now > hi ? hi : now);
	}
	if (*ts < lo || *ts > parent_ts + net->max_distance_between_blocks)
		return HN_ERANGE;
	if (!cfg) {
		hn_daa_config_v1(net, &v1);
		cfg = &v1;
	}
	return hn_daa_next_weight(net, cfg, chain, need, parent_height, *ts,
				  weight) < 0 ? HN_EINVAL : 0;
}

/* --- the loop -------------------------------------------------------------- */

struct anc {
	uint8_t hash[32];
	struct hn_daa_block b;
};

struct miner {
	const struct tk_miner_opts *o;
	struct tk_miner_stats *st;
	struct hn_error *err;
	struct anc *win;        /* parent first */
	size_t n_win, cap_win;
	struct anc txp[2];      /* timestamps of recent tx parents */
	int txp_next;
	bool v2;                /* the daemon's DAA is V2 (pick_daa) */
};

int tk_api_json(const char *url, unsigned timeout_s, const char *method,
		const char *path, const char *body, struct json_object **out,
		struct hn_error *err)
{
	size_t ul = strlen(url);
	const char *v1a = ul >= 4 && !strcmp(url + ul - 4, "/v1a") ? "" :
		"/v1a";
	char full[600], *resp = NULL;
	int status, rc;

	*out = NULL;
	snprintf(full, sizeof(full), "%s%s", v1a, path);
	rc = tk_http_request(url, method, full, body, timeout_s, &status,
			     &resp, err);
	if (rc < 0)
		return rc;
	if (status != 200) {
		hn_error_set(err, HN_EPROTO, "%s %s: HTTP %d: %.100s",
			     method, full, status, resp);
		free(resp);
		return HN_EPROTO;
	}
	*out = json_tokener_parse(resp);
	if (!*out) {
		hn_error_set(err, HN_EPROTO, "%s %s: not JSON: %.100s",
			     method, full, resp);
		free(resp);
		return HN_EPROTO;
	}
	free(resp);
	return 0;
}

static int api(struct miner *m, const char *method, const char *path,
	       const char *body, struct json_object **out)
{
	return tk_api_json(m->o->api, m->o->timeout_s, method, path, body,
			   out, m->err);
}

/* /v1a/transaction?id=H: timestamp, weight and first parent of a block. */
static int fetch_block(struct miner *m, const uint8_t h[32], struct anc *a,
		       uint8_t parent[32], bool *has_parent)
{
	struct json_object *o = NULL, *tx, *v, *p;
	char path[128], hex[65];
	int rc;

	hn_hex_encode(h, 32, hex);
	snprintf(path, sizeof(path), "/transaction?id=%s", hex);
	if ((rc = api(m, "GET", path, NULL, &o)) < 0)
		return rc;
	rc = HN_EPROTO;
	if (!jget(o, "tx", json_type_object, &tx) ||
	    !jget(tx, "timestamp", json_type_int, &v))
		goto out;
	memcpy(a->hash, h, 32);
	a->b.timestamp = (uint32_t)json_object_get_int64(v);
	if (!json_object_object_get_ex(tx, "weight", &v))
		goto out;
	a->b.weight = json_object_get_double(v);
	*has_parent = false;
	if (jget(tx, "parents", json_type_array, &p) &&
	    json_object_array_length(p) > 0) {
		v = json_object_array_get_idx(p, 0);
		if (!json_object_is_type(v, json_type_string) ||
		    hn_hex_to_hash(json_object_get_string(v), parent) < 0)
			goto out;
		*has_parent = true;
	}
	rc = 0;
out:
	if (rc < 0)
		hn_error_set(m->err, rc, "transaction %s: unexpected answer",
			     hex);
	json_object_put(o);
	return rc;
}

/* Puts @a in front of the window, keeping at most cap_win entries. */
static void win_push(struct miner *m, const struct anc *a)
{
	size_t keep = m->n_win < m->cap_win ? m->n_win : m->cap_win - 1;

	memmove(m->win + 1, m->win, keep * sizeof(*m->win));
	m->win[0] = *a;
	m->n_win = keep + 1;
}

/* Makes win[] the DAA window ending at @parent (height @ph). */
static int window(struct miner *m, const uint8_t parent[32], uint64_t ph)
{
	size_t need = hn_daa_blocks_needed(m->o->net, ph);
	uint8_t cur[32], next[32];
	bool more = true;
	int rc;

	if (need < 1)
		need = 1;
	if (m->cap_win < need + 1) {
		struct anc *w = realloc(m->win, (need + 1) * sizeof(*w));

		if (!w)
			return hn_error_set(m->err, HN_ENOMEM, "out of memory");
		m->win = w;
		m->cap_win = need + 1;
	}
	/* Extension by the block we just mined: only the new one to fetch. */
	if (m->n_win && !memcmp(m->win[0].hash, parent, 32)) {
		if (m->n_win >= need)
			return 0;
	} else if (m->n_win) {
		struct anc a;

		if ((rc = fetch_block(m, parent, &a, next, &more)) < 0)
			return rc;
		if (more && !memcmp(next, m->win[0].hash, 32)) {
			win_push(m, &a);
			if (m->n_win >= need)
				return 0;
		}
	}
	m->n_win = 0;
	memcpy(cur, parent, 32);
	while (m->n_win < need && more) {
		if ((rc = fetch_block(m, cur, &m->win[m->n_win], next,
				      &more)) < 0)
			return rc;
		m->n_win++;
		memcpy(cur, next, 32);
	}
	if (m->n_win < need)
		return hn_error_set(m->err, HN_EPROTO, "only %zu ancestors of "
				    "the parent at height %llu", m->n_win,
				    (unsigned long long)ph);
	return 0;
}

static int submit(struct miner *m, const struct hn_vertex *b, bool *ok)
{
	struct json_object *o = NULL, *req, *v;
	uint8_t *bytes;
	size_t n;
	char *hex;
	int rc;

	if ((rc = hn_vertex_encode(b, &bytes, &n)) < 0)
		return hn_error_set(m->err, rc, "block does not encode");
	hex = malloc(2 * n + 1);
	req = json_object_new_object();
	if (!hex || !req) {
		free(bytes);
		free(hex);
		json_object_put(req);
		return hn_error_set(m->err, HN_ENOMEM, "out of memory");
	}
	hn_hex_encode(bytes, n, hex);
	free(bytes);
	json_object_object_add(req, "hexdata", json_object_new_string(hex));
	free(hex);
	rc = api(m, "POST", "/submit_block",
		 json_object_to_json_string_ext(req, JSON_C_TO_STRING_PLAIN),
		 &o);
	json_object_put(req);
	if (rc < 0)
		return rc;
	*ok = jget(o, "result", json_type_boolean, &v) &&
		json_object_get_boolean(v);
	json_object_put(o);
	return 0;
}

static uint32_t clock_now(const struct tk_miner_opts *o)
{
	return o->now ? o->now : (uint32_t)time(NULL);
}

/* Does DAA @cfg give template @b (block @height on chain[0]) its reward
 * and, at its timestamp, its weight? */
static bool daa_fits(const struct tk_miner_opts *o,
		     const struct hn_daa_config *cfg,
		     const struct hn_daa_block *chain, uint64_t height,
		     const struct hn_vertex *b, double *w)
{
	size_t need = hn_daa_blocks_needed(o->net, height - 1);

	*w = 0;
	if (hn_daa_next_weight(o->net, cfg, chain, need, height - 1,
			       b->timestamp, w) < 0)
		return false;
	return fabs(*w - b->weight) <= 1e-9 && b->n_outputs >= 1 &&
	       b->outputs[0].value == hn_daa_reward(o->net, cfg, height);
}

/* The daemon's DAA for template @b: V2 (REDUCE_DAA_TARGET active at the
 * parent, DAAFactory.create_from_parent) or V1, into *@cfg. */
static void pick_daa(struct miner *m, const struct hn_daa_block *chain,
		     uint64_t height, const struct hn_vertex *b,
		     struct hn_daa_config *cfg)
{
	const struct tk_miner_opts *o = m->o;
	struct hn_daa_config v1, v2;
	double w1, w2;
	bool f1, f2;

	hn_daa_config_v1(o->net, &v1);
	hn_daa_config_v2(o->net, &v2);
	f1 = daa_fits(o, &v1, chain, height, b, &w1);
	f2 = daa_fits(o, &v2, chain, height, b, &w2);
	if (f1 != f2)
		m->v2 = f2;
	if (!f1 && !f2) {
		m->st->daa_unknown++;
		if (!o->quiet)
			fprintf(stderr, "miner: warning: template weight "
				"%.10f, reward %llu at height %llu fit neither "
				"DAA (V1 %.10f, %llu; V2 %.10f, %llu)\n",
				b->weight, (unsigned long long)(b->n_outputs ?
					b->outputs[0].value : 0),
				(unsigned long long)height, w1,
				(unsigned long long)hn_daa_reward(o->net, &v1,
								  height),
				w2,
				(unsigned long long)hn_daa_reward(o->net, &v2,
								  height));
	}
	*cfg = m->v2 ? v2 : v1;
}

/* Mines one block: 0 accepted, 1 rejected, 2 (@catch_up only) the tip
 * is already recent, nothing mined; or a negative code. */
static int mine_one(struct miner *m, const char *tpath, uint64_t seq,
		    bool catch_up)
{
	const struct tk_miner_opts *o = m->o;
	enum tk_miner_mode mode = catch_up ? TK_MINE_HISTORIC : o->mode;
	uint32_t spacing = catch_up ?
		o->net->max_distance_between_blocks - 1 : o->spacing;
	uint32_t now = clock_now(o);
	struct json_object *t = NULL;
	struct hn_vertex *b = NULL;
	struct hn_daa_block *chain = NULL;
	struct hn_daa_config cfg;
	uint64_t height, tries;
	double weight;
	uint32_t ts, tx_max_ts = 0;
	bool historic, ok = false;
	char hex[65];
	int rc;

	if ((rc = api(m, "GET", tpath, NULL, &t)) < 0)
		return rc;
	rc = tk_template_parse(json_object_to_json_string(t), &b, &height,
			       m->err);
	json_object_put(t);
	if (rc < 0)
		return rc;
	if (height == 0) {
		rc = hn_error_set(m->err, HN_EPROTO, "template without "
				  "metadata.height");
		goto out;
	}
	if ((rc = window(m, b->parents[0], height - 1)) < 0)
		goto out;
	if (!(chain = malloc(m->n_win * sizeof(*chain)))) {
		rc = hn_error_set(m->err, HN_ENOMEM, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < m->n_win; i++)
		chain[i] = m->win[i].b;
	for (int i = 1; i < 3; i++) {
		struct anc a;
		uint8_t pp[32];
		bool more;
		int k;

		for (k = 0; k < 2; k++)
			if (!memcmp(m->txp[k].hash, b->parents[i], 32))
				break;
		if (k < 2) {
			a = m->txp[k];
		} else {
			rc = fetch_block(m, b->parents[i], &a, pp, &more);
			if (rc < 0)
				goto out;
			m->txp[m->txp_next] = a;
			m->txp_next ^= 1;
		}
		if (a.b.timestamp > tx_max_ts)
			tx_max_ts = a.b.timestamp;
	}
	pick_daa(m, chain, height, b, &cfg);
	if (catch_up && (uint64_t)chain[0].timestamp + spacing > now) {
		rc = 2;
		goto out;
	}
	if ((rc = tk_miner_plan(o->net, &cfg, chain, m->n_win, height - 1,
				tx_max_ts, mode, spacing, now, &ts, &weight,
				&historic)) < 0) {
		if (rc == HN_ERANGE)
			hn_error_set(m->err, rc, "no valid timestamp at height "
				     "%llu: the tx parents are newer than the "
				     "parent block + %u s (mine with "
				     "--catch-up before pushing transactions)",
				     (unsigned long long)height,
				     o->net->max_distance_between_blocks);
		else
			hn_error_set(m->err, rc, "DAA failed at height %llu",
				     (unsigned long long)height);
		goto out;
	}
	if (!historic && ts == b->timestamp)
		weight = b->weight;
	b->timestamp = ts;
	b->weight = weight;
	/* Distinct nonce ranges for miners sharing an address. */
	b->nonce_hi = (uint64_t)getpid() << 32 | (seq & 0xffffffffu);
	b->nonce_lo = 0;
	for (;;) {
		rc = tk_mine(b, 1u << 22, &tries);
		m->st->hashes += tries;
		if (rc != 0)
			break;
		if (o->stop && *o->stop) {
			rc = hn_error_set(m->err, HN_ECLOSED, "stopped");
			goto out;
		}
		if (!historic) {
			/* Live: refresh the timestamp (weight decay). */

			now = clock_now(o);
			if (now > b->timestamp &&
			    tk_miner_plan(o->net, &cfg, chain, m->n_win,
					  height - 1,
					  tx_max_ts, TK_MINE_LIVE, o->spacing,
					  now, &ts, &weight, &historic) == 0) {
				b->timestamp = ts;
				b->weight = weight;
			}
		}
	}
	if (rc < 0) {
		hn_error_set(m->err, rc, "mining failed");
		goto out;
	}
	if ((rc = submit(m, b, &ok)) < 0)
		goto out;
	hn_hex_encode(b->hash, 32, hex);
	if (ok) {
		m->st->mined++;
		m->st->historic += historic;
		m->st->last_height = height;
		memcpy(m->st->last_hash, b->hash, 32);
		/* Our block is the next parent: extend the window. */
		{
			struct anc a;

			memcpy(a.hash, b->hash, 32);
			a.b.timestamp = b->timestamp;
			a.b.weight = b->weight;
			win_push(m, &a);
		}
		if (catch_up)
			m->st->caught_up++;
		if (!o->quiet && !catch_up)
			printf("height %llu %s ts %u weight %.4f %s\n",
			       (unsigned long long)height, hex, b->timestamp,
			       b->weight, historic ? "historic" : "live");
	} else {
		m->st->rejected++;
		if (!o->quiet)
			fprintf(stderr, "miner: block %s at height %llu "
				"rejected\n", hex, (unsigned long long)height);
	}
	rc = ok ? 0 : 1;
out:
	free(chain);
	hn_vertex_free(b);
	return rc;
}

int tk_miner_run(const struct tk_miner_opts *o, struct tk_miner_stats *st,
		 struct hn_error *err)
{
	struct miner m = { .o = o, .st = st, .err = err };
	const char *addr = o->address;
	struct tk_wallet w = { 0 };
	bool multisig;
	unsigned bad_row = 0;
	char tpath[200];
	int rc = 0;

	memset(st, 0, sizeof(*st));
	if (!addr) {
		if ((rc = tk_wallet_init(&w, o->net, tk_unittests_key)) < 0)
			return hn_error_set(err, rc, "test key refused");
		addr = w.address;
	} else if (tk_address_check(o->net, addr, &multisig) < 0) {
		return hn_error_set(err, HN_EINVAL, "bad address %s for %s",
				    addr, o->net->name);
	}
	snprintf(tpath, sizeof(tpath), "/get_block_template?address=%s",
		 addr);
	for (uint64_t i = 0; o->catch_up; i++) {
		if (o->stop && *o->stop)
			break;
		rc = mine_one(&m, tpath, i, true);
		if (rc < 0 || rc == 2)
			break;
		bad_row = rc ? bad_row + 1 : 0;
		if (bad_row >= 3) {
			rc = hn_error_set(err, HN_ECONSENSUS, "three blocks in "
					  "a row rejected by submit_block");
			break;
		}
	}
	if (rc < 0) {
		tk_wallet_release(&w);
		free(m.win);
		return rc;
	}
	rc = 0;
	bad_row = 0;
	for (uint64_t i = 0; !o->blocks || st->mined - st->caught_up <
	     o->blocks; i++) {
		if (o->stop && *o->stop)
			break;
		rc = mine_one(&m, tpath, i, false);
		if (rc < 0)
			break;
		bad_row = rc ? bad_row + 1 : 0;
		rc = 0;
		if (bad_row >= 3) {
			rc = hn_error_set(err, HN_ECONSENSUS, "three blocks in "
					  "a row rejected by submit_block");
			break;
		}
	}
	tk_wallet_release(&w);
	free(m.win);
	return rc;
}
