/*
 * core/metrics.c: the core's own metrics (core/metrics.h).
 *
 * Hook-fed families keep one series per label set (a string already in
 * exposition form, k="v",...); the ledger gauges are computed at visit
 * time; metrics reported by another process are kept as copies per source.
 */
#include "metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daa.h"
#include "feature.h"
#include "ledger.h"
#include "hn/err.h"
#include "hn/plugin_load.h"
#include "hn/vertex.h"
#include "store.h"

enum fam_id {
	F_HTTP_REQ,
	F_HTTP_DUR,
	F_IPC_DUR,
	F_IPC_ERR,
	F_VTX_RECV,
	F_VTX_REJ,
	F_HOST_UP,
	F_PEERS,
	F_HOST_RESTART,
	F_RELOADS,
	F_RELOAD_TS,
	F_LOADS,
	F_UNLOADS,
	F_LOCAL_RELAY,
	F_RELAY_IN,
	F_COUNT
};

/* 100 us ... 5 s */
static const double ipc_bounds[] = {
	0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
	0.1, 0.25, 0.5, 1, 2.5, 5,
};
/* 1 ms ... 10 s */
static const double http_bounds[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
};

#define NB(a) (sizeof(a) / sizeof((a)[0]))

struct fam_def {
	const char *name;
	const char *help;
	enum hathor_metric_type type;
	const double *bounds;
	size_t n_bounds;
};

static const struct fam_def fam_defs[F_COUNT] = {
	[F_HTTP_REQ] = { "hathor_http_requests_total",
		"HTTP API requests answered, by route and status code.",
		HATHOR_METRIC_COUNTER, NULL, 0 },
	[F_HTTP_DUR] = { "hathor_http_request_duration_seconds",
		"HTTP API request duration from request to reply, by route.",
		HATHOR_METRIC_HISTOGRAM, http_bounds, NB(http_bounds) },
	[F_IPC_DUR] = { "hathor_ipc_request_duration_seconds",
		"Node-service IPC calls from the P2P host, duration by method.",
		HATHOR_METRIC_HISTOGRAM, ipc_bounds, NB(ipc_bounds) },
	[F_IPC_ERR] = { "hathor_ipc_errors_total",
		"Node-service IPC calls answered with an error, by method.",
		HATHOR_METRIC_COUNTER, NULL, 0 },
	[F_VTX_RECV] = { "hathor_vertices_received_total",
		"Vertices offered to the ledger, by type.",
		HATHOR_METRIC_COUNTER, NULL, 0 },
	[F_VTX_REJ] = { "hathor_vertices_rejected_total",
		"Vertices the ledger refused, by type and reason.",
		HATHOR_METRIC_COUNTER, NULL, 0 },
	[F_HOST_UP] = { "hathor_p2p_host_up",
		"1 while the P2P host process is up and answering, else 0.",
		HATHOR_METRIC_GAUGE, NULL, 0 },
	[F_PEERS] = { "hathor_peers",
		"Peers as the P2P side last reported, by state.",
		HATHOR_METRIC_GAUGE, NULL, 0 },
	[F_HOST_RESTART] = { "hathor_p2p_host_restarts_total",
		"P2P host restarts by the supervisor, by reason.",
		HATHOR_METRIC_COUNTER, NULL, 0 },
	[F_RELOADS] = { "hathor_plugin_reloads_total",
		"Plugin reloads, by plugin and result.",
		HATHOR_METRIC_COUNTER, NULL, 0 },
	[F_RELOAD_TS] = { "hathor_plugin_last_reload_timestamp_seconds",
		"Wall time of the last plugin reload, by plugin.",
		HATHOR_METRIC_GAUGE, NULL, 0 },
	[F_LOADS] = { "hathor_plugin_loads_total",
		"Plugin loads asked for by the admin (plugin load), by plugin "
		"and result.", HATHOR_METRIC_COUNTER, NULL, 0 },
	[F_UNLOADS] = { "hathor_plugin_unloads_total",
		"Plugin unloads asked for by the admin (plugin unload), by "
		"plugin and result.", HATHOR_METRIC_COUNTER, NULL, 0 },
	[F_LOCAL_RELAY] = { "hathor_p2p_local_relays_total",
		"Locally originated vertices (HTTP API) handed to the P2P "
		"plugin for relay, by result.", HATHOR_METRIC_COUNTER, NULL, 0 },
	[F_RELAY_IN] = { "hathor_p2p_relayed_received_total",
		"New vertices stored from a peer's real-time relay (DATA).",
		HATHOR_METRIC_COUNTER, NULL, 0 },
};

struct series {
	char *labels;
	double value;           /* counter / gauge; histogram sum */
	uint64_t count;
	uint64_t *buckets;      /* cumulative */
};

struct fam {
	struct series *s;
	size_t n, cap;
};

struct rep {
	char *source, *name, *help, *labels;
	enum hathor_metric_type type;
	double value;
	uint64_t count;
	size_t n_buckets;
	double *bounds;
	uint64_t *buckets;
};

static struct {
	struct fam fam[F_COUNT];
	struct hn_ledger *ledger;
	char db_path[4096];
	/* The last block the ledger accepted since attach (hathor-core's
	 * Metrics.hash_rate follows NETWORK_NEW_TX_ACCEPTED blocks). */
	uint8_t last_block[32];
	bool have_last_block;
	struct rep *rep;
	size_t n_rep, cap_rep;
	hn_core_metrics_peers_fn peers_fn;
	void *peers_arg;
} g;

/* --- labels --------------------------------------------------------------- */

static size_t put_escaped(char *out, size_t len, size_t at, const char *v)
{
	for (; *v; v++) {
		const char *e = NULL;
		char one[2] = { *v, 0 };

		if (*v == '\\')
			e = "\\\\";
		else if (*v == '"')
			e = "\\\"";
		else if (*v == '\n')
			e = "\\n";
		else
			e = one;
		for (; *e; e++)
			if (at + 1 < len)
				out[at++] = *e;
	}
	return at;
}

/* k1="v1"[,k2="v2"] into @out; a NULL key ends the list early. */
static void make_labels(char *out, size_t len, const char *k1,
			const char *v1, const char *k2, const char *v2)
{
	const char *k[2] = { k1, k2 }, *v[2] = { v1, v2 };
	size_t at = 0;
	int i;

	out[0] = 0;
	for (i = 0; i < 2 && k[i]; i++) {
		int n = snprintf(out + at, len - at, "%s%s=\"",
				 i ? "," : "", k[i]);

		if (n < 0 || (size_t)n >= len - at)
			break;
		at += (size_t)n;
		at = put_escaped(out, len, at, v[i] ? v[i] : "");
		if (at + 1 < len)
			out[at++] = '"';
		out[at] = 0;
	}
}

/* The series of @f for @labels, created if missing; once the family is
 * full, the series whose values are all "other" (@other). */
static struct series *series_get(enum fam_id f, const char *labels,
				 const char *other)
{
	struct fam *fm = &g.fam[f];
	const struct fam_def *d = &fam_defs[f];
	struct series *s;
	size_t i;

	for (i = 0; i < fm->n; i++)
		if (strcmp(fm->s[i].labels, labels) == 0)
			return &fm->s[i];
	if (fm->n >= HN_CORE_METRICS_MAX_SERIES && other &&
	    strcmp(labels, other) != 0)
		return series_get(f, other, NULL);
	if (fm->n == fm->cap) {
		size_t nc = fm->cap ? 2 * fm->cap : 8;
		struct series *ns = realloc(fm->s, nc * sizeof(*ns));

		if (!ns)
			return NULL;
		fm->s = ns;
		fm->cap = nc;
	}
	s = &fm->s[fm->n];
	memset(s, 0, sizeof(*s));
	s->labels = strdup(labels);
	if (!s->labels)
		return NULL;
	if (d->n_bounds) {
		s->buckets = calloc(d->n_bounds, sizeof(*s->buckets));
		if (!s->buckets) {
			free(s->labels);
			return NULL;
		}
	}
	fm->n++;
	return s;
}

/* Up to two labels; @k2 NULL for one, @k1 NULL for none. */
static struct series *get2(enum fam_id f, const char *k1, const char *v1,
			   const char *k2, const char *v2)
{
	char lab[256], other[128];

	make_labels(lab, sizeof(lab), k1, v1, k2, v2);
	make_labels(other, sizeof(other), k1, "other", k2, "other");
	return series_get(f, lab, other);
}

static void observe(struct series *s, enum fam_id f, double v)
{
	const struct fam_def *d = &fam_defs[f];
	size_t i;

	if (!s)
		return;
	s->value += v;
	s->count++;
	for (i = 0; i < d->n_bounds; i++)
		if (v <= d->bounds[i])
			s->buckets[i]++;
}

static void add(struct series *s, double v)
{
	if (s)
		s->value += v;
}

static void set(struct series *s, double v)
{
	if (s)
		s->value = v;
}

/* --- hooks ---------------------------------------------------------------- */

static void on_ledger_event(const struct hn_ledger_event *ev, void *arg)
{
	(void)arg;
	if (ev->type != HN_LEV_VERTEX_ACCEPTED || !ev->is_block)
		return;
	memcpy(g.last_block, ev->hash, 32);
	g.have_last_block = true;
}

void hn_core_metrics_attach_ledger(struct hn_ledger *l, const char *db_path)
{
	if (g.ledger == l && l)
		return;
	if (g.ledger)
		hn_ledger_unsubscribe(g.ledger, on_ledger_event, NULL);
	g.ledger = NULL;
	g.have_last_block = false;
	if (l && hn_ledger_subscribe(l, on_ledger_event, NULL) < 0)
		l = NULL;       /* no memory: no ledger gauges */
	g.ledger = l;
	snprintf(g.db_path, sizeof(g.db_path), "%s",
		 l && db_path ? db_path : "");
}

void hn_core_metrics_http(const char *route, unsigned code, double seconds)
{
	char c[16];

	snprintf(c, sizeof(c), "%u", code);
	add(get2(F_HTTP_REQ, "path", route, "code", c), 1);
	observe(get2(F_HTTP_DUR, "path", route, NULL, NULL), F_HTTP_DUR,
		seconds < 0 ? 0 : seconds);
}

void hn_core_metrics_ipc(const char *method, double seconds, bool error)
{
	observe(get2(F_IPC_DUR, "method", method, NULL, NULL), F_IPC_DUR,
		seconds < 0 ? 0 : seconds);
	if (error)
		add(get2(F_IPC_ERR, "method", method, NULL, NULL), 1);
}

void hn_core_metrics_vertex(const char *type, const char *reason)
{
	add(get2(F_VTX_RECV, "type", type, NULL, NULL), 1);
	if (reason)
		add(get2(F_VTX_REJ, "type", type, "reason", reason), 1);
}

void hn_core_metrics_local_relay(const char *result)
{
	add(get2(F_LOCAL_RELAY, "result", result, NULL, NULL), 1);
}

void hn_core_metrics_relay_in(void)
{
	add(get2(F_RELAY_IN, NULL, NULL, NULL, NULL), 1);
}

void hn_core_metrics_host_up(bool up)
{
	set(get2(F_HOST_UP, NULL, NULL, NULL, NULL), up ? 1 : 0);
}

void hn_core_metrics_peers(unsigned connecting, unsigned handshaking,
			   unsigned ready)
{
	set(get2(F_PEERS, "state", "connecting", NULL, NULL), connecting);
	set(get2(F_PEERS, "state", "handshaking", NULL, NULL), handshaking);
	set(get2(F_PEERS, "state", "ready", NULL, NULL), ready);
}

void hn_core_metrics_peers_source(hn_core_metrics_peers_fn fn, void *arg)
{
	g.peers_fn = fn;
	g.peers_arg = arg;
}

void hn_core_metrics_host_restart(const char *reason)
{
	add(get2(F_HOST_RESTART, "reason", reason, NULL, NULL), 1);
}

void hn_core_metrics_plugin_reload(const char *plugin, const char *result,
				   double now)
{
	add(get2(F_RELOADS, "plugin", plugin, "result", result), 1);
	set(get2(F_RELOAD_TS, "plugin", plugin, NULL, NULL), now);
}

void hn_core_metrics_plugin_load(const char *plugin, const char *result)
{
	add(get2(F_LOADS, "plugin", plugin, "result", result), 1);
}

void hn_core_metrics_plugin_unload(const char *plugin, const char *result)
{
	add(get2(F_UNLOADS, "plugin", plugin, "result", result), 1);
}

/* --- reported by other processes ----------------------------------------- */

static void rep_free(struct rep *r)
{
	free(r->source);
	free(r->name);
	free(r->help);
	free(r->labels);
	free(r->bounds);
	free(r->buckets);
}

void hn_core_metrics_report_clear(const char *source)
{
	size_t i, j = 0;

	for (i = 0; i < g.n_rep; i++) {
		if (strcmp(g.rep[i].source, source) == 0)
			rep_free(&g.rep[i]);
		else
			g.rep[j++] = g.rep[i];
	}
	g.n_rep = j;
}

static bool core_name(const char *name)
{
	static const char *const own[] = {
		"hathor_best_block_height", "hathor_best_block_weight",
		"hathor_hash_rate", "hathor_vertices",
		"hathor_mempool_transactions", "hathor_db_file_size_bytes",
	};
	size_t i;

	for (i = 0; i < F_COUNT; i++)
		if (strcmp(name, fam_defs[i].name) == 0)
			return true;
	for (i = 0; i < NB(own); i++)
		if (strcmp(name, own[i]) == 0)
			return true;
	return false;
}

static bool valid_name(const char *s)
{
	size_t i;

	if (!s || !*s)
		return false;
	for (i = 0; s[i]; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     c == '_' || c == ':';

		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

bool hn_core_metrics_labels_ok(const char *s, bool histogram)
{
	return hn_metric_labels_ok(s, histogram);
}

/* A value another process (or a plugin) handed us makes sense. */
static const char *value_problem(const struct hathor_metric_value *v)
{
	size_t i;

	if (!valid_name(v->name))
		return "bad name";
	if (v->type < HATHOR_METRIC_COUNTER || v->type > HATHOR_METRIC_HISTOGRAM)
		return "bad type";
	if (!hn_core_metrics_labels_ok(v->labels ? v->labels : "",
				       v->type == HATHOR_METRIC_HISTOGRAM))
		return "bad labels";
	if (v->type == HATHOR_METRIC_COUNTER && !(v->value >= 0))
		return "counter negative or NaN";
	if (v->type != HATHOR_METRIC_HISTOGRAM)
		return NULL;
	if (v->n_buckets > 64 ||
	    (v->n_buckets && (!v->bounds || !v->bucket_counts)))
		return "bad buckets";
	for (i = 0; i < v->n_buckets; i++) {
		if (isnan(v->bounds[i]) || (i && !(v->bounds[i] >
						    v->bounds[i - 1])))
			return "bounds not ascending";
		if (i && v->bucket_counts[i] < v->bucket_counts[i - 1])
			return "buckets not cumulative";
	}
	if (v->n_buckets && v->bucket_counts[v->n_buckets - 1] > v->count)
		return "bucket over _count";
	return NULL;
}

const char *hn_core_metrics_check(const struct hathor_metric_value *v)
{
	return value_problem(v);
}

static bool rep_copy(struct rep *r, const char *source,
		     const struct hathor_metric_value *v)
{
	memset(r, 0, sizeof(*r));
	r->source = strdup(source);
	r->name = strdup(v->name);
	r->help = strdup(v->help ? v->help : "");
	r->labels = strdup(v->labels ? v->labels : "");
	r->type = v->type;
	r->value = v->value;
	r->count = v->count;
	if (v->type == HATHOR_METRIC_HISTOGRAM && v->n_buckets) {
		r->n_buckets = v->n_buckets;
		r->bounds = malloc(v->n_buckets * sizeof(*r->bounds));
		r->buckets = malloc(v->n_buckets * sizeof(*r->buckets));
		if (r->bounds && r->buckets) {
			memcpy(r->bounds, v->bounds,
			       v->n_buckets * sizeof(*r->bounds));
			memcpy(r->buckets, v->bucket_counts,
			       v->n_buckets * sizeof(*r->buckets));
		}
	}
	if (!r->source || !r->name || !r->help || !r->labels ||
	    (r->n_buckets && (!r->bounds || !r->buckets))) {
		rep_free(r);
		return false;
	}
	return true;
}

size_t hn_core_metrics_report(const char *source,
			      const struct hathor_metric_value *v, size_t n)
{
	size_t i, kept = 0;

	hn_core_metrics_report_clear(source);
	for (i = 0; i < n; i++) {
		if (value_problem(&v[i]) || core_name(v[i].name))
			continue;
		if (g.n_rep == g.cap_rep) {
			size_t nc = g.cap_rep ? 2 * g.cap_rep : 16;
			struct rep *nr = realloc(g.rep, nc * sizeof(*nr));

			if (!nr)
				break;
			g.rep = nr;
			g.cap_rep = nc;
		}
		if (!rep_copy(&g.rep[g.n_rep], source, &v[i]))
			break;
		g.n_rep++;
		kept++;
	}
	return kept;
}

/* --- visit ---------------------------------------------------------------- */

static void emit_simple(hathor_metric_visit_cb cb, void *arg,
			const char *name, const char *help,
			enum hathor_metric_type type, const char *labels,
			double v)
{
	struct hathor_metric_value mv = {
		.name = name, .help = help, .labels = labels,
		.source = "core", .type = type, .value = v,
	};

	cb(arg, &mv);
}

/* hathor-core's Metrics.calculate_new_hashrate: 2**(weight -
 * log2(avg time between blocks)), with the block's own DAA
 * (DAAFactory.create_from_block: V1 for genesis, else by its parent's
 * REDUCE_DAA_TARGET state) and math.log(x, 2) as log(x) / log(2).  Of the
 * last block accepted since attach, or before any the newest block by
 * timestamp (_start_initial_values: get_newest_blocks(count=1)).
 * Returns 0 or a negative code (nothing to emit). */
static int hash_rate(struct hn_ledger *l, double *out)
{
	struct hn_ledger_vertex lv;
	struct hn_hash_list nb = { 0 };
	struct hn_vertex *v = NULL;
	struct hn_daa_config cfg;
	struct hn_fa *fa;
	uint8_t h[32];
	bool more;
	int rc;

	if (g.have_last_block) {
		memcpy(h, g.last_block, 32);
	} else {
		rc = hn_ledger_newest(l, true, 0, NULL, 1, &nb, &more);
		if (rc == 0 && nb.n == 0)
			rc = HN_ENOENT;
		if (rc == 0)
			memcpy(h, nb.h[0], 32);
		hn_hash_list_release(&nb);
		if (rc < 0)
			return rc;
	}
	if ((rc = hn_ledger_get(l, h, HN_VMETA_CORE, &lv)) < 0)
		return rc;
	hn_daa_config_v1(hn_ledger_network(l), &cfg);
	if (lv.meta.height > 0) {
		rc = hn_vertex_decode(lv.bytes, lv.len, &v, NULL, 0);
		fa = hn_ledger_fa(l);
		if (rc == 0 && (!v->n_parents || !fa))
			rc = HN_EINVAL;
		if (rc == 0)
			rc = hn_fa_daa_config(fa, v->parents[0],
					      lv.meta.height - 1, &cfg, NULL);
		hn_vertex_free(v);
	}
	if (rc == 0)
		*out = pow(2.0, lv.meta.weight - log(cfg.avg_time) / log(2.0));
	hn_ledger_vertex_release(&lv);
	return rc;
}

static void visit_ledger(hathor_metric_visit_cb cb, void *arg)
{
	struct hn_block_info best;
	struct hn_hash_list mp = { 0 };
	uint64_t nb, nt;
	struct stat st;
	char wal[4096 + 8];
	double hr;

	if (!g.ledger)
		return;
	if (hn_ledger_best_block(g.ledger, &best) == 0) {
		emit_simple(cb, arg, "hathor_best_block_height",
			    "Height of the best block.", HATHOR_METRIC_GAUGE,
			    "", (double)best.height);
		emit_simple(cb, arg, "hathor_best_block_weight",
			    "Weight of the best block (log2 of its expected "
			    "hashes).", HATHOR_METRIC_GAUGE, "", best.weight);
	}
	if (hash_rate(g.ledger, &hr) == 0)
		emit_simple(cb, arg, "hathor_hash_rate",
			    "Hash rate (hashes per second) the last block the "
			    "ledger accepted stands for: 2**(weight - "
			    "log2(target seconds between blocks)), "
			    "hathor-core's hash_rate.", HATHOR_METRIC_GAUGE,
			    "", hr);
	if (hn_ledger_counts(g.ledger, &nb, &nt) == 0) {
		emit_simple(cb, arg, "hathor_vertices",
			    "Vertices stored (genesis included), by type.",
			    HATHOR_METRIC_GAUGE, "type=\"block\"", (double)nb);
		emit_simple(cb, arg, "hathor_vertices",
			    "Vertices stored (genesis included), by type.",
			    HATHOR_METRIC_GAUGE, "type=\"tx\"", (double)nt);
	}
	if (hn_ledger_mempool(g.ledger, &mp) == 0)
		emit_simple(cb, arg, "hathor_mempool_transactions",
			    "Transactions in the mempool (not voided, not "
			    "confirmed by a block).", HATHOR_METRIC_GAUGE, "",
			    (double)mp.n);
	hn_hash_list_release(&mp);
	if (!g.db_path[0])
		return;
	if (stat(g.db_path, &st) == 0)
		emit_simple(cb, arg, "hathor_db_file_size_bytes",
			    "Size of the ledger's sqlite files, by file.",
			    HATHOR_METRIC_GAUGE, "file=\"db\"",
			    (double)st.st_size);
	snprintf(wal, sizeof(wal), "%s-wal", g.db_path);
	if (stat(wal, &st) == 0)
		emit_simple(cb, arg, "hathor_db_file_size_bytes",
			    "Size of the ledger's sqlite files, by file.",
			    HATHOR_METRIC_GAUGE, "file=\"wal\"",
			    (double)st.st_size);
}

void hn_core_metrics_visit(void *arg, hathor_metric_visit_cb cb,
			   void *cb_arg)
{
	size_t f, i;

	(void)arg;
	if (g.peers_fn) {
		unsigned c = 0, h = 0, r = 0;

		if (g.peers_fn(g.peers_arg, &c, &h, &r))
			hn_core_metrics_peers(c, h, r);
	}
	visit_ledger(cb, cb_arg);
	for (f = 0; f < F_COUNT; f++) {
		const struct fam_def *d = &fam_defs[f];

		for (i = 0; i < g.fam[f].n; i++) {
			const struct series *s = &g.fam[f].s[i];
			struct hathor_metric_value mv = {
				.name = d->name, .help = d->help,
				.labels = s->labels, .source = "core",
				.type = d->type, .value = s->value,
				.count = s->count, .n_buckets = d->n_bounds,
				.bounds = d->bounds,
				.bucket_counts = s->buckets,
			};

			cb(cb_arg, &mv);
		}
	}
	for (i = 0; i < g.n_rep; i++) {
		const struct rep *r = &g.rep[i];
		struct hathor_metric_value mv = {
			.name = r->name, .help = r->help, .labels = r->labels,
			.source = r->source, .type = r->type,
			.value = r->value, .count = r->count,
			.n_buckets = r->n_buckets, .bounds = r->bounds,
			.bucket_counts = r->buckets,
		};

		cb(cb_arg, &mv);
	}
}

void hn_core_metrics_reset(void)
{
	size_t f, i;

	for (f = 0; f < F_COUNT; f++) {
		for (i = 0; i < g.fam[f].n; i++) {
			free(g.fam[f].s[i].labels);
			free(g.fam[f].s[i].buckets);
		}
		free(g.fam[f].s);
	}
	for (i = 0; i < g.n_rep; i++)
		rep_free(&g.rep[i]);
	free(g.rep);
	memset(&g, 0, sizeof(g));
}
