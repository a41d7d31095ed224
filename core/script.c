/*
 * script.c: the script interpreter (execute.py, opcode.py, multi_sig.py,
 * construct.py of hathor-core) and ECDSA checks over libsecp256k1.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <secp256k1.h>

#include "script.h"
#include "sigcache.h"

#include "hn/err.h"
#include "hn/hash.h"

/* A stack item: bytes (pointing into the script or at own[]) or an int. */
struct item {
	bool is_int;
	int ival;
	size_t len;
	const uint8_t *ext;     /* NULL: data is own[] */
	uint8_t own[20];
};

struct stack {
	struct item *it;
	size_t n, cap;
	char *err;
	size_t errlen;
	const struct hn_script_ctx *ctx;
};

static int fail(struct stack *s, const char *fmt, ...) HN_PRINTF(2, 3);

static int fail(struct stack *s, const char *fmt, ...)
{
	if (s->err && s->errlen) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(s->err, s->errlen, fmt, ap);
		va_end(ap);
	}
	return HN_ECONSENSUS;
}

static const uint8_t *item_data(const struct item *i)
{
	return i->ext ? i->ext : i->own;
}

static int push(struct stack *s, const struct item *i)
{
	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 16;
		struct item *n = realloc(s->it, cap * sizeof(*n));

		if (!n)
			return HN_ENOMEM;
		s->it = n;
		s->cap = cap;
	}
	s->it[s->n] = i[0];
	if (!i->ext && !i->is_int)
		s->it[s->n].ext = NULL;
	s->n++;
	return 0;
}

static int push_int(struct stack *s, int v)
{
	struct item i = { .is_int = true, .ival = v };

	return push(s, &i);
}

static int push_bytes(struct stack *s, const uint8_t *p, size_t len)
{
	struct item i = { .len = len, .ext = p };

	return push(s, &i);
}

static struct item pop(struct stack *s)
{
	return s->it[--s->n];
}

static bool is_pushdata(uint8_t op)
{
	return (op >= 1 && op <= 75) || (op >= HN_OP_0 && op <= HN_OP_16) ||
		op == HN_OP_PUSHDATA1;
}

static bool is_valid_opcode(uint8_t op)
{
	if (is_pushdata(op))
		return true;
	switch (op) {
	case HN_OP_DUP: case HN_OP_EQUAL: case HN_OP_EQUALVERIFY:
	case HN_OP_CHECKSIG: case HN_OP_HASH160:
	case HN_OP_GREATERTHAN_TIMESTAMP: case HN_OP_CHECKMULTISIG:
	case HN_OP_CHECKDATASIG: case HN_OP_DATA_STREQUAL:
	case HN_OP_DATA_GREATERTHAN: case HN_OP_FIND_P2PKH:
	case HN_OP_DATA_MATCH_VALUE:
		return true;
	default:
		return false;
	}
}

/* get_script_op: reads the op at *pos, pushes its data if @s is given.
 * Returns the opcode (>= 0) or a negative code. */
static int get_op(const uint8_t *d, size_t len, size_t *pos, struct stack *s,
		  char *err, size_t errlen)
{
	size_t p = *pos;
	uint8_t op;
	int rc;

	if (p >= len) {
		snprintf(err, errlen, "out of data at %zu", p);
		return HN_ECONSENSUS;
	}
	op = d[p];
	if (!is_valid_opcode(op)) {
		snprintf(err, errlen, "invalid opcode 0x%02x at %zu", op, p);
		return HN_ECONSENSUS;
	}
	if (op >= 1 && op <= 75) {
		size_t l = op;

		p++;
		if (p + l > len) {
			snprintf(err, errlen, "out of data: push of %zu at %zu",
				 l, p);
			return HN_ECONSENSUS;
		}
		if (s && (rc = push_bytes(s, d + p, l)) < 0)
			return rc;
		p += l;
	} else if (op == HN_OP_PUSHDATA1) {
		size_t l;

		p++;
		if (p >= len) {
			snprintf(err, errlen, "out of data after PUSHDATA1");
			return HN_ECONSENSUS;
		}
		l = d[p++];
		/* get_data_bytes: 0 < length, position < len(data) */
		if (l == 0 || p >= len || p + l > len) {
			snprintf(err, errlen, "out of data: PUSHDATA1 of %zu "
				 "at %zu", l, p);
			return HN_ECONSENSUS;
		}
		if (s && (rc = push_bytes(s, d + p, l)) < 0)
			return rc;
		p += l;
	} else if (op >= HN_OP_0 && op <= HN_OP_16) {
		if (s && (rc = push_int(s, op - HN_OP_0)) < 0)
			return rc;
		p++;
	} else {
		p++;
	}
	*pos = p;
	return op;
}

/* Regex piece _re_pushdata(n): optional PUSHDATA1, then byte n, n bytes. */
static bool match_push(const uint8_t *d, size_t len, size_t *pos, size_t n,
		       const uint8_t **data)
{
	size_t p = *pos;

	if (p < len && d[p] == HN_OP_PUSHDATA1 &&
	    p + 1 < len && d[p + 1] == n)
		p++;
	else if (n > 75)
		return false;
	if (p >= len || d[p] != n || p + 1 + n > len)
		return false;
	*data = d + p + 1;
	*pos = p + 1 + n;
	return true;
}

/* Python's '$' without MULTILINE also matches before a final '\n'. */
static bool match_end(size_t len, const uint8_t *d, size_t pos)
{
	return pos == len || (pos + 1 == len && d[pos] == '\n');
}

static void match_timelock(const uint8_t *d, size_t len, size_t *pos)
{
	size_t p = *pos;
	const uint8_t *tl;

	if (match_push(d, len, &p, 4, &tl) && p < len &&
	    d[p] == HN_OP_GREATERTHAN_TIMESTAMP)
		*pos = p + 1;
}

/* '^(?:(DATA_4) OP_GREATERTHAN_TIMESTAMP)? OP_HASH160 (DATA_20) OP_EQUAL$'.
 * The optional group is greedy; a regex would backtrack when it matches
 * but the rest does not, so both alternatives are tried. */
bool hn_script_is_multisig(const uint8_t *d, size_t len)
{
	for (int with_tl = 1; with_tl >= 0; with_tl--) {
		size_t p = 0;
		const uint8_t *h;

		if (with_tl) {
			match_timelock(d, len, &p);
			if (p == 0)
				continue;
		}
		if (p < len && d[p] == HN_OP_HASH160) {
			p++;
			if (match_push(d, len, &p, 20, &h) && p < len &&
			    d[p] == HN_OP_EQUAL && match_end(len, d, p + 1))
				return true;
		}
	}
	return false;
}

/* '^(?:(DATA_4) OP_GREATERTHAN_TIMESTAMP)? OP_DUP OP_HASH160 (DATA_20)
 * OP_EQUALVERIFY OP_CHECKSIG$' */
bool hn_script_is_p2pkh(const uint8_t *d, size_t len, const uint8_t **hash160)
{
	for (int with_tl = 1; with_tl >= 0; with_tl--) {
		size_t p = 0;
		const uint8_t *h;

		if (with_tl) {
			match_timelock(d, len, &p);
			if (p == 0)
				continue;
		}
		if (p + 1 < len && d[p] == HN_OP_DUP &&
		    d[p + 1] == HN_OP_HASH160) {
			p += 2;
			if (match_push(d, len, &p, 20, &h) && p + 1 < len &&
			    d[p] == HN_OP_EQUALVERIFY &&
			    d[p + 1] == HN_OP_CHECKSIG &&
			    match_end(len, d, p + 2)) {
				if (hash160)
					*hash160 = h;
				return true;
			}
		}
	}
	return false;
}

/* hn_ecdsa_verify_sha256 with the public key already parsed. */
static bool verify_parsed(const secp256k1_pubkey *pk, const uint8_t *sig,
			  size_t sig_len, const uint8_t *msg, size_t msg_len)
{
	const secp256k1_context *c = secp256k1_context_static;
	secp256k1_ecdsa_signature s;
	uint8_t digest[32];

	if (!secp256k1_ecdsa_signature_parse_der(c, &s, sig, sig_len))
		return false;
	secp256k1_ecdsa_signature_normalize(c, &s, &s);
	hn_sha256(msg, msg_len, digest);
	return secp256k1_ecdsa_verify(c, &s, digest, pk) == 1;
}

bool hn_ecdsa_verify_sha256(const uint8_t *pubkey, size_t pubkey_len,
			    const uint8_t *sig, size_t sig_len,
			    const uint8_t *msg, size_t msg_len)
{
	secp256k1_pubkey pk;

	if (pubkey_len != 33 || (pubkey[0] != 2 && pubkey[0] != 3))
		return false;
	if (!secp256k1_ec_pubkey_parse(secp256k1_context_static, &pk, pubkey,
				       pubkey_len))
		return false;
	return verify_parsed(&pk, sig, sig_len, msg, msg_len);
}

/* is_pubkey_compressed + from_encoded_point: errors (not a false result)
 * when the pubkey is not a valid compressed point; *@out is the point. */
static int check_pubkey(struct stack *s, const struct item *pk,
			const char *op, secp256k1_pubkey *out)
{
	const uint8_t *d = item_data(pk);

	if (pk->len == 0 || (d[0] != 2 && d[0] != 3))
		return fail(s, "%s: pubkey is not a compressed public key", op);
	if (pk->len != 33 ||
	    !secp256k1_ec_pubkey_parse(secp256k1_context_static, out, d, 33))
		return fail(s, "%s: pubkey is not a public key", op);
	return 0;
}

/* op_checksig on (sig, pubkey): sets *ok. */
static int checksig(struct stack *s, const struct item *sig,
		    const struct item *pk, bool *ok)
{
	secp256k1_pubkey p;
	int rc;

	if (sig->is_int || pk->is_int)
		return fail(s, "OP_CHECKSIG: stack item is not bytes");
	/* A triple the batch pre-verifier checked (core/sigcache.h): the
	 * public key parsed and the signature verified, as below. */
	if (hn_sigcache_take(item_data(pk), pk->len, item_data(sig), sig->len,
			     s->ctx->sighash_data, 32)) {
		*ok = true;
		return 0;
	}
	if ((rc = check_pubkey(s, pk, "OP_CHECKSIG", &p)) < 0)
		return rc;
	*ok = verify_parsed(&p, item_data(sig), sig->len,
			    s->ctx->sighash_data, 32);
	return 0;
}

static int need(struct stack *s, size_t n, const char *op)
{
	if (s->n < n)
		return fail(s, "%s: need %zu elements on stack, currently %zu",
			    op, n, s->n);
	return 0;
}

/* binary_to_int: 1, 2, 4 or 8 bytes big-endian. */
static int binary_to_int(const struct item *i, uint64_t *v)
{
	const uint8_t *d = item_data(i);

	if (i->is_int || (i->len != 1 && i->len != 2 && i->len != 4 &&
			  i->len != 8))
		return -1;
	*v = 0;
	for (size_t k = 0; k < i->len; k++)
		*v = (*v << 8) | d[k];
	return 0;
}

/* get_data_value(k, data) into *out (pointing into @data). */
static int get_data_value(struct stack *s, int k, const struct item *data,
			  struct item *out)
{
	const uint8_t *d = item_data(data);
	size_t pos = 0;
	int it = 0;

	while (pos < data->len) {
		size_t l = d[pos++];

		if (pos + l > data->len)
			return fail(s, "get_data_value: out of data");
		if (it == k) {
			*out = (struct item){ .len = l, .ext = d + pos };
			return 0;
		}
		it++;
		pos += l;
	}
	return fail(s, "get_data_value: index %d not in data", k);
}

static bool bytes_eq(const struct item *a, const struct item *b)
{
	return a->len == b->len &&
		memcmp(item_data(a), item_data(b), a->len) == 0;
}

static int op_checkmultisig(struct stack *s)
{
	const struct hn_script_ctx *ctx = s->ctx;
	struct item cnt, *pks, *sigs;
	size_t npk, nsig, pki = 0;
	int rc = 0;

	if (!s->n)
		return fail(s, "OP_CHECKMULTISIG: empty stack");
	cnt = pop(s);
	if (!cnt.is_int)
		return fail(s, "OP_CHECKMULTISIG: pubkey count should be an "
			    "integer");
	if ((uint32_t)cnt.ival > ctx->max_multisig_pubkeys)
		return fail(s, "OP_CHECKMULTISIG: pubkey count (%d) exceeded "
			    "the limit", cnt.ival);
	npk = (size_t)cnt.ival;
	if (s->n < npk)
		return fail(s, "OP_CHECKMULTISIG: not enough public keys");
	pks = s->it + s->n - npk;       /* pks[npk-1] is popped first */
	s->n -= npk;
	if (!s->n)
		return fail(s, "OP_CHECKMULTISIG: less elements than should");
	cnt = pop(s);
	if (!cnt.is_int)
		return fail(s, "OP_CHECKMULTISIG: signatures count should be "
			    "an integer");
	if ((uint32_t)cnt.ival > ctx->max_multisig_signatures)
		return fail(s, "OP_CHECKMULTISIG: signature count (%d) "
			    "exceeded the limit", cnt.ival);
	nsig = (size_t)cnt.ival;
	if (s->n < nsig)
		return fail(s, "OP_CHECKMULTISIG: not enough signatures");
	sigs = s->it + s->n - nsig;
	s->n -= nsig;
	/* The popped items stay in place above s->n until we push. */
	struct item pkcopy[32], sigcopy[32];

	for (size_t i = 0; i < npk; i++)
		pkcopy[i] = pks[npk - 1 - i];
	for (size_t i = 0; i < nsig; i++)
		sigcopy[i] = sigs[nsig - 1 - i];
	for (size_t i = 0; i < nsig; i++) {
		bool ok = false;

		while (pki < npk) {
			rc = checksig(s, &sigcopy[i], &pkcopy[pki], &ok);
			if (rc < 0)
				return rc;
			pki++;
			if (ok)
				break;
		}
		if (!ok)
			return push_int(s, 0);
	}
	return push_int(s, 1);
}

static int op_match_value(struct stack *s)
{
	struct item n_items, last, dk, data, dv = { 0 };
	struct { uint64_t v; struct item pk; } items[256];
	size_t n, nitems = 0;
	uint64_t want;
	int rc;

	if (!s->n)
		return fail(s, "OP_DATA_MATCH_VALUE: empty stack");
	n_items = pop(s);
	if (n_items.is_int || n_items.len == 0)
		return fail(s, "OP_DATA_MATCH_VALUE: bad item count");
	n = item_data(&n_items)[0];
	if ((rc = need(s, 2 * n + 3, "OP_DATA_MATCH_VALUE")) < 0)
		return rc;
	for (size_t i = 0; i < n; i++) {
		struct item pk = pop(s), buf = pop(s);
		uint64_t v;
		size_t j;

		if (pk.is_int || buf.is_int || binary_to_int(&buf, &v) < 0)
			return fail(s, "OP_DATA_MATCH_VALUE: bad value");
		for (j = 0; j < nitems && items[j].v != v; j++)
			;
		items[j].v = v;
		items[j].pk = pk;
		if (j == nitems)
			nitems++;
	}
	last = pop(s);
	dk = pop(s);
	data = pop(s);
	if (!dk.is_int || data.is_int)
		return fail(s, "OP_DATA_MATCH_VALUE: bad stack items");
	if ((rc = get_data_value(s, dk.ival, &data, &dv)) < 0)
		return rc;
	if (binary_to_int(&dv, &want) < 0)
		return fail(s, "OP_DATA_MATCH_VALUE: bad data value");
	for (size_t j = 0; j < nitems; j++)
		if (items[j].v == want)
			return push(s, &items[j].pk);
	if (last.is_int)
		return fail(s, "OP_DATA_MATCH_VALUE: winner is not bytes");
	return push(s, &last);
}

static int op_find_p2pkh(struct stack *s)
{
	const struct hn_script_ctx *ctx = s->ctx;
	struct item addr;

	if (!s->n)
		return fail(s, "OP_FIND_P2PKH: empty stack");
	addr = pop(s);
	if (addr.is_int)
		return fail(s, "OP_FIND_P2PKH: address is not bytes");
	for (size_t i = 0; i < ctx->n_outputs; i++) {
		const struct hn_script_output *o = &ctx->outputs[i];
		const uint8_t *h;
		uint8_t a[25], ck[32];

		if (!hn_script_is_p2pkh(o->script, o->script_len, &h))
			continue;
		a[0] = ctx->p2pkh_version_byte;
		memcpy(a + 1, h, 20);
		hn_sha256d(a, 21, ck);
		memcpy(a + 21, ck, 4);
		/* base58 strings are equal iff the bytes are. */
		if (addr.len == 25 && memcmp(item_data(&addr), a, 25) == 0 &&
		    o->value == ctx->spent_value)
			return push_int(s, 1);
	}
	return fail(s, "OP_FIND_P2PKH: no matching output");
}

static int exec_op(struct stack *s, uint8_t op)
{
	const struct hn_script_ctx *ctx = s->ctx;
	struct item a, b, c;
	bool ok = false;
	int rc;

	switch (op) {
	case HN_OP_DUP:
		if (!s->n)
			return fail(s, "OP_DUP: empty stack");
		a = s->it[s->n - 1];
		return push(s, &a);
	case HN_OP_EQUAL:
	case HN_OP_EQUALVERIFY:
		if ((rc = need(s, 2, op == HN_OP_EQUAL ? "OP_EQUAL" :
			       "OP_EQUALVERIFY")) < 0)
			return rc;
		a = pop(s);
		b = pop(s);
		if (a.is_int || b.is_int)
			return fail(s, "OP_EQUAL: stack item is not bytes");
		ok = bytes_eq(&a, &b);
		if (op == HN_OP_EQUALVERIFY) {
			if (!ok)
				return fail(s, "OP_EQUALVERIFY: failed to "
					    "verify if elements are equal");
			return 0;
		}
		return push_int(s, ok);
	case HN_OP_CHECKSIG:
		if ((rc = need(s, 2, "OP_CHECKSIG")) < 0)
			return rc;
		a = pop(s);     /* pubkey */
		b = pop(s);     /* signature */
		if ((rc = checksig(s, &b, &a, &ok)) < 0)
			return rc;
		return push_int(s, ok);
	case HN_OP_HASH160:
		if (!s->n)
			return fail(s, "OP_HASH160: empty stack");
		a = pop(s);
		if (a.is_int)
			return fail(s, "OP_HASH160: stack item is not bytes");
		b = (struct item){ .len = 20 };
		if ((rc = hn_hash160(item_data(&a), a.len, b.own)) < 0)
			return rc;
		return push(s, &b);
	case HN_OP_GREATERTHAN_TIMESTAMP: {
		const uint8_t *d;
		uint32_t tl;

		if (!s->n)
			return fail(s, "OP_GREATERTHAN_TIMESTAMP: empty stack");
		a = pop(s);
		if (a.is_int || a.len != 4)
			return fail(s, "OP_GREATERTHAN_TIMESTAMP: timelock "
				    "is not 4 bytes");
		d = item_data(&a);
		tl = (uint32_t)d[0] << 24 | (uint32_t)d[1] << 16 |
			(uint32_t)d[2] << 8 | d[3];
		if (ctx->tx_timestamp <= tl)
			return fail(s, "the output is locked until %u", tl);
		return 0;
	}
	case HN_OP_CHECKMULTISIG:
		return op_checkmultisig(s);
	default:
		break;
	}
	if (ctx->version != HN_OPCODES_V1)
		return fail(s, "unknown opcode: %u", op);
	switch (op) {
	case HN_OP_CHECKDATASIG: {
		secp256k1_pubkey pk;

		if ((rc = need(s, 3, "OP_CHECKDATASIG")) < 0)
			return rc;
		a = pop(s);     /* pubkey */
		b = pop(s);     /* signature */
		c = pop(s);     /* data */
		if (a.is_int || b.is_int || c.is_int)
			return fail(s, "OP_CHECKDATASIG: item is not bytes");
		if ((rc = check_pubkey(s, &a, "OP_CHECKDATASIG", &pk)) < 0)
			return rc;
		if (!verify_parsed(&pk, item_data(&b), b.len, item_data(&c),
				   c.len))
			return fail(s, "OP_CHECKDATASIG: invalid signature");
		return push(s, &c);
	}
	case HN_OP_DATA_STREQUAL:
	case HN_OP_DATA_GREATERTHAN: {
		struct item dv = { 0 };
		uint64_t x, y;

		if ((rc = need(s, 3, "OP_DATA_*")) < 0)
			return rc;
		a = pop(s);     /* value */
		b = pop(s);     /* k */
		c = pop(s);     /* data */
		if (a.is_int || c.is_int || !b.is_int)
			return fail(s, "OP_DATA_*: bad stack items");
		if ((rc = get_data_value(s, b.ival, &c, &dv)) < 0)
			return rc;
		if (op == HN_OP_DATA_STREQUAL) {
			if (!bytes_eq(&dv, &a))
				return fail(s, "OP_DATA_STREQUAL: differ");
		} else {
			if (binary_to_int(&dv, &x) < 0 ||
			    binary_to_int(&a, &y) < 0)
				return fail(s, "OP_DATA_GREATERTHAN: bad int");
			if (x <= y)
				return fail(s, "op_data_greaterthan: %llu x "
					    "%llu", (unsigned long long)x,
					    (unsigned long long)y);
		}
		return push(s, &c);
	}
	case HN_OP_DATA_MATCH_VALUE:
		return op_match_value(s);
	case HN_OP_FIND_P2PKH:
		return op_find_p2pkh(s);
	default:
		return fail(s, "unknown opcode: %u", op);
	}
}

/* execute_eval + evaluate_final_stack. */
static int execute(const uint8_t *d, size_t len,
		   const struct hn_script_ctx *ctx, char *err, size_t errlen)
{
	struct stack s = { .err = err, .errlen = errlen, .ctx = ctx };
	size_t pos = 0;
	int rc = 0;

	while (pos < len) {
		rc = get_op(d, len, &pos, &s, err, errlen);
		if (rc < 0)
			goto out;
		if (is_pushdata((uint8_t)rc)) {
			rc = 0;
			continue;
		}
		if ((rc = exec_op(&s, (uint8_t)rc)) < 0)
			goto out;
	}
	if (s.n == 0)
		rc = fail(&s, "empty stack left");
	else if (s.n > 1)
		rc = fail(&s, "stack left with more than one value");
	else if (!s.it[0].is_int || s.it[0].ival != 1)
		rc = fail(&s, "stack left with false value");
out:
	free(s.it);
	return rc;
}

static int concat(const uint8_t *a, size_t al, const uint8_t *b, size_t bl,
		  uint8_t **out)
{
	*out = malloc(al + bl + 1);
	if (!*out)
		return HN_ENOMEM;
	if (al)
		memcpy(*out, a, al);
	if (bl)
		memcpy(*out + al, b, bl);
	return 0;
}

/* MultiSig.get_multisig_data: input[:last_pos] + redeem_script. */
static int multisig_data(const uint8_t *in, size_t len, uint8_t **out,
			 size_t *outlen, char *err, size_t errlen)
{
	struct stack s = { .err = err, .errlen = errlen };
	size_t pos = 0, last = 0;
	int rc = 0;

	while (pos < len) {
		uint8_t op = in[pos];

		last = pos;
		if ((op >= 1 && op <= 75) || op == HN_OP_PUSHDATA1) {
			rc = get_op(in, len, &pos, &s, err, errlen);
			if (rc < 0)
				goto out;
		} else {
			pos++;
		}
	}
	if (s.n == 0) {
		rc = fail(&s, "multisig: no redeem script in input data");
		goto out;
	}
	{
		const struct item *r = &s.it[s.n - 1];

		if ((rc = concat(in, last, item_data(r), r->len, out)) < 0)
			goto out;
		*outlen = last + r->len;
	}
	rc = 0;
out:
	free(s.it);
	return rc;
}

int hn_script_eval(const uint8_t *input, size_t input_len,
		   const uint8_t *output, size_t output_len,
		   const struct hn_script_ctx *ctx, char *err, size_t errlen)
{
	char dummy[8];
	uint8_t *full = NULL;
	size_t flen;
	int rc;

	if (!err || !errlen) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = 0;
	if (hn_script_is_multisig(output, output_len)) {
		size_t pos = 0, last = 0;

		while (pos < input_len) {
			last = pos;
			rc = get_op(input, input_len, &pos, NULL, err, errlen);
			if (rc < 0)
				return rc;
		}
		if ((rc = concat(input + last, input_len - last, output,
				 output_len, &full)) < 0)
			return rc;
		rc = execute(full, input_len - last + output_len, ctx, err,
			     errlen);
		free(full);
		if (rc < 0)
			return rc;
		if ((rc = multisig_data(input, input_len, &full, &flen, err,
					errlen)) < 0)
			return rc;
		rc = execute(full, flen, ctx, err, errlen);
		free(full);
		return rc;
	}
	if ((rc = concat(input, input_len, output, output_len, &full)) < 0)
		return rc;
	rc = execute(full, input_len + output_len, ctx, err, errlen);
	free(full);
	return rc;
}

static long count_sigops(const uint8_t *d, size_t len, uint32_t max_pk,
			 bool cds)
{
	char err[64];
	size_t pos = 0;
	long n = 0;
	int last = -1;

	while (pos < len) {
		int op = get_op(d, len, &pos, NULL, err, sizeof(err));

		if (op < 0)
			return HN_ECONSENSUS;
		if (op == HN_OP_CHECKSIG)
			n++;
		else if (op == HN_OP_CHECKMULTISIG)
			n += (last >= HN_OP_0 && last <= HN_OP_16) ?
				last - HN_OP_0 : (long)max_pk;
		else if (op == HN_OP_CHECKDATASIG && cds)
			n++;
		last = op;
	}
	return n;
}

long hn_script_sigops(const uint8_t *data, size_t len,
		      const uint8_t *output_script, size_t output_len,
		      uint32_t max_multisig_pubkeys, bool count_checkdatasig)
{
	if (output_script &&
	    hn_script_is_multisig(output_script, output_len)) {
		char err[64];
		uint8_t *ms;
		size_t mlen;
		long n;
		int rc = multisig_data(data, len, &ms, &mlen, err,
				       sizeof(err));

		if (rc < 0)
			return rc;
		n = count_sigops(ms, mlen, max_multisig_pubkeys,
				 count_checkdatasig);
		free(ms);
		return n;
	}
	return count_sigops(data, len, max_multisig_pubkeys,
			    count_checkdatasig);
}

/* --- wallet side -------------------------------------------------------- */

static int pubkey_of(secp256k1_context *c, const uint8_t seckey[32],
		     uint8_t pub[33])
{
	secp256k1_pubkey pk;
	size_t n = 33;

	if (!secp256k1_ec_pubkey_create(c, &pk, seckey))
		return HN_EINVAL;
	secp256k1_ec_pubkey_serialize(c, pub, &n, &pk,
				      SECP256K1_EC_COMPRESSED);
	return 0;
}

int hn_script_p2pkh_of_key(const uint8_t seckey[32], uint8_t script[25])
{
	secp256k1_context *c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	uint8_t pub[33];
	int rc;

	if (!c)
		return HN_ENOMEM;
	rc = pubkey_of(c, seckey, pub);
	secp256k1_context_destroy(c);
	if (rc < 0)
		return rc;
	script[0] = HN_OP_DUP;
	script[1] = HN_OP_HASH160;
	script[2] = 20;
	if (hn_hash160(pub, 33, script + 3) < 0)
		return HN_EINVAL;
	script[23] = HN_OP_EQUALVERIFY;
	script[24] = HN_OP_CHECKSIG;
	return 0;
}

long hn_script_sign_p2pkh(const uint8_t seckey[32],
			  const uint8_t sighash_data[32],
			  uint8_t out[HN_P2PKH_INPUT_MAX])
{
	secp256k1_context *c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	secp256k1_ecdsa_signature sig;
	uint8_t digest[32], der[72], pub[33];
	size_t dlen = sizeof(der);
	long n = 0;
	int rc;

	if (!c)
		return HN_ENOMEM;
	hn_sha256(sighash_data, 32, digest);
	rc = pubkey_of(c, seckey, pub);
	if (rc == 0 && (!secp256k1_ecdsa_sign(c, &sig, digest, seckey, NULL,
					      NULL) ||
			!secp256k1_ecdsa_signature_serialize_der(c, der, &dlen,
								 &sig)))
		rc = HN_EINVAL;
	secp256k1_context_destroy(c);
	if (rc < 0)
		return rc;
	out[n++] = (uint8_t)dlen;
	memcpy(out + n, der, dlen);
	n += (long)dlen;
	out[n++] = 33;
	memcpy(out + n, pub, 33);
	return n + 33;
}
