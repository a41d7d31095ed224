/*
 * intake.h: the sliced on_new_vertices intake shared by core/ipc_node.c
 * (node.ipc, host mode) and core/node_direct.c (in-process plugins).
 *
 * A sync stream arrives as batches of ~100 vertices, and full
 * verification + consensus costs ~250 us per vertex: run whole, a batch
 * blocks the loop (and HTTP beside it) for tens to hundreds of ms.  So a
 * batch is stored in slices: hn_intake_slice() stores the next vertices,
 * up to the one that takes the slice past its budget (the
 * clock is read after each vertex, no per-vertex estimate), a rejected
 * vertex (which ends the batch, also when it is the slice's last one) or
 * the end of the batch.  The caller then lets the loop run its other
 * watchers and runs the next slice from a struct hn_intake_sched: an
 * ev_idle watcher (it runs in a loop iteration with nothing else pending,
 * so an HTTP exchange that needs a few iterations is not split by slices)
 * with a HN_INTAKE_GUARD timer that runs it anyway if the loop stays busy
 * (a flood of HTTP requests must not stall the sync).
 *
 * The slices share one transaction, committed when the batch ends (or
 * every HN_INTAKE_TXN_MAX vertices): a commit writes every page its
 * vertices dirtied (the hash indexes' pages are random), so one per slice
 * of ~30 vertices cost ~15 % of the loop thread and as much again in WAL
 * writes and checkpoints.  Between slices the transaction is paused
 * (hn_ledger_batch_pause): readers on the ledger's connection (HTTP) see
 * the part stored so far, and a write from elsewhere (an HTTP push_tx, a
 * mined block) first commits it, the next slice then opening a new one.
 *
 * The results are the ones hn_nodesvc_on_new_vertices() gives for the
 * whole batch: in order, stopping after the first rejected vertex; a
 * failed commit leaves the vertices committed before stored with their
 * own results, and everything of the failed transaction not stored
 * (fail_at: its first vertex).
 *
 * Loop thread only.
 */
#ifndef HN_CORE_INTAKE_H
#define HN_CORE_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>

#include "nodesvc.h"

struct hn_ledger;

/* A batch in progress.  The caller sets v, res (n entries), n and origin
 * and zeroes the rest. */
struct hn_intake_batch {
	const struct hn_buf *v;         /* borrowed */
	struct hn_ledger_result *res;   /* borrowed, n entries */
	size_t n;
	enum hn_nodesvc_origin origin;
	size_t next;                    /* vertices handled so far */
	int rc;                         /* < 0: commit failure from fail_at */
	size_t fail_at;
	bool begin_failed;              /* no transaction could be opened */
	bool finished;                  /* no slice left to run */
	uint64_t prefetch;              /* hn_ledger_prefetch() ticket */
	bool paused;                    /* its transaction is left open */
	size_t txn_from;                /* first vertex of that transaction */
};

/* Vertices per commit at most: a batch larger than this is committed in
 * parts (the last slice's commit grows with the transaction). */
#define HN_INTAKE_TXN_MAX 128

/* What one slice took. */
struct hn_intake_slice_info {
	size_t done;                    /* vertices handled */
	uint64_t us;                    /* the slice, commit included */
	uint64_t commit_us;             /* commit + event delivery */
};

/* Slices over this are counted as slow by the callers' stats. */
#define HN_INTAKE_SLOW_US 20000

/* One slice of @b: at least one vertex, at most @max_vertices (0: no cap),
 * stopping after the vertex that takes it to @budget_us.  Sets
 * b->finished when the batch is over (end, rejected vertex, failed
 * begin or commit).  @info may be NULL. */
void hn_intake_slice(struct hn_ledger *l, struct hn_intake_batch *b,
		     unsigned budget_us, unsigned max_vertices,
		     struct hn_intake_slice_info *info);
/* A batch dropped before it finished: commits what its slices stored
 * (the transaction a paused batch left open).  Harmless on any batch. */
void hn_intake_release(struct hn_ledger *l, struct hn_intake_batch *b);

/* --- the next slice: ev_idle, or a guard timer if the loop stays busy --- */

#define HN_INTAKE_GUARD 0.02            /* s */

struct hn_intake_sched {
	struct ev_loop *loop;
	ev_idle idle;
	ev_timer guard;
	void (*fn)(void *arg);
	void *arg;
};

void hn_intake_sched_init(struct hn_intake_sched *s, struct ev_loop *loop,
			  void (*fn)(void *arg), void *arg);
/* @fn runs once, on a later loop iteration (disarmed before it runs).
 * Arming an armed scheduler does nothing. */
void hn_intake_sched_arm(struct hn_intake_sched *s);
void hn_intake_sched_disarm(struct hn_intake_sched *s);
bool hn_intake_sched_armed(const struct hn_intake_sched *s);

/* CLOCK_MONOTONIC in us. */
uint64_t hn_intake_mono_us(void);

#endif /* HN_CORE_INTAKE_H */
