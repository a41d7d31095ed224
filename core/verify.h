/*
 * verify.h: vertex verification for PoW networks (hathor/verification/),
 * for Block, MergeMinedBlock, Transaction and TokenCreationTransaction.
 *
 * Three levels, as the reference's VerificationService:
 *  - hn_verify_without_storage(): the vertex alone (PoW, outputs, data,
 *    sigops of outputs, token indexes, signal bits);
 *  - hn_verify_basic(): also needs the parent block chain for blocks (DAA
 *    weight, reward) and nothing for txs (parents count, min/max weight),
 *    and includes verify_without_storage for txs;
 *  - hn_verify_full(): everything with dependencies (parents, spent
 *    outputs, scripts and signatures, balances, reward lock, aux-pow).
 *
 * Storage is reached only through struct hn_verify_ctx callbacks.
 * Feature activation: the DAA of a block (V1, or V2 once REDUCE_DAA_TARGET
 * is ACTIVE at its parent) comes from the daa_config callback;
 * COUNT_CHECKDATASIG_OP and OPCODES_V2 follow their state at the block
 * the parameters come from (a block's parent, the best block for a tx:
 * ctx->features), INCREASE_MAX_MERKLE_PATH_LENGTH its state at the
 * merge-mined block itself, unless the network setting enables or
 * disables them outright; the mempool and relay parameters force the
 * restrictive forms.  Nano contracts and fee tokens follow their network
 * setting only; vertices carrying headers are refused.
 */
#ifndef HN_VERIFY_H
#define HN_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hn_network;
struct hn_vertex;
struct hn_daa_block;
struct hn_daa_config;

/* Which rule refused a vertex (struct hn_verr.code). */
enum hn_verr_code {
	HN_VERR_NONE = 0,
	HN_VERR_VERSION = 1,    /* InvalidVersionError */
	HN_VERR_TIMESTAMP = 2,  /* TimestampError (parents, inputs, age) */
	HN_VERR_PARENTS = 3,    /* IncorrectParents, DuplicatedParents */
	HN_VERR_MISSING = 4,    /* ParentDoesNotExist */
	HN_VERR_WEIGHT = 5,     /* WeightError */
	HN_VERR_REWARD = 6,     /* InvalidBlockReward */
	HN_VERR_POW = 7,        /* PowError */
	HN_VERR_OUTPUTS = 8,    /* InvalidOutputValue, TooManyOutputs, script size */
	HN_VERR_INPUTS = 9,     /* TooMany/TooFewInputs, data size, ConflictingInputs */
	HN_VERR_SCRIPT = 10,    /* InvalidInputData (script evaluation) */
	HN_VERR_SIGOPS = 11,    /* TooManySigOps */
	HN_VERR_TOKENS = 12,    /* InvalidToken, TooManyTokens, UnusedTokens */
	HN_VERR_BALANCE = 13,   /* InputOutputMismatch, ForbiddenMint/Melt */
	HN_VERR_DATA = 14,      /* TransactionDataError (block data, token info) */
	HN_VERR_AUX_POW = 15,   /* aux-pow magic / merkle path */
	HN_VERR_REWARD_LOCKED = 16, /* RewardLocked */
	HN_VERR_HEADERS = 17,   /* TooManyHeaders, HeaderNotSupported */
	HN_VERR_SIGNAL_BITS = 18, /* UnknownSignalBits */
	HN_VERR_CHECKPOINT = 19, /* CheckpointError */
	HN_VERR_INTERNAL = 20,  /* storage or memory failure while verifying */
	HN_VERR_INPUT_MISSING = 21, /* InexistentInput (spent tx or output) */
	HN_VERR_CONFLICT = 22,  /* ConflictWithConfirmedTx, InputVoidedAndConfirmed,
				 * TooManyWithin/BetweenConflicts */
	HN_VERR_MUST_SIGNAL = 23, /* BlockMustSignalError */
};

/* Short stable name of a code ("invalid-pow", "parent-not-found", ...),
 * the first word of every rejection message the ledger returns. */
const char *hn_verr_name(int code);

struct hn_verr {
	int code;               /* enum hn_verr_code */
	char msg[240];
};

/* What verification needs to know about a stored vertex. */
struct hn_verify_info {
	bool is_block;
	uint8_t version;
	uint32_t timestamp;
	double weight;
	uint64_t height;        /* blocks */
	uint64_t min_height;    /* reward lock min_height (static metadata) */
	bool is_genesis;
	bool voided;            /* has voided_by */
	bool has_first_block;
};

/* Feature activation states as verification needs them (bit i stands
 * for net->features[i]). */
struct hn_verify_features {
	/* ACTIVE at the block the verification parameters come from
	 * (Features.from_vertex): a block's parent; for a tx the best
	 * block. */
	uint32_t active;
	/* Blocks: ACTIVE at the block itself (is_feature_active(block)). */
	uint32_t active_self;
	/* Blocks: the index of a feature in MUST_SIGNAL the block fails to
	 * signal enough to still reach its threshold
	 * (is_signaling_mandatory_features), -1 when none. */
	int missing_signal;
};

/* Storage access.  Every callback returns 0, HN_ENOENT if the vertex is
 * unknown, or another negative code on failure. */
struct hn_verify_ctx {
	const struct hn_network *net;
	void *arg;
	/* Info about @hash. */
	int (*get_info)(void *arg, const uint8_t hash[32],
			struct hn_verify_info *out);
	/* Decoded vertex @hash (caller frees with hn_vertex_free). */
	int (*get_vertex)(void *arg, const uint8_t hash[32],
			  struct hn_vertex **out);
	/* @n blocks starting at block @hash and following parents[0]:
	 * out[0] is @hash itself. */
	int (*block_chain)(void *arg, const uint8_t hash[32], size_t n,
			   struct hn_daa_block *out);
	/* Transactions spending output @index of @tx (voided or not,
	 * spent_outputs[index]): the first min(n, @max) go to @out, *@n is
	 * how many there are.  NULL: conflicts are not checked. */
	int (*spenders)(void *arg, const uint8_t tx[32], uint8_t index,
			uint8_t (*out)[32], size_t max, size_t *n);
	/* Height of the best block (get_minimum_best_height). */
	int (*best_height)(void *arg, uint64_t *height);
	/* Wall clock, seconds (reactor.seconds()). */
	double (*now)(void *arg);
	/* The DAA (V1 or V2) of a block whose parent is @parent at
	 * @parent_height (hn_fa_daa_config).  NULL: always V1. */
	int (*daa_config)(void *arg, const uint8_t parent[32],
			  uint64_t parent_height, struct hn_daa_config *cfg);
	/* Feature states for @v (a block: from its parent's record and its
	 * own signal bits, the block not stored yet; a tx: at the best
	 * block).  NULL: no feature is active, no block must signal. */
	int (*features)(void *arg, const struct hn_vertex *v,
			struct hn_verify_features *out);
	/* enum hn_daa_test_mode (0 outside tests). */
	unsigned test_mode;
};

/* VerificationParams. */
enum hn_verify_flags {
	/* reject_locked_reward (on by default in the reference; the sync
	 * path of blocks sets it, relayed vertices too). */
	HN_VERIFY_REJECT_LOCKED_REWARD = 1 << 0,
	/* VerificationParams.for_mempool + Features.for_mempool: too old
	 * vertices (36 h), harden_token_restrictions,
	 * reject_conflicts_with_confirmed_txs, OPCODES_V2 and
	 * COUNT_CHECKDATASIG_OP forced on. */
	HN_VERIFY_MEMPOOL = 1 << 1,
	/* skip_block_weight_verification. */
	HN_VERIFY_SKIP_BLOCK_WEIGHT = 1 << 2,
	/* Features.count_checkdatasig_op / opcodes_version V2: on when the
	 * feature (COUNT_CHECKDATASIG_OP, OPCODES_V2) is active for the
	 * vertex (hn_verify_vertex sets them from ctx->features and the
	 * network setting); the relay path sets them outright
	 * (Features.for_mempool), HN_VERIFY_MEMPOOL implies them. */
	HN_VERIFY_FA_CHECKDATASIG = 1 << 3,
	HN_VERIFY_FA_OPCODES_V2 = 1 << 4,
	/* INCREASE_MAX_MERKLE_PATH_LENGTH active at a merge-mined block
	 * itself (set by hn_verify_vertex). */
	HN_VERIFY_FA_MERKLE_PATH = 1 << 5,
};

/* verify_without_storage.  0 or HN_ECONSENSUS with @err set. */
int hn_verify_without_storage(const struct hn_network *net,
			      const struct hn_vertex *v, int flags,
			      struct hn_verr *err);

/* verify_basic.  Blocks need ctx (parent chain for the DAA) and
 * @height (the block's height: parent height + 1). */
int hn_verify_basic(const struct hn_verify_ctx *ctx,
		    const struct hn_vertex *v, uint64_t height, int flags,
		    struct hn_verr *err);

/* verify (full), excluding verify_basic. */
int hn_verify_full(const struct hn_verify_ctx *ctx,
		   const struct hn_vertex *v, uint64_t height, int flags,
		   struct hn_verr *err);

/* validate_full: basic then full.  Genesis vertices pass.  Returns 0,
 * HN_ECONSENSUS (rule broken), HN_ENOENT (dependency unknown; err->code
 * HN_VERR_MISSING or HN_VERR_INPUT_MISSING) or another negative code (err->code HN_VERR_INTERNAL).
 */
int hn_verify_vertex(const struct hn_verify_ctx *ctx,
		     const struct hn_vertex *v, uint64_t height, int flags,
		     struct hn_verr *err);

/* ConsensusAlgorithm._feature_activation_rules for mempool tx @v after
 * a reorg: the restrictive rules of the features in the network's table,
 * whatever their state (they held for the mempool all along):
 * COUNT_CHECKDATASIG_OP (the outputs' sigops with OP_CHECKDATASIG
 * counted) and OPCODES_V2 (the inputs run with V2 opcodes).  0 (still
 * valid, blocks always), HN_ECONSENSUS or HN_ENOENT (invalid, @err says
 * why) or another negative code (storage). */
int hn_verify_feature_recheck(const struct hn_verify_ctx *ctx,
			      const struct hn_vertex *v, struct hn_verr *err);

/* Everything that needs no storage: verify_without_storage for blocks,
 * verify_basic for txs (parents count, min/max weight, PoW, inputs,
 * outputs, tokens, sigops of outputs).  @now: wall clock for
 * HN_VERIFY_MEMPOOL's age check (ignored without it).  0 or
 * HN_ECONSENSUS with @err set. */
int hn_verify_standalone(const struct hn_network *net,
			 const struct hn_vertex *v, int flags, double now,
			 struct hn_verr *err);

/* The DAA (ctx->daa_config, V1 without it) of a block on @parent at
 * @parent_height. */
int hn_verify_daa_config(const struct hn_verify_ctx *ctx,
			 const uint8_t parent[32], uint64_t parent_height,
			 struct hn_daa_config *cfg);

/* The DAA weight a block at @timestamp on top of @parent must have. */
int hn_verify_block_weight(const struct hn_verify_ctx *ctx,
			   const uint8_t parent[32], uint32_t timestamp,
			   double *weight);

/* BitcoinAuxPow.verify(base hash, max merkle path length). */
int hn_verify_aux_pow(const struct hn_vertex *v, size_t max_merkle_path,
		      struct hn_verr *err);

#endif /* HN_VERIFY_H */
