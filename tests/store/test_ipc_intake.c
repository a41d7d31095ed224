/*
 * test_ipc_intake.c: the sliced on_new_vertices intake of core/ipc_node.c,
 * end to end: a real ledger (sqlite in a temp dir), the core's node.ipc
 * (core/ipc.c) and a client on real nng ipc sockets, all on one libev loop.
 * hn_ipc_set_slice(ipc, 1 us) makes every slice one vertex, so a batch
 * spans many loop iterations.
 *
 *  - every vertex of the batch is stored, in the batch's order (at every
 *    loop iteration the stored part is a prefix of the batch), and the
 *    reply comes only after the whole batch, one result per vertex;
 *  - the loop runs between slices: an ev_check watcher sees iterations
 *    with part of the batch stored and the reply not yet sent;
 *  - node.ipc calls that reach the core while the batch is in progress (a
 *    read, then a write sent once the read is queued) are answered after
 *    it, in the order they arrived, and the read sees the whole batch;
 *    heartbeat is answered during the batch.  The order checked is the
 *    core's answer order (hn_ipc_on_reply: replies handed to nng, which
 *    is the order the pipe carries them), with the ledger's state at each
 *    reply.  The client's completion order is not checked: nng completes
 *    each context's receive on its own thread (req0_recv_cb re-arms the
 *    pipe's receive before finishing the context), so two replies that
 *    arrive back to back can reach the client's loop in either order; so
 *    can two requests reach the core's loop (rep0 does the same), hence
 *    the write is sent only once the core holds the read;
 *  - a bad vertex in the middle of a batch: the vertices before it are
 *    stored, it gets "invalid" with HN_EPARSE, nothing after it is handled
 *    (the contract of docs/node-service.md), the same results as with
 *    slicing off; sending the rest again stores it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "chain.h"
#include "ipc.h"

#include "hn/err.h"
#include "hn/jsonrpc.h"
#include "hn/rpc_nng.h"

#define NBLK TC_BLOCKS_MAX              /* blocks in the sliced batch */

static struct ev_loop *loop;

/* --- the core side and a client, on one loop ---------------------------- */

struct rig {
	struct tchain tc;
	char rundir[700];
	struct hn_ipc *ipc;
	struct hn_rpc_client *cli;
};

static void rig_open(struct rig *r, unsigned slice_us)
{
	struct hn_ipc_opts io = { 0 };
	struct hn_rpc_link_opts lo = { 0 };
	struct hn_error err = { 0 };
	char url[800];

	tc_open(&r->tc);
	snprintf(r->rundir, sizeof(r->rundir), "%s/run", r->tc.dir);
	assert_int_equal(mkdir(r->rundir, 0700), 0);
	io.loop = loop;
	io.ledger = r->tc.l;
	io.runtime_dir = r->rundir;
	if (hn_ipc_open(&io, &r->ipc, &err) < 0)
		fail_msg("hn_ipc_open: %s", err.msg);
	hn_ipc_set_slice(r->ipc, slice_us, 0);
	snprintf(url, sizeof(url), "ipc://%s", hn_ipc_node_path(r->ipc));
	lo.loop = loop;
	lo.url = url;
	lo.n_ctx = 8;
	lo.check_uid = true;
	lo.peer_uid = getuid();
	lo.name = "test.node";
	if (hn_rpc_client_open(&lo, &r->cli, &err) < 0)
		fail_msg("hn_rpc_client_open: %s", err.msg);
}

static void rig_close(struct rig *r)
{
	hn_rpc_client_close(r->cli);
	hn_ipc_close(r->ipc);
	tc_close(&r->tc, false);
}

/* One call's outcome. */
struct done {
	bool fired;
	int rc;
	bool is_error;
	struct json_object *result;     /* owned copy (json_object_get) */
	size_t stored_then;             /* batch vertices stored at reply */
};

static const struct tc_blocks *watch_b;    /* batch vertices to count */
static struct hn_ledger *watch_l;

/* The core's replies, in the order it answers (hn_ipc_on_reply). */
struct reply_rec {
	char method[32];
	bool error;
	size_t stored;                  /* batch vertices stored then */
};

static struct reply_rec replies[16];
static size_t n_replies;

static void on_reply(void *arg, const char *method, bool error)
{
	bool pfx;

	(void)arg;
	if (n_replies == sizeof(replies) / sizeof(replies[0]))
		return;
	snprintf(replies[n_replies].method, sizeof(replies[0].method), "%s",
		 method);
	replies[n_replies].error = error;
	replies[n_replies].stored = tc_blocks_stored(watch_b, watch_l, &pfx);
	n_replies++;
}

/* Index of the core's reply to @method in replies[] (-1: none). */
static int reply_at(const char *method)
{
	for (size_t i = 0; i < n_replies; i++)
		if (!strcmp(replies[i].method, method))
			return (int)i;
	return -1;
}

static void done_cb(void *arg, int rc, struct hn_rpc_resp *resp)
{
	struct done *d = arg;
	bool pfx;

	d->fired = true;
	d->rc = rc;
	d->stored_then = tc_blocks_stored(watch_b, watch_l, &pfx);
	if (rc == 0 && resp) {
		d->is_error = resp->is_error;
		if (resp->result)
			d->result = json_object_get(resp->result);
	}
}

static void done_release(struct done *d)
{
	json_object_put(d->result);
	memset(d, 0, sizeof(*d));
}

static void call(struct rig *r, const char *method, struct json_object *p,
		 unsigned flags, struct done *d)
{
	memset(d, 0, sizeof(*d));
	assert_int_equal(hn_rpc_call(r->cli, method, p, 20.0, flags, done_cb,
				     d), 0);
}

static void hello(struct rig *r)
{
	static const char *const caps[] = { HN_IPC_CAP_NODE, NULL };
	struct done d;

	call(r, "hello", hn_rpc_hello_obj("p2p-host", caps), 0, &d);
	assert_true(tc_run_until_set(loop, &d.fired, 10.0));
	assert_int_equal(d.rc, 0);
	assert_false(d.is_error);
	done_release(&d);
}

static struct json_object *vertices_params(const struct tc_blocks *b,
					   size_t from, size_t to,
					   const uint8_t *bad, size_t bad_len,
					   size_t bad_at)
{
	struct json_object *p = json_object_new_object();
	struct json_object *a = json_object_new_array();

	for (size_t i = from; i < to; i++) {
		if (bad && i == bad_at)
			json_object_array_add(a, hn_rpc_j_bytes(bad, bad_len));
		json_object_array_add(a, hn_rpc_j_bytes(b->bytes[i],
							b->len[i]));
	}
	json_object_object_add(p, "vertices", a);
	json_object_object_add(p, "origin", json_object_new_int(1));
	return p;
}

static struct json_object *hash_params(const uint8_t h[32])
{
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "hash", hn_rpc_j_hash(h));
	return p;
}

static const char *res_str(struct json_object *x, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(x, key, &v));
	return json_object_get_string(v);
}

static int64_t res_int(struct json_object *x, const char *key)
{
	struct json_object *v;

	assert_true(json_object_object_get_ex(x, key, &v));
	return json_object_get_int64(v);
}

static struct json_object *results_of(const struct done *d)
{
	struct json_object *a;

	assert_int_equal(d->rc, 0);
	assert_false(d->is_error);
	assert_non_null(d->result);
	assert_true(json_object_object_get_ex(d->result, "results", &a));
	return a;
}

/* Checks result @x is "accepted" for @hash. */
static void assert_accepted(struct json_object *x, const uint8_t hash[32])
{
	uint8_t h[32];
	struct hn_error err = { 0 };
	struct json_object *hv;

	assert_string_equal(res_str(x, "status"), "accepted");
	assert_int_equal(res_int(x, "code"), 0);
	assert_true(json_object_object_get_ex(x, "hash", &hv));
	assert_int_equal(hn_rpc_v_hash(hv, h, &err), 0);
	assert_memory_equal(h, hash, 32);
}

/* --- loop probe: an ev_check watcher, once per loop iteration ----------- */

struct probe {
	ev_check w;
	struct rig *r;
	struct done *batch;
	/* Calls sent once the batch is seen in progress (the write once
	 * the core holds the read). */
	struct done hb, read, write;
	bool sent, write_sent;
	unsigned iters;                 /* iterations while in progress */
	unsigned partial;               /* of which with 0 < stored < n */
	bool not_prefix;                /* stored set was not a prefix */
	size_t last_stored;
	bool went_back;                 /* stored count decreased */
};

static void probe_cb(struct ev_loop *l, ev_check *w, int revents)
{
	struct probe *pr = w->data;
	struct hn_ipc_stats st;
	bool pfx, waiting;
	size_t n;

	(void)l;
	(void)revents;
	if (pr->batch->fired)
		return;
	n = tc_blocks_stored(watch_b, watch_l, &pfx);
	pr->iters++;
	if (!pfx)
		pr->not_prefix = true;
	if (n < pr->last_stored)
		pr->went_back = true;
	pr->last_stored = n;
	if (n == 0 || n == watch_b->n)
		return;
	pr->partial++;
	hn_ipc_stats(pr->r->ipc, &st);
	if (pr->sent && !pr->write_sent && st.intake_deferred >= 1) {
		/* The core holds the read: a write now reaches it after. */
		pr->write_sent = true;
		call(pr->r, "on_new_vertex", json_object_get(NULL), 0,
		     &pr->write);
	}
	/* Other work on the loop between slices (0.5 ms, as an HTTP request
	 * would take; 5 ms while a call is on its way to the core): at one
	 * block per slice the batch would otherwise be over in a few ms,
	 * sooner than nng's threads may get the CPU on a loaded 2-core
	 * machine to carry the calls to the core. */
	waiting = pr->sent && (reply_at("heartbeat") < 0 ||
			       st.intake_deferred < (pr->write_sent ? 2 : 1));
	usleep(waiting ? 5000 : 500);
	if (!pr->sent && n >= 2) {
		/* In the middle of the batch: a heartbeat (must be answered
		 * now) and a read of the batch's last vertex (must wait
		 * behind the batch). */
		pr->sent = true;
		call(pr->r, "heartbeat", NULL, 0, &pr->hb);
		call(pr->r, "get_vertex", hash_params(watch_b->hash[
			watch_b->n - 1]), 0, &pr->read);
	}
}

static void test_sliced_batch(void **state)
{
	struct tc_blocks b;
	struct rig r;
	struct probe pr;
	struct done batch;
	struct hn_ipc_stats st;
	struct json_object *a, *v;
	int i_hb, i_batch, i_read, i_write;

	(void)state;
	tc_blocks_make(&b, NBLK);
	rig_open(&r, 1);
	hello(&r);
	n_replies = 0;
	hn_ipc_on_reply(r.ipc, on_reply, NULL);
	watch_b = &b;
	watch_l = r.tc.l;

	memset(&pr, 0, sizeof(pr));
	pr.r = &r;
	pr.batch = &batch;
	ev_check_init(&pr.w, probe_cb);
	pr.w.data = &pr;
	ev_check_start(loop, &pr.w);

	call(&r, "on_new_vertices", vertices_params(&b, 0, NBLK, NULL, 0, 0),
	     HN_RPC_ORDERED, &batch);
	assert_true(tc_run_until_set(loop, &batch.fired, 30.0));
	assert_true(pr.sent);
	assert_true(pr.write_sent);
	assert_true(tc_run_until_set(loop, &pr.read.fired, 10.0));
	assert_true(tc_run_until_set(loop, &pr.write.fired, 10.0));
	assert_true(tc_run_until_set(loop, &pr.hb.fired, 10.0));
	ev_check_stop(loop, &pr.w);

	/* The reply came after the whole batch, one result per vertex, in
	 * the batch's order. */
	assert_int_equal(batch.stored_then, NBLK);
	a = results_of(&batch);
	assert_int_equal(json_object_array_length(a), NBLK);
	for (size_t i = 0; i < NBLK; i++)
		assert_accepted(json_object_array_get_idx(a, i), b.hash[i]);
	assert_int_equal(tc_best_height(&r.tc), NBLK);

	/* Stored in order, a vertex at a time, with the loop running in
	 * between: many iterations saw part of the batch stored. */
	assert_false(pr.not_prefix);
	assert_false(pr.went_back);
	assert_true(pr.partial >= 10);
	hn_ipc_stats(r.ipc, &st);
	assert_int_equal(st.intake_batches, 1);
	assert_true(st.intake_slices >= NBLK - 4);
	assert_true(st.intake_deferred >= 2);

	/* The core's answers, in order: exactly these four. */
	assert_int_equal(n_replies, 4);
	i_hb = reply_at("heartbeat");
	i_batch = reply_at("on_new_vertices");
	i_read = reply_at("get_vertex");
	i_write = reply_at("on_new_vertex");
	/* Heartbeat: answered during the batch, part of it stored. */
	assert_int_equal(i_hb, 0);
	assert_true(replies[i_hb].stored > 0);
	assert_true(replies[i_hb].stored < NBLK);
	assert_int_equal(pr.hb.rc, 0);
	assert_false(pr.hb.is_error);
	/* The batch, answered once all of it was stored; then the read
	 * and the write that arrived during it, in arrival order. */
	assert_int_equal(i_batch, 1);
	assert_int_equal(replies[i_batch].stored, NBLK);
	assert_false(replies[i_batch].error);
	assert_int_equal(i_read, 2);
	assert_int_equal(i_write, 3);
	/* The read sees the batch's last vertex. */
	assert_int_equal(pr.read.rc, 0);
	assert_false(pr.read.is_error);
	assert_true(json_object_object_get_ex(pr.read.result, "height", &v));
	assert_int_equal(json_object_get_int64(v), NBLK);
	/* The write had no params: an invalid-params error, after the read. */
	assert_int_equal(pr.write.rc, 0);
	assert_true(pr.write.is_error);

	assert_true(replies[i_write].error);
	hn_ipc_on_reply(r.ipc, NULL, NULL);

	tc_check(&r.tc);
	done_release(&batch);
	done_release(&pr.hb);
	done_release(&pr.read);
	done_release(&pr.write);
	watch_b = NULL;
	rig_close(&r);
	tc_blocks_free(&b);
}

/* A batch of 20 blocks with garbage after the 10th; returns the reply's
 * results as a JSON string (malloc'd) and checks what is stored. */
static char *bad_batch(unsigned slice_us)
{
	static const uint8_t garbage[40] = { 0x00, 0x01, 0xff, 0xff, 0xff };
	struct tc_blocks b;
	struct rig r;
	struct done d, d2;
	struct hn_ipc_stats st;
	struct json_object *a, *x;
	char *s;

	tc_blocks_make(&b, 20);
	watch_b = NULL;
	rig_open(&r, slice_us);
	hello(&r);
	call(&r, "on_new_vertices", vertices_params(&b, 0, 20, garbage,
						    sizeof(garbage), 10),
	     HN_RPC_ORDERED, &d);
	assert_true(tc_run_until_set(loop, &d.fired, 30.0));
	a = results_of(&d);
	/* Ten accepted, the garbage refused, nothing after it handled. */
	assert_int_equal(json_object_array_length(a), 11);
	for (size_t i = 0; i < 10; i++)
		assert_accepted(json_object_array_get_idx(a, i), b.hash[i]);
	x = json_object_array_get_idx(a, 10);
	assert_string_equal(res_str(x, "status"), "invalid");
	assert_int_equal(res_int(x, "code"), HN_EPARSE);
	assert_false(json_object_object_get_ex(x, "hash", NULL));
	assert_true(json_object_object_get_ex(x, "msg", NULL));
	for (size_t i = 0; i < 20; i++)
		assert_int_equal(tc_exists(&r.tc, b.hash[i]), i < 10);
	assert_int_equal(tc_best_height(&r.tc), 10);
	hn_ipc_stats(r.ipc, &st);
	assert_int_equal(st.intake_batches, slice_us ? 1 : 0);
	if (slice_us)
		assert_true(st.intake_slices >= 8);
	s = strdup(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN));

	/* Nothing was lost: the rest goes in on the next batch. */
	call(&r, "on_new_vertices", vertices_params(&b, 10, 20, NULL, 0, 0),
	     HN_RPC_ORDERED, &d2);
	assert_true(tc_run_until_set(loop, &d2.fired, 30.0));
	a = results_of(&d2);
	assert_int_equal(json_object_array_length(a), 10);
	for (size_t i = 0; i < 10; i++)
		assert_accepted(json_object_array_get_idx(a, i), b.hash[10 + i]);
	assert_int_equal(tc_best_height(&r.tc), 20);
	tc_check(&r.tc);
	done_release(&d);
	done_release(&d2);
	rig_close(&r);
	tc_blocks_free(&b);
	return s;
}

static void test_bad_vertex_mid_batch(void **state)
{
	char *sliced, *whole;

	(void)state;
	sliced = bad_batch(1);
	whole = bad_batch(0);
	/* Slicing changes when the work runs, not what the host is told. */
	assert_string_equal(sliced, whole);
	free(sliced);
	free(whole);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sliced_batch),
		cmocka_unit_test(test_bad_vertex_mid_batch),
	};

	loop = ev_default_loop(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
