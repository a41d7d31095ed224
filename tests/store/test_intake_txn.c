/*
 * test_intake_txn.c: the sliced intake's one transaction per batch
 * (core/intake.c, hn_ledger_batch_pause), on a real ledger (sqlite in a
 * temp dir) with a second, read-only connection to the same file showing
 * what is committed.  A 1 us budget makes every slice one vertex.
 *
 *  - between slices the ledger's own connection sees the vertices stored
 *    so far, the other connection none of them: the batch is committed
 *    once, when it ends, and then the other connection sees all of it;
 *  - a write from elsewhere between slices (a block added with
 *    hn_ledger_add_vertex, as an HTTP submit would) first commits what
 *    the batch stored; the batch then goes on in a new transaction and
 *    every vertex ends up stored once;
 *  - when that commit fails, the outside write is refused, the batch ends
 *    at its next slice with HN_EIO from its first vertex and nothing of it
 *    stored, on either connection; sending the batch again stores it.
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
#include "intake.h"
#include "store.h"

#include "hn/err.h"
#include "hn/network.h"

#define NBLK 30

struct blocks {
	struct tc_blocks tb;
	struct hn_buf v[NBLK];
};

static void make_blocks(struct blocks *b)
{
	tc_blocks_make(&b->tb, NBLK);
	for (size_t i = 0; i < NBLK; i++) {
		b->v[i].data = b->tb.bytes[i];
		b->v[i].len = b->tb.len[i];
	}
}

/* Blocks committed, as another connection sees them. */
static uint64_t committed_blocks(const struct tchain *tc)
{
	struct hn_store_opts so = { 0 };
	struct hn_error err = { 0 };
	struct hn_store *ro;
	uint64_t nb = 0, nt = 0;

	so.path = tc->db;
	so.net = tc->net;
	so.flags = HN_STORE_READONLY;
	if (hn_store_open(&so, &ro, &err) < 0)
		fail_msg("read-only open: %s", err.msg);
	assert_int_equal(hn_store_counts(ro, &nb, &nt), 0);
	hn_store_close(ro);
	return nb - 1;          /* without the genesis block */
}

static void batch_init(struct hn_intake_batch *b, const struct blocks *bl,
		       struct hn_ledger_result *res)
{
	memset(b, 0, sizeof(*b));
	memset(res, 0, NBLK * sizeof(*res));
	b->v = bl->v;
	b->res = res;
	b->n = NBLK;
	b->origin = HN_ORIGIN_BLOCK;
}

static void test_one_commit_per_batch(void **state)
{
	struct hn_ledger_result res[NBLK];
	struct hn_intake_batch b;
	struct blocks bl;
	struct tchain tc;
	unsigned slices = 0;

	(void)state;
	make_blocks(&bl);
	tc_open(&tc);
	batch_init(&b, &bl, res);
	while (!b.finished) {
		hn_intake_slice(tc.l, &b, 1, 0, NULL);
		slices++;
		if (b.finished)
			break;
		assert_true(tc_exists(&tc, bl.tb.hash[b.next - 1]));
		assert_false(tc_exists(&tc, bl.tb.hash[b.next]));
		assert_int_equal(committed_blocks(&tc), 0);
	}
	assert_int_equal(slices, NBLK);
	assert_int_equal(b.rc, 0);
	assert_int_equal(b.next, NBLK);
	for (size_t i = 0; i < NBLK; i++)
		assert_true(res[i].stored);
	assert_int_equal(committed_blocks(&tc), NBLK);
	assert_int_equal(tc_best_height(&tc), NBLK);
	tc_check(&tc);
	tc_close(&tc, false);
	tc_blocks_free(&bl.tb);
}

/* Ten slices of the batch, nothing committed yet, and a block beside
 * the batch's chain (on the genesis, 10 s after the batch's first block)
 * for an outside write. */
static void ten_slices_and_side(struct tchain *tc, struct blocks *bl,
				struct hn_intake_batch *b,
				struct hn_ledger_result *res, uint8_t **side,
				size_t *sl)
{
	uint8_t sh[32];

	make_blocks(bl);
	tc_open(tc);
	tc_make_block(tc, tc_gblock(tc), NULL,
		      tc->net->genesis_block.timestamp + 40, 2.0, 9, side, sl,
		      sh);
	batch_init(b, bl, res);
	for (int i = 0; i < 10; i++)
		hn_intake_slice(tc->l, b, 1, 0, NULL);
	assert_int_equal(b->next, 10);
	assert_int_equal(committed_blocks(tc), 0);
}

static void test_outside_write_commits_first(void **state)
{
	struct hn_ledger_result res[NBLK], r;
	struct hn_intake_batch b;
	struct blocks bl;
	struct tchain tc;
	uint8_t *side;
	size_t sl;

	(void)state;
	ten_slices_and_side(&tc, &bl, &b, res, &side, &sl);
	assert_int_equal(hn_ledger_add_vertex(tc.l, side, sl, 0, &r), 0);
	assert_true(r.stored);
	/* The ten and the side block are committed. */
	assert_int_equal(committed_blocks(&tc), 11);
	while (!b.finished)
		hn_intake_slice(tc.l, &b, 1, 0, NULL);
	assert_int_equal(b.rc, 0);
	assert_int_equal(b.next, NBLK);
	for (size_t i = 0; i < NBLK; i++)
		assert_true(res[i].stored);
	assert_int_equal(committed_blocks(&tc), NBLK + 1);
	assert_int_equal(tc_best_height(&tc), NBLK);
	tc_check(&tc);
	free(side);
	tc_close(&tc, false);
	tc_blocks_free(&bl.tb);
}

static void test_failed_commit_loses_the_batch(void **state)
{
	struct hn_ledger_result res[NBLK], r;
	struct hn_intake_batch b;
	struct blocks bl;
	struct tchain tc;
	uint8_t *side;
	size_t sl;

	(void)state;
	ten_slices_and_side(&tc, &bl, &b, res, &side, &sl);
	/* The next write statement is the COMMIT of the paused batch. */
	hn_store_inject_failure(hn_ledger_store(tc.l), 1);
	assert_int_equal(hn_ledger_add_vertex(tc.l, side, sl, 0, &r), HN_EIO);
	assert_false(r.stored);
	hn_store_inject_failure(hn_ledger_store(tc.l), 0);
	hn_intake_slice(tc.l, &b, 1, 0, NULL);
	assert_true(b.finished);
	assert_int_equal(b.rc, HN_EIO);
	assert_int_equal(b.fail_at, 0);
	assert_int_equal(b.next, 10);
	for (size_t i = 0; i < NBLK; i++) {
		assert_false(res[i].stored);
		assert_false(tc_exists(&tc, bl.tb.hash[i]));
	}
	assert_int_equal(committed_blocks(&tc), 0);
	assert_int_equal(tc_best_height(&tc), 0);
	tc_check(&tc);
	/* Sent again, it is stored. */
	batch_init(&b, &bl, res);
	while (!b.finished)
		hn_intake_slice(tc.l, &b, 1, 0, NULL);
	assert_int_equal(b.rc, 0);
	assert_int_equal(committed_blocks(&tc), NBLK);
	tc_check(&tc);
	free(side);
	tc_close(&tc, false);
	tc_blocks_free(&bl.tb);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_commit_per_batch),
		cmocka_unit_test(test_outside_write_commits_first),
		cmocka_unit_test(test_failed_commit_loses_the_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
