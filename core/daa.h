/*
 * daa.h: Hathor difficulty adjustment (hathor/daa/common.py) and the
 * weight and reward formulas, reproduced in the same floating-point order
 * as the reference (math.log(x, 2) is log(x) / log(2) there, not log2).
 */
#ifndef HN_DAA_H
#define HN_DAA_H

#include <stddef.h>
#include <stdint.h>

struct hn_network;
struct hn_vertex;

/* The reference's TestMode (hathor/daa/daa.py, --test-mode-tx-weight):
 * minimum tx weight and block weight replaced by 1.  Tests only. */
enum hn_daa_test_mode {
	HN_DAA_TEST_TX_WEIGHT = 1 << 0,
	HN_DAA_TEST_BLOCK_WEIGHT = 1 << 1,
	HN_DAA_TEST_ALL_WEIGHT = HN_DAA_TEST_TX_WEIGHT | HN_DAA_TEST_BLOCK_WEIGHT,
};

/* One ancestor block as the DAA sees it. */
struct hn_daa_block {
	uint32_t timestamp;
	double weight;
};

/* DAAConfig: V1 uses AVG_TIME_BETWEEN_BLOCKS and no reward reduction;
 * V2 (REDUCE_DAA_TARGET) 7.5 s and reward / 4. */
struct hn_daa_config {
	double avg_time;
	uint64_t reward_reduction_factor;
};
void hn_daa_config_v1(const struct hn_network *net, struct hn_daa_config *c);
void hn_daa_config_v2(const struct hn_network *net, struct hn_daa_config *c);

/* How many blocks, starting at the parent and walking parent-block links,
 * the DAA needs for a block whose parent has @parent_height: N + 1 where
 * N = min(2 * BLOCK_DIFFICULTY_N_BLOCKS, parent_height - 1), or 0 when
 * N < 10 (the weight is then MIN_BLOCK_WEIGHT). */
size_t hn_daa_blocks_needed(const struct hn_network *net,
			    uint64_t parent_height);

/* _calculate_next_weight for a block at @timestamp.  @chain[0] is the
 * parent block, chain[i] its i-th block ancestor; @n must be
 * hn_daa_blocks_needed(parent_height).  Returns 0 and *@weight, or
 * HN_EINVAL (n mismatch, timestamps not decreasing along the chain, zero
 * total solve time: the reference raises there). */
int hn_daa_next_weight(const struct hn_network *net,
		       const struct hn_daa_config *cfg,
		       const struct hn_daa_block *chain, size_t n,
		       uint64_t parent_height, uint32_t timestamp,
		       double *weight);

/* _get_weight_decay_amount(distance). */
double hn_daa_weight_decay(const struct hn_network *net, int64_t distance);

/* get_tokens_issued_per_block(height) (halvings, minimum, reduction). */
uint64_t hn_daa_reward(const struct hn_network *net,
		       const struct hn_daa_config *cfg, uint64_t height);

/* _minimum_tx_weight for a non-genesis tx of @size serialized bytes whose
 * non-authority outputs sum to @sum_outputs. */
double hn_daa_min_tx_weight(const struct hn_network *net, size_t size,
			    double sum_outputs);

/* sum_weights / aux_calc_weight (base_transaction.py). */
double hn_sum_weights(double w1, double w2);

#endif /* HN_DAA_H */
