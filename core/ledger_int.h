/*
 * ledger_int.h: struct hn_ledger and what core/ledger*.c and
 * core/nodesvc*.c share.  Not for other modules.
 */
#ifndef HN_CORE_LEDGER_INT_H
#define HN_CORE_LEDGER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"

struct hn_vertex;

/* A queued event and the copies it owns. */
struct hn_ledger_pev {
	struct hn_ledger_event ev;
	uint8_t *bytes;         /* VERTEX_ACCEPTED bytes, owned */
	char *key;              /* PUBLISHED, owned */
	char *json;
};

struct hn_ledger_sub {
	hn_ledger_event_cb cb;  /* NULL: unsubscribed during delivery */
	void *arg;
};

struct daa_cent;
struct hn_fa;
struct hn_ledger_brec;
struct hn_sigpre;

struct hn_ledger {
	struct hn_store *st;
	const struct hn_network *net;
	double (*now)(void *arg);
	void *now_arg;
	bool in_batch;                  /* hn_ledger_batch_begin() open */
	/* The open batch was paused (hn_ledger_batch_pause): its owner let
	 * the loop run; any other writer commits it first. */
	bool parked;
	bool park_lost;                 /* that commit failed */
	/* The vertices stored in the open batch transaction, in order
	 * (ledger.c, add_vertex): a vertex whose writes fail rolls the
	 * whole transaction back and these are stored again, instead of a
	 * savepoint per vertex.  brec_broken: one could not be kept. */
	struct hn_ledger_brec *brec;
	size_t n_brec, cap_brec;
	bool brec_broken;
	/* Redoing them failed: the batch's transaction is gone; writes
	 * are refused until hn_ledger_batch_end() reports it. */
	bool batch_lost;
	/* Subscribers and the event queue. */
	struct hn_ledger_sub *subs;
	size_t n_subs;
	bool subs_dirty;
	unsigned delivering;            /* inside a callback */
	uint64_t seq;                   /* last delivered sequence number */
	struct hn_ledger_pev *pending;
	size_t n_pending, cap_pending;
	/* Verification context (ledger_verify.c). */
	void *vctx;
	struct daa_cent *daa_cache;     /* ledger_verify.c, DAA_CACHE slots */
	struct hn_fa *fa;               /* feature states (ledger_verify.c) */
	uint32_t fa_must_signal;        /* features seen in MUST_SIGNAL by the
					 * template (bit i: features[i]) */
	unsigned test_mode;             /* hn_ledger_opts.test_mode */
	/* Signature pre-verifier (core/sigcache.h), started by the first
	 * hn_ledger_prefetch(). */
	struct hn_sigpre *sigpre;
	bool sigpre_failed;             /* could not start: do not retry */
};

/* Queues an event (delivered after the outermost commit); NULL when out
 * of memory. */
struct hn_ledger_pev *hn_ledger__queue(struct hn_ledger *l,
				       enum hn_ledger_event_type type,
				       const uint8_t hash[32]);
/* Commits a paused batch (hn_ledger_batch_pause) so that the caller can
 * write on its own: 0, or HN_EIO if the commit failed (the batch is
 * rolled back and its owner told at hn_ledger_batch_resume). */
int hn_ledger__unpark(struct hn_ledger *l);
/* Delivers queued events now (no transaction may be open). */
void hn_ledger__deliver(struct hn_ledger *l);

/* ledger_verify.c: sets up l->vctx. */
void hn_ledger__verify_init(struct hn_ledger *l);
void hn_ledger__verify_release(struct hn_ledger *l);
/* Stores the feature activation record of block @v at @height (its
 * parent's is known), inside the transaction storing @v. */
int hn_ledger__feature_stored(struct hn_ledger *l, const struct hn_vertex *v,
			      uint64_t height);
/* Enters a block being stored (@height) in the DAA walk's cache: the
 * next block's walk then starts from the cache.  What it records is fixed
 * by the hash, so a rollback of the storing leaves it true. */
void hn_ledger__daa_note(struct hn_ledger *l, const struct hn_vertex *v,
			 uint64_t height);
/* Basic + full verification of @v (core/verify.c) with the parameters of
 * the hn_ledger_add_flags @flags; a block's height comes from its parent.
 * Returns 0 or a negative code with res->msg / res->verr_code set. */
int hn_ledger__verify(struct hn_ledger *l, const struct hn_vertex *v,
		      const uint8_t *bytes, size_t len, int flags,
		      struct hn_ledger_result *res);

#endif /* HN_CORE_LEDGER_INT_H */
