/*
 * hn/plugin_load.h: loading plugins (hathor/plugin.h) and running them on a
 * libev loop.  Used by hathor-node (in-core plugins, --p2p-mode=inprocess)
 * and by hathor-p2p-host.
 *
 * Two layers:
 *
 *  1. The loader (hn_plugin_open/close/check): dlopen(RTLD_NOW|RTLD_LOCAL),
 *     look up hathor_plugin_entry, check the descriptor.  Every refusal is
 *     one line naming the file, both ABI versions where known, the reason
 *     and a hint; a refused file is dlclose'd again, so nothing is left half
 *     loaded.  Nothing of the plugin runs except its ELF constructors
 *     (dlopen runs them before any check can happen).
 *
 *  2. The runtime (hn_plugin_rt_*): one per process and loop.  It
 *     implements struct hathor_services over the loop (timers, fd watchers,
 *     config, metrics registry, event subscriptions, logging), tracks what
 *     each plugin instance registered, and on unload removes whatever the
 *     plugin left behind before dlclose.  The node service table is
 *     supplied by the caller (core: direct; host: JSON-RPC over nng).
 *
 * Loop thread only.
 */
#ifndef HN_PLUGIN_LOAD_H
#define HN_PLUGIN_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hathor/node.h"
#include "hathor/p2p.h"
#include "hathor/plugin.h"

struct ev_loop;

/* --- loader ------------------------------------------------------------ */

struct hn_plugin;               /* a dlopen'ed, checked plugin file */

struct hn_plugin_open_opts {
	uint32_t want_kind;     /* enum hathor_plugin_kind, 0: any */
	/* Names already loaded in this process: a duplicate is refused. */
	const char *const *taken_names;
	size_t n_taken;
	/* Non-NULL: dlopen a private copy made in this directory (unlinked
	 * again right after dlopen), so that a new build at the same path
	 * is really loaded next to the old one (glibc returns the loaded
	 * copy for the same path or inode).  @gen makes the copy's name
	 * unique: <copy_dir>/.<basename>.<pid>.<gen>.so */
	const char *copy_dir;
	unsigned gen;
};

/* Loads and checks @path.  Returns 0 and *@out, or a negative code
 * (HN_ENOENT no file, HN_EPARSE not a loadable object or no entry symbol,
 * HN_EABI version or size mismatch, HN_EEXIST duplicate name, HN_EINVAL
 * bad descriptor or kind) with @err set to one line, e.g.
 *   plugin "/p/x.so" refused: built for plugin ABI 2.0, this process
 *   supports 1.0 (major versions differ); hint: rebuild it against the
 *   hathor-node 0.1.0 SDK
 * @o may be NULL. */
int hn_plugin_open(const char *path, const struct hn_plugin_open_opts *o,
		   struct hn_plugin **out, char *err, size_t errlen);

/* The checked descriptor (borrowed, valid until hn_plugin_close). */
const struct hathor_plugin_desc *hn_plugin_desc(const struct hn_plugin *p);
/* The path given to hn_plugin_open (borrowed). */
const char *hn_plugin_path(const struct hn_plugin *p);
/* kind_ops as a p2p table if the plugin is a p2p plugin, else NULL. */
const struct hathor_p2p_ops *hn_plugin_p2p_ops(const struct hn_plugin *p);

/* dlclose.  Returns true if the object is really unmapped (checked with
 * RTLD_NOLOAD), false if something pins it.  NULL: returns true. */
bool hn_plugin_close(struct hn_plugin *p);

/* Summary of a plugin file. */
struct hn_plugin_info {
	char name[64];
	char version[64];
	uint32_t kind;
	uint32_t abi_major, abi_minor;
};

/* Opens, checks and closes @path (what a reload does before touching
 * anything).  Returns as hn_plugin_open; @info may be NULL. */
int hn_plugin_check(const char *path, uint32_t want_kind,
		    struct hn_plugin_info *info, char *err, size_t errlen);

/* "p2p", "metrics", "other" or "unknown". */
const char *hn_plugin_kind_name(uint32_t kind);

/* The bytes of @path as they are now, for a rollback to that build: a
 * sealed memfd copy (close-on-exec), so that neither a file renamed over
 * @path nor one written over it in place can change them.  Falls back to
 * the open file when memfd_create is refused; -1 if @path cannot be read.
 * Reads the whole file: a few hundred KB. */
int hn_plugin_snapshot(const char *path);

/* --- runtime ----------------------------------------------------------- */

struct hn_plugin_rt;            /* services over one loop */
struct hn_plugin_inst;          /* one loaded, initialised plugin */

struct hn_plugin_rt_opts {
	struct ev_loop *loop;
	/* Log component prefix: records are tagged "<process>:<plugin>". */
	const char *process;
	/* Node service for plugins (NULL: none).  Functions get the
	 * plugin's struct hathor_host; hn_plugin_host_node_ctx() returns
	 * @node_ctx from it. */
	const struct hathor_node_ops *node;
	void *node_ctx;
	/* Called on unload before destroy: must complete (synchronously,
	 * with HATHOR_ECLOSED) every node call still pending for @h.  May
	 * be NULL if the node never keeps calls pending. */
	void (*node_cancel)(void *node_ctx, struct hathor_host *h);
	/* Publishes for event_publish (NULL: uses node->publish). */
	int (*publish)(void *node_ctx, const char *key, const char *json);
	/* Extra metrics for metrics_visit (core's own, the host's). */
	void (*visit_extra)(void *arg, hathor_metric_visit_cb cb,
			    void *cb_arg);
	void *visit_arg;
};

int hn_plugin_rt_new(const struct hn_plugin_rt_opts *o,
		     struct hn_plugin_rt **out);
/* Unloads every instance still loaded (reverse order), then frees. */
void hn_plugin_rt_free(struct hn_plugin_rt *rt);

/* Configuration seen by every plugin: appends @value under @key (repeat
 * for lists).  Copies both.  Returns 0 or HN_ENOMEM. */
int hn_plugin_rt_config_add(struct hn_plugin_rt *rt, const char *key,
			    const char *value);
/* Replaces all values of @key by one (NULL: removes the key). */
int hn_plugin_rt_config_set(struct hn_plugin_rt *rt, const char *key,
			    const char *value);

/* Opens @path (hn_plugin_open; taken names and kind from @o, names of
 * loaded instances added), then calls init().  On any failure nothing is
 * left loaded and @err says why (init's own message included).  The
 * instance is not started. */
int hn_plugin_rt_load(struct hn_plugin_rt *rt, const char *path,
		      const struct hn_plugin_open_opts *o,
		      struct hn_plugin_inst **out, char *err, size_t errlen);
/* Calls start().  Returns 0 or its code with @err. */
int hn_plugin_inst_start(struct hn_plugin_inst *in, char *err,
			 size_t errlen);
/* stop() (if started), cancel pending node calls, destroy(), remove what
 * the plugin left registered (each logged), dlclose.  NULL: no-op.
 * Never call it from inside one of the instance's own callbacks: use
 * hn_plugin_inst_unload_later(). */
void hn_plugin_inst_unload(struct hn_plugin_inst *in);
/* Same, on a later loop iteration (safe from the plugin's callbacks). */
void hn_plugin_inst_unload_later(struct hn_plugin_inst *in);

const struct hathor_plugin_desc *
hn_plugin_inst_desc(const struct hn_plugin_inst *in);
const char *hn_plugin_inst_path(const struct hn_plugin_inst *in);
/* The plugin's context (from init), for its kind_ops. */
void *hn_plugin_inst_ctx(const struct hn_plugin_inst *in);
const struct hathor_p2p_ops *
hn_plugin_inst_p2p(const struct hn_plugin_inst *in);
bool hn_plugin_inst_started(const struct hn_plugin_inst *in);
/* Loop time at load. */
double hn_plugin_inst_loaded_at(const struct hn_plugin_inst *in);
/* The instance's host handle (what its node calls receive). */
struct hathor_host *hn_plugin_inst_host(struct hn_plugin_inst *in);

/* Instances, in load order: @i-th or NULL. */
struct hn_plugin_inst *hn_plugin_rt_inst(struct hn_plugin_rt *rt, size_t i);

/* From a struct hathor_host (node implementations). */
void *hn_plugin_host_node_ctx(struct hathor_host *h);
struct hn_plugin_inst *hn_plugin_host_inst(struct hathor_host *h);

/* Delivers a node event to every subscription whose mask matches and to
 * every started p2p instance's on_event.  @ev borrowed. */
void hn_plugin_rt_event(struct hn_plugin_rt *rt, const struct hathor_event *ev);

/* Label string syntax of the metrics ABI: "" or k="v"[,k="v"]..., label
 * names [a-zA-Z_][a-zA-Z0-9_]* not starting with "__", values with only
 * the \\, \" and \n escapes (no raw newline); @histogram: "le" is
 * reserved. */
bool hn_metric_labels_ok(const char *labels, bool histogram);

/* Visits every metric registered by plugins of this runtime, then the
 * visit_extra ones. */
void hn_plugin_rt_metrics_visit(struct hn_plugin_rt *rt,
				hathor_metric_visit_cb cb, void *arg);

/* Counts of what instances have registered (tests, leak checks). */
struct hn_plugin_rt_counts {
	size_t timers, ios, subs, metrics;
};
void hn_plugin_inst_counts(const struct hn_plugin_inst *in,
			   struct hn_plugin_rt_counts *c);

#endif /* HN_PLUGIN_LOAD_H */
