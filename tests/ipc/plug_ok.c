/*
 * plug_ok.c: the smallest valid plugin (metrics kind), used by the loader
 * tests.  Built with -DPLUG_VARIANT=... into the refusal variants.
 */
#include <stdlib.h>
#include <string.h>

#include "hathor/node.h"
#include "hathor/p2p.h"
#include "hathor/plugin.h"

struct ok_ctx {
	struct hathor_host *h;
	const struct hathor_services *svc;
};

static int ok_init(struct hathor_host *h, const struct hathor_services *svc,
		   void **ctx, char *err, size_t errlen)
{
	struct ok_ctx *c = calloc(1, sizeof(*c));

	if (!c) {
		strncpy(err, "out of memory", errlen - 1);
		return HATHOR_ENOMEM;
	}
	c->h = h;
	c->svc = svc;
	*ctx = c;
	return 0;
}

static int ok_start(void *ctx, char *err, size_t errlen)
{
	struct ok_ctx *c = ctx;

	hathor_logf(c->svc, c->h, HATHOR_LOG_INFO, "plug_ok started (%s)",
		    "abi 1");
	return 0;
}

static void ok_stop(void *ctx)
{
}

static void ok_destroy(void *ctx)
{
	free(ctx);
}

HATHOR_PLUGIN(plug_ok, HATHOR_KIND_METRICS, "1.0.0", ok_init, ok_start,
	      ok_stop, ok_destroy);
