/*
 * admin.c: the admin socket (module "admin"); wire format and hook
 * contract in admin.h.
 *
 * One raw REP socket.  Its NNG_OPT_RECVFD is watched with a
 * level-triggered ev_io; each wakeup takes requests with a non-blocking
 * nng_recvmsg until EAGAIN or a budget.  Raw mode keeps the request's
 * routing header in the received message, so a reply can go out at any
 * time and in any order: the request message itself (body cleared, header
 * kept) carries the reply.  So a slow hook (a plugin reload) holds only its
 * own call; status and the other verbs keep being answered meanwhile.
 * Replies use a non-blocking send; on EAGAIN they wait in a small FIFO for
 * NNG_OPT_SENDFD.
 *
 * Invariants:
 *  - every call handed to a provider is on a->held until
 *    hn_admin_call_done() or a cancel; c->req is the message that will
 *    carry its reply, NULL once answered (by the timeout, say);
 *  - at most one plugin reload/load/unload is held (a->plugin_op);
 *  - g_admin is the open admin object of the process, or NULL.
 */
#include "admin.h"

#include <errno.h>
#include <grp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include <ev.h>
#include <json-c/json.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>

/* config.h has a comment containing a glob (-Wcomment). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcomment"
#include "config.h"
#pragma GCC diagnostic pop
#include "daemon.h"
#include "ledger.h"
#include "plugins.h"

#include "hathor/plugin.h"
#include "hn/err.h"
#include "hn/hex.h"
#include "hn/log.h"
#include "hn/network.h"
#include "hn/plugin_load.h"

/* The ledger is linked into hathor-node but not into every test that
 * opens this module; with a weak reference the admin links without it and
 * status reports "ledger not open" when d->ledger is NULL anyway. */
#pragma weak hn_ledger_best_block
#pragma weak hn_ledger_counts

#define ADMIN_COMP "admin"
#define ADMIN_RECV_BUDGET 16    /* requests per wakeup */
#define ADMIN_MAX_ARGS 8
#define ADMIN_JSON_DEPTH 16
#define ADMIN_SUN_PATH_MAX 107
#define ADMIN_MAX_HELD 16       /* calls held by providers at once */
#define ADMIN_MAX_PENDING 64    /* replies waiting for SENDFD */
#define ADMIN_SENDBUF 16        /* raw REP: replies nng may queue */

struct hn_admin_call {
	struct hn_admin *a;             /* owner */
	char verb[32];                  /* for logs and replies */
	nng_msg *req;                   /* carries the reply; NULL: answered */
	bool plugin_op;                 /* reload/load/unload */
	struct json_object *base;       /* plugin list: the core's part */
	ev_timer timer;                 /* a->call_timeout */
	struct hn_admin_call *next;     /* a->held list */
};

struct hn_admin {
	struct hn_daemon *d;            /* borrowed */
	nng_socket sock;
	bool sock_open;                 /* sock needs nng_close */
	char *path;                     /* socket file */
	char *url;                      /* "ipc://" + path */
	ev_io recv_w;                   /* on NNG_OPT_RECVFD */
	ev_io send_w;                   /* on NNG_OPT_SENDFD, while pending */
	nng_msg *pending[ADMIN_MAX_PENDING]; /* FIFO of unsent replies */
	size_t pend_head, n_pend;
	struct hn_admin_call *held;     /* calls held by the provider */
	unsigned n_held;                /* length of held */
	bool plugin_op;                 /* a plugin operation is held */
	double call_timeout;            /* seconds, HN_ADMIN_CALL_TIMEOUT */
	struct hn_plugin_rt *rt;        /* core's plugins, borrowed */
	bool stopping;                  /* stop(): no new requests */
	struct hn_admin_hooks hooks;    /* copy of the registered hooks */
	unsigned long n_requests;       /* served so far (status) */
	uint64_t peer_uid, peer_pid;    /* of the request being served */
};

static struct hn_admin_hooks g_hooks;   /* registered, all NULL: none */
static struct hn_admin *g_admin;        /* the open admin, or NULL */

/* --- replies ----------------------------------------------------------- */

static struct json_object *reply_ok(struct json_object *result)
{
	struct json_object *r = json_object_new_object();

	if (!result)
		result = json_object_new_object();
	json_object_object_add(r, "ok", json_object_new_boolean(1));
	json_object_object_add(r, "result", result);
	return r;
}

static struct json_object *reply_err(const char *code, const char *fmt, ...)
	HN_PRINTF(2, 3);

static struct json_object *reply_err(const char *code, const char *fmt, ...)
{
	struct json_object *r = json_object_new_object();
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	json_object_object_add(r, "ok", json_object_new_boolean(0));
	json_object_object_add(r, "error", json_object_new_string(msg));
	json_object_object_add(r, "code", json_object_new_string(code));
	return r;
}

static const char *code_of(int rc)
{
	switch (rc) {
	case HN_EUNSUPPORTED:
		return "unsupported";
	case HN_ECLOSED:
	case HN_ENOENT:
		return "unavailable";
	case HN_EINVAL:
		return "usage";
	default:
		return "failed";
	}
}

/* Takes requests again unless we stopped or too many replies wait. */
static void admin_resume(struct hn_admin *a)
{
	if (a->stopping || !a->sock_open ||
	    a->n_pend >= ADMIN_MAX_PENDING / 2)
		return;
	ev_io_start(a->d->loop, &a->recv_w);
}

/* Sends @reply (taken) in @req (taken: the request message, whose header
 * routes the reply back).  On EAGAIN the message waits for SENDFD. */
static void admin_send(struct hn_admin *a, nng_msg *req,
		       struct json_object *reply)
{
	size_t len;
	const char *s = json_object_to_json_string_length(reply,
		JSON_C_TO_STRING_PLAIN, &len);
	int rv;

	nng_msg_clear(req);
	rv = nng_msg_append(req, s, len);
	json_object_put(reply);
	if (rv != 0) {
		hn_err(ADMIN_COMP, "cannot build reply: %s", nng_strerror(rv));
		nng_msg_free(req);
		return;
	}
	if (a->n_pend == 0) {
		rv = nng_sendmsg(a->sock, req, NNG_FLAG_NONBLOCK);
		if (rv == 0)
			return;
		if (rv != NNG_EAGAIN) {
			hn_warn(ADMIN_COMP, "cannot send reply: %s",
				nng_strerror(rv));
			nng_msg_free(req);
			return;
		}
	}
	if (a->n_pend == ADMIN_MAX_PENDING) {
		hn_warn(ADMIN_COMP, "reply dropped: %d replies already wait "
			"for the socket", ADMIN_MAX_PENDING);
		nng_msg_free(req);
		return;
	}
	a->pending[(a->pend_head + a->n_pend++) % ADMIN_MAX_PENDING] = req;
	ev_io_start(a->d->loop, &a->send_w);
	if (a->n_pend >= ADMIN_MAX_PENDING / 2)
		ev_io_stop(a->d->loop, &a->recv_w);
}

static void send_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct hn_admin *a = w->data;
	int rv;

	while (a->n_pend) {
		rv = nng_sendmsg(a->sock, a->pending[a->pend_head],
				 NNG_FLAG_NONBLOCK);
		if (rv == NNG_EAGAIN)
			return;
		if (rv != 0) {
			hn_warn(ADMIN_COMP, "cannot send reply: %s",
				nng_strerror(rv));
			nng_msg_free(a->pending[a->pend_head]);
		}
		a->pend_head = (a->pend_head + 1) % ADMIN_MAX_PENDING;
		a->n_pend--;
	}
	ev_io_stop(loop, w);
	admin_resume(a);
}

/* --- calls held by hooks ----------------------------------------------- */

static void call_timer_cb(struct ev_loop *loop, ev_timer *w, int revents);

/* Makes a call for @req (taken) and puts it on the held list. */
static struct hn_admin_call *call_hold(struct hn_admin *a, const char *verb,
				       nng_msg *req, bool plugin_op)
{
	struct hn_admin_call *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->a = a;
	snprintf(c->verb, sizeof(c->verb), "%s", verb);
	c->req = req;
	c->plugin_op = plugin_op;
	ev_timer_init(&c->timer, call_timer_cb, a->call_timeout, 0.);
	c->timer.data = c;
	ev_timer_start(a->d->loop, &c->timer);
	c->next = a->held;
	a->held = c;
	a->n_held++;
	if (plugin_op)
		a->plugin_op = true;
	return c;
}

/* Takes @c off the held list and frees it (its reply, if still owed, is
 * dropped: callers answer first). */
static void call_release(struct hn_admin_call *c)
{
	struct hn_admin *a = c->a;
	struct hn_admin_call **pp;

	for (pp = &a->held; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			a->n_held--;
			break;
		}
	if (c->plugin_op)
		a->plugin_op = false;
	ev_timer_stop(a->d->loop, &c->timer);
	nng_msg_free(c->req);
	json_object_put(c->base);
	free(c);
}

/* Sends @reply (taken) for @c unless it was answered already. */
static void call_answer(struct hn_admin_call *c, struct json_object *reply)
{
	if (!c->req || !c->a->sock_open) {
		json_object_put(reply);
		return;
	}
	admin_send(c->a, c->req, reply);
	c->req = NULL;
	ev_timer_stop(c->a->d->loop, &c->timer);
}

static void call_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hn_admin_call *c = w->data;

	hn_warn(ADMIN_COMP, "'%s' not completed after %g s, answering "
		"timeout", c->verb, c->a->call_timeout);
	call_answer(c, reply_err("timeout", "not completed within %g s",
				 c->a->call_timeout));
}

/* Merges the provider's plugin list into the core's. */
static struct json_object *merge_plugins(struct json_object *base,
					 struct json_object *result)
{
	struct json_object *dst, *src;
	size_t i, n;

	if (!json_object_object_get_ex(base, "plugins", &dst))
		return base;
	if (result && json_object_object_get_ex(result, "plugins", &src) &&
	    json_object_is_type(src, json_type_array)) {
		n = json_object_array_length(src);
		for (i = 0; i < n; i++)
			json_object_array_add(dst, json_object_get(
				json_object_array_get_idx(src, i)));
	}
	json_object_object_del(base, "note");
	return base;
}

void hn_admin_call_done(struct hn_admin_call *c, int rc,
			struct json_object *result, const char *msg)
{
	struct json_object *reply;

	if (!c)
		return;
	if (!c->req) {                  /* timed out: drop the late result */
		hn_info(ADMIN_COMP, "late completion of '%s' dropped",
			c->verb);
		json_object_put(result);
		call_release(c);
		return;
	}
	if (rc == 0 && c->base) {
		reply = reply_ok(merge_plugins(c->base, result));
		c->base = NULL;
		json_object_put(result);
	} else if (rc == 0) {
		reply = reply_ok(result);
	} else {
		reply = reply_err(code_of(rc), "%s", msg ? msg :
				  hn_strerror(rc));
		json_object_put(result);
	}
	call_answer(c, reply);
	call_release(c);
}

/* Cancels every held call: the provider is told, unanswered ones get
 * @why.  Used at close and when hooks are replaced. */
static void admin_cancel_held(struct hn_admin *a,
			      const struct hn_admin_hooks *old,
			      const char *why)
{
	struct hn_admin_call *c;

	while ((c = a->held) != NULL) {
		if (old->cancel)
			old->cancel(old->ctx, c);
		call_answer(c, reply_err("unavailable", "%s", why));
		call_release(c);
	}
}

void hn_admin_hooks_register(const struct hn_admin_hooks *h)
{
	struct hn_admin_hooks old = g_hooks;

	if (h)
		g_hooks = *h;
	else
		memset(&g_hooks, 0, sizeof(g_hooks));
	if (!g_admin)
		return;
	admin_cancel_held(g_admin, &old, "provider went away");
	g_admin->hooks = g_hooks;
}

void hn_admin_set_call_timeout(struct hn_admin *a, double seconds)
{
	if (a && seconds > 0)
		a->call_timeout = seconds;
}

/* --- verbs ------------------------------------------------------------- */

static const char *p2p_mode_name(enum hn_p2p_mode m)
{
	switch (m) {
	case HN_P2P_HOST:
		return "host";
	case HN_P2P_INPROCESS:
		return "inprocess";
	case HN_P2P_OFF:
		return "off";
	}
	return "unknown";
}

static struct json_object *v_status(struct hn_admin *a)
{
	struct hn_daemon *d = a->d;
	const struct hn_config *cfg = d->cfg;
	struct json_object *r = json_object_new_object();
	struct json_object *bb;
	struct hn_block_info bi;
	uint64_t n_blocks, n_txs;
	char hex[65];
	const char *net = d->net ? d->net->name :
		(cfg && cfg->network ? cfg->network : "unknown");
	int rc;

	json_object_object_add(r, "network", json_object_new_string(net));
	json_object_object_add(r, "pid", json_object_new_int64(getpid()));
	json_object_object_add(r, "uptime", json_object_new_double(
		ev_now(d->loop) - d->start_mono));
	json_object_object_add(r, "started_at",
			       json_object_new_int64(d->start_time));
	json_object_object_add(r, "version",
			       json_object_new_string(HN_VERSION));
	json_object_object_add(r, "p2p_mode", json_object_new_string(
		cfg ? p2p_mode_name(cfg->p2p_mode) : "unknown"));
	json_object_object_add(r, "p2p_running",
			       json_object_new_boolean(a->hooks.peers != NULL));
	json_object_object_add(r, "stopping",
			       json_object_new_boolean(d->stopping));
	json_object_object_add(r, "admin_requests",
			       json_object_new_int64((int64_t)a->n_requests));
	json_object_object_add(r, "loop", hn_loopmon_json(&d->loopmon));
	if (cfg && cfg->data_dir)
		json_object_object_add(r, "data_dir",
				       json_object_new_string(cfg->data_dir));
	if (!d->ledger || !hn_ledger_best_block) {
		json_object_object_add(r, "best_block", NULL);
		json_object_object_add(r, "best_block_error",
				       json_object_new_string("ledger not open"));
		return r;
	}
	if ((rc = hn_ledger_best_block(d->ledger, &bi)) < 0) {
		json_object_object_add(r, "best_block", NULL);
		json_object_object_add(r, "best_block_error",
				       json_object_new_string(hn_strerror(rc)));
		return r;
	}
	hn_hex_encode(bi.hash, 32, hex);
	bb = json_object_new_object();
	json_object_object_add(bb, "height",
			       json_object_new_int64((int64_t)bi.height));
	json_object_object_add(bb, "hash", json_object_new_string(hex));
	json_object_object_add(bb, "timestamp",
			       json_object_new_int64(bi.timestamp));
	json_object_object_add(r, "best_block", bb);
	if (hn_ledger_counts && hn_ledger_counts(d->ledger, &n_blocks,
						 &n_txs) == 0) {
		json_object_object_add(r, "blocks",
				       json_object_new_int64((int64_t)n_blocks));
		json_object_object_add(r, "transactions",
				       json_object_new_int64((int64_t)n_txs));
	}
	return r;
}

static struct json_object *v_version(void)
{
	struct json_object *r = json_object_new_object();
	char abi[32];

	snprintf(abi, sizeof(abi), "%u.%u", HATHOR_ABI_MAJOR,
		 HATHOR_ABI_MINOR);
	json_object_object_add(r, "version",
			       json_object_new_string(HN_VERSION));
	json_object_object_add(r, "plugin_abi", json_object_new_string(abi));
	json_object_object_add(r, "nng", json_object_new_string(
		nng_version()));
	json_object_object_add(r, "json_c", json_object_new_string(
		json_c_version()));
	snprintf(abi, sizeof(abi), "%d.%d", ev_version_major(),
		 ev_version_minor());
	json_object_object_add(r, "libev", json_object_new_string(abi));
	return r;
}

static struct json_object *core_plugins(struct hn_admin *a)
{
	struct json_object *r = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	struct hn_plugin_inst *in;
	size_t i;

	json_object_object_add(r, "plugins", arr);
	if (!a->rt) {
		json_object_object_add(r, "note", json_object_new_string(
			"no plugin runtime in the core process"));
		return r;
	}
	for (i = 0; (in = hn_plugin_rt_inst(a->rt, i)) != NULL; i++) {
		const struct hathor_plugin_desc *desc = hn_plugin_inst_desc(in);
		struct json_object *p = json_object_new_object();

		json_object_object_add(p, "name",
				       json_object_new_string(desc->name));
		json_object_object_add(p, "version",
				       json_object_new_string(desc->version));
		json_object_object_add(p, "kind", json_object_new_string(
			hn_plugin_kind_name(desc->kind)));
		json_object_object_add(p, "path", json_object_new_string(
			hn_plugin_inst_path(in)));
		json_object_object_add(p, "process",
				       json_object_new_string("core"));
		json_object_object_add(p, "started", json_object_new_boolean(
			hn_plugin_inst_started(in)));
		json_object_array_add(arr, p);
	}
	return r;
}

/* "plugin load NAME|PATH" / "plugin unload NAME" without a provider hook:
 * the core's own runtime (core/plugins.c), synchronously (dlopen, init and
 * start are quick, and every plugin function runs on this loop anyway). */
static struct json_object *core_plugin_op(struct hn_admin *a, const char *verb,
					  const char *arg)
{
	struct hn_error err = { 0 };
	const struct hathor_plugin_desc *desc;
	struct json_object *r;
	char *path = NULL;

	if (!a->rt)
		return reply_err("unsupported", "no plugin runtime in the "
				 "core process");
	if (a->plugin_op)
		return reply_err("failed", "another plugin operation is in "
				 "progress");
	if (strcmp(verb, "plugin unload") == 0) {
		if (hn_plugins_unload(a->d, arg, &err) < 0)
			return reply_err(code_of(err.code), "%s", err.msg);
		r = json_object_new_object();
		json_object_object_add(r, "name", json_object_new_string(arg));
		return reply_ok(r);
	}
	if (hn_plugins_load(a->d, arg, &desc, &path, &err) < 0)
		return reply_err("failed", "%s", err.msg);
	r = json_object_new_object();
	json_object_object_add(r, "name", json_object_new_string(desc->name));
	json_object_object_add(r, "version",
			       json_object_new_string(desc->version ?
						      desc->version : ""));
	json_object_object_add(r, "kind", json_object_new_string(
		hn_plugin_kind_name(desc->kind)));
	json_object_object_add(r, "path", json_object_new_string(path));
	json_object_object_add(r, "process", json_object_new_string("core"));
	free(path);
	return reply_ok(r);
}

/* Hook verbs.  The call is held before the hook runs, so a hook may
 * complete it synchronously.  Returns a reply to send now, or NULL when
 * the call took @req (*@taken). */
static struct json_object *v_hook(struct hn_admin *a, const char *verb,
				  const char *arg, nng_msg *req, bool *taken)
{
	const struct hn_admin_hooks *h = &a->hooks;
	bool plugin_op = strcmp(verb, "plugin reload") == 0 ||
		strcmp(verb, "plugin load") == 0 ||
		strcmp(verb, "plugin unload") == 0;
	struct hn_admin_call *c;
	struct json_object *base = NULL;
	int rc;

	if (strcmp(verb, "peers") == 0 && !h->peers)
		return reply_err("unavailable", "p2p not running%s",
				 a->d->cfg && a->d->cfg->p2p_mode == HN_P2P_OFF
				 ? " (p2p-mode off)" : "");
	if (strcmp(verb, "plugin list") == 0) {
		base = core_plugins(a);
		if (!h->plugin_list)
			return reply_ok(base);
	}
	if ((strcmp(verb, "plugin load") == 0 && !h->plugin_load) ||
	    (strcmp(verb, "plugin unload") == 0 && !h->plugin_unload))
		return core_plugin_op(a, verb, arg);
	if (strcmp(verb, "plugin reload") == 0 && !h->plugin_reload)
		return reply_err("unsupported", "not supported by this build");
	if (plugin_op && a->plugin_op)
		return reply_err("failed", "another plugin operation is in "
				 "progress");
	if (a->n_held >= ADMIN_MAX_HELD) {
		json_object_put(base);
		return reply_err("failed", "too many requests in progress");
	}
	if (!(c = call_hold(a, verb, req, plugin_op))) {
		json_object_put(base);
		return reply_err("failed", "out of memory");
	}
	c->base = base;
	*taken = true;
	if (strcmp(verb, "peers") == 0)
		rc = h->peers(h->ctx, c);
	else if (strcmp(verb, "plugin list") == 0)
		rc = h->plugin_list(h->ctx, c);
	else if (strcmp(verb, "plugin reload") == 0)
		rc = h->plugin_reload(h->ctx, arg, c);
	else if (strcmp(verb, "plugin load") == 0)
		rc = h->plugin_load(h->ctx, arg, c);
	else
		rc = h->plugin_unload(h->ctx, arg, c);
	if (rc < 0) {                   /* refused: @c is ours again */
		call_answer(c, reply_err(code_of(rc), "%s", hn_strerror(rc)));
		call_release(c);
	}
	return NULL;
}

static const char *current_level(void)
{
	if (hn_log_enabled(HN_LOG_DEBUG))
		return "debug";
	if (hn_log_enabled(HN_LOG_INFO))
		return "info";
	if (hn_log_enabled(HN_LOG_WARN))
		return "warn";
	return "error";
}

static struct json_object *v_log_level(struct hn_admin *a, const char *arg)
{
	struct json_object *r;
	enum hn_log_level lvl;
	const char *old = current_level();

	if (arg) {
		if (hn_log_level_parse(arg, &lvl) < 0)
			return reply_err("usage", "unknown level '%s' (error, "
					 "warn, info, debug)", arg);
		if (hn_log_setup(arg, NULL, -1) < 0)
			return reply_err("failed", "cannot set level '%s'",
					 arg);
		hn_info(ADMIN_COMP, "log level %s -> %s", old, arg);
		if (a->hooks.log_level)
			a->hooks.log_level(a->hooks.ctx, arg);
	}
	r = json_object_new_object();
	json_object_object_add(r, "level", json_object_new_string(
		current_level()));
	json_object_object_add(r, "previous", json_object_new_string(old));
	return reply_ok(r);
}

/* Verb table: name, number of arguments (min, max). */
static const struct {
	const char *verb;
	unsigned min_args, max_args;
} verbs[] = {
	{ "status", 0, 0 },
	{ "version", 0, 0 },
	{ "peers", 0, 0 },
	{ "log-level", 0, 1 },
	{ "plugin list", 0, 0 },
	{ "plugin reload", 1, 1 },
	{ "plugin load", 1, 1 },
	{ "plugin unload", 1, 1 },
};

/* Parses and dispatches the request in @m.  Returns the reply, or NULL
 * when a hook took @m (*@taken). */
static struct json_object *admin_dispatch(struct hn_admin *a, nng_msg *m,
					  bool *taken)
{
	const char *req = nng_msg_body(m);
	size_t len = nng_msg_len(m);
	struct json_tokener *tok = json_tokener_new_ex(ADMIN_JSON_DEPTH);
	struct json_object *root = NULL, *jv, *ja, *reply = NULL;
	const char *verb, *args[ADMIN_MAX_ARGS];
	size_t i, n_args = 0, k;

	*taken = false;
	if (!tok)
		return reply_err("failed", "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	root = json_tokener_parse_ex(tok, req, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    json_tokener_get_parse_end(tok) != len) {
		reply = reply_err("usage", "request is not one JSON object");
		goto out;
	}
	if (!json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "verb", &jv) ||
	    !json_object_is_type(jv, json_type_string)) {
		reply = reply_err("usage", "request has no \"verb\" string");
		goto out;
	}
	verb = json_object_get_string(jv);
	if (json_object_object_get_ex(root, "args", &ja)) {
		if (!json_object_is_type(ja, json_type_array) ||
		    json_object_array_length(ja) > ADMIN_MAX_ARGS) {
			reply = reply_err("usage", "\"args\" must be an array "
					  "of at most %d strings",
					  ADMIN_MAX_ARGS);
			goto out;
		}
		n_args = json_object_array_length(ja);
		for (i = 0; i < n_args; i++) {
			struct json_object *s = json_object_array_get_idx(ja,
									  i);

			if (!json_object_is_type(s, json_type_string) ||
			    json_object_get_string_len(s) == 0) {
				reply = reply_err("usage", "\"args\" must be "
						  "non-empty strings");
				goto out;
			}
			args[i] = json_object_get_string(s);
		}
	}
	for (k = 0; k < sizeof(verbs) / sizeof(verbs[0]); k++)
		if (strcmp(verbs[k].verb, verb) == 0)
			break;
	if (k == sizeof(verbs) / sizeof(verbs[0])) {
		reply = reply_err("usage", "unknown verb '%.40s'", verb);
		goto out;
	}
	if (n_args < verbs[k].min_args || n_args > verbs[k].max_args) {
		reply = reply_err("usage", "'%s' takes %u to %u arguments, "
				  "got %zu", verb, verbs[k].min_args,
				  verbs[k].max_args, n_args);
		goto out;
	}
	/* What changes the node is logged with who asked (SO_PEERCRED). */
	if ((strncmp(verb, "plugin ", 7) == 0 &&
	     strcmp(verb, "plugin list") != 0) ||
	    (strcmp(verb, "log-level") == 0 && n_args))
		hn_info(ADMIN_COMP, "'%s%s%s' from uid %lld pid %lld", verb,
			n_args ? " " : "", n_args ? args[0] : "",
			(long long)a->peer_uid, (long long)a->peer_pid);
	else
		hn_debug(ADMIN_COMP, "request '%s'", verb);
	if (strcmp(verb, "status") == 0)
		reply = reply_ok(v_status(a));
	else if (strcmp(verb, "version") == 0)
		reply = reply_ok(v_version());
	else if (strcmp(verb, "log-level") == 0)
		reply = v_log_level(a, n_args ? args[0] : NULL);
	else
		reply = v_hook(a, verb, n_args ? args[0] : NULL, m, taken);
out:
	json_object_put(root);
	json_tokener_free(tok);
	return reply;
}

static void recv_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct hn_admin *a = w->data;
	struct json_object *reply;
	unsigned n;
	nng_msg *m;
	bool taken;
	int rv;

	for (n = 0; n < ADMIN_RECV_BUDGET; n++) {
		if (a->stopping || a->n_pend >= ADMIN_MAX_PENDING / 2) {
			ev_io_stop(loop, w);
			return;
		}
		rv = nng_recvmsg(a->sock, &m, NNG_FLAG_NONBLOCK);
		if (rv == NNG_EAGAIN)
			return;
		if (rv != 0) {
			hn_warn(ADMIN_COMP, "receive failed: %s",
				nng_strerror(rv));
			ev_io_stop(loop, w);
			return;
		}
		a->n_requests++;
		a->peer_uid = a->peer_pid = UINT64_MAX;    /* -1: unknown */
		nng_pipe_get_uint64(nng_msg_get_pipe(m), NNG_OPT_IPC_PEER_UID,
				    &a->peer_uid);
		nng_pipe_get_uint64(nng_msg_get_pipe(m), NNG_OPT_IPC_PEER_PID,
				    &a->peer_pid);
		reply = admin_dispatch(a, m, &taken);
		if (!taken)
			admin_send(a, m, reply);
	}
}

/* --- module ------------------------------------------------------------ */

/* --- module ------------------------------------------------------------ */

void hn_admin_set_plugin_rt(struct hn_admin *a, struct hn_plugin_rt *rt)
{
	if (a)
		a->rt = rt;
}

const char *hn_admin_socket_path(const struct hn_admin *a)
{
	return a ? a->path : NULL;
}

static void admin_free(struct hn_admin *a)
{
	if (!a)
		return;
	if (a->d && a->d->loop) {
		ev_io_stop(a->d->loop, &a->recv_w);
		ev_io_stop(a->d->loop, &a->send_w);
	}
	while (a->n_pend) {
		nng_msg_free(a->pending[a->pend_head]);
		a->pend_head = (a->pend_head + 1) % ADMIN_MAX_PENDING;
		a->n_pend--;
	}
	if (a->sock_open)
		nng_close(a->sock);     /* unlinks the socket file */
	free(a->path);
	free(a->url);
	free(a);
}

/* Group ownership and a final check of what nng created. */
static int admin_check_socket(struct hn_admin *a, struct hn_error *err)
{
	const char *group = a->d->cfg ? a->d->cfg->admin_group : NULL;
	struct stat st;

	if (group && *group) {
		struct group *gr = getgrnam(group);

		if (!gr)
			return hn_error_set(err, HN_EINVAL, "admin: unknown "
					    "admin group '%s'", group);
		if (chown(a->path, (uid_t)-1, gr->gr_gid) < 0)
			return hn_error_set(err, -errno, "admin: cannot give "
					    "'%s' to group '%s': %s", a->path,
					    group, strerror(errno));
	}
	if (lstat(a->path, &st) < 0)
		return hn_error_set(err, -errno, "admin: '%s': %s", a->path,
				    strerror(errno));
	if (!S_ISSOCK(st.st_mode) || (st.st_mode & 07777) != 0660)
		return hn_error_set(err, HN_EIO, "admin: '%s' is not a socket "
				    "with mode 0660 (mode %o)", a->path,
				    (unsigned)(st.st_mode & 07777));
	return 0;
}

static int admin_open(struct hn_daemon *d, struct hn_error *err)
{
	const struct hn_config *cfg = d->cfg;
	struct hn_admin *a;
	nng_listener l;
	int rv, rfd, sfd, rc;

	if (!d->loop)
		return hn_error_set(err, HN_EINVAL, "admin: no loop");
	if (!(a = calloc(1, sizeof(*a))))
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	a->d = d;
	if (cfg && cfg->admin_socket)
		a->path = strdup(cfg->admin_socket);
	else if (cfg && cfg->runtime_dir &&
		 asprintf(&a->path, "%s/admin.ipc", cfg->runtime_dir) < 0)
		a->path = NULL;
	if (!a->path) {
		admin_free(a);
		return hn_error_set(err, HN_EINVAL, "admin: no runtime dir "
				    "or admin socket configured");
	}
	if (strlen(a->path) > ADMIN_SUN_PATH_MAX) {
		rc = hn_error_set(err, HN_EINVAL, "admin: socket path longer "
				  "than %d bytes: '%.80s...'",
				  ADMIN_SUN_PATH_MAX, a->path);
		admin_free(a);
		return rc;
	}
	if (asprintf(&a->url, "ipc://%s", a->path) < 0) {
		a->url = NULL;
		admin_free(a);
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	}
	a->call_timeout = HN_ADMIN_CALL_TIMEOUT;
	if ((rv = nng_rep0_open_raw(&a->sock)) != 0) {
		admin_free(a);
		return hn_error_set(err, HN_EIO, "admin: cannot open socket: "
				    "%s", nng_strerror(rv));
	}
	a->sock_open = true;
	/* Raw REP: without a send buffer a second non-blocking reply in a
	 * row gets EAGAIN (as raw REQ, IPC.md section 1). */
	if ((rv = nng_socket_set_int(a->sock, NNG_OPT_SENDBUF,
				     ADMIN_SENDBUF)) != 0) {
		admin_free(a);
		return hn_error_set(err, HN_EIO, "admin: cannot set send "
				    "buffer: %s", nng_strerror(rv));
	}
	if ((rv = nng_listener_create(&l, a->sock, a->url)) != 0 ||
	    (rv = nng_listener_set_int(l, NNG_OPT_IPC_PERMISSIONS,
				       0660)) != 0 ||
	    (rv = nng_listener_set_size(l, NNG_OPT_RECVMAXSZ,
					HN_ADMIN_MAX_REQUEST)) != 0 ||
	    (rv = nng_listener_start(l, 0)) != 0) {
		rc = hn_error_set(err, rv == NNG_EADDRINUSE ? HN_EEXIST :
				  HN_EIO, "admin: cannot listen on '%s': %s%s",
				  a->path, nng_strerror(rv),
				  rv == NNG_EADDRINUSE ? " (another node "
				  "serves it)" : "");
		admin_free(a);
		return rc;
	}
	if ((rc = admin_check_socket(a, err)) < 0) {
		admin_free(a);
		return rc;
	}
	if ((rv = nng_socket_get_int(a->sock, NNG_OPT_RECVFD, &rfd)) != 0 ||
	    (rv = nng_socket_get_int(a->sock, NNG_OPT_SENDFD, &sfd)) != 0) {
		admin_free(a);
		return hn_error_set(err, HN_EIO, "admin: no poll fd: %s",
				    nng_strerror(rv));
	}
	ev_io_init(&a->recv_w, recv_cb, rfd, EV_READ);
	a->recv_w.data = a;
	ev_io_init(&a->send_w, send_cb, sfd, EV_READ);
	a->send_w.data = a;
	a->hooks = g_hooks;
	ev_io_start(d->loop, &a->recv_w);
	d->admin = a;
	g_admin = a;
	hn_info(ADMIN_COMP, "admin socket %s", a->path);
	return 0;
}

static void admin_stop(struct hn_daemon *d)
{
	struct hn_admin *a = d->admin;

	if (!a)
		return;
	a->stopping = true;
	ev_io_stop(d->loop, &a->recv_w);
}

static bool admin_busy(struct hn_daemon *d)
{
	struct hn_admin *a = d->admin;

	struct hn_admin_call *c;

	if (!a)
		return false;
	if (a->n_pend)
		return true;
	for (c = a->held; c; c = c->next)
		if (c->req)
			return true;
	return false;
}

static void admin_close(struct hn_daemon *d)
{
	struct hn_admin *a = d->admin;

	if (!a)
		return;
	admin_cancel_held(a, &a->hooks, "node is shutting down");
	if (g_admin == a)
		g_admin = NULL;
	admin_free(a);
	d->admin = NULL;
}

const struct hn_daemon_module hn_admin_module = {
	.name = "admin",
	.open = admin_open,
	.stop = admin_stop,
	.busy = admin_busy,
	.close = admin_close,
};
