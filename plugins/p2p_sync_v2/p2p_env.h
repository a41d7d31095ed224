/*
 * p2p_env.h: everything the P2P engine needs from its host, as one table.
 *
 * The engine (connections, handshake, sync-v2) never touches a loop, a log
 * stream or the node directly: it goes through struct p2p_env.  The plugin
 * glue (p2p_plugin.c) fills it from the plugin ABI's services table; tests
 * fill it from a libev loop.  All calls happen on the loop thread.
 *
 * Node-service calls are asynchronous: the callback runs later on the loop
 * thread, or synchronously inside the call (an in-process node may answer
 * at once); the engine copes with both.  A call that returns an error code
 * never runs its callback.  Data passed to a callback is borrowed for the
 * duration of the callback only.
 */
#ifndef P2P_ENV_H
#define P2P_ENV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum p2p_log_level {
	P2P_LOG_ERROR,
	P2P_LOG_WARN,
	P2P_LOG_INFO,
	P2P_LOG_DEBUG,
};

enum p2p_io_events {
	P2P_IO_READ = 1 << 0,
	P2P_IO_WRITE = 1 << 1,
};

struct p2p_io;                  /* host fd watcher */
struct p2p_timer;               /* host timer */
typedef void (*p2p_io_cb)(void *arg, int revents);
typedef void (*p2p_timer_cb)(void *arg);

/* What the node knows about one vertex (get_vertices). */
struct p2p_vinfo {
	bool found;             /* false: nothing else is set */
	uint8_t hash[32];
	const uint8_t *bytes;   /* wire bytes */
	size_t len;
	bool is_block;
	bool voided;            /* metadata voided_by is not empty */
	bool fully_valid;       /* validation is fully connected */
	int64_t height;         /* block height; -1 for transactions */
	bool has_first_block;   /* transactions: confirmed by a block */
	uint8_t first_block[32];
	int64_t first_block_height; /* -1 when unknown */
};

/* How a vertex reached us; the node picks verification parameters by it
 * (reference: on_new_block, on_new_mempool_transaction,
 * on_new_relayed_vertex). */
enum p2p_add_kind {
	P2P_ADD_SYNC = 0,       /* block sync (a block and its deps) */
	P2P_ADD_MEMPOOL,        /* mempool sync */
	P2P_ADD_RELAY,          /* real-time relay */
};

/* Result of adding one vertex. */
enum p2p_add_result {
	P2P_ADD_ACCEPTED = 0,   /* new and valid: stored */
	P2P_ADD_KNOWN,          /* already stored; nothing done */
	P2P_ADD_MISSING_DEPS,   /* some parent or input is unknown */
	P2P_ADD_INVALID,        /* rejected by verification */
};

typedef void (*p2p_best_cb)(void *arg, int rc, uint64_t height,
			    const uint8_t hash[32]);
typedef void (*p2p_hashes_cb)(void *arg, int rc, size_t n, const bool *found,
			      const uint8_t (*hashes)[32]);
typedef void (*p2p_vinfo_cb)(void *arg, int rc, size_t n,
			     const struct p2p_vinfo *v);
typedef void (*p2p_flags_cb)(void *arg, int rc, size_t n, const bool *flags);
typedef void (*p2p_add_cb)(void *arg, int rc, size_t n,
			   const enum p2p_add_result *res, const char *msg);
typedef void (*p2p_htips_cb)(void *arg, int rc, size_t n,
			     const uint64_t *heights,
			     const uint8_t (*hashes)[32]);

struct p2p_node_ops {
	/* Best block (height, hash). */
	int (*best_block)(void *ctx, p2p_best_cb cb, void *arg);
	/* Best-chain height index lookups, one result per height. */
	int (*height_hashes)(void *ctx, const uint64_t *heights, size_t n,
			     p2p_hashes_cb cb, void *arg);
	/* Vertices with metadata, one result per hash. */
	int (*get_vertices)(void *ctx, const uint8_t (*hashes)[32], size_t n,
			    p2p_vinfo_cb cb, void *arg);
	/* Per hash: stored (partial_vertex_exists) and fully valid
	 * (validation fully connected).  @valid may be NULL in the callback
	 * parameters' place: the engine uses @flags as "stored and valid". */
	int (*exists)(void *ctx, const uint8_t (*hashes)[32], size_t n,
		      p2p_flags_cb cb, void *arg);
	/* Adds @n vertices in order (dependencies first), stopping at the
	 * first invalid one; one result per vertex handled.  @msg explains
	 * an invalid one. */
	int (*add_vertices)(void *ctx, enum p2p_add_kind kind, size_t n,
			    const uint8_t *const *bytes, const size_t *lens,
			    p2p_add_cb cb, void *arg);
	/* Mempool tips (hashes). */
	int (*mempool_tips)(void *ctx, p2p_hashes_cb cb, void *arg);
	/* The @n highest blocks of the best chain, descending. */
	int (*n_height_tips)(void *ctx, unsigned n, p2p_htips_cb cb,
			     void *arg);
};

struct p2p_env {
	void *ctx;              /* first argument of every function below */

	/* Loop.  io_new/timer_new return NULL on failure. */
	struct p2p_io *(*io_new)(void *ctx, int fd, p2p_io_cb cb, void *arg);
	void (*io_set)(void *ctx, struct p2p_io *io, int events); /* 0: off */
	void (*io_free)(void *ctx, struct p2p_io *io);
	struct p2p_timer *(*timer_new)(void *ctx, p2p_timer_cb cb, void *arg);
	/* Fires after @after s, then every @repeat s (0: once). */
	void (*timer_set)(void *ctx, struct p2p_timer *t, double after,
			  double repeat);
	void (*timer_stop)(void *ctx, struct p2p_timer *t);
	void (*timer_free)(void *ctx, struct p2p_timer *t);
	double (*now)(void *ctx);       /* wall clock, seconds */

	/* One log record (no newline). */
	void (*log)(void *ctx, enum p2p_log_level lvl, const char *msg);
	bool (*log_enabled)(void *ctx, enum p2p_log_level lvl);

	/* Node service. */
	const struct p2p_node_ops *node;
};

#endif /* P2P_ENV_H */
