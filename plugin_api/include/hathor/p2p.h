/*
 * hathor/p2p.h: handlers of a p2p-kind plugin (HATHOR_KIND_P2P), the
 * core -> P2P commands of docs/ipc.md (p2p.ipc) plus node event delivery.
 *
 * The descriptor's kind_ops points at a const struct hathor_p2p_ops.  The
 * host calls these on the loop thread, only between a successful start()
 * and stop().  Each command returns 0 or a negative enum hathor_err and
 * then fills @err (NUL-terminated, < @errlen) with the reason; the host
 * passes the code and reason back to the core as a JSON-RPC error.
 *
 * Lifecycle vs commands: the plugin's start() only makes it ready (config
 * read, listening socket adopted but not yet accepted on); the core's
 * "start" command (ops->start) begins accepting and dialing peers, "stop"
 * ends it.  This is what lets a reload start the next host generation
 * fully initialised but idle, then cut over.
 */
#ifndef HATHOR_P2P_H
#define HATHOR_P2P_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hathor/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Receives text produced by a handler (borrowed for the call). */
typedef void (*hathor_text_cb)(void *arg, const char *text, size_t len);

/* Cheap status for the heartbeat and `hathor-admin status`. */
struct hathor_p2p_status {
	uint32_t size;                  /* set by the host: sizeof known */
	uint32_t ready_peers;           /* connections past READY */
	uint32_t handshaking_peers;
	uint32_t connecting_peers;
	bool running;                   /* between start and stop commands */
	bool synced;                    /* has_synced_peer */
	char peer_id[65];               /* lower hex, "" if none */
};

struct hathor_p2p_ops {
	uint32_t size;                  /* sizeof(struct hathor_p2p_ops) */

	/* manager.start(): accept on the listening socket, dial peers. */
	int (*start)(void *ctx, char *err, size_t errlen);
	/* manager.stop(): stop dialing and accepting, disconnect peers. */
	int (*stop)(void *ctx, char *err, size_t errlen);
	/* Serializable summary as one JSON object text given to @out once:
	 * {"peer_id","entrypoints","known_peers","connections":{
	 *  "connected_peers":[...],"handshaking_peers":[...],
	 *  "connecting_peers":[...]}} (the reference's /v1a/status
	 * "connections" shape; see docs/ipc.md). */
	int (*get_connections)(void *ctx, hathor_text_cb out, void *out_arg,
			       char *err, size_t errlen);
	int (*enable_localhost_only)(void *ctx, char *err, size_t errlen);
	bool (*has_synced_peer)(void *ctx);
	/* Relay an accepted vertex (wire bytes) to ready peers. */
	int (*send_tx_to_peers)(void *ctx, const uint8_t *bytes, size_t len,
				char *err, size_t errlen);
	/* Replace our announced entrypoints (@n may be 0: keep) and
	 * reconnect. */
	int (*reload_entrypoints_and_connections)(void *ctx, size_t n,
						  const char *const *eps,
						  char *err, size_t errlen);
	/* "v2" is the only version. */
	int (*enable_sync_version)(void *ctx, const char *version, char *err,
				   size_t errlen);
	/* Bootstrap peers, "HOST:PORT" or "tcp://HOST:PORT[/?id=ID]". */
	int (*add_peer_discovery)(void *ctx, size_t n,
				  const char *const *peers, char *err,
				  size_t errlen);
	/* "tcp:PORT[:interface=H]" or "HOST:PORT"; *@port gets the bound
	 * port (0 if not known). */
	int (*add_listen_address_description)(void *ctx, const char *address,
					      uint16_t *port, char *err,
					      size_t errlen);
	int (*disconnect_all_peers)(void *ctx, bool force, char *err,
				    size_t errlen);
	/* Fills @st (host zeroed it and set st->size). */
	void (*status)(void *ctx, struct hathor_p2p_status *st);
	/* A node event (the host subscribes to every type for p2p plugins
	 * and delivers them in seq order; HATHOR_EV_RESYNC after a gap).
	 * May be NULL. */
	void (*on_event)(void *ctx, const struct hathor_event *ev);
};

#ifdef __cplusplus
}
#endif

#endif /* HATHOR_P2P_H */
