/*
 * ipc.h: the core's side of the IPC with hathor-p2p-host (docs/ipc.md).
 *
 * Three endpoints in the runtime directory (0700, checked; sockets 0600;
 * the core listens on all of them so a host restart never touches socket
 * files, IPC.md section 3):
 *
 *   node.ipc        REP: the node service (every method of hathor/node.h,
 *                   batch forms, events_since, heartbeat), dispatched to
 *                   core/nodesvc.h on the loop thread
 *   events.ipc      PUB: node events with (epoch, seq), coalesced per loop
 *                   iteration, plus a heartbeat {epoch, last_seq} every
 *                   second; a bounded ring serves events_since
 *   p2p.<gen>.ipc   REQ: core -> host commands, one socket per host
 *                   generation, accepting only that host's pid, so a
 *                   command can never reach another generation; opened
 *                   by the supervisor (core/sup.h), not here
 *
 * Every pipe's peer uid must be ours.  Limits (message size, contexts in
 * flight, calls per second) come from the config.  A request the core
 * answers with a protocol-level error (malformed JSON, wrong types,
 * unknown method, oversize, no hello) is counted and reported to the
 * on_bad callback, which the supervisor uses to replace a misbehaving
 * host.
 *
 * Loop thread only.
 */
#ifndef HN_CORE_IPC_H
#define HN_CORE_IPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hn/jsonrpc.h"
#include "hn/rpc_nng.h"

struct ev_loop;
struct hn_error;
struct hn_ledger;
struct hn_ipc;

/* Capabilities the core announces on node.ipc and requires from hosts. */
#define HN_IPC_CAP_NODE "node.v1"       /* node service methods */
#define HN_IPC_CAP_EVENTS "events.v1"   /* events.ipc + events_since */
#define HN_IPC_CAP_P2P "p2p.v1"         /* host: p2p.ipc commands */

#define HN_IPC_DEFAULT_RING 4096        /* events kept for events_since */

struct hn_ipc_opts {
	struct ev_loop *loop;
	/* Borrowed.  NULL (tests of the supervisor, a node without
	 * storage): node-service methods answer HATHOR_ECLOSED "no
	 * ledger"; hello, heartbeat and events_since still work. */
	struct hn_ledger *ledger;
	const char *runtime_dir;        /* must exist, 0700, ours */
	size_t max_msg;                 /* 0: HN_RPC_DEFAULT_MAX_MSG */
	unsigned max_inflight;          /* node.ipc contexts (0: 16) */
	unsigned max_rate;              /* node.ipc calls/s (0: off) */
	size_t ring;                    /* 0: HN_IPC_DEFAULT_RING */
	double heartbeat;               /* events heartbeat s (0: 1.0) */
};

/* Checks the runtime dir (lstat: a directory, owned by us, mode 0700, not
 * a symlink), listens on node.ipc and events.ipc and subscribes to the
 * ledger's events.  Returns 0 and *@out, or a negative code with @err. */
int hn_ipc_open(const struct hn_ipc_opts *o, struct hn_ipc **out,
		struct hn_error *err);
/* Closes node.ipc and events.ipc.  NULL: no-op. */
void hn_ipc_close(struct hn_ipc *ipc);

/* Checks @dir as hn_ipc_open does.  Returns 0 or HN_EINVAL with @err. */
int hn_ipc_check_dir(const char *dir, struct hn_error *err);

/* Socket paths (borrowed): "<runtime_dir>/node.ipc" etc. */
const char *hn_ipc_node_path(const struct hn_ipc *ipc);
const char *hn_ipc_events_path(const struct hn_ipc *ipc);

/* --- misconduct and stats ----------------------------------------------- */

/* @pid: peer pid of the offending pipe (0 unknown). */
typedef void (*hn_ipc_bad_cb)(void *arg, uint64_t pid,
			      const struct hn_rpc_error *e);
void hn_ipc_on_bad(struct hn_ipc *ipc, hn_ipc_bad_cb cb, void *arg);
/* Called as each node.ipc reply is handed to nng (@method: the request's;
 * @error: an error reply), in the order the core answers: the order the
 * host's pipe carries them.  NULL: none. */
typedef void (*hn_ipc_reply_cb)(void *arg, const char *method, bool error);
void hn_ipc_on_reply(struct hn_ipc *ipc, hn_ipc_reply_cb cb, void *arg);

struct hn_ipc_stats {
	struct hn_rpc_server_stats node;
	struct hn_rpc_pipe_stats node_pipes;
	uint64_t events_published;      /* events put on events.ipc */
	uint64_t events_msgs;           /* PUB messages (coalesced) */
	uint64_t events_bytes;          /* bytes of those messages */
	uint64_t events_since_calls;
	uint64_t last_seq;
	uint64_t epoch;
	/* Sliced intake of on_new_vertices (hn_ipc_set_slice). */
	uint64_t intake_batches;        /* batches run in slices */
	uint64_t intake_slices;         /* commits (loop callbacks) */
	uint64_t intake_deferred;       /* calls queued behind a batch */
	uint64_t intake_max_slice_us;   /* longest slice, commit included */
	uint64_t intake_slow_slices;    /* slices over 20 ms */
	uint64_t intake_max_commit_us;  /* longest commit + event delivery */
};
void hn_ipc_stats(const struct hn_ipc *ipc, struct hn_ipc_stats *st);
/* on_new_vertices is stored in slices, one commit per loop iteration,
 * so that HTTP and the other watchers run between them: a slice ends
 * after the vertex that takes it past @budget_us (0: no slicing, the whole
 * batch in one callback and one commit) or at @max_vertices (0: no cap).
 * Calls arriving on node.ipc while a batch is in progress wait behind it
 * and run in arrival order once it is answered (heartbeat excepted).
 * Default HN_IPC_DEFAULT_SLICE_US, no cap. */
#define HN_IPC_DEFAULT_SLICE_US 5000
void hn_ipc_set_slice(struct hn_ipc *ipc, unsigned budget_us,
		      unsigned max_vertices);

/* True while node.ipc has calls being answered. */
bool hn_ipc_busy(const struct hn_ipc *ipc);

/* The "ipc" daemon module (core/daemon.h): opens d->ipc with the config's
 * limits when p2p_mode is "host"; nothing otherwise. */
struct hn_daemon_module;
extern const struct hn_daemon_module hn_ipc_module;

#endif /* HN_CORE_IPC_H */
