/*
 * hathor-chaingen: writes a valid test chain (tk_chaingen_run) to a vertex
 * file and/or straight into a node data dir.  See docs/tools.md.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"
#include "ledger.h"
#include "tk.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: hathor-chaingen [--network NAME] --blocks N "
		"[--txs M] [--tokens K]\n"
		"                      [--seed S] [--spacing SECONDS] "
		"[--start-time UNIX]\n"
		"                      (--out FILE | --data-dir DIR | both) "
		"[--quiet] [--threads N]\n"
		"                      [--fork-height H --fork-blocks K "
		"[--fork-txs T] [--fork-out FILE]\n"
		"                       [--fork-double-spend]]\n");
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!*s || *s == '-')
		return -1;
	*out = strtoull(s, &end, 0);
	return *end ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "network", required_argument, NULL, 'n' },
		{ "blocks", required_argument, NULL, 'b' },
		{ "txs", required_argument, NULL, 't' },
		{ "tokens", required_argument, NULL, 'k' },
		{ "seed", required_argument, NULL, 's' },
		{ "spacing", required_argument, NULL, 'p' },
		{ "start-time", required_argument, NULL, 'T' },
		{ "fork-height", required_argument, NULL, 'F' },
		{ "fork-blocks", required_argument, NULL, 'B' },
		{ "fork-txs", required_argument, NULL, 'X' },
		{ "fork-out", required_argument, NULL, 'O' },
		{ "fork-double-spend", no_argument, NULL, 'D' },
		{ "out", required_argument, NULL, 'o' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "threads", required_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *network = "unittests", *out = NULL, *dir = NULL;
	const char *fork_out = NULL;
	struct tk_vfile_writer fw = { 0 };
	int lock_fd = -1;
	struct tk_chaingen_opts o = { 0 };
	struct tk_chaingen_stats st;
	struct tk_vfile_writer w = { 0 };
	struct hn_ledger *l = NULL;
	struct hn_error err = { 0 };
	uint64_t v;
	bool have_blocks = false;
	struct timespec t0, t1;
	char hex[65];
	int c, rc;

	while ((c = getopt_long(argc, argv, "hq", lopts, NULL)) != -1) {
		if (c == 'h') {
			usage(stdout);
			return 0;
		}
		if (c == 'O') {
			fork_out = optarg;
			continue;
		}
		if (c == 'D') {
			o.fork_double_spend = true;
			continue;
		}
		if (c == 'n' || c == 'o' || c == 'd' || c == 'q') {
			if (c == 'n')
				network = optarg;
			else if (c == 'o')
				out = optarg;
			else if (c == 'd')
				dir = optarg;
			else
				o.quiet = true;
			continue;
		}
		if (c == '?' || parse_u64(optarg, &v) < 0) {
			if (c != '?')
				fprintf(stderr, "hathor-chaingen: bad number "
					"'%s'\n", optarg);
			usage(stderr);
			return 2;
		}
		switch (c) {
		case 'b': o.n_blocks = v; have_blocks = true; break;
		case 't': o.n_txs = v; break;
		case 'k': o.n_tokens = v; break;
		case 's': o.seed = v; break;
		case 'p': o.spacing = (uint32_t)v; break;
		case 'T': o.start_time = (uint32_t)v; break;
		case 'j': o.threads = (unsigned)v; break;
		case 'F': o.fork_height = v; break;
		case 'B': o.fork_blocks = v; break;
		case 'X': o.fork_txs = v; break;
		default: break;
		}
	}
	if (optind != argc || !have_blocks || (!out && !dir)) {
		usage(stderr);
		return 2;
	}
	o.net = hn_network_by_name(network);
	if (!o.net) {
		fprintf(stderr, "hathor-chaingen: unknown network %s\n",
			network);
		return 2;
	}
	if (out) {
		if (tk_vfile_create(&w, out, o.net->name, &err) < 0)
			goto fail;
		o.out = &w;
	}
	if (fork_out) {
		if (tk_vfile_create(&fw, fork_out, o.net->name, &err) < 0)
			goto fail;
		o.fork_out = &fw;
	}
	if (dir) {
		if (tk_lock_data_dir(dir, &lock_fd, &err) < 0 ||
		    tk_open_data_dir(dir, o.net, true, true, &l, &err) < 0)
			goto fail;
		o.ledger = l;
	}
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rc = tk_chaingen_run(&o, &st, &err);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	if (rc < 0)
		goto fail;
	if (out && tk_vfile_close(&w, &err) < 0)
		goto fail;
	if (fork_out && tk_vfile_close(&fw, &err) < 0)
		goto fail;
	hn_ledger_close(l);
	hn_hex_encode(st.best, 32, hex);
	printf("blocks %llu txs %llu tokens %llu hashes %llu seconds %.2f\n"
	       "best %s last_timestamp %u\n",
	       (unsigned long long)st.blocks, (unsigned long long)st.txs,
	       (unsigned long long)st.tokens, (unsigned long long)st.hashes,
	       (double)(t1.tv_sec - t0.tv_sec) +
	       (double)(t1.tv_nsec - t0.tv_nsec) / 1e9, hex,
	       st.last_timestamp);
	if (o.fork_blocks) {
		hn_hex_encode(st.fork_best, 32, hex);
		printf("fork blocks %llu txs %llu best %s\n",
		       (unsigned long long)st.fork_blocks,
		       (unsigned long long)st.fork_txs, hex);
	}
	return 0;
fail:
	fprintf(stderr, "hathor-chaingen: %s\n", err.msg);
	if (w.f)
		tk_vfile_close(&w, NULL);
	if (fw.f)
		tk_vfile_close(&fw, NULL);
	hn_ledger_close(l);
	return 1;
}
