/*
 * bench_main.c: hn-bench, the benchmark runner (see bench.h).
 *
 *   hn-bench [--quick] [--out DIR] [--parts limits,sync] [--chain FILE]
 *            [--blocks N] [--txs N] [--plugin SO]
 *
 * --parts daemon (without sync): only the hathor-node runs of the sync
 * part (and the import and serving node they sync from).
 * --daemon-arg ARG (repeatable, up to 8): appended to every hathor-node
 * run's command line, e.g. --daemon-arg=--cache-size=8.
 * --keep: leave the scratch directory (data dirs, every process's log).
 *
 * --chain FILE: the hathor-chaingen vertex file to sync; generated there
 * (--blocks, --txs; default 20 000 + 20 000) when it does not exist.
 *
 * Writes DIR/bench.json and DIR/bench.md (default DIR: .) and prints the
 * table.  Exit 0, or 1 if a part failed a check or could not write.
 */
#define _XOPEN_SOURCE 700
#include "bench.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "hn/log.h"

double bench_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

double bench_median(double *v, size_t n)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double bench_pct(const double *sorted, size_t n, double p)
{
	size_t i;

	if (n == 0)
		return 0;
	i = (size_t)(p / 100.0 * (double)(n - 1) + 0.5);
	return sorted[i < n ? i : n - 1];
}

static struct json_object *row_new(const char *part, const char *name)
{
	struct json_object *r = json_object_new_object();

	json_object_object_add(r, "part", json_object_new_string(part));
	json_object_object_add(r, "name", json_object_new_string(name));
	return r;
}

void bench_row(struct bench *b, const char *part, const char *name,
	       double value, const char *unit, const char *target,
	       const char *note)
{
	struct json_object *r = row_new(part, name);

	json_object_object_add(r, "value", json_object_new_double(value));
	json_object_object_add(r, "unit", json_object_new_string(unit));
	if (target)
		json_object_object_add(r, "target",
				       json_object_new_string(target));
	if (note)
		json_object_object_add(r, "note",
				       json_object_new_string(note));
	json_object_array_add(b->rows, r);
	fprintf(stderr, "bench: %s: %s = %.6g %s\n", part, name, value, unit);
}

void bench_missing(struct bench *b, const char *part, const char *name,
		   const char *why)
{
	struct json_object *r = row_new(part, name);

	json_object_object_add(r, "missing", json_object_new_string(why));
	json_object_array_add(b->rows, r);
	fprintf(stderr, "bench: %s: %s not measured: %s\n", part, name, why);
}

struct json_object *bench_detail(struct bench *b, const char *part)
{
	struct json_object *d;

	if (json_object_object_get_ex(b->detail, part, &d))
		return d;
	d = json_object_new_object();
	json_object_object_add(b->detail, part, d);
	return d;
}

static const char *sget(struct json_object *r, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(r, k, &v) ?
		json_object_get_string(v) : NULL;
}

/* Three significant digits, integers above 1000. */
static void fmt_value(char *buf, size_t n, double v)
{
	if (v >= 1000 || v <= -1000)
		snprintf(buf, n, "%.0f", v);
	else
		snprintf(buf, n, "%.3g", v);
}

static void write_md(struct bench *b, FILE *f)
{
	size_t i, n = json_object_array_length(b->rows);

	fprintf(f, "| part | measure | value | unit | target | note |\n");
	fprintf(f, "|---|---|---|---|---|---|\n");
	for (i = 0; i < n; i++) {
		struct json_object *r = json_object_array_get_idx(b->rows, i);
		struct json_object *v;
		const char *miss = sget(r, "missing");
		const char *t = sget(r, "target"), *note = sget(r, "note");
		char val[64];

		if (miss) {
			fprintf(f, "| %s | %s | not measured | | | %s |\n",
				sget(r, "part"), sget(r, "name"), miss);
			continue;
		}
		json_object_object_get_ex(r, "value", &v);
		fmt_value(val, sizeof(val), json_object_get_double(v));
		fprintf(f, "| %s | %s | %s | %s | %s | %s |\n",
			sget(r, "part"), sget(r, "name"), val,
			sget(r, "unit"), t ? t : "", note ? note : "");
	}
}

static int rm_cb(const char *path, const struct stat *st, int flag,
		 struct FTW *ftw)
{
	return remove(path);
}

static struct json_object *machine_json(void)
{
	struct json_object *m = json_object_new_object();
	struct utsname u;
	char host[256] = "";
	FILE *f;
	char line[256];

	if (uname(&u) == 0) {
		json_object_object_add(m, "kernel",
				       json_object_new_string(u.release));
		json_object_object_add(m, "arch",
				       json_object_new_string(u.machine));
	}
	json_object_object_add(m, "cpus",
			       json_object_new_int64(sysconf(_SC_NPROCESSORS_ONLN)));
	f = fopen("/proc/cpuinfo", "r");
	while (f && fgets(line, sizeof(line), f)) {
		char *c = strchr(line, ':');

		if (strncmp(line, "model name", 10) == 0 && c) {
			c[strcspn(c, "\n")] = 0;
			snprintf(host, sizeof(host), "%s", c + 2);
			break;
		}
	}
	if (f)
		fclose(f);
	json_object_object_add(m, "cpu", json_object_new_string(host));
	return m;
}

static void usage(void)
{
	fprintf(stderr, "usage: hn-bench [--quick] [--out DIR] "
		"[--parts limits,sync|daemon]\n\t[--chain FILE] [--blocks N] "
		"[--txs N] [--plugin SO] [--daemon-arg ARG]... [--keep]\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "out", required_argument, NULL, 'o' },
		{ "parts", required_argument, NULL, 'p' },
		{ "plugin", required_argument, NULL, 'P' },
		{ "chain", required_argument, NULL, 'c' },
		{ "blocks", required_argument, NULL, 'b' },
		{ "txs", required_argument, NULL, 't' },
		{ "daemon-arg", required_argument, NULL, 'D' },
		{ "keep", no_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	struct bench b = { 0 };
	const char *out = ".", *parts = "limits,sync";
	struct json_object *root;
	char path[1024];
	FILE *f;
	int c, status = 0;
	bool keep = false;
	time_t now = time(NULL);
	char stamp[64];

	if (argc == 3 && strcmp(argv[1], "--nng-server") == 0)
		return bench_nng_server(argv[2]);
	if (argc > 1 && strcmp(argv[1], "--host-core") == 0)
		return bench_host_core(argc - 2, argv + 2);
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'q':
			b.quick = true;
			break;
		case 'k':
			keep = true;
			break;
		case 'o':
			out = optarg;
			break;
		case 'p':
			parts = optarg;
			break;
		case 'P':
			b.plugin = optarg;
			break;
		case 'c':
			b.chain = optarg;
			break;
		case 'b':
			b.blocks = atol(optarg);
			break;
		case 't':
			b.txs = atol(optarg);
			break;
		case 'D':
			if (b.n_daemon_args == sizeof(b.daemon_args) /
			    sizeof(b.daemon_args[0])) {
				fprintf(stderr, "hn-bench: too many "
					"--daemon-arg\n");
				return 2;
			}
			b.daemon_args[b.n_daemon_args++] = optarg;
			break;
		default:
			usage();
			return 2;
		}
	}
#ifdef HN_BENCH_CHAINGEN
	b.chaingen = HN_BENCH_CHAINGEN;
#endif
#ifdef HN_BENCH_IMPORT
	b.import = HN_BENCH_IMPORT;
#endif
#ifdef HN_BENCH_NODE
	b.node = HN_BENCH_NODE;
#endif
#ifdef HN_BENCH_HOST
	b.host_bin = HN_BENCH_HOST;
#endif
#ifdef HN_BENCH_ADMIN
	b.admin = HN_BENCH_ADMIN;
#endif
#ifdef HN_BENCH_PLUGIN
	b.plugin = HN_BENCH_PLUGIN;
#endif
#ifdef HN_BENCH_HARNESS
	b.harness = HN_BENCH_HARNESS;
#endif
	if (b.blocks <= 0)
		b.blocks = b.quick ? 30 : 20000;
	if (b.txs <= 0)
		b.txs = b.quick ? 10 : 20000;
	hn_log_setup("warn", NULL, -1);
	if (mkdir(out, 0755) < 0 && errno != EEXIST) {
		fprintf(stderr, "hn-bench: %s: %s\n", out, strerror(errno));
		return 1;
	}
	snprintf(b.dir, sizeof(b.dir), "%s/scratch.XXXXXX", out);
	if (!mkdtemp(b.dir)) {
		fprintf(stderr, "hn-bench: %s: %s\n", b.dir, strerror(errno));
		return 1;
	}
	b.rows = json_object_new_array();
	b.detail = json_object_new_object();

	if (strstr(parts, "limits") && bench_limits(&b) < 0)
		status = 1;
	b.daemon_only = strstr(parts, "daemon") && !strstr(parts, "sync");
	if ((strstr(parts, "sync") || b.daemon_only) && bench_sync(&b) < 0)
		status = 1;

	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
	root = json_object_new_object();
	json_object_object_add(root, "date", json_object_new_string(stamp));
	json_object_object_add(root, "quick", json_object_new_boolean(b.quick));
	json_object_object_add(root, "machine", machine_json());
	json_object_object_add(root, "rows", b.rows);
	json_object_object_add(root, "detail", b.detail);

	snprintf(path, sizeof(path), "%s/bench.json", out);
	f = fopen(path, "w");
	if (!f || fputs(json_object_to_json_string_ext(root,
			JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE),
			f) < 0 || fputc('\n', f) < 0) {
		fprintf(stderr, "hn-bench: cannot write %s\n", path);
		status = 1;
	}
	if (f && fclose(f) != 0)
		status = 1;
	snprintf(path, sizeof(path), "%s/bench.md", out);
	f = fopen(path, "w");
	if (f) {
		fprintf(f, "hn-bench %s%s\n\n", stamp, b.quick ? " (quick)" : "");
		write_md(&b, f);
		if (fclose(f) != 0)
			status = 1;
	} else {
		status = 1;
	}
	write_md(&b, stdout);
	json_object_put(root);
	if (keep)
		fprintf(stderr, "hn-bench: kept %s (data dirs and logs)\n",
			b.dir);
	else
		nftw(b.dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	return status;
}
