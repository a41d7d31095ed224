/*
 * sup.h: the supervisor of hathor-p2p-host (IPC.md section 6).
 *
 * One serving host process at a time, generation 1, 2, ...  Each
 * generation gets its own p2p.<gen>.ipc REQ socket (the core listens, the
 * host dials) that accepts only that host's pid, so a command can never
 * reach another generation.  The host is started with posix_spawn (never
 * fork: nng is not fork-safe, and the core's pages are not copied), with
 * the P2P listening socket the core bound as fd 3, a status pipe on which
 * it reports a start-up failure in one line, every other fd closed, the
 * log level and format, the runtime dir and the core's pid (the host sets
 * PR_SET_PDEATHSIG).
 *
 * Watching: a heartbeat on p2p.ipc every @heartbeat seconds with a
 * @hb_timeout deadline; @max_misses in a row means hung.  RSS (from
 * /proc/PID/statm) over @max_rss, or @max_bad protocol-level errors on
 * node.ipc, also end the host.  Ending = SIGTERM through a pidfd, SIGKILL
 * after @term_grace.  When it is reaped: the exit is logged with pid,
 * status, last RSS and reason and counted, p2p.ipc calls in flight
 * complete with an error, and the next generation starts after a backoff
 * that doubles from @backoff_min to @backoff_max and resets after
 * @healthy_reset seconds of healthy uptime.
 *
 * After the host's hello on p2p.ipc the supervisor sends the start-up
 * commands (peer discovery, then "start").
 *
 * Reload (hn_sup_reload, "hathor-admin plugin reload p2p"): a candidate
 * generation is spawned with the (new) plugin next to the serving one.
 * Only when it said hello (its plugin loaded, passed the ABI checks and
 * started) is it switched in: the old host gets SIGTERM, and once it is
 * reaped (its peers are gone) the new one gets "start".  A candidate that
 * fails (missing file, wrong ABI, init error, no hello in time) is reaped
 * and the reload fails with the host's own one-line reason, while the old
 * host keeps serving untouched.
 *
 * Health gate (opts.health_window): the verdict waits that long after
 * "start"; if the new host ends in the window (crash, hung, bad messages)
 * the previous build is started again at once and the reload fails with
 * "...; rolled back to PATH".  The previous build is the file the old
 * host was spawned from, held open by the core since then, so a new build
 * installed at the same path (rename) does not hide it: the rollback host
 * loads it through /proc/self/fd.
 *
 * Loop thread only; spawn only from the loop thread (PR_SET_PDEATHSIG is
 * per spawning thread).
 */
#ifndef HN_CORE_SUP_H
#define HN_CORE_SUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hn/jsonrpc.h"
#include "hn/rpc_nng.h"

struct ev_loop;
struct hn_error;
struct hn_ipc;
struct hn_sup;

struct hn_sup_opts {
	struct ev_loop *loop;
	struct hn_ipc *ipc;             /* borrowed; must outlive the sup */
	const char *host_bin;           /* hathor-p2p-host path */
	const char *plugin_path;        /* p2p plugin .so */
	const char *runtime_dir;
	int listen_fd;                  /* P2P listening socket, -1: none */
	const char *log_level;          /* NULL: inherit HN_LOG_LEVEL */
	const char *log_format;
	size_t max_msg;                 /* passed to the host (0: default) */
	/* Extra "KEY=VALUE" plugin config (--config), borrowed. */
	const char *const *config;
	size_t n_config;
	/* Bootstrap peers for add_peer_discovery (borrowed). */
	const char *const *bootstrap;
	size_t n_bootstrap;
	bool no_start;                  /* do not send "start" after hello */

	double heartbeat;               /* 0: 2 s (also the watch tick) */
	double hb_timeout;              /* 0: 1 s */
	unsigned max_misses;            /* 0: 3 */
	double term_grace;              /* 0: 3 s */
	double startup_timeout;         /* 0: 20 s to the host's hello */
	double backoff_min;             /* 0: 0.5 s */
	double backoff_max;             /* 0: 30 s */
	double healthy_reset;           /* 0: 60 s */
	size_t max_rss;                 /* bytes, 0: no limit */
	unsigned max_bad;               /* 0: 1 (any malformed message) */
	/* Health gate: after a reload's cut-over the new host is watched for
	 * this long before the verdict; a crash, a hang (missed heartbeats)
	 * or a bad-message kill in that window rolls back to the previous
	 * build.  0: no gate (the verdict comes with "start"). */
	double health_window;
};

/* Opens the supervisor and spawns the first host.  Returns 0 and *@out,
 * or a negative code with @err (spawn failures later are retried with
 * backoff, not reported here). */
int hn_sup_open(const struct hn_sup_opts *o, struct hn_sup **out,
		struct hn_error *err);
/* Stops supervising: SIGTERM to the host, no more restarts.  busy() stays
 * true until it was reaped. */
void hn_sup_stop(struct hn_sup *s);
bool hn_sup_busy(const struct hn_sup *s);
/* SIGKILL to a host still alive (reaped synchronously), frees.  NULL:
 * no-op. */
void hn_sup_close(struct hn_sup *s);

/* A p2p.ipc command to the serving host (docs/ipc.md); as hn_rpc_call.
 * HN_ECLOSED when no host is up. */
int hn_sup_call(struct hn_sup *s, const char *method,
		HN_TAKES struct json_object *params, double timeout,
		hn_rpc_done_cb cb, void *arg);
/* hn_sup_call on the "sup" module's supervisor (HN_ECLOSED when the module
 * is not open: not host mode, or stopped). */
int hn_sup_module_call(const char *method, HN_TAKES struct json_object *params,
		       double timeout, hn_rpc_done_cb cb, void *arg);

/* Reload finished: @rc 0 and @info {"plugin","path","gen","pid",
 * "old_pid","ms"} (borrowed), or @rc < 0 and @msg, a one-line reason
 * (the old host still serves). */
typedef void (*hn_sup_reload_cb)(void *arg, int rc, const char *msg,
				 struct json_object *info);

/* Starts a reload with @plugin_path (NULL: the current plugin path; a new
 * path is kept for later restarts once the reload succeeded).  Returns 0
 * (@cb is called later, exactly once), or a negative code with @err and
 * no callback: HN_ENOENT/HN_EINVAL plugin path not a readable file,
 * -EBUSY another reload in progress, HN_ECLOSED stopping. */
int hn_sup_reload(struct hn_sup *s, const char *plugin_path,
		  hn_sup_reload_cb cb, void *arg, struct hn_error *err);
/* Drops the callback of the reload in progress (its caller went away);
 * the reload itself goes on. */
void hn_sup_reload_forget(struct hn_sup *s);
/* Plugin path the serving host runs (borrowed). */
const char *hn_sup_plugin_path(const struct hn_sup *s);
/* Log level passed to hosts spawned from now on (NULL: inherit). */
int hn_sup_set_log_level(struct hn_sup *s, const char *level);

enum hn_sup_state {
	HN_SUP_IDLE = 0,        /* waiting for the next spawn (backoff) */
	HN_SUP_STARTING,        /* spawned, no hello yet */
	HN_SUP_UP,              /* hello done, heartbeats answered */
	HN_SUP_KILLING,         /* SIGTERM sent, waiting for exit */
	HN_SUP_STOPPED,         /* hn_sup_stop() */
};

struct hn_sup_stats {
	enum hn_sup_state state;
	pid_t pid;                      /* current host, 0 none */
	unsigned gen;
	unsigned restarts;              /* hosts reaped and replaced */
	unsigned spawn_failures;
	uint64_t bad;                   /* protocol errors (current host) */
	uint64_t bad_total;
	unsigned misses;                /* heartbeats missed in a row */
	uint64_t heartbeats;            /* heartbeats answered (all hosts) */
	size_t rss;                     /* bytes, last sample */
	double next_backoff;            /* s, before the next restart */
	int last_status;                /* wait status of the last exit */
	char last_reason[96];           /* why the last host ended */
	char last_exit[64];             /* "exit 1", "signal 9" */
	char last_status_msg[448];      /* the host's start-up error line */
	unsigned reloads;               /* reloads that switched hosts */
	unsigned reload_failures;
	pid_t cand_pid;                 /* reload candidate, 0 none */
	unsigned rollbacks;             /* health-gate rollbacks */
	char last_rollback[768];        /* why the last rollback happened */
	bool gating;                    /* a new host is in its window */
};
void hn_sup_stats(const struct hn_sup *s, struct hn_sup_stats *st);

/* Binds and listens (backlog 128, SO_REUSEADDR, CLOEXEC) on the P2P
 * address @hp; returns the fd or a negative code with @err.  Also used for
 * --p2p-mode=inprocess (core/plugins.c). */
struct hn_hostport;
int hn_sup_bind_listen(const struct hn_hostport *hp, struct hn_error *err);

/* The "sup" daemon module (core/daemon.h): when p2p_mode is "host", binds
 * the P2P listening socket (--listen), finds hathor-p2p-host and
 * <plugin_dir>/p2p_sync_v2.so and supervises the host. */
struct hn_daemon_module;
extern const struct hn_daemon_module hn_sup_module;

#endif /* HN_CORE_SUP_H */
