/*
 * plug_p2p.c: a p2p-kind test plugin for the host tests.
 *
 * Every p2p op is recorded.  The "start" command fires one call of every
 * node-service method at once (pipelined over node.ipc in host mode) with
 * fixed inputs (hashes H(x) = 32 bytes of x) and records what each
 * callback got as a short text.  get_connections returns
 *   {"done":N,"total":M,"r":{"<method>":"<text>",...},"events":"1,2,",
 *    "resyncs":K,"ops":"start,stop,...","in_flight":P}
 * (get_connections itself is not listed in "ops": tests poll it).
 * so the test can check every round trip.  With config
 * plug_p2p.hang_calls=1, "start" instead fires a node call that the fake
 * core holds forever (for cancel / link-loss tests).
 */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef PLUG_CRASH_INIT
#include <sys/resource.h>
#endif

#include "hathor/node.h"
#include "hathor/p2p.h"
#include "hathor/plugin.h"

#define N_SLOTS 32
#define TXT 160

struct pctx;

struct slot {
	struct pctx *c;
	const char *name;
	char text[TXT];
	bool done;
};

struct pctx {
	struct hathor_host *h;
	const struct hathor_services *svc;
	struct slot s[N_SLOTS];
	int n, done;
	char events[2048];
	unsigned resyncs;
	char ops[1024];
	bool running;
	int in_flight;
	bool calling;                   /* inside run_script's calls */
};

static void H(uint8_t h[32], uint8_t x)
{
	memset(h, x, 32);
}

static void op(struct pctx *c, const char *name)
{
	size_t l = strlen(c->ops);

	snprintf(c->ops + l, sizeof(c->ops) - l, "%s,", name);
}

static struct slot *S(void *arg)
{
	return arg;
}

static void fin(struct slot *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void fin(struct slot *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->text, sizeof(s->text), fmt, ap);
	va_end(ap);
	/* A callback from inside its call breaks the node.h contract. */
	if (s->c->calling && strncmp(s->text, "refused=", 8) != 0) {
		size_t l = strlen(s->text);

		snprintf(s->text + l, sizeof(s->text) - l, " REENTRANT");
	}
	if (!s->done)
		s->c->done++;
	s->done = true;
	s->c->in_flight--;
}

static void cb_add(void *arg, int rc, const char *msg, size_t n,
		   const struct hathor_add_result *r)
{
	if (rc < 0 || n == 0) {
		fin(S(arg), "rc=%d n=%zu", rc, n);
		return;
	}
	fin(S(arg), "rc=%d n=%zu st=%u h=%02x blk=%d best=%d ht=%" PRIu64
	    " last=%u msg=%s", rc, n, r[0].status, r[0].hash[0],
	    r[0].is_block, r[0].best_changed, r[0].height, r[n - 1].status,
	    r[n - 1].msg ? r[n - 1].msg : "-");
}

static void cb_verify(void *arg, int rc, const char *msg, int verr)
{
	fin(S(arg), "rc=%d verr=%d", rc, verr);
}

static void cb_done(void *arg, int rc, const char *msg)
{
	fin(S(arg), "rc=%d msg=%s", rc, msg ? msg : "-");
}

static void cb_vertex(void *arg, int rc, const char *msg,
		      const struct hathor_vinfo *v)
{
	if (rc < 0) {
		fin(S(arg), "rc=%d msg=%s", rc, msg ? msg : "-");
		return;
	}
	fin(S(arg), "rc=0 h=%02x len=%zu b2=%u blk=%d void=%d fv=%d ht=%" PRId64
	    " fb=%d fbh=%" PRId64 " ts=%u w=%.1f", v->hash[0], v->len,
	    v->len > 2 ? v->bytes[2] : 0, v->is_block, v->voided,
	    v->fully_valid, v->height, v->has_first_block,
	    v->first_block_height, v->timestamp, v->weight);
}

static void cb_u64(void *arg, int rc, const char *msg, uint64_t v)
{
	fin(S(arg), "rc=%d v=%" PRIu64, rc, v);
}

static void cb_bool(void *arg, int rc, const char *msg, bool v)
{
	fin(S(arg), "rc=%d v=%d", rc, v);
}

static void cb_hashes(void *arg, int rc, const char *msg, size_t n,
		      const uint8_t (*h)[32])
{
	fin(S(arg), "rc=%d n=%zu h0=%02x", rc, n, n ? h[0][0] : 0);
}

static void cb_htips(void *arg, int rc, const char *msg, size_t n,
		     const struct hathor_height_info *t)
{
	fin(S(arg), "rc=%d n=%zu ht0=%" PRIu64 " h0=%02x", rc, n,
	    n ? t[0].height : 0, n ? t[0].hash[0] : 0);
}

static void cb_hash(void *arg, int rc, const char *msg, const uint8_t h[32])
{
	fin(S(arg), "rc=%d h=%02x", rc, rc == 0 ? h[0] : 0);
}

static void cb_tips(void *arg, int rc, const char *msg, size_t n,
		    const struct hathor_tip_interval *t)
{
	fin(S(arg), "rc=%d n=%zu b0=%" PRIu64 " open=%d h0=%02x", rc, n,
	    n ? t[0].begin : 0, n ? t[0].end == UINT64_MAX : 0,
	    n ? t[0].hash[0] : 0);
}

static void cb_merkle(void *arg, int rc, const char *msg,
		      const uint8_t m[32], size_t n, const uint8_t (*h)[32])
{
	fin(S(arg), "rc=%d m=%02x n=%zu", rc, rc == 0 ? m[0] : 0, n);
}

static void cb_range(void *arg, int rc, const char *msg, size_t n,
		     const uint8_t (*h)[32], bool has_next, uint64_t ts,
		     uint64_t off)
{
	fin(S(arg), "rc=%d n=%zu next=%d ts=%" PRIu64 " off=%" PRIu64, rc, n,
	    has_next, ts, off);
}

static void cb_vinfos(void *arg, int rc, const char *msg, size_t n,
		      const struct hathor_vinfo *v)
{
	fin(S(arg), "rc=%d n=%zu f0=%d f1=%d len0=%zu", rc, n,
	    n ? v[0].found : 0, n > 1 ? v[1].found : 0, n ? v[0].len : 0);
}

static void cb_bools(void *arg, int rc, const char *msg, size_t n,
		     const bool *v)
{
	fin(S(arg), "rc=%d n=%zu v=%d%d", rc, n, n ? v[0] : 0,
	    n > 1 ? v[1] : 0);
}

static void cb_hfound(void *arg, int rc, const char *msg, size_t n,
		      const bool *f, const uint8_t (*h)[32])
{
	fin(S(arg), "rc=%d n=%zu f=%d%d h0=%02x", rc, n, n ? f[0] : 0,
	    n > 1 ? f[1] : 0, n ? h[0][0] : 0);
}

static struct slot *slot(struct pctx *c, const char *name)
{
	struct slot *s = &c->s[c->n++];

	s->c = c;
	s->name = name;
	c->in_flight++;
	return s;
}

/* Records a synchronous refusal. */
static void started(struct slot *s, int rc)
{
	if (rc < 0)
		fin(s, "refused=%d", rc);
}

static void run_script(struct pctx *c)
{
	const struct hathor_node_ops *n = c->svc->node;
	struct hathor_host *h = c->h;
	static const uint8_t b9[2] = { 9, 9 }, b8[3] = { 8, 8, 8 };
	const uint8_t *vv[2] = { b9, b8 };
	const size_t vl[2] = { 2, 3 };
	uint8_t h1[32], h2[32], hs[2][32];
	const uint64_t heights[2] = { 3, 99 };
	struct slot *s;

	H(h1, 1);
	H(h2, 2);
	H(hs[0], 1);
	H(hs[1], 2);
	c->n = c->done = 0;
	c->calling = true;
	s = slot(c, "on_new_vertex");
	started(s, n->on_new_vertex(h, HATHOR_ORIGIN_MEMPOOL, b9, 2, cb_add, s));
	s = slot(c, "on_new_vertices");
	started(s, n->on_new_vertices(h, HATHOR_ORIGIN_BLOCK, 2, vv, vl,
				      cb_add, s));
	s = slot(c, "on_new_block");
	started(s, n->on_new_block(h, b8, 3, 1, vv, vl, cb_add, s));
	s = slot(c, "verify_basic");
	started(s, n->verify_basic(h, b9, 2, cb_verify, s));
	s = slot(c, "publish");
	started(s, n->publish(h, "test.key", "{\"a\":1}", cb_done, s));
	s = slot(c, "get_genesis");
	started(s, n->get_genesis(h, h2, cb_vertex, s));
	s = slot(c, "get_vertex");
	started(s, n->get_vertex(h, h1, cb_vertex, s));
	s = slot(c, "get_vertex_missing");
	started(s, n->get_vertex(h, h2, cb_vertex, s));
	s = slot(c, "get_block");
	started(s, n->get_block(h, h1, cb_vertex, s));
	s = slot(c, "get_parent_block");
	started(s, n->get_parent_block(h, h1, cb_vertex, s));
	s = slot(c, "get_best_block");
	started(s, n->get_best_block(h, cb_vertex, s));
	s = slot(c, "get_latest_timestamp");
	started(s, n->get_latest_timestamp(h, cb_u64, s));
	s = slot(c, "get_first_timestamp");
	started(s, n->get_first_timestamp(h, cb_u64, s));
	s = slot(c, "vertex_exists");
	started(s, n->vertex_exists(h, h1, cb_bool, s));
	s = slot(c, "partial_vertex_exists");
	started(s, n->partial_vertex_exists(h, h2, cb_bool, s));
	s = slot(c, "can_validate_full");
	started(s, n->can_validate_full(h, b9, 2, cb_bool, s));
	s = slot(c, "compare_bytes_with_local_vertex");
	started(s, n->compare_bytes_with_local_vertex(h, b9, 2, cb_bool, s));
	s = slot(c, "get_best_block_tips");
	started(s, n->get_best_block_tips(h, cb_hashes, s));
	s = slot(c, "get_n_height_tips");
	started(s, n->get_n_height_tips(h, 2, cb_htips, s));
	s = slot(c, "height_index_get");
	started(s, n->height_index_get(h, 3, cb_hash, s));
	s = slot(c, "get_mempool_tips");
	started(s, n->get_mempool_tips(h, cb_hashes, s));
	s = slot(c, "get_tx_tips");
	started(s, n->get_tx_tips(h, true, 1000, cb_tips, s));
	s = slot(c, "get_merkle_tree");
	started(s, n->get_merkle_tree(h, 1000, cb_merkle, s));
	s = slot(c, "get_hashes_and_next_idx");
	started(s, n->get_hashes_and_next_idx(h, 1000, 0, 2, cb_range, s));
	s = slot(c, "get_vertices");
	started(s, n->get_vertices(h, 2, (const uint8_t (*)[32])hs, cb_vinfos,
				   s));
	s = slot(c, "vertex_exists_many");
	started(s, n->vertex_exists_many(h, 2, (const uint8_t (*)[32])hs,
					 cb_bools, s));
	s = slot(c, "partial_vertex_exists_many");
	started(s, n->partial_vertex_exists_many(h, 2,
						 (const uint8_t (*)[32])hs,
						 cb_bools, s));
	s = slot(c, "height_index_get_many");
	started(s, n->height_index_get_many(h, 2, heights, cb_hfound, s));
	/* Argument checks happen before anything is sent. */
	s = slot(c, "bad_n_height_tips");
	started(s, n->get_n_height_tips(h, 0, cb_htips, s));
	s = slot(c, "bad_range");
	started(s, n->get_hashes_and_next_idx(h, 0, 0, HATHOR_NODE_MAX_RANGE +
					      1, cb_range, s));
	c->calling = false;
}

#ifdef PLUG_CRASH_AFTER
/* The crashing build (plug_p2p_crash.so): dies PLUG_CRASH_AFTER seconds
 * after "start", like a build with a bug on its first real work. */
static void crash_cb(void *arg)
{
	raise(SIGKILL);
}
#endif

#ifdef PLUG_GARBAGE
/* The misbehaving build (plug_p2p_garbage.so): from "start" on it writes
 * raw garbage to the core's node.ipc on its own nng socket, every 0.1 s:
 * malformed JSON, wrong parameter types, an oversize message.  With config
 * plug_p2p.garbage_on=exit it behaves while it serves and writes three
 * garbage messages only when it is unloaded (the host ending, e.g. retired
 * by a reload), 50 ms apart, then waits 200 ms so they reach the core. */
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>

static nng_socket g_sock;
static unsigned g_n;

static void garbage_cb(void *arg)
{
	static const char *const msgs[] = {
		"{\"jsonrpc\": \"2.0\", \"id\": 1, \"method\": ",
		("{\"jsonrpc\": \"2.0\", \"id\": \"x\", \"method\": 7, "
		 "\"params\": {\"hash\": 5}}"),
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
	};
	size_t big = 4u << 20;
	char *m;

	if (g_n % 4 == 3) {
		if (!(m = malloc(big)))
			return;
		memset(m, ' ', big);
		m[0] = '{';
		m[big - 1] = '}';
		nng_send(g_sock, m, big, NNG_FLAG_NONBLOCK);
		free(m);
	} else {
		nng_send(g_sock, (void *)msgs[g_n % 4], strlen(msgs[g_n % 4]),
			 NNG_FLAG_NONBLOCK);
	}
	g_n++;
}

/* The host's --runtime-dir (from /proc/self/cmdline). */
static int runtime_dir(char *out, size_t len)
{
	char buf[8192];
	FILE *f = fopen("/proc/self/cmdline", "rb");
	size_t n, i;

	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = 0;
	for (i = 0; i < n; i += strlen(buf + i) + 1) {
		if (strcmp(buf + i, "--runtime-dir") == 0 &&
		    i + strlen(buf + i) + 1 < n) {
			snprintf(out, len, "%s", buf + i + strlen(buf + i) + 1);
			return 0;
		}
	}
	return -1;
}

static int garbage_dial(void)
{
	char dir[4096], url[4200];

	if (runtime_dir(dir, sizeof(dir)) < 0 || nng_req0_open(&g_sock) != 0)
		return -1;
	snprintf(url, sizeof(url), "ipc://%s/node.ipc", dir);
	return nng_dial(g_sock, url, NULL, 0) != 0 ? -1 : 0;
}

static bool garbage_on_exit(struct pctx *c)
{
	const char *v = c->svc->config_get(c->h, "plug_p2p.garbage_on");

	return v && !strcmp(v, "exit");
}

static void start_garbage(struct pctx *c)
{
	struct hathor_timer *t;

	if (garbage_on_exit(c) || garbage_dial() < 0)
		return;
	t = c->svc->timer_new(c->h, garbage_cb, c);
	if (t)
		c->svc->timer_set(c->h, t, 0.1, 0.1);
}

static void exit_garbage(struct pctx *c)
{
	if (!garbage_on_exit(c) || garbage_dial() < 0)
		return;
	/* Messages 0..2 of garbage_cb: none of them oversize. */
	for (g_n = 0; g_n < 3;) {
		garbage_cb(c);
		nng_msleep(50);
	}
	nng_msleep(200);
	nng_close(g_sock);
}
#endif

static int p_start(void *ctx, char *err, size_t errlen)
{
	struct pctx *c = ctx;
	const char *hang = c->svc->config_get(c->h, "plug_p2p.hang_calls");

	op(c, "start");
	c->running = true;
#ifdef PLUG_GARBAGE
	start_garbage(c);
	return 0;
#endif
#ifdef PLUG_CRASH_AFTER
	{
		struct hathor_timer *t = c->svc->timer_new(c->h, crash_cb, c);

		if (t)
			c->svc->timer_set(c->h, t, PLUG_CRASH_AFTER, 0);
		return 0;
	}
#endif
	if (hang && !strcmp(hang, "1")) {
		struct slot *s;
		uint8_t h1[32];

		H(h1, 1);
		c->n = c->done = 0;
		s = slot(c, "hold");
		started(s, c->svc->node->vertex_exists(c->h, h1, cb_bool, s));
		return 0;
	}
	run_script(c);
	return 0;
}

static int p_stop(void *ctx, char *err, size_t errlen)
{
	struct pctx *c = ctx;

	op(c, "stop");
	c->running = false;
	return 0;
}

static void json_str(char *out, size_t cap, size_t *l, const char *s)
{
	*l += (size_t)snprintf(out + *l, *l < cap ? cap - *l : 0, "\"");
	for (; *s && *l + 2 < cap; s++)
		if (*s != '"' && *s != '\\')
			out[(*l)++] = *s;
	out[*l] = 0;
	*l += (size_t)snprintf(out + *l, *l < cap ? cap - *l : 0, "\"");
}

static int p_get_connections(void *ctx, hathor_text_cb out, void *out_arg,
			     char *err, size_t errlen)
{
	struct pctx *c = ctx;
	static char buf[16384];
	size_t l = 0;
	int i;

	l += (size_t)snprintf(buf + l, sizeof(buf) - l, "{\"done\":%d,"
			      "\"total\":%d,\"in_flight\":%d,\"r\":{",
			      c->done, c->n, c->in_flight);
	for (i = 0; i < c->n && l < sizeof(buf) - 400; i++) {
		if (i)
			buf[l++] = ',';
		json_str(buf, sizeof(buf), &l, c->s[i].name);
		buf[l++] = ':';
		json_str(buf, sizeof(buf), &l, c->s[i].done ? c->s[i].text :
			 "pending");
	}
	l += (size_t)snprintf(buf + l, sizeof(buf) - l, "},\"events\":");
	json_str(buf, sizeof(buf), &l, c->events);
	l += (size_t)snprintf(buf + l, sizeof(buf) - l, ",\"resyncs\":%u,"
			      "\"ops\":", c->resyncs);
	json_str(buf, sizeof(buf), &l, c->ops);
	l += (size_t)snprintf(buf + l, sizeof(buf) - l, "}");
	out(out_arg, buf, l);
	return 0;
}

static int p_simple(struct pctx *c, const char *name, char *err,
		    size_t errlen)
{
	op(c, name);
	return 0;
}

static int p_localhost(void *ctx, char *err, size_t errlen)
{
	return p_simple(ctx, "enable_localhost_only", err, errlen);
}

static bool p_synced(void *ctx)
{
	struct pctx *c = ctx;

	op(c, "has_synced_peer");
	return c->running;
}

static int p_send_tx(void *ctx, const uint8_t *b, size_t len, char *err,
		     size_t errlen)
{
	struct pctx *c = ctx;
	char name[64];

	snprintf(name, sizeof(name), "send_tx_to_peers:%zu:%u", len,
		 len ? b[0] : 0);
	return p_simple(c, name, err, errlen);
}

static int p_reload(void *ctx, size_t n, const char *const *eps, char *err,
		    size_t errlen)
{
	struct pctx *c = ctx;
	char name[128];

	snprintf(name, sizeof(name), "reload:%zu:%s", n, n ? eps[0] : "");
	return p_simple(c, name, err, errlen);
}

static int p_sync_version(void *ctx, const char *v, char *err, size_t errlen)
{
	struct pctx *c = ctx;

	if (strcmp(v, "v2") != 0) {
		snprintf(err, errlen, "sync version '%s' not supported", v);
		return HATHOR_EUNSUPPORTED;
	}
	return p_simple(c, "enable_sync_version:v2", err, errlen);
}

static int p_discovery(void *ctx, size_t n, const char *const *peers,
		       char *err, size_t errlen)
{
	struct pctx *c = ctx;
	char name[128];

	snprintf(name, sizeof(name), "discovery:%zu:%s", n, n ? peers[0] : "");
	return p_simple(c, name, err, errlen);
}

static int p_listen(void *ctx, const char *addr, uint16_t *port, char *err,
		    size_t errlen)
{
	struct pctx *c = ctx;
	char name[128];

	*port = 40404;
	snprintf(name, sizeof(name), "listen:%s", addr);
	return p_simple(c, name, err, errlen);
}

static int p_disconnect(void *ctx, bool force, char *err, size_t errlen)
{
	struct pctx *c = ctx;

	return p_simple(c, force ? "disconnect:force" : "disconnect", err,
			errlen);
}

static void p_status(void *ctx, struct hathor_p2p_status *st)
{
	struct pctx *c = ctx;

	st->running = c->running;
	st->ready_peers = 3;
	snprintf(st->peer_id, sizeof(st->peer_id), "abcd");
}

static void p_event(void *ctx, const struct hathor_event *ev)
{
	struct pctx *c = ctx;
	size_t l = strlen(c->events);

	if (ev->type == HATHOR_EV_RESYNC) {
		c->resyncs++;
		snprintf(c->events + l, sizeof(c->events) - l, "R,");
		return;
	}
	snprintf(c->events + l, sizeof(c->events) - l, "%" PRIu64 ",",
		 ev->seq);
}

static const struct hathor_p2p_ops p_ops = {
	.size = sizeof(struct hathor_p2p_ops),
	.start = p_start,
	.stop = p_stop,
	.get_connections = p_get_connections,
	.enable_localhost_only = p_localhost,
	.has_synced_peer = p_synced,
	.send_tx_to_peers = p_send_tx,
	.reload_entrypoints_and_connections = p_reload,
	.enable_sync_version = p_sync_version,
	.add_peer_discovery = p_discovery,
	.add_listen_address_description = p_listen,
	.disconnect_all_peers = p_disconnect,
	.status = p_status,
	.on_event = p_event,
};

static int pl_init(struct hathor_host *h, const struct hathor_services *svc,
		   void **ctx, char *err, size_t errlen)
{
	struct pctx *c;

#ifdef PLUG_INIT_FAILS
	/* plug_p2p_initfail.so: a build that loads but cannot initialise;
	 * the timer it registered first must be removed by the host. */
	svc->timer_new(h, (hathor_timer_cb)abort, NULL);
	snprintf(err, errlen, "cannot open the frobnicator");
	return HATHOR_EIO;
#endif
#ifdef PLUG_CRASH_INIT
	/* The build that crashes in init (plug_p2p_crash_init.so): a
	 * segfault, without a core file. */
	struct rlimit no_core = { 0, 0 };

	setrlimit(RLIMIT_CORE, &no_core);
	raise(SIGSEGV);
#endif
	c = calloc(1, sizeof(*c));
	if (!c)
		return HATHOR_ENOMEM;
	if (!svc->node) {
		free(c);
		snprintf(err, errlen, "no node service");
		return HATHOR_EINVAL;
	}
	c->h = h;
	c->svc = svc;
	*ctx = c;
	return 0;
}

static int pl_start(void *ctx, char *err, size_t errlen)
{
	return 0;
}

static void pl_destroy(void *ctx)
{
#ifdef PLUG_GARBAGE
	exit_garbage(ctx);
#endif
	free(ctx);
}

HATHOR_PLUGIN_OPS(plug_p2p, HATHOR_KIND_P2P, "1.0.0", pl_init, pl_start,
		  NULL, pl_destroy, &p_ops);
