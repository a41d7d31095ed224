/*
 * test_direct_intake.c: the sliced on_new_vertices intake of the in-process
 * node service (core/node_direct.c, slicing by core/intake.c), end to end:
 * a real ledger (sqlite in a temp dir), a real plugin runtime with a real
 * plugin loaded (tests/ipc's plug_ok.so, argv[1]), hn_node_direct_ops
 * called with that plugin's host handle, all on one libev loop.  The same
 * cases as test_ipc_intake runs over node.ipc:
 *
 *  - with a 1 us budget every slice is one vertex: every vertex of the
 *    batch is stored in order (the stored part is a prefix at every loop
 *    iteration), the callback comes only after the whole batch, and the
 *    loop runs between slices (an ev_check watcher sees iterations with
 *    part of the batch stored, and a pipe written by it is read by an
 *    ev_io watcher while the batch is still in progress);
 *  - calls made during the batch (a read, a second batch) complete after
 *    it, in the order made; the read sees the whole batch;
 *  - a bad vertex in the middle of a batch ends it, also when it is the
 *    last vertex of its slice (one-vertex slices by the 1 us budget or by
 *    a 1-vertex cap): the vertices before it are stored, it is "invalid"
 *    with HN_EPARSE, nothing after it is handled; the same results as one
 *    whole commit (slicing off); the rest goes in with the next batch.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "chain.h"
#include "node_direct.h"

#include "hn/err.h"
#include "hn/plugin_load.h"

#define NBLK TC_BLOCKS_MAX              /* blocks in the sliced batch */

static struct ev_loop *loop;
static const char *plug_path;

/* --- a ledger, the in-process node service and a loaded plugin ---------- */

struct rig {
	struct tchain tc;
	struct hn_node_direct *nd;
	struct hn_plugin_rt *rt;
	struct hn_plugin_inst *in;
	struct hathor_host *h;
};

static void rig_open(struct rig *r, unsigned slice_us, unsigned slice_max)
{
	struct hn_plugin_rt_opts o = { 0 };
	char err[512] = "";

	tc_open(&r->tc);
	assert_int_equal(hn_node_direct_new(loop, r->tc.l, &r->nd), 0);
	hn_node_direct_set_slice(r->nd, slice_us, slice_max);
	o.loop = loop;
	o.process = "test";
	o.node = &hn_node_direct_ops;
	o.node_ctx = r->nd;
	o.node_cancel = hn_node_direct_cancel;
	assert_int_equal(hn_plugin_rt_new(&o, &r->rt), 0);
	assert_int_equal(hn_node_direct_attach_events(r->nd, r->rt), 0);
	if (hn_plugin_rt_load(r->rt, plug_path, NULL, &r->in, err,
			      sizeof(err)) < 0)
		fail_msg("load %s: %s", plug_path, err);
	r->h = hn_plugin_inst_host(r->in);
	assert_non_null(r->h);
}

static void rig_close(struct rig *r)
{
	hn_plugin_rt_free(r->rt);
	hn_node_direct_free(r->nd);
	tc_close(&r->tc, false);
}

/* --- calls and their outcomes ------------------------------------------ */

static unsigned completions;
static const struct tc_blocks *watch_b;
static struct hn_ledger *watch_l;

#define MAXRES (NBLK + 1)

struct done {
	bool fired;
	unsigned fired_times;
	int rc;
	unsigned order;                 /* completion rank, from 1 */
	size_t stored_then;             /* watched vertices stored then */
	size_t n;
	struct hathor_add_result res[MAXRES];
	char msg[MAXRES][128];
	int64_t height;                 /* get_vertex */
	bool found;
};

static void mark(struct done *d, int rc)
{
	bool pfx;

	d->fired = true;
	d->fired_times++;
	d->rc = rc;
	d->order = ++completions;
	d->stored_then = tc_blocks_stored(watch_b, watch_l, &pfx);
}

static void add_cb(void *arg, int rc, const char *msg, size_t n,
		   const struct hathor_add_result *res)
{
	struct done *d = arg;

	(void)msg;
	mark(d, rc);
	assert_true(n <= MAXRES);
	d->n = n;
	for (size_t i = 0; i < n; i++) {
		d->res[i] = res[i];
		snprintf(d->msg[i], sizeof(d->msg[i]), "%s",
			 res[i].msg ? res[i].msg : "");
		d->res[i].msg = NULL;
	}
}

static void vertex_cb(void *arg, int rc, const char *msg,
		      const struct hathor_vinfo *v)
{
	struct done *d = arg;

	(void)msg;
	mark(d, rc);
	if (rc == 0 && v) {
		d->found = v->found;
		d->height = v->height;
	}
}

/* on_new_vertices of blocks [from, to), with @bad inserted before
 * @bad_at (if @bad). */
static void send_batch(struct rig *r, const struct tc_blocks *b, size_t from,
		       size_t to, const uint8_t *bad, size_t bad_len,
		       size_t bad_at, struct done *d)
{
	const uint8_t *v[MAXRES];
	size_t lens[MAXRES], n = 0;

	for (size_t i = from; i < to; i++) {
		if (bad && i == bad_at) {
			v[n] = bad;
			lens[n++] = bad_len;
		}
		v[n] = b->bytes[i];
		lens[n++] = b->len[i];
	}
	memset(d, 0, sizeof(*d));
	assert_int_equal(hn_node_direct_ops.on_new_vertices(
				 r->h, HATHOR_ORIGIN_BLOCK, n, v, lens,
				 add_cb, d), 0);
	/* Never from inside the call. */
	assert_false(d->fired);
}

static void assert_accepted(const struct hathor_add_result *x,
			    const uint8_t hash[32])
{
	assert_int_equal(x->status, HATHOR_ADD_ACCEPTED);
	assert_int_equal(x->code, 0);
	assert_true(x->decoded);
	assert_memory_equal(x->hash, hash, 32);
}

/* --- loop probe: once per loop iteration -------------------------------- */

struct probe {
	ev_check w;
	ev_io io;                       /* reads what the probe writes */
	int pipe[2];
	struct rig *r;
	struct done *batch;
	struct done read, batch2;       /* made during the batch */
	struct tc_blocks *b2;
	bool sent;
	unsigned written, read_during;  /* pipe bytes; read mid-batch */
	bool io_ran;                    /* since the last check */
	unsigned slice_iters, both;     /* iterations with a slice; with a
					 * slice and I/O */
	unsigned iters, partial;
	bool not_prefix, went_back;
	size_t last_stored;
};

static void probe_io_cb(struct ev_loop *l, ev_io *w, int revents)
{
	struct probe *pr = w->data;
	char buf[64];
	ssize_t k;

	(void)l;
	(void)revents;
	pr->io_ran = true;
	k = read(pr->pipe[0], buf, sizeof(buf));
	if (k > 0 && !pr->batch->fired)
		pr->read_during += (unsigned)k;
}

static void probe_cb(struct ev_loop *l, ev_check *w, int revents)
{
	struct probe *pr = w->data;
	size_t n;
	bool pfx, slice;

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
	/* Check watchers run first among an iteration's callbacks: what
	 * changed since the last check happened in the previous iteration. */
	slice = n > pr->last_stored;
	if (slice)
		pr->slice_iters++;
	if (slice && pr->io_ran)
		pr->both++;
	pr->io_ran = false;
	pr->last_stored = n;
	if (n == 0 || n == watch_b->n)
		return;
	pr->partial++;
	/* After each slice, I/O for the loop to serve: it must be served in
	 * an iteration of its own, the next slice waiting for one with
	 * nothing pending (ev_idle). */
	if (slice && write(pr->pipe[1], "x", 1) == 1)
		pr->written++;
	if (!pr->sent && n >= 2) {
		pr->sent = true;
		memset(&pr->read, 0, sizeof(pr->read));
		assert_int_equal(hn_node_direct_ops.get_vertex(
			pr->r->h, watch_b->hash[watch_b->n - 1], vertex_cb,
			&pr->read), 0);
		send_batch(pr->r, pr->b2, 0, 1, NULL, 0, 0, &pr->batch2);
	}
}

static void test_sliced_batch(void **state)
{
	struct tc_blocks b;
	struct rig r;
	struct probe pr;
	struct done batch;
	struct hn_node_direct_stats st;

	(void)state;
	tc_blocks_make(&b, NBLK);
	rig_open(&r, 1, 0);
	watch_b = &b;
	watch_l = r.tc.l;
	completions = 0;

	memset(&pr, 0, sizeof(pr));
	pr.r = &r;
	pr.batch = &batch;
	pr.b2 = &b;                     /* block 0 again: "known" */
	assert_int_equal(pipe(pr.pipe), 0);
	ev_check_init(&pr.w, probe_cb);
	pr.w.data = &pr;
	ev_check_start(loop, &pr.w);
	ev_io_init(&pr.io, probe_io_cb, pr.pipe[0], EV_READ);
	pr.io.data = &pr;
	ev_io_start(loop, &pr.io);

	send_batch(&r, &b, 0, NBLK, NULL, 0, 0, &batch);
	assert_true(tc_run_until_set(loop, &batch.fired, 30.0));
	assert_true(pr.sent);
	assert_true(tc_run_until_set(loop, &pr.batch2.fired, 10.0));
	ev_check_stop(loop, &pr.w);
	ev_io_stop(loop, &pr.io);
	close(pr.pipe[0]);
	close(pr.pipe[1]);

	/* One callback, after the whole batch, one result per vertex. */
	assert_int_equal(batch.fired_times, 1);
	assert_int_equal(batch.rc, 0);
	assert_int_equal(batch.stored_then, NBLK);
	assert_int_equal(batch.n, NBLK);
	for (size_t i = 0; i < NBLK; i++)
		assert_accepted(&batch.res[i], b.hash[i]);
	assert_int_equal(tc_best_height(&r.tc), NBLK);

	/* Stored in order, a vertex per slice, the loop running between
	 * slices: many iterations saw part of the batch stored, and the
	 * pipe written by the probe was read while the batch went on. */
	assert_false(pr.not_prefix);
	assert_false(pr.went_back);
	assert_true(pr.partial >= 10);
	assert_true(pr.read_during >= 10);
	/* ... in iterations of its own: a slice ran with I/O pending only
	 * when the 20 ms guard timer fired (a stall of the test process),
	 * not in every iteration as a 0 s timer would run it. */
	assert_true(pr.slice_iters >= NBLK - 4);
	if (pr.both > pr.slice_iters / 4)
		fail_msg("%u of %u slices ran with I/O pending", pr.both,
			 pr.slice_iters);
	hn_node_direct_stats(r.nd, &st);
	assert_int_equal(st.batches, 1);
	assert_true(st.slices >= NBLK - 4);

	/* The read and the second batch made during the batch: after it, in
	 * the order made; the read sees the batch's last vertex. */
	assert_true(pr.read.fired);
	assert_true(pr.read.order > batch.order);
	assert_true(pr.batch2.order > pr.read.order);
	assert_int_equal(pr.read.rc, 0);
	assert_true(pr.read.found);
	assert_int_equal(pr.read.height, NBLK);
	assert_int_equal(pr.batch2.rc, 0);
	assert_int_equal(pr.batch2.n, 1);
	assert_int_equal(pr.batch2.res[0].status, HATHOR_ADD_KNOWN);

	tc_check(&r.tc);
	watch_b = NULL;
	rig_close(&r);
	tc_blocks_free(&b);
}

/* A batch of 20 blocks with garbage before the 11th; returns the results
 * as a string (malloc'd) and checks what is stored. */
static char *bad_batch(unsigned slice_us, unsigned slice_max)
{
	static const uint8_t garbage[40] = { 0x00, 0x01, 0xff, 0xff, 0xff };
	struct tc_blocks b;
	struct rig r;
	struct done d, d2;
	struct hn_node_direct_stats st;
	char *s;
	size_t off = 0, cap = 4096;

	tc_blocks_make(&b, 20);
	watch_b = NULL;
	rig_open(&r, slice_us, slice_max);
	send_batch(&r, &b, 0, 20, garbage, sizeof(garbage), 10, &d);
	assert_true(tc_run_until_set(loop, &d.fired, 30.0));
	assert_int_equal(d.rc, 0);
	/* Ten accepted, the garbage refused, nothing after it handled. */
	assert_int_equal(d.n, 11);
	for (size_t i = 0; i < 10; i++)
		assert_accepted(&d.res[i], b.hash[i]);
	assert_int_equal(d.res[10].status, HATHOR_ADD_INVALID);
	assert_int_equal(d.res[10].code, HN_EPARSE);
	assert_false(d.res[10].decoded);
	assert_true(d.msg[10][0] != '\0');
	for (size_t i = 0; i < 20; i++)
		assert_int_equal(tc_exists(&r.tc, b.hash[i]), i < 10);
	assert_int_equal(tc_best_height(&r.tc), 10);
	hn_node_direct_stats(r.nd, &st);
	assert_int_equal(st.batches, slice_us ? 1 : 0);
	if (slice_us && (slice_us == 1 || slice_max == 1))
		assert_int_equal(st.slices, 11);  /* one vertex each */

	s = malloc(cap);
	assert_non_null(s);
	for (size_t i = 0; i < d.n; i++)
		off += (size_t)snprintf(s + off, cap - off, "%u %d %d %s;",
					d.res[i].status, d.res[i].code,
					d.res[i].decoded, d.msg[i]);

	/* Nothing was lost: the rest goes in with the next batch. */
	send_batch(&r, &b, 10, 20, NULL, 0, 0, &d2);
	assert_true(tc_run_until_set(loop, &d2.fired, 30.0));
	assert_int_equal(d2.n, 10);
	for (size_t i = 0; i < 10; i++)
		assert_accepted(&d2.res[i], b.hash[10 + i]);
	assert_int_equal(tc_best_height(&r.tc), 20);
	tc_check(&r.tc);
	rig_close(&r);
	tc_blocks_free(&b);
	return s;
}

static void test_rejected_vertex_ends_batch(void **state)
{
	char *by_time, *by_cap, *one_slice, *whole;

	(void)state;
	by_time = bad_batch(1, 0);      /* one-vertex slices: 1 us budget */
	by_cap = bad_batch(1000000, 1); /* one-vertex slices: 1-vertex cap */
	one_slice = bad_batch(1000000, 0); /* mid-slice rejection */
	whole = bad_batch(0, 0);        /* slicing off */
	/* Slicing changes when the work runs, not what the plugin gets. */
	assert_string_equal(by_time, whole);
	assert_string_equal(by_cap, whole);
	assert_string_equal(one_slice, whole);
	free(by_time);
	free(by_cap);
	free(one_slice);
	free(whole);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sliced_batch),
		cmocka_unit_test(test_rejected_vertex_ends_batch),
	};

	if (argc < 2) {
		fprintf(stderr, "usage: %s PLUG_OK_SO\n", argv[0]);
		return 2;
	}
	plug_path = argv[1];
	loop = ev_default_loop(0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
