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

extern const struct hn_daemon_module hn_plugins_module;

#endif /* HN_CORE_PLUGINS_H */
