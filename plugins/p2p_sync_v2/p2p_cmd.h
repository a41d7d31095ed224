/*
 * p2p_cmd.h: core -> P2P commands as JSON (see p2p_cmd.c for the list).
 *
 * Methods and params (params is a JSON object or NULL; results are
 * objects):
 *   start, stop                              -> {"ok":true}
 *   get_connections                          -> p2p_get_connections()
 *   has_synced_peer                          -> {"has_synced_peer":bool}
 *   enable_localhost_only                    -> {"ok":true}
 *   send_tx_to_peers {"vertex":base64}       -> {"ok":true}
 *   reload_entrypoints_and_connections [{"entrypoints":[url]}]
 *   enable_sync_version {"version":"v2"}     (only v2 exists)
 *   add_peer_discovery {"bootstrap":addr|[addr]}  (HOST:PORT, tcp://...)
 *   add_listen_address_description {"address":"tcp:PORT[:interface=H]"
 *                                              or "HOST:PORT"}
 *                                           -> {"ok":true,"port":bound}
 *   disconnect_all_peers [{"force":bool}]
 *   heartbeat                                -> {"ok","ready_peers","peer_id"}
 */
#ifndef P2P_CMD_H
#define P2P_CMD_H

#include <stddef.h>

struct json_object;
struct p2p;

/* Runs @method.  Returns 0 with *@result a new object (caller puts), or
 * HN_ENOENT (unknown method) / HN_EINVAL (bad params) / another negative
 * code with @err filled; then *@result is NULL.  Loop thread only. */
int p2p_command(struct p2p *p, const char *method, struct json_object *params,
		struct json_object **result, char *err, size_t errlen);

#endif /* P2P_CMD_H */
