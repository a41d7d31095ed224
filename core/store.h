/*
 * store.h: vertices, their metadata and the sync indexes in one sqlite
 * database (WAL).  This is the ledger's private persistence layer; other
 * modules use core/ledger.h and core/nodesvc.h instead.
 *
 * Invariants:
 *  - one writer: the loop thread that opened the store is the only thread
 *    that may call any function here (sqlite handle, cached statements);
 *  - every change happens between hn_store_begin() and hn_store_commit()
 *    (or hn_store_rollback()); a vertex and all its metadata and index rows
 *    are written in one such transaction (or one savepoint of a batch), so
 *    after a crash (kill -9, power loss with synchronous=FULL) the database
 *    holds every committed vertex complete and nothing of the others;
 *  - the `meta` table names the schema version and the network; opening a
 *    database of another network or an unknown schema fails, never alters
 *    the file;
 *  - only fully validated vertices are stored (validation is recorded for
 *    future partial validation, always HN_VALID_FULL today);
 *  - hashes are 32 bytes in display order (hn/hash.h).
 */
#ifndef HN_CORE_STORE_H
#define HN_CORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hn/vertex.h"          /* hn_u128 */

struct hn_error;
struct hn_network;
struct hn_store;

/* 2: 1 plus the feature_block table.  A schema 1 file is migrated on
 * open (read-only opens leave it at 1, without feature rows). */
#define HN_STORE_SCHEMA_VERSION 2

/* Durability of a commit (PRAGMA synchronous, see docs/storage.md). */
enum hn_store_sync {
	HN_STORE_SYNC_NORMAL = 0, /* WAL + NORMAL: survives kill -9; a power
				   * loss may lose the last commits */
	HN_STORE_SYNC_FULL,     /* WAL + FULL: also survives power loss */
};

enum hn_store_open_flags {
	HN_STORE_CREATE = 1 << 0,       /* create the file if missing */
	HN_STORE_READONLY = 1 << 1,     /* query only (tools, checks) */
};

struct hn_store_opts {
	const char *path;               /* database file (borrowed) */
	const struct hn_network *net;   /* network the file must belong to */
	int flags;                      /* enum hn_store_open_flags */
	enum hn_store_sync sync;        /* durability */
	unsigned cache_mb;              /* page cache; 0: sqlite default */
};

/* Validation state of a stored vertex (reference ValidationState). */
enum hn_validation {
	HN_VALID_BASIC = 1,
	HN_VALID_FULL = 2,
};

/* One spender of one output: spent_outputs[index] contains tx. */
struct hn_spent {
	uint8_t index;          /* output index of this vertex */
	uint8_t tx[32];         /* spending transaction */
};

/* Metadata of one vertex, as the reference's TransactionMetadata.
 * Arrays are malloc'd and owned by the struct; hn_vmeta_release() frees
 * them.  Which arrays are filled depends on the enum hn_vmeta_fields
 * requested; the others are NULL with a zero count. */
struct hn_vmeta {
	int64_t id;             /* rowid (store-internal key) */
	uint8_t hash[32];
	uint8_t version;        /* enum hn_vertex_version */
	bool is_block;
	uint32_t timestamp;
	double weight;
	enum hn_validation validation;
	/* Blocks: height in their own chain (genesis 0).  Txs: 0. */
	uint64_t height;
	/* Reward lock: first height at which this tx may be confirmed
	 * (static metadata min_height); blocks: 0. */
	uint64_t min_height;
	/* accumulated_weight and score as integer work (weight_to_work,
	 * hathor/utils/weight.py).  score: blocks only. */
	hn_u128 acc_work;
	hn_u128 score;
	bool has_first_block;   /* txs: confirmed by a block */
	uint8_t first_block[32];
	size_t n_voided_by;     /* empty: not voided */
	uint8_t (*voided_by)[32];
	size_t n_conflict_with; /* txs spending one of the same outputs */
	uint8_t (*conflict_with)[32];
	size_t n_twins;         /* conflicts with the same inputs/outputs */
	uint8_t (*twins)[32];
	size_t n_children;      /* vertices having this one as parent */
	uint8_t (*children)[32];
	size_t n_spent;         /* spent_outputs, ordered by index, tx */
	struct hn_spent *spent;
	double received_at;     /* wall clock when stored (seconds) */
};

enum hn_vmeta_fields {
	HN_VMETA_CORE = 0,              /* scalars + voided_by + conflicts */
	HN_VMETA_CHILDREN = 1 << 0,
	HN_VMETA_SPENT = 1 << 1,
	HN_VMETA_ALL = HN_VMETA_CHILDREN | HN_VMETA_SPENT,
};

void hn_vmeta_release(struct hn_vmeta *m);     /* NULL-safe */

/* weight_to_work (hathor/utils/weight.py): floor(0.5 + 2**weight). */
hn_u128 hn_weight_to_work(double weight);
/* True if @m->voided_by contains @h. */
bool hn_vmeta_voided_by_has(const struct hn_vmeta *m, const uint8_t h[32]);

/* A malloc'd list of hashes; release with hn_hash_list_release(). */
struct hn_hash_list {
	size_t n;
	uint8_t (*h)[32];
};
void hn_hash_list_release(struct hn_hash_list *l);     /* NULL-safe */
int hn_hash_list_push(struct hn_hash_list *l, const uint8_t h[32]);

/* A tip interval [begin, end) of the tips indexes (tips_index.py): the
 * vertex is a tip at every timestamp t with begin <= t < end; end is
 * UINT64_MAX while it has no (non-voided) child. */
struct hn_tip_interval {
	uint64_t begin;
	uint64_t end;
	uint8_t hash[32];
};

enum hn_tips_kind {
	HN_TIPS_ALL = 0,        /* all_tips: every vertex */
	HN_TIPS_BLOCK = 1,      /* block_tips: non-voided blocks */
	HN_TIPS_TX = 2,         /* tx_tips: non-voided transactions */
};

/* Opens (and with HN_STORE_CREATE creates) the database.  A new database
 * gets the schema, the meta rows and the three genesis vertices of
 * @opts->net with their metadata.  Refuses, with @err naming the file and
 * reason: a file that is not sqlite, an unknown schema version, another
 * network, a failed quick integrity check.  On success *@out owns the
 * handle (hn_store_close()); on failure *@out is untouched and the file
 * is left as it was. */
int hn_store_open(const struct hn_store_opts *opts, struct hn_store **out,
		  struct hn_error *err);
void hn_store_close(struct hn_store *st);      /* NULL: no-op */

/* Transactions.  begin/commit nest: the outermost pair is the sqlite
 * transaction, inner pairs are savepoints, so a batch of vertices can share
 * one commit while a failed vertex rolls back alone.  rollback undoes the
 * innermost level.  Return 0 or HN_EIO (with the sqlite message logged). */
int hn_store_begin(struct hn_store *st);
/* A batch of reads in one read transaction: one snapshot and one WAL read
 * lock (two fcntl calls) instead of one per statement outside a
 * transaction.  Nests; inside a write transaction it does nothing, and a
 * hn_store_begin() inside it ends the read transaction first.  0 or
 * HN_EIO (then nothing is open, and the reads run as before). */
int hn_store_read_begin(struct hn_store *st);
void hn_store_read_end(struct hn_store *st);
int hn_store_commit(struct hn_store *st);
int hn_store_rollback(struct hn_store *st);
unsigned hn_store_depth(const struct hn_store *st); /* 0: no transaction */
/* Tests only: the @nth_write-th write statement from now fails with
 * HN_EIO (0: off), to prove every failure path rolls back. */
void hn_store_inject_failure(struct hn_store *st, long nth_write);

/* Last sqlite error message of @st (borrowed until the next call). */
const char *hn_store_errmsg(const struct hn_store *st);
const char *hn_store_path(const struct hn_store *st);

/* --- vertices --------------------------------------------------------- */

/* Inserts a vertex (wire @bytes of @len, decoded @v, borrowed) with @meta
 * (scalars, voided_by, conflict_with, first_block; children/spent are
 * derived from @v: parent->child edges and spent rows for its inputs are
 * written here, and all_tips / sorted_all / tx or block tips are updated).
 * Sets @meta->id.  Returns 0, HN_EEXIST if the hash is stored, HN_EIO. */
int hn_store_put_vertex(struct hn_store *st, const uint8_t *bytes,
			size_t len, const struct hn_vertex *v,
			struct hn_vmeta *meta);

/* Deletes a stored vertex with its edges, spent rows, tips and token
 * rows (mempool txs that became invalid after a reorg).  The caller makes
 * sure no stored vertex depends on it.  @v is the decoded vertex. */
int hn_store_remove_vertex(struct hn_store *st, const struct hn_vertex *v);

/* Rewrites the mutable scalars of a stored vertex (@meta->hash): height,
 * acc_work, score, first_block, voided_by, conflict_with, validation. */
int hn_store_update_meta(struct hn_store *st, const struct hn_vmeta *meta);

/* 1 if stored, 0 if not, or negative on error. */
int hn_store_exists(struct hn_store *st, const uint8_t hash[32]);
/* Fills *@m (released by the caller) for @hash; HN_ENOENT if absent. */
int hn_store_get_meta(struct hn_store *st, const uint8_t hash[32],
		      int fields, struct hn_vmeta *m);
/* Scalars of the metadata and the decoded vertex in one query (consensus
 * loads both).  On failure nothing is left to free. */
int hn_store_get_meta_vertex(struct hn_store *st, const uint8_t hash[32],
			     struct hn_vmeta *m, struct hn_vertex **v);
/* Wire bytes of @hash, malloc'd into *@bytes (caller frees). */
int hn_store_get_bytes(struct hn_store *st, const uint8_t hash[32],
		       uint8_t **bytes, size_t *len);
/* Decoded vertex of @hash (caller hn_vertex_free()s). */
int hn_store_get_vertex(struct hn_store *st, const uint8_t hash[32],
			struct hn_vertex **out);

/* Spenders of output @index of @tx (voided or not), appended to @out. */
int hn_store_get_spenders(struct hn_store *st, const uint8_t tx[32],
			  uint8_t index, struct hn_hash_list *out);
/* Every spender of any output of @hash (funds DAG), appended to @out. */
int hn_store_get_all_spenders(struct hn_store *st, const uint8_t hash[32],
			      struct hn_hash_list *out);
/* Children of @hash appended to @out. */
int hn_store_get_children(struct hn_store *st, const uint8_t hash[32],
			  struct hn_hash_list *out);

/* --- best chain and tips ---------------------------------------------- */

/* Height index of the best chain: block at @height, HN_ENOENT above the
 * best height. */
int hn_store_height_get(struct hn_store *st, uint64_t height,
			uint8_t hash[32]);
/* Sets the block at @height (replacing) and drops every height above
 * @height when @truncate_above. */
int hn_store_height_set(struct hn_store *st, uint64_t height,
			const uint8_t hash[32], bool truncate_above);
/* Best block (the top of the height index) and its height. */
int hn_store_best(struct hn_store *st, uint8_t hash[32], uint64_t *height);

/* Tips at @timestamp (UINT64_MAX: now, i.e. intervals still open) of
 * @kind, appended to @out (malloc'd array, *@n entries). */
int hn_store_tips(struct hn_store *st, enum hn_tips_kind kind,
		  uint64_t timestamp, struct hn_tip_interval **out, size_t *n);
/* Adds @v (stored) to the tx or block tips index of @kind (it is valid):
 * its interval ends at the earliest child already in that index, and its
 * parents' intervals in that index end no later than its timestamp.
 * hn_store_tips_remove() takes it out (it became voided) and reopens its
 * parents' intervals where no other indexed child closes them. */
int hn_store_tips_add(struct hn_store *st, enum hn_tips_kind kind,
		      const struct hn_vertex *v);
int hn_store_tips_remove(struct hn_store *st, enum hn_tips_kind kind,
			 const struct hn_vertex *v);
/* hn_store_tips_add() for a vertex stored by hn_store_put_vertex() in the
 * current transaction (not in @kind's index yet, no child): its interval
 * is open, without the two queries that find it. */
int hn_store_tips_add_new(struct hn_store *st, enum hn_tips_kind kind,
			  const struct hn_vertex *v);

/* Mempool tips: transactions without first_block, not voided, with no
 * child in the mempool. */
int hn_store_mempool_set(struct hn_store *st, const uint8_t hash[32],
			 bool is_tip);
/* Recomputes the mempool-tip flag of @hash from its metadata, children
 * and spenders (no-op if absent). */
int hn_store_mempool_refresh(struct hn_store *st, const uint8_t hash[32]);
int hn_store_mempool_tips(struct hn_store *st, struct hn_hash_list *out);
/* Every transaction without first_block and not voided, by timestamp. */
int hn_store_mempool_all(struct hn_store *st, struct hn_hash_list *out);

/* --- timestamp order (sorted_all) ------------------------------------- */

/* get_hashes_and_next_idx of the reference timestamp index: up to @count
 * hashes in (timestamp, hash) order starting at the @offset-th vertex of
 * @timestamp.  *@has_next says whether a next index exists; then
 * *@next_ts / *@next_off is it. */
int hn_store_range(struct hn_store *st, uint64_t timestamp, uint64_t offset,
		   size_t count, struct hn_hash_list *out, bool *has_next,
		   uint64_t *next_ts, uint64_t *next_off);
/* Newest first: up to @count blocks (@blocks) or txs before (@ts, @hash)
 * (@hash NULL: from the newest), for dashboards and listings. *@has_more
 * tells whether older ones exist. */
int hn_store_newest(struct hn_store *st, bool blocks, uint64_t ts,
		    const uint8_t *hash, size_t count,
		    struct hn_hash_list *out, bool *has_more);
int hn_store_timestamps(struct hn_store *st, uint64_t *first,
			uint64_t *latest);
/* Number of stored vertices (blocks, txs). */
int hn_store_counts(struct hn_store *st, uint64_t *n_blocks,
		    uint64_t *n_txs);

/* --- tokens ------------------------------------------------------------ */

/* Token created by a TokenCreationTransaction. */
struct hn_token_info {
	uint8_t uid[32];
	char name[256];
	char symbol[256];
	uint8_t version;        /* enum hn_token_version */
};
int hn_store_token_get(struct hn_store *st, const uint8_t uid[32],
		       struct hn_token_info *out);

/* --- feature activation rows (core/feature.c) --------------------------- */

/* One block's feature activation row: its height, the state of every
 * feature of the network (4 bits each, feature 0 lowest) and the rolling
 * signal bit counts since the last boundary, the block included.  A row
 * depends only on the block's ancestry, so it is never stale. */
struct hn_store_fa {
	uint64_t height;
	uint64_t states;
	uint32_t counts[8];
};
/* Row of @hash: 0, HN_ENOENT (none, or no table) or HN_EIO. */
int hn_store_fa_get(struct hn_store *st, const uint8_t hash[32],
		    struct hn_store_fa *out);
/* Writes (replaces) the row of @hash in the current transaction; a
 * read-only store ignores it. */
int hn_store_fa_put(struct hn_store *st, const uint8_t hash[32],
		    const struct hn_store_fa *in);
/* @key names the network's feature table (core/feature.c): when the
 * stored key differs, every row is dropped (they were computed with
 * another table) and the key stored, in one transaction. */
int hn_store_fa_key(struct hn_store *st, const char *key);
/* Number of rows (tests). */
int hn_store_fa_count(struct hn_store *st, uint64_t *n);

/* --- consistency ------------------------------------------------------- */

/* PRAGMA integrity_check plus our own invariants (height index matches
 * block heights, tips intervals refer to stored vertices, spent rows point
 * at stored txs).  Returns 0 or HN_EIO with @err describing the first
 * problem. */
int hn_store_check(struct hn_store *st, struct hn_error *err);

/* The connection's PRAGMA synchronous (0 OFF, 1 NORMAL, 2 FULL, 3 EXTRA),
 * or HN_EIO. */
int hn_store_synchronous(struct hn_store *st);

#endif /* HN_CORE_STORE_H */
