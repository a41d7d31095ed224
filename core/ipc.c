/*
 * ipc.c: the core's IPC endpoints (core/ipc.h) and the "ipc" daemon
 * module.  node.ipc is served by lib/rpc_nng.c with the method table of
 * ipc_node.c; events.ipc lives in ipc_events.c; the per-generation p2p.ipc
 * REQ sockets belong to the supervisor (core/sup.c).
 */
#include "ipc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ipc_int.h"

/* config.h has a comment containing a glob (-Wcomment). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcomment"
#include "config.h"
#pragma GCC diagnostic pop
#include "daemon.h"
#include "metrics.h"

#include "hn/err.h"
#include "hn/log.h"

#define IPC_DEFAULT_INFLIGHT 16

static const char *const core_caps[] = { HN_IPC_CAP_NODE, HN_IPC_CAP_EVENTS,
					 NULL };
static const char *const host_need[] = { HN_IPC_CAP_NODE, NULL };

int hn_ipc_check_dir(const char *dir, struct hn_error *err)
{
	struct stat st;

	if (!dir || !*dir)
		return hn_error_set(err, HN_EINVAL, "no runtime dir configured");
	if (lstat(dir, &st) < 0)
		return hn_error_set(err, HN_EINVAL, "runtime dir '%s': %s", dir,
				    strerror(errno));
	if (S_ISLNK(st.st_mode))
		return hn_error_set(err, HN_EINVAL, "runtime dir '%s' is a "
				    "symlink", dir);
	if (!S_ISDIR(st.st_mode))
		return hn_error_set(err, HN_EINVAL, "runtime dir '%s' is not a "
				    "directory", dir);
	if (st.st_uid != getuid())
		return hn_error_set(err, HN_EINVAL, "runtime dir '%s' is owned "
				    "by uid %u, not us (%u)", dir,
				    (unsigned)st.st_uid, (unsigned)getuid());
	if ((st.st_mode & 07777) != 0700)
		return hn_error_set(err, HN_EINVAL, "runtime dir '%s' has mode "
				    "%04o, need 0700", dir,
				    (unsigned)(st.st_mode & 07777));
	return 0;
}

static void node_bad(void *arg, uint64_t pid, const struct hn_rpc_error *e)
{
	struct hn_ipc *ipc = arg;

	if (ipc->on_bad)
		ipc->on_bad(ipc->on_bad_arg, pid, e);
}

static void node_done(void *arg, const char *method, double seconds,
		      bool error)
{
	struct hn_ipc *ipc = arg;

	hn_core_metrics_ipc(method, seconds, error);
	if (ipc->on_reply)
		ipc->on_reply(ipc->on_reply_arg, method, error);
}

static int path_in(char *out, const char *dir, const char *name,
		   struct hn_error *err)
{
	int n = snprintf(out, PATH_MAX, "%s/%s", dir, name);

	/* sun_path holds 107 characters plus NUL (IPC.md section 3). */
	if (n < 0 || n >= 108)
		return hn_error_set(err, HN_EINVAL, "socket path '%s/%s' is "
				    "longer than 107 characters; use a shorter "
				    "runtime dir", dir, name);
	return 0;
}

int hn_ipc_open(const struct hn_ipc_opts *o, struct hn_ipc **out,
		struct hn_error *err)
{
	struct hn_ipc *ipc;
	struct hn_rpc_server_opts so = { 0 };
	char url[PATH_MAX + 8];
	int rc;

	if ((rc = hn_ipc_check_dir(o->runtime_dir, err)) < 0)
		return rc;
	if (!o->loop)
		return hn_error_set(err, HN_EINVAL, "ipc: no loop");
	ipc = calloc(1, sizeof(*ipc));
	if (!ipc)
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	ipc->loop = o->loop;
	ipc->ledger = o->ledger;
	ipc->max_msg = o->max_msg ? o->max_msg : HN_RPC_DEFAULT_MAX_MSG;
	ipc->slice_us = HN_IPC_DEFAULT_SLICE_US;
	snprintf(ipc->dir, sizeof(ipc->dir), "%s", o->runtime_dir);
	if ((rc = path_in(ipc->node_path, ipc->dir, "node.ipc", err)) < 0 ||
	    (rc = path_in(ipc->events_path, ipc->dir, "events.ipc", err)) < 0)
		goto fail;

	snprintf(url, sizeof(url), "ipc://%s", ipc->node_path);
	so.link.loop = o->loop;
	so.link.url = url;
	so.link.listen = true;
	so.link.max_msg = ipc->max_msg;
	so.link.n_ctx = o->max_inflight ? o->max_inflight :
			IPC_DEFAULT_INFLIGHT;
	so.link.check_uid = true;
	so.link.peer_uid = getuid();
	so.link.name = "node.ipc";
	so.methods = hn__ipc_node_methods;
	so.n_methods = hn__ipc_node_n_methods;
	so.arg = ipc;
	so.role = "core";
	so.caps = core_caps;
	so.need_caps = host_need;
	so.require_hello = true;
	so.max_rate = o->max_rate;
	so.on_bad = node_bad;
	so.on_done = node_done;
	if ((rc = hn_rpc_server_open(&so, &ipc->node, err)) < 0)
		goto fail;
	if ((rc = hn__ipc_events_open(ipc, o->ring, o->heartbeat, err)) < 0)
		goto fail;
	hn_log(HN_LOG_INFO, "ipc", "listening on %s and %s (max message %zu "
	       "bytes, %u in flight)", ipc->node_path, ipc->events_path,
	       ipc->max_msg, so.link.n_ctx);
	*out = ipc;
	return 0;
fail:
	hn_ipc_close(ipc);
	return rc;
}

void hn_ipc_close(struct hn_ipc *ipc)
{
	if (!ipc)
		return;
	hn__ipc_events_close(ipc);
	hn_rpc_server_close(ipc->node);
	hn__ipc_node_close(ipc);
	free(ipc);
}

const char *hn_ipc_node_path(const struct hn_ipc *ipc)
{
	return ipc->node_path;
}

const char *hn_ipc_events_path(const struct hn_ipc *ipc)
{
	return ipc->events_path;
}

void hn_ipc_on_bad(struct hn_ipc *ipc, hn_ipc_bad_cb cb, void *arg)
{
	ipc->on_bad = cb;
	ipc->on_bad_arg = arg;
}

void hn_ipc_on_reply(struct hn_ipc *ipc, hn_ipc_reply_cb cb, void *arg)
{
	ipc->on_reply = cb;
	ipc->on_reply_arg = arg;
}

void hn_ipc_stats(const struct hn_ipc *ipc, struct hn_ipc_stats *st)
{
	*st = ipc->st;
	hn_rpc_server_stats(ipc->node, &st->node);
	hn_rpc_server_pipe_stats(ipc->node, &st->node_pipes);
}

bool hn_ipc_busy(const struct hn_ipc *ipc)
{
	return ipc->node && hn_rpc_server_busy(ipc->node) > 0;
}

/* --- daemon module ------------------------------------------------------ */

static int ipc_mod_open(struct hn_daemon *d, struct hn_error *err)
{
	struct hn_ipc_opts o = { 0 };

	if (!d->cfg || d->cfg->p2p_mode != HN_P2P_HOST)
		return 0;
	o.loop = d->loop;
	o.ledger = d->ledger;
	o.runtime_dir = d->cfg->runtime_dir;
	o.max_msg = d->cfg->ipc_max_msg;
	o.max_inflight = d->cfg->ipc_max_inflight;
	o.max_rate = d->cfg->ipc_max_rate;
	return hn_ipc_open(&o, &d->ipc, err);
}

static bool ipc_mod_busy(struct hn_daemon *d)
{
	return d->ipc && hn_ipc_busy(d->ipc);
}

static void ipc_mod_close(struct hn_daemon *d)
{
	hn_ipc_close(d->ipc);
	d->ipc = NULL;
}

const struct hn_daemon_module hn_ipc_module = {
	.name = "ipc",
	.open = ipc_mod_open,
	.busy = ipc_mod_busy,
	.close = ipc_mod_close,
};
