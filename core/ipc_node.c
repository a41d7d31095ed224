/*
 * ipc_node.c: the node.ipc methods, one per node-service call of
 * hathor/node.h, decoded from JSON-RPC params, run on core/nodesvc.h and
 * encoded back (shapes: docs/ipc.md).  Every handler answers synchronously
 * on the loop thread; nodesvc work is bounded by the count caps checked
 * here.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "intake.h"
#include "ipc_int.h"
#include "ledger.h"
#include "nodesvc.h"
#include "store.h"

#include "hathor/node.h"
#include "hn/err.h"
#include "hn/log.h"

#define NP(spec) (sizeof(spec) / sizeof((spec)[0]))

static struct hn_ledger *L(void *arg)
{
	return ((struct hn_ipc *)arg)->ledger;
}

/* Reads params; on failure answers and returns false.  Every ledger
 * method passes here first, so it also answers "no ledger". */
static bool params_ok_l(struct hn_rpc_call *c, struct hn_ledger *l,
			struct json_object *params,
			const struct hn_rpc_param *spec, size_t n)
{
	struct hn_rpc_error e;

	if (!l) {
		hn_rpc_reply_app(c, HN_ECLOSED, "no ledger in this process");
		return false;
	}
	if (hn_rpc_params(params, spec, n, &e) < 0) {
		hn_rpc_reply_error(c, &e);
		return false;
	}
	return true;
}

static void reply_rc(struct hn_rpc_call *c, int rc, const char *what)
{
	hn_rpc_reply_app(c, rc, what ? what : hn_strerror(rc));
}

/* --- vertex info -------------------------------------------------------- */

/* {"found":true,"hash","bytes","is_block","voided","fully_valid","height",
 *  "first_block","first_block_height","timestamp","weight"} */
static struct json_object *vinfo_json(struct hn_ledger *l,
				      const struct hn_nodesvc_vertex *v)
{
	const struct hn_vmeta *m = &v->meta;
	struct json_object *o = json_object_new_object();
	int64_t fbh = -1;
	int rc = 0;

	if (!o)
		return NULL;
	if (!m->is_block && m->has_first_block) {
		struct hn_nodesvc_vertex fb = { 0 };

		if (hn_nodesvc_get_vertex(l, m->first_block, HN_VMETA_CORE,
					  &fb) == 0)
			fbh = (int64_t)fb.meta.height;
		hn_nodesvc_vertex_release(&fb);
	}
	rc |= hn_rpc_add(o, "found", json_object_new_boolean(1));
	rc |= hn_rpc_add(o, "hash", hn_rpc_j_hash(m->hash));
	rc |= hn_rpc_add(o, "bytes", hn_rpc_j_bytes(v->bytes, v->len));
	rc |= hn_rpc_add(o, "is_block", json_object_new_boolean(m->is_block));
	rc |= hn_rpc_add(o, "voided",
			 json_object_new_boolean(m->n_voided_by > 0));
	rc |= hn_rpc_add(o, "fully_valid", json_object_new_boolean(
				 m->validation == HN_VALID_FULL));
	rc |= hn_rpc_add(o, "height", json_object_new_int64(
				 m->is_block ? (int64_t)m->height : -1));
	if (!m->is_block && m->has_first_block)
		rc |= hn_rpc_add(o, "first_block",
				 hn_rpc_j_hash(m->first_block));
	rc |= hn_rpc_add(o, "first_block_height", json_object_new_int64(fbh));
	rc |= hn_rpc_add(o, "timestamp", json_object_new_int64(m->timestamp));
	rc |= hn_rpc_add(o, "weight", json_object_new_double(m->weight));
	if (rc) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static void reply_vertex(struct hn_rpc_call *c, struct hn_ledger *l, int rc,
			 struct hn_nodesvc_vertex *v, const char *what)
{
	if (rc < 0) {
		hn_nodesvc_vertex_release(v);
		reply_rc(c, rc, what);
		return;
	}
	hn_rpc_reply(c, vinfo_json(l, v));
	hn_nodesvc_vertex_release(v);
}

/* Single-hash vertex getters share one shape. */
typedef int (*get_fn)(struct hn_ledger *l, const uint8_t hash[32],
		      struct hn_nodesvc_vertex *out);

static int g_genesis(struct hn_ledger *l, const uint8_t h[32],
		     struct hn_nodesvc_vertex *o)
{
	return hn_nodesvc_get_genesis(l, h, o);
}

static int g_vertex(struct hn_ledger *l, const uint8_t h[32],
		    struct hn_nodesvc_vertex *o)
{
	return hn_nodesvc_get_vertex(l, h, HN_VMETA_CORE, o);
}

static int g_block(struct hn_ledger *l, const uint8_t h[32],
		   struct hn_nodesvc_vertex *o)
{
	return hn_nodesvc_get_block(l, h, HN_VMETA_CORE, o);
}

static int g_parent(struct hn_ledger *l, const uint8_t h[32],
		    struct hn_nodesvc_vertex *o)
{
	return hn_nodesvc_get_parent_block(l, h, HN_VMETA_CORE, o);
}

static void by_hash(void *arg, struct hn_rpc_call *c,
		    struct json_object *params, get_fn fn, const char *enoent)
{
	uint8_t hash[32];
	const struct hn_rpc_param spec[] = {
		{ "hash", HN_RPC_P_HASH, true, hash, NULL, 0 },
	};
	struct hn_nodesvc_vertex v = { 0 };
	int rc;

	if (!params_ok_l(c, L(arg), params, spec, NP(spec)))
		return;
	rc = fn(L(arg), hash, &v);
	reply_vertex(c, L(arg), rc, &v, rc == HN_ENOENT ? enoent : NULL);
}

static void m_get_genesis(void *arg, struct hn_rpc_call *c,
			  struct json_object *p)
{
	by_hash(arg, c, p, g_genesis, "not a genesis of this network");
}

static void m_get_vertex(void *arg, struct hn_rpc_call *c,
			 struct json_object *p)
{
	by_hash(arg, c, p, g_vertex, "vertex not found");
}

static void m_get_block(void *arg, struct hn_rpc_call *c,
			struct json_object *p)
{
	by_hash(arg, c, p, g_block, "block not found");
}

static void m_get_parent_block(void *arg, struct hn_rpc_call *c,
			       struct json_object *p)
{
	by_hash(arg, c, p, g_parent, "block not found");
}

static void m_get_best_block(void *arg, struct hn_rpc_call *c,
			     struct json_object *p)
{
	struct hn_nodesvc_vertex v = { 0 };

	if (!params_ok_l(c, L(arg), p, NULL, 0))
		return;
	reply_vertex(c, L(arg), hn_nodesvc_get_best_block(L(arg),
							  HN_VMETA_CORE, &v),
		     &v, NULL);
}

/* --- intake ------------------------------------------------------------- */

static const char *status_name(uint32_t st)
{
	switch (st) {
	case HATHOR_ADD_ACCEPTED:
		return "accepted";
	case HATHOR_ADD_KNOWN:
		return "known";
	case HATHOR_ADD_MISSING_DEPS:
		return "missing_deps";
	case HATHOR_ADD_INVALID:
		return "invalid";
	default:
		return "failed";
	}
}

/* Status of one add from nodesvc's code and result. */
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

/* {"status","code","hash"?,"is_block","voided","best_changed","height",
 *  "msg"?} */
static struct json_object *add_json(int rc, const struct hn_ledger_result *r,
				    const char *msg_override)
{
	struct json_object *o = json_object_new_object();
	uint32_t st = add_status(rc, r);
	int e = 0;

	if (!o)
		return NULL;
	e |= hn_rpc_add(o, "status", json_object_new_string(status_name(st)));
	e |= hn_rpc_add(o, "code", json_object_new_int(
				st == HATHOR_ADD_ACCEPTED ||
				st == HATHOR_ADD_KNOWN ? 0 :
				(rc < 0 ? rc : HN_EIO)));
	if (r->decoded)
		e |= hn_rpc_add(o, "hash", hn_rpc_j_hash(r->hash));
	e |= hn_rpc_add(o, "is_block", json_object_new_boolean(r->is_block));
	e |= hn_rpc_add(o, "voided", json_object_new_boolean(r->voided));
	e |= hn_rpc_add(o, "best_changed",
			json_object_new_boolean(r->best_changed));
	e |= hn_rpc_add(o, "height", hn_rpc_j_u64(r->height));
	if (msg_override)
		e |= hn_rpc_add(o, "msg", json_object_new_string(msg_override));
	else if (st != HATHOR_ADD_ACCEPTED && st != HATHOR_ADD_KNOWN)
		e |= hn_rpc_add(o, "msg", json_object_new_string(
					r->msg[0] ? r->msg : hn_strerror(rc)));
	if (e) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static void reply_results(struct hn_rpc_call *c, struct json_object *arr)
{
	struct json_object *r;

	if (!arr) {
		hn_rpc_reply_app(c, HN_ENOMEM, "out of memory");
		return;
	}
	r = json_object_new_object();
	if (!r) {
		json_object_put(arr);
		hn_rpc_reply_app(c, HN_ENOMEM, "out of memory");
		return;
	}
	if (hn_rpc_add(r, "results", arr) < 0) {
		json_object_put(r);
		hn_rpc_reply_app(c, HN_ENOMEM, "out of memory");
		return;
	}
	hn_rpc_reply(c, r);
}

static bool origin_ok(struct hn_rpc_call *c, uint64_t origin)
{
	struct hn_rpc_error e;

	if (origin <= HATHOR_ORIGIN_RELAYED)
		return true;
	hn_rpc_error_set(&e, HN_RPC_INVALID_PARAMS, "params.origin: expected "
			 "0..3");
	hn_rpc_reply_error(c, &e);
	return false;
}

static void m_on_new_vertex(void *arg, struct hn_rpc_call *c,
			    struct json_object *p)
{
	uint64_t origin = 0;
	struct hn_rpc_bytes b;
	const struct hn_rpc_param spec[] = {
		{ "origin", HN_RPC_P_U64, false, &origin, NULL, 0 },
		{ "bytes", HN_RPC_P_BYTES, true, &b, NULL, 0 },
	};
	struct hn_ledger_result res = { 0 };
	struct json_object *a;
	int rc;

	if (!params_ok_l(c, L(arg), p, spec, NP(spec)))
		return;
	if (!origin_ok(c, origin)) {
		hn_rpc_params_release(spec, NP(spec));
		return;
	}
	rc = hn_nodesvc_on_new_vertex(L(arg), b.data, b.len,
				      (enum hn_nodesvc_origin)origin, &res);
	hn_rpc_params_release(spec, NP(spec));
	a = json_object_new_array();
	if (a && json_object_array_add(a, add_json(rc, &res, NULL)) < 0) {
		json_object_put(a);
		a = NULL;
	}
	reply_results(c, a);
}

/* Decodes an array of base64 strings into bufs (malloc'd each). */
static int bufs_from(struct json_object *arr, size_t max_items,
		     struct hn_buf **out, size_t *n, struct hn_rpc_error *e)
{
	size_t i, cnt = json_object_array_length(arr);
	struct hn_buf *v;

	if (cnt > max_items)
		return hn_rpc_error_set(e, HN_RPC_INVALID_PARAMS, "more than "
					"%zu vertices", max_items);
	v = calloc(cnt ? cnt : 1, sizeof(*v));
	if (!v)
		return hn_rpc_error_app(e, HN_ENOMEM, "out of memory");
	for (i = 0; i < cnt; i++) {
		struct hn_error err = { 0 };
		uint8_t *d = NULL;
		size_t len = 0;

		if (hn_rpc_v_bytes(json_object_array_get_idx(arr, i),
				   HN_RPC_DEFAULT_MAX_MSG, &d, &len, &err) < 0) {
			while (i--)
				free((void *)v[i].data);
			free(v);
			return hn_rpc_error_set(e, HN_RPC_INVALID_PARAMS,
						"[%zu]: %s", i, err.msg);
		}
		v[i].data = d;
		v[i].len = len;
	}
	*out = v;
	*n = cnt;
	return 0;
}

static void bufs_free(struct hn_buf *v, size_t n)
{
	for (size_t i = 0; v && i < n; i++)
		free((void *)v[i].data);
	free(v);
}

/* --- sliced batch intake ------------------------------------------------ */

/*
 * A sync stream arrives as on_new_vertices batches; they are stored in
 * slices by core/intake.c (shared with node_direct.c, see intake.h): one
 * commit per slice, up to the vertex that takes it past ipc->slice_us,
 * the next slice from an ev_idle (with a guard timer).  The reply goes out
 * when the batch has finished, with the same results the one-callback path
 * gives: in order, stopping after the first rejected vertex.  Every
 * node.ipc call arriving meanwhile waits in a FIFO behind the batch (the
 * replies leave in the order the calls reached the loop, reads after the
 * batch see all of it), heartbeat excepted.  "Reached the loop", not
 * "sent": nng hands two requests that arrive back to back to their
 * contexts on different threads, and the host's client completes two
 * replies the same way, in either order (docs/ipc.md); a write waits for
 * the reply to the write before it (HN_RPC_ORDERED), which is what
 * orders writes.
 */

struct deferred {
	struct hn_rpc_call *c;
	struct json_object *params;     /* borrowed from the request */
	hn_rpc_method_fn fn;
	struct deferred *next;
};

struct batch_job {
	struct hn_rpc_call *c;
	struct hn_buf *v;               /* owned copies */
	struct hn_intake_batch b;
};

struct ipc_intake {
	struct hn_ipc *ipc;
	struct hn_intake_sched sched;   /* next slice */
	struct batch_job *job;          /* NULL: none in progress */
	struct deferred *head, *tail;
};

static void intake_run(void *arg);

static struct ipc_intake *intake_get(struct hn_ipc *ipc)
{
	struct ipc_intake *in = ipc->intake;

	if (in)
		return in;
	in = calloc(1, sizeof(*in));
	if (!in)
		return NULL;
	in->ipc = ipc;
	hn_intake_sched_init(&in->sched, ipc->loop, intake_run, in);
	ipc->intake = in;
	return in;
}

static void job_free(struct batch_job *j)
{
	if (!j)
		return;
	bufs_free(j->v, j->b.n);
	free(j->b.res);
	free(j);
}

/* Results of the vertices handled, as the one-callback path answers. */
static void batch_reply(struct hn_rpc_call *c, const struct hn_ledger_result
			*res, size_t done, int rc, size_t fail_at)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; a && i < done; i++) {
		int code = rc < 0 && i >= fail_at ? rc : res[i].code;
		struct json_object *x = add_json(code, &res[i], NULL);

		if (!x || json_object_array_add(a, x) < 0) {
			json_object_put(x);
			json_object_put(a);
			a = NULL;
		}
	}
	reply_results(c, a);
}

/* One slice (core/intake.c), with its figures in the stats. */
static void job_slice(struct hn_ipc *ipc, struct batch_job *j)
{
	struct hn_intake_slice_info si;

	hn_intake_slice(L(ipc), &j->b, ipc->slice_us, ipc->slice_max, &si);
	if (!si.us)
		return;
	ipc->st.intake_slices++;
	if (si.us > ipc->st.intake_max_slice_us)
		ipc->st.intake_max_slice_us = si.us;
	if (si.us > HN_INTAKE_SLOW_US)
		ipc->st.intake_slow_slices++;
	if (si.commit_us > ipc->st.intake_max_commit_us)
		ipc->st.intake_max_commit_us = si.commit_us;
}

static void intake_drain(struct ipc_intake *in)
{
	while (!in->job && in->head) {
		struct deferred *d = in->head;

		in->head = d->next;
		if (!in->head)
			in->tail = NULL;
		d->fn(in->ipc, d->c, d->params);
		free(d);
	}
}

static void intake_run(void *arg)
{
	struct ipc_intake *in = arg;
	struct batch_job *j = in->job;

	if (j) {
		job_slice(in->ipc, j);
		if (!j->b.finished) {
			hn_intake_sched_arm(&in->sched);
			return;
		}
		in->job = NULL;
		if (j->b.begin_failed && j->b.fail_at == 0)
			reply_rc(j->c, j->b.rc, "batch commit failed");
		else
			batch_reply(j->c, j->b.res, j->b.next, j->b.rc,
				    j->b.fail_at);
		job_free(j);
	}
	intake_drain(in);
}

/* Every method but heartbeat passes here: it runs now unless a batch is in
 * progress or calls already wait, then it waits behind them. */
static void gate(void *arg, struct hn_rpc_call *c, struct json_object *p,
		 hn_rpc_method_fn fn)
{
	struct hn_ipc *ipc = arg;
	struct ipc_intake *in = ipc->intake;
	struct deferred *d;

	if (!in || (!in->job && !in->head)) {
		fn(arg, c, p);
		return;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		hn_rpc_reply_app(c, HN_ENOMEM, "out of memory");
		return;
	}
	d->c = c;
	d->params = p;
	d->fn = fn;
	if (in->tail)
		in->tail->next = d;
	else
		in->head = d;
	in->tail = d;
	ipc->st.intake_deferred++;
}

void hn__ipc_node_close(struct hn_ipc *ipc)
{
	struct ipc_intake *in = ipc->intake;

	if (!in)
		return;
	hn_intake_sched_disarm(&in->sched);
	if (in->job) {
		hn_rpc_reply_app(in->job->c, HN_ECLOSED, "node.ipc closed");
		hn_intake_release(L(ipc), &in->job->b);
		job_free(in->job);
		in->job = NULL;
	}
	while (in->head) {
		struct deferred *d = in->head;

		in->head = d->next;
		hn_rpc_reply_app(d->c, HN_ECLOSED, "node.ipc closed");
		free(d);
	}
	free(in);
	ipc->intake = NULL;
}

void hn_ipc_set_slice(struct hn_ipc *ipc, unsigned budget_us,
		      unsigned max_vertices)
{
	ipc->slice_us = budget_us;
	ipc->slice_max = max_vertices;
}

/* The whole batch in this callback, one commit (slicing off). */
static void batch_whole(struct hn_ipc *ipc, struct hn_rpc_call *c,
			struct hn_buf *v, size_t n,
			enum hn_nodesvc_origin origin)
{
	struct hn_ledger_result *res = calloc(n ? n : 1, sizeof(*res));
	size_t done = 0;
	int rc;

	if (!res) {
		bufs_free(v, n);
		hn_rpc_reply_app(c, HN_ENOMEM, "out of memory");
		return;
	}
	rc = hn_nodesvc_on_new_vertices(L(ipc), v, n, origin, res, &done);
	bufs_free(v, n);
	if (rc < 0 && done == 0) {
		free(res);
		reply_rc(c, rc, "batch commit failed");
		return;
	}
	batch_reply(c, res, done, rc, 0);
	free(res);
}

static void m_on_new_vertices(void *arg, struct hn_rpc_call *c,
			      struct json_object *p)
{
	struct hn_ipc *ipc = arg;
	uint64_t origin = 0;
	struct json_object *arr = NULL;
	const struct hn_rpc_param spec[] = {
		{ "origin", HN_RPC_P_U64, false, &origin, NULL, 0 },
		{ "vertices", HN_RPC_P_ARRAY, true, &arr, NULL,
		  HATHOR_NODE_MAX_BATCH },
	};
	struct ipc_intake *in;
	struct batch_job *j;
	struct hn_rpc_error e;
	struct hn_buf *v = NULL;
	size_t n = 0;

	if (!params_ok_l(c, L(arg), p, spec, NP(spec)) || !origin_ok(c, origin))
		return;
	if (bufs_from(arr, HATHOR_NODE_MAX_BATCH, &v, &n, &e) < 0) {
		hn_rpc_reply_error(c, &e);
		return;
	}
	in = ipc->slice_us && n > 1 ? intake_get(ipc) : NULL;
	j = in ? calloc(1, sizeof(*j)) : NULL;
	if (j)
		j->b.res = calloc(n, sizeof(*j->b.res));
	if (!j || !j->b.res) {
		free(j);
		batch_whole(ipc, c, v, n, (enum hn_nodesvc_origin)origin);
		return;
	}
	j->c = c;
	j->v = v;
	j->b.v = v;
	j->b.n = n;
	j->b.origin = (enum hn_nodesvc_origin)origin;
	in->job = j;
	ipc->st.intake_batches++;
	hn_intake_sched_arm(&in->sched);
}

static void m_on_new_block(void *arg, struct hn_rpc_call *c,
			   struct json_object *p)
{
	struct hn_rpc_bytes blk;
	struct json_object *deps = NULL, *a;
	const struct hn_rpc_param spec[] = {
		{ "block", HN_RPC_P_BYTES, true, &blk, NULL, 0 },
		{ "deps", HN_RPC_P_ARRAY, false, &deps, NULL,
		  HATHOR_NODE_MAX_BATCH },
	};
	struct hn_ledger_result bres = { 0 }, *dres;
	struct hn_rpc_error e;
	struct hn_buf *v = NULL;
	size_t n = 0, i;
	int rc;

	if (!params_ok_l(c, L(arg), p, spec, NP(spec)))
		return;
	if (deps && bufs_from(deps, HATHOR_NODE_MAX_BATCH, &v, &n, &e) < 0) {
		hn_rpc_params_release(spec, NP(spec));
		hn_rpc_reply_error(c, &e);
		return;
	}
	dres = calloc(n ? n : 1, sizeof(*dres));
	if (!dres) {
		bufs_free(v, n);
		hn_rpc_params_release(spec, NP(spec));
		hn_rpc_reply_app(c, HN_ENOMEM, "out of memory");
		return;
	}
	rc = hn_nodesvc_on_new_block(L(arg), blk.data, blk.len, v, n, &bres,
				     dres);
	hn_rpc_params_release(spec, NP(spec));
	bufs_free(v, n);
	a = json_object_new_array();
	if (a && json_object_array_add(a, add_json(rc, &bres, NULL)) < 0) {
		json_object_put(a);
		a = NULL;
	}
	for (i = 0; a && i < n; i++) {
		/* A dep never tried (an earlier one failed) decoded nothing
		 * and has no code: report it as not handled. */
		bool tried = dres[i].decoded || dres[i].code != 0 ||
			     dres[i].msg[0];
		struct json_object *x =
			tried ? add_json(dres[i].code, &dres[i], NULL) :
				add_json(HN_EIO, &dres[i], "not tried: an "
					 "earlier dependency failed");

		if (!x || json_object_array_add(a, x) < 0) {
			json_object_put(x);
			json_object_put(a);
			a = NULL;
		}
	}
	free(dres);
	reply_results(c, a);
}

static void m_verify_basic(void *arg, struct hn_rpc_call *c,
			   struct json_object *p)
{
	struct hn_rpc_bytes b;
	const struct hn_rpc_param spec[] = {
		{ "bytes", HN_RPC_P_BYTES, true, &b, NULL, 0 },
	};
	struct json_object *r;
	int rc;

	if (!params_ok_l(c, L(arg), p, spec, NP(spec)))
		return;
	rc = hn_nodesvc_verify_basic(L(arg), b.data, b.len, NULL);
	hn_rpc_params_release(spec, NP(spec));
	if (rc < 0 && rc != HN_EPARSE && rc != HN_ECONSENSUS &&
	    rc != HN_EUNSUPPORTED) {
		reply_rc(c, rc, NULL);
		return;
	}
	r = json_object_new_object();
	hn_rpc_add(r, "valid", json_object_new_boolean(rc == 0));
	hn_rpc_add(r, "err", json_object_new_int(rc));
	if (rc < 0)
		hn_rpc_add(r, "msg", json_object_new_string(hn_strerror(rc)));
	hn_rpc_add(r, "verr_code", json_object_new_int(0));
	hn_rpc_reply(c, r);
}

static void m_publish(void *arg, struct hn_rpc_call *c, struct json_object *p)
{
	const char *key = NULL;
	struct json_object *js = NULL;
	bool has_json = false;
	const struct hn_rpc_param spec[] = {
		{ "key", HN_RPC_P_STR, true, &key, NULL, 0 },
		{ "json", HN_RPC_P_JSON, false, &js, &has_json, 0 },
	};
	struct hn_rpc_error e;
	int rc;

	if (!params_ok_l(c, L(arg), p, spec, NP(spec)))
		return;
	if (has_json && !json_object_is_type(js, json_type_object)) {
		hn_rpc_error_set(&e, HN_RPC_INVALID_PARAMS, "params.json: "
				 "expected an object");
		hn_rpc_reply_error(c, &e);
		return;
	}
	rc = hn_nodesvc_publish(L(arg), key, has_json ?
				json_object_to_json_string_ext(
					js, JSON_C_TO_STRING_PLAIN) : NULL);
	if (rc < 0)
		reply_rc(c, rc, NULL);
	else
		hn_rpc_reply(c, NULL);
}

/* --- scalar reads ------------------------------------------------------- */

static void reply_kv(struct hn_rpc_call *c, const char *key,
		     struct json_object *v)
{
	struct json_object *r = json_object_new_object();

	if (!r || hn_rpc_add(r, key, v) < 0) {
		json_object_put(r);
		hn_rpc_reply_app(c, HN_ENOMEM, "out of memory");
		return;
	}
	hn_rpc_reply(c, r);
}

static void m_get_latest_timestamp(void *arg, struct hn_rpc_call *c,
				   struct json_object *p)
{
	uint64_t ts = 0;
	int rc;

	if (!params_ok_l(c, L(arg), p, NULL, 0))
		return;
	rc = hn_nodesvc_get_latest_timestamp(L(arg), &ts);
	if (rc < 0)
		reply_rc(c, rc, NULL);
	else
		reply_kv(c, "timestamp", hn_rpc_j_u64(ts));
}

static void m_get_first_timestamp(void *arg, struct hn_rpc_call *c,
				  struct json_object *p)
{
	uint64_t ts = 0;
	int rc;

	if (!params_ok_l(c, L(arg), p, NULL, 0))
		return;
	rc = hn_nodesvc_get_first_timestamp(L(arg), &ts);
	if (rc < 0)
		reply_rc(c, rc, NULL);
	else
		reply_kv(c, "timestamp", hn_rpc_j_u64(ts));
}

static void exists_one(void *arg, struct hn_rpc_call *c,
		       struct json_object *p, bool partial)
{
	uint8_t hash[32];
	const struct hn_rpc_param spec[] = {
		{ "hash", HN_RPC_P_HASH, true, hash, NULL, 0 },
	};

	if (!params_ok_l(c, L(arg), p, spec, NP(spec)))
		return;
	reply_kv(c, "exists", json_object_new_boolean(
			 partial ? hn_nodesvc_partial_vertex_exists(L(arg), hash)
				 : hn_nodesvc_vertex_exists(L(arg), hash)));
}

static void m_vertex_exists(void *arg, struct hn_rpc_call *c,
			    struct json_object *p)
{
	exists_one(arg, c, p, false);
}

static void m_partial_vertex_exists(void *arg, struct hn_rpc_call *c,
				    struct json_object *p)
{
	exists_one(arg, c, p, true);
}

static void m_can_validate_full(void *arg, struct hn_rpc_call *c,
				struct json_object *p)
{
	struct hn_rpc_bytes b;
	const struct hn_rpc_param spec[] = {
		{ "bytes", HN_RPC_P_BYTES, true, &b, NULL, 0 },
	};
	bool v = false;
	int rc;

	if (!params_ok_l(c, L(arg), p, spec, NP(spec)))
		return;
	rc = hn_nodesvc_can_validate_full(L(arg), b.data, b.len, &v);
	hn_rpc_params_release(spec, NP(spec));
	if (rc < 0)
		reply_rc(c, rc, NULL);
	else
		reply_kv(c, "value", json_object_new_boolean(v));
}

static void m_compare_bytes(void *arg, struct hn_rpc_call *c,
			    struct json_object *p)
{
	struct hn_rpc_bytes b;
	const struct hn_rpc_param spec[] = {
		{ "bytes", HN_RPC_P_BYTES, true, &b, NULL, 0 },
	};
	bool eq = false;
	int rc;

	if (!params_ok_l(c, L(arg), p, spec, NP(spec)))
		return;
	rc = hn_nodesvc_compare_bytes_with_local_vertex(L(arg), b.data, b.len,
							&eq);
	hn_rpc_params_release(spec, NP(spec));
	if (rc < 0)
		reply_rc(c, rc, rc == HN_ENOENT ? "vertex not found" : NULL);
	else
		reply_kv(c, "equal", json_object_new_boolean(eq));
}

static void reply_hashes(struct hn_rpc_call *c, int rc,
			 struct hn_hash_list *hl)
{
	if (rc < 0)
		reply_rc(c, rc, NULL);
	else
		reply_kv(c, "hashes", hn_rpc_j_hashes(
				 (const uint8_t (*)[32])hl->h, hl->n));
	hn_hash_list_release(hl);
}

static void m_get_best_block_tips(void *arg, struct hn_rpc_call *c,
				  struct json_object *p)
{
	struct hn_hash_list hl = { 0 };

	if (!params_ok_l(c, L(arg), p, NULL, 0))
		return;
	reply_hashes(c, hn_nodesvc_get_best_block_tips(L(arg), &hl), &hl);
}

static void m_get_mempool_tips(void *arg, struct hn_rpc_call *c,
			       struct json_object *p)
{
	struct hn_hash_list hl = { 0 };

	if (!params_ok_l(c, L(arg), p, NULL, 0))
		return;
	reply_hashes(c, hn_nodesvc_get_mempool_tips(L(arg), &hl), &hl);
}

static void bad_range(struct hn_rpc_call *c, const char *what, uint64_t max)
{
	struct hn_rpc_error e;

	hn_rpc_error_set(&e, HN_RPC_INVALID_PARAMS, "params.%s: expected "
			 "1..%" PRIu64, what, max);
	hn_rpc_reply_error(c, &e);
}

static void m_get_n_height_tips(void *arg, struct hn_rpc_call *c,
				struct json_object *p)
{
	uint64_t n = 0;
	const struct hn_rpc_param spec[] = {
		{ "n", HN_RPC_P_U64, true, &n, NULL, 0 },
	};
	struct hn_height_info *hi;
	struct json_object *a;
	size_t got = 0, i;
	int rc;

	if (!params_ok_l(c, L(arg), p, spec, NP(spec)))
		return;
	if (n < 1 || n > HATHOR_NODE_MAX_HEIGHT_TIPS) {
		bad_range(c, "n", HATHOR_NODE_MAX_HEIGHT_TIPS);
		return;
	}
	hi = calloc(n, sizeof(*hi));
	if (!hi) {
		hn_rpc_reply_app(c, HN_ENOMEM, "out of memory");
		return;
	}
	rc = hn_nodesvc_get_n_height_tips(L(arg), n, hi, &got);
	if (rc < 0) {
		free(hi);
		reply_rc(c, rc, NULL);
		return;
	}
	a = json_object_new_array();
	for (i = 0; a && i < got; i++) {
		struct json_object *t = json_object_new_object();

		if (!t || hn_rpc_add(t, "height", hn_rpc_j_u64(hi[i].height)) ||
		    hn_rpc_add(t, "hash", hn_rpc_j_hash(hi[i].hash)) ||
		    json_object_array_add(a, t) < 0) {
			json_object_put(t);
			json_object_put(a);
			a = NULL;
		}
	}
	free(hi);
	reply_kv(c, "tips", a);
}

static void m_height_index_get(void *arg, struct hn_rpc_call *c,
			       struct json_object *p)
{
	uint64_t h = 0;
	const struct hn_rpc_param spec[] = {
		{ "height", HN_RPC_P_U64, true, &h, NULL, 0 },
	};
	uint8_t hash[32];
	int rc;

	if (!params_ok_l(c, L(arg), p, spec, NP(spec)))
		return;
	rc = hn_nodesvc_height_index_get(L(arg), h, hash);
	if (rc < 0)
		reply_rc(c, rc, rc == HN_ENOENT ? "above the best height" :
			 NULL);
	else
		reply_kv(c, "hash", hn_rpc_j_hash(hash));
}

static void m_get_tx_tips(void *arg, struct hn_rpc_call *c,
			  struct json_object *p)
{
	uint64_t ts = 0;
	bool has_ts = false;
	const struct hn_rpc_param spec[] = {
		{ "timestamp", HN_RPC_P_U64, false, &ts, &has_ts, 0 },
	};
	struct hn_tip_interval *ti = NULL;
	struct json_object *a;
	size_t n = 0, i;
	int rc;

	if (!params_ok_l(c, L(arg), p, spec, NP(spec)))
		return;
	rc = hn_nodesvc_get_tx_tips(L(arg), has_ts, ts, &ti, &n);
	if (rc < 0) {
		free(ti);
		reply_rc(c, rc, NULL);
		return;
	}
	a = json_object_new_array();
	for (i = 0; a && i < n; i++) {
		struct json_object *t = json_object_new_object();

		if (!t || hn_rpc_add(t, "begin", hn_rpc_j_u64(ti[i].begin)) ||
		    (ti[i].end == UINT64_MAX ?
		     json_object_object_add(t, "end", NULL) :
		     hn_rpc_add(t, "end", hn_rpc_j_u64(ti[i].end))) ||
		    hn_rpc_add(t, "hash", hn_rpc_j_hash(ti[i].hash)) ||
		    json_object_array_add(a, t) < 0) {
			json_object_put(t);
			json_object_put(a);
			a = NULL;
		}
	}
	free(ti);
	reply_kv(c, "intervals", a);
}

static void m_get_merkle_tree(void *arg, struct hn_rpc_call *c,
			      struct json_object *p)
{
	uint64_t ts = 0;
	const struct hn_rpc_param spec[] = {
		{ "timestamp", HN_RPC_P_U64, true, &ts, NULL, 0 },
	};
	struct hn_hash_list hl = { 0 };
	struct json_object *r;
	uint8_t merkle[32];
	int rc;

	if (!params_ok_l(c, L(arg), p, spec, NP(spec)))
		return;
	rc = hn_nodesvc_get_merkle_tree(L(arg), ts, merkle, &hl);
	if (rc < 0) {
		hn_hash_list_release(&hl);
		reply_rc(c, rc, NULL);
		return;
	}
	r = json_object_new_object();
	hn_rpc_add(r, "merkle", hn_rpc_j_hash(merkle));
	hn_rpc_add(r, "hashes", hn_rpc_j_hashes((const uint8_t (*)[32])hl.h,
						hl.n));
	hn_hash_list_release(&hl);
	hn_rpc_reply(c, r);
}

static void m_get_hashes_and_next_idx(void *arg, struct hn_rpc_call *c,
				      struct json_object *p)
{
	uint64_t ts = 0, off = 0, count = 0, nts = 0, noff = 0;
	const struct hn_rpc_param spec[] = {
		{ "from_ts", HN_RPC_P_U64, true, &ts, NULL, 0 },
		{ "from_off", HN_RPC_P_U64, true, &off, NULL, 0 },
		{ "count", HN_RPC_P_U64, true, &count, NULL, 0 },
	};
	struct hn_hash_list hl = { 0 };
	struct json_object *r, *nx;
	bool has_next = false;
	int rc;

	if (!params_ok_l(c, L(arg), p, spec, NP(spec)))
		return;
	if (count < 1 || count > HATHOR_NODE_MAX_RANGE) {
		bad_range(c, "count", HATHOR_NODE_MAX_RANGE);
		return;
	}
	rc = hn_nodesvc_get_hashes_and_next_idx(L(arg), ts, off, count, &hl,
						&has_next, &nts, &noff);
	if (rc < 0) {
		hn_hash_list_release(&hl);
		reply_rc(c, rc, NULL);
		return;
	}
	r = json_object_new_object();
	hn_rpc_add(r, "hashes", hn_rpc_j_hashes((const uint8_t (*)[32])hl.h,
						hl.n));
	hn_hash_list_release(&hl);
	if (has_next) {
		nx = json_object_new_object();
		hn_rpc_add(nx, "ts", hn_rpc_j_u64(nts));
		hn_rpc_add(nx, "off", hn_rpc_j_u64(noff));
		hn_rpc_add(r, "next", nx);
	} else {
		json_object_object_add(r, "next", NULL);
	}
	hn_rpc_reply(c, r);
}

/* --- batch reads -------------------------------------------------------- */

static bool hashes_param(void *arg, struct hn_rpc_call *c,
			 struct json_object *p, struct hn_rpc_hashes *hs)
{
	const struct hn_rpc_param spec[] = {
		{ "hashes", HN_RPC_P_HASHES, true, hs, NULL,
		  HATHOR_NODE_MAX_BATCH },
	};

	return params_ok_l(c, L(arg), p, spec, NP(spec));
}

static void m_get_vertices(void *arg, struct hn_rpc_call *c,
			   struct json_object *p)
{
	struct hn_rpc_hashes hs;
	struct json_object *a;
	size_t i;

	if (!hashes_param(arg, c, p, &hs))
		return;
	a = json_object_new_array_ext((int)hs.n);
	for (i = 0; a && i < hs.n; i++) {
		struct hn_nodesvc_vertex v = { 0 };
		struct json_object *x;
		int rc = hn_nodesvc_get_vertex(L(arg), hs.h[i], HN_VMETA_CORE,
					       &v);

		if (rc == HN_ENOENT) {
			x = json_object_new_object();
			if (x && (hn_rpc_add(x, "found",
					     json_object_new_boolean(0)) ||
				  hn_rpc_add(x, "hash",
					     hn_rpc_j_hash(hs.h[i])))) {
				json_object_put(x);
				x = NULL;
			}
		} else if (rc < 0) {
			hn_nodesvc_vertex_release(&v);
			json_object_put(a);
			free(hs.h);
			reply_rc(c, rc, NULL);
			return;
		} else {
			x = vinfo_json(L(arg), &v);
		}
		hn_nodesvc_vertex_release(&v);
		if (!x || json_object_array_add(a, x) < 0) {
			json_object_put(x);
			json_object_put(a);
			a = NULL;
		}
	}
	free(hs.h);
	reply_kv(c, "vertices", a);
}

static void exists_many(void *arg, struct hn_rpc_call *c,
			struct json_object *p, bool partial)
{
	struct hn_rpc_hashes hs;
	struct json_object *a;
	bool *out;
	size_t i;
	int rc = 0;

	if (!hashes_param(arg, c, p, &hs))
		return;
	out = calloc(hs.n ? hs.n : 1, sizeof(*out));
	if (!out) {
		free(hs.h);
		hn_rpc_reply_app(c, HN_ENOMEM, "out of memory");
		return;
	}
	if (partial)
		for (i = 0; i < hs.n; i++)
			out[i] = hn_nodesvc_partial_vertex_exists(L(arg),
								  hs.h[i]);
	else
		rc = hn_nodesvc_vertex_exists_many(
			L(arg), (const uint8_t (*)[32])hs.h, hs.n, out);
	free(hs.h);
	if (rc < 0) {
		free(out);
		reply_rc(c, rc, NULL);
		return;
	}
	a = json_object_new_array_ext((int)hs.n);
	for (i = 0; a && i < hs.n; i++)
		if (json_object_array_add(a, json_object_new_boolean(out[i]))) {
			json_object_put(a);
			a = NULL;
		}
	free(out);
	reply_kv(c, "exists", a);
}

static void m_vertex_exists_many(void *arg, struct hn_rpc_call *c,
				 struct json_object *p)
{
	exists_many(arg, c, p, false);
}

static void m_partial_vertex_exists_many(void *arg, struct hn_rpc_call *c,
					 struct json_object *p)
{
	exists_many(arg, c, p, true);
}

static void m_height_index_get_many(void *arg, struct hn_rpc_call *c,
				    struct json_object *p)
{
	struct json_object *arr = NULL, *a;
	const struct hn_rpc_param spec[] = {
		{ "heights", HN_RPC_P_ARRAY, true, &arr, NULL,
		  HATHOR_NODE_MAX_BATCH },
	};
	size_t n, i;
	uint64_t *h;
	uint8_t (*out)[32];
	bool *found;
	int rc;

	if (!params_ok_l(c, L(arg), p, spec, NP(spec)))
		return;
	n = json_object_array_length(arr);
	h = calloc(n ? n : 1, sizeof(*h));
	out = calloc(n ? n : 1, sizeof(*out));
	found = calloc(n ? n : 1, sizeof(*found));
	if (!h || !out || !found) {
		rc = HN_ENOMEM;
		goto fail;
	}
	for (i = 0; i < n; i++) {
		struct hn_error err = { 0 };

		if (hn_rpc_v_u64(json_object_array_get_idx(arr, i), &h[i],
				 &err) < 0) {
			struct hn_rpc_error e;

			free(h);
			free(out);
			free(found);
			hn_rpc_error_set(&e, HN_RPC_INVALID_PARAMS,
					 "params.heights[%zu]: %s", i, err.msg);
			hn_rpc_reply_error(c, &e);
			return;
		}
	}
	rc = hn_nodesvc_height_index_get_many(L(arg), h, n, out, found);
	if (rc < 0)
		goto fail;
	a = json_object_new_array_ext((int)n);
	for (i = 0; a && i < n; i++) {
		int e2 = found[i] ?
			json_object_array_add(a, hn_rpc_j_hash(out[i])) :
			json_object_array_add(a, NULL);

		if (e2 < 0) {
			json_object_put(a);
			a = NULL;
		}
	}
	free(h);
	free(out);
	free(found);
	reply_kv(c, "hashes", a);
	return;
fail:
	free(h);
	free(out);
	free(found);
	reply_rc(c, rc, NULL);
}

/* --- link --------------------------------------------------------------- */

static void m_heartbeat(void *arg, struct hn_rpc_call *c,
			struct json_object *p)
{
	struct hn_ipc *ipc = arg;
	struct json_object *r = json_object_new_object();
	char ep[17];

	hn_rpc_add(r, "epoch", json_object_new_string(
			   hn__ipc_epoch_hex(ipc, ep)));
	hn_rpc_add(r, "last_seq", hn_rpc_j_u64(ipc->seq));
	hn_rpc_reply(c, r);
}

/* Gated forms of the methods (see gate()). */
#define GATED(fn) \
	static void gated_##fn(void *arg, struct hn_rpc_call *c, \
			       struct json_object *p) \
	{ \
		gate(arg, c, p, fn); \
	}
GATED(m_on_new_vertex)
GATED(m_on_new_vertices)
GATED(m_on_new_block)
GATED(m_verify_basic)
GATED(m_publish)
GATED(m_get_genesis)
GATED(m_get_vertex)
GATED(m_get_block)
GATED(m_get_parent_block)
GATED(m_get_best_block)
GATED(m_get_latest_timestamp)
GATED(m_get_first_timestamp)
GATED(m_vertex_exists)
GATED(m_partial_vertex_exists)
GATED(m_can_validate_full)
GATED(m_compare_bytes)
GATED(m_get_best_block_tips)
GATED(m_get_n_height_tips)
GATED(m_height_index_get)
GATED(m_get_mempool_tips)
GATED(m_get_tx_tips)
GATED(m_get_merkle_tree)
GATED(m_get_hashes_and_next_idx)
GATED(m_get_vertices)
GATED(m_vertex_exists_many)
GATED(m_partial_vertex_exists_many)
GATED(m_height_index_get_many)
GATED(hn__ipc_events_since)

const struct hn_rpc_method hn__ipc_node_methods[] = {
	{ "on_new_vertex", gated_m_on_new_vertex },
	{ "on_new_vertices", gated_m_on_new_vertices },
	{ "on_new_block", gated_m_on_new_block },
	{ "verify_basic", gated_m_verify_basic },
	{ "publish", gated_m_publish },
	{ "get_genesis", gated_m_get_genesis },
	{ "get_vertex", gated_m_get_vertex },
	{ "get_block", gated_m_get_block },
	{ "get_parent_block", gated_m_get_parent_block },
	{ "get_best_block", gated_m_get_best_block },
	{ "get_latest_timestamp", gated_m_get_latest_timestamp },
	{ "get_first_timestamp", gated_m_get_first_timestamp },
	{ "vertex_exists", gated_m_vertex_exists },
	{ "partial_vertex_exists", gated_m_partial_vertex_exists },
	{ "can_validate_full", gated_m_can_validate_full },
	{ "compare_bytes_with_local_vertex", gated_m_compare_bytes },
	{ "get_best_block_tips", gated_m_get_best_block_tips },
	{ "get_n_height_tips", gated_m_get_n_height_tips },
	{ "height_index_get", gated_m_height_index_get },
	{ "get_mempool_tips", gated_m_get_mempool_tips },
	{ "get_tx_tips", gated_m_get_tx_tips },
	{ "get_merkle_tree", gated_m_get_merkle_tree },
	{ "get_hashes_and_next_idx", gated_m_get_hashes_and_next_idx },
	{ "get_vertices", gated_m_get_vertices },
	{ "vertex_exists_many", gated_m_vertex_exists_many },
	{ "partial_vertex_exists_many", gated_m_partial_vertex_exists_many },
	{ "height_index_get_many", gated_m_height_index_get_many },
	{ "events_since", gated_hn__ipc_events_since },
	{ "heartbeat", m_heartbeat },
};
const size_t hn__ipc_node_n_methods =
	sizeof(hn__ipc_node_methods) / sizeof(hn__ipc_node_methods[0]);
