/*
 * test_feature.c: the feature-activation state machine (core/feature.c)
 * over real stored chains (unittests ledger, real sqlite): DEFINED ->
 * STARTED -> LOCKED_IN -> ACTIVE with the threshold met, STARTED -> FAILED
 * at the timeout, STARTED -> MUST_SIGNAL -> LOCKED_IN -> ACTIVE with
 * lock_in_on_timeout, bit counts, the mandatory-signalling check
 * (block_verifier.verify_mandatory_signaling) and states on forks; and
 * REDUCE_DAA_TARGET switching the ledger's block weight and reward checks
 * and its block template to the V2 DAA from the block after activation.
 *
 * The unittests network defines no features, so the machine runs with a
 * copy of it carrying three (interval 4 and threshold 3 are unittests').
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "chain.h"
#include "daa.h"
#include "feature.h"
#include "verify.h"
#include "hn/err.h"
#include "hn/hash.h"
#include "hn/network.h"
#include "hn/vertex.h"

static const struct hn_feature feats[] = {
	/* A: signalled by 3 of the 4 blocks 4..7, locks in at 8, active at
	 * 12 (minimum activation height). */
	{ .name = "NOP_FEATURE_1", .bit = 0, .start_height = 4,
	  .timeout_height = 16, .minimum_activation_height = 12,
	  .version = "0.1.0" },
	/* B: never signalled, fails at its timeout 12. */
	{ .name = "NOP_FEATURE_2", .bit = 1, .start_height = 4,
	  .timeout_height = 12, .version = "0.1.0" },
	/* C: lock in on timeout: MUST_SIGNAL at 8 (8 + 4 >= 12), LOCKED_IN
	 * at 12, ACTIVE at 16. */
	{ .name = "NOP_FEATURE_3", .bit = 2, .start_height = 4,
	  .timeout_height = 12, .lock_in_on_timeout = true,
	  .version = "0.1.0" },
};

static uint32_t t0(const struct tchain *tc)
{
	return tc->net->genesis_block.timestamp + 30;
}

static double daa_now(void *arg);
static void open_mode(struct tchain *tc, const struct hn_network *net,
		      bool create, unsigned test_mode);

/* The message of the last refused block (add_bits). */
static char last_msg[256];

/* A block on @parent signalling @bits, added: @want 0 (stored) or the
 * enum hn_verr_code refusing it (its message in last_msg). */
static void add_bits(struct tchain *tc, const uint8_t parent[32],
		     uint32_t ts, uint8_t salt, uint8_t bits, int want,
		     uint8_t hash[32])
{
	struct hn_ledger_result res;
	struct hn_vertex *v;
	uint8_t *b;
	size_t n;
	int rc;

	tc_make_block(tc, parent, NULL, ts, 2.0, salt, &b, &n, hash);
	assert_int_equal(hn_vertex_decode(b, n, &v, NULL, 0), 0);
	free(b);
	v->signal_bits = bits;
	tc_finish(v, &b, &n, hash);
	memset(&res, 0, sizeof(res));
	rc = hn_ledger_add_vertex(tc->l, b, n, 0, &res);
	free(b);
	snprintf(last_msg, sizeof(last_msg), "%s", res.msg);
	if (want == 0 && rc != 0)
		fail_msg("add: %s", res.msg);
	if (want != 0 && (rc != HN_ECONSENSUS || res.verr_code != want))
		fail_msg("add: rc %d code %d (%s), want code %d", rc,
			 res.verr_code, res.msg, want);
}

/* A block on @parent signalling @bits, stored. */
static void add_sig(struct tchain *tc, const uint8_t parent[32], uint32_t ts,
		    uint8_t salt, uint8_t bits, uint8_t hash[32])
{
	add_bits(tc, parent, ts, salt, bits, 0, hash);
}

static void expect(struct hn_fa *fa, const uint8_t h[32],
		   enum hn_feature_state a, enum hn_feature_state b,
		   enum hn_feature_state c)
{
	enum hn_feature_state st[3];

	assert_int_equal(hn_fa_states(fa, h, st), 0);
	if (st[0] != a || st[1] != b || st[2] != c)
		fail_msg("states at %s: %s %s %s, want %s %s %s", tc_hex(h),
			 hn_feature_state_name(st[0]),
			 hn_feature_state_name(st[1]),
			 hn_feature_state_name(st[2]),
			 hn_feature_state_name(a), hn_feature_state_name(b),
			 hn_feature_state_name(c));
}

static void test_state_machine(void **state)
{
	struct tchain tc;
	struct hn_network net;
	struct hn_fa *fa;
	uint8_t h[21][32], f8[32], f9[32], g[6][32];
	uint32_t counts[HN_FA_MAX_BITS];
	size_t which;
	bool found;
	uint64_t ah;

	(void)state;
	tc_open(&tc);
	net = *tc.net;
	net.features = feats;
	net.n_features = 3;
	assert_int_equal(net.feature_evaluation_interval, 4);
	assert_int_equal(net.feature_default_threshold, 3);
	memcpy(h[0], tc_gblock(&tc), 32);
	for (int i = 1; i <= 20; i++) {
		uint8_t bits = 0;

		if (i >= 4 && i <= 6)
			bits |= 1;              /* A: 3 of 4 */
		if (i >= 8 && i <= 10)
			bits |= 4;              /* C: 3 of 4 while MUST_SIGNAL */
		add_sig(&tc, h[i - 1], t0(&tc) + 30 * (uint32_t)i, 1, bits,
			h[i]);
	}
	assert_int_equal(tc_best_height(&tc), 20);
	fa = hn_fa_new(&net, hn_fa_store_get, hn_ledger_store(tc.l));
	assert_non_null(fa);

	/* Query the tip first: every boundary is computed on the way. */
	expect(fa, h[20], HN_FS_ACTIVE, HN_FS_FAILED, HN_FS_ACTIVE);
	assert_int_equal(hn_fa_reads(fa), 21);  /* every block once */
	for (int i = 0; i < 4; i++)
		expect(fa, h[i], HN_FS_DEFINED, HN_FS_DEFINED, HN_FS_DEFINED);
	for (int i = 4; i < 8; i++)
		expect(fa, h[i], HN_FS_STARTED, HN_FS_STARTED, HN_FS_STARTED);
	for (int i = 8; i < 12; i++)
		expect(fa, h[i], HN_FS_LOCKED_IN, HN_FS_STARTED,
		       HN_FS_MUST_SIGNAL);
	for (int i = 12; i < 16; i++)
		expect(fa, h[i], HN_FS_ACTIVE, HN_FS_FAILED, HN_FS_LOCKED_IN);
	for (int i = 16; i <= 20; i++)
		expect(fa, h[i], HN_FS_ACTIVE, HN_FS_FAILED, HN_FS_ACTIVE);
	assert_int_equal(hn_fa_reads(fa), 21);  /* all from the cache */

	/* Rolling bit counts from the boundary, the block included. */
	assert_int_equal(hn_fa_bit_counts(fa, h[6], counts), 0);
	assert_int_equal(counts[0], 3);
	assert_int_equal(hn_fa_bit_counts(fa, h[7], counts), 0);
	assert_int_equal(counts[0], 3);
	assert_int_equal(hn_fa_bit_counts(fa, h[8], counts), 0);
	assert_int_equal(counts[0], 0);
	assert_int_equal(counts[2], 1);
	assert_int_equal(hn_fa_bit_counts(fa, h[10], counts), 0);
	assert_int_equal(counts[2], 3);
	assert_int_equal(counts[1], 0);

	/* Activation heights (get_activation_height). */
	assert_int_equal(hn_fa_activation_height(fa, h[18], 0, &found, &ah),
			 0);
	assert_true(found);
	assert_int_equal(ah, 12);
	assert_int_equal(hn_fa_activation_height(fa, h[18], 2, &found, &ah),
			 0);
	assert_true(found);
	assert_int_equal(ah, 16);
	assert_int_equal(hn_fa_activation_height(fa, h[11], 0, &found, &ah),
			 0);
	assert_false(found);
	assert_int_equal(hn_fa_activation_height(fa, h[18], 1, &found, &ah),
			 0);
	assert_false(found);

	/* Mandatory signalling: the main chain signals C at 8, 9, 10. */
	for (int i = 8; i < 12; i++)
		assert_int_equal(hn_fa_missing_signal(fa, h[i], &which), 0);
	/* A fork from 7 that does not signal C: at 8 two signals are still
	 * possible short of 3 with 3 blocks left; at 9 (0 of 3, 2 left) it
	 * can no longer reach the threshold. */
	add_sig(&tc, h[7], t0(&tc) + 241, 2, 0, f8);
	add_sig(&tc, f8, t0(&tc) + 271, 2, 0, f9);
	assert_int_equal(hn_fa_missing_signal(fa, f8, &which), 0);
	assert_int_equal(hn_fa_missing_signal(fa, f9, &which), 1);
	assert_int_equal(which, 2);
	expect(fa, f9, HN_FS_LOCKED_IN, HN_FS_STARTED, HN_FS_MUST_SIGNAL);

	/* A fork from 3 where nobody signals A: at its boundary 8 A is still
	 * STARTED, while the main chain's 8 has it LOCKED_IN. */
	memcpy(g[0], h[3], 32);
	for (int i = 1; i <= 5; i++)
		add_sig(&tc, g[i - 1], t0(&tc) + 90 + 30 * (uint32_t)i + 5, 3,
			0, g[i]);
	expect(fa, g[4], HN_FS_STARTED, HN_FS_STARTED, HN_FS_STARTED);
	expect(fa, g[5], HN_FS_STARTED, HN_FS_STARTED, HN_FS_MUST_SIGNAL);
	expect(fa, h[8], HN_FS_LOCKED_IN, HN_FS_STARTED, HN_FS_MUST_SIGNAL);

	/* A fresh machine agrees, queried from the bottom up. */
	hn_fa_free(fa);
	fa = hn_fa_new(&net, hn_fa_store_get, hn_ledger_store(tc.l));
	for (int i = 0; i <= 20; i++) {
		enum hn_feature_state st[3];

		assert_int_equal(hn_fa_states(fa, h[i], st), 0);
	}
	expect(fa, h[13], HN_FS_ACTIVE, HN_FS_FAILED, HN_FS_LOCKED_IN);
	assert_int_equal(hn_fa_feature_index(&net, "NOP_FEATURE_3"), 2);
	assert_int_equal(hn_fa_feature_index(&net, "NANO_CONTRACTS"), -1);
	{
		uint8_t nope[32] = { 0 };
		enum hn_feature_state st[3];

		assert_int_equal(hn_fa_states(fa, nope, st), HN_ENOENT);
	}
	hn_fa_free(fa);
	tc_close(&tc, false);
}

/* The networks' own feature tables: mainnet's REDUCE_DAA_TARGET exists,
 * and nothing our networks define can reach MUST_SIGNAL (no feature locks
 * in on timeout), so the mandatory-signalling check never refuses a block
 * there. */
static void test_networks(void **state)
{
	const char *const nets[] = { "mainnet", "testnet", "golf", "hotel",
				     "unittests", "privatenet" };

	(void)state;
	assert_true(hn_fa_feature_index(hn_network_by_name("mainnet"),
					"REDUCE_DAA_TARGET") >= 0);
	for (size_t i = 0; i < sizeof(nets) / sizeof(nets[0]); i++) {
		const struct hn_network *n = hn_network_by_name(nets[i]);

		if (!n)
			continue;
		assert_true(n->n_features <= HN_FA_MAX_FEATURES);
		for (size_t j = 0; j < n->n_features; j++) {
			assert_false(n->features[j].lock_in_on_timeout);
			assert_true(n->features[j].bit <
				    n->feature_max_signal_bits);
		}
	}
}


/* A new ledger on a copy @net of unittests with features @f (@n). */
static void open_feats(struct tchain *tc, struct hn_network *net,
		       const struct hn_feature *f, size_t n)
{
	tc_open(tc);
	*net = *tc->net;
	net->features = f;
	net->n_features = n;
	open_mode(tc, net, true, HN_DAA_TEST_ALL_WEIGHT);
}

/* verify_mandatory_signaling on blocks the ledger is given (not stored
 * yet): NOP_FEATURE_3 (bit 2) is MUST_SIGNAL from 8 to 11 with threshold
 * 3 of 4, so a block that leaves it short of 3 with the blocks left in
 * the interval is refused; outside MUST_SIGNAL nothing must signal. */
static void test_must_signal(void **state)
{
	static const char want_msg[] = "block-must-signal: Block must signal "
		"support for feature 'NOP_FEATURE_3' during MUST_SIGNAL phase.";
	struct tchain tc;
	struct hn_network net;
	uint8_t h[15][32], x[32], y[32], z[32];
	uint32_t ts;

	(void)state;
	open_feats(&tc, &net, feats, 3);
	memcpy(h[0], tc_gblock(&tc), 32);
	ts = t0(&tc);
	/* STARTED (4..7): not signalling C is fine. */
	for (int i = 1; i <= 7; i++)
		add_sig(&tc, h[i - 1], ts + 30 * (uint32_t)i, 1,
			i >= 4 && i <= 6 ? 1 : 0, h[i]);
	/* 8, first of the MUST_SIGNAL interval: 0 of 3 with 3 blocks left
	 * is still reachable; at 9 on it, 0 with 2 left is not. */
	add_bits(&tc, h[7], ts + 241, 2, 0, 0, x);
	add_bits(&tc, x, ts + 271, 2, 0, HN_VERR_MUST_SIGNAL, y);
	assert_string_equal(last_msg, want_msg);
	/* Signalling the other bits does not help; bit 2 does. */
	add_bits(&tc, x, ts + 271, 2, 3, HN_VERR_MUST_SIGNAL, y);
	add_bits(&tc, x, ts + 271, 2, 4, 0, y);
	/* The main chain: 8 signals, 9 does not (1 of 3, 2 left), then 10
	 * and 11 must (1 with 1 left, 2 with none left are refused). */
	add_sig(&tc, h[7], ts + 240, 1, 4, h[8]);
	add_sig(&tc, h[8], ts + 270, 1, 0, h[9]);
	add_bits(&tc, h[9], ts + 300, 1, 0, HN_VERR_MUST_SIGNAL, z);
	assert_string_equal(last_msg, want_msg);
	add_sig(&tc, h[9], ts + 300, 1, 4, h[10]);
	add_bits(&tc, h[10], ts + 330, 1, 0, HN_VERR_MUST_SIGNAL, z);
	add_sig(&tc, h[10], ts + 330, 1, 4, h[11]);
	/* LOCKED_IN from 12: no signal needed. */
	expect(hn_ledger_fa(tc.l), h[11], HN_FS_LOCKED_IN, HN_FS_STARTED,
	       HN_FS_MUST_SIGNAL);
	for (int i = 12; i <= 14; i++)
		add_sig(&tc, h[i - 1], ts + 30 * (uint32_t)i, 1, 0, h[i]);
	expect(hn_ledger_fa(tc.l), h[14], HN_FS_ACTIVE, HN_FS_FAILED,
	       HN_FS_LOCKED_IN);
	assert_int_equal(tc_best_height(&tc), 14);

	/* Reopened: the parents' records come from the store and the check
	 * still bites on a fork at 10 (1 of 3 at 9, 1 left after it). */
	open_mode(&tc, &net, false, HN_DAA_TEST_ALL_WEIGHT);
	add_bits(&tc, h[9], ts + 301, 3, 0, HN_VERR_MUST_SIGNAL, z);
	assert_string_equal(last_msg, want_msg);
	add_bits(&tc, h[9], ts + 301, 3, 4, 0, z);
	tc_check(&tc);
	tc_close(&tc, false);
}

/* --- the feature-gated script rules ------------------------------------- */

/* COUNT_CHECKDATASIG_OP, OPCODES_V2 and INCREASE_MAX_MERKLE_PATH_LENGTH,
 * signalled by blocks 4..6: LOCKED_IN at 8, ACTIVE from 12. */
static const struct hn_feature gate_feats[] = {
	{ .name = "COUNT_CHECKDATASIG_OP", .bit = 0, .start_height = 4,
	  .timeout_height = 100, .version = "0.1.0" },
	{ .name = "OPCODES_V2", .bit = 1, .start_height = 4,
	  .timeout_height = 100, .version = "0.1.0" },
	{ .name = "INCREASE_MAX_MERKLE_PATH_LENGTH", .bit = 2,
	  .start_height = 4, .timeout_height = 100, .version = "0.1.0" },
};

/* Adds @v (mined here, freed) with @flags: @want 0 or the verr code. */
static void add_v(struct tchain *tc, struct hn_vertex *v, int flags, int want,
		  uint8_t hash[32])
{
	struct hn_ledger_result res;
	uint8_t *b;
	size_t n;
	int rc;

	tc_finish(v, &b, &n, hash);
	memset(&res, 0, sizeof(res));
	rc = hn_ledger_add_vertex(tc->l, b, n, flags, &res);
	free(b);
	if (want == 0 && rc != 0)
		fail_msg("refused: %s", res.msg);
	if (want != 0 && (rc != HN_ECONSENSUS || res.verr_code != want))
		fail_msg("rc %d code %d (%s), want code %d", rc, res.verr_code,
			 res.msg, want);
}

static struct hn_vertex *decode_free(uint8_t *b, size_t n)
{
	struct hn_vertex *v;

	assert_int_equal(hn_vertex_decode(b, n, &v, NULL, 0), 0);
	free(b);
	return v;
}

/* Output @o gets @len bytes of OP_CHECKDATASIG (0 sigops uncounted, one
 * each counted). */
static void cds_script(struct hn_tx_output *o, size_t len)
{
	free(o->script);
	o->script = malloc(len);
	assert_non_null(o->script);
	memset(o->script, 0xba, len);
	o->script_len = (uint16_t)len;
}

/* Output @o gets push(address of tc_script()) OP_FIND_P2PKH: spendable by
 * a tx paying the spent value to that address, in V1 only. */
static void find_script(const struct hn_network *net, struct hn_tx_output *o)
{
	uint8_t a[25], ck[32];

	a[0] = net->p2pkh_version_byte;
	memcpy(a + 1, tc_script() + 3, 20);
	hn_sha256d(a, 21, ck);
	memcpy(a + 21, ck, 4);
	free(o->script);
	o->script = malloc(27);
	assert_non_null(o->script);
	o->script[0] = 25;
	memcpy(o->script + 1, a, 25);
	o->script[26] = 0xd0;           /* OP_FIND_P2PKH */
	o->script_len = 27;
}

/* A tx spending output @index of @spent (@value) into one output of
 * @value to tc_script(), no input data (for a FIND_P2PKH output). */
static struct hn_vertex *find_spend(struct tchain *tc, const uint8_t spent[32],
				    uint8_t index, uint64_t value, uint32_t ts)
{
	struct tc_in in = { spent, index };
	uint8_t *b, h[32];
	size_t n;
	struct hn_vertex *v;

	tc_make_tx(tc, &in, 1, &value, 1, tc_gtx1(tc), tc_gtx2(tc), ts, 2.0,
		   &b, &n, h);
	v = decode_free(b, n);
	free(v->inputs[0].data);
	v->inputs[0].data = NULL;
	v->inputs[0].data_len = 0;
	return v;
}

/* A block on @parent whose reward goes to two outputs of 700 bytes of
 * OP_CHECKDATASIG (1400 sigops counted, above MAX_TX_SIGOPS_OUTPUT). */
static struct hn_vertex *cds_block(struct tchain *tc, const uint8_t parent[32],
				   uint32_t ts, uint8_t salt)
{
	uint8_t *b, h[32];
	size_t n;
	struct hn_vertex *v;
	uint64_t r;

	tc_make_block(tc, parent, NULL, ts, 2.0, salt, &b, &n, h);
	v = decode_free(b, n);
	r = v->outputs[0].value;
	free(v->outputs[0].script);
	free(v->outputs);
	v->outputs = calloc(2, sizeof(*v->outputs));
	assert_non_null(v->outputs);
	v->n_outputs = 2;
	v->outputs[0].value = r / 2;
	v->outputs[1].value = r - r / 2;
	cds_script(&v->outputs[0], 700);
	cds_script(&v->outputs[1], 700);
	return v;
}

/* A merge-mined block on @parent with a merkle path of @npath entries,
 * mined on its aux-pow header; added expecting @want. */
static void mm_block(struct tchain *tc, const uint8_t parent[32], uint32_t ts,
		     size_t npath, uint8_t salt, int want)
{
	struct hn_ledger_result res;
	struct hn_aux_pow *a;
	struct hn_vertex *v;
	uint8_t *b, h[32];
	size_t n;
	int rc;

	tc_make_block(tc, parent, NULL, ts, 2.0, salt, &b, &n, h);
	v = decode_free(b, n);
	v->version = HN_VTX_MERGE_MINED_BLOCK;
	a = v->aux_pow = calloc(1, sizeof(*a));
	assert_non_null(a);
	a->coinbase_head_len = 4;
	a->coinbase_head = malloc(4);
	assert_non_null(a->coinbase_head);
	memcpy(a->coinbase_head, "Hath", 4);
	a->n_merkle_path = npath;
	a->merkle_path = calloc(npath ? npath : 1, 32);
	assert_non_null(a->merkle_path);
	for (size_t i = 0; i < npath; i++)
		a->merkle_path[i][0] = (uint8_t)(i + 1);
	for (uint32_t nonce = 0;; nonce++) {
		memcpy(a->header_tail + 8, &nonce, 4);
		assert_int_equal(hn_vertex_update_hash(v), 0);
		if (hn_vertex_pow_ok(v))
			break;
	}
	assert_int_equal(hn_vertex_encode(v, &b, &n), 0);
	hn_vertex_free(v);
	memset(&res, 0, sizeof(res));
	rc = hn_ledger_add_vertex(tc->l, b, n, 0, &res);
	free(b);
	if (want == 0 && rc != 0)
		fail_msg("merge-mined block (%zu) refused: %s", npath,
			 res.msg);
	if (want != 0 && (rc != HN_ECONSENSUS || res.verr_code != want))
		fail_msg("merge-mined block (%zu): rc %d code %d (%s)", npath,
			 rc, res.verr_code, res.msg);
}

/* A unittests ledger on @net (the gate features, OPCODES_V2 following
 * the activation process) with blocks 1..11 in @h, 4..6 signalling all
 * three (LOCKED_IN at 8 to 11); *@total: the genesis output's value. */
static void gate_chain(struct tchain *tc, struct hn_network *net,
		       uint8_t (*h)[32], uint64_t *total)
{
	struct hn_vertex *g;
	uint32_t ts;

	open_feats(tc, net, gate_feats, 3);
	/* The setting is read when verifying, not at open. */
	net->enable_opcodes_v2 = HN_FEATURE_ACTIVATION;
	memcpy(h[0], tc_gblock(tc), 32);
	ts = t0(tc);
	for (int i = 1; i <= 11; i++)
		add_sig(tc, h[i - 1], ts + 30 * (uint32_t)i, 1,
			i >= 4 && i <= 6 ? 7 : 0, h[i]);
	expect(hn_ledger_fa(tc->l), h[11], HN_FS_LOCKED_IN, HN_FS_LOCKED_IN,
	       HN_FS_LOCKED_IN);
	assert_int_equal(hn_store_get_vertex(hn_ledger_store(tc->l),
					     tc_gblock(tc), &g), 0);
	*total = g->outputs[0].value;
	hn_vertex_free(g);
}

/* The gates follow the real feature state: before activation (best block
 * LOCKED_IN) OP_CHECKDATASIG is not counted and V1 opcodes run; from
 * the best block ACTIVE on they are refused on the sync path; the relay
 * and mempool paths refuse them always.  A block takes its parent's
 * state (so block 12, whose own state is ACTIVE, is still uncounted); a
 * merge-mined block its own (merkle path 12 -> 20 from block 12). */
static void test_gates(void **state)
{
	struct tchain tc;
	struct hn_network net;
	struct hn_vertex *v;
	struct tc_in in;
	uint8_t h[15][32], t1[32], x[32], *b;
	uint64_t total, vals[5];
	uint32_t ts;
	size_t n;

	(void)state;
	gate_chain(&tc, &net, h, &total);
	ts = t0(&tc) + 30 * 11 + 5;
	tc.now = ts + 100.0;    /* the mempool's age check */

	/* T1: the genesis output into two outputs of 700 OP_CHECKDATASIG,
	 * two FIND_P2PKH outputs and change. */
	vals[0] = 1;
	vals[1] = 1;
	vals[2] = 100;
	vals[3] = 200;
	vals[4] = total - 302;
	in.tx = tc_gblock(&tc);
	in.index = 0;
	tc_make_tx(&tc, &in, 1, vals, 5, tc_gtx1(&tc), tc_gtx2(&tc), ts, 2.0,
		   &b, &n, t1);
	v = decode_free(b, n);
	cds_script(&v->outputs[0], 700);
	cds_script(&v->outputs[1], 700);
	find_script(&net, &v->outputs[2]);
	find_script(&net, &v->outputs[3]);
	tc_sign(v);
	/* Relayed or for the mempool: counted (Features.for_mempool). */
	add_v(&tc, hn_vertex_dup(v), HN_ADD_RELAYED, HN_VERR_SIGOPS, x);
	add_v(&tc, hn_vertex_dup(v), HN_ADD_MEMPOOL, HN_VERR_SIGOPS, x);
	/* Synced, COUNT_CHECKDATASIG_OP not active at the best block. */
	add_v(&tc, v, 0, 0, t1);

	/* Spending a FIND_P2PKH output: V1 only. */
	v = find_spend(&tc, t1, 2, 100, ts + 1);
	add_v(&tc, hn_vertex_dup(v), HN_ADD_RELAYED, HN_VERR_SCRIPT, x);
	add_v(&tc, v, 0, 0, x);

	/* Block 12 (its parent LOCKED_IN) may have uncounted outputs;
	 * block 13 (its parent ACTIVE) may not. */
	add_v(&tc, cds_block(&tc, h[11], ts + 10, 1), 0, 0, h[12]);
	expect(hn_ledger_fa(tc.l), h[12], HN_FS_ACTIVE, HN_FS_ACTIVE,
	       HN_FS_ACTIVE);
	add_v(&tc, cds_block(&tc, h[12], ts + 40, 1), 0, HN_VERR_SIGOPS, x);
	add_sig(&tc, h[12], ts + 40, 1, 0, h[13]);

	/* After activation (best block 13 ACTIVE): the same txs refused on
	 * the sync path. */
	vals[0] = 1;
	vals[1] = 1;
	vals[2] = total - 304;
	in.tx = t1;
	in.index = 4;
	tc_make_tx(&tc, &in, 1, vals, 3, tc_gtx1(&tc), tc_gtx2(&tc),
		   ts + 50, 2.0, &b, &n, x);
	v = decode_free(b, n);
	cds_script(&v->outputs[0], 700);
	cds_script(&v->outputs[1], 700);
	tc_sign(v);
	add_v(&tc, v, 0, HN_VERR_SIGOPS, x);
	v = find_spend(&tc, t1, 3, 200, ts + 50);
	add_v(&tc, v, 0, HN_VERR_SCRIPT, x);

	/* Merkle paths (on forks below the best block, so no reorg takes
	 * T1 and T2 back out of the mempool): 12 at most at block 11
	 * (LOCKED_IN at itself) ... */
	mm_block(&tc, h[10], ts - 30 + 1, 13, 5, HN_VERR_AUX_POW);
	mm_block(&tc, h[10], ts - 30 + 1, 12, 5, 0);
	/* ... 20 at a block ACTIVE at itself (12, on 11), 21 is too
	 * long. */
	mm_block(&tc, h[11], ts + 11, 21, 6, HN_VERR_AUX_POW);
	mm_block(&tc, h[11], ts + 11, 20, 6, 0);
	tc_check(&tc);
	tc_close(&tc, false);
}

static bool in_mempool(struct tchain *tc, const uint8_t h[32])
{
	struct hn_hash_list mp = { 0 };
	bool found = false;

	assert_int_equal(hn_store_mempool_all(hn_ledger_store(tc->l), &mp), 0);
	for (size_t i = 0; i < mp.n; i++)
		found |= !memcmp(mp.h[i], h, 32);
	hn_hash_list_release(&mp);
	return found;
}

/* _feature_activation_rules after a real reorg: txs synced while the
 * features were not active (1400 uncounted OP_CHECKDATASIG in outputs, a
 * FIND_P2PKH spend) are confirmed by block 12; a longer fork from 11
 * takes them back to the mempool, where they break the rules of
 * COUNT_CHECKDATASIG_OP and OPCODES_V2 (checked whatever the state) and
 * are removed with the losing block that confirms them; their parent and
 * a sibling that break nothing stay in the mempool. */
static void test_reorg_recheck(void **state)
{
	struct tchain tc;
	struct hn_network net;
	struct hn_vertex *v;
	struct tc_in in;
	uint8_t h[12][32], ta[32], tb[32], tcx[32], td[32], b12[32], f[5][32],
		x[32], txp[2][32], *b;
	uint64_t total, vals[3];
	uint32_t ts;
	size_t n;

	(void)state;
	gate_chain(&tc, &net, h, &total);
	ts = t0(&tc) + 30 * 11 + 5;

	/* TA: a FIND_P2PKH output of 100, 1000 and the rest (valid
	 * whatever the rules). */
	vals[0] = 100;
	vals[1] = 1000;
	vals[2] = total - 1100;
	in.tx = tc_gblock(&tc);
	in.index = 0;
	tc_make_tx(&tc, &in, 1, vals, 3, tc_gtx1(&tc), tc_gtx2(&tc), ts, 2.0,
		   &b, &n, ta);
	v = decode_free(b, n);
	find_script(&net, &v->outputs[0]);
	tc_sign(v);
	add_v(&tc, v, 0, 0, ta);
	/* TB: 1000 into two outputs of 700 OP_CHECKDATASIG and change. */
	vals[0] = 1;
	vals[1] = 1;
	vals[2] = 998;
	in.tx = ta;
	in.index = 1;
	tc_make_tx(&tc, &in, 1, vals, 3, tc_gtx1(&tc), tc_gtx2(&tc), ts + 1,
		   2.0, &b, &n, tb);
	v = decode_free(b, n);
	cds_script(&v->outputs[0], 700);
	cds_script(&v->outputs[1], 700);
	tc_sign(v);
	add_v(&tc, v, 0, 0, tb);
	/* TC: spends the FIND_P2PKH output (V1 only). */
	add_v(&tc, find_spend(&tc, ta, 0, 100, ts + 2), 0, 0, tcx);
	/* TD: the rest, an ordinary spend. */
	vals[0] = total - 1100;
	in.index = 2;
	tc_add_tx(&tc, &in, 1, vals, 1, tc_gtx1(&tc), tc_gtx2(&tc), ts + 3,
		  2.0, 0, td);

	/* Block 12 confirms TB and TC (and TA). */
	memcpy(txp[0], tb, 32);
	memcpy(txp[1], tcx, 32);
	tc_add_block(&tc, h[11], (const uint8_t (*)[32])txp, ts + 10, 2.0, 1,
		     0, b12);
	assert_false(in_mempool(&tc, tb));
	assert_false(in_mempool(&tc, ta));
	assert_true(in_mempool(&tc, td));

	/* A fork from 11 with more work (block 12's score counts the txs it
	 * confirms): TA, TB, TC back to the mempool; TB and TC break the
	 * rules there and go, with block 12. */
	memcpy(f[0], h[11], 32);
	for (int i = 1; i <= 4; i++)
		tc_add_block(&tc, f[i - 1], NULL, ts + 11 + 30 * (uint32_t)i,
			     2.0, 9, 0, f[i]);
	tc_best(&tc, x);
	assert_memory_equal(x, f[4], 32);
	assert_false(tc_exists(&tc, tb));
	assert_false(tc_exists(&tc, tcx));
	assert_false(tc_exists(&tc, b12));
	assert_true(in_mempool(&tc, ta));
	assert_true(in_mempool(&tc, td));
	tc_check(&tc);
	tc_close(&tc, false);
}

/* --- REDUCE_DAA_TARGET in consensus ------------------------------------- */

/* REDUCE_DAA_TARGET signalled from 4 on: LOCKED_IN at 8, ACTIVE at 16
 * (its minimum activation height), so V2 from block 17 on. */
static const struct hn_feature daa_feats[] = {
	{ .name = "REDUCE_DAA_TARGET", .bit = 0, .start_height = 4,
	  .timeout_height = 100, .minimum_activation_height = 16,
	  .version = "0.1.0" },
};


/* Runs @sql on the closed ledger's file. */
static void db_exec(struct tchain *tc, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	assert_int_equal(sqlite3_open(tc->db, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg);
	sqlite3_close(db);
}

static int64_t db_int(struct tchain *tc, const char *sql)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	int64_t v;

	assert_int_equal(sqlite3_open(tc->db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL),
			 SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}

/* Records persisted in the ledger's store: a stored chain has one per
 * block, a reopened ledger answers from them without reading a block; a
 * schema 1 file (no feature_block) is migrated on open and its records
 * computed there; a read-only open leaves a schema 1 file as it is; a
 * changed feature table drops the records and recomputes them. */
static void test_persisted(void **state)
{
	struct tchain tc;
	struct hn_network net, net2;
	struct hn_feature f2[3];
	struct hn_store *st;
	struct hn_store_opts so = { 0 };
	struct hn_store_fa row;
	struct hn_error err = { 0 };
	uint8_t h[21][32];
	uint64_t n;

	(void)state;
	open_feats(&tc, &net, feats, 3);
	memcpy(h[0], tc_gblock(&tc), 32);
	for (int i = 1; i <= 20; i++) {
		uint8_t bits = 0;

		if (i >= 4 && i <= 6)
			bits |= 1;
		if (i >= 8 && i <= 10)
			bits |= 4;
		add_sig(&tc, h[i - 1], t0(&tc) + 30 * (uint32_t)i, 1, bits,
			h[i]);
	}
	/* One record per block, written as each was stored. */
	assert_int_equal(hn_store_fa_count(hn_ledger_store(tc.l), &n), 0);
	assert_int_equal(n, 21);
	expect(hn_ledger_fa(tc.l), h[13], HN_FS_ACTIVE, HN_FS_FAILED,
	       HN_FS_LOCKED_IN);

	/* Reopened: answered from the rows, no block read. */
	open_mode(&tc, &net, false, HN_DAA_TEST_ALL_WEIGHT);
	expect(hn_ledger_fa(tc.l), h[20], HN_FS_ACTIVE, HN_FS_FAILED,
	       HN_FS_ACTIVE);
	expect(hn_ledger_fa(tc.l), h[9], HN_FS_LOCKED_IN, HN_FS_STARTED,
	       HN_FS_MUST_SIGNAL);
	assert_int_equal(hn_fa_reads(hn_ledger_fa(tc.l)), 0);
	{
		uint32_t c[HN_FA_MAX_BITS];

		assert_int_equal(hn_fa_bit_counts(hn_ledger_fa(tc.l), h[10],
						  c), 0);
		assert_int_equal(c[2], 3);
		assert_int_equal(c[0], 0);
	}

	/* Back to schema 1: no feature_block table. */
	hn_ledger_close(tc.l);
	tc.l = NULL;
	db_exec(&tc, "DROP TABLE feature_block;"
		"DELETE FROM meta WHERE key = 'feature_key';"
		"UPDATE meta SET value = '1' WHERE key = 'schema_version'");
	/* A read-only open takes it as it is and changes nothing. */
	so.path = tc.db;
	so.net = &net;
	so.flags = HN_STORE_READONLY;
	if (hn_store_open(&so, &st, &err) < 0)
		fail_msg("read-only open: %s", err.msg);
	assert_int_equal(hn_store_fa_get(st, h[5], &row), HN_ENOENT);
	hn_store_close(st);
	assert_int_equal(db_int(&tc, "SELECT value FROM meta WHERE key = "
			 "'schema_version'"), 1);
	/* The ledger migrates it and computes every record at open. */
	open_mode(&tc, &net, false, HN_DAA_TEST_ALL_WEIGHT);
	assert_int_equal(hn_store_fa_count(hn_ledger_store(tc.l), &n), 0);
	assert_int_equal(n, 21);
	/* Every block once, the best one twice. */
	assert_int_equal(hn_fa_reads(hn_ledger_fa(tc.l)), 22);
	for (int i = 0; i <= 20; i++) {
		enum hn_feature_state s[3];

		assert_int_equal(hn_fa_states(hn_ledger_fa(tc.l), h[i], s),
				 0);
	}
	expect(hn_ledger_fa(tc.l), h[12], HN_FS_ACTIVE, HN_FS_FAILED,
	       HN_FS_LOCKED_IN);
	assert_int_equal(hn_fa_reads(hn_ledger_fa(tc.l)), 22);
	tc_check(&tc);
	hn_ledger_close(tc.l);
	tc.l = NULL;
	assert_int_equal(db_int(&tc, "SELECT value FROM meta WHERE key = "
			 "'schema_version'"), HN_STORE_SCHEMA_VERSION);

	/* Another feature table (A's minimum activation height 16): the
	 * rows of the old one are dropped, so A is LOCKED_IN at 12 now. */
	memcpy(f2, feats, sizeof(f2));
	f2[0].minimum_activation_height = 16;
	net2 = net;
	net2.features = f2;
	open_mode(&tc, &net2, false, HN_DAA_TEST_ALL_WEIGHT);
	expect(hn_ledger_fa(tc.l), h[12], HN_FS_LOCKED_IN, HN_FS_FAILED,
	       HN_FS_LOCKED_IN);
	expect(hn_ledger_fa(tc.l), h[16], HN_FS_ACTIVE, HN_FS_FAILED,
	       HN_FS_ACTIVE);
	/* And back: recomputed again. */
	open_mode(&tc, &net, false, HN_DAA_TEST_ALL_WEIGHT);
	expect(hn_ledger_fa(tc.l), h[12], HN_FS_ACTIVE, HN_FS_FAILED,
	       HN_FS_LOCKED_IN);
	tc_close(&tc, false);
}

static double daa_now(void *arg)
{
	return *(double *)arg;
}

/* The tchain's ledger reopened on @net with real block weights (no test
 * mode), so the DAA weight is checked. */
static void open_mode(struct tchain *tc, const struct hn_network *net,
		      bool create, unsigned test_mode)
{
	struct hn_ledger_opts o = { 0 };
	struct hn_error err = { 0 };

	if (tc->l)
		hn_ledger_close(tc->l);
	tc->l = NULL;
	if (create) {
		char p[700];

		unlink(tc->db);
		snprintf(p, sizeof(p), "%s-wal", tc->db);
		unlink(p);
		snprintf(p, sizeof(p), "%s-shm", tc->db);
		unlink(p);
	}
	tc->net = net;
	o.db_path = tc->db;
	o.net = net;
	o.create = create;
	o.now = daa_now;
	o.now_arg = &tc->now;
	o.test_mode = test_mode;
	if (hn_ledger_open(&o, &tc->l, &err) < 0)
		fail_msg("ledger open: %s", err.msg);
}

static void open_real(struct tchain *tc, const struct hn_network *net,
		      bool create)
{
	open_mode(tc, net, create, 0);
}

/* A block on @parent at @ts signalling bit 0 with @weight and @reward;
 * added, expecting @want (0 or the enum hn_verr_code refusing it). */
static void add_daa(struct tchain *tc, const uint8_t parent[32], uint32_t ts,
		    double weight, uint64_t reward, uint8_t salt, int want,
		    uint8_t hash[32])
{
	struct hn_ledger_result res;
	struct hn_vertex *v;
	uint8_t *b;
	size_t n;
	int rc;

	tc_make_block(tc, parent, NULL, ts, weight, salt, &b, &n, hash);
	assert_int_equal(hn_vertex_decode(b, n, &v, NULL, 0), 0);
	free(b);
	v->signal_bits = 1;
	v->outputs[0].value = reward;
	tc_finish(v, &b, &n, hash);
	memset(&res, 0, sizeof(res));
	rc = hn_ledger_add_vertex(tc->l, b, n, 0, &res);
	free(b);
	if (want == 0 && rc != 0)
		fail_msg("block at %u refused: %s", ts, res.msg);
	if (want != 0 && (rc == 0 || res.verr_code != want))
		fail_msg("block at %u: rc %d code %d (%s), want code %d", ts,
			 rc, res.verr_code, res.msg, want);
}

/* The V1 and V2 weights of a block at @ts on @parent, straight from the
 * DAA over the stored ancestors. */
static void both_weights(struct tchain *tc, const uint8_t parent[32],
			 uint64_t parent_height, uint32_t ts, double *w1,
			 double *w2)
{
	const struct hn_verify_ctx *ctx = hn_ledger_verify_ctx(tc->l);
	size_t n = hn_daa_blocks_needed(tc->net, parent_height);
	struct hn_daa_block *chain = calloc(n ? n : 1, sizeof(*chain));
	struct hn_daa_config c1, c2;

	assert_non_null(chain);
	if (n)
		assert_int_equal(ctx->block_chain(ctx->arg, parent, n, chain),
				 0);
	hn_daa_config_v1(tc->net, &c1);
	hn_daa_config_v2(tc->net, &c2);
	assert_int_equal(hn_daa_next_weight(tc->net, &c1, chain, n,
					    parent_height, ts, w1), 0);
	assert_int_equal(hn_daa_next_weight(tc->net, &c2, chain, n,
					    parent_height, ts, w2), 0);
	free(chain);
}

static void test_reduce_daa(void **state)
{
	struct tchain tc;
	struct hn_network net;
	struct hn_block_template t;
	struct hn_daa_config c1, c2;
	uint8_t h[25][32], x[32];
	uint64_t r1, r2;
	uint32_t ts;
	double w1, w2;

	(void)state;
	tc_open(&tc);
	net = *tc.net;
	net.features = daa_feats;
	net.n_features = 1;
	open_real(&tc, &net, true);
	hn_daa_config_v1(&net, &c1);
	hn_daa_config_v2(&net, &c2);
	assert_true(c2.avg_time == 7.5);
	assert_int_equal(c2.reward_reduction_factor, 4);
	r1 = hn_daa_reward(&net, &c1, 1);
	r2 = hn_daa_reward(&net, &c2, 1);
	assert_int_equal(r1, 4 * r2);
	memcpy(h[0], tc_gblock(&tc), 32);
	ts = tc.net->genesis_block.timestamp + 100;
	/* Blocks 10 s apart: faster than either target, so the DAA weight
	 * rises above the minimum and V1 asks more than V2. */
	for (int i = 1; i <= 24; i++) {
		bool v2 = i >= 17;

		ts += 10;
		assert_int_equal(hn_ledger_block_template(tc.l, ts, &t), 0);
		assert_int_equal(t.height, (uint64_t)i);
		assert_int_equal(t.reward, v2 ? r2 : r1);
		assert_true(t.avg_time == (v2 ? 7.5 : 30.0));
		assert_int_equal(t.v2_start_height, v2 ? 17 : 0);
		both_weights(&tc, h[i - 1], (uint64_t)i - 1, ts, &w1, &w2);
		assert_true(t.weight == (v2 ? w2 : w1));
		if (i == 16) {
			/* The activation block is still V1 (its parent is
			 * LOCKED_IN): V2 weight and V2 reward refused. */
			assert_true(w2 < w1 - 0.5);
			add_daa(&tc, h[i - 1], ts, w2, r1, 9, HN_VERR_WEIGHT, x);
			add_daa(&tc, h[i - 1], ts, w1, r2, 9, HN_VERR_REWARD, x);
		}
		if (i == 17 || i == 20) {
			/* V2 from here: the V1 reward is refused; the V2
			 * weight (lower than V1's) is enough. */
			assert_true(w2 < w1 - 0.5);
			add_daa(&tc, h[i - 1], ts, w1, r1, 9, HN_VERR_REWARD, x);
			add_daa(&tc, h[i - 1], ts, w2 - 0.01, r2, 9,
				HN_VERR_WEIGHT, x);
		}
		add_daa(&tc, h[i - 1], ts, t.weight, t.reward, 1, 0, h[i]);
	}
	assert_int_equal(tc_best_height(&tc), 24);

	/* After a restart the machine starts empty and agrees. */
	open_real(&tc, &net, false);
	ts += 10;
	assert_int_equal(hn_ledger_block_template(tc.l, ts, &t), 0);
	assert_int_equal(t.reward, r2);
	assert_int_equal(t.v2_start_height, 17);
	add_daa(&tc, h[24], ts, t.weight, r1, 9, HN_VERR_REWARD, x);
	tc_close(&tc, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_machine),
		cmocka_unit_test(test_networks),
		cmocka_unit_test(test_must_signal),
		cmocka_unit_test(test_gates),
		cmocka_unit_test(test_reorg_recheck),
		cmocka_unit_test(test_reduce_daa),
		cmocka_unit_test(test_persisted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
