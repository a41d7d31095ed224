/*
 * plugins.c: the "plugins" daemon module (core/plugins.h).
 *
 * Opens one hn_plugin_rt on the daemon loop with the direct node service
 * (core/node_direct.h: plugins' node calls and the ledger's events), feeds
 * it the configuration every in-core plugin sees (network, data_dir and
 * every "[section] key" of the ini file as "section.key"), then loads,
 * initialises and starts each configured plugin in order, and in
 * --p2p-mode=inprocess the P2P plugin (core/p2p_inproc.h).  Unloading
 * happens in reverse order at close (hn_plugin_rt_free).  A configured
 * plugin that does not load is a configuration error: the daemon exits
 * with HN_EXIT_USAGE (2).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin.h"
#include "config.h"
#include "daemon.h"
#include "metrics.h"
#include "node_direct.h"
#include "p2p_inproc.h"
#include "plugins.h"

#include "hn/err.h"
#include "hn/log.h"
#include "hn/plugin_load.h"

#define COMP "plugins"

struct hn_plugins {
	struct hn_plugin_rt *rt;
	struct hn_node_direct *nd;      /* node service + events, or NULL */
	struct hn_p2p_inproc *p2p;      /* --p2p-mode=inprocess */
};

struct hn_plugin_rt *hn_plugins_rt(struct hn_daemon *d)
{
	return d && d->plugins ? d->plugins->rt : NULL;
}

/* "network", "data_dir" and "[sec] key = v" as "sec.key". */
static int feed_config(struct hn_plugin_rt *rt, const struct hn_config *cfg)
{
	char key[512];
	size_t i;
	int rc = 0;

	if (cfg->network)
		rc = hn_plugin_rt_config_set(rt, "network", cfg->network);
	if (rc == 0 && cfg->data_dir)
		rc = hn_plugin_rt_config_set(rt, "data_dir", cfg->data_dir);
	for (i = 0; rc == 0 && i < cfg->n_kv; i++) {
		const struct hn_config_kv *kv = &cfg->kv[i];

		if (!kv->section || !kv->section[0] ||
		    strcmp(kv->section, "node") == 0)
			continue;
		snprintf(key, sizeof(key), "%s.%s", kv->section, kv->key);
		rc = hn_plugin_rt_config_add(rt, key, kv->value);
	}
	return rc;
}

/* NAME -> <plugin_dir>/NAME.so; a path (with '/') stays as given. */
static char *plugin_path(const struct hn_config *cfg, const char *name)
{
	const char *dot = strrchr(name, '.');
	char *p;

	if (strchr(name, '/'))
		return strdup(name);
	if (asprintf(&p, "%s/%s%s", cfg->plugin_dir ? cfg->plugin_dir : ".",
		     name, dot && strcmp(dot, ".so") == 0 ? "" : ".so") < 0)
		return NULL;
	return p;
}

static int load_one(struct hn_plugins *m, const char *path,
		    struct hn_error *err)
{
	struct hn_plugin_inst *in = NULL;
	const struct hathor_plugin_desc *desc;
	char msg[512] = "";

	if (hn_plugin_rt_load(m->rt, path, NULL, &in, msg, sizeof(msg)) < 0)
		return hn_error_set(err, HN_EINVAL, "%s", msg);
	if (hn_plugin_inst_start(in, msg, sizeof(msg)) < 0) {
		hn_plugin_inst_unload(in);
		return hn_error_set(err, HN_EINVAL, "plugin \"%s\" failed to "
				    "start: %s", path, msg);
	}
	desc = hn_plugin_inst_desc(in);
	hn_info(COMP, "plugin %s %s (%s, abi %u.%u) started from %s",
		desc->name, desc->version, hn_plugin_kind_name(desc->kind),
		desc->abi_major, desc->abi_minor, path);
	return 0;
}

/* The loader's refusal for the admin answer.  struct hn_error holds 160
 * bytes and a long plugin path would cut the reason off, so a message that
 * does not fit names the file by its base name (the log has it whole). */
static void refused(struct hn_error *err, const char *path, const char *msg)
{
	const char *why = strstr(msg, "\" refused: "), *base;

	if (!err || strlen(msg) < sizeof(err->msg) || !why) {
		hn_error_set(err, HN_EINVAL, "%s", msg);
		return;
	}
	base = strrchr(path, '/');
	hn_error_set(err, HN_EINVAL, "plugin %s refused: %s",
		     base ? base + 1 : path, why + strlen("\" refused: "));
}

/* The plugin label of a load the loader refused: NAME, or PATH's base name
 * without ".so" (the name it would have had in the usual layout). */
static void label_of(const char *name, char *out, size_t len)
{
	const char *b = strrchr(name, '/');
	size_t n;

	b = b ? b + 1 : name;
	n = strlen(b);
	if (n > 3 && strcmp(b + n - 3, ".so") == 0)
		n -= 3;
	snprintf(out, len, "%.*s", (int)n, b);
}

int hn_plugins_load(struct hn_daemon *d, const char *name,
		    const struct hathor_plugin_desc **out, char **path_out,
		    struct hn_error *err)
{
	struct hn_plugins *m = d ? d->plugins : NULL;
	struct hn_plugin_inst *in = NULL;
	const struct hathor_plugin_desc *desc;
	char msg[512] = "", *path;

	if (!m || !d->cfg)
		return hn_error_set(err, HN_ECLOSED, "no plugin runtime in "
				    "the core");
	if (!name || !*name)
		return hn_error_set(err, HN_EINVAL, "plugin load: no name");
	if (!(path = plugin_path(d->cfg, name)))
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	if (hn_plugin_rt_load(m->rt, path, NULL, &in, msg, sizeof(msg)) < 0) {
		char label[128];

		label_of(name, label, sizeof(label));
		hn_core_metrics_plugin_load(label, "refused");
		hn_warn(COMP, "plugin load %s refused: %s", path, msg);
		refused(err, path, msg);
		free(path);
		return HN_EINVAL;
	}
	desc = hn_plugin_inst_desc(in);
	if (desc->kind == HATHOR_KIND_P2P) {
		hn_core_metrics_plugin_load(desc->name, "refused");
		hn_plugin_inst_unload(in);
		hn_warn(COMP, "plugin load %s refused: a p2p plugin runs in the "
			"p2p host (plugin reload p2p)", path);
		hn_error_set(err, HN_EINVAL, "plugin \"%s\" is a p2p plugin: "
			     "p2p plugins run in the p2p host, use `plugin "
			     "reload p2p`", path);
		free(path);
		return HN_EINVAL;
	}
	if (hn_plugin_inst_start(in, msg, sizeof(msg)) < 0) {
		hn_core_metrics_plugin_load(desc->name, "failed");
		hn_plugin_inst_unload(in);
		hn_warn(COMP, "plugin load %s: failed to start: %s", path, msg);
		hn_error_set(err, HN_EINVAL, "plugin \"%s\" failed to start: "
			     "%s", path, msg);
		free(path);
		return HN_EINVAL;
	}
	hn_core_metrics_plugin_load(desc->name, "ok");
	hn_info(COMP, "plugin %s %s (%s, abi %u.%u) loaded from %s by the "
		"admin", desc->name, desc->version,
		hn_plugin_kind_name(desc->kind), desc->abi_major,
		desc->abi_minor, path);
	*out = desc;
	*path_out = path;
	return 0;
}

int hn_plugins_unload(struct hn_daemon *d, const char *name,
		      struct hn_error *err)
{
	struct hn_plugins *m = d ? d->plugins : NULL;
	struct hn_plugin_inst *in;
	size_t i;

	if (!m)
		return hn_error_set(err, HN_ECLOSED, "no plugin runtime in "
				    "the core");
	for (i = 0; name && (in = hn_plugin_rt_inst(m->rt, i)); i++) {
		const struct hathor_plugin_desc *desc = hn_plugin_inst_desc(in);

		if (strcmp(desc->name, name) != 0)
			continue;
		if (desc->kind == HATHOR_KIND_P2P) {
			hn_core_metrics_plugin_unload(name, "refused");
			return hn_error_set(err, HN_EINVAL, "plugin \"%s\" is "
					    "the in-process p2p plugin: it "
					    "stops with the node", name);
		}
		hn_info(COMP, "plugin %s unloaded by the admin", name);
		hn_plugin_inst_unload(in);
		hn_core_metrics_plugin_unload(name, "ok");
		return 0;
	}
	hn_core_metrics_plugin_unload(name ? name : "", "not_found");
	return hn_error_set(err, HN_ENOENT, "no plugin \"%s\" loaded in the "
			    "core", name ? name : "");
}

static void plugins_free(struct hn_plugins *m)
{
	if (!m)
		return;
	hn_p2p_inproc_close(m->p2p);
	hn_plugin_rt_free(m->rt);
	hn_node_direct_free(m->nd);
	hn_core_metrics_attach_ledger(NULL, NULL);
	hn_core_metrics_reset();
	free(m);
}

static int plugins_open(struct hn_daemon *d, struct hn_error *err)
{
	const struct hn_config *cfg = d->cfg;
	struct hn_plugin_rt_opts o = { 0 };
	struct hn_plugins *m;
	char hp[300];
	size_t i;
	int rc;

	if (!cfg)
		return 0;
	if (!(m = calloc(1, sizeof(*m))))
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	o.loop = d->loop;
	o.process = "core";
	o.visit_extra = hn_core_metrics_visit;
	if (d->ledger) {
		if (hn_node_direct_new(d->loop, d->ledger, &m->nd) < 0) {
			free(m);
			return hn_error_set(err, HN_ENOMEM, "out of memory");
		}
		o.node = &hn_node_direct_ops;
		o.node_ctx = m->nd;
		o.node_cancel = hn_node_direct_cancel;
	}
	if (d->ledger && cfg->data_dir) {
		char db[4096];

		if (snprintf(db, sizeof(db), "%s/ledger.db", cfg->data_dir) <
		    (int)sizeof(db))
			hn_core_metrics_attach_ledger(d->ledger, db);
	}
	if (hn_plugin_rt_new(&o, &m->rt) < 0 || feed_config(m->rt, cfg) < 0 ||
	    (m->nd && hn_node_direct_attach_events(m->nd, m->rt) < 0)) {
		plugins_free(m);
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	}
	if (cfg->metrics_enabled) {
		snprintf(hp, sizeof(hp), strchr(cfg->metrics_listen.host, ':') ?
			 "[%s]:%u" : "%s:%u", cfg->metrics_listen.host,
			 (unsigned)cfg->metrics_listen.port);
		if (hn_plugin_rt_config_set(m->rt, "metrics.listen", hp) < 0) {
			plugins_free(m);
			return hn_error_set(err, HN_ENOMEM, "out of memory");
		}
	}
	/* Published before loading: a plugin's init may look it up. */
	d->plugins = m;
	for (i = 0; i <= cfg->n_plugins; i++) {
		char *path;

		if (i == cfg->n_plugins && !cfg->metrics_enabled)
			break;
		path = plugin_path(cfg, i < cfg->n_plugins ? cfg->plugins[i] :
				   "metrics");
		if (!path) {
			rc = hn_error_set(err, HN_ENOMEM, "out of memory");
			goto fail;
		}
		rc = load_one(m, path, err);
		free(path);
		if (rc < 0) {
			d->exit_code = HN_EXIT_USAGE;
			goto fail;
		}
	}
	if (cfg->p2p_mode == HN_P2P_INPROCESS) {
		if (!m->nd) {
			rc = hn_error_set(err, HN_EINVAL, "--p2p-mode=inprocess "
					  "needs the ledger");
			goto fail;
		}
		rc = hn_p2p_inproc_open(d, m->rt, &m->p2p, err);
		if (rc < 0)
			goto fail;
	}
	hn_admin_set_plugin_rt(d->admin, m->rt);
	return 0;
fail:
	d->plugins = NULL;
	plugins_free(m);
	return rc;
}

/* Daemon stop: the in-process P2P stops accepting and dialing and drops
 * its peers (as the host does on SIGTERM). */
static void plugins_stop(struct hn_daemon *d)
{
	if (d->plugins)
		hn_p2p_inproc_stop(d->plugins->p2p);
}

static void plugins_close(struct hn_daemon *d)
{
	if (!d->plugins)
		return;
	hn_admin_set_plugin_rt(d->admin, NULL);
	plugins_free(d->plugins);
	d->plugins = NULL;
}

const struct hn_daemon_module hn_plugins_module = {
	.name = "plugins",
	.open = plugins_open,
	.stop = plugins_stop,
	.close = plugins_close,
};
