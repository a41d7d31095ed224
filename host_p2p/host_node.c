/*
 * host_node.c: struct hathor_node_ops over JSON-RPC on node.ipc.
 *
 * Each call encodes its params (hashes lower hex, bytes base64), goes out
 * through the pipelined client (up to --inflight contexts; writes are
 * HN_RPC_ORDERED so on_new_* reach the core in the plugin's order), and its
 * reply is decoded into the C result the plugin's callback expects.
 * Results that do not have the documented shape complete with
 * HATHOR_EPROTO.  Every pending call is on a list so that unloading the
 * plugin (host_node_cancel) can complete them with HATHOR_ECLOSED first;
 * their replies are then dropped.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

#include "hn/log.h"

enum pk {
	K_ADD = 1, K_VERIFY, K_DONE, K_VERTEX, K_U64, K_BOOL, K_HASHES,
	K_HTIPS, K_HASH, K_TIPS, K_MERKLE, K_RANGE, K_VINFOS, K_BOOLS,
	K_HFOUND,
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

struct host_pending {
	struct host_pending *prev, *next;
	struct host *hs;
	struct hathor_host *h;
	enum pk kind;
	const char *key;                /* result member (K_U64, K_BOOL) */
	union pcb cb;
	void *arg;
	bool cancelled;
};

static struct host *HS(struct hathor_host *h)
{
	return hn_plugin_host_node_ctx(h);
}

/* --- failing a call ----------------------------------------------------- */

static void fail(struct host_pending *p, int rc, const char *msg)
{
	static const uint8_t zero[32];

	switch (p->kind) {
	case K_ADD:
		p->cb.add(p->arg, rc, msg, 0, NULL);
		break;
	case K_VERIFY:
		p->cb.verify(p->arg, rc, msg, 0);
		break;
	case K_DONE:
		p->cb.done(p->arg, rc, msg);
		break;
	case K_VERTEX:
		p->cb.vertex(p->arg, rc, msg, NULL);
		break;
	case K_U64:
		p->cb.u64(p->arg, rc, msg, 0);
		break;
	case K_BOOL:
		p->cb.b(p->arg, rc, msg, false);
		break;
	case K_HASHES:
		p->cb.hashes(p->arg, rc, msg, 0, NULL);
		break;
	case K_HTIPS:
		p->cb.htips(p->arg, rc, msg, 0, NULL);
		break;
	case K_HASH:
		p->cb.hash(p->arg, rc, msg, zero);
		break;
	case K_TIPS:
		p->cb.tips(p->arg, rc, msg, 0, NULL);
		break;
	case K_MERKLE:
		p->cb.merkle(p->arg, rc, msg, zero, 0, NULL);
		break;
	case K_RANGE:
		p->cb.range(p->arg, rc, msg, 0, NULL, false, 0, 0);
		break;
	case K_VINFOS:
		p->cb.vinfos(p->arg, rc, msg, 0, NULL);
		break;
	case K_BOOLS:
		p->cb.bools(p->arg, rc, msg, 0, NULL);
		break;
	case K_HFOUND:
		p->cb.hfound(p->arg, rc, msg, 0, NULL, NULL);
		break;
	}
}

/* --- decoding ----------------------------------------------------------- */

struct json_object *host_member(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	if (!json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, k, &v))
		return NULL;
	return v;
}

static int get_bool(struct json_object *o, const char *k, bool *out)
{
	return hn_rpc_v_bool(host_member(o, k), out, NULL);
}

static int get_i64(struct json_object *o, const char *k, int64_t *out)
{
	return hn_rpc_v_i64(host_member(o, k), out, NULL);
}

static int get_u64(struct json_object *o, const char *k, uint64_t *out)
{
	return hn_rpc_v_u64(host_member(o, k), out, NULL);
}

static int get_hash(struct json_object *o, const char *k, uint8_t out[32])
{
	return hn_rpc_v_hash(host_member(o, k), out, NULL);
}

/* Fills @v from a vinfo object; *@buf gets the malloc'd bytes. */
static int vinfo_decode(struct json_object *o, struct hathor_vinfo *v,
			uint8_t **buf, size_t max)
{
	int64_t ts = 0;
	double w = 0;

	memset(v, 0, sizeof(*v));
	*buf = NULL;
	if (get_bool(o, "found", &v->found) < 0)
		return HN_EPROTO;
	if (get_hash(o, "hash", v->hash) < 0)
		return HN_EPROTO;
	if (!v->found)
		return 0;
	if (hn_rpc_v_bytes(host_member(o, "bytes"), max, buf, &v->len,
			   NULL) < 0 ||
	    get_bool(o, "is_block", &v->is_block) < 0 ||
	    get_bool(o, "voided", &v->voided) < 0 ||
	    get_bool(o, "fully_valid", &v->fully_valid) < 0 ||
	    get_i64(o, "height", &v->height) < 0 ||
	    get_i64(o, "first_block_height", &v->first_block_height) < 0 ||
	    get_i64(o, "timestamp", &ts) < 0 ||
	    hn_rpc_v_double(host_member(o, "weight"), &w, NULL) < 0) {
		free(*buf);
		*buf = NULL;
		return HN_EPROTO;
	}
	v->bytes = *buf;
	v->timestamp = (uint32_t)ts;
	v->weight = w;
	if (host_member(o, "first_block")) {
		if (get_hash(o, "first_block", v->first_block) < 0) {
			free(*buf);
			*buf = NULL;
			return HN_EPROTO;
		}
		v->has_first_block = true;
	}
	return 0;
}

static uint32_t status_of(const char *s)
{
	if (!strcmp(s, "accepted"))
		return HATHOR_ADD_ACCEPTED;
	if (!strcmp(s, "known"))
		return HATHOR_ADD_KNOWN;
	if (!strcmp(s, "missing_deps"))
		return HATHOR_ADD_MISSING_DEPS;
	if (!strcmp(s, "invalid"))
		return HATHOR_ADD_INVALID;
	return HATHOR_ADD_FAILED;
}

static int add_decode(struct json_object *o, struct hathor_add_result *r)
{
	const char *st;
	int64_t code = 0;

	memset(r, 0, sizeof(*r));
	if (hn_rpc_v_str(host_member(o, "status"), &st, NULL) < 0 ||
	    get_i64(o, "code", &code) < 0 ||
	    get_bool(o, "is_block", &r->is_block) < 0 ||
	    get_bool(o, "voided", &r->voided) < 0 ||
	    get_bool(o, "best_changed", &r->best_changed) < 0 ||
	    get_u64(o, "height", &r->height) < 0)
		return HN_EPROTO;
	r->status = status_of(st);
	r->code = (int)code;
	if (host_member(o, "hash")) {
		if (get_hash(o, "hash", r->hash) < 0)
			return HN_EPROTO;
		r->decoded = true;
	}
	if (host_member(o, "msg") &&
	    hn_rpc_v_str(host_member(o, "msg"), &r->msg, NULL) < 0)
		return HN_EPROTO;
	return 0;
}

static int hashes_decode(struct json_object *a, uint8_t (**out)[32],
			 size_t *n)
{
	return hn_rpc_v_hashes(a, HN_NODESVC_MAX_LIST_HOST, true, out, n,
			       NULL) < 0 ? HN_EPROTO : 0;
}

/* Decodes @res for @p and calls its callback.  Returns 0, or HN_EPROTO
 * when the result has the wrong shape (the callback was not called). */
static int deliver(struct host_pending *p, struct json_object *res)
{
	size_t max = p->hs->max_msg;
	size_t i, n = 0;
	int rc = 0;

	switch (p->kind) {
	case K_ADD: {
		struct json_object *a = host_member(res, "results");
		struct hathor_add_result *r;

		if (hn_rpc_v_array(a, HATHOR_NODE_MAX_BATCH + 1, &n, NULL) < 0)
			return HN_EPROTO;
		r = calloc(n ? n : 1, sizeof(*r));
		if (!r)
			return HN_ENOMEM;
		for (i = 0; i < n && rc == 0; i++)
			rc = add_decode(json_object_array_get_idx(a, i), &r[i]);
		if (rc == 0)
			p->cb.add(p->arg, 0, NULL, n, r);
		free(r);
		return rc;
	}
	case K_VERIFY: {
		bool valid;
		int64_t err = 0, verr = 0;
		const char *msg = NULL;

		if (get_bool(res, "valid", &valid) < 0 ||
		    get_i64(res, "err", &err) < 0 ||
		    get_i64(res, "verr_code", &verr) < 0)
			return HN_EPROTO;
		if (host_member(res, "msg"))
			hn_rpc_v_str(host_member(res, "msg"), &msg, NULL);
		p->cb.verify(p->arg, valid ? 0 : (int)err, valid ? NULL : msg,
			     (int)verr);
		return 0;
	}
	case K_DONE:
		p->cb.done(p->arg, 0, NULL);
		return 0;
	case K_VERTEX: {
		struct hathor_vinfo v;
		uint8_t *buf;

		if (vinfo_decode(res, &v, &buf, max) < 0 || !v.found)
			return HN_EPROTO;
		p->cb.vertex(p->arg, 0, NULL, &v);
		free(buf);
		return 0;
	}
	case K_U64: {
		uint64_t v;

		if (get_u64(res, p->key, &v) < 0)
			return HN_EPROTO;
		p->cb.u64(p->arg, 0, NULL, v);
		return 0;
	}
	case K_BOOL: {
		bool v;

		if (get_bool(res, p->key, &v) < 0)
			return HN_EPROTO;
		p->cb.b(p->arg, 0, NULL, v);
		return 0;
	}
	case K_HASHES: {
		uint8_t (*h)[32] = NULL;

		if (hashes_decode(host_member(res, "hashes"), &h, &n) < 0)
			return HN_EPROTO;
		p->cb.hashes(p->arg, 0, NULL, n, (const uint8_t (*)[32])h);
		free(h);
		return 0;
	}
	case K_HTIPS: {
		struct json_object *a = host_member(res, "tips");
		struct hathor_height_info *t;

		if (hn_rpc_v_array(a, HATHOR_NODE_MAX_HEIGHT_TIPS, &n, NULL) <
		    0)
			return HN_EPROTO;
		t = calloc(n ? n : 1, sizeof(*t));
		if (!t)
			return HN_ENOMEM;
		for (i = 0; i < n && rc == 0; i++) {
			struct json_object *x = json_object_array_get_idx(a, i);

			if (get_u64(x, "height", &t[i].height) < 0 ||
			    get_hash(x, "hash", t[i].hash) < 0)
				rc = HN_EPROTO;
		}
		if (rc == 0)
			p->cb.htips(p->arg, 0, NULL, n, t);
		free(t);
		return rc;
	}
	case K_HASH: {
		uint8_t h[32];

		if (get_hash(res, "hash", h) < 0)
			return HN_EPROTO;
		p->cb.hash(p->arg, 0, NULL, h);
		return 0;
	}
	case K_TIPS: {
		struct json_object *a = host_member(res, "intervals");
		struct hathor_tip_interval *t;

		if (hn_rpc_v_array(a, HN_NODESVC_MAX_LIST_HOST, &n, NULL) < 0)
			return HN_EPROTO;
		t = calloc(n ? n : 1, sizeof(*t));
		if (!t)
			return HN_ENOMEM;
		for (i = 0; i < n && rc == 0; i++) {
			struct json_object *x = json_object_array_get_idx(a, i);
			struct json_object *e = host_member(x, "end");

			if (get_u64(x, "begin", &t[i].begin) < 0 ||
			    get_hash(x, "hash", t[i].hash) < 0)
				rc = HN_EPROTO;
			else if (!e)
				t[i].end = UINT64_MAX;
			else if (hn_rpc_v_u64(e, &t[i].end, NULL) < 0)
				rc = HN_EPROTO;
		}
		if (rc == 0)
			p->cb.tips(p->arg, 0, NULL, n, t);
		free(t);
		return rc;
	}
	case K_MERKLE: {
		uint8_t m[32], (*h)[32] = NULL;

		if (get_hash(res, "merkle", m) < 0 ||
		    hashes_decode(host_member(res, "hashes"), &h, &n) < 0)
			return HN_EPROTO;
		p->cb.merkle(p->arg, 0, NULL, m, n, (const uint8_t (*)[32])h);
		free(h);
		return 0;
	}
	case K_RANGE: {
		uint8_t (*h)[32] = NULL;
		struct json_object *nx = host_member(res, "next");
		uint64_t ts = 0, off = 0;

		if (nx && (get_u64(nx, "ts", &ts) < 0 ||
			   get_u64(nx, "off", &off) < 0))
			return HN_EPROTO;
		if (hashes_decode(host_member(res, "hashes"), &h, &n) < 0)
			return HN_EPROTO;
		p->cb.range(p->arg, 0, NULL, n, (const uint8_t (*)[32])h,
			    nx != NULL, ts, off);
		free(h);
		return 0;
	}
	case K_VINFOS: {
		struct json_object *a = host_member(res, "vertices");
		struct hathor_vinfo *v;
		uint8_t **bufs;

		if (hn_rpc_v_array(a, HATHOR_NODE_MAX_BATCH, &n, NULL) < 0)
			return HN_EPROTO;
		v = calloc(n ? n : 1, sizeof(*v));
		bufs = calloc(n ? n : 1, sizeof(*bufs));
		if (!v || !bufs) {
			free(v);
			free(bufs);
			return HN_ENOMEM;
		}
		for (i = 0; i < n && rc == 0; i++)
			rc = vinfo_decode(json_object_array_get_idx(a, i),
					  &v[i], &bufs[i], max);
		if (rc == 0)
			p->cb.vinfos(p->arg, 0, NULL, n, v);
		for (i = 0; i < n; i++)
			free(bufs[i]);
		free(bufs);
		free(v);
		return rc;
	}
	case K_BOOLS: {
		struct json_object *a = host_member(res, "exists");
		bool *b;

		if (hn_rpc_v_array(a, HATHOR_NODE_MAX_BATCH, &n, NULL) < 0)
			return HN_EPROTO;
		b = calloc(n ? n : 1, sizeof(*b));
		if (!b)
			return HN_ENOMEM;
		for (i = 0; i < n && rc == 0; i++)
			if (hn_rpc_v_bool(json_object_array_get_idx(a, i),
					  &b[i], NULL) < 0)
				rc = HN_EPROTO;
		if (rc == 0)
			p->cb.bools(p->arg, 0, NULL, n, b);
		free(b);
		return rc;
	}
	case K_HFOUND: {
		struct json_object *a = host_member(res, "hashes");
		uint8_t (*h)[32];
		bool *f;

		if (hn_rpc_v_array(a, HATHOR_NODE_MAX_BATCH, &n, NULL) < 0)
			return HN_EPROTO;
		h = calloc(n ? n : 1, sizeof(*h));
		f = calloc(n ? n : 1, sizeof(*f));
		if (!h || !f) {
			free(h);
			free(f);
			return HN_ENOMEM;
		}
		for (i = 0; i < n && rc == 0; i++) {
			struct json_object *x = json_object_array_get_idx(a, i);

			if (!x)
				continue;
			if (hn_rpc_v_hash(x, h[i], NULL) < 0)
				rc = HN_EPROTO;
			f[i] = true;
		}
		if (rc == 0)
			p->cb.hfound(p->arg, 0, NULL, n, f,
				     (const uint8_t (*)[32])h);
		free(h);
		free(f);
		return rc;
	}
	}
	return HN_EPROTO;
}

/* --- the call path ------------------------------------------------------ */

static void unlink_pending(struct host_pending *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else if (p->hs->pending == p)
		p->hs->pending = p->next;
	if (p->next)
		p->next->prev = p->prev;
	p->prev = p->next = NULL;
}

static void done_cb(void *arg, int rc, struct hn_rpc_resp *resp)
{
	struct host_pending *p = arg;

	if (p->cancelled) {
		free(p);
		return;
	}
	unlink_pending(p);
	if (rc < 0) {
		fail(p, rc, rc == HN_ETIMEDOUT ? "node call timed out" :
		     rc == HN_ECLOSED ? "link to the core closed" :
		     rc == HN_EPROTO ? "malformed reply from the core" :
		     "link to the core lost");
	} else if (resp->is_error) {
		fail(p, resp->error.app < 0 ? resp->error.app : HN_EIO,
		     resp->error.message);
	} else if ((rc = deliver(p, resp->result)) < 0) {
		hn_log(HN_LOG_WARN, p->hs->comp, "reply of unexpected shape "
		       "from the core (kind %d)", (int)p->kind);
		fail(p, rc, "reply of unexpected shape from the core");
	}
	free(p);
}

static int call(struct hathor_host *h, const char *method,
		struct json_object *params, unsigned flags, enum pk kind,
		const char *key, union pcb cb, void *arg)
{
	struct host *hs = HS(h);
	struct host_pending *p;
	int rc;

	if (!params)
		return HATHOR_ENOMEM;
	if (!hs || !hs->node || hs->stopping) {
		json_object_put(params);
		return HATHOR_ECLOSED;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		json_object_put(params);
		return HATHOR_ENOMEM;
	}
	p->hs = hs;
	p->h = h;
	p->kind = kind;
	p->key = key;
	p->cb = cb;
	p->arg = arg;
	rc = hn_rpc_call(hs->node, method, params, hs->call_timeout, flags,
			 done_cb, p);
	if (rc < 0) {
		free(p);
		return rc;
	}
	p->next = hs->pending;
	if (hs->pending)
		hs->pending->prev = p;
	hs->pending = p;
	return 0;
}

void host_node_cancel(void *node_ctx, struct hathor_host *h)
{
	struct host *hs = node_ctx;
	struct host_pending *p = hs->pending, *next;

	for (; p; p = next) {
		next = p->next;
		if (p->h != h)
			continue;
		unlink_pending(p);
		p->cancelled = true;    /* freed when its reply comes */
		fail(p, HATHOR_ECLOSED, "plugin unloading");
	}
}

/* --- params helpers ----------------------------------------------------- */

static struct json_object *obj(void)
{
	return json_object_new_object();
}

/* Adds; on failure puts @o and returns NULL (so calls chain). */
static struct json_object *with(struct json_object *o, const char *k,
				struct json_object *v)
{
	if (!o) {
		json_object_put(v);
		return NULL;
	}
	if (hn_rpc_add(o, k, v) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static struct json_object *bytes_array(size_t n, const uint8_t *const *b,
				       const size_t *lens)
{
	struct json_object *a = json_object_new_array_ext((int)n);
	size_t i;

	for (i = 0; a && i < n; i++) {
		struct json_object *x = hn_rpc_j_bytes(b[i], lens[i]);

		if (!x || json_object_array_add(a, x) < 0) {
			json_object_put(x);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

#define CB(field, f) ((union pcb){ .field = (f) })

/* --- the ops ------------------------------------------------------------ */

static int n_on_new_vertex(struct hathor_host *h, enum hathor_origin origin,
			   const uint8_t *bytes, size_t len, hathor_add_cb cb,
			   void *arg)
{
	if (!bytes || (unsigned)origin > HATHOR_ORIGIN_RELAYED)
		return HATHOR_EINVAL;
	return call(h, "on_new_vertex",
		    with(with(obj(), "origin", json_object_new_int(origin)),
			 "bytes", hn_rpc_j_bytes(bytes, len)),
		    HN_RPC_ORDERED, K_ADD, NULL, CB(add, cb), arg);
}

static int n_on_new_vertices(struct hathor_host *h, enum hathor_origin origin,
			     size_t n, const uint8_t *const *bytes,
			     const size_t *lens, hathor_add_cb cb, void *arg)
{
	if (n > HATHOR_NODE_MAX_BATCH)
		return HATHOR_ERANGE;
	if ((n && (!bytes || !lens)) ||
	    (unsigned)origin > HATHOR_ORIGIN_RELAYED)
		return HATHOR_EINVAL;
	return call(h, "on_new_vertices",
		    with(with(obj(), "origin", json_object_new_int(origin)),
			 "vertices", bytes_array(n, bytes, lens)),
		    HN_RPC_ORDERED, K_ADD, NULL, CB(add, cb), arg);
}

static int n_on_new_block(struct hathor_host *h, const uint8_t *block,
			  size_t block_len, size_t n_deps,
			  const uint8_t *const *deps, const size_t *dep_lens,
			  hathor_add_cb cb, void *arg)
{
	if (n_deps > HATHOR_NODE_MAX_BATCH)
		return HATHOR_ERANGE;
	if (!block || (n_deps && (!deps || !dep_lens)))
		return HATHOR_EINVAL;
	return call(h, "on_new_block",
		    with(with(obj(), "block", hn_rpc_j_bytes(block, block_len)),
			 "deps", bytes_array(n_deps, deps, dep_lens)),
		    HN_RPC_ORDERED, K_ADD, NULL, CB(add, cb), arg);
}

static int n_verify_basic(struct hathor_host *h, const uint8_t *bytes,
			  size_t len, hathor_verify_cb cb, void *arg)
{
	if (!bytes)
		return HATHOR_EINVAL;
	return call(h, "verify_basic",
		    with(obj(), "bytes", hn_rpc_j_bytes(bytes, len)), 0,
		    K_VERIFY, NULL, CB(verify, cb), arg);
}

static int n_publish(struct hathor_host *h, const char *key,
		     const char *json, hathor_done_cb cb, void *arg)
{
	struct json_object *p, *j = NULL;

	if (!key)
		return HATHOR_EINVAL;
	if (json) {
		j = json_tokener_parse(json);
		if (!json_object_is_type(j, json_type_object)) {
			json_object_put(j);
			return HATHOR_EINVAL;
		}
	}
	p = with(obj(), "key", json_object_new_string(key));
	if (j)
		p = with(p, "json", j);
	return call(h, "publish", p, HN_RPC_ORDERED, K_DONE, NULL,
		    CB(done, cb), arg);
}

static int by_hash(struct hathor_host *h, const char *m, const uint8_t *hash,
		   enum pk kind, const char *key, union pcb cb, void *arg)
{
	if (!hash)
		return HATHOR_EINVAL;
	return call(h, m, with(obj(), "hash", hn_rpc_j_hash(hash)), 0, kind,
		    key, cb, arg);
}

static int n_get_genesis(struct hathor_host *h, const uint8_t hash[32],
			 hathor_vertex_cb cb, void *arg)
{
	return by_hash(h, "get_genesis", hash, K_VERTEX, NULL, CB(vertex, cb),
		       arg);
}

static int n_get_vertex(struct hathor_host *h, const uint8_t hash[32],
			hathor_vertex_cb cb, void *arg)
{
	return by_hash(h, "get_vertex", hash, K_VERTEX, NULL, CB(vertex, cb),
		       arg);
}

static int n_get_block(struct hathor_host *h, const uint8_t hash[32],
		       hathor_vertex_cb cb, void *arg)
{
	return by_hash(h, "get_block", hash, K_VERTEX, NULL, CB(vertex, cb),
		       arg);
}

static int n_get_parent_block(struct hathor_host *h, const uint8_t hash[32],
			      hathor_vertex_cb cb, void *arg)
{
	return by_hash(h, "get_parent_block", hash, K_VERTEX, NULL,
		       CB(vertex, cb), arg);
}

static int n_get_best_block(struct hathor_host *h, hathor_vertex_cb cb,
			    void *arg)
{
	return call(h, "get_best_block", obj(), 0, K_VERTEX, NULL,
		    CB(vertex, cb), arg);
}

static int n_get_latest_timestamp(struct hathor_host *h, hathor_u64_cb cb,
				  void *arg)
{
	return call(h, "get_latest_timestamp", obj(), 0, K_U64, "timestamp",
		    CB(u64, cb), arg);
}

static int n_get_first_timestamp(struct hathor_host *h, hathor_u64_cb cb,
				 void *arg)
{
	return call(h, "get_first_timestamp", obj(), 0, K_U64, "timestamp",
		    CB(u64, cb), arg);
}

static int n_vertex_exists(struct hathor_host *h, const uint8_t hash[32],
			   hathor_bool_cb cb, void *arg)
{
	return by_hash(h, "vertex_exists", hash, K_BOOL, "exists", CB(b, cb),
		       arg);
}

static int n_partial_vertex_exists(struct hathor_host *h,
				   const uint8_t hash[32], hathor_bool_cb cb,
				   void *arg)
{
	return by_hash(h, "partial_vertex_exists", hash, K_BOOL, "exists",
		       CB(b, cb), arg);
}

static int n_can_validate_full(struct hathor_host *h, const uint8_t *bytes,
			       size_t len, hathor_bool_cb cb, void *arg)
{
	if (!bytes)
		return HATHOR_EINVAL;
	return call(h, "can_validate_full",
		    with(obj(), "bytes", hn_rpc_j_bytes(bytes, len)), 0, K_BOOL,
		    "value", CB(b, cb), arg);
}

static int n_compare_bytes(struct hathor_host *h, const uint8_t *bytes,
			   size_t len, hathor_bool_cb cb, void *arg)
{
	if (!bytes)
		return HATHOR_EINVAL;
	return call(h, "compare_bytes_with_local_vertex",
		    with(obj(), "bytes", hn_rpc_j_bytes(bytes, len)), 0, K_BOOL,
		    "equal", CB(b, cb), arg);
}

static int n_get_best_block_tips(struct hathor_host *h, hathor_hashes_cb cb,
				 void *arg)
{
	return call(h, "get_best_block_tips", obj(), 0, K_HASHES, NULL,
		    CB(hashes, cb), arg);
}

static int n_get_n_height_tips(struct hathor_host *h, size_t n,
			       hathor_height_tips_cb cb, void *arg)
{
	if (n < 1 || n > HATHOR_NODE_MAX_HEIGHT_TIPS)
		return HATHOR_ERANGE;
	return call(h, "get_n_height_tips",
		    with(obj(), "n", hn_rpc_j_u64(n)), 0, K_HTIPS, NULL,
		    CB(htips, cb), arg);
}

static int n_height_index_get(struct hathor_host *h, uint64_t height,
			      hathor_hash_cb cb, void *arg)
{
	return call(h, "height_index_get",
		    with(obj(), "height", hn_rpc_j_u64(height)), 0, K_HASH,
		    NULL, CB(hash, cb), arg);
}

static int n_get_mempool_tips(struct hathor_host *h, hathor_hashes_cb cb,
			      void *arg)
{
	return call(h, "get_mempool_tips", obj(), 0, K_HASHES, NULL,
		    CB(hashes, cb), arg);
}

static int n_get_tx_tips(struct hathor_host *h, bool has_ts,
			 uint64_t timestamp, hathor_tip_intervals_cb cb,
			 void *arg)
{
	struct json_object *p = obj();

	if (has_ts)
		p = with(p, "timestamp", hn_rpc_j_u64(timestamp));
	return call(h, "get_tx_tips", p, 0, K_TIPS, NULL, CB(tips, cb), arg);
}

static int n_get_merkle_tree(struct hathor_host *h, uint64_t timestamp,
			     hathor_merkle_cb cb, void *arg)
{
	return call(h, "get_merkle_tree",
		    with(obj(), "timestamp", hn_rpc_j_u64(timestamp)), 0,
		    K_MERKLE, NULL, CB(merkle, cb), arg);
}

static int n_get_hashes_and_next_idx(struct hathor_host *h, uint64_t from_ts,
				     uint64_t from_off, size_t count,
				     hathor_range_cb cb, void *arg)
{
	if (count < 1 || count > HATHOR_NODE_MAX_RANGE)
		return HATHOR_ERANGE;
	return call(h, "get_hashes_and_next_idx",
		    with(with(with(obj(), "from_ts", hn_rpc_j_u64(from_ts)),
			      "from_off", hn_rpc_j_u64(from_off)),
			 "count", hn_rpc_j_u64(count)),
		    0, K_RANGE, NULL, CB(range, cb), arg);
}

static int hashes_call(struct hathor_host *h, const char *m, size_t n,
		       const uint8_t (*hashes)[32], enum pk kind, union pcb cb,
		       void *arg)
{
	if (n > HATHOR_NODE_MAX_BATCH)
		return HATHOR_ERANGE;
	if (n && !hashes)
		return HATHOR_EINVAL;
	return call(h, m, with(obj(), "hashes", hn_rpc_j_hashes(hashes, n)), 0,
		    kind, NULL, cb, arg);
}

static int n_get_vertices(struct hathor_host *h, size_t n,
			  const uint8_t (*hashes)[32], hathor_vinfos_cb cb,
			  void *arg)
{
	return hashes_call(h, "get_vertices", n, hashes, K_VINFOS,
			   CB(vinfos, cb), arg);
}

static int n_vertex_exists_many(struct hathor_host *h, size_t n,
				const uint8_t (*hashes)[32], hathor_bools_cb cb,
				void *arg)
{
	return hashes_call(h, "vertex_exists_many", n, hashes, K_BOOLS,
			   CB(bools, cb), arg);
}

static int n_partial_vertex_exists_many(struct hathor_host *h, size_t n,
					const uint8_t (*hashes)[32],
					hathor_bools_cb cb, void *arg)
{
	return hashes_call(h, "partial_vertex_exists_many", n, hashes, K_BOOLS,
			   CB(bools, cb), arg);
}

static int n_height_index_get_many(struct hathor_host *h, size_t n,
				   const uint64_t *heights,
				   hathor_hashes_found_cb cb, void *arg)
{
	struct json_object *a;
	size_t i;

	if (n > HATHOR_NODE_MAX_BATCH)
		return HATHOR_ERANGE;
	if (n && !heights)
		return HATHOR_EINVAL;
	a = json_object_new_array_ext((int)n);
	for (i = 0; a && i < n; i++)
		if (json_object_array_add(a, hn_rpc_j_u64(heights[i])) < 0) {
			json_object_put(a);
			a = NULL;
		}
	return call(h, "height_index_get_many", with(obj(), "heights", a), 0,
		    K_HFOUND, NULL, CB(hfound, cb), arg);
}

const struct hathor_node_ops host_node_ops = {
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
