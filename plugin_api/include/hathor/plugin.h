/*
 * hathor/plugin.h: the hathor-node plugin ABI (see docs/plugin-abi.md).
 *
 * A plugin is a shared object exporting exactly one symbol,
 * hathor_plugin_entry(), which returns a const descriptor made by the
 * HATHOR_PLUGIN() macro.  The loading process (hathor-node for in-core
 * plugins and --p2p-mode=inprocess, hathor-p2p-host for the P2P plugin)
 * checks the descriptor's ABI version and size, then calls:
 *
 *   init(host, services, &ctx, err, errlen)   once; read config, register
 *                                             watchers and metrics
 *   start(ctx, err, errlen)                   ready to serve
 *   ... kind-specific handlers, timers, fd and event callbacks ...
 *   stop(ctx)                                 stop working (no new calls)
 *   destroy(ctx)                              free everything
 *
 * Rules both sides keep:
 *  - Everything runs on the loading process's loop thread: every plugin
 *    function and every callback the host makes, and every service call
 *    the plugin makes.  A plugin that starts threads must join them in
 *    stop() and never call a service from them.
 *  - Each side frees only what it allocated.  Pointers the host passes into
 *    a callback are borrowed for the duration of that callback.
 *  - Tables are append-only and prefixed by their size in bytes: a field
 *    is present only if HATHOR_HAS(table, field).  Fields are never
 *    removed or reordered within one ABI major.
 *  - Asynchronous services (node service, see hathor/node.h) return 0 and
 *    later call their callback exactly once, never from inside the call;
 *    or return a negative code and never call it.
 *  - Before destroy() the host delivers every pending callback (with
 *    HATHOR_ECLOSED if it had to give up) and removes every timer, fd
 *    watcher and subscription the plugin left registered (logging each).
 *
 * Error codes are negative and match hathor-node's own (errno values where
 * one fits).
 */
#ifndef HATHOR_PLUGIN_H
#define HATHOR_PLUGIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ABI version.  Major: incompatible change (a plugin built for another
 * major is refused).  Minor: additions only (a plugin built for a newer
 * minor than the host's is refused; an older one loads). */
#define HATHOR_ABI_MAJOR 1
#define HATHOR_ABI_MINOR 0

/* The one exported symbol.  Its name is not versioned on purpose: the
 * loader finds it in every build and can then name both ABI versions in
 * its refusal (docs/plugin-abi.md). */
#define HATHOR_PLUGIN_ENTRY_SYMBOL "hathor_plugin_entry"

/* Error codes (same values as hathor-node's enum hn_err). */
enum hathor_err {
	HATHOR_OK = 0,
	HATHOR_ENOENT = -2,             /* not found */
	HATHOR_EIO = -5,                /* storage / internal failure */
	HATHOR_EAGAIN = -11,            /* limit reached, try later */
	HATHOR_ENOMEM = -12,
	HATHOR_EEXIST = -17,            /* already exists */
	HATHOR_EINVAL = -22,            /* bad argument */
	HATHOR_ERANGE = -34,            /* value / size out of range */
	HATHOR_EMSGSIZE = -90,          /* request or reply too large */
	HATHOR_ETIMEDOUT = -110,        /* no answer in time */
	HATHOR_EPARSE = -1000,          /* malformed input (bytes, JSON) */
	HATHOR_EUNSUPPORTED = -1001,    /* well-formed but not supported */
	HATHOR_EPROTO = -1002,          /* protocol violation */
	HATHOR_EABI = -1003,            /* ABI mismatch */
	HATHOR_ECONSENSUS = -1004,      /* invalid by consensus rules */
	HATHOR_ECLOSED = -1005,         /* shutting down / link to core lost */
};

/* True if the size-prefixed table @t (pointer) contains @field. */
#define HATHOR_HAS(t, field)                                            \
	((t) != NULL &&                                                 \
	 (size_t)(t)->size >= offsetof(__typeof__(*(t)), field) +       \
			      sizeof((t)->field) &&                     \
	 (t)->field != NULL)

/* --- plugin kinds ------------------------------------------------------- */

enum hathor_plugin_kind {
	HATHOR_KIND_P2P = 1,            /* kind_ops: struct hathor_p2p_ops */
	HATHOR_KIND_METRICS = 2,        /* kind_ops: NULL */
	HATHOR_KIND_OTHER = 3,          /* kind_ops: NULL */
};

/* --- opaque host objects ------------------------------------------------ */

struct hathor_host;             /* the loading process, per plugin */
struct hathor_timer;            /* a timer on the host loop */
struct hathor_io;               /* an fd watcher on the host loop */
struct hathor_metric;           /* a registered metric */
struct hathor_sub;              /* an event subscription */
struct hathor_node_ops;         /* hathor/node.h */
struct hathor_p2p_ops;          /* hathor/p2p.h */

/* --- logging ------------------------------------------------------------ */

enum hathor_log_level {
	HATHOR_LOG_ERROR = 0,
	HATHOR_LOG_WARN = 1,
	HATHOR_LOG_INFO = 2,
	HATHOR_LOG_DEBUG = 3,
};

/* --- loop --------------------------------------------------------------- */

enum hathor_io_events {
	HATHOR_IO_READ = 1 << 0,
	HATHOR_IO_WRITE = 1 << 1,
};

/* @revents: enum hathor_io_events that fired. */
typedef void (*hathor_io_cb)(void *arg, int revents);
typedef void (*hathor_timer_cb)(void *arg);

/* --- metrics ------------------------------------------------------------ */

enum hathor_metric_type {
	HATHOR_METRIC_COUNTER = 1,      /* only grows (metric_add >= 0) */
	HATHOR_METRIC_GAUGE = 2,        /* metric_set / metric_add */
	HATHOR_METRIC_HISTOGRAM = 3,    /* metric_observe */
};

/* A metric's current value as metrics_visit() shows it (borrowed). */
struct hathor_metric_value {
	const char *name;               /* Prometheus name, [a-zA-Z_:][\w:]* */
	const char *help;
	const char *labels;             /* "k=\"v\",k2=\"v2\"" or "" */
	const char *source;             /* "core", "p2p-host", plugin name */
	enum hathor_metric_type type;
	double value;                   /* counter / gauge; histogram sum */
	uint64_t count;                 /* histogram: observations */
	size_t n_buckets;               /* histogram: upper bounds (no +Inf) */
	const double *bounds;
	const uint64_t *bucket_counts;  /* cumulative, n_buckets entries */
};

typedef void (*hathor_metric_visit_cb)(void *arg,
				       const struct hathor_metric_value *v);

/* --- node events -------------------------------------------------------- */

enum hathor_event_type {
	HATHOR_EV_VERTEX_ACCEPTED = 1,  /* hash, is_block, bytes, voided */
	HATHOR_EV_BEST_BLOCK = 2,       /* hash, height: new best block */
	HATHOR_EV_REORG = 3,            /* hash/height new best, old_*,
					 * common, reorg_depth */
	HATHOR_EV_VOIDED = 4,           /* hash */
	HATHOR_EV_UNVOIDED = 5,         /* hash */
	HATHOR_EV_MEMPOOL_ADD = 6,      /* hash */
	HATHOR_EV_MEMPOOL_REMOVE = 7,   /* hash */
	HATHOR_EV_PUBLISHED = 8,        /* key, json */
	/* The subscriber missed events it cannot get back (the core's ring
	 * moved past them, or the core restarted): state derived from events
	 * must be re-read from the node service.  Only hash/seq are 0. */
	HATHOR_EV_RESYNC = 9,
};

/* Subscription mask bit for an event type. */
#define HATHOR_EV_BIT(type) (1u << (type))
#define HATHOR_EV_ALL 0xffffffffu

/* One node event (borrowed for the callback).  Appendable: check @size. */
struct hathor_event {
	uint32_t size;                  /* sizeof(struct hathor_event) */
	uint32_t type;                  /* enum hathor_event_type */
	uint64_t epoch;                 /* random per core start */
	uint64_t seq;                   /* 1, 2, ... within an epoch */
	uint8_t hash[32];               /* vertex / new best block */
	bool is_block;
	bool voided;                    /* VERTEX_ACCEPTED: stored voided */
	uint64_t height;                /* BEST_BLOCK/REORG: new best height;
					 * VERTEX_ACCEPTED blocks: height */
	const uint8_t *bytes;           /* VERTEX_ACCEPTED: wire bytes */
	size_t len;
	uint8_t old_best[32];           /* REORG */
	uint64_t old_height;            /* REORG */
	uint8_t common[32];             /* REORG: common ancestor */
	uint64_t reorg_depth;           /* REORG */
	const char *key;                /* PUBLISHED */
	const char *json;               /* PUBLISHED: JSON object or NULL */
};

typedef void (*hathor_event_cb)(void *arg, const struct hathor_event *ev);

/* --- the services table ------------------------------------------------- */

/*
 * What the host gives every plugin.  Every function takes the plugin's
 * struct hathor_host handle (from init) first.  Loop thread only.
 */
struct hathor_services {
	uint32_t size;                  /* sizeof at the host's build */
	uint32_t abi_minor;             /* host's HATHOR_ABI_MINOR */

	/* Logging: one record, no trailing newline.  The host tags it with
	 * the plugin's name and writes it to the process's one log stream
	 * (the core's format).  log_enabled: test before costly formatting. */
	void (*log)(struct hathor_host *h, enum hathor_log_level lvl,
		    const char *msg);
	bool (*log_enabled)(struct hathor_host *h, enum hathor_log_level lvl);

	/* Clocks: wall time (Unix seconds) and the loop's monotonic time. */
	double (*now)(struct hathor_host *h);
	double (*mono)(struct hathor_host *h);

	/* Timers.  timer_new returns NULL on failure.  timer_set fires after
	 * @after s, then every @repeat s (0: once); it re-arms a running
	 * timer.  timer_free stops and frees (NULL: no-op). */
	struct hathor_timer *(*timer_new)(struct hathor_host *h,
					  hathor_timer_cb cb, void *arg);
	void (*timer_set)(struct hathor_host *h, struct hathor_timer *t,
			  double after, double repeat);
	void (*timer_stop)(struct hathor_host *h, struct hathor_timer *t);
	void (*timer_free)(struct hathor_host *h, struct hathor_timer *t);

	/* fd watchers (level-triggered).  io_set(0) stops watching.  The fd
	 * stays the plugin's: io_free does not close it. */
	struct hathor_io *(*io_new)(struct hathor_host *h, int fd,
				    hathor_io_cb cb, void *arg);
	void (*io_set)(struct hathor_host *h, struct hathor_io *io,
		       int events);
	void (*io_free)(struct hathor_host *h, struct hathor_io *io);

	/* Configuration: the value of @key, or NULL (borrowed, valid until
	 * destroy).  config_get_n gives the @i-th value of a repeated key
	 * (config_get == config_get_n(.., 0)); NULL past the end.  Keys are
	 * "section.key" of the node's ini file plus the well-known keys of
	 * docs/plugin-abi.md ("network", "data_dir", "p2p.listen_fd", ...). */
	const char *(*config_get)(struct hathor_host *h, const char *key);
	const char *(*config_get_n)(struct hathor_host *h, const char *key,
				    size_t i);

	/* Metrics.  metric_new registers (name, labels); registering the
	 * same name and labels twice returns the same handle.  @labels:
	 * "k=\"v\",..." or NULL; @bounds/@n_bounds: histogram upper bounds,
	 * ascending (NULL: default buckets).  Returns NULL on a bad name or
	 * type clash.  Handles live until the plugin is destroyed. */
	struct hathor_metric *(*metric_new)(struct hathor_host *h,
					    enum hathor_metric_type type,
					    const char *name, const char *help,
					    const char *labels,
					    const double *bounds,
					    size_t n_bounds);
	void (*metric_add)(struct hathor_host *h, struct hathor_metric *m,
			   double v);
	void (*metric_set)(struct hathor_host *h, struct hathor_metric *m,
			   double v);
	void (*metric_observe)(struct hathor_host *h, struct hathor_metric *m,
			       double v);
	/* Every metric of this process (core: including the P2P host's, as
	 * last reported), for exposition by metrics-kind plugins. */
	void (*metrics_visit)(struct hathor_host *h,
			      hathor_metric_visit_cb cb, void *arg);

	/* Node events.  @mask: HATHOR_EV_BIT(type)s.  Returns NULL on
	 * failure.  event_unsubscribe is safe inside the callback. */
	struct hathor_sub *(*event_subscribe)(struct hathor_host *h,
					      uint32_t mask,
					      hathor_event_cb cb, void *arg);
	void (*event_unsubscribe)(struct hathor_host *h,
				  struct hathor_sub *s);
	/* Publishes HATHOR_EV_PUBLISHED (@key, @json: a JSON object text or
	 * NULL) to every subscriber of the node (reference: pubsub publish).
	 * Returns 0 or a negative code; asynchronous in host mode. */
	int (*event_publish)(struct hathor_host *h, const char *key,
			     const char *json);

	/* The node service (hathor/node.h); NULL where the process has no
	 * node (never for p2p-kind plugins). */
	const struct hathor_node_ops *node;
};

/* --- the descriptor ----------------------------------------------------- */

struct hathor_plugin_desc {
	/* Frozen forever (the loader reads these before anything else). */
	uint32_t abi_major;             /* HATHOR_ABI_MAJOR at build */
	uint32_t abi_minor;             /* HATHOR_ABI_MINOR at build */
	uint32_t struct_size;           /* sizeof(struct hathor_plugin_desc) */
	uint32_t kind;                  /* enum hathor_plugin_kind */

	const char *name;               /* [a-z0-9_]+, unique per process */
	const char *version;            /* plugin's own version, "0.3.0" */

	/* Creates the plugin's context.  Returns 0 and *@ctx, or a negative
	 * code with @err (NUL-terminated, < @errlen) saying why. */
	int (*init)(struct hathor_host *h, const struct hathor_services *svc,
		    void **ctx, char *err, size_t errlen);
	/* Starts working.  Returns 0 or a negative code with @err. */
	int (*start)(void *ctx, char *err, size_t errlen);
	/* Stops working: close listeners, stop timers.  After it the host
	 * makes no kind-specific calls.  May be NULL. */
	void (*stop)(void *ctx);
	/* Frees @ctx. */
	void (*destroy)(void *ctx);

	/* Kind-specific handler table (size-prefixed), or NULL. */
	const void *kind_ops;
};

/* The smallest descriptor the loader accepts (ABI 1.0's). */
#define HATHOR_PLUGIN_DESC_MIN_SIZE                                     \
	(offsetof(struct hathor_plugin_desc, kind_ops) + sizeof(const void *))

typedef const struct hathor_plugin_desc *(*hathor_plugin_entry_fn)(void);

#if defined(__GNUC__)
#define HATHOR_EXPORT __attribute__((visibility("default")))
#else
#define HATHOR_EXPORT
#endif

/*
 * Defines the descriptor and the entry symbol.  @name_ is an identifier
 * (stringified), e.g.
 *   HATHOR_PLUGIN(metrics, HATHOR_KIND_METRICS, "0.3.0",
 *                 m_init, m_start, m_stop, m_destroy);
 * HATHOR_PLUGIN_OPS adds the kind-specific table (p2p: a const struct
 * hathor_p2p_ops *).  Use once per plugin, at file scope.
 */
#define HATHOR_PLUGIN_OPS(name_, kind_, version_, init_, start_, stop_,    \
			  destroy_, ops_)                                  \
	static const struct hathor_plugin_desc hathor__plugin_desc = {     \
		.abi_major = HATHOR_ABI_MAJOR,                             \
		.abi_minor = HATHOR_ABI_MINOR,                             \
		.struct_size = sizeof(struct hathor_plugin_desc),          \
		.kind = (kind_),                                           \
		.name = #name_,                                            \
		.version = (version_),                                     \
		.init = (init_),                                           \
		.start = (start_),                                         \
		.stop = (stop_),                                           \
		.destroy = (destroy_),                                     \
		.kind_ops = (ops_),                                        \
	};                                                                 \
	HATHOR_EXPORT const struct hathor_plugin_desc *                    \
	hathor_plugin_entry(void);                                         \
	HATHOR_EXPORT const struct hathor_plugin_desc *                    \
	hathor_plugin_entry(void)                                          \
	{                                                                  \
		return &hathor__plugin_desc;                               \
	}                                                                  \
	extern int hathor__plugin_semicolon

#define HATHOR_PLUGIN(name_, kind_, version_, init_, start_, stop_,        \
		      destroy_)                                            \
	HATHOR_PLUGIN_OPS(name_, kind_, version_, init_, start_, stop_,    \
			  destroy_, NULL)

/* printf-style logging through the services table. */
#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static inline void hathor_logf(const struct hathor_services *svc,
			       struct hathor_host *h,
			       enum hathor_log_level lvl, const char *fmt, ...);

#include <stdarg.h>
#include <stdio.h>

static inline void hathor_logf(const struct hathor_services *svc,
			       struct hathor_host *h,
			       enum hathor_log_level lvl, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	if (!svc->log_enabled(h, lvl))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	svc->log(h, lvl, buf);
}

#ifdef __cplusplus
}
#endif

#endif /* HATHOR_PLUGIN_H */
