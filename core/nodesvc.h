/*
 * nodesvc.h: the node service, one synchronous function per host->core
 * call of ARCHITECTURE.md (the P2P code's view of the node), implemented
 * directly over the ledger.  core/ipc_* wraps these into the plugin ABI
 * (in-process) and into JSON-RPC on node.ipc (separate host).
 *
 * All functions run on the loop thread and are bounded: lookups are
 * indexed; list results are capped by their count arguments or by
 * HN_NODESVC_MAX_LIST.  Outputs are plain C structs; malloc'd members are
 * released with the matching *_release() (NULL-safe).  Hashes are 32
 * bytes, display order.  Functions return 0 or a negative enum hn_err:
 * HN_ENOENT "not found", HN_EINVAL bad argument (count out of range, not a
 * block), HN_EPARSE bad bytes, HN_EIO storage failure.
 */
#ifndef HN_CORE_NODESVC_H
#define HN_CORE_NODESVC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"
#include "store.h"

struct hn_verr;

#define HN_NODESVC_MAX_LIST 100000      /* hard cap on any list result */
#define HN_NODESVC_MAX_HEIGHT_TIPS 1000 /* get_n_height_tips n */
#define HN_NODESVC_MAX_RANGE 10000      /* get_hashes_and_next_idx count */

/* A vertex as the node service returns it: bytes + metadata. */
struct hn_nodesvc_vertex {
	uint8_t *bytes;         /* malloc'd wire bytes */
	size_t len;
	struct hn_vmeta meta;   /* fields as requested */
};
void hn_nodesvc_vertex_release(struct hn_nodesvc_vertex *v);

/* (height, hash) of the best chain: HeightInfo. */
struct hn_height_info {
	uint64_t height;
	uint8_t hash[32];
};

/* One input to a batch call (borrowed). */
struct hn_buf {
	const uint8_t *data;
	size_t len;
};

/* --- vertex intake (VertexHandler) -------------------------------------- */

/* Which VertexHandler entry point (verification params, see ledger.h). */
enum hn_nodesvc_origin {
	HN_ORIGIN_VERTEX = 0,   /* on_new_vertex (generic) */
	HN_ORIGIN_BLOCK,        /* on_new_block (sync block stream) */
	HN_ORIGIN_MEMPOOL,      /* on_new_mempool_transaction */
	HN_ORIGIN_RELAYED,      /* on_new_relayed_vertex */
};

/* on_new_vertex(vertex, fails_silently): hn_ledger_add_vertex() with the
 * flags of @origin.  An already stored identical vertex returns 0 with
 * res->stored false (the reference returns False without error for it
 * when fails_silently).  Other return codes as hn_ledger_add_vertex. */
int hn_nodesvc_on_new_vertex(struct hn_ledger *l, const uint8_t *bytes,
			     size_t len, enum hn_nodesvc_origin origin,
			     struct hn_ledger_result *res);

/* on_new_block(block, deps): adds @deps (transactions, any order; sorted
 * by timestamp here) then @block, all in one batch commit.  A failing dep
 * fails the block (the block is not added); deps accepted before it stay.
 * @res (may be NULL) gets the block's outcome; @dep_res (may be NULL, @n_deps
 * entries) each dep's. */
int hn_nodesvc_on_new_block(struct hn_ledger *l, const uint8_t *block,
			    size_t block_len, const struct hn_buf *deps,
			    size_t n_deps, struct hn_ledger_result *res,
			    struct hn_ledger_result *dep_res);

/* Batch form: @n vertices of @origin in one commit, in order
 * (dependencies first).  Stops after the first vertex rejected for a
 * reason other than "already stored" (as the sync streams do); res[i] is
 * filled for the *@n_done (<= n) vertices handled.  Returns the number
 * newly stored (>= 0), or HN_EIO when the commit failed (then nothing is
 * stored and every res[i].stored is false). */
int hn_nodesvc_on_new_vertices(struct hn_ledger *l, const struct hn_buf *v,
			       size_t n, enum hn_nodesvc_origin origin,
			       struct hn_ledger_result *res, size_t *n_done);

/* verify_basic(vertex): decode + hn_verify_basic (parents not needed).
 * Returns 0, HN_EPARSE, or HN_ECONSENSUS with @verr (may be NULL) set. */
int hn_nodesvc_verify_basic(struct hn_ledger *l, const uint8_t *bytes,
			    size_t len, struct hn_verr *verr);

/* publish(key, **kwargs): emits HN_LEV_PUBLISHED with @key and @json (an
 * object, may be NULL) to the ledger's subscribers. */
int hn_nodesvc_publish(struct hn_ledger *l, const char *key,
		       const char *json);

/* --- reads --------------------------------------------------------------- */

/* get_genesis(id): the genesis vertex @hash (bytes + metadata), or
 * HN_ENOENT if @hash is not a genesis of this network. */
int hn_nodesvc_get_genesis(struct hn_ledger *l, const uint8_t hash[32],
			   struct hn_nodesvc_vertex *out);
/* get_vertex(id) / get_block(id) (HN_EINVAL if not a block).  @fields:
 * enum hn_vmeta_fields. */
int hn_nodesvc_get_vertex(struct hn_ledger *l, const uint8_t hash[32],
			  int fields, struct hn_nodesvc_vertex *out);
int hn_nodesvc_get_block(struct hn_ledger *l, const uint8_t hash[32],
			 int fields, struct hn_nodesvc_vertex *out);
/* Batch lookup with the metadata sync needs (one entry per hash). */
struct hn_nodesvc_vinfo {
	bool found;             /* false: nothing else is set */
	uint8_t hash[32];
	uint8_t *bytes;         /* malloc'd wire bytes */
	size_t len;
	bool is_block;
	bool voided;            /* voided_by not empty */
	bool fully_valid;       /* always true for stored vertices */
	int64_t height;         /* blocks: height; transactions: -1 */
	bool has_first_block;   /* transactions: confirmed by a block */
	uint8_t first_block[32];
	int64_t first_block_height; /* -1 when none */
};
/* Fills out[0..n-1].  Returns 0 or HN_EIO / HN_EINVAL (n too large). */
int hn_nodesvc_get_vertices(struct hn_ledger *l, const uint8_t (*hashes)[32],
			    size_t n, struct hn_nodesvc_vinfo *out);
void hn_nodesvc_vinfo_release(struct hn_nodesvc_vinfo *v, size_t n);

/* get_parent_block(block): the parent block of block @hash. */
int hn_nodesvc_get_parent_block(struct hn_ledger *l, const uint8_t hash[32],
				int fields, struct hn_nodesvc_vertex *out);

/* get_latest_timestamp / get_first_timestamp of stored vertices. */
int hn_nodesvc_get_latest_timestamp(struct hn_ledger *l, uint64_t *out);
int hn_nodesvc_get_first_timestamp(struct hn_ledger *l, uint64_t *out);

/* vertex_exists(id): fully validated and stored.  Cannot fail (a storage
 * error reads as false, logged). */
bool hn_nodesvc_vertex_exists(struct hn_ledger *l, const uint8_t hash[32]);
/* Batch: out[i] = vertex_exists(hashes[i]).  Returns 0 or HN_EIO. */
int hn_nodesvc_vertex_exists_many(struct hn_ledger *l,
				  const uint8_t (*hashes)[32], size_t n,
				  bool *out);
/* partial_vertex_exists(id): stored in any validation state. */
bool hn_nodesvc_partial_vertex_exists(struct hn_ledger *l,
				      const uint8_t hash[32]);

/* can_validate_full(vertex): every dependency (parents except a block's
 * parent block, spent txs) is stored fully valid.  Genesis: true.
 * Returns 0 with *@out set, or HN_EPARSE. */
int hn_nodesvc_can_validate_full(struct hn_ledger *l, const uint8_t *bytes,
				 size_t len, bool *out);

/* compare_bytes_with_local_vertex(vertex): *@equal says whether the stored
 * vertex with the same hash has exactly these bytes (a mismatch is logged
 * as the reference does).  HN_ENOENT if not stored, HN_EPARSE. */
int hn_nodesvc_compare_bytes_with_local_vertex(struct hn_ledger *l,
					       const uint8_t *bytes,
					       size_t len, bool *equal);

/* get_best_block(). */
int hn_nodesvc_get_best_block(struct hn_ledger *l, int fields,
			      struct hn_nodesvc_vertex *out);
/* get_best_block_tips(): non-voided block tips with the best score. */
int hn_nodesvc_get_best_block_tips(struct hn_ledger *l,
				   struct hn_hash_list *out);
/* get_n_height_tips(n): the best chain's top @n (1..1000) (height, hash)
 * entries, best first; *@n_out <= n (fewer near genesis).  @out has room
 * for @n entries. */
int hn_nodesvc_get_n_height_tips(struct hn_ledger *l, size_t n,
				 struct hn_height_info *out, size_t *n_out);
/* height_index_get(height): HN_ENOENT above the best height. */
int hn_nodesvc_height_index_get(struct hn_ledger *l, uint64_t height,
				uint8_t hash[32]);
/* Batch: heights[i] -> out[i]; found[i] false where missing. */
int hn_nodesvc_height_index_get_many(struct hn_ledger *l,
				     const uint64_t *heights, size_t n,
				     uint8_t (*out)[32], bool *found);

/* get_mempool_tips(): set of tx ids. */
int hn_nodesvc_get_mempool_tips(struct hn_ledger *l,
				struct hn_hash_list *out);
/* get_tx_tips(timestamp): intervals of the tx tips index at @timestamp
 * (@has_ts false: latest timestamp).  *@out malloc'd, *@n entries; end is
 * UINT64_MAX for an open interval. */
int hn_nodesvc_get_tx_tips(struct hn_ledger *l, bool has_ts,
			   uint64_t timestamp, struct hn_tip_interval **out,
			   size_t *n);

/* get_merkle_tree(timestamp): sha256 over the sorted hashes of all tips
 * (blocks and txs, all_tips index) at @timestamp; @hashes gets the sorted
 * hashes. */
int hn_nodesvc_get_merkle_tree(struct hn_ledger *l, uint64_t timestamp,
			       uint8_t merkle[32], struct hn_hash_list *hashes);

/* get_hashes_and_next_idx(from_idx, count): RangeIdx is (timestamp,
 * offset) over all vertices ordered by (timestamp, hash).  @count 1..10000.
 * *@has_next false means the reference's None. */
int hn_nodesvc_get_hashes_and_next_idx(struct hn_ledger *l,
				       uint64_t from_ts, uint64_t from_off,
				       size_t count, struct hn_hash_list *out,
				       bool *has_next, uint64_t *next_ts,
				       uint64_t *next_off);

#endif /* HN_CORE_NODESVC_H */
