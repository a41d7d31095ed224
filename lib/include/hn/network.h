/*
 * hn/network.h: consensus and network parameters of the known Hathor
 * networks, and their genesis vertices.
 *
 * Values come from hathor-core (hathorlib/hathorlib/conf/settings.py and
 * the per-network *.yml).  The three genesis vertices are rebuilt from their
 * parameters the first time a network is looked up and checked against the
 * published hashes; a mismatch is a bug in this file and makes the lookup
 * fail (logged).  Returned structs are static and immutable: never freed,
 * safe to share between threads.
 */
#ifndef HN_NETWORK_H
#define HN_NETWORK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How a consensus feature is switched on (settings.py FeatureSetting). */
enum hn_feature_setting {
	HN_FEATURE_DISABLED = 0,
	HN_FEATURE_ENABLED,
	HN_FEATURE_ACTIVATION,  /* follows the feature-activation process */
};

enum hn_consensus_algorithm {
	HN_CONSENSUS_POW = 0,
	HN_CONSENSUS_POA,
};

/* One feature of the feature-activation process (feature_activation/). */
struct hn_feature {
	const char *name;               /* "NANO_CONTRACTS", ... */
	uint8_t bit;                    /* signal bit */
	uint64_t start_height;
	uint64_t timeout_height;
	uint64_t minimum_activation_height;
	bool lock_in_on_timeout;
	const char *version;            /* node version that added it */
	bool signal_support_by_default;
	uint32_t threshold;             /* 0: use default_threshold */
};

struct hn_checkpoint {
	uint64_t height;
	uint8_t hash[32];               /* display order */
};

/* One rebuilt genesis vertex. */
struct hn_genesis_vertex {
	uint8_t bytes[80];              /* serialized vertex */
	size_t len;                     /* used bytes of bytes[] */
	uint8_t hash[32];               /* display order, checked */
	uint64_t nonce;
	uint32_t timestamp;
	double weight;
};

struct hn_network {
	const char *name;               /* our name: "mainnet", ... */
	const char *p2p_network;        /* NETWORK_NAME sent in HELLO */
	uint8_t p2pkh_version_byte;     /* address version bytes */
	uint8_t multisig_version_byte;
	enum hn_consensus_algorithm consensus; /* all known nets are PoW */

	/* Genesis parameters and the vertices built from them. */
	const char *genesis_output_script_hex; /* P2PKH of the genesis output */
	uint64_t genesis_token_units;   /* 10^9 HTR = 10^11 atomic units */
	struct hn_genesis_vertex genesis_block;
	struct hn_genesis_vertex genesis_tx1;
	struct hn_genesis_vertex genesis_tx2;
	/* First 7 hex chars of sha256(block_hash||tx1_hash||tx2_hash), the
	 * genesis_short_hash of HELLO. */
	char genesis_short_hash[8];

	/* Weights. */
	double min_block_weight;        /* MIN_BLOCK_WEIGHT (DAA floor) */
	double min_share_weight;        /* MIN_SHARE_WEIGHT (stratum) */
	double min_tx_weight;           /* MIN_TX_WEIGHT */
	double min_tx_weight_coefficient; /* 1.6 mainnet, 0 testnets */
	double min_tx_weight_k;         /* 100 mainnet, 0 testnets */
	double max_tx_weight_diff;      /* tx weight <= min + this ... */
	double max_tx_weight_diff_activation; /* ... when weight > this */
	double weight_tol;              /* WEIGHT_TOL = 1e-10 */

	/* DAA (hathor/daa/). */
	uint32_t avg_time_between_blocks; /* seconds, 30 */
	/* REDUCE_DAA_TARGET: 10 x avg time once activated (75 = 7.5 s). */
	uint32_t reduced_avg_time_between_blocks_10x;
	uint32_t block_difficulty_n_blocks; /* 134 */
	uint32_t max_distance_between_blocks; /* seconds, 4500 */
	bool weight_decay_enabled;
	uint32_t weight_decay_activate_distance; /* seconds, 3600 */
	uint32_t weight_decay_window_size; /* seconds, 60 */
	double weight_decay_amount;     /* 2.73 */

	/* Block reward (atomic units; 1 HTR = 100). */
	uint64_t initial_token_units_per_block; /* 6400 */
	uint64_t minimum_token_units_per_block; /* 800 */
	uint64_t blocks_per_halving;    /* 0: never halves */
	uint32_t reward_spend_min_blocks; /* REWARD_SPEND_MIN_BLOCKS */
	uint32_t decimal_places;        /* 2 */

	/* Timestamps. */
	uint32_t max_future_timestamp_allowed; /* seconds, 300 */

	/* Tokens. */
	uint64_t token_deposit_percentage_numerator;   /* 10^7 */
	uint64_t token_deposit_percentage_denominator; /* 10^9 (=1%) */
	uint32_t max_length_token_name; /* 30 */
	uint32_t max_length_token_symbol; /* 5 */
	uint32_t fee_per_output_v1;     /* FEE_PER_OUTPUT_V1 */

	/* Structural limits (verification; the codec enforces the wire caps). */
	uint32_t max_serialized_vertex_size; /* 48000 */
	uint32_t block_data_max_size;   /* 100 */
	uint32_t max_num_inputs;        /* 255 */
	uint32_t max_num_outputs;       /* 255 */
	uint32_t max_output_script_size; /* 1024 */
	uint32_t max_input_data_size;   /* 1024 */
	uint32_t pushtx_max_output_script_size; /* 256, standardness */
	uint32_t max_tx_sigops_input;   /* 1275 */
	uint32_t max_tx_sigops_output;  /* 1275 */
	uint32_t max_multisig_pubkeys;  /* 20 */
	uint32_t max_multisig_signatures; /* 15 */
	uint32_t max_data_script_outputs; /* 25 */
	uint32_t old_max_merkle_path_length; /* 12 */
	uint32_t new_max_merkle_path_length; /* 20 */

	/* Features. */
	enum hn_feature_setting enable_nano_contracts;
	enum hn_feature_setting enable_fee_based_tokens;
	enum hn_feature_setting enable_opcodes_v2;
	enum hn_feature_setting enable_daa_v2; /* REDUCE_DAA_TARGET */
	enum hn_feature_setting restrict_dup_actions;
	bool enable_shielded_transactions;
	uint32_t feature_evaluation_interval; /* blocks, 20160 default */
	uint32_t feature_default_threshold;   /* blocks */
	uint32_t feature_max_signal_bits;     /* 4 */
	size_t n_features;
	const struct hn_feature *features;

	/* Checkpoints (ascending height). */
	size_t n_checkpoints;
	const struct hn_checkpoint *checkpoints;

	/* P2P. */
	bool enable_peer_whitelist;
	const char *whitelist_url;      /* NULL if none */
	size_t n_bootstrap_dns;
	const char *const *bootstrap_dns;
	uint16_t default_p2p_port;      /* 40403 */

	/* Consensus exceptions: SOFT_VOIDED_TX_IDS (always voided, with
	 * everything that spends or confirms them) and SKIP_VERIFICATION
	 * (accepted without verification).  Display order. */
	size_t n_soft_voided_tx_ids;
	const uint8_t (*soft_voided_tx_ids)[32];
	size_t n_skip_verification;
	const uint8_t (*skip_verification)[32];
};

/* Looks up a network by name ("mainnet", "testnet-india" (alias
 * "testnet"), "testnet-golf", "testnet-hotel", "unittests",
 * "nano-testnet-bravo" (alias "nano-testnet"), "privatenet" (alias
 * "localnet")).  Returns a static struct, or NULL if unknown or its genesis
 * does not reproduce the published hashes. */
const struct hn_network *hn_network_by_name(const char *name);

/* NULL-terminated list of the canonical names, for usage messages. */
const char *const *hn_network_names(void);

/* True if @hash is one of the three genesis hashes of @net. */
bool hn_network_is_genesis(const struct hn_network *net, const uint8_t hash[32]);

/* True if @hash is in SOFT_VOIDED_TX_IDS / SKIP_VERIFICATION of @net. */
bool hn_network_is_soft_voided(const struct hn_network *net,
			       const uint8_t hash[32]);
bool hn_network_skips_verification(const struct hn_network *net,
				   const uint8_t hash[32]);

#endif /* HN_NETWORK_H */
