/*
 * test_verify: core/verify.c through the real ledger (sqlite under the
 * build dir, unittests network, tests/store's chain builders signing with
 * the genesis key): one test per rejection reason, each checking the
 * reason name and code the ledger returns and that storage is unchanged
 * (vertex counts, best block, mempool, event sequence, and the vertex
 * itself absent).  The real mainnet vectors of PROTOCOL.md section 3
 * (block A, tx B, TCT C) go through verify.c directly with a context
 * that knows only the mainnet genesis.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chain.h"
#include "daa.h"
#include "ledger.h"
#include "store.h"
#include "verify.h"

#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"
#include "hn/vertex.h"

#define N_BLOCKS 11     /* above the unittests reward lock (10) */
#define GENESIS_UNITS 100000000000ULL

/* PROTOCOL.md section 3. */
static const char vec_a[] =
	"0000010000190000001976a9143d6dbcbf6e67b2cbcc3225994756a56a5e2d3a27"
	"88ac40350000000000005e0f84de03000006cb93385b8b87a545a1cbb6197e6caf"
	"f600c12cc12fc54250d39c8088fc0002d4d2a15def7604688e1878ab681142a7b1"
	"55cbe52a6b4e031250ae96db0a0002ad8d1519daaddc8e1a37b14aac0b045129c0"
	"1832281fb1c02d873c7abbf962373138316432333261313662613935303031646532"
	"32643331353162303237652d3833623135646233343639373438626262396262393330"
	"3638613836333634362d63653266373762393931303734346131623136656566663066"
	"3032316130663200000002000000000000000080326758";
static const char vec_b[] =
	"0001000102000001e0e88216036e4e52872ba60a96df7570c3e29cc30eda6dd92e"
	"a0fd304c00006a4730450221009fa4798bb69f66035013063c13f1a970ec58111b"
	"cead277d9c93e45c2b6885fe022012e039b26cc4a4cb0a8a5abb7deb7bb78610ed"
	"362bf422efa247db37c5a841e12102bc1213ea99ab55effcff760f94c09f8b1a0b"
	"7b990c01128d06b4a8c5c5f41f8400089f0800001976a91438fb3bc92b76819e9c"
	"19ef7c079d327c8fcd199288ac02de2d3800001976a9148d880c42ddcf78a2da5d"
	"06558f13515508720b4088ac403518509c63f9195ecfd7d40200001ea9d6e1d31d"
	"a6893fcec594dc3fa8b6819ae1268c190f7a1441302226e2000007d1c5add7b908"
	"5037cfc591f1008dff4fe8a9158fd1a4840a6dd5d4e4e600d2da8d";
static const char vec_c[] =
	"00020104000005551d7740fd7d3c0acc50b5677fdd844f1225985aa431e1712af2"
	"a2fd8900006a473045022100a445edb5cd6c79a0a7b5ed837582fd65b8d511ee60"
	"b64fd076e07bd8f63f75a202202dca24320bffc4c3ca2a07cdfff38f7c839bde70"
	"ed49ef634ac6588972836cab2103bfa995d676e3c0ed7b863c74cfef9683fab316"
	"3b42b6f21442326a023fc57fba0000264800001976a9146876f9578221fdb678d4"
	"e8376503098a9228b13288ac00004e2001001976a914031761ef85a24603203c97"
	"e75af355b83209f08f88ac0000000181001976a9149f091256cb98649c7c35df0a"
	"ad44d7805710691e88ac0000000281001976a914b1d7a5ee505ad4d3b93ea1a516"
	"2ba83d5049ec4e88ac0109546f5468654d6f6f6e04f09f9a804034a52aec6cece7"
	"5e0fc0e30200001a72272f48339fcc5d5ec5deaf197855964b0eb912e8c6eefe00"
	"928b6cf600001055641c20b71871ed2c5c7d4096a34f40888d79c25bce74421646"
	"e732dc01ff7369";

/* --- fixture: a ledger with N_BLOCKS blocks on genesis ----------------- */

struct fx {
	struct tchain tc;
	uint8_t blocks[N_BLOCKS][32];
	uint8_t top[32];
};

static uint32_t t0(const struct tchain *tc)
{
	return tc->net->genesis_block.timestamp + 30;
}

/* Timestamp of the top block. */
static uint32_t ttop(const struct fx *f)
{
	return t0(&f->tc) + 30 * (N_BLOCKS - 1);
}

static int setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	assert_non_null(f);
	tc_open(&f->tc);
	tc_chain(&f->tc, tc_gblock(&f->tc), t0(&f->tc), N_BLOCKS, 2.0, 1,
		 f->top, f->blocks);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	tc_check(&f->tc);
	tc_close(&f->tc, false);
	free(f);
	return 0;
}

/* What "storage unchanged" compares. */
struct snap {
	uint64_t n_blocks, n_txs, height, seq;
	uint8_t best[32];
	size_t mempool;
};

static void snap(struct tchain *tc, struct snap *s)
{
	struct hn_store *st = hn_ledger_store(tc->l);
	struct hn_hash_list mp = { 0 };

	memset(s, 0, sizeof(*s));
	assert_int_equal(hn_store_counts(st, &s->n_blocks, &s->n_txs), 0);
	assert_int_equal(hn_store_best(st, s->best, &s->height), 0);
	assert_int_equal(hn_store_mempool_all(st, &mp), 0);
	s->mempool = mp.n;
	hn_hash_list_release(&mp);
	s->seq = hn_ledger_event_seq(tc->l);
}

static uint8_t *dup_bytes(const uint8_t *b, size_t n)
{
	uint8_t *d = malloc(n);

	assert_non_null(d);
	memcpy(d, b, n);
	return d;
}

static struct hn_vertex *dec(uint8_t *bytes, size_t len)
{
	struct hn_vertex *v = NULL;
	char msg[160];

	if (hn_vertex_decode(bytes, len, &v, msg, sizeof(msg)) < 0)
		fail_msg("decode: %s", msg);
	free(bytes);
	return v;
}

/* Adds @bytes (freed) with @flags; asserts the ledger refused it with
 * @rc and reason @verr, and that nothing in storage changed. */
static void reject_bytes(struct tchain *tc, uint8_t *bytes, size_t len,
			 int flags, int rc, int verr)
{
	struct hn_ledger_result res;
	struct snap a, b;
	const char *name = hn_verr_name(verr);
	int got;

	snap(tc, &a);
	got = hn_ledger_add_vertex(tc->l, bytes, len, flags, &res);
	free(bytes);
	if (got != rc || res.verr_code != verr)
		fail_msg("add_vertex: %d verr %d (%s), expected %d verr %d (%s)",
			 got, res.verr_code, res.msg, rc, verr, name);
	assert_false(res.stored);
	if (verr != HN_VERR_NONE &&
	    strncmp(res.msg, name, strlen(name)) != 0)
		fail_msg("message '%s' does not start with '%s'", res.msg,
			 name);
	snap(tc, &b);
	assert_int_equal(a.n_blocks, b.n_blocks);
	assert_int_equal(a.n_txs, b.n_txs);
	assert_int_equal(a.height, b.height);
	assert_memory_equal(a.best, b.best, 32);
	assert_int_equal(a.mempool, b.mempool);
	assert_int_equal(a.seq, b.seq);
	if (res.decoded)
		assert_false(tc_exists(tc, res.hash));
}

/* Mines (unless !@mine) and encodes @v (freed), then reject_bytes. */
static void reject(struct tchain *tc, struct hn_vertex *v, bool mine,
		   int flags, int rc, int verr)
{
	uint8_t *bytes, h[32];
	size_t len;

	if (mine) {
		tc_finish(v, &bytes, &len, h);
	} else {
		assert_int_equal(hn_vertex_update_hash(v), 0);
		assert_int_equal(hn_vertex_encode(v, &bytes, &len), 0);
		hn_vertex_free(v);
	}
	reject_bytes(tc, bytes, len, flags, rc, verr);
}

static void accept(struct tchain *tc, struct hn_vertex *v, int flags,
		   uint8_t hash[32])
{
	struct hn_ledger_result res;
	uint8_t *bytes;
	size_t len;
	int rc;

	tc_finish(v, &bytes, &len, hash);
	rc = hn_ledger_add_vertex(tc->l, bytes, len, flags, &res);
	free(bytes);
	if (rc != 0)
		fail_msg("add_vertex: %d (%s)", rc, res.msg);
	assert_true(res.stored);
}

/* A signed tx spending output @index of @spent into @n values, tx
 * parents the genesis txs, at @ts, weight 2. */
static struct hn_vertex *spend(struct tchain *tc, const uint8_t spent[32],
			       uint8_t index, const uint64_t *values, size_t n,
			       uint32_t ts)
{
	struct tc_in in = { spent, index };
	uint8_t *bytes, h[32];
	size_t len;

	tc_make_tx(tc, &in, 1, values, n, tc_gtx1(tc), tc_gtx2(tc), ts, 2.0,
		   &bytes, &len, h);
	return dec(bytes, len);
}

/* The genesis output, whole, into one output. */
static struct hn_vertex *spend_genesis(struct fx *f, uint32_t ts)
{
	uint64_t val = GENESIS_UNITS;

	return spend(&f->tc, tc_gblock(&f->tc), 0, &val, 1, ts);
}

static struct hn_vertex *block_on(struct tchain *tc, const uint8_t parent[32],
				  uint32_t ts)
{
	uint8_t *bytes, h[32];
	size_t len;

	tc_make_block(tc, parent, NULL, ts, 2.0, 7, &bytes, &len, h);
	return dec(bytes, len);
}

static void set_output(struct hn_tx_output *o, uint64_t value,
		       uint8_t token_data)
{
	free(o->script);
	o->value = value;
	o->token_data = token_data;
	o->script_len = 25;
	o->script = malloc(25);
	assert_non_null(o->script);
	memcpy(o->script, tc_script(), 25);
}

static void set_outputs(struct hn_vertex *v, unsigned n)
{
	for (unsigned i = 0; i < v->n_outputs; i++)
		free(v->outputs[i].script);
	free(v->outputs);
	v->outputs = calloc(n, sizeof(*v->outputs));
	assert_non_null(v->outputs);
	v->n_outputs = (uint8_t)n;
}

/* TokenCreationTransaction spending the genesis output: @minted new
 * tokens, mint and melt authorities, HTR change minus @deposit. */
static struct hn_vertex *tct(struct fx *f, uint64_t minted, uint64_t deposit,
			     const char *name, const char *symbol,
			     uint32_t ts)
{
	struct hn_vertex *v = spend_genesis(f, ts);
	unsigned n = minted ? 4 : 3, k = 0;

	v->version = HN_VTX_TOKEN_CREATION;
	set_outputs(v, n);
	set_output(&v->outputs[k++], GENESIS_UNITS - deposit, 0);
	if (minted)
		set_output(&v->outputs[k++], minted, 1);
	set_output(&v->outputs[k++], HN_TOKEN_MINT_MASK, 0x81);
	set_output(&v->outputs[k++], HN_TOKEN_MELT_MASK, 0x81);
	v->token_version = HN_TOKEN_DEPOSIT;
	v->token_name_len = (uint8_t)strlen(name);
	snprintf(v->token_name, sizeof(v->token_name), "%s", name);
	v->token_symbol_len = (uint8_t)strlen(symbol);
	snprintf(v->token_symbol, sizeof(v->token_symbol), "%s", symbol);
	tc_sign(v);
	return v;
}

/* --- valid vertices (the builders below produce accepted ones) -------- */

static void test_valid(void **state)
{
	struct fx *f = *state;
	struct tchain *tc = &f->tc;
	uint8_t ht[32], hk[32], hb[32];
	struct hn_vertex *v;
	uint64_t vals[2] = { 60, 40 };

	/* TCT minting 10000 with a 100 HTR deposit (1%). */
	accept(tc, tct(f, 10000, 100, "Test Token", "TST", ttop(f) + 10), 0,
	       hk);
	/* Spend the token (output 1) and its mint authority (output 2):
	 * mint 100 more, paying 1 HTR from the change (output 0). */
	v = spend(tc, hk, 0, vals, 2, ttop(f) + 20);
	v->n_inputs = 3;
	v->inputs = realloc(v->inputs, 3 * sizeof(*v->inputs));
	assert_non_null(v->inputs);
	memset(&v->inputs[1], 0, 2 * sizeof(*v->inputs));
	memcpy(v->inputs[1].tx_id, hk, 32);
	v->inputs[1].index = 1;
	memcpy(v->inputs[2].tx_id, hk, 32);
	v->inputs[2].index = 2;
	v->n_tokens = 1;
	v->tokens = calloc(1, 32);
	assert_non_null(v->tokens);
	memcpy(v->tokens[0], hk, 32);
	set_outputs(v, 3);
	set_output(&v->outputs[0], GENESIS_UNITS - 100 - 1, 0);
	set_output(&v->outputs[1], 10100, 1);
	set_output(&v->outputs[2], HN_TOKEN_MINT_MASK, 0x81);
	tc_sign(v);
	accept(tc, v, 0, ht);
	/* A block confirming both. */
	v = block_on(tc, f->top, ttop(f) + 30);
	memcpy(v->parents[1], hk, 32);
	memcpy(v->parents[2], ht, 32);
	accept(tc, v, 0, hb);
	assert_true(tc_has_first_block(tc, ht, hb));
	assert_false(tc_voided(tc, ht));
}

/* --- PoW and weight ---------------------------------------------------- */

static void test_pow(void **state)
{
	struct fx *f = *state;
	struct hn_vertex *v = spend_genesis(f, ttop(f) + 10);

	/* A nonce whose hash misses the target of weight 2. */
	do {
		v->nonce_lo++;
		assert_int_equal(hn_vertex_update_hash(v), 0);
	} while (hn_vertex_pow_ok(v));
	reject(&f->tc, v, false, 0, HN_ECONSENSUS, HN_VERR_POW);

	v = block_on(&f->tc, f->top, ttop(f) + 30);
	do {
		v->nonce_lo++;
		assert_int_equal(hn_vertex_update_hash(v), 0);
	} while (hn_vertex_pow_ok(v));
	reject(&f->tc, v, false, 0, HN_ECONSENSUS, HN_VERR_POW);
}

static void test_weight(void **state)
{
	struct fx *f = *state;
	struct hn_vertex *v;

	/* Test mode: minimum 1 for txs and blocks, max tx min + 25. */
	v = spend_genesis(f, ttop(f) + 10);
	v->weight = 0.5;
	reject(&f->tc, v, true, 0, HN_ECONSENSUS, HN_VERR_WEIGHT);
	v = spend_genesis(f, ttop(f) + 10);
	v->weight = 26.5;
	reject(&f->tc, v, false, 0, HN_ECONSENSUS, HN_VERR_WEIGHT);
	v = block_on(&f->tc, f->top, ttop(f) + 30);
	v->weight = 0.5;
	reject(&f->tc, v, true, 0, HN_ECONSENSUS, HN_VERR_WEIGHT);
}

/* --- inputs and outputs ------------------------------------------------ */

static void test_inputs(void **state)
{
	struct fx *f = *state;
	struct hn_vertex *v;

	/* No inputs. */
	v = spend_genesis(f, ttop(f) + 10);
	free(v->inputs[0].data);
	v->n_inputs = 0;
	reject(&f->tc, v, true, 0, HN_ECONSENSUS, HN_VERR_INPUTS);
	/* The same output twice (ConflictingInputs). */
	v = spend_genesis(f, ttop(f) + 10);
	v->n_inputs = 2;
	v->inputs = realloc(v->inputs, 2 * sizeof(*v->inputs));
	assert_non_null(v->inputs);
	v->inputs[1] = v->inputs[0];
	v->inputs[1].data = NULL;
	v->outputs[0].value = 2 * GENESIS_UNITS;
	tc_sign(v);
	reject(&f->tc, v, true, 0, HN_ECONSENSUS, HN_VERR_INPUTS);
	/* Input data of 1025 bytes (OP_1s: parseable, counts no sigop). */
	v = spend_genesis(f, ttop(f) + 10);
	free(v->inputs[0].data);
	v->inputs[0].data_len = 1025;
	v->inputs[0].data = malloc(1025);
	assert_non_null(v->inputs[0].data);
	memset(v->inputs[0].data, 0x51, 1025);
	reject(&f->tc, v, true, 0, HN_ECONSENSUS, HN_VERR_INPUTS);
}

static void test_outputs(void **state)
{
	struct fx *f = *state;
	struct hn_verr err;
	struct hn_vertex *v;
	uint8_t *bytes, h[32];
	size_t len;

	/* Output script of 1025 bytes. */
	v = spend_genesis(f, ttop(f) + 10);
	free(v->outputs[0].script);
	v->outputs[0].script_len = 1025;
	v->outputs[0].script = malloc(1025);
	assert_non_null(v->outputs[0].script);
	memset(v->outputs[0].script, 0x51, 1025);
	tc_sign(v);
	reject(&f->tc, v, true, 0, HN_ECONSENSUS, HN_VERR_OUTPUTS);

	/* Value 0 cannot be encoded: patch the 4-byte value on the wire;
	 * the codec refuses it before verification. */
	v = spend_genesis(f, ttop(f) + 10);
	set_outputs(v, 2);
	set_output(&v->outputs[0], GENESIS_UNITS - 1, 0);
	set_output(&v->outputs[1], 1, 0);
	tc_sign(v);
	tc_finish(v, &bytes, &len, h);
	{
		/* funds: 5 header bytes, input (32+1+2+data), outputs. */
		size_t off = 5 + 32 + 1;
		uint16_t dl = (uint16_t)(bytes[off] << 8 | bytes[off + 1]);

		off += 2 + dl;          /* first output: 8-byte value */
		off += 8 + 1 + 2 + 25;  /* second output: 4-byte value 1 */
		assert_int_equal(bytes[off + 3], 1);
		bytes[off + 3] = 0;
	}
	reject_bytes(&f->tc, bytes, len, 0, HN_EPARSE, HN_VERR_NONE);

	/* Value 0 (and any value the codec would refuse) in a vertex built
	 * in memory: verify_outputs refuses it itself. */
	v = spend_genesis(f, ttop(f) + 10);
	tc_finish(hn_vertex_dup(v), &bytes, &len, h);
	free(bytes);
	v->nonce_lo = 0;
	memcpy(v->hash, h, 32);         /* the mined hash, PoW ok */
	v->outputs[0].value = 0;
	assert_int_equal(hn_verify_without_storage(f->tc.net, v, 0, &err),
			 HN_ECONSENSUS);
	assert_int_equal(err.code, HN_VERR_OUTPUTS);
	hn_vertex_free(v);

	/* Authority output for HTR. */
	v = spend_genesis(f, ttop(f) + 10);
	set_outputs(v, 2);
	set_output(&v->outputs[0], GENESIS_UNITS, 0);
	set_output(&v->outputs[1], HN_TOKEN_MINT_MASK, 0x80);
	tc_sign(v);
	reject(&f->tc, v, true, 0, HN_ECONSENSUS, HN_VERR_TOKENS);

	/* More HTR out than in, and less. */
	v = spend_genesis(f, ttop(f) + 10);
	v->outputs[0].value = GENESIS_UNITS + 1;
	tc_sign(v);
	reject(&f->tc, v, true, 0, HN_ECONSENSUS, HN_VERR_BALANCE);
	v = spend_genesis(f, ttop(f) + 10);
	v->outputs[0].value = GENESIS_UNITS - 1;
	tc_sign(v);
	reject(&f->tc, v, true, 0, HN_ECONSENSUS, HN_VERR_BALANCE);
}

static void test_sigops(void **state)
{
	struct fx *f = *state;
	struct hn_vertex *v = spend_genesis(f, ttop(f) + 10);

	/* 2 x 700 OP_CHECKSIG > MAX_TX_SIGOPS_OUTPUT 1275. */
	set_outputs(v, 2);
	for (unsigned i = 0; i < 2; i++) {
		v->outputs[i].value = GENESIS_UNITS / 2;
		v->outputs[i].script_len = 700;
		v->outputs[i].script = malloc(700);
		assert_non_null(v->outputs[i].script);
		memset(v->outputs[i].script, 0xac, 700);
	}
	tc_sign(v);
	reject(&f->tc, v, true, 0, HN_ECONSENSUS, HN_VERR_SIGOPS);
}

/* --- scripts and signatures -------------------------------------------- */

static void test_script(void **state)
{
	struct fx *f = *state;
	struct hn_vertex *v;

	/* Unlocking data that is not push(sig) push(pubkey). */
	v = spend_genesis(f, ttop(f) + 10);
	memset(v->inputs[0].data, 0x51, v->inputs[0].data_len);
	reject(&f->tc, v, true, 0, HN_ECONSENSUS, HN_VERR_SCRIPT);
	/* Signed, then an output changed: the signature no longer covers
	 * the sighash. */
	v = spend_genesis(f, ttop(f) + 10);
	set_outputs(v, 2);
	set_output(&v->outputs[0], GENESIS_UNITS - 5, 0);
	set_output(&v->outputs[1], 5, 0);
	tc_sign(v);
	v->outputs[0].value = GENESIS_UNITS - 6;
	v->outputs[1].value = 6;
	reject(&f->tc, v, true, 0, HN_ECONSENSUS, HN_VERR_SCRIPT);
	/* A flipped byte inside the DER signature. */
	v = spend_genesis(f, ttop(f) + 10);
	v->inputs[0].data[10] ^= 0x01;
	reject(&f->tc, v, true, 0, HN_ECONSENSUS, HN_VERR_SCRIPT);
}

/* --- double spends ------------------------------------------------------ */

static void test_double_spend(void **state)
{
	struct fx *f = *state;
	struct tchain *tc = &f->tc;
	struct hn_ledger_result res;
	struct hn_vertex *v;
	uint8_t ha[32], hb[32], hblk[32], *bytes;
	uint64_t vals[2] = { GENESIS_UNITS - 1, 1 };
	size_t len;

	/* A spends the genesis output and is confirmed by a block. */
	accept(tc, spend_genesis(f, ttop(f) + 10), 0, ha);
	v = block_on(tc, f->top, ttop(f) + 30);
	memcpy(v->parents[1], ha, 32);
	accept(tc, v, 0, hblk);
	assert_true(tc_has_first_block(tc, ha, hblk));
	/* B spends it again. */
	v = spend(tc, tc_gblock(tc), 0, vals, 2, ttop(f) + 40);
	tc_finish(v, &bytes, &len, hb);
	tc->now = ttop(f) + 100;
	/* From the mempool or a push: ConflictWithConfirmedTx. */
	reject_bytes(tc, dup_bytes(bytes, len), len,
		     HN_ADD_MEMPOOL, HN_ECONSENSUS, HN_VERR_CONFLICT);
	reject_bytes(tc, dup_bytes(bytes, len), len,
		     HN_ADD_PUSH_TX, HN_ECONSENSUS, HN_VERR_CONFLICT);
	/* In a block stream the reference does not check conflicts: B is
	 * stored and voided by consensus, A stays. */
	assert_int_equal(hn_ledger_add_vertex(tc->l, bytes, len, 0, &res), 0);
	free(bytes);
	assert_true(res.stored);
	assert_true(tc_voided(tc, hb));
	assert_false(tc_voided(tc, ha));
}

/* Mempool conflicts among unconfirmed txs are allowed, up to
 * MAX_WITHIN_CONFLICTS spenders of one output. */
static void test_mempool_conflicts(void **state)
{
	struct fx *f = *state;
	struct tchain *tc = &f->tc;
	struct hn_daa_config cfg;
	struct hn_vertex *v;
	uint64_t reward;
	uint8_t h[8][32];

	hn_daa_config_v1(tc->net, &cfg);
	reward = hn_daa_reward(tc->net, &cfg, 1);
	tc->now = ttop(f) + 100;
	for (unsigned i = 0; i < 8; i++) {
		/* Same output, different timestamps. */
		v = spend(tc, f->blocks[0], 0, &reward, 1, ttop(f) + 10 + i);
		accept(tc, v, HN_ADD_MEMPOOL, h[i]);
		assert_true(tc_exists(tc, h[i]));
	}
	/* A ninth has 8 other spenders. */
	v = spend(tc, f->blocks[0], 0, &reward, 1, ttop(f) + 30);
	reject(tc, v, true, HN_ADD_MEMPOOL, HN_ECONSENSUS, HN_VERR_CONFLICT);
}

/* --- timestamps ---------------------------------------------------------- */

static void test_timestamp(void **state)
{
	struct fx *f = *state;
	struct tchain *tc = &f->tc;
	struct hn_vertex *v;
	uint8_t ha[32];
	uint64_t vals[1] = { GENESIS_UNITS };

	/* Tx not after its parent (genesis tx2). */
	v = spend_genesis(f, tc->net->genesis_tx2.timestamp);
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_TIMESTAMP);
	/* Tx not after the tx it spends. */
	accept(tc, spend_genesis(f, ttop(f) + 50), 0, ha);
	v = spend(tc, ha, 0, vals, 1, ttop(f) + 50);
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_TIMESTAMP);
	/* Block not after its parent block. */
	v = block_on(tc, f->top, ttop(f));
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_TIMESTAMP);
	/* Block more than MAX_DISTANCE_BETWEEN_BLOCKS after its parent. */
	v = block_on(tc, f->top, ttop(f) + 4501);
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_TIMESTAMP);
	/* More than MAX_FUTURE_TIMESTAMP_ALLOWED ahead of the clock. */
	tc->now = ttop(f) + 100;
	v = block_on(tc, f->top, ttop(f) + 100 + 301);
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_TIMESTAMP);
	/* Mempool: older than 36 h (a block stream takes it). */
	tc->now = ttop(f) + 36 * 3600 + 100;
	v = spend(tc, ha, 0, vals, 1, ttop(f) + 60);
	reject(tc, v, true, HN_ADD_MEMPOOL, HN_ECONSENSUS, HN_VERR_TIMESTAMP);
}

/* --- parents and inputs that do not exist ---------------------------- */

static void test_parents(void **state)
{
	struct fx *f = *state;
	struct tchain *tc = &f->tc;
	struct hn_vertex *v;
	uint8_t unknown[32];

	memset(unknown, 0x5a, sizeof(unknown));
	/* Unknown tx parent. */
	v = spend_genesis(f, ttop(f) + 10);
	memcpy(v->parents[1], unknown, 32);
	reject(tc, v, true, 0, HN_ENOENT, HN_VERR_MISSING);
	/* Unknown parent block. */
	v = block_on(tc, f->top, ttop(f) + 30);
	memcpy(v->parents[0], unknown, 32);
	reject(tc, v, true, 0, HN_ENOENT, HN_VERR_MISSING);
	/* Duplicated tx parents. */
	v = spend_genesis(f, ttop(f) + 10);
	memcpy(v->parents[1], v->parents[0], 32);
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_PARENTS);
	/* One parent only. */
	v = spend_genesis(f, ttop(f) + 10);
	v->n_parents = 1;
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_PARENTS);
	/* A tx with a block parent. */
	v = spend_genesis(f, ttop(f) + 10);
	memcpy(v->parents[0], f->top, 32);
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_PARENTS);
	/* A block with its parent block after a tx parent. */
	v = block_on(tc, f->top, ttop(f) + 30);
	memcpy(v->parents[0], tc_gtx1(tc), 32);
	memcpy(v->parents[1], f->top, 32);
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_PARENTS);
	/* A block with two block parents. */
	v = block_on(tc, f->top, ttop(f) + 30);
	memcpy(v->parents[1], f->blocks[N_BLOCKS - 2], 32);
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_PARENTS);
	/* Input spending an unknown tx. */
	v = spend_genesis(f, ttop(f) + 10);
	memcpy(v->inputs[0].tx_id, unknown, 32);
	tc_sign(v);
	reject(tc, v, true, 0, HN_ENOENT, HN_VERR_INPUT_MISSING);
	/* Input spending an output the (known) tx does not have. */
	v = spend_genesis(f, ttop(f) + 10);
	v->inputs[0].index = 1;
	tc_sign(v);
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_INPUT_MISSING);
}

/* --- tokens ---------------------------------------------------------- */

static void test_token_creation(void **state)
{
	struct fx *f = *state;
	struct tchain *tc = &f->tc;
	uint32_t ts = ttop(f) + 10;
	struct hn_vertex *v;

	/* Name and symbol rules (TransactionDataError). */
	reject(tc, tct(f, 100, 1, "", "TST", ts), true, 0, HN_ECONSENSUS,
	       HN_VERR_DATA);
	reject(tc, tct(f, 100, 1, "Test", "", ts), true, 0, HN_ECONSENSUS,
	       HN_VERR_DATA);
	reject(tc, tct(f, 100, 1, "Test", "TOOLNG", ts), true, 0,
	       HN_ECONSENSUS, HN_VERR_DATA);
	reject(tc, tct(f, 100, 1, "123456789012345678901234567890T", "TST",
		       ts), true, 0, HN_ECONSENSUS, HN_VERR_DATA);
	reject(tc, tct(f, 100, 1, " hathor ", "TST", ts), true, 0,
	       HN_ECONSENSUS, HN_VERR_DATA);
	reject(tc, tct(f, 100, 1, "Test", "htr", ts), true, 0, HN_ECONSENSUS,
	       HN_VERR_DATA);
	/* Token version NATIVE (0) is not creatable. */
	v = tct(f, 100, 1, "Test", "TST", ts);
	v->token_version = HN_TOKEN_NATIVE;
	tc_sign(v);
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_DATA);
	/* Deposit: 1% of 10000 is 100 HTR; 99 is a surplus of HTR out. */
	reject(tc, tct(f, 10000, 99, "Test", "TST", ts), true, 0,
	       HN_ECONSENSUS, HN_VERR_BALANCE);
	reject(tc, tct(f, 10000, 101, "Test", "TST", ts), true, 0,
	       HN_ECONSENSUS, HN_VERR_BALANCE);
	/* Authorities only, nothing minted. */
	reject(tc, tct(f, 0, 0, "Test", "TST", ts), true, 0, HN_ECONSENSUS,
	       HN_VERR_TOKENS);
	/* An authority output with an unknown bit. */
	v = tct(f, 100, 1, "Test", "TST", ts);
	v->outputs[2].value = 4;
	tc_sign(v);
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_TOKENS);
	/* Token index 2 with one token. */
	v = tct(f, 100, 1, "Test", "TST", ts);
	v->outputs[1].token_data = 2;
	tc_sign(v);
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_TOKENS);
}

/* Txs using a created token without the matching authority. */
static void test_token_authority(void **state)
{
	struct fx *f = *state;
	struct tchain *tc = &f->tc;
	struct hn_vertex *v;
	uint8_t hk[32];
	uint64_t val = GENESIS_UNITS - 100;

	accept(tc, tct(f, 10000, 100, "Test Token", "TST", ttop(f) + 10), 0,
	       hk);
	for (int melt = 0; melt < 2; melt++) {
		/* Spend the HTR change and the 10000 tokens; send 10001
		 * (mint) or 9999 (melt) tokens on, no authority spent. */
		v = spend(tc, hk, 0, &val, 1, ttop(f) + 20);
		v->n_inputs = 2;
		v->inputs = realloc(v->inputs, 2 * sizeof(*v->inputs));
		assert_non_null(v->inputs);
		memset(&v->inputs[1], 0, sizeof(*v->inputs));
		memcpy(v->inputs[1].tx_id, hk, 32);
		v->inputs[1].index = 1;
		v->n_tokens = 1;
		v->tokens = calloc(1, 32);
		assert_non_null(v->tokens);
		memcpy(v->tokens[0], hk, 32);
		set_outputs(v, 2);
		set_output(&v->outputs[0], val, 0);
		set_output(&v->outputs[1], melt ? 9999 : 10001, 1);
		tc_sign(v);
		reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_BALANCE);
	}
	/* A mint authority output created without one spent. */
	v = spend(tc, hk, 0, &val, 1, ttop(f) + 20);
	v->n_tokens = 1;
	v->tokens = calloc(1, 32);
	assert_non_null(v->tokens);
	memcpy(v->tokens[0], hk, 32);
	set_outputs(v, 2);
	set_output(&v->outputs[0], val, 0);
	set_output(&v->outputs[1], HN_TOKEN_MINT_MASK, 0x81);
	tc_sign(v);
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_TOKENS);
	/* Token uid that is no token (a block hash). */
	v = spend(tc, hk, 0, &val, 1, ttop(f) + 20);
	v->n_tokens = 1;
	v->tokens = calloc(1, 32);
	assert_non_null(v->tokens);
	memcpy(v->tokens[0], f->top, 32);
	set_outputs(v, 2);
	set_output(&v->outputs[0], val, 0);
	set_output(&v->outputs[1], HN_TOKEN_MINT_MASK, 0x81);
	tc_sign(v);
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_TOKENS);
}

/* --- blocks -------------------------------------------------------------- */

static void test_block_rules(void **state)
{
	struct fx *f = *state;
	struct tchain *tc = &f->tc;
	struct hn_vertex *v;

	/* Reward one unit more than the height's. */
	v = block_on(tc, f->top, ttop(f) + 30);
	v->outputs[0].value++;
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_REWARD);
	/* Reward split over two outputs is fine; an output of a token is
	 * not (blocks are HTR only). */
	v = block_on(tc, f->top, ttop(f) + 30);
	v->n_outputs = 2;
	v->outputs = realloc(v->outputs, 2 * sizeof(*v->outputs));
	assert_non_null(v->outputs);
	memset(&v->outputs[1], 0, sizeof(*v->outputs));
	set_output(&v->outputs[1], 1, 1);
	v->outputs[0].value--;
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_TOKENS);
	/* Data above BLOCK_DATA_MAX_SIZE. */
	v = block_on(tc, f->top, ttop(f) + 30);
	v->data_len = 101;
	memset(v->data, 'x', 101);
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_DATA);
	/* Signal bits: a block may set the 4 feature bits only, a tx none. */
	v = block_on(tc, f->top, ttop(f) + 30);
	v->signal_bits = 0x10;
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_SIGNAL_BITS);
	v = spend_genesis(f, ttop(f) + 10);
	v->signal_bits = 0x01;
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_SIGNAL_BITS);
	/* Feature bits are fine on a block. */
	v = block_on(tc, f->top, ttop(f) + 30);
	v->signal_bits = 0x0f;
	{
		uint8_t h[32];

		accept(tc, v, 0, h);
	}
}

static void test_reward_lock(void **state)
{
	struct fx *f = *state;
	struct tchain *tc = &f->tc;
	struct hn_vertex *v;
	uint64_t reward;
	struct hn_daa_config cfg;

	/* The output of the block at height 2 unlocks at best height 12. */
	hn_daa_config_v1(tc->net, &cfg);
	reward = hn_daa_reward(tc->net, &cfg, 2);
	v = spend(tc, f->blocks[1], 0, &reward, 1, ttop(f) + 10);
	reject(tc, v, true, 0, HN_ECONSENSUS, HN_VERR_REWARD_LOCKED);
	/* The block at height 1: unlocked at 11. */
	reward = hn_daa_reward(tc->net, &cfg, 1);
	v = spend(tc, f->blocks[0], 0, &reward, 1, ttop(f) + 10);
	{
		uint8_t h[32];

		accept(tc, v, 0, h);
	}
}

/* --- the real vectors (mainnet), without the ledger ------------------ */

/* A context that knows the three mainnet genesis vertices only. */
static int mn_info(void *arg, const uint8_t hash[32],
		   struct hn_verify_info *out)
{
	const struct hn_network *net = arg;
	const struct hn_genesis_vertex *g[3] = {
		&net->genesis_block, &net->genesis_tx1, &net->genesis_tx2,
	};

	for (int i = 0; i < 3; i++)
		if (!memcmp(hash, g[i]->hash, 32)) {
			memset(out, 0, sizeof(*out));
			out->is_block = i == 0;
			out->version = i == 0 ? HN_VTX_BLOCK : HN_VTX_TX;
			out->timestamp = g[i]->timestamp;
			out->weight = g[i]->weight;
			out->is_genesis = true;
			out->has_first_block = i > 0;
			return 0;
		}
	return HN_ENOENT;
}

static int mn_vertex(void *arg, const uint8_t hash[32],
		     struct hn_vertex **out)
{
	(void)arg;
	(void)hash;
	(void)out;
	return HN_ENOENT;
}

static int mn_chain(void *arg, const uint8_t hash[32], size_t n,
		    struct hn_daa_block *out)
{
	const struct hn_network *net = arg;

	if (n != 1 || memcmp(hash, net->genesis_block.hash, 32))
		return HN_ENOENT;
	out[0].timestamp = net->genesis_block.timestamp;
	out[0].weight = net->genesis_block.weight;
	return 0;
}

static int mn_best(void *arg, uint64_t *h)
{
	(void)arg;
	*h = 0;
	return 0;
}

static void mn_ctx(struct hn_verify_ctx *c, const struct hn_network *net)
{
	memset(c, 0, sizeof(*c));
	c->net = net;
	c->arg = (void *)net;
	c->get_info = mn_info;
	c->get_vertex = mn_vertex;
	c->block_chain = mn_chain;
	c->best_height = mn_best;
}

static struct hn_vertex *vec(const char *hex)
{
	size_t n = strlen(hex) / 2;
	uint8_t *b = malloc(n);

	assert_non_null(b);
	size_t got = 0;

	assert_int_equal(hn_hex_decode(hex, b, n, &got), 0);
	assert_int_equal(got, n);
	return dec(b, n);
}

static void test_vectors(void **state)
{
	const struct hn_network *net = hn_network_by_name("mainnet");
	struct hn_verify_ctx c;
	struct hn_verr err;
	struct hn_vertex *v;

	(void)state;
	assert_non_null(net);
	mn_ctx(&c, net);

	/* A: block at height 1, fully valid on genesis. */
	v = vec(vec_a);
	assert_int_equal(hn_verify_vertex(&c, v, 1, 0, &err), 0);
	v->nonce_lo ^= 1;
	assert_int_equal(hn_vertex_update_hash(v), 0);
	assert_int_equal(hn_verify_without_storage(net, v, 0, &err),
			 HN_ECONSENSUS);
	assert_int_equal(err.code, HN_VERR_POW);
	v->nonce_lo ^= 1;
	assert_int_equal(hn_vertex_update_hash(v), 0);
	v->outputs[0].value = 6401;
	assert_int_equal(hn_verify_basic(&c, v, 1, 0, &err), HN_ECONSENSUS);
	assert_int_equal(err.code, HN_VERR_REWARD);
	v->outputs[0].value = 6400;
	v->weight = 20.9;
	assert_int_equal(hn_verify_basic(&c, v, 1, 0, &err), HN_ECONSENSUS);
	assert_int_equal(err.code, HN_VERR_WEIGHT);
	hn_vertex_free(v);

	/* B: tx, basic (PoW, mainnet min weight of its size and amount)
	 * passes; the spent tx is unknown here. */
	v = vec(vec_b);
	assert_int_equal(hn_verify_basic(&c, v, 0, 0, &err), 0);
	assert_int_equal(hn_verify_full(&c, v, 0, 0, &err), HN_ENOENT);
	assert_int_equal(err.code, HN_VERR_INPUT_MISSING);
	v->weight = 20.0;
	assert_int_equal(hn_verify_basic(&c, v, 0, 0, &err), HN_ECONSENSUS);
	assert_int_equal(err.code, HN_VERR_WEIGHT);
	v->weight = 21.09498;
	v->signal_bits = 1;
	assert_int_equal(hn_verify_basic(&c, v, 0, 0, &err), HN_ECONSENSUS);
	assert_int_equal(err.code, HN_VERR_SIGNAL_BITS);
	hn_vertex_free(v);

	/* C: TokenCreationTransaction; token info is checked in full
	 * verification before the inputs. */
	v = vec(vec_c);
	assert_int_equal(hn_verify_basic(&c, v, 0, 0, &err), 0);
	assert_int_equal(hn_verify_full(&c, v, 0, 0, &err), HN_ENOENT);
	assert_int_equal(err.code, HN_VERR_INPUT_MISSING);
	snprintf(v->token_name, sizeof(v->token_name), "HaThOr");
	v->token_name_len = 6;
	assert_int_equal(hn_verify_full(&c, v, 0, 0, &err), HN_ECONSENSUS);
	assert_int_equal(err.code, HN_VERR_DATA);
	hn_vertex_free(v);
}

/* Headers: NanoHeader and FeeHeader are feature-activated on mainnet,
 * and their features are not tracked, so a vertex with one is refused. */
static void test_headers(void **state)
{
	const struct hn_network *net = hn_network_by_name("mainnet");
	struct hn_verify_ctx c;
	struct hn_verr err;
	struct hn_vertex *v;

	(void)state;
	mn_ctx(&c, net);
	v = vec(vec_b);
	v->n_headers = 1;
	v->headers[0].id = HN_HEADER_FEE;
	v->headers[0].u.fee.n_fees = 0;
	v->headers[0].u.fee.fees = NULL;
	assert_int_equal(hn_verify_full(&c, v, 0, 0, &err), HN_ECONSENSUS);
	assert_int_equal(err.code, HN_VERR_HEADERS);
	assert_non_null(strstr(err.msg, "FeeHeader (0x11) not supported"));
	/* A NanoHeader, alone or after the FeeHeader: refused as well. */
	v->headers[1].id = HN_HEADER_NANO;
	memset(&v->headers[1].u.nano, 0, sizeof(v->headers[1].u.nano));
	v->n_headers = 2;
	assert_int_equal(hn_verify_full(&c, v, 0, 0, &err), HN_ECONSENSUS);
	assert_int_equal(err.code, HN_VERR_HEADERS);
	v->headers[0] = v->headers[1];
	v->n_headers = 1;
	assert_int_equal(hn_verify_full(&c, v, 0, 0, &err), HN_ECONSENSUS);
	assert_int_equal(err.code, HN_VERR_HEADERS);
	assert_non_null(strstr(err.msg, "NanoHeader (0x10) not supported"));
	/* Without headers the same vertex gets past the header check. */
	v->n_headers = 0;
	err.code = 0;
	hn_verify_full(&c, v, 0, 0, &err);
	assert_int_not_equal(err.code, HN_VERR_HEADERS);
	hn_vertex_free(v);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(hn_verr_name(HN_VERR_POW), "invalid-pow");
	assert_string_equal(hn_verr_name(HN_VERR_MISSING), "parent-not-found");
	assert_string_equal(hn_verr_name(HN_VERR_CONFLICT),
			    "conflict-with-confirmed");
	assert_string_equal(hn_verr_name(-1), "invalid");
	assert_string_equal(hn_verr_name(1000), "invalid");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_valid, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pow, setup, teardown),
		cmocka_unit_test_setup_teardown(test_weight, setup, teardown),
		cmocka_unit_test_setup_teardown(test_inputs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_outputs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sigops, setup, teardown),
		cmocka_unit_test_setup_teardown(test_script, setup, teardown),
		cmocka_unit_test_setup_teardown(test_double_spend, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_mempool_conflicts, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_timestamp, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_parents, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_creation, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_token_authority, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_block_rules, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reward_lock, setup,
						teardown),
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
