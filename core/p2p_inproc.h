/*
 * p2p_inproc.h: the P2P plugin inside hathor-node (--p2p-mode=inprocess),
 * run by the "plugins" module (core/plugins.c) on the core's plugin
 * runtime, with the direct node service (core/node_direct.h).
 *
 * Start-up gives the plugin what hathor-p2p-host gives it in host mode
 * (core/sup.c): the P2P listening socket the core bound (--listen) as
 * "p2p.listen_fd", network, data_dir, p2p.identity (--peer-id),
 * p2p.max_peers, one p2p.bootstrap per --bootstrap and every "[p2p] key"
 * of the ini file (TLS: p2p.no_tls); then init, start and the manager's
 * "start" command (accept and dial).  The plugin is always dlopen'ed from
 * a private copy <runtime_dir>/.p2p_sync_v2.so.<pid>.<gen>.so (unlinked
 * right after dlopen), so no path is ever dlopen'ed twice.
 *
 * Admin (core/admin.h hooks, registered in this mode): "peers" answers
 * from the plugin's get_connections; "plugin list" shows it among the
 * core's plugins (process "core"); "plugin reload p2p [PATH]" checks the
 * new build (from a copy), stops the old plugin (manager stop: peers
 * disconnected), unloads it (pending node calls complete with ECLOSED,
 * its timers, fd watchers and subscriptions are removed), loads and starts
 * the new one from a fresh copy; if that fails the previous build (its
 * bytes as loaded, kept in a sealed memfd) is loaded again and the reload
 * fails with
 * "...; rolled back".  The listening socket stays open throughout (peers
 * wait in its backlog).  Limits: docs/operations.md.
 *
 * Loop thread only.
 */
#ifndef HN_CORE_P2P_INPROC_H
#define HN_CORE_P2P_INPROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hn_daemon;
struct hn_error;
struct hn_plugin_rt;
struct hn_p2p_inproc;
struct json_object;

/* Loads and starts the P2P plugin on @rt.  Returns 0 and *@out, or a
 * negative code with @err (one line naming the file and the reason). */
int hn_p2p_inproc_open(struct hn_daemon *d, struct hn_plugin_rt *rt,
		       struct hn_p2p_inproc **out, struct hn_error *err);
/* Manager stop: no more accepting or dialing, peers disconnected. */
void hn_p2p_inproc_stop(struct hn_p2p_inproc *p);
/* Unloads the plugin, closes the listening socket, frees.  NULL: no-op.
 * Must run before the runtime is freed. */
void hn_p2p_inproc_close(struct hn_p2p_inproc *p);

/* Peer source for /v1a/status and /v1a/p2p/readiness in this mode.
 * The plugin's get_connections object ({"peer_id", "entrypoints",
 * "known_peers", "connections": {...}}; caller puts it), or NULL when no
 * in-process P2P plugin runs. */
struct json_object *hn_p2p_inproc_connections(const struct hn_daemon *d);
/* send_tx_to_peers(@bytes) (core/relay.c).  HN_ECLOSED when no plugin is
 * loaded (not this mode, or mid-reload); another code with @err from the
 * plugin. */
int hn_p2p_inproc_send_tx(const struct hn_daemon *d, const uint8_t *bytes,
			  size_t len, char *err, size_t errlen);
/* has_synced_peer(); false when no in-process P2P plugin runs. */
bool hn_p2p_inproc_synced(const struct hn_daemon *d);

#endif /* HN_CORE_P2P_INPROC_H */
