/*
 * vertex_metrics.c: a third-party metrics plugin for hathor-node, built
 * out of tree against the installed SDK (docs/plugin-sdk.md).
 *
 * It adds one metric family through the services table,
 *
 *   example_vertices_accepted_total{type="block"|"tx",voided="0"|"1"}
 *
 * counted from the node's HATHOR_EV_VERTEX_ACCEPTED events, and a gauge
 * example_best_height from HATHOR_EV_BEST_BLOCK / HATHOR_EV_REORG.  The
 * node's metrics plugin (--metrics-listen) serves them on /metrics with
 * everything else.  Label values come from a fixed set: a series per
 * (type, voided), never per hash.
 *
 * Configuration (ini section [vertex_metrics]):
 *   vertex_metrics.prefix   metric name prefix (default "example"),
 *                           [a-z_]+
 *
 * Everything runs on the host's loop thread; the host frees the metric
 * handles and the subscription when the plugin is unloaded, the plugin
 * frees its own context.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hathor/plugin.h>

#ifndef VM_VERSION
#define VM_VERSION "0.1.0"
#endif

struct vm {
	struct hathor_host *h;
	const struct hathor_services *svc;
	struct hathor_metric *accepted[2][2];   /* [is_block][voided] */
	struct hathor_metric *height;
	struct hathor_sub *sub;
};

static void on_event(void *arg, const struct hathor_event *ev)
{
	struct vm *p = arg;

	switch (ev->type) {
	case HATHOR_EV_VERTEX_ACCEPTED:
		p->svc->metric_add(p->h, p->accepted[ev->is_block ? 1 : 0]
						    [ev->voided ? 1 : 0], 1);
		break;
	case HATHOR_EV_BEST_BLOCK:
	case HATHOR_EV_REORG:
		p->svc->metric_set(p->h, p->height, (double)ev->height);
		break;
	default:
		break;
	}
}

static bool prefix_ok(const char *s)
{
	if (!*s || strlen(s) > 32)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || *s == '_'))
			return false;
	return true;
}

static int vm_init(struct hathor_host *h, const struct hathor_services *svc,
		   void **ctx, char *err, size_t errlen)
{
	struct vm *p;
	const char *prefix;
	char name[64], labels[64];
	int b, v;

	if (!HATHOR_HAS(svc, metric_new) || !HATHOR_HAS(svc, event_subscribe)) {
		snprintf(err, errlen, "host lacks metrics or event services");
		return HATHOR_EABI;
	}
	prefix = svc->config_get(h, "vertex_metrics.prefix");
	if (!prefix)
		prefix = "example";
	if (!prefix_ok(prefix)) {
		snprintf(err, errlen, "vertex_metrics.prefix '%s': expected "
			 "1 to 32 of [a-z_]", prefix);
		return HATHOR_EINVAL;
	}
	if (!(p = calloc(1, sizeof(*p)))) {
		snprintf(err, errlen, "out of memory");
		return HATHOR_ENOMEM;
	}
	p->h = h;
	p->svc = svc;
	snprintf(name, sizeof(name), "%s_vertices_accepted_total", prefix);
	for (b = 0; b < 2; b++) {
		for (v = 0; v < 2; v++) {
			snprintf(labels, sizeof(labels),
				 "type=\"%s\",voided=\"%d\"",
				 b ? "block" : "tx", v);
			p->accepted[b][v] = svc->metric_new(h,
				HATHOR_METRIC_COUNTER, name,
				"Vertices the node accepted, by type and "
				"whether they were stored voided.", labels,
				NULL, 0);
		}
	}
	snprintf(name, sizeof(name), "%s_best_height", prefix);
	p->height = svc->metric_new(h, HATHOR_METRIC_GAUGE, name,
				    "Height of the best block as last seen "
				    "in a node event.", NULL, NULL, 0);
	if (!p->accepted[0][0] || !p->accepted[0][1] || !p->accepted[1][0] ||
	    !p->accepted[1][1] || !p->height) {
		snprintf(err, errlen, "cannot register metrics (see the log)");
		free(p);
		return HATHOR_EINVAL;
	}
	*ctx = p;
	return 0;
}

static int vm_start(void *ctx, char *err, size_t errlen)
{
	struct vm *p = ctx;

	p->sub = p->svc->event_subscribe(p->h,
		HATHOR_EV_BIT(HATHOR_EV_VERTEX_ACCEPTED) |
		HATHOR_EV_BIT(HATHOR_EV_BEST_BLOCK) |
		HATHOR_EV_BIT(HATHOR_EV_REORG), on_event, p);
	if (!p->sub) {
		snprintf(err, errlen, "cannot subscribe to node events");
		return HATHOR_EIO;
	}
	hathor_logf(p->svc, p->h, HATHOR_LOG_INFO, "counting accepted "
		    "vertices (plugin %s)", VM_VERSION);
	return 0;
}

static void vm_stop(void *ctx)
{
	struct vm *p = ctx;

	if (p->sub)
		p->svc->event_unsubscribe(p->h, p->sub);
	p->sub = NULL;
}

static void vm_destroy(void *ctx)
{
	free(ctx);
}

HATHOR_PLUGIN(vertex_metrics, HATHOR_KIND_METRICS, VM_VERSION, vm_init,
	      vm_start, vm_stop, vm_destroy);
