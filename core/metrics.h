/*
 * core/metrics.h: the core's own metrics (docs/metrics.md, "Metrics of the
 * core").  One registry per process: the hooks are one-line calls at the
 * sites where things happen (HTTP replies, IPC calls, host restarts,
 * plugin reloads, rejected vertices), and the gauges are read from the
 * attached ledger when a scrape visits them.
 *
 * hn_core_metrics_visit() has the signature of hn_plugin_rt_opts.visit_extra
 * (lib/include/hn/plugin_load.h): a metrics-kind plugin exposes all of it.
 * Label values are escaped here; every family caps its label sets at
 * HN_CORE_METRICS_MAX_SERIES, later ones are counted under the value
 * "other".  Loop thread only.
 */
#ifndef HN_CORE_METRICS_H
#define HN_CORE_METRICS_H

#include <stdbool.h>
#include <stddef.h>

#include "hathor/plugin.h"

struct hn_ledger;

#define HN_CORE_METRICS_MAX_SERIES 64

/* Gauges read from @l at every visit (best height, vertex counts, mempool)
 * and the size of @db_path (copied) and its -wal file.  NULL detaches;
 * @l is borrowed until detached. */
void hn_core_metrics_attach_ledger(struct hn_ledger *l, const char *db_path);

/* An HTTP request answered: @route is the endpoint pattern (bounded set,
 * not the raw URL), @code the status, @seconds from request to reply. */
void hn_core_metrics_http(const char *route, unsigned code, double seconds);
/* One node-service IPC call from the host answered after @seconds;
 * @error: answered with an error. */
void hn_core_metrics_ipc(const char *method, double seconds, bool error);
/* A vertex offered to the ledger: @type "block" or "tx"; @reason NULL if
 * it was stored, else why it was refused (a short, bounded word). */
void hn_core_metrics_vertex(const char *type, const char *reason);
/* A locally originated vertex handed to the P2P plugin (core/relay.c):
 * @result "sent", "failed" or "dropped" (no live host / plugin). */
void hn_core_metrics_local_relay(const char *result);
/* A new vertex stored from a peer's real-time relay (DATA, not a stream
 * or mempool reply), core/nodesvc.c. */
void hn_core_metrics_relay_in(void);
/* The P2P host as last reported: up or down, peers by state. */
void hn_core_metrics_host_up(bool up);
void hn_core_metrics_peers(unsigned connecting, unsigned handshaking,
			   unsigned ready);
/* A source of the peer counts read at every visit instead (the in-process
 * P2P plugin's status): returns false when it has none now.  NULL
 * unregisters. */
typedef bool (*hn_core_metrics_peers_fn)(void *arg, unsigned *connecting,
					 unsigned *handshaking,
					 unsigned *ready);
void hn_core_metrics_peers_source(hn_core_metrics_peers_fn fn, void *arg);
/* The host was restarted by the supervisor for @reason ("crash",
 * "hang", "reload", ...). */
void hn_core_metrics_host_restart(const char *reason);
/* A plugin reload finished with @result ("ok", "refused", "failed",
 * "rolled_back") at wall time @now. */
void hn_core_metrics_plugin_reload(const char *plugin, const char *result,
				   double now);
/* The admin's plugin load / unload (core/plugins.c) finished with @result:
 * load "ok", "refused" (the loader refused the file: missing, wrong ABI,
 * already loaded, a p2p plugin) or "failed" (its start failed); unload
 * "ok", "refused" (the in-process p2p plugin) or "not_found". */
void hn_core_metrics_plugin_load(const char *plugin, const char *result);
void hn_core_metrics_plugin_unload(const char *plugin, const char *result);

/* Metrics another process reported (the P2P host): replaces everything
 * previously reported under @source.  Each value is copied; its name must
 * not be one of the core's families (those are dropped).  Returns the
 * number kept. */
size_t hn_core_metrics_report(const char *source,
			      const struct hathor_metric_value *v, size_t n);
/* NULL if @v is well-formed (name, type, label syntax, a counter >= 0,
 * histogram bounds ascending and buckets cumulative up to count), else
 * what is wrong with it.  What report() applies to each value. */
const char *hn_core_metrics_check(const struct hathor_metric_value *v);
/* Label string syntax: k="v",... with escaped values ("" is fine);
 * @histogram: "le" is reserved. */
bool hn_core_metrics_labels_ok(const char *labels, bool histogram);

/* Drops everything reported under @source (the host went away). */
void hn_core_metrics_report_clear(const char *source);

/* Every metric above, then the reported ones (visit_extra). */
void hn_core_metrics_visit(void *arg, hathor_metric_visit_cb cb,
			   void *cb_arg);

/* Frees everything and starts from zero (shutdown, tests). */
void hn_core_metrics_reset(void);

#endif /* HN_CORE_METRICS_H */
