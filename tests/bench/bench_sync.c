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
	bench_missing(b, PART, "in-process mode: HTTP latency during sync",
		      "hathor-node has no in-process P2P mode to serve HTTP "
		      "beside a sync");
	bench_row(b, PART, "sqlite file per vertex (host-mode node)",
		  (double)file_size(dir) / (double)(verts - 3), "B", NULL,
		  "ledger.db + WAL");
	json_object_object_add(bench_detail(b, PART), "host", o);
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
