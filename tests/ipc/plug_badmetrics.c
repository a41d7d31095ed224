/*
 * plug_badmetrics.c: a metric plugin that misbehaves on purpose: bad
 * metric_new arguments (each must come back NULL with a log line) and
 * garbage updates on good handles (each refused, logged once per metric,
 * the value kept).  It reports how many registrations were refused in its
 * gauge "bm_refused" (tests/ipc/test_plugin_load.c t_bad_metrics).
 */
#include <math.h>
#include <stdlib.h>

#include "hathor/plugin.h"

static int bm_init(struct hathor_host *h, const struct hathor_services *svc,
		   void **ctx, char *err, size_t errlen)
{
	static const double down[] = { 1, 0.5 }, nan1[] = { NAN };
	double many[65];
	struct hathor_metric *good, *gauge, *hist, *refused;
	int n = 0, i;

	for (i = 0; i < 65; i++)
		many[i] = i + 1;
	good = svc->metric_new(h, HATHOR_METRIC_COUNTER, "bm_good_total",
			       "good", NULL, NULL, 0);
	gauge = svc->metric_new(h, HATHOR_METRIC_GAUGE, "bm_gauge", "g",
				"k=\"v\"", NULL, 0);
	hist = svc->metric_new(h, HATHOR_METRIC_HISTOGRAM, "bm_hist", "h",
			       NULL, NULL, 0);
	refused = svc->metric_new(h, HATHOR_METRIC_GAUGE, "bm_refused",
				  "refused registrations", NULL, NULL, 0);
	if (!good || !gauge || !hist || !refused)
		abort();
	n += !svc->metric_new(h, HATHOR_METRIC_GAUGE, "9bad", "", NULL, NULL,
			      0);
	n += !svc->metric_new(h, HATHOR_METRIC_GAUGE, NULL, "", NULL, NULL, 0);
	n += !svc->metric_new(h, HATHOR_METRIC_GAUGE, "bm_bad\nname", "",
			      NULL, NULL, 0);
	n += !svc->metric_new(h, (enum hathor_metric_type)7, "bm_type", "",
			      NULL, NULL, 0);
	n += !svc->metric_new(h, HATHOR_METRIC_GAUGE, "bm_labels", "", "x=1",
			      NULL, 0);
	n += !svc->metric_new(h, HATHOR_METRIC_GAUGE, "bm_labels2", "",
			      "x=\"unterminated", NULL, 0);
	n += !svc->metric_new(h, HATHOR_METRIC_HISTOGRAM, "bm_le", "",
			      "le=\"1\"", NULL, 0);
	n += !svc->metric_new(h, HATHOR_METRIC_HISTOGRAM, "bm_down", "", NULL,
			      down, 2);
	n += !svc->metric_new(h, HATHOR_METRIC_HISTOGRAM, "bm_nan", "", NULL,
			      nan1, 1);
	n += !svc->metric_new(h, HATHOR_METRIC_HISTOGRAM, "bm_many", "", NULL,
			      many, 65);
	n += !svc->metric_new(h, HATHOR_METRIC_GAUGE, "bm_good_total", "",
			      NULL, NULL, 0);   /* type clash */
	svc->metric_set(h, refused, n);

	/* Garbage updates: refused, the values stay. */
	svc->metric_add(h, good, 2);
	svc->metric_add(h, good, NAN);
	svc->metric_add(h, good, -1);
	svc->metric_add(h, good, INFINITY);
	svc->metric_set(h, good, 100);
	svc->metric_observe(h, gauge, 1);
	svc->metric_observe(h, hist, NAN);
	svc->metric_observe(h, hist, 0.2);
	svc->metric_add(h, good, 1);
	svc->metric_set(h, gauge, 7);
	*ctx = NULL;
	(void)err;
	(void)errlen;
	return 0;
}

static void bm_destroy(void *ctx)
{
	(void)ctx;
}

HATHOR_PLUGIN(plug_badmetrics, HATHOR_KIND_METRICS, "0.0.1", bm_init, NULL,
	      NULL, bm_destroy);
