/*
 * daemon.h: the hathor-node process object and its module lifecycle.
 *
 * One struct hn_daemon per process, owned by main().  It holds the libev
 * default loop and one pointer per module object.  Modules plug in through a
 * const struct hn_daemon_module listed in the table in core/daemon.c; the
 * daemon calls them in table order to open and in reverse order to stop and
 * close:
 *
 *   ledger   (storage, verification, consensus; owns sqlite)
 *   http     (libmicrohttpd on the loop; /v1a/ API)
 *   ipc      (node.ipc / p2p.ipc / events.ipc sockets)
 *   sup      (hathor-p2p-host supervisor, or in-process P2P)
 *   admin    (admin socket)
 *   plugins  (in-core plugins such as metrics)
 *
 * Shutdown (SIGINT/SIGTERM or hn_daemon_stop()): every module's stop() runs
 * (reverse order) and must stop accepting new work; the loop keeps running
 * until every module's busy() is false (in-flight HTTP requests answered,
 * IPC calls completed) or cfg->shutdown_timeout passes; then close() runs in
 * reverse order and the loop ends.  SIGHUP reopens --log-file (on fd 2)
 * and calls every reload().
 *
 * Everything here runs on the loop thread only.
 */
#ifndef HN_CORE_DAEMON_H
#define HN_CORE_DAEMON_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>

#include <ev.h>

#include "loopmon.h"

struct hn_config;
struct hn_error;
struct hn_network;

/* Module objects (opaque here; each module's header defines its own). */
struct hn_ledger;
struct hn_nodesvc;
struct hn_http;
struct hn_ipc;
struct hn_sup;
struct hn_p2p;
struct hn_admin;
struct hn_plugins;
struct hn_metrics;

struct hn_daemon {
	struct ev_loop *loop;           /* libev default loop */
	struct hn_config *cfg;          /* borrowed from main(), read-only */
	const struct hn_network *net;   /* == cfg->net */
	time_t start_time;              /* wall clock at hn_daemon_open() */
	double start_mono;              /* ev_now() at open, for uptime */

	/* Module objects, NULL until their module opened them. */
	struct hn_ledger *ledger;       /* core/ledger.h (storage helper) */
	struct hn_nodesvc *nodesvc;     /* core/nodesvc.h, async service */
	struct hn_http *http;           /* core/http.h */
	struct hn_ipc *ipc;             /* core/ipc_*.c (ipc helper) */
	struct hn_sup *sup;             /* core/sup*.c (ipc helper) */
	struct hn_p2p *p2p;             /* core/p2pmode*.c (ipc helper) */
	struct hn_admin *admin;         /* core/admin*.c (admin helper) */
	struct hn_plugins *plugins;     /* in-core plugin loader (ipc) */
	struct hn_metrics *metrics;     /* core/metrics*.c (metrics) */

	/* Process state (daemon.c). */
	int lock_fd;                    /* flock'ed <data_dir>/LOCK, or -1 */
	bool pid_file_written;          /* remove it at exit */
	char *pid_path;                 /* malloc'd path of the pid file */
	bool stopping;                  /* stop requested */
	int exit_code;                  /* process exit status to return */
	char stop_reason[64];           /* "SIGTERM", "admin", ... */
	ev_signal sig_int, sig_term, sig_hup;
	ev_timer stop_timer;            /* shutdown deadline */
	ev_check stop_check;            /* polls busy() while stopping */
	unsigned n_opened;              /* modules opened so far */
	int stderr_fd;                  /* the original stderr while
					 * --log-file is on fd 2, or -1 */
	struct hn_loopmon loopmon;      /* loop stalls (status "loop") */
};

/* One module's lifecycle, listed in the table in core/daemon.c.  Every
 * callback but open() may be NULL. */
struct hn_daemon_module {
	const char *name;               /* "ledger", "http", ... (logs) */
	/* Creates the module object and stores it in its hn_daemon field.
	 * Returns 0, or a negative code with @err set: start-up then fails
	 * and the modules opened before are closed. */
	int (*open)(struct hn_daemon *d, struct hn_error *err);
	/* Stop accepting new work (close listeners, quiesce).  In-flight
	 * work may continue until busy() says false. */
	void (*stop)(struct hn_daemon *d);
	/* True while the module still has in-flight work to finish. */
	bool (*busy)(struct hn_daemon *d);
	/* Frees the module object and NULLs its field. */
	void (*close)(struct hn_daemon *d);
	/* SIGHUP: reopen logs / re-read what is safe to re-read. */
	void (*reload)(struct hn_daemon *d);
};

/* Prepares @d for @cfg (borrowed; must outlive @d): creates the runtime
 * dir (0700, checked), takes the data dir lock (a second node on the same
 * data dir is refused), writes the pid file, installs the signal watchers
 * and opens every module in order.  Returns 0, or a negative code with @err
 * set and everything undone. */
int hn_daemon_open(struct hn_daemon *d, struct hn_config *cfg,
		   struct hn_error *err);

/* Runs the loop until a stop completes.  Returns the process exit code
 * (0 after a clean stop). */
int hn_daemon_run(struct hn_daemon *d);

/* Requests a graceful stop (idempotent).  @reason is logged.  @exit_code
 * becomes hn_daemon_run()'s return value (the first request wins). */
void hn_daemon_stop(struct hn_daemon *d, const char *reason, int exit_code);

/* Closes whatever is still open, removes the pid file, drops the lock.
 * Safe after a failed hn_daemon_open() and NULL-safe. */
void hn_daemon_close(struct hn_daemon *d);

/* Seconds since hn_daemon_open(). */
double hn_daemon_uptime(const struct hn_daemon *d);

/* The one daemon of this process, or NULL outside hathor-node (set by
 * hn_daemon_open, cleared by hn_daemon_close). */
struct hn_daemon *hn_daemon_current(void);

#endif /* HN_CORE_DAEMON_H */
