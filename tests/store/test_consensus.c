/*
 * test_consensus.c: best chain by score with reorgs, first_block and the
 * mempool across reorgs, the reward lock re-check after a reorg, and
 * conflict resolution between double spends (hathor-core semantics).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "chain.h"
#include "hn/err.h"
#include "hn/network.h"

#define GEN_VALUE 100000000000ULL       /* genesis output, 10^11 */

struct evcount {
	int reorg, voided, unvoided, mp_add, mp_rm;
	uint64_t reorg_depth;
};

static void count(const struct hn_ledger_event *ev, void *arg)
{
	struct evcount *c = arg;

	switch (ev->type) {
	case HN_LEV_REORG:
		c->reorg++;
		c->reorg_depth = ev->reorg_depth;
		break;
	case HN_LEV_VOIDED:
		c->voided++;
		break;
	case HN_LEV_UNVOIDED:
		c->unvoided++;
		break;
	case HN_LEV_MEMPOOL_ADD:
		c->mp_add++;
		break;
	case HN_LEV_MEMPOOL_REMOVE:
		c->mp_rm++;
		break;
	case HN_LEV_VERTEX_ACCEPTED:
	case HN_LEV_BEST_BLOCK:
	case HN_LEV_PUBLISHED:
		break;
	}
}

static uint32_t t0(const struct tchain *tc)
{
	return tc->net->genesis_block.timestamp + 30;
}

static void test_reorg(void **state)
{
	struct tchain tc;
	struct evcount ev = { 0 };
	uint8_t a[5][32], b[4][32], top[32], h[32];
	struct hn_store *st;

	tc_open(&tc);
	st = hn_ledger_store(tc.l);
	hn_ledger_subscribe(tc.l, count, &ev);
	tc_chain(&tc, tc_gblock(&tc), t0(&tc), 5, 2.0, 1, top, a);
	assert_int_equal(tc_best_height(&tc), 5);

	/* A side chain from a[1] (height 2): blocks at heights 3.. */
	tc_add_block(&tc, a[1], NULL, t0(&tc) + 61, 2.0, 2, 0, b[0]);
	assert_true(tc_voided(&tc, b[0]));
	tc_add_block(&tc, b[0], NULL, t0(&tc) + 91, 2.0, 2, 0, b[1]);
	assert_true(tc_voided(&tc, b[1]));
	assert_int_equal(tc_best_height(&tc), 5);
	tc_best(&tc, h);
	assert_memory_equal(h, a[4], 32);
	assert_int_equal(ev.reorg, 0);
	tc_check(&tc);

	/* Height 5 on the side chain ties the best chain: the lower hash
	 * wins (block_consensus.py tie breaker). */
	tc_add_block(&tc, b[1], NULL, t0(&tc) + 121, 2.0, 2, 0, b[2]);
	tc_best(&tc, h);
	if (memcmp(b[2], a[4], 32) < 0) {
		assert_memory_equal(h, b[2], 32);
		assert_true(tc_voided(&tc, a[4]));
		assert_int_equal(ev.reorg, 1);
	} else {
		assert_memory_equal(h, a[4], 32);
		assert_true(tc_voided(&tc, b[2]));
		assert_int_equal(ev.reorg, 0);
	}
	tc_check(&tc);

	/* Height 6: the side chain wins for sure. */
	tc_add_block(&tc, b[2], NULL, t0(&tc) + 151, 2.0, 2, 0, b[3]);
	assert_int_equal(tc_best_height(&tc), 6);
	tc_best(&tc, h);
	assert_memory_equal(h, b[3], 32);
	assert_int_equal(ev.reorg, 1);
	assert_int_equal(ev.reorg_depth, 3);    /* old best 5, common 2 */
	for (int i = 0; i < 2; i++)
		assert_false(tc_voided(&tc, a[i]));
	for (int i = 2; i < 5; i++)
		assert_true(tc_voided(&tc, a[i]));
	for (int i = 0; i < 4; i++) {
		assert_false(tc_voided(&tc, b[i]));
		assert_int_equal(hn_store_height_get(st, 3 + i, h), 0);
		assert_memory_equal(h, b[i], 32);
	}
	assert_int_equal(hn_store_height_get(st, 7, h), HN_ENOENT);
	{
		struct hn_hash_list l = { 0 };

		assert_int_equal(hn_nodesvc_get_best_block_tips(tc.l, &l), 0);
		assert_int_equal(l.n, 1);
		assert_memory_equal(l.h[0], b[3], 32);
		hn_hash_list_release(&l);
	}
	tc_check(&tc);

	/* The old chain comes back with two more blocks: reorg again. */
	tc_add_block(&tc, a[4], NULL, t0(&tc) + 150, 2.0, 1, 0, h);
	tc_add_block(&tc, h, NULL, t0(&tc) + 180, 2.0, 1, 0, top);
	assert_int_equal(tc_best_height(&tc), 7);
	tc_best(&tc, h);
	assert_memory_equal(h, top, 32);
	for (int i = 0; i < 5; i++)
		assert_false(tc_voided(&tc, a[i]));
	for (int i = 0; i < 4; i++)
		assert_true(tc_voided(&tc, b[i]));
	assert_int_equal(ev.reorg, 2);
	tc_check(&tc);
	tc_reopen(&tc);
	assert_int_equal(tc_best_height(&tc), 7);
	tc_check(&tc);
	tc_close(&tc, false);
}

static void test_reorg_returns_tx_to_mempool(void **state)
{
	struct tchain tc;
	struct evcount ev = { 0 };
	uint8_t a12[32], a13[32], t[32], b[3][32], h[32];
	struct tc_in in;
	uint64_t v = GEN_VALUE;
	uint8_t txp[2][32];

	tc_open(&tc);
	tc_chain(&tc, tc_gblock(&tc), t0(&tc), 12, 2.0, 1, a12, NULL);
	/* T spends the genesis output (reward lock: height >= 11). */
	in.tx = tc_gblock(&tc);
	in.index = 0;
	tc_add_tx(&tc, &in, 1, &v, 1, tc_gtx1(&tc), tc_gtx2(&tc),
		  t0(&tc) + 400, 2.0, 0, t);
	assert_true(tc_in_mempool(&tc, t));
	assert_false(tc_voided(&tc, t));
	{
		struct hn_hash_list l = { 0 };

		hn_nodesvc_get_mempool_tips(tc.l, &l);
		assert_int_equal(l.n, 1);
		assert_memory_equal(l.h[0], t, 32);
		hn_hash_list_release(&l);
	}
	/* A13 confirms T. */
	memcpy(txp[0], t, 32);
	memcpy(txp[1], tc_gtx2(&tc), 32);
	tc_add_block(&tc, a12, (const uint8_t (*)[32])txp, t0(&tc) + 430, 2.0,
		     1, 0, a13);
	assert_true(tc_has_first_block(&tc, t, a13));
	assert_false(tc_in_mempool(&tc, t));

	hn_ledger_subscribe(tc.l, count, &ev);
	/* A heavier branch from A12 without T. */
	tc_add_block(&tc, a12, NULL, t0(&tc) + 431, 2.0, 2, 0, b[0]);
	tc_add_block(&tc, b[0], NULL, t0(&tc) + 461, 2.0, 2, 0, b[1]);
	tc_add_block(&tc, b[1], NULL, t0(&tc) + 491, 2.0, 2, 0, b[2]);
	tc_best(&tc, h);
	assert_memory_equal(h, b[2], 32);
	assert_true(tc_voided(&tc, a13));
	/* T is not voided: it is unconfirmed again, back in the mempool. */
	assert_false(tc_voided(&tc, t));
	assert_false(tc_has_first_block(&tc, t, NULL));
	assert_true(tc_in_mempool(&tc, t));
	assert_true(ev.mp_add >= 1);
	assert_true(ev.reorg >= 1);
	tc_check(&tc);

	/* A block on the new chain confirms it again. */
	tc_add_block(&tc, b[2], (const uint8_t (*)[32])txp, t0(&tc) + 521,
		     2.0, 2, 0, h);
	assert_true(tc_has_first_block(&tc, t, h));
	tc_check(&tc);
	tc_close(&tc, false);
}

static void test_reorg_reward_lock_removes_tx(void **state)
{
	struct tchain tc;
	uint8_t a10[32], t[32], u[32], b1[32], b2[32], h[32];
	struct tc_in in;
	uint64_t v = GEN_VALUE;

	tc_open(&tc);
	tc_chain(&tc, tc_gblock(&tc), t0(&tc), 10, 2.0, 1, a10, NULL);
	/* best height 10: a tx with min_height 11 can be confirmed by the
	 * next block. */
	in.tx = tc_gblock(&tc);
	in.index = 0;
	tc_add_tx(&tc, &in, 1, &v, 1, tc_gtx1(&tc), tc_gtx2(&tc),
		  t0(&tc) + 400, 2.0, 0, t);
	/* And a tx depending on it, removed with it. */
	in.tx = t;
	tc_add_tx(&tc, &in, 1, &v, 1, t, tc_gtx2(&tc), t0(&tc) + 401, 2.0, 0,
		  u);
	assert_true(tc_in_mempool(&tc, u));
	/* A heavier chain from genesis with only two blocks. */
	tc_add_block(&tc, tc_gblock(&tc), NULL, t0(&tc) + 1, 5.0, 2, 0, b1);
	assert_int_equal(tc_best_height(&tc), 10);
	tc_add_block(&tc, b1, NULL, t0(&tc) + 31, 5.0, 2, 0, b2);
	assert_int_equal(tc_best_height(&tc), 2);
	tc_best(&tc, h);
	assert_memory_equal(h, b2, 32);
	/* Height 2 + 1 < 11: both txs are gone. */
	assert_false(tc_exists(&tc, t));
	assert_false(tc_exists(&tc, u));
	assert_true(tc_exists(&tc, a10));
	tc_check(&tc);
	tc_close(&tc, false);
}

/*
 * Mempool txs that lose the reward lock after a reorg are removed, and no
 * block is: blocks are never in the mempool, and a tx that only the
 * mempool holds has no block to its right. The losing chain stays stored,
 * voided, with its metadata intact; the winning chain is untouched.
 */
static void test_reorg_reward_lock_keeps_blocks(void **state)
{
	struct tchain tc;
	struct evcount ev = { 0 };
	uint8_t a[12][32], top[32], t[32], u[32], b[3][32], h[32];
	struct hn_store *st;
	struct tc_in in;
	uint64_t v = GEN_VALUE;

	tc_open(&tc);
	st = hn_ledger_store(tc.l);
	tc_chain(&tc, tc_gblock(&tc), t0(&tc), 12, 2.0, 1, top, a);
	/* T spends the genesis reward: at best height 12 it is unlocked;
	 * U spends T. Both stay in the mempool. */
	in.tx = tc_gblock(&tc);
	in.index = 0;
	tc_add_tx(&tc, &in, 1, &v, 1, tc_gtx1(&tc), tc_gtx2(&tc),
		  t0(&tc) + 400, 2.0, 0, t);
	in.tx = t;
	tc_add_tx(&tc, &in, 1, &v, 1, t, tc_gtx2(&tc), t0(&tc) + 401, 2.0, 0,
		  u);
	assert_true(tc_in_mempool(&tc, t));
	assert_true(tc_in_mempool(&tc, u));
	hn_ledger_subscribe(tc.l, count, &ev);
	/* A heavier fork from A1 (3 * 2^5 > 11 * 2^2): best height 12 -> 4,
	 * and 4 + 1 < 11 locks the genesis reward again. */
	tc_add_block(&tc, a[0], NULL, t0(&tc) + 31, 5.0, 2, 0, b[0]);
	tc_add_block(&tc, b[0], NULL, t0(&tc) + 61, 5.0, 2, 0, b[1]);
	tc_add_block(&tc, b[1], NULL, t0(&tc) + 91, 5.0, 2, 0, b[2]);
	assert_int_equal(tc_best_height(&tc), 4);
	tc_best(&tc, h);
	assert_memory_equal(h, b[2], 32);
	assert_int_equal(ev.reorg, 1);
	assert_false(tc_exists(&tc, t));
	assert_false(tc_exists(&tc, u));
	/* Every block is still there: the common block and the winners
	 * valid, the losers A2..A12 voided. */
	assert_true(tc_exists(&tc, a[0]));
	assert_false(tc_voided(&tc, a[0]));
	for (int i = 1; i < 12; i++) {
		assert_true(tc_exists(&tc, a[i]));
		assert_true(tc_voided(&tc, a[i]));
	}
	for (int i = 0; i < 3; i++) {
		assert_true(tc_exists(&tc, b[i]));
		assert_false(tc_voided(&tc, b[i]));
		assert_int_equal(hn_store_height_get(st, 2 + i, h), 0);
		assert_memory_equal(h, b[i], 32);
	}
	{
		struct hn_hash_list l = { 0 };

		assert_int_equal(hn_nodesvc_get_mempool_tips(tc.l, &l), 0);
		assert_int_equal(l.n, 0);
		hn_hash_list_release(&l);
	}
	tc_check(&tc);
	/* The losing chain is whole, so it can win back: one block of
	 * weight 6 on A12 (11 * 2^2 + 2^6 > 3 * 2^5). */
	tc_add_block(&tc, a[11], NULL, t0(&tc) + 361, 6.0, 1, 0, h);
	assert_int_equal(tc_best_height(&tc), 13);
	assert_false(tc_voided(&tc, a[11]));
	tc_check(&tc);
	tc_reopen(&tc);
	assert_int_equal(tc_best_height(&tc), 13);
	tc_check(&tc);
	tc_close(&tc, false);
}

/*
 * A tx confirmed only by the losing chain returns to the mempool, loses
 * the reward lock and is removed. hathor-core's
 * _compute_vertices_that_became_invalid then removes every vertex to its
 * right, "both txs and blocks": the losing blocks that confirm it
 * (directly or through their parent chain) go with it, since keeping them
 * would leave them with a missing parent. The losing blocks before it
 * stay stored and voided.
 */
static void test_reorg_reward_lock_confirmed_by_loser(void **state)
{
	struct tchain tc;
	uint8_t a[10][32], top[32], t[32], a11[32], a12[32], b[2][32], h[32];
	uint8_t txp[2][32];
	struct tc_in in;
	uint64_t v = GEN_VALUE;

	tc_open(&tc);
	tc_chain(&tc, tc_gblock(&tc), t0(&tc), 10, 2.0, 1, top, a);
	in.tx = tc_gblock(&tc);
	in.index = 0;
	tc_add_tx(&tc, &in, 1, &v, 1, tc_gtx1(&tc), tc_gtx2(&tc),
		  t0(&tc) + 400, 2.0, 0, t);
	memcpy(txp[0], t, 32);
	memcpy(txp[1], tc_gtx2(&tc), 32);
	tc_add_block(&tc, a[9], (const uint8_t (*)[32])txp, t0(&tc) + 430,
		     2.0, 1, 0, a11);
	tc_add_block(&tc, a11, NULL, t0(&tc) + 460, 2.0, 1, 0, a12);
	assert_true(tc_has_first_block(&tc, t, a11));
	/* A heavier fork from genesis: best height 12 -> 2. */
	tc_add_block(&tc, tc_gblock(&tc), NULL, t0(&tc) + 1, 5.0, 2, 0, b[0]);
	tc_add_block(&tc, b[0], NULL, t0(&tc) + 31, 5.0, 2, 0, b[1]);
	assert_int_equal(tc_best_height(&tc), 2);
	tc_best(&tc, h);
	assert_memory_equal(h, b[1], 32);
	assert_false(tc_exists(&tc, t));
	assert_false(tc_exists(&tc, a11));
	assert_false(tc_exists(&tc, a12));
	for (int i = 0; i < 10; i++) {
		assert_true(tc_exists(&tc, a[i]));
		assert_true(tc_voided(&tc, a[i]));
	}
	for (int i = 0; i < 2; i++)
		assert_false(tc_voided(&tc, b[i]));
	tc_check(&tc);
	tc_reopen(&tc);
	tc_check(&tc);
	tc_close(&tc, false);
}

static void test_conflict_tie_then_child(void **state)
{
	struct tchain tc;
	uint8_t top[32], a[32], b[32], c[32];
	struct tc_in in;
	uint64_t v = GEN_VALUE;

	tc_open(&tc);
	tc_chain(&tc, tc_gblock(&tc), t0(&tc), 11, 2.0, 1, top, NULL);
	in.tx = tc_gblock(&tc);
	in.index = 0;
	tc_add_tx(&tc, &in, 1, &v, 1, tc_gtx1(&tc), tc_gtx2(&tc),
		  t0(&tc) + 400, 2.0, 0, a);
	assert_false(tc_voided(&tc, a));
	/* B spends the same output with the same weight: a tie voids
	 * both (check_conflicts). */
	v = GEN_VALUE - 1;
	{
		uint64_t vv[2] = { GEN_VALUE - 1, 1 };

		tc_add_tx(&tc, &in, 1, vv, 2, tc_gtx1(&tc), tc_gtx2(&tc),
			  t0(&tc) + 401, 2.0, 0, b);
	}
	assert_true(tc_voided(&tc, a));
	assert_true(tc_voided(&tc, b));
	assert_false(tc_in_mempool(&tc, a));
	assert_false(tc_in_mempool(&tc, b));
	tc_check(&tc);
	/* C verifies A: A's accumulated weight grows and A wins. */
	in.tx = a;
	v = GEN_VALUE;
	tc_add_tx(&tc, &in, 1, &v, 1, a, tc_gtx2(&tc), t0(&tc) + 402, 2.0, 0,
		  c);
	assert_false(tc_voided(&tc, a));
	assert_false(tc_voided(&tc, c));
	assert_true(tc_voided(&tc, b));
	assert_true(tc_in_mempool(&tc, a));
	assert_true(tc_in_mempool(&tc, c));
	{
		struct hn_hash_list l = { 0 };

		hn_nodesvc_get_mempool_tips(tc.l, &l);
		assert_int_equal(l.n, 1);
		assert_memory_equal(l.h[0], c, 32);
		hn_hash_list_release(&l);
	}
	tc_check(&tc);
	tc_close(&tc, false);
}

static void test_conflict_heavier_wins(void **state)
{
	struct tchain tc;
	uint8_t top[32], a[32], b[32], d[32], blk[32], txp[2][32];
	struct tc_in in;
	uint64_t v = GEN_VALUE, vv[2] = { GEN_VALUE - 5, 5 };
	struct hn_vmeta m;

	tc_open(&tc);
	tc_chain(&tc, tc_gblock(&tc), t0(&tc), 11, 2.0, 1, top, NULL);
	in.tx = tc_gblock(&tc);
	in.index = 0;
	tc_add_tx(&tc, &in, 1, &v, 1, tc_gtx1(&tc), tc_gtx2(&tc),
		  t0(&tc) + 400, 2.0, 0, a);
	/* D is a child of A spending it: voided with A when A loses. */
	{
		struct tc_in da = { a, 0 };

		tc_add_tx(&tc, &da, 1, &v, 1, a, tc_gtx2(&tc), t0(&tc) + 401,
			  2.0, 0, d);
	}
	/* B: heavier double spend (work 64 > 4 + 4). */
	tc_add_tx(&tc, &in, 1, vv, 2, tc_gtx1(&tc), tc_gtx2(&tc),
		  t0(&tc) + 402, 6.0, 0, b);
	assert_true(tc_voided(&tc, a));
	assert_true(tc_voided(&tc, d));
	assert_false(tc_voided(&tc, b));
	assert_true(tc_in_mempool(&tc, b));
	assert_false(tc_in_mempool(&tc, d));
	/* conflict_with is symmetric and voided_by of D names A. */
	assert_int_equal(hn_store_get_meta(hn_ledger_store(tc.l), d,
					   HN_VMETA_CORE, &m), 0);
	assert_int_equal(m.n_voided_by, 1);
	assert_memory_equal(m.voided_by[0], a, 32);
	hn_vmeta_release(&m);
	assert_int_equal(hn_store_get_meta(hn_ledger_store(tc.l), a,
					   HN_VMETA_ALL, &m), 0);
	assert_int_equal(m.n_conflict_with, 1);
	assert_memory_equal(m.conflict_with[0], b, 32);
	assert_int_equal(m.n_children, 1);
	hn_vmeta_release(&m);
	tc_check(&tc);

	/* Metadata JSON as the reference's to_json_extended. */
	{
		struct json_object *j, *x, *y;
		struct hn_ledger_vertex lv;

		assert_int_equal(hn_ledger_get(tc.l, tc_gblock(&tc),
					       HN_VMETA_ALL, &lv), 0);
		assert_int_equal(hn_ledger_meta_to_json(tc.l, &lv.meta, &j), 0);
		/* spent_outputs: [[0, [a, b]]] (both spenders, by time) */
		assert_true(json_object_object_get_ex(j, "spent_outputs", &x));
		assert_int_equal(json_object_array_length(x), 1);
		y = json_object_array_get_idx(json_object_array_get_idx(x, 0), 1);
		assert_int_equal(json_object_array_length(y), 2);
		assert_string_equal(json_object_get_string(
			json_object_array_get_idx(y, 0)), tc_hex(a));
		assert_true(json_object_object_get_ex(j, "height", &x));
		assert_int_equal(json_object_get_int(x), 0);
		assert_true(json_object_object_get_ex(j, "score", &x));
		assert_true(json_object_get_double(x) == 2.0); /* log2(4) */
		assert_true(json_object_object_get_ex(j, "validation", &x));
		assert_string_equal(json_object_get_string(x), "full");
		json_object_put(j);
		hn_ledger_vertex_release(&lv);
		assert_int_equal(hn_ledger_get(tc.l, a, HN_VMETA_ALL, &lv), 0);
		assert_int_equal(hn_ledger_meta_to_json(tc.l, &lv.meta, &j), 0);
		assert_true(json_object_object_get_ex(j, "voided_by", &x));
		assert_int_equal(json_object_array_length(x), 1);
		assert_string_equal(json_object_get_string(
			json_object_array_get_idx(x, 0)), tc_hex(a));
		assert_true(json_object_object_get_ex(j, "conflict_with", &x));
		assert_string_equal(json_object_get_string(
			json_object_array_get_idx(x, 0)), tc_hex(b));
		assert_true(json_object_object_get_ex(j, "children", &x));
		assert_string_equal(json_object_get_string(
			json_object_array_get_idx(x, 0)), tc_hex(d));
		assert_true(json_object_object_get_ex(j, "first_block", &x));
		assert_null(x);
		json_object_put(j);
		hn_ledger_vertex_release(&lv);
	}

	/* A block confirming B: B gets first_block, the losers stay
	 * voided and out of the mempool. */
	memcpy(txp[0], b, 32);
	memcpy(txp[1], tc_gtx2(&tc), 32);
	tc_add_block(&tc, top, (const uint8_t (*)[32])txp, t0(&tc) + 430, 2.0,
		     1, 0, blk);
	assert_false(tc_voided(&tc, blk));
	assert_true(tc_has_first_block(&tc, b, blk));
	assert_false(tc_has_first_block(&tc, a, NULL));
	assert_true(tc_voided(&tc, a));
	tc_check(&tc);
	tc_reopen(&tc);
	assert_true(tc_voided(&tc, a));
	assert_false(tc_voided(&tc, b));
	tc_check(&tc);
	tc_close(&tc, false);
}

static void test_block_confirming_voided_tx_resolves(void **state)
{
	struct tchain tc;
	uint8_t top[32], a[32], b[32], blk[32], txp[2][32];
	struct tc_in in;
	uint64_t v = GEN_VALUE, vv[2] = { GEN_VALUE - 1, 1 };

	tc_open(&tc);
	tc_chain(&tc, tc_gblock(&tc), t0(&tc), 11, 2.0, 1, top, NULL);
	in.tx = tc_gblock(&tc);
	in.index = 0;
	tc_add_tx(&tc, &in, 1, &v, 1, tc_gtx1(&tc), tc_gtx2(&tc),
		  t0(&tc) + 400, 2.0, 0, a);
	tc_add_tx(&tc, &in, 1, vv, 2, tc_gtx1(&tc), tc_gtx2(&tc),
		  t0(&tc) + 401, 2.0, 0, b);
	assert_true(tc_voided(&tc, a));
	assert_true(tc_voided(&tc, b));
	/* A block verifying A adds its work to A: A wins, and the block is
	 * on the best chain confirming it. */
	memcpy(txp[0], a, 32);
	memcpy(txp[1], tc_gtx2(&tc), 32);
	tc_add_block(&tc, top, (const uint8_t (*)[32])txp, t0(&tc) + 430, 2.0,
		     1, 0, blk);
	assert_false(tc_voided(&tc, a));
	assert_true(tc_voided(&tc, b));
	assert_false(tc_voided(&tc, blk));
	assert_true(tc_has_first_block(&tc, a, blk));
	assert_int_equal(tc_best_height(&tc), 12);
	tc_check(&tc);
	tc_close(&tc, false);
}

static void test_twins(void **state)
{
	struct tchain tc;
	uint8_t top[32], a[32], b[32], c[32];
	struct tc_in in;
	uint64_t v = GEN_VALUE, vv[2] = { GEN_VALUE - 1, 1 };
	struct hn_vmeta m;
	struct hn_store *st;

	tc_open(&tc);
	st = hn_ledger_store(tc.l);
	tc_chain(&tc, tc_gblock(&tc), t0(&tc), 11, 2.0, 1, top, NULL);
	in.tx = tc_gblock(&tc);
	in.index = 0;
	tc_add_tx(&tc, &in, 1, &v, 1, tc_gtx1(&tc), tc_gtx2(&tc),
		  t0(&tc) + 400, 2.0, 0, a);
	/* Same input and output, another timestamp: a twin. */
	tc_add_tx(&tc, &in, 1, &v, 1, tc_gtx1(&tc), tc_gtx2(&tc),
		  t0(&tc) + 401, 2.0, 0, b);
	/* Same input, other outputs: a conflict but not a twin. */
	tc_add_tx(&tc, &in, 1, vv, 2, tc_gtx1(&tc), tc_gtx2(&tc),
		  t0(&tc) + 402, 2.0, 0, c);
	assert_int_equal(hn_store_get_meta(st, a, HN_VMETA_CORE, &m), 0);
	assert_int_equal(m.n_twins, 1);
	assert_memory_equal(m.twins[0], b, 32);
	assert_int_equal(m.n_conflict_with, 2);
	hn_vmeta_release(&m);
	assert_int_equal(hn_store_get_meta(st, c, HN_VMETA_CORE, &m), 0);
	assert_int_equal(m.n_twins, 0);
	assert_int_equal(m.n_conflict_with, 2);
	hn_vmeta_release(&m);
	tc_check(&tc);
	tc_close(&tc, false);
}

static void test_deep_reorg(void **state)
{
	struct tchain tc;
	uint8_t atop[32], btop[32], h[32];
	uint8_t (*b)[32] = calloc(62, 32);

	tc_open(&tc);
	tc_chain(&tc, tc_gblock(&tc), t0(&tc), 60, 2.0, 1, atop, NULL);
	tc_chain(&tc, tc_gblock(&tc), t0(&tc) + 1, 62, 2.0, 2, btop, b);
	assert_int_equal(tc_best_height(&tc), 62);
	tc_best(&tc, h);
	assert_memory_equal(h, btop, 32);
	assert_true(tc_voided(&tc, atop));
	/* Genesis txs now confirmed by the first block of chain B. */
	assert_true(tc_has_first_block(&tc, tc_gtx1(&tc), b[0]));
	tc_check(&tc);
	free(b);
	tc_close(&tc, false);
}

/* A double-spend fork (hathor-chaingen --fork-double-spend shape).  Main
 * chain A1..A23; T spends the genesis output and is confirmed late, by
 * A21, so its accumulated weight is T + A21..A23 (4 + 3 * 4 = 16).  The
 * fork from A12 confirms the double spend D early, in B13, and each fork
 * block adds its work to D (weight 2.5: 2^2.5 + 4 k).  After B15 D
 * outweighs T while the fork (height 15) is far shorter than the main
 * chain (height 23). */
struct dsfork {
	struct tchain tc;
	uint8_t a[24][32];              /* a[i]: main block at height i */
	uint8_t b[26][32];              /* b[i]: fork block at height i */
	uint8_t t[32], d[32];
};

static void dsfork_open(struct dsfork *f)
{
	struct tchain *tc = &f->tc;
	struct tc_in in;
	uint64_t v = GEN_VALUE, vv[2] = { GEN_VALUE - 1, 1 };
	uint8_t txp[2][32];

	tc_open(tc);
	tc_chain(tc, tc_gblock(tc), t0(tc), 12, 2.0, 1, f->a[12], f->a + 1);
	in.tx = tc_gblock(tc);
	in.index = 0;
	tc_add_tx(tc, &in, 1, &v, 1, tc_gtx1(tc), tc_gtx2(tc), t0(tc) + 340,
		  2.0, 0, f->t);
	tc_chain(tc, f->a[12], t0(tc) + 360, 8, 2.0, 1, f->a[20], f->a + 13);
	memcpy(txp[0], f->t, 32);
	memcpy(txp[1], tc_gtx2(tc), 32);
	tc_add_block(tc, f->a[20], (const uint8_t (*)[32])txp, t0(tc) + 600,
		     2.0, 1, 0, f->a[21]);
	tc_chain(tc, f->a[21], t0(tc) + 630, 2, 2.0, 1, f->a[23], f->a + 22);
	assert_int_equal(tc_best_height(tc), 23);
	assert_true(tc_has_first_block(tc, f->t, f->a[21]));

	/* D: same input, other outputs; loses on arrival. */
	tc_add_tx(tc, &in, 1, vv, 2, tc_gtx1(tc), tc_gtx2(tc), t0(tc) + 345,
		  2.5, 0, f->d);
	assert_true(tc_voided(tc, f->d));
	assert_false(tc_voided(tc, f->t));
	assert_false(tc_in_mempool(tc, f->d));
}

/* Fork blocks B[from]..B[to]; B13 confirms D. */
static void dsfork_extend(struct dsfork *f, int from, int to)
{
	struct tchain *tc = &f->tc;

	for (int i = from; i <= to; i++) {
		uint8_t txp[2][32];
		const uint8_t (*p)[32] = NULL;
		const uint8_t *parent = i == 13 ? f->a[12] : f->b[i - 1];

		if (i == 13) {
			memcpy(txp[0], f->d, 32);
			memcpy(txp[1], tc_gtx2(tc), 32);
			p = (const uint8_t (*)[32])txp;
		}
		tc_add_block(tc, parent, p, t0(tc) + 361 + 30 * (uint32_t)(i - 13),
			     2.0, 2, 0, f->b[i]);
	}
}

static void test_ds_fork_loses(void **state)
{
	struct dsfork f;
	uint8_t h[32];

	dsfork_open(&f);
	dsfork_extend(&f, 13, 14);      /* D: 2^2.5 + 8 < 16 */
	tc_best(&f.tc, h);
	assert_memory_equal(h, f.a[23], 32);
	assert_int_equal(tc_best_height(&f.tc), 23);
	assert_true(tc_voided(&f.tc, f.d));
	assert_false(tc_voided(&f.tc, f.t));
	assert_true(tc_has_first_block(&f.tc, f.t, f.a[21]));
	assert_true(tc_voided(&f.tc, f.b[13]));
	assert_true(tc_voided(&f.tc, f.b[14]));
	for (int i = 13; i <= 23; i++)
		assert_false(tc_voided(&f.tc, f.a[i]));
	assert_false(tc_in_mempool(&f.tc, f.d));
	tc_check(&f.tc);
	tc_close(&f.tc, false);
}

static void test_ds_fork_wins_before_outweighing(void **state)
{
	struct dsfork f;
	struct evcount ev = { 0 };
	uint8_t h[32];

	dsfork_open(&f);
	dsfork_extend(&f, 13, 14);
	hn_ledger_subscribe(f.tc.l, count, &ev);
	/* B15: D outweighs T; T and the blocks confirming it are voided,
	 * the head with them, and the fork becomes the best chain. */
	dsfork_extend(&f, 15, 15);
	tc_best(&f.tc, h);
	assert_memory_equal(h, f.b[15], 32);
	assert_int_equal(tc_best_height(&f.tc), 15);
	assert_false(tc_voided(&f.tc, f.d));
	assert_true(tc_has_first_block(&f.tc, f.d, f.b[13]));
	assert_true(tc_voided(&f.tc, f.t));
	assert_false(tc_has_first_block(&f.tc, f.t, NULL));
	assert_false(tc_in_mempool(&f.tc, f.t));
	for (int i = 13; i <= 15; i++)
		assert_false(tc_voided(&f.tc, f.b[i]));
	for (int i = 13; i <= 23; i++)
		assert_true(tc_voided(&f.tc, f.a[i]));
	assert_false(tc_voided(&f.tc, f.a[12]));
	assert_true(ev.reorg >= 1);
	assert_int_equal(ev.reorg_depth, 11);
	tc_check(&f.tc);

	/* The fork keeps growing past the old height. */
	dsfork_extend(&f, 16, 25);
	tc_best(&f.tc, h);
	assert_memory_equal(h, f.b[25], 32);
	assert_int_equal(tc_best_height(&f.tc), 25);
	assert_true(tc_voided(&f.tc, f.t));
	assert_false(tc_voided(&f.tc, f.d));
	tc_check(&f.tc);

	/* Restart: the same state from disk. */
	tc_reopen(&f.tc);
	tc_best(&f.tc, h);
	assert_memory_equal(h, f.b[25], 32);
	assert_true(tc_voided(&f.tc, f.t));
	tc_check(&f.tc);
	tc_close(&f.tc, false);
}

/* After B15 won, the old chain grows: A24 adds its work to T (voided by
 * D now), T outweighs D again (16 + 4 > 2^2.5 + 12) and the old chain
 * is the best chain again. */
static void test_ds_old_chain_recovers(void **state)
{
	struct dsfork f;
	uint8_t h[32];

	dsfork_open(&f);
	dsfork_extend(&f, 13, 15);
	assert_int_equal(tc_best_height(&f.tc), 15);
	tc_add_block(&f.tc, f.a[23], NULL, t0(&f.tc) + 690, 2.0, 1, 0, h);
	assert_int_equal(tc_best_height(&f.tc), 24);
	{
		uint8_t best[32];

		tc_best(&f.tc, best);
		assert_memory_equal(best, h, 32);
	}
	assert_false(tc_voided(&f.tc, f.t));
	assert_true(tc_has_first_block(&f.tc, f.t, f.a[21]));
	assert_true(tc_voided(&f.tc, f.d));
	for (int i = 13; i <= 23; i++)
		assert_false(tc_voided(&f.tc, f.a[i]));
	for (int i = 13; i <= 15; i++)
		assert_true(tc_voided(&f.tc, f.b[i]));
	tc_check(&f.tc);
	tc_close(&f.tc, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reorg),
		cmocka_unit_test(test_reorg_returns_tx_to_mempool),
		cmocka_unit_test(test_reorg_reward_lock_removes_tx),
		cmocka_unit_test(test_reorg_reward_lock_keeps_blocks),
		cmocka_unit_test(test_reorg_reward_lock_confirmed_by_loser),
		cmocka_unit_test(test_conflict_tie_then_child),
		cmocka_unit_test(test_conflict_heavier_wins),
		cmocka_unit_test(test_block_confirming_voided_tx_resolves),
		cmocka_unit_test(test_twins),
		cmocka_unit_test(test_deep_reorg),
		cmocka_unit_test(test_ds_fork_loses),
		cmocka_unit_test(test_ds_fork_wins_before_outweighing),
		cmocka_unit_test(test_ds_old_chain_recovers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
