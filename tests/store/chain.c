/*
 * chain.c: test support (see chain.h).  Vertices are built with lib's
 * codec and mined here: at weight 2 a quarter of the nonces fail, so
 * solving is instant.
 */
#include "chain.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "daa.h"
#include "script.h"

#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"
#include "hn/vertex.h"

/* Fixed test key; every output pays its P2PKH script and every input
 * is signed with it, so the ledger's full verification accepts them. */
/* The unittests genesis key (hathor_tests/utils.py get_genesis_key:
 * GENESIS_SEED, BIP32 path 44'/280'/0'/0/0), whose P2PKH script is the
 * genesis output's, so the tests can spend the genesis output too. */
static const uint8_t test_key[32] = {
	0x1c, 0x60, 0x9d, 0x65, 0x53, 0x59, 0xab, 0x9f, 0x0e, 0x08, 0x62,
	0xf8, 0x1c, 0xaa, 0x89, 0x58, 0x5b, 0xfc, 0xea, 0x75, 0x7c, 0xa4,
	0xaa, 0xbf, 0x7c, 0x46, 0x18, 0x19, 0x42, 0x93, 0xd4, 0x31,
};
static uint8_t test_script[25];

static double fixed_now(void *arg)
{
	return ((struct tchain *)arg)->now;
}

static void tc_ledger_open(struct tchain *tc, bool create)
{
	struct hn_ledger_opts o = { 0 };
	struct hn_error err = { 0 };
	int rc;

	o.db_path = tc->db;
	o.net = tc->net;
	o.create = create;
	o.sync = tc->sync;
	o.now = fixed_now;
	o.now_arg = tc;
	/* Weights 1 allowed, as the reference's unit tests run. */
	o.test_mode = HN_DAA_TEST_ALL_WEIGHT;
	rc = hn_ledger_open(&o, &tc->l, &err);
	if (rc < 0)
		fail_msg("ledger open: %s", err.msg);
}

void tc_open(struct tchain *tc)
{
	memset(tc, 0, sizeof(*tc));
	snprintf(tc->dir, sizeof(tc->dir), "%s/tmp-XXXXXX", HN_TEST_TMPDIR);
	assert_non_null(mkdtemp(tc->dir));
	snprintf(tc->db, sizeof(tc->db), "%s/ledger.db", tc->dir);
	assert_int_equal(hn_script_p2pkh_of_key(test_key, test_script), 0);
	tc->net = hn_network_by_name("unittests");
	assert_non_null(tc->net);
	/* A clock far enough after genesis for long historic chains. */
	tc->now = tc->net->genesis_block.timestamp + 10000000.0;
	tc->sync = HN_STORE_SYNC_NORMAL;
	tc_ledger_open(tc, true);
}

void tc_reopen(struct tchain *tc)
{
	hn_ledger_close(tc->l);
	tc->l = NULL;
	tc_ledger_open(tc, false);
}

void tc_close(struct tchain *tc, bool keep)
{
	char path[700];
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };

	hn_ledger_close(tc->l);
	tc->l = NULL;
	if (keep || !tc->dir[0])
		return;
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof(path), "%s%s", tc->db, suffix[i]);
		unlink(path);
	}
	rmdir(tc->dir);
}

const uint8_t *tc_gblock(const struct tchain *tc)
{
	return tc->net->genesis_block.hash;
}

const uint8_t *tc_gtx1(const struct tchain *tc)
{
	return tc->net->genesis_tx1.hash;
}

const uint8_t *tc_gtx2(const struct tchain *tc)
{
	return tc->net->genesis_tx2.hash;
}

static void sign_inputs(struct hn_vertex *v)
{
	uint8_t sh[32], data[HN_P2PKH_INPUT_MAX];

	assert_int_equal(hn_vertex_sighash_data(v, sh), 0);
	for (unsigned i = 0; i < v->n_inputs; i++) {
		long n = hn_script_sign_p2pkh(test_key, sh, data);

		assert_true(n > 0);
		free(v->inputs[i].data);
		v->inputs[i].data = malloc((size_t)n);
		assert_non_null(v->inputs[i].data);
		memcpy(v->inputs[i].data, data, (size_t)n);
		v->inputs[i].data_len = (uint16_t)n;
	}
}

void tc_sign(struct hn_vertex *v)
{
	sign_inputs(v);
}

const uint8_t *tc_script(void)
{
	return test_script;
}

static void mine(struct hn_vertex *v)
{
	for (;;) {
		assert_int_equal(hn_vertex_update_hash(v), 0);
		if (hn_vertex_pow_ok(v))
			return;
		v->nonce_lo++;
	}
}

static void finish(struct hn_vertex *v, uint8_t **bytes, size_t *len,
		   uint8_t hash[32])
{
	mine(v);
	assert_int_equal(hn_vertex_encode(v, bytes, len), 0);
	memcpy(hash, v->hash, 32);
	hn_vertex_free(v);
}

void tc_finish(struct hn_vertex *v, uint8_t **bytes, size_t *len,
	       uint8_t hash[32])
{
	finish(v, bytes, len, hash);
}

/* The reward of a block on @parent (its height + 1; a parent not stored
 * yet counts as height 0, for blocks the tests expect to be refused). */
static uint64_t block_reward(const struct tchain *tc, const uint8_t parent[32])
{
	struct hn_daa_config cfg;
	struct hn_vmeta m;
	uint64_t h = 1;

	if (hn_store_get_meta(hn_ledger_store(tc->l), parent, HN_VMETA_CORE,
			      &m) == 0) {
		h = m.height + 1;
		hn_vmeta_release(&m);
	}
	hn_daa_config_v1(tc->net, &cfg);
	return hn_daa_reward(tc->net, &cfg, h);
}

void tc_make_block(const struct tchain *tc, const uint8_t parent[32],
		   const uint8_t (*txp)[32], uint32_t ts, double weight,
		   uint8_t salt, uint8_t **bytes, size_t *len, uint8_t hash[32])
{
	struct hn_vertex *v = hn_vertex_new();

	assert_non_null(v);
	v->version = HN_VTX_BLOCK;
	v->weight = weight;
	v->timestamp = ts;
	v->n_parents = 3;
	v->parents = calloc(3, 32);
	memcpy(v->parents[0], parent, 32);
	memcpy(v->parents[1], txp ? txp[0] : tc_gtx1(tc), 32);
	memcpy(v->parents[2], txp ? txp[1] : tc_gtx2(tc), 32);
	v->n_outputs = 1;
	v->outputs = calloc(1, sizeof(*v->outputs));
	v->outputs[0].value = block_reward(tc, parent);
	v->outputs[0].script_len = sizeof(test_script);
	v->outputs[0].script = malloc(sizeof(test_script));
	memcpy(v->outputs[0].script, test_script, sizeof(test_script));
	v->data_len = 1;
	v->data[0] = salt;
	finish(v, bytes, len, hash);
}

void tc_make_tx(const struct tchain *tc, const struct tc_in *in, size_t n_in,
		const uint64_t *values, size_t n_out, const uint8_t p0[32],
		const uint8_t p1[32], uint32_t ts, double weight,
		uint8_t **bytes, size_t *len, uint8_t hash[32])
{
	struct hn_vertex *v = hn_vertex_new();

	assert_non_null(v);
	v->version = HN_VTX_TX;
	v->weight = weight;
	v->timestamp = ts;
	v->n_parents = 2;
	v->parents = calloc(2, 32);
	memcpy(v->parents[0], p0, 32);
	memcpy(v->parents[1], p1, 32);
	v->n_inputs = (uint8_t)n_in;
	v->inputs = calloc(n_in ? n_in : 1, sizeof(*v->inputs));
	for (size_t i = 0; i < n_in; i++) {
		memcpy(v->inputs[i].tx_id, in[i].tx, 32);
		v->inputs[i].index = in[i].index;
	}
	v->n_outputs = (uint8_t)n_out;
	v->outputs = calloc(n_out ? n_out : 1, sizeof(*v->outputs));
	for (size_t i = 0; i < n_out; i++) {
		v->outputs[i].value = values[i];
		v->outputs[i].script_len = sizeof(test_script);
		v->outputs[i].script = malloc(sizeof(test_script));
		memcpy(v->outputs[i].script, test_script, sizeof(test_script));
	}
	sign_inputs(v);
	finish(v, bytes, len, hash);
}

static void add(struct tchain *tc, uint8_t *bytes, size_t len, int expect)
{
	struct hn_ledger_result res;
	int rc = hn_ledger_add_vertex(tc->l, bytes, len, 0, &res);

	free(bytes);
	if (rc != expect)
		fail_msg("add_vertex returned %d (%s), expected %d", rc,
			 res.msg, expect);
}

void tc_add_block(struct tchain *tc, const uint8_t parent[32],
		  const uint8_t (*txp)[32], uint32_t ts, double weight,
		  uint8_t salt, int expect, uint8_t hash[32])
{
	uint8_t *b;
	size_t n;

	tc_make_block(tc, parent, txp, ts, weight, salt, &b, &n, hash);
	add(tc, b, n, expect);
}

void tc_add_tx(struct tchain *tc, const struct tc_in *in, size_t n_in,
	       const uint64_t *values, size_t n_out, const uint8_t p0[32],
	       const uint8_t p1[32], uint32_t ts, double weight, int expect,
	       uint8_t hash[32])
{
	uint8_t *b;
	size_t n;

	tc_make_tx(tc, in, n_in, values, n_out, p0, p1, ts, weight, &b, &n,
		   hash);
	add(tc, b, n, expect);
}

void tc_chain(struct tchain *tc, const uint8_t parent[32], uint32_t start_ts,
	      size_t n, double weight, uint8_t salt, uint8_t top[32],
	      uint8_t (*all)[32])
{
	uint8_t cur[32];

	memcpy(cur, parent, 32);
	for (size_t i = 0; i < n; i++) {
		uint8_t h[32];

		tc_add_block(tc, cur, NULL, start_ts + (uint32_t)(30 * i),
			     weight, salt, 0, h);
		memcpy(cur, h, 32);
		if (all)
			memcpy(all[i], h, 32);
	}
	memcpy(top, cur, 32);
}

static void meta(struct tchain *tc, const uint8_t h[32], struct hn_vmeta *m)
{
	int rc = hn_store_get_meta(hn_ledger_store(tc->l), h, HN_VMETA_CORE, m);

	if (rc < 0)
		fail_msg("no metadata for %s: %d", tc_hex(h), rc);
}

bool tc_voided(struct tchain *tc, const uint8_t h[32])
{
	struct hn_vmeta m;
	bool v;

	meta(tc, h, &m);
	v = m.n_voided_by > 0;
	hn_vmeta_release(&m);
	return v;
}

bool tc_has_first_block(struct tchain *tc, const uint8_t h[32],
			const uint8_t fb[32])
{
	struct hn_vmeta m;
	bool v;

	meta(tc, h, &m);
	v = m.has_first_block && (!fb || !memcmp(m.first_block, fb, 32));
	hn_vmeta_release(&m);
	return v;
}

bool tc_in_mempool(struct tchain *tc, const uint8_t h[32])
{
	struct hn_hash_list l = { 0 };
	bool found = false;

	assert_int_equal(hn_ledger_mempool(tc->l, &l), 0);
	for (size_t i = 0; i < l.n; i++)
		if (!memcmp(l.h[i], h, 32))
			found = true;
	hn_hash_list_release(&l);
	return found;
}

bool tc_exists(struct tchain *tc, const uint8_t h[32])
{
	return hn_store_exists(hn_ledger_store(tc->l), h) == 1;
}

uint64_t tc_best_height(struct tchain *tc)
{
	struct hn_block_info bi;

	assert_int_equal(hn_ledger_best_block(tc->l, &bi), 0);
	return bi.height;
}

void tc_best(struct tchain *tc, uint8_t h[32])
{
	struct hn_block_info bi;

	assert_int_equal(hn_ledger_best_block(tc->l, &bi), 0);
	memcpy(h, bi.hash, 32);
}

void tc_check(struct tchain *tc)
{
	struct hn_error err = { 0 };

	if (hn_ledger_check(tc->l, &err) < 0)
		fail_msg("consistency check: %s", err.msg);
}

uint32_t tc_ts(const struct tchain *tc, const uint8_t h[32])
{
	struct hn_vmeta m;
	uint32_t ts;

	meta((struct tchain *)tc, h, &m);
	ts = m.timestamp;
	hn_vmeta_release(&m);
	return ts;
}

const char *tc_hex(const uint8_t h[32])
{
	static char buf[4][65];
	static int i;

	i = (i + 1) % 4;
	hn_hex_encode(h, 32, buf[i]);
	return buf[i];
}

void tc_blocks_make(struct tc_blocks *b, size_t n)
{
	struct tchain src;
	const uint8_t *parent;
	uint32_t ts;

	assert_true(n <= TC_BLOCKS_MAX);
	tc_open(&src);
	b->n = n;
	parent = tc_gblock(&src);
	ts = src.net->genesis_block.timestamp + 30;
	for (size_t i = 0; i < n; i++, ts += 30) {
		struct hn_ledger_result r = { 0 };

		tc_make_block(&src, parent, NULL, ts, 2.0, 7, &b->bytes[i],
			      &b->len[i], b->hash[i]);
		assert_int_equal(hn_ledger_add_vertex(src.l, b->bytes[i],
						      b->len[i], 0, &r), 0);
		parent = b->hash[i];
	}
	tc_close(&src, false);
}

void tc_blocks_free(struct tc_blocks *b)
{
	for (size_t i = 0; i < b->n; i++)
		free(b->bytes[i]);
}

size_t tc_blocks_stored(const struct tc_blocks *b, struct hn_ledger *l,
			bool *is_prefix)
{
	size_t n = 0;
	bool gap = false;

	*is_prefix = true;
	for (size_t i = 0; b && i < b->n; i++) {
		if (hn_nodesvc_vertex_exists(l, b->hash[i])) {
			if (gap)
				*is_prefix = false;
			n++;
		} else {
			gap = true;
		}
	}
	return n;
}

static void run_timeout_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	(void)l;
	(void)revents;
	*(bool *)w->data = true;
}

bool tc_run_until_set(struct ev_loop *loop, const bool *flag, double secs)
{
	ev_timer t;
	bool expired = false;

	ev_timer_init(&t, run_timeout_cb, secs, 0);
	t.data = &expired;
	ev_timer_start(loop, &t);
	while (!expired && !*flag)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
	return *flag;
}
