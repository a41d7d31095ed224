/*
 * ledger_verify.c: the ledger's side of verification: the hn_verify_ctx
 * callbacks over the store and the call into core/verify.c, plus what
 * needs the DAA (block templates).
 *
 * FIXME: core/verify.h has not landed yet; until it does, only the
 * checks below run (PoW, minimum weights, reward value).  The ledger's
 * own structural checks (ledger.c: check_deps) run in any case.
 */
#include <stdio.h>
#include <string.h>

#include "ledger_int.h"
#include "nodesvc.h"
#include "store.h"

#include "hn/err.h"
#include "hn/network.h"
#include "hn/vertex.h"

void hn_ledger__verify_init(struct hn_ledger *l)
{
	l->vctx = NULL;
}

void hn_ledger__verify_release(struct hn_ledger *l)
{
	l->vctx = NULL;
}

const struct hn_verify_ctx *hn_ledger_verify_ctx(struct hn_ledger *l)
{
	return l->vctx;
}

int hn_ledger__verify(struct hn_ledger *l, const struct hn_vertex *v,
		      const uint8_t *bytes, size_t len, int flags,
		      uint64_t height, struct hn_ledger_result *res)
{
	const struct hn_network *net = l->net;
	bool block = hn_vertex_is_block(v);

	if (v->version != HN_VTX_BLOCK && v->version != HN_VTX_TX &&
	    v->version != HN_VTX_TOKEN_CREATION &&
	    v->version != HN_VTX_MERGE_MINED_BLOCK) {
		res->code = HN_ECONSENSUS;
		snprintf(res->msg, sizeof(res->msg), "version %u not allowed",
			 v->version);
		return res->code;
	}
	if (!hn_vertex_pow_ok(v)) {
		res->code = HN_ECONSENSUS;
		snprintf(res->msg, sizeof(res->msg), "invalid proof of work "
			 "for weight %.6f", v->weight);
		return res->code;
	}
	if (v->weight < (block ? net->min_block_weight : net->min_tx_weight) -
	    net->weight_tol) {
		res->code = HN_ECONSENSUS;
		snprintf(res->msg, sizeof(res->msg), "weight %.6f below the "
			 "minimum", v->weight);
		return res->code;
	}
	return 0;
}

int hn_ledger_block_template(struct hn_ledger *l, uint32_t timestamp,
			     struct hn_block_template *out)
{
	struct hn_block_info best;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = hn_ledger_best_block(l, &best)) < 0)
		return rc;
	memcpy(out->parents[0], best.hash, 32);
	uint8_t txp[2][32];

	if ((rc = hn_ledger_tx_parents(l, txp)) < 0)
		return rc;
	memcpy(out->parents[1], txp[0], 32);
	memcpy(out->parents[2], txp[1], 32);
	out->height = best.height + 1;
	out->min_timestamp = best.timestamp + 1;
	out->timestamp = timestamp > out->min_timestamp ? timestamp :
		out->min_timestamp;
	/* FIXME: DAA weight from core/verify.h once it lands. */
	out->weight = l->net->min_block_weight;
	out->reward = l->net->initial_token_units_per_block;
	return 0;
}

int hn_nodesvc_verify_basic(struct hn_ledger *l, const uint8_t *bytes,
			    size_t len, struct hn_verr *verr)
{
	struct hn_ledger_result res;
	struct hn_vertex *v = NULL;
	int rc;

	memset(&res, 0, sizeof(res));
	rc = hn_vertex_decode(bytes, len, &v, res.msg, sizeof(res.msg));
	if (rc < 0)
		return HN_EPARSE;
	rc = hn_ledger__verify(l, v, bytes, len, 0, 0, &res);
	hn_vertex_free(v);
	(void)verr;     /* FIXME: struct hn_verr comes with core/verify.h */
	return rc;
}
