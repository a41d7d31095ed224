/*
 * peers.h: the core's cached view of the P2P layer's connection table, for
 * the HTTP API (/v1a/status, /v1a/health, /v1a/p2p/readiness).
 *
 * The P2P layer lives outside the core's loop (the hathor-p2p-host process,
 * or an in-process plugin), so a provider pushes snapshots here and readers
 * answer from the last one without ever waiting on IPC:
 *
 *   - host mode: core/sup.c calls p2p.ipc get_connections every 2 s (and
 *     right after the host comes up) and stores each answer;
 *   - in-process mode: the in-process P2P module stores the same object.
 *
 * A snapshot is the object p2p.ipc get_connections answers (docs/ipc.md):
 *   {"peer_id","app_version","network","uptime","entrypoints":[..],
 *    "known_peers":[{"id","entrypoints","last_seen","flags"}],
 *    "connections":{"connected_peers":[..],"handshaking_peers":[..],
 *                   "connecting_peers":[..]}}
 * with each connected peer as p2p_conn_summary() writes it (id, address,
 * state, app_version, current_time, uptime, last_message, rtt,
 * warning_flags, protocol_version, peer_best_blockchain, plugins).
 *
 * One table per process (like hn_daemon_current()); loop thread only.
 */
#ifndef HN_CORE_PEERS_H
#define HN_CORE_PEERS_H

#include <stdbool.h>

#include <json-c/json.h>

#include "hn/jsonrpc.h"

/* Provider side: replaces the snapshot with @snap (reference taken), taken
 * at loop time @now (ev_now).  NULL: the source has no table now (host
 * down, P2P stopped): readers then see no peers.  A non-object @snap is
 * dropped like NULL. */
void hn_peers_snapshot_set(HN_TAKES struct json_object *snap, double now);

/* Reader side: the current snapshot (borrowed, valid until the next set;
 * do not modify), or NULL; *@at (if not NULL) gets its loop time. */
struct json_object *hn_peers_snapshot(double *at);

/* True when a connected peer's sync agent reports synced
 * (plugins.<agent>.synced), as ConnectionsManager.has_synced_peer(). */
bool hn_peers_has_synced_peer(void);

/* Number of snapshots stored since start (tests, metrics). */
unsigned long hn_peers_updates(void);

#endif /* HN_CORE_PEERS_H */
