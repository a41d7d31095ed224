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
 * Blocks are read through a callback, so the machine runs over the store
 * (hn_fa_store_get) or any other block source.  States of boundary blocks
 * are memoized by hash (they depend only on their ancestry, so reorgs
 * cannot invalidate them); bit counts are recomputed by walking at most one
 * evaluation interval of parents.  Loop thread only.
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

/* Fills *@out for block @hash: 0, HN_ENOENT, or another negative code. */
typedef int (*hn_fa_get_fn)(void *arg, const uint8_t hash[32],
			    struct hn_fa_block *out);

struct hn_fa;

/* A machine for @net (borrowed).  NULL on ENOMEM. */
struct hn_fa *hn_fa_new(const struct hn_network *net, hn_fa_get_fn get,
			void *arg);
void hn_fa_free(struct hn_fa *fa);

/* hn_fa_get_fn over a store (@arg is the struct hn_store *): height from
 * the metadata, parent and signal bits from the stored block. */
int hn_fa_store_get(void *arg, const uint8_t hash[32],
		    struct hn_fa_block *out);

/* State of every feature of the network (net->n_features entries, in
 * order) at block @hash (get_state).  0 or a negative code (HN_ERANGE:
 * more than HN_FA_MAX_FEATURES). */
int hn_fa_states(struct hn_fa *fa, const uint8_t hash[32],
		 enum hn_feature_state *out);

/* feature_activation_bit_counts of @hash: for each bit, the blocks
 * signalling it from the last boundary up to @hash, both included. */
int hn_fa_bit_counts(struct hn_fa *fa, const uint8_t hash[32],
		     uint32_t counts[HN_FA_MAX_BITS]);

/* is_signaling_mandatory_features(): 0 when block @hash signals every
 * feature in MUST_SIGNAL enough to still reach its threshold in this
 * interval; 1 with *@feature (index) when one can no longer reach it;
 * negative on error. */
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

/* Index of the feature named @name in @net, or -1. */
int hn_fa_feature_index(const struct hn_network *net, const char *name);

/* Boundary states memoized so far (tests). */
size_t hn_fa_memo_size(const struct hn_fa *fa);

#endif /* HN_CORE_FEATURE_H */
