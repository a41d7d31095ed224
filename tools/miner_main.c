/*
 * hathor-miner: CPU miner for test networks over the node's HTTP API
 * (get_block_template / submit_block).  See docs/tools.md.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"
#include "tk.h"

static volatile int stop_flag;

static void on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hathor-miner --api URL [--blocks N] "
		"[--address ADDR] [--historic|--live]\n"
		"                    [--catch-up] [--spacing SECONDS] "
		"[--network NAME] [--timeout SECONDS] [--quiet]\n"
		"  URL: http://host:port of the node's HTTP API; --blocks 0 "
		"mines until SIGINT\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "api", required_argument, NULL, 'a' },
		{ "blocks", required_argument, NULL, 'b' },
		{ "address", required_argument, NULL, 'A' },
		{ "historic", no_argument, NULL, 'H' },
		{ "live", no_argument, NULL, 'L' },
		{ "catch-up", no_argument, NULL, 'C' },
		{ "spacing", required_argument, NULL, 's' },
		{ "network", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct tk_miner_opts o = { 0 };
	struct tk_miner_stats st;
	struct hn_error err = { 0 };
	const char *network = "unittests";
	struct sigaction sa = { 0 };
	char *end;
	char hex[65];
	int c, rc;

	o.blocks = 1;
	while ((c = getopt_long(argc, argv, "hq", lopts, NULL)) != -1) {
		switch (c) {
		case 'a': o.api = optarg; break;
		case 'A': o.address = optarg; break;
		case 'H': o.mode = TK_MINE_HISTORIC; break;
		case 'L': o.mode = TK_MINE_LIVE; break;
		case 'C': o.catch_up = true; break;
		case 'n': network = optarg; break;
		case 'q': o.quiet = true; break;
		case 'b':
		case 's':
		case 't': {
			unsigned long long v = strtoull(optarg, &end, 10);

			if (*end || !*optarg || *optarg == '-') {
				usage(stderr);
				return 2;
			}
			if (c == 'b')
				o.blocks = v;
			else if (c == 's')
				o.spacing = (uint32_t)v;
			else
				o.timeout_s = (unsigned)v;
			break;
		}
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!o.api || optind != argc) {
		usage(stderr);
		return 2;
	}
	o.net = hn_network_by_name(network);
	if (!o.net) {
		fprintf(stderr, "hathor-miner: unknown network %s\n", network);
		return 2;
	}
	sa.sa_handler = on_signal;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	o.stop = &stop_flag;
	rc = tk_miner_run(&o, &st, &err);
	hn_hex_encode(st.last_hash, 32, hex);
	fprintf(stderr, "hathor-miner: mined %llu (historic %llu, catch-up "
		"%llu), rejected %llu, hashes %llu; last height %llu %s\n",
		(unsigned long long)st.mined, (unsigned long long)st.historic,
		(unsigned long long)st.caught_up,
		(unsigned long long)st.rejected,
		(unsigned long long)st.hashes,
		(unsigned long long)st.last_height, hex);
	if (rc < 0 && !(stop_flag && rc == HN_ECLOSED)) {
		fprintf(stderr, "hathor-miner: %s\n", err.msg);
		return 1;
	}
	return 0;
}
