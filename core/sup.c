/*
 * sup.c: the hathor-p2p-host supervisor (core/sup.h) and the "sup" daemon
 * module.
 *
 * Reaping: libev's default loop reaps every child itself (its SIGCHLD
 * handler), so there the exit comes from an ev_child started right after
 * posix_spawn (the loop cannot iterate in between).  On any other loop
 * (tests) nobody else reaps: the pidfd becomes readable at exit and we
 * waitpid() the pid ourselves.  Signals go through the pidfd, which can
 * never hit a reused pid.
 */
#include "sup.h"

#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netdb.h>
#include <signal.h>
#include <stdarg.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "ipc.h"

/* config.h has a comment containing a glob (-Wcomment). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcomment"
#include "config.h"
#pragma GCC diagnostic pop
#include "daemon.h"

#include "hn/err.h"
#include "hn/log.h"

extern char **environ;

#define SUP_COMP "sup"
#define SUP_MAX_ARGS 64

struct hn_sup {
	struct hn_sup_opts o;
	struct ev_loop *loop;
	struct hn_ipc *ipc;
	bool default_loop;

	enum hn_sup_state state;
	bool stopping;
	pid_t pid;
	int pidfd;
	unsigned gen;
	double spawned_at, up_at;
	double backoff;
	unsigned misses;
	bool hb_inflight, hello_inflight;
	uint64_t bad;
	size_t rss;
	char reason[96];                /* set when we end the host */

	ev_child child_w;
	ev_io pidfd_w;
	ev_timer hb_w, kill_w, restart_w;

	struct hn_sup_stats st;
	char max_msg_arg[32], gen_arg[16], ppid_arg[16];
};

static void spawn_host(struct hn_sup *s);

/* --- ending a host ------------------------------------------------------ */

static void send_signal(struct hn_sup *s, int sig)
{
	if (s->pidfd >= 0 && pidfd_send_signal(s->pidfd, sig, NULL, 0) == 0)
		return;
	if (s->pid > 0 && s->pidfd < 0)
		kill(s->pid, sig);
}

static void kill_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hn_sup *s = w->data;

	if (!s->pid)
		return;
	hn_log(HN_LOG_WARN, SUP_COMP, "p2p host pid %d did not exit %.1fs "
	       "after SIGTERM: SIGKILL", (int)s->pid, s->o.term_grace);
	send_signal(s, SIGKILL);
}

/* Ends the current host (SIGTERM, SIGKILL after the grace period). */
static void end_host(struct hn_sup *s, const char *fmt, ...)
	HN_PRINTF(2, 3);

static void end_host(struct hn_sup *s, const char *fmt, ...)
{
	va_list ap;

	if (!s->pid || s->state == HN_SUP_KILLING)
		return;
	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
	hn_log(HN_LOG_WARN, SUP_COMP, "ending p2p host pid %d: %s",
	       (int)s->pid, s->reason);
	s->state = HN_SUP_KILLING;
	send_signal(s, SIGTERM);
	ev_timer_set(&s->kill_w, s->o.term_grace, 0);
	ev_timer_start(s->loop, &s->kill_w);
}

static void describe_status(int st, char *buf, size_t len)
{
	if (WIFEXITED(st))
		snprintf(buf, len, "exit %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "signal %d%s", WTERMSIG(st),
			 WCOREDUMP(st) ? " (core dumped)" : "");
	else
		snprintf(buf, len, "status 0x%x", (unsigned)st);
}

static void restart_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hn_sup *s = w->data;

	if (!s->stopping && !s->pid)
		spawn_host(s);
}

static void schedule_restart(struct hn_sup *s, double delay)
{
	s->state = HN_SUP_IDLE;
	ev_timer_set(&s->restart_w, delay, 0);
	ev_timer_start(s->loop, &s->restart_w);
	s->backoff = s->backoff * 2 > s->o.backoff_max ? s->o.backoff_max :
		     s->backoff * 2;
	s->st.next_backoff = s->backoff;
}

static void host_exited(struct hn_sup *s, int status)
{
	double now = ev_now(s->loop), uptime = now - s->spawned_at;
	char what[64];
	pid_t pid = s->pid;

	if (s->default_loop)
		ev_child_stop(s->loop, &s->child_w);
	else
		ev_io_stop(s->loop, &s->pidfd_w);
	if (s->pidfd >= 0)
		close(s->pidfd);
	s->pidfd = -1;
	s->pid = 0;
	ev_timer_stop(s->loop, &s->kill_w);
	describe_status(status, what, sizeof(what));
	if (!s->reason[0])
		snprintf(s->reason, sizeof(s->reason), "exited by itself");
	s->st.last_status = status;
	snprintf(s->st.last_exit, sizeof(s->st.last_exit), "%s", what);
	snprintf(s->st.last_reason, sizeof(s->st.last_reason), "%s",
		 s->reason);
	/* Calls in flight on this generation's p2p.ipc fail now. */
	hn_ipc_p2p_close(s->ipc);
	s->hb_inflight = s->hello_inflight = false;
	if (s->stopping) {
		hn_log(HN_LOG_INFO, SUP_COMP, "p2p host pid %d (gen %u) "
		       "ended: %s; reason: %s; rss %zu KB; uptime %.1fs",
		       (int)pid, s->gen, what, s->reason, s->rss / 1024,
		       uptime);
		s->state = HN_SUP_STOPPED;
		ev_timer_stop(s->loop, &s->hb_w);
		return;
	}
	if (s->up_at > 0 && now - s->up_at >= s->o.healthy_reset)
		s->backoff = s->o.backoff_min;
	s->st.restarts++;
	hn_log(HN_LOG_WARN, SUP_COMP, "p2p host pid %d (gen %u) ended: %s; "
	       "reason: %s; rss %zu KB; uptime %.1fs; restart #%u in %.1fs",
	       (int)pid, s->gen, what, s->reason, s->rss / 1024, uptime,
	       s->st.restarts, s->backoff);
	s->reason[0] = 0;
	schedule_restart(s, s->backoff);
}

static void child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct hn_sup *s = w->data;

	if (w->rpid == s->pid)
		host_exited(s, w->rstatus);
}

static void pidfd_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct hn_sup *s = w->data;
	int st = 0;
	pid_t r = waitpid(s->pid, &st, WNOHANG);

	if (r == s->pid)
		host_exited(s, st);
	else if (r < 0)
		host_exited(s, 0);      /* reaped elsewhere: status unknown */
}

/* --- watching ----------------------------------------------------------- */

static size_t read_rss(pid_t pid)
{
	char path[64];
	unsigned long size = 0, res = 0;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/statm", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	if (fscanf(f, "%lu %lu", &size, &res) != 2)
		res = 0;
	fclose(f);
	return (size_t)res * (size_t)sysconf(_SC_PAGESIZE);
}

static void log_reply(void *arg, int rc, struct hn_rpc_resp *resp)
{
	const char *what = arg;

	if (rc < 0)
		hn_log(HN_LOG_WARN, SUP_COMP, "p2p %s failed: %s", what,
		       hn_strerror(rc));
	else if (resp->is_error)
		hn_log(HN_LOG_WARN, SUP_COMP, "p2p %s refused: %s", what,
		       resp->error.message);
}

static void send_startup(struct hn_sup *s)
{
	struct json_object *a;
	size_t i;

	if (s->o.n_bootstrap) {
		a = json_object_new_array();
		for (i = 0; a && i < s->o.n_bootstrap; i++)
			json_object_array_add(a, json_object_new_string(
						      s->o.bootstrap[i]));
		struct json_object *p = json_object_new_object();

		hn_rpc_add(p, "peers", a);
		hn_ipc_p2p_call(s->ipc, "add_peer_discovery", p, 5.0,
				log_reply, (void *)"add_peer_discovery");
	}
	if (!s->o.no_start)
		hn_ipc_p2p_call(s->ipc, "start", NULL, 5.0, log_reply,
				(void *)"start");
}

static void hello_cb(void *arg, int rc, struct hn_rpc_resp *resp)
{
	struct hn_sup *s = arg;
	static const char *const need[] = { HN_IPC_CAP_P2P, NULL };
	struct hn_rpc_hello h;
	struct hn_rpc_error e;

	s->hello_inflight = false;
	if (rc == HN_ECLOSED || s->state != HN_SUP_STARTING)
		return;
	if (rc < 0)
		return;         /* retried on the next tick */
	if (resp->is_error) {
		end_host(s, "host refused hello: %s", resp->error.message);
		return;
	}
	if (hn_rpc_hello_check(resp->result, need, &h, &e) < 0) {
		end_host(s, "incompatible host: %s", e.message);
		return;
	}
	s->state = HN_SUP_UP;
	s->up_at = ev_now(s->loop);
	s->misses = 0;
	hn_log(HN_LOG_INFO, SUP_COMP, "p2p host pid %d (gen %u) is up",
	       (int)s->pid, s->gen);
	send_startup(s);
}

static void hb_reply(void *arg, int rc, struct hn_rpc_resp *resp)
{
	struct hn_sup *s = arg;

	s->hb_inflight = false;
	if (rc == HN_ECLOSED || s->state != HN_SUP_UP)
		return;
	if (rc == 0 && !resp->is_error) {
		s->misses = 0;
		s->st.heartbeats++;
		return;
	}
	s->misses++;
	hn_log(HN_LOG_WARN, SUP_COMP, "p2p host pid %d missed heartbeat %u/%u "
	       "(%s)", (int)s->pid, s->misses, s->o.max_misses,
	       rc < 0 ? hn_strerror(rc) : resp->error.message);
	if (s->misses >= s->o.max_misses)
		end_host(s, "no heartbeat answer %u times in a row (hung)",
			 s->misses);
}

static void hb_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hn_sup *s = w->data;
	double now = ev_now(loop);

	if (!s->pid || s->state == HN_SUP_KILLING)
		return;
	s->rss = read_rss(s->pid);
	s->st.rss = s->rss;
	if (s->o.max_rss && s->rss > s->o.max_rss) {
		end_host(s, "rss %zu KB over the limit of %zu KB",
			 s->rss / 1024, s->o.max_rss / 1024);
		return;
	}
	if (s->state == HN_SUP_STARTING) {
		if (now - s->spawned_at > s->o.startup_timeout) {
			end_host(s, "no hello within %.0fs of start",
				 s->o.startup_timeout);
			return;
		}
		if (!s->hello_inflight && hn_ipc_p2p_connected(s->ipc) &&
		    hn_ipc_p2p_call(s->ipc, "hello",
				    hn_rpc_hello_obj("core", NULL),
				    s->o.hb_timeout, hello_cb, s) == 0)
			s->hello_inflight = true;
		return;
	}
	if (s->state != HN_SUP_UP)
		return;
	if (s->up_at > 0 && now - s->up_at >= s->o.healthy_reset)
		s->backoff = s->o.backoff_min;
	if (s->hb_inflight)
		return;         /* its own timeout counts the miss */
	if (hn_ipc_p2p_call(s->ipc, "heartbeat", NULL, s->o.hb_timeout,
			    hb_reply, s) == 0)
		s->hb_inflight = true;
}

static void on_bad(void *arg, uint64_t pid, const struct hn_rpc_error *e)
{
	struct hn_sup *s = arg;

	s->st.bad_total++;
	if (!s->pid)
		return;
	s->bad++;
	if (s->bad >= s->o.max_bad)
		end_host(s, "%" PRIu64 " malformed request(s) on node.ipc, "
			 "last: %d %s", s->bad, e->code, e->message);
}

/* --- spawning ----------------------------------------------------------- */

static void spawn_host(struct hn_sup *s)
{
	const char *argv[SUP_MAX_ARGS];
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	struct hn_error err = { 0 };
	sigset_t none, def;
	size_t n = 0, i;
	pid_t pid;
	int rc;

	s->gen++;
	s->st.gen = s->gen;
	s->reason[0] = 0;
	s->bad = 0;
	s->misses = 0;
	s->up_at = 0;
	if (hn_ipc_p2p_open(s->ipc, s->gen, 0, NULL, 0, &err) < 0) {
		hn_log(HN_LOG_ERROR, SUP_COMP, "cannot open p2p.ipc: %s",
		       err.msg);
		s->st.spawn_failures++;
		schedule_restart(s, s->backoff);
		return;
	}
	snprintf(s->gen_arg, sizeof(s->gen_arg), "%u", s->gen);
	snprintf(s->ppid_arg, sizeof(s->ppid_arg), "%d", (int)getpid());
	argv[n++] = s->o.host_bin;
	argv[n++] = "--runtime-dir";
	argv[n++] = s->o.runtime_dir;
	argv[n++] = "--gen";
	argv[n++] = s->gen_arg;
	argv[n++] = "--plugin";
	argv[n++] = s->o.plugin_path;
	argv[n++] = "--parent-pid";
	argv[n++] = s->ppid_arg;
	if (s->o.listen_fd >= 0) {
		argv[n++] = "--listen-fd";
		argv[n++] = "3";
	}
	if (s->o.log_level) {
		argv[n++] = "--log-level";
		argv[n++] = s->o.log_level;
	}
	if (s->o.log_format) {
		argv[n++] = "--log-format";
		argv[n++] = s->o.log_format;
	}
	if (s->o.max_msg) {
		snprintf(s->max_msg_arg, sizeof(s->max_msg_arg), "%zu",
			 s->o.max_msg);
		argv[n++] = "--max-msg";
		argv[n++] = s->max_msg_arg;
	}
	for (i = 0; i < s->o.n_config && n + 3 < SUP_MAX_ARGS; i++) {
		argv[n++] = "--config";
		argv[n++] = s->o.config[i];
	}
	argv[n] = NULL;

	posix_spawn_file_actions_init(&fa);
	if (s->o.listen_fd >= 0) {
		/* glibc clears FD_CLOEXEC when dup2 gets the same number. */
		posix_spawn_file_actions_adddup2(&fa, s->o.listen_fd, 3);
		posix_spawn_file_actions_addclosefrom_np(&fa, 4);
	} else {
		posix_spawn_file_actions_addclosefrom_np(&fa, 3);
	}
	posix_spawnattr_init(&attr);
	sigemptyset(&none);
	sigemptyset(&def);
	sigaddset(&def, SIGPIPE);
	sigaddset(&def, SIGTERM);
	sigaddset(&def, SIGINT);
	sigaddset(&def, SIGHUP);
	sigaddset(&def, SIGCHLD);
	posix_spawnattr_setsigmask(&attr, &none);
	posix_spawnattr_setsigdefault(&attr, &def);
	posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK |
				 POSIX_SPAWN_SETSIGDEF);
	rc = posix_spawn(&pid, s->o.host_bin, &fa, &attr,
			 (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	posix_spawnattr_destroy(&attr);
	if (rc != 0) {
		hn_log(HN_LOG_ERROR, SUP_COMP, "cannot spawn '%s': %s",
		       s->o.host_bin, strerror(rc));
		hn_ipc_p2p_close(s->ipc);
		s->st.spawn_failures++;
		schedule_restart(s, s->backoff);
		return;
	}
	/* Before the loop iterates again: the host cannot have connected
	 * (it needs this loop's hello answer first), and libev cannot have
	 * reaped it. */
	s->pid = pid;
	s->st.pid = pid;
	hn_ipc_p2p_expect_pid(s->ipc, (uint64_t)pid);
	s->pidfd = pidfd_open(pid, 0);
	if (s->default_loop) {
		ev_child_set(&s->child_w, pid, 0);
		ev_child_start(s->loop, &s->child_w);
	} else if (s->pidfd >= 0) {
		ev_io_set(&s->pidfd_w, s->pidfd, EV_READ);
		ev_io_start(s->loop, &s->pidfd_w);
	}
	s->spawned_at = ev_now(s->loop);
	s->rss = 0;
	s->state = HN_SUP_STARTING;
	hn_log(HN_LOG_INFO, SUP_COMP, "spawned p2p host pid %d (gen %u): %s "
	       "--plugin %s", (int)pid, s->gen, s->o.host_bin,
	       s->o.plugin_path);
}

/* --- public ------------------------------------------------------------- */

static double dflt(double v, double d)
{
	return v > 0 ? v : d;
}

int hn_sup_open(const struct hn_sup_opts *o, struct hn_sup **out,
		struct hn_error *err)
{
	struct hn_sup *s;

	if (!o->loop || !o->ipc || !o->host_bin || !o->plugin_path ||
	    !o->runtime_dir)
		return hn_error_set(err, HN_EINVAL, "sup: missing loop, ipc, "
				    "host binary, plugin or runtime dir");
	if (access(o->host_bin, X_OK) < 0)
		return hn_error_set(err, HN_ENOENT, "p2p host '%s' is not an "
				    "executable: %s", o->host_bin,
				    strerror(errno));
	s = calloc(1, sizeof(*s));
	if (!s)
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	s->o = *o;
	s->o.heartbeat = dflt(o->heartbeat, 2.0);
	s->o.hb_timeout = dflt(o->hb_timeout, 1.0);
	s->o.max_misses = o->max_misses ? o->max_misses : 3;
	s->o.term_grace = dflt(o->term_grace, 3.0);
	s->o.startup_timeout = dflt(o->startup_timeout, 20.0);
	s->o.backoff_min = dflt(o->backoff_min, 0.5);
	s->o.backoff_max = dflt(o->backoff_max, 30.0);
	s->o.healthy_reset = dflt(o->healthy_reset, 60.0);
	s->o.max_bad = o->max_bad ? o->max_bad : 1;
	s->loop = o->loop;
	s->ipc = o->ipc;
	s->default_loop = ev_is_default_loop(o->loop);
	s->pidfd = -1;
	s->backoff = s->o.backoff_min;
	s->st.next_backoff = s->backoff;
	ev_child_init(&s->child_w, child_cb, 0, 0);
	s->child_w.data = s;
	ev_io_init(&s->pidfd_w, pidfd_cb, -1, EV_READ);
	s->pidfd_w.data = s;
	ev_timer_init(&s->hb_w, hb_cb, s->o.heartbeat, s->o.heartbeat);
	s->hb_w.data = s;
	ev_timer_init(&s->kill_w, kill_cb, s->o.term_grace, 0);
	s->kill_w.data = s;
	ev_timer_init(&s->restart_w, restart_cb, 0, 0);
	s->restart_w.data = s;
	ev_timer_start(s->loop, &s->hb_w);
	hn_ipc_on_bad(s->ipc, on_bad, s);
	spawn_host(s);
	*out = s;
	return 0;
}

void hn_sup_stop(struct hn_sup *s)
{
	if (!s || s->stopping)
		return;
	s->stopping = true;
	ev_timer_stop(s->loop, &s->restart_w);
	if (s->pid)
		end_host(s, "core stopping");
	else
		s->state = HN_SUP_STOPPED;
}

bool hn_sup_busy(const struct hn_sup *s)
{
	return s && s->pid != 0;
}

void hn_sup_close(struct hn_sup *s)
{
	if (!s)
		return;
	s->stopping = true;
	if (s->pid) {
		int st = 0;

		send_signal(s, SIGKILL);
		if (waitpid(s->pid, &st, 0) != s->pid)
			st = 0;         /* libev reaped it already */
		snprintf(s->reason, sizeof(s->reason), "core closing");
		host_exited(s, st);
	}
	hn_ipc_on_bad(s->ipc, NULL, NULL);
	hn_ipc_p2p_close(s->ipc);
	ev_timer_stop(s->loop, &s->hb_w);
	ev_timer_stop(s->loop, &s->kill_w);
	ev_timer_stop(s->loop, &s->restart_w);
	free(s);
}

int hn_sup_call(struct hn_sup *s, const char *method,
		HN_TAKES struct json_object *params, double timeout,
		hn_rpc_done_cb cb, void *arg)
{
	if (!s || s->state != HN_SUP_UP) {
		json_object_put(params);
		return HN_ECLOSED;
	}
	return hn_ipc_p2p_call(s->ipc, method, params, timeout, cb, arg);
}

void hn_sup_stats(const struct hn_sup *s, struct hn_sup_stats *st)
{
	*st = s->st;
	st->state = s->state;
	st->pid = s->pid;
	st->bad = s->bad;
	st->misses = s->misses;
	st->rss = s->rss;
	st->next_backoff = s->backoff;
}

/* --- daemon module ------------------------------------------------------ */

struct sup_mod {
	struct hn_sup *sup;
	int listen_fd;
	char *host_bin, *plugin;
	const char **bootstrap;
	char **boot_str;
	size_t n_boot;
};

static struct sup_mod *the_mod;

static int bind_listen(const struct hn_hostport *hp, struct hn_error *err)
{
	struct addrinfo hints = { 0 }, *ai = NULL, *p;
	char port[8];
	int fd = -1, one = 1, rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", hp->port);
	rc = getaddrinfo(hp->host[0] ? hp->host : NULL, port, &hints, &ai);
	if (rc != 0)
		return hn_error_set(err, HN_EINVAL, "p2p listen '%s:%u': %s",
				    hp->host, hp->port, gai_strerror(rc));
	for (p = ai; p; p = p->ai_next) {
		fd = socket(p->ai_family, p->ai_socktype | SOCK_CLOEXEC, 0);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, p->ai_addr, p->ai_addrlen) == 0 &&
		    listen(fd, 128) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return hn_error_set(err, HN_EIO, "cannot listen on p2p address "
				    "%s:%u: %s", hp->host, hp->port,
				    strerror(errno));
	return fd;
}

/* The host binary: --p2p-host-bin, else next to our executable (installed
 * layout, then the build tree), else "hathor-p2p-host" on PATH. */
static char *find_host_bin(const struct hn_config *cfg)
{
	char exe[PATH_MAX], *slash, *out = NULL;
	ssize_t n;
	static const char *const rel[] = {
		"hathor-p2p-host",
		"../host_p2p/hathor-p2p-host",
		"../lib/hathor/hathor-p2p-host",
	};
	size_t i;

	if (cfg->p2p_host_bin)
		return strdup(cfg->p2p_host_bin);
	n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		slash = strrchr(exe, '/');
		if (slash)
			*slash = 0;
		for (i = 0; i < sizeof(rel) / sizeof(rel[0]); i++) {
			if (asprintf(&out, "%s/%s", exe, rel[i]) < 0)
				return NULL;
			if (access(out, X_OK) == 0)
				return out;
			free(out);
			out = NULL;
		}
	}
	return strdup("/usr/lib/hathor/hathor-p2p-host");
}

static void sup_mod_free(struct sup_mod *m)
{
	size_t i;

	if (!m)
		return;
	if (m->listen_fd >= 0)
		close(m->listen_fd);
	free(m->host_bin);
	free(m->plugin);
	for (i = 0; i < m->n_boot; i++)
		free(m->boot_str[i]);
	free(m->boot_str);
	free(m->bootstrap);
	free(m);
}

static int sup_mod_open(struct hn_daemon *d, struct hn_error *err)
{
	const struct hn_config *cfg = d->cfg;
	struct hn_sup_opts o = { 0 };
	struct sup_mod *m;
	size_t i;
	int rc;

	if (!cfg || cfg->p2p_mode != HN_P2P_HOST || !d->ipc)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	m->listen_fd = -1;
	if (cfg->has_p2p_listen) {
		rc = bind_listen(&cfg->p2p_listen, err);
		if (rc < 0) {
			sup_mod_free(m);
			return rc;
		}
		m->listen_fd = rc;
	}
	m->host_bin = find_host_bin(cfg);
	if (asprintf(&m->plugin, "%s/p2p_sync_v2.so",
		     cfg->plugin_dir ? cfg->plugin_dir : ".") < 0)
		m->plugin = NULL;
	m->boot_str = calloc(cfg->n_bootstrap + 1, sizeof(*m->boot_str));
	m->bootstrap = calloc(cfg->n_bootstrap + 1, sizeof(*m->bootstrap));
	if (!m->host_bin || !m->plugin || !m->boot_str || !m->bootstrap) {
		sup_mod_free(m);
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	}
	for (i = 0; i < cfg->n_bootstrap; i++) {
		const struct hn_hostport *b = &cfg->bootstrap[i];

		if (asprintf(&m->boot_str[i], strchr(b->host, ':') ?
			     "tcp://[%s]:%u" : "tcp://%s:%u", b->host,
			     b->port) < 0) {
			sup_mod_free(m);
			return hn_error_set(err, HN_ENOMEM, "out of memory");
		}
		m->bootstrap[i] = m->boot_str[i];
		m->n_boot++;
	}
	o.loop = d->loop;
	o.ipc = d->ipc;
	o.host_bin = m->host_bin;
	o.plugin_path = m->plugin;
	o.runtime_dir = cfg->runtime_dir;
	o.listen_fd = m->listen_fd;
	o.log_level = cfg->log_level;
	o.log_format = cfg->log_format;
	o.max_msg = cfg->ipc_max_msg;
	o.bootstrap = m->bootstrap;
	o.n_bootstrap = m->n_boot;
	o.heartbeat = cfg->host_heartbeat_ms ? cfg->host_heartbeat_ms / 1000.0 :
		      0;
	o.max_rss = (size_t)cfg->host_max_rss_mb * 1024 * 1024;
	rc = hn_sup_open(&o, &m->sup, err);
	if (rc < 0) {
		sup_mod_free(m);
		return rc;
	}
	d->sup = m->sup;
	the_mod = m;
	return 0;
}

static void sup_mod_stop(struct hn_daemon *d)
{
	hn_sup_stop(d->sup);
}

static bool sup_mod_busy(struct hn_daemon *d)
{
	return hn_sup_busy(d->sup);
}

static void sup_mod_close(struct hn_daemon *d)
{
	hn_sup_close(d->sup);
	d->sup = NULL;
	sup_mod_free(the_mod);
	the_mod = NULL;
}

const struct hn_daemon_module hn_sup_module = {
	.name = "sup",
	.open = sup_mod_open,
	.stop = sup_mod_stop,
	.busy = sup_mod_busy,
	.close = sup_mod_close,
};
