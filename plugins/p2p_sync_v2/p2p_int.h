/*
 * p2p_int.h: structures shared by the engine's files (manager p2p_mgr.c,
 * connection and handshake p2p_conn.c, sync-v2 p2p_sync*.c).  Not part of
 * any interface.
 *
 * Lifetime: a connection is owned by the manager's list until closed; every
 * asynchronous node call made for it holds a reference (p2p_conn_ref), so a
 * callback arriving after the close finds the memory intact, sees
 * conn->state == P2P_CONN_CLOSED and only drops its reference.
 */
#ifndef P2P_INT_H
#define P2P_INT_H

#include <netinet/in.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

#include <openssl/ssl.h>

#include "p2p.h"
#include "p2p_env.h"
#include "p2p_line.h"
#include "p2p_msg.h"
#include "p2p_tls.h"
#include "p2p_util.h"

struct p2p_sync;
struct json_object;
struct gaicb;

#define P2P_VERSION_STR "0.1.0"

/* Reference constants (hathor/conf/settings.py, hathor/p2p). */
#define P2P_PEER_IDLE_TIMEOUT 60.0
#define P2P_PEER_MAX_CONNECTIONS 125
#define P2P_MAX_ENABLED_SYNC 8
#define P2P_PEER_MAX_ENTRYPOINTS 30
#define P2P_MAX_BEST_BLOCKCHAIN_BLOCKS 20
#define P2P_DEFAULT_BEST_BLOCKCHAIN_BLOCKS 10
#define P2P_BEST_BLOCKCHAIN_INTERVAL 5.0
#define P2P_GET_PEERS_INTERVAL 300.0
#define P2P_PING_INTERVAL 3.0
#define P2P_MAX_RTT_WINDOW 200
#define P2P_MISBEHAVIOR_THRESHOLD 100
#define P2P_MISBEHAVIOR_WINDOW 3600.0
#define P2P_RETRY_INTERVAL0 5.0
#define P2P_RETRY_MULTIPLIER 5.0
#define P2P_RETRY_MAX 300.0
#define P2P_SYNC_ROTATE_INTERVAL 600.0
#define P2P_MAX_UNVERIFIED_PEERS 100

/* Output buffering: streams pause above HIGH (cfg.out_high) and resume
 * below LOW (a quarter of it); a peer that lets more than MAX pile up is
 * not reading and gets dropped. */
#define P2P_OUT_HIGH (256 * 1024)
#define P2P_OUT_LOW(p) ((p)->cfg.out_high / 4)
#define P2P_OUT_MAX (32 * 1024 * 1024)
#define P2P_CLOSE_LINGER 2.0    /* s to flush before a graceful close */

enum p2p_caps {
	P2P_CAP_WHITELIST = 1 << 0,
	P2P_CAP_SYNC_VERSION = 1 << 1,
	P2P_CAP_GET_BEST_BLOCKCHAIN = 1 << 2,
	P2P_CAP_IPV6 = 1 << 3,
	P2P_CAP_NANO_STATE = 1 << 4,
};
/* What we announce (no nano-state: we keep no nano contract state). */
#define P2P_MY_CAPS (P2P_CAP_WHITELIST | P2P_CAP_SYNC_VERSION | \
		     P2P_CAP_GET_BEST_BLOCKCHAIN | P2P_CAP_IPV6)

enum p2p_conn_state {
	P2P_CONN_CONNECTING,    /* TCP connect in progress */
	P2P_CONN_TLS,           /* TLS handshake */
	P2P_CONN_HELLO,
	P2P_CONN_PEER_ID,
	P2P_CONN_READY,
	P2P_CONN_CLOSING,       /* flushing output, then close */
	P2P_CONN_CLOSED,        /* fd closed; waiting for references */
};

/* Leaky bucket of hathor/p2p/rate_limiter.py. */
struct p2p_bucket {
	unsigned max_hits;
	double window;
	long hits;
	double t;
	bool started;
};

/* A peer we keep (or try to keep) a connection to. */
struct p2p_target {
	struct p2p_target *next;
	char *host;             /* owned */
	uint16_t port;
	bool has_id;
	uint8_t id[32];
	bool bootstrap;         /* configured: never forgotten */
	double retry_at;        /* next attempt (wall clock) */
	double retry_interval;  /* current backoff */
	unsigned attempts;
	struct p2p_conn *conn;  /* current connection, or NULL */
	struct gaicb *gai;      /* pending name lookup (getaddrinfo_a) */
	char *gai_port;         /* owned port string of @gai */
};

/* A peer that completed a handshake once (verified_peer_storage). */
struct p2p_known {
	struct p2p_known *next;
	uint8_t id[32];
	char **entrypoints;     /* owned strings */
	size_t n_entrypoints;
	double last_seen;
};

struct p2p_conn {
	struct p2p *p2p;        /* do not use once dead: may be freed */
	struct p2p_env *env;    /* outlives the connection */
	struct p2p_conn *next, *prev;   /* manager list */
	unsigned refs;
	enum p2p_conn_state state;
	enum p2p_conn_state prev_state; /* state before CLOSING */
	bool inbound;
	int fd;
	struct p2p_io *io;
	int io_events;          /* what io is armed for */
	SSL *ssl;
	bool ssl_want_write;    /* an SSL call needs the fd writable */
	char remote[80];        /* "host:port" of the other side */
	char remote_host[64];   /* numeric host */
	struct p2p_target *target; /* outbound: what we dialed */

	struct p2p_linebuf in;
	uint8_t *obuf;          /* pending output [ooff, olen) */
	size_t olen, ocap, ooff;
	unsigned hold;          /* async handlers in progress */
	bool kick_pending;
	struct p2p_timer *kick; /* 0-delay: resume line processing */
	struct p2p_timer *idle; /* idle timeout */
	struct p2p_timer *tick; /* 1 s: ping, best blockchain, get-peers */
	struct p2p_timer *linger; /* graceful close deadline */
	char close_reason[256];

	/* Handshake. */
	double connected_at;
	double last_message;
	bool my_ready, other_ready;
	unsigned caps;          /* peer capabilities (P2P_CAP_*) */
	char app_version[128];
	double diff_timestamp;
	bool have_peer;         /* PEER-ID validated */
	uint8_t peer_id[32];
	char peer_id_hex[65];
	char **peer_eps;        /* owned entrypoint strings */
	size_t n_peer_eps;
	bool no_entrypoints;

	/* Ready state. */
	double next_ping_check;
	bool ping_pending;
	double ping_start;
	char ping_salt[65];
	double ping_last_response;
	double rtt[P2P_MAX_RTT_WINDOW];
	size_t n_rtt;
	double next_get_peers;
	double next_best_blockchain;
	size_t n_peer_bbc;
	uint64_t peer_bbc_h[P2P_MAX_BEST_BLOCKCHAIN_BLOCKS];
	uint8_t peer_bbc[P2P_MAX_BEST_BLOCKCHAIN_BLOCKS][32];
	struct p2p_bucket misbehavior;
	struct p2p_sync *sync;

	/* Statistics. */
	uint64_t rx_msgs, tx_msgs, rx_bytes, tx_bytes;
};

struct p2p {
	struct p2p_env *env;
	struct p2p_config cfg;
	char **my_eps;          /* owned copy of cfg.entrypoints */
	char app[128];
	struct p2p_identity *id;
	SSL_CTX *ssl_ctx;
	int listen_fd;
	bool own_listen_fd;
	uint16_t listen_port;   /* last port bound by p2p_listen */
	struct p2p_io *listen_io;
	struct p2p_conn *conns;
	struct p2p_target *targets;
	struct p2p_known *known;
	size_t n_unverified;
	struct p2p_timer *tick; /* 1 s: dialing, rotation, cleanup */
	bool started;
	double started_at;
	double last_rotate;
	char settings_json[256]; /* our settings_dict, compact JSON */
	uint32_t rng;           /* xorshift state for shuffles */
	struct p2p_dns_job *dns_jobs; /* DNS seed lookups in flight */
	/* lines and payload bytes over every connection (metrics) */
	uint64_t rx_msgs, tx_msgs, rx_bytes, tx_bytes;
	char dns_server[64];    /* copy of cfg.dns_server ("" for none) */
};

/* p2p_dns.c: drops the pending DNS lookups (their threads finish alone). */
void p2p_dns_free_all(struct p2p *p);

/* Logging. */
void p2p_logf(struct p2p *p, enum p2p_log_level lvl, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void p2p_conn_logf(struct p2p_conn *c, enum p2p_log_level lvl,
		   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
double p2p_now(struct p2p *p);

/* Connections (p2p_conn.c). */
struct p2p_conn *p2p_conn_new(struct p2p *p, int fd, bool inbound,
			      const struct sockaddr *sa, socklen_t salen,
			      struct p2p_target *target, bool connecting);
void p2p_conn_ref(struct p2p_conn *c);
void p2p_conn_unref(struct p2p_conn *c);
/* True once close started: callbacks must only drop their reference. */
bool p2p_conn_dead(const struct p2p_conn *c);
/* Queues "CMD[ payload]\r\n".  Returns 0 or a negative code (the
 * connection is then being closed). */
int p2p_conn_send(struct p2p_conn *c, enum p2p_cmd cmd, const char *payload,
		  size_t plen);
int p2p_conn_sendf(struct p2p_conn *c, enum p2p_cmd cmd, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
size_t p2p_conn_pending_out(const struct p2p_conn *c);
/* "ERROR <msg>" then a graceful close (send_error_and_close_connection). */
void p2p_conn_error_close(struct p2p_conn *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Closes: gracefully (flush first) or at once; @reason is logged once. */
void p2p_conn_close(struct p2p_conn *c, bool force, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* An asynchronous handler holds the line processing until release. */
void p2p_conn_hold(struct p2p_conn *c);
void p2p_conn_release(struct p2p_conn *c);
/* Adds misbehaviour points; closes the connection past the threshold. */
void p2p_conn_misbehave(struct p2p_conn *c, unsigned weight);
bool p2p_conn_has_cap(const struct p2p_conn *c, unsigned cap);
void p2p_conn_free_all(struct p2p *p);
struct json_object *p2p_conn_summary(struct p2p_conn *c);

/* Handshake and READY control messages (p2p_proto.c). */
void p2p_proto_start(struct p2p_conn *c);       /* session up: HELLO */
void p2p_proto_handle(struct p2p_conn *c, const struct p2p_line_msg *m);
void p2p_proto_tick(struct p2p_conn *c);        /* every second */
void p2p_proto_release(struct p2p_conn *c);     /* frees handshake data */
/* Entry point "tcp://host:port[/][?id=hex]" (peer_endpoint.py). */
struct p2p_ep {
	char host[256];         /* lowercase, IPv6 without brackets */
	uint16_t port;
	bool has_id;
	uint8_t id[32];
};
int p2p_ep_parse(const char *s, struct p2p_ep *out, char *err, size_t errlen);
/* Builds "tcp://host:port" (brackets for IPv6) into @out. */
void p2p_ep_format(const struct p2p_ep *ep, char *out, size_t outlen);

/* Manager (p2p_mgr.c) callbacks from connections. */
bool p2p_mgr_is_connected(struct p2p *p, const uint8_t id[32],
			  const struct p2p_conn *except);
void p2p_mgr_on_ready(struct p2p *p, struct p2p_conn *c);
void p2p_mgr_on_closed(struct p2p *p, struct p2p_conn *c);
void p2p_mgr_on_peers(struct p2p *p, struct p2p_conn *from,
		      const uint8_t id[32], char **eps, size_t n_eps);
void p2p_mgr_send_peers(struct p2p *p, struct p2p_conn *to);
/* Relays a vertex to every ready connection (shuffled). */
void p2p_mgr_relay(struct p2p *p, const uint8_t *bytes, size_t len);
uint32_t p2p_rand(struct p2p *p);

/* Leaky bucket. */
void p2p_bucket_init(struct p2p_bucket *b, unsigned max_hits, double window);
bool p2p_bucket_hit(struct p2p_bucket *b, double now, unsigned weight);

/* Sync-v2 agent (p2p_sync.c). */
struct p2p_sync *p2p_sync_new(struct p2p_conn *c);
void p2p_sync_free(struct p2p_sync *s);
void p2p_sync_start(struct p2p_sync *s);
void p2p_sync_stop(struct p2p_sync *s);
void p2p_sync_enable(struct p2p_sync *s, bool on);
bool p2p_sync_is_enabled(const struct p2p_sync *s);
bool p2p_sync_is_synced(const struct p2p_sync *s);
/* The best heights sync-v2 learnt: the peer's best block (false: not yet
 * known) and ours as last read. */
bool p2p_sync_best_heights(const struct p2p_sync *s, uint64_t *peer,
			   uint64_t *mine);
/* Handles a READY-state sync command.  Returns 1 if handled, 0 if @cmd is
 * not a sync-v2 command, or a negative code for "Error processing". */
int p2p_sync_handle(struct p2p_sync *s, enum p2p_cmd cmd, const char *pl,
		    size_t plen);
/* Relays (DATA) if the peer asked for it and sync is enabled. */
void p2p_sync_send_tx(struct p2p_sync *s, const uint8_t *bytes, size_t len);
/* Batching of consecutive stream vertices (BLOCKS): the connection asks
 * whether a batch is pending, whether @cmd may join it, and flushes it
 * (which may hold the connection) before anything else is handled. */
bool p2p_sync_has_batch(const struct p2p_sync *s);
bool p2p_sync_batchable(const struct p2p_sync *s, enum p2p_cmd cmd);
void p2p_sync_flush(struct p2p_sync *s);
/* Output drained below P2P_OUT_LOW: streams may continue. */
void p2p_sync_on_drain(struct p2p_sync *s);
/* The periodic sync step (called every second by the connection). */
void p2p_sync_tick(struct p2p_sync *s);
struct json_object *p2p_sync_status(struct p2p_sync *s);

#endif /* P2P_INT_H */
