/*
 * p2p_harness.c: runs the P2P engine in-process on a libev loop with the
 * in-memory node service (memnode.c), for interop tests against the
 * reference node and for handshake/sync tests between two of our engines.
 *
 * Usage: p2p_harness [--network NAME] [--listen HOST:PORT] [--bootstrap
 *   HOST:PORT]... [--no-tls] [--identity FILE] [--entrypoint tcp://H:P]
 *   [--load FILE] [--dump FILE] [--status-file FILE] [--until-best HEX]
 *   [--until-height N] [--until-mempool N] [--until-ready N]
 *   [--timeout S] [--run-for S] [--data-dir DIR] [--push-dir DIR]
 * --data-dir uses the real core ledger (sqlite, full verification) in DIR
 * instead of the in-memory node service (only when built with the core).
 * --push-dir: every tick, each DIR/NAME.hex (one vertex in hex) is given to
 * the node service as a locally pushed vertex and, when accepted, relayed
 * with p2p_send_tx_to_peers (like push_tx); the file is then renamed to
 * NAME.ok or NAME.err (with the reason appended).
 * Exit status: 0 when the --until conditions hold (or --run-for elapsed),
 * 1 on timeout, 2 on bad usage or setup failure.
 * The status file is rewritten every 0.5 s with one line:
 *   height=H best=HEX vertices=N mempool=M ready=R synced=0|1 port=P
 */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>
#include <json-c/json.h>

#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"
#ifdef HN_HARNESS_LEDGER
#include "ledger.h"
#include "ledgernode.h"
#endif
#include "memnode.h"
#include "p2p.h"
#include "testenv.h"

static struct {
	struct ev_loop *loop;
	struct p2p *p2p;
	struct memnode mn;
	const char *status_file;
	const char *dump_file;
	bool have_until_best;
	uint8_t until_best[32];
	long until_height;
	long until_mempool;
	long until_ready;
	double deadline;
	double run_until;
	int exit_code;
	uint16_t port;
	struct hn_ledger *ledger;       /* --data-dir: the real core */
	struct testenv *te;
	const char *push_dir;
} H = { .until_height = -1, .until_mempool = -1, .until_ready = -1 };

static void node_best(uint64_t *h, uint8_t best[32])
{
#ifdef HN_HARNESS_LEDGER
	if (H.ledger) {
		ledgernode_best(H.ledger, h, best);
		return;
	}
#endif
	memnode_best(&H.mn, h, best);
}

static size_t node_count(void)
{
#ifdef HN_HARNESS_LEDGER
	if (H.ledger)
		return ledgernode_count(H.ledger);
#endif
	return memnode_count(&H.mn);
}

static size_t node_mempool(void)
{
#ifdef HN_HARNESS_LEDGER
	if (H.ledger)
		return ledgernode_mempool(H.ledger);
#endif
	return memnode_mempool(&H.mn);
}

static void usage(void)
{
	fprintf(stderr, "usage: p2p_harness [--network NAME] [--listen H:P] "
		"[--bootstrap H:P]... [--no-tls] [--identity FILE] "
		"[--entrypoint URL] [--load FILE] [--dump FILE] "
		"[--status-file FILE] [--until-best HEX] [--until-height N] "
		"[--until-mempool N] [--until-ready N] [--timeout S] "
		"[--run-for S] [--data-dir DIR] [--push-dir DIR]\n");
	exit(2);
}

static int load_file(const char *path)
{
	FILE *f = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int count = 0;

	if (!f) {
		fprintf(stderr, "cannot open '%s': %s\n", path,
			strerror(errno));
		return -1;
	}
	while ((n = getline(&line, &cap, f)) > 0) {
		uint8_t *buf;
		size_t len;

		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n == 0)
			continue;
		buf = malloc((size_t)n / 2 + 1);
		if (hn_hex_decode(line, buf, (size_t)n / 2 + 1, &len) == 0 &&
		    memnode_add(&H.mn, buf, len) == P2P_ADD_ACCEPTED)
			count++;
		free(buf);
	}
	free(line);
	fclose(f);
	return count;
}

static void dump_one(void *arg, const uint8_t *bytes, size_t len)
{
	FILE *f = arg;
	char *hex = malloc(len * 2 + 1);

	hn_hex_encode(bytes, len, hex);
	fprintf(f, "%s\n", hex);
	free(hex);
}

static void dump(void)
{
	FILE *f = fopen(H.dump_file, "w");

	if (!f) {
		fprintf(stderr, "cannot write '%s'\n", H.dump_file);
		return;
	}
	memnode_foreach(&H.mn, dump_one, f);
	fclose(f);
}

static bool any_synced(void)
{
	return p2p_has_synced_peer(H.p2p);
}

static void write_status(void)
{
	uint64_t h;
	uint8_t best[32];
	char hex[65];
	FILE *f;
	char tmp[4096];

	node_best(&h, best);
	hn_hex_encode(best, 32, hex);
	if (!H.status_file)
		return;
	snprintf(tmp, sizeof(tmp), "%s.tmp", H.status_file);
	f = fopen(tmp, "w");
	if (!f)
		return;
	fprintf(f, "height=%llu best=%s vertices=%zu mempool=%zu ready=%u "
		"synced=%d port=%u\n", (unsigned long long)h, hex,
		node_count(), node_mempool(),
		p2p_n_ready(H.p2p), any_synced(), H.port);
	fclose(f);
	rename(tmp, H.status_file);
}

static bool conditions_met(void)
{
	uint64_t h;
	uint8_t best[32];

	if (!H.have_until_best && H.until_height < 0 && H.until_mempool < 0 &&
	    H.until_ready < 0)
		return false;
	node_best(&h, best);
	if (H.have_until_best && memcmp(best, H.until_best, 32) != 0)
		return false;
	if (H.until_height >= 0 && (long)h < H.until_height)
		return false;
	if (H.until_mempool >= 0 && (long)node_mempool() <
	    H.until_mempool)
		return false;
	if (H.until_ready >= 0 && (long)p2p_n_ready(H.p2p) < H.until_ready)
		return false;
	return true;
}

struct push_job {
	char base[1024];        /* DIR/NAME without the extension */
	uint8_t *bytes;
	size_t len;
};

static void push_done(void *arg, int rc, size_t n,
		      const enum p2p_add_result *res, const char *msg)
{
	struct push_job *j = arg;
	char from[1040], to[1040];
	bool ok = rc == 0 && n == 1 && res[0] == P2P_ADD_ACCEPTED;
	FILE *f;

	if (ok && p2p_send_tx_to_peers(H.p2p, j->bytes, j->len) < 0)
		ok = false;
	snprintf(from, sizeof(from), "%s.pushing", j->base);
	snprintf(to, sizeof(to), "%s.%s", j->base, ok ? "ok" : "err");
	if (!ok) {
		f = fopen(from, "a");
		if (f) {
			fprintf(f, "\nrc=%d n=%zu result=%d %s\n", rc, n,
				n ? (int)res[0] : -1, msg ? msg : "");
			fclose(f);
		}
	}
	rename(from, to);
	fprintf(stderr, "p2p_harness: pushed %s: %s\n", j->base,
		ok ? "accepted and relayed" : "refused");
	free(j->bytes);
	free(j);
}

/* @base is DIR/NAME; DIR/NAME.hex is renamed to .pushing while the node
 * handles it, so a deferred answer does not get it pushed twice. */
static void push_one(const char *base)
{
	struct push_job *j = calloc(1, sizeof(*j));
	enum p2p_add_result bad = P2P_ADD_INVALID;
	char from[1040], to[1040];
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = -1;
	FILE *f;

	if (!j)
		return;
	snprintf(j->base, sizeof(j->base), "%s", base);
	snprintf(from, sizeof(from), "%s.hex", base);
	snprintf(to, sizeof(to), "%s.pushing", base);
	if (rename(from, to) < 0) {
		free(j);
		return;
	}
	f = fopen(to, "r");
	if (f) {
		n = getline(&line, &cap, f);
		fclose(f);
	}
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	if (n > 0)
		j->bytes = malloc((size_t)n / 2 + 1);
	if (!j->bytes || hn_hex_decode(line, j->bytes, (size_t)n / 2 + 1,
				       &j->len) < 0) {
		free(line);
		push_done(j, HN_EPARSE, 1, &bad, "not hex");
		return;
	}
	free(line);
	if (H.te->env.node->add_vertices(H.te->env.ctx, P2P_ADD_RELAY, 1,
					 (const uint8_t *const *)&j->bytes,
					 &j->len, push_done, j) < 0)
		push_done(j, HN_EINVAL, 1, &bad, "add_vertices failed");
}

static void scan_push_dir(void)
{
	DIR *d = opendir(H.push_dir);
	struct dirent *e;
	char path[1024];

	if (!d)
		return;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);

		if (l < 5 || strcmp(e->d_name + l - 4, ".hex"))
			continue;
		snprintf(path, sizeof(path), "%s/%.*s", H.push_dir,
			 (int)(l - 4), e->d_name);
		push_one(path);
	}
	closedir(d);
}

static void tick_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	double now = ev_now(loop);

	(void)w;
	(void)revents;
	if (H.push_dir)
		scan_push_dir();
	write_status();
	if (conditions_met()) {
		H.exit_code = 0;
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	if (H.run_until > 0 && now >= H.run_until) {
		H.exit_code = 0;
		ev_break(loop, EVBREAK_ALL);
		return;
	}
	if (H.deadline > 0 && now >= H.deadline) {
		fprintf(stderr, "p2p_harness: timeout\n");
		H.exit_code = 1;
		ev_break(loop, EVBREAK_ALL);
	}
}

static void sig_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	(void)w;
	(void)revents;
	H.exit_code = 0;
	ev_break(loop, EVBREAK_ALL);
}

int main(int argc, char **argv)
{
	const char *network = "unittests", *listen_addr = NULL;
	const char *identity = NULL, *load = NULL, *data_dir = NULL;
	const char *boot[16], *eps[8];
	size_t n_boot = 0, n_eps = 0;
	struct p2p_config cfg = { 0 };
	struct testenv te;
	char err[256];
	double timeout = 0, run_for = 0;
	ev_timer tick;
	ev_signal sterm, sint;
	int i, rc;

	cfg.use_tls = true;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!strcmp(a, "--no-tls")) {
			cfg.use_tls = false;
			continue;
		}
		if (!strcmp(a, "--discover")) {
			cfg.discover = true;
			continue;
		}
		if (!v)
			usage();
		i++;
		if (!strcmp(a, "--network"))
			network = v;
		else if (!strcmp(a, "--listen"))
			listen_addr = v;
		else if (!strcmp(a, "--bootstrap") && n_boot < 16)
			boot[n_boot++] = v;
		else if (!strcmp(a, "--entrypoint") && n_eps < 8)
			eps[n_eps++] = v;
		else if (!strcmp(a, "--identity"))
			identity = v;
		else if (!strcmp(a, "--data-dir"))
			data_dir = v;
		else if (!strcmp(a, "--push-dir"))
			H.push_dir = v;
		else if (!strcmp(a, "--load"))
			load = v;
		else if (!strcmp(a, "--dump"))
			H.dump_file = v;
		else if (!strcmp(a, "--status-file"))
			H.status_file = v;
		else if (!strcmp(a, "--until-best")) {
			if (hn_hex_to_hash(v, H.until_best) < 0)
				usage();
			H.have_until_best = true;
		} else if (!strcmp(a, "--until-height"))
			H.until_height = atol(v);
		else if (!strcmp(a, "--until-mempool"))
			H.until_mempool = atol(v);
		else if (!strcmp(a, "--until-ready"))
			H.until_ready = atol(v);
		else if (!strcmp(a, "--timeout"))
			timeout = atof(v);
		else if (!strcmp(a, "--run-for"))
			run_for = atof(v);
		else
			usage();
	}
	cfg.net = hn_network_by_name(network);
	if (!cfg.net) {
		fprintf(stderr, "unknown network '%s'\n", network);
		return 2;
	}
	cfg.identity_path = identity;
	cfg.entrypoints = eps;
	cfg.n_entrypoints = n_eps;
	cfg.app = "hathor-node-harness v0.1.0";
	H.loop = ev_default_loop(0);
	memnode_init(&H.mn, H.loop, cfg.net);
	if (load) {
		rc = load_file(load);
		if (rc < 0)
			return 2;
		fprintf(stderr, "p2p_harness: loaded %d vertices\n", rc);
	}
	if (data_dir) {
#ifdef HN_HARNESS_LEDGER
		if (ledgernode_open(data_dir, cfg.net, &H.ledger, err,
				    sizeof(err)) < 0) {
			fprintf(stderr, "cannot open the ledger in '%s': %s\n",
				data_dir, err);
			return 2;
		}
		testenv_init(&te, H.loop, &ledgernode_ops, H.ledger,
			     "[harness]");
#else
		fprintf(stderr, "--data-dir: built without the core\n");
		return 2;
#endif
	} else {
		testenv_init(&te, H.loop, &memnode_ops, &H.mn, "[harness]");
	}
	H.te = &te;
	rc = p2p_new(&te.env, &cfg, &H.p2p, err, sizeof(err));
	if (rc < 0) {
		fprintf(stderr, "p2p_new: %s\n", err);
		return 2;
	}
	if (listen_addr) {
		char host[128];
		const char *colon = strrchr(listen_addr, ':');

		if (!colon || (size_t)(colon - listen_addr) >= sizeof(host))
			usage();
		memcpy(host, listen_addr, (size_t)(colon - listen_addr));
		host[colon - listen_addr] = '\0';
		rc = p2p_listen(H.p2p, host, (uint16_t)atoi(colon + 1),
				&H.port);
		if (rc < 0) {
			fprintf(stderr, "cannot listen on %s: %s\n",
				listen_addr, hn_strerror(rc));
			return 2;
		}
		printf("LISTEN port=%u peer_id=%s\n", H.port,
		       p2p_my_peer_id(H.p2p));
		fflush(stdout);
	}
	for (size_t k = 0; k < n_boot; k++)
		if (p2p_add_peer(H.p2p, boot[k]) < 0)
			return 2;
	p2p_start(H.p2p);
	if (timeout > 0)
		H.deadline = ev_now(H.loop) + timeout;
	if (run_for > 0)
		H.run_until = ev_now(H.loop) + run_for;
	H.exit_code = 1;
	ev_timer_init(&tick, tick_cb, 0.2, 0.5);
	ev_timer_start(H.loop, &tick);
	ev_signal_init(&sterm, sig_cb, SIGTERM);
	ev_signal_start(H.loop, &sterm);
	ev_signal_init(&sint, sig_cb, SIGINT);
	ev_signal_start(H.loop, &sint);
	ev_run(H.loop, 0);
	write_status();
	if (H.dump_file && !H.ledger)
		dump();
	{
		uint64_t h;
		uint8_t best[32];
		char hex[65];

		node_best(&h, best);
		hn_hex_encode(best, 32, hex);
		printf("RESULT %s height=%llu best=%s vertices=%zu mempool=%zu "
		       "calls=%lu\n", H.exit_code ? "FAIL" : "OK",
		       (unsigned long long)h, hex, node_count(),
		       node_mempool(), H.mn.n_calls);
	}
	ev_timer_stop(H.loop, &tick);
	ev_signal_stop(H.loop, &sterm);
	ev_signal_stop(H.loop, &sint);
	p2p_free(H.p2p);
	memnode_release(&H.mn);
#ifdef HN_HARNESS_LEDGER
	hn_ledger_close(H.ledger);
#endif
	if (te.n_io || te.n_timers)
		fprintf(stderr, "p2p_harness: leaked %d io, %d timers\n",
			te.n_io, te.n_timers);
	return H.exit_code;
}
