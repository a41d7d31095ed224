/*
 * p2p_inproc.c: the P2P plugin loaded by the core itself
 * (--p2p-mode=inprocess); see p2p_inproc.h.
 */
#include "p2p_inproc.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <ev.h>
#include <json-c/json.h>

#include "admin.h"
/* config.h has a comment containing a glob (-Wcomment). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcomment"
#include "config.h"
#pragma GCC diagnostic pop
#include "daemon.h"
#include "metrics.h"
#include "sup.h"

#include "hn/err.h"
#include "hn/log.h"
#include "hn/plugin_load.h"

#define COMP "p2p-inproc"

struct hn_p2p_inproc {
	struct hn_daemon *d;
	struct hn_plugin_rt *rt;
	struct hn_plugin_inst *inst;    /* NULL between unload and load */
	int listen_fd;
	char *path;                     /* the build running (as given) */
	int build_fd;                   /* its bytes (sealed memfd) */
	unsigned gen;                   /* private copies made so far */
	bool running;                   /* manager started */
	unsigned reloads, reload_failures, rollbacks;
};

static struct hn_p2p_inproc *the_p2p;

static const struct hathor_p2p_ops *ops_of(struct hn_p2p_inproc *p)
{
	return p && p->inst ? hn_plugin_inst_p2p(p->inst) : NULL;
}

static void *ctx_of(struct hn_p2p_inproc *p)
{
	return hn_plugin_inst_ctx(p->inst);
}

/* "p2p.*" keys the host is given by core/sup.c plugin_config() and
 * main.c (listen fd); network, data_dir and [p2p] keys are fed to every
 * in-core plugin by core/plugins.c already. */
static int feed_p2p_config(struct hn_p2p_inproc *p, const struct hn_config *cfg)
{
	char v[320];
	size_t i;
	int rc = 0;

	if (cfg->peer_id_file)
		rc = hn_plugin_rt_config_set(p->rt, "p2p.identity",
					     cfg->peer_id_file);
	if (rc == 0 && cfg->p2p_max_peers) {
		snprintf(v, sizeof(v), "%zu", cfg->p2p_max_peers);
		rc = hn_plugin_rt_config_set(p->rt, "p2p.max_peers", v);
	}
	for (i = 0; rc == 0 && i < cfg->n_bootstrap; i++) {
		const struct hn_hostport *b = &cfg->bootstrap[i];

		snprintf(v, sizeof(v), strchr(b->host, ':') ?
			 "tcp://[%s]:%u" : "tcp://%s:%u", b->host,
			 (unsigned)b->port);
		rc = hn_plugin_rt_config_add(p->rt, "p2p.bootstrap", v);
	}
	if (rc == 0 && p->listen_fd >= 0) {
		snprintf(v, sizeof(v), "%d", p->listen_fd);
		rc = hn_plugin_rt_config_set(p->rt, "p2p.listen_fd", v);
	}
	return rc;
}

/* Loads @path from a fresh private copy, starts it and its manager.
 * Returns 0 or a negative code with @err (nothing left loaded). */
static int load_start(struct hn_p2p_inproc *p, const char *path, char *err,
		      size_t errlen)
{
	struct hn_plugin_open_opts oo = { 0 };
	struct hn_plugin_inst *in = NULL;
	const struct hathor_plugin_desc *desc;
	const struct hathor_p2p_ops *ops;
	char e2[512] = "";
	int rc;

	oo.want_kind = HATHOR_KIND_P2P;
	oo.copy_dir = p->d->cfg->runtime_dir;
	oo.gen = ++p->gen;
	rc = hn_plugin_rt_load(p->rt, path, &oo, &in, err, errlen);
	if (rc < 0)
		return rc;
	rc = hn_plugin_inst_start(in, e2, sizeof(e2));
	if (rc < 0) {
		snprintf(err, errlen, "plugin \"%s\" failed to start: %s", path,
			 e2);
		hn_plugin_inst_unload(in);
		return rc;
	}
	ops = hn_plugin_inst_p2p(in);
	desc = hn_plugin_inst_desc(in);
	if (ops && HATHOR_HAS(ops, start)) {
		e2[0] = 0;
		rc = ops->start(hn_plugin_inst_ctx(in), e2, sizeof(e2));
		if (rc < 0) {
			snprintf(err, errlen, "plugin \"%s\": start command "
				 "failed: %s", path, e2[0] ? e2 :
				 hn_strerror(rc));
			hn_plugin_inst_unload(in);
			return rc;
		}
	}
	p->inst = in;
	p->running = true;
	hn_info(COMP, "p2p plugin %s %s (abi %u.%u) running in the core from "
		"%s (copy %u)", desc->name, desc->version, desc->abi_major,
		desc->abi_minor, path, p->gen);
	return 0;
}

/* @path (snapshot @fd, taken) is the build running now: the one to roll
 * back to. */
static void hold_build(struct hn_p2p_inproc *p, const char *path, int fd)
{
	/* @path may be p->path itself (a reload without --path): keep that
	 * string, the caller still uses it. */
	char *dup = path == p->path ? p->path : strdup(path);

	if (fd < 0 || !dup) {
		hn_warn(COMP, "cannot keep %s for a rollback: %s", path,
			fd < 0 ? "cannot read it" : "out of memory");
		if (fd >= 0)
			close(fd);
		if (dup != p->path)
			free(dup);
		return;
	}
	if (p->build_fd >= 0)
		close(p->build_fd);
	if (dup != p->path)
		free(p->path);
	p->build_fd = fd;
	p->path = dup;
}

static void unload(struct hn_p2p_inproc *p)
{
	const struct hathor_p2p_ops *ops = ops_of(p);
	char err[256] = "";

	if (!p->inst)
		return;
	if (p->running && ops && HATHOR_HAS(ops, stop) &&
	    ops->stop(ctx_of(p), err, sizeof(err)) < 0)
		hn_warn(COMP, "p2p stop command: %s", err);
	p->running = false;
	hn_plugin_inst_unload(p->inst);
	p->inst = NULL;
}

/* --- admin hooks -------------------------------------------------------- */

static void text_cb(void *arg, const char *text, size_t len)
{
	struct json_object **o = arg;
	struct json_tokener *tok = json_tokener_new();

	json_object_put(*o);
	*o = NULL;
	if (!tok)
		return;
	*o = json_tokener_parse_ex(tok, text, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(*o);
		*o = NULL;
	}
	json_tokener_free(tok);
}

static struct json_object *connections(struct hn_p2p_inproc *p, char *err,
				       size_t errlen, int *rcp)
{
	const struct hathor_p2p_ops *ops = ops_of(p);
	struct json_object *o = NULL;
	int rc;

	*rcp = HN_ECLOSED;
	if (!ops || !HATHOR_HAS(ops, get_connections)) {
		snprintf(err, errlen, "the p2p plugin is not running");
		return NULL;
	}
	rc = ops->get_connections(ctx_of(p), text_cb, &o, err, errlen);
	*rcp = rc;
	if (rc < 0) {
		json_object_put(o);
		return NULL;
	}
	if (!json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		*rcp = HN_EPROTO;
		snprintf(err, errlen, "plugin returned no JSON object");
		return NULL;
	}
	*rcp = 0;
	return o;
}

static int h_peers(void *ctx, struct hn_admin_call *call)
{
	struct hn_p2p_inproc *p = ctx;
	struct json_object *o, *r;
	char err[256] = "";
	int rc;

	o = connections(p, err, sizeof(err), &rc);
	if (!o) {
		hn_admin_call_done(call, rc, NULL, err[0] ? err : NULL);
		return 0;
	}
	r = json_object_new_object();
	json_object_object_add(r, "peers", o);
	hn_admin_call_done(call, 0, r, NULL);
	return 0;
}

static int h_plugin_reload(void *ctx, const char *name,
			   struct hn_admin_call *call)
{
	struct hn_p2p_inproc *p = ctx;
	struct hn_plugin_open_opts oo = { 0 };
	struct hn_plugin *chk = NULL;
	const struct hathor_plugin_desc *desc;
	struct json_object *info;
	char err[768] = "", msg[1200], fdpath[64];
	const char *path;
	double t0 = ev_time();
	int rc, snap;

	if (strchr(name, '/'))
		path = name;
	else if (strcmp(name, "p2p") == 0 || strcmp(name, "p2p_sync_v2") == 0)
		path = p->path;
	else {
		snprintf(msg, sizeof(msg), "no plugin '%s' to reload: the core "
			 "reloads 'p2p' (or give a path to a .so)", name);
		hn_admin_call_done(call, HN_ENOENT, NULL, msg);
		return 0;
	}
	if (!path) {
		hn_admin_call_done(call, HN_ECLOSED, NULL, "no p2p plugin path");
		return 0;
	}
	/* 1. The new build must load (from its own copy) before the old one
	 * is touched. */
	oo.want_kind = HATHOR_KIND_P2P;
	oo.copy_dir = p->d->cfg->runtime_dir;
	oo.gen = ++p->gen;
	rc = hn_plugin_open(path, &oo, &chk, err, sizeof(err));
	if (rc < 0) {
		p->reload_failures++;
		hn_core_metrics_plugin_reload("p2p", "refused", ev_time());
		snprintf(msg, sizeof(msg), "%s; old plugin still active", err);
		hn_warn(COMP, "plugin reload p2p: %s", msg);
		hn_admin_call_done(call, HN_EIO, NULL, msg);
		return 0;
	}
	hn_plugin_close(chk);
	/* 2. Old plugin out: peers, node calls, watchers, timers. */
	unload(p);
	/* 3. New build in, from a fresh copy. */
	snap = hn_plugin_snapshot(path);
	rc = load_start(p, path, err, sizeof(err));
	if (rc < 0) {
		if (snap >= 0)
			close(snap);
		p->reload_failures++;
		snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d",
			 p->build_fd);
		if (p->build_fd >= 0 &&
		    load_start(p, fdpath, msg, sizeof(msg)) == 0) {
			p->rollbacks++;
			hn_core_metrics_plugin_reload("p2p", "rolled_back",
						      ev_time());
			snprintf(msg, sizeof(msg), "%s; rolled back to %s", err,
				 p->path);
		} else {
			hn_core_metrics_plugin_reload("p2p", "failed",
						      ev_time());
			snprintf(msg, sizeof(msg), "%s; rollback to %s failed "
				 "too: p2p is down", err,
				 p->path ? p->path : "?");
		}
		hn_warn(COMP, "plugin reload p2p: %s", msg);
		hn_admin_call_done(call, HN_EIO, NULL, msg);
		return 0;
	}
	hold_build(p, path, snap);
	p->reloads++;
	hn_core_metrics_plugin_reload("p2p", "ok", ev_time());
	desc = hn_plugin_inst_desc(p->inst);
	info = json_object_new_object();
	json_object_object_add(info, "plugin",
			       json_object_new_string(desc->name));
	json_object_object_add(info, "version",
			       json_object_new_string(desc->version));
	json_object_object_add(info, "path", json_object_new_string(path));
	json_object_object_add(info, "process",
			       json_object_new_string("core"));
	json_object_object_add(info, "pid", json_object_new_int64(getpid()));
	json_object_object_add(info, "gen", json_object_new_int64(p->gen));
	json_object_object_add(info, "ms", json_object_new_int64(
		(int64_t)((ev_time() - t0) * 1000.0 + 0.5)));
	hn_info(COMP, "plugin reload p2p: %s %s running from %s", desc->name,
		desc->version, path);
	hn_admin_call_done(call, 0, info, NULL);
	return 0;
}

/* --- status provider ---------------------------------------------------- */

struct json_object *hn_p2p_inproc_connections(const struct hn_daemon *d)
{
	char err[256];
	int rc;

	if (!the_p2p || the_p2p->d != d)
		return NULL;
	return connections(the_p2p, err, sizeof(err), &rc);
}

int hn_p2p_inproc_send_tx(const struct hn_daemon *d, const uint8_t *bytes,
			  size_t len, char *err, size_t errlen)
{
	const struct hathor_p2p_ops *ops;
	int rc;

	if (!the_p2p || the_p2p->d != d || !the_p2p->running)
		return HN_ECLOSED;
	ops = ops_of(the_p2p);
	if (!ops || !HATHOR_HAS(ops, send_tx_to_peers) || !ops->send_tx_to_peers)
		return HN_ECLOSED;
	rc = ops->send_tx_to_peers(ctx_of(the_p2p), bytes, len, err, errlen);
	return rc < 0 ? HN_EINVAL : 0;
}

bool hn_p2p_inproc_synced(const struct hn_daemon *d)
{
	const struct hathor_p2p_ops *ops;

	if (!the_p2p || the_p2p->d != d)
		return false;
	ops = ops_of(the_p2p);
	return ops && HATHOR_HAS(ops, has_synced_peer) &&
	       ops->has_synced_peer(ctx_of(the_p2p));
}

/* hathor_peers{state} at every scrape: the plugin's status, as the host's
 * heartbeat answer gives it in host mode. */
static bool peers_now(void *arg, unsigned *connecting, unsigned *handshaking,
		      unsigned *ready)
{
	struct hn_p2p_inproc *p = arg;
	const struct hathor_p2p_ops *ops = ops_of(p);
	struct hathor_p2p_status st;

	if (!ops || !HATHOR_HAS(ops, status))
		return false;
	memset(&st, 0, sizeof(st));
	st.size = sizeof(st);
	ops->status(ctx_of(p), &st);
	*connecting = st.connecting_peers;
	*handshaking = st.handshaking_peers;
	*ready = st.ready_peers;
	return true;
}

/* --- lifecycle ---------------------------------------------------------- */

int hn_p2p_inproc_open(struct hn_daemon *d, struct hn_plugin_rt *rt,
		       struct hn_p2p_inproc **out, struct hn_error *err)
{
	const struct hn_config *cfg = d->cfg;
	struct hn_admin_hooks hooks = { 0 };
	struct hn_p2p_inproc *p;
	char msg[768] = "";
	char *path = NULL;
	int rc, snap;

	p = calloc(1, sizeof(*p));
	if (!p)
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	p->d = d;
	p->rt = rt;
	p->listen_fd = -1;
	p->build_fd = -1;
	if (cfg->has_p2p_listen) {
		rc = hn_sup_bind_listen(&cfg->p2p_listen, err);
		if (rc < 0) {
			free(p);
			return rc;
		}
		p->listen_fd = rc;
	}
	if (asprintf(&path, "%s/p2p_sync_v2.so",
		     cfg->plugin_dir ? cfg->plugin_dir : ".") < 0)
		path = NULL;
	if (!path || feed_p2p_config(p, cfg) < 0) {
		rc = hn_error_set(err, HN_ENOMEM, "out of memory");
		goto fail;
	}
	snap = hn_plugin_snapshot(path);
	rc = load_start(p, path, msg, sizeof(msg));
	if (rc < 0) {
		if (snap >= 0)
			close(snap);
		rc = hn_error_set(err, rc, "%s", msg);
		goto fail;
	}
	hold_build(p, path, snap);
	free(path);
	hooks.ctx = p;
	hooks.peers = h_peers;
	hooks.plugin_reload = h_plugin_reload;
	hn_admin_hooks_register(&hooks);
	hn_core_metrics_peers_source(peers_now, p);
	the_p2p = p;
	*out = p;
	return 0;
fail:
	free(path);
	if (p->listen_fd >= 0)
		close(p->listen_fd);
	free(p);
	return rc;
}

void hn_p2p_inproc_stop(struct hn_p2p_inproc *p)
{
	const struct hathor_p2p_ops *ops = ops_of(p);
	char err[256] = "";

	if (!p || !p->running)
		return;
	p->running = false;
	if (ops && HATHOR_HAS(ops, stop) &&
	    ops->stop(ctx_of(p), err, sizeof(err)) < 0)
		hn_warn(COMP, "p2p stop command: %s", err);
}

void hn_p2p_inproc_close(struct hn_p2p_inproc *p)
{
	if (!p)
		return;
	if (the_p2p == p) {
		hn_admin_hooks_register(NULL);
		hn_core_metrics_peers_source(NULL, NULL);
		the_p2p = NULL;
	}
	unload(p);
	if (p->listen_fd >= 0)
		close(p->listen_fd);
	if (p->build_fd >= 0)
		close(p->build_fd);
	free(p->path);
	free(p);
}
