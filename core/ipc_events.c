/*
 * ipc_events.c: events.ipc (PUB) and events_since (node.ipc).
 *
 * PUB/SUB drops messages by design (IPC.md section 2), so every event
 * carries (epoch, seq): epoch is random per core start, seq grows by one
 * per event with no gaps.  Events produced in one loop iteration go out as
 * one "events" notification (flushed from an ev_prepare, or earlier when
 * the batch nears half the message limit); a "heartbeat" notification
 * {epoch, last_seq} goes out every second so that a lost final event and a
 * dead publisher are noticed.  The last @ring events stay in a ring; a
 * subscriber that sees a gap calls events_since(after) and gets them back,
 * or {"reset": true} when the ring has moved past @after (it must then
 * re-read its state from the node service).
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include "ipc_int.h"

#include <nng/protocol/pubsub0/pub.h>
#include "ledger.h"

#include "hn/err.h"
#include "hn/log.h"

#define EVENTS_SINCE_MAX 1000           /* events per events_since reply */

static const char *ev_type_name(enum hn_ledger_event_type t)
{
	switch (t) {
	case HN_LEV_VERTEX_ACCEPTED:
		return "vertex_accepted";
	case HN_LEV_BEST_BLOCK:
		return "best_block";
	case HN_LEV_REORG:
		return "reorg";
	case HN_LEV_VOIDED:
		return "voided";
	case HN_LEV_UNVOIDED:
		return "unvoided";
	case HN_LEV_MEMPOOL_ADD:
		return "mempool_add";
	case HN_LEV_MEMPOOL_REMOVE:
		return "mempool_remove";
	case HN_LEV_PUBLISHED:
		return "published";
	}
	return "unknown";
}

const char *hn__ipc_epoch_hex(const struct hn_ipc *ipc, char buf[17])
{
	snprintf(buf, 17, "%016" PRIx64, ipc->epoch);
	return buf;
}

struct json_object *hn__ipc_event_json(const struct hn_ledger_event *ev,
				       uint64_t seq)
{
	struct json_object *o = json_object_new_object();
	int rc = 0;

	if (!o)
		return NULL;
	rc |= hn_rpc_add(o, "seq", hn_rpc_j_u64(seq));
	rc |= hn_rpc_add(o, "type", json_object_new_string(
				 ev_type_name(ev->type)));
	switch (ev->type) {
	case HN_LEV_VERTEX_ACCEPTED:
		rc |= hn_rpc_add(o, "hash", hn_rpc_j_hash(ev->hash));
		rc |= hn_rpc_add(o, "is_block",
				 json_object_new_boolean(ev->is_block));
		rc |= hn_rpc_add(o, "voided",
				 json_object_new_boolean(ev->voided));
		rc |= hn_rpc_add(o, "height", hn_rpc_j_u64(ev->height));
		rc |= hn_rpc_add(o, "bytes", hn_rpc_j_bytes(ev->bytes,
							    ev->len));
		break;
	case HN_LEV_BEST_BLOCK:
		rc |= hn_rpc_add(o, "hash", hn_rpc_j_hash(ev->hash));
		rc |= hn_rpc_add(o, "height", hn_rpc_j_u64(ev->height));
		break;
	case HN_LEV_REORG:
		rc |= hn_rpc_add(o, "hash", hn_rpc_j_hash(ev->hash));
		rc |= hn_rpc_add(o, "height", hn_rpc_j_u64(ev->height));
		rc |= hn_rpc_add(o, "old_best", hn_rpc_j_hash(ev->old_best));
		rc |= hn_rpc_add(o, "old_height", hn_rpc_j_u64(ev->old_height));
		rc |= hn_rpc_add(o, "common", hn_rpc_j_hash(ev->common));
		rc |= hn_rpc_add(o, "reorg_depth",
				 hn_rpc_j_u64(ev->reorg_depth));
		break;
	case HN_LEV_VOIDED:
	case HN_LEV_UNVOIDED:
	case HN_LEV_MEMPOOL_ADD:
	case HN_LEV_MEMPOOL_REMOVE:
		rc |= hn_rpc_add(o, "hash", hn_rpc_j_hash(ev->hash));
		break;
	case HN_LEV_PUBLISHED:
		rc |= hn_rpc_add(o, "key", json_object_new_string(
					 ev->key ? ev->key : ""));
		if (ev->json)
			rc |= hn_rpc_add(o, "json",
					 json_object_new_string(ev->json));
		break;
	}
	if (rc) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static void pub_send(struct hn_ipc *ipc, struct json_object *o)
{
	const char *s;
	size_t len;
	nng_msg *m;
	int rv;

	if (hn_rpc_serialize(o, ipc->max_msg, &s, &len) < 0) {
		hn_log(HN_LOG_ERROR, "ipc", "events message over the size "
		       "limit dropped (subscribers resync)");
		return;
	}
	if (nng_msg_alloc(&m, 0) != 0)
		return;
	if (nng_msg_append(m, s, len) != 0) {
		nng_msg_free(m);
		return;
	}
	rv = nng_sendmsg(ipc->pub, m, NNG_FLAG_NONBLOCK);
	if (rv != 0) {
		nng_msg_free(m);
		hn_log(HN_LOG_DEBUG, "ipc", "events publish failed: %s",
		       nng_strerror(rv));
		return;
	}
	ipc->st.events_msgs++;
	ipc->st.events_bytes += len;
}

static void flush_pending(struct hn_ipc *ipc)
{
	struct json_object *evs = ipc->pending, *p, *n;
	char ep[17];

	if (!evs)
		return;
	ipc->pending = NULL;
	ipc->pending_bytes = 0;
	p = json_object_new_object();
	if (!p) {
		json_object_put(evs);
		return;
	}
	/* "events" first: hn_rpc_add takes @evs even when it fails. */
	if (hn_rpc_add(p, "events", evs) < 0 ||
	    hn_rpc_add(p, "epoch", json_object_new_string(
			       hn__ipc_epoch_hex(ipc, ep))) < 0) {
		json_object_put(p);
		return;
	}
	n = hn_rpc_request(-1, "events", p);
	if (n)
		pub_send(ipc, n);
	json_object_put(n);
}

static void flush_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	flush_pending(w->data);
}

static void hb_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hn_ipc *ipc = w->data;
	struct json_object *p = json_object_new_object(), *n;
	char ep[17];

	flush_pending(ipc);
	if (!p)
		return;
	hn_rpc_add(p, "epoch", json_object_new_string(
			   hn__ipc_epoch_hex(ipc, ep)));
	hn_rpc_add(p, "last_seq", hn_rpc_j_u64(ipc->seq));
	n = hn_rpc_request(-1, "heartbeat", p);
	if (n)
		pub_send(ipc, n);
	json_object_put(n);
}

static void ring_push(struct hn_ipc *ipc, uint64_t seq, struct json_object *e)
{
	size_t idx;

	if (ipc->ring_used == ipc->ring_n) {
		json_object_put(ipc->ring[ipc->ring_head].ev);
		ipc->ring_head = (ipc->ring_head + 1) % ipc->ring_n;
		ipc->ring_used--;
	}
	idx = (ipc->ring_head + ipc->ring_used) % ipc->ring_n;
	ipc->ring[idx].seq = seq;
	ipc->ring[idx].ev = e;
	ipc->ring_used++;
}

static void on_ledger_event(const struct hn_ledger_event *ev, void *arg)
{
	struct hn_ipc *ipc = arg;
	uint64_t seq = ++ipc->seq;
	struct json_object *e = hn__ipc_event_json(ev, seq);

	if (!e) {
		/* The seq is used up: subscribers see the gap and resync. */
		hn_log(HN_LOG_ERROR, "ipc", "event %" PRIu64 " lost: out of "
		       "memory", seq);
		return;
	}
	ipc->st.events_published++;
	ipc->st.last_seq = seq;
	ring_push(ipc, seq, json_object_get(e));
	if (!ipc->pending && !(ipc->pending = json_object_new_array())) {
		json_object_put(e);
		return;
	}
	ipc->pending_bytes += ev->len * 4 / 3 + 256;
	if (json_object_array_add(ipc->pending, e) < 0)
		json_object_put(e);
	if (ipc->pending_bytes > ipc->max_msg / 2)
		flush_pending(ipc);
}

void hn__ipc_events_since(void *arg, struct hn_rpc_call *c,
			  struct json_object *params)
{
	struct hn_ipc *ipc = arg;
	uint64_t after = 0, max = EVENTS_SINCE_MAX;
	bool has_max = false;
	const char *epoch = NULL;
	const struct hn_rpc_param spec[] = {
		{ "after", HN_RPC_P_U64, true, &after, NULL, 0 },
		{ "epoch", HN_RPC_P_STR, false, &epoch, NULL, 0 },
		{ "max", HN_RPC_P_U64, false, &max, &has_max, 0 },
	};
	struct hn_rpc_error e;
	struct json_object *r, *a;
	size_t i, bytes = 0;
	char ep[17];
	bool reset;

	ipc->st.events_since_calls++;
	if (hn_rpc_params(params, spec, 3, &e) < 0) {
		hn_rpc_reply_error(c, &e);
		return;
	}
	if (max == 0 || max > EVENTS_SINCE_MAX)
		max = EVENTS_SINCE_MAX;
	hn__ipc_epoch_hex(ipc, ep);
	/* Another epoch, a seq from the future, or events the ring no
	 * longer has: the caller must take a full snapshot. */
	reset = (epoch && strcmp(epoch, ep) != 0) || after > ipc->seq ||
		(after < ipc->seq &&
		 (ipc->ring_used == 0 ||
		  after + 1 < ipc->ring[ipc->ring_head].seq));
	r = json_object_new_object();
	a = json_object_new_array();
	if (!r || !a) {
		json_object_put(r);
		json_object_put(a);
		hn_rpc_reply_app(c, HN_ENOMEM, "out of memory");
		return;
	}
	hn_rpc_add(r, "epoch", json_object_new_string(ep));
	hn_rpc_add(r, "last_seq", hn_rpc_j_u64(ipc->seq));
	hn_rpc_add(r, "reset", json_object_new_boolean(reset));
	if (!reset) {
		for (i = 0; i < ipc->ring_used &&
			    json_object_array_length(a) < max; i++) {
			struct ipc_ring_ent *re =
				&ipc->ring[(ipc->ring_head + i) % ipc->ring_n];

			if (re->seq <= after)
				continue;
			bytes += strlen(json_object_to_json_string_ext(
					       re->ev, JSON_C_TO_STRING_PLAIN));
			if (bytes > ipc->max_msg / 2 &&
			    json_object_array_length(a) > 0)
				break;
			json_object_array_add(a, json_object_get(re->ev));
		}
	}
	hn_rpc_add(r, "events", a);
	hn_rpc_reply(c, r);
}

int hn__ipc_events_open(struct hn_ipc *ipc, size_t ring, double heartbeat,
			struct hn_error *err)
{
	nng_listener l;
	char url[PATH_MAX + 8];
	int rv;

	if (getrandom(&ipc->epoch, sizeof(ipc->epoch), 0) !=
	    (ssize_t)sizeof(ipc->epoch))
		ipc->epoch = (uint64_t)ev_time() * 1000003u ^ (uint64_t)getpid();
	ipc->st.epoch = ipc->epoch;
	ipc->ring_n = ring ? ring : HN_IPC_DEFAULT_RING;
	ipc->ring = calloc(ipc->ring_n, sizeof(*ipc->ring));
	if (!ipc->ring)
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	if ((rv = nng_pub0_open(&ipc->pub)) != 0)
		return hn_error_set(err, HN_EIO, "events.ipc: %s",
				    nng_strerror(rv));
	ipc->pub_open = true;
	/* Largest queues: a burst of events should not drop (IPC.md 2). */
	nng_socket_set_int(ipc->pub, NNG_OPT_SENDBUF, 8192);
	snprintf(url, sizeof(url), "ipc://%s", ipc->events_path);
	if ((rv = nng_listener_create(&l, ipc->pub, url)) ||
	    (rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS, 0600)) ||
	    (rv = nng_listener_start(l, 0)))
		return hn_error_set(err, HN_EIO, "cannot listen on %s: %s",
				    ipc->events_path, nng_strerror(rv));
	if (ipc->ledger) {
		if (hn_ledger_subscribe(ipc->ledger, on_ledger_event, ipc) < 0)
			return hn_error_set(err, HN_ENOMEM, "out of memory");
		ipc->subscribed = true;
	}
	ev_prepare_init(&ipc->flush_w, flush_cb);
	ipc->flush_w.data = ipc;
	ev_prepare_start(ipc->loop, &ipc->flush_w);
	ev_timer_init(&ipc->hb_w, hb_cb, heartbeat > 0 ? heartbeat : 1.0,
		      heartbeat > 0 ? heartbeat : 1.0);
	ipc->hb_w.data = ipc;
	ev_timer_start(ipc->loop, &ipc->hb_w);
	return 0;
}

void hn__ipc_events_close(struct hn_ipc *ipc)
{
	size_t i;

	if (ipc->subscribed)
		hn_ledger_unsubscribe(ipc->ledger, on_ledger_event, ipc);
	ipc->subscribed = false;
	if (ipc->loop) {
		ev_prepare_stop(ipc->loop, &ipc->flush_w);
		ev_timer_stop(ipc->loop, &ipc->hb_w);
	}
	if (ipc->pub_open) {
		flush_pending(ipc);
		nng_close(ipc->pub);
		ipc->pub_open = false;
	}
	json_object_put(ipc->pending);
	ipc->pending = NULL;
	for (i = 0; ipc->ring && i < ipc->ring_used; i++)
		json_object_put(ipc->ring[(ipc->ring_head + i) %
					  ipc->ring_n].ev);
	free(ipc->ring);
	ipc->ring = NULL;
}
