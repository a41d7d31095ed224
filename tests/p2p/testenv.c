/*
 * testenv.c: struct p2p_env on libev (see testenv.h).
 */
#include "testenv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct p2p_io {
	ev_io w;
	struct testenv *t;
	p2p_io_cb cb;
	void *arg;
	int fd;
};

struct p2p_timer {
	ev_timer w;
	struct testenv *t;
	p2p_timer_cb cb;
	void *arg;
};

static void io_thunk(struct ev_loop *loop, ev_io *w, int revents)
{
	struct p2p_io *io = (struct p2p_io *)w;
	int ev = 0;

	(void)loop;
	if (revents & EV_READ)
		ev |= P2P_IO_READ;
	if (revents & EV_WRITE)
		ev |= P2P_IO_WRITE;
	io->cb(io->arg, ev);
}

static struct p2p_io *t_io_new(void *ctx, int fd, p2p_io_cb cb, void *arg)
{
	struct testenv *t = ctx;
	struct p2p_io *io = calloc(1, sizeof(*io));

	if (!io)
		return NULL;
	io->t = t;
	io->cb = cb;
	io->arg = arg;
	io->fd = fd;
	ev_io_init(&io->w, io_thunk, fd, 0);
	t->n_io++;
	return io;
}

static void t_io_set(void *ctx, struct p2p_io *io, int events)
{
	struct testenv *t = ctx;
	int ev = 0;

	ev_io_stop(t->loop, &io->w);
	if (events & P2P_IO_READ)
		ev |= EV_READ;
	if (events & P2P_IO_WRITE)
		ev |= EV_WRITE;
	if (ev) {
		ev_io_set(&io->w, io->fd, ev);
		ev_io_start(t->loop, &io->w);
	}
}

static void t_io_free(void *ctx, struct p2p_io *io)
{
	struct testenv *t = ctx;

	ev_io_stop(t->loop, &io->w);
	t->n_io--;
	free(io);
}

static void timer_thunk(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct p2p_timer *tm = (struct p2p_timer *)w;

	(void)loop;
	(void)revents;
	tm->cb(tm->arg);
}

static struct p2p_timer *t_timer_new(void *ctx, p2p_timer_cb cb, void *arg)
{
	struct testenv *t = ctx;
	struct p2p_timer *tm = calloc(1, sizeof(*tm));

	if (!tm)
		return NULL;
	tm->t = t;
	tm->cb = cb;
	tm->arg = arg;
	ev_timer_init(&tm->w, timer_thunk, 0, 0);
	t->n_timers++;
	return tm;
}

static void t_timer_set(void *ctx, struct p2p_timer *tm, double after,
			double repeat)
{
	struct testenv *t = ctx;

	ev_timer_stop(t->loop, &tm->w);
	ev_timer_set(&tm->w, after, repeat);
	ev_timer_start(t->loop, &tm->w);
}

static void t_timer_stop(void *ctx, struct p2p_timer *tm)
{
	struct testenv *t = ctx;

	ev_timer_stop(t->loop, &tm->w);
}

static void t_timer_free(void *ctx, struct p2p_timer *tm)
{
	struct testenv *t = ctx;

	ev_timer_stop(t->loop, &tm->w);
	t->n_timers--;
	free(tm);
}

static double t_now(void *ctx)
{
	struct timespec ts;

	(void)ctx;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void t_log(void *ctx, enum p2p_log_level lvl, const char *msg)
{
	struct testenv *t = ctx;
	static const char *const names[] = { "ERROR", "WARN", "INFO",
					     "DEBUG" };

	fprintf(stderr, "%s %s %s\n", t->prefix, names[lvl], msg);
}

static bool t_log_enabled(void *ctx, enum p2p_log_level lvl)
{
	struct testenv *t = ctx;

	return lvl <= t->level;
}

void testenv_init(struct testenv *t, struct ev_loop *loop,
		  const struct p2p_node_ops *node, void *node_ctx,
		  const char *prefix)
{
	const char *lv = getenv("HN_LOG_LEVEL");

	memset(t, 0, sizeof(*t));
	t->node_ctx = node_ctx;
	t->loop = loop;
	t->prefix = prefix ? prefix : "[p2p]";
	t->level = P2P_LOG_INFO;
	if (lv && lv[0] == 'd')
		t->level = P2P_LOG_DEBUG;
	else if (lv && lv[0] == 'w')
		t->level = P2P_LOG_WARN;
	else if (lv && lv[0] == 'e')
		t->level = P2P_LOG_ERROR;
	t->env.ctx = t;
	t->env.io_new = t_io_new;
	t->env.io_set = t_io_set;
	t->env.io_free = t_io_free;
	t->env.timer_new = t_timer_new;
	t->env.timer_set = t_timer_set;
	t->env.timer_stop = t_timer_stop;
	t->env.timer_free = t_timer_free;
	t->env.now = t_now;
	t->env.log = t_log;
	t->env.log_enabled = t_log_enabled;
	t->env.node = node;
}
