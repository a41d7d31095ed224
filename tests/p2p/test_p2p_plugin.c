/*
 * test_p2p_plugin.c: the built p2p_sync_v2.so loaded with lib's plugin
 * loader and runtime (hn/plugin_load.h), two instances in one process on
 * one loop, each in its own runtime with its own node service: the ABI's
 * hathor_node_ops implemented here over the in-memory node (memnode.c,
 * answers deferred to the loop like IPC replies).
 *
 *   A listens on a socket handed over as "p2p.listen_fd" and has a chain;
 *   B dials A from "p2p.bootstrap".  After the "start" command both sync
 *   over real TLS: B gets A's blocks, transactions and mempool.  Then a
 *   block relayed with send_tx_to_peers reaches B; status, get_connections,
 *   has_synced_peer, add_listen_address_description, enable_sync_version and
 *   the argument checks are exercised; a node call left pending at unload
 *   is completed with HATHOR_ECLOSED by the runtime's node_cancel.
 *
 * Usage: test_p2p_plugin PATH/p2p_sync_v2.so
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>
#include <json-c/json.h>

#include "hathor/node.h"
#include "hathor/p2p.h"
#include "hathor/plugin.h"
#include "hn/err.h"
#include "hn/network.h"
#include "hn/plugin_load.h"
#include "chaingen.h"
#include "memnode.h"
#include "testenv.h"

static const char *plugin_path;
static struct ev_loop *loop;
static const struct hn_network *net;

/* --- a node service (hathor/node.h) over memnode ----------------------- */

enum call_kind { C_BEST, C_HEIGHTS, C_VERTICES, C_EXISTS, C_ADD, C_TIPS,
		 C_HTIPS };

struct tnode;

struct tcall {
	struct tcall *next, *prev;
	struct tnode *tn;
	struct hathor_host *h;
	enum call_kind kind;
	void *cb;
	void *arg;
	bool cancelled;         /* completed by node_cancel already */
	bool answered;          /* memnode answered (held calls) */
};

struct tnode {
	struct memnode mn;
	struct testenv te;
	struct tcall head;      /* pending calls (circular list) */
	unsigned long calls, cancelled, relayed;
	bool hold_next;         /* keep the next call pending forever */
	struct tcall *held;
};

static struct tcall *call_new(struct hathor_host *h, enum call_kind k,
			      void *cb, void *arg)
{
	struct tnode *tn = hn_plugin_host_node_ctx(h);
	struct tcall *c = calloc(1, sizeof(*c));

	assert_non_null(c);
	c->tn = tn;
	c->h = h;
	c->kind = k;
	c->cb = cb;
	c->arg = arg;
	c->next = &tn->head;
	c->prev = tn->head.prev;
	tn->head.prev->next = c;
	tn->head.prev = c;
	tn->calls++;
	return c;
}

/* Returns true if the plugin's callback must still run. */
static bool call_done(struct tcall *c)
{
	bool live = !c->cancelled;

	c->prev->next = c->next;
	c->next->prev = c->prev;
	if (c->tn->held == c)
		c->tn->held = NULL;
	free(c);
	return live;
}

/* The held call's answer is dropped: it stays pending until unload. */
static bool held(struct tcall *c)
{
	if (c->tn->held != c)
		return false;
	c->answered = true;
	return true;
}

static void fail_call(struct tcall *c, int rc)
{
	const char *m = "node service closed";

	switch (c->kind) {
	case C_BEST:
		((hathor_vertex_cb)c->cb)(c->arg, rc, m, NULL);
		break;
	case C_HEIGHTS:
		((hathor_hashes_found_cb)c->cb)(c->arg, rc, m, 0, NULL, NULL);
		break;
	case C_VERTICES:
		((hathor_vinfos_cb)c->cb)(c->arg, rc, m, 0, NULL);
		break;
	case C_EXISTS:
		((hathor_bools_cb)c->cb)(c->arg, rc, m, 0, NULL);
		break;
	case C_ADD:
		((hathor_add_cb)c->cb)(c->arg, rc, m, 0, NULL);
		break;
	case C_TIPS:
		((hathor_hashes_cb)c->cb)(c->arg, rc, m, 0, NULL);
		break;
	case C_HTIPS:
		((hathor_height_tips_cb)c->cb)(c->arg, rc, m, 0, NULL);
		break;
	}
}

static void node_cancel(void *node_ctx, struct hathor_host *h)
{
	struct tnode *tn = node_ctx;
	struct tcall *c, *next;

	for (c = tn->head.next; c != &tn->head; c = next) {
		next = c->next;
		if (c->h != h || c->cancelled)
			continue;
		c->cancelled = true;
		tn->cancelled++;
		fail_call(c, HATHOR_ECLOSED);
		if (c->answered)        /* memnode will not call again */
			call_done(c);
	}
}

static void *te_of(struct hathor_host *h)
{
	return &((struct tnode *)hn_plugin_host_node_ctx(h))->te;
}

static void best_cb(void *arg, int rc, uint64_t height, const uint8_t hash[32])
{
	struct tcall *c = arg;
	struct hathor_vinfo v = { 0 };
	void *cb = c->cb, *carg = c->arg;

	if (held(c) || !call_done(c))
		return;
	v.found = true;
	v.is_block = true;
	v.height = (int64_t)height;
	memcpy(v.hash, hash, 32);
	((hathor_vertex_cb)cb)(carg, rc, NULL, rc ? NULL : &v);
}

static int t_best(struct hathor_host *h, hathor_vertex_cb cb, void *arg)
{
	struct tcall *c = call_new(h, C_BEST, (void *)cb, arg);

	if (c->tn->hold_next) {
		c->tn->hold_next = false;
		c->tn->held = c;
	}
	return memnode_ops.best_block(te_of(h), best_cb, c);
}

static void heights_cb(void *arg, int rc, size_t n, const bool *found,
		       const uint8_t (*hashes)[32])
{
	struct tcall *c = arg;
	void *cb = c->cb, *carg = c->arg;

	if (held(c) || !call_done(c))
		return;
	((hathor_hashes_found_cb)cb)(carg, rc, NULL, n, found, hashes);
}

static int t_heights(struct hathor_host *h, size_t n, const uint64_t *heights,
		     hathor_hashes_found_cb cb, void *arg)
{
	struct tcall *c = call_new(h, C_HEIGHTS, (void *)cb, arg);

	return memnode_ops.height_hashes(te_of(h), heights, n, heights_cb, c);
}

static void vertices_cb(void *arg, int rc, size_t n,
			const struct p2p_vinfo *vi)
{
	struct tcall *c = arg;
	void *cb = c->cb, *carg = c->arg;
	struct hathor_vinfo *out;
	size_t i;

	if (held(c) || !call_done(c))
		return;
	out = calloc(n ? n : 1, sizeof(*out));
	assert_non_null(out);
	for (i = 0; i < n; i++) {
		out[i].found = vi[i].found;
		memcpy(out[i].hash, vi[i].hash, 32);
		out[i].bytes = vi[i].bytes;
		out[i].len = vi[i].len;
		out[i].is_block = vi[i].is_block;
		out[i].voided = vi[i].voided;
		out[i].fully_valid = vi[i].fully_valid;
		out[i].height = vi[i].height;
		out[i].has_first_block = vi[i].has_first_block;
		memcpy(out[i].first_block, vi[i].first_block, 32);
		out[i].first_block_height = vi[i].first_block_height;
	}
	((hathor_vinfos_cb)cb)(carg, rc, NULL, n, out);
	free(out);
}

static int t_vertices(struct hathor_host *h, size_t n,
		      const uint8_t (*hashes)[32], hathor_vinfos_cb cb,
		      void *arg)
{
	struct tcall *c = call_new(h, C_VERTICES, (void *)cb, arg);

	return memnode_ops.get_vertices(te_of(h), hashes, n, vertices_cb, c);
}

static void exists_cb(void *arg, int rc, size_t n, const bool *flags)
{
	struct tcall *c = arg;
	void *cb = c->cb, *carg = c->arg;

	if (held(c) || !call_done(c))
		return;
	((hathor_bools_cb)cb)(carg, rc, NULL, n, flags);
}

static int t_exists(struct hathor_host *h, size_t n,
		    const uint8_t (*hashes)[32], hathor_bools_cb cb, void *arg)
{
	struct tcall *c = call_new(h, C_EXISTS, (void *)cb, arg);

	return memnode_ops.exists(te_of(h), hashes, n, exists_cb, c);
}

static void add_cb(void *arg, int rc, size_t n, const enum p2p_add_result *res,
		   const char *msg)
{
	struct tcall *c = arg;
	void *cb = c->cb, *carg = c->arg;
	struct hathor_add_result *out;
	size_t i;

	if (held(c) || !call_done(c))
		return;
	out = calloc(n ? n : 1, sizeof(*out));
	assert_non_null(out);
	for (i = 0; i < n; i++) {
		switch (res[i]) {
		case P2P_ADD_ACCEPTED:
			out[i].status = HATHOR_ADD_ACCEPTED;
			break;
		case P2P_ADD_KNOWN:
			out[i].status = HATHOR_ADD_KNOWN;
			break;
		case P2P_ADD_MISSING_DEPS:
			out[i].status = HATHOR_ADD_MISSING_DEPS;
			out[i].msg = msg;
			break;
		case P2P_ADD_INVALID:
			out[i].status = HATHOR_ADD_INVALID;
			out[i].code = HATHOR_ECONSENSUS;
			out[i].msg = msg;
			break;
		}
	}
	((hathor_add_cb)cb)(carg, rc, NULL, n, out);
	free(out);
}

static int t_add(struct hathor_host *h, enum hathor_origin origin, size_t n,
		 const uint8_t *const *bytes, const size_t *lens,
		 hathor_add_cb cb, void *arg)
{
	struct tcall *c = call_new(h, C_ADD, (void *)cb, arg);
	enum p2p_add_kind k = origin == HATHOR_ORIGIN_MEMPOOL ?
		P2P_ADD_MEMPOOL : origin == HATHOR_ORIGIN_RELAYED ?
		P2P_ADD_RELAY : P2P_ADD_SYNC;

	if (origin == HATHOR_ORIGIN_RELAYED)
		c->tn->relayed++;

	return memnode_ops.add_vertices(te_of(h), k, n, bytes, lens, add_cb,
					c);
}

static void tips_cb(void *arg, int rc, size_t n, const bool *found,
		    const uint8_t (*hashes)[32])
{
	struct tcall *c = arg;
	void *cb = c->cb, *carg = c->arg;

	(void)found;
	if (held(c) || !call_done(c))
		return;
	((hathor_hashes_cb)cb)(carg, rc, NULL, n, hashes);
}

static int t_tips(struct hathor_host *h, hathor_hashes_cb cb, void *arg)
{
	struct tcall *c = call_new(h, C_TIPS, (void *)cb, arg);

	return memnode_ops.mempool_tips(te_of(h), tips_cb, c);
}

static void htips_cb(void *arg, int rc, size_t n, const uint64_t *heights,
		     const uint8_t (*hashes)[32])
{
	struct tcall *c = arg;
	void *cb = c->cb, *carg = c->arg;
	struct hathor_height_info *out;
	size_t i;

	if (held(c) || !call_done(c))
		return;
	out = calloc(n ? n : 1, sizeof(*out));
	assert_non_null(out);
	for (i = 0; i < n; i++) {
		out[i].height = heights[i];
		memcpy(out[i].hash, hashes[i], 32);
	}
	((hathor_height_tips_cb)cb)(carg, rc, NULL, n, out);
	free(out);
}

static int t_htips(struct hathor_host *h, size_t n, hathor_height_tips_cb cb,
		   void *arg)
{
	struct tcall *c = call_new(h, C_HTIPS, (void *)cb, arg);

	return memnode_ops.n_height_tips(te_of(h), (unsigned)n, htips_cb, c);
}

/* Only what the plugin uses; the rest stays NULL (HATHOR_HAS checks). */
static const struct hathor_node_ops tnode_ops = {
	.size = sizeof(struct hathor_node_ops),
	.on_new_vertices = t_add,
	.get_best_block = t_best,
	.get_n_height_tips = t_htips,
	.get_mempool_tips = t_tips,
	.get_vertices = t_vertices,
	.vertex_exists_many = t_exists,
	.height_index_get_many = t_heights,
};

/* --- one plugin instance ----------------------------------------------- */

struct inst {
	struct tnode tn;
	struct hn_plugin_rt *rt;
	struct hn_plugin_inst *in;
	const struct hathor_p2p_ops *ops;
	void *ctx;
};

static void inst_up(struct inst *x, const char *name,
		    const char *const *cfg)
{
	struct hn_plugin_rt_opts o = { 0 };
	char err[1024];
	size_t i;

	memnode_init(&x->tn.mn, loop, net);
	testenv_init(&x->tn.te, loop, &memnode_ops, &x->tn.mn, name);
	x->tn.head.next = x->tn.head.prev = &x->tn.head;
	o.loop = loop;
	o.process = name;
	o.node = &tnode_ops;
	o.node_ctx = &x->tn;
	o.node_cancel = node_cancel;
	assert_int_equal(hn_plugin_rt_new(&o, &x->rt), 0);
	assert_int_equal(hn_plugin_rt_config_add(x->rt, "network",
						 "unittests"), 0);
	for (i = 0; cfg && cfg[i]; i += 2)
		assert_int_equal(hn_plugin_rt_config_add(x->rt, cfg[i],
							 cfg[i + 1]), 0);
	if (hn_plugin_rt_load(x->rt, plugin_path, NULL, &x->in, err,
			      sizeof(err)) < 0)
		fail_msg("load: %s", err);
	assert_int_equal(hn_plugin_inst_desc(x->in)->kind, HATHOR_KIND_P2P);
	assert_string_equal(hn_plugin_inst_desc(x->in)->name, "p2p_sync_v2");
	x->ops = hn_plugin_inst_p2p(x->in);
	assert_non_null(x->ops);
	x->ctx = hn_plugin_inst_ctx(x->in);
	if (hn_plugin_inst_start(x->in, err, sizeof(err)) < 0)
		fail_msg("start: %s", err);
}

static void inst_down(struct inst *x)
{
	hn_plugin_inst_unload(x->in);
	hn_plugin_rt_free(x->rt);
	memnode_release(&x->tn.mn);
	/* Every call got its answer (memnode completes its jobs on
	 * release; cancelled ones were answered by node_cancel). */
	assert_ptr_equal(x->tn.head.next, &x->tn.head);
}

static bool same_best(struct inst *a, struct inst *b)
{
	uint64_t ha, hb;
	uint8_t xa[32], xb[32];

	memnode_best(&a->tn.mn, &ha, xa);
	memnode_best(&b->tn.mn, &hb, xb);
	return ha == hb && memcmp(xa, xb, 32) == 0;
}

struct pair {
	struct inst *a, *b;
};

static bool synced(void *arg)
{
	struct pair *p = arg;

	return same_best(p->a, p->b) &&
	       memnode_count(&p->a->tn.mn) == memnode_count(&p->b->tn.mn) &&
	       memnode_mempool(&p->a->tn.mn) == memnode_mempool(&p->b->tn.mn);
}

static bool run_until(bool (*cond)(void *), void *arg, double secs)
{
	double end = ev_time() + secs;

	while (!cond(arg) && ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
	return cond(arg);
}

static void text_out(void *arg, const char *text, size_t len)
{
	char **s = arg;

	*s = strndup(text, len);
}

static struct json_object *connections(struct inst *x)
{
	struct json_object *o;
	char err[256], *s = NULL;

	assert_int_equal(x->ops->get_connections(x->ctx, text_out, &s, err,
						 sizeof(err)), 0);
	assert_non_null(s);
	o = json_tokener_parse(s);
	free(s);
	assert_non_null(o);
	return o;
}

static size_t n_conns(struct json_object *o, const char *kind)
{
	struct json_object *c, *a;

	assert_true(json_object_object_get_ex(o, "connections", &c));
	assert_true(json_object_object_get_ex(c, kind, &a));
	return json_object_array_length(a);
}

static int listen_socket(uint16_t *port)
{
	struct sockaddr_in sa = { 0 };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

static bool has_block(void *arg)
{
	void **v = arg;

	return memnode_has(v[0], v[1]);
}

static bool b_synced_peer(void *arg)
{
	struct inst *x = arg;

	return x->ops->has_synced_peer(x->ctx);
}

static bool reconnected(void *arg)
{
	struct pair *p = arg;
	struct hathor_p2p_status st = { .size = sizeof(st) };

	p->a->ops->status(p->a->ctx, &st);
	return st.ready_peers == 1 && p->b->ops->has_synced_peer(p->b->ctx);
}

static bool call_held(void *arg)
{
	struct tnode *tn = arg;

	return tn->held && tn->held->answered;
}

/* Two instances: handshake over TLS, full sync, relay, commands. */
static void t_two_instances(void **state)
{
	struct inst a = { 0 }, b = { 0 };
	struct pair pr = { &a, &b };
	struct hathor_p2p_status st;
	struct json_object *o;
	struct chain ch;
	uint8_t blk[256], hash[32];
	size_t len;
	uint16_t port, port2 = 0;
	char fdstr[16], boot[64], err[256], ident[512];
	int lfd = listen_socket(&port);
	void *hb[2];
	const char *cfg_a[] = { "p2p.listen_fd", fdstr, NULL };
	const char *cfg_b[] = { "p2p.bootstrap", boot, "p2p.identity", ident,
				NULL };
	const char *bad[] = { "not an address" };
	char ep[64];
	const char *eps[] = { ep };

	(void)state;
	snprintf(fdstr, sizeof(fdstr), "%d", lfd);
	snprintf(boot, sizeof(boot), "127.0.0.1:%u", port);
	snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%u", port);
	snprintf(ident, sizeof(ident), "p2p_plugin_b_%d.json", (int)getpid());
	unlink(ident);
	inst_up(&a, "[A]", cfg_a);
	inst_up(&b, "[B]", cfg_b);
	/* The identity file was created at init (mode 0600). */
	assert_int_equal(access(ident, R_OK), 0);

	chain_init(&ch, net);
	build(&a.tn.mn, &ch, 60, 2, 3);
	assert_false(synced(&pr));

	/* Ready but idle until the "start" command: nobody dials yet. */
	st = (struct hathor_p2p_status){ .size = sizeof(st) };
	a.ops->status(a.ctx, &st);
	assert_false(st.running);
	assert_int_equal(strlen(st.peer_id), 64);
	assert_int_equal(a.ops->start(a.ctx, err, sizeof(err)), 0);
	assert_int_equal(b.ops->start(b.ctx, err, sizeof(err)), 0);
	assert_true(run_until(synced, &pr, 30));
	a.ops->status(a.ctx, &st);
	assert_true(st.running);
	assert_int_equal(st.ready_peers, 1);
	b.ops->status(b.ctx, &st);
	assert_int_equal(st.ready_peers, 1);
	/* The node service carried every call (none bypassed it). */
	assert_true(a.tn.calls > 10);
	assert_true(b.tn.calls > 10);

	o = connections(&b);
	assert_int_equal(n_conns(o, "connected_peers"), 1);
	json_object_put(o);

	/* B told A to relay (RELAY true) once it saw itself synced. */
	assert_true(run_until(b_synced_peer, &b, 10));

	/* A block made on A and pushed by the core's send_tx_to_peers
	 * reaches B as relayed DATA. */
	len = make_block(blk, ch.tip, ch.tx_a, ch.tx_b, 0xee, hash);
	assert_int_equal(memnode_add(&a.tn.mn, blk, len), P2P_ADD_ACCEPTED);
	memcpy(ch.tip, hash, 32);
	assert_false(memnode_has(&b.tn.mn, hash));
	assert_int_equal(b.tn.relayed, 0);
	assert_int_equal(a.ops->send_tx_to_peers(a.ctx, blk, len, err,
						 sizeof(err)), 0);
	hb[0] = &b.tn.mn;
	hb[1] = hash;
	assert_true(run_until(has_block, hb, 10));
	assert_true(b.tn.relayed >= 1);
	assert_true(run_until(synced, &pr, 10));

	/* Argument checks answer with a code and a reason. */
	assert_int_equal(a.ops->send_tx_to_peers(a.ctx, (const uint8_t *)"xx",
						 2, err, sizeof(err)),
			 HATHOR_EINVAL);
	assert_non_null(strstr(err, "not a valid vertex"));
	assert_int_equal(a.ops->enable_sync_version(a.ctx, "v1", err,
						    sizeof(err)),
			 HATHOR_EINVAL);
	assert_non_null(strstr(err, "only v2"));
	assert_int_equal(a.ops->enable_sync_version(a.ctx, "v2", err,
						    sizeof(err)), 0);
	assert_int_equal(a.ops->add_peer_discovery(a.ctx, 1, bad, err,
						   sizeof(err)),
			 HATHOR_EINVAL);
	assert_non_null(strstr(err, "invalid peer address"));
	/* One listening socket per engine: A has the handed-over one. */
	assert_true(a.ops->add_listen_address_description(
			    a.ctx, "tcp:0:interface=127.0.0.1", &port2, err,
			    sizeof(err)) < 0);
	assert_int_equal(b.ops->add_listen_address_description(
				 b.ctx, "tcp:0:interface=127.0.0.1", &port2,
				 err, sizeof(err)), 0);
	assert_true(port2 != 0 && port2 != port);
	assert_int_equal(a.ops->enable_localhost_only(a.ctx, err,
						      sizeof(err)), 0);
	assert_int_equal(a.ops->reload_entrypoints_and_connections(
				 a.ctx, 1, eps, err, sizeof(err)), 0);
	o = connections(&a);
	assert_non_null(strstr(json_object_to_json_string_ext(o,
					JSON_C_TO_STRING_NOSLASHESCAPE),
			       ep));
	json_object_put(o);

	/* The reload dropped the connection; B redials its bootstrap peer
	 * (5 s backoff), which is now in A's announced entrypoints. */
	a.ops->status(a.ctx, &st);
	assert_int_equal(st.ready_peers, 0);
	assert_true(run_until(reconnected, &pr, 20));

	/* A node call left pending at unload must be answered by the
	 * runtime (node_cancel, HATHOR_ECLOSED) before destroy. */
	a.tn.hold_next = true;
	assert_true(run_until(call_held, &a.tn, 10));

	/* disconnect_all_peers(force): no ready peer left on A. */
	assert_int_equal(a.ops->disconnect_all_peers(a.ctx, true, err,
						     sizeof(err)), 0);
	a.ops->status(a.ctx, &st);
	assert_int_equal(st.ready_peers, 0);
	/* stop command: not running; the plugin stays loaded. */
	assert_int_equal(b.ops->stop(b.ctx, err, sizeof(err)), 0);
	b.ops->status(b.ctx, &st);
	assert_false(st.running);
	assert_int_equal(st.ready_peers, 0);

	inst_down(&b);
	inst_down(&a);
	assert_true(a.tn.cancelled >= 1);
	close(lfd);
	unlink(ident);
}

/* Configuration errors are refused in init with a reason. */
static void t_bad_config(void **state)
{
	struct hn_plugin_rt_opts o = { 0 };
	struct hn_plugin_rt *rt;
	struct hn_plugin_inst *in = NULL;
	struct tnode tn = { 0 };
	char err[1024];
	static const char *const cases[][4] = {
		{ "network", "nosuchnet", NULL, "unknown network" },
		{ "network", "unittests", "p2p.listen_fd", "listening fd" },
		{ "network", "unittests", "p2p.max_peers", "p2p.max_peers" },
		{ "network", "unittests", "p2p.bootstrap", "invalid peer" },
		{ "network", "mainnet", "p2p.no_tls", "TLS cannot" },
		{ NULL, NULL, NULL, "'network' is required" },
	};
	static const char *const values[] = { NULL, "99999", "-3",
					      "no-port", "1", NULL };
	size_t i;

	(void)state;
	tn.head.next = tn.head.prev = &tn.head;
	o.loop = loop;
	o.process = "cfg";
	o.node = &tnode_ops;
	o.node_ctx = &tn;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(hn_plugin_rt_new(&o, &rt), 0);
		if (cases[i][0])
			assert_int_equal(hn_plugin_rt_config_add(
						 rt, cases[i][0], cases[i][1]),
					 0);
		if (cases[i][2])
			assert_int_equal(hn_plugin_rt_config_add(
						 rt, cases[i][2], values[i]),
					 0);
		err[0] = '\0';
		assert_true(hn_plugin_rt_load(rt, plugin_path, NULL, &in, err,
					      sizeof(err)) < 0);
		if (!strstr(err, cases[i][3]))
			fail_msg("case %zu: '%s' lacks '%s'", i, err,
				 cases[i][3]);
		assert_null(hn_plugin_rt_inst(rt, 0));
		hn_plugin_rt_free(rt);
	}
	/* No node service: a p2p plugin cannot work. */
	o.node = NULL;
	assert_int_equal(hn_plugin_rt_new(&o, &rt), 0);
	assert_int_equal(hn_plugin_rt_config_add(rt, "network", "unittests"),
			 0);
	assert_true(hn_plugin_rt_load(rt, plugin_path, NULL, &in, err,
				      sizeof(err)) < 0);
	assert_non_null(strstr(err, "no node service"));
	hn_plugin_rt_free(rt);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_two_instances),
		cmocka_unit_test(t_bad_config),
	};
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: %s PATH/p2p_sync_v2.so\n", argv[0]);
		return 2;
	}
	plugin_path = argv[1];
	net = hn_network_by_name("unittests");
	if (!net) {
		fprintf(stderr, "no unittests network\n");
		return 1;
	}
	loop = ev_loop_new(EVFLAG_AUTO);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	ev_loop_destroy(loop);
	return rc;
}
