/*
 * hn/rpc_nng.h: JSON-RPC (hn/jsonrpc.h) over nng REQ/REP sockets on a
 * libev loop, for the IPC between hathor-node and hathor-p2p-host.
 *
 * Threading (IPC.md section 1): every socket runs on nng contexts with one
 * aio each; aio callbacks (nng threads) only queue the slot and
 * ev_async_send; the loop thread does all parsing, dispatch and callbacks.
 * Every function here is loop-thread only.
 *
 * Both ends:
 *  - REQ resend is off (NNG_OPT_REQ_RESENDTIME = infinite): a request is
 *    never delivered twice; a lost peer fails the call instead.
 *  - NNG_OPT_RECVMAXSZ = max_msg on the dialer/listener, and every message
 *    is checked against max_msg before it is sent.
 *  - Every pipe is checked in NNG_PIPE_EV_ADD_PRE: the peer uid (SO_PEERCRED
 *    via NNG_OPT_IPC_PEER_UID) must equal @peer_uid, and the peer pid must
 *    equal the expected pid when one is set; anything else is closed before
 *    the socket sees it (and counted).
 *  - Listeners are created 0600 (NNG_OPT_IPC_PERMISSIONS before start);
 *    dialers are non-blocking and redial every 50 ms .. 1 s.
 */
#ifndef HN_RPC_NNG_H
#define HN_RPC_NNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hn/err.h"
#include "hn/jsonrpc.h"

struct ev_loop;

/* Transport options shared by client and server. */
struct hn_rpc_link_opts {
	struct ev_loop *loop;
	const char *url;                /* "ipc:///abs/path" */
	bool listen;                    /* true: listen (core); false: dial */
	size_t max_msg;                 /* 0: HN_RPC_DEFAULT_MAX_MSG */
	unsigned n_ctx;                 /* contexts = in-flight limit (0: 8) */
	bool check_uid;                 /* refuse pipes of another uid */
	uint64_t peer_uid;              /* usually getuid() */
	const char *name;               /* log component, "node.ipc" */
	/* Client: hn_rpc_client_close() leaves nng_close() of the socket to
	 * a detached thread (it frees the client once that returns).  nng
	 * 1.5.2's nng_close() can wait for good on a pipe whose peer went
	 * away between two reads of a message (its teardown never ends);
	 * for links to a child that may die at any moment (core/sup.c's
	 * per-generation p2p link), so the loop never blocks on it.  Not
	 * with nng_fini(): that thread may still be inside nng_close(). */
	bool close_async;
};

/* Pipe counters of one socket (loop thread reads a snapshot). */
struct hn_rpc_pipe_stats {
	uint64_t added;                 /* pipes accepted */
	uint64_t removed;               /* pipes gone */
	uint64_t refused;               /* wrong uid / pid */
	unsigned connected;             /* added - removed */
};

/* Called on the loop thread after a pipe was added or removed (@up). */
typedef void (*hn_rpc_pipe_cb)(void *arg, bool up);

/* --- client (REQ) ------------------------------------------------------- */

struct hn_rpc_client;

/* @rc 0: @resp holds the peer's response (check resp->is_error); it is
 * borrowed for the callback.  @rc < 0: no response: HN_ETIMEDOUT,
 * HN_ECLOSED (client closed), HN_EIO (link lost or send failed),
 * HN_EPROTO (malformed response; @resp NULL). */
typedef void (*hn_rpc_done_cb)(void *arg, int rc, struct hn_rpc_resp *resp);

int hn_rpc_client_open(const struct hn_rpc_link_opts *o,
		       struct hn_rpc_client **out, struct hn_error *err);
/* Completes every call still pending or queued with HN_ECLOSED (from
 * inside this function), then closes the socket.  NULL: no-op. */
void hn_rpc_client_close(struct hn_rpc_client *c);

enum hn_rpc_call_flags {
	/* Start only after every earlier ORDERED call completed (writes
	 * whose order matters: contexts complete in any order). */
	HN_RPC_ORDERED = 1 << 0,
};

/* Sends @method(@params) and calls @cb exactly once, later, on the loop
 * (never from inside this call).  @timeout in seconds (<= 0: 5 s) counts
 * from the call.  Calls beyond the in-flight limit wait in a queue of at
 * most @max_queue (hn_rpc_client_set_queue, default 4096) entries.
 * Returns 0, or (and @cb is never called) HN_EMSGSIZE request over the
 * limit, HN_EAGAIN queue full, HN_ECLOSED, HN_ENOMEM. */
int hn_rpc_call(struct hn_rpc_client *c, const char *method,
		HN_TAKES struct json_object *params, double timeout,
		unsigned flags, hn_rpc_done_cb cb, void *arg);
void hn_rpc_client_set_queue(struct hn_rpc_client *c, size_t max_queue);
/* Calls in flight plus queued. */
size_t hn_rpc_client_pending(const struct hn_rpc_client *c);
void hn_rpc_client_pipe_stats(const struct hn_rpc_client *c,
			      struct hn_rpc_pipe_stats *st);
/* Pipe up/down notifications (NULL: none). */
void hn_rpc_client_on_pipe(struct hn_rpc_client *c, hn_rpc_pipe_cb cb,
			   void *arg);
/* Only pipes whose peer pid is @pid are accepted (0: any). */
void hn_rpc_client_expect_pid(struct hn_rpc_client *c, uint64_t pid);

/* --- server (REP) ------------------------------------------------------- */

struct hn_rpc_server;
struct hn_rpc_call;             /* one request being answered */

/* A method handler: reads @params (borrowed from the request, valid until
 * the reply), then answers exactly once with hn_rpc_reply() or
 * hn_rpc_reply_error(), now or later on the loop thread. */
typedef void (*hn_rpc_method_fn)(void *arg, struct hn_rpc_call *call,
				 struct json_object *params);

struct hn_rpc_method {
	const char *name;
	hn_rpc_method_fn fn;
};

/* Called for every request answered with a protocol-level error (parse
 * error, invalid request, unknown method, invalid params, oversize,
 * before hello): what the supervisor counts against a misbehaving peer.
 * @pid: the peer process of the pipe the request came on (ipc transport;
 * 0 if unknown), so the right one is charged when several are dialed in. */
typedef void (*hn_rpc_bad_cb)(void *arg, uint64_t pid,
			      const struct hn_rpc_error *e);

/* Called once per answered call of a method in the table (never for
 * hello, unknown methods or requests refused before dispatch, so
 * @method is always one of the table's names): @seconds from receipt
 * to reply, @error answered with an error.  For metrics. */
typedef void (*hn_rpc_done_fn)(void *arg, const char *method,
			       double seconds, bool error);

struct hn_rpc_server_opts {
	struct hn_rpc_link_opts link;
	const struct hn_rpc_method *methods;    /* borrowed, lives as long */
	size_t n_methods;
	void *arg;                      /* for handlers and callbacks */
	/* hello: answered by the server itself with @role and @caps
	 * (NULL-terminated); the client must list every @need_caps.  With
	 * @require_hello, any other method before a successful hello on
	 * that pipe gets HN_RPC_ENOHELLO. */
	const char *role;
	const char *const *caps;
	const char *const *need_caps;
	bool require_hello;
	/* Calls per second per server (0: unlimited); a burst of one
	 * second's worth is allowed.  Over the limit: HN_RPC_EBUSY. */
	unsigned max_rate;
	hn_rpc_bad_cb on_bad;
	hn_rpc_done_fn on_done;         /* NULL: none */
};

struct hn_rpc_server_stats {
	uint64_t calls;                 /* requests received */
	uint64_t bad;                   /* protocol-level errors answered */
	uint64_t oversize;              /* of which too large */
	uint64_t rate_limited;          /* HN_RPC_EBUSY answers */
	uint64_t hellos;                /* successful hellos */
	uint64_t gone;                  /* from a pipe closed before they
					 * were handled: dropped */
	uint64_t bytes_in;              /* request bytes received */
	uint64_t bytes_out;             /* reply bytes sent */
};

int hn_rpc_server_open(const struct hn_rpc_server_opts *o,
		       struct hn_rpc_server **out, struct hn_error *err);
/* Closes the socket.  Calls still unanswered are dropped (their later
 * hn_rpc_reply*() are accepted and ignored until hn_rpc_server_free). */
void hn_rpc_server_close(struct hn_rpc_server *s);
void hn_rpc_server_stats(const struct hn_rpc_server *s,
			 struct hn_rpc_server_stats *st);
void hn_rpc_server_pipe_stats(const struct hn_rpc_server *s,
			      struct hn_rpc_pipe_stats *st);
void hn_rpc_server_on_pipe(struct hn_rpc_server *s, hn_rpc_pipe_cb cb,
			   void *arg);
void hn_rpc_server_expect_pid(struct hn_rpc_server *s, uint64_t pid);
/* Calls received but not answered yet. */
size_t hn_rpc_server_busy(const struct hn_rpc_server *s);

/* Answers @call with @result (taken; NULL: {}).  A reply over max_msg is
 * replaced by an HN_RPC_ETOOBIG error.  @call is freed. */
void hn_rpc_reply(struct hn_rpc_call *call,
		  HN_TAKES struct json_object *result);
void hn_rpc_reply_error(struct hn_rpc_call *call, const struct hn_rpc_error *e);
/* Shorthand: hn_rpc_error_app(@app, "%s", @msg) and reply. */
void hn_rpc_reply_app(struct hn_rpc_call *call, int app, const char *msg);
/* The request's method (borrowed, valid until the reply). */
const char *hn_rpc_call_method(const struct hn_rpc_call *call);
/* The peer pid of the pipe the request came on (0: unknown). */
uint64_t hn_rpc_call_peer_pid(const struct hn_rpc_call *call);

#endif /* HN_RPC_NNG_H */
