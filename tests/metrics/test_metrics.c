/*
 * test_metrics.c: plugins/metrics through lib/plugin_load, scraped over a
 * real TCP connection:
 *
 *   test_metrics <metrics.so> <work dir>
 *
 * The runtime's visit_extra plays the core's registry (a labelled counter
 * with an escaped label value, a gauge, a histogram, a HELP text with a
 * newline and a backslash).  Checks: 200 with the 0.0.4 content type, one
 * HELP/TYPE per family before its samples, families contiguous, HELP
 * escaping, label values as registered, histogram buckets cumulative with
 * +Inf == _count, counters monotonic across scrapes, final newline, 404 on
 * another path, bad listen refused at init.
 */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <ev.h>

#include "hn/err.h"
#include "hn/plugin_load.h"

#define CHECK(c, ...)                                                   \
	do {                                                            \
		if (!(c)) {                                             \
			fprintf(stderr, "test_metrics: %s:%d: %s: ",    \
				__FILE__, __LINE__, #c);                \
			fprintf(stderr, __VA_ARGS__);                   \
			fputc('\n', stderr);                            \
			exit(1);                                        \
		}                                                       \
	} while (0)

static double blocks = 7, height = 42;
static uint64_t lat_count;
static double lat_sum;
static uint64_t lat_b[3];       /* non-cumulative per bound */
static const double lat_bounds[3] = { 0.001, 0.01, 0.1 };
static const uint64_t bad_cum[3] = { 1, 0, 1 };

static void extra(void *arg, hathor_metric_visit_cb cb, void *cb_arg)
{
	uint64_t cum[3] = { lat_b[0], lat_b[0] + lat_b[1],
			    lat_b[0] + lat_b[1] + lat_b[2] };
	struct hathor_metric_value v[] = {
		{ .name = "hathor_vertices_received_total",
		  .help = "Vertices received, by type",
		  .labels = "type=\"block\"", .source = "core",
		  .type = HATHOR_METRIC_COUNTER, .value = blocks },
		{ .name = "hathor_best_block_height",
		  .help = "Height of the best block\nback\\slash",
		  .labels = "", .source = "core",
		  .type = HATHOR_METRIC_GAUGE, .value = height },
		{ .name = "hathor_vertices_received_total",
		  .help = "Vertices received, by type",
		  .labels = "type=\"tx\"", .source = "core",
		  .type = HATHOR_METRIC_COUNTER, .value = blocks * 3 },
		{ .name = "hathor_ipc_request_duration_seconds",
		  .help = "IPC request latency",
		  .labels = "method=\"a\\\"b\\\\c\"", .source = "core",
		  .type = HATHOR_METRIC_HISTOGRAM, .value = lat_sum,
		  .count = lat_count, .n_buckets = 3, .bounds = lat_bounds,
		  .bucket_counts = cum },
		/* What a misbehaving source could hand the exposer: each is
		 * left out with one log line, the rest is served. */
		{ .name = "garbage name!", .help = "x", .labels = "",
		  .source = "bad", .type = HATHOR_METRIC_GAUGE, .value = 1 },
		{ .name = "garbage_hist", .help = "x", .labels = "",
		  .source = "bad", .type = HATHOR_METRIC_HISTOGRAM,
		  .value = 1, .count = 1, .n_buckets = 3,
		  .bounds = lat_bounds, .bucket_counts = bad_cum },
		{ .name = "garbage_neg_total", .help = "x", .labels = "",
		  .source = "bad", .type = HATHOR_METRIC_COUNTER,
		  .value = -1 },
		{ .name = "garbage_labels", .help = "x", .labels = "x=1",
		  .source = "bad", .type = HATHOR_METRIC_GAUGE, .value = 1 },
		{ .name = "garbage_type", .help = "x", .labels = "",
		  .source = "bad", .type = (enum hathor_metric_type)9,
		  .value = 1 },
		/* Same series twice / a type clash: the first one wins. */
		{ .name = "hathor_best_block_height", .help = "dup",
		  .labels = "", .source = "bad",
		  .type = HATHOR_METRIC_GAUGE, .value = 99 },
		{ .name = "hathor_best_block_height", .help = "clash",
		  .labels = "a=\"b\"", .source = "bad",
		  .type = HATHOR_METRIC_COUNTER, .value = 5 },
		/* For the hathor-core textfile's value spelling. */
		{ .name = "hathor_vertices", .help = "Vertices stored",
		  .labels = "type=\"tx\"", .source = "core",
		  .type = HATHOR_METRIC_GAUGE, .value = 1234567 },
		{ .name = "hathor_best_block_weight", .help = "Weight",
		  .labels = "", .source = "core",
		  .type = HATHOR_METRIC_GAUGE, .value = 60.25 },
		/* Another process's process_* join the plugin's family. */
		{ .name = "process_resident_memory_bytes", .help = "rss",
		  .labels = "process=\"p2p-host\"", .source = "p2p-host",
		  .type = HATHOR_METRIC_GAUGE, .value = 5e6 },
	};
	size_t i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		cb(cb_arg, &v[i]);
}

static void observe(double x)
{
	size_t i;

	lat_count++;
	lat_sum += x;
	for (i = 0; i < 3; i++)
		if (x <= lat_bounds[i]) {
			lat_b[i]++;
			break;
		}
}

/* --- client thread ---------------------------------------------------- */

struct req {
	unsigned port;
	const char *path;
	char resp[65536];
	size_t len;
	atomic_bool done;
};

static void *client(void *arg)
{
	struct req *r = arg;
	struct sockaddr_in sa = { .sin_family = AF_INET };
	char q[256];
	ssize_t n;
	int fd;

	sa.sin_port = htons((uint16_t)r->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
		snprintf(q, sizeof(q), "GET %s HTTP/1.1\r\nHost: x\r\n"
			 "Connection: close\r\n\r\n", r->path);
		if (write(fd, q, strlen(q)) == (ssize_t)strlen(q))
			while (r->len < sizeof(r->resp) - 1 &&
			       (n = read(fd, r->resp + r->len,
					 sizeof(r->resp) - 1 - r->len)) > 0)
				r->len += (size_t)n;
	}
	if (fd >= 0)
		close(fd);
	r->resp[r->len] = '\0';
	atomic_store(&r->done, true);
	return NULL;
}

static void poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct req *r = w->data;

	if (atomic_load(&r->done))
		ev_break(loop, EVBREAK_ALL);
}

/* GET @path while the loop serves; returns the body, status in *code. */
static char *get(struct ev_loop *loop, unsigned port, const char *path,
		 int *code, char *headers, size_t hlen)
{
	struct req *r = calloc(1, sizeof(*r));
	ev_timer t;
	pthread_t th;
	char *body;

	CHECK(r, "oom");
	r->port = port;
	r->path = path;
	ev_timer_init(&t, poll_cb, 0.005, 0.005);
	t.data = r;
	ev_timer_start(loop, &t);
	CHECK(pthread_create(&th, NULL, client, r) == 0, "thread");
	ev_run(loop, 0);
	ev_timer_stop(loop, &t);
	pthread_join(th, NULL);
	CHECK(sscanf(r->resp, "HTTP/1.%*c %d", code) == 1, "reply '%s'",
	      r->resp);
	body = strstr(r->resp, "\r\n\r\n");
	CHECK(body, "no header end");
	*body = '\0';
	{
		size_t hl = strlen(r->resp);

		if (hl >= hlen)
			hl = hlen - 1;
		memcpy(headers, r->resp, hl);
		headers[hl] = '\0';
	}
	body = strdup(body + 4);
	free(r);
	return body;
}

/* Value of the sample line starting with @head (name{labels}); NAN none. */
static double sample(const char *text, const char *head)
{
	const char *p = text;
	size_t n = strlen(head);

	while ((p = strstr(p, head))) {
		if ((p == text || p[-1] == '\n') && p[n] == ' ')
			return strtod(p + n + 1, NULL);
		p += n;
	}
	return -1;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *p = calloc(1, 65536);
	size_t n;

	CHECK(f && p, "%s", path);
	n = fread(p, 1, 65535, f);
	p[n] = 0;
	fclose(f);
	return p;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* Format rules over the whole text. */
static void check_format(const char *text)
{
	char fam[64][128];
	size_t nfam = 0, i, len = strlen(text);
	char cur[128] = "";
	const char *p = text;

	CHECK(len && text[len - 1] == '\n', "no final newline");
	while (*p) {
		const char *e = strchr(p, '\n');
		char line[1024], name[128];
		size_t l = (size_t)(e - p);

		CHECK(e && l < sizeof(line), "line");
		memcpy(line, p, l);
		line[l] = '\0';
		p = e + 1;
		if (strncmp(line, "# HELP ", 7) == 0) {
			CHECK(sscanf(line + 7, "%127s", name) == 1, "help");
			for (i = 0; i < nfam; i++)
				CHECK(strcmp(fam[i], name) != 0,
				      "family %s twice (split or two HELPs)",
				      name);
			CHECK(nfam < 64, "families");
			snprintf(fam[nfam++], sizeof(fam[0]), "%s", name);
			snprintf(cur, sizeof(cur), "%s", name);
			CHECK(strncmp(p, "# TYPE ", 7) == 0 &&
			      strncmp(p + 7, name, strlen(name)) == 0,
			      "TYPE must follow HELP of %s", name);
			continue;
		}
		if (strncmp(line, "# TYPE ", 7) == 0)
			continue;
		CHECK(line[0] != '#', "comment '%s'", line);
		CHECK(*cur && strncmp(line, cur, strlen(cur)) == 0,
		      "sample '%s' outside its family %s", line, cur);
	}
}

/* promtool check metrics (the Prometheus linter) when installed: exit 0
 * means no lint finding and no parse error. */
static void promtool(const char *dir, const char *text)
{
	char path[512], cmd[1200];
	FILE *f;
	int rc;

	if (system("command -v promtool >/dev/null 2>&1") != 0) {
		printf("promtool not installed: lint skipped\n");
		return;
	}
	snprintf(path, sizeof(path), "%s/scrape.txt", dir);
	f = fopen(path, "w");
	CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0, "%s", path);
	snprintf(cmd, sizeof(cmd), "promtool check metrics < '%s'", path);
	rc = system(cmd);
	CHECK(rc == 0, "promtool check metrics: status %d", rc);
	printf("promtool check metrics: clean\n");
}

/* Loading must fail with HN_EINVAL and @why in the message. */
static void refused(struct hn_plugin_rt *rt, const char *so, const char *why)
{
	struct hn_plugin_open_opts oo = { .want_kind = HATHOR_KIND_METRICS };
	struct hn_plugin_inst *in;
	char err[1024];
	int rc = hn_plugin_rt_load(rt, so, &oo, &in, err, sizeof(err));

	CHECK(rc == HN_EINVAL && strstr(err, why), "%d '%s', want '%s'", rc,
	      err, why);
}

static void cfg(struct hn_plugin_rt *rt, const char *k, const char *v)
{
	CHECK(hn_plugin_rt_config_set(rt, k, v) == 0, "config %s", k);
}

/* metrics.textfile*: bad values refused at init; listen off with a
 * textfile writes it at start (our figures under hathor-core's names,
 * values spelled as prometheus_client does) and every interval. */
static void textfile_cases(struct hn_plugin_rt *rt, const char *so,
			   const char *dir, struct ev_loop *loop)
{
	struct hn_plugin_open_opts oo = { .want_kind = HATHOR_KIND_METRICS };
	struct hn_plugin_inst *in;
	char err[1024], tf[512], bad[600];
	char *t, *t2;
	int rc;

	snprintf(tf, sizeof(tf), "%s/hathor.prom", dir);
	unlink(tf);
	cfg(rt, "metrics.listen", "off");
	refused(rt, so, "metrics.listen off and no metrics.textfile");
	cfg(rt, "metrics.textfile", "/x/hathor.txt");
	refused(rt, so, "must be a path ending in .prom");
	cfg(rt, "metrics.textfile", tf);
	cfg(rt, "metrics.textfile_interval", "0");
	refused(rt, so, "metrics.textfile_interval '0': seconds");
	cfg(rt, "metrics.textfile_interval", "0.2");
	cfg(rt, "metrics.textfile_prefix", "9x");
	refused(rt, so, "metrics.textfile_prefix '9x'");
	cfg(rt, "metrics.textfile_prefix", "hc_");
	rc = hn_plugin_rt_load(rt, so, &oo, &in, err, sizeof(err));
	CHECK(rc == 0, "%s", err);
	CHECK(hn_plugin_inst_start(in, err, sizeof(err)) == 0, "%s", err);
	t = slurp(tf);
	CHECK(strstr(t, "# HELP hc_best_block_height Height of best chain\n"
		     "# TYPE hc_best_block_height gauge\n"
		     "hc_best_block_height 42.0\n"), "textfile: %s", t);
	CHECK(strstr(t, "\nhc_transactions 1.234567e+06\n"), "%s", t);
	CHECK(strstr(t, "\nhc_best_block_weight 60.25\n"), "%s", t);
	/* No source here: left out, not written as 0. */
	CHECK(!strstr(t, "blocks ") && !strstr(t, "peers"), "%s", t);
	CHECK(!strstr(t, "hathor_"), "native names in the textfile: %s", t);
	/* Rewritten on the timer. */
	height = 43;
	{
		ev_tstamp end = ev_time() + 3;

		t2 = NULL;
		while (ev_time() < end) {
			ev_run(loop, EVRUN_ONCE);
			free(t2);
			t2 = slurp(tf);
			if (strstr(t2, "\nhc_best_block_height 43.0\n"))
				break;
		}
		CHECK(strstr(t2, "\nhc_best_block_height 43.0\n"),
		      "not rewritten: %s", t2);
	}
	height = 42;
	free(t);
	free(t2);
	hn_plugin_inst_unload(in);
	/* A place it cannot write: start fails, naming the file. */
	snprintf(bad, sizeof(bad), "%s/nodir/hathor.prom", dir);
	cfg(rt, "metrics.textfile", bad);
	rc = hn_plugin_rt_load(rt, so, &oo, &in, err, sizeof(err));
	CHECK(rc == 0, "%s", err);
	rc = hn_plugin_inst_start(in, err, sizeof(err));
	CHECK(rc < 0 && strstr(err, "nodir/hathor.prom") &&
	      strstr(err, "No such file"), "%d %s", rc, err);
	hn_plugin_inst_unload(in);
	cfg(rt, "metrics.textfile", "");
	cfg(rt, "metrics.textfile_prefix", "");
	cfg(rt, "metrics.textfile_interval", "");
	printf("test_metrics: textfile ok\n");
}

int main(int argc, char **argv)
{
	struct hn_plugin_open_opts oo = { .want_kind = HATHOR_KIND_METRICS };
	struct hn_plugin_rt_opts ro = { 0 };
	struct hn_plugin_inst *in;
	struct hn_plugin_rt *rt;
	struct ev_loop *loop;
	char err[1024], pf[512], hdr[4096];
	unsigned port = 0;
	char *body, *body2, *log, logp[512];
	int saved_err, logfd;
	double v1, v2;
	FILE *f;
	int code, rc;

	CHECK(argc == 3, "usage: test_metrics METRICS.so WORKDIR");
	loop = ev_loop_new(EVFLAG_AUTO);
	ro.loop = loop;
	ro.process = "test";
	ro.visit_extra = extra;
	CHECK(hn_plugin_rt_new(&ro, &rt) == 0, "rt");

	/* A bad listen address is refused by init, with the reason. */
	CHECK(hn_plugin_rt_config_set(rt, "metrics.listen", "localhost") == 0,
	      "cfg");
	rc = hn_plugin_rt_load(rt, argv[1], &oo, &in, err, sizeof(err));
	CHECK(rc == HN_EINVAL && strstr(err, "expected HOST:PORT"), "%d %s",
	      rc, err);

	textfile_cases(rt, argv[1], argv[2], loop);

	snprintf(pf, sizeof(pf), "%s/metrics.port", argv[2]);
	unlink(pf);
	CHECK(hn_plugin_rt_config_set(rt, "metrics.listen", "127.0.0.1:0") == 0
	      && hn_plugin_rt_config_set(rt, "metrics.port_file", pf) == 0,
	      "cfg");
	rc = hn_plugin_rt_load(rt, argv[1], &oo, &in, err, sizeof(err));
	CHECK(rc == 0, "%s", err);
	CHECK(hn_plugin_inst_start(in, err, sizeof(err)) == 0, "%s", err);
	f = fopen(pf, "r");
	CHECK(f && fscanf(f, "%u", &port) == 1 && port > 0, "port file");
	fclose(f);

	observe(0.0005);
	observe(0.05);
	observe(3);
	/* The first scrape's log (stderr) goes to a file: the refusals. */
	snprintf(logp, sizeof(logp), "%s/metrics.log", argv[2]);
	fflush(stderr);
	saved_err = dup(2);
	logfd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	CHECK(saved_err >= 0 && logfd >= 0 && dup2(logfd, 2) == 2, "log");
	body = get(loop, port, "/metrics", &code, hdr, sizeof(hdr));
	free(get(loop, port, "/metrics", &code, hdr, sizeof(hdr)));
	fflush(stderr);
	CHECK(dup2(saved_err, 2) == 2, "restore stderr");
	close(saved_err);
	close(logfd);
	log = slurp(logp);
	fprintf(stderr, "%s", log);
	CHECK(count_of(log, "refusing metric 'garbage_hist' from bad: "
		       "histogram buckets not cumulative") == 1,
	      "garbage_hist log line (once): %s", log);
	CHECK(count_of(log, "refusing metric 'garbage?name!' from bad: "
		       "invalid metric name") == 1, "bad name log line");
	CHECK(count_of(log, "'garbage_neg_total' from bad: counter value "
		       "negative") == 1, "negative counter log line");
	CHECK(count_of(log, "'garbage_labels' from bad: malformed labels")
	      == 1, "labels log line");
	CHECK(count_of(log, "'garbage_type' from bad: unknown metric type")
	      == 1, "type log line");
	free(log);
	CHECK(code == 200, "code %d", code);
	CHECK(strstr(hdr, "Content-Type: text/plain; version=0.0.4"),
	      "headers %s", hdr);
	CHECK(!strstr(body, "garbage"), "garbage served");
	CHECK(!strstr(body, "clash") && !strstr(body, "a=\"b\""),
	      "type clash served");
	CHECK(sample(body, "process_resident_memory_bytes"
		     "{process=\"p2p-host\"}") == 5e6,
	      "host rss in the same family");
	printf("%s", body);
	check_format(body);
	promtool(argv[2], body);
	CHECK(strstr(body, "# TYPE hathor_vertices_received_total counter\n"),
	      "counter TYPE");
	CHECK(sample(body, "hathor_vertices_received_total{type=\"block\"}")
	      == 7, "block counter");
	CHECK(sample(body, "hathor_vertices_received_total{type=\"tx\"}")
	      == 21, "tx counter");
	CHECK(strstr(body, "# HELP hathor_best_block_height Height of the "
		     "best block\\nback\\\\slash\n"), "HELP escaping");
	CHECK(sample(body, "hathor_best_block_height") == 42, "gauge");
	CHECK(strstr(body, "# TYPE hathor_ipc_request_duration_seconds "
		     "histogram\n"), "histogram TYPE");
#define H "hathor_ipc_request_duration_seconds"
#define L "method=\"a\\\"b\\\\c\""
	CHECK(sample(body, H "_bucket{" L ",le=\"0.001\"}") == 1, "b0");
	CHECK(sample(body, H "_bucket{" L ",le=\"0.01\"}") == 1, "b1");
	CHECK(sample(body, H "_bucket{" L ",le=\"0.1\"}") == 2, "b2");
	CHECK(sample(body, H "_bucket{" L ",le=\"+Inf\"}") == 3, "inf");
	CHECK(sample(body, H "_count{" L "}") == 3, "count");
	CHECK(sample(body, H "_sum{" L "}") > 3.05 &&
	      sample(body, H "_sum{" L "}") < 3.06, "sum");
	CHECK(sample(body, "process_resident_memory_bytes{process=\"core\"}")
	      > 1e6, "rss");
	CHECK(sample(body, "process_open_fds{process=\"core\"}") >= 3, "fds");
	CHECK(strstr(body, "hathor_build_info{version=\"") &&
	      strstr(body, "\",abi=\"1.0\"} 1\n"), "build_info");
	v1 = sample(body, "hathor_metrics_scrapes_total");
	CHECK(v1 == 1, "scrapes %g", v1);

	/* Counters only grow between scrapes. */
	blocks += 5;
	observe(0.002);
	body2 = get(loop, port, "/metrics", &code, hdr, sizeof(hdr));
	CHECK(code == 200, "code %d", code);
	check_format(body2);
	v2 = sample(body2, "hathor_vertices_received_total{type=\"block\"}");
	CHECK(v2 == 12, "block counter %g", v2);
	CHECK(sample(body2, "hathor_metrics_scrapes_total") == 3, "scrapes");
	CHECK(sample(body2, H "_bucket{" L ",le=\"0.01\"}") == 2, "b1 after");
	CHECK(sample(body2, H "_count{" L "}") == 4, "count after");
	CHECK(sample(body2, "process_cpu_seconds_total{process=\"core\"}") >=
	      sample(body, "process_cpu_seconds_total{process=\"core\"}"),
	      "cpu");
	free(body);
	free(body2);

	body = get(loop, port, "/nope", &code, hdr, sizeof(hdr));
	CHECK(code == 404, "code %d", code);
	free(body);

	hn_plugin_inst_unload(in);
	CHECK(ev_pending_count(loop) == 0, "watchers left");
	hn_plugin_rt_free(rt);
	ev_loop_destroy(loop);
	printf("test_metrics: OK (port %u)\n", port);
	return 0;
}
