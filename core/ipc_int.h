/*
 * ipc_int.h: shared between core/ipc*.c only.
 */
#ifndef HN_CORE_IPC_INT_H
#define HN_CORE_IPC_INT_H

#include <limits.h>

#include <ev.h>
#include <nng/nng.h>

#include "ipc.h"

struct hn_ledger_event;
struct ipc_intake;              /* ipc_node.c */

struct ipc_ring_ent {
	uint64_t seq;
	struct json_object *ev;         /* owned */
};

struct hn_ipc {
	struct ev_loop *loop;
	struct hn_ledger *ledger;
	size_t max_msg;
	char dir[PATH_MAX];
	char node_path[PATH_MAX];
	char events_path[PATH_MAX];

	struct hn_rpc_server *node;     /* node.ipc */

	/* events.ipc */
	nng_socket pub;
	bool pub_open;
	uint64_t epoch;
	uint64_t seq;                   /* last seq handed out */
	struct ipc_ring_ent *ring;      /* circular, @ring_n slots */
	size_t ring_n, ring_used, ring_head; /* head: oldest */
	struct json_object *pending;    /* array not yet published */
	size_t pending_bytes;
	ev_prepare flush_w;
	ev_timer hb_w;
	bool subscribed;

	/* Sliced batch intake (ipc_node.c): on_new_vertices runs at most
	 * @slice_us of ledger work per loop iteration (0: the whole batch in
	 * one callback), at most @slice_max vertices per commit. */
	struct ipc_intake *intake;      /* NULL until first used */
	unsigned slice_us, slice_max;

	hn_ipc_bad_cb on_bad;
	void *on_bad_arg;
	hn_ipc_reply_cb on_reply;
	void *on_reply_arg;
	struct hn_ipc_stats st;
};

/* ipc_node.c */
extern const struct hn_rpc_method hn__ipc_node_methods[];
extern const size_t hn__ipc_node_n_methods;
/* After hn_rpc_server_close: drops the batch in progress and the calls
 * queued behind it (their replies only free them). */
void hn__ipc_node_close(struct hn_ipc *ipc);

/* ipc_events.c */
int hn__ipc_events_open(struct hn_ipc *ipc, size_t ring, double heartbeat,
			struct hn_error *err);
void hn__ipc_events_close(struct hn_ipc *ipc);
void hn__ipc_events_since(void *arg, struct hn_rpc_call *c,
			  struct json_object *params);
/* JSON of a ledger event (seq set by the caller). */
struct json_object *hn__ipc_event_json(const struct hn_ledger_event *ev,
				       uint64_t seq);
const char *hn__ipc_epoch_hex(const struct hn_ipc *ipc, char buf[17]);

#endif /* HN_CORE_IPC_INT_H */
