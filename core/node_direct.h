/*
 * node_direct.h: struct hathor_node_ops (hathor/node.h) in the core, by
 * direct calls into core/nodesvc.h: the node service a plugin gets when
 * it is loaded by hathor-node itself (--p2p-mode=inprocess, in-core
 * plugins).  The plugin cannot tell it from the JSON-RPC one of
 * hathor-p2p-host (host_p2p/host_node.c):
 *
 *  - A call copies its inputs, is queued, and returns 0; its callback runs
 *    exactly once on a later loop iteration (from an ev_idle, or a 20 ms
 *    guard timer if the loop stays busy: core/intake.h), never from inside
 *    the call.  Calls run in the order they were made (one FIFO for all
 *    plugins, as node.ipc answers a host's calls in order).
 *  - The queue runs for at most the slice budget per loop iteration, so
 *    HTTP and the P2P sockets are served between slices.  on_new_vertices
 *    is stored in slices by the same code as core/ipc_node.c's intake
 *    (core/intake.c: one commit per slice, the clock read after each
 *    vertex, a rejected vertex ends the batch); the callback gets the
 *    whole batch's results (in order, stopping after the first rejected
 *    vertex) once it is done.  Calls made meanwhile wait behind the
 *    batch.
 *  - Results, error codes and messages are the ones node.ipc gives for the
 *    same call (same nodesvc functions, same status mapping).
 *  - hn_node_direct_cancel() (the runtime's node_cancel) completes every
 *    pending call of a plugin with HATHOR_ECLOSED at once; a batch half
 *    stored stays stored (intake is idempotent).
 *
 * It also bridges the ledger's events to a plugin runtime
 * (hn_plugin_rt_event): every event, in seq order, with a random epoch per
 * process, delivered from the ledger's own callback (after the commit).
 *
 * Loop thread only.
 */
#ifndef HN_CORE_NODE_DIRECT_H
#define HN_CORE_NODE_DIRECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hathor/node.h"

struct ev_loop;
struct hn_ledger;
struct hn_plugin_rt;
struct hn_node_direct;

/* The table; every function finds its struct hn_node_direct through
 * hn_plugin_host_node_ctx(h), so the runtime's node_ctx must be one. */
extern const struct hathor_node_ops hn_node_direct_ops;

#define HN_NODE_DIRECT_SLICE_US 5000    /* default budget per iteration */

/* @l borrowed (must outlive the object). */
int hn_node_direct_new(struct ev_loop *loop, struct hn_ledger *l,
		       struct hn_node_direct **out);
/* Completes every pending call with HATHOR_ECLOSED, unsubscribes, frees.
 * NULL: no-op. */
void hn_node_direct_free(struct hn_node_direct *nd);

/* For struct hn_plugin_rt_opts.node_cancel: completes the pending calls
 * of @h (all plugins' if NULL) with HATHOR_ECLOSED, synchronously. */
void hn_node_direct_cancel(void *node_ctx, struct hathor_host *h);

/* Ledger events go to @rt from now on (NULL: stop). */
int hn_node_direct_attach_events(struct hn_node_direct *nd,
				 struct hn_plugin_rt *rt);

/* Work per loop iteration (0: no slicing, every call and every batch in
 * one go) and the largest commit of a batch (0: no cap). */
void hn_node_direct_set_slice(struct hn_node_direct *nd, unsigned budget_us,
			      unsigned max_vertices);

struct hn_node_direct_stats {
	uint64_t calls;                 /* accepted calls */
	uint64_t completed;             /* callbacks run (incl. ECLOSED) */
	uint64_t cancelled;             /* completed with ECLOSED by cancel */
	uint64_t batches;               /* on_new_vertices stored in slices */
	uint64_t slices;                /* their commits */
	uint64_t max_slice_us;          /* longest slice */
	uint64_t slow_slices;           /* slices over 20 ms */
	uint64_t max_iter_us;           /* longest queue run in one
					 * iteration */
	uint64_t events;                /* ledger events delivered */
	size_t pending;                 /* calls queued now */
};
void hn_node_direct_stats(const struct hn_node_direct *nd,
			  struct hn_node_direct_stats *st);

#endif /* HN_CORE_NODE_DIRECT_H */
