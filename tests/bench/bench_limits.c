/*
 * bench_limits.c: the limits of this machine, measured in the same run as
 * the sync figures (PERFORMANCE.md explains what they mean):
 *
 *  - sha256d of a 300 B vertex: lib/hash (hn_sha256d, one-shot SHA256())
 *    and a fetched EVP_MD with a reused context;
 *  - ECDSA secp256k1 verify through core/script (hn_ecdsa_verify_sha256);
 *  - sqlite insert of vertex-sized rows in batches of 100 (WAL): a plain
 *    rowid table with hash/height/timestamp indexes, and the store's real
 *    schema through core/store.h;
 *  - the in-process storage pipeline per vertex: base64 decode, parse +
 *    hash, existence of itself and its parents and spent txs, insert with
 *    every index, commit per 100 (what a sync does minus consensus);
 *  - JSON-RPC encode + decode of on_new_vertex (one vertex) and
 *    on_new_vertices (100) through lib/jsonrpc;
 *  - nng REQ/REP over ipc:// to a server process (this binary re-executed
 *    with --nng-server): 200 B with 1 and 16 in flight, a 100-vertex batch
 *    with 1 in flight.
 *
 * From them, the per-vertex bound of a 1:1 block/transaction chain with
 * one signed input per transaction: in process, 1 / (pipeline + verify/2);
 * split, the core thread also decodes the batch JSON.
 */
#include "bench.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/util/platform.h>
#include <openssl/evp.h>
#include <secp256k1.h>
#include <sqlite3.h>

#include "hn/b64.h"
#include "hn/err.h"
#include "hn/hash.h"
#include "hn/jsonrpc.h"
#include "hn/network.h"
#include "hn/vertex.h"
#include "script.h"
#include "store.h"

#define PART "limits"
#define BATCH 100
#define NNG_FLIGHT 16

static volatile uint8_t sink;   /* keeps results alive */

/* --- hashing ------------------------------------------------------------ */

static int bench_sha(struct bench *b, double *us_out)
{
	long n = b->quick ? 20000 : 2000000, i;
	uint8_t buf[300], out[32];
	double t[3], t2[3], m1, m2;
	EVP_MD *md = EVP_MD_fetch(NULL, "SHA256", NULL);
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	int k;

	if (!md || !ctx) {
		EVP_MD_free(md);
		EVP_MD_CTX_free(ctx);
		return HN_ENOMEM;
	}
	for (i = 0; i < (long)sizeof(buf); i++)
		buf[i] = (uint8_t)i;
	for (k = 0; k < 3; k++) {
		double t0 = bench_now();

		for (i = 0; i < n; i++) {
			buf[0] = (uint8_t)i;
			hn_sha256d(buf, sizeof(buf), out);
			sink ^= out[0];
		}
		t[k] = bench_now() - t0;
		t0 = bench_now();
		for (i = 0; i < n; i++) {
			uint8_t tmp[32];
			unsigned int l;

			buf[0] = (uint8_t)i;
			EVP_DigestInit_ex(ctx, md, NULL);
			EVP_DigestUpdate(ctx, buf, sizeof(buf));
			EVP_DigestFinal_ex(ctx, tmp, &l);
			EVP_DigestInit_ex(ctx, md, NULL);
			EVP_DigestUpdate(ctx, tmp, sizeof(tmp));
			EVP_DigestFinal_ex(ctx, out, &l);
			sink ^= out[0];
		}
		t2[k] = bench_now() - t0;
	}
	/* Both paths must agree. */
	hn_sha256d(buf, sizeof(buf), out);
	{
		uint8_t tmp[32], o2[32];
		unsigned int l;

		EVP_DigestInit_ex(ctx, md, NULL);
		EVP_DigestUpdate(ctx, buf, sizeof(buf));
		EVP_DigestFinal_ex(ctx, tmp, &l);
		EVP_Digest(tmp, 32, o2, &l, md, NULL);
		if (memcmp(out, o2, 32) != 0) {
			fprintf(stderr, "bench: sha256d paths disagree\n");
			EVP_MD_free(md);
			EVP_MD_CTX_free(ctx);
			return HN_EIO;
		}
	}
	EVP_MD_free(md);
	EVP_MD_CTX_free(ctx);
	m1 = bench_median(t, 3) / (double)n;
	m2 = bench_median(t2, 3) / (double)n;
	bench_row(b, PART, "sha256d 300 B, lib/hash (one-shot SHA256)",
		  1.0 / m1, "hash/s", NULL, NULL);
	bench_row(b, PART, "sha256d 300 B, EVP_MD fetched + reused ctx",
		  1.0 / m2, "hash/s", NULL, NULL);
	*us_out = m1 * 1e6;
	return 0;
}

/* --- ECDSA -------------------------------------------------------------- */

static int bench_ecdsa(struct bench *b, double *us_out)
{
	long n = b->quick ? 300 : 20000, i, bad = 0;
	secp256k1_context *ctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	uint8_t key[32], msg[300], digest[32], der[80], pub[33];
	size_t der_len = sizeof(der), pub_len = sizeof(pub);
	secp256k1_pubkey pk;
	secp256k1_ecdsa_signature sig;
	double t[3];
	int k;

	if (!ctx)
		return HN_ENOMEM;
	hn_sha256("bench key", 9, key);
	for (i = 0; i < (long)sizeof(msg); i++)
		msg[i] = (uint8_t)(i * 7);
	hn_sha256(msg, sizeof(msg), digest);
	if (!secp256k1_ec_pubkey_create(ctx, &pk, key) ||
	    !secp256k1_ec_pubkey_serialize(ctx, pub, &pub_len, &pk,
					   SECP256K1_EC_COMPRESSED) ||
	    !secp256k1_ecdsa_sign(ctx, &sig, digest, key, NULL, NULL) ||
	    !secp256k1_ecdsa_signature_serialize_der(ctx, der, &der_len, &sig)) {
		secp256k1_context_destroy(ctx);
		return HN_EIO;
	}
	secp256k1_context_destroy(ctx);
	for (k = 0; k < 3; k++) {
		double t0 = bench_now();

		for (i = 0; i < n / 3 + 1; i++)
			if (!hn_ecdsa_verify_sha256(pub, pub_len, der, der_len,
						    msg, sizeof(msg)))
				bad++;
		t[k] = (bench_now() - t0) / (double)(n / 3 + 1);
	}
	/* A changed message must fail: the check is real. */
	msg[5] ^= 1;
	if (bad || hn_ecdsa_verify_sha256(pub, pub_len, der, der_len, msg,
					  sizeof(msg))) {
		fprintf(stderr, "bench: ecdsa verify gave wrong answers\n");
		return HN_EIO;
	}
	*us_out = bench_median(t, 3) * 1e6;
	bench_row(b, PART, "ECDSA secp256k1 verify (core/script)",
		  1e6 / *us_out, "verify/s", NULL, "sha256 of 300 B + DER "
		  "parse + verify");
	return 0;
}

/* --- vertices for the store --------------------------------------------- */

struct vset {
	size_t n;
	uint8_t **bytes;
	size_t *len;
	char **b64;
	size_t total_bytes;
};

static void vset_free(struct vset *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		free(s->bytes[i]);
		free(s->b64[i]);
	}
	free(s->bytes);
	free(s->len);
	free(s->b64);
}

static uint8_t *p2pkh_script(void)
{
	uint8_t *s = malloc(25);

	if (!s)
		return NULL;
	s[0] = 0x76;
	s[1] = 0xa9;
	s[2] = 20;
	memset(s + 3, 0x42, 20);
	s[23] = 0x88;
	s[24] = 0xac;
	return s;
}

/* Alternating transaction, block: a transaction spends output 0 of the
 * previous one (the first: the genesis block's) with a 106 B P2PKH-sized
 * input script and has two outputs; a block confirms the two latest
 * transactions and carries 40 B of data.  ~290 B and ~190 B. */
static int vset_make(struct vset *s, const struct hn_network *net, size_t n)
{
	uint8_t tip[32], tx_a[32], tx_b[32], spend[32];
	uint32_t ts = net->genesis_block.timestamp + 100;
	size_t i;

	memset(s, 0, sizeof(*s));
	s->bytes = calloc(n, sizeof(*s->bytes));
	s->len = calloc(n, sizeof(*s->len));
	s->b64 = calloc(n, sizeof(*s->b64));
	if (!s->bytes || !s->len || !s->b64)
		return HN_ENOMEM;
	memcpy(tip, net->genesis_block.hash, 32);
	memcpy(tx_a, net->genesis_tx1.hash, 32);
	memcpy(tx_b, net->genesis_tx2.hash, 32);
	memcpy(spend, net->genesis_block.hash, 32);
	for (i = 0; i < n; i++) {
		struct hn_vertex *v = hn_vertex_new();
		bool is_tx = i % 2 == 0;
		size_t k;

		if (!v)
			return HN_ENOMEM;
		v->timestamp = ts++;
		v->weight = is_tx ? 1.0 : 2.0;
		v->n_parents = is_tx ? 2 : 3;
		v->parents = calloc(v->n_parents, 32);
		v->n_outputs = is_tx ? 2 : 1;
		v->outputs = calloc(v->n_outputs, sizeof(*v->outputs));
		if (!v->parents || !v->outputs) {
			hn_vertex_free(v);
			return HN_ENOMEM;
		}
		for (k = 0; k < v->n_outputs; k++) {
			v->outputs[k].value = 100 + k;
			v->outputs[k].script_len = 25;
			v->outputs[k].script = p2pkh_script();
			if (!v->outputs[k].script) {
				hn_vertex_free(v);
				return HN_ENOMEM;
			}
		}
		if (is_tx) {
			v->version = HN_VTX_TX;
			memcpy(v->parents[0], tx_a, 32);
			memcpy(v->parents[1], tx_b, 32);
			v->n_inputs = 1;
			v->inputs = calloc(1, sizeof(*v->inputs));
			if (!v->inputs) {
				hn_vertex_free(v);
				return HN_ENOMEM;
			}
			memcpy(v->inputs[0].tx_id, spend, 32);
			v->inputs[0].data_len = 106;
			v->inputs[0].data = malloc(106);
			if (!v->inputs[0].data) {
				hn_vertex_free(v);
				return HN_ENOMEM;
			}
			memset(v->inputs[0].data, 0x30, 106);
			v->nonce_lo = i;
		} else {
			v->version = HN_VTX_BLOCK;
			memcpy(v->parents[0], tip, 32);
			memcpy(v->parents[1], tx_a, 32);
			memcpy(v->parents[2], tx_b, 32);
			v->data_len = 40;
			memset(v->data, 'b', 40);
			v->nonce_lo = i;
		}
		if (hn_vertex_update_hash(v) < 0 ||
		    hn_vertex_encode(v, &s->bytes[i], &s->len[i]) < 0) {
			hn_vertex_free(v);
			return HN_EIO;
		}
		if (is_tx) {
			memcpy(tx_b, tx_a, 32);
			memcpy(tx_a, v->hash, 32);
			memcpy(spend, v->hash, 32);
		} else {
			memcpy(tip, v->hash, 32);
		}
		hn_vertex_free(v);
		s->b64[i] = hn_b64_encode(s->bytes[i], s->len[i]);
		if (!s->b64[i])
			return HN_ENOMEM;
		s->total_bytes += s->len[i];
		s->n = i + 1;
	}
	return 0;
}

/* --- sqlite ------------------------------------------------------------- */

static int exec(sqlite3 *db, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(stderr, "bench: sqlite: %s: %s\n", sql, msg);
		sqlite3_free(msg);
		return HN_EIO;
	}
	return 0;
}

/* A plain table as in PERFORMANCE.md: rowid + UNIQUE hash + height and
 * timestamp indexes, 300 B rows, WAL, synchronous NORMAL. */
static int bench_sqlite_plain(struct bench *b)
{
	long n = b->quick ? 3000 : 300000, i;
	char path[600];
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	uint8_t row[300], h[32];
	double t0, el;
	int rc = HN_EIO;
	struct stat sb;

	snprintf(path, sizeof(path), "%s/plain.db", b->dir);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		goto out;
	if (exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
		 "CREATE TABLE v(id INTEGER PRIMARY KEY, hash BLOB NOT NULL "
		 "UNIQUE, height INTEGER, ts INTEGER, data BLOB);"
		 "CREATE INDEX v_h ON v(height); CREATE INDEX v_ts ON v(ts);") < 0)
		goto out;
	if (sqlite3_prepare_v2(db, "INSERT INTO v(hash,height,ts,data) "
			       "VALUES(?,?,?,?)", -1, &st, NULL) != SQLITE_OK)
		goto out;
	memset(row, 0x5a, sizeof(row));
	t0 = bench_now();
	for (i = 0; i < n; i++) {
		if (i % BATCH == 0 && exec(db, "BEGIN") < 0)
			goto out;
		hn_sha256(&i, sizeof(i), h);
		sqlite3_bind_blob(st, 1, h, 32, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, i);
		sqlite3_bind_int64(st, 3, 1600000000 + i);
		sqlite3_bind_blob(st, 4, row, sizeof(row), SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE) {
			fprintf(stderr, "bench: insert: %s\n",
				sqlite3_errmsg(db));
			goto out;
		}
		sqlite3_reset(st);
		if ((i + 1) % BATCH == 0 && exec(db, "COMMIT") < 0)
			goto out;
	}
	if (n % BATCH && exec(db, "COMMIT") < 0)
		goto out;
	el = bench_now() - t0;
	{
		char note[96];

		snprintf(note, sizeof(note), "%ld rows, batch %d", n, BATCH);
		bench_row(b, PART, "sqlite insert 300 B rows, plain schema",
			  (double)n / el, "rows/s", NULL, note);
	}
	if (stat(path, &sb) == 0) {
		char wal[620];
		struct stat ws;

		snprintf(wal, sizeof(wal), "%s-wal", path);
		json_object_object_add(bench_detail(b, PART), "plain_db_bytes",
				       json_object_new_int64(sb.st_size +
				       (stat(wal, &ws) == 0 ? ws.st_size : 0)));
	}
	rc = 0;
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return rc;
}

/* The store's own schema: only hn_store_put_vertex in batches (the cost of
 * the insert with every index), then the whole pipeline on a fresh file. */
static int store_run(struct bench *b, const struct hn_network *net,
		     const struct vset *s, bool pipeline, double *us_out)
{
	struct hn_store_opts o = { 0 };
	struct hn_store *st = NULL;
	struct hn_error err = { 0 };
	char path[600];
	size_t i;
	uint64_t height = 0;
	double t0, el;
	int rc;

	snprintf(path, sizeof(path), "%s/store-%s.db", b->dir,
		 pipeline ? "pipe" : "put");
	o.path = path;
	o.net = net;
	o.flags = HN_STORE_CREATE;
	o.sync = HN_STORE_SYNC_NORMAL;
	rc = hn_store_open(&o, &st, &err);
	if (rc < 0) {
		fprintf(stderr, "bench: store open: %s\n", err.msg);
		return rc;
	}
	t0 = bench_now();
	for (i = 0; i < s->n; i++) {
		struct hn_vertex *v = NULL;
		struct hn_vmeta m;
		uint8_t *bytes = s->bytes[i];
		size_t len = s->len[i], k;

		if (i % BATCH == 0 && (rc = hn_store_begin(st)) < 0)
			goto out;
		if (pipeline) {
			rc = hn_b64_decode(s->b64[i], &bytes, &len);
			if (rc < 0)
				goto out;
		}
		rc = hn_vertex_decode(bytes, len, &v, NULL, 0);
		if (rc < 0)
			goto out;
		if (pipeline) {
			if (hn_store_exists(st, v->hash) != 0) {
				rc = HN_EIO;
				hn_vertex_free(v);
				goto out;
			}
			for (k = 0; k < v->n_parents; k++)
				if (hn_store_exists(st, v->parents[k]) != 1)
					rc = HN_EIO;
			for (k = 0; k < v->n_inputs; k++)
				if (hn_store_exists(st, v->inputs[k].tx_id) != 1)
					rc = HN_EIO;
			if (rc < 0) {
				fprintf(stderr, "bench: vertex %zu: a "
					"dependency is missing\n", i);
				hn_vertex_free(v);
				goto out;
			}
		}
		memset(&m, 0, sizeof(m));
		memcpy(m.hash, v->hash, 32);
		m.version = v->version;
		m.is_block = hn_vertex_is_block(v);
		m.timestamp = v->timestamp;
		m.weight = v->weight;
		m.validation = HN_VALID_FULL;
		m.height = m.is_block ? ++height : 0;
		m.acc_work = hn_weight_to_work(v->weight);
		m.received_at = 1.0;
		rc = hn_store_put_vertex(st, bytes, len, v, &m);
		if (rc == 0 && m.is_block)
			rc = hn_store_height_set(st, m.height, m.hash, false);
		hn_vertex_free(v);
		if (pipeline)
			free(bytes);
		if (rc < 0) {
			fprintf(stderr, "bench: put %zu: %s\n", i,
				hn_store_errmsg(st));
			goto out;
		}
		if ((i + 1) % BATCH == 0 && (rc = hn_store_commit(st)) < 0)
			goto out;
	}
	if (s->n % BATCH && (rc = hn_store_commit(st)) < 0)
		goto out;
	el = bench_now() - t0;
	*us_out = el / (double)s->n * 1e6;
	{
		uint64_t nb = 0, nt = 0;

		rc = hn_store_counts(st, &nb, &nt);
		if (rc == 0 && nb + nt != s->n + 3) {
			fprintf(stderr, "bench: store holds %llu vertices, "
				"expected %zu\n", (unsigned long long)(nb + nt),
				s->n + 3);
			rc = HN_EIO;
		}
	}
	if (rc == 0 && pipeline) {
		struct stat sb, ws;
		char wal[620];
		off_t sz;

		hn_store_close(st);
		st = NULL;
		snprintf(wal, sizeof(wal), "%s-wal", path);
		sz = stat(path, &sb) == 0 ? sb.st_size : 0;
		sz += stat(wal, &ws) == 0 ? ws.st_size : 0;
		bench_row(b, PART, "store file size per vertex",
			  (double)sz / (double)s->n, "B", NULL,
			  "after close (WAL checkpointed)");
	}
out:
	if (st && hn_store_depth(st) > 0)
		hn_store_rollback(st);
	hn_store_close(st);
	return rc;
}

/* --- JSON-RPC messages -------------------------------------------------- */

static int json_one(const char *method, struct json_object *params,
		    size_t expect_n, const struct vset *s, size_t first)
{
	struct json_object *req = hn_rpc_request(1, method, params);
	struct hn_rpc_req r;
	struct hn_rpc_error e;
	struct json_object *x;
	const char *str;
	size_t len, i;
	int rc;

	if (!req)
		return HN_ENOMEM;
	rc = hn_rpc_serialize(req, 1 << 24, &str, &len);
	if (rc < 0) {
		json_object_put(req);
		return rc;
	}
	rc = hn_rpc_req_parse(str, len, 1 << 24, &r, &e);
	json_object_put(req);
	if (rc < 0) {
		hn_rpc_req_release(&r);
		return rc;
	}
	if (expect_n == 0) {
		uint8_t *d;
		size_t dl;

		json_object_object_get_ex(r.params, "bytes", &x);
		rc = hn_rpc_v_bytes(x, HN_MAX_VERTEX_SIZE, &d, &dl, NULL);
		if (rc == 0) {
			if (dl != s->len[first] ||
			    memcmp(d, s->bytes[first], dl) != 0)
				rc = HN_EIO;
			free(d);
		}
	} else {
		json_object_object_get_ex(r.params, "vertices", &x);
		for (i = 0; rc == 0 && i < expect_n; i++) {
			uint8_t *d;
			size_t dl;

			rc = hn_rpc_v_bytes(json_object_array_get_idx(x, i),
					    HN_MAX_VERTEX_SIZE, &d, &dl, NULL);
			if (rc == 0) {
				if (dl != s->len[first + i])
					rc = HN_EIO;
				free(d);
			}
		}
	}
	hn_rpc_req_release(&r);
	return rc;
}

static int bench_json(struct bench *b, const struct vset *s, double *one_us,
		      double *batch_us, size_t *batch_msg_len)
{
	long n = b->quick ? 200 : 20000, i;
	long nb = b->quick ? 4 : 400;
	double t0;
	int rc = 0;

	t0 = bench_now();
	for (i = 0; rc == 0 && i < n; i++) {
		size_t k = (size_t)i % s->n;
		struct json_object *p = json_object_new_object();

		hn_rpc_add(p, "origin", hn_rpc_j_u64(1));
		hn_rpc_add(p, "bytes", hn_rpc_j_bytes(s->bytes[k], s->len[k]));
		rc = json_one("on_new_vertex", p, 0, s, k);
	}
	*one_us = (bench_now() - t0) / (double)n * 1e6;
	if (rc < 0)
		return rc;
	t0 = bench_now();
	for (i = 0; rc == 0 && i < nb; i++) {
		size_t first = ((size_t)i * BATCH) % (s->n - BATCH + 1), k;
		struct json_object *p = json_object_new_object();
		struct json_object *a = json_object_new_array();

		for (k = 0; k < BATCH; k++)
			json_object_array_add(a, hn_rpc_j_bytes(
				s->bytes[first + k], s->len[first + k]));
		hn_rpc_add(p, "origin", hn_rpc_j_u64(1));
		hn_rpc_add(p, "vertices", a);
		rc = json_one("on_new_vertices", p, BATCH, s, first);
	}
	*batch_us = (bench_now() - t0) / (double)(nb * BATCH) * 1e6;
	if (rc < 0)
		return rc;
	{
		struct json_object *p = json_object_new_object();
		struct json_object *a = json_object_new_array();
		struct json_object *req;
		const char *str;
		size_t k;

		for (k = 0; k < BATCH; k++)
			json_object_array_add(a, hn_rpc_j_bytes(s->bytes[k],
								s->len[k]));
		hn_rpc_add(p, "origin", hn_rpc_j_u64(1));
		hn_rpc_add(p, "vertices", a);
		req = hn_rpc_request(1, "on_new_vertices", p);
		rc = hn_rpc_serialize(req, 1 << 24, &str, batch_msg_len);
		json_object_put(req);
	}
	bench_row(b, PART, "JSON-RPC on_new_vertex encode+decode",
		  *one_us, "us/vertex", NULL, "lib/jsonrpc, base64 both ways");
	bench_row(b, PART, "JSON-RPC on_new_vertices (100) encode+decode",
		  *batch_us, "us/vertex", NULL, NULL);
	return rc;
}

/* --- nng ---------------------------------------------------------------- */

struct srv_slot {
	nng_ctx ctx;
	nng_aio *aio;
	bool sending;
};

static void srv_cb(void *arg)
{
	struct srv_slot *s = arg;
	nng_msg *m;

	if (nng_aio_result(s->aio) != 0) {
		if (s->sending)
			nng_msg_free(nng_aio_get_msg(s->aio));
		if (nng_aio_result(s->aio) == NNG_ECLOSED)
			return;
		s->sending = false;
		nng_ctx_recv(s->ctx, s->aio);
		return;
	}
	if (s->sending) {
		s->sending = false;
		nng_ctx_recv(s->ctx, s->aio);
		return;
	}
	/* Answer with a short result, as on_new_vertices does. */
	m = nng_aio_get_msg(s->aio);
	nng_msg_clear(m);
	nng_msg_append(m, "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":[]}", 36);
	nng_aio_set_msg(s->aio, m);
	s->sending = true;
	nng_ctx_send(s->ctx, s->aio);
}

/* --nng-server URL: serves until killed (or the parent dies). */
int bench_nng_server(const char *url)
{
	struct srv_slot slot[NNG_FLIGHT];
	nng_socket sk;
	int i;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (nng_rep0_open(&sk) != 0 || nng_setopt_size(sk, NNG_OPT_RECVMAXSZ,
						       8 << 20) != 0 ||
	    nng_listen(sk, url, NULL, 0) != 0)
		return 1;
	for (i = 0; i < NNG_FLIGHT; i++) {
		slot[i].sending = false;
		if (nng_ctx_open(&slot[i].ctx, sk) != 0 ||
		    nng_aio_alloc(&slot[i].aio, srv_cb, &slot[i]) != 0)
			return 1;
		nng_ctx_recv(slot[i].ctx, slot[i].aio);
	}
	/* Ready: the parent waits for this byte. */
	if (write(1, "R", 1) != 1)
		return 1;
	for (;;)
		pause();
}

struct cli {
	nng_mtx *mu;
	nng_cv *cv;
	long total, sent, done, active;
	size_t len;
	const char *payload;
	int err;
};

struct cli_slot {
	struct cli *c;
	nng_ctx ctx;
	nng_aio *aio;
	bool sending;
};

static void cli_send(struct cli_slot *s)
{
	nng_msg *m;

	if (nng_msg_alloc(&m, 0) != 0 ||
	    nng_msg_append(m, s->c->payload, s->c->len) != 0) {
		s->c->err = NNG_ENOMEM;
		return;
	}
	nng_aio_set_msg(s->aio, m);
	s->sending = true;
	nng_ctx_send(s->ctx, s->aio);
}

static void cli_cb(void *arg)
{
	struct cli_slot *s = arg;
	struct cli *c = s->c;
	int r = nng_aio_result(s->aio);
	bool again = false;

	if (r != 0) {
		if (s->sending)
			nng_msg_free(nng_aio_get_msg(s->aio));
		nng_mtx_lock(c->mu);
		c->err = r;
		c->active--;
		nng_cv_wake(c->cv);
		nng_mtx_unlock(c->mu);
		return;
	}
	if (s->sending) {
		s->sending = false;
		nng_ctx_recv(s->ctx, s->aio);
		return;
	}
	nng_msg_free(nng_aio_get_msg(s->aio));
	nng_mtx_lock(c->mu);
	c->done++;
	if (c->sent < c->total && !c->err) {
		c->sent++;
		again = true;
	} else {
		c->active--;
		nng_cv_wake(c->cv);
	}
	nng_mtx_unlock(c->mu);
	if (again)
		cli_send(s);
}

/* @total calls of @len bytes with @flight contexts; seconds or < 0. */
static double nng_run(nng_socket sk, const char *payload, size_t len,
		      long total, int flight)
{
	struct cli c = { 0 };
	struct cli_slot slot[NNG_FLIGHT];
	double t0, el;
	int i;

	if (nng_mtx_alloc(&c.mu) != 0 || nng_cv_alloc(&c.cv, c.mu) != 0)
		return -1;
	c.total = total;
	c.payload = payload;
	c.len = len;
	for (i = 0; i < flight; i++) {
		slot[i].c = &c;
		slot[i].sending = false;
		if (nng_ctx_open(&slot[i].ctx, sk) != 0 ||
		    nng_aio_alloc(&slot[i].aio, cli_cb, &slot[i]) != 0)
			return -1;
	}
	t0 = bench_now();
	nng_mtx_lock(c.mu);
	for (i = 0; i < flight && c.sent < total; i++) {
		c.sent++;
		c.active++;
		nng_mtx_unlock(c.mu);
		cli_send(&slot[i]);
		nng_mtx_lock(c.mu);
	}
	while (c.active > 0)
		nng_cv_wait(c.cv);
	nng_mtx_unlock(c.mu);
	el = bench_now() - t0;
	for (i = 0; i < flight; i++) {
		nng_aio_free(slot[i].aio);
		nng_ctx_close(slot[i].ctx);
	}
	nng_cv_free(c.cv);
	nng_mtx_free(c.mu);
	if (c.err || c.done != total) {
		fprintf(stderr, "bench: nng: %s after %ld/%ld calls\n",
			nng_strerror(c.err), c.done, total);
		return -1;
	}
	return el;
}

static int bench_nng(struct bench *b, size_t batch_len, double *rt1_us,
		     double *rt_batch_us)
{
	char url[700], exe[600];
	int pfd[2];
	pid_t pid;
	char ready;
	nng_socket sk;
	char small[200], *big;
	long n1 = b->quick ? 300 : 20000, n16 = b->quick ? 1000 : 100000;
	long nbig = b->quick ? 50 : 3000;
	double e1, e16, eb;
	int rc = HN_EIO, st;
	ssize_t l;

	snprintf(url, sizeof(url), "ipc://%s/bench.ipc", b->dir);
	l = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (l <= 0 || pipe(pfd) < 0)
		return HN_EIO;
	exe[l] = 0;
	pid = fork();
	if (pid < 0)
		return HN_EIO;
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		execl(exe, exe, "--nng-server", url, (char *)NULL);
		_exit(127);
	}
	close(pfd[1]);
	if (read(pfd[0], &ready, 1) != 1) {
		fprintf(stderr, "bench: nng server did not start\n");
		close(pfd[0]);
		waitpid(pid, &st, 0);
		return HN_EIO;
	}
	close(pfd[0]);
	big = malloc(batch_len);
	if (!big)
		goto out_kill;
	memset(small, 'a', sizeof(small));
	memset(big, 'v', batch_len);
	if (nng_req0_open(&sk) != 0)
		goto out_kill;
	nng_setopt_ms(sk, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_setopt_ms(sk, NNG_OPT_RECVTIMEO, 10000);
	if (nng_dial(sk, url, NULL, 0) != 0)
		goto out_close;
	e1 = nng_run(sk, small, sizeof(small), n1, 1);
	e16 = nng_run(sk, small, sizeof(small), n16, NNG_FLIGHT);
	eb = nng_run(sk, big, batch_len, nbig, 1);
	if (e1 < 0 || e16 < 0 || eb < 0)
		goto out_close;
	*rt1_us = e1 / (double)n1 * 1e6;
	*rt_batch_us = eb / (double)nbig * 1e6;
	bench_row(b, PART, "nng REQ/REP ipc 200 B, 1 in flight",
		  (double)n1 / e1, "calls/s", NULL, "server in another "
		  "process, 36 B reply");
	bench_row(b, PART, "nng REQ/REP ipc 200 B, 16 in flight",
		  (double)n16 / e16, "calls/s", NULL, NULL);
	{
		char name[96];

		snprintf(name, sizeof(name), "nng REQ/REP ipc %zu B "
			 "(100-vertex batch), 1 in flight", batch_len);
		bench_row(b, PART, name, (double)nbig / eb, "calls/s", NULL,
			  NULL);
	}
	rc = 0;
out_close:
	nng_close(sk);
out_kill:
	free(big);
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return rc;
}

/* --- the part ----------------------------------------------------------- */

int bench_limits(struct bench *b)
{
	const struct hn_network *net = hn_network_by_name("unittests");
	struct vset s;
	size_t nv = b->quick ? 600 : 40000;
	double sha_us = 0, ver_us = 0, put_us = 0, pipe_us = 0;
	double j1 = 0, jb = 0, rt1 = 0, rtb = 0, in_us, host_us;
	size_t blen = 0;
	struct json_object *d = bench_detail(b, PART);
	char note[160];
	int rc;

	if (!net)
		return HN_EINVAL;
	if ((rc = bench_sha(b, &sha_us)) < 0 ||
	    (rc = bench_ecdsa(b, &ver_us)) < 0 ||
	    (rc = bench_sqlite_plain(b)) < 0)
		return rc;
	rc = vset_make(&s, net, nv);
	if (rc < 0) {
		vset_free(&s);
		return rc;
	}
	json_object_object_add(d, "vertices", json_object_new_int64((long)nv));
	json_object_object_add(d, "vertex_avg_bytes", json_object_new_double(
		(double)s.total_bytes / (double)s.n));
	snprintf(note, sizeof(note), "%zu vertices (1:1 tx/block, avg %.0f B)"
		 ", batch %d", nv, (double)s.total_bytes / (double)nv, BATCH);
	rc = store_run(b, net, &s, false, &put_us);
	if (rc == 0) {
		bench_row(b, PART, "store insert (core/store.h schema)",
			  1e6 / put_us, "vertices/s", NULL, note);
		rc = store_run(b, net, &s, true, &pipe_us);
	}
	if (rc == 0)
		bench_row(b, PART, "store pipeline: b64 + parse/hash + lookups "
			  "+ insert", 1e6 / pipe_us, "vertices/s", NULL,
			  "in process, no consensus, no signatures");
	if (rc == 0)
		rc = bench_json(b, &s, &j1, &jb, &blen);
	vset_free(&s);
	if (rc < 0)
		return rc;
	rc = bench_nng(b, blen, &rt1, &rtb);
	if (rc < 0)
		return rc;
	/* 1:1 blocks and transactions, one signature per transaction. */
	in_us = pipe_us + ver_us / 2;
	host_us = in_us + jb;
	b->bound_inproc = 1e6 / in_us;
	b->bound_host = 1e6 / host_us;
	{
		struct json_object *u = json_object_new_object();

		json_object_object_add(u, "sha256d", json_object_new_double(sha_us));
		json_object_object_add(u, "ecdsa_verify", json_object_new_double(ver_us));
		json_object_object_add(u, "store_put", json_object_new_double(put_us));
		json_object_object_add(u, "store_pipeline", json_object_new_double(pipe_us));
		json_object_object_add(u, "json_one", json_object_new_double(j1));
		json_object_object_add(u, "json_batch_per_vertex", json_object_new_double(jb));
		json_object_object_add(u, "nng_rt_200B", json_object_new_double(rt1));
		json_object_object_add(u, "nng_rt_batch", json_object_new_double(rtb));
		json_object_object_add(d, "us", u);
	}
	snprintf(note, sizeof(note), "1e6 / (pipeline %.1f us + verify/2 "
		 "%.1f us)", pipe_us, ver_us / 2);
	bench_row(b, PART, "bound in process (1:1 chain, 1 sig/tx)",
		  b->bound_inproc, "vertices/s", NULL, note);
	snprintf(note, sizeof(note), "+ batch JSON %.2f us/vertex on the core "
		 "thread; batch round trip %.0f us pipelined", jb, rtb);
	bench_row(b, PART, "bound split (host batches 100, pipelined)",
		  b->bound_host, "vertices/s", NULL, note);
	return 0;
}
