/*
 * hathor-txgen: pushes signed test transactions through a node's
 * /v1a/push_tx (tk_txgen_run).  See docs/tools.md.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>

#include "hn/err.h"
#include "hn/network.h"
#include "tk.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: hathor-txgen --api URL [--count N] [--address "
		"ADDR] [--network NAME]\n"
		"                    [--timeout SECONDS]\n"
		"  prints the hash of each pushed transaction\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "api", required_argument, NULL, 'a' },
		{ "count", required_argument, NULL, 'c' },
		{ "address", required_argument, NULL, 'A' },
		{ "network", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 't' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct tk_txgen_opts o = { 0 };
	struct tk_txgen_stats st;
	struct hn_error err = { 0 };
	const char *network = "unittests";
	char *end;
	int c;

	o.count = 1;
	o.out = stdout;
	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'a': o.api = optarg; break;
		case 'A': o.address = optarg; break;
		case 'n': network = optarg; break;
		case 'c':
		case 't': {
			unsigned long long v = strtoull(optarg, &end, 10);

			if (*end || !*optarg || *optarg == '-') {
				usage(stderr);
				return 2;
			}
			if (c == 'c')
				o.count = v;
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
		fprintf(stderr, "hathor-txgen: unknown network %s\n", network);
		return 2;
	}
	if (tk_txgen_run(&o, &st, &err) < 0) {
		fprintf(stderr, "hathor-txgen: %s (pushed %llu)\n", err.msg,
			(unsigned long long)st.pushed);
		return 1;
	}
	fprintf(stderr, "hathor-txgen: pushed %llu, hashes %llu\n",
		(unsigned long long)st.pushed, (unsigned long long)st.hashes);
	return 0;
}
