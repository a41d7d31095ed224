/*
 * fuzz_vertex.c: libFuzzer target for the vertex codec (lib/vertex.c).
 *
 * Properties checked on every input:
 *  - decode either succeeds or fails with HN_EPARSE / HN_EUNSUPPORTED and
 *    a message;
 *  - on success: encode gives back the exact input, encoded_size agrees,
 *    dup encodes the same, calc_hash equals the decoded hash, to_json
 *    succeeds, sighash works for transactions only;
 *  - graph_decode agrees with decode (same verdict, same fields).
 *
 * Built with -fsanitize=fuzzer when HN_FUZZ is on; otherwise
 * HN_FUZZ_REPLAY gives it a main() that replays the files given on the
 * command line (files or directories) plus deterministic mutations of
 * each (every truncation, every byte flipped), and checks that files named
 * ok-* decode and files named bad-* are refused.
 */
#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <json-c/json.h>

#include "hn/err.h"
#include "hn/vertex.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int last_rc;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct hn_vertex *v = NULL, *d;
	struct hn_vertex_graph g;
	char err[256] = "", gerr[256] = "";
	int rc = hn_vertex_decode(data, size, &v, err, sizeof(err));
	int grc = hn_vertex_graph_decode(data, size, &g, gerr, sizeof(gerr));
	uint8_t *buf = NULL, h[32];
	size_t len = 0;
	struct json_object *j = NULL;

	last_rc = rc;
	if (rc) {
		if ((rc != HN_EPARSE && rc != HN_EUNSUPPORTED) || !err[0] ||
		    v || grc != rc)
			abort();
		return 0;
	}
	if (hn_vertex_encode(v, &buf, &len) || len != size ||
	    memcmp(buf, data, size))
		abort();
	free(buf);
	if (hn_vertex_encoded_size(v) != (long)size)
		abort();
	if (hn_vertex_calc_hash(v, h) || memcmp(h, v->hash, 32))
		abort();
	d = hn_vertex_dup(v);
	if (!d || hn_vertex_encode(d, &buf, &len) || len != size ||
	    memcmp(buf, data, size))
		abort();
	free(buf);
	hn_vertex_free(d);
	if (hn_vertex_to_json(v, &j) || !j)
		abort();
	json_object_put(j);
	if (hn_vertex_sighash_data(v, h) != (hn_vertex_is_tx(v) ? 0 : HN_EINVAL))
		abort();
	if (v->n_parents > HN_GRAPH_MAX_PARENTS) {
		if (grc != HN_EPARSE)
			abort();
	} else if (grc || memcmp(g.hash, v->hash, 32) ||
		   g.version != v->version || g.n_parents != v->n_parents ||
		   g.n_inputs != v->n_inputs || g.timestamp != v->timestamp ||
		   g.is_block != hn_vertex_is_block(v) ||
		   (v->n_parents &&
		    memcmp(g.parents, v->parents, 32 * (size_t)v->n_parents))) {
		abort();
	}
	(void)hn_vertex_pow_ok(v);
	hn_vertex_free(v);
	return 0;
}

#ifdef HN_FUZZ_REPLAY
#define REPLAY_MAX (HN_MAX_VERTEX_SIZE + 16)

static int n_files, n_bad;

static void run_file(const char *path, const char *name)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (!f)
		return;
	buf = malloc(REPLAY_MAX);
	if (!buf)
		abort();
	n = fread(buf, 1, REPLAY_MAX, f);
	fclose(f);
	n_files++;
	LLVMFuzzerTestOneInput(buf, n);
	if ((strncmp(name, "ok-", 3) == 0 && last_rc != 0) ||
	    (strncmp(name, "bad-", 4) == 0 && last_rc == 0)) {
		fprintf(stderr, "%s: unexpected verdict %d\n", path, last_rc);
		n_bad++;
	}
	for (size_t k = 0; k < n; k++)
		LLVMFuzzerTestOneInput(buf, k);
	for (size_t k = 0; k < n; k++) {
		for (int bit = 0; bit < 8; bit++) {
			buf[k] ^= (uint8_t)(1u << bit);
			LLVMFuzzerTestOneInput(buf, n);
			buf[k] ^= (uint8_t)(1u << bit);
		}
	}
	free(buf);
}

static void run_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;
	const char *base = strrchr(path, '/');

	if (stat(path, &st) < 0) {
		fprintf(stderr, "%s: missing\n", path);
		n_bad++;
		return;
	}
	if (!S_ISDIR(st.st_mode)) {
		run_file(path, base ? base + 1 : path);
		return;
	}
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char p[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		run_file(p, e->d_name);
	}
	if (d)
		closedir(d);
}

int main(int argc, char **argv)
{
	for (int k = 1; k < argc; k++)
		run_path(argv[k]);
	printf("replayed %d files (with every truncation and bit flip)\n",
	       n_files);
	if (n_files == 0 || n_bad) {
		fprintf(stderr, "%d files, %d with the wrong verdict\n",
			n_files, n_bad);
		return 1;
	}
	return 0;
}
#endif
