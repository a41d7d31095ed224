/*
 * hathor-p2p-host: runs the P2P plugin in its own process (ARCHITECTURE.md
 * "Processes"), spawned and watched by hathor-node's supervisor.
 *
 * Start-up: PR_SET_PDEATHSIG first (then a getppid() check: the parent may
 * already be gone), log setup in the core's format, subscribe to
 * events.ipc, dial node.ipc and say hello (protocol version and
 * capabilities), take the event baseline, load and start the plugin with a
 * node service over node.ipc, then dial p2p.<gen>.ipc and serve the core's
 * commands.  It exits when the core goes: SIGTERM (parent death or the
 * supervisor), the parent pid changing, or a lost node.ipc / p2p.ipc link.
 * Exit codes: 0 after SIGTERM/SIGINT, 1 on IPC loss or start-up failure,
 * 2 on usage errors.  With --status-fd N, a start-up failure (the plugin
 * loader's refusal, a failed init or start, no core) is also written to
 * fd N as one line, so the supervisor can report why a new plugin did not
 * come up; the fd is closed once the plugin runs.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "host.h"

#include "hn/log.h"

#define STARTUP_TIMEOUT 15.0
#define WATCH_PERIOD 0.2

static const char *const host_caps[] = { "node.v1", "events.v1", "p2p.v1",
					 NULL };
static const char *const need_node[] = { "node.v1", NULL };

/* Writes @msg as the start-up failure line (once) and closes the fd. */
static void status_line(struct host *hs, const char *msg)
{
	char line[600];
	int n;

	if (hs->status_fd < 0)
		return;
	if (msg) {
		n = snprintf(line, sizeof(line), "%s\n", msg);
		if (n > (int)sizeof(line) - 1)
			n = (int)sizeof(line) - 1;
		if (n > 0 && write(hs->status_fd, line, (size_t)n) < 0)
			hn_log(HN_LOG_DEBUG, hs->comp, "status fd: %s",
			       strerror(errno));
	}
	close(hs->status_fd);
	hs->status_fd = -1;
}

void host_stop(struct host *hs, const char *why, int code)
{
	if (hs->stopping)
		return;
	if (code)
		status_line(hs, why);
	hs->stopping = true;
	hs->exit_code = code;
	if (code)
		hn_log(HN_LOG_WARN, hs->comp, "exiting: %s", why);
	else
		hn_log(HN_LOG_INFO, hs->comp, "exiting: %s", why);
	ev_break(hs->loop, EVBREAK_ALL);
}

static void sig_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	host_stop(w->data, w->signum == SIGTERM ? "SIGTERM" : "SIGINT", 0);
}

static void watch_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct host *hs = w->data;

	if (hs->parent_pid && getppid() != hs->parent_pid)
		host_stop(hs, "parent process gone", 1);
	else if (!hs->ctx && ev_now(loop) - hs->start_mono > STARTUP_TIMEOUT)
		host_stop(hs, "start-up did not complete in time (is the core "
			  "listening?)", 1);
}

static void node_pipe_cb(void *arg, bool up)
{
	struct host *hs = arg;

	if (up)
		hs->node_was_up = true;
	else if (hs->node_was_up)
		host_stop(hs, "lost node.ipc link to the core", 1);
}

static void p2p_pipe_cb(void *arg, bool up)
{
	struct host *hs = arg;

	if (up)
		hs->p2p_was_up = true;
	else if (hs->p2p_was_up)
		host_stop(hs, "lost p2p.ipc link to the core", 1);
}

static int open_p2p(struct host *hs)
{
	struct hn_rpc_server_opts so = { 0 };
	struct hn_error err = { 0 };
	static const char *const p2p_caps[] = { "p2p.v1", NULL };

	so.link.loop = hs->loop;
	so.link.url = hs->p2p_url;
	so.link.listen = false;
	so.link.max_msg = hs->max_msg;
	so.link.n_ctx = 4;
	so.link.check_uid = true;
	so.link.peer_uid = getuid();
	so.link.name = "p2p.ipc";
	so.methods = host_p2p_methods;
	so.n_methods = host_p2p_n_methods;
	so.arg = hs;
	so.role = "p2p-host";
	so.caps = p2p_caps;
	so.require_hello = true;
	if (hn_rpc_server_open(&so, &hs->p2p, &err) < 0) {
		hn_log(HN_LOG_ERROR, hs->comp, "%s", err.msg);
		return err.code;
	}
	hn_rpc_server_on_pipe(hs->p2p, p2p_pipe_cb, hs);
	return 0;
}

static void start_plugin(struct host *hs)
{
	char err[512] = "";
	struct hn_plugin_open_opts oo = { .want_kind = HATHOR_KIND_P2P };
	const struct hathor_plugin_desc *d;

	oo.copy_dir = hs->copy_dir;

	if (hn_plugin_rt_load(hs->rt, hs->plugin_path, &oo, &hs->inst, err,
			      sizeof(err)) < 0) {
		hn_log(HN_LOG_ERROR, hs->comp, "%s", err);
		status_line(hs, err);
		host_stop(hs, "plugin refused", 1);
		return;
	}
	if (hn_plugin_inst_start(hs->inst, err, sizeof(err)) < 0) {
		char line[560];

		hn_log(HN_LOG_ERROR, hs->comp, "plugin start failed: %s", err);
		snprintf(line, sizeof(line), "plugin start failed: %.512s", err);
		status_line(hs, line);
		host_stop(hs, "plugin start failed", 1);
		return;
	}
	d = hn_plugin_inst_desc(hs->inst);
	hs->ops = hn_plugin_inst_p2p(hs->inst);
	hs->ctx = hn_plugin_inst_ctx(hs->inst);
	hn_log(HN_LOG_INFO, hs->comp, "plugin %s %s (abi %u.%u) started from "
	       "%s", d->name, d->version, d->abi_major, d->abi_minor,
	       hs->plugin_path);
	if (open_p2p(hs) < 0)
		host_stop(hs, "cannot serve p2p.ipc", 1);
	else
		status_line(hs, NULL);
}

static void baseline_done(void *arg, int rc, struct hn_rpc_resp *resp)
{
	struct host *hs = arg;
	struct json_object *ep = NULL, *ls = NULL;
	uint64_t last = 0;

	if (hs->stopping)
		return;
	if (rc < 0 || resp->is_error ||
	    !json_object_object_get_ex(resp->result, "epoch", &ep) ||
	    !json_object_object_get_ex(resp->result, "last_seq", &ls) ||
	    hn_rpc_v_u64(ls, &last, NULL) < 0 ||
	    !json_object_is_type(ep, json_type_string)) {
		host_stop(hs, "no event baseline from the core", 1);
		return;
	}
	host_events_baseline(hs, json_object_get_string(ep), last);
	start_plugin(hs);
}

static void hello_done(void *arg, int rc, struct hn_rpc_resp *resp)
{
	struct host *hs = arg;
	struct hn_rpc_hello h;
	struct hn_rpc_error e;

	if (hs->stopping)
		return;
	if (rc < 0) {
		hn_log(HN_LOG_ERROR, hs->comp, "hello on node.ipc failed: %s",
		       hn_strerror(rc));
		host_stop(hs, "no hello from the core", 1);
		return;
	}
	if (resp->is_error) {
		hn_log(HN_LOG_ERROR, hs->comp, "core refused hello: %s",
		       resp->error.message);
		host_stop(hs, "hello refused", 1);
		return;
	}
	if (hn_rpc_hello_check(resp->result, need_node, &h, &e) < 0) {
		hn_log(HN_LOG_ERROR, hs->comp, "core's hello: %s", e.message);
		host_stop(hs, "incompatible core", 1);
		return;
	}
	hs->node_hello = true;
	if (hn_rpc_call(hs->node, "heartbeat", NULL, 5.0, 0, baseline_done,
			hs) < 0)
		host_stop(hs, "cannot ask for the event baseline", 1);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hathor-p2p-host --plugin PATH (--runtime-dir DIR --gen N"
		" | --node URL --p2p URL --events URL)\n"
		"       [--listen-fd FD] [--parent-pid PID] [--config KEY=VALUE]"
		"...\n"
		"       [--log-level L] [--log-format text|json] [--max-msg B]"
		" [--inflight N]\n"
		"       [--call-timeout S] [--status-fd FD]\n");
}

static char *dup_url(const char *dir, const char *name)
{
	char *s;

	if (asprintf(&s, "ipc://%s/%s", dir, name) < 0)
		return NULL;
	return s;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "plugin", required_argument, NULL, 'P' },
		{ "runtime-dir", required_argument, NULL, 'r' },
		{ "gen", required_argument, NULL, 'g' },
		{ "node", required_argument, NULL, 'n' },
		{ "p2p", required_argument, NULL, 'p' },
		{ "events", required_argument, NULL, 'e' },
		{ "listen-fd", required_argument, NULL, 'l' },
		{ "parent-pid", required_argument, NULL, 'q' },
		{ "config", required_argument, NULL, 'c' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "log-format", required_argument, NULL, 'F' },
		{ "max-msg", required_argument, NULL, 'm' },
		{ "inflight", required_argument, NULL, 'i' },
		{ "call-timeout", required_argument, NULL, 't' },
		{ "status-fd", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct host hs;
	struct hn_plugin_rt_opts ro = { 0 };
	struct hn_rpc_link_opts lo = { 0 };
	struct hn_error err = { 0 };
	const char *rundir = NULL, *gen = NULL, *log_level = NULL;
	const char *log_format = NULL, *listen_fd = NULL;
	char *own[3] = { NULL, NULL, NULL }, *name = NULL;
	char **cfg = NULL;
	size_t n_cfg = 0, i;
	int c, rc;

	/* First: die with the parent (posix_spawn has no pre-exec hook). */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	memset(&hs, 0, sizeof(hs));
	hs.status_fd = -1;
	hs.max_msg = HN_RPC_DEFAULT_MAX_MSG;
	hs.inflight = 16;
	hs.call_timeout = 30.0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'P': hs.plugin_path = optarg; break;
		case 'r': rundir = hs.copy_dir = optarg; break;
		case 'g': gen = optarg; break;
		case 'n': hs.node_url = optarg; break;
		case 'p': hs.p2p_url = optarg; break;
		case 'e': hs.events_url = optarg; break;
		case 'l': listen_fd = optarg; break;
		case 'q': hs.parent_pid = strtol(optarg, NULL, 10); break;
		case 'c': {
			char **nc = realloc(cfg, (n_cfg + 1) * sizeof(*cfg));

			if (!nc)
				return 1;
			cfg = nc;
			cfg[n_cfg++] = optarg;
			break;
		}
		case 'L': log_level = optarg; break;
		case 'F': log_format = optarg; break;
		case 'm': hs.max_msg = strtoull(optarg, NULL, 10); break;
		case 'i': hs.inflight = (unsigned)strtoul(optarg, NULL, 10);
			break;
		case 't': hs.call_timeout = strtod(optarg, NULL); break;
		case 's': hs.status_fd = (int)strtol(optarg, NULL, 10);
			if (hs.status_fd >= 0)
				fcntl(hs.status_fd, F_SETFD, FD_CLOEXEC);
			break;
		case 'h': usage(stdout); free(cfg); return 0;
		default: usage(stderr); free(cfg); return 2;
		}
	}
	if (hs.parent_pid && getppid() != hs.parent_pid) {
		free(cfg);
		return 1;       /* the parent died before prctl took effect */
	}
	if (hn_log_setup(log_level, log_format, 2) < 0) {
		fprintf(stderr, "hathor-p2p-host: bad --log-level or "
			"--log-format\n");
		free(cfg);
		return 2;
	}
	snprintf(hs.comp, sizeof(hs.comp), "p2p-host[%d]", (int)getpid());
	if (rundir) {
		if (asprintf(&name, "p2p.%s.ipc", gen ? gen : "0") < 0)
			return 1;
		if (!hs.node_url)
			hs.node_url = own[0] = dup_url(rundir, "node.ipc");
		if (!hs.events_url)
			hs.events_url = own[1] = dup_url(rundir, "events.ipc");
		if (!hs.p2p_url)
			hs.p2p_url = own[2] = dup_url(rundir, name);
		free(name);
	}
	if (!hs.plugin_path || !hs.node_url || !hs.p2p_url || !hs.events_url ||
	    !hs.max_msg || !hs.inflight || hs.call_timeout <= 0) {
		usage(stderr);
		free(cfg);
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	hs.loop = ev_default_loop(0);
	hs.start_mono = ev_now(hs.loop);
	hs.start_wall = ev_time();
	ev_signal_init(&hs.sig_term, sig_cb, SIGTERM);
	ev_signal_init(&hs.sig_int, sig_cb, SIGINT);
	hs.sig_term.data = hs.sig_int.data = &hs;
	ev_signal_start(hs.loop, &hs.sig_term);
	ev_signal_start(hs.loop, &hs.sig_int);
	ev_timer_init(&hs.watch, watch_cb, WATCH_PERIOD, WATCH_PERIOD);
	hs.watch.data = &hs;
	ev_timer_start(hs.loop, &hs.watch);
	hn_log(HN_LOG_INFO, hs.comp, "starting: node %s, p2p %s, events %s",
	       hs.node_url, hs.p2p_url, hs.events_url);

	ro.loop = hs.loop;
	ro.process = hs.comp;
	ro.node = &host_node_ops;
	ro.node_ctx = &hs;
	ro.node_cancel = host_node_cancel;
	rc = hn_plugin_rt_new(&ro, &hs.rt);
	for (i = 0; rc == 0 && i < n_cfg; i++) {
		char *eq = strchr(cfg[i], '=');

		if (!eq) {
			hn_log(HN_LOG_ERROR, hs.comp, "--config '%s': expected "
			       "KEY=VALUE", cfg[i]);
			rc = HN_EINVAL;
			break;
		}
		*eq = 0;
		rc = hn_plugin_rt_config_add(hs.rt, cfg[i], eq + 1);
	}
	if (rc == 0 && listen_fd)
		rc = hn_plugin_rt_config_set(hs.rt, "p2p.listen_fd", listen_fd);
	free(cfg);
	if (rc < 0) {
		hs.exit_code = rc == HN_EINVAL ? 2 : 1;
		goto out;
	}
	if (host_events_open(&hs, &err) < 0) {
		hn_log(HN_LOG_ERROR, hs.comp, "%s", err.msg);
		hs.exit_code = 1;
		goto out;
	}
	lo.loop = hs.loop;
	lo.url = hs.node_url;
	lo.listen = false;
	lo.max_msg = hs.max_msg;
	lo.n_ctx = hs.inflight;
	lo.check_uid = true;
	lo.peer_uid = getuid();
	lo.name = "node.ipc";
	if (hn_rpc_client_open(&lo, &hs.node, &err) < 0) {
		hn_log(HN_LOG_ERROR, hs.comp, "%s", err.msg);
		hs.exit_code = 1;
		goto out;
	}
	hn_rpc_client_on_pipe(hs.node, node_pipe_cb, &hs);
	if (hn_rpc_call(hs.node, "hello", hn_rpc_hello_obj("p2p-host",
							   host_caps),
			STARTUP_TIMEOUT, 0, hello_done, &hs) < 0) {
		hs.exit_code = 1;
		goto out;
	}
	ev_run(hs.loop, 0);
out:
	if (hs.exit_code)
		status_line(&hs, "host start-up failed (see its log)");
	status_line(&hs, NULL);
	/* The plugin is unloaded (its pending node calls complete with
	 * ECLOSED); the nng sockets are not closed but left to the process
	 * exit.  With nng 1.5.2, closing a socket while one of its ipc pipes
	 * is between two reads of a message (the receive callback about to
	 * ask for the rest as the close stops the pipe's rx aio: the request
	 * is dropped and the protocol's receive never finishes) hangs
	 * nng_close() for good, and nng_fini() can panic on a mutex already
	 * destroyed; a host told to stop while events or replies come in
	 * would outlive its SIGTERM grace and be SIGKILLed.  Exiting closes
	 * every fd, which the core sees as the pipes going away. */
	hs.stopping = true;
	hs.ops = NULL;
	hs.ctx = NULL;
	if (hs.inst)
		hn_plugin_inst_unload(hs.inst);
	hs.inst = NULL;
	hn_plugin_rt_free(hs.rt);
	ev_timer_stop(hs.loop, &hs.watch);
	ev_signal_stop(hs.loop, &hs.sig_term);
	ev_signal_stop(hs.loop, &hs.sig_int);
	for (i = 0; i < 3; i++)
		free(own[i]);
	hn_log(HN_LOG_INFO, hs.comp, "exited with status %d", hs.exit_code);
	fflush(NULL);
	_exit(hs.exit_code);
}
