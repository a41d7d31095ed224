/*
 * test_crash.c: a child process adds vertices to a real database (single
 * commits, batches, forks that cause reorgs, transactions) and reports
 * each committed hash on a pipe; the parent kills it with SIGKILL at a
 * random moment, then reopens the database and checks it: integrity_check
 * ok, our index invariants hold, every reported vertex is there, and the
 * node resumes where it stopped.  Several rounds on the same file.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "chain.h"
#include "hn/err.h"
#include "hn/log.h"
#include "hn/network.h"
#include "hn/vertex.h"

#define ROUNDS 8

static void write_all(int fd, const void *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			_exit(3);
		p = (const uint8_t *)p + w;
		n -= (size_t)w;
	}
}

/* The writer: never returns. */
static void child(struct tchain *tc, int fd, unsigned seed)
{
	uint8_t best[32], prev[32], h[32], pend[64][32];
	unsigned salt = seed & 0xff, n = 0;
	uint32_t ts;

	srandom(seed);
	tc_reopen(tc);
	tc_best(tc, best);
	{
		uint64_t latest;

		assert_int_equal(hn_nodesvc_get_latest_timestamp(tc->l,
								 &latest), 0);
		ts = (uint32_t)latest + 30;
	}
	memcpy(prev, best, 32);
	for (;;) {
		unsigned mode = (unsigned)random() % 10;

		if (mode < 6) {
			/* one block, one commit */
			tc_add_block(tc, best, NULL, ts, 2.0, (uint8_t)salt, 0,
				     h);
			write_all(fd, h, 32);
			memcpy(prev, best, 32);
			memcpy(best, h, 32);
		} else if (mode < 8) {
			/* a batch of blocks, reported after its commit */
			unsigned k = 1 + (unsigned)random() % 64;

			assert_int_equal(hn_ledger_batch_begin(tc->l), 0);
			for (unsigned i = 0; i < k; i++) {
				tc_add_block(tc, best, NULL, ts + 30 * i, 2.0,
					     (uint8_t)salt, 0, pend[i]);
				memcpy(prev, best, 32);
				memcpy(best, pend[i], 32);
			}
			assert_int_equal(hn_ledger_batch_end(tc->l), 0);
			for (unsigned i = 0; i < k; i++)
				write_all(fd, pend[i], 32);
			ts += 30 * k;
		} else if (mode < 9) {
			/* a competing block on the previous one: side chain
			 * or reorg by tie breaker */
			tc_add_block(tc, prev, NULL, ts + 1, 2.0,
				     (uint8_t)(salt + 1 + n), 0, h);
			write_all(fd, h, 32);
			tc_best(tc, best);
		} else if (tc_best_height(tc) > 11) {
			/* a transaction spending an unlocked block reward
			 * (spent twice now and then: a conflict) */
			uint8_t txp[2][32], rb[32];
			uint64_t bh = tc_best_height(tc) - 11, val;
			struct hn_ledger_vertex lv;
			struct hn_vertex *bv = NULL;
			struct tc_in in = { rb, 0 };
			char msg[80];

			bh -= (uint64_t)random() % bh;
			assert_int_equal(hn_ledger_block_at_height(tc->l, bh,
								   rb), 0);
			assert_int_equal(hn_ledger_get(tc->l, rb, 0, &lv), 0);
			assert_int_equal(hn_vertex_decode(lv.bytes, lv.len, &bv,
							  msg, sizeof(msg)), 0);
			val = bv->outputs[0].value;
			hn_vertex_free(bv);
			hn_ledger_vertex_release(&lv);
			assert_int_equal(hn_ledger_tx_parents(tc->l, txp), 0);
			tc_add_tx(tc, &in, 1, &val, 1, txp[0], txp[1], ts + 2,
				  2.0, 0, h);
			write_all(fd, h, 32);
		} else {
			tc_add_block(tc, best, NULL, ts, 2.0, (uint8_t)salt, 0,
				     h);
			memcpy(prev, best, 32);
			memcpy(best, h, 32);
			write_all(fd, h, 32);
		}
		ts += 30;
		n++;
	}
}

static void test_kill9(void **state)
{
	struct tchain tc;
	uint8_t (*seen)[32] = NULL;
	size_t n_seen = 0, cap = 0;
	uint64_t height_before = 0;

	tc_open(&tc);
	srandom((unsigned)time(NULL) ^ (unsigned)getpid());
	for (int round = 0; round < ROUNDS; round++) {
		int p[2];
		pid_t pid;
		struct timespec t0, now;
		long budget_ms = 30 + random() % 400;
		int status;

		/* The parent must not hold the database across fork(). */
		hn_ledger_close(tc.l);
		tc.l = NULL;
		assert_int_equal(pipe(p), 0);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(p[0]);
			child(&tc, p[1], (unsigned)random());
			_exit(0);
		}
		close(p[1]);
		fcntl(p[0], F_SETFL, O_NONBLOCK);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (;;) {
			struct pollfd pfd = { p[0], POLLIN, 0 };
			uint8_t buf[32 * 64];
			ssize_t r;
			long el;

			clock_gettime(CLOCK_MONOTONIC, &now);
			el = (now.tv_sec - t0.tv_sec) * 1000 +
			     (now.tv_nsec - t0.tv_nsec) / 1000000;
			if (el >= budget_ms)
				break;
			poll(&pfd, 1, (int)(budget_ms - el));
			while ((r = read(p[0], buf, sizeof(buf))) > 0) {
				/* Hashes arrive whole: 32-byte writes into
				 * a pipe are atomic. */
				for (ssize_t i = 0; i + 32 <= r; i += 32) {
					if (n_seen == cap) {
						cap = cap ? cap * 2 : 1024;
						seen = realloc(seen, cap * 32);
					}
					memcpy(seen[n_seen++], buf + i, 32);
				}
			}
		}
		kill(pid, SIGKILL);
		assert_int_equal(waitpid(pid, &status, 0), pid);
		assert_true(WIFSIGNALED(status));
		/* Drain what was reported before the kill. */
		{
			uint8_t buf[32 * 64];
			ssize_t r;

			while ((r = read(p[0], buf, sizeof(buf))) > 0) {
				for (ssize_t i = 0; i + 32 <= r; i += 32) {
					if (n_seen == cap) {
						cap = cap ? cap * 2 : 1024;
						seen = realloc(seen, cap * 32);
					}
					memcpy(seen[n_seen++], buf + i, 32);
				}
			}
		}
		close(p[0]);

		/* Reopen: consistent, with every reported vertex. */
		tc_reopen(&tc);
		tc_check(&tc);
		for (size_t i = 0; i < n_seen; i++)
			if (!tc_exists(&tc, seen[i]))
				fail_msg("round %d: committed vertex %s lost",
					 round, tc_hex(seen[i]));
		assert_true(tc_best_height(&tc) >= height_before);
		height_before = tc_best_height(&tc);
		hn_info("test", "round %d: killed after %ld ms, %zu vertices "
			"reported, best height %llu", round, budget_ms, n_seen,
			(unsigned long long)height_before);
	}
	assert_true(n_seen > 0);
	/* The node resumes: it can extend its best chain. */
	{
		uint8_t best[32], h[32];

		tc_best(&tc, best);
		tc_add_block(&tc, best, NULL, tc_ts(&tc, best) + 30, 2.0, 0x55,
			     0, h);
		assert_int_equal(tc_best_height(&tc), height_before + 1);
	}
	free(seen);
	tc_close(&tc, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kill9),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
