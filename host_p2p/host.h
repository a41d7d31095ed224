/*
 * host.h: hathor-p2p-host internals, shared by the files of host_p2p only.
 *
 * The host is one libev loop running one p2p-kind plugin.  It dials the
 * core's three sockets (node.ipc REQ, p2p.<gen>.ipc REP, events.ipc SUB),
 * gives the plugin a node service that is JSON-RPC over node.ipc, serves
 * the core's commands on p2p.ipc by calling the plugin's hathor_p2p_ops,
 * and delivers node events in seq order.  It exits when the core goes
 * away: parent death signal, getppid() change, or loss of either REQ/REP
 * link.
 */
#ifndef HN_HOST_P2P_HOST_H
#define HN_HOST_P2P_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include <ev.h>
#include <json-c/json.h>
#include <nng/nng.h>

#include "hathor/node.h"
#include "hathor/p2p.h"
#include "hn/jsonrpc.h"
#include "hn/plugin_load.h"
#include "hn/rpc_nng.h"

#define HOST_COMP_MAX 48
/* Longest hash list accepted in a reply (core: HN_NODESVC_MAX_LIST). */
#define HN_NODESVC_MAX_LIST_HOST 100000

struct host_pending;

struct host {
	struct ev_loop *loop;
	char comp[HOST_COMP_MAX];       /* log component "p2p-host[pid]" */
	size_t max_msg;
	unsigned inflight;
	double call_timeout;            /* node calls, seconds */
	long parent_pid;                /* 0: not checked */
	/* --status-fd: a start-up failure is written here as one line;
	 * closed once the plugin runs (-1: none). */
	int status_fd;

	const char *node_url, *p2p_url, *events_url;
	const char *plugin_path;
	/* --runtime-dir: the plugin is dlopen'ed from a private copy made
	 * there (unlinked at once), so a build overwritten in place at
	 * @plugin_path cannot change the code this host runs (NULL: the
	 * path itself). */
	const char *copy_dir;

	struct hn_rpc_client *node;     /* node.ipc */
	bool node_hello;                /* hello answered */
	bool node_was_up;
	struct hn_rpc_server *p2p;      /* p2p.<gen>.ipc */
	bool p2p_was_up;

	/* events.ipc */
	nng_socket sub;
	bool sub_open;
	nng_aio *sub_aio;
	ev_async sub_async;
	pthread_mutex_t sub_mu;
	nng_msg **sub_q;                /* FIFO of received messages */
	size_t sub_n, sub_cap;
	uint64_t ev_epoch;              /* 0: unknown yet */
	uint64_t ev_last;               /* last seq delivered */
	bool ev_resyncing;              /* events_since in flight */
	uint64_t ev_resyncs, ev_resets, ev_dropped;

	struct hn_plugin_rt *rt;
	struct hn_plugin_inst *inst;
	const struct hathor_p2p_ops *ops;
	void *ctx;

	struct host_pending *pending;   /* node calls in flight */

	ev_signal sig_term, sig_int;
	ev_timer watch;                 /* parent / link watchdog */
	double start_mono;
	double start_wall;              /* Unix time at start */
	bool stopping;
	int exit_code;
};

/* host_node.c: the plugin's node service over node.ipc. */
extern const struct hathor_node_ops host_node_ops;
/* Member @k of @o when @o is an object (borrowed from @o), else NULL. */
struct json_object *host_member(struct json_object *o, const char *k);
/* Completes every call of plugin @h still pending with HATHOR_ECLOSED. */
void host_node_cancel(void *node_ctx, struct hathor_host *h);

/* host_srv.c: p2p.ipc methods. */
extern const struct hn_rpc_method host_p2p_methods[];
extern const size_t host_p2p_n_methods;

/* host_events.c: events.ipc subscriber. */
int host_events_open(struct host *hs, struct hn_error *err);
void host_events_close(struct host *hs);
/* Sets the baseline (epoch, last_seq) from a node.ipc heartbeat. */
void host_events_baseline(struct host *hs, const char *epoch_hex,
			  uint64_t last_seq);
int host_epoch_parse(const char *hex, uint64_t *out);

/* main.c */
void host_stop(struct host *hs, const char *why, int code);

#endif /* HN_HOST_P2P_HOST_H */
