/*
 * cli_verify.c: hathor-node verify-file, offline verification of
 * serialized vertices with the checks that need no storage
 * (hn_verify_standalone: blocks without storage, txs basic).
 *
 *   hathor-node verify-file [--network N] [--mempool] [--repeat K] FILE|-
 *
 * FILE holds either hex, one vertex per line (blank lines skipped), or
 * the raw bytes of one vertex.  One line per vertex on stdout:
 * "ok <hash> <type>" or "rejected <hash> <reason>: <detail>", or
 * "invalid <n>: <decode error>".  --repeat K verifies each vertex K times
 * (decoding once) and ends with a timing line, for benchmarks.  Exit 0
 * when every vertex passes, 1 otherwise, 2 on usage errors.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_verify.h"
#include "verify.h"

#include "hn/hex.h"
#include "hn/network.h"
#include "hn/vertex.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: hathor-node verify-file [--network NAME] "
		   "[--mempool] [--repeat K] FILE|-\n"
		   "  FILE: hex vertices, one per line, or one raw vertex;\n"
		   "  checks what needs no storage (blocks: without-storage, "
		   "txs: basic)\n");
}

static unsigned char *read_all(const char *path, size_t *len)
{
	FILE *f = strcmp(path, "-") ? fopen(path, "rb") : stdin;
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0;

	if (!f)
		return NULL;
	for (;;) {
		size_t r;

		if (n + 4096 + 1 > cap) {
			unsigned char *nb;

			cap = cap ? cap * 2 : 65536;
			nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n - 1, f);
		n += r;
		if (r == 0)
			break;
	}
	if (buf && ferror(f)) {
		free(buf);
		buf = NULL;
	}
	if (f != stdin)
		fclose(f);
	if (buf) {
		buf[n] = 0;
		*len = n;
	}
	return buf;
}

/* Text (hex lines) unless a byte is neither printable ASCII nor
 * whitespace; raw vertices nearly always hold 0x00 bytes. */
static bool is_text(const unsigned char *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = b[i];

		if (!((c >= 0x20 && c < 0x7f) || c == '\n' || c == '\r' ||
		      c == '\t'))
			return false;
	}
	return true;
}

struct run {
	const struct hn_network *net;
	int flags;
	unsigned long repeat;
	unsigned long n, bad;
	double secs;
};

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void one(struct run *r, const uint8_t *bytes, size_t len)
{
	struct hn_vertex *v = NULL;
	struct hn_verr err;
	char msg[160], hex[65];
	double t;
	int rc = 0;

	r->n++;
	if (hn_vertex_decode(bytes, len, &v, msg, sizeof(msg)) < 0) {
		printf("invalid %lu: %s\n", r->n, msg);
		r->bad++;
		return;
	}
	hn_hex_encode(v->hash, 32, hex);
	t = mono();
	for (unsigned long i = 0; i < r->repeat; i++)
		rc = hn_verify_standalone(r->net, v, r->flags,
					  (double)time(NULL), &err);
	r->secs += mono() - t;
	if (rc == 0) {
		printf("ok %s %s\n", hex, hn_vertex_type_name(v->version));
	} else {
		printf("rejected %s %s: %s\n", hex, hn_verr_name(err.code),
		       err.msg);
		r->bad++;
	}
	hn_vertex_free(v);
}

static int hex_lines(struct run *r, char *text)
{
	uint8_t *bytes = malloc(HN_MAX_VERTEX_SIZE);
	char *save = NULL;

	if (!bytes)
		return -1;
	for (char *line = strtok_r(text, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		size_t n = strlen(line), len = 0;

		while (n && (line[n - 1] == '\r' || line[n - 1] == ' ' ||
			     line[n - 1] == '\t'))
			line[--n] = 0;
		while (*line == ' ' || *line == '\t') {
			line++;
			n--;
		}
		if (!n)
			continue;
		if (hn_hex_decode(line, bytes, HN_MAX_VERTEX_SIZE, &len) < 0) {
			r->n++;
			r->bad++;
			printf("invalid %lu: bad hex or more than %d bytes\n",
			       r->n, HN_MAX_VERTEX_SIZE);
			continue;
		}
		one(r, bytes, len);
	}
	free(bytes);
	return 0;
}

int hn_cli_verify_file(int argc, char **argv)
{
	struct run r = { .repeat = 1 };
	const char *name = "mainnet", *path = NULL;
	unsigned char *buf;
	size_t len = 0;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--network") && i + 1 < argc) {
			name = argv[++i];
		} else if (!strcmp(argv[i], "--mempool")) {
			r.flags |= HN_VERIFY_MEMPOOL;
		} else if (!strcmp(argv[i], "--repeat") && i + 1 < argc) {
			char *end;

			r.repeat = strtoul(argv[++i], &end, 10);
			if (*end || r.repeat == 0) {
				fprintf(stderr, "hathor-node verify-file: bad "
					"--repeat '%s'\n", argv[i]);
				return 2;
			}
		} else if (!path && (argv[i][0] != '-' ||
				     !strcmp(argv[i], "-"))) {
			path = argv[i];
		} else {
			fprintf(stderr, "hathor-node verify-file: unexpected "
				"argument '%s'\n", argv[i]);
			usage(stderr);
			return 2;
		}
	}
	if (!path) {
		usage(stderr);
		return 2;
	}
	if (!(r.net = hn_network_by_name(name))) {
		fprintf(stderr, "hathor-node verify-file: unknown or "
			"unavailable network '%s'\n", name);
		return 2;
	}
	if (!(buf = read_all(path, &len))) {
		fprintf(stderr, "hathor-node verify-file: cannot read '%s'\n",
			path);
		return 1;
	}
	if (len && is_text(buf, len)) {
		if (hex_lines(&r, (char *)buf) < 0) {
			free(buf);
			fprintf(stderr, "hathor-node verify-file: out of "
				"memory\n");
			return 1;
		}
	} else {
		one(&r, buf, len);
	}
	free(buf);
	if (r.repeat > 1 && r.n)
		printf("verified %lu vertices x %lu in %.6f s (%.0f "
		       "verifications/s)\n", r.n, r.repeat, r.secs,
		       r.secs > 0 ? (double)(r.n * r.repeat) / r.secs : 0.0);
	if (fflush(stdout) != 0)
		return 1;
	return r.bad || !r.n ? 1 : 0;
}
