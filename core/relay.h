/*
 * relay.h: vertices accepted from a local source (push_tx, submit_block,
 * the miner's mining.submit, txgen, ...: everything that goes through the
 * HTTP API) are handed to the P2P plugin's send_tx_to_peers at once, like
 * the reference's propagate_tx after push_tx / on_new_tx.  Vertices that
 * came from P2P never pass here: the plugin relays those itself.
 *
 * Host mode: a non-blocking p2p.ipc "send_tx_to_peers" call to the serving
 * hathor-p2p-host (core/sup.c); with no live host (restarting, starting,
 * stopped) the vertex is dropped (debug log, counted), never queued.
 * In-process mode: the plugin's send_tx_to_peers on the loop; dropped the
 * same way while a reload has the plugin unloaded.  --p2p-mode=off: nothing.
 *
 * Counted in hathor_p2p_local_relays_total{result="sent"|"failed"|
 * "dropped"} (docs/metrics.md).  Loop thread only.
 */
#ifndef HN_CORE_RELAY_H
#define HN_CORE_RELAY_H

#include <stddef.h>
#include <stdint.h>

struct hn_daemon;

/* @bytes (a vertex the ledger just stored) to every ready peer that asked
 * for relay.  Never fails the caller, never blocks. */
void hn_relay_local(struct hn_daemon *d, const uint8_t *bytes, size_t len);

#endif /* HN_CORE_RELAY_H */
