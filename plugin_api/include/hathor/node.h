/*
 * hathor/node.h: the node service, the calls a plugin (the P2P plugin
 * above all) makes into the node's storage (see docs/plugin-abi.md and,
 * for the wire form, docs/ipc.md).
 *
 * Two implementations stand behind this one table and a plugin cannot tell
 * them apart: direct calls into the core (in-process) and JSON-RPC over
 * nng to the core's node.ipc (in hathor-p2p-host).  Both are asynchronous:
 *
 *  - A call returns 0 and later invokes its callback exactly once on the
 *    loop thread, never from inside the call; or it returns a negative
 *    code (HATHOR_EINVAL bad arguments, HATHOR_ERANGE too many items,
 *    HATHOR_EMSGSIZE request too large, HATHOR_ECLOSED shutting down) and
 *    never invokes it.
 *  - Every callback gets @rc (0 or a negative enum hathor_err) and @msg (a
 *    human-readable reason when @rc < 0, else NULL).  Result arguments are
 *    meaningful only when @rc == 0.  Everything passed to a callback is
 *    borrowed for the duration of the callback.
 *  - Input arrays and bytes are borrowed for the duration of the call only
 *    (the implementation copies what it keeps).
 *  - Link loss or a core-side failure gives @rc HATHOR_ECLOSED /
 *    HATHOR_ETIMEDOUT / HATHOR_EIO; a call is never silently dropped and a
 *    write (on_new_*) is never applied twice (adding a stored vertex is a
 *    no-op reported as HATHOR_ADD_KNOWN).
 *  - Batches are capped at HATHOR_NODE_MAX_BATCH items.
 *
 * Hashes are 32 bytes in the order the reference node displays them.
 * Result structs are frozen within an ABI major (arrays of them cannot
 * grow); new data comes through new methods appended to the table.
 */
#ifndef HATHOR_NODE_H
#define HATHOR_NODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hathor/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

#define HATHOR_NODE_MAX_BATCH 10000     /* items per batch call */
#define HATHOR_NODE_MAX_HEIGHT_TIPS 1000 /* get_n_height_tips n */
#define HATHOR_NODE_MAX_RANGE 10000     /* get_hashes_and_next_idx count */

/* A stored vertex with the metadata the P2P code needs. */
struct hathor_vinfo {
	bool found;                     /* false: nothing else is set */
	uint8_t hash[32];
	const uint8_t *bytes;           /* wire bytes */
	size_t len;
	bool is_block;
	bool voided;                    /* metadata voided_by not empty */
	bool fully_valid;               /* validation fully connected */
	int64_t height;                 /* blocks: height; txs: -1 */
	bool has_first_block;           /* txs: confirmed by a block */
	uint8_t first_block[32];
	int64_t first_block_height;     /* -1 when none / unknown */
	uint32_t timestamp;
	double weight;
	uint64_t reserved[4];           /* zero */
};

/* (height, hash) on the best chain (reference HeightInfo). */
struct hathor_height_info {
	uint64_t height;
	uint8_t hash[32];
};

/* A tip interval [begin, end) (end UINT64_MAX: open). */
struct hathor_tip_interval {
	uint64_t begin;
	uint64_t end;
	uint8_t hash[32];
};

/* Which VertexHandler entry point a vertex comes through; the node picks
 * verification parameters by it. */
enum hathor_origin {
	HATHOR_ORIGIN_VERTEX = 0,       /* on_new_vertex (generic) */
	HATHOR_ORIGIN_BLOCK = 1,        /* sync block stream */
	HATHOR_ORIGIN_MEMPOOL = 2,      /* mempool sync */
	HATHOR_ORIGIN_RELAYED = 3,      /* real-time relay */
};

enum hathor_add_status {
	HATHOR_ADD_ACCEPTED = 0,        /* new and stored (maybe voided) */
	HATHOR_ADD_KNOWN = 1,           /* already stored, nothing done */
	HATHOR_ADD_MISSING_DEPS = 2,    /* a parent or spent tx is unknown */
	HATHOR_ADD_INVALID = 3,         /* bad bytes or invalid by rules */
	HATHOR_ADD_FAILED = 4,          /* internal failure, not stored */
};

/* Outcome of adding one vertex. */
struct hathor_add_result {
	uint32_t status;                /* enum hathor_add_status */
	int code;                       /* 0 or the node's negative code */
	bool decoded;                   /* @hash is valid */
	uint8_t hash[32];
	bool is_block;
	bool voided;                    /* ACCEPTED but voided */
	bool best_changed;              /* best block changed */
	uint64_t height;                /* blocks: height */
	const char *msg;                /* reason when not ACCEPTED/KNOWN,
					 * else NULL */
	uint64_t reserved[2];           /* zero */
};

/* Callback types. */
typedef void (*hathor_done_cb)(void *arg, int rc, const char *msg);
typedef void (*hathor_bool_cb)(void *arg, int rc, const char *msg,
			       bool value);
typedef void (*hathor_bools_cb)(void *arg, int rc, const char *msg,
				size_t n, const bool *values);
typedef void (*hathor_u64_cb)(void *arg, int rc, const char *msg,
			      uint64_t value);
typedef void (*hathor_hash_cb)(void *arg, int rc, const char *msg,
			       const uint8_t hash[32]);
typedef void (*hathor_hashes_cb)(void *arg, int rc, const char *msg,
				 size_t n, const uint8_t (*hashes)[32]);
/* found[i] false: hashes[i] is all zero. */
typedef void (*hathor_hashes_found_cb)(void *arg, int rc, const char *msg,
				       size_t n, const bool *found,
				       const uint8_t (*hashes)[32]);
typedef void (*hathor_vertex_cb)(void *arg, int rc, const char *msg,
				 const struct hathor_vinfo *v);
typedef void (*hathor_vinfos_cb)(void *arg, int rc, const char *msg,
				 size_t n, const struct hathor_vinfo *v);
typedef void (*hathor_height_tips_cb)(void *arg, int rc, const char *msg,
				      size_t n,
				      const struct hathor_height_info *tips);
typedef void (*hathor_tip_intervals_cb)(void *arg, int rc, const char *msg,
					size_t n,
					const struct hathor_tip_interval *t);
typedef void (*hathor_merkle_cb)(void *arg, int rc, const char *msg,
				 const uint8_t merkle[32], size_t n,
				 const uint8_t (*hashes)[32]);
typedef void (*hathor_range_cb)(void *arg, int rc, const char *msg,
				size_t n, const uint8_t (*hashes)[32],
				bool has_next, uint64_t next_ts,
				uint64_t next_off);
/* @n results, one per vertex handled (a batch stops after the first
 * vertex that is neither ACCEPTED nor KNOWN).  @rc < 0 only when nothing
 * could be tried (then @n is 0). */
typedef void (*hathor_add_cb)(void *arg, int rc, const char *msg, size_t n,
			      const struct hathor_add_result *res);
/* verify_basic: @rc 0 valid; HATHOR_EPARSE / HATHOR_ECONSENSUS with
 * @msg and the verifier's @verr_code. */
typedef void (*hathor_verify_cb)(void *arg, int rc, const char *msg,
				 int verr_code);

/*
 * The table.  Names and meaning follow the reference node's P2P
 * dependencies (hathor/p2p/p2p_dependencies.py); "_many" forms are the
 * batch forms (one round trip in host mode).
 */
struct hathor_node_ops {
	uint32_t size;                  /* sizeof at the host's build */

	/* --- vertex intake (VertexHandler) --- */
	int (*on_new_vertex)(struct hathor_host *h, enum hathor_origin origin,
			     const uint8_t *bytes, size_t len,
			     hathor_add_cb cb, void *arg);
	/* @n vertices, dependencies first, one storage commit. */
	int (*on_new_vertices)(struct hathor_host *h,
			       enum hathor_origin origin, size_t n,
			       const uint8_t *const *bytes,
			       const size_t *lens, hathor_add_cb cb,
			       void *arg);
	/* A block and its dependencies (sync-v2 on_new_block); results:
	 * res[0] the block, res[1 + i] dep i (@n counts the ones handled). */
	int (*on_new_block)(struct hathor_host *h, const uint8_t *block,
			    size_t block_len, size_t n_deps,
			    const uint8_t *const *deps, const size_t *dep_lens,
			    hathor_add_cb cb, void *arg);
	int (*verify_basic)(struct hathor_host *h, const uint8_t *bytes,
			    size_t len, hathor_verify_cb cb, void *arg);
	/* Reference pubsub publish(key, **kwargs); @json: object or NULL. */
	int (*publish)(struct hathor_host *h, const char *key,
		       const char *json, hathor_done_cb cb, void *arg);

	/* --- single reads --- */
	/* HATHOR_ENOENT if @hash is not a genesis of this network. */
	int (*get_genesis)(struct hathor_host *h, const uint8_t hash[32],
			   hathor_vertex_cb cb, void *arg);
	/* HATHOR_ENOENT not stored. */
	int (*get_vertex)(struct hathor_host *h, const uint8_t hash[32],
			  hathor_vertex_cb cb, void *arg);
	/* HATHOR_EINVAL if not a block. */
	int (*get_block)(struct hathor_host *h, const uint8_t hash[32],
			 hathor_vertex_cb cb, void *arg);
	int (*get_parent_block)(struct hathor_host *h, const uint8_t hash[32],
				hathor_vertex_cb cb, void *arg);
	int (*get_best_block)(struct hathor_host *h, hathor_vertex_cb cb,
			      void *arg);
	int (*get_latest_timestamp)(struct hathor_host *h, hathor_u64_cb cb,
				    void *arg);
	int (*get_first_timestamp)(struct hathor_host *h, hathor_u64_cb cb,
				   void *arg);
	/* Stored and fully valid. */
	int (*vertex_exists)(struct hathor_host *h, const uint8_t hash[32],
			     hathor_bool_cb cb, void *arg);
	/* Stored in any validation state. */
	int (*partial_vertex_exists)(struct hathor_host *h,
				     const uint8_t hash[32],
				     hathor_bool_cb cb, void *arg);
	int (*can_validate_full)(struct hathor_host *h, const uint8_t *bytes,
				 size_t len, hathor_bool_cb cb, void *arg);
	/* value: the stored vertex of the same hash has exactly these bytes;
	 * HATHOR_ENOENT not stored. */
	int (*compare_bytes_with_local_vertex)(struct hathor_host *h,
					       const uint8_t *bytes,
					       size_t len, hathor_bool_cb cb,
					       void *arg);
	int (*get_best_block_tips)(struct hathor_host *h, hathor_hashes_cb cb,
				   void *arg);
	/* Best first; @n 1..HATHOR_NODE_MAX_HEIGHT_TIPS. */
	int (*get_n_height_tips)(struct hathor_host *h, size_t n,
				 hathor_height_tips_cb cb, void *arg);
	/* HATHOR_ENOENT above the best height. */
	int (*height_index_get)(struct hathor_host *h, uint64_t height,
				hathor_hash_cb cb, void *arg);
	int (*get_mempool_tips)(struct hathor_host *h, hathor_hashes_cb cb,
				void *arg);
	/* @has_ts false: at the latest timestamp. */
	int (*get_tx_tips)(struct hathor_host *h, bool has_ts,
			   uint64_t timestamp, hathor_tip_intervals_cb cb,
			   void *arg);
	int (*get_merkle_tree)(struct hathor_host *h, uint64_t timestamp,
			       hathor_merkle_cb cb, void *arg);
	/* RangeIdx (timestamp, offset); @count 1..HATHOR_NODE_MAX_RANGE. */
	int (*get_hashes_and_next_idx)(struct hathor_host *h,
				       uint64_t from_ts, uint64_t from_off,
				       size_t count, hathor_range_cb cb,
				       void *arg);

	/* --- batch reads --- */
	int (*get_vertices)(struct hathor_host *h, size_t n,
			    const uint8_t (*hashes)[32], hathor_vinfos_cb cb,
			    void *arg);
	int (*vertex_exists_many)(struct hathor_host *h, size_t n,
				  const uint8_t (*hashes)[32],
				  hathor_bools_cb cb, void *arg);
	int (*partial_vertex_exists_many)(struct hathor_host *h, size_t n,
					  const uint8_t (*hashes)[32],
					  hathor_bools_cb cb, void *arg);
	int (*height_index_get_many)(struct hathor_host *h, size_t n,
				     const uint64_t *heights,
				     hathor_hashes_found_cb cb, void *arg);
};

#ifdef __cplusplus
}
#endif

#endif /* HATHOR_NODE_H */
