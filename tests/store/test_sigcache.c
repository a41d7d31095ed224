/*
 * test_sigcache.c: the signature pre-verifier (core/sigcache.h) with a real
 * ledger (sqlite in a temp dir) and real signed transactions.
 *
 *  - hn_ledger_prefetch() of a batch checks its P2PKH signatures on the
 *    worker thread and remembers only those that verify: two good
 *    transactions and one whose signature was altered give 3 checks and
 *    2 remembered triples;
 *  - the adds that follow take the remembered triples (OP_CHECKSIG does
 *    not check them again) and store the good transactions; the bad one
 *    is checked on the loop thread and refused with the same result and
 *    message as in a ledger that never prefetched;
 *  - a triple is taken once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "chain.h"
#include "nodesvc.h"
#include "sigcache.h"

#include "hn/err.h"
#include "hn/network.h"
#include "hn/vertex.h"

#define GEN_VALUE 100000000000ULL       /* genesis output, 10^11 */

static uint32_t t0(const struct tchain *tc)
{
	return tc->net->genesis_block.timestamp + 30;
}

/* Flips a bit inside the DER signature of input 0 (its first push) and
 * solves the PoW again: the transaction decodes, its signature fails. */
static void break_signature(uint8_t **bytes, size_t *len, uint8_t hash[32])
{
	struct hn_vertex *v = NULL;

	assert_int_equal(hn_vertex_decode(*bytes, *len, &v, NULL, 0), 0);
	free(*bytes);
	assert_true(v->n_inputs >= 1 && v->inputs[0].data_len > 40);
	v->inputs[0].data[30] ^= 0x01;
	tc_finish(v, bytes, len, hash);
}

static void wait_checked(uint64_t want)
{
	struct hn_sigcache_stats s;

	for (int i = 0; i < 2000; i++) {
		hn_sigcache_stats(&s);
		if (s.checked >= want)
			return;
		usleep(5000);
	}
	fail_msg("worker checked %llu signatures, expected %llu",
		 (unsigned long long)s.checked, (unsigned long long)want);
}

static void test_prefetch_batch(void **state)
{
	struct tchain tc, ref;
	struct hn_sigcache_stats s0, s1, s2;
	struct hn_ledger_result r, rr;
	struct hn_buf bufs[3];
	uint8_t *b[3], h[3][32], top[32];
	size_t n[3];
	uint64_t v0 = GEN_VALUE, v1 = GEN_VALUE, v2 = GEN_VALUE;
	struct tc_in in;

	(void)state;
	tc_open(&tc);
	tc_chain(&tc, tc_gblock(&tc), t0(&tc), 12, 2.0, 1, top, NULL);
	/* T0 spends the genesis output, T1 spends T0, T2 (bad) spends T1. */
	in.tx = tc_gblock(&tc);
	in.index = 0;
	tc_make_tx(&tc, &in, 1, &v0, 1, tc_gtx1(&tc), tc_gtx2(&tc),
		   t0(&tc) + 400, 2.0, &b[0], &n[0], h[0]);
	in.tx = h[0];
	tc_make_tx(&tc, &in, 1, &v1, 1, h[0], tc_gtx2(&tc), t0(&tc) + 401,
		   2.0, &b[1], &n[1], h[1]);
	in.tx = h[1];
	tc_make_tx(&tc, &in, 1, &v2, 1, h[1], h[0], t0(&tc) + 402, 2.0,
		   &b[2], &n[2], h[2]);
	break_signature(&b[2], &n[2], h[2]);
	for (int i = 0; i < 3; i++) {
		bufs[i].data = b[i];
		bufs[i].len = n[i];
	}

	hn_sigcache_stats(&s0);
	assert_true(hn_ledger_prefetch(tc.l, bufs, 3) > 0);
	wait_checked(s0.checked + 3);
	hn_sigcache_stats(&s1);
	assert_int_equal(s1.added - s0.added, 2);

	assert_int_equal(hn_ledger_add_vertex(tc.l, b[0], n[0], 0, &r), 0);
	assert_true(r.stored);
	assert_int_equal(hn_ledger_add_vertex(tc.l, b[1], n[1], 0, &r), 0);
	assert_true(r.stored);
	hn_sigcache_stats(&s2);
	assert_int_equal(s2.hits - s1.hits, 2);
	assert_int_equal(s2.misses - s1.misses, 0);
	assert_int_equal(hn_ledger_add_vertex(tc.l, b[2], n[2], 0, &r),
			 HN_ECONSENSUS);
	assert_false(r.stored);
	hn_sigcache_stats(&s1);
	assert_int_equal(s1.misses - s2.misses, 1);
	assert_int_equal(s1.hits - s2.hits, 0);
	assert_true(tc_exists(&tc, h[0]) && tc_exists(&tc, h[1]));
	assert_false(tc_exists(&tc, h[2]));
	tc_check(&tc);

	/* The same bad transaction in a ledger that never prefetched: the
	 * same refusal. */
	tc_open(&ref);
	tc_chain(&ref, tc_gblock(&ref), t0(&ref), 12, 2.0, 1, top, NULL);
	assert_int_equal(hn_ledger_add_vertex(ref.l, b[0], n[0], 0, &rr), 0);
	assert_int_equal(hn_ledger_add_vertex(ref.l, b[1], n[1], 0, &rr), 0);
	assert_int_equal(hn_ledger_add_vertex(ref.l, b[2], n[2], 0, &rr),
			 HN_ECONSENSUS);
	assert_int_equal(rr.verr_code, r.verr_code);
	assert_string_equal(rr.msg, r.msg);
	tc_close(&ref, false);

	/* Taken once: adding T0's signature check again finds nothing. */
	{
		struct hn_vertex *v = NULL;
		uint8_t sh[32];
		const uint8_t *d;

		assert_int_equal(hn_vertex_decode(b[0], n[0], &v, NULL, 0), 0);
		assert_int_equal(hn_vertex_sighash_data(v, sh), 0);
		d = v->inputs[0].data;
		assert_false(hn_sigcache_take(d + 1 + d[0] + 1, 33, d + 1, d[0],
					      sh, 32));
		hn_vertex_free(v);
	}
	for (int i = 0; i < 3; i++)
		free(b[i]);
	tc_close(&tc, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_prefetch_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
