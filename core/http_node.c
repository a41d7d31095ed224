/*
 * http_node.c: node-level endpoints: /v1a/version (version_resource.py),
 * /v1a/status (p2p/resources/status.py), /v1a/health
 * (healthcheck/resources/healthcheck.py), /v1a/p2p/readiness
 * (p2p/resources/healthcheck.py).
 *
 * Peers come from the P2P layer's connection table: in
 * --p2p-mode=inprocess straight from the plugin in the core
 * (core/p2p_inproc.h), in host mode from the cached snapshot
 * (core/peers.h) that core/sup.c refreshes every 2 s: these handlers never
 * wait on IPC.  With P2P off the synced-peer check is skipped; see
 * docs/http-api.md.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

/* config.h has a comment containing a glob (-Wcomment). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcomment"
#include "config.h"
#pragma GCC diagnostic pop
#include "daemon.h"
#include "http_int.h"
#include "ledger.h"
#include "p2p_inproc.h"
#include "peers.h"
#include "store.h"

#include "hn/err.h"
#include "hn/network.h"

#define BEST_BLOCKCHAIN_BLOCKS 10       /* DEFAULT_BEST_BLOCKCHAIN_BLOCKS */
#define RECENT_ACTIVITY_MULTIPLIER 15   /* P2P_RECENT_ACTIVITY_THRESHOLD_.. */
#define REASON_NO_RECENT "Node doesn't have recent blocks"
#define REASON_NO_PEER "Node doesn't have a synced peer"

#define jadd json_object_object_add

void http__version(struct http__req *r)
{
	const struct hn_network *net = r->h->d->net;
	struct json_object *o, *nt;

	if (!net) {
		http__fail(r, 503, "network not configured");
		return;
	}
	o = json_object_new_object();
	nt = json_object_new_object();
	if (!o || !nt) {
		json_object_put(o);
		json_object_put(nt);
		return;
	}
	jadd(o, "version", json_object_new_string(HN_VERSION));
	jadd(o, "network", json_object_new_string(net->p2p_network));
	jadd(o, "nano_contracts_enabled", json_object_new_boolean(
		     net->enable_nano_contracts == HN_FEATURE_ENABLED));
	jadd(o, "min_weight", json_object_new_int64(
		     (int64_t)net->min_tx_weight));
	jadd(o, "min_tx_weight", json_object_new_int64(
		     (int64_t)net->min_tx_weight));
	jadd(o, "min_tx_weight_coefficient",
	     json_object_new_double(net->min_tx_weight_coefficient));
	jadd(o, "min_tx_weight_k", json_object_new_double(net->min_tx_weight_k));
	jadd(o, "token_deposit_percentage", json_object_new_double(
		     (double)net->token_deposit_percentage_numerator /
		     (double)net->token_deposit_percentage_denominator));
	jadd(o, "token_deposit_percentage_numerator", json_object_new_int64(
		     (int64_t)net->token_deposit_percentage_numerator));
	jadd(o, "token_deposit_percentage_denominator", json_object_new_int64(
		     (int64_t)net->token_deposit_percentage_denominator));
	jadd(o, "reward_spend_min_blocks",
	     json_object_new_int64(net->reward_spend_min_blocks));
	jadd(o, "max_number_inputs", json_object_new_int64(net->max_num_inputs));
	jadd(o, "max_number_outputs",
	     json_object_new_int64(net->max_num_outputs));
	jadd(o, "decimal_places", json_object_new_int64(net->decimal_places));
	jadd(o, "display_decimal_places",
	     json_object_new_int64(net->decimal_places));
	jadd(o, "token_amount_v1_decimal_places",
	     json_object_new_int64(net->decimal_places));
	jadd(o, "token_amount_v2_decimal_places", json_object_new_int64(18));
	jadd(o, "genesis_block_hash", http__hex(net->genesis_block.hash, 32));
	jadd(o, "genesis_tx1_hash", http__hex(net->genesis_tx1.hash, 32));
	jadd(o, "genesis_tx2_hash", http__hex(net->genesis_tx2.hash, 32));
	jadd(nt, "name", json_object_new_string("Hathor"));
	jadd(nt, "symbol", json_object_new_string("HTR"));
	jadd(nt, "version", json_object_new_int64(HN_TOKEN_NATIVE));
	jadd(o, "native_token", nt);
	http__ok(r, 200, o);
}

static double uptime(const struct hn_daemon *d)
{
	return d->loop ? ev_now(d->loop) - d->start_mono : 0.;
}

/* [[height, hash], ...] of the best chain, best first. */
static struct json_object *best_blockchain(struct hn_ledger *l,
					   const struct hn_block_info *bb)
{
	struct json_object *a = json_object_new_array();
	uint64_t h;
	unsigned i;

	if (!a)
		return NULL;
	for (i = 0, h = bb->height; i < BEST_BLOCKCHAIN_BLOCKS; i++, h--) {
		struct json_object *e = json_object_new_array();
		uint8_t hash[32];

		if (!e || hn_ledger_block_at_height(l, h, hash) < 0) {
			json_object_put(e);
			break;
		}
		json_object_array_add(e, json_object_new_int64((int64_t)h));
		json_object_array_add(e, http__hex(hash, 32));
		json_object_array_add(a, e);
		if (h == 0)
			break;
	}
	return a;
}

static struct json_object *jget(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, k, &v))
		return NULL;
	return v;
}

/* A copy of @o's @k, or @dflt (taken) when absent. */
static struct json_object *jcopy(struct json_object *o, const char *k,
				 struct json_object *dflt)
{
	struct json_object *v = jget(o, k);

	if (!v)
		return dflt;
	json_object_put(dflt);
	return json_object_get(v);
}

/* @o's number @k plus @age (the snapshot's age: uptime and the like
 * were measured when it was taken). */
static struct json_object *jaged(struct json_object *o, const char *k,
				 double age)
{
	return json_object_new_double(json_object_get_double(jget(o, k)) +
				      age);
}

static struct json_object *jstr_or(struct json_object *o, const char *k,
				   const char *dflt)
{
	struct json_object *v = jget(o, k);

	if (v && json_object_is_type(v, json_type_string))
		return json_object_get(v);
	return json_object_new_string(dflt);
}

/* Each element of the snapshot's array @a through @fn. */
static struct json_object *map_peers(struct json_object *a,
				     struct json_object *(*fn)(
					     struct json_object *, double,
					     double),
				     double age, double now)
{
	struct json_object *out = json_object_new_array();
	size_t n;

	if (!out || !a || !json_object_is_type(a, json_type_array))
		return out;
	n = json_object_array_length(a);
	for (size_t i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(a, i);

		if (json_object_is_type(e, json_type_object))
			json_object_array_add(out, fn(e, age, now));
	}
	return out;
}

/* The keys of status.py's connected_peers entries. */
static struct json_object *connected_peer(struct json_object *e, double age,
					  double now)
{
	struct json_object *o = json_object_new_object();

	jadd(o, "id", jstr_or(e, "id", ""));
	jadd(o, "app_version", jstr_or(e, "app_version", "Unknown"));
	jadd(o, "current_time", json_object_new_double(now));
	jadd(o, "uptime", jaged(e, "uptime", age));
	jadd(o, "address", jstr_or(e, "address", ""));
	jadd(o, "state", jstr_or(e, "state", "READY"));
	jadd(o, "rtt", jcopy(e, "rtt", json_object_new_array()));
	jadd(o, "last_message", jaged(e, "last_message", age));
	jadd(o, "plugins", jcopy(e, "plugins", json_object_new_object()));
	jadd(o, "warning_flags", jcopy(e, "warning_flags",
				       json_object_new_array()));
	jadd(o, "protocol_version", jstr_or(e, "protocol_version", ""));
	jadd(o, "peer_best_blockchain", jcopy(e, "peer_best_blockchain",
					      json_object_new_array()));
	return o;
}

static struct json_object *handshaking_peer(struct json_object *e,
					    double age, double now)
{
	struct json_object *o = json_object_new_object();

	(void)now;
	jadd(o, "address", jstr_or(e, "address", ""));
	jadd(o, "state", jstr_or(e, "state", ""));
	jadd(o, "uptime", jaged(e, "uptime", age));
	jadd(o, "app_version", jstr_or(e, "app_version", "Unknown"));
	return o;
}

/* status.py gives the Twisted deferred's repr; we say what is pending. */
static struct json_object *connecting_peer(struct json_object *e,
					   double age, double now)
{
	struct json_object *o = json_object_new_object();
	struct json_object *st = jget(e, "state");
	char d[96];

	(void)now;
	if (jget(e, "retry_in"))
		snprintf(d, sizeof(d), "%s (retry in %.1f s, %d attempts)",
			 st ? json_object_get_string(st) : "WAITING",
			 json_object_get_double(jget(e, "retry_in")) - age >
			 0 ? json_object_get_double(jget(e, "retry_in")) -
			 age : 0.,
			 json_object_get_int(jget(e, "attempts")));
	else
		snprintf(d, sizeof(d), "%s",
			 st ? json_object_get_string(st) : "CONNECTING");
	jadd(o, "deferred", json_object_new_string(d));
	jadd(o, "address", jstr_or(e, "address", ""));
	return o;
}

static struct json_object *known_peer(struct json_object *e, double age,
				      double now)
{
	struct json_object *o = json_object_new_object();

	(void)now;
	jadd(o, "id", jstr_or(e, "id", ""));
	jadd(o, "entrypoints", jcopy(e, "entrypoints",
				     json_object_new_array()));
	jadd(o, "last_seen", jaged(e, "last_seen", age));
	jadd(o, "flags", jcopy(e, "flags", json_object_new_array()));
	return o;
}

void http__status(struct http__req *r)
{
	struct hn_daemon *d = r->h->d;
	struct hn_ledger *l = http__ledger(r);
	struct json_object *o, *srv, *conns, *dag, *bbo, *tips, *tip, *ep;
	struct json_object *snap = NULL, *pc;
	struct hn_block_info bb;
	uint64_t first = 0, latest = 0;
	double snap_at = 0, age, wall = ev_time();
	char app[64];

	if (!l)
		return;
	if (hn_ledger_best_block(l, &bb) < 0 ||
	    hn_store_timestamps(hn_ledger_store(l), &first, &latest) < 0) {
		http__fail(r, 500, "storage error");
		return;
	}
	o = json_object_new_object();
	srv = json_object_new_object();
	conns = json_object_new_object();
	dag = json_object_new_object();
	bbo = json_object_new_object();
	tips = json_object_new_array();
	tip = json_object_new_object();
	ep = json_object_new_array();
	if (!o || !srv || !conns || !dag || !bbo || !tips || !tip || !ep) {
		json_object_put(o);
		json_object_put(srv);
		json_object_put(conns);
		json_object_put(dag);
		json_object_put(bbo);
		json_object_put(tips);
		json_object_put(tip);
		json_object_put(ep);
		return;
	}
	snprintf(app, sizeof(app), "hathor-node v%s", HN_VERSION);
	if (d->cfg && d->cfg->p2p_mode == HN_P2P_INPROCESS) {
		snap = hn_p2p_inproc_connections(d);    /* live: age 0 */
		age = 0;
	} else {
		snap = json_object_get(hn_peers_snapshot(&snap_at));
		age = snap && d->loop ? ev_now(d->loop) - snap_at : 0.;
		if (age < 0)
			age = 0;
	}
	pc = jget(snap, "connections");
	if (snap && jget(snap, "entrypoints")) {
		json_object_put(ep);
		ep = json_object_get(jget(snap, "entrypoints"));
	} else if (d->cfg && d->cfg->has_p2p_listen) {
		char e[300];

		snprintf(e, sizeof(e), "tcp://%s:%u", d->cfg->p2p_listen.host,
			 (unsigned)d->cfg->p2p_listen.port);
		json_object_array_add(ep, json_object_new_string(e));
	}
	jadd(srv, "id", jstr_or(snap, "peer_id", ""));
	jadd(srv, "app_version", json_object_new_string(app));
	jadd(srv, "state", json_object_new_string("READY"));
	jadd(srv, "network", json_object_new_string(d->net->p2p_network));
	jadd(srv, "uptime", json_object_new_double(uptime(d)));
	jadd(srv, "entrypoints", ep);
	jadd(o, "server", srv);
	jadd(o, "peers_whitelist", json_object_new_array());
	jadd(o, "known_peers", map_peers(jget(snap, "known_peers"),
					 known_peer, age, wall));
	jadd(conns, "connected_peers", map_peers(jget(pc, "connected_peers"),
						 connected_peer, age, wall));
	jadd(conns, "handshaking_peers", map_peers(jget(pc,
						   "handshaking_peers"),
						   handshaking_peer, age,
						   wall));
	jadd(conns, "connecting_peers", map_peers(jget(pc,
						  "connecting_peers"),
						  connecting_peer, age, wall));
	json_object_put(snap);
	jadd(o, "connections", conns);
	jadd(dag, "first_timestamp", json_object_new_int64((int64_t)first));
	jadd(dag, "latest_timestamp", json_object_new_int64((int64_t)latest));
	jadd(tip, "hash", http__hex(bb.hash, 32));
	jadd(tip, "height", json_object_new_int64((int64_t)bb.height));
	json_object_array_add(tips, tip);
	jadd(dag, "best_block_tips", tips);
	jadd(bbo, "hash", http__hex(bb.hash, 32));
	jadd(bbo, "height", json_object_new_int64((int64_t)bb.height));
	jadd(dag, "best_block", bbo);
	jadd(dag, "best_blockchain", best_blockchain(l, &bb));
	jadd(o, "dag", dag);
	http__ok(r, 200, o);
}

/* ConnectionsManager.has_synced_peer() for the mode we run in. */
static bool has_synced_peer(const struct hn_daemon *d)
{
	if (d->cfg && d->cfg->p2p_mode == HN_P2P_INPROCESS)
		return hn_p2p_inproc_synced(d);
	return hn_peers_has_synced_peer();
}

/* manager.can_start_mining(): --allow-mining-without-peers, or a synced
 * peer.  With P2P off there is nobody to sync from: allowed. */
bool http__can_start_mining(struct http__req *r)
{
	const struct hn_daemon *d = r->h->d;

	if (!d->cfg || d->cfg->allow_mining_without_peers ||
	    d->cfg->p2p_mode == HN_P2P_OFF)
		return true;
	return has_synced_peer(d);
}

/* manager.is_sync_healthy(): NULL when healthy, else the reason. */
static const char *sync_unhealthy(struct http__req *r, struct hn_ledger *l)
{
	const struct hn_daemon *d = r->h->d;
	uint64_t first = 0, latest = 0;
	double now = hn_ledger_now(l);

	if (hn_store_timestamps(hn_ledger_store(l), &first, &latest) < 0)
		return REASON_NO_RECENT;
	if (now - (double)latest > (double)RECENT_ACTIVITY_MULTIPLIER *
	    d->net->avg_time_between_blocks)
		return REASON_NO_RECENT;
	if (d->cfg && d->cfg->p2p_mode == HN_P2P_OFF)
		return NULL;
	if (!has_synced_peer(d))
		return REASON_NO_PEER;
	return NULL;
}

void http__health(struct http__req *r)
{
	struct hn_ledger *l = http__ledger(r);
	struct json_object *o, *checks, *arr, *c;
	const char *why, *strict;
	char desc[64], tbuf[32];
	time_t now;
	struct tm tm;

	if (!l)
		return;
	why = sync_unhealthy(r, l);
	strict = http__arg(r, "strict_status_code");
	o = json_object_new_object();
	checks = json_object_new_object();
	arr = json_object_new_array();
	c = json_object_new_object();
	if (!o || !checks || !arr || !c) {
		json_object_put(o);
		json_object_put(checks);
		json_object_put(arr);
		json_object_put(c);
		return;
	}
	now = time(NULL);
	gmtime_r(&now, &tm);
	strftime(tbuf, sizeof(tbuf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	snprintf(desc, sizeof(desc), "Hathor-core v%s", HN_VERSION);
	jadd(c, "componentName", json_object_new_string("sync"));
	jadd(c, "componentType", json_object_new_string("internal"));
	jadd(c, "status", json_object_new_string(why ? "fail" : "pass"));
	jadd(c, "output", json_object_new_string(why ? why : "Healthy"));
	jadd(c, "time", json_object_new_string(tbuf));
	json_object_array_add(arr, c);
	jadd(checks, "sync", arr);
	jadd(o, "status", json_object_new_string(why ? "fail" : "pass"));
	jadd(o, "description", json_object_new_string(desc));
	jadd(o, "checks", checks);
	http__ok(r, why && !(strict && !strcmp(strict, "1")) ? 503 : 200, o);
}

void http__readiness(struct http__req *r)
{
	struct hn_ledger *l = http__ledger(r);
	struct json_object *o;
	const char *why;

	if (!l)
		return;
	why = sync_unhealthy(r, l);
	o = json_object_new_object();
	if (!o)
		return;
	jadd(o, "success", json_object_new_boolean(!why));
	if (why)
		jadd(o, "reason", json_object_new_string(why));
	http__ok(r, why ? 503 : 200, o);
}
