/*
 * p2p.h: the P2P engine (connections, HELLO/PEER-ID/READY, sync-v2, relay)
 * as used by the plugin glue and by tests.
 *
 * Loop thread only.  The engine reaches its host only through the
 * struct p2p_env it is given (p2p_env.h), which must outlive it.
 */
#ifndef P2P_H
#define P2P_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "p2p_env.h"

struct hn_network;
struct json_object;
struct p2p;

struct p2p_config {
	const struct hn_network *net;   /* required */
	const char *app;        /* HELLO "app"; NULL: "hathor-node v<ver>" */
	const char *identity_path; /* peer JSON; NULL: ephemeral key */
	bool use_tls;           /* false only for tests (--p2p-no-tls) */
	double idle_timeout;    /* s without a handled message; 0: 60 */
	unsigned max_connections; /* 0: 125 (PEER_MAX_CONNECTIONS) */
	unsigned max_enabled_sync; /* 0: 8 (MAX_ENABLED_SYNC) */
	bool discover;          /* dial peers learnt from PEERS */
	bool localhost_only;    /* dial only loopback addresses */
	size_t out_high;        /* streams pause above this many pending
				 * output bytes, resume below a quarter;
				 * 0: 256 KiB */
	size_t n_entrypoints;   /* our own "tcp://host:port" entrypoints */
	const char *const *entrypoints;
	const char *dns_server; /* DNS seeds: "A.B.C.D:PORT" to query instead
				 * of resolv.conf's (tests); NULL: system */
};

/* Creates the engine: loads or creates the identity, builds the TLS
 * context.  Returns 0 and *@out, or a negative code with @err filled. */
int p2p_new(struct p2p_env *env, const struct p2p_config *cfg,
	    struct p2p **out, char *err, size_t errlen);
/* Closes every connection at once and frees @p (NULL: no-op). */
void p2p_free(struct p2p *p);

/* Accepts peers on @fd, a bound and listening TCP socket; the engine makes
 * it non-blocking, does not close it on p2p_free unless @take is set. */
int p2p_listen_fd(struct p2p *p, int fd, bool take);
/* Binds and listens on @host:@port itself (0: any port); *@bound_port
 * (may be NULL) gets the port.  For tests and standalone use. */
int p2p_listen(struct p2p *p, const char *host, uint16_t port,
	       uint16_t *bound_port);
/* Adds a peer to keep connected to: "HOST:PORT" or
 * "tcp://HOST:PORT[/?id=PEERID]".  Reconnects with backoff (5 s, x5, at
 * most 300 s, as the reference).  Returns 0 or HN_EINVAL. */
int p2p_add_peer(struct p2p *p, const char *desc);
/* DNS peer discovery (hathor-core DNSPeerDiscovery): queries @name's TXT
 * and A records in a worker thread (the loop never blocks) and adds every
 * entrypoint found (A records with port 40403) with p2p_add_peer when the
 * answers come back.  Returns 0, HN_EINVAL (bad name) or HN_ENOMEM/HN_EIO. */
int p2p_add_dns_seed(struct p2p *p, const char *name);

/* Starts timers and dialing; idempotent. */
int p2p_start(struct p2p *p);
/* Stops dialing and disconnects everyone gracefully; p2p_start again
 * later is allowed. */
void p2p_stop(struct p2p *p);

/* Relays @len bytes of a vertex accepted by the node to every ready peer
 * that asked for relay (manager.send_tx_to_peers).  Returns 0, or
 * HN_EPARSE if the bytes are not a vertex. */
int p2p_send_tx_to_peers(struct p2p *p, const uint8_t *bytes, size_t len);

/* Serializable summary: {"peer_id","entrypoints","known_peers",
 * "connections":{"connected_peers","handshaking_peers","connecting_peers"}}.
 * *@out is new; the caller puts it. */
int p2p_get_connections(struct p2p *p, struct json_object **out);
bool p2p_has_synced_peer(const struct p2p *p);
unsigned p2p_n_ready(const struct p2p *p);
void p2p_disconnect_all(struct p2p *p);
void p2p_set_localhost_only(struct p2p *p, bool on);
/* Lower-hex peer id of this node (65 bytes, static for @p's life). */
const char *p2p_my_peer_id(const struct p2p *p);

#endif /* P2P_H */
