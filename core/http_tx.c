/*
 * http_tx.c: vertex endpoints: /v1a/transaction (transaction.py),
 * /v1a/block_at_height (block_at_height.py), /v1a/dashboard_tx
 * (dashboard.py), /v1a/mempool (mempool.py), /v1a/tx_parents
 * (tx_parents.py), /v1a/decode_tx (decode_tx.py), /v1a/push_tx
 * (push_tx.py).
 *
 * Error shape: {"success": false, "message": ...} as the reference, but
 * with a 4xx status where the reference answers 200 (bad parameter: 400,
 * unknown vertex: 404); docs/http-api.md lists the differences.
 *
 * Every handler does a bounded amount of sqlite work: one vertex, or a
 * page capped by MAX_TX_COUNT / MAX_DASHBOARD_COUNT.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon.h"
#include "http_int.h"
#include "ledger.h"
#include "relay.h"
#include "store.h"

#include "hn/b64.h"
#include "hn/err.h"
#include "hn/hash.h"
#include "hn/hex.h"
#include "hn/network.h"
#include "hn/vertex.h"

#define jadd json_object_object_add

#define MAX_TX_COUNT 15         /* settings.MAX_TX_COUNT */
#define MAX_DASHBOARD_COUNT 15  /* settings.MAX_DASHBOARD_COUNT */
#define MAX_MEMPOOL 100         /* mempool.py: at most 100 ids answered */
/* A push_tx body carries hex of at most this many bytes of vertex. */
#define MAX_PUSH_BYTES (64 * 1024)

/* Parses a decimal argument in [min, max]; false if absent or bad. */
static bool arg_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = v;
	return true;
}

/* Reads @name as a hash: 400 on a missing or malformed one. */
static bool arg_hash(struct http__req *r, const char *name, uint8_t h[32])
{
	const char *s = http__arg(r, name);
	char msg[96];

	if (!s) {
		snprintf(msg, sizeof(msg), "Missing parameter: %s", name);
		http__fail(r, 400, msg);
		return false;
	}
	if (strlen(s) != 64 || hn_hex_to_hash(s, h) < 0) {
		http__fail(r, 400, "Invalid hash");
		return false;
	}
	return true;
}

/* Loads vertex @hash, decoded, with all metadata.  Answers 404/500 and
 * returns a negative code on failure. */
static int load(struct http__req *r, struct hn_ledger *l,
		const uint8_t hash[32], struct hn_ledger_vertex *lv,
		struct hn_vertex **v)
{
	char err[128];
	int rc;

	memset(lv, 0, sizeof(*lv));
	*v = NULL;
	rc = hn_ledger_get(l, hash, HN_VMETA_ALL, lv);
	if (rc == HN_ENOENT) {
		http__fail(r, 404, "Transaction not found");
		return rc;
	}
	if (rc < 0) {
		http__fail(r, 500, "storage error");
		return rc;
	}
	rc = hn_vertex_decode(lv->bytes, lv->len, v, err, sizeof(err));
	if (rc < 0) {
		hn_ledger_vertex_release(lv);
		http__fail(r, 500, "stored vertex does not decode");
		return rc;
	}
	return 0;
}

static const char b58_alphabet[] =
	"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Base58 of @n (<= 25) bytes into @out (>= 40 bytes). */
static void b58_encode(const uint8_t *in, size_t n, char *out)
{
	uint8_t num[25];
	char tmp[40];
	size_t i, k = 0, zeros = 0, first = 0;

	memcpy(num, in, n);
	while (zeros < n && in[zeros] == 0)
		zeros++;
	first = zeros;
	while (first < n) {
		unsigned rem = 0;

		for (i = first; i < n; i++) {
			unsigned cur = rem * 256u + num[i];

			num[i] = (uint8_t)(cur / 58u);
			rem = cur % 58u;
		}
		tmp[k++] = b58_alphabet[rem];
		while (first < n && num[first] == 0)
			first++;
	}
	for (i = 0; i < zeros; i++)
		tmp[k++] = '1';
	for (i = 0; i < k; i++)
		out[i] = tmp[k - 1 - i];
	out[k] = '\0';
}

/* get_address_b58_from_public_key_hash / _redeem_script_hash. */
static struct json_object *address_json(uint8_t version,
					const uint8_t hash160[20])
{
	uint8_t raw[25], ck[32];
	char b58[40];

	raw[0] = version;
	memcpy(raw + 1, hash160, 20);
	hn_sha256d(raw, 21, ck);
	memcpy(raw + 21, ck, 4);
	b58_encode(raw, 25, b58);
	return json_object_new_string(b58);
}

/* TxOutput.to_human_readable(): P2PKH and MultiSig (both with the
 * optional "<4 bytes> OP_GREATERTHAN_TIMESTAMP" prefix) decode to {type,
 * address, timelock, value, token_data}; other scripts to {}. */
static void add_decoded(const struct hn_network *net, struct json_object *out,
			const uint8_t *sc, size_t len, uint64_t value,
			uint8_t token_data)
{
	struct json_object *d = json_object_new_object(), *tl = NULL;
	const char *type = NULL;
	uint8_t ver = 0;
	const uint8_t *h = NULL;

	if (!d)
		return;
	if (len >= 6 && sc[0] == 4 && sc[5] == 0x6f) {
		tl = json_object_new_int64((int64_t)((uint32_t)sc[1] << 24 |
			(uint32_t)sc[2] << 16 | (uint32_t)sc[3] << 8 | sc[4]));
		sc += 6;
		len -= 6;
	}
	if (len == 25 && sc[0] == 0x76 && sc[1] == 0xa9 && sc[2] == 20 &&
	    sc[23] == 0x88 && sc[24] == 0xac) {
		type = "P2PKH";
		ver = net->p2pkh_version_byte;
		h = sc + 3;
	} else if (len == 23 && sc[0] == 0xa9 && sc[1] == 20 &&
		   sc[22] == 0x87) {
		type = "MultiSig";
		ver = net->multisig_version_byte;
		h = sc + 2;
	}
	if (type) {
		jadd(d, "type", json_object_new_string(type));
		jadd(d, "address", address_json(ver, h));
		jadd(d, "timelock", tl);
		jadd(d, "value", json_object_new_uint64(value));
		jadd(d, "token_data", json_object_new_int(token_data));
	} else {
		json_object_put(tl);
	}
	jadd(out, "decoded", d);
}

/* "decoded" on every output of @o (to_json(decode_script=True)). */
static void decode_outputs(const struct hn_network *net,
			   const struct hn_vertex *v, struct json_object *o)
{
	struct json_object *outs;
	size_t i;

	if (!json_object_object_get_ex(o, "outputs", &outs))
		return;
	for (i = 0; i < v->n_outputs &&
	     i < json_object_array_length(outs); i++)
		add_decoded(net, json_object_array_get_idx(outs, i),
			    v->outputs[i].script, v->outputs[i].script_len,
			    v->outputs[i].value, v->outputs[i].token_data);
}

/* Token uid of output @idx of @v (NULL for HTR or a bad index). */
static const uint8_t *output_token(const struct hn_vertex *v, uint8_t td)
{
	unsigned i = td & HN_TOKEN_INDEX_MASK;

	if (i == 0 || i > v->n_tokens)
		return NULL;
	return v->tokens[i - 1];
}

/* get_tx_extra_data's inputs: the spent output's to_json(decode) + tx_id,
 * index, with token_data relative to this tx's tokens (appending a token
 * only the inputs carry, as on a full melt); then tokens detailed as
 * [{uid, name, symbol}]. */
static int inputs_and_tokens(struct hn_ledger *l, const struct hn_vertex *v,
			     struct json_object *tx)
{
	const struct hn_network *net = hn_ledger_network(l);
	uint8_t toks[256][32];
	size_t nt = 0, i, j;
	struct json_object *ins = json_object_new_array(), *det;

	if (!ins)
		return HN_ENOMEM;
	for (i = 0; i < v->n_tokens && nt < 256; i++)
		memcpy(toks[nt++], v->tokens[i], 32);
	for (i = 0; i < v->n_inputs; i++) {
		const struct hn_tx_input *in = &v->inputs[i];
		struct hn_ledger_vertex lv = { 0 };
		struct hn_vertex *sv = NULL;
		const struct hn_tx_output *so;
		const uint8_t *uid;
		struct json_object *e;
		char err[64];
		uint8_t td = 0;

		if (hn_ledger_get(l, in->tx_id, HN_VMETA_CORE, &lv) < 0)
			continue; /* stored txs have their inputs; decode_tx
				   * of an unknown spend answers less */
		if (hn_vertex_decode(lv.bytes, lv.len, &sv, err,
				     sizeof(err)) < 0 ||
		    in->index >= sv->n_outputs) {
			hn_vertex_free(sv);
			hn_ledger_vertex_release(&lv);
			continue;
		}
		so = &sv->outputs[in->index];
		uid = output_token(sv, so->token_data);
		if (uid) {
			for (j = 0; j < nt; j++)
				if (!memcmp(toks[j], uid, 32))
					break;
			if (j == nt && nt < 256)
				memcpy(toks[nt++], uid, 32);
			td = (uint8_t)(j + 1);
		}
		td |= so->token_data & HN_TOKEN_AUTHORITY_MASK;
		e = json_object_new_object();
		if (e) {
			char *b = hn_b64_encode(so->script, so->script_len);

			jadd(e, "value", json_object_new_uint64(so->value));
			jadd(e, "token_data", json_object_new_int(td));
			if (b) {
				jadd(e, "script", json_object_new_string(b));
				free(b);
			}
			add_decoded(net, e, so->script, so->script_len,
				    so->value, td);
			jadd(e, "tx_id", http__hex(in->tx_id, 32));
			jadd(e, "index", json_object_new_int(in->index));
			json_object_array_add(ins, e);
		}
		hn_vertex_free(sv);
		hn_ledger_vertex_release(&lv);
	}
	jadd(tx, "inputs", ins);
	det = json_object_new_array();
	if (!det)
		return HN_ENOMEM;
	for (i = 0; i < nt; i++) {
		struct hn_token_info ti;
		struct json_object *e = json_object_new_object();
		bool known;

		if (!e)
			continue;
		known = hn_store_token_get(hn_ledger_store(l), toks[i],
					   &ti) == 0;
		jadd(e, "uid", http__hex(toks[i], 32));
		jadd(e, "name", known ? json_object_new_string(ti.name) : NULL);
		jadd(e, "symbol", known ? json_object_new_string(ti.symbol) :
		     NULL);
		json_object_array_add(det, e);
	}
	jadd(tx, "tokens", det);
	return 0;
}

/* The reference's tx.to_json() plus "height" for blocks and the nonce as
 * a string (get_tx_extra_data). */
static struct json_object *tx_json(const struct hn_vertex *v,
				   const struct hn_vmeta *m)
{
	struct json_object *o = NULL;

	if (hn_vertex_to_json(v, &o) < 0)
		return NULL;
	if (m->is_block)
		jadd(o, "height", json_object_new_int64((int64_t)m->height));
	return o;
}

int http__tx_extra(struct hn_ledger *l, const uint8_t hash[32],
		   struct json_object **out)
{
	struct hn_ledger_vertex lv = { 0 };
	struct hn_vertex *v = NULL;
	struct json_object *o = NULL, *tx = NULL, *meta = NULL, *spent;
	char err[128];
	size_t i;
	int rc;

	*out = NULL;
	rc = hn_ledger_get(l, hash, HN_VMETA_ALL, &lv);
	if (rc < 0)
		return rc;
	rc = hn_vertex_decode(lv.bytes, lv.len, &v, err, sizeof(err));
	if (rc < 0)
		goto done;
	rc = HN_ENOMEM;
	tx = tx_json(v, &lv.meta);
	if (!tx || hn_ledger_meta_to_json(l, &lv.meta, &meta) < 0)
		goto done;
	decode_outputs(hn_ledger_network(l), v, tx);
	if (inputs_and_tokens(l, v, tx) < 0)
		goto done;
	o = json_object_new_object();
	spent = json_object_new_object();
	if (!o || !spent) {
		json_object_put(spent);
		goto done;
	}
	/* spent_outputs: per output index, the first spender that is not
	 * voided (list is ordered by index) */
	for (i = 0; i < lv.meta.n_spent; i++) {
		const struct hn_spent *s = &lv.meta.spent[i];
		struct hn_ledger_vertex sv = { 0 };
		char key[8];

		snprintf(key, sizeof(key), "%u", (unsigned)s->index);
		if (json_object_object_get_ex(spent, key, NULL))
			continue;
		if (hn_ledger_get(l, s->tx, HN_VMETA_CORE, &sv) < 0)
			continue;
		if (sv.meta.n_voided_by == 0)
			jadd(spent, key, http__hex(s->tx, 32));
		hn_ledger_vertex_release(&sv);
	}
	jadd(o, "success", json_object_new_boolean(1));
	jadd(o, "tx", tx);
	jadd(o, "meta", meta);
	jadd(o, "spent_outputs", spent);
	tx = meta = NULL;
	*out = o;
	o = NULL;
	rc = 0;
done:
	json_object_put(o);
	json_object_put(tx);
	json_object_put(meta);
	hn_vertex_free(v);
	hn_ledger_vertex_release(&lv);
	return rc;
}

/* transaction?id=HASH, or the list form ?type=block|tx&count=N[&hash=H&
 * timestamp=T&page=next]. */
static void tx_list(struct http__req *r, struct hn_ledger *l)
{
	const char *type = http__arg(r, "type"), *cnt = http__arg(r, "count");
	const char *hs = http__arg(r, "hash"), *page = http__arg(r, "page");
	struct hn_hash_list hl = { 0 };
	struct json_object *o, *a;
	uint8_t ref[32];
	uint64_t count, ts = UINT64_MAX;
	bool blocks, more = false;
	size_t i;

	if (!type || !cnt) {
		http__fail(r, 400, "Missing parameter: type, count");
		return;
	}
	if (strcmp(type, "tx") && strcmp(type, "block")) {
		http__fail(r, 400, "Invalid 'type' parameter, expected "
			   "'block' or 'tx'");
		return;
	}
	blocks = !strcmp(type, "block");
	if (!arg_u64(cnt, 1, UINT64_MAX, &count)) {
		http__fail(r, 400, "Failed to parse 'count'");
		return;
	}
	if (count > MAX_TX_COUNT)
		count = MAX_TX_COUNT;
	if (hs) {
		if (strlen(hs) != 64 || hn_hex_to_hash(hs, ref) < 0) {
			http__fail(r, 400, "Invalid hash");
			return;
		}
		if (!arg_u64(http__arg(r, "timestamp"), 0, UINT32_MAX, &ts)) {
			http__fail(r, 400, "Failed to parse 'timestamp'");
			return;
		}
		if (!page || strcmp(page, "next")) {
			http__fail(r, 400, "Invalid 'page' parameter, only "
				   "'next' is supported");
			return;
		}
	}
	if (hn_ledger_newest(l, blocks, ts, hs ? ref : NULL, count, &hl,
			     &more) < 0) {
		http__fail(r, 500, "storage error");
		return;
	}
	o = json_object_new_object();
	a = json_object_new_array();
	if (!o || !a) {
		json_object_put(o);
		json_object_put(a);
		hn_hash_list_release(&hl);
		return;
	}
	for (i = 0; i < hl.n; i++) {
		struct hn_ledger_vertex lv;
		struct hn_vertex *v;
		struct json_object *e;

		if (load(r, l, hl.h[i], &lv, &v) < 0) {
			json_object_put(o);
			json_object_put(a);
			hn_hash_list_release(&hl);
			return;
		}
		e = tx_json(v, &lv.meta);
		if (e)
			json_object_array_add(a, e);
		hn_vertex_free(v);
		hn_ledger_vertex_release(&lv);
	}
	hn_hash_list_release(&hl);
	jadd(o, "transactions", a);
	jadd(o, "has_more", json_object_new_boolean(more));
	http__ok(r, 200, o);
}

void http__transaction(struct http__req *r)
{
	struct hn_ledger *l = http__ledger(r);
	struct json_object *o;
	uint8_t h[32];
	int rc;

	if (!l)
		return;
	if (!http__arg(r, "id")) {
		tx_list(r, l);
		return;
	}
	if (!arg_hash(r, "id", h))
		return;
	rc = http__tx_extra(l, h, &o);
	if (rc == HN_ENOENT)
		http__fail(r, 404, "Transaction not found");
	else if (rc < 0)
		http__fail(r, 500, "storage error");
	else
		http__ok(r, 200, o);
}

void http__block_at_height(struct http__req *r)
{
	struct hn_ledger *l = http__ledger(r);
	struct json_object *o, *blk;
	struct hn_ledger_vertex lv;
	struct hn_vertex *v;
	uint64_t height;
	uint8_t h[32];
	int rc;

	if (!l)
		return;
	if (!arg_u64(http__arg(r, "height"), 0, UINT64_MAX, &height)) {
		http__fail(r, 400, "Invalid 'height' parameter");
		return;
	}
	rc = hn_ledger_block_at_height(l, height, h);
	if (rc == HN_ENOENT) {
		http__fail(r, 404, "Cannot get block at this height");
		return;
	}
	if (rc < 0) {
		http__fail(r, 500, "storage error");
		return;
	}
	if (load(r, l, h, &lv, &v) < 0)
		return;
	blk = tx_json(v, &lv.meta);
	hn_vertex_free(v);
	hn_ledger_vertex_release(&lv);
	o = json_object_new_object();
	if (!o || !blk) {
		json_object_put(o);
		json_object_put(blk);
		return;
	}
	jadd(o, "success", json_object_new_boolean(1));
	jadd(o, "block", blk);
	http__ok(r, 200, o);
}

/* Newest @n blocks or txs as to_json() + tx_id, is_voided. */
static struct json_object *newest(struct http__req *r, struct hn_ledger *l,
				  bool blocks, uint64_t n)
{
	struct hn_hash_list hl = { 0 };
	struct json_object *a;
	bool more;
	size_t i;

	if (hn_ledger_newest(l, blocks, UINT64_MAX, NULL, n, &hl, &more) < 0)
		return NULL;
	a = json_object_new_array();
	for (i = 0; a && i < hl.n; i++) {
		struct hn_ledger_vertex lv;
		struct hn_vertex *v;
		struct json_object *e;

		if (load(r, l, hl.h[i], &lv, &v) < 0) {
			json_object_put(a);
			a = NULL;
			break;
		}
		e = tx_json(v, &lv.meta);
		if (e) {
			jadd(e, "tx_id", http__hex(lv.meta.hash, 32));
			jadd(e, "is_voided", json_object_new_boolean(
				     lv.meta.n_voided_by > 0));
			json_object_array_add(a, e);
		}
		hn_vertex_free(v);
		hn_ledger_vertex_release(&lv);
	}
	hn_hash_list_release(&hl);
	return a;
}

void http__dashboard_tx(struct http__req *r)
{
	struct hn_ledger *l = http__ledger(r);
	struct json_object *o, *txs, *blks;
	uint64_t nb, nt;

	if (!l)
		return;
	if (!http__arg(r, "block") || !http__arg(r, "tx")) {
		http__fail(r, 400, "Missing parameter: block, tx");
		return;
	}
	if (!arg_u64(http__arg(r, "block"), 1, UINT64_MAX, &nb) ||
	    !arg_u64(http__arg(r, "tx"), 1, UINT64_MAX, &nt)) {
		http__fail(r, 400, "Invalid parameter, cannot convert to int");
		return;
	}
	if (nb > MAX_DASHBOARD_COUNT)
		nb = MAX_DASHBOARD_COUNT;
	if (nt > MAX_DASHBOARD_COUNT)
		nt = MAX_DASHBOARD_COUNT;
	txs = newest(r, l, false, nt);
	if (!txs)
		return;
	blks = newest(r, l, true, nb);
	if (!blks) {
		json_object_put(txs);
		return;
	}
	o = json_object_new_object();
	if (!o) {
		json_object_put(txs);
		json_object_put(blks);
		return;
	}
	jadd(o, "success", json_object_new_boolean(1));
	jadd(o, "transactions", txs);
	jadd(o, "blocks", blks);
	http__ok(r, 200, o);
}

void http__mempool(struct http__req *r)
{
	struct hn_ledger *l = http__ledger(r);
	struct hn_hash_list hl = { 0 };
	struct json_object *o, *a;
	size_t i;

	if (!l)
		return;
	if (hn_ledger_mempool(l, &hl) < 0) {
		http__fail(r, 500, "storage error");
		return;
	}
	o = json_object_new_object();
	a = json_object_new_array();
	if (!o || !a) {
		json_object_put(o);
		json_object_put(a);
		hn_hash_list_release(&hl);
		return;
	}
	for (i = 0; i < hl.n && i < MAX_MEMPOOL; i++)
		json_object_array_add(a, http__hex(hl.h[i], 32));
	hn_hash_list_release(&hl);
	jadd(o, "success", json_object_new_boolean(1));
	jadd(o, "transactions", a);
	http__ok(r, 200, o);
}

void http__tx_parents(struct http__req *r)
{
	struct hn_ledger *l = http__ledger(r);
	struct json_object *o, *a;
	uint8_t p[2][32];

	if (!l)
		return;
	if (hn_ledger_tx_parents(l, p) < 0) {
		http__fail(r, 500, "storage error");
		return;
	}
	o = json_object_new_object();
	a = json_object_new_array();
	if (!o || !a) {
		json_object_put(o);
		json_object_put(a);
		return;
	}
	json_object_array_add(a, http__hex(p[0], 32));
	json_object_array_add(a, http__hex(p[1], 32));
	jadd(o, "success", json_object_new_boolean(1));
	jadd(o, "tx_parents", a);
	http__ok(r, 200, o);
}

/* Hex argument or body value @hex into malloc'd *@bytes; answers 400. */
static bool parse_hex(struct http__req *r, const char *hex, uint8_t **bytes,
		      size_t *n)
{
	size_t hl;

	*bytes = NULL;
	*n = 0;
	if (!hex) {
		http__fail(r, 400, "Missing hexadecimal data");
		return false;
	}
	hl = strlen(hex);
	if (hl == 0 || hl % 2 || hl / 2 > MAX_PUSH_BYTES ||
	    !(*bytes = malloc(hl / 2)) ||
	    hn_hex_decode(hex, *bytes, hl / 2, n) < 0) {
		free(*bytes);
		*bytes = NULL;
		http__fail(r, 400, "Invalid hexadecimal data");
		return false;
	}
	return true;
}

/* decode_tx?hex_tx=HEX: {"success": true, "tx": to_json()} of the
 * decoded vertex (not stored, not verified). */
void http__decode_tx(struct http__req *r)
{
	struct json_object *o, *tx = NULL;
	struct hn_vertex *v = NULL;
	uint8_t *bytes;
	size_t n;
	char err[128];

	if (!parse_hex(r, http__arg(r, "hex_tx"), &bytes, &n))
		return;
	if (hn_vertex_decode(bytes, n, &v, err, sizeof(err)) < 0) {
		char msg[200];

		snprintf(msg, sizeof(msg), "Could not decode transaction: %s",
			 err);
		http__fail(r, 400, msg);
		free(bytes);
		return;
	}
	free(bytes);
	o = json_object_new_object();
	if (!o || hn_vertex_to_json(v, &tx) < 0) {
		json_object_put(o);
		hn_vertex_free(v);
		return;
	}
	if (r->h->d && r->h->d->net)
		decode_outputs(r->h->d->net, v, tx);
	hn_vertex_free(v);
	jadd(o, "success", json_object_new_boolean(1));
	jadd(o, "tx", tx);
	http__ok(r, 200, o);
}

/* push_tx: GET ?hex_tx=HEX or POST {"hex_tx": HEX}.  The reference answers
 * {"success": true, "tx": to_json()} or {"success": false, "message"}. */
void http__push_tx(struct http__req *r)
{
	struct hn_ledger *l = http__ledger(r);
	struct json_object *body = NULL, *jv, *o, *tx = NULL;
	struct hn_ledger_result res;
	struct hn_vertex *v = NULL;
	const char *hex = NULL;
	uint8_t *bytes = NULL;
	size_t n = 0;
	char err[128];
	int rc;

	if (!l)
		return;
	if (r->method == HTTP__POST) {
		if (!(body = http__body_json(r)))
			return;
		if (json_object_object_get_ex(body, "hex_tx", &jv) &&
		    json_object_is_type(jv, json_type_string))
			hex = json_object_get_string(jv);
	} else {
		hex = http__arg(r, "hex_tx");
	}
	if (!parse_hex(r, hex, &bytes, &n))
		goto out;
	if (hn_vertex_decode(bytes, n, &v, err, sizeof(err)) < 0) {
		http__fail(r, 400, "This transaction is invalid. Try to decode "
			   "it first to validate it.");
		goto out;
	}
	if (hn_vertex_is_block(v)) {
		http__fail(r, 400, "Cannot push a block through push_tx; use "
			   "submit_block");
		goto out;
	}
	rc = hn_ledger_add_vertex(l, bytes, n, HN_ADD_MEMPOOL | HN_ADD_PUSH_TX,
				  &res);
	if (rc == HN_EEXIST) {
		http__fail(r, 400, "Transaction already exists");
		goto out;
	}
	if (rc < 0 && rc != HN_EIO && rc != HN_ENOMEM) {
		char msg[300];

		snprintf(msg, sizeof(msg), "Invalid transaction. %s", res.msg);
		http__fail(r, 400, msg);
		goto out;
	}
	if (rc < 0) {
		http__fail(r, 500, "storage error");
		goto out;
	}
	hn_relay_local(r->h->d, bytes, n);      /* propagate_tx */
	o = json_object_new_object();
	if (!o || hn_vertex_to_json(v, &tx) < 0) {
		json_object_put(o);
		goto out;
	}
	jadd(o, "success", json_object_new_boolean(1));
	jadd(o, "tx", tx);
	http__ok(r, 200, o);
out:
	hn_vertex_free(v);
	free(bytes);
	json_object_put(body);
}
