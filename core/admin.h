/*
 * admin.h: the admin socket of hathor-node (module "admin", core/daemon.h).
 *
 * An nng REP socket, by default <runtime_dir>/admin.ipc, created with mode
 * 0660 (group: cfg->admin_group if set, else ours) so that members of the
 * node's group can run hathor-admin (ECOSYSTEM.md section 3).  The socket
 * is served on the daemon's libev loop: NNG_OPT_RECVFD is watched with an
 * ev_io.  The socket is a raw REP socket: replies may go out in any
 * order, so a slow hook (a plugin reload) holds only its own request;
 * status and the other verbs are answered meanwhile.  At most one plugin
 * reload/load/unload runs at a time (a second one is answered "another
 * plugin operation is in progress").
 *
 * Wire format: one JSON object per nng message.
 *   request: {"verb": "status"|"version"|"peers"|"log-level"|
 *                     "plugin list"|"plugin reload"|"plugin load"|
 *                     "plugin unload",
 *             "args": ["..."]}                    (args optional)
 *   reply:   {"ok": true,  "result": {...}}
 *            {"ok": false, "error": "<one line>", "code": "<word>"}
 * "code" is one of "usage" (bad request), "unsupported" (this build or
 * this configuration cannot do it), "failed" (it was tried and failed),
 * "unavailable" (the subsystem is not running), "timeout".
 *
 * Verbs that need another subsystem (peers, plugin reload/load/unload and
 * plugin list of the P2P host) go through struct hn_admin_hooks, which that
 * subsystem (the supervisor, core/sup.c) registers with
 * hn_admin_hooks_register().  A NULL hook answers "not supported by this
 * build" (or "p2p not running" for peers).  Hooks are asynchronous: the
 * provider gets a struct hn_admin_call and completes it later with
 * hn_admin_call_done().
 *
 * Loop thread only.
 */
#ifndef HN_CORE_ADMIN_H
#define HN_CORE_ADMIN_H

#include <stdbool.h>

struct hn_admin;
struct hn_admin_call;           /* one request waiting for a hook */
struct hn_daemon;
struct hn_daemon_module;
struct hn_plugin_rt;
struct json_object;

/* Seconds a hook may take before the admin answers "timeout" itself.  The
 * call stays valid for the provider until it calls hn_admin_call_done();
 * the late result is then dropped. */
#define HN_ADMIN_CALL_TIMEOUT 120.0

/* Largest request accepted (bytes); bigger messages close the client's
 * connection (nng NNG_OPT_RECVMAXSZ). */
#define HN_ADMIN_MAX_REQUEST 65536

/* Entry points another subsystem provides.  Every function pointer may be
 * NULL.  Each asynchronous hook returns 0 if it took @call (it must then
 * call hn_admin_call_done() exactly once, possibly from inside the hook),
 * or a negative code: the admin then answers with an error itself and
 * @call must not be used. */
struct hn_admin_hooks {
	void *ctx;              /* passed to every hook */
	/* "peers": result object {"peers": [...]} (connections summary). */
	int (*peers)(void *ctx, struct hn_admin_call *call);
	/* "plugin reload NAME": blocks the caller until the new plugin
	 * runs or the old one is back; result e.g. {"plugin": "p2p",
	 * "ms": 412}. */
	int (*plugin_reload)(void *ctx, const char *name,
			     struct hn_admin_call *call);
	/* "plugin load PATH" / "plugin unload NAME". */
	int (*plugin_load)(void *ctx, const char *path,
			   struct hn_admin_call *call);
	int (*plugin_unload)(void *ctx, const char *name,
			     struct hn_admin_call *call);
	/* "plugin list": plugins outside the core (P2P host); result
	 * {"plugins": [{name, version, kind, path, ...}]}.  Merged after
	 * the core's own runtime list. */
	int (*plugin_list)(void *ctx, struct hn_admin_call *call);
	/* Told after "log-level" changed the core's level (to pass it on
	 * to child processes).  Synchronous, cannot fail the verb. */
	void (*log_level)(void *ctx, const char *level);
	/* The admin closes (or the hooks are replaced) while @call is
	 * still held: forget it; it is freed after this returns and
	 * hn_admin_call_done() must not be called for it. */
	void (*cancel)(void *ctx, struct hn_admin_call *call);
};

/* Registers @h (copied; NULL unregisters) for the process.  May be called
 * before the admin module opens (the hooks are picked up at open) or
 * after.  Calls still held by the previous provider get cancel() and are
 * answered with "provider went away". */
void hn_admin_hooks_register(const struct hn_admin_hooks *h);

/* Completes @call.  @rc == 0: success, @result (taken, may be NULL for {})
 * is the reply's "result".  @rc < 0: failure, @msg (borrowed, NULL: the
 * text of @rc) is the one-line reason; @result is taken and put.
 * HN_EUNSUPPORTED is answered with code "unsupported", HN_ECLOSED and
 * HN_ENOENT with "unavailable", other codes with "failed". */
void hn_admin_call_done(struct hn_admin_call *call, int rc,
			struct json_object *result, const char *msg);

/* Plugins loaded in the core (in-core plugins, --p2p-mode=inprocess),
 * listed by "plugin list".  @rt borrowed; NULL: none. */
void hn_admin_set_plugin_rt(struct hn_admin *a, struct hn_plugin_rt *rt);

/* Changes the hook deadline (default HN_ADMIN_CALL_TIMEOUT) for calls
 * held from now on (tests, embedders).  @seconds <= 0: ignored. */
void hn_admin_set_call_timeout(struct hn_admin *a, double seconds);

/* Path of the listening socket (borrowed, lives as long as @a). */
const char *hn_admin_socket_path(const struct hn_admin *a);

extern const struct hn_daemon_module hn_admin_module;

#endif /* HN_CORE_ADMIN_H */
