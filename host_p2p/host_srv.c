/*
 * host_srv.c: the p2p.ipc methods (core -> host commands, docs/ipc.md),
 * each a call of the plugin's struct hathor_p2p_ops.  A plugin error comes
 * back as a JSON-RPC application error with the plugin's code and reason.
 * Commands before the plugin is started, or while stopping, get
 * HATHOR_ECLOSED.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "host.h"

#include "hn/log.h"
#include "hn/plugin_load.h"
#include "hn/procstat.h"

#define NP(spec) (sizeof(spec) / sizeof((spec)[0]))
#define MAX_STRINGS 1000

static bool ready(struct host *hs, struct hn_rpc_call *c)
{
	if (hs->ops && hs->ctx && !hs->stopping)
		return true;
	hn_rpc_reply_app(c, HATHOR_ECLOSED, "p2p plugin not running");
	return false;
}

static bool params_ok(struct hn_rpc_call *c, struct json_object *params,
		      const struct hn_rpc_param *spec, size_t n)
{
	struct hn_rpc_error e;

	if (hn_rpc_params(params, spec, n, &e) < 0) {
		hn_rpc_reply_error(c, &e);
		return false;
	}
	return true;
}

static void reply_plugin(struct hn_rpc_call *c, int rc, const char *err,
			 struct json_object *result)
{
	if (rc < 0) {
		json_object_put(result);
		hn_rpc_reply_app(c, rc, err[0] ? err : hn_strerror(rc));
		return;
	}
	hn_rpc_reply(c, result);
}

/* An op with no params and no result. */
typedef int (*plain_fn)(void *ctx, char *err, size_t errlen);

static void plain(void *arg, struct hn_rpc_call *c, struct json_object *p,
		  plain_fn fn)
{
	struct host *hs = arg;
	char err[256] = "";

	if (!params_ok(c, p, NULL, 0) || !ready(hs, c))
		return;
	if (!fn) {
		hn_rpc_reply_app(c, HATHOR_EUNSUPPORTED, "not supported by the "
				 "plugin");
		return;
	}
	reply_plugin(c, fn(hs->ctx, err, sizeof(err)), err, NULL);
}

static void m_start(void *arg, struct hn_rpc_call *c, struct json_object *p)
{
	struct host *hs = arg;

	plain(arg, c, p, hs->ops ? hs->ops->start : NULL);
}

static void m_stop(void *arg, struct hn_rpc_call *c, struct json_object *p)
{
	struct host *hs = arg;

	plain(arg, c, p, hs->ops ? hs->ops->stop : NULL);
}

static void m_enable_localhost_only(void *arg, struct hn_rpc_call *c,
				    struct json_object *p)
{
	struct host *hs = arg;

	plain(arg, c, p, hs->ops ? hs->ops->enable_localhost_only : NULL);
}

struct text_out {
	struct json_object *o;
	bool called;
};

static void text_cb(void *arg, const char *text, size_t len)
{
	struct text_out *t = arg;
	struct hn_error err = { 0 };

	t->called = true;
	json_object_put(t->o);
	t->o = NULL;
	if (hn_rpc_parse(text, len, len + 1, &t->o, &err) < 0)
		t->o = NULL;
}

static void m_get_connections(void *arg, struct hn_rpc_call *c,
			      struct json_object *p)
{
	struct host *hs = arg;
	struct text_out t = { 0 };
	char err[256] = "";
	int rc;

	if (!params_ok(c, p, NULL, 0) || !ready(hs, c))
		return;
	rc = hs->ops->get_connections(hs->ctx, text_cb, &t, err, sizeof(err));
	if (rc == 0 && !json_object_is_type(t.o, json_type_object)) {
		json_object_put(t.o);
		hn_log(HN_LOG_WARN, hs->comp, "plugin gave no JSON object for "
		       "get_connections");
		hn_rpc_reply_app(c, HATHOR_EPROTO, "plugin returned no JSON "
				 "object");
		return;
	}
	reply_plugin(c, rc, err, t.o);
}

static void m_has_synced_peer(void *arg, struct hn_rpc_call *c,
			      struct json_object *p)
{
	struct host *hs = arg;
	struct json_object *r;

	if (!params_ok(c, p, NULL, 0) || !ready(hs, c))
		return;
	r = json_object_new_object();
	hn_rpc_add(r, "synced",
		   json_object_new_boolean(hs->ops->has_synced_peer(hs->ctx)));
	hn_rpc_reply(c, r);
}

static void m_send_tx_to_peers(void *arg, struct hn_rpc_call *c,
			       struct json_object *p)
{
	struct host *hs = arg;
	struct hn_rpc_bytes b;
	const struct hn_rpc_param spec[] = {
		{ "bytes", HN_RPC_P_BYTES, true, &b, NULL, 0 },
	};
	char err[256] = "";
	int rc;

	if (!params_ok(c, p, spec, NP(spec)))
		return;
	if (!ready(hs, c)) {
		hn_rpc_params_release(spec, NP(spec));
		return;
	}
	rc = hs->ops->send_tx_to_peers(hs->ctx, b.data, b.len, err,
				       sizeof(err));
	hn_rpc_params_release(spec, NP(spec));
	reply_plugin(c, rc, err, NULL);
}

/* Reads an array of strings into a borrowed char* vector. */
static bool strings(struct hn_rpc_call *c, struct json_object *a,
		    const char *name, const char ***out, size_t *n)
{
	struct hn_rpc_error e;
	size_t i;

	*out = NULL;
	*n = a ? json_object_array_length(a) : 0;
	*out = calloc(*n ? *n : 1, sizeof(**out));
	if (!*out) {
		hn_rpc_reply_app(c, HATHOR_ENOMEM, "out of memory");
		return false;
	}
	for (i = 0; i < *n; i++) {
		if (hn_rpc_v_str(json_object_array_get_idx(a, i), &(*out)[i],
				 NULL) < 0) {
			free(*out);
			*out = NULL;
			hn_rpc_error_set(&e, HN_RPC_INVALID_PARAMS,
					 "params.%s[%zu]: expected a string",
					 name, i);
			hn_rpc_reply_error(c, &e);
			return false;
		}
	}
	return true;
}

static void m_reload_entrypoints(void *arg, struct hn_rpc_call *c,
				 struct json_object *p)
{
	struct host *hs = arg;
	struct json_object *a = NULL;
	const struct hn_rpc_param spec[] = {
		{ "entrypoints", HN_RPC_P_ARRAY, false, &a, NULL, MAX_STRINGS },
	};
	const char **v;
	char err[256] = "";
	size_t n;
	int rc;

	if (!params_ok(c, p, spec, NP(spec)) || !ready(hs, c) ||
	    !strings(c, a, "entrypoints", &v, &n))
		return;
	rc = hs->ops->reload_entrypoints_and_connections(
		hs->ctx, n, (const char *const *)v, err, sizeof(err));
	free(v);
	reply_plugin(c, rc, err, NULL);
}

static void m_enable_sync_version(void *arg, struct hn_rpc_call *c,
				  struct json_object *p)
{
	struct host *hs = arg;
	const char *ver = NULL;
	const struct hn_rpc_param spec[] = {
		{ "version", HN_RPC_P_STR, true, &ver, NULL, 0 },
	};
	char err[256] = "";

	if (!params_ok(c, p, spec, NP(spec)) || !ready(hs, c))
		return;
	reply_plugin(c, hs->ops->enable_sync_version(hs->ctx, ver, err,
						     sizeof(err)),
		     err, NULL);
}

static void m_add_peer_discovery(void *arg, struct hn_rpc_call *c,
				 struct json_object *p)
{
	struct host *hs = arg;
	struct json_object *a = NULL;
	const struct hn_rpc_param spec[] = {
		{ "peers", HN_RPC_P_ARRAY, true, &a, NULL, MAX_STRINGS },
	};
	const char **v;
	char err[256] = "";
	size_t n;
	int rc;

	if (!params_ok(c, p, spec, NP(spec)) || !ready(hs, c) ||
	    !strings(c, a, "peers", &v, &n))
		return;
	rc = hs->ops->add_peer_discovery(hs->ctx, n, (const char *const *)v,
					 err, sizeof(err));
	free(v);
	reply_plugin(c, rc, err, NULL);
}

static void m_add_listen_address(void *arg, struct hn_rpc_call *c,
				 struct json_object *p)
{
	struct host *hs = arg;
	const char *addr = NULL;
	const struct hn_rpc_param spec[] = {
		{ "address", HN_RPC_P_STR, true, &addr, NULL, 0 },
	};
	char err[256] = "";
	uint16_t port = 0;
	struct json_object *r;
	int rc;

	if (!params_ok(c, p, spec, NP(spec)) || !ready(hs, c))
		return;
	rc = hs->ops->add_listen_address_description(hs->ctx, addr, &port, err,
						     sizeof(err));
	r = json_object_new_object();
	hn_rpc_add(r, "port", json_object_new_int(port));
	reply_plugin(c, rc, err, r);
}

static void m_disconnect_all_peers(void *arg, struct hn_rpc_call *c,
				   struct json_object *p)
{
	struct host *hs = arg;
	bool force = false;
	const struct hn_rpc_param spec[] = {
		{ "force", HN_RPC_P_BOOL, false, &force, NULL, 0 },
	};
	char err[256] = "";

	if (!params_ok(c, p, spec, NP(spec)) || !ready(hs, c))
		return;
	reply_plugin(c, hs->ops->disconnect_all_peers(hs->ctx, force, err,
						      sizeof(err)),
		     err, NULL);
}

/* At most this many metrics in one heartbeat answer (the core keeps
 * 512). */
#define MAX_HB_METRICS 500

struct hb_metrics {
	struct json_object *arr;
	size_t n;
};

static const char *type_name(enum hathor_metric_type t)
{
	return t == HATHOR_METRIC_COUNTER ? "counter" :
	       t == HATHOR_METRIC_GAUGE ? "gauge" : "histogram";
}

static void hb_metric(void *arg, const struct hathor_metric_value *v)
{
	struct hb_metrics *hm = arg;
	struct json_object *o, *b, *cu;
	size_t i;

	if (hm->n >= MAX_HB_METRICS || !isfinite(v->value))
		return;
	o = json_object_new_object();
	hn_rpc_add(o, "name", json_object_new_string(v->name));
	hn_rpc_add(o, "help", json_object_new_string(v->help ? v->help : ""));
	hn_rpc_add(o, "type", json_object_new_string(type_name(v->type)));
	hn_rpc_add(o, "labels", json_object_new_string(v->labels ? v->labels :
						       ""));
	hn_rpc_add(o, "value", json_object_new_double(v->value));
	if (v->type == HATHOR_METRIC_HISTOGRAM) {
		b = json_object_new_array();
		cu = json_object_new_array();
		for (i = 0; i < v->n_buckets; i++) {
			json_object_array_add(b,
				json_object_new_double(v->bounds[i]));
			json_object_array_add(cu,
				hn_rpc_j_u64(v->bucket_counts[i]));
		}
		hn_rpc_add(o, "count", hn_rpc_j_u64(v->count));
		hn_rpc_add(o, "bounds", b);
		hn_rpc_add(o, "buckets", cu);
	}
	json_object_array_add(hm->arr, o);
	hm->n++;
}

/* This process's figures (process="p2p-host") and every metric its plugin
 * registered: the heartbeat's "metrics" (docs/ipc.md). */
static struct json_object *hb_metrics(struct host *hs)
{
	struct hb_metrics hm = { json_object_new_array(), 0 };
	struct hn_procstat ps;
	const struct {
		const char *name, *help;
		enum hathor_metric_type type;
		double v;
	} p[] = {
		{ "process_resident_memory_bytes",
		  "Resident memory size in bytes.", HATHOR_METRIC_GAUGE, 0 },
		{ "process_cpu_seconds_total",
		  "Total user and system CPU time spent in seconds.",
		  HATHOR_METRIC_COUNTER, 0 },
		{ "process_open_fds", "Number of open file descriptors.",
		  HATHOR_METRIC_GAUGE, 0 },
		{ "process_start_time_seconds",
		  "Start time of the process since unix epoch in seconds.",
		  HATHOR_METRIC_GAUGE, hs->start_wall },
	};
	double vals[4];
	size_t i;

	hn_procstat_read(&ps);
	vals[0] = ps.rss_bytes;
	vals[1] = ps.cpu_seconds;
	vals[2] = ps.open_fds;
	vals[3] = isnan(ps.start_time) ? p[3].v : ps.start_time;
	for (i = 0; i < sizeof(p) / sizeof(p[0]); i++) {
		struct hathor_metric_value v = {
			.name = p[i].name, .help = p[i].help,
			.labels = "process=\"p2p-host\"", .type = p[i].type,
			.value = vals[i],
		};

		hb_metric(&hm, &v);
	}
	if (hs->rt)
		hn_plugin_rt_metrics_visit(hs->rt, hb_metric, &hm);
	return hm.arr;
}

static void m_heartbeat(void *arg, struct hn_rpc_call *c,
			struct json_object *p)
{
	struct host *hs = arg;
	struct hathor_p2p_status st;
	struct json_object *r, *s, *ev;
	size_t pending = hs->node ? hn_rpc_client_pending(hs->node) : 0;

	if (!params_ok(c, p, NULL, 0))
		return;
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	if (hs->ops && hs->ctx && hs->ops->status)
		hs->ops->status(hs->ctx, &st);
	r = json_object_new_object();
	s = json_object_new_object();
	ev = json_object_new_object();
	hn_rpc_add(s, "ready_peers", json_object_new_int64(st.ready_peers));
	hn_rpc_add(s, "handshaking_peers",
		   json_object_new_int64(st.handshaking_peers));
	hn_rpc_add(s, "connecting_peers",
		   json_object_new_int64(st.connecting_peers));
	hn_rpc_add(s, "running", json_object_new_boolean(st.running));
	hn_rpc_add(s, "synced", json_object_new_boolean(st.synced));
	st.peer_id[sizeof(st.peer_id) - 1] = 0;
	hn_rpc_add(s, "peer_id", json_object_new_string(st.peer_id));
	hn_rpc_add(ev, "last_seq", hn_rpc_j_u64(hs->ev_last));
	hn_rpc_add(ev, "resyncs", hn_rpc_j_u64(hs->ev_resyncs));
	hn_rpc_add(ev, "resets", hn_rpc_j_u64(hs->ev_resets));
	hn_rpc_add(r, "pid", json_object_new_int64(getpid()));
	hn_rpc_add(r, "uptime", json_object_new_double(ev_now(hs->loop) -
						      hs->start_mono));
	hn_rpc_add(r, "plugin_loaded", json_object_new_boolean(hs->ctx != NULL));
	hn_rpc_add(r, "pending_node_calls", hn_rpc_j_u64(pending));
	hn_rpc_add(r, "status", s);
	hn_rpc_add(r, "events", ev);
	hn_rpc_add(r, "metrics", hb_metrics(hs));
	hn_rpc_reply(c, r);
}

const struct hn_rpc_method host_p2p_methods[] = {
	{ "start", m_start },
	{ "stop", m_stop },
	{ "get_connections", m_get_connections },
	{ "enable_localhost_only", m_enable_localhost_only },
	{ "has_synced_peer", m_has_synced_peer },
	{ "send_tx_to_peers", m_send_tx_to_peers },
	{ "reload_entrypoints_and_connections", m_reload_entrypoints },
	{ "enable_sync_version", m_enable_sync_version },
	{ "add_peer_discovery", m_add_peer_discovery },
	{ "add_listen_address_description", m_add_listen_address },
	{ "disconnect_all_peers", m_disconnect_all_peers },
	{ "heartbeat", m_heartbeat },
};
const size_t host_p2p_n_methods =
	sizeof(host_p2p_methods) / sizeof(host_p2p_methods[0]);
