/*
 * ledger_module.c: the "ledger" daemon module (core/daemon.h): opens the
 * ledger on <data_dir>/ledger.db at start-up and closes it last.  A
 * database of another network, another schema or not ours is refused by
 * the store with a message naming the file; nothing is overwritten.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* config.h has a comment containing a glob (-Wcomment). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcomment"
#include "config.h"
#pragma GCC diagnostic pop
#include "daemon.h"
#include "ledger.h"

#include "hn/err.h"
#include "hn/log.h"

#define HN_LEDGER_DB_NAME "ledger.db"

static int ledger_mod_open(struct hn_daemon *d, struct hn_error *err)
{
	struct hn_ledger_opts o = { 0 };
	char *path;
	int rc;

	if (!d->cfg || !d->cfg->data_dir || !d->net)
		return hn_error_set(err, HN_EINVAL, "ledger: no data dir or "
				    "network configured");
	if (asprintf(&path, "%s/%s", d->cfg->data_dir, HN_LEDGER_DB_NAME) < 0)
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	o.db_path = path;
	o.net = d->net;
	o.sync = d->cfg->sqlite_sync_full ? HN_STORE_SYNC_FULL :
		HN_STORE_SYNC_NORMAL;
	o.cache_mb = d->cfg->sqlite_cache_mb;
	o.create = true;
	rc = hn_ledger_open(&o, &d->ledger, err);
	free(path);
	return rc;
}

static void ledger_mod_close(struct hn_daemon *d)
{
	hn_ledger_close(d->ledger);
	d->ledger = NULL;
}

const struct hn_daemon_module hn_ledger_module = {
	.name = "ledger",
	.open = ledger_mod_open,
	.close = ledger_mod_close,
};
