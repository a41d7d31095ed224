/*
 * plug_ok.c: a small valid plugin used by the loader and runtime tests.
 * In init it registers a timer, an fd watcher (on a pipe), an event
 * subscription and metrics; with the config key "plug_ok.leak" = "1" its
 * destroy() forgets to free them, so the runtime must.  The timer counts
 * in the gauge plug_ok_ticks; events are counted in plug_ok_events.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hathor/node.h"
#include "hathor/p2p.h"
#include "hathor/plugin.h"

struct ok_ctx {
	struct hathor_host *h;
	const struct hathor_services *svc;
	struct hathor_timer *t;
	struct hathor_io *io;
	struct hathor_sub *sub;
	struct hathor_metric *ticks, *events, *lat;
	int pipe[2];
	bool leak;
};

static void ok_tick(void *arg)
{
	struct ok_ctx *c = arg;

	c->svc->metric_add(c->h, c->ticks, 1);
}

static void ok_io(void *arg, int revents)
{
}

static void ok_event(void *arg, const struct hathor_event *ev)
{
	struct ok_ctx *c = arg;

	c->svc->metric_add(c->h, c->events, 1);
	c->svc->metric_observe(c->h, c->lat, (double)ev->seq);
}

static int ok_init(struct hathor_host *h, const struct hathor_services *svc,
		   void **ctx, char *err, size_t errlen)
{
	struct ok_ctx *c = calloc(1, sizeof(*c));
	const char *leak;

	if (!c) {
		strncpy(err, "out of memory", errlen - 1);
		return HATHOR_ENOMEM;
	}
	c->h = h;
	c->svc = svc;
	leak = svc->config_get(h, "plug_ok.leak");
	c->leak = leak && strcmp(leak, "1") == 0;
	if (pipe(c->pipe) < 0) {
		free(c);
		strncpy(err, "pipe failed", errlen - 1);
		return HATHOR_EIO;
	}
	c->t = svc->timer_new(h, ok_tick, c);
	c->io = svc->io_new(h, c->pipe[0], ok_io, c);
	c->sub = svc->event_subscribe(h, HATHOR_EV_BIT(HATHOR_EV_BEST_BLOCK),
				      ok_event, c);
	c->ticks = svc->metric_new(h, HATHOR_METRIC_GAUGE, "plug_ok_ticks",
				   "timer ticks", NULL, NULL, 0);
	c->events = svc->metric_new(h, HATHOR_METRIC_COUNTER, "plug_ok_events",
				    "events seen", "kind=\"best\"", NULL, 0);
	c->lat = svc->metric_new(h, HATHOR_METRIC_HISTOGRAM, "plug_ok_seq",
				 "seq seen", NULL, NULL, 0);
	if (!c->t || !c->io || !c->sub || !c->ticks || !c->events ||
	    !c->lat) {
		strncpy(err, "service registration failed", errlen - 1);
		close(c->pipe[0]);
		close(c->pipe[1]);
		free(c);
		return HATHOR_EIO;      /* runtime removes the rest */
	}
	*ctx = c;
	return 0;
}

static int ok_start(void *ctx, char *err, size_t errlen)
{
	struct ok_ctx *c = ctx;

	c->svc->timer_set(c->h, c->t, 0.001, 0.001);
	c->svc->io_set(c->h, c->io, HATHOR_IO_READ);
	hathor_logf(c->svc, c->h, HATHOR_LOG_INFO, "plug_ok started (%s)",
		    "abi 1");
	return 0;
}

static void ok_stop(void *ctx)
{
	struct ok_ctx *c = ctx;

	c->svc->timer_stop(c->h, c->t);
}

static void ok_destroy(void *ctx)
{
	struct ok_ctx *c = ctx;

	if (!c->leak) {
		c->svc->timer_free(c->h, c->t);
		c->svc->io_free(c->h, c->io);
		c->svc->event_unsubscribe(c->h, c->sub);
	}
	close(c->pipe[0]);
	close(c->pipe[1]);
	free(c);
}

HATHOR_PLUGIN(plug_ok, HATHOR_KIND_METRICS, "1.0.0", ok_init, ok_start,
	      ok_stop, ok_destroy);
