/*
 * test_network.c: network parameters and genesis (lib/network.c).
 *
 * The expected hashes, bytes and short hashes below are the published
 * values (hathor-core conf yml files, hathorlib tests, PROTOCOL.md section 2),
 * typed in here independently of the tables in network.c.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hn/hex.h"
#include "hn/network.h"
#include "hn/vertex.h"

struct published {
	const char *name;
	const char *p2p_network;
	const char *block, *tx1, *tx2;
	const char *short_hash;
	unsigned p2pkh;
};

static const struct published pub[] = {
	{ "mainnet", "mainnet",
	  "000006cb93385b8b87a545a1cbb6197e6caff600c12cc12fc54250d39c8088fc",
	  "0002d4d2a15def7604688e1878ab681142a7b155cbe52a6b4e031250ae96db0a",
	  "0002ad8d1519daaddc8e1a37b14aac0b045129c01832281fb1c02d873c7abbf9",
	  "3fdff62", 0x28 },
	{ "testnet-india", "testnet-india",
	  "000001b7d5abc44d3828529654e8d830eeca1cd0e313032be1b8e9dfe31052ee",
	  "00768e4df506979bb14e0efc16748d9306fa176de54e86069d115e74b26957df",
	  "00306abcedddfa21707e7920fe324a997e3a311a959a18724c7e8cfd0468c164",
	  "f7438fb", 0x49 },
	{ "testnet-golf", "testnet-golf",
	  "0000033139d08176d1051fb3a272c3610457f0c7f686afbe0afe3d37f966db85",
	  "00e161a6b0bee1781ea9300680913fb76fd0fac4acab527cd9626cc1514abdc9",
	  "00975897028ceb037307327c953f5e7ad4d3f42402d71bd3d11ecb63ac39f01a",
	  "12e8d7f", 0x49 },
	{ "testnet-hotel", "testnet-hotel",
	  "0000033139d08176d1051fb3a272c3610457f0c7f686afbe0afe3d37f966db85",
	  "00e161a6b0bee1781ea9300680913fb76fd0fac4acab527cd9626cc1514abdc9",
	  "00975897028ceb037307327c953f5e7ad4d3f42402d71bd3d11ecb63ac39f01a",
	  "12e8d7f", 0x49 },
	{ "unittests", "unittests",
	  "2ebb3b8edcb72a7e46cc0efacfe1b109e2e9dd868a90fe0906968dc8fbbf6488",
	  "16ba3dbe424c443e571b00840ca54b9ff4cff467e10b6a15536e718e2008f952",
	  "33e14cb555a96967841dcbe0f95e9eab5810481d01de8f4f73afb8cce365e869",
	  "f188691", 0x28 },
	{ "nano-testnet-bravo", "nano-testnet-bravo",
	  "000003076f294c2c93d8cc48f68b6c93087361ca78c54faa91daaffde84ba916",
	  "001c9a3e8810bc3389b0fd3cfb118e9190f95bd5bf313a9575a4663d0a80af2d",
	  "002fecfce5e78047f9b967a27b1b2436c3fea17e24c770d59421bacdcadda0ea",
	  "042baeb", 0x49 },
	{ "privatenet", "privatenet",
	  "00000334a21fbb58b4db8d7ff282d018e03e2977abd3004cf378fb1d677c3967",
	  "54165cef1fd4cf2240d702b8383c307c822c16ca407f78014bdefa189a7571c2",
	  "039906854ce6309b3180945f2a23deb9edff369753f7082e19053f5ac11bfbae",
	  "ffb6eca", 0x49 },
};

#define N_PUB (sizeof(pub) / sizeof(pub[0]))

static void *lookup_thread(void *arg)
{
	return (void *)hn_network_by_name((const char *)arg);
}

/* Runs first: concurrent first lookups all get the same built struct. */
static void test_concurrent_first_lookup(void **state)
{
	pthread_t th[4];
	void *res[4];

	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&th[i], NULL, lookup_thread,
						(void *)"mainnet"), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_join(th[i], &res[i]), 0);
	assert_non_null(res[0]);
	for (int i = 1; i < 4; i++)
		assert_ptr_equal(res[i], res[0]);
	assert_ptr_equal(res[0], hn_network_by_name("mainnet"));
}

static void assert_hash_hex(const uint8_t hash[32], const char *hex)
{
	char got[65];

	hn_hex_encode(hash, 32, got);
	assert_string_equal(got, hex);
}

static void test_published_genesis(void **state)
{
	for (size_t i = 0; i < N_PUB; i++) {
		const struct hn_network *n = hn_network_by_name(pub[i].name);

		assert_non_null(n);
		assert_string_equal(n->name, pub[i].name);
		assert_string_equal(n->p2p_network, pub[i].p2p_network);
		assert_int_equal(n->p2pkh_version_byte, pub[i].p2pkh);
		assert_hash_hex(n->genesis_block.hash, pub[i].block);
		assert_hash_hex(n->genesis_tx1.hash, pub[i].tx1);
		assert_hash_hex(n->genesis_tx2.hash, pub[i].tx2);
		assert_string_equal(n->genesis_short_hash, pub[i].short_hash);
		/* Block 69 bytes with a 25-byte script, txs 22 bytes. */
		assert_int_equal(n->genesis_block.len, 69);
		assert_int_equal(n->genesis_tx1.len, 22);
		assert_int_equal(n->genesis_tx2.len, 22);
		assert_int_equal(n->genesis_tx1.timestamp,
				 n->genesis_block.timestamp + 1);
		assert_int_equal(n->genesis_tx2.timestamp,
				 n->genesis_block.timestamp + 2);
	}
}

static void assert_bytes_hex(const struct hn_genesis_vertex *g,
			     const char *hex)
{
	char got[2 * sizeof(g->bytes) + 1];

	hn_hex_encode(g->bytes, g->len, got);
	assert_string_equal(got, hex);
}

static void test_published_bytes(void **state)
{
	const struct hn_network *m = hn_network_by_name("mainnet");
	const struct hn_network *u = hn_network_by_name("unittests");

	assert_non_null(m);
	assert_non_null(u);
	/* hathorlib/tests/test_basic.py: test_block_basics */
	assert_bytes_hex(&m->genesis_block,
			 "000001ffffffe8b789180000001976a9147fd4ae0e4fb2d285"
			 "4e76d359029d8078bb99649e88ac40350000000000005e0f84"
			 "a9000000000000000000000000000000278a7e");
	assert_bytes_hex(&m->genesis_tx1,
			 "0001000000402c0000000000005e0f84aa0000001e23");
	assert_bytes_hex(&m->genesis_tx2,
			 "0001000000402c0000000000005e0f84ab0000000eb9");
	assert_bytes_hex(&u->genesis_block,
			 "000001ffffffe8b789180000001976a914d07bc82d6e0d1bb1"
			 "16614076645e9b87c8c83b4188ac40000000000000005dbc86"
			 "b7000000000000000000000000000000000005");
}

/* The stored bytes decode with the codec to the same hash and fields. */
static void test_genesis_decodes(void **state)
{
	for (size_t i = 0; i < N_PUB; i++) {
		const struct hn_network *n = hn_network_by_name(pub[i].name);
		const struct hn_genesis_vertex *gs[3] = {
			&n->genesis_block, &n->genesis_tx1, &n->genesis_tx2
		};

		for (int j = 0; j < 3; j++) {
			struct hn_vertex *v = NULL;
			char err[128];

			assert_int_equal(hn_vertex_decode(gs[j]->bytes,
							  gs[j]->len, &v, err,
							  sizeof(err)), 0);
			assert_memory_equal(v->hash, gs[j]->hash, 32);
			assert_true(v->weight == gs[j]->weight);
			assert_int_equal(v->timestamp, gs[j]->timestamp);
			assert_int_equal(v->nonce_lo, gs[j]->nonce);
			assert_int_equal(v->n_parents, 0);
			assert_true(hn_vertex_pow_ok(v));
			hn_vertex_free(v);
		}
	}
}

static void test_aliases_and_unknown(void **state)
{
	assert_ptr_equal(hn_network_by_name("testnet"),
			 hn_network_by_name("testnet-india"));
	assert_ptr_equal(hn_network_by_name("nano-testnet"),
			 hn_network_by_name("nano-testnet-bravo"));
	assert_ptr_equal(hn_network_by_name("localnet"),
			 hn_network_by_name("privatenet"));
	assert_string_equal(hn_network_by_name("testnet")->name,
			    "testnet-india");
	assert_null(hn_network_by_name("testnet-foxtrot"));
	assert_null(hn_network_by_name("Mainnet"));
	assert_null(hn_network_by_name(""));
	assert_null(hn_network_by_name(NULL));
}

static void test_names(void **state)
{
	const char *const *names = hn_network_names();
	size_t n = 0;

	for (; names[n]; n++)
		assert_non_null(hn_network_by_name(names[n]));
	assert_int_equal(n, N_PUB);
	for (size_t i = 0; i < N_PUB; i++)
		assert_string_equal(names[i], pub[i].name);
}

static void test_is_genesis(void **state)
{
	const struct hn_network *m = hn_network_by_name("mainnet");
	const struct hn_network *u = hn_network_by_name("unittests");
	uint8_t h[32];

	assert_true(hn_network_is_genesis(m, m->genesis_block.hash));
	assert_true(hn_network_is_genesis(m, m->genesis_tx1.hash));
	assert_true(hn_network_is_genesis(m, m->genesis_tx2.hash));
	assert_false(hn_network_is_genesis(m, u->genesis_block.hash));
	assert_false(hn_network_is_genesis(u, m->genesis_tx1.hash));
	memcpy(h, m->genesis_block.hash, 32);
	h[31] ^= 1;
	assert_false(hn_network_is_genesis(m, h));
	assert_false(hn_network_is_genesis(NULL, m->genesis_block.hash));
}

static void test_parameters(void **state)
{
	const struct hn_network *m = hn_network_by_name("mainnet");
	const struct hn_network *t = hn_network_by_name("testnet");
	const struct hn_network *g = hn_network_by_name("testnet-golf");
	const struct hn_network *u = hn_network_by_name("unittests");
	const struct hn_network *p = hn_network_by_name("privatenet");
	const struct hn_network *b = hn_network_by_name("nano-testnet");
	uint8_t h[32];

	/* mainnet.yml */
	assert_true(m->min_tx_weight == 14 && m->min_block_weight == 21);
	assert_true(m->max_tx_weight_diff == 1.0);
	assert_true(m->max_tx_weight_diff_activation == 35.0);
	assert_true(m->enable_peer_whitelist);
	assert_non_null(m->whitelist_url);
	assert_int_equal(m->n_bootstrap_dns, 1);
	assert_string_equal(m->bootstrap_dns[0], "mainnet.hathor.network");
	assert_int_equal(m->n_checkpoints, 64);
	assert_int_equal(m->checkpoints[0].height, 100000);
	assert_hash_hex(m->checkpoints[0].hash,
			"0000000000001247073138556b4f60fff3ff6eec6521373ccee5"
			"a6526a7c10af");
	assert_int_equal(m->checkpoints[63].height, 6400000);
	for (size_t i = 1; i < m->n_checkpoints; i++)
		assert_true(m->checkpoints[i].height >
			    m->checkpoints[i - 1].height);
	assert_int_equal(m->enable_nano_contracts, HN_FEATURE_ACTIVATION);
	assert_int_equal(m->n_features, 9);
	assert_string_equal(m->features[2].name, "NANO_CONTRACTS");
	assert_int_equal(m->features[2].bit, 1);
	assert_int_equal(m->features[2].start_height, 5947200);
	assert_int_equal(m->features[2].minimum_activation_height, 6048000);
	assert_int_equal(m->n_soft_voided_tx_ids, 124);
	assert_int_equal(hn_hex_to_hash("0000000012a922a6887497bed9c41e5ed7dc"
					"7213cae107db295602168266cd02", h), 0);
	assert_true(hn_network_is_soft_voided(m, h));
	assert_false(hn_network_is_soft_voided(u, h));
	assert_int_equal(m->feature_evaluation_interval, 20160);
	assert_int_equal(m->feature_default_threshold, 18144);

	/* testnet.yml (india) */
	assert_true(t->min_tx_weight == 8 && t->min_tx_weight_k == 0 &&
		    t->min_tx_weight_coefficient == 0);
	assert_int_equal(t->multisig_version_byte, 0x87);
	assert_int_equal(t->feature_evaluation_interval, 240);
	assert_int_equal(t->feature_default_threshold, 180);
	assert_int_equal(t->n_checkpoints, 0);
	assert_int_equal(t->n_features, 6);
	assert_int_equal(t->n_skip_verification, 7);
	assert_true(hn_network_skips_verification(t, t->skip_verification[6]));
	assert_false(t->enable_peer_whitelist);

	/* golf: checkpoints and its two features */
	assert_int_equal(g->n_checkpoints, 43);
	assert_int_equal(g->checkpoints[42].height, 4300000);
	assert_int_equal(g->n_features, 2);
	assert_int_equal(g->feature_default_threshold, 15120);
	assert_int_equal(g->enable_nano_contracts, HN_FEATURE_DISABLED);

	/* unittests.yml */
	assert_true(u->min_block_weight == 2 && u->min_tx_weight == 2);
	assert_int_equal(u->blocks_per_halving, 120);
	assert_int_equal(u->reward_spend_min_blocks, 10);
	assert_int_equal(u->block_difficulty_n_blocks, 20);
	assert_int_equal(u->feature_evaluation_interval, 4);
	assert_int_equal(u->feature_default_threshold, 3);
	assert_int_equal(u->enable_nano_contracts, HN_FEATURE_ENABLED);
	assert_int_equal(u->enable_fee_based_tokens, HN_FEATURE_ENABLED);
	assert_int_equal(u->n_bootstrap_dns, 0);

	/* localnet.yml extends testnet.yml */
	assert_true(p->min_tx_weight == 1);
	assert_int_equal(p->reward_spend_min_blocks, 1);
	assert_int_equal(p->n_bootstrap_dns, 0);
	assert_int_equal(p->enable_nano_contracts, HN_FEATURE_ENABLED);
	assert_int_equal(p->enable_fee_based_tokens, HN_FEATURE_ACTIVATION);
	assert_int_equal(p->feature_evaluation_interval, 240);

	/* nano_testnet.yml */
	assert_int_equal(b->enable_nano_contracts, HN_FEATURE_ENABLED);
	assert_int_equal(b->enable_fee_based_tokens, HN_FEATURE_DISABLED);

	/* settings.py defaults shared by all */
	for (size_t i = 0; i < N_PUB; i++) {
		const struct hn_network *n = hn_network_by_name(pub[i].name);

		assert_int_equal(n->consensus, HN_CONSENSUS_POW);
		assert_int_equal(n->genesis_token_units, 100000000000ULL);
		assert_int_equal(n->max_serialized_vertex_size, 48000);
		assert_int_equal(n->avg_time_between_blocks, 30);
		assert_int_equal(n->default_p2p_port, 40403);
		assert_true(n->weight_tol == 1e-10);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_concurrent_first_lookup),
		cmocka_unit_test(test_published_genesis),
		cmocka_unit_test(test_published_bytes),
		cmocka_unit_test(test_genesis_decodes),
		cmocka_unit_test(test_aliases_and_unknown),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_is_genesis),
		cmocka_unit_test(test_parameters),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
