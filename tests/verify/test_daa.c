/*
 * test_daa.c: DAA (core/daa.c).  Expected weights for the synthetic chain
 * were computed by running hathor/daa/common.py's _calculate_next_weight
 * loop (copied verbatim into a Python script) on the same chain.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "daa.h"

#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"
#include "hn/vertex.h"

static const int ST[9] = { 1, 5, 10, 20, 30, 45, 60, 90, 200 };
static const double WD[4] = { -0.5, 0, 0.25, 0.75 };

/* Oldest-first chain of N+1 blocks, returned newest first (chain[0] is
 * the parent). */
static struct hn_daa_block *mkchain(size_t N)
{
	struct hn_daa_block *old = calloc(N + 1, sizeof(*old));
	struct hn_daa_block *c = calloc(N + 1, sizeof(*c));

	old[0].timestamp = 1600000000;
	old[0].weight = 30.0;
	for (size_t i = 0; i < N; i++) {
		old[i + 1].timestamp = old[i].timestamp +
			(uint32_t)ST[(i * i * 7 + 3 * i + 1) % 9];
		old[i + 1].weight = 30.0 + WD[(i * 5 + 1) % 4];
	}
	for (size_t i = 0; i <= N; i++)
		c[i] = old[N - i];
	free(old);
	return c;
}

static void test_next_weight(void **state)
{
	const struct hn_network *net = hn_network_by_name("mainnet");
	struct hn_daa_config v1, v2;
	struct hn_daa_block *c;
	double w;
	size_t n;

	(void)state;
	assert_non_null(net);
	hn_daa_config_v1(net, &v1);
	hn_daa_config_v2(net, &v2);
	assert_int_equal(v2.reward_reduction_factor, 4);
	n = hn_daa_blocks_needed(net, 300);
	assert_int_equal(n, 269);
	c = mkchain(268);
	assert_int_equal(hn_daa_next_weight(net, &v1, c, n, 300,
					    c[0].timestamp + 100, &w), 0);
	assert_float_equal(w, 29.233873222083496, 1e-12);
	/* Weight decay: 3700 s -> 2 windows of 2.73. */
	assert_int_equal(hn_daa_next_weight(net, &v1, c, n, 300,
					    c[0].timestamp + 3700, &w), 0);
	assert_float_equal(w, 23.773873222083495, 1e-12);
	/* Decay down to the minimum. */
	assert_int_equal(hn_daa_next_weight(net, &v1, c, n, 300,
					    c[0].timestamp + 4000, &w), 0);
	assert_float_equal(w, 21, 0);
	/* V2 (7.5 s target). */
	assert_int_equal(hn_daa_next_weight(net, &v2, c, n, 300,
					    c[0].timestamp + 100, &w), 0);
	assert_float_equal(w, 27.2338732220835, 1e-12);
	/* Wrong count, or timestamps going backwards: refused. */
	assert_int_equal(hn_daa_next_weight(net, &v1, c, n - 1, 300,
					    c[0].timestamp + 100, &w),
			 HN_EINVAL);
	c[5].timestamp = c[4].timestamp + 1;
	assert_int_equal(hn_daa_next_weight(net, &v1, c, n, 300,
					    c[0].timestamp + 100, &w),
			 HN_EINVAL);
	free(c);
	/* Short chain: N = parent_height - 1 = 49. */
	n = hn_daa_blocks_needed(net, 50);
	assert_int_equal(n, 50);
	c = mkchain(49);
	assert_int_equal(hn_daa_next_weight(net, &v1, c, n, 50,
					    c[0].timestamp + 100, &w), 0);
	assert_float_equal(w, 29.26802890238547, 1e-12);
	free(c);
	/* N < 10: MIN_BLOCK_WEIGHT. */
	assert_int_equal(hn_daa_blocks_needed(net, 10), 0);
	assert_int_equal(hn_daa_blocks_needed(net, 11), 11);
	assert_int_equal(hn_daa_next_weight(net, &v1, NULL, 0, 10, 5, &w), 0);
	assert_float_equal(w, 21, 0);
}

static void test_steady_state(void **state)
{
	const struct hn_network *net = hn_network_by_name("mainnet");
	struct hn_daa_config v1;
	struct hn_daa_block c[269];
	double w;

	(void)state;
	hn_daa_config_v1(net, &v1);
	/* Blocks exactly every 30 s at weight 40: the DAA keeps 40. */
	for (int i = 0; i < 269; i++) {
		c[i].timestamp = 2000000000u - 30u * (uint32_t)i;
		c[i].weight = 40;
	}
	assert_int_equal(hn_daa_next_weight(net, &v1, c, 269, 1000,
					    c[0].timestamp + 30, &w), 0);
	assert_float_equal(w, 40, 1e-9);
	/* Twice as fast: about one more bit of weight. */
	for (int i = 0; i < 269; i++)
		c[i].timestamp = 2000000000u - 15u * (uint32_t)i;
	assert_int_equal(hn_daa_next_weight(net, &v1, c, 269, 1000,
					    c[0].timestamp + 15, &w), 0);
	assert_true(w > 40.9);
}

static void test_decay(void **state)
{
	const struct hn_network *net = hn_network_by_name("mainnet");

	(void)state;
	assert_float_equal(hn_daa_weight_decay(net, 3599), 0, 0);
	assert_float_equal(hn_daa_weight_decay(net, 3600), 2.73, 1e-12);
	assert_float_equal(hn_daa_weight_decay(net, 3659), 2.73, 1e-12);
	assert_float_equal(hn_daa_weight_decay(net, 3660), 5.46, 1e-12);
}

static void test_reward(void **state)
{
	const struct hn_network *net = hn_network_by_name("mainnet");
	const struct hn_network *ut = hn_network_by_name("unittests");
	struct hn_daa_config v1, v2;

	(void)state;
	hn_daa_config_v1(net, &v1);
	hn_daa_config_v2(net, &v2);
	assert_int_equal(hn_daa_reward(net, &v1, 1), 6400);
	assert_int_equal(hn_daa_reward(net, &v1, 1051200), 6400);
	assert_int_equal(hn_daa_reward(net, &v1, 1051201), 3200);
	assert_int_equal(hn_daa_reward(net, &v1, 2102401), 1600);
	assert_int_equal(hn_daa_reward(net, &v1, 3153601), 800);
	assert_int_equal(hn_daa_reward(net, &v1, 4204801), 800);
	assert_int_equal(hn_daa_reward(net, &v1, 40000000), 800);
	assert_int_equal(hn_daa_reward(net, &v2, 1), 1600);
	assert_non_null(ut);
	assert_int_equal(hn_daa_reward(ut, &v1, 120), 6400);
	assert_int_equal(hn_daa_reward(ut, &v1, 121), 3200);
}

/* hathorlib/tests/test_daa.py: a mainnet tx whose weight is its minimum
 * (to 4 places), and PROTOCOL.md vector B. */
static const char *daa_tx =
	"0001000102000000004b9f8c309247d44d8f242252516eff16cd4a4b6c7dfab2ee"
	"a05a8a3101006a473045022100b5ccb3f4e2ebd5a16a6bdf14e0d392f0f02429f5"
	"2c6260a14e79da1e1841fc58022048177cf5b0479f37ff5c907a2e75cc1e0ba257"
	"608fb4156dad4d57143b60d7c52103548024000a2f7974de7abf7a391ec2552d65"
	"3d460153bff2aaa2885b6612eb9c000041e300001976a914555ccdd5fbd8286b10"
	"afe5d5f49d4be6db25113e88ac0000006400001976a91471fe2456c0dc242a0224"
	"78d4928707c4720943a588ac40339ccd44c989af6056491602000000009e59fbcb"
	"daffc47b564b43af41f395a65b4eabb9e7667d6ad5ce2af6000002c691538af910"
	"fc12d475f5fd468bf4a50ecd89b08cdd1bf82a355444b1541e5618";

static void test_min_tx_weight(void **state)
{
	const struct hn_network *net = hn_network_by_name("mainnet");
	const struct hn_network *tn = hn_network_by_name("testnet");
	uint8_t buf[1024];
	size_t n;
	struct hn_vertex *v = NULL;
	double w;

	(void)state;
	assert_int_equal(hn_hex_decode(daa_tx, buf, sizeof(buf), &n), 0);
	assert_int_equal(hn_vertex_decode(buf, n, &v, NULL, 0), 0);
	w = hn_daa_min_tx_weight(net, n, (double)hn_vertex_sum_outputs(v));
	assert_float_equal(w, v->weight, 1e-4);
	/* Larger amount: larger minimum. */
	assert_true(hn_daa_min_tx_weight(net, n, 1e12) > w + 0.1);
	/* Fixed 8 on testnets; floor MIN_TX_WEIGHT on mainnet. */
	assert_float_equal(hn_daa_min_tx_weight(tn, n, 1e12), 8, 0);
	assert_float_equal(hn_daa_min_tx_weight(net, 10, 0), 14, 0);
	hn_vertex_free(v);
	/* Vector B: weight 21.09498, 291 bytes, 48680000 units. */
	assert_float_equal(hn_daa_min_tx_weight(net, 291, 48680000.0),
			   21.094979024726374, 1e-12);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_next_weight),
		cmocka_unit_test(test_steady_state),
		cmocka_unit_test(test_decay),
		cmocka_unit_test(test_reward),
		cmocka_unit_test(test_min_tx_weight),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
