/*
 * rpc_nng.c: JSON-RPC over nng REQ/REP contexts on a libev loop.
 *
 * Each socket has a fixed pool of slots (nng_ctx + nng_aio).  An aio
 * callback runs on an nng thread and only appends its slot to the link's
 * FIFO "done" queue and wakes the loop with ev_async_send; the loop drains
 * the queue in order with a budget and does everything else.  Pipe
 * notifications are handled the same way (uid/pid check inline, then a
 * queued up/down record for the owner).
 *
 * Reentrancy: callbacks (client completions, server handlers) may close
 * the very object whose queue is being drained.  Closing then does all the
 * work but leaves the final free() to the drain loop (@depth > 0).
 */
#include "hn/rpc_nng.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "hn/log.h"

#define LINK_DEFAULT_CTX 8
#define LINK_MAX_CTX 256
#define LINK_DRAIN_BUDGET 256
#define LINK_MAX_PIPES 64
#define LINK_PIPE_EVQ 64
#define CLIENT_DEFAULT_QUEUE 4096
#define CLIENT_DEFAULT_TIMEOUT 5.0

/* --- the link: socket, slots, done queue, pipe guard --------------------- */

struct link;

struct slot {
	struct link *lk;
	nng_ctx ctx;
	nng_aio *aio;
	struct slot *qnext;     /* done queue */
	bool queued;
	int state;              /* owner-defined */
	void *cur;              /* owner-defined: call in progress */
};

struct pipe_rec {
	uint32_t id;
	uint64_t pid;
	bool hello;             /* server: said hello successfully */
};

struct link {
	nng_socket sock;
	bool sock_open;
	nng_listener lst;
	nng_dialer dlr;
	struct ev_loop *loop;
	ev_async async;
	size_t max_msg;
	char name[64];

	struct slot *slots;
	unsigned n_slots;

	/* Shared with nng threads (under @mu). */
	pthread_mutex_t mu;
	struct slot *q_head, *q_tail;
	struct pipe_rec pipes[LINK_MAX_PIPES];
	unsigned n_pipes;
	bool pev[LINK_PIPE_EVQ];        /* queued pipe events (up/down) */
	unsigned n_pev;

	bool check_uid;
	atomic_uint_fast64_t uid;
	atomic_uint_fast64_t want_pid;  /* 0: any */
	atomic_uint_fast64_t added, removed, refused;

	hn_rpc_pipe_cb pipe_cb;
	void *pipe_arg;
	void (*on_done)(struct link *lk, struct slot *s);
	void *owner;
	bool closing;
	int depth;                      /* inside drain */
	bool free_later;
	void (*free_owner)(void *owner);
	bool close_async;               /* hn_rpc_link_opts.close_async */
	/* The loop's reference, and the closing thread's (close_async):
	 * the last link_put() frees.  Once detached, pipe events are
	 * ignored (the closing thread's nng_close() may still report). */
	atomic_int refs;
	atomic_bool detached;
};

static void slot_cb(void *arg)
{
	struct slot *s = arg;
	struct link *lk = s->lk;

	pthread_mutex_lock(&lk->mu);
	if (!s->queued) {
		s->queued = true;
		s->qnext = NULL;
		if (lk->q_tail)
			lk->q_tail->qnext = s;
		else
			lk->q_head = s;
		lk->q_tail = s;
	}
	pthread_mutex_unlock(&lk->mu);
	ev_async_send(lk->loop, &lk->async);
}

static void pipe_event_push(struct link *lk, bool up)
{
	if (lk->n_pev < LINK_PIPE_EVQ)
		lk->pev[lk->n_pev++] = up;
	else
		lk->pev[LINK_PIPE_EVQ - 1] = up;   /* keep the latest */
}

static void pipe_notify_cb(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct link *lk = arg;
	uint64_t uid = 0, pid = 0, want;
	unsigned i;

	if (atomic_load(&lk->detached)) {
		if (ev == NNG_PIPE_EV_ADD_PRE)
			nng_pipe_close(p);
		return;
	}
	switch (ev) {
	case NNG_PIPE_EV_ADD_PRE:
		nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_PID, &pid);
		if (lk->check_uid &&
		    (nng_pipe_get_uint64(p, NNG_OPT_IPC_PEER_UID, &uid) != 0 ||
		     uid != atomic_load(&lk->uid))) {
			atomic_fetch_add(&lk->refused, 1);
			nng_pipe_close(p);
			return;
		}
		want = atomic_load(&lk->want_pid);
		if (want && pid != want) {
			atomic_fetch_add(&lk->refused, 1);
			nng_pipe_close(p);
			return;
		}
		pthread_mutex_lock(&lk->mu);
		if (lk->n_pipes < LINK_MAX_PIPES) {
			lk->pipes[lk->n_pipes].id = (uint32_t)nng_pipe_id(p);
			lk->pipes[lk->n_pipes].pid = pid;
			lk->pipes[lk->n_pipes].hello = false;
			lk->n_pipes++;
			pthread_mutex_unlock(&lk->mu);
		} else {
			pthread_mutex_unlock(&lk->mu);
			atomic_fetch_add(&lk->refused, 1);
			nng_pipe_close(p);
		}
		return;
	case NNG_PIPE_EV_ADD_POST:
		atomic_fetch_add(&lk->added, 1);
		pthread_mutex_lock(&lk->mu);
		pipe_event_push(lk, true);
		pthread_mutex_unlock(&lk->mu);
		ev_async_send(lk->loop, &lk->async);
		return;
	case NNG_PIPE_EV_REM_POST:
		pthread_mutex_lock(&lk->mu);
		for (i = 0; i < lk->n_pipes; i++) {
			if (lk->pipes[i].id == (uint32_t)nng_pipe_id(p)) {
				lk->pipes[i] = lk->pipes[--lk->n_pipes];
				atomic_fetch_add(&lk->removed, 1);
				pipe_event_push(lk, false);
				break;
			}
		}
		pthread_mutex_unlock(&lk->mu);
		ev_async_send(lk->loop, &lk->async);
		return;
	default:
		return;
	}
}

/* Looks up pipe @id; returns its record copy in @out. */
static bool link_pipe_get(struct link *lk, uint32_t id, struct pipe_rec *out)
{
	unsigned i;
	bool found = false;

	pthread_mutex_lock(&lk->mu);
	for (i = 0; i < lk->n_pipes; i++) {
		if (lk->pipes[i].id == id) {
			*out = lk->pipes[i];
			found = true;
			break;
		}
	}
	pthread_mutex_unlock(&lk->mu);
	return found;
}

static void link_pipe_set_hello(struct link *lk, uint32_t id)
{
	unsigned i;

	pthread_mutex_lock(&lk->mu);
	for (i = 0; i < lk->n_pipes; i++)
		if (lk->pipes[i].id == id)
			lk->pipes[i].hello = true;
	pthread_mutex_unlock(&lk->mu);
}

static void link_put(struct link *lk);

static void async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct link *lk = w->data;
	bool pev[LINK_PIPE_EVQ];
	unsigned n_pev, i, n = 0;

	lk->depth++;
	pthread_mutex_lock(&lk->mu);
	n_pev = lk->n_pev;
	memcpy(pev, lk->pev, n_pev * sizeof(pev[0]));
	lk->n_pev = 0;
	pthread_mutex_unlock(&lk->mu);
	for (i = 0; i < n_pev && !lk->closing; i++)
		if (lk->pipe_cb)
			lk->pipe_cb(lk->pipe_arg, pev[i]);
	while (!lk->closing) {
		struct slot *s;

		pthread_mutex_lock(&lk->mu);
		s = lk->q_head;
		if (s) {
			lk->q_head = s->qnext;
			if (!lk->q_head)
				lk->q_tail = NULL;
			s->queued = false;
		}
		pthread_mutex_unlock(&lk->mu);
		if (!s)
			break;
		lk->on_done(lk, s);
		if (++n == LINK_DRAIN_BUDGET) {
			ev_async_send(loop, w);
			break;
		}
	}
	lk->depth--;
	if (lk->depth == 0 && lk->free_later)
		link_put(lk);
}

static void link_opts_defaults(const struct hn_rpc_link_opts *o,
			       size_t *max_msg, unsigned *n_ctx)
{
	*max_msg = o->max_msg ? o->max_msg : HN_RPC_DEFAULT_MAX_MSG;
	*n_ctx = o->n_ctx ? o->n_ctx : LINK_DEFAULT_CTX;
	if (*n_ctx > LINK_MAX_CTX)
		*n_ctx = LINK_MAX_CTX;
}

/* Transport-level cap: twice the message limit, so that a request between
 * max_msg and 2 * max_msg still gets a JSON-RPC "too large" answer; nng
 * closes the connection on anything larger. */
static size_t link_recvmax(size_t max_msg)
{
	return max_msg > SIZE_MAX / 2 ? SIZE_MAX : max_msg * 2;
}

static int link_open(struct link *lk, const struct hn_rpc_link_opts *o,
		     bool req, struct hn_error *err)
{
	unsigned n_ctx, i;
	int rv;

	link_opts_defaults(o, &lk->max_msg, &n_ctx);
	lk->loop = o->loop;
	snprintf(lk->name, sizeof(lk->name), "%s", o->name ? o->name : "rpc");
	atomic_init(&lk->refs, 1);
	atomic_init(&lk->detached, false);
	lk->close_async = o->close_async;
	lk->check_uid = o->check_uid;
	atomic_store(&lk->uid, o->peer_uid);
	pthread_mutex_init(&lk->mu, NULL);
	ev_async_init(&lk->async, async_cb);
	lk->async.data = lk;
	ev_async_start(lk->loop, &lk->async);

	rv = req ? nng_req0_open(&lk->sock) : nng_rep0_open(&lk->sock);
	if (rv != 0)
		return hn_error_set(err, HN_EIO, "%s: cannot open socket: %s",
				    lk->name, nng_strerror(rv));
	lk->sock_open = true;
	if (req)
		nng_socket_set_ms(lk->sock, NNG_OPT_REQ_RESENDTIME,
				  NNG_DURATION_INFINITE);
	nng_socket_set_ms(lk->sock, NNG_OPT_RECONNMINT, 50);
	nng_socket_set_ms(lk->sock, NNG_OPT_RECONNMAXT, 1000);
	nng_pipe_notify(lk->sock, NNG_PIPE_EV_ADD_PRE, pipe_notify_cb, lk);
	nng_pipe_notify(lk->sock, NNG_PIPE_EV_ADD_POST, pipe_notify_cb, lk);
	nng_pipe_notify(lk->sock, NNG_PIPE_EV_REM_POST, pipe_notify_cb, lk);

	lk->slots = calloc(n_ctx, sizeof(*lk->slots));
	if (!lk->slots)
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	for (i = 0; i < n_ctx; i++) {
		struct slot *s = &lk->slots[i];

		s->lk = lk;
		if ((rv = nng_ctx_open(&s->ctx, lk->sock)) != 0 ||
		    (rv = nng_aio_alloc(&s->aio, slot_cb, s)) != 0)
			return hn_error_set(err, HN_EIO, "%s: cannot open "
					    "context: %s", lk->name,
					    nng_strerror(rv));
		if (req)
			nng_ctx_set_ms(s->ctx, NNG_OPT_REQ_RESENDTIME,
				       NNG_DURATION_INFINITE);
		lk->n_slots++;
	}

	if (o->listen) {
		if ((rv = nng_listener_create(&lk->lst, lk->sock, o->url)) ||
		    (rv = nng_listener_set_size(lk->lst, NNG_OPT_RECVMAXSZ,
						link_recvmax(lk->max_msg))) ||
		    (rv = nng_listener_set_int(lk->lst,
					       NNG_OPT_IPC_PERMISSIONS,
					       0600)) ||
		    (rv = nng_listener_start(lk->lst, 0)))
			return hn_error_set(err, HN_EIO, "%s: cannot listen on "
					    "%s: %s", lk->name, o->url,
					    nng_strerror(rv));
	} else {
		if ((rv = nng_dialer_create(&lk->dlr, lk->sock, o->url)) ||
		    (rv = nng_dialer_set_size(lk->dlr, NNG_OPT_RECVMAXSZ,
					      link_recvmax(lk->max_msg))) ||
		    (rv = nng_dialer_start(lk->dlr, NNG_FLAG_NONBLOCK)))
			return hn_error_set(err, HN_EIO, "%s: cannot dial %s: "
					    "%s", lk->name, o->url,
					    nng_strerror(rv));
	}
	return 0;
}

static void *closer_main(void *arg)
{
	struct link *lk = arg;

	nng_close(lk->sock);
	link_put(lk);
	return NULL;
}

/* close_async: nng_close() on a detached thread holding a reference;
 * false if no thread could be started (then the caller closes). */
static bool close_detached(struct link *lk)
{
	pthread_attr_t a;
	pthread_t t;
	bool ok;

	atomic_store(&lk->detached, true);
	atomic_fetch_add(&lk->refs, 1);
	if (pthread_attr_init(&a) != 0) {
		atomic_fetch_sub(&lk->refs, 1);
		return false;
	}
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	ok = pthread_create(&t, &a, closer_main, lk) == 0;
	pthread_attr_destroy(&a);
	if (!ok)
		atomic_fetch_sub(&lk->refs, 1);
	return ok;
}

/* Stops every aio (waits for running callbacks; they only queue) and
 * closes the socket (close_async: on a thread of its own).  The owner
 * then drains what the slots hold. */
static void link_shutdown(struct link *lk)
{
	unsigned i;

	lk->closing = true;
	for (i = 0; i < lk->n_slots; i++)
		nng_aio_stop(lk->slots[i].aio);
	for (i = 0; i < lk->n_slots; i++)
		nng_ctx_close(lk->slots[i].ctx);
	if (lk->sock_open) {
		lk->sock_open = false;
		if (!lk->close_async || !close_detached(lk))
			nng_close(lk->sock);
	}
	if (lk->loop)
		ev_async_stop(lk->loop, &lk->async);
}

static void link_free(struct link *lk)
{
	unsigned i;

	for (i = 0; i < lk->n_slots; i++) {
		nng_msg *m = nng_aio_get_msg(lk->slots[i].aio);

		if (m)
			nng_msg_free(m);
		nng_aio_free(lk->slots[i].aio);
	}
	free(lk->slots);
	pthread_mutex_destroy(&lk->mu);
	lk->free_owner(lk->owner);
}

/* Drops a reference (the loop's, or the closing thread's); the last one
 * frees the link and its owner. */
static void link_put(struct link *lk)
{
	if (atomic_fetch_sub(&lk->refs, 1) == 1)
		link_free(lk);
}

static void link_pipe_stats(const struct link *lk, struct hn_rpc_pipe_stats *st)
{
	struct link *m = (struct link *)lk;

	st->added = atomic_load(&m->added);
	st->removed = atomic_load(&m->removed);
	st->refused = atomic_load(&m->refused);
	st->connected = (unsigned)(st->added - st->removed);
}

static nng_msg *msg_from(const char *s, size_t len)
{
	nng_msg *m;

	if (nng_msg_alloc(&m, 0) != 0)
		return NULL;
	if (nng_msg_append(m, s, len) != 0) {
		nng_msg_free(m);
		return NULL;
	}
	return m;
}

static nng_duration ms_left(struct ev_loop *loop, double deadline)
{
	double left = deadline - ev_now(loop);

	if (left <= 0.001)
		return 1;
	return (nng_duration)(left * 1000.0);
}

/* --- client ------------------------------------------------------------- */

enum { CS_IDLE = 0, CS_SEND, CS_RECV };

struct call {
	struct call *next;
	int64_t id;
	unsigned flags;
	double deadline;
	nng_msg *msg;           /* request, until handed to nng */
	hn_rpc_done_cb cb;
	void *arg;
};

struct callq {
	struct call *head, *tail;
};

struct hn_rpc_client {
	struct link lk;
	int64_t next_id;
	struct callq plain, ordered;
	size_t n_queued, max_queue;
	unsigned n_busy;                /* slots in use */
	unsigned ordered_busy;          /* ORDERED calls in flight */
};

static void callq_push(struct callq *q, struct call *c)
{
	c->next = NULL;
	if (q->tail)
		q->tail->next = c;
	else
		q->head = c;
	q->tail = c;
}

static struct call *callq_pop(struct callq *q)
{
	struct call *c = q->head;

	if (c) {
		q->head = c->next;
		if (!q->head)
			q->tail = NULL;
	}
	return c;
}

static void call_finish(struct hn_rpc_client *cl, struct call *c, int rc,
			struct hn_rpc_resp *resp)
{
	if (c->flags & HN_RPC_ORDERED)
		cl->ordered_busy--;
	if (c->msg)
		nng_msg_free(c->msg);
	c->cb(c->arg, rc, resp);
	free(c);
}

static int nng_to_err(int rv)
{
	switch (rv) {
	case NNG_ETIMEDOUT:
		return HN_ETIMEDOUT;
	case NNG_ECLOSED:
	case NNG_ECANCELED:
		return HN_ECLOSED;
	default:
		return HN_EIO;
	}
}

static void client_pump(struct hn_rpc_client *cl);

static void client_start(struct hn_rpc_client *cl, struct slot *s,
			 struct call *c)
{
	s->cur = c;
	s->state = CS_SEND;
	cl->n_busy++;
	if (c->flags & HN_RPC_ORDERED)
		cl->ordered_busy++;
	nng_aio_set_msg(s->aio, c->msg);
	c->msg = NULL;
	nng_aio_set_timeout(s->aio, ms_left(cl->lk.loop, c->deadline));
	nng_ctx_send(s->ctx, s->aio);
}

static void client_slot_done(struct link *lk, struct slot *s)
{
	struct hn_rpc_client *cl = lk->owner;
	struct call *c = s->cur;
	int rv = nng_aio_result(s->aio);

	if (!c)
		return;
	if (s->state == CS_SEND) {
		if (rv != 0) {
			/* A failed send leaves the message with us. */
			c->msg = nng_aio_get_msg(s->aio);
			nng_aio_set_msg(s->aio, NULL);
			goto fail;
		}
		nng_aio_set_msg(s->aio, NULL);  /* nng owns it now */
		s->state = CS_RECV;
		nng_aio_set_timeout(s->aio, ms_left(lk->loop, c->deadline));
		nng_ctx_recv(s->ctx, s->aio);
		return;
	}
	if (rv != 0)
		goto fail;
	{
		nng_msg *m = nng_aio_get_msg(s->aio);
		struct hn_rpc_resp resp;
		struct hn_error err = { 0 };
		int prc;

		nng_aio_set_msg(s->aio, NULL);
		prc = hn_rpc_resp_parse(nng_msg_body(m), nng_msg_len(m),
					lk->max_msg, &resp, &err);
		nng_msg_free(m);
		if (prc == 0 && resp.id != c->id) {
			prc = HN_EPROTO;
			snprintf(err.msg, sizeof(err.msg), "response id %" PRId64
				 " for request %" PRId64, resp.id, c->id);
		}
		s->cur = NULL;
		s->state = CS_IDLE;
		cl->n_busy--;
		if (prc < 0) {
			hn_log(HN_LOG_WARN, lk->name, "malformed response: %s",
			       err.msg);
			hn_rpc_resp_release(&resp);
			call_finish(cl, c, HN_EPROTO, NULL);
		} else {
			call_finish(cl, c, 0, &resp);
			hn_rpc_resp_release(&resp);
		}
		if (!lk->closing)
			client_pump(cl);
		return;
	}
fail:
	s->cur = NULL;
	s->state = CS_IDLE;
	cl->n_busy--;
	call_finish(cl, c, nng_to_err(rv), NULL);
	if (!lk->closing)
		client_pump(cl);
}

static struct slot *client_free_slot(struct hn_rpc_client *cl)
{
	unsigned i;

	for (i = 0; i < cl->lk.n_slots; i++)
		if (cl->lk.slots[i].state == CS_IDLE && !cl->lk.slots[i].cur)
			return &cl->lk.slots[i];
	return NULL;
}

static void client_pump(struct hn_rpc_client *cl)
{
	while (cl->n_busy < cl->lk.n_slots) {
		struct call *p = cl->plain.head, *o = cl->ordered.head, *c;
		struct slot *s;

		if (o && cl->ordered_busy)
			o = NULL;       /* waits for the earlier write */
		if (!p && !o)
			return;
		if (p && (!o || p->id < o->id))
			c = callq_pop(&cl->plain);
		else
			c = callq_pop(&cl->ordered);
		cl->n_queued--;
		s = client_free_slot(cl);
		if (!s)
			return;         /* cannot happen: n_busy < n_slots */
		client_start(cl, s, c);
	}
}

static void client_free_owner(void *owner)
{
	free(owner);
}

int hn_rpc_client_open(const struct hn_rpc_link_opts *o,
		       struct hn_rpc_client **out, struct hn_error *err)
{
	struct hn_rpc_client *cl = calloc(1, sizeof(*cl));
	int rc;

	if (!cl)
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	cl->lk.owner = cl;
	cl->lk.on_done = client_slot_done;
	cl->lk.free_owner = client_free_owner;
	cl->max_queue = CLIENT_DEFAULT_QUEUE;
	cl->next_id = 1;
	rc = link_open(&cl->lk, o, true, err);
	if (rc < 0) {
		hn_rpc_client_close(cl);
		return rc;
	}
	*out = cl;
	return 0;
}

void hn_rpc_client_close(struct hn_rpc_client *cl)
{
	struct call *c;
	unsigned i;

	if (!cl || cl->lk.closing)
		return;
	cl->lk.depth++;
	link_shutdown(&cl->lk);
	for (i = 0; i < cl->lk.n_slots; i++) {
		struct slot *s = &cl->lk.slots[i];

		if ((c = s->cur) != NULL) {
			s->cur = NULL;
			cl->n_busy--;
			call_finish(cl, c, HN_ECLOSED, NULL);
		}
	}
	while ((c = callq_pop(&cl->ordered)) || (c = callq_pop(&cl->plain)))
		call_finish(cl, c, HN_ECLOSED, NULL);
	cl->n_queued = 0;
	cl->lk.depth--;
	if (cl->lk.depth > 0)
		cl->lk.free_later = true;
	else
		link_put(&cl->lk);
}

void hn_rpc_client_set_queue(struct hn_rpc_client *cl, size_t max_queue)
{
	cl->max_queue = max_queue;
}

int hn_rpc_call(struct hn_rpc_client *cl, const char *method,
		HN_TAKES struct json_object *params, double timeout,
		unsigned flags, hn_rpc_done_cb cb, void *arg)
{
	struct json_object *o;
	struct call *c;
	const char *s;
	size_t len;
	int rc;

	if (cl->lk.closing) {
		json_object_put(params);
		return HN_ECLOSED;
	}
	if (cl->n_queued >= cl->max_queue) {
		json_object_put(params);
		return HN_EAGAIN;
	}
	o = hn_rpc_request(cl->next_id, method, params);
	if (!o)
		return HN_ENOMEM;
	rc = hn_rpc_serialize(o, cl->lk.max_msg, &s, &len);
	if (rc < 0) {
		json_object_put(o);
		return rc;
	}
	c = calloc(1, sizeof(*c));
	if (!c || !(c->msg = msg_from(s, len))) {
		free(c);
		json_object_put(o);
		return HN_ENOMEM;
	}
	json_object_put(o);
	c->id = cl->next_id++;
	c->flags = flags;
	c->deadline = ev_now(cl->lk.loop) +
		      (timeout > 0 ? timeout : CLIENT_DEFAULT_TIMEOUT);
	c->cb = cb;
	c->arg = arg;
	callq_push(flags & HN_RPC_ORDERED ? &cl->ordered : &cl->plain, c);
	cl->n_queued++;
	client_pump(cl);
	return 0;
}

size_t hn_rpc_client_pending(const struct hn_rpc_client *cl)
{
	return cl->n_queued + cl->n_busy;
}

void hn_rpc_client_pipe_stats(const struct hn_rpc_client *cl,
			      struct hn_rpc_pipe_stats *st)
{
	link_pipe_stats(&cl->lk, st);
}

void hn_rpc_client_on_pipe(struct hn_rpc_client *cl, hn_rpc_pipe_cb cb,
			   void *arg)
{
	cl->lk.pipe_cb = cb;
	cl->lk.pipe_arg = arg;
}

void hn_rpc_client_expect_pid(struct hn_rpc_client *cl, uint64_t pid)
{
	atomic_store(&cl->lk.want_pid, pid);
}

/* --- server ------------------------------------------------------------- */

enum { SS_RECV = 1, SS_WORK, SS_SEND };

struct hn_rpc_call {
	struct hn_rpc_server *srv;      /* NULL: orphaned by close */
	struct slot *slot;
	struct hn_rpc_req req;
	uint64_t peer_pid;
	const char *method;             /* table name once dispatched */
	double t0;                      /* monotonic receipt time */
	struct hn_rpc_call *prev, *next; /* srv->calls */
};

struct hn_rpc_server {
	struct link lk;
	struct hn_rpc_server_opts o;
	struct hn_rpc_server_stats st;
	struct hn_rpc_call *calls;      /* unanswered */
	size_t n_calls;
	double tokens, tokens_at;
};

static void server_recv(struct slot *s)
{
	s->state = SS_RECV;
	s->cur = NULL;
	nng_aio_set_timeout(s->aio, NNG_DURATION_INFINITE);
	nng_ctx_recv(s->ctx, s->aio);
}

static void server_send_obj(struct hn_rpc_server *srv, struct slot *s,
			    struct json_object *id, struct json_object *o)
{
	const char *str;
	size_t len;
	nng_msg *m = NULL;
	int rc;

	if (!o)
		goto fail;
	rc = hn_rpc_serialize(o, srv->lk.max_msg, &str, &len);
	if (rc == HN_EMSGSIZE) {
		struct hn_rpc_error e;

		hn_rpc_error_set(&e, HN_RPC_ETOOBIG, "reply of %zu bytes "
				 "exceeds the limit of %zu",
				 strlen(json_object_to_json_string(o)),
				 srv->lk.max_msg);
		hn_log(HN_LOG_WARN, srv->lk.name, "%s", e.message);
		json_object_put(o);
		o = hn_rpc_error_obj(id, &e);
		if (!o)
			goto fail;
		rc = hn_rpc_serialize(o, srv->lk.max_msg, &str, &len);
	}
	if (rc < 0 || !(m = msg_from(str, len)))
		goto fail;
	srv->st.bytes_out += len;
	json_object_put(o);
	s->state = SS_SEND;
	nng_aio_set_msg(s->aio, m);
	nng_aio_set_timeout(s->aio, 5000);
	nng_ctx_send(s->ctx, s->aio);
	return;
fail:
	json_object_put(o);
	hn_log(HN_LOG_ERROR, srv->lk.name, "cannot build reply: out of memory");
	server_recv(s);
}

static void server_bad(struct hn_rpc_server *srv, uint64_t pid,
		       const struct hn_rpc_error *e)
{
	srv->st.bad++;
	if (e->code == HN_RPC_ETOOBIG)
		srv->st.oversize++;
	if (srv->o.on_bad)
		srv->o.on_bad(srv->o.arg, pid, e);
}

static bool is_protocol_error(int code)
{
	return (code <= HN_RPC_INVALID_REQUEST && code >= HN_RPC_PARSE_ERROR) ||
	       code == HN_RPC_ETOOBIG || code == HN_RPC_ENOHELLO ||
	       code == HN_RPC_EVERSION || code == HN_RPC_ECAPS;
}

static void call_unlink(struct hn_rpc_server *srv, struct hn_rpc_call *c)
{
	if (c->prev)
		c->prev->next = c->next;
	else
		srv->calls = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	srv->n_calls--;
}

static double call_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void call_done(struct hn_rpc_server *srv, struct hn_rpc_call *c,
		      bool error)
{
	if (srv->o.on_done && c->method)
		srv->o.on_done(srv->o.arg, c->method, call_mono() - c->t0,
			       error);
}

static void call_free(struct hn_rpc_call *c)
{
	hn_rpc_req_release(&c->req);
	free(c);
}

void hn_rpc_reply(struct hn_rpc_call *c, HN_TAKES struct json_object *result)
{
	struct hn_rpc_server *srv = c->srv;

	if (!srv) {
		json_object_put(result);
		call_free(c);
		return;
	}
	call_unlink(srv, c);
	server_send_obj(srv, c->slot, c->req.id,
			hn_rpc_result(c->req.id, result));
	call_done(srv, c, false);
	call_free(c);
}

void hn_rpc_reply_error(struct hn_rpc_call *c, const struct hn_rpc_error *e)
{
	struct hn_rpc_server *srv = c->srv;

	if (!srv) {
		call_free(c);
		return;
	}
	if (is_protocol_error(e->code))
		server_bad(srv, c->peer_pid, e);
	call_unlink(srv, c);
	server_send_obj(srv, c->slot, c->req.id, hn_rpc_error_obj(c->req.id, e));
	call_done(srv, c, true);
	call_free(c);
}

void hn_rpc_reply_app(struct hn_rpc_call *c, int app, const char *msg)
{
	struct hn_rpc_error e;

	hn_rpc_error_app(&e, app, "%s", msg ? msg : hn_strerror(app));
	hn_rpc_reply_error(c, &e);
}

const char *hn_rpc_call_method(const struct hn_rpc_call *c)
{
	return c->req.method;
}

uint64_t hn_rpc_call_peer_pid(const struct hn_rpc_call *c)
{
	return c->peer_pid;
}

static bool server_rate_ok(struct hn_rpc_server *srv)
{
	double now = ev_now(srv->lk.loop), rate = srv->o.max_rate;

	if (!srv->o.max_rate)
		return true;
	srv->tokens += (now - srv->tokens_at) * rate;
	srv->tokens_at = now;
	if (srv->tokens > rate)
		srv->tokens = rate;
	if (srv->tokens < 1.0)
		return false;
	srv->tokens -= 1.0;
	return true;
}

static void server_hello(struct hn_rpc_server *srv, struct hn_rpc_call *c,
			 uint32_t pipe_id)
{
	struct hn_rpc_hello h;
	struct hn_rpc_error e;

	if (hn_rpc_hello_check(c->req.params, srv->o.need_caps, &h, &e) < 0) {
		hn_log(HN_LOG_WARN, srv->lk.name, "refusing peer pid %" PRIu64
		       ": %s", c->peer_pid, e.message);
		hn_rpc_reply_error(c, &e);
		return;
	}
	link_pipe_set_hello(&srv->lk, pipe_id);
	srv->st.hellos++;
	hn_log(HN_LOG_DEBUG, srv->lk.name, "hello from %s pid %" PRId64,
	       h.role, h.pid);
	hn_rpc_reply(c, hn_rpc_hello_obj(srv->o.role ? srv->o.role : "core",
					 srv->o.caps));
}

static void server_dispatch(struct hn_rpc_server *srv, struct slot *s,
			    nng_msg *m)
{
	struct hn_rpc_call *c = calloc(1, sizeof(*c));
	struct hn_rpc_error e = { 0 };
	uint32_t pipe_id = (uint32_t)nng_pipe_id(nng_msg_get_pipe(m));
	struct pipe_rec pr = { 0 };
	size_t i;

	srv->st.calls++;
	srv->st.bytes_in += nng_msg_len(m);
	if (!link_pipe_get(&srv->lk, pipe_id, &pr)) {
		/* The pipe is gone (its process died or closed with the
		 * request in flight: received, then the pipe removed before
		 * the loop got here).  No answer can reach it, and its
		 * hello and pid are forgotten: answering "call before
		 * hello" would charge a protocol error to nobody known, and
		 * on_bad(pid 0) means "the serving peer" to the supervisor.
		 * Dropped unanswered. */
		srv->st.gone++;
		free(c);
		nng_msg_free(m);
		server_recv(s);
		return;
	}
	if (!c) {
		nng_msg_free(m);
		server_recv(s);
		return;
	}
	c->srv = srv;
	c->slot = s;
	c->t0 = call_mono();
	c->peer_pid = pr.pid;
	c->next = srv->calls;
	if (srv->calls)
		srv->calls->prev = c;
	srv->calls = c;
	srv->n_calls++;
	s->state = SS_WORK;
	s->cur = c;
	if (hn_rpc_req_parse(nng_msg_body(m), nng_msg_len(m), srv->lk.max_msg,
			     &c->req, &e) < 0) {
		nng_msg_free(m);
		hn_log(HN_LOG_WARN, srv->lk.name, "bad request from pid %"
		       PRIu64 ": %s", c->peer_pid, e.message);
		hn_rpc_reply_error(c, &e);
		return;
	}
	nng_msg_free(m);
	if (!c->req.id) {
		/* A notification: nothing to answer. */
		call_unlink(srv, c);
		call_free(c);
		server_recv(s);
		return;
	}
	if (!server_rate_ok(srv)) {
		srv->st.rate_limited++;
		hn_rpc_error_set(&e, HN_RPC_EBUSY, "call rate limit of %u/s "
				 "reached", srv->o.max_rate);
		hn_rpc_reply_error(c, &e);
		return;
	}
	if (strcmp(c->req.method, "hello") == 0) {
		server_hello(srv, c, pipe_id);
		return;
	}
	if (srv->o.require_hello && !pr.hello) {
		hn_rpc_error_set(&e, HN_RPC_ENOHELLO, "call '%s' before hello",
				 c->req.method);
		hn_rpc_reply_error(c, &e);
		return;
	}
	for (i = 0; i < srv->o.n_methods; i++) {
		if (strcmp(srv->o.methods[i].name, c->req.method) == 0) {
			c->method = srv->o.methods[i].name;
			srv->o.methods[i].fn(srv->o.arg, c, c->req.params);
			return;
		}
	}
	hn_rpc_error_set(&e, HN_RPC_METHOD_NOT_FOUND, "unknown method '%.64s'",
			 c->req.method);
	hn_rpc_reply_error(c, &e);
}

static void server_slot_done(struct link *lk, struct slot *s)
{
	struct hn_rpc_server *srv = lk->owner;
	int rv = nng_aio_result(s->aio);

	if (s->state == SS_SEND) {
		if (rv != 0) {
			nng_msg *m = nng_aio_get_msg(s->aio);

			nng_aio_set_msg(s->aio, NULL);
			if (m)
				nng_msg_free(m);
			hn_log(HN_LOG_DEBUG, lk->name, "reply not sent: %s",
			       nng_strerror(rv));
		} else {
			nng_aio_set_msg(s->aio, NULL);
		}
		server_recv(s);
		return;
	}
	if (s->state != SS_RECV)
		return;
	if (rv != 0) {
		if (rv != NNG_ECLOSED && rv != NNG_ECANCELED)
			server_recv(s);
		return;
	}
	{
		nng_msg *m = nng_aio_get_msg(s->aio);

		nng_aio_set_msg(s->aio, NULL);
		server_dispatch(srv, s, m);
	}
}

static void server_free_owner(void *owner)
{
	free(owner);
}

int hn_rpc_server_open(const struct hn_rpc_server_opts *o,
		       struct hn_rpc_server **out, struct hn_error *err)
{
	struct hn_rpc_server *srv = calloc(1, sizeof(*srv));
	unsigned i;
	int rc;

	if (!srv)
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	srv->o = *o;
	srv->lk.owner = srv;
	srv->lk.on_done = server_slot_done;
	srv->lk.free_owner = server_free_owner;
	srv->tokens = o->max_rate;
	srv->tokens_at = ev_now(o->link.loop);
	rc = link_open(&srv->lk, &o->link, false, err);
	if (rc < 0) {
		hn_rpc_server_close(srv);
		return rc;
	}
	for (i = 0; i < srv->lk.n_slots; i++)
		server_recv(&srv->lk.slots[i]);
	*out = srv;
	return 0;
}

void hn_rpc_server_close(struct hn_rpc_server *srv)
{
	struct hn_rpc_call *c;

	if (!srv || srv->lk.closing)
		return;
	srv->lk.depth++;
	link_shutdown(&srv->lk);
	while ((c = srv->calls) != NULL) {
		call_unlink(srv, c);
		c->srv = NULL;          /* its reply will only free it */
		c->slot = NULL;
	}
	srv->lk.depth--;
	if (srv->lk.depth > 0)
		srv->lk.free_later = true;
	else
		link_put(&srv->lk);
}

void hn_rpc_server_stats(const struct hn_rpc_server *srv,
			 struct hn_rpc_server_stats *st)
{
	*st = srv->st;
}

void hn_rpc_server_pipe_stats(const struct hn_rpc_server *srv,
			      struct hn_rpc_pipe_stats *st)
{
	link_pipe_stats(&srv->lk, st);
}

void hn_rpc_server_on_pipe(struct hn_rpc_server *srv, hn_rpc_pipe_cb cb,
			   void *arg)
{
	srv->lk.pipe_cb = cb;
	srv->lk.pipe_arg = arg;
}

void hn_rpc_server_expect_pid(struct hn_rpc_server *srv, uint64_t pid)
{
	atomic_store(&srv->lk.want_pid, pid);
}

size_t hn_rpc_server_busy(const struct hn_rpc_server *srv)
{
	return srv->n_calls;
}
