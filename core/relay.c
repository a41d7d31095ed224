/*
 * relay.c: local vertices to the P2P plugin (see relay.h).
 */
#include "relay.h"

#include <json-c/json.h>

/* config.h has a comment containing a glob (-Wcomment). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcomment"
#include "config.h"
#pragma GCC diagnostic pop
#include "daemon.h"
#include "metrics.h"
#include "p2p_inproc.h"
#include "sup.h"

#include "hn/err.h"
#include "hn/jsonrpc.h"
#include "hn/log.h"
#include "hn/rpc_nng.h"

#define COMP "relay"
/* The host answers at once (the plugin only queues DATA frames). */
#define RELAY_TIMEOUT 10.0

static void relay_done(void *arg, int rc, struct hn_rpc_resp *resp)
{
	(void)arg;
	if (rc == 0 && !resp->is_error) {
		hn_core_metrics_local_relay("sent");
		return;
	}
	hn_core_metrics_local_relay(rc == HN_ECLOSED ? "dropped" : "failed");
	hn_debug(COMP, "local vertex not relayed: the p2p host %s",
		 rc == 0 ? resp->error.message :
		 rc == HN_ECLOSED ? "went away" : "did not answer");
}

void hn_relay_local(struct hn_daemon *d, const uint8_t *bytes, size_t len)
{
	const struct hn_config *cfg = d ? d->cfg : NULL;
	struct json_object *params;
	char err[256] = "";
	int rc;

	if (!cfg || cfg->p2p_mode == HN_P2P_OFF || !bytes || !len)
		return;
	if (cfg->p2p_mode == HN_P2P_INPROCESS) {
		rc = hn_p2p_inproc_send_tx(d, bytes, len, err, sizeof(err));
		if (rc == 0) {
			hn_core_metrics_local_relay("sent");
			hn_debug(COMP, "local vertex (%zu bytes) relayed", len);
			return;
		}
		hn_core_metrics_local_relay(rc == HN_ECLOSED ? "dropped" :
					    "failed");
		hn_debug(COMP, "local vertex not relayed: %s", rc == HN_ECLOSED ?
			 "no p2p plugin loaded" : err);
		return;
	}
	params = json_object_new_object();
	if (!params || hn_rpc_add(params, "bytes",
				  hn_rpc_j_bytes(bytes, len)) < 0) {
		json_object_put(params);
		hn_core_metrics_local_relay("failed");
		hn_debug(COMP, "local vertex not relayed: out of memory");
		return;
	}
	rc = hn_sup_module_call("send_tx_to_peers", params, RELAY_TIMEOUT,
				relay_done, NULL);
	if (rc < 0) {
		hn_core_metrics_local_relay(rc == HN_ECLOSED ? "dropped" :
					    "failed");
		hn_debug(COMP, "local vertex not relayed: %s", rc == HN_ECLOSED ?
			 "no live p2p host" : hn_strerror(rc));
		return;
	}
	hn_debug(COMP, "local vertex (%zu bytes) sent to the p2p host", len);
}
