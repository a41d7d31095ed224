/*
 * bench_sync.c: sync throughput with the P2P engine in process over the
 * real core ledger, in two processes on loopback TLS:
 *
 *   1. the chain (a hathor-chaingen vertex file: --chain FILE, or one
 *      generated here with --blocks/--txs) is imported into A's data dir
 *      with hathor-import (full verification; timed, a figure of its own);
 *   2. A = p2p_harness --data-dir A --listen 127.0.0.1:0 serves it;
 *   3. B = p2p_harness --data-dir B (empty) --bootstrap A syncs until it
 *      has A's best height and an empty mempool; the wall time from B's
 *      start to its exit gives vertices/s, and wait4() gives each process's
 *      CPU seconds and peak RSS.
 *
 * p2p_harness links the same engine sources as plugins/p2p_sync_v2 and
 * calls the ledger synchronously through tests/p2p/ledgernode.c; the .so
 * itself runs in host mode (hathor-p2p-host), measured by the host part.
 */
#include "bench.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"

#define PART "sync"

struct proc {
	pid_t pid;
	struct rusage ru;
	int status;
	double t0, t1;
};

/* Starts @argv with stdout and stderr to @log. */
static int spawn(struct proc *p, char *const argv[], const char *log)
{
	p->pid = fork();
	if (p->pid < 0)
		return -errno;
	if (p->pid == 0) {
		int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		execv(argv[0], argv);
		_exit(127);
	}
	p->t0 = bench_now();
	return 0;
}

static int reap(struct proc *p)
{
	if (wait4(p->pid, &p->status, 0, &p->ru) < 0)
		return -errno;
	p->t1 = bench_now();
	p->pid = 0;
	return 0;
}

static double cpu_s(const struct rusage *ru)
{
	return (double)ru->ru_utime.tv_sec + ru->ru_utime.tv_usec * 1e-6 +
	       (double)ru->ru_stime.tv_sec + ru->ru_stime.tv_usec * 1e-6;
}

/* Reads "key=value" from the one-line status file; -1 if absent. */
static long long status_get(const char *path, const char *key)
{
	char line[512], pat[64], *s;
	FILE *f = fopen(path, "r");
	long long v = -1;

	if (!f)
		return -1;
	snprintf(pat, sizeof(pat), "%s=", key);
	if (fgets(line, sizeof(line), f)) {
		s = strstr(line, pat);
		if (s)
			v = atoll(s + strlen(pat));
	}
	fclose(f);
	return v;
}

static long long file_size(const char *dir)
{
	char p[700];
	struct stat st;
	long long n = 0;

	snprintf(p, sizeof(p), "%s/ledger.db", dir);
	if (stat(p, &st) == 0)
		n += st.st_size;
	snprintf(p, sizeof(p), "%s/ledger.db-wal", dir);
	if (stat(p, &st) == 0)
		n += st.st_size;
	return n;
}

/* Runs @argv to completion; 0 if it exited 0. */
static int run(char *const argv[], const char *log, struct proc *p)
{
	int rc = spawn(p, argv, log);

	if (rc < 0 || (rc = reap(p)) < 0)
		return rc;
	if (!WIFEXITED(p->status) || WEXITSTATUS(p->status) != 0) {
		fprintf(stderr, "bench: %s failed (status %d), see %s\n",
			argv[0], p->status, log);
		return -1;
	}
	return 0;
}

/* The chain file: given, or generated into the scratch dir. */
static int chain_file(struct bench *b, char *out, size_t n)
{
	char blocks[32], txs[32], log[700];
	struct proc p;
	int rc;

	if (b->chain && access(b->chain, R_OK) == 0) {
		snprintf(out, n, "%s", b->chain);
		return 0;
	}
	/* --chain names a file that is not there yet: generate it there, so
	 * the next run reuses it (20 000 + 20 000 takes ~12 min). */
	if (b->chain)
		snprintf(out, n, "%s", b->chain);
	else
		snprintf(out, n, "%s/chain.bin", b->dir);
	if (!b->chaingen)
		return HN_ENOENT;
	snprintf(blocks, sizeof(blocks), "%ld", b->blocks);
	snprintf(txs, sizeof(txs), "%ld", b->txs);
	snprintf(log, sizeof(log), "%s/chaingen.log", b->dir);
	{
		char *argv[] = { (char *)b->chaingen, "--blocks", blocks,
				 "--txs", txs, "--out", out, "--quiet", NULL };

		rc = run(argv, log, &p);
	}
	if (rc == 0)
		bench_row(b, PART, "hathor-chaingen time", p.t1 - p.t0, "s",
			  NULL, "mining the test chain, not a node figure");
	return rc;
}

/* --- HTTP client during the host-mode sync ----------------------------- */

#define HTTP_PERIOD 0.01                /* 100 requests/s, steady */
#define HTTP_MAX 200000

struct hclient {
	char port_file[700], done_file[700];
	volatile bool stop;
	char tx_path[128];
	double *lat;                    /* seconds, per answered request */
	size_t n, failed;
	pthread_t th;
};

/* One GET with Connection: close; latency in *@lat, false on failure
 * (connect, timeout 5 s, or a status other than 200). */
static bool http_get(unsigned port, const char *path, double *lat)
{
	struct sockaddr_in a = { 0 };
	char req[256], buf[4096];
	double t0 = bench_now();
	size_t got = 0;
	bool ok = false;
	int fd, n;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1"
		     "\r\nConnection: close\r\n\r\n", path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    write(fd, req, (size_t)n) != n)
		goto out;
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 5000) != 1)
			goto out;
		r = read(fd, got < 64 ? buf + got : buf + 64,
			 got < 64 ? sizeof(buf) - got : sizeof(buf) - 64);
		if (r < 0)
			goto out;
		if (r == 0)
			break;
		got += (size_t)r;
	}
	ok = got > 12 && strncmp(buf, "HTTP/1.1 200", 12) == 0;
out:
	close(fd);
	*lat = bench_now() - t0;
	return ok;
}

static void *hclient_run(void *arg)
{
	struct hclient *c = arg;
	unsigned port = 0;
	double next;
	size_t i = 0;

	while (!c->stop && port == 0) {
		FILE *f = fopen(c->port_file, "r");

		if (f) {
			if (fscanf(f, "%u", &port) != 1)
				port = 0;
			fclose(f);
		}
		usleep(5000);
	}
	next = bench_now();
	while (!c->stop && c->n < HTTP_MAX &&
	       access(c->done_file, F_OK) != 0) {
		double lat, now;

		if (http_get(port, i++ % 2 ? c->tx_path : "/v1a/version", &lat))
			c->lat[c->n++] = lat;
		else
			c->failed++;
		next += HTTP_PERIOD;
		now = bench_now();
		if (next > now)
			usleep((useconds_t)((next - now) * 1e6));
		else
			next = now;
	}
	return NULL;
}

static void hclient_rows(struct bench *b, struct hclient *c)
{
	char note[160];

	if (c->n == 0) {
		bench_missing(b, PART, "host mode: HTTP latency during sync",
			      "no request answered");
		return;
	}
	bench_median(c->lat, c->n);     /* sorts */
	snprintf(note, sizeof(note), "%zu requests at 100/s, /v1a/version and "
		 "/v1a/transaction alternating, new connection each", c->n +
		 c->failed);
	bench_row(b, PART, "host mode: HTTP p50 during sync",
		  bench_pct(c->lat, c->n, 50) * 1e3, "ms", NULL, note);
	bench_row(b, PART, "host mode: HTTP p99 during sync",
		  bench_pct(c->lat, c->n, 99) * 1e3, "ms", "<= 20", NULL);
	bench_row(b, PART, "host mode: HTTP max during sync",
		  c->lat[c->n - 1] * 1e3, "ms", NULL, NULL);
	bench_row(b, PART, "host mode: HTTP failed requests during sync",
		  (double)c->failed, "requests", NULL, NULL);
}

static double jget(struct json_object *o, const char *k)
{
	struct json_object *v;

	return json_object_object_get_ex(o, k, &v) ?
		json_object_get_double(v) : -1;
}

static double hist_over(struct json_object *h, double ms);

/* A row for a loopmon object @lp (core/loopmon.c). */
static void loop_row(struct bench *b, const char *name,
		     struct json_object *lp, const char *src)
{
	struct json_object *h = NULL;
	char note[300];

	json_object_object_get_ex(lp, "hist_ms", &h);
	snprintf(note, sizeof(note), "ev_check..ev_prepare (core/loopmon.c, "
		 "%s): %.0f iterations, busy %.1f s; over 5 ms %.0f, 10 ms %.0f"
		 ", 20 ms %.0f, 50 ms %.0f", src, jget(lp, "iterations"),
		 jget(lp, "busy_s"), hist_over(h, 5), hist_over(h, 10),
		 hist_over(h, 20), hist_over(h, 50));
	bench_row(b, PART, name, jget(lp, "max_ms"), "ms", NULL, note);
}

/* Stretches over @ms in a loopmon "hist_ms" object (buckets by upper
 * bound, "+Inf" last). */
static double hist_over(struct json_object *h, double ms)
{
	double n = 0;

	if (!h)
		return -1;
	json_object_object_foreach(h, k, v) {
		double le = strcmp(k, "+Inf") == 0 ? 1e30 : atof(k);

		/* A bucket's stretches are all over its lower bound: count
		 * the buckets whose lower bound is >= ms, i.e. le > ms. */
		if (le > ms)
			n += json_object_get_double(v);
	}
	return n;
}

/* The same sync with the syncing node in host mode (bench_host.c). */
static int host_mode(struct bench *b, long long port, long long verts,
		     long long height, bool reload)
{
	char exe[600], dir[600], peer[64], want[32], tmo[32], out[700];
	char log[700], note[200];
	struct proc p = { 0 };
	struct hclient hc = { 0 };
	struct json_object *o;
	double rate, el;
	ssize_t l;
	int rc;

	if (!b->host_bin || !b->plugin) {
		bench_missing(b, PART, "host-mode sync", "hathor-p2p-host or "
			      "p2p_sync_v2.so not built");
		return 0;
	}
	l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (l <= 0)
		return HN_EIO;
	exe[l] = 0;
	snprintf(dir, sizeof(dir), "%s/Bhost%s", b->dir, reload ? "R" : "");
	if (mkdir(dir, 0700) < 0)
		return -errno;
	snprintf(peer, sizeof(peer), "127.0.0.1:%lld", port);
	snprintf(want, sizeof(want), "%lld", verts);
	snprintf(tmo, sizeof(tmo), "%d", b->quick ? 30 : 1200);
	snprintf(out, sizeof(out), "%s.json", dir);
	snprintf(log, sizeof(log), "%s.log", dir);
	hc.lat = malloc(HTTP_MAX * sizeof(*hc.lat));
	if (!hc.lat)
		return HN_ENOMEM;
	snprintf(hc.port_file, sizeof(hc.port_file), "%s/http.port", dir);
	snprintf(hc.done_file, sizeof(hc.done_file), "%s/sync.done", dir);
	{
		const struct hn_network *net = hn_network_by_name("unittests");
		char hex[65];

		hn_hex_encode(net->genesis_block.hash, 32, hex);
		snprintf(hc.tx_path, sizeof(hc.tx_path),
			 "/v1a/transaction?id=%s", hex);
	}
	if (pthread_create(&hc.th, NULL, hclient_run, &hc) != 0) {
		free(hc.lat);
		return HN_ENOMEM;
	}
	{
		char *argv[] = { exe, "--host-core", dir, (char *)b->host_bin,
				 (char *)b->plugin, peer, want, tmo, out,
				 reload ? "reload" : NULL, NULL };

		rc = run(argv, log, &p);
	}
	hc.stop = true;
	pthread_join(hc.th, NULL);
	if (rc == 0 && !reload)
		hclient_rows(b, &hc);
	free(hc.lat);
	if (rc < 0)
		return rc;
	o = json_object_from_file(out);
	if (!o)
		return HN_EIO;
	el = jget(o, "seconds");
	rate = (double)(verts - 3) / el;
	if (reload) {
		if (jget(o, "reload_rc") != 0) {
			fprintf(stderr, "bench: reload failed, see %s\n", log);
			json_object_put(o);
			return HN_EIO;
		}
		snprintf(note, sizeof(note), "same .so, sent at %.1f s (half "
			 "the chain stored)", jget(o, "reload_at_s"));
		bench_row(b, PART, "reload mid-sync: command to verdict",
			  jget(o, "reload_verdict_s") * 1e3, "ms", NULL, note);
		bench_row(b, PART, "reload mid-sync: verdict to a READY peer",
			  jget(o, "reload_ready_after_verdict_s") * 1e3, "ms",
			  "<= 1000", NULL);
		snprintf(note, sizeof(note), "of %zu, the whole run, 100/s",
			 hc.n + hc.failed);
		bench_row(b, PART, "reload mid-sync: failed HTTP requests",
			  (double)hc.failed, "requests", "0", note);
		snprintf(note, sizeof(note), "all %lld vertices in %.1f s",
			 verts - 3, el);
		bench_row(b, PART, "reload mid-sync: sync completed", rate,
			  "vertices/s", NULL, note);
		json_object_object_add(bench_detail(b, PART), "reload", o);
		return 0;
	}
	snprintf(note, sizeof(note), "%lld blocks + %lld txs in %.1f s, "
		 "core/ipc + core/sup + hathor-p2p-host + p2p_sync_v2.so",
		 height, verts - 3 - height, el);
	bench_row(b, PART, "host-mode sync throughput", rate, "vertices/s",
		  NULL, note);
	if (b->sync_inproc > 0)
		bench_row(b, PART, "host-mode sync / in-process sync",
			  rate / b->sync_inproc, "ratio", ">= 0.9", NULL);
	if (b->bound_inproc > 0)
		bench_row(b, PART, "host-mode sync / bound in process",
			  rate / b->bound_inproc, "ratio", ">= 0.5", NULL);
	bench_row(b, PART, "host mode: time to host hello", jget(o, "hello_s"),
		  "s", NULL, "spawn, plugin load, hello on p2p.ipc");
	snprintf(note, sizeof(note), "loop thread %.1f s at the end of the sync"
		 ", the rest nng/sqlite threads and shutdown",
		 jget(o, "core_main_thread_cpu"));
	bench_row(b, PART, "host mode: core CPU", jget(o, "core_cpu"), "s",
		  NULL, note);
	bench_row(b, PART, "host mode: core peak RSS", jget(o, "core_hwm_mb"),
		  "MB", "<= 64", NULL);
	if (jget(o, "host_cpu") >= 0) {
		bench_row(b, PART, "host mode: host CPU", jget(o, "host_cpu"),
			  "s", NULL, "read from /proc at the end of the sync");
		bench_row(b, PART, "host mode: host peak RSS",
			  jget(o, "host_hwm_mb"), "MB", "<= 32", NULL);
	} else {
		bench_missing(b, PART, "host mode: host CPU and RSS",
			      "host pid not readable at the end");
	}
	snprintf(note, sizeof(note), "2 ms probe timer: %.0f stalls over 20 ms"
		 " (%.1f s in all), %.0f over 100 ms", jget(o, "loop_stalls_20ms"),
		 jget(o, "loop_stalled_s"), jget(o, "loop_stalls_100ms"));
	bench_row(b, PART, "host mode: longest core loop stall",
		  jget(o, "loop_stall_max_ms"), "ms", NULL, note);
	{
		struct json_object *lp;

		if (json_object_object_get_ex(o, "loop", &lp))
			loop_row(b, "host mode: longest core loop stretch", lp,
				 "the bench core");
	}
	bench_row(b, PART, "host mode: node.ipc calls per vertex",
		  jget(o, "node_ipc_calls") / (double)(verts - 3), "calls",
		  NULL, NULL);
	snprintf(note, sizeof(note), "host to core %.0f B, core to host %.0f B"
		 " (JSON-RPC, base64 vertices)",
		 jget(o, "node_ipc_bytes_in") / (double)(verts - 3),
		 jget(o, "node_ipc_bytes_out") / (double)(verts - 3));
	bench_row(b, PART, "host mode: node.ipc bytes per vertex",
		  (jget(o, "node_ipc_bytes_in") + jget(o, "node_ipc_bytes_out")) /
		  (double)(verts - 3), "B", NULL, note);
	snprintf(note, sizeof(note), "%.0f PUB messages (coalesced per loop "
		 "iteration)", jget(o, "events_msgs"));
	bench_row(b, PART, "host mode: events.ipc bytes per vertex",
		  jget(o, "events_bytes") / (double)(verts - 3), "B", NULL,
		  note);
	snprintf(note, sizeof(note), "%.0f on_new_vertices batches in %.0f "
		 "slices, %.0f over 20 ms; longest commit + event delivery "
		 "%.1f ms", jget(o, "intake_batches"), jget(o, "intake_slices"),
		 jget(o, "intake_slow_slices"), jget(o, "intake_max_commit_ms"));
	bench_row(b, PART, "host mode: longest intake slice",
		  jget(o, "intake_max_slice_ms"), "ms", NULL, note);
	bench_row(b, PART, "sqlite file per vertex (host-mode node)",
		  (double)file_size(dir) / (double)(verts - 3), "B", NULL,
		  "ledger.db + WAL");
	json_object_object_add(bench_detail(b, PART), "host", o);
	return 0;
}

/* --- the real daemon as the syncing node, both P2P modes ---------------- */

/* GET @path; the body (NUL-terminated, at most @cap - 1 bytes) in @out.
 * Returns the body length, or -1. */
static ssize_t http_body(unsigned port, const char *path, char *out,
			 size_t cap)
{
	struct sockaddr_in a = { 0 };
	char req[256];
	size_t got = 0;
	char *body;
	int fd, n;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	a.sin_family = AF_INET;
	a.sin_port = htons((uint16_t)port);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: 127.0.0.1"
		     "\r\nConnection: close\r\n\r\n", path);
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    write(fd, req, (size_t)n) != n) {
		close(fd);
		return -1;
	}
	for (;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 5000) != 1 || got + 1 >= cap)
			break;
		r = read(fd, out + got, cap - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	out[got] = 0;
	if (strncmp(out, "HTTP/1.1 200", 12) != 0 ||
	    !(body = strstr(out, "\r\n\r\n")))
		return -1;
	body += 4;
	memmove(out, body, strlen(body) + 1);
	return (ssize_t)strlen(out);
}

static struct json_object *http_json(unsigned port, const char *path)
{
	static char buf[1 << 20];

	if (http_body(port, path, buf, sizeof(buf)) < 0)
		return NULL;
	return json_tokener_parse(buf);
}

/* Best height of the node at @port (-1 unknown) and whether its mempool
 * is empty. */
static long long node_height(unsigned port, bool *mempool_empty)
{
	struct json_object *o = http_json(port, "/v1a/status"), *d, *bb, *h;
	long long height = -1;

	*mempool_empty = false;
	if (o && json_object_object_get_ex(o, "dag", &d) &&
	    json_object_object_get_ex(d, "best_block", &bb) &&
	    json_object_object_get_ex(bb, "height", &h))
		height = json_object_get_int64(h);
	json_object_put(o);
	if (height < 0)
		return height;
	o = http_json(port, "/v1a/mempool");
	if (o && json_object_object_get_ex(o, "transactions", &d))
		*mempool_empty = json_object_array_length(d) == 0;
	json_object_put(o);
	return height;
}

static unsigned free_port(void)
{
	struct sockaddr_in a = { 0 };
	socklen_t al = sizeof(a);
	unsigned port = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return 0;
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&a, &al) == 0)
		port = ntohs(a.sin_port);
	close(fd);
	return port;
}

/* The API port from hathor-node's "running: ... API http://H:P/v1a/"
 * log line; 0 while absent. */
static unsigned api_port_of(const char *log)
{
	char line[1024], *s;
	unsigned port = 0;
	FILE *f = fopen(log, "r");

	while (f && !port && fgets(line, sizeof(line), f))
		if (strstr(line, " running: ") &&
		    (s = strstr(line, "API http://")) &&
		    (s = strchr(s + 11, ':')))
			port = (unsigned)atoi(s + 1);
	if (f)
		fclose(f);
	return port;
}

/* The pid of @pid's hathor-p2p-host child, 0 if none. */
static pid_t host_child(pid_t pid)
{
	char p[128], comm[64];
	long long c;
	pid_t found = 0;
	FILE *f;

	snprintf(p, sizeof(p), "/proc/%d/task/%d/children", (int)pid,
		 (int)pid);
	f = fopen(p, "r");
	while (f && !found && fscanf(f, "%lld", &c) == 1) {
		FILE *g;

		snprintf(p, sizeof(p), "/proc/%lld/comm", c);
		g = fopen(p, "r");
		if (g && fgets(comm, sizeof(comm), g) &&
		    strncmp(comm, "hathor-p2p-host", 15) == 0)
			found = (pid_t)c;
		if (g)
			fclose(g);
	}
	if (f)
		fclose(f);
	return found;
}

/* Current RssAnon and RssFile + RssShmem of @pid in MB (-1 unknown). */
static void rss_split(pid_t pid, double *anon, double *file)
{
	char p[64], buf[256];
	FILE *f;

	*anon = *file = -1;
	snprintf(p, sizeof(p), "/proc/%d/status", (int)pid);
	f = fopen(p, "r");
	while (f && fgets(buf, sizeof(buf), f)) {
		if (strncmp(buf, "RssAnon:", 8) == 0)
			*anon = atof(buf + 8) / 1024.0;
		else if (strncmp(buf, "RssFile:", 8) == 0)
			*file = atof(buf + 8) / 1024.0;
	}
	if (f)
		fclose(f);
}

/* hathor-admin -s SOCK --json ARGS...: the result it prints (owned), or
 * NULL (failed, or not valid JSON).  Output in @out. */
static struct json_object *admin_json(const struct bench *b, const char *sock,
				      const char *out, const char *a1,
				      const char *a2, const char *a3)
{
	char *argv[] = { (char *)b->admin, "-s", (char *)sock, "-t", "10",
			 "--json", (char *)a1, (char *)a2, (char *)a3, NULL };
	struct proc p = { 0 };

	if (spawn(&p, argv, out) < 0 || reap(&p) < 0 ||
	    !WIFEXITED(p.status) || WEXITSTATUS(p.status) != 0)
		return NULL;
	return json_object_from_file(out);
}

/* READY peers in `hathor-admin peers` (-1: no answer). */
static int admin_ready_peers(const struct bench *b, const char *sock,
			     const char *out)
{
	struct json_object *r = admin_json(b, sock, out, "peers", NULL, NULL);
	struct json_object *p, *c, *a;
	int n = -1;

	if (r && json_object_object_get_ex(r, "peers", &p) &&
	    json_object_object_get_ex(p, "connections", &c) &&
	    json_object_object_get_ex(c, "connected_peers", &a))
		n = (int)json_object_array_length(a);
	json_object_put(r);
	return n;
}

/* The P2P host's generation in `hathor-admin plugin list` (-1: none). */
static long long admin_p2p_gen(const struct bench *b, const char *sock,
			       const char *out)
{
	struct json_object *r = admin_json(b, sock, out, "plugin", "list",
					   NULL);
	struct json_object *a, *g;
	long long gen = -1;

	if (r && json_object_object_get_ex(r, "plugins", &a))
		for (size_t i = 0; i < json_object_array_length(a); i++) {
			struct json_object *e = json_object_array_get_idx(a, i);
			struct json_object *k;

			if (json_object_object_get_ex(e, "kind", &k) &&
			    strcmp(json_object_get_string(k), "p2p") == 0 &&
			    json_object_object_get_ex(e, "gen", &g))
				gen = json_object_get_int64(g);
		}
	json_object_put(r);
	return gen;
}

/* Reload of the P2P plugin by `hathor-admin plugin reload p2p` mid-sync. */
struct dreload {
	struct proc p;                  /* the hathor-admin process */
	bool sent, verdict_ok;
	long long gen0;                 /* host generation before */
	double t_sent, t_verdict, t_ready;
	double t_new_ready;             /* new generation up with a READY
					 * peer (before the verdict) */
	double sent_at;                 /* s after the daemon's exec */
	long long height_at;
};

struct dres {
	double rate, p50, p99, max, cpu, hwm, host_cpu, host_hwm;
	double anon, file;
	size_t n, failed;
	struct json_object *loop;       /* status "loop" (owned), or NULL */
	struct dreload rl;
	bool ok;
};

/* hathor-node run as B, host mode or --p2p-mode inprocess (the same
 * p2p_sync_v2.so), syncing from the serving harness at @aport; an HTTP
 * client on B's API throughout (hclient). */
static int daemon_mode(struct bench *b, long long aport, long long verts,
		       long long height, bool inproc, bool reload,
		       struct dres *r)
{
	const char *mode = inproc ? "in-process" : "host";
	char dir[600], data[700], run[700], log[700], plugdir[600];
	char listen[64], boot[64], note[300], name[160];
	char sock[720], aout[720];
	struct proc p = { 0 };
	struct hclient hc = { 0 };
	double t_end = 0, deadline;
	unsigned api = 0, pport = free_port();
	const char *sl;
	int rc = 0;

	memset(r, 0, sizeof(*r));
	snprintf(dir, sizeof(dir), "%s/D%s", b->dir, inproc ? "inproc" :
		 reload ? "hostR" : "host");
	snprintf(data, sizeof(data), "%s/data", dir);
	snprintf(run, sizeof(run), "%s/run", dir);
	snprintf(log, sizeof(log), "%s.log", dir);
	snprintf(sock, sizeof(sock), "%s/admin.ipc", run);
	snprintf(aout, sizeof(aout), "%s.admin.json", dir);
	if (mkdir(dir, 0700) < 0 || mkdir(data, 0700) < 0)
		return -errno;
	snprintf(plugdir, sizeof(plugdir), "%s", b->plugin);
	sl = strrchr(plugdir, '/');
	if (sl)
		plugdir[sl - plugdir] = 0;
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", pport);
	snprintf(boot, sizeof(boot), "127.0.0.1:%lld", aport);
	hc.lat = malloc(HTTP_MAX * sizeof(*hc.lat));
	if (!hc.lat)
		return HN_ENOMEM;
	snprintf(hc.port_file, sizeof(hc.port_file), "%s/http.port", dir);
	snprintf(hc.done_file, sizeof(hc.done_file), "%s/sync.done", dir);
	{
		const struct hn_network *net = hn_network_by_name("unittests");
		char hex[65];

		hn_hex_encode(net->genesis_block.hash, 32, hex);
		snprintf(hc.tx_path, sizeof(hc.tx_path),
			 "/v1a/transaction?id=%s", hex);
	}
	if (pthread_create(&hc.th, NULL, hclient_run, &hc) != 0) {
		free(hc.lat);
		return HN_ENOMEM;
	}
	{
		char *argv[40] = { (char *)b->node, "run", "--network",
				   "unittests", "--data-dir", data,
				   "--runtime-dir", run, "--listen", listen,
				   "--bootstrap", boot, "--api-listen",
				   "127.0.0.1:0", "--plugin-dir", plugdir,
				   "--p2p-host-bin", (char *)b->host_bin };
		size_t n = 18;

		for (size_t i = 0; i < b->n_daemon_args; i++)
			argv[n++] = (char *)b->daemon_args[i];
		if (inproc) {
			argv[n++] = "--p2p-mode";
			argv[n++] = "inprocess";
		}
		argv[n] = NULL;
		rc = spawn(&p, argv, log);
	}
	deadline = bench_now() + (b->quick ? 60 : 1200);
	while (rc == 0 && bench_now() < deadline) {
		bool empty;
		long long h;

		if (waitpid(p.pid, &p.status, WNOHANG) == p.pid) {
			p.pid = 0;
			fprintf(stderr, "bench: hathor-node (%s) died, see %s\n",
				mode, log);
			rc = -1;
			break;
		}
		if (!api && (api = api_port_of(log)) != 0) {
			char tmp[720];
			FILE *f;

			snprintf(tmp, sizeof(tmp), "%s.tmp", hc.port_file);
			f = fopen(tmp, "w");
			if (f) {
				fprintf(f, "%u\n", api);
				if (fclose(f) == 0)
					rename(tmp, hc.port_file);
			}
		}
		if (reload && r->rl.sent && !r->rl.t_verdict) {
			/* Waiting for the verdict: poll its exit closely. */
			if (waitpid(r->rl.p.pid, &r->rl.p.status, WNOHANG) ==
			    r->rl.p.pid) {
				r->rl.t_verdict = bench_now();
				r->rl.p.pid = 0;
				r->rl.verdict_ok = WIFEXITED(r->rl.p.status) &&
					WEXITSTATUS(r->rl.p.status) == 0;
				if (!r->rl.verdict_ok) {
					fprintf(stderr, "bench: hathor-node "
						"reload failed, see %s.reload"
						"\n", dir);
					rc = -1;
					break;
				}
			}
			/* The new host serving a READY peer, seen before the
			 * verdict (the health window runs meanwhile). */
			if (!r->rl.t_new_ready && admin_p2p_gen(b, sock, aout) >
			    r->rl.gen0 && admin_ready_peers(b, sock, aout) > 0)
				r->rl.t_new_ready = bench_now();
			usleep(1000);
			continue;
		}
		if (reload && r->rl.t_verdict && !r->rl.t_ready) {
			if (admin_ready_peers(b, sock, aout) > 0)
				r->rl.t_ready = bench_now();
			else
				usleep(5000);
			continue;
		}
		if (api && (h = node_height(api, &empty)) == height && empty &&
		    (!reload || r->rl.t_ready)) {
			t_end = bench_now();
			break;
		}
		if (reload && api && !r->rl.sent && h >= height / 2) {
			char rlog[720];
			char *argv[] = { (char *)b->admin, "-s", sock, "-t",
					 "30", "plugin", "reload", "p2p", NULL };

			snprintf(rlog, sizeof(rlog), "%s.reload", dir);
			r->rl.gen0 = admin_p2p_gen(b, sock, aout);
			if (spawn(&r->rl.p, argv, rlog) < 0) {
				rc = -1;
				break;
			}
			r->rl.sent = true;
			r->rl.t_sent = r->rl.p.t0;
			r->rl.sent_at = r->rl.t_sent - p.t0;
			r->rl.height_at = h;
			continue;
		}
		usleep(50000);
	}
	if (r->rl.p.pid > 0) {
		kill(r->rl.p.pid, SIGTERM);
		reap(&r->rl.p);
	}
	if (rc == 0 && !t_end) {
		fprintf(stderr, "bench: hathor-node (%s) did not sync in time, "
			"see %s\n", mode, log);
		rc = -1;
	}
	if (rc == 0) {
		pid_t hp = inproc ? 0 : host_child(p.pid);
		FILE *df = fopen(hc.done_file, "w");

		if (df)
			fclose(df);
		bench_proc_usage(p.pid, &r->cpu, &r->hwm);
		rss_split(p.pid, &r->anon, &r->file);
		if (b->admin) {
			struct json_object *st = admin_json(b, sock, aout,
							    "status", NULL,
							    NULL), *lp;

			if (st && json_object_object_get_ex(st, "loop", &lp))
				r->loop = json_object_get(lp);
			json_object_put(st);
		}
		r->host_cpu = r->host_hwm = -1;
		if (hp && !bench_proc_usage(hp, &r->host_cpu, &r->host_hwm))
			r->host_cpu = r->host_hwm = -1;
	}
	hc.stop = true;
	pthread_join(hc.th, NULL);
	if (p.pid > 0) {
		kill(p.pid, SIGTERM);
		reap(&p);
	}
	if (rc < 0) {
		free(hc.lat);
		return rc;
	}
	r->ok = true;
	r->rate = (double)(verts - 3) / (t_end - p.t0);
	r->n = hc.n;
	r->failed = hc.failed;
	if (hc.n) {
		bench_median(hc.lat, hc.n);     /* sorts */
		r->p50 = bench_pct(hc.lat, hc.n, 50) * 1e3;
		r->p99 = bench_pct(hc.lat, hc.n, 99) * 1e3;
		r->max = hc.lat[hc.n - 1] * 1e3;
	}
	free(hc.lat);
	if (reload) {
		snprintf(note, sizeof(note), "`hathor-admin plugin reload p2p`"
			 " (same .so) sent %.1f s after exec at height %lld of "
			 "%lld; includes hathor-admin's own start", r->rl.sent_at,
			 r->rl.height_at, height);
		bench_row(b, PART, "hathor-node reload mid-sync: command to "
			  "verdict", (r->rl.t_verdict - r->rl.t_sent) * 1e3, "ms",
			  NULL, note);
		if (r->rl.t_new_ready)
			bench_row(b, PART, "hathor-node reload mid-sync: command "
				  "to a READY peer on the new host",
				  (r->rl.t_new_ready - r->rl.t_sent) * 1e3, "ms",
				  NULL, "`hathor-admin plugin list` shows the new "
				  "gen and `peers` a READY peer, before the "
				  "verdict (the --reload-health-ms window)");
		bench_row(b, PART, "hathor-node reload mid-sync: verdict to a "
			  "READY peer", (r->rl.t_ready - r->rl.t_verdict) * 1e3,
			  "ms", "<= 1000", "`hathor-admin peers` polled every 5 ms");
		snprintf(note, sizeof(note), "of %zu at 100/s, the whole run; "
			 "p99 %.1f ms, max %.1f ms", r->n + r->failed, r->p99,
			 r->max);
		bench_row(b, PART, "hathor-node reload mid-sync: failed HTTP "
			  "requests", (double)r->failed, "requests", "0", note);
		snprintf(note, sizeof(note), "all %lld vertices in %.1f s from "
			 "exec", verts - 3, t_end - p.t0);
		bench_row(b, PART, "hathor-node reload mid-sync: sync completed",
			  r->rate, "vertices/s", NULL, note);
		return 0;
	}
	snprintf(name, sizeof(name), "hathor-node %s mode: sync throughput",
		 mode);
	snprintf(note, sizeof(note), "%lld blocks + %lld txs in %.1f s from "
		 "exec (daemon start included), p2p_sync_v2.so %s",
		 height, verts - 3 - height, t_end - p.t0,
		 inproc ? "in the core (--p2p-mode inprocess)" :
		 "in hathor-p2p-host");
	bench_row(b, PART, name, r->rate, "vertices/s", NULL, note);
	if (b->bound_inproc > 0) {
		snprintf(name, sizeof(name), "hathor-node %s mode / bound in "
			 "process", mode);
		bench_row(b, PART, name, r->rate / b->bound_inproc, "ratio",
			  ">= 0.5", NULL);
	}
	snprintf(name, sizeof(name), "hathor-node %s mode: HTTP p50 / p99 / "
		 "max during sync", mode);
	snprintf(note, sizeof(note), "p50 %.2f ms, max %.1f ms; %zu requests "
		 "at 100/s, %zu failed", r->p50, r->max, r->n + r->failed,
		 r->failed);
	bench_row(b, PART, name, r->p99, "ms (p99)", inproc ? NULL : "<= 20",
		  note);
	snprintf(name, sizeof(name), "hathor-node %s mode: node CPU / peak "
		 "RSS", mode);
	{
		char args[120] = "default --cache-size";
		size_t o = 0;

		for (size_t i = 0; i < b->n_daemon_args && o < sizeof(args);
		     i++)
			o += (size_t)snprintf(args + o, sizeof(args) - o, "%s%s",
					      i ? " " : "", b->daemon_args[i]);
		snprintf(note, sizeof(note), "CPU %.2f s at the end of the sync"
			 "%s; RSS then %.1f MB anonymous + %.1f MB file "
			 "(ledger.db mmap), %s", r->cpu, inproc ?
			 ", plugin included" : ", core only", r->anon, r->file,
			 args);
	}
	bench_row(b, PART, name, r->hwm, "MB", "<= 64", note);
	if (!inproc && r->host_cpu >= 0) {
		snprintf(note, sizeof(note), "CPU %.2f s", r->host_cpu);
		bench_row(b, PART, "hathor-node host mode: hathor-p2p-host peak"
			  " RSS", r->host_hwm, "MB", "<= 32", note);
	}
	if (r->loop) {
		snprintf(name, sizeof(name), "hathor-node %s mode: longest loop "
			 "stretch", mode);
		loop_row(b, name, r->loop, "`hathor-admin status`");
		snprintf(name, sizeof(name), "daemon_%s_loop", inproc ?
			 "inproc" : "host");
		json_object_object_add(bench_detail(b, PART), name,
				       json_object_get(r->loop));
	}
	return 0;
}

int bench_sync(struct bench *b)
{
	char chain[700], da[600], db[600], sta[700], stb[700], log[700];
	char port_arg[64], until[32], timeout[32];
	struct proc imp, pa = { 0 }, pb = { 0 };
	struct json_object *d = bench_detail(b, PART);
	long long height, verts, port = 0;
	double t0, el, rate;
	char note[200];
	int rc;

	if (!b->harness || !b->import || !b->chaingen) {
		bench_missing(b, PART, "in-process sync", "p2p_harness, "
			      "hathor-import or hathor-chaingen not built");
		return 0;
	}
	rc = chain_file(b, chain, sizeof(chain));
	if (rc < 0)
		return rc;
	snprintf(da, sizeof(da), "%s/A", b->dir);
	snprintf(db, sizeof(db), "%s/B", b->dir);
	snprintf(sta, sizeof(sta), "%s/A.status", b->dir);
	snprintf(stb, sizeof(stb), "%s/B.status", b->dir);
	if (mkdir(da, 0700) < 0 || mkdir(db, 0700) < 0)
		return -errno;

	/* 1. import into A */
	snprintf(log, sizeof(log), "%s/import.log", b->dir);
	{
		char *argv[] = { (char *)b->import, "--data-dir", da, chain,
				 NULL };

		rc = run(argv, log, &imp);
	}
	if (rc < 0)
		return rc;

	/* 2. A serves */
	snprintf(log, sizeof(log), "%s/A.log", b->dir);
	{
		char *argv[] = { (char *)b->harness, "--data-dir", da,
				 "--listen", "127.0.0.1:0", "--status-file",
				 sta, "--run-for", "3600", NULL };

		rc = spawn(&pa, argv, log);
	}
	if (rc < 0)
		return rc;
	t0 = bench_now();
	while (bench_now() - t0 < 30) {
		port = status_get(sta, "port");
		if (port > 0)
			break;
		usleep(20000);
	}
	height = status_get(sta, "height");
	verts = status_get(sta, "vertices");
	if (port <= 0 || height <= 0) {
		fprintf(stderr, "bench: serving harness did not come up\n");
		rc = -1;
		goto out;
	}
	rate = (double)(verts - 3) / (imp.t1 - imp.t0);
	snprintf(note, sizeof(note), "%lld vertices, hathor-import, every "
		 "vertex fully verified, one process", verts - 3);
	bench_row(b, PART, "import rate (full verification)", rate,
		  "vertices/s", NULL, note);
	if (b->bound_inproc > 0)
		bench_row(b, PART, "import rate / bound in process",
			  rate / b->bound_inproc, "ratio", NULL, NULL);

	if (b->daemon_only)
		goto daemons;
	/* 3. B syncs from empty */
	snprintf(port_arg, sizeof(port_arg), "127.0.0.1:%lld", port);
	snprintf(until, sizeof(until), "%lld", height);
	snprintf(timeout, sizeof(timeout), "%d", b->quick ? 30 : 1200);
	snprintf(log, sizeof(log), "%s/B.log", b->dir);
	{
		char *argv[] = { (char *)b->harness, "--data-dir", db,
				 "--bootstrap", port_arg, "--status-file", stb,
				 "--until-height", until, "--until-mempool",
				 "0", "--timeout", timeout, NULL };

		rc = spawn(&pb, argv, log);
	}
	if (rc < 0 || (rc = reap(&pb)) < 0)
		goto out;
	if (!WIFEXITED(pb.status) || WEXITSTATUS(pb.status) != 0) {
		fprintf(stderr, "bench: syncing harness failed (status %d), "
			"see %s\n", pb.status, log);
		rc = -1;
		goto out;
	}
	if (status_get(stb, "vertices") != verts) {
		fprintf(stderr, "bench: B has %lld vertices, A %lld\n",
			status_get(stb, "vertices"), verts);
		rc = -1;
		goto out;
	}
	el = pb.t1 - pb.t0;
	rate = (double)(verts - 3) / el;
	snprintf(note, sizeof(note), "%lld blocks + %lld txs in %.1f s, "
		 "p2p_harness --data-dir (engine in process, real ledger)",
		 height, verts - 3 - height, el);
	bench_row(b, PART, "in-process sync throughput", rate, "vertices/s",
		  NULL, note);
	if (b->bound_inproc > 0)
		bench_row(b, PART, "in-process sync / bound in process",
			  rate / b->bound_inproc, "ratio", ">= 0.5", NULL);
	bench_row(b, PART, "in-process syncing node CPU", cpu_s(&pb.ru), "s",
		  NULL, NULL);
	bench_row(b, PART, "in-process syncing node peak RSS",
		  (double)pb.ru.ru_maxrss / 1024.0, "MB", "<= 64", NULL);
	bench_row(b, PART, "sqlite file per vertex (synced node)",
		  (double)file_size(db) / (double)(verts - 3), "B", NULL,
		  "ledger.db + WAL");
	b->sync_inproc = rate;
	json_object_object_add(d, "vertices", json_object_new_int64(verts - 3));
	json_object_object_add(d, "height", json_object_new_int64(height));
	json_object_object_add(d, "seconds", json_object_new_double(el));
	json_object_object_add(d, "chain", json_object_new_string(chain));
	rc = host_mode(b, port, verts, height, false);
	if (rc == 0)
		rc = host_mode(b, port, verts, height, true);
daemons:
	if (rc == 0 && b->node && b->host_bin && b->plugin) {
		struct dres dh = { 0 }, di = { 0 }, dr = { 0 };

		rc = daemon_mode(b, port, verts, height, false, false, &dh);
		if (rc == 0)
			rc = daemon_mode(b, port, verts, height, true, false,
					 &di);
		if (rc == 0 && b->admin)
			rc = daemon_mode(b, port, verts, height, false, true,
					 &dr);
		else if (rc == 0)
			bench_missing(b, PART, "hathor-node reload mid-sync",
				      "hathor-admin not built");
		json_object_put(dh.loop);
		json_object_put(di.loop);
		json_object_put(dr.loop);
		if (rc == 0) {
			bench_row(b, PART, "hathor-node host / in-process sync "
				  "throughput", dh.rate / di.rate, "ratio",
				  ">= 0.9", "same p2p_sync_v2.so, same chain, "
				  "same serving node");
			if (di.p99 > 0)
				bench_row(b, PART, "hathor-node host / in-process"
					  " HTTP p99 during sync",
					  dh.p99 / di.p99, "ratio", NULL,
					  "below 1: host mode answers faster");
		}
	} else if (rc == 0) {
		bench_missing(b, PART, "hathor-node host vs in-process",
			      "hathor-node, hathor-p2p-host or p2p_sync_v2.so "
			      "not built");
	}
out:
	if (pa.pid > 0) {
		kill(pa.pid, SIGTERM);
		if (reap(&pa) == 0) {
			bench_row(b, PART, "serving node CPU (whole run)",
				  cpu_s(&pa.ru), "s", NULL, NULL);
			bench_row(b, PART, "serving node peak RSS",
				  (double)pa.ru.ru_maxrss / 1024.0, "MB",
				  NULL, NULL);
		}
	}
	if (pb.pid > 0) {
		kill(pb.pid, SIGTERM);
		reap(&pb);
	}
	return rc;
}
