/*
 * sup.c: the hathor-p2p-host supervisor (core/sup.h) and the "sup" daemon
 * module.
 *
 * Every host process is one struct hgen: its pid and pidfd, its own
 * p2p.<gen>.ipc REQ socket, its watch state.  s->cur is the serving
 * generation, s->cand a reload candidate, and every generation still
 * alive (including ones being retired) is on s->all.
 *
 * Reaping: libev's default loop reaps every child itself (its SIGCHLD
 * handler), so there the exit comes from an ev_child started right after
 * posix_spawn (the loop cannot iterate in between).  On any other loop
 * (tests) nobody else reaps: the pidfd becomes readable at exit and we
 * waitpid() the pid ourselves.  Signals go through the pidfd, which can
 * never hit a reused pid.
 */
#include "sup.h"

#include <errno.h>
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
#include <sys/mman.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "admin.h"
#include "ipc.h"

/* config.h has a comment containing a glob (-Wcomment). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcomment"
#include "config.h"
#pragma GCC diagnostic pop
#include "daemon.h"
#include "metrics.h"
#include "peers.h"

#include "hn/err.h"
#include "hn/log.h"
#include "hn/plugin_load.h"

extern char **environ;

#define SUP_COMP "sup"
/* Where the P2P host's reported metrics are kept (core/metrics.h). */
#define SUP_METRICS_SOURCE "p2p-host"
/* At most this many metrics are taken from one heartbeat answer. */
#define SUP_MAX_HOST_METRICS 512
#define SUP_P2P_CTX 8
/* Fds the host gets: 3 the P2P listener (if any), then the status pipe. */
#define SUP_FD_MIN 10

enum hgen_state {
	G_STARTING,             /* spawned, no hello yet */
	G_UP,                   /* hello done */
	G_KILLING,              /* SIGTERM sent */
};

struct hn_sup;

struct hgen {
	struct hn_sup *s;
	struct hgen *next;              /* s->all */
	unsigned gen;
	enum hgen_state state;
	pid_t pid;                      /* 0 once reaped */
	int pidfd;
	int status_fd;                  /* read end of the status pipe */
	struct hn_rpc_client *p2p;      /* p2p.<gen>.ipc */
	char *plugin;                   /* owned */
	int plugin_fd;                  /* the build it was spawned from (a
					 * sealed memfd copy, or the file) */
	double spawned_at, up_at;
	unsigned misses;
	bool hb_inflight, hello_inflight, retiring;
	uint64_t bad;
	size_t rss;
	char reason[96];                /* set when we end the host */
	const char *kind;               /* static: "hang", "rss", ... */
	char status_msg[448];           /* what the host said at exit */
	ev_child child_w;
	ev_io pidfd_w;
	ev_timer kill_w;
};

struct hn_sup {
	struct hn_sup_opts o;
	struct ev_loop *loop;
	struct hn_ipc *ipc;
	bool default_loop;
	bool stopping;
	char *plugin;                   /* path for (re)starts, owned */
	char *log_level;                /* owned copy, NULL: inherit */
	unsigned gen;                   /* last generation spawned */
	double backoff;
	struct hgen *all, *cur, *cand;
	bool start_pending;             /* cur waits for retired hosts */
	ev_timer hb_w, restart_w;

	/* reload in progress */
	bool reloading;
	bool rolled_back;               /* the reload ends by a rollback */
	bool hb_warned;                 /* bad host metrics logged */
	hn_sup_reload_cb reload_cb;     /* NULL: forgotten */
	void *reload_arg;
	double reload_t0;
	pid_t reload_old_pid;
	unsigned reload_gen;            /* the candidate's generation */
	/* health gate: the build to roll back to, the watched generation and
	 * the success answer held until the window passed */
	int rb_fd;
	char *rb_plugin;
	unsigned gate_gen;
	struct json_object *gate_info;
	ev_timer gate_w;
	/* after a rollback: restarts spawn from this fd, not the path */
	int serve_fd;

	struct hn_sup_stats st;
};

static void spawn_serving(struct hn_sup *s);

/* --- ending a host ------------------------------------------------------ */

static void send_signal(struct hgen *g, int sig)
{
	if (g->pidfd >= 0 && pidfd_send_signal(g->pidfd, sig, NULL, 0) == 0)
		return;
	if (g->pid > 0 && g->pidfd < 0)
		kill(g->pid, sig);
}

static void kill_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hgen *g = w->data;

	if (!g->pid)
		return;
	hn_log(HN_LOG_WARN, SUP_COMP, "p2p host pid %d did not exit %.1fs "
	       "after SIGTERM: SIGKILL", (int)g->pid, g->s->o.term_grace);
	send_signal(g, SIGKILL);
}

/* Ends @g (SIGTERM, SIGKILL after the grace period). */
static void end_host(struct hgen *g, const char *kind, const char *fmt, ...)
	HN_PRINTF(3, 4);

/* @kind: why, as one word of a bounded set (the restarts metric label). */
static void end_host(struct hgen *g, const char *kind, const char *fmt, ...)
{
	va_list ap;

	if (!g->pid || g->state == G_KILLING)
		return;
	g->kind = kind;
	va_start(ap, fmt);
	vsnprintf(g->reason, sizeof(g->reason), fmt, ap);
	va_end(ap);
	hn_log(HN_LOG_WARN, SUP_COMP, "ending p2p host pid %d (gen %u): %s",
	       (int)g->pid, g->gen, g->reason);
	g->state = G_KILLING;
	send_signal(g, SIGTERM);
	ev_timer_set(&g->kill_w, g->s->o.term_grace, 0);
	ev_timer_start(g->s->loop, &g->kill_w);
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

	if (!s->stopping && !s->cur && !s->cand)
		spawn_serving(s);
}

static void schedule_restart(struct hn_sup *s, double delay)
{
	ev_timer_stop(s->loop, &s->restart_w);
	ev_timer_set(&s->restart_w, delay, 0);
	ev_timer_start(s->loop, &s->restart_w);
	s->backoff = s->backoff * 2 > s->o.backoff_max ? s->o.backoff_max :
		     s->backoff * 2;
	s->st.next_backoff = s->backoff;
}

/* The host's start-up error line from the status pipe (if any). */
static void read_status(struct hgen *g)
{
	ssize_t n;
	char *nl;

	if (g->status_fd < 0)
		return;
	n = read(g->status_fd, g->status_msg, sizeof(g->status_msg) - 1);
	g->status_msg[n > 0 ? n : 0] = 0;
	nl = strchr(g->status_msg, '\n');
	if (nl)
		*nl = 0;
	close(g->status_fd);
	g->status_fd = -1;
}

static void gen_free(struct hgen *g)
{
	struct hn_sup *s = g->s;
	struct hgen **pp;

	for (pp = &s->all; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	if (s->cur == g)
		s->cur = NULL;
	if (s->cand == g)
		s->cand = NULL;
	hn_rpc_client_close(g->p2p);
	if (g->status_fd >= 0)
		close(g->status_fd);
	if (g->pidfd >= 0)
		close(g->pidfd);
	if (g->plugin_fd >= 0)
		close(g->plugin_fd);
	free(g->plugin);
	free(g);
}

static void send_startup(struct hn_sup *s);

static void reload_done(struct hn_sup *s, int rc, const char *msg,
			struct json_object *info)
{
	hn_sup_reload_cb cb = s->reload_cb;

	s->reload_cb = NULL;
	s->reloading = false;
	if (s->rb_fd >= 0)
		close(s->rb_fd);
	s->rb_fd = -1;
	free(s->rb_plugin);
	s->rb_plugin = NULL;
	ev_timer_stop(s->loop, &s->gate_w);
	json_object_put(s->gate_info);
	s->gate_info = NULL;
	if (rc == 0)
		s->st.reloads++;
	else
		s->st.reload_failures++;
	hn_core_metrics_plugin_reload("p2p", rc == 0 ? "ok" :
				      s->rolled_back ? "rolled_back" :
				      rc == HN_ECLOSED ? "cancelled" :
				      "failed", ev_time());
	s->rolled_back = false;
	if (cb)
		cb(s->reload_arg, rc, msg, info);
}

/* "new p2p host (gen N) WHAT: REASON; old plugin still active": the
 * suffix survives any truncation of the reason. */
static void reload_fail_msg(const struct hn_sup *s, const struct hgen *g,
			    const char *what, char *msg, size_t len)
{
	const char *tail = s->cur && s->cur->pid ?
		"; old plugin still active" :
		"; no plugin serving, restart pending";
	size_t room = len - strlen(tail);
	int n;

	n = snprintf(msg, room, "new p2p host (gen %u) %s: %s%s%s", g->gen,
		     what, g->status_msg[0] ? g->status_msg : g->reason,
		     g->status_msg[0] ? "" : "; plugin ",
		     g->status_msg[0] ? "" : g->plugin);
	if (n < 0)
		msg[0] = 0;
	strcat(msg, tail);
}

/* The new build ended inside its health window: start the previous one
 * at once and fail the reload. */
static void rollback(struct hn_sup *s, struct hgen *g, const char *what,
		     double after)
{
	char msg[768];
	char *prev = s->rb_plugin;

	snprintf(msg, sizeof(msg), "new build %s (gen %u) %s %.1fs after "
		 "cut-over (%s%s%s); rolled back to %s", g->plugin, g->gen,
		 what, after, g->reason, g->status_msg[0] ? "; host said: " :
		 "", g->status_msg, prev ? prev : s->plugin);
	s->st.rollbacks++;
	snprintf(s->st.last_rollback, sizeof(s->st.last_rollback), "%s", msg);
	hn_log(HN_LOG_WARN, SUP_COMP, "plugin reload rolled back: %s", msg);
	if (prev) {
		free(s->plugin);
		s->plugin = prev;
		s->rb_plugin = NULL;
	}
	if (s->serve_fd >= 0)
		close(s->serve_fd);
	s->serve_fd = s->rb_fd;
	s->rb_fd = -1;
	gen_free(g);
	hn_core_metrics_host_up(false);
	hn_core_metrics_report_clear(SUP_METRICS_SOURCE);
	spawn_serving(s);
	s->rolled_back = true;
	reload_done(s, HN_EIO, msg, NULL);
}

static void host_exited(struct hgen *g, int status)
{
	struct hn_sup *s = g->s;
	double now = ev_now(s->loop), uptime = now - g->spawned_at;
	double up_at = g->up_at;
	bool was_cur = g == s->cur, was_cand = g == s->cand;
	char what[64], msg[768];
	struct hgen *o;
	pid_t pid = g->pid;
	const char *kind;

	if (s->default_loop)
		ev_child_stop(s->loop, &g->child_w);
	else
		ev_io_stop(s->loop, &g->pidfd_w);
	ev_timer_stop(s->loop, &g->kill_w);
	g->pid = 0;
	read_status(g);
	describe_status(status, what, sizeof(what));
	if (!g->reason[0])
		snprintf(g->reason, sizeof(g->reason), "exited by itself");
	s->st.last_status = status;
	snprintf(s->st.last_exit, sizeof(s->st.last_exit), "%s", what);
	snprintf(s->st.last_reason, sizeof(s->st.last_reason), "%s",
		 g->reason);
	snprintf(s->st.last_status_msg, sizeof(s->st.last_status_msg), "%s",
		 g->status_msg);
	hn_log(s->stopping || g->retiring ? HN_LOG_INFO : HN_LOG_WARN,
	       SUP_COMP, "p2p host pid %d (gen %u) ended: %s; reason: %s%s%s; "
	       "rss %zu KB; uptime %.1fs", (int)pid, g->gen, what, g->reason,
	       g->status_msg[0] ? "; host said: " : "", g->status_msg,
	       g->rss / 1024, uptime);

	if (was_cand) {
		/* A failed reload: the serving host is untouched. */
		reload_fail_msg(s, g, what, msg, sizeof(msg));
		gen_free(g);
		hn_log(HN_LOG_WARN, SUP_COMP, "plugin reload failed: %s", msg);
		reload_done(s, s->stopping ? HN_ECLOSED : HN_EIO, msg, NULL);
		if (!s->cur && !s->stopping)
			schedule_restart(s, s->backoff);
		return;
	}
	if (was_cur && s->gate_info && g->gen == s->gate_gen && !s->stopping) {
		rollback(s, g, what, now - up_at);
		return;
	}
	kind = g->kind ? g->kind : WIFSIGNALED(status) ? "crash" :
	       WIFEXITED(status) && WEXITSTATUS(status) == 0 ? "exit" :
	       "error";
	gen_free(g);
	if (was_cur) {
		hn_core_metrics_host_up(false);
		if (s->stopping || s->cand)
			return;         /* no restart; or the candidate takes over */
		if (up_at > 0 && now - up_at >= s->o.healthy_reset)
			s->backoff = s->o.backoff_min;
		s->st.restarts++;
		hn_core_metrics_host_restart(kind);
		hn_core_metrics_report_clear(SUP_METRICS_SOURCE);
		hn_log(HN_LOG_WARN, SUP_COMP, "restart #%u of the p2p host in "
		       "%.1fs", s->st.restarts, s->backoff);
		schedule_restart(s, s->backoff);
		return;
	}
	/* A retired generation: once none is left, the new one starts. */
	for (o = s->all; o; o = o->next)
		if (o->retiring)
			return;
	if (s->start_pending && s->cur && !s->stopping) {
		s->start_pending = false;
		send_startup(s);
	}
}

static void child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	struct hgen *g = w->data;

	if (w->rpid == g->pid)
		host_exited(g, w->rstatus);
}

static void pidfd_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct hgen *g = w->data;
	int st = 0;
	pid_t r = waitpid(g->pid, &st, WNOHANG);

	if (r == g->pid)
		host_exited(g, st);
	else if (r < 0)
		host_exited(g, 0);      /* reaped elsewhere: status unknown */
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

	if (rc == HN_ECLOSED)
		return;
	if (rc < 0)
		hn_log(HN_LOG_WARN, SUP_COMP, "p2p %s failed: %s", what,
		       hn_strerror(rc));
	else if (resp->is_error)
		hn_log(HN_LOG_WARN, SUP_COMP, "p2p %s refused: %s", what,
		       resp->error.message);
}


static void reload_started(void *arg, int rc, struct hn_rpc_resp *resp)
{
	struct hn_sup *s = arg;
	struct hgen *g = s->cur;
	struct json_object *info;
	char msg[300];

	if (resp || rc < 0)
		log_reply((void *)"start", rc, resp);
	if (!s->reloading || s->cand)
		return;
	/* Only the reload's own generation gets this callback; if another
	 * serves by now, the new one is gone. */
	if (g && g->gen != s->reload_gen)
		g = NULL;
	if (rc < 0 || (resp && resp->is_error) || !g) {
		snprintf(msg, sizeof(msg), "new p2p host is up but 'start' "
			 "failed: %s", rc < 0 ? hn_strerror(rc) :
			 resp && resp->is_error ? resp->error.message :
			 "host gone");
		reload_done(s, rc < 0 ? rc : HN_EIO, msg, NULL);
		return;
	}
	info = json_object_new_object();
	hn_rpc_add(info, "plugin", json_object_new_string("p2p"));
	hn_rpc_add(info, "path", json_object_new_string(g->plugin));
	hn_rpc_add(info, "gen", json_object_new_int64(g->gen));
	hn_rpc_add(info, "pid", json_object_new_int64(g->pid));
	hn_rpc_add(info, "old_pid", json_object_new_int64(s->reload_old_pid));
	hn_rpc_add(info, "ms", json_object_new_int64((int64_t)
		((ev_time() - s->reload_t0) * 1000)));
	if (s->o.health_window > 0) {
		hn_rpc_add(info, "health_window_s",
			   json_object_new_double(s->o.health_window));
		hn_log(HN_LOG_INFO, SUP_COMP, "plugin reload: p2p host pid %d "
		       "(gen %u) serves %s after %.0f ms; watching it for "
		       "%.1fs", (int)g->pid, g->gen, g->plugin,
		       (ev_time() - s->reload_t0) * 1000, s->o.health_window);
		s->gate_info = info;
		s->gate_gen = g->gen;
		ev_timer_set(&s->gate_w, s->o.health_window, 0);
		ev_timer_start(s->loop, &s->gate_w);
		return;
	}
	hn_log(HN_LOG_INFO, SUP_COMP, "plugin reload done: p2p host pid %d "
	       "(gen %u) serves %s, %.0f ms", (int)g->pid, g->gen, g->plugin,
	       (ev_time() - s->reload_t0) * 1000);
	reload_done(s, 0, NULL, info);
	json_object_put(info);
}

/* The new build lived through its window (or the node is stopping). */
static void gate_pass(struct hn_sup *s)
{
	struct json_object *info = s->gate_info;

	if (!info)
		return;
	s->gate_info = NULL;
	hn_log(HN_LOG_INFO, SUP_COMP, "plugin reload done: gen %u healthy "
	       "%.1fs after cut-over, %.0f ms in all", s->gate_gen,
	       s->o.health_window, (ev_time() - s->reload_t0) * 1000);
	hn_rpc_add(info, "ms", json_object_new_int64((int64_t)
		((ev_time() - s->reload_t0) * 1000)));
	reload_done(s, 0, NULL, info);
	json_object_put(info);
}

static void gate_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	gate_pass(w->data);
}

static void send_startup(struct hn_sup *s)
{
	struct json_object *a, *p;
	struct hgen *g = s->cur;
	bool rl;
	size_t i;

	if (!g || !g->p2p)
		return;
	/* A serving host that was still starting when a reload began gets
	 * its plain "start": the verdict waits for the candidate's. */
	rl = s->reloading && !s->cand && g->gen == s->reload_gen;
	if (s->o.n_bootstrap) {
		a = json_object_new_array();
		for (i = 0; a && i < s->o.n_bootstrap; i++)
			json_object_array_add(a, json_object_new_string(
						      s->o.bootstrap[i]));
		p = json_object_new_object();
		hn_rpc_add(p, "peers", a);
		hn_rpc_call(g->p2p, "add_peer_discovery", p, 5.0, 0,
			    log_reply, (void *)"add_peer_discovery");
	}
	if (!s->o.no_start && rl)
		hn_rpc_call(g->p2p, "start", NULL, 5.0, 0, reload_started, s);
	else if (!s->o.no_start)
		hn_rpc_call(g->p2p, "start", NULL, 5.0, 0, log_reply,
			    (void *)"start");
	else if (rl)
		reload_started(s, 0, NULL);     /* no "start" to wait for */
}

/* @g said hello: it serves now; a reload candidate replaces the old. */
static void gen_up(struct hgen *g)
{
	struct hn_sup *s = g->s;
	struct hgen *old = s->cur, *o;
	char *path;

	g->state = G_UP;
	g->up_at = ev_now(s->loop);
	g->misses = 0;
	hn_log(HN_LOG_INFO, SUP_COMP, "p2p host pid %d (gen %u) is up",
	       (int)g->pid, g->gen);
	hn_core_metrics_host_up(true);
	if (g == s->cand) {
		s->cand = NULL;
		s->cur = g;
		ev_timer_stop(s->loop, &s->restart_w);
		if (strcmp(g->plugin, s->plugin) != 0 &&
		    (path = strdup(g->plugin))) {
			free(s->plugin);
			s->plugin = path;
		}
		s->reload_old_pid = old ? old->pid : 0;
		if (s->serve_fd >= 0)
			close(s->serve_fd);     /* the new path serves now */
		s->serve_fd = -1;
		if (old) {
			old->retiring = true;
			end_host(old, "reload", "replaced by gen %u (plugin reload)",
				 g->gen);
		}
	}
	for (o = s->all; o; o = o->next) {
		if (o->retiring) {
			/* Its peers go first; "start" once it is reaped. */
			s->start_pending = true;
			return;
		}
	}
	send_startup(s);
}

static void hello_cb(void *arg, int rc, struct hn_rpc_resp *resp)
{
	struct hgen *g = arg;
	static const char *const need[] = { HN_IPC_CAP_P2P, NULL };
	struct hn_rpc_hello h;
	struct hn_rpc_error e;

	g->hello_inflight = false;
	if (rc == HN_ECLOSED || g->state != G_STARTING || !g->pid)
		return;
	if (rc < 0)
		return;         /* retried on the next tick */
	if (resp->is_error) {
		end_host(g, "hello", "host refused hello: %s", resp->error.message);
		return;
	}
	if (hn_rpc_hello_check(resp->result, need, &h, &e) < 0) {
		end_host(g, "hello", "incompatible host: %s", e.message);
		return;
	}
	gen_up(g);
}

static bool j_u64(struct json_object *o, const char *k, uint64_t *v)
{
	struct json_object *x;

	if (!json_object_object_get_ex(o, k, &x) ||
	    !json_object_is_type(x, json_type_int))
		return false;
	*v = (uint64_t)json_object_get_uint64(x);
	return true;
}

static bool j_num(struct json_object *o, const char *k, double *v)
{
	struct json_object *x;

	if (!json_object_object_get_ex(o, k, &x) ||
	    (!json_object_is_type(x, json_type_int) &&
	     !json_object_is_type(x, json_type_double)))
		return false;
	*v = json_object_get_double(x);
	return true;
}

static const char *j_str(struct json_object *o, const char *k)
{
	struct json_object *x;

	if (!json_object_object_get_ex(o, k, &x) ||
	    !json_object_is_type(x, json_type_string))
		return NULL;
	return json_object_get_string(x);
}

/* One entry of the heartbeat's "metrics" array (docs/ipc.md) into @v;
 * @bounds/@cum have room for 64 buckets.  false: malformed (skipped). */
static bool hb_metric(struct json_object *o, struct hathor_metric_value *v,
		      double *bounds, uint64_t *cum)
{
	struct json_object *b, *c;
	const char *type = j_str(o, "type");
	size_t i, n;

	memset(v, 0, sizeof(*v));
	v->name = j_str(o, "name");
	v->help = j_str(o, "help");
	v->labels = j_str(o, "labels");
	v->source = SUP_METRICS_SOURCE;
	if (!v->name || !type || !j_num(o, "value", &v->value))
		return false;
	if (strcmp(type, "counter") == 0)
		v->type = HATHOR_METRIC_COUNTER;
	else if (strcmp(type, "gauge") == 0)
		v->type = HATHOR_METRIC_GAUGE;
	else if (strcmp(type, "histogram") == 0)
		v->type = HATHOR_METRIC_HISTOGRAM;
	else
		return false;
	if (v->type != HATHOR_METRIC_HISTOGRAM)
		return true;
	if (!j_u64(o, "count", &v->count) ||
	    !json_object_object_get_ex(o, "bounds", &b) ||
	    !json_object_object_get_ex(o, "buckets", &c) ||
	    !json_object_is_type(b, json_type_array) ||
	    !json_object_is_type(c, json_type_array))
		return false;
	n = json_object_array_length(b);
	if (n > 64 || json_object_array_length(c) != n)
		return false;
	for (i = 0; i < n; i++) {
		struct json_object *bi = json_object_array_get_idx(b, i);
		struct json_object *ci = json_object_array_get_idx(c, i);

		if (!json_object_is_type(ci, json_type_int) ||
		    (!json_object_is_type(bi, json_type_int) &&
		     !json_object_is_type(bi, json_type_double)))
			return false;
		bounds[i] = json_object_get_double(bi);
		cum[i] = (uint64_t)json_object_get_uint64(ci);
	}
	v->n_buckets = n;
	v->bounds = bounds;
	v->bucket_counts = cum;
	return true;
}

/* The serving host's heartbeat answer: peers by state and the metrics it
 * reports (core/metrics.h, source "p2p-host"). */
static void hb_metrics(struct hn_sup *s, struct json_object *r)
{
	struct json_object *st, *arr;
	struct hathor_metric_value *v;
	double (*bounds)[64];
	uint64_t (*cum)[64];
	uint64_t ready = 0, hs = 0, conn = 0;
	size_t i, n, k = 0, kept;

	if (json_object_object_get_ex(r, "status", &st) &&
	    j_u64(st, "ready_peers", &ready) &&
	    j_u64(st, "handshaking_peers", &hs) &&
	    j_u64(st, "connecting_peers", &conn))
		hn_core_metrics_peers((unsigned)conn, (unsigned)hs,
				      (unsigned)ready);
	if (!json_object_object_get_ex(r, "metrics", &arr) ||
	    !json_object_is_type(arr, json_type_array))
		return;
	n = json_object_array_length(arr);
	if (n > SUP_MAX_HOST_METRICS)
		n = SUP_MAX_HOST_METRICS;
	v = calloc(n ? n : 1, sizeof(*v));
	bounds = calloc(n ? n : 1, sizeof(*bounds));
	cum = calloc(n ? n : 1, sizeof(*cum));
	if (v && bounds && cum) {
		for (i = 0; i < n; i++)
			if (hb_metric(json_object_array_get_idx(arr, i),
				      &v[k], bounds[k], cum[k]))
				k++;
		kept = hn_core_metrics_report(SUP_METRICS_SOURCE, v, k);
		if ((kept < json_object_array_length(arr)) && !s->hb_warned) {
			s->hb_warned = true;
			hn_log(HN_LOG_WARN, SUP_COMP, "p2p host reported %zu "
			       "metrics, %zu kept (malformed, over %d, or a "
			       "core family's name); logged once",
			       json_object_array_length(arr), kept,
			       SUP_MAX_HOST_METRICS);
		}
	}
	free(v);
	free(bounds);
	free(cum);
}

static void hb_reply(void *arg, int rc, struct hn_rpc_resp *resp)
{
	struct hgen *g = arg;
	struct hn_sup *s = g->s;

	g->hb_inflight = false;
	if (rc == HN_ECLOSED || g->state != G_UP || !g->pid)
		return;
	if (rc == 0 && !resp->is_error) {
		g->misses = 0;
		s->st.heartbeats++;
		if (g == s->cur && resp->result)
			hb_metrics(s, resp->result);
		return;
	}
	g->misses++;
	hn_log(HN_LOG_WARN, SUP_COMP, "p2p host pid %d missed heartbeat %u/%u "
	       "(%s)", (int)g->pid, g->misses, s->o.max_misses,
	       rc < 0 ? hn_strerror(rc) : resp->error.message);
	if (g->misses >= s->o.max_misses)
		end_host(g, "hang", "no heartbeat answer %u times in a row (hung)",
			 g->misses);
}

static void try_hello(struct hgen *g)
{
	if (g->hello_inflight || g->state != G_STARTING || !g->pid)
		return;
	if (hn_rpc_call(g->p2p, "hello", hn_rpc_hello_obj("core", NULL),
			g->s->o.hb_timeout, 0, hello_cb, g) == 0)
		g->hello_inflight = true;
}

/* The host dialed its p2p.<gen>.ipc: hello at once, not at the next tick. */
static void gen_pipe_cb(void *arg, bool up)
{
	struct hgen *g = arg;

	if (up)
		try_hello(g);
}

static bool gen_connected(const struct hgen *g)
{
	struct hn_rpc_pipe_stats ps;

	if (!g->p2p)
		return false;
	hn_rpc_client_pipe_stats(g->p2p, &ps);
	return ps.connected > 0;
}

static void watch_gen(struct hgen *g, double now)
{
	struct hn_sup *s = g->s;

	if (!g->pid || g->state == G_KILLING)
		return;
	g->rss = read_rss(g->pid);
	if (g == s->cur)
		s->st.rss = g->rss;
	if (s->o.max_rss && g->rss > s->o.max_rss) {
		end_host(g, "rss", "rss %zu KB over the limit of %zu KB",
			 g->rss / 1024, s->o.max_rss / 1024);
		return;
	}
	if (g->state == G_STARTING) {
		if (now - g->spawned_at > s->o.startup_timeout) {
			end_host(g, "startup", "no hello within %.0fs of start",
				 s->o.startup_timeout);
			return;
		}
		if (gen_connected(g))
			try_hello(g);
		return;
	}
	if (g != s->cur)
		return;
	if (g->up_at > 0 && now - g->up_at >= s->o.healthy_reset)
		s->backoff = s->o.backoff_min;
	if (g->hb_inflight)
		return;         /* its own timeout counts the miss */
	if (hn_rpc_call(g->p2p, "heartbeat", NULL, s->o.hb_timeout, 0,
			hb_reply, g) == 0)
		g->hb_inflight = true;
}

static void hb_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hn_sup *s = w->data;
	struct hgen *g, *next;

	for (g = s->all; g; g = next) {
		next = g->next;
		watch_gen(g, ev_now(loop));
	}
}

/* A protocol-level error on node.ipc from process @pid: charged to the
 * generation with that pid (during a reload the old and the new host are
 * both dialed in), to none if no host of ours has it (a reaped host's late
 * message, another process of our uid), to the serving one only if the
 * transport did not say (0). */
static void on_bad(void *arg, uint64_t pid, const struct hn_rpc_error *e)
{
	struct hn_sup *s = arg;
	struct hgen *g = pid ? NULL : s->cur;

	s->st.bad_total++;
	for (struct hgen *o = s->all; pid && o; o = o->next)
		if (o->pid > 0 && (uint64_t)o->pid == pid)
			g = o;
	if (!g || !g->pid)
		return;
	g->bad++;
	if (g->bad >= s->o.max_bad)
		end_host(g, "misbehaving", "%" PRIu64 " malformed request(s) on node.ipc, "
			 "last: %d %s", g->bad, e->code, e->message);
}

/* --- spawning ----------------------------------------------------------- */

/* Moves @fd to a number >= SUP_FD_MIN (CLOEXEC), so the dup2 actions of
 * the spawn cannot overwrite it.  Returns the fd or -1. */
static int high_fd(int fd)
{
	int nfd;

	if (fd >= SUP_FD_MIN)
		return fd;
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, SUP_FD_MIN);
	close(fd);
	return nfd;
}

/* hn_plugin_snapshot (hn/plugin_load.h) of @path, moved above the fds
 * a spawned host inherits. */
static int snapshot_build(const char *path)
{
	int fd = hn_plugin_snapshot(path);

	return fd < 0 ? fd : high_fd(fd);
}

/* @from_fd >= 0: the build is that open file (a rollback), passed to
 * the host as /proc/self/fd/N; @plugin names it in logs. */
static struct hgen *spawn_gen(struct hn_sup *s, const char *plugin,
			      int from_fd, struct hn_error *err)
{
	struct hn_rpc_link_opts lo = { 0 };
	posix_spawn_file_actions_t fa;
	posix_spawnattr_t attr;
	char url[PATH_MAX + 16], num[5][32], fdpath[40];
	const char **argv;
	struct hgen *g;
	sigset_t none, def;
	int pfd[2], status_num, plug_num, rc;
	size_t n = 0, i;
	pid_t pid;

	g = calloc(1, sizeof(*g));
	argv = calloc(32 + 2 * s->o.n_config, sizeof(*argv));
	if (!g || !argv || !(g->plugin = strdup(plugin))) {
		if (g)
			free(g->plugin);
		free(g);
		free(argv);
		hn_error_set(err, HN_ENOMEM, "out of memory");
		return NULL;
	}
	g->s = s;
	g->pidfd = g->status_fd = -1;
	g->plugin_fd = from_fd >= 0 ?
		fcntl(from_fd, F_DUPFD_CLOEXEC, SUP_FD_MIN) :
		snapshot_build(plugin);
	g->gen = ++s->gen;
	rc = snprintf(url, sizeof(url), "ipc://%s/p2p.%u.ipc",
		      s->o.runtime_dir, g->gen);
	/* sun_path holds 107 characters plus NUL (IPC.md section 3). */
	if (rc < 0 || rc - 6 >= 108) {
		hn_error_set(err, HN_EINVAL, "socket path '%s' is longer than "
			     "107 characters; use a shorter runtime dir",
			     url + 6);
		goto fail;
	}
	lo.loop = s->loop;
	lo.url = url;
	lo.listen = true;
	lo.max_msg = s->o.max_msg;
	lo.n_ctx = SUP_P2P_CTX;
	lo.check_uid = true;
	lo.peer_uid = getuid();
	lo.name = "p2p.ipc";
	/* Its host may die at any moment: nng 1.5.2 can then hang in
	 * nng_close() for good, which must not stop the core's loop. */
	lo.close_async = true;
	if (hn_rpc_client_open(&lo, &g->p2p, err) < 0) {
		g->p2p = NULL;
		goto fail;
	}
	/* No pipe is accepted before we know the pid. */
	hn_rpc_client_expect_pid(g->p2p, UINT64_MAX);
	hn_rpc_client_on_pipe(g->p2p, gen_pipe_cb, g);
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		hn_error_set(err, HN_EIO, "pipe: %s", strerror(errno));
		goto fail;
	}
	g->status_fd = pfd[0];
	fcntl(g->status_fd, F_SETFL, O_NONBLOCK);
	pfd[1] = high_fd(pfd[1]);
	if (pfd[1] < 0) {
		hn_error_set(err, HN_EIO, "fcntl: %s", strerror(errno));
		goto fail;
	}
	status_num = s->o.listen_fd >= 0 ? 4 : 3;
	plug_num = from_fd >= 0 && g->plugin_fd >= 0 ? status_num + 1 : -1;
	snprintf(fdpath, sizeof(fdpath), "/proc/self/fd/%d", plug_num);

	snprintf(num[0], sizeof(num[0]), "%u", g->gen);
	snprintf(num[1], sizeof(num[1]), "%d", (int)getpid());
	snprintf(num[2], sizeof(num[2]), "%d", status_num);
	argv[n++] = s->o.host_bin;
	argv[n++] = "--runtime-dir";
	argv[n++] = s->o.runtime_dir;
	argv[n++] = "--gen";
	argv[n++] = num[0];
	argv[n++] = "--plugin";
	argv[n++] = plug_num >= 0 ? fdpath : g->plugin;
	argv[n++] = "--parent-pid";
	argv[n++] = num[1];
	argv[n++] = "--status-fd";
	argv[n++] = num[2];
	if (s->o.listen_fd >= 0) {
		argv[n++] = "--listen-fd";
		argv[n++] = "3";
	}
	if (s->log_level) {
		argv[n++] = "--log-level";
		argv[n++] = s->log_level;
	}
	if (s->o.log_format) {
		argv[n++] = "--log-format";
		argv[n++] = s->o.log_format;
	}
	if (s->o.max_msg) {
		snprintf(num[3], sizeof(num[3]), "%zu", s->o.max_msg);
		argv[n++] = "--max-msg";
		argv[n++] = num[3];
	}
	for (i = 0; i < s->o.n_config; i++) {
		argv[n++] = "--config";
		argv[n++] = s->o.config[i];
	}
	argv[n] = NULL;

	posix_spawn_file_actions_init(&fa);
	/* glibc clears FD_CLOEXEC when dup2 gets the same number. */
	if (s->o.listen_fd >= 0)
		posix_spawn_file_actions_adddup2(&fa, s->o.listen_fd, 3);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], status_num);
	if (plug_num >= 0)
		posix_spawn_file_actions_adddup2(&fa, g->plugin_fd, plug_num);
	posix_spawn_file_actions_addclosefrom_np(&fa, plug_num >= 0 ?
						 plug_num + 1 :
						 status_num + 1);
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
	close(pfd[1]);
	free(argv);
	argv = NULL;
	if (rc != 0) {
		hn_error_set(err, HN_EIO, "cannot spawn '%s': %s",
			     s->o.host_bin, strerror(rc));
		goto fail;
	}
	/* Before the loop iterates again: the host cannot have connected
	 * (it needs this loop's hello answer first), and libev cannot have
	 * reaped it. */
	g->pid = pid;
	hn_rpc_client_expect_pid(g->p2p, (uint64_t)pid);
	g->pidfd = pidfd_open(pid, 0);
	ev_child_init(&g->child_w, child_cb, pid, 0);
	g->child_w.data = g;
	ev_io_init(&g->pidfd_w, pidfd_cb, g->pidfd, EV_READ);
	g->pidfd_w.data = g;
	ev_timer_init(&g->kill_w, kill_cb, s->o.term_grace, 0);
	g->kill_w.data = g;
	if (s->default_loop)
		ev_child_start(s->loop, &g->child_w);
	else if (g->pidfd >= 0)
		ev_io_start(s->loop, &g->pidfd_w);
	g->spawned_at = ev_now(s->loop);
	g->state = G_STARTING;
	g->next = s->all;
	s->all = g;
	hn_log(HN_LOG_INFO, SUP_COMP, "spawned p2p host pid %d (gen %u): %s "
	       "--plugin %s", (int)pid, g->gen, s->o.host_bin, g->plugin);
	return g;
fail:
	free(argv);
	hn_rpc_client_close(g->p2p);
	if (g->status_fd >= 0)
		close(g->status_fd);
	if (g->plugin_fd >= 0)
		close(g->plugin_fd);
	free(g->plugin);
	free(g);
	return NULL;
}

static void spawn_serving(struct hn_sup *s)
{
	struct hn_error err = { 0 };
	struct hgen *g;

	if (!(g = spawn_gen(s, s->plugin, s->serve_fd, &err))) {
		hn_log(HN_LOG_ERROR, SUP_COMP, "%s", err.msg);
		s->st.spawn_failures++;
		schedule_restart(s, s->backoff);
		return;
	}
	s->cur = g;
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
	if (!s || !(s->plugin = strdup(o->plugin_path)) ||
	    (o->log_level && !(s->log_level = strdup(o->log_level)))) {
		if (s) {
			free(s->plugin);
			free(s);
		}
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	}
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
	s->o.max_msg = o->max_msg ? o->max_msg : HN_RPC_DEFAULT_MAX_MSG;
	s->loop = o->loop;
	s->ipc = o->ipc;
	s->default_loop = ev_is_default_loop(o->loop);
	s->backoff = s->o.backoff_min;
	s->st.next_backoff = s->backoff;
	ev_timer_init(&s->hb_w, hb_cb, s->o.heartbeat, s->o.heartbeat);
	s->hb_w.data = s;
	ev_timer_init(&s->restart_w, restart_cb, 0, 0);
	s->restart_w.data = s;
	ev_timer_init(&s->gate_w, gate_cb, 0, 0);
	s->gate_w.data = s;
	s->rb_fd = s->serve_fd = -1;
	ev_timer_start(s->loop, &s->hb_w);
	hn_ipc_on_bad(s->ipc, on_bad, s);
	spawn_serving(s);
	*out = s;
	return 0;
}

void hn_sup_stop(struct hn_sup *s)
{
	struct hgen *g;

	if (!s || s->stopping)
		return;
	s->stopping = true;
	ev_timer_stop(s->loop, &s->restart_w);
	gate_pass(s);
	for (g = s->all; g; g = g->next)
		end_host(g, "stop", "core stopping");
}

bool hn_sup_busy(const struct hn_sup *s)
{
	return s && s->all != NULL;
}

void hn_sup_close(struct hn_sup *s)
{
	if (!s)
		return;
	s->stopping = true;
	while (s->all) {
		struct hgen *g = s->all;
		int st = 0;

		if (g->pid) {
			send_signal(g, SIGKILL);
			if (waitpid(g->pid, &st, 0) != g->pid)
				st = 0;         /* libev reaped it already */
		}
		if (g->state != G_KILLING)
			snprintf(g->reason, sizeof(g->reason), "core closing");
		host_exited(g, st);
	}
	gate_pass(s);
	if (s->reloading)
		reload_done(s, HN_ECLOSED, "the node is closing", NULL);
	hn_ipc_on_bad(s->ipc, NULL, NULL);
	ev_timer_stop(s->loop, &s->hb_w);
	ev_timer_stop(s->loop, &s->restart_w);
	if (s->serve_fd >= 0)
		close(s->serve_fd);
	free(s->plugin);
	free(s->log_level);
	free(s);
}

int hn_sup_call(struct hn_sup *s, const char *method,
		HN_TAKES struct json_object *params, double timeout,
		hn_rpc_done_cb cb, void *arg)
{
	if (!s || !s->cur || s->cur->state != G_UP) {
		json_object_put(params);
		return HN_ECLOSED;
	}
	return hn_rpc_call(s->cur->p2p, method, params, timeout, 0, cb, arg);
}

int hn_sup_reload(struct hn_sup *s, const char *plugin_path,
		  hn_sup_reload_cb cb, void *arg, struct hn_error *err)
{
	const char *path = plugin_path ? plugin_path : s->plugin;
	struct stat st;
	struct hgen *g;

	if (s->stopping)
		return hn_error_set(err, HN_ECLOSED, "the node is stopping");
	if (s->reloading)
		return hn_error_set(err, -EBUSY, "a p2p plugin reload is "
				    "already in progress");
	/* Only what the core can see without loading the file: the host
	 * does the dlopen and the ABI checks. */
	if (stat(path, &st) < 0) {
		hn_core_metrics_plugin_reload("p2p", "refused", ev_time());
		return hn_error_set(err, errno == ENOENT ? HN_ENOENT : HN_EINVAL,
				    "cannot reload p2p: plugin '%s': %s", path,
				    strerror(errno));
	}
	if (!S_ISREG(st.st_mode) || access(path, R_OK) < 0) {
		hn_core_metrics_plugin_reload("p2p", "refused", ev_time());
		return hn_error_set(err, HN_EINVAL, "cannot reload p2p: plugin "
				    "'%s' is not a readable file", path);
	}
	if (!(g = spawn_gen(s, path, -1, err))) {
		s->st.reload_failures++;
		hn_core_metrics_plugin_reload("p2p", "refused", ev_time());
		return err ? err->code : HN_EIO;
	}
	/* The build to roll back to: what serves now (or would restart). */
	if (s->o.health_window > 0) {
		int src = s->cur && s->cur->plugin_fd >= 0 ? s->cur->plugin_fd :
			  s->serve_fd;

		s->rb_fd = src >= 0 ? fcntl(src, F_DUPFD_CLOEXEC, SUP_FD_MIN) :
			   snapshot_build(s->plugin);
		s->rb_plugin = strdup(s->cur ? s->cur->plugin : s->plugin);
	}
	s->cand = g;
	s->reload_gen = g->gen;
	s->reloading = true;
	s->reload_cb = cb;
	s->reload_arg = arg;
	s->reload_t0 = ev_time();
	s->reload_old_pid = s->cur ? s->cur->pid : 0;
	hn_log(HN_LOG_INFO, SUP_COMP, "plugin reload: starting gen %u with %s "
	       "next to %s", g->gen, g->plugin, s->cur ? "the serving host" :
	       "no serving host");
	return 0;
}

void hn_sup_reload_forget(struct hn_sup *s)
{
	if (s)
		s->reload_cb = NULL;
}

const char *hn_sup_plugin_path(const struct hn_sup *s)
{
	return s->cur ? s->cur->plugin : s->plugin;
}

int hn_sup_set_log_level(struct hn_sup *s, const char *level)
{
	char *l = NULL;

	if (level && !(l = strdup(level)))
		return HN_ENOMEM;
	free(s->log_level);
	s->log_level = l;
	return 0;
}

void hn_sup_stats(const struct hn_sup *s, struct hn_sup_stats *st)
{
	const struct hgen *g = s->cur;

	*st = s->st;
	st->next_backoff = s->backoff;
	st->cand_pid = s->cand ? s->cand->pid : 0;
	st->gating = s->gate_info != NULL;
	if (s->stopping && !s->all)
		st->state = HN_SUP_STOPPED;
	else if (!g)
		st->state = s->cand ? HN_SUP_STARTING : HN_SUP_IDLE;
	else
		st->state = g->state == G_UP ? HN_SUP_UP :
			    g->state == G_KILLING ? HN_SUP_KILLING :
			    HN_SUP_STARTING;
	st->pid = g ? g->pid : 0;
	st->gen = g ? g->gen : s->gen;
	st->bad = g ? g->bad : 0;
	st->misses = g ? g->misses : 0;
	if (g)
		st->rss = g->rss;
}

/* --- daemon module ------------------------------------------------------ */

struct sup_mod {
	struct hn_sup *sup;
	int listen_fd;
	char *host_bin, *plugin;
	/* "KEY=VALUE" plugin config passed with --config (owned). */
	char **cfg_str;
	size_t n_cfg, cap_cfg;
	/* The peer table for the HTTP API (core/peers.h). */
	struct ev_loop *loop;
	ev_timer peers_w;
	bool peers_inflight;
};

static struct sup_mod *the_mod;

int hn_sup_bind_listen(const struct hn_hostport *hp, struct hn_error *err)
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
	for (i = 0; i < m->n_cfg; i++)
		free(m->cfg_str[i]);
	free(m->cfg_str);
	free(m);
}

static int cfg_add(struct sup_mod *m, const char *fmt, ...) HN_PRINTF(2, 3);

/* Appends one "KEY=VALUE" to the host's --config list. */
static int cfg_add(struct sup_mod *m, const char *fmt, ...)
{
	va_list ap;
	char *str;
	int n;

	if (m->n_cfg == m->cap_cfg) {
		size_t cap = m->cap_cfg ? m->cap_cfg * 2 : 16;
		char **nc = realloc(m->cfg_str, cap * sizeof(*nc));

		if (!nc)
			return HN_ENOMEM;
		m->cfg_str = nc;
		m->cap_cfg = cap;
	}
	va_start(ap, fmt);
	n = vasprintf(&str, fmt, ap);
	va_end(ap);
	if (n < 0)
		return HN_ENOMEM;
	m->cfg_str[m->n_cfg++] = str;
	return 0;
}

/* The plugin's configuration (plugins/p2p_sync_v2/p2p_plugin.c keys):
 * network, data dir (peer_id.json), identity, max peers, bootstrap peers
 * and every "[p2p] key = value" of the ini file as "p2p.key". */
static int plugin_config(struct sup_mod *m, const struct hn_config *cfg)
{
	size_t i;
	int rc = 0;

	if (cfg->network)
		rc |= cfg_add(m, "network=%s", cfg->network);
	if (cfg->data_dir)
		rc |= cfg_add(m, "data_dir=%s", cfg->data_dir);
	if (cfg->peer_id_file)
		rc |= cfg_add(m, "p2p.identity=%s", cfg->peer_id_file);
	if (cfg->p2p_max_peers)
		rc |= cfg_add(m, "p2p.max_peers=%zu", cfg->p2p_max_peers);
	for (i = 0; i < cfg->n_bootstrap; i++) {
		const struct hn_hostport *b = &cfg->bootstrap[i];

		rc |= cfg_add(m, strchr(b->host, ':') ?
			      "p2p.bootstrap=tcp://[%s]:%u" :
			      "p2p.bootstrap=tcp://%s:%u", b->host, b->port);
	}
	for (i = 0; i < cfg->n_kv; i++) {
		const struct hn_config_kv *kv = &cfg->kv[i];

		if (kv->section && strcmp(kv->section, "p2p") == 0)
			rc |= cfg_add(m, "p2p.%s=%s", kv->key, kv->value);
	}
	return rc < 0 ? HN_ENOMEM : 0;
}

/* --- admin hooks (core/admin.h) ---------------------------------------- */

/* A "peers" call waiting for get_connections; @call NULL once cancelled. */
struct peers_req {
	struct hn_admin_call *call;
	struct peers_req *next;
};

static struct admin_calls {
	struct peers_req *peers;
	struct hn_admin_call *reload;
} adm;

static void peers_reply(void *arg, int rc, struct hn_rpc_resp *resp)
{
	struct peers_req *r = arg, **pp;
	struct json_object *o;

	for (pp = &adm.peers; *pp; pp = &(*pp)->next) {
		if (*pp == r) {
			*pp = r->next;
			break;
		}
	}
	if (r->call) {
		if (rc < 0)
			hn_admin_call_done(r->call, rc, NULL, "the p2p host did "
					   "not answer get_connections");
		else if (resp->is_error)
			hn_admin_call_done(r->call, HN_EIO, NULL,
					   resp->error.message);
		else {
			o = json_object_new_object();
			hn_rpc_add(o, "peers", json_object_get(resp->result));
			hn_admin_call_done(r->call, 0, o, NULL);
		}
	}
	free(r);
}

int hn_sup_module_call(const char *method, HN_TAKES struct json_object *params,
		       double timeout, hn_rpc_done_cb cb, void *arg)
{
	if (!the_mod || !the_mod->sup) {
		json_object_put(params);
		return HN_ECLOSED;
	}
	return hn_sup_call(the_mod->sup, method, params, timeout, cb, arg);
}

static int h_peers(void *ctx, struct hn_admin_call *call)
{
	struct peers_req *r;
	int rc;

	if (!the_mod || !the_mod->sup)
		return HN_ECLOSED;
	if (!(r = calloc(1, sizeof(*r))))
		return HN_ENOMEM;
	r->call = call;
	rc = hn_sup_call(the_mod->sup, "get_connections", NULL, 10.0,
			 peers_reply, r);
	if (rc < 0) {
		free(r);
		hn_admin_call_done(call, rc, NULL, "the p2p host is not up");
		return 0;
	}
	r->next = adm.peers;
	adm.peers = r;
	return 0;
}

static void reload_cb(void *arg, int rc, const char *msg,
		      struct json_object *info)
{
	struct hn_admin_call *call = adm.reload;

	adm.reload = NULL;
	if (call)
		hn_admin_call_done(call, rc < 0 ? HN_EIO : 0,
				   rc < 0 ? NULL : json_object_get(info), msg);
}

/* "plugin reload p2p" (or "p2p_sync_v2"): the configured plugin path
 * again (a new build dropped in its place); "plugin reload PATH" with a
 * '/' in it: that file becomes the P2P plugin. */
static int h_plugin_reload(void *ctx, const char *name,
			   struct hn_admin_call *call)
{
	struct hn_error err = { 0 };
	const char *path = NULL;
	char msg[200];

	if (!the_mod || !the_mod->sup)
		return HN_ECLOSED;
	if (strchr(name, '/'))
		path = name;
	else if (strcmp(name, "p2p") != 0 && strcmp(name, "p2p_sync_v2") != 0) {
		snprintf(msg, sizeof(msg), "no plugin '%s' outside the core: "
			 "the p2p host runs 'p2p' (or give a path to a .so)",
			 name);
		hn_admin_call_done(call, HN_ENOENT, NULL, msg);
		return 0;
	}
	if (hn_sup_reload(the_mod->sup, path, reload_cb, NULL, &err) < 0) {
		struct hgen *cur = the_mod->sup->cur;
		char line[sizeof(err.msg) + 32];

		/* Refused before anything was spawned: say what still runs. */
		snprintf(line, sizeof(line), "%s%s", err.msg,
			 err.code != HN_ECLOSED && cur && cur->pid ?
			 "; old plugin still active" : "");
		hn_admin_call_done(call, err.code == HN_ECLOSED ? HN_ECLOSED :
				   HN_EIO, NULL, line);
		return 0;
	}
	adm.reload = call;
	return 0;
}

static int h_plugin_list(void *ctx, struct hn_admin_call *call)
{
	struct json_object *r, *a, *p;
	struct hn_sup_stats st;
	static const char *const states[] = { "idle", "starting", "up",
					      "killing", "stopped" };

	if (!the_mod || !the_mod->sup)
		return HN_ECLOSED;
	hn_sup_stats(the_mod->sup, &st);
	r = json_object_new_object();
	a = json_object_new_array();
	p = json_object_new_object();
	hn_rpc_add(p, "name", json_object_new_string("p2p"));
	hn_rpc_add(p, "kind", json_object_new_string("p2p"));
	hn_rpc_add(p, "path", json_object_new_string(
			   hn_sup_plugin_path(the_mod->sup)));
	hn_rpc_add(p, "process", json_object_new_string("hathor-p2p-host"));
	hn_rpc_add(p, "pid", json_object_new_int64(st.pid));
	hn_rpc_add(p, "gen", json_object_new_int64(st.gen));
	hn_rpc_add(p, "state", json_object_new_string(
			   st.state <= HN_SUP_STOPPED ? states[st.state] : "?"));
	hn_rpc_add(p, "restarts", json_object_new_int64(st.restarts));
	hn_rpc_add(p, "reloads", json_object_new_int64(st.reloads));
	hn_rpc_add(p, "reload_failures",
		   json_object_new_int64(st.reload_failures));
	hn_rpc_add(p, "rollbacks", json_object_new_int64(st.rollbacks));
	if (st.last_rollback[0])
		hn_rpc_add(p, "last_rollback",
			   json_object_new_string(st.last_rollback));
	hn_rpc_add(p, "bad_messages", json_object_new_int64(
			   (int64_t)st.bad_total));
	if (st.last_reason[0])
		hn_rpc_add(p, "last_exit_reason",
			   json_object_new_string(st.last_reason));
	json_object_array_add(a, p);
	hn_rpc_add(r, "plugins", a);
	hn_admin_call_done(call, 0, r, NULL);
	return 0;
}

static void h_log_level(void *ctx, const char *level)
{
	if (the_mod && the_mod->sup)
		hn_sup_set_log_level(the_mod->sup, level);
}

static void h_cancel(void *ctx, struct hn_admin_call *call)
{
	struct peers_req *r;

	if (adm.reload == call) {
		adm.reload = NULL;
		if (the_mod && the_mod->sup)
			hn_sup_reload_forget(the_mod->sup);
	}
	for (r = adm.peers; r; r = r->next)
		if (r->call == call)
			r->call = NULL;
}

static const struct hn_admin_hooks sup_hooks = {
	.peers = h_peers,
	.plugin_reload = h_plugin_reload,
	.plugin_list = h_plugin_list,
	.log_level = h_log_level,
	.cancel = h_cancel,
};

/* --- the peer table for the HTTP API (core/peers.h) -------------------- */

#define PEERS_FIRST 0.2         /* s after open, then every PEERS_EVERY */
#define PEERS_EVERY 2.0
#define PEERS_TIMEOUT 1.0

static void peers_snap_reply(void *arg, int rc, struct hn_rpc_resp *resp)
{
	struct sup_mod *m = the_mod;

	(void)arg;
	if (!m)
		return;
	m->peers_inflight = false;
	if (rc < 0 || resp->is_error) {
		/* No host answering: no peers (never a stale table). */
		hn_peers_snapshot_set(NULL, ev_now(m->loop));
		return;
	}
	hn_peers_snapshot_set(json_object_get(resp->result), ev_now(m->loop));
}

/* Refreshes the cached table: one get_connections at a time, answered
 * later on the loop; HTTP handlers only ever read the cache. */
static void peers_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct sup_mod *m = w->data;

	(void)revents;
	if (m->peers_inflight)
		return;
	if (hn_sup_call(m->sup, "get_connections", NULL, PEERS_TIMEOUT,
			peers_snap_reply, NULL) < 0) {
		hn_peers_snapshot_set(NULL, ev_now(loop));
		return;
	}
	m->peers_inflight = true;
}

static int sup_mod_open(struct hn_daemon *d, struct hn_error *err)
{
	const struct hn_config *cfg = d->cfg;
	struct hn_sup_opts o = { 0 };
	struct sup_mod *m;
	int rc;

	if (!cfg || cfg->p2p_mode != HN_P2P_HOST || !d->ipc)
		return 0;
	m = calloc(1, sizeof(*m));
	if (!m)
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	m->listen_fd = -1;
	if (cfg->has_p2p_listen) {
		rc = hn_sup_bind_listen(&cfg->p2p_listen, err);
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
	if (!m->host_bin || !m->plugin || plugin_config(m, cfg) < 0) {
		sup_mod_free(m);
		return hn_error_set(err, HN_ENOMEM, "out of memory");
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
	o.config = (const char *const *)m->cfg_str;
	o.n_config = m->n_cfg;
	o.heartbeat = cfg->host_heartbeat_ms ? cfg->host_heartbeat_ms / 1000.0 :
		      0;
	o.max_rss = (size_t)cfg->host_max_rss_mb * 1024 * 1024;
	o.health_window = cfg->reload_health_ms / 1000.0;
	rc = hn_sup_open(&o, &m->sup, err);
	if (rc < 0) {
		sup_mod_free(m);
		return rc;
	}
	d->sup = m->sup;
	the_mod = m;
	hn_admin_hooks_register(&sup_hooks);
	m->loop = d->loop;
	ev_timer_init(&m->peers_w, peers_tick, PEERS_FIRST, PEERS_EVERY);
	m->peers_w.data = m;
	ev_timer_start(d->loop, &m->peers_w);
	return 0;
}

static void sup_mod_stop(struct hn_daemon *d)
{
	if (the_mod)
		ev_timer_stop(d->loop, &the_mod->peers_w);
	hn_sup_stop(d->sup);
}

static bool sup_mod_busy(struct hn_daemon *d)
{
	return hn_sup_busy(d->sup);
}

static void sup_mod_close(struct hn_daemon *d)
{
	struct peers_req *r;

	/* Held admin calls get cancel() first. */
	hn_admin_hooks_register(NULL);
	for (r = adm.peers; r; r = r->next)
		r->call = NULL;
	adm.reload = NULL;
	if (the_mod)
		ev_timer_stop(d->loop, &the_mod->peers_w);
	hn_sup_close(d->sup);
	d->sup = NULL;
	sup_mod_free(the_mod);
	the_mod = NULL;
	hn_peers_snapshot_set(NULL, 0);
}

const struct hn_daemon_module hn_sup_module = {
	.name = "sup",
	.open = sup_mod_open,
	.stop = sup_mod_stop,
	.busy = sup_mod_busy,
	.close = sup_mod_close,
};
