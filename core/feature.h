/*
 * feature.h: the feature-activation state machine (hathor-core
 * hathor/feature_activation/feature_service.py, model/feature_state.py,
 * static_metadata.py feature_activation_bit_counts).
 *
 * Every feature of a network (struct hn_network features[]) has a state per
 * block.  States change only at boundary blocks (height a multiple of
 * feature_evaluation_interval); a block between boundaries has the state of
 * the boundary before it.  At a boundary, from the previous boundary's
 * state:
 *   DEFINED     -> STARTED at height >= start_height
 *   STARTED     -> FAILED at height >= timeout_height (unless
 *                  lock_in_on_timeout); LOCKED_IN when height <
 *                  timeout_height and the previous interval counted
 *                  >= threshold blocks signalling the bit; MUST_SIGNAL when
 *                  lock_in_on_timeout and the next boundary reaches timeout
 *   MUST_SIGNAL -> LOCKED_IN
 *   LOCKED_IN   -> ACTIVE at height >= minimum_activation_height
 *   ACTIVE, FAILED stay.
 * The genesis block is DEFINED for every feature.
 *
 * Each block has a record (struct hn_fa_rec): its states and its rolling
 * bit counts since the last boundary, both derived from its parent's
 * record and its own signal bits in O(1), as the reference's static
 * metadata.  Records are cached in memory by hash and, with a
 * struct hn_fa_source that has load/save (the ledger's: the store's
 * feature_block table), persisted; a record depends only on the block's
 * ancestry, so reorgs cannot invalidate one.  A block without a record
 * (an older database, a machine without persistence) gets one by walking
 * back to the nearest block with one, over the height index where the
 * source has one (no deep stack on a long best chain).  Loop thread only.
 */
#ifndef HN_CORE_FEATURE_H
#define HN_CORE_FEATURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hn_daa_config;
struct hn_network;
struct hn_store;

#define HN_FA_MAX_FEATURES 16
#define HN_FA_MAX_BITS 8

enum hn_feature_state {
	HN_FS_DEFINED = 0,
	HN_FS_STARTED,
	HN_FS_MUST_SIGNAL,
	HN_FS_LOCKED_IN,
	HN_FS_ACTIVE,
	HN_FS_FAILED,
};

/* "DEFINED", "STARTED", ... as FeatureState.value. */
const char *hn_feature_state_name(enum hn_feature_state s);

/* What the machine needs of a block. */
struct hn_fa_block {
	uint64_t height;
	uint8_t parent[32];             /* block parent (unused at height 0) */
	uint8_t signal_bits;
};

/* A block's record: height, states (4 bits per feature, feature 0 in the
 * lowest bits) and feature_activation_bit_counts. */
struct hn_fa_rec {
	uint64_t height;
	uint64_t states;
	uint32_t counts[HN_FA_MAX_BITS];
};

/* Fills *@out for block @hash: 0, HN_ENOENT, or another negative code. */
typedef int (*hn_fa_get_fn)(void *arg, const uint8_t hash[32],
			    struct hn_fa_block *out);

/* Where blocks and records come from.  Only get is required. */
struct hn_fa_source {
	hn_fa_get_fn get;
	/* Persisted record of @hash: 0 or HN_ENOENT. */
	int (*load)(void *arg, const uint8_t hash[32], struct hn_fa_rec *out);
	/* Persists a record just computed. */
	int (*save)(void *arg, const uint8_t hash[32],
		    const struct hn_fa_rec *rec);
	/* Best chain: the block at @height (HN_ENOENT above the best). */
	int (*at_height)(void *arg, uint64_t height, uint8_t out[32]);
	void *arg;
};

struct hn_fa;

/* A machine for @net (borrowed) reading blocks through @get, records in
 * memory only.  NULL on ENOMEM. */
struct hn_fa *hn_fa_new(const struct hn_network *net, hn_fa_get_fn get,
			void *arg);
/* The same over @src (copied). */
struct hn_fa *hn_fa_new_src(const struct hn_network *net,
			    const struct hn_fa_source *src);
void hn_fa_free(struct hn_fa *fa);

/* hn_fa_get_fn over a store (@arg is the struct hn_store *): height from
 * the metadata, parent and signal bits from the stored block. */
int hn_fa_store_get(void *arg, const uint8_t hash[32],
		    struct hn_fa_block *out);

/* A short text naming everything of @net the records depend on
 * (interval, bits, every feature's criteria), to drop persisted records
 * when it changes (hn_store_fa_key). */
void hn_fa_net_key(const struct hn_network *net, char *out, size_t outlen);

/* Record of block @hash (computed, cached and saved if needed). */
int hn_fa_rec(struct hn_fa *fa, const uint8_t hash[32],
	      struct hn_fa_rec *out);
/* Record a block with @signal_bits on @parent would have (nothing saved):
 * for verifying a block not stored yet. */
int hn_fa_child_rec(struct hn_fa *fa, const uint8_t parent[32],
		    uint8_t signal_bits, struct hn_fa_rec *out);
/* Computes, caches and saves the record of block @hash, @b (called when
 * the block is stored, inside its transaction). */
int hn_fa_block_stored(struct hn_fa *fa, const uint8_t hash[32],
		       const struct hn_fa_block *b);

/* State of feature @idx in @rec. */
enum hn_feature_state hn_fa_rec_state(const struct hn_fa_rec *rec,
				      size_t idx);

/* State of every feature of the network (net->n_features entries, in
 * order) at block @hash (get_state).  0 or a negative code (HN_ERANGE:
 * more than HN_FA_MAX_FEATURES). */
int hn_fa_states(struct hn_fa *fa, const uint8_t hash[32],
		 enum hn_feature_state *out);

/* feature_activation_bit_counts of @hash: for each bit, the blocks
 * signalling it from the last boundary up to @hash, both included. */
int hn_fa_bit_counts(struct hn_fa *fa, const uint8_t hash[32],
		     uint32_t counts[HN_FA_MAX_BITS]);

/* is_signaling_mandatory_features() of a block with record @rec: 0 when
 * it signals every feature in MUST_SIGNAL enough to still reach its
 * threshold in this interval; 1 with *@feature (index) when one can no
 * longer reach it. */
int hn_fa_rec_missing_signal(struct hn_fa *fa, const struct hn_fa_rec *rec,
			     size_t *feature);
/* The same for stored block @hash; negative on error. */
int hn_fa_missing_signal(struct hn_fa *fa, const uint8_t hash[32],
			 size_t *feature);

/* get_activation_height(): the height of the first boundary where feature
 * @idx is ACTIVE in @hash's chain, 0 and *@found false when it is not
 * active at @hash. */
int hn_fa_activation_height(struct hn_fa *fa, const uint8_t hash[32],
			    size_t idx, bool *found, uint64_t *height);

/* DAAFactory.create_from_parent: the DAA of a block whose parent is
 * @parent (at @parent_height).  V2 (hn_daa_config_v2) when the network's
 * REDUCE_DAA_TARGET is ACTIVE at @parent, so from the block after the
 * activation block on; *@v2_start (may be NULL) is then the height of
 * the first V2 block (activation height + 1).  V1 and 0 otherwise.
 * Below the lowest height the feature could be active at, no block is
 * read. */
int hn_fa_daa_config(struct hn_fa *fa, const uint8_t parent[32],
		     uint64_t parent_height, struct hn_daa_config *cfg,
		     uint64_t *v2_start);

/* A copy of the unittests network @base whose feature table is @spec,
 * for tests of the daemon (--test-features): comma-separated
 * NAME:BIT:START:TIMEOUT:MINACT[:lock][:support] entries (lock:
 * lock_in_on_timeout; support: signal_support_by_default; bit below
 * feature_max_signal_bits).  malloc'd, freed with
 * hn_fa_test_network_free(); NULL with @err set on a bad spec, another
 * base network or ENOMEM. */
struct hn_network *hn_fa_test_network(const struct hn_network *base,
				      const char *spec, char *err,
				      size_t errlen);
void hn_fa_test_network_free(struct hn_network *net);

/* Index of the feature named @name in @net, or -1. */
int hn_fa_feature_index(const struct hn_network *net, const char *name);

/* Blocks read through get so far (tests: what a query cost). */
uint64_t hn_fa_reads(const struct hn_fa *fa);

#endif /* HN_CORE_FEATURE_H */
