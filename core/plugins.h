/*
 * plugins.h: the "plugins" daemon module (core/daemon.h): one plugin
 * runtime (hn/plugin_load.h) on the core loop, loading the in-core plugins
 * at start-up:
 *
 *   --plugin NAME|PATH (repeatable; ini "plugin =" or "plugins ="): NAME
 *       is <plugin_dir>/NAME.so, anything with a '/' is a path;
 *   --metrics-listen HOST:PORT: <plugin_dir>/metrics.so with config key
 *       metrics.listen set to it.
 *
 * A configured plugin that cannot be loaded, initialised or started fails
 * the daemon's start with one line naming the file and the reason.  Every
 * loaded plugin shows in `hathor-admin plugin list` with process "core".
 * Loop thread only.
 */
#ifndef HN_CORE_PLUGINS_H
#define HN_CORE_PLUGINS_H

struct hn_daemon;
struct hn_plugin_rt;

/* The core's plugin runtime, or NULL when the module is not open.  Other
 * core code (core metrics) may read it; it stays owned by the module. */
struct hn_plugin_rt *hn_plugins_rt(struct hn_daemon *d);

struct hathor_plugin_desc;
struct hn_error;

/* `hathor-admin plugin load NAME|PATH`: loads (NAME as for --plugin),
 * initialises and starts a metrics- or other-kind plugin in the core's
 * runtime; a p2p plugin is refused (it runs in the P2P host).  On success
 * *@out is its descriptor and *@path (malloc'd) the file.  Every refusal
 * is logged once and returned in @err. */
int hn_plugins_load(struct hn_daemon *d, const char *name,
		    const struct hathor_plugin_desc **out, char **path,
		    struct hn_error *err);
/* `plugin unload NAME`: stops and unloads the core plugin named @name
 * (HN_ENOENT if none; the in-process p2p plugin is refused). */
int hn_plugins_unload(struct hn_daemon *d, const char *name,
		      struct hn_error *err);

extern const struct hn_daemon_module hn_plugins_module;

#endif /* HN_CORE_PLUGINS_H */
