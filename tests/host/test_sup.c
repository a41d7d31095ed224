/*
 * test_sup.c: the supervisor (core/sup.c) with the core's IPC module
 * (core/ipc.c, no ledger) driving the REAL hathor-p2p-host binary running
 * tests/host/plug_p2p.so, over real nng ipc sockets in a 0700 runtime dir
 * under the build dir.
 *
 *  - the host comes up (hello on the per-generation p2p.<gen>.ipc) and
 *    answers heartbeats; a p2p.ipc command reaches it;
 *  - SIGKILL from the test: the supervisor reaps it, logs why and starts
 *    the next generation after a backoff that doubles;
 *  - a hung host (SIGSTOP) misses heartbeats, gets SIGTERM, then SIGKILL
 *    after the grace period, and is replaced;
 *  - an RSS limit below what the host uses ends it with that reason;
 *  - a clean stop sends SIGTERM, the host exits 0 and is reaped (no
 *    zombie left, no restart);
 *  - reload: a new generation comes up next to the old one, is switched
 *    in, the old one is ended; a reload with a missing file, a file that
 *    is not a shared object, or a plugin built for another ABI major fails
 *    with the reason and the old host keeps serving (same pid, heartbeats,
 *    commands);
 *  - bad-message policy: a garbage-writing host is ended and restarted;
 *    garbage from the generation a reload retires is charged to it (by
 *    the pipe's peer pid), never to the new serving one.
 *
 * argv[1]: hathor-p2p-host, argv[2]: plug_p2p.so, argv[3]: a plugin with
 * a wrong ABI major, [argv[4]: "own-loop": a non-default libev loop, where
 * the supervisor reaps through the pidfd instead of libev's SIGCHLD
 * handler].
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "ipc.h"
#include "metrics.h"
#include "sup.h"

#include "hn/err.h"

static const char *host_bin, *plugin_so, *bad_abi_so, *crash_so;
static const char *garbage_so;
static const char *plugin_arg;  /* argv; tests may point plugin_so away */
static double health_window;
static double term_grace;       /* 0: 0.5 s */
static const char *const *sup_config;   /* --config KEY=VALUE, per test */
static size_t n_sup_config;
static bool own_loop;
static struct ev_loop *loop;
static char rundir[256];
static struct hn_ipc *ipc;
static struct hn_sup *sup;

/* --- helpers ------------------------------------------------------------ */

static void timeout_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	*(bool *)w->data = true;
}

/* Runs the loop until @pred is true or @secs pass; returns @pred's value. */
static bool run_until(bool (*pred)(void *), void *arg, double secs)
{
	ev_timer t;
	bool expired = false;

	ev_timer_init(&t, timeout_cb, secs, 0);
	t.data = &expired;
	ev_timer_start(loop, &t);
	while (!expired && !pred(arg))
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
	return pred(arg);
}

static bool never(void *arg)
{
	return false;
}

static void run_for(double secs)
{
	run_until(never, NULL, secs);
}

/* The core's metrics registry (core/metrics.c), fed by the supervisor's
 * hooks and the host's heartbeat report. */
struct cm_q {
	const char *name, *labels;      /* labels NULL: sum of all */
	double v;
	bool found;
};

static void cm_cb(void *arg, const struct hathor_metric_value *v)
{
	struct cm_q *q = arg;

	if (strcmp(v->name, q->name) != 0 ||
	    (q->labels && strcmp(v->labels, q->labels) != 0))
		return;
	q->v += v->type == HATHOR_METRIC_HISTOGRAM ? (double)v->count :
		v->value;
	q->found = true;
}

/* Value (histogram: count) of @name{@labels}; -1 when absent. */
static double cm(const char *name, const char *labels)
{
	struct cm_q q = { name, labels, 0, false };

	hn_core_metrics_visit(NULL, cm_cb, &q);
	return q.found ? q.v : -1;
}

static bool host_rss_reported(void *arg)
{
	return cm("process_resident_memory_bytes", "process=\"p2p-host\"") > 0;
}

static struct hn_sup_stats stats(void)
{
	struct hn_sup_stats st;

	hn_sup_stats(sup, &st);
	return st;
}

/* Up with a pid other than *@arg (0: any). */
static bool is_up_other(void *arg)
{
	struct hn_sup_stats st = stats();

	return st.state == HN_SUP_UP && st.pid != *(pid_t *)arg;
}

static bool is_gone(void *arg)
{
	return !hn_sup_busy(sup);
}

static bool pid_respawned(void *arg)
{
	struct hn_sup_stats st = stats();

	return st.pid != 0 && st.pid != *(pid_t *)arg;
}

static bool is_idle(void *arg)
{
	return stats().state == HN_SUP_IDLE;
}

static bool more_beats(void *arg)
{
	return stats().heartbeats >= *(uint64_t *)arg;
}

static bool process_exists(pid_t pid)
{
	return kill(pid, 0) == 0 || errno != ESRCH;
}

static void sup_start(size_t max_rss)
{
	struct hn_ipc_opts io = { 0 };
	struct hn_sup_opts so = { 0 };
	struct hn_error err = { 0 };

	hn_core_metrics_reset();
	io.loop = loop;
	io.runtime_dir = rundir;
	io.heartbeat = 0.2;
	assert_int_equal(hn_ipc_open(&io, &ipc, &err), 0);
	so.loop = loop;
	so.ipc = ipc;
	so.host_bin = host_bin;
	so.plugin_path = plugin_so;
	so.runtime_dir = rundir;
	so.listen_fd = -1;
	so.log_level = "info";
	so.heartbeat = 0.2;
	/* Timeouts with room for a loaded CI machine (two cores shared by
	 * parallel builds): a healthy host that is merely descheduled must
	 * not miss three heartbeats in a row (1.8 s) or outlive its SIGTERM
	 * grace; what the tests measure only has lower bounds. */
	so.hb_timeout = 0.6;
	so.max_misses = 3;
	so.term_grace = term_grace > 0 ? term_grace : 0.5;
	so.startup_timeout = 10;
	so.backoff_min = 0.4;
	so.backoff_max = 1.6;
	so.healthy_reset = 60;
	so.max_rss = max_rss;
	so.health_window = health_window;
	so.config = sup_config;
	so.n_config = n_sup_config;
	if (hn_sup_open(&so, &sup, &err) != 0)
		fail_msg("hn_sup_open: %s", err.msg);
}

/* A clean stop: SIGTERM, the host exits with @exit (its SIGTERM handler;
 * NULL: it may also die of the signal before installing it), is reaped,
 * nothing restarts. */
static void sup_clean_stop_as(const char *exit)
{
	struct hn_sup_stats st = stats();
	pid_t pid = st.pid;
	unsigned restarts = st.restarts;

	hn_sup_stop(sup);
	assert_true(run_until(is_gone, NULL, 5.0 + 2 * term_grace));
	st = stats();
	assert_int_equal(st.state, HN_SUP_STOPPED);
	assert_int_equal(st.pid, 0);
	assert_int_equal(st.restarts, restarts);
	if (pid) {
		assert_string_equal(st.last_reason, "core stopping");
		if (exit)
			assert_string_equal(st.last_exit, exit);
		else
			assert_true(strcmp(st.last_exit, "exit 0") == 0 ||
				    strcmp(st.last_exit, "signal 15") == 0);
		/* Reaped: not even a zombie is left. */
		assert_false(process_exists(pid));
	}
	run_for(1.0);   /* no restart after a stop */
	st = stats();
	assert_int_equal(st.pid, 0);
	assert_int_equal(st.restarts, restarts);
}

static void sup_clean_stop(void)
{
	sup_clean_stop_as("exit 0");
}

static int setup(void **state)
{
	char cwd[200];

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	/* mkdtemp's template: six X characters. */
	snprintf(rundir, sizeof(rundir), "%s/sup%s", cwd, "XX" "XX" "XX");
	assert_non_null(mkdtemp(rundir));
	chmod(rundir, 0700);
	return 0;
}

static int teardown(void **state)
{
	hn_sup_close(sup);
	sup = NULL;
	hn_ipc_close(ipc);
	ipc = NULL;
	health_window = 0;
	term_grace = 0;
	sup_config = NULL;
	n_sup_config = 0;
	plugin_so = plugin_arg;
	rmdir(rundir);
	return 0;
}

/* --- tests -------------------------------------------------------------- */

struct got {
	bool done;
	int rc;
	bool is_error;
	char text[8192];
};

static void got_cb(void *arg, int rc, struct hn_rpc_resp *resp)
{
	struct got *g = arg;

	g->done = true;
	g->rc = rc;
	if (rc == 0) {
		g->is_error = resp->is_error;
		snprintf(g->text, sizeof(g->text), "%s", resp->is_error ?
			 resp->error.message :
			 json_object_to_json_string_ext(resp->result,
							JSON_C_TO_STRING_PLAIN));
	}
}

static bool got_done(void *arg)
{
	return ((struct got *)arg)->done;
}

static void test_kill_restart_backoff(void **state)
{
	struct hn_sup_stats st;
	struct got g = { 0 };
	pid_t none = 0, p1, p2, p3;
	uint64_t beats;
	double t0, d1, d2;

	sup_start(0);
	assert_true(run_until(is_up_other, &none, 10.0));
	st = stats();
	p1 = st.pid;
	assert_true(p1 > 0);
	assert_int_equal(st.gen, 1);
	assert_true(process_exists(p1));

	/* Heartbeats every 0.2 s are answered. */
	beats = st.heartbeats + 4;
	assert_true(run_until(more_beats, &beats, 3.0));
	assert_int_equal(stats().misses, 0);
	/* The core's metrics: up, and the host's own figures reported in
	 * its heartbeat answers (docs/ipc.md), labelled process="p2p-host". */
	assert_true(cm("hathor_p2p_host_up", "") == 1);
	assert_true(run_until(host_rss_reported, NULL, 3.0));
	assert_true(cm("process_resident_memory_bytes", "process=\"p2p-host\"")
		    > 1e6);
	assert_true(cm("process_cpu_seconds_total",
		       "process=\"p2p-host\"") >= 0);
	assert_true(cm("process_open_fds", "process=\"p2p-host\"") >= 3);
	assert_true(cm("process_start_time_seconds", "process=\"p2p-host\"") >
		    ev_time() - 60);
	assert_true(cm("hathor_peers", "state=\"ready\"") >= 0);
	/* node.ipc calls the host made: duration histogram by method. */
	assert_true(cm("hathor_ipc_request_duration_seconds",
		       "method=\"heartbeat\"") >= 1);
	assert_true(cm("hathor_ipc_request_duration_seconds", NULL) >=
		    cm("hathor_ipc_errors_total", NULL));

	/* A command over p2p.ipc reaches the host's plugin. */
	assert_int_equal(hn_sup_call(sup, "get_connections", NULL, 2.0,
				     got_cb, &g), 0);
	assert_true(run_until(got_done, &g, 3.0));
	assert_int_equal(g.rc, 0);
	assert_false(g.is_error);
	/* It sent "start" after hello, and the plugin's node calls got
	 * the no-ledger answer from node.ipc. */
	assert_non_null(strstr(g.text, "\"ops\":\"start"));
	assert_non_null(strstr(g.text, "no ledger in this process"));

	/* SIGKILL: reaped, replaced after backoff_min (0.4 s). */
	t0 = ev_time();
	assert_int_equal(kill(p1, SIGKILL), 0);
	assert_true(run_until(is_idle, NULL, 3.0));
	st = stats();
	assert_string_equal(st.last_exit, "signal 9");
	assert_string_equal(st.last_reason, "exited by itself");
	assert_int_equal(st.restarts, 1);
	assert_true(st.next_backoff > 0.79 && st.next_backoff < 0.81);
	assert_true(cm("hathor_p2p_host_restarts_total",
		       "reason=\"crash\"") == 1);
	assert_true(cm("hathor_p2p_host_up", "") == 0);
	/* What the dead host reported is gone with it. */
	assert_true(cm("process_resident_memory_bytes", "process=\"p2p-host\"")
		    == -1);
	assert_true(run_until(pid_respawned, &p1, 5.0));
	d1 = ev_time() - t0;
	assert_true(run_until(is_up_other, &p1, 10.0));
	st = stats();
	p2 = st.pid;
	assert_int_equal(st.gen, 2);
	assert_false(process_exists(p1));

	/* Second crash: the backoff doubled (0.8 s). */
	t0 = ev_time();
	assert_int_equal(kill(p2, SIGKILL), 0);
	assert_true(run_until(pid_respawned, &p2, 5.0));
	d2 = ev_time() - t0;
	assert_true(run_until(is_up_other, &p2, 10.0));
	st = stats();
	p3 = st.pid;
	assert_int_equal(st.gen, 3);
	assert_int_equal(st.restarts, 2);
	/* Both are crashes.  A host SIGKILLed with node calls in flight is
	 * reaped as a crash, never "misbehaving": requests left over from
	 * its closed pipe are dropped (lib/rpc_nng.c), not answered as
	 * "before hello" and charged to the serving generation. */
	assert_true(cm("hathor_p2p_host_restarts_total", NULL) == 2);
	assert_true(cm("hathor_p2p_host_restarts_total",
		       "reason=\"crash\"") == 2);
	assert_true(cm("hathor_p2p_host_up", "") == 1);
	print_message("restart delays: %.3f s then %.3f s (backoff 0.4, "
		      "0.8)\n", d1, d2);
	/* The delays are at least the backoff (load only adds to them:
	 * no upper bound beyond the waits above), and the backoff doubled
	 * each time, 0.4 -> 0.8 -> 1.6 (the cap). */
	assert_true(d1 >= 0.38);
	assert_true(d2 >= 0.78);
	assert_true(st.next_backoff > 1.59 && st.next_backoff < 1.61);

	/* The new generation answers heartbeats too. */
	beats = stats().heartbeats + 3;
	assert_true(run_until(more_beats, &beats, 3.0));
	assert_int_equal(stats().pid, p3);

	sup_clean_stop();
	assert_false(process_exists(p3));
}

static void test_hung_host(void **state)
{
	struct hn_sup_stats st;
	pid_t none = 0, p1;
	double t0, dt;

	/* A 2 s grace: the replacement host's clean stop at the end must
	 * not be cut short by SIGKILL when it exits slowly under load (an
	 * ASan build's exit is slow). */
	term_grace = 2.0;
	sup_start(0);
	assert_true(run_until(is_up_other, &none, 10.0));
	p1 = stats().pid;
	/* Stopped: no heartbeat answers (3 misses of 0.6 s, 0.2 s apart),
	 * SIGTERM stays pending, SIGKILL after the grace. */
	t0 = ev_time();
	assert_int_equal(kill(p1, SIGSTOP), 0);
	assert_true(run_until(is_idle, NULL, 8.0));
	dt = ev_time() - t0;
	st = stats();
	print_message("hung host ended after %.3f s: %s (%s)\n", dt,
		      st.last_reason, st.last_exit);
	assert_non_null(strstr(st.last_reason, "no heartbeat answer 3 times"));
	assert_string_equal(st.last_exit, "signal 9");
	assert_true(dt >= 3 * 0.6 + term_grace);
	assert_false(process_exists(p1));
	assert_true(run_until(is_up_other, &p1, 10.0));
	assert_int_equal(stats().gen, 2);
	assert_true(cm("hathor_p2p_host_restarts_total",
		       "reason=\"hang\"") == 1);
	sup_clean_stop();
}

static void test_rss_limit(void **state)
{
	struct hn_sup_stats st;

	/* 1 MiB: any nng process is over it at its first sample. */
	sup_start(1024 * 1024);
	assert_true(run_until(is_idle, NULL, 8.0));
	st = stats();
	assert_non_null(strstr(st.last_reason, "over the limit of 1024 KB"));
	/* Ended by SIGTERM: "exit 0" from the host's handler, or the signal
	 * itself when the first sample came before the host installed it
	 * (on a loaded machine the heartbeat timer, late, fires in the
	 * iteration right after the spawn), as test_stop_while_starting
	 * allows.  The clean stops elsewhere check the handler. */
	assert_true(strcmp(st.last_exit, "exit 0") == 0 ||
		    strcmp(st.last_exit, "signal 15") == 0);
	assert_true(st.rss > 1024 * 1024);
	assert_int_equal(st.restarts, 1);
	assert_true(cm("hathor_p2p_host_restarts_total", "reason=\"rss\"")
		    == 1);
	sup_clean_stop();
}

static void test_stop_while_starting(void **state)
{
	/* A host told to end during its start-up exits on SIGTERM; a long
	 * grace, so a slow exit under load is not mistaken for ignoring it
	 * (SIGKILL after the grace would fail the exit check). */
	term_grace = 5.0;
	sup_start(0);
	/* Stop right after the spawn: the host is told to end before it
	 * said hello and is reaped all the same. */
	assert_int_equal(stats().state, HN_SUP_STARTING);
	sup_clean_stop_as(NULL);
}

static void test_bad_binary(void **state)
{
	struct hn_ipc_opts io = { 0 };
	struct hn_sup_opts so = { 0 };
	struct hn_error err = { 0 };

	io.loop = loop;
	io.runtime_dir = rundir;
	assert_int_equal(hn_ipc_open(&io, &ipc, &err), 0);
	so.loop = loop;
	so.ipc = ipc;
	so.host_bin = "/nonexistent/hathor-p2p-host";
	so.plugin_path = plugin_so;
	so.runtime_dir = rundir;
	so.listen_fd = -1;
	assert_int_equal(hn_sup_open(&so, &sup, &err), HN_ENOENT);
	assert_non_null(strstr(err.msg, "/nonexistent/hathor-p2p-host"));
	assert_null(sup);
}

/* --- reload ------------------------------------------------------------- */

struct rl {
	bool done;
	int rc;
	char msg[512];
	char info[512];
};

static void rl_cb(void *arg, int rc, const char *msg, struct json_object *info)
{
	struct rl *r = arg;

	r->done = true;
	r->rc = rc;
	snprintf(r->msg, sizeof(r->msg), "%s", msg ? msg : "");
	snprintf(r->info, sizeof(r->info), "%s", info ?
		 json_object_to_json_string_ext(info, JSON_C_TO_STRING_PLAIN) :
		 "");
}

static bool rl_done(void *arg)
{
	return ((struct rl *)arg)->done;
}

/* The serving host is @pid, it answers heartbeats and commands. */
static void assert_serving(pid_t pid)
{
	struct got g = { 0 };
	uint64_t beats = stats().heartbeats + 2;

	assert_int_equal(stats().pid, pid);
	assert_int_equal(stats().state, HN_SUP_UP);
	assert_true(process_exists(pid));
	assert_true(run_until(more_beats, &beats, 3.0));
	assert_int_equal(hn_sup_call(sup, "get_connections", NULL, 2.0,
				     got_cb, &g), 0);
	assert_true(run_until(got_done, &g, 3.0));
	assert_int_equal(g.rc, 0);
	assert_false(g.is_error);
	assert_non_null(strstr(g.text, "\"ops\":\"start"));
	assert_int_equal(stats().pid, pid);
}

static void test_reload_ok(void **state)
{
	struct hn_error err = { 0 };
	struct rl r = { 0 };
	char want[64];
	pid_t none = 0, p1, p2;
	double t0;

	sup_start(0);
	assert_true(run_until(is_up_other, &none, 10.0));
	p1 = stats().pid;
	t0 = ev_time();
	assert_int_equal(hn_sup_reload(sup, NULL, rl_cb, &r, &err), 0);
	/* A second one while the first runs is refused. */
	assert_int_equal(hn_sup_reload(sup, NULL, rl_cb, &r, &err), -EBUSY);
	assert_non_null(strstr(err.msg, "already in progress"));
	/* The old host serves while the candidate starts. */
	assert_int_equal(stats().pid, p1);
	assert_true(stats().cand_pid > 0);
	assert_true(run_until(rl_done, &r, 15.0));
	print_message("reload: %.0f ms, %s\n", (ev_time() - t0) * 1000,
		      r.info);
	assert_int_equal(r.rc, 0);
	p2 = stats().pid;
	assert_true(p2 != p1 && p2 > 0);
	snprintf(want, sizeof(want), "\"old_pid\":%d", (int)p1);
	assert_non_null(strstr(r.info, want));
	assert_non_null(strstr(r.info, "\"gen\":2"));
	/* The old one was ended on purpose, not restarted. */
	assert_false(process_exists(p1));
	assert_int_equal(stats().restarts, 0);
	assert_int_equal(stats().reloads, 1);
	assert_int_equal(stats().cand_pid, 0);
	assert_true(cm("hathor_plugin_reloads_total",
		       "plugin=\"p2p\",result=\"ok\"") == 1);
	assert_true(cm("hathor_plugin_last_reload_timestamp_seconds",
		       "plugin=\"p2p\"") >= t0 - 1);
	/* A reload is not a restart. */
	assert_true(cm("hathor_p2p_host_restarts_total", NULL) == -1);
	assert_serving(p2);
	sup_clean_stop();
}

static void test_reload_fails_old_serves(void **state)
{
	struct hn_error err = { 0 };
	struct rl r = { 0 };
	char junk[300];
	pid_t none = 0, p1;
	FILE *f;

	sup_start(0);
	assert_true(run_until(is_up_other, &none, 10.0));
	p1 = stats().pid;

	/* Missing file: refused before anything is spawned. */
	assert_int_equal(hn_sup_reload(sup, "/nonexistent/p2p_sync_v2.so",
				       rl_cb, &r, &err), HN_ENOENT);
	print_message("missing: %s\n", err.msg);
	assert_non_null(strstr(err.msg, "/nonexistent/p2p_sync_v2.so"));
	assert_non_null(strstr(err.msg, "No such file"));
	assert_false(r.done);
	assert_int_equal(stats().cand_pid, 0);

	/* Not a shared object: the new host's loader refuses it. */
	snprintf(junk, sizeof(junk), "%s/junk.so", rundir);
	f = fopen(junk, "w");
	assert_non_null(f);
	fputs("this is not an ELF file\n", f);
	fclose(f);
	assert_int_equal(hn_sup_reload(sup, junk, rl_cb, &r, &err), 0);
	assert_true(run_until(rl_done, &r, 15.0));
	print_message("junk: %s\n", r.msg);
	assert_true(r.rc < 0);
	assert_non_null(strstr(r.msg, "junk.so"));
	assert_non_null(strstr(r.msg, "old plugin still active"));
	assert_serving(p1);
	unlink(junk);

	/* Built for ABI major 2: refused with both versions named. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(hn_sup_reload(sup, bad_abi_so, rl_cb, &r, &err), 0);
	assert_true(run_until(rl_done, &r, 15.0));
	print_message("abi: %s\n", r.msg);
	assert_true(r.rc < 0);
	assert_non_null(strstr(r.msg, "plug_bad_abi_major"));
	assert_non_null(strstr(r.msg, "2."));
	assert_serving(p1);
	assert_int_equal(stats().reload_failures, 2);
	assert_int_equal(stats().restarts, 0);
	assert_true(cm("hathor_plugin_reloads_total",
		       "plugin=\"p2p\",result=\"refused\"") == 1);
	assert_true(cm("hathor_plugin_reloads_total",
		       "plugin=\"p2p\",result=\"failed\"") == 2);
	/* Later restarts still use the good plugin. */
	assert_string_equal(hn_sup_plugin_path(sup), plugin_so);

	/* And a good reload after the failures works. */
	memset(&r, 0, sizeof(r));
	assert_int_equal(hn_sup_reload(sup, plugin_so, rl_cb, &r, &err), 0);
	assert_true(run_until(rl_done, &r, 15.0));
	assert_int_equal(r.rc, 0);
	assert_true(stats().pid != p1);
	assert_serving(stats().pid);
	sup_clean_stop();
}

/* Copies @src to @dst through a temp file and rename (the atomic way to
 * install a build). */
static void install(const char *src, const char *dst)
{
	char tmp[300], buf[65536];
	FILE *in = fopen(src, "rb"), *out;
	size_t n;

	snprintf(tmp, sizeof(tmp), "%s.tmp", dst);
	assert_non_null(in);
	out = fopen(tmp, "wb");
	assert_non_null(out);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(rename(tmp, dst), 0);
}

static bool is_gating(void *arg)
{
	return stats().gating;
}

/* The health gate passes: the verdict waits the window, then succeeds. */
static void test_reload_gate_ok(void **state)
{
	struct hn_error err = { 0 };
	struct rl r = { 0 };
	pid_t none = 0, p1;
	double t0;

	health_window = 1.0;
	sup_start(0);
	assert_true(run_until(is_up_other, &none, 10.0));
	p1 = stats().pid;
	t0 = ev_time();
	assert_int_equal(hn_sup_reload(sup, NULL, rl_cb, &r, &err), 0);
	assert_true(run_until(is_gating, NULL, 15.0));
	assert_false(r.done);
	/* Another reload during the window is refused too. */
	assert_int_equal(hn_sup_reload(sup, NULL, rl_cb, &r, &err), -EBUSY);
	assert_true(run_until(rl_done, &r, 15.0));
	print_message("gated reload: %.0f ms, %s\n", (ev_time() - t0) * 1000,
		      r.info);
	assert_int_equal(r.rc, 0);
	assert_true(ev_time() - t0 >= 1.0);
	assert_non_null(strstr(r.info, "\"health_window_s\":1"));
	assert_false(stats().gating);
	assert_int_equal(stats().rollbacks, 0);
	assert_true(stats().pid != p1);
	assert_serving(stats().pid);
	sup_clean_stop();
}

/* A build installed over the serving one (rename) that dies 1.5 s after
 * "start": rolled back to the previous build's bytes (held open by the
 * core), which keeps running; the reload fails saying so. */
static void test_reload_rollback(void **state)
{
	struct hn_error err = { 0 };
	struct rl r = { 0 };
	char path[300], cmdline[512];
	pid_t none = 0, p1, p2, p3;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/p2p_test.so", rundir);
	install(plugin_so, path);
	health_window = 4.0;
	plugin_so = path;
	sup_start(0);
	assert_true(run_until(is_up_other, &none, 10.0));
	p1 = stats().pid;
	install(crash_so, path);
	assert_int_equal(hn_sup_reload(sup, NULL, rl_cb, &r, &err), 0);
	assert_true(run_until(is_gating, NULL, 15.0));
	p2 = stats().pid;
	assert_true(p2 != p1);
	assert_true(run_until(rl_done, &r, 10.0));
	print_message("rollback: %s\n", r.msg);
	assert_true(r.rc < 0);
	assert_non_null(strstr(r.msg, "signal 9"));
	assert_non_null(strstr(r.msg, "after cut-over"));
	assert_non_null(strstr(r.msg, "rolled back to"));
	assert_non_null(strstr(r.msg, path));
	assert_int_equal(stats().rollbacks, 1);
	assert_true(cm("hathor_plugin_reloads_total",
		       "plugin=\"p2p\",result=\"rolled_back\"") == 1);
	assert_non_null(strstr(stats().last_rollback, "rolled back"));
	assert_false(process_exists(p2));
	assert_true(run_until(is_up_other, &p2, 10.0));
	p3 = stats().pid;
	assert_true(p3 != p1);
	/* It loaded the kept build, not the crashing file now at @path. */
	snprintf(cmdline, sizeof(cmdline), "/proc/%d/cmdline", (int)p3);
	f = fopen(cmdline, "rb");
	assert_non_null(f);
	n = fread(cmdline, 1, sizeof(cmdline) - 1, f);
	fclose(f);
	for (size_t i = 0; i < n; i++)
		if (!cmdline[i])
			cmdline[i] = ' ';
	cmdline[n] = 0;
	assert_non_null(strstr(cmdline, "--plugin /proc/self/fd/"));
	/* Alive well past the crashing build's 1.5 s. */
	run_for(2.5);
	assert_int_equal(stats().pid, p3);
	assert_int_equal(stats().restarts, 0);
	assert_serving(p3);
	assert_string_equal(hn_sup_plugin_path(sup), path);
	sup_clean_stop();
	unlink(path);
}

/* Writes @src over @dst in place (truncate and rewrite the same inode,
 * as cp does), the way an install must not be done. */
static void overwrite(const char *src, const char *dst)
{
	char buf[65536];
	FILE *in = fopen(src, "rb"), *out = fopen(dst, "r+b");
	struct stat a, b;
	size_t n;

	assert_non_null(in);
	assert_non_null(out);
	assert_int_equal(stat(dst, &a), 0);
	assert_int_equal(ftruncate(fileno(out), 0), 0);
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		assert_int_equal(fwrite(buf, 1, n, out), n);
	fclose(in);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(stat(dst, &b), 0);
	assert_true(a.st_ino == b.st_ino);
}

/* A build written over the serving one in place: the running host keeps
 * serving (it runs a private copy), and a reload to what the file now
 * holds (the crashing build) rolls back to the bytes the host was started
 * from (the core's sealed snapshot), not to the overwritten inode. */
static void test_overwrite_in_place(void **state)
{
	struct hn_error err = { 0 };
	struct rl r = { 0 };
	char path[300];
	pid_t none = 0, p1, p2, p3;
	uint64_t beats;

	snprintf(path, sizeof(path), "%s/p2p_test.so", rundir);
	install(plugin_so, path);
	health_window = 3.0;
	plugin_so = path;
	sup_start(0);
	assert_true(run_until(is_up_other, &none, 10.0));
	p1 = stats().pid;
	assert_serving(p1);
	overwrite(crash_so, path);
	/* Two seconds of heartbeats and plugin calls after the overwrite
	 * (the crashing build's timer would have fired after 1.5 s). */
	beats = stats().heartbeats + 8;
	assert_true(run_until(more_beats, &beats, 5.0));
	assert_serving(p1);
	assert_int_equal(stats().restarts, 0);
	assert_int_equal(stats().misses, 0);

	assert_int_equal(hn_sup_reload(sup, NULL, rl_cb, &r, &err), 0);
	assert_true(run_until(is_gating, NULL, 15.0));
	p2 = stats().pid;
	assert_true(run_until(rl_done, &r, 10.0));
	print_message("in-place overwrite, reload: %s\n", r.msg);
	assert_true(r.rc < 0);
	assert_non_null(strstr(r.msg, "rolled back to"));
	assert_true(run_until(is_up_other, &p2, 10.0));
	p3 = stats().pid;
	run_for(2.5);   /* the good build: alive past 1.5 s */
	assert_int_equal(stats().pid, p3);
	assert_int_equal(stats().restarts, 0);
	assert_serving(p3);
	sup_clean_stop();
	unlink(path);
}

static bool restarted(void *arg)
{
	return stats().restarts >= *(unsigned *)arg;
}

/* A host writing garbage to node.ipc (malformed JSON, wrong types,
 * oversize) is ended, the reason logged and counted, and restarted with
 * backoff; the core keeps working (a good reload afterwards). */
static void test_garbage_host(void **state)
{
	struct hn_error err = { 0 };
	struct hn_sup_stats st;
	struct rl r = { 0 };
	unsigned two = 2;
	pid_t none = 0;

	plugin_so = garbage_so;
	sup_start(0);
	assert_true(run_until(is_up_other, &none, 10.0));
	assert_true(run_until(restarted, &two, 15.0));
	st = stats();
	print_message("garbage: %u restarts, %" PRIu64 " bad, last: %s (%s)\n",
		      st.restarts, st.bad_total, st.last_reason, st.last_exit);
	assert_true(st.bad_total >= 2);
	assert_non_null(strstr(st.last_reason, "malformed request"));
	/* Still in charge: a reload to the good build serves. */
	assert_int_equal(hn_sup_reload(sup, plugin_arg, rl_cb, &r, &err), 0);
	assert_true(run_until(rl_done, &r, 15.0));
	assert_int_equal(r.rc, 0);
	assert_serving(stats().pid);
	sup_clean_stop();
}

/* Garbage from the retiring generation during a reload is charged to it,
 * not to the new one that serves by then: gen 1 runs the garbage build in
 * its plug_p2p.garbage_on=exit mode (behaves while serving, three
 * malformed messages on node.ipc when it is ended), a reload switches to
 * the good build; gen 2 stays (no restart, nothing charged to it) and the
 * garbage was counted.  Before the fix, the callback got pid 0 and the
 * serving gen 2 was ended for gen 1's messages. */
static void test_garbage_old_gen(void **state)
{
	static const char *const cfg[] = { "plug_p2p.garbage_on=exit" };
	struct hn_error err = { 0 };
	struct hn_sup_stats st;
	struct rl r = { 0 };
	pid_t none = 0, p1, p2;

	sup_config = cfg;
	n_sup_config = 1;
	plugin_so = garbage_so;
	sup_start(0);
	assert_true(run_until(is_up_other, &none, 10.0));
	p1 = stats().pid;
	assert_serving(p1);
	assert_int_equal(stats().bad_total, 0);
	assert_int_equal(hn_sup_reload(sup, plugin_arg, rl_cb, &r, &err), 0);
	assert_true(run_until(rl_done, &r, 15.0));
	assert_int_equal(r.rc, 0);
	p2 = stats().pid;
	assert_true(p2 != p1);
	assert_false(process_exists(p1));
	run_for(0.5);
	st = stats();
	print_message("garbage from the old generation: %" PRIu64 " bad, "
		      "serving pid %d, restarts %u\n", st.bad_total,
		      (int)st.pid, st.restarts);
	assert_true(st.bad_total >= 1);
	assert_int_equal(st.bad, 0);
	assert_int_equal(st.restarts, 0);
	assert_serving(p2);
	sup_clean_stop();
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_kill_restart_backoff,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_hung_host, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_rss_limit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_stop_while_starting,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_bad_binary, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reload_ok, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reload_fails_old_serves,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reload_gate_ok, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_reload_rollback, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_garbage_host, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_garbage_old_gen, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_overwrite_in_place, setup,
						teardown),
	};
	int rc;

	if (argc < 6) {
		fprintf(stderr, "usage: %s HOST_BIN PLUGIN_SO BAD_ABI_SO "
			"CRASH_SO GARBAGE_SO [own-loop]\n", argv[0]);
		return 2;
	}
	host_bin = argv[1];
	plugin_so = plugin_arg = argv[2];
	bad_abi_so = argv[3];
	crash_so = argv[4];
	garbage_so = argv[5];
	own_loop = argc > 6 && strcmp(argv[6], "own-loop") == 0;
	signal(SIGPIPE, SIG_IGN);
	loop = own_loop ? ev_loop_new(EVFLAG_AUTO) : ev_default_loop(0);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	if (own_loop)
		ev_loop_destroy(loop);
	return rc;
}
