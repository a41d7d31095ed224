/*
 * ledger.h: the node's ledger: storage (core/store.h), the accept pipeline
 * (decode, verification via core/verify.h, consensus with reorgs, indexes)
 * and events.  One struct hn_ledger per daemon, created by the "ledger"
 * daemon module; the loop thread is the only thread that may call it.
 *
 * Invariants:
 *  - a vertex is stored only after basic and full verification passed;
 *    the vertex, its metadata, every metadata change consensus makes
 *    because of it (voided_by, first_block, height index, tips, mempool)
 *    commit in one sqlite transaction, or roll back together;
 *  - the best chain is the chain of the block with the highest score
 *    (accumulated work, hathor/consensus/block_consensus.py); on a tie the
 *    block with the lower hash wins, as the reference's tie breaker;
 *  - events are delivered after the commit, in order, synchronously on the
 *    loop thread; a callback must not call hn_ledger_add_vertex().
 *  - hashes are 32 bytes in display order.
 */
#ifndef HN_CORE_LEDGER_H
#define HN_CORE_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct hn_error;
struct hn_network;
struct hn_ledger;
struct hn_vertex;
struct hn_verify_ctx;

struct hn_ledger_opts {
	const char *db_path;            /* sqlite file, e.g. <data>/ledger.db */
	const struct hn_network *net;   /* borrowed, static */
	enum hn_store_sync sync;        /* durability, default NORMAL */
	unsigned cache_mb;              /* sqlite page cache; 0: default */
	bool create;                    /* create the file if missing */
	/* Wall clock in seconds (future-timestamp and mempool age checks);
	 * NULL: time(). Tests set a fixed clock. */
	double (*now)(void *arg);
	void *now_arg;
	/* enum hn_daa_test_mode (core/daa.h): the reference's TestMode for
	 * test chains at weight 1; 0 everywhere else. */
	unsigned test_mode;
};

/* The "ledger" daemon module (core/daemon.h): opens <data_dir>/ledger.db
 * (created on first start) into d->ledger; list it first in daemon.c. */
struct hn_daemon_module;
extern const struct hn_daemon_module hn_ledger_module;

/* Opens the ledger on @opts->db_path (see hn_store_open for what is
 * refused).  On success *@out owns it (hn_ledger_close()). */
int hn_ledger_open(const struct hn_ledger_opts *opts, struct hn_ledger **out,
		   struct hn_error *err);
/* Closes the database; pending batch is rolled back.  NULL: no-op. */
void hn_ledger_close(struct hn_ledger *l);

const struct hn_network *hn_ledger_network(const struct hn_ledger *l);
/* The store (for nodesvc.c and tests; same thread rules). */
struct hn_store *hn_ledger_store(struct hn_ledger *l);
double hn_ledger_now(const struct hn_ledger *l);

/* --- accept pipeline ---------------------------------------------------- */

/* Where a vertex comes from; selects the verification parameters as the
 * reference's VertexHandler entry points do. */
enum hn_ledger_add_flags {
	/* on_new_mempool_transaction / push_tx: reject txs older than
	 * 36 h (verify_old_timestamp) and blocks. */
	HN_ADD_MEMPOOL = 1 << 0,
	/* on_new_relayed_vertex: reject_locked_reward. */
	HN_ADD_RELAYED = 1 << 1,
	/* push_tx standardness (output script size, etc.). */
	HN_ADD_PUSH_TX = 1 << 2,
	/* Do not emit events (bulk import; emitted as one "resync"). */
	HN_ADD_QUIET = 1 << 3,
	/* Only verify, never store (verify_basic + full, dry run). */
	HN_ADD_DRY_RUN = 1 << 4,
};

/* Outcome of hn_ledger_add_vertex(). */
struct hn_ledger_result {
	int code;               /* == return value */
	uint8_t hash[32];       /* set once the bytes decoded */
	bool decoded;           /* hash is valid */
	bool is_block;
	bool stored;            /* newly stored by this call */
	bool voided;            /* stored, but voided (lost a conflict, or a
				 * block not on the best chain) */
	bool best_changed;      /* best block changed */
	bool reorg;             /* best chain changed other than by extension */
	uint64_t height;        /* blocks: height of the new block */
	int verr_code;          /* verify module's code when rejected by it */
	char msg[256];          /* reason, when code < 0; "" otherwise */
};

/* Decodes, verifies (basic + full) and stores one vertex, then runs
 * consensus.  Returns:
 *   0              stored (res->voided tells whether it is voided);
 *   HN_EEXIST      already stored with the same bytes (nothing changed);
 *   HN_EPARSE / HN_EUNSUPPORTED   bad bytes;
 *   HN_ENOENT      a parent or spent tx is unknown (res->msg names it);
 *   HN_ECONSENSUS  invalid by the rules (res->msg, res->verr_code say
 *                  which), or same hash with different bytes;
 *   HN_EIO / HN_ENOMEM   internal failure (storage rolled back).
 * @res may be NULL.  Storage is unchanged on any failure. */
int hn_ledger_add_vertex(struct hn_ledger *l, const uint8_t *bytes,
			 size_t len, int flags, struct hn_ledger_result *res);

/* Batch: between begin and end every hn_ledger_add_vertex() is its own
 * savepoint (a rejected vertex rolls back alone) and all of them share one
 * commit at hn_ledger_batch_end(); events are delivered after that commit.
 * Sync uses it for block/transaction streams (~100 per commit).
 * Returns 0 or HN_EIO (end: the whole batch was rolled back). */
int hn_ledger_batch_begin(struct hn_ledger *l);
int hn_ledger_batch_end(struct hn_ledger *l);
/* Leaves the open batch's transaction open while its owner lets the loop
 * run (one commit for a batch stored in several slices, core/intake.c).
 * Until hn_ledger_batch_resume(), readers on this connection see the
 * vertices added so far, and any other write through the ledger (an
 * hn_ledger_add_vertex() outside the batch, another batch, close) first
 * commits the paused batch and delivers its events. */
void hn_ledger_batch_pause(struct hn_ledger *l);
/* Continues a paused batch: 0 (same transaction), 1 (it was committed
 * meanwhile: a new batch was begun), 2 (that commit failed: what the
 * batch added is not stored, and no batch is open), or the negative code
 * of hn_ledger_batch_begin(). */
int hn_ledger_batch_resume(struct hn_ledger *l);

/* Vertices that hn_ledger_add_vertex() will soon be given: a worker
 * thread checks their P2PKH signatures ahead of it (core/sigcache.h), so
 * the add finds them verified.  Only a hint: nothing changes what the add
 * accepts.  The @n buffers of @v are copied.  Returns a ticket for
 * hn_ledger_prefetch_done(), 0 if nothing was queued. */
struct hn_buf;
uint64_t hn_ledger_prefetch(struct hn_ledger *l, const struct hn_buf *v,
			    size_t n);
/* The first @done vertices of @ticket's prefetch were added (or
 * refused): the worker skips them. */
void hn_ledger_prefetch_done(struct hn_ledger *l, uint64_t ticket,
			     size_t done);

/* Vertices that hn_ledger_add_vertex() will soon be given: a worker
 * thread checks their P2PKH signatures ahead of it (core/sigcache.h), so
 * the add finds them verified.  Only a hint: nothing changes what the add
 * accepts.  The @n buffers of @v are copied.  Returns a ticket for
 * hn_ledger_prefetch_done(), 0 if nothing was queued. */
struct hn_buf;
uint64_t hn_ledger_prefetch(struct hn_ledger *l, const struct hn_buf *v,
			    size_t n);
/* The first @done vertices of @ticket's prefetch were added (or
 * refused): the worker skips them. */
void hn_ledger_prefetch_done(struct hn_ledger *l, uint64_t ticket,
			     size_t done);

/* --- events --------------------------------------------------------------- */

enum hn_ledger_event_type {
	HN_LEV_VERTEX_ACCEPTED = 1, /* a vertex was stored (hash, bytes) */
	HN_LEV_BEST_BLOCK,      /* best block changed (hash, height) */
	HN_LEV_REORG,           /* best chain reorganized (old/new best,
				 * common ancestor, depth) */
	HN_LEV_VOIDED,          /* a stored vertex became voided */
	HN_LEV_UNVOIDED,        /* a stored vertex stopped being voided */
	HN_LEV_MEMPOOL_ADD,     /* tx entered the mempool */
	HN_LEV_MEMPOOL_REMOVE,  /* tx left the mempool (confirmed/voided) */
	HN_LEV_PUBLISHED,       /* hn_nodesvc_publish() (key, json) */
};

struct hn_ledger_event {
	enum hn_ledger_event_type type;
	uint64_t seq;           /* 1, 2, ... per process, no gaps */
	uint8_t hash[32];       /* the vertex / new best block */
	bool is_block;
	uint64_t height;        /* BEST_BLOCK / REORG: new best height */
	const uint8_t *bytes;   /* VERTEX_ACCEPTED: wire bytes (borrowed) */
	size_t len;
	bool voided;            /* VERTEX_ACCEPTED: stored voided */
	/* REORG only. */
	uint8_t old_best[32];
	uint64_t old_height;
	uint8_t common[32];     /* common ancestor block */
	uint64_t reorg_depth;   /* old_height - common height */
	/* PUBLISHED only (borrowed). */
	const char *key;
	const char *json;
};

/* Called on the loop thread after the commit; @ev and what it points to
 * live only during the call. */
typedef void (*hn_ledger_event_cb)(const struct hn_ledger_event *ev,
				   void *arg);

/* Registers @cb (called in registration order).  Returns 0, HN_ENOMEM. */
int hn_ledger_subscribe(struct hn_ledger *l, hn_ledger_event_cb cb,
			void *arg);
/* Removes the first registration of (@cb, @arg); safe inside a callback. */
void hn_ledger_unsubscribe(struct hn_ledger *l, hn_ledger_event_cb cb,
			   void *arg);
/* Last sequence number handed out (0: none yet). */
uint64_t hn_ledger_event_seq(const struct hn_ledger *l);

/* --- queries (HTTP API, tools) ------------------------------------------ */

/* A stored vertex: bytes and metadata (all fields). */
struct hn_ledger_vertex {
	uint8_t *bytes;         /* malloc'd wire bytes */
	size_t len;
	struct hn_vmeta meta;
};
void hn_ledger_vertex_release(struct hn_ledger_vertex *v); /* NULL-safe */

/* HN_ENOENT if @hash is not stored. */
int hn_ledger_get(struct hn_ledger *l, const uint8_t hash[32], int fields,
		  struct hn_ledger_vertex *out);

struct hn_block_info {
	uint8_t hash[32];
	uint64_t height;
	uint32_t timestamp;
	double weight;
	hn_u128 score;          /* integer work */
};
int hn_ledger_best_block(struct hn_ledger *l, struct hn_block_info *out);
/* Block of the best chain at @height; HN_ENOENT above the best height. */
int hn_ledger_block_at_height(struct hn_ledger *l, uint64_t height,
			      uint8_t hash[32]);
/* Mempool transactions (not voided, no first_block), oldest first. */
int hn_ledger_mempool(struct hn_ledger *l, struct hn_hash_list *out);
/* Two parents for a new transaction, as the reference's
 * generate_parent_txs: tx tips (mempool tips first), padded with their
 * parents. */
int hn_ledger_tx_parents(struct hn_ledger *l, uint8_t out[2][32]);

/* What a miner needs (get_block_template). */
struct hn_block_template {
	uint8_t parents[3][32]; /* best block, then two tx parents */
	uint64_t height;        /* height of the block to mine */
	double weight;          /* DAA weight at @timestamp */
	uint64_t reward;        /* atomic units for @height */
	uint32_t timestamp;     /* max(now, parent + 1) */
	uint32_t min_timestamp; /* parent block timestamp + 1 */
	/* The DAA of @height (DAAFactory.create_from_parent): target time
	 * between blocks, reward divisor, and the first V2 height (0: V1). */
	double avg_time;
	uint64_t reward_reduction_factor;
	uint64_t v2_start_height;
	/* BitSignalingService.generate_signal_bits(best block): the bit of
	 * every feature in STARTED, MUST_SIGNAL or LOCKED_IN at the best
	 * block that signals support by default or has been in MUST_SIGNAL
	 * (on_must_signal). */
	uint8_t signal_bits;
};
int hn_ledger_block_template(struct hn_ledger *l, uint32_t timestamp,
			     struct hn_block_template *out);

/* Newest first listing (dashboard_tx, transaction list): see
 * hn_store_newest(). */
int hn_ledger_newest(struct hn_ledger *l, bool blocks, uint64_t ts,
		     const uint8_t *hash, size_t count,
		     struct hn_hash_list *out, bool *has_more);

/* Number of stored vertices. */
int hn_ledger_counts(struct hn_ledger *l, uint64_t *n_blocks,
		     uint64_t *n_txs);

/* The ledger's feature activation machine (core/feature.h), records
 * persisted in the store; loop thread only.  NULL without memory. */
struct hn_fa;
struct hn_fa *hn_ledger_fa(struct hn_ledger *l);

/* The verification context the ledger gives core/verify.c (lookups over
 * the store); for the DAA in HTTP's get_block_template and tools. */
const struct hn_verify_ctx *hn_ledger_verify_ctx(struct hn_ledger *l);

/* Metadata of a vertex (fetched with HN_VMETA_ALL) as the reference's
 * TransactionMetadata.to_json_extended(): hash, spent_outputs,
 * received_by, conflict_with, voided_by, twins, accumulated_weight(_raw),
 * score(_raw), min_height, height, feature_activation_bit_counts,
 * first_block, validation, nc_*, children (first 100),
 * has_more_children, first_block_height.  *@out is a new json-c object the
 * caller puts.  Not computed here (always empty): received_by,
 * feature_activation_bit_counts.  Returns 0 or HN_ENOMEM. */
struct json_object;
int hn_ledger_meta_to_json(struct hn_ledger *l, const struct hn_vmeta *m,
			   struct json_object **out);
/* work_to_weight (log2 of the work; 0 for work <= 1). */
double hn_work_to_weight(hn_u128 work);
/* Decimal string of @v (at most 39 digits + NUL); returns its length. */
int hn_u128_to_dec(hn_u128 v, char out[40]);

/* Full consistency check (integrity_check + index invariants). */
int hn_ledger_check(struct hn_ledger *l, struct hn_error *err);

#endif /* HN_CORE_LEDGER_H */
