/*
 * daa.c: difficulty adjustment, weight decay, rewards and minimum tx
 * weight, as hathor/daa/common.py computes them.
 */
#include <math.h>

#include "daa.h"

#include "hn/err.h"
#include "hn/network.h"

/* Far above 2 * BLOCK_DIFFICULTY_N_BLOCKS of any known network (268). */
#define HN_DAA_MAX_N 4096

/* Python's math.log(x, 2). */
static double log_2(double x)
{
	return log(x) / log(2.0);
}

double hn_sum_weights(double w1, double w2)
{
	double a = w1 > w2 ? w1 : w2;
	double b = w1 > w2 ? w2 : w1;

	if (b == 0.0)
		return a;
	return a + log_2(1 + pow(2.0, b - a));
}

void hn_daa_config_v1(const struct hn_network *net, struct hn_daa_config *c)
{
	c->avg_time = net->avg_time_between_blocks;
	c->reward_reduction_factor = 1;
}

void hn_daa_config_v2(const struct hn_network *net, struct hn_daa_config *c)
{
	c->avg_time = net->reduced_avg_time_between_blocks_10x / 10.0;
	c->reward_reduction_factor = (uint64_t)net->avg_time_between_blocks *
		10 / net->reduced_avg_time_between_blocks_10x;
}

static int64_t calc_n(const struct hn_network *net, uint64_t parent_height)
{
	int64_t a = 2 * (int64_t)net->block_difficulty_n_blocks;
	int64_t b = (int64_t)parent_height - 1;

	return a < b ? a : b;
}

size_t hn_daa_blocks_needed(const struct hn_network *net,
			    uint64_t parent_height)
{
	int64_t n = calc_n(net, parent_height);

	return n < 10 ? 0 : (size_t)n + 1;
}

double hn_daa_weight_decay(const struct hn_network *net, int64_t distance)
{
	int64_t dt, windows;

	if (!net->weight_decay_enabled)
		return 0.0;
	if (distance < (int64_t)net->weight_decay_activate_distance)
		return 0.0;
	dt = distance - (int64_t)net->weight_decay_activate_distance;
	windows = 1 + dt / (int64_t)net->weight_decay_window_size;
	return (double)windows * net->weight_decay_amount;
}

int hn_daa_next_weight(const struct hn_network *net,
		       const struct hn_daa_config *cfg,
		       const struct hn_daa_block *chain, size_t n,
		       uint64_t parent_height, uint32_t timestamp,
		       double *weight)
{
	int64_t N = calc_n(net, parent_height), K = N / 2;
	double T = cfg->avg_time, S = 5;
	double sum_solvetimes = 0.0, logsum = 0.0, w;
	int64_t prefix[HN_DAA_MAX_N + 1];

	if (N < 10) {
		if (n != 0)
			return HN_EINVAL;
		*weight = net->min_block_weight;
		return 0;
	}
	if (n != (size_t)N + 1 || N > HN_DAA_MAX_N)
		return HN_EINVAL;
	for (size_t i = 0; i + 1 < n; i++)
		if (chain[i].timestamp < chain[i + 1].timestamp)
			return HN_EINVAL;
	/* Oldest first: blocks[i] = chain[N - i]; solvetimes[i] and weights[i]
	 * belong to blocks[i + 1]. */
	prefix[0] = 0;
	for (int64_t i = 0; i < N; i++) {
		const struct hn_daa_block *b = &chain[N - i - 1];
		const struct hn_daa_block *prev = &chain[N - i];

		prefix[i + 1] = prefix[i] + ((int64_t)b->timestamp -
					     (int64_t)prev->timestamp);
	}
	for (int64_t i = K; i < N; i++) {
		const struct hn_daa_block *b = &chain[N - i - 1];
		int64_t solvetime = prefix[i + 1] - prefix[i];
		double x = (double)(prefix[i + 1] - prefix[i - K]) / (double)K;
		double ki = (double)K * pow(x - T, 2) / (2 * T * T);

		ki = ki / S;
		if (!(ki > 1))
			ki = 1;
		sum_solvetimes += ki * (double)solvetime;
		logsum = hn_sum_weights(logsum, log_2(ki) + b->weight);
	}
	if (!(sum_solvetimes > 0))
		return HN_EINVAL;       /* math domain error in the reference */
	w = logsum - log_2(sum_solvetimes) + log_2(T);
	w -= hn_daa_weight_decay(net, (int64_t)timestamp -
				 (int64_t)chain[0].timestamp);
	if (w < net->min_block_weight)
		w = net->min_block_weight;
	*weight = w;
	return 0;
}

uint64_t hn_daa_reward(const struct hn_network *net,
		       const struct hn_daa_config *cfg, uint64_t height)
{
	uint64_t amount, halvings, max_halvings;
	double unit = pow(10.0, net->decimal_places);

	if (net->blocks_per_halving == 0) {
		amount = net->minimum_token_units_per_block;
	} else {
		halvings = height >= 1 ?
			(height - 1) / net->blocks_per_halving : 0;
		/* int(log(initial main units, 2) - log(minimum, 2)) */
		max_halvings = (uint64_t)(log_2(
			(double)net->initial_token_units_per_block / unit) -
			log_2((double)net->minimum_token_units_per_block /
			      unit));
		if (halvings > max_halvings) {
			amount = net->minimum_token_units_per_block;
		} else {
			amount = net->initial_token_units_per_block >>
				halvings;
			if (amount < net->minimum_token_units_per_block)
				amount = net->minimum_token_units_per_block;
		}
	}
	return amount / cfg->reward_reduction_factor;
}

double hn_daa_min_tx_weight(const struct hn_network *net, size_t size,
			    double sum_outputs)
{
	double amount = (sum_outputs < 1 ? 1 : sum_outputs) /
		pow(10.0, net->decimal_places);
	double w = net->min_tx_weight_coefficient * log_2((double)size) +
		4 / (1 + net->min_tx_weight_k / amount) + 4;

	return w > net->min_tx_weight ? w : net->min_tx_weight;
}
