/*
 * hello.c: the smallest useful hathor-node plugin (kind "other").
 *
 * It reads "hello.greeting" from the node's configuration, logs it at
 * start, counts every new best block in hello_best_blocks_total and
 * publishes the current height in the gauge hello_best_height.  A timer
 * logs a heartbeat every "hello.interval" seconds (default 60).
 *
 * Everything runs on the host's loop thread; the plugin frees what it
 * allocated and leaves nothing registered after stop().
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hathor/plugin.h>

#ifndef HELLO_VERSION
#define HELLO_VERSION "0.1.0"
#endif

struct hello {
	struct hathor_host *h;
	const struct hathor_services *svc;
	const char *greeting;
	double interval;
	struct hathor_metric *blocks;
	struct hathor_metric *height;
	struct hathor_sub *sub;
	struct hathor_timer *timer;
	unsigned long beats;
};

static void on_event(void *arg, const struct hathor_event *ev)
{
	struct hello *p = arg;

	if (ev->type != HATHOR_EV_BEST_BLOCK && ev->type != HATHOR_EV_REORG)
		return;
	p->svc->metric_add(p->h, p->blocks, 1);
	p->svc->metric_set(p->h, p->height, (double)ev->height);
}

static void on_timer(void *arg)
{
	struct hello *p = arg;

	p->beats++;
	hathor_logf(p->svc, p->h, HATHOR_LOG_DEBUG, "heartbeat %lu",
		    p->beats);
}

static int hello_init(struct hathor_host *h,
		      const struct hathor_services *svc, void **ctx,
		      char *err, size_t errlen)
{
	struct hello *p;
	const char *iv;
	char *end;

	if (!HATHOR_HAS(svc, metric_new) || !HATHOR_HAS(svc, event_subscribe)) {
		snprintf(err, errlen, "host lacks metrics or event services");
		return HATHOR_EABI;
	}
	p = calloc(1, sizeof(*p));
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return HATHOR_ENOMEM;
	}
	p->h = h;
	p->svc = svc;
	p->greeting = svc->config_get(h, "hello.greeting");
	if (!p->greeting)
		p->greeting = "hello";
	p->interval = 60;
	iv = svc->config_get(h, "hello.interval");
	if (iv) {
		p->interval = strtod(iv, &end);
		if (end == iv || *end || !(p->interval > 0)) {
			snprintf(err, errlen, "hello.interval '%s': expected "
				 "a positive number of seconds", iv);
			free(p);
			return HATHOR_EINVAL;
		}
	}
	p->blocks = svc->metric_new(h, HATHOR_METRIC_COUNTER,
				    "hello_best_blocks_total",
				    "New best blocks seen by the hello plugin",
				    NULL, NULL, 0);
	p->height = svc->metric_new(h, HATHOR_METRIC_GAUGE,
				    "hello_best_height",
				    "Best block height seen by the hello plugin",
				    NULL, NULL, 0);
	if (!p->blocks || !p->height) {
		snprintf(err, errlen, "cannot register metrics");
		free(p);
		return HATHOR_EINVAL;
	}
	*ctx = p;
	return 0;
}

static int hello_start(void *ctx, char *err, size_t errlen)
{
	struct hello *p = ctx;

	p->sub = p->svc->event_subscribe(
		p->h, HATHOR_EV_BIT(HATHOR_EV_BEST_BLOCK) |
		HATHOR_EV_BIT(HATHOR_EV_REORG), on_event, p);
	p->timer = p->svc->timer_new(p->h, on_timer, p);
	if (!p->sub || !p->timer) {
		snprintf(err, errlen, "cannot subscribe or create a timer");
		return HATHOR_ENOMEM;
	}
	p->svc->timer_set(p->h, p->timer, p->interval, p->interval);
	hathor_logf(p->svc, p->h, HATHOR_LOG_INFO, "%s (hello %s, ABI %d.%d)",
		    p->greeting, HELLO_VERSION, HATHOR_ABI_MAJOR,
		    HATHOR_ABI_MINOR);
	return 0;
}

static void hello_stop(void *ctx)
{
	struct hello *p = ctx;

	if (p->sub)
		p->svc->event_unsubscribe(p->h, p->sub);
	p->svc->timer_free(p->h, p->timer);
	p->sub = NULL;
	p->timer = NULL;
}

static void hello_destroy(void *ctx)
{
	free(ctx);
}

HATHOR_PLUGIN(hello, HATHOR_KIND_OTHER, HELLO_VERSION, hello_init,
	      hello_start, hello_stop, hello_destroy);
