/*
 * test_store.c: opening and refusing databases, genesis, vertex rows and
 * indexes (height, tips, timestamp order), reopen, events, rejections
 * leaving the store unchanged.
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
#include "hn/err.h"
#include "hn/network.h"
#include "hn/vertex.h"

static void test_create_and_genesis(void **state)
{
	struct tchain tc;
	struct hn_hash_list tips = { 0 };
	uint64_t nb = 0, nt = 0;
	uint8_t h[32];

	tc_open(&tc);
	assert_int_equal(tc_best_height(&tc), 0);
	tc_best(&tc, h);
	assert_memory_equal(h, tc_gblock(&tc), 32);
	assert_int_equal(hn_ledger_counts(tc.l, &nb, &nt), 0);
	assert_int_equal(nb, 1);
	assert_int_equal(nt, 2);
	/* The genesis txs are the mempool (no block confirms them yet). */
	assert_int_equal(hn_store_mempool_tips(hn_ledger_store(tc.l), &tips),
			 0);
	assert_int_equal(tips.n, 2);
	hn_hash_list_release(&tips);
	assert_true(tc_in_mempool(&tc, tc_gtx1(&tc)));
	tc_check(&tc);
	/* Adding a genesis again is a no-op error. */
	{
		struct hn_ledger_result r;

		assert_int_equal(hn_ledger_add_vertex(tc.l,
			tc.net->genesis_tx1.bytes, tc.net->genesis_tx1.len, 0,
			&r), HN_EEXIST);
	}
	tc_close(&tc, false);
}

/* --sqlite-sync: the connection runs with the mode it was opened with. */
static void test_sync_mode(void **state)
{
	struct tchain tc;
	uint8_t top[32];

	tc_open(&tc);
	assert_int_equal(hn_store_synchronous(hn_ledger_store(tc.l)), 1);
	tc.sync = HN_STORE_SYNC_FULL;
	tc_reopen(&tc);
	assert_int_equal(hn_store_synchronous(hn_ledger_store(tc.l)), 2);
	tc_chain(&tc, tc_gblock(&tc), tc.net->genesis_block.timestamp + 30,
		 3, 2.0, 1, top, NULL);
	assert_int_equal(tc_best_height(&tc), 3);
	tc.sync = HN_STORE_SYNC_NORMAL;
	tc_reopen(&tc);
	assert_int_equal(hn_store_synchronous(hn_ledger_store(tc.l)), 1);
	assert_int_equal(tc_best_height(&tc), 3);
	tc_check(&tc);
	tc_close(&tc, false);
}

static void test_refuse_foreign(void **state)
{
	struct tchain tc;
	struct hn_ledger_opts o = { 0 };
	struct hn_error err = { 0 };
	struct hn_ledger *l = NULL;
	char path[700];
	sqlite3 *db;
	FILE *f;

	tc_open(&tc);
	tc_close(&tc, true);
	o.net = tc.net;

	/* Another network's database. */
	assert_int_equal(sqlite3_open(tc.db, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE meta SET value = 'mainnet'"
				      " WHERE key = 'network'", NULL, NULL,
				      NULL), SQLITE_OK);
	sqlite3_close(db);
	o.db_path = tc.db;
	assert_int_equal(hn_ledger_open(&o, &l, &err), HN_EINVAL);
	assert_non_null(strstr(err.msg, "belongs to network 'mainnet'"));
	assert_null(l);

	/* An unknown schema version. */
	assert_int_equal(sqlite3_open(tc.db, &db), SQLITE_OK);
	sqlite3_exec(db, "UPDATE meta SET value = 'unittests' WHERE key = "
		     "'network'; UPDATE meta SET value = '99' WHERE key = "
		     "'schema_version'", NULL, NULL, NULL);
	sqlite3_close(db);
	assert_int_equal(hn_ledger_open(&o, &l, &err), HN_EUNSUPPORTED);
	assert_non_null(strstr(err.msg, "schema version 99"));

	/* Not sqlite at all: refused and left alone. */
	snprintf(path, sizeof(path), "%s/junk.db", tc.dir);
	f = fopen(path, "w");
	fputs("this is not a database, keep me\n", f);
	fclose(f);
	o.db_path = path;
	o.create = true;
	assert_int_equal(hn_ledger_open(&o, &l, &err), HN_EINVAL);
	assert_non_null(strstr(err.msg, "not an sqlite database"));
	f = fopen(path, "r");
	{
		char line[64] = "";

		assert_non_null(fgets(line, sizeof(line), f));
		assert_string_equal(line, "this is not a database, keep me\n");
	}
	fclose(f);
	unlink(path);

	/* A foreign sqlite database (no meta). */
	snprintf(path, sizeof(path), "%s/other.db", tc.dir);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	sqlite3_exec(db, "CREATE TABLE x (a)", NULL, NULL, NULL);
	sqlite3_close(db);
	assert_int_equal(hn_ledger_open(&o, &l, &err), HN_EINVAL);
	assert_non_null(strstr(err.msg, "not a hathor-node database"));
	unlink(path);

	/* Missing file without create. */
	snprintf(path, sizeof(path), "%s/missing.db", tc.dir);
	o.create = false;
	assert_int_equal(hn_ledger_open(&o, &l, &err), HN_ENOENT);
	assert_int_equal(access(path, F_OK), -1);

	/* Restore the right meta and clean up. */
	assert_int_equal(sqlite3_open(tc.db, &db), SQLITE_OK);
	sqlite3_exec(db, "UPDATE meta SET value = '1' WHERE key = "
		     "'schema_version'", NULL, NULL, NULL);
	sqlite3_close(db);
	tc_reopen(&tc);
	tc_check(&tc);
	tc_close(&tc, false);
}

static void test_blocks_and_indexes(void **state)
{
	struct tchain tc;
	struct hn_store *st;
	uint8_t all[20][32], top[32], h[32];
	uint32_t t0;
	struct hn_hash_list l = { 0 };
	bool has_next;
	uint64_t nts, noff;

	tc_open(&tc);
	st = hn_ledger_store(tc.l);
	t0 = tc.net->genesis_block.timestamp + 30;
	tc_chain(&tc, tc_gblock(&tc), t0, 20, 2.0, 0, top, all);
	assert_int_equal(tc_best_height(&tc), 20);
	tc_best(&tc, h);
	assert_memory_equal(h, top, 32);
	for (unsigned i = 0; i < 20; i++) {
		assert_int_equal(hn_store_height_get(st, i + 1, h), 0);
		assert_memory_equal(h, all[i], 32);
		assert_false(tc_voided(&tc, all[i]));
	}
	assert_int_equal(hn_store_height_get(st, 21, h), HN_ENOENT);
	/* Block 1 is the first block of both genesis txs. */
	assert_true(tc_has_first_block(&tc, tc_gtx1(&tc), all[0]));
	assert_true(tc_has_first_block(&tc, tc_gtx2(&tc), all[0]));
	assert_false(tc_in_mempool(&tc, tc_gtx1(&tc)));
	{
		struct hn_hash_list tips = { 0 };

		assert_int_equal(hn_store_mempool_tips(st, &tips), 0);
		assert_int_equal(tips.n, 0);
	}

	/* Timestamp order: genesis block, tx1, tx2, blocks. */
	assert_int_equal(hn_store_range(st, 0, 0, 5, &l, &has_next, &nts,
					&noff), 0);
	assert_int_equal(l.n, 5);
	assert_memory_equal(l.h[0], tc_gblock(&tc), 32);
	assert_memory_equal(l.h[1], tc_gtx1(&tc), 32);
	assert_memory_equal(l.h[3], all[0], 32);
	assert_true(has_next);
	assert_int_equal(nts, t0 + 30);
	assert_int_equal(noff, 1);
	hn_hash_list_release(&l);
	/* Resume from the returned index. */
	assert_int_equal(hn_store_range(st, nts, noff, 100, &l, &has_next,
					&nts, &noff), 0);
	assert_int_equal(l.n, 18);
	assert_memory_equal(l.h[0], all[2], 32);
	assert_false(has_next);
	hn_hash_list_release(&l);

	/* Block tips: only the top; merkle over all tips at the end. */
	{
		struct hn_tip_interval *t = NULL;
		size_t n = 0;

		assert_int_equal(hn_store_tips(st, HN_TIPS_BLOCK, UINT64_MAX,
					       &t, &n), 0);
		assert_int_equal(n, 1);
		assert_memory_equal(t[0].hash, top, 32);
		assert_int_equal(t[0].end, UINT64_MAX);
		free(t);
		/* At block 5's time, block 5 was the block tip. */
		assert_int_equal(hn_store_tips(st, HN_TIPS_BLOCK, t0 + 4 * 30,
					       &t, &n), 0);
		assert_int_equal(n, 1);
		assert_memory_equal(t[0].hash, all[4], 32);
		assert_int_equal(t[0].begin, t0 + 4 * 30);
		assert_int_equal(t[0].end, t0 + 5 * 30);
		free(t);
		/* Tx tips: the genesis txs, never closed (no tx child). */
		assert_int_equal(hn_store_tips(st, HN_TIPS_TX, UINT64_MAX, &t,
					       &n), 0);
		assert_int_equal(n, 2);
		free(t);
	}
	/* Newest blocks first. */
	{
		bool more;

		assert_int_equal(hn_ledger_newest(tc.l, true, 0, NULL, 3, &l,
						  &more), 0);
		assert_int_equal(l.n, 3);
		assert_memory_equal(l.h[0], top, 32);
		assert_memory_equal(l.h[2], all[17], 32);
		assert_true(more);
		hn_hash_list_release(&l);
		assert_int_equal(hn_ledger_newest(tc.l, true, t0 + 30,
						  all[1], 10, &l, &more), 0);
		assert_int_equal(l.n, 2);      /* all[0] and genesis */
		assert_false(more);
		hn_hash_list_release(&l);
	}
	tc_check(&tc);

	/* Restart keeps everything. */
	tc_reopen(&tc);
	assert_int_equal(tc_best_height(&tc), 20);
	tc_best(&tc, h);
	assert_memory_equal(h, top, 32);
	tc_check(&tc);
	/* And the chain grows on. */
	tc_add_block(&tc, top, NULL, t0 + 20 * 30, 2.0, 0, 0, h);
	assert_int_equal(tc_best_height(&tc), 21);
	tc_close(&tc, false);
}

static void test_rejections(void **state)
{
	struct tchain tc;
	struct hn_ledger_result r;
	uint8_t *b, h[32], unknown[32];
	size_t n;
	uint64_t nb0, nt0, nb, nt;
	uint32_t t0;

	tc_open(&tc);
	t0 = tc.net->genesis_block.timestamp + 30;
	hn_ledger_counts(tc.l, &nb0, &nt0);

	/* Garbage bytes. */
	assert_int_equal(hn_ledger_add_vertex(tc.l, (const uint8_t *)"\x00\x00",
					      2, 0, &r), HN_EPARSE);
	assert_true(strlen(r.msg) > 0);
	/* Unknown parent. */
	memset(unknown, 0x5a, 32);
	tc_make_block(&tc, unknown, NULL, t0, 2.0, 0, &b, &n, h);
	assert_int_equal(hn_ledger_add_vertex(tc.l, b, n, 0, &r), HN_ENOENT);
	assert_non_null(strstr(r.msg, "unknown"));
	free(b);
	/* Bad PoW: break the nonce until the hash misses the target. */
	{
		struct hn_vertex *v;

		tc_make_block(&tc, tc_gblock(&tc), NULL, t0, 2.0, 0, &b, &n, h);
		assert_int_equal(hn_vertex_decode(b, n, &v, NULL, 0), 0);
		free(b);
		do {
			v->nonce_lo++;
			hn_vertex_update_hash(v);
		} while (hn_vertex_pow_ok(v));
		assert_int_equal(hn_vertex_encode(v, &b, &n), 0);
		hn_vertex_free(v);
		assert_int_equal(hn_ledger_add_vertex(tc.l, b, n, 0, &r),
				 HN_ECONSENSUS);
		free(b);
	}
	/* A timestamp too far in the future. */
	tc_make_block(&tc, tc_gblock(&tc), NULL, (uint32_t)tc.now + 1000, 2.0,
		      0, &b, &n, h);
	assert_int_equal(hn_ledger_add_vertex(tc.l, b, n, 0, &r),
			 HN_ECONSENSUS);
	assert_non_null(strstr(r.msg, "future"));
	free(b);
	/* A block older than its parent. */
	tc_make_block(&tc, tc_gblock(&tc), NULL,
		      tc.net->genesis_block.timestamp, 2.0, 0, &b, &n, h);
	assert_int_equal(hn_ledger_add_vertex(tc.l, b, n, 0, &r),
			 HN_ECONSENSUS);
	free(b);
	/* A tx spending an output that does not exist. */
	{
		struct tc_in in = { tc_gblock(&tc), 3 };
		uint64_t v = 100;

		tc_make_tx(&tc, &in, 1, &v, 1, tc_gtx1(&tc), tc_gtx2(&tc),
			   t0, 2.0, &b, &n, h);
		assert_int_equal(hn_ledger_add_vertex(tc.l, b, n, 0, &r),
				 HN_ECONSENSUS);
		assert_non_null(strstr(r.msg, "no such output"));
		free(b);
	}
	hn_ledger_counts(tc.l, &nb, &nt);
	assert_int_equal(nb, nb0);
	assert_int_equal(nt, nt0);
	tc_check(&tc);

	/* Same vertex twice: HN_EEXIST, nothing changes. */
	tc_make_block(&tc, tc_gblock(&tc), NULL, t0, 2.0, 0, &b, &n, h);
	assert_int_equal(hn_ledger_add_vertex(tc.l, b, n, 0, &r), 0);
	assert_true(r.stored);
	assert_int_equal(hn_ledger_add_vertex(tc.l, b, n, 0, &r), HN_EEXIST);
	assert_false(r.stored);
	free(b);
	tc_close(&tc, false);
}

struct evlog {
	int n;
	int accepted, best, reorg, mp_add, mp_rm, voided, published;
	uint64_t last_seq;
	bool gap;
};

static void on_event(const struct hn_ledger_event *ev, void *arg)
{
	struct evlog *e = arg;

	if (ev->seq != e->last_seq + 1)
		e->gap = true;
	e->last_seq = ev->seq;
	e->n++;
	switch (ev->type) {
	case HN_LEV_VERTEX_ACCEPTED:
		e->accepted++;
		assert_non_null(ev->bytes);
		assert_true(ev->len > 0);
		break;
	case HN_LEV_BEST_BLOCK:
		e->best++;
		break;
	case HN_LEV_REORG:
		e->reorg++;
		break;
	case HN_LEV_VOIDED:
		e->voided++;
		break;
	case HN_LEV_UNVOIDED:
		break;
	case HN_LEV_MEMPOOL_ADD:
		e->mp_add++;
		break;
	case HN_LEV_MEMPOOL_REMOVE:
		e->mp_rm++;
		break;
	case HN_LEV_PUBLISHED:
		e->published++;
		assert_string_equal(ev->key, "network:peer_connected");
		break;
	}
}

static void test_events_and_batch(void **state)
{
	struct tchain tc;
	struct evlog e = { 0 };
	uint8_t top[32], h[32], *b;
	uint32_t t0;
	size_t n;

	tc_open(&tc);
	t0 = tc.net->genesis_block.timestamp + 30;
	assert_int_equal(hn_ledger_subscribe(tc.l, on_event, &e), 0);
	tc_chain(&tc, tc_gblock(&tc), t0, 3, 2.0, 0, top, NULL);
	assert_int_equal(e.accepted, 3);
	assert_int_equal(e.best, 3);
	/* The first block confirms both genesis txs. */
	assert_int_equal(e.mp_rm, 2);
	assert_false(e.gap);

	/* A batch delivers after its commit; a rejected vertex inside it
	 * rolls back alone. */
	assert_int_equal(hn_ledger_batch_begin(tc.l), 0);
	tc_add_block(&tc, top, NULL, t0 + 90, 2.0, 0, 0, h);
	assert_int_equal(e.accepted, 3);
	tc_make_block(&tc, tc_gblock(&tc), NULL, t0 - 31, 2.0, 0, &b, &n, top);
	assert_true(hn_ledger_add_vertex(tc.l, b, n, 0, NULL) < 0);
	free(b);
	tc_add_block(&tc, h, NULL, t0 + 120, 2.0, 0, 0, top);
	assert_int_equal(e.accepted, 3);
	assert_int_equal(hn_ledger_batch_end(tc.l), 0);
	assert_int_equal(e.accepted, 5);
	assert_int_equal(tc_best_height(&tc), 5);
	assert_false(e.gap);

	assert_int_equal(hn_nodesvc_publish(tc.l, "network:peer_connected",
					    "{\"peer\":\"x\"}"), 0);
	assert_int_equal(e.published, 1);
	hn_ledger_unsubscribe(tc.l, on_event, &e);
	tc_add_block(&tc, top, NULL, t0 + 150, 2.0, 0, 0, h);
	assert_int_equal(e.accepted, 5);
	/* Events still got numbers (accepted + best block), unseen here. */
	assert_int_equal(hn_ledger_event_seq(tc.l), e.last_seq + 2);
	tc_check(&tc);
	tc_close(&tc, false);
}

/* Every write of an accept can fail: the store must roll back to exactly
 * the state before, and the ledger must keep working. */
static void test_failure_rollback(void **state)
{
	struct tchain tc;
	struct hn_store *st;
	uint8_t a[4][32], top[32], *b, h[32], before[32], after[32];
	size_t n;
	uint64_t nb0, nt0, nb, nt;
	uint32_t t0;
	int failures = 0;

	tc_open(&tc);
	st = hn_ledger_store(tc.l);
	t0 = tc.net->genesis_block.timestamp + 30;
	/* Main chain: 4 blocks of work 8 (score 4 + 8 + 32 = 44 with the
	 * genesis txs); a side chain from a[0] with blocks of work 5 loses
	 * at 4 blocks (40) and wins at 5 (45): the longest write sequence,
	 * a reorg of 3 blocks. */
	tc_chain(&tc, tc_gblock(&tc), t0, 4, 3.0, 1, top, a);
	memcpy(h, a[0], 32);
	for (int i = 0; i < 4; i++)
		tc_add_block(&tc, h, NULL, t0 + 31 + 30 * i, 2.3, 2, 0, h);
	tc_best(&tc, before);
	assert_memory_equal(before, a[3], 32);
	tc_make_block(&tc, h, NULL, t0 + 31 + 30 * 4, 2.3, 2, &b, &n, top);
	hn_ledger_counts(tc.l, &nb0, &nt0);
	tc_best(&tc, before);
	for (long k = 1; k < 1000; k++) {
		struct hn_ledger_result r;
		int rc;

		hn_store_inject_failure(st, k);
		rc = hn_ledger_add_vertex(tc.l, b, n, 0, &r);
		hn_store_inject_failure(st, 0);
		if (rc == 0)
			break;          /* k is past the last write */
		assert_int_equal(rc, HN_EIO);
		failures++;
		hn_ledger_counts(tc.l, &nb, &nt);
		assert_int_equal(nb, nb0);
		assert_int_equal(nt, nt0);
		tc_best(&tc, after);
		assert_memory_equal(after, before, 32);
		assert_false(tc_exists(&tc, top));
		assert_int_equal(hn_store_depth(st), 0);
		tc_check(&tc);
	}
	printf("%d injected failures rolled back\n", failures);
	assert_true(failures > 20);
	tc_best(&tc, after);
	assert_memory_equal(after, top, 32);
	assert_int_equal(tc_best_height(&tc), 6);
	for (int i = 1; i < 4; i++)
		assert_true(tc_voided(&tc, a[i]));
	tc_check(&tc);
	free(b);
	tc_close(&tc, false);
}

/* Every metadata field a read returns, through @a (the ledger's store,
 * cached) and @b (a read-only store on the same file: no cache). */
static void assert_same_meta(struct hn_store *a, struct hn_store *b,
			     const uint8_t h[32])
{
	struct hn_vmeta ma, mb;
	uint8_t *ba = NULL, *bb = NULL;
	size_t la = 0, lb = 0;
	int ra = hn_store_get_meta(a, h, HN_VMETA_ALL, &ma);
	int rb = hn_store_get_meta(b, h, HN_VMETA_ALL, &mb);

	assert_int_equal(ra, rb);
	if (ra < 0)
		return;
	assert_int_equal(ma.id, mb.id);
	assert_int_equal(ma.is_block, mb.is_block);
	assert_int_equal(ma.version, mb.version);
	assert_int_equal(ma.timestamp, mb.timestamp);
	assert_true(ma.weight == mb.weight);
	assert_int_equal(ma.validation, mb.validation);
	assert_int_equal(ma.height, mb.height);
	assert_int_equal(ma.min_height, mb.min_height);
	assert_true(ma.acc_work == mb.acc_work);
	assert_true(ma.score == mb.score);
	assert_int_equal(ma.has_first_block, mb.has_first_block);
	assert_memory_equal(ma.first_block, mb.first_block, 32);
	assert_true(ma.received_at == mb.received_at);
	assert_int_equal(ma.n_voided_by, mb.n_voided_by);
	if (ma.n_voided_by)
		assert_memory_equal(ma.voided_by, mb.voided_by,
				    32 * ma.n_voided_by);
	assert_int_equal(ma.n_conflict_with, mb.n_conflict_with);
	if (ma.n_conflict_with)
		assert_memory_equal(ma.conflict_with, mb.conflict_with,
				    32 * ma.n_conflict_with);
	assert_int_equal(ma.n_twins, mb.n_twins);
	assert_int_equal(ma.n_children, mb.n_children);
	assert_int_equal(ma.n_spent, mb.n_spent);
	hn_vmeta_release(&ma);
	hn_vmeta_release(&mb);
	assert_int_equal(hn_store_get_bytes(a, h, &ba, &la), 0);
	assert_int_equal(hn_store_get_bytes(b, h, &bb, &lb), 0);
	assert_int_equal(la, lb);
	assert_memory_equal(ba, bb, la);
	free(ba);
	free(bb);
}

static void assert_cache_matches_file(struct tchain *tc, uint8_t (*h)[32],
				      size_t n)
{
	struct hn_store_opts o = { 0 };
	struct hn_error err = { 0 };
	struct hn_store *ro = NULL;

	o.path = tc->db;
	o.net = tc->net;
	o.flags = HN_STORE_READONLY;
	assert_int_equal(hn_store_open(&o, &ro, &err), 0);
	for (size_t i = 0; i < n; i++)
		assert_same_meta(hn_ledger_store(tc->l), ro, h[i]);
	/* The best block (cached by the writer). */
	{
		uint8_t ba[32], bb[32];
		uint64_t ha, hb;

		assert_int_equal(hn_store_best(hn_ledger_store(tc->l), ba, &ha),
				 0);
		assert_int_equal(hn_store_best(ro, bb, &hb), 0);
		assert_memory_equal(ba, bb, 32);
		assert_int_equal(ha, hb);
	}
	hn_store_close(ro);
}

/* The store's metadata cache (core/store.c) against the file: after every
 * rolled-back attempt to store the block that makes a reorg (a failure
 * injected at each write in turn: the rollback undoes metadata updates of
 * blocks being voided, of txs losing their first block, of the new block's
 * parents), after the reorg itself, and after a rejected vertex inside a
 * batch whose other vertices are committed. */
static void test_meta_cache_rollback(void **state)
{
	struct tchain tc;
	struct hn_store *st;
	uint8_t all[16][32], top[32], *b, h[32], side[32];
	size_t n, nall = 0;
	uint32_t t0;
	int failures = 0;

	tc_open(&tc);
	st = hn_ledger_store(tc.l);
	t0 = tc.net->genesis_block.timestamp + 30;
	memcpy(all[nall++], tc_gblock(&tc), 32);
	memcpy(all[nall++], tc_gtx1(&tc), 32);
	memcpy(all[nall++], tc_gtx2(&tc), 32);
	tc_chain(&tc, tc_gblock(&tc), t0, 4, 3.0, 1, top, &all[nall]);
	nall += 4;
	memcpy(h, all[3], 32);
	for (int i = 0; i < 4; i++) {
		tc_add_block(&tc, h, NULL, t0 + 31 + 30 * i, 2.3, 2, 0, h);
		memcpy(all[nall++], h, 32);
	}
	tc_make_block(&tc, h, NULL, t0 + 31 + 30 * 4, 2.3, 2, &b, &n, side);
	memcpy(all[nall++], side, 32);
	/* Everything read once, so the cache holds every row. */
	assert_cache_matches_file(&tc, all, nall);
	for (long k = 1; k < 1000; k++) {
		struct hn_ledger_result r;
		int rc;

		hn_store_inject_failure(st, k);
		rc = hn_ledger_add_vertex(tc.l, b, n, 0, &r);
		hn_store_inject_failure(st, 0);
		if (rc == 0)
			break;
		assert_int_equal(rc, HN_EIO);
		failures++;
		assert_cache_matches_file(&tc, all, nall);
		tc_check(&tc);
	}
	assert_true(failures > 20);
	tc_best(&tc, h);
	assert_memory_equal(h, side, 32);
	assert_true(tc_voided(&tc, all[4]));
	assert_cache_matches_file(&tc, all, nall);
	free(b);

	/* A batch: a block is stored, the next vertex is rejected after
	 * writing (injected failure in its savepoint), the batch commits. */
	assert_int_equal(hn_ledger_batch_begin(tc.l), 0);
	tc_add_block(&tc, side, NULL, t0 + 31 + 30 * 5, 2.3, 2, 0, h);
	memcpy(all[nall++], h, 32);
	tc_make_block(&tc, h, NULL, t0 + 31 + 30 * 6, 2.3, 2, &b, &n, top);
	hn_store_inject_failure(st, 6);
	assert_int_equal(hn_ledger_add_vertex(tc.l, b, n, 0, NULL), HN_EIO);
	hn_store_inject_failure(st, 0);
	assert_int_equal(hn_ledger_batch_end(tc.l), 0);
	assert_false(tc_exists(&tc, top));
	assert_cache_matches_file(&tc, all, nall);
	/* Stored for real now (the rowid of the failed try is reused). */
	assert_int_equal(hn_ledger_add_vertex(tc.l, b, n, 0, NULL), 0);
	memcpy(all[nall++], top, 32);
	assert_cache_matches_file(&tc, all, nall);
	tc_check(&tc);
	free(b);
	tc_close(&tc, false);
}

/* hn_store_read_begin/end: the reads between them are one snapshot (a
 * second connection does not see a block committed meanwhile, and sees it
 * after read_end); a write inside ends the read transaction first. */
static void test_read_batch(void **state)
{
	struct hn_store_opts so = { 0 };
	struct hn_error err = { 0 };
	struct tchain tc;
	struct hn_store *ro;
	uint8_t h[32], h2[32];
	uint32_t t0;

	(void)state;
	tc_open(&tc);
	t0 = tc.net->genesis_block.timestamp + 30;
	so.path = tc.db;
	so.net = tc.net;
	so.flags = HN_STORE_READONLY;
	if (hn_store_open(&so, &ro, &err) < 0)
		fail_msg("read-only open: %s", err.msg);
	assert_int_equal(hn_store_read_begin(ro), 0);
	assert_int_equal(hn_store_exists(ro, tc_gblock(&tc)), 1);
	tc_add_block(&tc, tc_gblock(&tc), NULL, t0, 2.0, 1, 0, h);
	assert_int_equal(hn_store_exists(ro, h), 0);     /* the snapshot */
	assert_int_equal(hn_store_read_begin(ro), 0);    /* nests */
	hn_store_read_end(ro);
	assert_int_equal(hn_store_exists(ro, h), 0);
	hn_store_read_end(ro);
	assert_int_equal(hn_store_exists(ro, h), 1);
	hn_store_close(ro);

	/* On the writer: a write inside a read batch, then more reads. */
	assert_int_equal(hn_store_read_begin(hn_ledger_store(tc.l)), 0);
	assert_int_equal(hn_store_exists(hn_ledger_store(tc.l), h), 1);
	tc_add_block(&tc, h, NULL, t0 + 30, 2.0, 1, 0, h2);
	assert_int_equal(hn_store_exists(hn_ledger_store(tc.l), h2), 1);
	hn_store_read_end(hn_ledger_store(tc.l));
	assert_int_equal(tc_best_height(&tc), 2);
	tc_check(&tc);
	tc_close(&tc, false);
}

/* Vertices made once for test_batch_failure_redo. */
#define REDO_MAX 20
struct redo_set {
	size_t n;
	uint8_t *b[REDO_MAX];
	size_t len[REDO_MAX];
	uint8_t h[REDO_MAX][32];
};

static void redo_keep(struct redo_set *s, uint8_t *b, size_t n,
		      const uint8_t h[32])
{
	assert_true(s->n < REDO_MAX);
	s->b[s->n] = b;
	s->len[s->n] = n;
	memcpy(s->h[s->n], h, 32);
	s->n++;
}

/* Every vertex of @s (and the tips answers at each timestamp of the
 * chain) the same in @a and @b, rowids included. */
static void assert_same_ledgers(struct tchain *a, struct tchain *b,
				const struct redo_set *s, uint32_t t_from,
				uint32_t t_to)
{
	struct hn_store *sa = hn_ledger_store(a->l);
	struct hn_store *sb = hn_ledger_store(b->l);

	for (size_t i = 0; i < s->n; i++)
		assert_same_meta(sa, sb, s->h[i]);
	for (uint32_t t = t_from; t <= t_to; t += 7)
		for (int k = HN_TIPS_ALL; k <= HN_TIPS_TX; k++) {
			struct hn_tip_interval *ta = NULL, *tb = NULL;
			size_t na = 0, nb = 0;

			assert_int_equal(hn_store_tips(sa, k, t, &ta, &na), 0);
			assert_int_equal(hn_store_tips(sb, k, t, &tb, &nb), 0);
			assert_int_equal(na, nb);
			if (na)
				assert_memory_equal(ta, tb, na * sizeof(*ta));
			free(ta);
			free(tb);
		}
}

/* A vertex whose writes fail inside a batch (a failure injected at each
 * of its writes in turn) is undone alone: the batch has no savepoint per
 * vertex, so its transaction is rolled back and the vertices stored
 * before are stored again (core/ledger.c batch_redo).  The failed vertex
 * is then stored in the same batch, the batch goes on and commits, each
 * vertex's accepted event comes once, and the ledger equals one that
 * stored the same vertices without a failure. */
static void test_batch_failure_redo(void **state)
{
	struct tchain ref, tc;
	struct redo_set s = { 0 };
	uint8_t prev[32], h[32], t[32], txp[2][32], *b;
	struct hn_ledger_result r;
	struct tc_in in;
	uint64_t value = 100000000000ULL;       /* the genesis output */
	size_t n, fail_at;
	uint32_t t0;
	int failures = 0;

	/* Reference: 12 blocks (the genesis reward unlocks), a tx spending
	 * it, a block confirming the tx, a side block, two more blocks. */
	tc_open(&ref);
	t0 = ref.net->genesis_block.timestamp + 30;
	memcpy(prev, tc_gblock(&ref), 32);
	for (uint32_t i = 0; i < 12; i++) {
		tc_make_block(&ref, prev, NULL, t0 + 30 * i, 2.0, 1, &b, &n, h);
		assert_int_equal(hn_ledger_add_vertex(ref.l, b, n, 0, NULL), 0);
		redo_keep(&s, b, n, h);
		memcpy(prev, h, 32);
	}
	in.tx = tc_gblock(&ref);
	in.index = 0;
	tc_make_tx(&ref, &in, 1, &value, 1, tc_gtx1(&ref), tc_gtx2(&ref),
		   t0 + 400, 2.0, &b, &n, t);
	assert_int_equal(hn_ledger_add_vertex(ref.l, b, n, 0, NULL), 0);
	fail_at = s.n;
	redo_keep(&s, b, n, t);
	memcpy(txp[0], t, 32);
	memcpy(txp[1], tc_gtx2(&ref), 32);
	tc_make_block(&ref, prev, (const uint8_t (*)[32])txp, t0 + 430, 2.0, 1,
		      &b, &n, h);
	assert_int_equal(hn_ledger_add_vertex(ref.l, b, n, 0, NULL), 0);
	redo_keep(&s, b, n, h);
	tc_make_block(&ref, prev, NULL, t0 + 431, 2.0, 2, &b, &n, h);
	assert_int_equal(hn_ledger_add_vertex(ref.l, b, n, 0, NULL), 0);
	redo_keep(&s, b, n, h);
	memcpy(prev, s.h[s.n - 2], 32);
	for (uint32_t i = 0; i < 2; i++) {
		tc_make_block(&ref, prev, NULL, t0 + 460 + 30 * i, 2.0, 1, &b,
			      &n, h);
		assert_int_equal(hn_ledger_add_vertex(ref.l, b, n, 0, NULL), 0);
		redo_keep(&s, b, n, h);
		memcpy(prev, h, 32);
	}
	tc_check(&ref);

	for (long k = 1; k < 1000; k++) {
		struct evlog e = { 0 };
		int rc;

		tc_open(&tc);
		assert_int_equal(hn_ledger_subscribe(tc.l, on_event, &e), 0);
		assert_int_equal(hn_ledger_batch_begin(tc.l), 0);
		for (size_t i = 0; i < fail_at; i++)
			assert_int_equal(hn_ledger_add_vertex(tc.l, s.b[i],
							      s.len[i], 0,
							      NULL), 0);
		hn_store_inject_failure(hn_ledger_store(tc.l), k);
		rc = hn_ledger_add_vertex(tc.l, s.b[fail_at], s.len[fail_at],
					  0, &r);
		hn_store_inject_failure(hn_ledger_store(tc.l), 0);
		if (rc == 0) {
			assert_int_equal(hn_ledger_batch_end(tc.l), 0);
			tc_close(&tc, false);
			break;          /* k is past the last write */
		}
		assert_int_equal(rc, HN_EIO);
		assert_false(r.stored);
		failures++;
		assert_false(tc_exists(&tc, s.h[fail_at]));
		assert_true(tc_exists(&tc, s.h[fail_at - 1]));
		assert_int_equal(tc_best_height(&tc), fail_at);
		for (size_t i = fail_at; i < s.n; i++)
			assert_int_equal(hn_ledger_add_vertex(tc.l, s.b[i],
							      s.len[i], 0,
							      NULL), 0);
		assert_int_equal(e.accepted, 0);
		assert_int_equal(hn_ledger_batch_end(tc.l), 0);
		assert_int_equal(e.accepted, (int)s.n);
		assert_false(e.gap);
		tc_check(&tc);
		assert_same_ledgers(&ref, &tc, &s, t0 - 30, t0 + 520);
		tc_close(&tc, false);
	}
	printf("%d failed vertices undone inside a batch\n", failures);
	assert_true(failures > 5);
	for (size_t i = 0; i < s.n; i++)
		free(s.b[i]);
	tc_close(&ref, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_and_genesis),
		cmocka_unit_test(test_sync_mode),
		cmocka_unit_test(test_refuse_foreign),
		cmocka_unit_test(test_blocks_and_indexes),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_events_and_batch),
		cmocka_unit_test(test_failure_rollback),
		cmocka_unit_test(test_meta_cache_rollback),
		cmocka_unit_test(test_batch_failure_redo),
		cmocka_unit_test(test_read_batch),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
