/*
 * verify.c: vertex verification (hathor/verification/) for PoW
 * networks.  See verify.h for the levels and what is not covered.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daa.h"
#include "feature.h"
#include "script.h"
#include "verify.h"

#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"
#include "hn/vertex.h"

#define MAX_PAST_TIMESTAMP_ALLOWED (3600 * 36)
#define MAX_TOKENS_LENGTH 16
#define ALL_AUTHORITIES 0x03
#define MAX_WITHIN_CONFLICTS 8
#define MAX_BETWEEN_CONFLICTS 8

static int vfail(struct hn_verr *err, int code, const char *fmt, ...)
	HN_PRINTF(3, 4);

static int vfail(struct hn_verr *err, int code, const char *fmt, ...)
{
	if (err) {
		va_list ap;

		err->code = code;
		va_start(ap, fmt);
		vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
		va_end(ap);
	}
	if (code == HN_VERR_MISSING || code == HN_VERR_INPUT_MISSING)
		return HN_ENOENT;
	if (code == HN_VERR_INTERNAL)
		return HN_EIO;
	return HN_ECONSENSUS;
}

const char *hn_verr_name(int code)
{
	static const char *const names[] = {
		[HN_VERR_NONE] = "ok",
		[HN_VERR_VERSION] = "invalid-version",
		[HN_VERR_TIMESTAMP] = "invalid-timestamp",
		[HN_VERR_PARENTS] = "invalid-parents",
		[HN_VERR_MISSING] = "parent-not-found",
		[HN_VERR_WEIGHT] = "invalid-weight",
		[HN_VERR_REWARD] = "invalid-reward",
		[HN_VERR_POW] = "invalid-pow",
		[HN_VERR_OUTPUTS] = "invalid-outputs",
		[HN_VERR_INPUTS] = "invalid-inputs",
		[HN_VERR_SCRIPT] = "invalid-script",
		[HN_VERR_SIGOPS] = "too-many-sigops",
		[HN_VERR_TOKENS] = "invalid-tokens",
		[HN_VERR_BALANCE] = "invalid-balance",
		[HN_VERR_DATA] = "invalid-data",
		[HN_VERR_AUX_POW] = "invalid-aux-pow",
		[HN_VERR_REWARD_LOCKED] = "reward-locked",
		[HN_VERR_HEADERS] = "header-not-allowed",
		[HN_VERR_SIGNAL_BITS] = "invalid-signal-bits",
		[HN_VERR_CHECKPOINT] = "checkpoint-mismatch",
		[HN_VERR_INTERNAL] = "internal-error",
		[HN_VERR_INPUT_MISSING] = "input-not-found",
		[HN_VERR_CONFLICT] = "conflict-with-confirmed",
		[HN_VERR_MUST_SIGNAL] = "block-must-signal",
	};

	if (code < 0 || (size_t)code >= sizeof(names) / sizeof(names[0]) ||
	    !names[code])
		return "invalid";
	return names[code];
}

/* Storage callback failure: unknown dependency or internal error. */
static int cb_fail(struct hn_verr *err, int rc, const char *what,
		   const uint8_t hash[32])
{
	char hex[65];

	hn_hex_encode(hash, 32, hex);
	if (rc == HN_ENOENT)
		return vfail(err, strncmp(what, "input", 5) ? HN_VERR_MISSING :
			     HN_VERR_INPUT_MISSING, "%s '%s' is unknown",
			     what, hex);
	if (rc == HN_ENOMEM)
		return vfail(err, HN_VERR_INTERNAL, "out of memory");
	return vfail(err, HN_VERR_INTERNAL, "storage error reading %s %s",
		     what, hex);
}

/* A feature switched on outright by the network settings. */
static bool feature_on(enum hn_feature_setting s)
{
	return s == HN_FEATURE_ENABLED;
}

/* _is_feature_active: the setting, or the state for a feature of the
 * activation process (bit i of @active: net->features[i] ACTIVE). */
static bool fa_active(const struct hn_network *net,
		      enum hn_feature_setting s, const char *name,
		      uint32_t active)
{
	int i;

	if (s != HN_FEATURE_ACTIVATION)
		return s == HN_FEATURE_ENABLED;
	i = hn_fa_feature_index(net, name);
	return i >= 0 && i < 32 && (active >> i & 1u);
}

/* Features.from_vertex for @v: the HN_VERIFY_FA_* flags. */
static int feature_flags(const struct hn_verify_ctx *ctx,
			 const struct hn_vertex *v, int *flags,
			 struct hn_verr *err)
{
	const struct hn_network *net = ctx->net;
	struct hn_verify_features f;
	int rc;

	if (!ctx->features || !net->n_features)
		return 0;
	rc = ctx->features(ctx->arg, v, &f);
	if (rc == HN_ENOENT)
		return 0;       /* unknown parent: verify_parents refuses it */
	if (rc < 0)
		return cb_fail(err, rc, "feature states of", v->hash);
	if (fa_active(net, HN_FEATURE_ACTIVATION, "COUNT_CHECKDATASIG_OP",
		      f.active))
		*flags |= HN_VERIFY_FA_CHECKDATASIG;
	if (fa_active(net, net->enable_opcodes_v2, "OPCODES_V2", f.active))
		*flags |= HN_VERIFY_FA_OPCODES_V2;
	if (hn_vertex_is_block(v) &&
	    fa_active(net, HN_FEATURE_ACTIVATION,
		      "INCREASE_MAX_MERKLE_PATH_LENGTH", f.active_self))
		*flags |= HN_VERIFY_FA_MERKLE_PATH;
	return 0;
}

static enum hn_opcodes_version opcodes_version(const struct hn_network *net,
					       int flags)
{
	if ((flags & (HN_VERIFY_MEMPOOL | HN_VERIFY_FA_OPCODES_V2)) ||
	    feature_on(net->enable_opcodes_v2))
		return HN_OPCODES_V2;
	return HN_OPCODES_V1;
}

/* COUNT_CHECKDATASIG_OP: activation process on every known network;
 * forced on for the mempool. */
static bool count_checkdatasig(int flags)
{
	return (flags & (HN_VERIFY_MEMPOOL | HN_VERIFY_FA_CHECKDATASIG)) != 0;
}

static bool is_authority(const struct hn_tx_output *o)
{
	return (o->token_data & HN_TOKEN_AUTHORITY_MASK) != 0;
}

static unsigned token_index(const struct hn_tx_output *o)
{
	return o->token_data & HN_TOKEN_INDEX_MASK;
}

/* --- without storage ---------------------------------------------------- */

static int verify_signal_bits(const struct hn_network *net,
			      const struct hn_vertex *v, struct hn_verr *err)
{
	unsigned unknown = 0xff;

	if (hn_vertex_is_block(v))
		unknown = 0xff - ((1u << net->feature_max_signal_bits) - 1);
	if (v->signal_bits & unknown)
		return vfail(err, HN_VERR_SIGNAL_BITS, "vertex has unknown "
			     "signal bits: 0x%02x", v->signal_bits);
	return 0;
}

static int verify_outputs(const struct hn_network *net,
			  const struct hn_vertex *v, struct hn_verr *err)
{
	if (v->n_outputs > net->max_num_outputs)
		return vfail(err, HN_VERR_OUTPUTS, "maximum number of outputs "
			     "exceeded");
	for (unsigned i = 0; i < v->n_outputs; i++) {
		const struct hn_tx_output *o = &v->outputs[i];

		if (token_index(o) == 0 && is_authority(o))
			return vfail(err, HN_VERR_TOKENS, "cannot have "
				     "authority UTXO for hathor tokens "
				     "(output %u)", i);
		if (o->value == 0)
			return vfail(err, HN_VERR_OUTPUTS, "output value must "
				     "be a positive integer (output %u)", i);
		if (o->script_len > net->max_output_script_size)
			return vfail(err, HN_VERR_OUTPUTS, "output %u script "
				     "size %u above %u", i, o->script_len,
				     net->max_output_script_size);
	}
	return 0;
}

static int verify_sigops_output(const struct hn_network *net,
				const struct hn_vertex *v, int flags,
				struct hn_verr *err)
{
	long total = 0;

	for (unsigned i = 0; i < v->n_outputs; i++) {
		long n = hn_script_sigops(v->outputs[i].script,
					  v->outputs[i].script_len, NULL, 0,
					  net->max_multisig_pubkeys,
					  count_checkdatasig(flags));

		if (n < 0)
			return vfail(err, HN_VERR_SCRIPT, "output %u: invalid "
				     "script", i);
		total += n;
	}
	if (total > (long)net->max_tx_sigops_output)
		return vfail(err, HN_VERR_SIGOPS, "maximum number of sigops "
			     "for all outputs exceeded (%ld)", total);
	return 0;
}

static int verify_tokens(const struct hn_vertex *v, int flags,
			 struct hn_verr *err)
{
	bool seen[129] = { false };

	if (!(flags & HN_VERIFY_MEMPOOL))
		return 0;       /* harden_token_restrictions */
	if (v->n_tokens > MAX_TOKENS_LENGTH)
		return vfail(err, HN_VERR_TOKENS, "too many tokens");
	for (unsigned i = 0; i < v->n_tokens; i++)
		for (unsigned j = 0; j < i; j++)
			if (!memcmp(v->tokens[i], v->tokens[j], 32))
				return vfail(err, HN_VERR_TOKENS, "repeated "
					     "tokens are not allowed");
	for (unsigned i = 0; i < v->n_outputs; i++)
		seen[token_index(&v->outputs[i])] = true;
	for (unsigned i = 1; i <= 128; i++)
		if (seen[i] != (i <= v->n_tokens))
			return vfail(err, HN_VERR_TOKENS, "unused tokens are "
				     "not allowed");
	return 0;
}

int hn_verify_without_storage(const struct hn_network *net,
			      const struct hn_vertex *v, int flags,
			      struct hn_verr *err)
{
	int rc;

	if ((rc = verify_signal_bits(net, v, err)) < 0)
		return rc;
	if (!hn_vertex_pow_ok(v))
		return vfail(err, HN_VERR_POW, "invalid proof of work for "
			     "weight %.6f", v->weight);
	if (hn_vertex_is_block(v)) {
		if (v->n_inputs)
			return vfail(err, HN_VERR_INPUTS, "block with %u inputs",
				     v->n_inputs);
		if ((rc = verify_outputs(net, v, err)) < 0)
			return rc;
		for (unsigned i = 0; i < v->n_outputs; i++)
			if (token_index(&v->outputs[i]) > 0)
				return vfail(err, HN_VERR_TOKENS, "block "
					     "output %u is not HTR", i);
		if (v->data_len > net->block_data_max_size)
			return vfail(err, HN_VERR_DATA, "block data has %u "
				     "bytes", v->data_len);
		return verify_sigops_output(net, v, flags, err);
	}
	if (v->n_inputs > net->max_num_inputs)
		return vfail(err, HN_VERR_INPUTS, "maximum number of inputs "
			     "exceeded");
	if (v->n_inputs < 1)
		return vfail(err, HN_VERR_INPUTS, "transaction must have at "
			     "least 1 input(s)");
	if ((rc = verify_outputs(net, v, err)) < 0)
		return rc;
	for (unsigned i = 0; i < v->n_outputs; i++)
		if (token_index(&v->outputs[i]) > v->n_tokens)
			return vfail(err, HN_VERR_TOKENS, "token uid index not "
				     "available: index %u",
				     token_index(&v->outputs[i]));
	if ((rc = verify_sigops_output(net, v, flags, err)) < 0)
		return rc;
	return verify_tokens(v, flags, err);
}

/* --- basic ---------------------------------------------------------------- */

static int verify_version(const struct hn_vertex *v, struct hn_verr *err)
{
	switch (v->version) {
	case HN_VTX_BLOCK:
	case HN_VTX_TX:
	case HN_VTX_TOKEN_CREATION:
	case HN_VTX_MERGE_MINED_BLOCK:
		return 0;
	default:
		return vfail(err, HN_VERR_VERSION, "invalid vertex version: %u",
			     v->version);
	}
}

int hn_verify_daa_config(const struct hn_verify_ctx *ctx,
			 const uint8_t parent[32], uint64_t parent_height,
			 struct hn_daa_config *cfg)
{
	if (!ctx->daa_config) {
		hn_daa_config_v1(ctx->net, cfg);
		return 0;
	}
	return ctx->daa_config(ctx->arg, parent, parent_height, cfg);
}

int hn_verify_block_weight(const struct hn_verify_ctx *ctx,
			   const uint8_t parent[32], uint32_t timestamp,
			   double *weight)
{
	const struct hn_network *net = ctx->net;
	struct hn_verify_info pi;
	struct hn_daa_config cfg;
	struct hn_daa_block *chain = NULL;
	size_t n;
	int rc;

	if ((rc = ctx->get_info(ctx->arg, parent, &pi)) < 0)
		return rc;
	if (ctx->test_mode & HN_DAA_TEST_BLOCK_WEIGHT) {
		*weight = 1.0;
		return 0;
	}
	if ((rc = hn_verify_daa_config(ctx, parent, pi.height, &cfg)) < 0)
		return rc;
	n = hn_daa_blocks_needed(net, pi.height);
	if (n) {
		chain = calloc(n, sizeof(*chain));
		if (!chain)
			return HN_ENOMEM;
		rc = ctx->block_chain(ctx->arg, parent, n, chain);
		if (rc < 0) {
			free(chain);
			return rc;
		}
	}
	rc = hn_daa_next_weight(net, &cfg, chain, n, pi.height, timestamp,
				weight);
	free(chain);
	return rc;
}

static int verify_checkpoints(const struct hn_verify_ctx *ctx,
			      const struct hn_vertex *v, uint64_t height,
			      struct hn_verr *err)
{
	const struct hn_network *net = ctx->net;
	const struct hn_checkpoint *last;
	uint64_t best;
	int rc;

	if (!net->n_checkpoints)
		return 0;
	last = &net->checkpoints[net->n_checkpoints - 1];
	if (height > last->height)
		return 0;
	if ((rc = ctx->best_height(ctx->arg, &best)) < 0)
		return vfail(err, HN_VERR_INTERNAL, "cannot read best height");
	if (best >= last->height)
		return vfail(err, HN_VERR_CHECKPOINT, "forking within "
			     "checkpoints is forbidden");
	for (size_t i = 0; i < net->n_checkpoints; i++)
		if (net->checkpoints[i].height == height &&
		    memcmp(net->checkpoints[i].hash, v->hash, 32) != 0)
			return vfail(err, HN_VERR_CHECKPOINT, "invalid "
				     "checkpoint block (height=%llu)",
				     (unsigned long long)height);
	return 0;
}

static int verify_basic_block(const struct hn_verify_ctx *ctx,
			      const struct hn_vertex *v, uint64_t height,
			      int flags, struct hn_verr *err)
{
	const struct hn_network *net = ctx->net;
	struct hn_daa_config cfg;
	uint64_t reward, sum;
	int rc;

	if (v->n_parents < 1)
		return vfail(err, HN_VERR_PARENTS, "block without parents");
	if (!(flags & HN_VERIFY_SKIP_BLOCK_WEIGHT)) {
		double w;

		rc = hn_verify_block_weight(ctx, v->parents[0], v->timestamp,
					    &w);
		if (rc < 0)
			return rc == HN_EINVAL ?
				vfail(err, HN_VERR_WEIGHT, "cannot compute the "
				      "block weight from its ancestors") :
				cb_fail(err, rc, "parent block", v->parents[0]);
		if (v->weight < w - net->weight_tol)
			return vfail(err, HN_VERR_WEIGHT, "weight (%.10g) is "
				     "smaller than the minimum weight (%.10g)",
				     v->weight, w);
	}
	rc = hn_verify_daa_config(ctx, v->parents[0], height ? height - 1 : 0,
				  &cfg);
	if (rc < 0)
		return cb_fail(err, rc, "parent block", v->parents[0]);
	reward = hn_daa_reward(net, &cfg, height);
	sum = hn_vertex_sum_outputs(v);
	if (sum != reward)
		return vfail(err, HN_VERR_REWARD, "invalid number of issued "
			     "tokens: issued=%llu allowed=%llu",
			     (unsigned long long)sum,
			     (unsigned long long)reward);
	return verify_checkpoints(ctx, v, height, err);
}

static int verify_tx_weight(const struct hn_verify_ctx *ctx,
			    const struct hn_vertex *v, struct hn_verr *err)
{
	const struct hn_network *net = ctx->net;
	long size = hn_vertex_encoded_size(v);
	double sum = 0, min, max;

	if (size < 0)
		return vfail(err, HN_VERR_INTERNAL, "cannot encode vertex");
	for (unsigned i = 0; i < v->n_outputs; i++)
		if (!is_authority(&v->outputs[i]))
			sum += (double)v->outputs[i].value;
	min = (ctx->test_mode & HN_DAA_TEST_TX_WEIGHT) ? 1.0 :
		hn_daa_min_tx_weight(net, (size_t)size, sum);
	max = min + net->max_tx_weight_diff;
	if (v->weight < min - net->weight_tol)
		return vfail(err, HN_VERR_WEIGHT, "weight (%.10g) is smaller "
			     "than the minimum weight (%.10g)", v->weight, min);
	if (v->weight > net->max_tx_weight_diff_activation && v->weight > max)
		return vfail(err, HN_VERR_WEIGHT, "weight (%.10g) is greater "
			     "than the maximum allowed (%.10g)", v->weight, max);
	return 0;
}

int hn_verify_basic(const struct hn_verify_ctx *ctx,
		    const struct hn_vertex *v, uint64_t height, int flags,
		    struct hn_verr *err)
{
	const struct hn_network *net = ctx->net;
	int rc;

	if (hn_network_is_genesis(net, v->hash))
		return 0;
	if ((rc = verify_version(v, err)) < 0)
		return rc;
	if ((flags & HN_VERIFY_MEMPOOL) && ctx->now &&
	    ctx->now(ctx->arg) - v->timestamp > MAX_PAST_TIMESTAMP_ALLOWED)
		return vfail(err, HN_VERR_TIMESTAMP, "transaction is too old "
			     "(timestamp=%u)", v->timestamp);
	if (hn_vertex_is_block(v))
		return verify_basic_block(ctx, v, height, flags, err);
	for (unsigned i = 0; i < v->n_parents; i++)
		for (unsigned j = 0; j < i; j++)
			if (!memcmp(v->parents[i], v->parents[j], 32))
				return vfail(err, HN_VERR_PARENTS, "tx has "
					     "duplicated parents");
	if (v->n_parents != 2)
		return vfail(err, HN_VERR_PARENTS, "wrong number of parents "
			     "(tx type): %u, expecting 2", v->n_parents);
	if ((rc = verify_tx_weight(ctx, v, err)) < 0)
		return rc;
	return hn_verify_without_storage(net, v, flags, err);
}

static double fixed_now(void *arg)
{
	return *(const double *)arg;
}

int hn_verify_standalone(const struct hn_network *net,
			 const struct hn_vertex *v, int flags, double now,
			 struct hn_verr *err)
{
	struct hn_verify_ctx c;
	int rc;

	if (err) {
		err->code = HN_VERR_NONE;
		err->msg[0] = 0;
	}
	if (hn_network_is_genesis(net, v->hash))
		return 0;
	if (hn_vertex_is_block(v)) {
		if ((rc = verify_version(v, err)) < 0)
			return rc;
		return hn_verify_without_storage(net, v, flags, err);
	}
	/* Tx basic reads no storage: only the network and the clock. */
	memset(&c, 0, sizeof(c));
	c.net = net;
	c.arg = &now;
	c.now = fixed_now;
	return hn_verify_basic(&c, v, 0, flags, err);
}

/* --- full ---------------------------------------------------------------- */

/* Spenders of output @index of @tx in a malloc'd *@out (*@n of them). */
static int get_spenders(const struct hn_verify_ctx *ctx, const uint8_t tx[32],
			uint8_t index, uint8_t (**out)[32], size_t *n)
{
	size_t cap = 16;
	int rc;

	for (;;) {
		uint8_t (*a)[32] = malloc(cap * 32);

		if (!a)
			return HN_ENOMEM;
		rc = ctx->spenders(ctx->arg, tx, index, a, cap, n);
		if (rc < 0 || *n <= cap) {
			if (rc < 0)
				free(a);
			else
				*out = a;
			return rc;
		}
		free(a);
		cap = *n;
	}
}

/* verify_conflict (reject_conflicts_with_confirmed_txs): no input may
 * spend an output of a confirmed voided tx, or one a confirmed
 * non-voided tx spends; at most MAX_WITHIN_CONFLICTS - 1 other spenders
 * of one output and MAX_BETWEEN_CONFLICTS inputs with conflicts. */
static int verify_conflict(const struct hn_verify_ctx *ctx,
			   const struct hn_vertex *v,
			   const struct hn_verify_info *sinfo,
			   struct hn_verr *err)
{
	unsigned between = 0;
	char hex[65];
	int rc;

	if (!ctx->spenders)
		return 0;
	for (unsigned i = 0; i < v->n_inputs; i++) {
		const struct hn_tx_input *in = &v->inputs[i];
		uint8_t (*sp)[32] = NULL;
		unsigned within = 0;
		size_t n = 0;

		if (sinfo[i].has_first_block && sinfo[i].voided) {
			hn_hex_encode(in->tx_id, 32, hex);
			return vfail(err, HN_VERR_CONFLICT, "input %u spends "
				     "tx %s, which is voided and confirmed",
				     i, hex);
		}
		if ((rc = get_spenders(ctx, in->tx_id, in->index, &sp, &n)) < 0)
			return cb_fail(err, rc, "spenders of", in->tx_id);
		for (size_t k = 0; k < n; k++) {
			struct hn_verify_info ci;

			if (!memcmp(sp[k], v->hash, 32))
				continue;
			if ((rc = ctx->get_info(ctx->arg, sp[k], &ci)) < 0) {
				rc = cb_fail(err, rc == HN_ENOENT ? HN_EIO : rc,
					     "spender", sp[k]);
				free(sp);
				return rc;
			}
			if (ci.has_first_block && !ci.voided) {
				free(sp);
				return vfail(err, HN_VERR_CONFLICT, "transaction "
					     "has a conflict with a confirmed "
					     "transaction (input %u)", i);
			}
			if (within == 0)
				between++;
			within++;
		}
		free(sp);
		if (within >= MAX_WITHIN_CONFLICTS)
			return vfail(err, HN_VERR_CONFLICT, "too many conflicts "
				     "on input %u (%u)", i, within);
	}
	if (between > MAX_BETWEEN_CONFLICTS)
		return vfail(err, HN_VERR_CONFLICT, "too many inputs with "
			     "conflicts (%u)", between);
	return 0;
}

/* verify_headers / get_allowed_headers.  The reference allows a
 * NanoHeader where nano contracts are enabled or active, and a FeeHeader
 * where fee-based tokens are.  This node implements neither (no blueprint
 * execution, no fee accounting), so it refuses both on every network
 * rather than store a vertex it cannot validate; the codec already refuses
 * every other header id. */
static int verify_headers(const struct hn_vertex *v, struct hn_verr *err)
{
	for (unsigned i = 0; i < v->n_headers; i++) {
		switch (v->headers[i].id) {
		case HN_HEADER_NANO:
			return vfail(err, HN_VERR_HEADERS, "NanoHeader (0x10) "
				     "not supported: this node does not "
				     "implement nano contracts");
		case HN_HEADER_FEE:
			return vfail(err, HN_VERR_HEADERS, "FeeHeader (0x11) "
				     "not supported: this node does not "
				     "implement fee-based tokens");
		default:
			return vfail(err, HN_VERR_HEADERS, "header 0x%02x not "
				     "supported by %s",
				     (unsigned)v->headers[i].id,
				     hn_vertex_type_name(v->version));
		}
	}
	return 0;
}

static int verify_parents(const struct hn_verify_ctx *ctx,
			  const struct hn_vertex *v, uint64_t *min_height,
			  struct hn_verr *err)
{
	const struct hn_network *net = ctx->net;
	bool block = hn_vertex_is_block(v);
	unsigned n_txs = 0, n_blocks = 0;
	int rc;

	*min_height = 0;
	for (unsigned i = 0; i < v->n_parents; i++)
		for (unsigned j = 0; j < i; j++)
			if (!memcmp(v->parents[i], v->parents[j], 32))
				return vfail(err, HN_VERR_PARENTS, "duplicated "
					     "parents");
	for (unsigned i = 0; i < v->n_parents; i++) {
		struct hn_verify_info pi;

		rc = ctx->get_info(ctx->arg, v->parents[i], &pi);
		if (rc < 0)
			return cb_fail(err, rc, "parent", v->parents[i]);
		if (v->timestamp <= pi.timestamp)
			return vfail(err, HN_VERR_TIMESTAMP, "timestamp %u not "
				     "after parent %u's %u", v->timestamp, i,
				     pi.timestamp);
		if (pi.is_block) {
			if (block && !pi.is_genesis &&
			    v->timestamp - pi.timestamp >
			    net->max_distance_between_blocks)
				return vfail(err, HN_VERR_TIMESTAMP, "distance "
					     "between blocks is too big (%u "
					     "seconds)",
					     v->timestamp - pi.timestamp);
			if (n_txs > 0)
				return vfail(err, HN_VERR_PARENTS, "parents "
					     "which are blocks must come "
					     "before transactions");
			n_blocks++;
		} else {
			n_txs++;
			if (pi.min_height > *min_height)
				*min_height = pi.min_height;
		}
	}
	if (n_blocks != (block ? 1u : 0u))
		return vfail(err, HN_VERR_PARENTS, "wrong number of parents "
			     "(block type): %u, expecting %u", n_blocks,
			     block ? 1 : 0);
	if (n_txs != 2)
		return vfail(err, HN_VERR_PARENTS, "wrong number of parents "
			     "(tx type): %u, expecting 2", n_txs);
	return 0;
}

int hn_verify_aux_pow(const struct hn_vertex *v, size_t max_merkle_path,
		      struct hn_verr *err)
{
	const struct hn_aux_pow *a = v->aux_pow;
	static const uint8_t magic[4] = { 'H', 'a', 't', 'h' };
	size_t first = SIZE_MAX;

	if (!a)
		return vfail(err, HN_VERR_AUX_POW, "merge mined block without "
			     "aux-pow");
	for (size_t i = 0; i + 4 <= a->coinbase_head_len; i++)
		if (!memcmp(a->coinbase_head + i, magic, 4)) {
			first = i;
			break;
		}
	if (first == SIZE_MAX)
		return vfail(err, HN_VERR_AUX_POW, "cannot find MAGIC_NUMBER");
	if (first < a->coinbase_head_len - 4)
		return vfail(err, HN_VERR_AUX_POW, "unexpected MAGIC_NUMBER");
	if (a->n_merkle_path > max_merkle_path)
		return vfail(err, HN_VERR_AUX_POW, "merkle_path too long: %zu "
			     "> %zu", a->n_merkle_path, max_merkle_path);
	return 0;
}

/* verify_mandatory_signaling: a block may not leave a feature in
 * MUST_SIGNAL short of its threshold. */
static int verify_mandatory_signaling(const struct hn_verify_ctx *ctx,
				      const struct hn_vertex *v,
				      struct hn_verr *err)
{
	struct hn_verify_features f;
	int rc;

	if (!ctx->features || !ctx->net->n_features)
		return 0;
	if ((rc = ctx->features(ctx->arg, v, &f)) < 0)
		return cb_fail(err, rc, "parent", v->parents[0]);
	if (f.missing_signal < 0 ||
	    (size_t)f.missing_signal >= ctx->net->n_features)
		return 0;
	return vfail(err, HN_VERR_MUST_SIGNAL, "Block must signal support "
		     "for feature '%s' during MUST_SIGNAL phase.",
		     ctx->net->features[f.missing_signal].name);
}

static int verify_full_block(const struct hn_verify_ctx *ctx,
			     const struct hn_vertex *v, uint64_t height,
			     int flags, struct hn_verr *err)
{
	const struct hn_network *net = ctx->net;
	uint64_t min_height;
	int rc;

	if (v->version == HN_VTX_MERGE_MINED_BLOCK) {
		size_t max = (flags & HN_VERIFY_FA_MERKLE_PATH) ?
			net->new_max_merkle_path_length :
			net->old_max_merkle_path_length;

		if ((rc = hn_verify_aux_pow(v, max, err)) < 0)
			return rc;
	}
	if ((rc = hn_verify_without_storage(net, v, flags, err)) < 0)
		return rc;
	if ((rc = verify_parents(ctx, v, &min_height, err)) < 0)
		return rc;
	if (height < min_height)
		return vfail(err, HN_VERR_REWARD_LOCKED, "block needs %llu "
			     "height but has %llu",
			     (unsigned long long)min_height,
			     (unsigned long long)height);
	return verify_mandatory_signaling(ctx, v, err);
}

/* One entry of the TokenInfoDict. */
struct token_info {
	uint8_t uid[32];        /* HTR: all zero and htr set */
	bool htr;
	int version;            /* enum hn_token_version, -1: not found */
	__int128 amount;        /* outputs - inputs */
	bool can_mint, can_melt;
};

struct token_dict {
	struct token_info t[256 + 2];
	size_t n;
};

static struct token_info *td_find(struct token_dict *d, bool htr,
				  const uint8_t uid[32])
{
	for (size_t i = 0; i < d->n; i++)
		if (d->t[i].htr == htr &&
		    (htr || !memcmp(d->t[i].uid, uid, 32)))
			return &d->t[i];
	return NULL;
}

static struct token_info *td_add(struct token_dict *d, bool htr,
				 const uint8_t *uid, int version)
{
	struct token_info *t = &d->t[d->n++];

	memset(t, 0, sizeof(*t));
	t->htr = htr;
	if (!htr)
		memcpy(t->uid, uid, 32);
	t->version = version;
	return t;
}

/* get_token_version: the token creation tx of @uid. */
static int token_version(const struct hn_verify_ctx *ctx,
			 const uint8_t uid[32], int *version)
{
	struct hn_vertex *t = NULL;
	int rc = ctx->get_vertex(ctx->arg, uid, &t);

	*version = -1;
	if (rc == HN_ENOENT)
		return 0;
	if (rc < 0)
		return rc;
	if (t->version == HN_VTX_TOKEN_CREATION)
		*version = t->token_version;
	hn_vertex_free(t);
	return 0;
}

/* Input side of get_complete_token_info, with the spent vertices. */
static int tokens_from_inputs(const struct hn_verify_ctx *ctx,
			      const struct hn_vertex *v,
			      struct hn_vertex *const *spent,
			      struct token_dict *d, struct hn_verr *err)
{
	int rc;

	d->n = 0;
	td_add(d, true, NULL, HN_TOKEN_NATIVE);
	for (unsigned i = 0; i < v->n_inputs; i++) {
		const struct hn_vertex *s = spent[i];
		const struct hn_tx_output *o = &s->outputs[v->inputs[i].index];
		unsigned ti = token_index(o);
		const uint8_t *uid = NULL;
		struct token_info *t;

		if (ti > 0) {
			if (ti > s->n_tokens)
				return vfail(err, HN_VERR_TOKENS, "spent output "
					     "has an invalid token index");
			uid = s->tokens[ti - 1];
		}
		t = td_find(d, ti == 0, uid);
		if (!t) {
			int ver;

			if ((rc = token_version(ctx, uid, &ver)) < 0)
				return cb_fail(err, rc, "token", uid);
			t = td_add(d, false, uid, ver);
		}
		if (is_authority(o)) {
			t->can_mint |= (o->value & HN_TOKEN_MINT_MASK) != 0;
			t->can_melt |= (o->value & HN_TOKEN_MELT_MASK) != 0;
		} else {
			t->amount -= o->value;
		}
	}
	if (v->version == HN_VTX_TOKEN_CREATION) {
		struct token_info *t = td_find(d, false, v->hash);

		if (!t)
			t = td_add(d, false, v->hash, v->token_version);
		t->version = v->token_version;
		t->amount = 0;
		t->can_mint = t->can_melt = true;
	}
	return 0;
}

static int tokens_from_outputs(const struct hn_vertex *v,
			       struct token_dict *d, struct hn_verr *err)
{
	for (unsigned i = 0; i < v->n_outputs; i++) {
		const struct hn_tx_output *o = &v->outputs[i];
		unsigned ti = token_index(o);
		struct token_info *t = td_find(d, ti == 0,
					       ti ? v->tokens[ti - 1] : NULL);
		bool mint = is_authority(o) && (o->value & HN_TOKEN_MINT_MASK);
		bool melt = is_authority(o) && (o->value & HN_TOKEN_MELT_MASK);

		if (!t)
			return vfail(err, HN_VERR_TOKENS, "no inputs for token "
				     "index %u", ti);
		if (mint && !t->can_mint)
			return vfail(err, HN_VERR_TOKENS, "output at index %u "
				     "has mint authority, but no input has it",
				     i);
		if (melt && !t->can_melt)
			return vfail(err, HN_VERR_TOKENS, "output at index %u "
				     "has melt authority, but no input has it",
				     i);
		if (is_authority(o)) {
			if (o->value > ALL_AUTHORITIES)
				return vfail(err, HN_VERR_TOKENS, "invalid "
					     "authorities in output %u", i);
		} else {
			t->amount += o->value;
		}
	}
	return 0;
}

/* verify_transparent_balance. */
static int verify_balance(const struct hn_network *net,
			  const struct token_dict *d, struct hn_verr *err)
{
	__int128 deposit = 0, withdraw = 0, expected;
	const struct token_info *htr = NULL;
	__int128 num = net->token_deposit_percentage_numerator;
	__int128 den = net->token_deposit_percentage_denominator;

	for (size_t i = 0; i < d->n; i++) {
		const struct token_info *t = &d->t[i];

		if (t->htr) {
			htr = t;
			continue;
		}
		if (t->amount < 0 && !t->can_melt)
			return vfail(err, HN_VERR_BALANCE, "forbidden melt of "
				     "%lld", (long long)-t->amount);
		if (t->amount > 0 && !t->can_mint)
			return vfail(err, HN_VERR_BALANCE, "forbidden mint of "
				     "%lld", (long long)t->amount);
		switch (t->version) {
		case -1:
			return vfail(err, HN_VERR_TOKENS, "token uid not "
				     "found");
		case HN_TOKEN_DEPOSIT:
			if (t->amount < 0)
				withdraw += num * -t->amount / den;
			if (t->amount > 0)
				deposit += (num * t->amount + den - 1) / den;
			break;
		case HN_TOKEN_NATIVE:
			break;
		default:
			/* FEE tokens cannot exist while FEE_TOKENS is not
			 * active. */
			return vfail(err, HN_VERR_TOKENS, "fee-based tokens are "
				     "not supported");
		}
	}
	expected = withdraw - deposit;
	if (htr->amount > expected)
		return vfail(err, HN_VERR_BALANCE, "there's an invalid surplus "
			     "of HTR (amount=%lld, expected=%lld)",
			     (long long)htr->amount, (long long)expected);
	if (htr->amount < expected)
		return vfail(err, HN_VERR_BALANCE, "there's an invalid deficit "
			     "of HTR (amount=%lld, expected=%lld)",
			     (long long)htr->amount, (long long)expected);
	return 0;
}

/* Unicode whitespace as Python's str.strip() / \s (the common ones). */
static size_t utf8_space(const unsigned char *s, size_t n)
{
	if (n >= 1 && (s[0] == ' ' || (s[0] >= 0x09 && s[0] <= 0x0d) ||
		       (s[0] >= 0x1c && s[0] <= 0x1f)))
		return 1;
	if (n >= 2 && s[0] == 0xc2 && (s[1] == 0x85 || s[1] == 0xa0))
		return 2;
	if (n >= 3 && s[0] == 0xe1 && s[1] == 0x9a && s[2] == 0x80)
		return 3;
	if (n >= 3 && s[0] == 0xe2 && s[1] == 0x80 &&
	    (s[2] <= 0x8a || s[2] == 0xa8 || s[2] == 0xa9 || s[2] == 0xaf))
		return 3;
	if (n >= 3 && s[0] == 0xe2 && s[1] == 0x81 && s[2] == 0x9f)
		return 3;
	if (n >= 3 && s[0] == 0xe3 && s[1] == 0x80 && s[2] == 0x80)
		return 3;
	return 0;
}

/* clean_token_string(s) == clean_token_string(target) for an upper-case
 * ASCII @target without spaces. */
static bool token_string_is(const char *str, size_t n, const char *target)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t b = 0, e = n, k, tl = strlen(target);

	while (b < e && (k = utf8_space(s + b, e - b)))
		b += k;
	for (;;) {
		size_t found = 0;

		for (size_t i = b; i < e; ) {
			size_t sp = utf8_space(s + i, e - i);

			if (sp && i + sp == e) {
				found = sp;
				break;
			}
			i += sp ? sp : 1;
		}
		if (!found)
			break;
		e -= found;
	}
	if (e - b != tl)
		return false;
	for (size_t i = 0; i < tl; i++) {
		unsigned char c = s[b + i];

		if (c >= 'a' && c <= 'z')
			c = (unsigned char)(c - 'a' + 'A');
		if (c != (unsigned char)target[i])
			return false;
	}
	return true;
}

static size_t utf8_len(const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			k++;
	return k;
}

static int verify_token_info(const struct hn_network *net,
			     const struct hn_vertex *v, struct hn_verr *err)
{
	size_t nl = utf8_len(v->token_name, v->token_name_len);
	size_t sl = utf8_len(v->token_symbol, v->token_symbol_len);

	if (nl == 0 || nl > net->max_length_token_name)
		return vfail(err, HN_VERR_DATA, "invalid token name length "
			     "(%zu)", nl);
	if (sl == 0 || sl > net->max_length_token_symbol)
		return vfail(err, HN_VERR_DATA, "invalid token symbol length "
			     "(%zu)", sl);
	if (token_string_is(v->token_name, v->token_name_len, "HATHOR"))
		return vfail(err, HN_VERR_DATA, "invalid token name (%s)",
			     v->token_name);
	if (token_string_is(v->token_symbol, v->token_symbol_len, "HTR"))
		return vfail(err, HN_VERR_DATA, "invalid token symbol (%s)",
			     v->token_symbol);
	if (v->token_version == HN_TOKEN_NATIVE ||
	    (v->token_version == HN_TOKEN_FEE &&
	     !feature_on(net->enable_fee_based_tokens)) ||
	    v->token_version > HN_TOKEN_FEE)
		return vfail(err, HN_VERR_DATA, "invalid token version (%u)",
			     v->token_version);
	return 0;
}

/* TransactionVerifier._verify_inputs with @version: input data size,
 * timestamps after the spent txs', the scripts, no output spent twice.
 * @spent / @sinfo: the vertex and info of each input's tx. */
static int verify_inputs(const struct hn_network *net,
			 const struct hn_vertex *v,
			 struct hn_vertex *const *spent,
			 const struct hn_verify_info *sinfo,
			 enum hn_opcodes_version version, struct hn_verr *err)
{
	struct hn_script_output outs[256];
	struct hn_script_ctx sc;
	int rc;

	memset(&sc, 0, sizeof(sc));
	sc.version = version;
	if (hn_vertex_sighash_data(v, sc.sighash_data) < 0)
		return vfail(err, HN_VERR_INTERNAL, "cannot compute sighash");
	sc.tx_timestamp = v->timestamp;
	sc.max_multisig_pubkeys = net->max_multisig_pubkeys;
	sc.max_multisig_signatures = net->max_multisig_signatures;
	sc.p2pkh_version_byte = net->p2pkh_version_byte;
	for (unsigned i = 0; i < v->n_outputs; i++) {
		outs[i].value = v->outputs[i].value;
		outs[i].script = v->outputs[i].script;
		outs[i].script_len = v->outputs[i].script_len;
	}
	sc.outputs = outs;
	sc.n_outputs = v->n_outputs;
	for (unsigned i = 0; i < v->n_inputs; i++) {
		const struct hn_tx_input *in = &v->inputs[i];
		const struct hn_tx_output *o = &spent[i]->outputs[in->index];
		char msg[160];

		if (in->data_len > net->max_input_data_size)
			return vfail(err, HN_VERR_INPUTS, "input %u data size "
				     "%u above %u", i, in->data_len,
				     net->max_input_data_size);
		if (v->timestamp <= sinfo[i].timestamp)
			return vfail(err, HN_VERR_TIMESTAMP, "timestamp %u not "
				     "after spent tx's %u (input %u)",
				     v->timestamp, sinfo[i].timestamp, i);
		sc.spent_value = o->value;
		rc = hn_script_eval(in->data, in->data_len, o->script,
				    o->script_len, &sc, msg, sizeof(msg));
		if (rc == HN_ENOMEM)
			return vfail(err, HN_VERR_INTERNAL, "out of memory");
		if (rc < 0)
			return vfail(err, HN_VERR_SCRIPT, "input %u: %s", i, msg);
		for (unsigned j = 0; j < i; j++)
			if (v->inputs[j].index == in->index &&
			    !memcmp(v->inputs[j].tx_id, in->tx_id, 32))
				return vfail(err, HN_VERR_INPUTS, "inputs %u "
					     "and %u spend the same output", j,
					     i);
	}
	return 0;
}

static int verify_full_tx(const struct hn_verify_ctx *ctx,
			  const struct hn_vertex *v, int flags,
			  struct hn_verr *err)
{
	const struct hn_network *net = ctx->net;
	struct hn_vertex *spent[256] = { NULL };
	struct hn_verify_info sinfo[256];
	struct token_dict *td = NULL;
	uint64_t min_height, inherited = 0, best;
	long sigops = 0;
	int rc = 0;

	if (v->version == HN_VTX_TOKEN_CREATION &&
	    (rc = verify_token_info(net, v, err)) < 0)
		return rc;
	if ((rc = hn_verify_without_storage(net, v, flags, err)) < 0)
		return rc;
	/* verify_sigops_input: every spent output must exist. */
	for (unsigned i = 0; i < v->n_inputs; i++) {
		const struct hn_tx_input *in = &v->inputs[i];

		rc = ctx->get_vertex(ctx->arg, in->tx_id, &spent[i]);
		if (rc == 0)
			rc = ctx->get_info(ctx->arg, in->tx_id, &sinfo[i]);
		if (rc < 0) {
			rc = cb_fail(err, rc, "input tx", in->tx_id);
			goto out;
		}
		if (in->index >= spent[i]->n_outputs) {
			vfail(err, HN_VERR_INPUT_MISSING, "input %u: no such "
			      "output (index %u)", i, in->index);
			rc = HN_ECONSENSUS;     /* known tx: never valid */
			goto out;
		}
		long n = hn_script_sigops(in->data, in->data_len,
			spent[i]->outputs[in->index].script,
			spent[i]->outputs[in->index].script_len,
			net->max_multisig_pubkeys, count_checkdatasig(flags));

		if (n < 0) {
			rc = vfail(err, HN_VERR_SCRIPT, "input %u: invalid "
				   "script", i);
			goto out;
		}
		sigops += n;
	}
	if (sigops > (long)net->max_tx_sigops_input) {
		rc = vfail(err, HN_VERR_SIGOPS, "max number of sigops for "
			   "inputs exceeded (%ld)", sigops);
		goto out;
	}
	/* verify_inputs */
	if ((rc = verify_inputs(net, v, spent, sinfo,
				opcodes_version(net, flags), err)) < 0)
		goto out;
	for (unsigned i = 0; i < v->n_inputs; i++) {
		if (sinfo[i].min_height > inherited)
			inherited = sinfo[i].min_height;
		if (sinfo[i].is_block &&
		    sinfo[i].height + net->reward_spend_min_blocks + 1 >
		    inherited)
			inherited = sinfo[i].height +
				net->reward_spend_min_blocks + 1;
	}
	/* verify_version: v1 and v2 (OnChainBlueprint needs nano). */
	if ((rc = verify_version(v, err)) < 0)
		goto out;
	td = malloc(sizeof(*td));
	if (!td) {
		rc = vfail(err, HN_VERR_INTERNAL, "out of memory");
		goto out;
	}
	if ((rc = tokens_from_inputs(ctx, v, spent, td, err)) < 0 ||
	    (rc = tokens_from_outputs(v, td, err)) < 0 ||
	    (rc = verify_balance(net, td, err)) < 0)
		goto out;
	if ((rc = verify_parents(ctx, v, &min_height, err)) < 0)
		goto out;
	if (min_height > inherited)
		inherited = min_height;
	if ((flags & HN_VERIFY_MEMPOOL) &&
	    (rc = verify_conflict(ctx, v, sinfo, err)) < 0)
		goto out;
	if (flags & HN_VERIFY_REJECT_LOCKED_REWARD) {
		if ((rc = ctx->best_height(ctx->arg, &best)) < 0) {
			rc = vfail(err, HN_VERR_INTERNAL, "cannot read the "
				   "best height");
			goto out;
		}
		for (unsigned i = 0; i < v->n_inputs; i++) {
			int64_t need;

			if (!sinfo[i].is_block)
				continue;
			need = (int64_t)net->reward_spend_min_blocks -
				((int64_t)best - (int64_t)sinfo[i].height);
			if (need > 0) {
				rc = vfail(err, HN_VERR_REWARD_LOCKED, "reward "
					   "of input %u still needs %lld "
					   "blocks to be unlocked", i,
					   (long long)need);
				goto out;
			}
		}
		if (best + 1 < inherited) {
			rc = vfail(err, HN_VERR_REWARD_LOCKED, "tx has "
				   "min_height=%llu, but the best height is "
				   "%llu", (unsigned long long)inherited,
				   (unsigned long long)best);
			goto out;
		}
	}
	if (v->version == HN_VTX_TOKEN_CREATION) {
		struct token_info *t = td_find(td, false, v->hash);

		if (!t || t->amount <= 0) {
			rc = vfail(err, HN_VERR_TOKENS, "token creation "
				   "transaction must mint new tokens");
			goto out;
		}
	}
	rc = 0;
out:
	free(td);
	for (unsigned i = 0; i < v->n_inputs; i++)
		hn_vertex_free(spent[i]);
	return rc;
}

int hn_verify_feature_recheck(const struct hn_verify_ctx *ctx,
			      const struct hn_vertex *v, struct hn_verr *err)
{
	const struct hn_network *net = ctx->net;
	struct hn_vertex *spent[256] = { NULL };
	struct hn_verify_info sinfo[256];
	int rc = 0;

	if (err) {
		err->code = HN_VERR_NONE;
		err->msg[0] = 0;
	}
	if (hn_vertex_is_block(v))
		return 0;
	if (hn_fa_feature_index(net, "COUNT_CHECKDATASIG_OP") >= 0 &&
	    (rc = verify_sigops_output(net, v, HN_VERIFY_FA_CHECKDATASIG,
				       err)) < 0)
		return rc;
	if (hn_fa_feature_index(net, "OPCODES_V2") < 0)
		return 0;
	for (unsigned i = 0; i < v->n_inputs && rc == 0; i++) {
		const struct hn_tx_input *in = &v->inputs[i];

		rc = ctx->get_vertex(ctx->arg, in->tx_id, &spent[i]);
		if (rc == 0)
			rc = ctx->get_info(ctx->arg, in->tx_id, &sinfo[i]);
		if (rc < 0)
			rc = cb_fail(err, rc, "input tx", in->tx_id);
		else if (in->index >= spent[i]->n_outputs)
			rc = vfail(err, HN_VERR_INPUT_MISSING, "input %u: no "
				   "such output (index %u)", i, in->index);
	}
	if (rc == 0)
		rc = verify_inputs(net, v, spent, sinfo, HN_OPCODES_V2, err);
	for (unsigned i = 0; i < v->n_inputs; i++)
		hn_vertex_free(spent[i]);
	return rc;
}

int hn_verify_full(const struct hn_verify_ctx *ctx,
		   const struct hn_vertex *v, uint64_t height, int flags,
		   struct hn_verr *err)
{
	int rc;

	if (hn_network_is_genesis(ctx->net, v->hash))
		return 0;
	if ((rc = verify_headers(v, err)) < 0)
		return rc;
	if (hn_vertex_is_block(v))
		return verify_full_block(ctx, v, height, flags, err);
	return verify_full_tx(ctx, v, flags, err);
}

int hn_verify_vertex(const struct hn_verify_ctx *ctx,
		     const struct hn_vertex *v, uint64_t height, int flags,
		     struct hn_verr *err)
{
	int rc;

	if (err) {
		err->code = HN_VERR_NONE;
		err->msg[0] = 0;
	}
	if (!hn_network_is_genesis(ctx->net, v->hash) &&
	    (rc = feature_flags(ctx, v, &flags, err)) < 0)
		return rc;
	if ((rc = hn_verify_basic(ctx, v, height, flags, err)) < 0)
		return rc;
	return hn_verify_full(ctx, v, height, flags, err);
}
