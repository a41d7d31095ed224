/*
 * p2p_plugin.c: the p2p_sync_v2 plugin entry (plugin_api/ hathor/plugin.h,
 * hathor/p2p.h): the descriptor, the lifecycle and the p2p handlers mapped
 * onto the engine (p2p.h, p2p_cmd.h), and an adapter from the host's
 * services table to the engine's struct p2p_env.
 *
 * Lifecycle: init reads the configuration (README.md), creates the engine
 * (identity, TLS context), adopts the listening socket and registers the
 * bootstrap peers; start only checks that; the core's "start" command
 * (ops->start) begins accepting and dialing.  stop stops the engine;
 * destroy frees it.  The host completes every node call still pending
 * before destroy, so the engine never sees a callback after p2p_free.
 *
 * Node calls: each engine call becomes one ABI call with a small closure
 * (struct pcall) that converts the result types back.  Batches larger than
 * HATHOR_NODE_MAX_BATCH are refused with HATHOR_ERANGE (the engine's
 * batches are far smaller).
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hathor/node.h"
#include "hathor/p2p.h"
#include "hathor/plugin.h"
#include "hn/err.h"
#include "hn/network.h"
#include "p2p.h"
#include "p2p_cmd.h"
#include "p2p_int.h"

struct plug {
	struct hathor_host *h;
	const struct hathor_services *svc;
	const struct hathor_node_ops *node;
	struct p2p_env env;
	struct p2p_node_ops nops;
	struct p2p *p;
	bool running;           /* between the start and stop commands */
	char **eps;             /* configured entrypoints (owned) */
	size_t n_eps;
	/* metrics (docs/metrics.md "Metrics of the P2P plugin"), updated
	 * every second by mtimer */
	struct hathor_timer *mtimer;
	struct hathor_metric *m_best_known, *m_synced, *m_known;
	struct hathor_metric *m_msgs[2], *m_bytes[2];   /* [sent] */
	uint64_t best_known;
	uint64_t pub_msgs[2], pub_bytes[2];             /* published */
};

/* --- helpers ----------------------------------------------------------- */

static int seterr(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int seterr(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static bool cfg_bool(const char *v)
{
	return v && (!strcmp(v, "1") || !strcmp(v, "true") ||
		     !strcmp(v, "yes") || !strcmp(v, "on"));
}

/* Appends every comma-separated item of every value of @key to *@list. */
static int cfg_list(struct plug *g, const char *key, char ***list, size_t *n)
{
	const char *v;
	size_t i;

	for (i = 0; (v = g->svc->config_get_n(g->h, key, i)); i++) {
		const char *s = v;

		while (*s) {
			const char *e = strchr(s, ',');
			size_t len = e ? (size_t)(e - s) : strlen(s);
			char **nl;

			while (len && (*s == ' ' || *s == '\t')) {
				s++;
				len--;
			}
			while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
				len--;
			if (len) {
				nl = realloc(*list, (*n + 2) * sizeof(char *));
				if (!nl)
					return HN_ENOMEM;
				*list = nl;
				nl[*n] = strndup(s, len);
				if (!nl[*n])
					return HN_ENOMEM;
				nl[++*n] = NULL;
			}
			if (!e)
				break;
			s = e + 1;
		}
	}
	return 0;
}

static void free_list(char **l, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(l[i]);
	free(l);
}

/* --- env: loop and log ------------------------------------------------- */

/* The engine's p2p_io / p2p_timer are the host's objects under another
 * name; the event bits and callback types are identical. */
static struct p2p_io *e_io_new(void *ctx, int fd, p2p_io_cb cb, void *arg)
{
	struct plug *g = ctx;

	return (struct p2p_io *)g->svc->io_new(g->h, fd, cb, arg);
}

static void e_io_set(void *ctx, struct p2p_io *io, int events)
{
	struct plug *g = ctx;
	int ev = 0;

	if (events & P2P_IO_READ)
		ev |= HATHOR_IO_READ;
	if (events & P2P_IO_WRITE)
		ev |= HATHOR_IO_WRITE;
	g->svc->io_set(g->h, (struct hathor_io *)io, ev);
}

static void e_io_free(void *ctx, struct p2p_io *io)
{
	struct plug *g = ctx;

	g->svc->io_free(g->h, (struct hathor_io *)io);
}

static struct p2p_timer *e_timer_new(void *ctx, p2p_timer_cb cb, void *arg)
{
	struct plug *g = ctx;

	return (struct p2p_timer *)g->svc->timer_new(g->h, cb, arg);
}

static void e_timer_set(void *ctx, struct p2p_timer *t, double after,
			double repeat)
{
	struct plug *g = ctx;

	g->svc->timer_set(g->h, (struct hathor_timer *)t, after, repeat);
}

static void e_timer_stop(void *ctx, struct p2p_timer *t)
{
	struct plug *g = ctx;

	g->svc->timer_stop(g->h, (struct hathor_timer *)t);
}

static void e_timer_free(void *ctx, struct p2p_timer *t)
{
	struct plug *g = ctx;

	g->svc->timer_free(g->h, (struct hathor_timer *)t);
}

static double e_now(void *ctx)
{
	struct plug *g = ctx;

	return g->svc->now(g->h);
}

static enum hathor_log_level lvl_map(enum p2p_log_level l)
{
	switch (l) {
	case P2P_LOG_ERROR:
		return HATHOR_LOG_ERROR;
	case P2P_LOG_WARN:
		return HATHOR_LOG_WARN;
	case P2P_LOG_INFO:
		return HATHOR_LOG_INFO;
	case P2P_LOG_DEBUG:
		return HATHOR_LOG_DEBUG;
	}
	return HATHOR_LOG_DEBUG;
}

static void e_log(void *ctx, enum p2p_log_level lvl, const char *msg)
{
	struct plug *g = ctx;

	g->svc->log(g->h, lvl_map(lvl), msg);
}

static bool e_log_enabled(void *ctx, enum p2p_log_level lvl)
{
	struct plug *g = ctx;

	return g->svc->log_enabled(g->h, lvl_map(lvl));
}

/* --- env: node service ------------------------------------------------- */

/* One call in flight: the engine's callback and argument. */
struct pcall {
	void *cb;
	void *arg;
	unsigned n;             /* n_height_tips: how many asked */
};

static struct pcall *pcall_new(void *cb, void *arg)
{
	struct pcall *c = malloc(sizeof(*c));

	if (c) {
		c->cb = cb;
		c->arg = arg;
		c->n = 0;
	}
	return c;
}

/* An ABI call returned an error: the callback will not run. */
static int pcall_fail(struct pcall *c, int rc)
{
	free(c);
	return rc;
}

static void best_done(void *arg, int rc, const char *msg,
		      const struct hathor_vinfo *v)
{
	struct pcall *c = arg;
	static const uint8_t zero[32];
	uint64_t height = 0;

	(void)msg;
	if (rc == 0 && (!v || !v->found || v->height < 0))
		rc = HN_EIO;
	if (rc == 0)
		height = (uint64_t)v->height;
	((p2p_best_cb)c->cb)(c->arg, rc, height, rc == 0 ? v->hash : zero);
	free(c);
}

static int n_best_block(void *ctx, p2p_best_cb cb, void *arg)
{
	struct plug *g = ctx;
	struct pcall *c;
	int rc;

	if (!HATHOR_HAS(g->node, get_best_block))
		return HN_EUNSUPPORTED;
	if (!(c = pcall_new((void *)cb, arg)))
		return HN_ENOMEM;
	rc = g->node->get_best_block(g->h, best_done, c);
	return rc < 0 ? pcall_fail(c, rc) : 0;
}

static void heights_done(void *arg, int rc, const char *msg, size_t n,
			 const bool *found, const uint8_t (*hashes)[32])
{
	struct pcall *c = arg;

	(void)msg;
	((p2p_hashes_cb)c->cb)(c->arg, rc, rc == 0 ? n : 0, found, hashes);
	free(c);
}

static int n_height_hashes(void *ctx, const uint64_t *heights, size_t n,
			   p2p_hashes_cb cb, void *arg)
{
	struct plug *g = ctx;
	struct pcall *c;
	int rc;

	if (!HATHOR_HAS(g->node, height_index_get_many))
		return HN_EUNSUPPORTED;
	if (n > HATHOR_NODE_MAX_BATCH)
		return HN_ERANGE;
	if (!(c = pcall_new((void *)cb, arg)))
		return HN_ENOMEM;
	rc = g->node->height_index_get_many(g->h, n, heights, heights_done,
					    c);
	return rc < 0 ? pcall_fail(c, rc) : 0;
}

static void vinfo_conv(const struct hathor_vinfo *in, struct p2p_vinfo *out)
{
	memset(out, 0, sizeof(*out));
	out->found = in->found;
	if (!in->found)
		return;
	memcpy(out->hash, in->hash, 32);
	out->bytes = in->bytes;
	out->len = in->len;
	out->is_block = in->is_block;
	out->voided = in->voided;
	out->fully_valid = in->fully_valid;
	out->height = in->height;
	out->has_first_block = in->has_first_block;
	memcpy(out->first_block, in->first_block, 32);
	out->first_block_height = in->first_block_height;
}

static void vertices_done(void *arg, int rc, const char *msg, size_t n,
			  const struct hathor_vinfo *v)
{
	struct pcall *c = arg;
	struct p2p_vinfo *out = NULL;
	size_t i;

	(void)msg;
	if (rc == 0) {
		out = calloc(n ? n : 1, sizeof(*out));
		if (!out)
			rc = HN_ENOMEM;
	}
	for (i = 0; rc == 0 && i < n; i++)
		vinfo_conv(&v[i], &out[i]);
	((p2p_vinfo_cb)c->cb)(c->arg, rc, rc == 0 ? n : 0, out);
	free(out);
	free(c);
}

static int n_get_vertices(void *ctx, const uint8_t (*hashes)[32], size_t n,
			  p2p_vinfo_cb cb, void *arg)
{
	struct plug *g = ctx;
	struct pcall *c;
	int rc;

	if (!HATHOR_HAS(g->node, get_vertices))
		return HN_EUNSUPPORTED;
	if (n > HATHOR_NODE_MAX_BATCH)
		return HN_ERANGE;
	if (!(c = pcall_new((void *)cb, arg)))
		return HN_ENOMEM;
	rc = g->node->get_vertices(g->h, n, hashes, vertices_done, c);
	return rc < 0 ? pcall_fail(c, rc) : 0;
}

static void exists_done(void *arg, int rc, const char *msg, size_t n,
			const bool *values)
{
	struct pcall *c = arg;

	(void)msg;
	((p2p_flags_cb)c->cb)(c->arg, rc, rc == 0 ? n : 0, values);
	free(c);
}

/* "Stored and fully valid" (vertex_exists_many), as the reference's
 * sync-v2 asks tx_storage.transaction_exists. */
static int n_exists(void *ctx, const uint8_t (*hashes)[32], size_t n,
		    p2p_flags_cb cb, void *arg)
{
	struct plug *g = ctx;
	struct pcall *c;
	int rc;

	if (!HATHOR_HAS(g->node, vertex_exists_many))
		return HN_EUNSUPPORTED;
	if (n > HATHOR_NODE_MAX_BATCH)
		return HN_ERANGE;
	if (!(c = pcall_new((void *)cb, arg)))
		return HN_ENOMEM;
	rc = g->node->vertex_exists_many(g->h, n, hashes, exists_done, c);
	return rc < 0 ? pcall_fail(c, rc) : 0;
}

static void add_done(void *arg, int rc, const char *msg, size_t n,
		     const struct hathor_add_result *res)
{
	struct pcall *c = arg;
	enum p2p_add_result *out = NULL;
	const char *why = NULL;
	size_t i;

	if (rc == 0) {
		out = calloc(n ? n : 1, sizeof(*out));
		if (!out)
			rc = HN_ENOMEM;
	}
	for (i = 0; rc == 0 && i < n; i++) {
		uint32_t st = res[i].status;

		if (st == HATHOR_ADD_ACCEPTED) {
			out[i] = P2P_ADD_ACCEPTED;
		} else if (st == HATHOR_ADD_KNOWN) {
			out[i] = P2P_ADD_KNOWN;
		} else if (st == HATHOR_ADD_MISSING_DEPS) {
			out[i] = P2P_ADD_MISSING_DEPS;
			why = res[i].msg;
		} else if (st == HATHOR_ADD_INVALID) {
			out[i] = P2P_ADD_INVALID;
			why = res[i].msg;
		} else {
			/* HATHOR_ADD_FAILED (or a status this build does
			 * not know): the node failed, not the vertex; the
			 * engine treats it like a lost link. */
			rc = res[i].code < 0 ? res[i].code : HN_EIO;
			msg = res[i].msg;
		}
	}
	((p2p_add_cb)c->cb)(c->arg, rc, rc == 0 ? n : 0, out,
			    rc == 0 ? why : msg);
	free(out);
	free(c);
}

static enum hathor_origin origin_of(enum p2p_add_kind k)
{
	switch (k) {
	case P2P_ADD_SYNC:
		return HATHOR_ORIGIN_BLOCK;
	case P2P_ADD_MEMPOOL:
		return HATHOR_ORIGIN_MEMPOOL;
	case P2P_ADD_RELAY:
		return HATHOR_ORIGIN_RELAYED;
	}
	return HATHOR_ORIGIN_VERTEX;
}

/* Vertices in order, dependencies first (a block after its transactions),
 * one commit: on_new_vertices with the origin telling the node which
 * VertexHandler entry point the reference would use. */
static int n_add_vertices(void *ctx, enum p2p_add_kind kind, size_t n,
			  const uint8_t *const *bytes, const size_t *lens,
			  p2p_add_cb cb, void *arg)
{
	struct plug *g = ctx;
	struct pcall *c;
	int rc;

	if (n == 0)
		return HN_EINVAL;
	if (n > HATHOR_NODE_MAX_BATCH)
		return HN_ERANGE;
	if (!(c = pcall_new((void *)cb, arg)))
		return HN_ENOMEM;
	if (HATHOR_HAS(g->node, on_new_vertices))
		rc = g->node->on_new_vertices(g->h, origin_of(kind), n, bytes,
					      lens, add_done, c);
	else if (n == 1 && HATHOR_HAS(g->node, on_new_vertex))
		rc = g->node->on_new_vertex(g->h, origin_of(kind), bytes[0],
					    lens[0], add_done, c);
	else
		rc = HN_EUNSUPPORTED;
	return rc < 0 ? pcall_fail(c, rc) : 0;
}

static void tips_done(void *arg, int rc, const char *msg, size_t n,
		      const uint8_t (*hashes)[32])
{
	struct pcall *c = arg;
	bool *found = NULL;
	size_t i;

	(void)msg;
	if (rc == 0) {
		found = malloc((n ? n : 1) * sizeof(bool));
		if (!found)
			rc = HN_ENOMEM;
	}
	for (i = 0; rc == 0 && i < n; i++)
		found[i] = true;
	((p2p_hashes_cb)c->cb)(c->arg, rc, rc == 0 ? n : 0, found, hashes);
	free(found);
	free(c);
}

static int n_mempool_tips(void *ctx, p2p_hashes_cb cb, void *arg)
{
	struct plug *g = ctx;
	struct pcall *c;
	int rc;

	if (!HATHOR_HAS(g->node, get_mempool_tips))
		return HN_EUNSUPPORTED;
	if (!(c = pcall_new((void *)cb, arg)))
		return HN_ENOMEM;
	rc = g->node->get_mempool_tips(g->h, tips_done, c);
	return rc < 0 ? pcall_fail(c, rc) : 0;
}

static void htips_done(void *arg, int rc, const char *msg, size_t n,
		       const struct hathor_height_info *tips)
{
	struct pcall *c = arg;
	uint64_t *heights = NULL;
	uint8_t (*hashes)[32] = NULL;
	size_t i;

	(void)msg;
	if (rc == 0 && n > c->n)
		n = c->n;
	if (rc == 0) {
		heights = malloc((n ? n : 1) * sizeof(*heights));
		hashes = malloc((n ? n : 1) * 32);
		if (!heights || !hashes)
			rc = HN_ENOMEM;
	}
	for (i = 0; rc == 0 && i < n; i++) {
		heights[i] = tips[i].height;
		memcpy(hashes[i], tips[i].hash, 32);
	}
	((p2p_htips_cb)c->cb)(c->arg, rc, rc == 0 ? n : 0, heights,
			      (const uint8_t (*)[32])hashes);
	free(heights);
	free(hashes);
	free(c);
}

static int n_n_height_tips(void *ctx, unsigned n, p2p_htips_cb cb, void *arg)
{
	struct plug *g = ctx;
	struct pcall *c;
	int rc;

	if (!HATHOR_HAS(g->node, get_n_height_tips))
		return HN_EUNSUPPORTED;
	if (n == 0 || n > HATHOR_NODE_MAX_HEIGHT_TIPS)
		return HN_ERANGE;
	if (!(c = pcall_new((void *)cb, arg)))
		return HN_ENOMEM;
	c->n = n;
	rc = g->node->get_n_height_tips(g->h, n, htips_done, c);
	return rc < 0 ? pcall_fail(c, rc) : 0;
}

/* --- lifecycle --------------------------------------------------------- */

static void plug_free(struct plug *g)
{
	if (!g)
		return;
	p2p_free(g->p);
	free_list(g->eps, g->n_eps);
	free(g);
}

static int parse_uint(const char *v, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long x;

	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || x > max)
		return HN_EINVAL;
	*out = x;
	return 0;
}

static int p_init(struct hathor_host *h, const struct hathor_services *svc,
		  void **ctx, char *err, size_t errlen)
{
	struct p2p_config cfg = { 0 };
	const struct hn_network *net;
	const char *v, *data_dir;
	char ident[4096];
	char **boot = NULL, **dns = NULL;
	size_t n_boot = 0, n_dns = 0, i;
	unsigned long x;
	struct plug *g;
	int rc;

	if (!HATHOR_HAS(svc, config_get_n) || !HATHOR_HAS(svc, io_new) ||
	    !HATHOR_HAS(svc, timer_new) || !HATHOR_HAS(svc, log))
		return seterr(err, errlen, HATHOR_EABI, "the host's services "
			      "table lacks loop, log or config functions");
	if (!HATHOR_HAS(svc, node))
		return seterr(err, errlen, HATHOR_EINVAL, "no node service "
			      "(a p2p plugin needs one)");
	v = svc->config_get(h, "network");
	if (!v)
		return seterr(err, errlen, HATHOR_EINVAL, "config 'network' "
			      "is required");
	net = hn_network_by_name(v);
	if (!net)
		return seterr(err, errlen, HATHOR_EINVAL, "unknown network "
			      "'%s'", v);
	g = calloc(1, sizeof(*g));
	if (!g)
		return seterr(err, errlen, HATHOR_ENOMEM, "out of memory");
	g->h = h;
	g->svc = svc;
	g->node = svc->node;
	g->nops = (struct p2p_node_ops){
		.best_block = n_best_block,
		.height_hashes = n_height_hashes,
		.get_vertices = n_get_vertices,
		.exists = n_exists,
		.add_vertices = n_add_vertices,
		.mempool_tips = n_mempool_tips,
		.n_height_tips = n_n_height_tips,
	};
	g->env = (struct p2p_env){
		.ctx = g,
		.io_new = e_io_new,
		.io_set = e_io_set,
		.io_free = e_io_free,
		.timer_new = e_timer_new,
		.timer_set = e_timer_set,
		.timer_stop = e_timer_stop,
		.timer_free = e_timer_free,
		.now = e_now,
		.log = e_log,
		.log_enabled = e_log_enabled,
		.node = &g->nops,
	};

	cfg.net = net;
	cfg.use_tls = !cfg_bool(svc->config_get(h, "p2p.no_tls"));
	cfg.discover = cfg_bool(svc->config_get(h, "p2p.discover"));
	cfg.localhost_only = cfg_bool(svc->config_get(h,
						      "p2p.localhost_only"));
	if ((v = svc->config_get(h, "p2p.max_peers"))) {
		if (parse_uint(v, 100000, &x) < 0 || x == 0) {
			rc = seterr(err, errlen, HATHOR_EINVAL, "config "
				    "'p2p.max_peers' must be a positive "
				    "integer, not '%s'", v);
			goto fail;
		}
		cfg.max_connections = (unsigned)x;
	}
	v = svc->config_get(h, "p2p.identity");
	data_dir = svc->config_get(h, "data_dir");
	if (!v && data_dir) {
		snprintf(ident, sizeof(ident), "%s/peer_id.json", data_dir);
		v = ident;
	}
	cfg.identity_path = v;  /* NULL: an ephemeral key */
	if ((rc = cfg_list(g, "p2p.entrypoints", &g->eps, &g->n_eps)) < 0 ||
	    (rc = cfg_list(g, "p2p.bootstrap", &boot, &n_boot)) < 0 ||
	    (rc = cfg_list(g, "p2p.dns", &dns, &n_dns)) < 0) {
		seterr(err, errlen, rc, "out of memory");
		goto fail;
	}
	cfg.dns_server = svc->config_get(h, "p2p.dns_server");
	cfg.n_entrypoints = g->n_eps;
	cfg.entrypoints = (const char *const *)g->eps;
	rc = p2p_new(&g->env, &cfg, &g->p, err, errlen);
	if (rc < 0)
		goto fail;
	for (i = 0; i < n_dns; i++) {
		if (p2p_add_dns_seed(g->p, dns[i]) < 0) {
			rc = seterr(err, errlen, HATHOR_EINVAL, "config "
				    "'p2p.dns': cannot look up DNS seed '%s'",
				    dns[i]);
			goto fail;
		}
	}
	for (i = 0; i < n_boot; i++) {
		if (p2p_add_peer(g->p, boot[i]) < 0) {
			rc = seterr(err, errlen, HATHOR_EINVAL, "config "
				    "'p2p.bootstrap': invalid peer '%s' (want "
				    "HOST:PORT or tcp://HOST:PORT[/?id=ID])",
				    boot[i]);
			goto fail;
		}
	}
	if ((v = svc->config_get(h, "p2p.listen_fd"))) {
		if (parse_uint(v, INT_MAX, &x) < 0) {
			rc = seterr(err, errlen, HATHOR_EINVAL, "config "
				    "'p2p.listen_fd' must be a file "
				    "descriptor number, not '%s'", v);
			goto fail;
		}
		/* The socket stays the host's (take = false): the core
		 * keeps it open across host generations. */
		rc = p2p_listen_fd(g->p, (int)x, false);
		if (rc < 0) {
			seterr(err, errlen, rc, "cannot use listening fd %lu: "
			       "%s", x, hn_strerror(rc));
			goto fail;
		}
	}
	free_list(boot, n_boot);
	free_list(dns, n_dns);
	*ctx = g;
	return 0;
fail:
	free_list(boot, n_boot);
	free_list(dns, n_dns);
	plug_free(g);
	return rc;
}

/* Once a second: the best height any peer (or we) showed over sync-v2,
 * whether a peer is synced, how many peers we know. */
static void metrics_tick(void *arg)
{
	struct plug *g = arg;
	const struct p2p_conn *c;
	const struct p2p_known *k;
	uint64_t peer, mine, n = 0;

	for (c = g->p->conns; c; c = c->next) {
		if (!c->sync)
			continue;
		p2p_sync_best_heights(c->sync, &peer, &mine);
		if (peer > g->best_known)
			g->best_known = peer;
		if (mine > g->best_known)
			g->best_known = mine;
	}
	for (k = g->p->known; k; k = k->next)
		n++;
	g->svc->metric_set(g->h, g->m_best_known, (double)g->best_known);
	g->svc->metric_set(g->h, g->m_synced, p2p_has_synced_peer(g->p));
	g->svc->metric_set(g->h, g->m_known, (double)n);
	{
		uint64_t msgs[2] = { g->p->rx_msgs, g->p->tx_msgs };
		uint64_t bytes[2] = { g->p->rx_bytes, g->p->tx_bytes };
		int d;

		for (d = 0; d < 2; d++) {
			g->svc->metric_add(g->h, g->m_msgs[d],
					   (double)(msgs[d] - g->pub_msgs[d]));
			g->svc->metric_add(g->h, g->m_bytes[d],
					   (double)(bytes[d] - g->pub_bytes[d]));
			g->pub_msgs[d] = msgs[d];
			g->pub_bytes[d] = bytes[d];
		}
	}
}

static void metrics_open(struct plug *g)
{
	const struct hathor_services *svc = g->svc;

	if (!HATHOR_HAS(svc, metric_new))
		return;
	g->m_best_known = svc->metric_new(g->h, HATHOR_METRIC_GAUGE,
		"hathor_best_known_block_height", "Highest best-block height "
		"a peer (or this node) showed over sync-v2.", NULL, NULL, 0);
	g->m_synced = svc->metric_new(g->h, HATHOR_METRIC_GAUGE,
		"hathor_synced", "1 while a connected peer is synced with "
		"this node (has_synced_peer), else 0.", NULL, NULL, 0);
	g->m_known = svc->metric_new(g->h, HATHOR_METRIC_GAUGE,
		"hathor_p2p_known_peers", "Peers this node knows of (connected "
		"or not).", NULL, NULL, 0);
	for (int d = 0; d < 2; d++) {
		const char *lab = d ? "direction=\"sent\"" :
				  "direction=\"received\"";

		g->m_msgs[d] = svc->metric_new(g->h, HATHOR_METRIC_COUNTER,
			"hathor_p2p_messages_total", "P2P protocol lines, by "
			"direction (all connections).", lab, NULL, 0);
		g->m_bytes[d] = svc->metric_new(g->h, HATHOR_METRIC_COUNTER,
			"hathor_p2p_message_bytes_total", "P2P protocol line "
			"bytes (before TLS), by direction.", lab, NULL, 0);
		if (!g->m_msgs[d] || !g->m_bytes[d])
			return;
	}
	if (!g->m_best_known || !g->m_synced || !g->m_known)
		return;
	g->mtimer = svc->timer_new(g->h, metrics_tick, g);
	if (g->mtimer)
		svc->timer_set(g->h, g->mtimer, 0, 1.0);
}

static int p_start(void *ctx, char *err, size_t errlen)
{
	struct plug *g = ctx;

	(void)err;
	(void)errlen;
	metrics_open(g);
	hathor_logf(g->svc, g->h, HATHOR_LOG_INFO, "p2p_sync_v2 ready: peer "
		    "id %s", p2p_my_peer_id(g->p));
	return 0;
}

static void p_stop(void *ctx)
{
	struct plug *g = ctx;

	g->running = false;
	if (g->mtimer)
		g->svc->timer_free(g->h, g->mtimer);
	g->mtimer = NULL;
	p2p_stop(g->p);
}

static void p_destroy(void *ctx)
{
	plug_free(ctx);
}

/* --- p2p handlers ------------------------------------------------------ */

/* Runs one p2p_cmd.c command; *@res (may be NULL) gets the result. */
static int run_cmd(struct plug *g, const char *method,
		   struct json_object *params, struct json_object **res,
		   char *err, size_t errlen)
{
	struct json_object *r = NULL;
	int rc = p2p_command(g->p, method, params, &r, err, errlen);

	json_object_put(params);
	if (rc < 0)
		return rc;
	if (res)
		*res = r;
	else
		json_object_put(r);
	return 0;
}

static int h_start(void *ctx, char *err, size_t errlen)
{
	struct plug *g = ctx;
	int rc = run_cmd(g, "start", NULL, NULL, err, errlen);

	if (rc == 0)
		g->running = true;
	return rc;
}

static int h_stop(void *ctx, char *err, size_t errlen)
{
	struct plug *g = ctx;
	int rc = run_cmd(g, "stop", NULL, NULL, err, errlen);

	if (rc == 0)
		g->running = false;
	return rc;
}

static int h_get_connections(void *ctx, hathor_text_cb out, void *out_arg,
			     char *err, size_t errlen)
{
	struct plug *g = ctx;
	struct json_object *r = NULL;
	const char *s;
	size_t len;
	int rc;

	rc = run_cmd(g, "get_connections", NULL, &r, err, errlen);
	if (rc < 0)
		return rc;
	s = json_object_to_json_string_length(r, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE,
					      &len);
	if (!s) {
		json_object_put(r);
		return seterr(err, errlen, HATHOR_ENOMEM, "out of memory");
	}
	out(out_arg, s, len);
	json_object_put(r);
	return 0;
}

static int h_enable_localhost_only(void *ctx, char *err, size_t errlen)
{
	return run_cmd(ctx, "enable_localhost_only", NULL, NULL, err, errlen);
}

static bool h_has_synced_peer(void *ctx)
{
	struct plug *g = ctx;

	return p2p_has_synced_peer(g->p);
}

static int h_send_tx_to_peers(void *ctx, const uint8_t *bytes, size_t len,
			      char *err, size_t errlen)
{
	struct plug *g = ctx;

	if (!bytes || !len)
		return seterr(err, errlen, HATHOR_EINVAL, "no vertex bytes");
	if (p2p_send_tx_to_peers(g->p, bytes, len) < 0)
		return seterr(err, errlen, HATHOR_EINVAL, "not a valid vertex "
			      "(%zu bytes)", len);
	return 0;
}

static struct json_object *str_array(size_t n, const char *const *s)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; a && i < n; i++)
		json_object_array_add(a, json_object_new_string(s[i] ? s[i] :
								""));
	return a;
}

static int h_reload(void *ctx, size_t n, const char *const *eps, char *err,
		    size_t errlen)
{
	struct plug *g = ctx;
	struct json_object *params = NULL;

	if (n) {
		params = json_object_new_object();
		if (!params)
			return seterr(err, errlen, HATHOR_ENOMEM,
				      "out of memory");
		json_object_object_add(params, "entrypoints",
				       str_array(n, eps));
	}
	return run_cmd(g, "reload_entrypoints_and_connections", params, NULL,
		       err, errlen);
}

static int h_enable_sync_version(void *ctx, const char *version, char *err,
				 size_t errlen)
{
	struct json_object *params = json_object_new_object();

	if (!params)
		return seterr(err, errlen, HATHOR_ENOMEM, "out of memory");
	json_object_object_add(params, "version",
			       json_object_new_string(version ? version : ""));
	return run_cmd(ctx, "enable_sync_version", params, NULL, err, errlen);
}

static int h_add_peer_discovery(void *ctx, size_t n, const char *const *peers,
				char *err, size_t errlen)
{
	struct json_object *params = json_object_new_object();

	if (!params)
		return seterr(err, errlen, HATHOR_ENOMEM, "out of memory");
	json_object_object_add(params, "bootstrap", str_array(n, peers));
	return run_cmd(ctx, "add_peer_discovery", params, NULL, err, errlen);
}

static int h_add_listen(void *ctx, const char *address, uint16_t *port,
			char *err, size_t errlen)
{
	struct json_object *params = json_object_new_object();
	struct json_object *r = NULL, *v;
	int rc;

	if (port)
		*port = 0;
	if (!params)
		return seterr(err, errlen, HATHOR_ENOMEM, "out of memory");
	json_object_object_add(params, "address",
			       json_object_new_string(address ? address : ""));
	rc = run_cmd(ctx, "add_listen_address_description", params, &r, err,
		     errlen);
	if (rc < 0)
		return rc;
	if (port && json_object_object_get_ex(r, "port", &v))
		*port = (uint16_t)json_object_get_int(v);
	json_object_put(r);
	return 0;
}

static int h_disconnect_all(void *ctx, bool force, char *err, size_t errlen)
{
	struct json_object *params = json_object_new_object();

	if (!params)
		return seterr(err, errlen, HATHOR_ENOMEM, "out of memory");
	json_object_object_add(params, "force",
			       json_object_new_boolean(force));
	return run_cmd(ctx, "disconnect_all_peers", params, NULL, err, errlen);
}

static void h_status(void *ctx, struct hathor_p2p_status *st)
{
	struct plug *g = ctx;
	struct hathor_p2p_status s = { 0 };
	const struct p2p_conn *c;

	for (c = g->p->conns; c; c = c->next) {
		switch (c->state) {
		case P2P_CONN_CONNECTING:
			s.connecting_peers++;
			break;
		case P2P_CONN_TLS:
		case P2P_CONN_HELLO:
		case P2P_CONN_PEER_ID:
			s.handshaking_peers++;
			break;
		case P2P_CONN_READY:
			s.ready_peers++;
			break;
		case P2P_CONN_CLOSING:
		case P2P_CONN_CLOSED:
			break;
		}
	}
	s.running = g->running;
	s.synced = p2p_has_synced_peer(g->p);
	snprintf(s.peer_id, sizeof(s.peer_id), "%s", p2p_my_peer_id(g->p));
	/* Copy only what the host's struct has room for. */
	s.size = st->size;
	memcpy(st, &s, st->size < sizeof(s) ? st->size : sizeof(s));
}

static const struct hathor_p2p_ops p2p_ops = {
	.size = sizeof(struct hathor_p2p_ops),
	.start = h_start,
	.stop = h_stop,
	.get_connections = h_get_connections,
	.enable_localhost_only = h_enable_localhost_only,
	.has_synced_peer = h_has_synced_peer,
	.send_tx_to_peers = h_send_tx_to_peers,
	.reload_entrypoints_and_connections = h_reload,
	.enable_sync_version = h_enable_sync_version,
	.add_peer_discovery = h_add_peer_discovery,
	.add_listen_address_description = h_add_listen,
	.disconnect_all_peers = h_disconnect_all,
	.status = h_status,
	.on_event = NULL,
};

HATHOR_PLUGIN_OPS(p2p_sync_v2, HATHOR_KIND_P2P, P2P_VERSION_STR, p_init,
		  p_start, p_stop, p_destroy, &p2p_ops);
