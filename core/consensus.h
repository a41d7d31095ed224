/*
 * consensus.h: the consensus algorithm of hathor-core
 * (hathor/consensus/{consensus,block_consensus,transaction_consensus}.py)
 * over the store, for core/ledger.c only.
 *
 * One struct hn_cons per consensus run (one new vertex).  It caches the
 * vertices and metadata it touches; hn_cons_flush() writes every changed
 * metadata row and updates the tips and mempool indexes inside the
 * caller's store transaction.  Nothing is written before the flush, so an
 * error anywhere leaves the caller free to roll back.
 */
#ifndef HN_CORE_CONSENSUS_H
#define HN_CORE_CONSENSUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

struct hn_network;
struct hn_vertex;

/* A vertex in the run's cache. */
struct hn_cnode {
	uint8_t hash[32];
	struct hn_vertex *v;            /* decoded, owned */
	struct hn_vmeta m;              /* current metadata (scalars) */
	bool dirty;                     /* m differs from the stored row */
	bool affected;                  /* in the affected list */
	bool was_voided;                /* voided when loaded */
	bool was_mempool;               /* tx, not voided, no first_block */
	bool is_new;                    /* the vertex of this run */
	bool removed;                   /* deleted by this run */
	bool refreshed;                 /* mempool flag recomputed in flush */
};

/* What a run changed, for events. */
struct hn_cons_change {
	uint8_t hash[32];
	bool is_block;
	bool voided_before, voided_after;
	bool mempool_before, mempool_after;
	bool removed;
};

struct hn_verify_ctx;

struct hn_cons {
	struct hn_store *st;
	const struct hn_network *net;
	/* For the feature rules of the mempool re-check after a reorg
	 * (hn_verify_feature_recheck); NULL: reward lock only. */
	const struct hn_verify_ctx *vctx;
	int err;                        /* sticky first error */
	char msg[160];                  /* its description */
	struct hn_cnode **tab;          /* open addressing by hash */
	size_t cap, n;
	struct hn_cnode **aff;          /* affected nodes, in save order */
	size_t n_aff, cap_aff;
	/* Reorg of this run. */
	bool reorg;
	uint8_t old_best[32], new_best[32], common[32];
	uint64_t old_height, new_height, common_height;
	bool best_changed;
	/* The new vertex's metadata as inserted (scalars only), so the
	 * flush writes its row only if consensus changed it. */
	struct hn_vmeta new_init;
	/* Changes for events, filled by hn_cons_flush(). */
	struct hn_cons_change *changes;
	size_t n_changes;
};

void hn_cons_init(struct hn_cons *c, struct hn_store *st,
		  const struct hn_network *net);
void hn_cons_release(struct hn_cons *c);

/* Registers the new vertex (already inserted with its initial metadata,
 * @v taken, @m copied) as a cache node. */
struct hn_cnode *hn_cons_add_new(struct hn_cons *c, struct hn_vertex *v,
				 const struct hn_vmeta *m);

/* Runs consensus for @n (the new vertex): unsafe_update.  Returns 0 or
 * the sticky error. */
int hn_cons_update(struct hn_cons *c, struct hn_cnode *n);

/* Writes metadata, tips and mempool changes.  Returns 0 or HN_EIO. */
int hn_cons_flush(struct hn_cons *c);

/* Node of @hash (loaded on first use), or NULL with c->err set. */
struct hn_cnode *hn_cons_get(struct hn_cons *c, const uint8_t hash[32]);

#endif /* HN_CORE_CONSENSUS_H */
