/*
 * test_admin_cli.c: the real hathor-admin executable against the real
 * admin module (core/admin.c) opened on a real libev loop with a real
 * plugin runtime, through the admin.ipc socket in a runtime dir under the
 * build dir.  Every verb, human and --json output, exit codes 0-4, the
 * socket's mode, asynchronous hooks (completion, refusal, timeout, late
 * completion, provider going away) and malformed requests on the wire.
 *
 * usage: test_admin_cli HATHOR_ADMIN_BIN PLUGIN_SO
 */
#include <fcntl.h>
#include <grp.h>
#include <pthread.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>
#include <json-c/json.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "admin.h"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcomment"
#include "config.h"
#pragma GCC diagnostic pop
#include "daemon.h"

#include "hn/err.h"
#include "hn/log.h"
#include "hn/plugin_load.h"

extern char **environ;

static const char *admin_bin, *plugin_so;

static struct {
	struct ev_loop *loop;
	struct hn_config cfg;
	struct hn_daemon d;
	char dir[512];
	char sock[600];
	char out_path[600], err_path[600];
	char out[65536], err[4096];
	int status;
	bool child_done;
	/* hooks */
	unsigned n_cancel;
	struct hn_admin_call *stalled;
	struct hn_admin_call *delayed;
	ev_timer delay_timer;
	/* background client */
	ev_child bg_w;
	bool bg_done, bg_waiting;
	int bg_status;
	char bg_path[600], bg_out[4096];
	ev_timer drop_timer;
} T;

/* --- running the CLI ------------------------------------------------- */

static void child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	T.status = w->rstatus;
	T.child_done = true;
	ev_child_stop(loop, w);
	ev_break(loop, EVBREAK_ALL);
}

static void guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

static void slurp(const char *path, char *buf, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(buf, 1, cap - 1, f);
		fclose(f);
	}
	buf[n] = '\0';
}

/* Runs hathor-admin with @args (NULL-terminated) while the loop serves
 * the socket.  @envp NULL: ours.  Returns the exit code. */
static int run_envp(char **envp, const char *const *args)
{
	posix_spawn_file_actions_t fa;
	char *argv[32];
	ev_child cw;
	ev_timer guard;
	pid_t pid;
	int n = 0;

	argv[n++] = (char *)admin_bin;
	for (; *args; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, T.out_path,
					 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_addopen(&fa, 2, T.err_path,
					 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(posix_spawn(&pid, admin_bin, &fa, NULL, argv,
				     envp ? envp : environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	T.child_done = false;
	ev_child_init(&cw, child_cb, pid, 0);
	ev_child_start(T.loop, &cw);
	ev_timer_init(&guard, guard_cb, 30., 0.);
	ev_timer_start(T.loop, &guard);
	ev_run(T.loop, 0);
	ev_timer_stop(T.loop, &guard);
	assert_true(T.child_done);
	slurp(T.out_path, T.out, sizeof(T.out));
	slurp(T.err_path, T.err, sizeof(T.err));
	print_message("$ hathor-admin");
	for (n = 1; argv[n]; n++)
		print_message(" %s", argv[n]);
	print_message("  -> %d\n%s%s", WEXITSTATUS(T.status), T.out, T.err);
	assert_true(WIFEXITED(T.status));
	return WEXITSTATUS(T.status);
}

/* Like run_envp() but as @uid/@gid (fork, drop privileges, exec; only
 * async-signal-safe calls in the child since nng threads exist). */
static int run_as(uid_t uid, gid_t gid, const char *const *args)
{
	char *argv[32];
	ev_child cw;
	ev_timer guard;
	pid_t pid;
	int n = 0, fd;

	argv[n++] = (char *)admin_bin;
	for (; *args; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if ((fd = open(T.out_path, O_WRONLY | O_CREAT | O_TRUNC,
			       0666)) >= 0)
			dup2(fd, 1);
		if ((fd = open(T.err_path, O_WRONLY | O_CREAT | O_TRUNC,
			       0666)) >= 0)
			dup2(fd, 2);
		if (setgroups(0, NULL) < 0 || setgid(gid) < 0 ||
		    setuid(uid) < 0)
			_exit(99);
		execv(admin_bin, argv);
		_exit(98);
	}
	T.child_done = false;
	ev_child_init(&cw, child_cb, pid, 0);
	ev_child_start(T.loop, &cw);
	ev_timer_init(&guard, guard_cb, 30., 0.);
	ev_timer_start(T.loop, &guard);
	ev_run(T.loop, 0);
	ev_timer_stop(T.loop, &guard);
	assert_true(T.child_done);
	slurp(T.out_path, T.out, sizeof(T.out));
	slurp(T.err_path, T.err, sizeof(T.err));
	print_message("$ (uid %d gid %d) hathor-admin ... -> %d\n%s%s",
		      (int)uid, (int)gid, WEXITSTATUS(T.status), T.out, T.err);
	assert_true(WIFEXITED(T.status));
	return WEXITSTATUS(T.status);
}

/* A second hathor-admin in the background (own output files). */
static void bg_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	T.bg_status = w->rstatus;
	T.bg_done = true;
	ev_child_stop(loop, w);
	if (T.bg_waiting)
		ev_break(loop, EVBREAK_ALL);
}

static pid_t spawn_bg(const char *const *args)
{
	posix_spawn_file_actions_t fa;
	char *argv[32];
	pid_t pid;
	int n = 0;

	argv[n++] = (char *)admin_bin;
	for (; *args; args++)
		argv[n++] = (char *)*args;
	argv[n] = NULL;
	snprintf(T.bg_path, sizeof(T.bg_path), "%s/bgout", T.dir);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, T.bg_path,
					 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(posix_spawn(&pid, admin_bin, &fa, NULL, argv,
				     environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	T.bg_done = false;
	ev_child_init(&T.bg_w, bg_cb, pid, 0);
	ev_child_start(T.loop, &T.bg_w);
	return pid;
}

static int wait_bg(pid_t pid)
{
	ev_timer guard;

	if (!T.bg_done) {
		T.bg_waiting = true;
		ev_timer_init(&guard, guard_cb, 30., 0.);
		ev_timer_start(T.loop, &guard);
		ev_run(T.loop, 0);
		ev_timer_stop(T.loop, &guard);
		T.bg_waiting = false;
	}
	assert_true(T.bg_done);
	slurp(T.bg_path, T.bg_out, sizeof(T.bg_out));
	unlink(T.bg_path);
	print_message("$ (background %d) -> %d\n%s", (int)pid,
		      WEXITSTATUS(T.bg_status), T.bg_out);
	assert_true(WIFEXITED(T.bg_status));
	return WEXITSTATUS(T.bg_status);
}

/* run("-s", sock, verb...) with our socket first. */
#define RUN(...) run_envp(NULL, (const char *const[]){ "-s", T.sock, \
	__VA_ARGS__, NULL })

static struct json_object *out_json(void)
{
	struct json_object *o = json_tokener_parse(T.out);

	assert_non_null(o);
	assert_true(json_object_is_type(o, json_type_object));
	return o;
}

static const char *jget(struct json_object *o, const char *k)
{
	struct json_object *v;

	if (!json_object_object_get_ex(o, k, &v) || !v)
		return NULL;
	return json_object_get_string(v);
}

/* stderr is exactly one line "hathor-admin: <verb>: ..." */
static void assert_errline(const char *verb, const char *sub)
{
	char prefix[256];

	snprintf(prefix, sizeof(prefix), "hathor-admin: %s: ", verb);
	assert_int_equal(strncmp(T.err, prefix, strlen(prefix)), 0);
	assert_non_null(strstr(T.err, sub));
	assert_non_null(strchr(T.err, '\n'));
	assert_int_equal(strchr(T.err, '\n')[1], '\0');
}

/* --- hooks ----------------------------------------------------------- */

static int h_peers(void *ctx, struct hn_admin_call *call)
{
	struct json_object *r = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "id", json_object_new_string("abcd"));
	json_object_object_add(p, "address",
			       json_object_new_string("127.0.0.1:40403"));
	json_object_object_add(p, "state", json_object_new_string("READY"));
	json_object_array_add(arr, p);
	json_object_object_add(r, "peers", arr);
	hn_admin_call_done(call, 0, r, NULL);   /* synchronous completion */
	return 0;
}

static void delay_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct json_object *r = json_object_new_object();
	struct hn_admin_call *c = T.delayed;

	T.delayed = NULL;
	json_object_object_add(r, "plugin", json_object_new_string("p2p"));
	json_object_object_add(r, "ms", json_object_new_int(412));
	hn_admin_call_done(c, 0, r, NULL);
}

static int h_reload(void *ctx, const char *name, struct hn_admin_call *call)
{
	if (strcmp(name, "stall") == 0) {
		T.stalled = call;       /* never completes by itself */
		return 0;
	}
	if (strcmp(name, "nosuch") == 0)
		return HN_ENOENT;       /* refused before taking the call */
	T.delayed = call;               /* completes on a later iteration */
	ev_timer_init(&T.delay_timer, delay_cb, 0.05, 0.);
	ev_timer_start(T.loop, &T.delay_timer);
	return 0;
}

static int h_load(void *ctx, const char *path, struct hn_admin_call *call)
{
	hn_admin_call_done(call, HN_EABI, NULL, "plugin \"x.so\" refused: "
			   "built for plugin ABI 2.0; old plugin still active");
	return 0;
}

static int h_list(void *ctx, struct hn_admin_call *call)
{
	struct json_object *r = json_object_new_object();
	struct json_object *arr = json_object_new_array();
	struct json_object *p = json_object_new_object();

	json_object_object_add(p, "name", json_object_new_string("p2p"));
	json_object_object_add(p, "process",
			       json_object_new_string("p2p-host"));
	json_object_array_add(arr, p);
	json_object_object_add(r, "plugins", arr);
	hn_admin_call_done(call, 0, r, NULL);
	return 0;
}

static char last_level[16];

static void h_level(void *ctx, const char *level)
{
	snprintf(last_level, sizeof(last_level), "%s", level);
}

static void h_cancel(void *ctx, struct hn_admin_call *call)
{
	T.n_cancel++;
	if (call == T.stalled)
		T.stalled = NULL;
}

static const struct hn_admin_hooks hooks = {
	.peers = h_peers,
	.plugin_reload = h_reload,
	.plugin_load = h_load,
	.plugin_list = h_list,
	.log_level = h_level,
	.cancel = h_cancel,
};

/* --- fixture --------------------------------------------------------- */

static int setup(void **state)
{
	struct hn_error err = { 0 };

	T.loop = ev_default_loop(0);
	snprintf(T.dir, sizeof(T.dir), "%s/rt-%d", HN_TEST_TMPDIR, getpid());
	mkdir(T.dir, 0700);
	snprintf(T.sock, sizeof(T.sock), "%s/admin.ipc", T.dir);
	snprintf(T.out_path, sizeof(T.out_path), "%s/out", T.dir);
	snprintf(T.err_path, sizeof(T.err_path), "%s/err", T.dir);
	T.cfg.network = strdup("unittests");
	T.cfg.runtime_dir = strdup(T.dir);
	T.cfg.p2p_mode = HN_P2P_OFF;
	T.d.loop = T.loop;
	T.d.cfg = &T.cfg;
	T.d.start_time = time(NULL);
	T.d.start_mono = ev_now(T.loop);
	if (hn_admin_module.open(&T.d, &err) < 0) {
		print_error("open: %s\n", err.msg);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	hn_admin_module.stop(&T.d);
	hn_admin_module.close(&T.d);
	hn_admin_hooks_register(NULL);
	free(T.cfg.network);
	free(T.cfg.runtime_dir);
	unlink(T.out_path);
	unlink(T.err_path);
	rmdir(T.dir);
	return 0;
}

/* --- tests ----------------------------------------------------------- */

static void t_socket_mode(void **state)
{
	struct stat st;

	assert_non_null(T.d.admin);
	assert_string_equal(hn_admin_socket_path(T.d.admin), T.sock);
	assert_int_equal(lstat(T.sock, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
	assert_int_equal(st.st_mode & 07777, 0660);
	assert_int_equal(st.st_uid, getuid());
}

static void t_status(void **state)
{
	struct json_object *o, *bb;
	char line[64];

	assert_int_equal(RUN("status"), 0);
	assert_non_null(strstr(T.out, "network      unittests\n"));
	snprintf(line, sizeof(line), "pid          %d\n", getpid());
	assert_non_null(strstr(T.out, line));
	assert_non_null(strstr(T.out, "p2p mode     off (not running)\n"));
	assert_non_null(strstr(T.out, "best block   unknown (ledger not "
				      "open)"));
	assert_string_equal(T.err, "");

	assert_int_equal(RUN("--json", "status"), 0);
	o = out_json();
	assert_string_equal(jget(o, "network"), "unittests");
	assert_int_equal(atoi(jget(o, "pid")), getpid());
	assert_string_equal(jget(o, "p2p_mode"), "off");
	assert_string_equal(jget(o, "version"), HN_VERSION);
	assert_true(json_object_object_get_ex(o, "best_block", &bb));
	assert_null(bb);
	assert_true(atof(jget(o, "uptime")) >= 0);
	json_object_put(o);

	/* -q: nothing on stdout, still exit 0. */
	assert_int_equal(RUN("-q", "status"), 0);
	assert_string_equal(T.out, "");
}

static void t_version(void **state)
{
	struct json_object *o;

	assert_int_equal(RUN("version"), 0);
	assert_non_null(strstr(T.out, "hathor-node " HN_VERSION
				      " (plugin ABI 1.0, nng "));
	assert_int_equal(RUN("--json", "version"), 0);
	o = out_json();
	assert_string_equal(jget(o, "version"), HN_VERSION);
	assert_string_equal(jget(o, "plugin_abi"), "1.0");
	assert_string_equal(jget(o, "nng"), nng_version());
	json_object_put(o);
}

static void t_log_level(void **state)
{
	assert_int_equal(hn_log_setup("info", NULL, -1), 0);
	assert_int_equal(RUN("log-level"), 0);
	assert_string_equal(T.out, "log level: info\n");
	assert_false(hn_log_enabled(HN_LOG_DEBUG));
	assert_int_equal(RUN("log-level", "debug"), 0);
	assert_string_equal(T.out, "ok: log level info -> debug\n");
	assert_true(hn_log_enabled(HN_LOG_DEBUG));     /* really changed */
	assert_int_equal(RUN("log-level", "loud"), 1);
	assert_errline("log-level loud", "unknown level 'loud'");
	assert_true(hn_log_enabled(HN_LOG_DEBUG));     /* unchanged */
	assert_int_equal(RUN("log-level", "warn"), 0);
	assert_false(hn_log_enabled(HN_LOG_INFO));
	assert_true(hn_log_enabled(HN_LOG_WARN));
	assert_int_equal(hn_log_setup("info", NULL, -1), 0);
}

static void t_no_provider(void **state)
{
	struct json_object *o;

	assert_int_equal(RUN("peers"), 1);
	assert_errline("peers", "p2p not running (p2p-mode off)");
	assert_string_equal(T.out, "");
	assert_int_equal(RUN("plugin", "reload", "p2p"), 1);
	assert_errline("plugin reload p2p", "not supported by this build");
	assert_int_equal(RUN("--json", "plugin", "load", "/x.so"), 1);
	/* Without a provider, load/unload go to the core's own runtime. */
	assert_errline("plugin load /x.so", "no plugin runtime in the core "
		       "process");
	o = out_json();
	assert_string_equal(jget(o, "code"), "unsupported");
	json_object_put(o);
	assert_int_equal(RUN("plugin", "unload", "p2p"), 1);
	assert_errline("plugin unload p2p", "no plugin runtime in the core "
		       "process");
	/* No runtime registered: an empty list, and it says why. */
	assert_int_equal(RUN("plugin", "list"), 0);
	assert_string_equal(T.out, "no plugins loaded (no plugin runtime in "
			    "the core process)\n");
}

static void t_plugin_list_rt(void **state)
{
	struct hn_plugin_rt_opts o = { .loop = T.loop, .process = "core" };
	struct json_object *j, *arr, *p;
	struct hn_plugin_inst *in;
	struct hn_plugin_rt *rt;
	char err[1024];

	assert_int_equal(hn_plugin_rt_new(&o, &rt), 0);
	assert_int_equal(hn_plugin_rt_load(rt, plugin_so, NULL, &in, err,
					   sizeof(err)), 0);
	hn_admin_set_plugin_rt(T.d.admin, rt);
	assert_int_equal(RUN("plugin", "list"), 0);
	assert_non_null(strstr(T.out, "plug_ok"));
	assert_non_null(strstr(T.out, plugin_so));
	assert_int_equal(RUN("--json", "plugin", "list"), 0);
	j = out_json();
	assert_true(json_object_object_get_ex(j, "plugins", &arr));
	assert_int_equal(json_object_array_length(arr), 1);
	p = json_object_array_get_idx(arr, 0);
	assert_string_equal(jget(p, "name"), "plug_ok");
	assert_string_equal(jget(p, "version"), "1.0.0");
	assert_string_equal(jget(p, "kind"), "metrics");
	assert_string_equal(jget(p, "process"), "core");
	assert_string_equal(jget(p, "started"), "false");
	json_object_put(j);

	/* With a provider: the host's plugins are appended. */
	hn_admin_hooks_register(&hooks);
	assert_int_equal(RUN("--json", "plugin", "list"), 0);
	j = out_json();
	assert_true(json_object_object_get_ex(j, "plugins", &arr));
	assert_int_equal(json_object_array_length(arr), 2);
	assert_string_equal(jget(json_object_array_get_idx(arr, 1),
				 "process"), "p2p-host");
	json_object_put(j);
	hn_admin_hooks_register(NULL);

	hn_admin_set_plugin_rt(T.d.admin, NULL);
	hn_plugin_rt_free(rt);
}

static void unregister_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	hn_admin_hooks_register(NULL);
}

static void t_hooks(void **state)
{
	struct json_object *o;

	hn_admin_hooks_register(&hooks);
	assert_int_equal(RUN("peers"), 0);
	assert_non_null(strstr(T.out, "127.0.0.1:40403"));
	assert_non_null(strstr(T.out, "1 peer\n"));
	assert_int_equal(RUN("--json", "peers"), 0);
	o = out_json();
	assert_non_null(strstr(json_object_to_json_string(o), "READY"));
	json_object_put(o);

	/* Asynchronous completion on a later loop iteration; logged with
	 * the client's credentials. */
	{
		char logp[700], logbuf[4096], want[128];
		int fd;

		snprintf(logp, sizeof(logp), "%s/log", T.dir);
		fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		assert_true(fd >= 0);
		assert_int_equal(hn_log_setup(NULL, NULL, fd), 0);
		assert_int_equal(RUN("plugin", "reload", "p2p"), 0);
		assert_int_equal(hn_log_setup(NULL, NULL, 2), 0);
		close(fd);
		slurp(logp, logbuf, sizeof(logbuf));
		unlink(logp);
		snprintf(want, sizeof(want), "'plugin reload p2p' from uid %d "
			 "pid ", (int)getuid());
		assert_non_null(strstr(logbuf, want));
	}
	assert_string_equal(T.out, "ok: p2p reloaded in 412 ms\n");
	assert_int_equal(RUN("-q", "plugin", "reload", "p2p"), 0);
	assert_string_equal(T.out, "");

	/* The provider refuses up front / fails with its own reason. */
	assert_int_equal(RUN("plugin", "reload", "nosuch"), 1);
	assert_errline("plugin reload nosuch", "");
	assert_int_equal(RUN("plugin", "load", "/x.so"), 1);
	assert_errline("plugin load /x.so", "old plugin still active");

	/* log-level is passed on to the provider. */
	assert_int_equal(RUN("log-level", "debug"), 0);
	assert_string_equal(last_level, "debug");
	assert_int_equal(hn_log_setup("info", NULL, -1), 0);

	/* A hook that never answers: the client times out (exit 4).  The
	 * held call blocks neither other verbs nor other clients, but a
	 * second plugin operation is refused while it is held. */
	assert_int_equal(RUN("-t", "0.5", "plugin", "reload", "stall"), 4);
	assert_errline("plugin reload stall", "no reply within 0.5 s");
	assert_non_null(T.stalled);
	assert_int_equal(RUN("status"), 0);
	assert_int_equal(RUN("peers"), 0);
	assert_int_equal(RUN("plugin", "reload", "p2p"), 1);
	assert_errline("plugin reload p2p", "another plugin operation is in "
		       "progress");
	/* Completed late: the reply goes to a vanished client; plugin
	 * operations work again. */
	hn_admin_call_done(T.stalled, 0, json_object_new_object(), NULL);
	T.stalled = NULL;
	assert_int_equal(RUN("plugin", "reload", "p2p"), 0);

	/* Two clients at once: one waits on a held reload while the other
	 * is served; then the first gets its result. */
	{
		pid_t bg = spawn_bg((const char *const[]){ "-s", T.sock,
			"-t", "20", "plugin", "reload", "stall", NULL });
		struct json_object *r = json_object_new_object();
		int i;

		for (i = 0; i < 2000 && !T.stalled; i++)
			ev_run(T.loop, EVRUN_ONCE);
		assert_non_null(T.stalled);
		assert_int_equal(RUN("--json", "status"), 0);
		assert_false(T.bg_done);
		json_object_object_add(r, "ms", json_object_new_int(7));
		hn_admin_call_done(T.stalled, 0, r, NULL);
		T.stalled = NULL;
		assert_int_equal(wait_bg(bg), 0);
		assert_string_equal(T.bg_out, "ok: stall reloaded in 7 ms\n");
	}

	/* The admin's own deadline: the client is told "timeout" (exit 4)
	 * and the late completion is dropped. */
	hn_admin_set_call_timeout(T.d.admin, 0.3);
	assert_int_equal(RUN("-t", "10", "plugin", "reload", "stall"), 4);
	assert_errline("plugin reload stall", "not completed within 0.3 s");
	assert_non_null(T.stalled);
	assert_true(hn_admin_module.busy(&T.d) == false);  /* answered */
	hn_admin_call_done(T.stalled, 0, json_object_new_object(), NULL);
	T.stalled = NULL;
	hn_admin_set_call_timeout(T.d.admin, HN_ADMIN_CALL_TIMEOUT);
	assert_int_equal(RUN("plugin", "reload", "p2p"), 0);

	/* Provider unregisters while holding a call: cancel() and the
	 * client gets an error, not a hang. */
	hn_admin_hooks_register(&hooks);
	T.n_cancel = 0;
	ev_timer_init(&T.drop_timer, unregister_cb, 0.2, 0.);
	ev_timer_start(T.loop, &T.drop_timer);
	assert_int_equal(RUN("-t", "0", "plugin", "reload", "stall"), 1);
	assert_int_equal(T.n_cancel, 1);
	assert_errline("plugin reload stall", "provider went away");
	assert_int_equal(RUN("plugin", "reload", "p2p"), 1);
	assert_errline("plugin reload p2p", "not supported by this build");
}

static void t_usage(void **state)
{
	assert_int_equal(RUN("frobnicate"), 2);
	assert_errline("frobnicate", "unknown verb");
	assert_int_equal(run_envp(NULL, (const char *const[]){ NULL }), 2);
	assert_errline("usage", "no verb");
	assert_int_equal(RUN("plugin", "reload"), 2);
	assert_errline("plugin reload", "usage: hathor-admin plugin reload "
		       "NAME");
	assert_int_equal(RUN("status", "extra"), 2);
	assert_int_equal(RUN("plugin"), 2);
	assert_int_equal(RUN("-t", "soon", "status"), 2);
	assert_errline("usage", "bad --timeout 'soon'");
	assert_int_equal(RUN("--bogus", "status"), 2);
	assert_int_equal(run_envp(NULL, (const char *const[]){ "--help",
		NULL }), 0);
	assert_non_null(strstr(T.out, "plugin reload NAME"));
}

static void t_unreachable(void **state)
{
	char missing[700], env[800];
	char *envp[] = { env, NULL };

	snprintf(missing, sizeof(missing), "%s/nosuch.ipc", T.dir);
	assert_int_equal(run_envp(NULL, (const char *const[]){ "-s", missing,
		"status", NULL }), 3);
	assert_errline("status", "cannot reach hathor-node at");
	/* HATHOR_ADMIN_SOCKET is used without -s... */
	snprintf(env, sizeof(env), "HATHOR_ADMIN_SOCKET=%s", missing);
	assert_int_equal(run_envp(envp, (const char *const[]){ "status",
		NULL }), 3);
	assert_non_null(strstr(T.err, missing));
	/* ...and -s wins over it. */
	assert_int_equal(run_envp(envp, (const char *const[]){ "-s", T.sock,
		"status", NULL }), 0);
}

/* Raw requests from a thread (the loop serves them meanwhile). */
struct raw {
	const char *req;
	char reply[1024];
	int rv;
	ev_async done;
};

static void *raw_thread(void *arg)
{
	struct raw *r = arg;
	char url[700];
	nng_socket s;
	char *buf = NULL;
	size_t len = 0;

	snprintf(url, sizeof(url), "ipc://%s", T.sock);
	if ((r->rv = nng_req0_open(&s)) == 0) {
		nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 5000);
		if ((r->rv = nng_dial(s, url, NULL, 0)) == 0 &&
		    (r->rv = nng_send(s, (void *)r->req, strlen(r->req),
				      0)) == 0 &&
		    (r->rv = nng_recv(s, &buf, &len, NNG_FLAG_ALLOC)) == 0) {
			snprintf(r->reply, sizeof(r->reply), "%.*s", (int)len,
				 buf);
			nng_free(buf, len);
		}
		nng_close(s);
	}
	ev_async_send(T.loop, &r->done);
	return NULL;
}

static void raw_done_cb(struct ev_loop *loop, ev_async *w, int revents)
{
	ev_break(loop, EVBREAK_ALL);
}

static void raw_call(struct raw *r)
{
	pthread_t th;

	ev_async_init(&r->done, raw_done_cb);
	ev_async_start(T.loop, &r->done);
	assert_int_equal(pthread_create(&th, NULL, raw_thread, r), 0);
	ev_run(T.loop, 0);
	pthread_join(th, NULL);
	ev_async_stop(T.loop, &r->done);
	assert_int_equal(r->rv, 0);
	print_message("%s -> %s\n", r->req, r->reply);
}

static void t_malformed(void **state)
{
	static const char *bad[] = {
		"not json", "[1,2]", "{\"verb\":1}", "{\"verb\":\"status\"} x",
		"{\"verb\":\"status\",\"args\":\"x\"}",
		"{\"verb\":\"status\",\"args\":[\"x\"]}",
		"{\"verb\":\"log-level\",\"args\":[5]}",
		"{\"verb\":\"drop tables\"}", "{}",
	};
	struct raw r;
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&r, 0, sizeof(r));
		r.req = bad[i];
		raw_call(&r);
		assert_non_null(strstr(r.reply, "\"ok\":false"));
		assert_non_null(strstr(r.reply, "\"code\":\"usage\""));
	}
	memset(&r, 0, sizeof(r));
	r.req = "{\"verb\":\"version\"}";
	raw_call(&r);
	assert_non_null(strstr(r.reply, "\"ok\":true"));
}

/* The socket's mode is what keeps other users out: another uid without
 * the group is refused (exit 3), a member of the socket's group gets in
 * (the packaged RuntimeDirectoryMode=0750 + socket 0660 setup). */
static void t_permissions(void **state)
{
	const uid_t nobody = 65534;
	const gid_t other_gid = 65534;
	struct stat st;

	if (getuid() != 0) {
		print_message("not root: cannot switch users, skipped\n");
		skip();
	}
	assert_int_equal(lstat(T.sock, &st), 0);
	assert_int_equal(chmod(T.dir, 0750), 0);
	/* Output files must be writable by the child. */
	unlink(T.out_path);
	unlink(T.err_path);
	assert_int_equal(run_as(nobody, other_gid, (const char *const[]){
		"-s", T.sock, "status", NULL }), 3);
	assert_errline("status", "ermission denied");
	assert_int_equal(run_as(nobody, st.st_gid, (const char *const[]){
		"-s", T.sock, "--json", "status", NULL }), 0);
	assert_non_null(strstr(T.out, "\"network\":\"unittests\""));
	assert_int_equal(chmod(T.dir, 0700), 0);
	unlink(T.out_path);
	unlink(T.err_path);
}

/* --admin-group: the socket is given to that group (mode unchanged); an
 * unknown group or a path too long for sun_path refuse to start. */
static void t_admin_group_and_path(void **state)
{
	struct hn_config cfg = { .network = "unittests" };
	struct hn_daemon d = { .loop = T.loop, .cfg = &cfg };
	struct hn_error err = { 0 };
	char path[700], longp[300];
	struct group *gr = getgrnam("daemon");
	struct stat st;

	snprintf(path, sizeof(path), "%s/g.ipc", T.dir);
	cfg.admin_socket = path;
	if (gr) {
		cfg.admin_group = (char *)"daemon";
		assert_int_equal(hn_admin_module.open(&d, &err), 0);
		assert_int_equal(lstat(path, &st), 0);
		assert_int_equal(st.st_gid, gr->gr_gid);
		assert_int_equal(st.st_mode & 07777, 0660);
		hn_admin_module.close(&d);
		assert_int_equal(lstat(path, &st), -1);
	}
	cfg.admin_group = (char *)"no-such-group-hn";
	assert_true(hn_admin_module.open(&d, &err) < 0);
	assert_non_null(strstr(err.msg, "unknown admin group"));
	assert_null(d.admin);
	cfg.admin_group = NULL;
	memset(longp, 'a', sizeof(longp) - 1);
	longp[sizeof(longp) - 1] = '\0';
	longp[0] = '/';
	cfg.admin_socket = longp;
	assert_int_equal(hn_admin_module.open(&d, &err), HN_EINVAL);
	assert_non_null(strstr(err.msg, "longer than"));
	cfg.admin_socket = NULL;        /* no runtime dir either */
	assert_int_equal(hn_admin_module.open(&d, &err), HN_EINVAL);
}

static void t_close_removes_socket(void **state)
{
	struct stat st;
	struct hn_error err = { 0 };

	/* A second admin on the same path is refused while we serve it. */
	{
		struct hn_daemon d2 = T.d;

		d2.admin = NULL;
		assert_int_equal(hn_admin_module.open(&d2, &err), HN_EEXIST);
		assert_non_null(strstr(err.msg, "another node"));
		assert_null(d2.admin);
	}
	hn_admin_module.stop(&T.d);
	assert_false(hn_admin_module.busy(&T.d));
	hn_admin_module.close(&T.d);
	assert_null(T.d.admin);
	assert_int_equal(lstat(T.sock, &st), -1);
	assert_int_equal(RUN("status"), 3);
	/* Reopen for teardown. */
	assert_int_equal(hn_admin_module.open(&T.d, &err), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_socket_mode),
		cmocka_unit_test(t_status),
		cmocka_unit_test(t_version),
		cmocka_unit_test(t_log_level),
		cmocka_unit_test(t_no_provider),
		cmocka_unit_test(t_plugin_list_rt),
		cmocka_unit_test(t_hooks),
		cmocka_unit_test(t_usage),
		cmocka_unit_test(t_unreachable),
		cmocka_unit_test(t_malformed),
		cmocka_unit_test(t_permissions),
		cmocka_unit_test(t_admin_group_and_path),
		cmocka_unit_test(t_close_removes_socket),
	};

	if (argc != 3) {
		fprintf(stderr, "usage: %s HATHOR_ADMIN_BIN PLUGIN_SO\n",
			argv[0]);
		return 2;
	}
	admin_bin = argv[1];
	plugin_so = argv[2];
	return cmocka_run_group_tests(tests, setup, teardown);
}
