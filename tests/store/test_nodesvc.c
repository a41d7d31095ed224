/*
 * test_nodesvc.c: every node-service function against a real ledger.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chain.h"
#include "hn/err.h"
#include "hn/hash.h"
#include "hn/network.h"

static uint32_t t0(const struct tchain *tc)
{
	return tc->net->genesis_block.timestamp + 30;
}

static void test_reads(void **state)
{
	struct tchain tc;
	struct hn_ledger *l;
	struct hn_nodesvc_vertex v;
	uint8_t all[10][32], top[32], h[32], unknown[32];
	uint64_t ts;

	tc_open(&tc);
	l = tc.l;
	tc_chain(&tc, tc_gblock(&tc), t0(&tc), 10, 2.0, 1, top, all);
	memset(unknown, 0x77, 32);

	/* get_genesis */
	assert_int_equal(hn_nodesvc_get_genesis(l, tc_gtx1(&tc), &v), 0);
	assert_int_equal(v.len, tc.net->genesis_tx1.len);
	assert_memory_equal(v.bytes, tc.net->genesis_tx1.bytes, v.len);
	hn_nodesvc_vertex_release(&v);
	assert_int_equal(hn_nodesvc_get_genesis(l, all[0], &v), HN_ENOENT);

	/* get_vertex / get_block / get_parent_block */
	assert_int_equal(hn_nodesvc_get_vertex(l, all[3], HN_VMETA_ALL, &v), 0);
	assert_true(v.meta.is_block);
	assert_int_equal(v.meta.height, 4);
	assert_int_equal(v.meta.n_children, 1);
	assert_memory_equal(v.meta.children[0], all[4], 32);
	hn_nodesvc_vertex_release(&v);
	assert_int_equal(hn_nodesvc_get_block(l, tc_gtx1(&tc), 0, &v),
			 HN_EINVAL);
	assert_int_equal(hn_nodesvc_get_vertex(l, unknown, 0, &v), HN_ENOENT);
	assert_int_equal(hn_nodesvc_get_parent_block(l, all[3], 0, &v), 0);
	assert_memory_equal(v.meta.hash, all[2], 32);
	hn_nodesvc_vertex_release(&v);
	assert_int_equal(hn_nodesvc_get_parent_block(l, tc_gblock(&tc), 0, &v),
			 HN_EINVAL);

	/* timestamps */
	assert_int_equal(hn_nodesvc_get_first_timestamp(l, &ts), 0);
	assert_int_equal(ts, tc.net->genesis_block.timestamp);
	assert_int_equal(hn_nodesvc_get_latest_timestamp(l, &ts), 0);
	assert_int_equal(ts, t0(&tc) + 9 * 30);

	/* existence, one and many */
	assert_true(hn_nodesvc_vertex_exists(l, all[9]));
	assert_false(hn_nodesvc_vertex_exists(l, unknown));
	assert_true(hn_nodesvc_partial_vertex_exists(l, all[0]));
	{
		uint8_t hs[3][32];
		bool ex[3];

		memcpy(hs[0], all[1], 32);
		memcpy(hs[1], unknown, 32);
		memcpy(hs[2], tc_gtx2(&tc), 32);
		assert_int_equal(hn_nodesvc_vertex_exists_many(l,
			(const uint8_t (*)[32])hs, 3, ex), 0);
		assert_true(ex[0]);
		assert_false(ex[1]);
		assert_true(ex[2]);
	}

	/* best block and heights */
	assert_int_equal(hn_nodesvc_get_best_block(l, 0, &v), 0);
	assert_memory_equal(v.meta.hash, top, 32);
	hn_nodesvc_vertex_release(&v);
	{
		struct hn_height_info hi[20];
		size_t n;

		assert_int_equal(hn_nodesvc_get_n_height_tips(l, 3, hi, &n), 0);
		assert_int_equal(n, 3);
		assert_int_equal(hi[0].height, 10);
		assert_memory_equal(hi[0].hash, top, 32);
		assert_int_equal(hi[2].height, 8);
		assert_memory_equal(hi[2].hash, all[7], 32);
		assert_int_equal(hn_nodesvc_get_n_height_tips(l, 20, hi, &n), 0);
		assert_int_equal(n, 11);        /* down to genesis */
		assert_memory_equal(hi[10].hash, tc_gblock(&tc), 32);
		assert_int_equal(hn_nodesvc_get_n_height_tips(l, 0, hi, &n),
				 HN_EINVAL);
	}
	assert_int_equal(hn_nodesvc_height_index_get(l, 5, h), 0);
	assert_memory_equal(h, all[4], 32);
	assert_int_equal(hn_nodesvc_height_index_get(l, 11, h), HN_ENOENT);
	{
		uint64_t hs[3] = { 0, 10, 99 };
		uint8_t out[3][32];
		bool found[3];

		assert_int_equal(hn_nodesvc_height_index_get_many(l, hs, 3, out,
								  found), 0);
		assert_true(found[0] && found[1] && !found[2]);
		assert_memory_equal(out[1], top, 32);
	}

	/* tips and merkle tree */
	{
		struct hn_tip_interval *t = NULL;
		struct hn_hash_list hl = { 0 };
		uint8_t merkle[32], want[32], buf[64];
		size_t n;

		assert_int_equal(hn_nodesvc_get_tx_tips(l, false, 0, &t, &n), 0);
		assert_int_equal(n, 2);
		free(t);
		/* all tips now: only the top block (block 1 verified the
		 * genesis txs, closing their all_tips intervals). */
		assert_int_equal(hn_nodesvc_get_merkle_tree(l, UINT64_MAX,
							    merkle, &hl), 0);
		assert_int_equal(hl.n, 1);
		assert_memory_equal(hl.h[0], top, 32);
		hn_sha256(top, 32, want);
		assert_memory_equal(merkle, want, 32);
		hn_hash_list_release(&hl);
		/* Just before block 1: genesis block and txs, sorted. */
		assert_int_equal(hn_nodesvc_get_merkle_tree(l, t0(&tc) - 1,
							    merkle, &hl), 0);
		assert_int_equal(hl.n, 3);
		for (size_t i = 1; i < hl.n; i++)
			assert_true(memcmp(hl.h[i - 1], hl.h[i], 32) < 0);
		{
			uint8_t cat[96];

			memcpy(cat, hl.h, 96);
			hn_sha256(cat, 96, want);
		}
		assert_memory_equal(merkle, want, 32);
		hn_hash_list_release(&hl);
		/* At the genesis block's time only it was a tip. */
		assert_int_equal(hn_nodesvc_get_merkle_tree(l,
			tc.net->genesis_block.timestamp, merkle, &hl), 0);
		assert_int_equal(hl.n, 1);
		memcpy(buf, tc_gblock(&tc), 32);
		hn_sha256(buf, 32, want);
		assert_memory_equal(merkle, want, 32);
		hn_hash_list_release(&hl);
	}

	/* get_hashes_and_next_idx */
	{
		struct hn_hash_list hl = { 0 };
		bool more;
		uint64_t nts, noff;

		assert_int_equal(hn_nodesvc_get_hashes_and_next_idx(l, 0, 0, 0,
			&hl, &more, &nts, &noff), HN_EINVAL);
		assert_int_equal(hn_nodesvc_get_hashes_and_next_idx(l,
			tc.net->genesis_block.timestamp, 1, 2, &hl, &more,
			&nts, &noff), 0);
		assert_int_equal(hl.n, 2);
		assert_memory_equal(hl.h[0], tc_gtx1(&tc), 32);
		assert_true(more);
		hn_hash_list_release(&hl);
		assert_int_equal(hn_nodesvc_get_hashes_and_next_idx(l, nts,
			noff, 100, &hl, &more, &nts, &noff), 0);
		assert_int_equal(hl.n, 10);
		assert_memory_equal(hl.h[0], all[0], 32);
		assert_false(more);
		hn_hash_list_release(&hl);
	}
	tc_close(&tc, false);
}

static void test_intake(void **state)
{
	struct tchain tc;
	struct hn_ledger *l;
	struct hn_ledger_result res, dres[2];
	uint8_t *bb, *b2, *t1, *t2, hb[32], hb2[32], ht1[32], ht2[32];
	size_t nb, nb2, nt1, nt2;
	uint8_t top[32], txp[2][32];
	bool ok, eq;

	tc_open(&tc);
	l = tc.l;
	/* 11 blocks: the genesis reward is unlocked. */
	tc_chain(&tc, tc_gblock(&tc), t0(&tc), 11, 2.0, 1, top, NULL);
	/* Two txs (t1 spends the genesis output, t2 spends t1) and a block
	 * confirming both, delivered as deps. */
	{
		struct tc_in in = { tc_gblock(&tc), 0 };
		uint64_t val = 100000000000ULL;

		tc_make_tx(&tc, &in, 1, &val, 1, tc_gtx1(&tc), tc_gtx2(&tc),
			   t0(&tc) + 400, 2.0, &t1, &nt1, ht1);
		in.tx = ht1;
		tc_make_tx(&tc, &in, 1, &val, 1, ht1, tc_gtx2(&tc),
			   t0(&tc) + 401, 2.0, &t2, &nt2, ht2);
	}
	memcpy(txp[0], ht1, 32);
	memcpy(txp[1], ht2, 32);
	tc_make_block(&tc, top, (const uint8_t (*)[32])txp, t0(&tc) + 420, 2.0,
		      1, &bb, &nb, hb);

	/* can_validate_full: deps unknown yet. */
	assert_int_equal(hn_nodesvc_can_validate_full(l, bb, nb, &ok), 0);
	assert_false(ok);
	assert_int_equal(hn_nodesvc_can_validate_full(l, t1, nt1, &ok), 0);
	assert_true(ok);
	assert_int_equal(hn_nodesvc_can_validate_full(l, bb, 3, &ok),
			 HN_EPARSE);
	/* Block whose parent block is unknown but tx parents known: the
	 * reference ignores the parent block. */
	tc_make_block(&tc, hb, NULL, t0(&tc) + 450, 2.0, 1, &b2, &nb2, hb2);
	assert_int_equal(hn_nodesvc_can_validate_full(l, b2, nb2, &ok), 0);
	assert_true(ok);

	/* on_new_block with deps in the wrong order: sorted by timestamp. */
	{
		struct hn_buf deps[2] = { { t2, nt2 }, { t1, nt1 } };

		assert_int_equal(hn_nodesvc_on_new_block(l, bb, nb, deps, 2,
							 &res, dres), 0);
		assert_true(res.stored);
		assert_true(dres[0].stored && dres[1].stored);
	}
	assert_true(tc_has_first_block(&tc, ht1, hb));
	assert_true(tc_has_first_block(&tc, ht2, hb));
	/* Known vertex through on_new_vertex: success, nothing stored. */
	assert_int_equal(hn_nodesvc_on_new_vertex(l, t1, nt1, HN_ORIGIN_RELAYED,
						  &res), 0);
	assert_false(res.stored);
	/* A block is not a mempool transaction. */
	assert_int_equal(hn_nodesvc_on_new_vertex(l, b2, nb2, HN_ORIGIN_MEMPOOL,
						  &res), HN_EINVAL);
	/* compare_bytes */
	assert_int_equal(hn_nodesvc_compare_bytes_with_local_vertex(l, t1, nt1,
								    &eq), 0);
	assert_true(eq);
	assert_int_equal(hn_nodesvc_compare_bytes_with_local_vertex(l, b2, nb2,
								    &eq),
			 HN_ENOENT);
	/* Batch form. */
	{
		struct hn_buf vs[2] = { { b2, nb2 }, { t1, nt1 } };
		struct hn_ledger_result r2[3];
		size_t done;
		uint8_t junk[3] = { 1, 2, 3 };
		struct hn_buf bad[3] = { { t1, nt1 }, { junk, 3 }, { t2, nt2 } };

		assert_int_equal(hn_nodesvc_on_new_vertices(l, vs, 2,
			HN_ORIGIN_BLOCK, r2, &done), 1);
		assert_int_equal(done, 2);
		assert_true(r2[0].stored);
		assert_false(r2[1].stored);
		/* Stops at the first invalid vertex. */
		assert_int_equal(hn_nodesvc_on_new_vertices(l, bad, 3,
			HN_ORIGIN_BLOCK, r2, &done), 0);
		assert_int_equal(done, 2);
		assert_int_equal(r2[1].code, HN_EPARSE);
	}
	/* Batch lookup with first block heights. */
	{
		uint8_t hs[3][32];
		struct hn_nodesvc_vinfo vi[3];

		memcpy(hs[0], ht1, 32);
		memcpy(hs[1], hb2, 32);
		memset(hs[2], 0x42, 32);
		assert_int_equal(hn_nodesvc_get_vertices(l,
			(const uint8_t (*)[32])hs, 3, vi), 0);
		assert_true(vi[0].found && !vi[0].is_block);
		assert_int_equal(vi[0].height, -1);
		assert_true(vi[0].has_first_block);
		assert_memory_equal(vi[0].first_block, hb, 32);
		/* 11 chain blocks, so hb is at height 12 and b2 at 13. */
		assert_int_equal(vi[0].first_block_height, 12);
		assert_int_equal(vi[0].len, nt1);
		assert_true(vi[1].found && vi[1].is_block);
		assert_int_equal(vi[1].height, 13);
		assert_int_equal(vi[1].first_block_height, -1);
		assert_false(vi[2].found);
		hn_nodesvc_vinfo_release(vi, 3);
	}
	assert_int_equal(tc_best_height(&tc), 13);
	/* verify_basic */
	assert_int_equal(hn_nodesvc_verify_basic(l, t1, nt1, NULL), 0);
	assert_int_equal(hn_nodesvc_verify_basic(l, t1, nt1 - 1, NULL),
			 HN_EPARSE);
	free(bb);
	free(b2);
	free(t1);
	free(t2);
	tc_check(&tc);
	tc_close(&tc, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reads),
		cmocka_unit_test(test_intake),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
