/*
 * host_events.c: the events.ipc subscriber (IPC.md section 2).
 *
 * Subscribe first; the baseline (epoch, last_seq) comes from a node.ipc
 * heartbeat after hello, and messages received before it stay queued.
 * Then every event with seq == last + 1 is delivered to the plugin in
 * order; older ones are dropped as duplicates; a gap (or a heartbeat
 * showing a last_seq we never saw) starts events_since(after = last) on
 * node.ipc, repeated until caught up.  When the core's ring no longer has
 * what we missed ("reset"), or the epoch changed, the plugin gets
 * HATHOR_EV_RESYNC and must re-read its state.  Every resync is logged
 * and counted.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "host.h"

#include <nng/protocol/pubsub0/sub.h>

#include "hn/log.h"

#define SUB_QUEUE_MAX 8192
#define SUB_DRAIN_BUDGET 64

int host_epoch_parse(const char *hex, uint64_t *out)
{
	char *end;

	if (!hex || strlen(hex) != 16)
		return HN_EPARSE;
	*out = strtoull(hex, &end, 16);
	return *end ? HN_EPARSE : 0;
}

static void sub_cb(void *arg)
{
	struct host *hs = arg;
	int rv = nng_aio_result(hs->sub_aio);

	if (rv == 0) {
		nng_msg *m = nng_aio_get_msg(hs->sub_aio);

		nng_aio_set_msg(hs->sub_aio, NULL);
		pthread_mutex_lock(&hs->sub_mu);
		if (hs->sub_n == hs->sub_cap) {
			/* Full: drop the oldest; seq tracking notices. */
			nng_msg_free(hs->sub_q[0]);
			memmove(hs->sub_q, hs->sub_q + 1,
				(hs->sub_n - 1) * sizeof(*hs->sub_q));
			hs->sub_n--;
			hs->ev_dropped++;
		}
		hs->sub_q[hs->sub_n++] = m;
		pthread_mutex_unlock(&hs->sub_mu);
		ev_async_send(hs->loop, &hs->sub_async);
	} else if (rv == NNG_ECLOSED || rv == NNG_ECANCELED) {
		return;
	}
	nng_recv_aio(hs->sub, hs->sub_aio);
}

static int ev_type(const char *s)
{
	static const char *const names[] = {
		[HATHOR_EV_VERTEX_ACCEPTED] = "vertex_accepted",
		[HATHOR_EV_BEST_BLOCK] = "best_block",
		[HATHOR_EV_REORG] = "reorg",
		[HATHOR_EV_VOIDED] = "voided",
		[HATHOR_EV_UNVOIDED] = "unvoided",
		[HATHOR_EV_MEMPOOL_ADD] = "mempool_add",
		[HATHOR_EV_MEMPOOL_REMOVE] = "mempool_remove",
		[HATHOR_EV_PUBLISHED] = "published",
	};
	int i;

	for (i = HATHOR_EV_VERTEX_ACCEPTED; i <= HATHOR_EV_PUBLISHED; i++)
		if (strcmp(s, names[i]) == 0)
			return i;
	return 0;
}

static void opt_hash(struct json_object *o, const char *k, uint8_t out[32])
{
	if (host_member(o, k))
		hn_rpc_v_hash(host_member(o, k), out, NULL);
}

static void opt_u64(struct json_object *o, const char *k, uint64_t *out)
{
	if (host_member(o, k))
		hn_rpc_v_u64(host_member(o, k), out, NULL);
}

static void opt_bool(struct json_object *o, const char *k, bool *out)
{
	if (host_member(o, k))
		hn_rpc_v_bool(host_member(o, k), out, NULL);
}

/* Decodes and delivers one event object.  Returns its seq, 0 if bad. */
static uint64_t deliver_one(struct host *hs, struct json_object *o)
{
	struct hathor_event ev;
	const char *type = NULL;
	uint8_t *bytes = NULL;

	memset(&ev, 0, sizeof(ev));
	ev.size = sizeof(ev);
	ev.epoch = hs->ev_epoch;
	if (hn_rpc_v_u64(host_member(o, "seq"), &ev.seq, NULL) < 0 ||
	    hn_rpc_v_str(host_member(o, "type"), &type, NULL) < 0)
		return 0;
	ev.type = (uint32_t)ev_type(type);
	opt_hash(o, "hash", ev.hash);
	opt_bool(o, "is_block", &ev.is_block);
	opt_bool(o, "voided", &ev.voided);
	opt_u64(o, "height", &ev.height);
	opt_hash(o, "old_best", ev.old_best);
	opt_u64(o, "old_height", &ev.old_height);
	opt_hash(o, "common", ev.common);
	opt_u64(o, "reorg_depth", &ev.reorg_depth);
	if (host_member(o, "bytes") &&
	    hn_rpc_v_bytes(host_member(o, "bytes"), hs->max_msg, &bytes,
			   &ev.len, NULL) == 0)
		ev.bytes = bytes;
	if (host_member(o, "key"))
		hn_rpc_v_str(host_member(o, "key"), &ev.key, NULL);
	if (host_member(o, "json"))
		hn_rpc_v_str(host_member(o, "json"), &ev.json, NULL);
	if (ev.type && hs->rt)
		hn_plugin_rt_event(hs->rt, &ev);
	free(bytes);
	return ev.seq;
}

static void deliver_resync(struct host *hs)
{
	struct hathor_event ev;

	memset(&ev, 0, sizeof(ev));
	ev.size = sizeof(ev);
	ev.type = HATHOR_EV_RESYNC;
	ev.epoch = hs->ev_epoch;
	hs->ev_resets++;
	if (hs->rt)
		hn_plugin_rt_event(hs->rt, &ev);
}

/* Delivers the events of the array @a that follow ev_last, in order,
 * until a gap (returns true) or a stop. */
static bool deliver_events(struct host *hs, struct json_object *a)
{
	size_t i, n = json_object_is_type(a, json_type_array) ?
		      json_object_array_length(a) : 0;

	for (i = 0; i < n && !hs->stopping; i++) {
		struct json_object *o = json_object_array_get_idx(a, i);
		uint64_t seq = 0;

		if (hn_rpc_v_u64(host_member(o, "seq"), &seq, NULL) < 0 ||
		    seq <= hs->ev_last)
			continue;
		if (seq != hs->ev_last + 1)
			return true;
		deliver_one(hs, o);
		hs->ev_last = seq;
	}
	return false;
}

static void resync_start(struct host *hs, const char *why);

static void since_done(void *arg, int rc, struct hn_rpc_resp *resp)
{
	struct host *hs = arg;
	struct json_object *r, *a;
	uint64_t last = 0, epoch = 0;
	bool reset = false;
	const char *ep = NULL;
	size_t n = 0;

	hs->ev_resyncing = false;
	if (hs->stopping || rc == HN_ECLOSED)
		return;
	if (rc < 0 || resp->is_error) {
		hn_log(HN_LOG_WARN, hs->comp, "events_since failed: %s",
		       rc < 0 ? hn_strerror(rc) : resp->error.message);
		return;         /* the next heartbeat retries */
	}
	r = resp->result;
	if (hn_rpc_v_u64(host_member(r, "last_seq"), &last, NULL) < 0 ||
	    hn_rpc_v_bool(host_member(r, "reset"), &reset, NULL) < 0 ||
	    hn_rpc_v_str(host_member(r, "epoch"), &ep, NULL) < 0 ||
	    host_epoch_parse(ep, &epoch) < 0 ||
	    hn_rpc_v_array(host_member(r, "events"), 100000, &n, NULL) < 0) {
		hn_log(HN_LOG_WARN, hs->comp, "malformed events_since reply");
		return;
	}
	a = host_member(r, "events");
	if (reset || epoch != hs->ev_epoch) {
		hn_log(HN_LOG_WARN, hs->comp, "events after seq %" PRIu64
		       " are gone from the core's ring: full resync",
		       hs->ev_last);
		hs->ev_epoch = epoch;
		hs->ev_last = last;
		deliver_resync(hs);
		return;
	}
	deliver_events(hs, a);  /* a gap: fetched again below */
	if (hs->ev_last < last)
		resync_start(hs, "more events to fetch");
}

static void resync_start(struct host *hs, const char *why)
{
	struct json_object *p;
	char ep[17];
	int rc;

	if (hs->ev_resyncing || !hs->node || hs->stopping)
		return;
	hs->ev_resyncs++;
	hn_log(HN_LOG_INFO, hs->comp, "events resync after seq %" PRIu64
	       " (%s)", hs->ev_last, why);
	snprintf(ep, sizeof(ep), "%016" PRIx64, hs->ev_epoch);
	p = json_object_new_object();
	hn_rpc_add(p, "after", hn_rpc_j_u64(hs->ev_last));
	hn_rpc_add(p, "epoch", json_object_new_string(ep));
	rc = hn_rpc_call(hs->node, "events_since", p, hs->call_timeout, 0,
			 since_done, hs);
	if (rc == 0)
		hs->ev_resyncing = true;
}

static void handle_msg(struct host *hs, const char *buf, size_t len)
{
	struct hn_rpc_req req;
	struct hn_rpc_error e;
	struct json_object *a;
	const char *ep = NULL;
	uint64_t epoch = 0, last = 0;

	if (hn_rpc_req_parse(buf, len, hs->max_msg, &req, &e) < 0 ||
	    hn_rpc_v_str(host_member(req.params, "epoch"), &ep, NULL) < 0 ||
	    host_epoch_parse(ep, &epoch) < 0) {
		hn_log(HN_LOG_WARN, hs->comp, "malformed events message "
		       "dropped");
		hn_rpc_req_release(&req);
		return;
	}
	if (epoch != hs->ev_epoch) {
		hn_log(HN_LOG_WARN, hs->comp, "events epoch changed: full "
		       "resync");
		hs->ev_epoch = epoch;
		hs->ev_last = 0;
		deliver_resync(hs);
	}
	if (strcmp(req.method, "heartbeat") == 0) {
		if (hn_rpc_v_u64(host_member(req.params, "last_seq"), &last,
				 NULL) == 0 && last > hs->ev_last)
			resync_start(hs, "heartbeat shows missed events");
	} else if (strcmp(req.method, "events") == 0 && !hs->ev_resyncing) {
		a = host_member(req.params, "events");
		if (deliver_events(hs, a))
			resync_start(hs, "gap in the event stream");
	}
	hn_rpc_req_release(&req);
}

static void sub_async_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	struct host *hs = w->data;
	unsigned k;

	if (!hs->ev_epoch)
		return;         /* no baseline yet: keep them queued */
	for (k = 0; k < SUB_DRAIN_BUDGET && !hs->stopping; k++) {
		nng_msg *m = NULL;

		pthread_mutex_lock(&hs->sub_mu);
		if (hs->sub_n) {
			m = hs->sub_q[0];
			memmove(hs->sub_q, hs->sub_q + 1,
				(hs->sub_n - 1) * sizeof(*hs->sub_q));
			hs->sub_n--;
		}
		pthread_mutex_unlock(&hs->sub_mu);
		if (!m)
			return;
		handle_msg(hs, nng_msg_body(m), nng_msg_len(m));
		nng_msg_free(m);
	}
	ev_async_send(loop, w);
}

void host_events_baseline(struct host *hs, const char *epoch_hex,
			  uint64_t last_seq)
{
	uint64_t epoch;

	if (host_epoch_parse(epoch_hex, &epoch) < 0 || !epoch)
		epoch = 1;
	hs->ev_epoch = epoch;
	hs->ev_last = last_seq;
	ev_async_send(hs->loop, &hs->sub_async);
}

int host_events_open(struct host *hs, struct hn_error *err)
{
	nng_dialer d;
	int rv;

	pthread_mutex_init(&hs->sub_mu, NULL);
	hs->sub_cap = SUB_QUEUE_MAX;
	hs->sub_q = calloc(hs->sub_cap, sizeof(*hs->sub_q));
	if (!hs->sub_q)
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	ev_async_init(&hs->sub_async, sub_async_cb);
	hs->sub_async.data = hs;
	ev_async_start(hs->loop, &hs->sub_async);
	if ((rv = nng_sub0_open(&hs->sub)) != 0)
		return hn_error_set(err, HN_EIO, "events: %s",
				    nng_strerror(rv));
	hs->sub_open = true;
	nng_socket_set(hs->sub, NNG_OPT_SUB_SUBSCRIBE, "", 0);
	nng_socket_set_int(hs->sub, NNG_OPT_RECVBUF, 8192);
	nng_socket_set_ms(hs->sub, NNG_OPT_RECONNMINT, 50);
	nng_socket_set_ms(hs->sub, NNG_OPT_RECONNMAXT, 1000);
	if ((rv = nng_aio_alloc(&hs->sub_aio, sub_cb, hs)) != 0)
		return hn_error_set(err, HN_ENOMEM, "events: %s",
				    nng_strerror(rv));
	if ((rv = nng_dialer_create(&d, hs->sub, hs->events_url)) ||
	    (rv = nng_dialer_set_size(d, NNG_OPT_RECVMAXSZ, hs->max_msg * 2)) ||
	    (rv = nng_dialer_start(d, NNG_FLAG_NONBLOCK)))
		return hn_error_set(err, HN_EIO, "cannot dial %s: %s",
				    hs->events_url, nng_strerror(rv));
	nng_recv_aio(hs->sub, hs->sub_aio);
	return 0;
}

void host_events_close(struct host *hs)
{
	size_t i;

	if (hs->sub_aio)
		nng_aio_stop(hs->sub_aio);
	if (hs->sub_open)
		nng_close(hs->sub);
	hs->sub_open = false;
	if (hs->sub_aio) {
		nng_msg *m = nng_aio_get_msg(hs->sub_aio);

		if (m)
			nng_msg_free(m);
		nng_aio_free(hs->sub_aio);
		hs->sub_aio = NULL;
	}
	ev_async_stop(hs->loop, &hs->sub_async);
	for (i = 0; i < hs->sub_n; i++)
		nng_msg_free(hs->sub_q[i]);
	free(hs->sub_q);
	hs->sub_q = NULL;
	hs->sub_n = 0;
	pthread_mutex_destroy(&hs->sub_mu);
}
