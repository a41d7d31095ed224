/*
 * daemon.c: the hathor-node process object (core/daemon.h): runtime dir,
 * data dir lock, pid file, signals and the module table.
 *
 * To add a module: declare `extern const struct hn_daemon_module
 * hn_<name>_module;` in its header, include the header below and add one
 * line to modules[] at its place in the start-up order.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "config.h"
#include "daemon.h"

#include "admin.h"
#include "http.h"
#include "ipc.h"
#include "ledger.h"
#include "plugins.h"
#include "sup.h"

#include "hn/err.h"
#include "hn/log.h"

/* Start-up order; stop and close run in reverse. */
static const struct hn_daemon_module *const modules[] = {
	&hn_ledger_module,
	&hn_ipc_module,
	&hn_sup_module,
	&hn_admin_module,
	&hn_plugins_module,
	&hn_http_module,
};
#define N_MODULES (sizeof(modules) / sizeof(modules[0]))

static struct hn_daemon *g_daemon;

struct hn_daemon *hn_daemon_current(void)
{
	return g_daemon;
}

double hn_daemon_uptime(const struct hn_daemon *d)
{
	return d && d->loop ? ev_now(d->loop) - d->start_mono : 0.0;
}

/* Creates @path (and missing parents) with @mode if absent; refuses a
 * non-directory or one writable by group or others. */
static int make_dir(const char *path, mode_t mode, bool check_perm,
		    const char *what, struct hn_error *err)
{
	struct stat st;
	char *tmp, *p;

	if (stat(path, &st) < 0) {
		if (errno != ENOENT)
			return hn_error_set(err, HN_EIO, "%s %s: %s", what, path,
					    strerror(errno));
		if (!(tmp = strdup(path)))
			return hn_error_set(err, HN_ENOMEM, "out of memory");
		for (p = tmp + 1; *p; p++) {
			if (*p != '/')
				continue;
			*p = '\0';
			if (mkdir(tmp, 0755) < 0 && errno != EEXIST) {
				hn_error_set(err, HN_EIO, "%s %s: cannot create "
					     "%s: %s", what, path, tmp,
					     strerror(errno));
				free(tmp);
				return HN_EIO;
			}
			*p = '/';
		}
		free(tmp);
		if (mkdir(path, mode) < 0 && errno != EEXIST)
			return hn_error_set(err, HN_EIO, "%s %s: cannot create: "
					    "%s", what, path, strerror(errno));
		if (stat(path, &st) < 0)
			return hn_error_set(err, HN_EIO, "%s %s: %s", what, path,
					    strerror(errno));
	}
	if (!S_ISDIR(st.st_mode))
		return hn_error_set(err, HN_EINVAL, "%s %s is not a directory",
				    what, path);
	if (check_perm && st.st_uid != geteuid())
		return hn_error_set(err, HN_EINVAL, "%s %s is owned by uid %u, "
				    "not by us (uid %u)", what, path,
				    (unsigned)st.st_uid, (unsigned)geteuid());
	if (check_perm && (st.st_mode & 022))
		return hn_error_set(err, HN_EINVAL, "%s %s is writable by group "
				    "or others (mode %04o); chmod 0700 it",
				    what, path, (unsigned)(st.st_mode & 07777));
	return 0;
}

static int take_lock(struct hn_daemon *d, struct hn_error *err)
{
	char *path, buf[32];
	int fd, n;

	if (asprintf(&path, "%s/LOCK", d->cfg->data_dir) < 0)
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		hn_error_set(err, HN_EIO, "cannot open %s: %s", path,
			     strerror(errno));
		free(path);
		return HN_EIO;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		n = (int)pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		if (e == EWOULDBLOCK)
			hn_error_set(err, HN_EEXIST, "data dir %s is in use by "
				     "another hathor-node (pid %s, lock %s)",
				     d->cfg->data_dir, buf[0] ? buf : "?",
				     path);
		else
			hn_error_set(err, HN_EIO, "cannot lock %s: %s", path,
				     strerror(e));
		close(fd);
		free(path);
		return e == EWOULDBLOCK ? HN_EEXIST : HN_EIO;
	}
	free(path);
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		hn_warn("daemon", "cannot write the pid into the LOCK file");
	d->lock_fd = fd;
	return 0;
}

static int write_pid(struct hn_daemon *d, struct hn_error *err)
{
	char *tmp, buf[32];
	int fd, n;

	if (d->cfg->pid_file)
		d->pid_path = strdup(d->cfg->pid_file);
	else if (asprintf(&d->pid_path, "%s/hathor-node.pid",
			  d->cfg->runtime_dir) < 0)
		d->pid_path = NULL;
	if (!d->pid_path)
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	if (asprintf(&tmp, "%s.tmp", d->pid_path) < 0)
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (fd < 0 || write(fd, buf, (size_t)n) != n || close(fd) < 0 ||
	    rename(tmp, d->pid_path) < 0) {
		int e = errno;

		if (fd >= 0)
			unlink(tmp);
		free(tmp);
		return hn_error_set(err, HN_EIO, "cannot write pid file %s: %s",
				    d->pid_path, strerror(e));
	}
	free(tmp);
	d->pid_file_written = true;
	return 0;
}

/* --log-file: opens it for appending and puts it on fd 2, so the log, the
 * libraries' messages and the children's stderr all go there.  @first
 * keeps the original stderr for hn_daemon_close(). */
static int open_log(struct hn_daemon *d, bool first, struct hn_error *err)
{
	const char *path = d->cfg->log_file;
	int fd;

	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY,
		  0640);
	if (fd < 0)
		return hn_error_set(err, HN_EIO, "cannot open log file %s: %s",
				    path, strerror(errno));
	if (first && d->stderr_fd < 0 &&
	    (d->stderr_fd = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 3)) < 0) {
		close(fd);
		return hn_error_set(err, HN_EIO, "cannot keep stderr: %s",
				    strerror(errno));
	}
	/* dup2 swaps the file under fd 2 atomically: a record written by
	 * another thread meanwhile lands in the old or the new file. */
	if (dup2(fd, STDERR_FILENO) < 0) {
		int e = errno;

		close(fd);
		return hn_error_set(err, HN_EIO, "cannot use log file %s: %s",
				    path, strerror(e));
	}
	close(fd);
	return 0;
}

static bool any_busy(struct hn_daemon *d)
{
	for (unsigned i = d->n_opened; i-- > 0;)
		if (modules[i]->busy && modules[i]->busy(d))
			return true;
	return false;
}

static void finish(struct hn_daemon *d)
{
	ev_check_stop(d->loop, &d->stop_check);
	ev_timer_stop(d->loop, &d->stop_timer);
	ev_signal_stop(d->loop, &d->sig_int);
	ev_signal_stop(d->loop, &d->sig_term);
	ev_signal_stop(d->loop, &d->sig_hup);
	ev_break(d->loop, EVBREAK_ALL);
}

static void stop_check_cb(struct ev_loop *loop, ev_check *w, int revents)
{
	struct hn_daemon *d = w->data;

	(void)loop;
	(void)revents;
	if (!any_busy(d))
		finish(d);
}

static void stop_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hn_daemon *d = w->data;

	(void)loop;
	(void)revents;
	hn_warn("daemon", "shutdown timeout (%us) passed with work in flight;"
		" closing anyway", d->cfg->shutdown_timeout);
	finish(d);
}

/* An idle watcher keeps the loop turning so stop_check runs even when no
 * other event arrives. */
static ev_idle stop_idle;

static void stop_idle_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)revents;
	ev_idle_stop(loop, w);
}

void hn_daemon_stop(struct hn_daemon *d, const char *reason, int exit_code)
{
	if (!d || d->stopping)
		return;
	d->stopping = true;
	d->exit_code = exit_code;
	snprintf(d->stop_reason, sizeof(d->stop_reason), "%s",
		 reason ? reason : "request");
	hn_info("daemon", "stopping (%s)", d->stop_reason);
	for (unsigned i = d->n_opened; i-- > 0;)
		if (modules[i]->stop)
			modules[i]->stop(d);
	ev_timer_init(&d->stop_timer, stop_timer_cb,
		      (double)d->cfg->shutdown_timeout, 0.);
	d->stop_timer.data = d;
	ev_timer_start(d->loop, &d->stop_timer);
	ev_check_init(&d->stop_check, stop_check_cb);
	d->stop_check.data = d;
	ev_check_start(d->loop, &d->stop_check);
	ev_idle_init(&stop_idle, stop_idle_cb);
	ev_idle_start(d->loop, &stop_idle);
}

static void sig_cb(struct ev_loop *loop, ev_signal *w, int revents)
{
	struct hn_daemon *d = w->data;

	(void)loop;
	(void)revents;
	if (w->signum == SIGHUP) {
		if (d->cfg->log_file) {
			struct hn_error e = { 0 };

			if (open_log(d, false, &e) < 0)
				hn_warn("daemon", "SIGHUP: %s; keeping the old "
					"log file", e.msg);
			else
				hn_info("daemon", "SIGHUP: log file %s reopened",
					d->cfg->log_file);
		}
		hn_info("daemon", "SIGHUP: reloading");
		for (unsigned i = 0; i < d->n_opened; i++)
			if (modules[i]->reload)
				modules[i]->reload(d);
		return;
	}
	if (d->stopping) {
		hn_warn("daemon", "%s again while stopping: closing now",
			w->signum == SIGINT ? "SIGINT" : "SIGTERM");
		finish(d);
		return;
	}
	hn_daemon_stop(d, w->signum == SIGINT ? "SIGINT" : "SIGTERM", 0);
}

/* The one start-up line: version, network, data dir, API, P2P mode. */
static void log_started(struct hn_daemon *d)
{
	const struct hn_config *cfg = d->cfg;
	const struct hn_hostport *a = &cfg->api_listen;
	const char *v6 = strchr(a->host, ':') ? "[" : "";
	char api[300];

	if (d->http)
		snprintf(api, sizeof(api), "http://%s%s%s:%u/v1a/", v6, a->host,
			 v6[0] ? "]" : "", (unsigned)hn_http_port(d->http));
	else if (cfg->api_enabled)
		snprintf(api, sizeof(api), "%s%s%s:%u not open (no http "
			 "module)", v6, a->host, v6[0] ? "]" : "",
			 (unsigned)a->port);
	else
		snprintf(api, sizeof(api), "none");
	hn_info("daemon", "hathor-node %s running: network %s, data dir %s, "
		"API %s, p2p mode %s, runtime dir %s, pid %ld", HN_VERSION,
		cfg->network, cfg->data_dir, api,
		hn_p2p_mode_name(cfg->p2p_mode), cfg->runtime_dir,
		(long)getpid());
}

int hn_daemon_open(struct hn_daemon *d, struct hn_config *cfg,
		   struct hn_error *err)
{
	int rc;

	memset(d, 0, sizeof(*d));
	d->lock_fd = -1;
	d->stderr_fd = -1;
	d->cfg = cfg;
	d->net = cfg->net;
	if (!cfg->net || !cfg->data_dir || !cfg->runtime_dir)
		return hn_error_set(err, HN_EINVAL, "configuration without "
				    "network, data dir or runtime dir");
	d->loop = ev_default_loop(EVFLAG_AUTO);
	if (!d->loop)
		return hn_error_set(err, HN_EIO, "cannot create the event loop");
	g_daemon = d;
	d->start_time = time(NULL);
	ev_now_update(d->loop);
	d->start_mono = ev_now(d->loop);
	hn_loopmon_start(&d->loopmon, d->loop);
	signal(SIGPIPE, SIG_IGN);

	if (cfg->log_file && (rc = open_log(d, true, err)) < 0)
		goto fail;
	if ((rc = make_dir(cfg->data_dir, 0700, false, "data dir", err)) < 0 ||
	    (rc = take_lock(d, err)) < 0 ||
	    (rc = make_dir(cfg->runtime_dir, 0700, true, "runtime dir",
			   err)) < 0 ||
	    (rc = write_pid(d, err)) < 0)
		goto fail;

	ev_signal_init(&d->sig_int, sig_cb, SIGINT);
	ev_signal_init(&d->sig_term, sig_cb, SIGTERM);
	ev_signal_init(&d->sig_hup, sig_cb, SIGHUP);
	d->sig_int.data = d->sig_term.data = d->sig_hup.data = d;
	ev_signal_start(d->loop, &d->sig_int);
	ev_signal_start(d->loop, &d->sig_term);
	ev_signal_start(d->loop, &d->sig_hup);

	for (unsigned i = 0; i < N_MODULES; i++) {
		hn_debug("daemon", "opening module %s", modules[i]->name);
		if ((rc = modules[i]->open(d, err)) < 0) {
			char m[sizeof(err->msg)];

			if (err) {
				snprintf(m, sizeof(m), "%s", err->msg);
				hn_error_set(err, rc, "%s: %s",
					     modules[i]->name, m);
			}
			goto fail;
		}
		d->n_opened = i + 1;
	}
	log_started(d);
	return 0;
fail:
	/* With --log-file the reason goes to the file too; main() prints it
	 * on the original stderr after hn_daemon_close(). */
	if (d->stderr_fd >= 0)
		hn_err("daemon", "cannot start: %s", err ? err->msg : "?");
	hn_daemon_close(d);
	return rc;
}

int hn_daemon_run(struct hn_daemon *d)
{
	const struct hn_loopmon *m = &d->loopmon;

	ev_run(d->loop, 0);
	hn_info("daemon", "stopped (%s); loop: %llu iterations, busy %.1f s, "
		"longest %.1f ms, %llu over 20 ms", d->stop_reason[0] ?
		d->stop_reason : "loop ended", (unsigned long long)m->iters,
		(double)m->busy_us / 1e6, (double)m->max_us / 1e3,
		(unsigned long long)hn_loopmon_over(m, 20));
	return d->exit_code;
}

void hn_daemon_close(struct hn_daemon *d)
{
	if (!d)
		return;
	if (d->loop) {
		for (unsigned i = d->n_opened; i-- > 0;)
			if (modules[i]->close)
				modules[i]->close(d);
		d->n_opened = 0;
		ev_signal_stop(d->loop, &d->sig_int);
		ev_signal_stop(d->loop, &d->sig_term);
		ev_signal_stop(d->loop, &d->sig_hup);
		ev_timer_stop(d->loop, &d->stop_timer);
		ev_check_stop(d->loop, &d->stop_check);
		ev_idle_stop(d->loop, &stop_idle);
		hn_loopmon_stop(&d->loopmon);
	}
	if (d->pid_file_written && d->pid_path)
		unlink(d->pid_path);
	d->pid_file_written = false;
	free(d->pid_path);
	d->pid_path = NULL;
	if (d->lock_fd >= 0)
		close(d->lock_fd);
	d->lock_fd = -1;
	if (d->stderr_fd >= 0) {
		dup2(d->stderr_fd, STDERR_FILENO);
		close(d->stderr_fd);
	}
	d->stderr_fd = -1;
	if (g_daemon == d)
		g_daemon = NULL;
}
