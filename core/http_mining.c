/*
 * http_mining.c: /v1a/get_block_template and /v1a/submit_block
 * (hathor/transaction/resources/mining.py), /v1a/getmininginfo
 * (hathor/p2p/resources/mining_info.py).
 *
 * The template comes from hn_ledger_block_template() (parents, height,
 * timestamp, weight, reward); this file only builds the block JSON the
 * reference answers: block.to_json(include_metadata=True) without hash,
 * inputs, nonce and aux_pow, with metadata.hash null.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daa.h"
#include "daemon.h"
#include "http_int.h"
#include "ledger.h"
#include "relay.h"

#include "hn/err.h"
#include "hn/hash.h"
#include "hn/hex.h"
#include "hn/network.h"
#include "hn/vertex.h"

#define jadd json_object_object_add

#define ADDR_LEN 25             /* version + hash160 + checksum */
#define ADDR_B58_MAX 64

static const char b58_alphabet[] =
	"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Base58 decode of @s into exactly ADDR_LEN bytes. */
static bool b58_decode25(const char *s, uint8_t out[ADDR_LEN])
{
	size_t n = strlen(s), i, j;
	unsigned char num[ADDR_LEN] = { 0 };

	if (n == 0 || n > ADDR_B58_MAX)
		return false;
	for (i = 0; i < n; i++) {
		const char *p = strchr(b58_alphabet, s[i]);
		unsigned carry;

		if (!p || !s[i])
			return false;
		carry = (unsigned)(p - b58_alphabet);
		for (j = ADDR_LEN; j-- > 0;) {
			carry += 58u * num[j];
			num[j] = (unsigned char)(carry & 0xff);
			carry >>= 8;
		}
		if (carry)
			return false; /* does not fit in 25 bytes */
	}
	memcpy(out, num, ADDR_LEN);
	return true;
}

/* decode_address + create_output_script (P2PKH or P2SH by version byte).
 * Writes the script into @script (at most 25 bytes) and its length. */
static bool address_script(const struct hn_network *net, const char *addr,
			   uint8_t script[25], uint16_t *len)
{
	uint8_t raw[ADDR_LEN], ck[32];

	if (!b58_decode25(addr, raw))
		return false;
	hn_sha256d(raw, 21, ck);
	if (memcmp(ck, raw + 21, 4))
		return false;
	if (raw[0] == net->p2pkh_version_byte) {
		script[0] = 0x76;       /* OP_DUP */
		script[1] = 0xa9;       /* OP_HASH160 */
		script[2] = 20;
		memcpy(script + 3, raw + 1, 20);
		script[23] = 0x88;      /* OP_EQUALVERIFY */
		script[24] = 0xac;      /* OP_CHECKSIG */
		*len = 25;
		return true;
	}
	if (raw[0] == net->multisig_version_byte) {
		script[0] = 0xa9;       /* OP_HASH160 */
		script[1] = 20;
		memcpy(script + 2, raw + 1, 20);
		script[22] = 0x87;      /* OP_EQUAL */
		*len = 23;
		return true;
	}
	return false;
}

/* The reference's metadata JSON of a block not yet mined (to_json of a
 * fresh TransactionMetadata with its static height). */
static struct json_object *template_meta(const struct hn_block_template *t)
{
	struct json_object *m = json_object_new_object();

	if (!m)
		return NULL;
	jadd(m, "hash", NULL);
	jadd(m, "spent_outputs", json_object_new_array());
	jadd(m, "received_by", json_object_new_array());
	jadd(m, "children", json_object_new_array());
	jadd(m, "conflict_with", json_object_new_array());
	jadd(m, "voided_by", json_object_new_array());
	jadd(m, "twins", json_object_new_array());
	jadd(m, "accumulated_weight", json_object_new_double(t->weight));
	jadd(m, "score", json_object_new_double(0));
	jadd(m, "first_block", NULL);
	jadd(m, "height", json_object_new_int64((int64_t)t->height));
	jadd(m, "min_height", json_object_new_int64(0));
	jadd(m, "validation", json_object_new_string("initial"));
	return m;
}

void http__get_block_template(struct http__req *r)
{
	struct hn_ledger *l = http__ledger(r);
	const struct hn_network *net;
	struct hn_block_template t;
	struct hn_vertex *v = NULL;
	struct json_object *o = NULL;
	const char *addr;
	uint8_t script[25];
	uint16_t slen = 0;
	double now;

	if (!l)
		return;
	net = hn_ledger_network(l);
	addr = http__arg(r, "address");
	if (addr && *addr && !address_script(net, addr, script, &slen)) {
		http__fail(r, 400, "Invalid address");
		return;
	}
	now = hn_ledger_now(l);
	if (hn_ledger_block_template(l, now > 0 ? (uint32_t)now : 0, &t) < 0) {
		http__fail(r, 500, "cannot build a block template");
		return;
	}
	if (!(v = hn_vertex_new()))
		return;
	v->version = HN_VTX_BLOCK;
	v->timestamp = t.timestamp;
	v->weight = t.weight;
	v->signal_bits = t.signal_bits;
	v->n_parents = 3;
	v->parents = malloc(3 * 32);
	v->outputs = calloc(1, sizeof(*v->outputs));
	if (!v->parents || !v->outputs)
		goto out;
	memcpy(v->parents, t.parents, 3 * 32);
	v->n_outputs = 1;
	v->outputs[0].value = t.reward;
	if (slen) {
		if (!(v->outputs[0].script = malloc(slen)))
			goto out;
		memcpy(v->outputs[0].script, script, slen);
		v->outputs[0].script_len = slen;
	}
	if (hn_vertex_to_json(v, &o) < 0)
		goto out;
	json_object_object_del(o, "hash");
	json_object_object_del(o, "inputs");
	json_object_object_del(o, "nonce");
	json_object_object_del(o, "aux_pow");
	json_object_object_del(o, "raw");
	jadd(o, "metadata", template_meta(&t));
	http__ok(r, 200, o);
out:
	hn_vertex_free(v);
}

/* POST {"hexdata": HEX}: {"result": true} when the block was stored on
 * the best chain's tip, {"result": false} when it was not (parent not
 * the best block, invalid). */
void http__submit_block(struct http__req *r)
{
	struct hn_ledger *l = http__ledger(r);
	struct json_object *body, *jv, *o;
	struct hn_ledger_result res;
	struct hn_block_info best;
	struct hn_vertex *v = NULL;
	const char *hex = NULL;
	uint8_t *bytes = NULL;
	size_t hl, n = 0;
	char err[128];
	bool ok = false;
	int rc;

	if (!l)
		return;
	if (!(body = http__body_json(r)))
		return;
	if (json_object_object_get_ex(body, "hexdata", &jv) &&
	    json_object_is_type(jv, json_type_string))
		hex = json_object_get_string(jv);
	if (!hex) {
		http__fail(r, 400, "Missing hexdata");
		goto out;
	}
	hl = strlen(hex);
	if (hl == 0 || hl % 2 || !(bytes = malloc(hl / 2)) ||
	    hn_hex_decode(hex, bytes, hl / 2, &n) < 0) {
		http__fail(r, 400, "Invalid hexadecimal data");
		goto out;
	}
	if (hn_vertex_decode(bytes, n, &v, err, sizeof(err)) < 0) {
		http__fail(r, 400, "Could not decode block");
		goto out;
	}
	if (!hn_vertex_is_block(v)) {
		http__fail(r, 400, "Not a block");
		goto out;
	}
	if (hn_ledger_best_block(l, &best) < 0) {
		http__fail(r, 500, "storage error");
		goto out;
	}
	if (v->n_parents > 0 && !memcmp(v->parents[0], best.hash, 32)) {
		rc = hn_ledger_add_vertex(l, bytes, n, 0, &res);
		if (rc == HN_EIO || rc == HN_ENOMEM) {
			http__fail(r, 500, "storage error");
			goto out;
		}
		ok = rc == 0;
		if (ok)
			hn_relay_local(r->h->d, bytes, n);
	}
	if (!(o = json_object_new_object()))
		goto out;
	jadd(o, "result", json_object_new_boolean(ok));
	http__ok(r, 200, o);
out:
	hn_vertex_free(v);
	free(bytes);
	json_object_put(body);
}

/* Weight(w).to_pdiff(): PDIFF_ONE / U256(2**(256 - w) - 1).  In the
 * reference the power is a float, so the - 1 is lost for any weight a
 * block has; PDIFF_ONE (2^224 - 1) is 2^224 as a double. */
static double weight_to_pdiff(double w)
{
	double u = floor(pow(2.0, 256.0 - w) - 1.0);

	if (u < 1.0)
		u = 1.0;
	return ldexp(1.0, 224) / u;
}

/* _sum_block_rewards_in_range(h..@height): one halving period at a
 * time. */
static uint64_t sum_rewards(const struct hn_network *net,
			    const struct hn_daa_config *cfg, uint64_t h,
			    uint64_t height)
{
	uint64_t total = 0, bph = net->blocks_per_halving;

	if (h > height)
		return 0;
	if (!bph)
		return (height - h + 1) * hn_daa_reward(net, cfg, 1);
	while (h <= height) {
		uint64_t end = ((h - 1) / bph + 1) * bph;

		if (end > height)
			end = height;
		total += (end - h + 1) * hn_daa_reward(net, cfg, h);
		h = end + 1;
	}
	return total;
}

/* _get_mined_tokens(height): V1 rewards below @v2_start (0: none), V2
 * from it on. */
static uint64_t mined_tokens(const struct hn_network *net,
			     uint64_t v2_start, uint64_t height)
{
	struct hn_daa_config v1, v2;

	hn_daa_config_v1(net, &v1);
	if (!v2_start || v2_start > height)
		return sum_rewards(net, &v1, 1, height);
	hn_daa_config_v2(net, &v2);
	return sum_rewards(net, &v1, 1, v2_start - 1) +
	       sum_rewards(net, &v2, v2_start, height);
}

/* GET: {hashrate, difficulty, blocks, mined_tokens, success} of the block
 * the node would mine now: blocks is the best height, difficulty
 * max(int(pdiff(weight)), 1), hashrate 2**(weight - log2(avg time)). */
void http__getmininginfo(struct http__req *r)
{
	struct hn_ledger *l = http__ledger(r);
	const struct hn_network *net;
	struct hn_block_template t;
	struct json_object *o;
	double now, pd, hashrate;
	uint64_t blocks;
	int64_t diff;

	if (!l)
		return;
	if (!http__can_start_mining(r)) {
		if (!(o = json_object_new_object()))
			return;
		jadd(o, "success", json_object_new_boolean(false));
		jadd(o, "message", json_object_new_string("Node still syncing"));
		http__ok(r, 200, o);
		return;
	}
	net = hn_ledger_network(l);
	now = hn_ledger_now(l);
	if (hn_ledger_block_template(l, now > 0 ? (uint32_t)now : 0, &t) < 0) {
		http__fail(r, 500, "cannot build a block template");
		return;
	}
	blocks = t.height - 1;
	pd = weight_to_pdiff(t.weight);
	diff = pd >= 9.2e18 ? INT64_MAX : (int64_t)pd;
	if (diff < 1)
		diff = 1;
	hashrate = pow(2.0, t.weight - log(t.avg_time) / log(2.0));
	if (!(o = json_object_new_object()))
		return;
	jadd(o, "hashrate", json_object_new_double(hashrate));
	jadd(o, "difficulty", json_object_new_int64(diff));
	jadd(o, "blocks", json_object_new_int64((int64_t)blocks));
	jadd(o, "mined_tokens", json_object_new_int64(
		(int64_t)mined_tokens(net, t.v2_start_height, blocks)));
	jadd(o, "success", json_object_new_boolean(true));
	http__ok(r, 200, o);
}
