/*
 * metrics.c: the metrics plugin (kind "metrics", docs/metrics.md).
 *
 * GET /metrics on its own listener answers with every metric of the
 * loading process (services->metrics_visit: the core's own, the P2P
 * host's as last reported, every plugin's) in the Prometheus text format
 * 0.0.4, plus its own: hathor_build_info, process_* of this process and
 * hathor_metrics_scrapes_total.
 *
 * Exposition rules kept here: one HELP and one TYPE line per family before
 * its samples, a family's samples together (sorted by name, stable), HELP
 * escapes backslash and newline, histograms as cumulative _bucket{le}
 * with le="+Inf" equal to _count, then _sum and _count, "\n" after the
 * last line.  Label strings come from the registry already in the
 * k="v" form with values escaped by whoever registered them.
 *
 * Configuration (ini section [metrics]):
 *   metrics.listen     HOST:PORT (default 127.0.0.1:9101; port 0: any;
 *                      "off": no HTTP listener, the textfile only)
 *   metrics.port_file  if set, the bound port is written there
 *   metrics.textfile   if set (a *.prom path), hathor-core's textfile for
 *                      node_exporter (hathor/prometheus.py): its gauge
 *                      names, from our families, rewritten (temp file +
 *                      rename) at start and every
 *   metrics.textfile_interval  seconds (default 15, hathor-core's
 *                      PROMETHEUS_WRITE_INTERVAL; 0.1 .. 3600)
 *   metrics.textfile_prefix    before every name (its --prometheus-prefix)
 *
 * libmicrohttpd runs in external epoll mode: its epoll fd is watched with
 * the host's io service and its timeout with a host timer, so every
 * request is answered on the host's loop thread (the ABI's rule for
 * metrics_visit).
 */
#include <errno.h>
#include <math.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <microhttpd.h>

#include <hathor/plugin.h>

#include "hn/procstat.h"

#ifndef HN_METRICS_VERSION
#define HN_METRICS_VERSION "0.0.0"
#endif

#define DEFAULT_LISTEN "127.0.0.1:9101"
#define DEFAULT_TEXTFILE_INTERVAL 15.0
#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct mp {
	struct hathor_host *h;
	const struct hathor_services *svc;
	struct MHD_Daemon *mhd;
	struct hathor_io *io;
	struct hathor_timer *timer;
	struct sockaddr_storage ss;
	char listen[128];
	const char *port_file;
	unsigned port;
	struct hathor_metric *scrapes;
	double start_time;
	/* Names of refused values already logged (once each). */
	char *warned[64];
	size_t n_warned;
	uint64_t refused;
	/* The hathor-core textfile (metrics.textfile), or no path. */
	bool http;
	const char *textfile;
	const char *tf_prefix;
	double tf_interval;
	struct hathor_timer *tf_timer;
	int tf_errno;                   /* last write error logged */
};

/* --- a growing text buffer ------------------------------------------------ */

struct buf {
	char *p;
	size_t len, cap;
	bool oom;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->oom)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;

		while (cap < b->len + n + 1)
			cap *= 2;
		p = realloc(b->p, cap);
		if (!p) {
			b->oom = true;
			return;
		}
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void buf_printf(struct buf *b, const char *fmt, ...)
{
	char tmp[512];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	buf_add(b, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* A sample value: integers without exponent, +Inf/-Inf/NaN spelled as
 * Prometheus wants. */
static void buf_value(struct buf *b, double v)
{
	if (isnan(v))
		buf_str(b, "NaN");
	else if (isinf(v))
		buf_str(b, v > 0 ? "+Inf" : "-Inf");
	else if (v == floor(v) && fabs(v) < 1e15)
		buf_printf(b, "%.0f", v);
	else {
		char t[40];
		int prec;

		/* Shortest text that reads back as the same double. */
		for (prec = 15; prec < 17; prec++) {
			snprintf(t, sizeof(t), "%.*g", prec, v);
			if (strtod(t, NULL) == v)
				break;
		}
		if (prec == 17)
			snprintf(t, sizeof(t), "%.17g", v);
		buf_str(b, t);
	}
}

/* HELP text: escape backslash and newline. */
static void buf_help(struct buf *b, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			buf_str(b, "\\\\");
		else if (*s == '\n')
			buf_str(b, "\\n");
		else
			buf_add(b, s, 1);
	}
}

/* --- collection ----------------------------------------------------------- */

/* One metric copied out of the visit (the visit's values are borrowed). */
struct item {
	char *name, *help, *labels;
	enum hathor_metric_type type;
	double value;
	uint64_t count;
	size_t n;
	double *bounds;
	uint64_t *cum;
	size_t order;
};

struct items {
	struct item *v;
	size_t n, cap;
	bool oom;
	struct mp *m;                   /* for the refusal log lines */
};

static void items_free(struct items *it)
{
	size_t i;

	for (i = 0; i < it->n; i++) {
		free(it->v[i].name);
		free(it->v[i].help);
		free(it->v[i].labels);
		free(it->v[i].bounds);
		free(it->v[i].cum);
	}
	free(it->v);
}

static bool name_ok(const char *s, bool label)
{
	size_t i;

	if (!s || !*s)
		return false;
	for (i = 0; s[i]; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     c == '_' || (!label && c == ':');

		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

/* k="v"[,k="v"]... with only \\, \" and \n escapes; "le" is the
 * histogram's own. */
static bool labels_ok(const char *s, bool histogram)
{
	char key[128];

	while (*s) {
		const char *eq = strchr(s, '=');
		size_t n = eq ? (size_t)(eq - s) : 0;

		if (!eq || n >= sizeof(key) || eq[1] != '"')
			return false;
		memcpy(key, s, n);
		key[n] = 0;
		if (!name_ok(key, true) || (key[0] == '_' && key[1] == '_') ||
		    (histogram && strcmp(key, "le") == 0))
			return false;
		for (s = eq + 2; *s && *s != '"'; s++) {
			if (*s == '\n')
				return false;
			if (*s == '\\' && *++s != '\\' && *s != '"' &&
			    *s != 'n')
				return false;
		}
		if (*s++ != '"')
			return false;
		if (*s == ',' && s[1])
			s++;
		else if (*s)
			return false;
	}
	return true;
}

/* What is wrong with a value the registry handed us, or NULL.  The
 * registry checks what plugins register; this keeps a broken source (a
 * misbehaving plugin's visit, another process's report) from breaking the
 * exposition for every other metric. */
static const char *bad_value(const struct hathor_metric_value *mv)
{
	size_t i;

	if (!name_ok(mv->name, false))
		return "invalid metric name";
	if (mv->type < HATHOR_METRIC_COUNTER ||
	    mv->type > HATHOR_METRIC_HISTOGRAM)
		return "unknown metric type";
	if (!labels_ok(mv->labels ? mv->labels : "",
		       mv->type == HATHOR_METRIC_HISTOGRAM))
		return "malformed labels";
	if (mv->type == HATHOR_METRIC_COUNTER && !(mv->value >= 0))
		return "counter value negative or NaN";
	if (mv->type != HATHOR_METRIC_HISTOGRAM)
		return NULL;
	if (mv->n_buckets > 1000 ||
	    (mv->n_buckets && (!mv->bounds || !mv->bucket_counts)))
		return "histogram without bounds or buckets";
	for (i = 0; i < mv->n_buckets; i++) {
		if (isnan(mv->bounds[i]) || isinf(mv->bounds[i]) ||
		    (i && !(mv->bounds[i] > mv->bounds[i - 1])))
			return "histogram bounds not ascending";
		if (i && mv->bucket_counts[i] < mv->bucket_counts[i - 1])
			return "histogram buckets not cumulative";
	}
	if (mv->n_buckets && mv->bucket_counts[mv->n_buckets - 1] > mv->count)
		return "histogram bucket above _count";
	return NULL;
}

/* One log line per refused name (the first 64 names; later ones are only
 * counted). */
static void refuse(struct mp *m, const struct hathor_metric_value *mv,
		   const char *why)
{
	const char *name = mv->name && *mv->name ? mv->name : "(none)";
	char safe[96];
	size_t i;

	m->refused++;
	for (i = 0; i < m->n_warned; i++)
		if (strcmp(m->warned[i], name) == 0)
			return;
	if (m->n_warned == sizeof(m->warned) / sizeof(m->warned[0]))
		return;
	if (!(m->warned[m->n_warned] = strdup(name)))
		return;
	m->n_warned++;
	/* the name may be garbage itself: printable ASCII only */
	for (i = 0; name[i] && i < sizeof(safe) - 1; i++)
		safe[i] = name[i] > 32 && name[i] < 127 ? name[i] : '?';
	safe[i] = 0;
	hathor_logf(m->svc, m->h, HATHOR_LOG_WARN, "refusing metric '%s' "
		    "from %s: %s (left out of /metrics; logged once)", safe,
		    mv->source ? mv->source : "?", why);
}

static void collect(void *arg, const struct hathor_metric_value *mv)
{
	struct items *it = arg;
	struct item *x;
	const char *why;

	if (it->oom)
		return;
	if ((why = bad_value(mv))) {
		if (it->m)
			refuse(it->m, mv, why);
		return;
	}
	if (it->n == it->cap) {
		size_t cap = it->cap ? it->cap * 2 : 64;
		struct item *v = realloc(it->v, cap * sizeof(*v));

		if (!v) {
			it->oom = true;
			return;
		}
		it->v = v;
		it->cap = cap;
	}
	x = &it->v[it->n];
	memset(x, 0, sizeof(*x));
	x->name = strdup(mv->name);
	x->help = strdup(mv->help ? mv->help : "");
	x->labels = strdup(mv->labels ? mv->labels : "");
	x->type = mv->type;
	x->value = mv->value;
	x->count = mv->count;
	x->order = it->n;
	if (mv->type == HATHOR_METRIC_HISTOGRAM && mv->n_buckets) {
		x->n = mv->n_buckets;
		x->bounds = malloc(x->n * sizeof(*x->bounds));
		x->cum = malloc(x->n * sizeof(*x->cum));
		if (x->bounds && x->cum) {
			memcpy(x->bounds, mv->bounds, x->n * sizeof(double));
			memcpy(x->cum, mv->bucket_counts,
			       x->n * sizeof(uint64_t));
		}
	}
	it->n++;
	if (!x->name || !x->help || !x->labels ||
	    (x->n && (!x->bounds || !x->cum)))
		it->oom = true;
}

/* By name, then labels (duplicates end up adjacent), then first come. */
static int item_cmp(const void *a, const void *b)
{
	const struct item *x = a, *y = b;
	int c = strcmp(x->name, y->name);

	if (c)
		return c;
	if ((c = strcmp(x->labels, y->labels)))
		return c;
	return x->order < y->order ? -1 : x->order > y->order;
}

static const char *type_name(enum hathor_metric_type t)
{
	switch (t) {
	case HATHOR_METRIC_COUNTER:
		return "counter";
	case HATHOR_METRIC_GAUGE:
		return "gauge";
	case HATHOR_METRIC_HISTOGRAM:
		return "histogram";
	}
	return "untyped";
}

/* name{labels[,extra]} */
static void sample_head(struct buf *b, const char *name, const char *suffix,
			const char *labels, const char *extra)
{
	buf_str(b, name);
	buf_str(b, suffix);
	if (*labels || extra) {
		buf_str(b, "{");
		buf_str(b, labels);
		if (extra) {
			if (*labels)
				buf_str(b, ",");
			buf_str(b, extra);
		}
		buf_str(b, "}");
	}
	buf_str(b, " ");
}

static void emit(struct buf *b, const struct item *x)
{
	char le[64];
	size_t i;

	if (x->type != HATHOR_METRIC_HISTOGRAM) {
		sample_head(b, x->name, "", x->labels, NULL);
		buf_value(b, x->value);
		buf_str(b, "\n");
		return;
	}
	for (i = 0; i < x->n; i++) {
		char v[40];
		struct buf t = { 0 };

		buf_value(&t, x->bounds[i]);
		snprintf(v, sizeof(v), "%s", t.p ? t.p : "0");
		free(t.p);
		snprintf(le, sizeof(le), "le=\"%s\"", v);
		sample_head(b, x->name, "_bucket", x->labels, le);
		buf_printf(b, "%llu\n", (unsigned long long)x->cum[i]);
	}
	sample_head(b, x->name, "_bucket", x->labels, "le=\"+Inf\"");
	buf_printf(b, "%llu\n", (unsigned long long)x->count);
	sample_head(b, x->name, "_sum", x->labels, NULL);
	buf_value(b, x->value);
	buf_str(b, "\n");
	sample_head(b, x->name, "_count", x->labels, NULL);
	buf_printf(b, "%llu\n", (unsigned long long)x->count);
}

/* --- this process --------------------------------------------------------- */

/* This process's own figures, added to the collected items so that a
 * family another process reports too (process_* with process="p2p-host")
 * stays one family. */
static void own_metrics(struct mp *m, struct items *it)
{
	struct hn_procstat ps;

	hn_procstat_read(&ps);
	struct { const char *name, *help; enum hathor_metric_type type;
		 double v; } p[] = {
		{ "process_resident_memory_bytes",
		  "Resident memory size in bytes.", HATHOR_METRIC_GAUGE,
		  ps.rss_bytes },
		{ "process_cpu_seconds_total",
		  "Total user and system CPU time spent in seconds.",
		  HATHOR_METRIC_COUNTER, ps.cpu_seconds },
		{ "process_open_fds", "Number of open file descriptors.",
		  HATHOR_METRIC_GAUGE, ps.open_fds },
		{ "process_start_time_seconds",
		  "Start time of the process since unix epoch in seconds.",
		  HATHOR_METRIC_GAUGE, m->start_time },
	};
	char build[128];
	size_t i;

	snprintf(build, sizeof(build), "version=\"%s\",abi=\"%d.%d\"",
		 HN_METRICS_VERSION, HATHOR_ABI_MAJOR, HATHOR_ABI_MINOR);
	{
		struct hathor_metric_value v = {
			.name = "hathor_build_info",
			.help = "hathor-node build and plugin ABI version "
				"(always 1).",
			.labels = build, .source = "metrics",
			.type = HATHOR_METRIC_GAUGE, .value = 1,
		};

		collect(it, &v);
	}
	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		struct hathor_metric_value v = {
			.name = p[i].name, .help = p[i].help,
			.labels = "process=\"core\"", .source = "metrics",
			.type = p[i].type, .value = p[i].v,
		};

		if (!isnan(p[i].v))
			collect(it, &v);
	}
}

/* Every metric of the process, sorted (item_cmp); false on out of
 * memory. */
static bool gather(struct mp *m, struct items *it)
{
	own_metrics(m, it);
	m->svc->metrics_visit(m->h, collect, it);
	if (it->oom) {
		items_free(it);
		return false;
	}
	qsort(it->v, it->n, sizeof(*it->v), item_cmp);
	return true;
}

/* The whole exposition; NULL on out of memory. */
static char *render(struct mp *m, size_t *len)
{
	struct items it = { .m = m };
	struct buf b = { 0 };
	const struct item *first = NULL, *last = NULL;
	size_t i;

	m->svc->metric_add(m->h, m->scrapes, 1);
	if (!gather(m, &it))
		return NULL;
	for (i = 0; i < it.n; i++) {
		const struct item *x = &it.v[i];

		if (!first || strcmp(x->name, first->name) != 0) {
			first = x;
			buf_printf(&b, "# HELP %s ", x->name);
			buf_help(&b, x->help);
			buf_printf(&b, "\n# TYPE %s %s\n", x->name,
				   type_name(x->type));
		} else if (x->type != first->type ||
			   strcmp(x->labels, last->labels) == 0) {
			/* Another source's clash: the first one wins. */
			continue;
		}
		emit(&b, x);
		last = x;
	}
	items_free(&it);
	if (b.oom) {
		free(b.p);
		return NULL;
	}
	*len = b.len;
	return b.p;
}

/* --- the hathor-core textfile -------------------------------------------- */

/* hathor-core's gauges (hathor/prometheus.py METRIC_INFO, in its order and
 * with its HELP texts) that we have, and the series each is read from.
 * Not written (we have no source): the websocket, stratum and cache
 * gauges, peer_connection_* per peer, tx_storage_*, python_gc_*. */
static const struct compat {
	const char *name, *help, *from, *labels;
} compat[] = {
	{ "transactions", "Number of transactions", "hathor_vertices",
	  "type=\"tx\"" },
	{ "blocks", "Number of blocks", "hathor_vertices",
	  "type=\"block\"" },
	{ "hash_rate", "Hash rate of blocks with old calculus",
	  "hathor_hash_rate", "" },
	{ "connected_peers", "Peers connected in the network",
	  "hathor_peers", "state=\"ready\"" },
	{ "connecting_peers", "Peers connecting in the network",
	  "hathor_peers", "state=\"connecting\"" },
	{ "handshaking_peers", "Peers handshaking in the network",
	  "hathor_peers", "state=\"handshaking\"" },
	{ "known_peers", "Peers known in the network",
	  "hathor_p2p_known_peers", "" },
	{ "best_block_weight", "Weight of blocks", "hathor_best_block_weight",
	  "" },
	{ "best_block_height", "Height of best chain",
	  "hathor_best_block_height", "" },
};

/* A value as prometheus_client writes it (floatToGoString: Python's repr,
 * "22.0", exponent form above 1e6 the way Go spells it). */
static void buf_pyfloat(struct buf *b, double v)
{
	char t[96], m[64];
	char *dot;
	int prec;

	if (isnan(v) || isinf(v)) {
		buf_value(b, v);
		return;
	}
	if (v == floor(v) && fabs(v) < 1e16)
		snprintf(t, sizeof(t), "%.1f", v);
	else {
		for (prec = 1; prec < 17; prec++) {
			snprintf(t, sizeof(t), "%.*g", prec, v);
			if (strtod(t, NULL) == v)
				break;
		}
		if (prec == 17)
			snprintf(t, sizeof(t), "%.17g", v);
	}
	dot = strchr(t, '.');
	if (v > 0 && dot && !strchr(t, 'e') && dot - t > 6) {
		size_t k, n = 0, e = (size_t)(dot - t) - 1;

		m[n++] = t[0];
		m[n++] = '.';
		for (k = 1; t[k] && n < sizeof(m) - 1; k++)
			if (t[k] != '.')
				m[n++] = t[k];
		while (n > 0 && (m[n - 1] == '0' || m[n - 1] == '.'))
			n--;
		m[n] = 0;
		snprintf(t, sizeof(t), "%.63se+%02zu", m, e);
	}
	buf_str(b, t);
}

static const struct item *find_item(const struct items *it, const char *name,
				    const char *labels)
{
	size_t i;

	for (i = 0; i < it->n; i++)
		if (strcmp(it->v[i].name, name) == 0 &&
		    strcmp(it->v[i].labels, labels) == 0)
			return &it->v[i];
	return NULL;
}

/* Writes the textfile through PATH.tmp and rename (node_exporter reads
 * only *.prom, and never a half-written one).  An error is logged once
 * until the next success. */
static void textfile_write(struct mp *m)
{
	struct items it = { .m = m };
	struct buf b = { 0 };
	char tmp[4096];
	const char *what = "out of memory";
	size_t i;
	FILE *f;
	int e = ENOMEM;

	if (gather(m, &it)) {
		for (i = 0; i < sizeof(compat) / sizeof(compat[0]); i++) {
			const struct item *x = find_item(&it, compat[i].from,
							 compat[i].labels);

			if (!x)
				continue;
			buf_printf(&b, "# HELP %s%s %s\n# TYPE %s%s gauge\n"
				   "%s%s ", m->tf_prefix, compat[i].name,
				   compat[i].help, m->tf_prefix,
				   compat[i].name, m->tf_prefix,
				   compat[i].name);
			buf_pyfloat(&b, x->value);
			buf_str(&b, "\n");
		}
		items_free(&it);
		if (!b.oom) {
			snprintf(tmp, sizeof(tmp), "%s.tmp", m->textfile);
			errno = 0;
			what = "write";
			f = fopen(tmp, "we");
			if (f && fwrite(b.p ? b.p : "", 1, b.len, f) == b.len &&
			    fclose(f) == 0) {
				f = NULL;
				what = "rename";
				if (rename(tmp, m->textfile) == 0) {
					free(b.p);
					m->tf_errno = 0;
					return;
				}
			}
			e = errno ? errno : EIO;
			if (f)
				fclose(f);
			unlink(tmp);
		}
	}
	free(b.p);
	if (e != m->tf_errno)
		hathor_logf(m->svc, m->h, HATHOR_LOG_WARN, "metrics.textfile "
			    "%s: %s failed: %s (logged once until it works "
			    "again)", m->textfile, what, strerror(e));
	m->tf_errno = e;
}

static void on_textfile_timer(void *arg)
{
	textfile_write(arg);
}

/* metrics.textfile*: NULL path leaves it off. */
static int textfile_config(struct mp *m, char *err, size_t errlen)
{
	const char *path = m->svc->config_get(m->h, "metrics.textfile");
	const char *iv = m->svc->config_get(m->h,
					    "metrics.textfile_interval");
	const char *pre = m->svc->config_get(m->h, "metrics.textfile_prefix");
	size_t n;
	char *end;

	if (!path || !*path)
		return 0;
	n = strlen(path);
	if (n < 6 || strcmp(path + n - 5, ".prom") != 0 || n > 4000) {
		snprintf(err, errlen, "metrics.textfile '%s': must be a path "
			 "ending in .prom (node_exporter's textfile collector "
			 "reads only those)", path);
		return HATHOR_EINVAL;
	}
	m->tf_interval = DEFAULT_TEXTFILE_INTERVAL;
	if (iv && *iv) {
		errno = 0;
		m->tf_interval = strtod(iv, &end);
		if (errno || *end || !(m->tf_interval >= 0.1 &&
				       m->tf_interval <= 3600)) {
			snprintf(err, errlen, "metrics.textfile_interval '%s': "
				 "seconds from 0.1 to 3600", iv);
			return HATHOR_EINVAL;
		}
	}
	if (pre && *pre && !name_ok(pre, false)) {
		snprintf(err, errlen, "metrics.textfile_prefix '%s': not the "
			 "start of a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)",
			 pre);
		return HATHOR_EINVAL;
	}
	m->textfile = path;
	m->tf_prefix = pre ? pre : "";
	return 0;
}

/* --- HTTP ----------------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *c, unsigned code,
			     const char *type, char *body, size_t len,
			     bool owned)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, body, owned ?
		MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (owned)
			free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(c, code, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *c,
				 const char *url, const char *method,
				 const char *version, const char *data,
				 size_t *data_size, void **con_cls)
{
	static char not_found[] = "not found: try /metrics\n";
	static char bad_method[] = "method not allowed\n";
	static char oom[] = "out of memory\n";
	struct mp *m = cls;
	size_t len = 0;
	char *body;

	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(c, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain",
			     bad_method, sizeof(bad_method) - 1, false);
	if (strcmp(url, "/metrics") != 0)
		return reply(c, MHD_HTTP_NOT_FOUND, "text/plain", not_found,
			     sizeof(not_found) - 1, false);
	body = render(m, &len);
	if (!body)
		return reply(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain",
			     oom, sizeof(oom) - 1, false);
	return reply(c, MHD_HTTP_OK, CONTENT_TYPE, body, len, true);
}

static void rearm(struct mp *m)
{
	MHD_UNSIGNED_LONG_LONG ms;

	if (MHD_get_timeout(m->mhd, &ms) == MHD_YES)
		m->svc->timer_set(m->h, m->timer, (double)ms / 1000.0, 0);
	else
		m->svc->timer_stop(m->h, m->timer);
}

static void on_io(void *arg, int revents)
{
	struct mp *m = arg;

	MHD_run(m->mhd);
	rearm(m);
}

static void on_timer(void *arg)
{
	struct mp *m = arg;

	MHD_run(m->mhd);
	rearm(m);
}

/* --- lifecycle ------------------------------------------------------------ */

static int parse_listen(struct mp *m, const char *s, char *err, size_t errlen)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char host[128];
	const char *colon = strrchr(s, ':');
	const char *port;
	size_t hl;
	int rc;

	if (!colon || !colon[1] || strspn(colon + 1, "0123456789") !=
	    strlen(colon + 1)) {
		snprintf(err, errlen, "metrics.listen '%s': expected HOST:PORT",
			 s);
		return HATHOR_EINVAL;
	}
	port = colon + 1;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		s++;
		hl -= 2;
	}
	if (hl >= sizeof(host) || atol(port) > 65535) {
		snprintf(err, errlen, "metrics.listen '%s': bad host or port",
			 s);
		return HATHOR_EINVAL;
	}
	memcpy(host, s, hl);
	host[hl] = '\0';
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	rc = getaddrinfo(hl ? host : NULL, port, &hints, &ai);
	if (rc || !ai) {
		if (ai)
			freeaddrinfo(ai);
		snprintf(err, errlen, "metrics.listen '%s': %s", s,
			 gai_strerror(rc));
		return HATHOR_EINVAL;
	}
	memcpy(&m->ss, ai->ai_addr, ai->ai_addrlen);
	freeaddrinfo(ai);
	return 0;
}

static int m_init(struct hathor_host *h, const struct hathor_services *svc,
		  void **ctx, char *err, size_t errlen)
{
	const char *listen;
	struct mp *m;
	int rc;

	if (!HATHOR_HAS(svc, metrics_visit) || !HATHOR_HAS(svc, io_new)) {
		snprintf(err, errlen, "host lacks metrics_visit or io services");
		return HATHOR_EABI;
	}
	m = calloc(1, sizeof(*m));
	if (!m) {
		snprintf(err, errlen, "out of memory");
		return HATHOR_ENOMEM;
	}
	m->h = h;
	m->svc = svc;
	{
		struct hn_procstat ps;

		hn_procstat_read(&ps);
		m->start_time = ps.start_time;
	}
	if (isnan(m->start_time))
		m->start_time = svc->now(h);
	listen = svc->config_get(h, "metrics.listen");
	if (!listen || !*listen)
		listen = DEFAULT_LISTEN;
	snprintf(m->listen, sizeof(m->listen), "%s", listen);
	m->port_file = svc->config_get(h, "metrics.port_file");
	m->http = strcmp(listen, "off") != 0;
	if ((m->http && (rc = parse_listen(m, listen, err, errlen)) < 0) ||
	    (rc = textfile_config(m, err, errlen)) < 0) {
		free(m);
		return rc;
	}
	if (!m->http && !m->textfile) {
		snprintf(err, errlen, "metrics.listen off and no "
			 "metrics.textfile: nothing to serve");
		free(m);
		return HATHOR_EINVAL;
	}
	m->scrapes = svc->metric_new(h, HATHOR_METRIC_COUNTER,
				     "hathor_metrics_scrapes_total",
				     "Scrapes of /metrics answered", NULL,
				     NULL, 0);
	if (!m->scrapes) {
		snprintf(err, errlen, "cannot register metrics");
		free(m);
		return HATHOR_EINVAL;
	}
	*ctx = m;
	return 0;
}

static int http_start(struct mp *m, char *err, size_t errlen);

static int m_start(void *ctx, char *err, size_t errlen)
{
	struct mp *m = ctx;
	int rc;

	if (m->http && (rc = http_start(m, err, errlen)) < 0)
		return rc;
	if (!m->textfile)
		return 0;
	m->tf_timer = m->svc->timer_new(m->h, on_textfile_timer, m);
	if (!m->tf_timer) {
		snprintf(err, errlen, "cannot start the textfile timer");
		return HATHOR_EIO;
	}
	textfile_write(m);
	if (m->tf_errno) {
		snprintf(err, errlen, "metrics.textfile %s: %s", m->textfile,
			 strerror(m->tf_errno));
		return HATHOR_EIO;
	}
	m->svc->timer_set(m->h, m->tf_timer, m->tf_interval, m->tf_interval);
	hathor_logf(m->svc, m->h, HATHOR_LOG_INFO, "writing the hathor-core "
		    "textfile %s every %g s%s%s", m->textfile, m->tf_interval,
		    *m->tf_prefix ? ", prefix " : "", m->tf_prefix);
	return 0;
}

static int http_start(struct mp *m, char *err, size_t errlen)
{
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL;
	FILE *f;

	if (m->ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	m->mhd = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, m,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&m->ss,
		MHD_OPTION_CONNECTION_LIMIT, (unsigned)32,
		MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)30,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
		MHD_OPTION_END);
	if (!m->mhd) {
		snprintf(err, errlen, "cannot listen on %s: %s", m->listen,
			 strerror(errno ? errno : EADDRINUSE));
		return HATHOR_EIO;
	}
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_BIND_PORT);
	m->port = info ? info->port : 0;
	info = MHD_get_daemon_info(m->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	m->io = info ? m->svc->io_new(m->h, info->epoll_fd, on_io, m) : NULL;
	m->timer = m->svc->timer_new(m->h, on_timer, m);
	if (!m->io || !m->timer) {
		snprintf(err, errlen, "cannot watch the listener");
		return HATHOR_EIO;
	}
	m->svc->io_set(m->h, m->io, HATHOR_IO_READ);
	rearm(m);
	if (m->port_file) {
		f = fopen(m->port_file, "w");
		if (!f || fprintf(f, "%u\n", m->port) < 0 || fclose(f) != 0) {
			snprintf(err, errlen, "metrics.port_file %s: %s",
				 m->port_file, strerror(errno));
			return HATHOR_EIO;
		}
	}
	hathor_logf(m->svc, m->h, HATHOR_LOG_INFO,
		    "serving /metrics on %s (port %u)", m->listen, m->port);
	return 0;
}

static void m_stop(void *ctx)
{
	struct mp *m = ctx;

	if (m->tf_timer)
		m->svc->timer_free(m->h, m->tf_timer);
	m->tf_timer = NULL;
	if (m->io)
		m->svc->io_free(m->h, m->io);
	m->svc->timer_free(m->h, m->timer);
	m->io = NULL;
	m->timer = NULL;
	if (m->mhd)
		MHD_stop_daemon(m->mhd);
	m->mhd = NULL;
}

static void m_destroy(void *ctx)
{
	struct mp *m = ctx;
	size_t i;

	if (!m)
		return;
	if (m->mhd || m->tf_timer)
		m_stop(m);
	for (i = 0; i < m->n_warned; i++)
		free(m->warned[i]);
	free(m);
}

HATHOR_PLUGIN(metrics, HATHOR_KIND_METRICS, HN_METRICS_VERSION, m_init,
	      m_start, m_stop, m_destroy);
