/*
 * hathor-import: loads a vertex file (docs/tools.md) into a node data dir,
 * every vertex through the ledger's full verification.
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"
#include "ledger.h"
#include "tk.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: hathor-import --data-dir DIR [--network NAME] "
		"FILE\n"
		"       hathor-import --data-dir DIR --check [--network NAME]\n"
		"  --check: consistency check of DIR's ledger (sqlite "
		"integrity_check and the ledger's index invariants)\n");
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "network", required_argument, NULL, 'n' },
		{ "data-dir", required_argument, NULL, 'd' },
		{ "check", no_argument, NULL, 'c' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *network = NULL, *dir = NULL;
	const struct hn_network *net;
	struct tk_vfile_reader r;
	struct hn_ledger *l = NULL;
	struct hn_error err = { 0 };
	struct hn_block_info bi;
	uint64_t n = 0, nb = 0, nt = 0;
	bool check = false;
	int lock_fd = -1;
	char hex[65];
	int c;

	while ((c = getopt_long(argc, argv, "h", lopts, NULL)) != -1) {
		switch (c) {
		case 'n': network = optarg; break;
		case 'd': dir = optarg; break;
		case 'c': check = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!dir || optind + (check ? 0 : 1) != argc) {
		usage(stderr);
		return 2;
	}
	if (check) {
		net = hn_network_by_name(network ? network : "unittests");
		if (!net) {
			fprintf(stderr, "hathor-import: unknown network\n");
			return 2;
		}
		if (tk_lock_data_dir(dir, &lock_fd, &err) < 0 ||
		    tk_open_data_dir(dir, net, false, false, &l, &err) < 0 ||
		    hn_ledger_check(l, &err) < 0 ||
		    hn_ledger_best_block(l, &bi) < 0 ||
		    hn_ledger_counts(l, &nb, &nt) < 0)
			goto fail;
		hn_ledger_close(l);
		hn_hex_encode(bi.hash, 32, hex);
		printf("check ok: %llu blocks %llu txs; best height %llu %s\n",
		       (unsigned long long)nb, (unsigned long long)nt,
		       (unsigned long long)bi.height, hex);
		return 0;
	}
	/* The network comes from the file unless given. */
	if (!network) {
		if (tk_vfile_open(&r, argv[optind], &err) < 0)
			goto fail;
		net = hn_network_by_name(r.network);
		tk_vfile_close_reader(&r);
	} else {
		net = hn_network_by_name(network);
	}
	if (!net) {
		fprintf(stderr, "hathor-import: unknown network\n");
		return 2;
	}
	if (tk_lock_data_dir(dir, &lock_fd, &err) < 0 ||
	    tk_open_data_dir(dir, net, true, false, &l, &err) < 0 ||
	    tk_import_file(l, argv[optind], 0, &n, &err) < 0 ||
	    hn_ledger_best_block(l, &bi) < 0 ||
	    hn_ledger_counts(l, &nb, &nt) < 0)
		goto fail;
	hn_ledger_close(l);
	hn_hex_encode(bi.hash, 32, hex);
	printf("imported %llu vertices; ledger has %llu blocks %llu txs; "
	       "best height %llu %s\n", (unsigned long long)n,
	       (unsigned long long)nb, (unsigned long long)nt,
	       (unsigned long long)bi.height, hex);
	return 0;
fail:
	fprintf(stderr, "hathor-import: %s\n", err.msg);
	hn_ledger_close(l);
	return 1;
}
