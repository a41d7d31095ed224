/*
 * plug_bad.c: deliberately broken plugin builds for the loader refusal
 * tests, one per BAD_* variant (compile definition).
 */
#include <stdlib.h>
#include <string.h>

#include "hathor/p2p.h"
#include "hathor/plugin.h"

#if !defined(BAD_NO_ENTRY)
static int b_init(struct hathor_host *h, const struct hathor_services *svc,
		  void **ctx, char *err, size_t errlen)
{
#if defined(BAD_INIT_FAILS)
	/* Registers a timer first: the loader must remove it. */
	svc->timer_new(h, (hathor_timer_cb)abort, NULL);
	strncpy(err, "cannot open the frobnicator", errlen - 1);
	return HATHOR_EIO;
#else
	*ctx = NULL;
	return 0;
#endif
}

static void b_destroy(void *ctx)
{
}
#endif

#if defined(BAD_UNDEFINED)
/* Never defined anywhere: RTLD_NOW must refuse the object. */
extern int hathor_test_no_such_function(void);
HATHOR_EXPORT int bad_use(void);
HATHOR_EXPORT int bad_use(void)
{
	return hathor_test_no_such_function();
}
#endif

#if defined(BAD_NO_ENTRY)
HATHOR_EXPORT int hathor_plugin_entry_v2(void);
HATHOR_EXPORT int hathor_plugin_entry_v2(void)
{
	return 2;
}
#else

#if defined(BAD_ABI_MAJOR)
#define D_MAJOR 2
#else
#define D_MAJOR HATHOR_ABI_MAJOR
#endif
#if defined(BAD_ABI_MINOR)
#define D_MINOR (HATHOR_ABI_MINOR + 1)
#else
#define D_MINOR HATHOR_ABI_MINOR
#endif
#if defined(BAD_SIZE)
#define D_SIZE 24
#else
#define D_SIZE sizeof(struct hathor_plugin_desc)
#endif
#if defined(BAD_P2P_NO_OPS)
#define D_KIND HATHOR_KIND_P2P
#elif defined(BAD_KIND)
#define D_KIND 77
#else
#define D_KIND HATHOR_KIND_OTHER
#endif

static const struct hathor_plugin_desc desc = {
	.abi_major = D_MAJOR,
	.abi_minor = D_MINOR,
	.struct_size = D_SIZE,
	.kind = D_KIND,
	.name = "plug_bad",
	.version = "6.6.6",
	.init = b_init,
	.destroy = b_destroy,
};

HATHOR_EXPORT const struct hathor_plugin_desc *hathor_plugin_entry(void);
HATHOR_EXPORT const struct hathor_plugin_desc *hathor_plugin_entry(void)
{
	return &desc;
}
#endif
