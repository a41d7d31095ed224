/*
 * test_chaingen.c: tools/ library: mining, wallet, vertex file and the
 * chain generator, checked against the real ledger (every vertex through
 * hn_ledger_add_vertex with its full verification).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"
#include "hn/vertex.h"
#include "ledger.h"
#include "tk.h"

static char tmpdir[512];

static const struct hn_network *unittests(void)
{
	const struct hn_network *net = hn_network_by_name("unittests");

	assert_non_null(net);
	return net;
}

static void path(char *out, size_t n, const char *name)
{
	snprintf(out, n, "%s/%s", tmpdir, name);
}

static void rm_data_dir(const char *dir)
{
	static const char *const f[] = { "ledger.db", "ledger.db-wal",
		"ledger.db-shm", "ledger.db-journal" };
	char p[700];

	for (size_t i = 0; i < 4; i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, f[i]);
		unlink(p);
	}
	rmdir(dir);
}

static uint8_t *slurp(const char *p, size_t *len)
{
	FILE *f = fopen(p, "rb");
	uint8_t *b;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	b = malloc((size_t)n + 1);
	assert_non_null(b);
	assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void test_mine(void **state)
{
	struct hn_vertex *v = hn_vertex_new();
	uint64_t tries;

	(void)state;
	v->version = HN_VTX_BLOCK;
	v->weight = 12;
	v->timestamp = 1572636400;
	v->n_outputs = 1;
	v->outputs = calloc(1, sizeof(*v->outputs));
	v->outputs[0].value = 6400;
	v->outputs[0].script_len = 1;
	v->outputs[0].script = calloc(1, 1);
	/* Too few tries: not solved, nonce advanced for the next call. */
	assert_int_equal(tk_mine(v, 3, &tries), 0);
	assert_int_equal(tries, 3);
	assert_int_equal(v->nonce_lo, 3);
	v->nonce_lo = 0;
	assert_int_equal(tk_mine(v, 0, &tries), 1);
	assert_true(hn_vertex_pow_ok(v));
	assert_int_equal(tries, v->nonce_lo + 1);
	/* Every earlier nonce fails: the first solution is returned. */
	for (uint64_t n = 0; n < v->nonce_lo && n < 2000; n++) {
		struct hn_vertex *c = hn_vertex_dup(v);

		c->nonce_lo = n;
		assert_int_equal(hn_vertex_update_hash(c), 0);
		assert_false(hn_vertex_pow_ok(c));
		hn_vertex_free(c);
	}
	/* Several threads find the same (lowest) nonce, for a few weights
	 * and start nonces. */
	for (int k = 0; k < 4; k++) {
		struct hn_vertex *a = hn_vertex_dup(v), *b = hn_vertex_dup(v);

		a->weight = b->weight = 14 + k;
		a->nonce_lo = b->nonce_lo = (uint64_t)k * 100000;
		assert_int_equal(tk_mine(a, 0, NULL), 1);
		assert_int_equal(tk_mine_mt(b, 2 + (unsigned)k, NULL), 1);
		assert_int_equal(a->nonce_lo, b->nonce_lo);
		assert_memory_equal(a->hash, b->hash, 32);
		hn_vertex_free(a);
		hn_vertex_free(b);
	}
	/* A transaction's nonce space is 32 bits. */
	v->version = HN_VTX_TX;
	v->weight = 200;
	v->nonce_lo = UINT32_MAX - 1;
	assert_int_equal(tk_mine(v, 0, &tries), HN_ERANGE);
	assert_int_equal(tries, 2);
	assert_int_equal(tk_mine_mt(v, 3, &tries), HN_ERANGE);
	assert_int_equal(tries, 2);
	hn_vertex_free(v);
}

static void test_wallet(void **state)
{
	const struct hn_network *net = unittests();
	struct tk_wallet w;
	uint8_t gscript[25], s[25];
	size_t n;
	char bad[64];

	(void)state;
	assert_int_equal(hn_hex_decode(net->genesis_output_script_hex, gscript,
				       sizeof(gscript), &n), 0);
	assert_int_equal(n, 25);
	assert_int_equal(tk_wallet_init(&w, net, tk_unittests_key), 0);
	assert_memory_equal(w.script, gscript, 25);
	assert_int_equal(w.address[0], 'H');
	assert_int_equal(tk_address_to_script(net, w.address, s), 0);
	assert_memory_equal(s, gscript, 25);
	/* One changed character breaks the checksum. */
	strcpy(bad, w.address);
	bad[10] = bad[10] == 'a' ? 'b' : 'a';
	assert_int_equal(tk_address_to_script(net, bad, s), HN_EINVAL);
	assert_int_equal(tk_address_to_script(net, "0OIl", s), HN_EINVAL);
	{
		/* A P2SH address (multisig version byte 0x64 on unittests):
		 * valid for the miner, not a P2PKH script. */
		struct hn_network fake = *net;
		char ms[64];
		bool is_ms = true;

		tk_script_to_address(net, w.script, ms);
		assert_int_equal(tk_address_check(net, ms, &is_ms), 0);
		assert_false(is_ms);
		/* The same hash with the multisig version byte. */
		fake.p2pkh_version_byte = net->multisig_version_byte;
		tk_script_to_address(&fake, w.script, ms);
		assert_int_equal(tk_address_check(net, ms, &is_ms), 0);
		assert_true(is_ms);
		assert_int_equal(tk_address_to_script(net, ms, s), HN_EINVAL);
	}
	/* Wrong network version byte. */
	assert_int_equal(tk_address_to_script(hn_network_by_name("testnet"),
					      w.address, s), HN_EINVAL);
	tk_wallet_release(&w);
}

/* Fork options for gen() (0: none). */
static uint64_t g_fork_height, g_fork_blocks, g_fork_txs;
static bool g_fork_ds;
static const char *g_fork_out;

static int gen(const char *file, const char *dir, uint64_t seed,
	       uint64_t blocks, uint64_t txs, uint64_t tokens,
	       struct tk_chaingen_stats *st)
{
	struct tk_chaingen_opts o = { 0 };

	struct tk_vfile_writer fw;

	o.fork_height = g_fork_height;
	o.fork_blocks = g_fork_blocks;
	o.fork_txs = g_fork_txs;
	o.fork_double_spend = g_fork_ds;
	if (g_fork_out) {
		assert_int_equal(tk_vfile_create(&fw, g_fork_out, "unittests",
						 NULL), 0);
		o.fork_out = &fw;
	}
	struct tk_vfile_writer w;
	struct hn_ledger *l = NULL;
	struct hn_error err = { 0 };
	int rc;

	o.net = unittests();
	o.n_blocks = blocks;
	o.n_txs = txs;
	o.n_tokens = tokens;
	o.seed = seed;
	o.quiet = true;
	if (file) {
		assert_int_equal(tk_vfile_create(&w, file, "unittests", &err),
				 0);
		o.out = &w;
	}
	if (dir) {
		assert_int_equal(tk_open_data_dir(dir, o.net, true, true, &l,
						  &err), 0);
		o.ledger = l;
	}
	rc = tk_chaingen_run(&o, st, &err);
	if (rc < 0)
		print_error("chaingen: %s\n", err.msg);
	if (file)
		assert_int_equal(tk_vfile_close(&w, &err), 0);
	if (g_fork_out)
		assert_int_equal(tk_vfile_close(&fw, &err), 0);
	hn_ledger_close(l);
	return rc;
}

static void check_ledger(const char *dir, const struct tk_chaingen_stats *st,
			 uint64_t blocks, uint64_t txs)
{
	struct hn_ledger *l;
	struct hn_error err = { 0 };
	struct hn_block_info bi;
	uint64_t nb, nt;

	assert_int_equal(tk_open_data_dir(dir, unittests(), false, false, &l,
					  &err), 0);
	assert_int_equal(hn_ledger_best_block(l, &bi), 0);
	assert_int_equal(bi.height, blocks);
	assert_memory_equal(bi.hash, st->best, 32);
	assert_int_equal(hn_ledger_counts(l, &nb, &nt), 0);
	assert_int_equal(nb, blocks + 1);
	assert_int_equal(nt, txs + 2);
	if (hn_ledger_check(l, &err) < 0)
		fail_msg("ledger check: %s", err.msg);
	hn_ledger_close(l);
}

/* The vertices in a file: all decode, the expected mix, topological. */
static void check_file(const char *file, uint64_t blocks, uint64_t txs,
		       uint64_t tokens)
{
	struct tk_vfile_reader r;
	struct hn_error err = { 0 };
	uint64_t nb = 0, nt = 0, nk = 0, from_block = 0, from_tx = 0;
	uint8_t (*bh)[32] = calloc(blocks, 32);
	uint32_t last_ts = 0;
	const uint8_t *b;
	size_t n;
	int rc;

	assert_int_equal(tk_vfile_open(&r, file, &err), 0);
	assert_string_equal(r.network, "unittests");
	while ((rc = tk_vfile_next(&r, &b, &n, &err)) == 1) {
		struct hn_vertex *v;

		assert_int_equal(hn_vertex_decode(b, n, &v, NULL, 0), 0);
		assert_true(hn_vertex_pow_ok(v));
		assert_true(v->timestamp > last_ts);
		last_ts = v->timestamp;
		if (hn_vertex_is_block(v)) {
			assert_true(nb < blocks);
			memcpy(bh[nb++], v->hash, 32);
		} else {
			nt++;
			nk += v->version == HN_VTX_TOKEN_CREATION;
			assert_true(v->n_inputs >= 1);
			for (unsigned i = 0; i < v->n_inputs; i++) {
				bool blk = false;

				assert_true(v->inputs[i].data_len > 70);
				for (uint64_t k = 0; k < nb; k++)
					blk |= !memcmp(bh[k],
						       v->inputs[i].tx_id, 32);
				from_block += blk;
				from_tx += !blk;
			}
			/* minimum weight, so mining stays cheap */
			assert_true(v->weight < 22);
		}
		hn_vertex_free(v);
	}
	assert_int_equal(rc, 0);
	assert_int_equal(nb, blocks);
	assert_int_equal(nt, txs);
	assert_int_equal(nk, tokens);
	/* Both block rewards and transaction outputs are spent. */
	assert_true(from_block > 0);
	assert_true(from_tx > 0);
	free(bh);
	tk_vfile_close_reader(&r);
}

static void test_chain_import(void **state)
{
	char f1[600], f2[600], d1[600], d2[600];
	struct tk_chaingen_stats st1, st2;
	struct hn_ledger *l;
	struct hn_error err = { 0 };
	uint8_t *b1, *b2;
	size_t n1, n2;
	uint64_t added;

	(void)state;
	path(f1, sizeof(f1), "chain1.bin");
	path(f2, sizeof(f2), "chain2.bin");
	path(d1, sizeof(d1), "data1");
	path(d2, sizeof(d2), "data2");
	assert_int_equal(gen(f1, NULL, 42, 200, 100, 4, &st1), 0);
	assert_int_equal(st1.blocks, 200);
	assert_int_equal(st1.txs, 100);
	assert_int_equal(st1.tokens, 4);
	check_file(f1, 200, 100, 4);
	/* Same seed, straight into a data dir (every vertex verified) and a
	 * file again: identical bytes. */
	assert_int_equal(gen(f2, d2, 42, 200, 100, 4, &st2), 0);
	b1 = slurp(f1, &n1);
	b2 = slurp(f2, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(b1, b2, n1);
	assert_memory_equal(st1.best, st2.best, 32);
	check_ledger(d2, &st2, 200, 100);
	/* Import of the file into a fresh data dir. */
	assert_int_equal(tk_open_data_dir(d1, unittests(), true, true, &l,
					  &err), 0);
	if (tk_import_file(l, f1, 0, &added, &err) < 0)
		fail_msg("import: %s", err.msg);
	assert_int_equal(added, 300);
	/* Importing again: everything already there. */
	assert_int_equal(tk_import_file(l, f1, 7, &added, &err), 0);
	hn_ledger_close(l);
	check_ledger(d1, &st1, 200, 100);
	/* A data dir that exists is refused by the generator. */
	assert_int_equal(tk_open_data_dir(d1, unittests(), true, true, &l,
					  &err), HN_EEXIST);
	rm_data_dir(d1);

	/* A damaged record (a byte of the last tx's signature) is refused
	 * by the ledger and the import stops there. */
	{
		size_t off = n1 - 1;
		FILE *f;

		/* The last record is the last block; damage its nonce. */
		b1[off] ^= 0x5a;
		f = fopen(f2, "wb");
		fwrite(b1, 1, n1, f);
		fclose(f);
		assert_int_equal(tk_open_data_dir(d1, unittests(), true, true,
						  &l, &err), 0);
		assert_true(tk_import_file(l, f2, 0, &added, &err) < 0);
		assert_int_equal(added, 299);
		assert_non_null(strstr(err.msg, "record 300"));
		hn_ledger_close(l);
		rm_data_dir(d1);
		/* Truncated file. */
		f = fopen(f2, "wb");
		fwrite(b1, 1, n1 - 10, f);
		fclose(f);
		assert_int_equal(tk_open_data_dir(d1, unittests(), true, true,
						  &l, &err), 0);
		assert_int_equal(tk_import_file(l, f2, 0, &added, &err),
				 HN_EPARSE);
		assert_int_equal(added, 299);
		hn_ledger_close(l);
		rm_data_dir(d1);
	}
	free(b1);
	free(b2);
	/* Another seed: another chain. */
	assert_int_equal(gen(f2, NULL, 43, 20, 3, 0, &st2), 0);
	assert_memory_not_equal(st1.best, st2.best, 32);
	unlink(f1);
	unlink(f2);
	rm_data_dir(d2);
}

static void test_chain_limits(void **state)
{
	struct tk_chaingen_stats st;

	(void)state;
	/* Rewards mature after 10 blocks: 11 blocks cannot carry a tx. */
	assert_int_equal(gen(NULL, NULL, 1, 11, 1, 0, &st), HN_EINVAL);
	assert_int_equal(gen(NULL, NULL, 1, 20, 2, 3, &st), HN_EINVAL);
	/* Blocks only, no output at all. */
	assert_int_equal(gen(NULL, NULL, 1, 30, 0, 0, &st), 0);
	assert_int_equal(st.blocks, 30);
}

/* Hashes of every vertex in a file. */
static size_t file_hashes(const char *file, uint8_t (*out)[32], size_t max,
			  bool *is_block)
{
	struct tk_vfile_reader r;
	struct hn_error err = { 0 };
	const uint8_t *b;
	size_t n, k = 0;

	assert_int_equal(tk_vfile_open(&r, file, &err), 0);
	while (tk_vfile_next(&r, &b, &n, &err) == 1) {
		struct hn_vertex *v;

		assert_true(k < max);
		assert_int_equal(hn_vertex_decode(b, n, &v, NULL, 0), 0);
		memcpy(out[k], v->hash, 32);
		is_block[k++] = hn_vertex_is_block(v);
		hn_vertex_free(v);
	}
	tk_vfile_close_reader(&r);
	return k;
}

static void meta_of(struct hn_ledger *l, const uint8_t h[32],
		    struct hn_vmeta *m)
{
	assert_int_equal(hn_store_get_meta(hn_ledger_store(l), h,
					   HN_VMETA_CORE, m), 0);
}

static bool in_mempool(struct hn_ledger *l, const uint8_t h[32])
{
	struct hn_hash_list ml = { 0 };
	bool found = false;

	assert_int_equal(hn_ledger_mempool(l, &ml), 0);
	for (size_t i = 0; i < ml.n; i++)
		found |= !memcmp(ml.h[i], h, 32);
	hn_hash_list_release(&ml);
	return found;
}

static void set_fork(uint64_t h, uint64_t blocks, uint64_t txs, bool ds,
		     const char *out)
{
	g_fork_height = h;
	g_fork_blocks = blocks;
	g_fork_txs = txs;
	g_fork_ds = ds;
	g_fork_out = out;
}

/* A fork built in the same run: the main chain's bytes do not change, the
 * fork file starts after the fork block.  Fed after the main chain, the
 * longer fork (more blocks and more transactions) wins: the losing
 * branch's blocks are voided and its transactions are not confirmed any
 * more (back in the mempool, or voided when they spend a voided block's
 * reward).  No double spends unless asked for. */
static void test_fork(void **state)
{
	static uint8_t ha[200][32], hb[200][32], hn[200][32];
	static bool ba[200], bb[200], bn[200];
	struct tk_chaingen_stats sa, sn;
	struct hn_error err = { 0 };
	struct hn_block_info bi;
	struct hn_ledger *l;
	char fa[600], fb[600], fn[600], d[600];
	size_t na, nb, nn, voided = 0, mempool = 0, fork_at = 0;
	uint64_t added;

	(void)state;
	path(fa, sizeof(fa), "main.bin");
	path(fb, sizeof(fb), "fork.bin");
	path(fn, sizeof(fn), "nofork.bin");
	path(d, sizeof(d), "forkdata");
	assert_int_equal(gen(fn, NULL, 9, 40, 30, 1, &sn), 0);
	set_fork(25, 20, 30, false, fb);
	assert_int_equal(gen(fa, NULL, 9, 40, 30, 1, &sa), 0);
	set_fork(0, 0, 0, false, NULL);
	assert_int_equal(sa.fork_blocks, 20);
	assert_int_equal(sa.fork_txs, 30);
	assert_memory_equal(sa.best, sn.best, 32);
	na = file_hashes(fa, ha, 200, ba);
	nb = file_hashes(fb, hb, 200, bb);
	nn = file_hashes(fn, hn, 200, bn);
	assert_int_equal(na, nn);
	assert_memory_equal(ha, hn, na * 32);
	/* The fork starts with a block whose parent is main block 25. */
	for (size_t i = 0, blocks = 0; i < na; i++)
		if (ba[i] && ++blocks == 25)
			fork_at = i + 1;
	assert_true(bb[0]);

	assert_int_equal(tk_open_data_dir(d, unittests(), true, true, &l,
					  &err), 0);
	if (tk_import_file(l, fa, 0, &added, &err) < 0)
		fail_msg("import main: %s", err.msg);
	assert_int_equal(hn_ledger_best_block(l, &bi), 0);
	assert_memory_equal(bi.hash, sa.best, 32);
	if (tk_import_file(l, fb, 0, &added, &err) < 0)
		fail_msg("import fork: %s", err.msg);
	assert_int_equal(added, nb);
	assert_int_equal(hn_ledger_best_block(l, &bi), 0);
	assert_int_equal(bi.height, 45);
	assert_memory_equal(bi.hash, sa.fork_best, 32);
	for (size_t i = fork_at; i < na; i++) {
		struct hn_vmeta m;

		meta_of(l, ha[i], &m);
		if (ba[i]) {
			assert_true(m.n_voided_by > 0);
		} else {
			assert_false(m.has_first_block);
			if (m.n_voided_by)
				voided++;
			else if (in_mempool(l, ha[i]))
				mempool++;
			else
				fail_msg("tx %zu neither voided nor in the "
					 "mempool", i);
		}
		hn_vmeta_release(&m);
	}
	assert_true(mempool > 0);
	for (size_t i = 0; i < nb; i++) {
		struct hn_vmeta m;

		meta_of(l, hb[i], &m);
		assert_int_equal(m.n_voided_by, 0);
		if (!bb[i])
			assert_true(m.has_first_block);
		hn_vmeta_release(&m);
	}
	if (hn_ledger_check(l, &err) < 0)
		fail_msg("ledger check: %s", err.msg);
	hn_ledger_close(l);
	rm_data_dir(d);
	print_message("fork: %zu losing txs back in the mempool, %zu voided\n",
		      mempool, voided);

	/* Double spend: the fork's first tx spends an output that a main
	 * tx above the fork spends too. */
	set_fork(25, 20, 30, true, fb);
	assert_int_equal(gen(fa, NULL, 9, 40, 30, 1, &sa), 0);
	set_fork(0, 0, 0, false, NULL);
	{
		struct tk_vfile_reader r;
		const uint8_t *b;
		size_t n;
		struct hn_vertex *first = NULL;
		bool found = false;

		assert_int_equal(tk_vfile_open(&r, fb, &err), 0);
		while (!first && tk_vfile_next(&r, &b, &n, &err) == 1) {
			assert_int_equal(hn_vertex_decode(b, n, &first, NULL,
							  0), 0);
			if (hn_vertex_is_block(first)) {
				hn_vertex_free(first);
				first = NULL;
			}
		}
		tk_vfile_close_reader(&r);
		assert_non_null(first);
		assert_memory_equal(first->hash, sa.fork_conflict, 32);
		assert_int_equal(tk_vfile_open(&r, fa, &err), 0);
		while (tk_vfile_next(&r, &b, &n, &err) == 1) {
			struct hn_vertex *v;

			assert_int_equal(hn_vertex_decode(b, n, &v, NULL, 0), 0);
			for (unsigned i = 0; i < v->n_inputs; i++)
				if (!memcmp(v->inputs[i].tx_id,
					    first->inputs[0].tx_id, 32) &&
				    v->inputs[i].index ==
				    first->inputs[0].index)
					found = true;
			hn_vertex_free(v);
		}
		tk_vfile_close_reader(&r);
		assert_true(found);
		hn_vertex_free(first);
	}
	unlink(fa);
	unlink(fb);
	unlink(fn);
}

int main(void)
{
	/* Two executables (see CMakeLists.txt) so each stays well under a
	 * minute in the sanitizer build: the fork cases alone, the rest. */
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_mine),
		cmocka_unit_test(test_wallet),
		cmocka_unit_test(test_chain_import),
		cmocka_unit_test(test_chain_limits),
	};
	const struct CMUnitTest fork_tests[] = {
		cmocka_unit_test(test_fork),
	};
#ifdef TEST_CHAINGEN_FORK
	const bool fork_only = true;
#else
	const bool fork_only = false;
#endif
	size_t n;
	int rc;

	/* mkdtemp template: "tmp-" and six 'X'. */
	n = (size_t)snprintf(tmpdir, sizeof(tmpdir) - 6, "%s/tmp-",
			     HN_TEST_TMPDIR);
	memset(tmpdir + n, 'X', 6);
	tmpdir[n + 6] = 0;
	if (!mkdtemp(tmpdir))
		return 1;
	rc = fork_only ? cmocka_run_group_tests(fork_tests, NULL, NULL) :
		cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(tmpdir);
	return rc;
}
