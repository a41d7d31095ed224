/*
 * vertex.c: Hathor vertex binary codec (see hn/vertex.h, docs/codec.md).
 *
 * The decoder is a bounds-checked cursor over the input; the encoder runs
 * the same writers twice, once to size the buffer and once to fill it, so
 * the size and the bytes cannot disagree.
 */
#include "hn/vertex.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hn/err.h"
#include "hn/hash.h"

#include <json-c/json.h>

/* ------------------------------------------------------------------ */
/* Reader */

struct rd {
	const uint8_t *p;
	size_t len;
	size_t off;
	char *err;
	size_t errlen;
};

HN_PRINTF(3, 4)
static int rd_fail(struct rd *r, int code, const char *fmt, ...)
{
	if (r->err && r->errlen) {
		va_list ap;

		va_start(ap, fmt);
		vsnprintf(r->err, r->errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

/* Returns a pointer to the next @n bytes and advances, or NULL (error set)
 * if fewer remain. */
static const uint8_t *rd_take(struct rd *r, size_t n, const char *what)
{
	const uint8_t *p;

	if (r->len - r->off < n) {
		rd_fail(r, HN_EPARSE,
			"truncated: %s needs %zu bytes at offset %zu, %zu left",
			what, n, r->off, r->len - r->off);
		return NULL;
	}
	p = r->p + r->off;
	r->off += n;
	return p;
}

static int rd_u8(struct rd *r, uint8_t *out, const char *what)
{
	const uint8_t *p = rd_take(r, 1, what);

	if (!p)
		return HN_EPARSE;
	*out = p[0];
	return 0;
}

static int rd_u16(struct rd *r, uint16_t *out, const char *what)
{
	const uint8_t *p = rd_take(r, 2, what);

	if (!p)
		return HN_EPARSE;
	*out = (uint16_t)((p[0] << 8) | p[1]);
	return 0;
}

static uint32_t be32(const uint8_t *p)
{
	return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
	       ((uint32_t)p[2] << 8) | p[3];
}

static uint64_t be64(const uint8_t *p)
{
	return ((uint64_t)be32(p) << 32) | be32(p + 4);
}

static int rd_u32(struct rd *r, uint32_t *out, const char *what)
{
	const uint8_t *p = rd_take(r, 4, what);

	if (!p)
		return HN_EPARSE;
	*out = be32(p);
	return 0;
}

static int rd_copy(struct rd *r, void *dst, size_t n, const char *what)
{
	const uint8_t *p = rd_take(r, n, what);

	if (!p)
		return HN_EPARSE;
	if (n)
		memcpy(dst, p, n);
	return 0;
}

/* malloc'd copy of the next @n bytes (NULL when n == 0). */
static int rd_dup(struct rd *r, size_t n, uint8_t **out, const char *what)
{
	const uint8_t *p = rd_take(r, n, what);

	if (!p)
		return HN_EPARSE;
	*out = NULL;
	if (n == 0)
		return 0;
	*out = malloc(n);
	if (!*out)
		return rd_fail(r, HN_ENOMEM, "out of memory");
	memcpy(*out, p, n);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Writer: sizes when buf is NULL, fills otherwise. */

struct wr {
	uint8_t *buf;
	size_t len;
};

static void wr_put(struct wr *w, const void *data, size_t n)
{
	if (w->buf && n)
		memcpy(w->buf + w->len, data, n);
	w->len += n;
}

static void wr_u8(struct wr *w, uint8_t v)
{
	wr_put(w, &v, 1);
}

static void wr_u16(struct wr *w, uint16_t v)
{
	uint8_t b[2] = { (uint8_t)(v >> 8), (uint8_t)v };

	wr_put(w, b, 2);
}

static void put_be32(uint8_t *b, uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

static void put_be64(uint8_t *b, uint64_t v)
{
	put_be32(b, (uint32_t)(v >> 32));
	put_be32(b + 4, (uint32_t)v);
}

static void wr_u32(struct wr *w, uint32_t v)
{
	uint8_t b[4];

	put_be32(b, v);
	wr_put(w, b, 4);
}

/* ------------------------------------------------------------------ */
/* Output values */

int hn_output_value_v1_encode(uint64_t value, bool allow_zero, uint8_t out[8])
{
	if (value == 0 && !allow_zero)
		return HN_EINVAL;
	if (value > HN_MAX_OUTPUT_VALUE_64)
		return HN_EINVAL;
	if (value > HN_MAX_OUTPUT_VALUE_32) {
		/* two's complement of -value in 64 bits */
		put_be64(out, (uint64_t)0 - value);
		return 8;
	}
	put_be32(out, (uint32_t)value);
	return 4;
}

int hn_output_value_v1_decode(const uint8_t *buf, size_t len, bool allow_zero,
			      uint64_t *value)
{
	uint64_t v;

	if (len < 1)
		return HN_EPARSE;
	if (buf[0] & 0x80) {
		if (len < 8)
			return HN_EPARSE;
		v = (uint64_t)0 - be64(buf); /* negate the int64 */
		if (v <= HN_MAX_OUTPUT_VALUE_32)
			return HN_EPARSE; /* fits in 4 bytes */
		*value = v;
		return 8;
	}
	if (len < 4)
		return HN_EPARSE;
	v = be32(buf);
	if (v == 0 && !allow_zero)
		return HN_EPARSE;
	*value = v;
	return 4;
}

hn_u128 hn_output_value_v2_max(void)
{
	return ((hn_u128)1 << 63) * (hn_u128)10000000000000000ULL;
}

int hn_output_value_v2_encode(hn_u128 value, bool allow_zero, uint8_t out[16])
{
	int n = 0;
	hn_u128 t;

	if (value == 0) {
		if (!allow_zero)
			return HN_EINVAL;
		out[0] = 0;
		return 1;
	}
	if (value > hn_output_value_v2_max())
		return HN_EINVAL;
	for (t = value; t; t >>= 8)
		n++;
	out[0] = (uint8_t)n;
	for (int i = 0; i < n; i++)
		out[1 + i] = (uint8_t)(value >> (8 * (n - 1 - i)));
	return n + 1;
}

int hn_output_value_v2_decode(const uint8_t *buf, size_t len, bool allow_zero,
			      hn_u128 *value)
{
	size_t n;
	hn_u128 v = 0;

	if (len < 1)
		return HN_EPARSE;
	n = buf[0];
	if (n == 0) {
		if (!allow_zero)
			return HN_EPARSE;
		*value = 0;
		return 1;
	}
	if (n > 15 || len - 1 < n || buf[1] == 0)
		return HN_EPARSE;
	for (size_t i = 0; i < n; i++)
		v = (v << 8) | buf[1 + i];
	if (v > hn_output_value_v2_max())
		return HN_EPARSE;
	*value = v;
	return (int)n + 1;
}

/* Reads a strictly positive V1 value (the only version at HEAD). */
static int rd_value(struct rd *r, uint64_t *out, const char *what)
{
	const uint8_t *p = r->p + r->off;
	size_t left = r->len - r->off;
	int n = hn_output_value_v1_decode(p, left, false, out);

	if (n > 0) {
		r->off += (size_t)n;
		return 0;
	}
	if (left == 0 || (p[0] & 0x80 ? left < 8 : left < 4))
		return rd_fail(r, HN_EPARSE,
			       "truncated: %s value at offset %zu", what,
			       r->off);
	if (p[0] & 0x80)
		return rd_fail(r, HN_EPARSE,
			       "non-canonical %s value at offset %zu: fits in 4 bytes but uses 8",
			       what, r->off);
	return rd_fail(r, HN_EPARSE, "zero %s value at offset %zu", what,
		       r->off);
}

static int wr_value(struct wr *w, uint64_t value)
{
	uint8_t b[8];
	int n = hn_output_value_v1_encode(value, false, b);

	if (n < 0)
		return n;
	wr_put(w, b, (size_t)n);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Small helpers */

bool hn_version_is_block(uint8_t version)
{
	return version == HN_VTX_BLOCK || version == HN_VTX_MERGE_MINED_BLOCK ||
	       version == HN_VTX_POA_BLOCK;
}

bool hn_vertex_is_block(const struct hn_vertex *v)
{
	return hn_version_is_block(v->version);
}

bool hn_vertex_is_tx(const struct hn_vertex *v)
{
	return v->version == HN_VTX_TX || v->version == HN_VTX_TOKEN_CREATION;
}

const char *hn_vertex_type_name(uint8_t version)
{
	switch (version) {
	case HN_VTX_BLOCK:
		return "Block";
	case HN_VTX_TX:
		return "Transaction";
	case HN_VTX_TOKEN_CREATION:
		return "TokenCreationTransaction";
	case HN_VTX_MERGE_MINED_BLOCK:
		return "MergeMinedBlock";
	case HN_VTX_POA_BLOCK:
		return "PoaBlock";
	default:
		return NULL;
	}
}

static bool version_known(uint8_t version)
{
	return hn_vertex_type_name(version) != NULL;
}

/* Strict UTF-8 as Python's bytes.decode('utf-8'): no overlongs, no
 * surrogates, nothing above U+10FFFF. */
static bool utf8_valid(const uint8_t *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		uint8_t c = s[i];
		size_t k;
		uint32_t cp, min;

		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			k = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			k = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			k = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if (n - i - 1 < k)
			return false;
		for (size_t j = 1; j <= k; j++) {
			if ((s[i + j] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + j] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += k + 1;
	}
	return true;
}

/* ------------------------------------------------------------------ */
/* Lifecycle */

struct hn_vertex *hn_vertex_new(void)
{
	return calloc(1, sizeof(struct hn_vertex));
}

static void aux_pow_free(struct hn_aux_pow *a)
{
	if (!a)
		return;
	free(a->coinbase_head);
	free(a->coinbase_tail);
	free(a->merkle_path);
	free(a);
}

static void header_release(struct hn_vertex_header *h)
{
	switch (h->id) {
	case HN_HEADER_NANO:
		free(h->u.nano.args);
		free(h->u.nano.actions);
		free(h->u.nano.script);
		break;
	case HN_HEADER_FEE:
		free(h->u.fee.fees);
		break;
	}
	memset(h, 0, sizeof(*h));
}

void hn_vertex_free(struct hn_vertex *v)
{
	if (!v)
		return;
	free(v->parents);
	for (size_t i = 0; v->inputs && i < v->n_inputs; i++)
		free(v->inputs[i].data);
	free(v->inputs);
	for (size_t i = 0; v->outputs && i < v->n_outputs; i++)
		free(v->outputs[i].script);
	free(v->outputs);
	free(v->tokens);
	aux_pow_free(v->aux_pow);
	for (size_t i = 0; i < v->n_headers && i < HN_MAX_HEADERS; i++)
		header_release(&v->headers[i]);
	free(v);
}

/* malloc'd copy of @n bytes at @src; NULL src or n == 0 gives NULL and
 * success. */
static int dup_mem(void *dstp, const void *src, size_t n)
{
	void **dst = dstp;

	*dst = NULL;
	if (!src || n == 0)
		return 0;
	*dst = malloc(n);
	if (!*dst)
		return HN_ENOMEM;
	memcpy(*dst, src, n);
	return 0;
}

struct hn_vertex *hn_vertex_dup(const struct hn_vertex *v)
{
	struct hn_vertex *d = hn_vertex_new();
	int rc = 0;

	if (!d)
		return NULL;
	*d = *v;
	/* Detach every owned pointer before copying, so a failure frees
	 * only what the copy owns. */
	d->parents = NULL;
	d->inputs = NULL;
	d->outputs = NULL;
	d->tokens = NULL;
	d->aux_pow = NULL;
	d->n_headers = 0;
	memset(d->headers, 0, sizeof(d->headers));

	rc |= dup_mem(&d->parents, v->parents, (size_t)v->n_parents * 32);
	rc |= dup_mem(&d->tokens, v->tokens, (size_t)v->n_tokens * 32);
	if (v->inputs && v->n_inputs) {
		d->inputs = calloc(v->n_inputs, sizeof(*d->inputs));
		if (!d->inputs)
			goto fail;
		for (size_t i = 0; i < v->n_inputs; i++) {
			d->inputs[i] = v->inputs[i];
			rc |= dup_mem(&d->inputs[i].data, v->inputs[i].data,
				      v->inputs[i].data_len);
		}
	}
	if (v->outputs && v->n_outputs) {
		d->outputs = calloc(v->n_outputs, sizeof(*d->outputs));
		if (!d->outputs)
			goto fail;
		for (size_t i = 0; i < v->n_outputs; i++) {
			d->outputs[i] = v->outputs[i];
			rc |= dup_mem(&d->outputs[i].script,
				      v->outputs[i].script,
				      v->outputs[i].script_len);
		}
	}
	if (v->aux_pow) {
		const struct hn_aux_pow *a = v->aux_pow;

		d->aux_pow = calloc(1, sizeof(*d->aux_pow));
		if (!d->aux_pow)
			goto fail;
		*d->aux_pow = *a;
		d->aux_pow->coinbase_head = NULL;
		d->aux_pow->coinbase_tail = NULL;
		d->aux_pow->merkle_path = NULL;
		rc |= dup_mem(&d->aux_pow->coinbase_head, a->coinbase_head,
			      a->coinbase_head_len);
		rc |= dup_mem(&d->aux_pow->coinbase_tail, a->coinbase_tail,
			      a->coinbase_tail_len);
		rc |= dup_mem(&d->aux_pow->merkle_path, a->merkle_path,
			      a->n_merkle_path * 32);
	}
	for (size_t i = 0; i < v->n_headers && i < HN_MAX_HEADERS; i++) {
		const struct hn_vertex_header *s = &v->headers[i];
		struct hn_vertex_header *h = &d->headers[i];

		*h = *s;
		d->n_headers = (uint8_t)(i + 1);
		switch (s->id) {
		case HN_HEADER_NANO:
			h->u.nano.args = NULL;
			h->u.nano.actions = NULL;
			h->u.nano.script = NULL;
			rc |= dup_mem(&h->u.nano.args, s->u.nano.args,
				      s->u.nano.args_len);
			rc |= dup_mem(&h->u.nano.actions, s->u.nano.actions,
				      s->u.nano.n_actions *
					      sizeof(*s->u.nano.actions));
			rc |= dup_mem(&h->u.nano.script, s->u.nano.script,
				      s->u.nano.script_len);
			break;
		case HN_HEADER_FEE:
			h->u.fee.fees = NULL;
			rc |= dup_mem(&h->u.fee.fees, s->u.fee.fees,
				      s->u.fee.n_fees * sizeof(*s->u.fee.fees));
			break;
		}
	}
	if (rc)
		goto fail;
	return d;
fail:
	hn_vertex_free(d);
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Decoding */

static int rd_input(struct rd *r, struct hn_tx_input *in)
{
	int rc;

	if ((rc = rd_copy(r, in->tx_id, 32, "input tx_id")) ||
	    (rc = rd_u8(r, &in->index, "input index")) ||
	    (rc = rd_u16(r, &in->data_len, "input data_len")) ||
	    (rc = rd_dup(r, in->data_len, &in->data, "input data")))
		return rc;
	return 0;
}

static int rd_output(struct rd *r, struct hn_tx_output *out)
{
	int rc;

	if ((rc = rd_value(r, &out->value, "output")) ||
	    (rc = rd_u8(r, &out->token_data, "output token_data")) ||
	    (rc = rd_u16(r, &out->script_len, "output script_len")) ||
	    (rc = rd_dup(r, out->script_len, &out->script, "output script")))
		return rc;
	return 0;
}

static int rd_inputs(struct rd *r, struct hn_vertex *v)
{
	int rc;

	if (v->n_inputs == 0)
		return 0;
	v->inputs = calloc(v->n_inputs, sizeof(*v->inputs));
	if (!v->inputs)
		return rd_fail(r, HN_ENOMEM, "out of memory");
	for (size_t i = 0; i < v->n_inputs; i++)
		if ((rc = rd_input(r, &v->inputs[i])))
			return rc;
	return 0;
}

static int rd_outputs(struct rd *r, struct hn_vertex *v)
{
	int rc;

	if (v->n_outputs == 0)
		return 0;
	v->outputs = calloc(v->n_outputs, sizeof(*v->outputs));
	if (!v->outputs)
		return rd_fail(r, HN_ENOMEM, "out of memory");
	for (size_t i = 0; i < v->n_outputs; i++)
		if ((rc = rd_output(r, &v->outputs[i])))
			return rc;
	return 0;
}

static int rd_hashes(struct rd *r, uint8_t n, uint8_t (**out)[32],
		     const char *what)
{
	const uint8_t *p;

	if (n == 0)
		return 0;
	p = rd_take(r, (size_t)n * 32, what);
	if (!p)
		return HN_EPARSE;
	*out = malloc((size_t)n * 32);
	if (!*out)
		return rd_fail(r, HN_ENOMEM, "out of memory");
	memcpy(*out, p, (size_t)n * 32);
	return 0;
}

static int rd_funds(struct rd *r, struct hn_vertex *v)
{
	int rc;

	if ((rc = rd_u8(r, &v->signal_bits, "signal_bits")) ||
	    (rc = rd_u8(r, &v->version, "version")))
		return rc;
	switch (v->version) {
	case HN_VTX_BLOCK:
	case HN_VTX_MERGE_MINED_BLOCK:
	case HN_VTX_POA_BLOCK:
		if ((rc = rd_u8(r, &v->n_outputs, "outputs_len")) ||
		    (rc = rd_outputs(r, v)))
			return rc;
		return 0;
	case HN_VTX_TX:
		if ((rc = rd_u8(r, &v->n_tokens, "tokens_len")) ||
		    (rc = rd_u8(r, &v->n_inputs, "inputs_len")) ||
		    (rc = rd_u8(r, &v->n_outputs, "outputs_len")) ||
		    (rc = rd_hashes(r, v->n_tokens, &v->tokens, "token uids")) ||
		    (rc = rd_inputs(r, v)) || (rc = rd_outputs(r, v)))
			return rc;
		return 0;
	case HN_VTX_TOKEN_CREATION:
		break;
	default:
		return rd_fail(r, HN_EUNSUPPORTED,
			       "unsupported vertex version %u", v->version);
	}
	if ((rc = rd_u8(r, &v->n_inputs, "inputs_len")) ||
	    (rc = rd_u8(r, &v->n_outputs, "outputs_len")) ||
	    (rc = rd_inputs(r, v)) || (rc = rd_outputs(r, v)) ||
	    (rc = rd_u8(r, &v->token_version, "token_version")))
		return rc;
	if (v->token_version > HN_TOKEN_FEE)
		return rd_fail(r, HN_EPARSE, "unknown token version %u",
			       v->token_version);
	if ((rc = rd_u8(r, &v->token_name_len, "token_name_len")) ||
	    (rc = rd_copy(r, v->token_name, v->token_name_len, "token_name")))
		return rc;
	v->token_name[v->token_name_len] = '\0';
	if (!utf8_valid((const uint8_t *)v->token_name, v->token_name_len))
		return rd_fail(r, HN_EPARSE,
			       "token name must be a valid utf-8 string");
	if ((rc = rd_u8(r, &v->token_symbol_len, "token_symbol_len")) ||
	    (rc = rd_copy(r, v->token_symbol, v->token_symbol_len,
			  "token_symbol")))
		return rc;
	v->token_symbol[v->token_symbol_len] = '\0';
	if (!utf8_valid((const uint8_t *)v->token_symbol, v->token_symbol_len))
		return rd_fail(r, HN_EPARSE,
			       "token symbol must be a valid utf-8 string");
	return 0;
}

static int rd_graph(struct rd *r, struct hn_vertex *v)
{
	const uint8_t *p;
	uint64_t bits;
	int rc;

	if (!(p = rd_take(r, 8, "weight")))
		return HN_EPARSE;
	bits = be64(p);
	memcpy(&v->weight, &bits, 8);
	if ((rc = rd_u32(r, &v->timestamp, "timestamp")) ||
	    (rc = rd_u8(r, &v->n_parents, "parents_len")) ||
	    (rc = rd_hashes(r, v->n_parents, &v->parents, "parents")))
		return rc;
	if (!hn_vertex_is_block(v))
		return 0;
	if ((rc = rd_u8(r, &v->data_len, "data_len")) ||
	    (rc = rd_copy(r, v->data, v->data_len, "data")))
		return rc;
	if (v->version != HN_VTX_POA_BLOCK)
		return 0;
	if ((rc = rd_copy(r, v->signer_id, HN_POA_SIGNER_ID_LEN, "signer_id")) ||
	    (rc = rd_u8(r, &v->signature_len, "signature_len")))
		return rc;
	if (v->signature_len > HN_POA_MAX_SIG_LEN)
		return rd_fail(r, HN_EPARSE,
			       "invalid signature length: %u > %u",
			       v->signature_len, HN_POA_MAX_SIG_LEN);
	return rd_copy(r, v->signature, v->signature_len, "signature");
}

/* Bitcoin varint; non-canonical forms are refused so that re-encoding
 * gives the same bytes. */
static int rd_varint(struct rd *r, uint64_t *out, const char *what)
{
	uint8_t c;
	const uint8_t *p;
	size_t n;
	uint64_t v = 0, min;
	int rc;

	if ((rc = rd_u8(r, &c, what)))
		return rc;
	if (c < 0xfd) {
		*out = c;
		return 0;
	}
	n = c == 0xfd ? 2 : c == 0xfe ? 4 : 8;
	min = c == 0xfd ? 0xfd : c == 0xfe ? 0x10000 : 0x100000000ULL;
	if (!(p = rd_take(r, n, what)))
		return HN_EPARSE;
	for (size_t i = n; i-- > 0;)
		v = (v << 8) | p[i];
	if (v < min)
		return rd_fail(r, HN_EPARSE, "non-canonical varint for %s",
			       what);
	*out = v;
	return 0;
}

static int rd_aux_pow(struct rd *r, struct hn_vertex *v)
{
	struct hn_aux_pow *a;
	uint64_t n;
	int rc;

	a = v->aux_pow = calloc(1, sizeof(*a));
	if (!a)
		return rd_fail(r, HN_ENOMEM, "out of memory");
	if ((rc = rd_copy(r, a->header_head, HN_AUX_HEADER_HEAD_LEN,
			  "aux_pow header_head")) ||
	    (rc = rd_varint(r, &n, "aux_pow coinbase_head length")))
		return rc;
	if (n > r->len - r->off)
		return rd_fail(r, HN_EPARSE,
			       "truncated: aux_pow coinbase_head of %llu bytes",
			       (unsigned long long)n);
	a->coinbase_head_len = (size_t)n;
	if ((rc = rd_dup(r, a->coinbase_head_len, &a->coinbase_head,
			 "aux_pow coinbase_head")) ||
	    (rc = rd_varint(r, &n, "aux_pow coinbase_tail length")))
		return rc;
	if (n > r->len - r->off)
		return rd_fail(r, HN_EPARSE,
			       "truncated: aux_pow coinbase_tail of %llu bytes",
			       (unsigned long long)n);
	a->coinbase_tail_len = (size_t)n;
	if ((rc = rd_dup(r, a->coinbase_tail_len, &a->coinbase_tail,
			 "aux_pow coinbase_tail")) ||
	    (rc = rd_varint(r, &n, "aux_pow merkle_path count")))
		return rc;
	if (n > HN_MAX_MERKLE_PATH)
		return rd_fail(r, HN_EPARSE,
			       "invalid merkle path count: %llu > %d",
			       (unsigned long long)n, HN_MAX_MERKLE_PATH);
	a->n_merkle_path = (size_t)n;
	if (n) {
		const uint8_t *p = rd_take(r, a->n_merkle_path * 32,
					   "aux_pow merkle_path");

		if (!p)
			return HN_EPARSE;
		a->merkle_path = malloc(a->n_merkle_path * 32);
		if (!a->merkle_path)
			return rd_fail(r, HN_ENOMEM, "out of memory");
		memcpy(a->merkle_path, p, a->n_merkle_path * 32);
	}
	return rd_copy(r, a->header_tail, HN_AUX_HEADER_TAIL_LEN,
		       "aux_pow header_tail");
}

/* Unsigned LEB128 of at most @max_bytes bytes, minimal form only. */
static int rd_leb128(struct rd *r, unsigned max_bytes, uint64_t *out,
		     const char *what)
{
	uint64_t v = 0;

	for (unsigned i = 0;; i++) {
		uint8_t b;
		int rc;

		if (i == max_bytes)
			return rd_fail(r, HN_EPARSE,
				       "%s: leb128 longer than %u bytes", what,
				       max_bytes);
		if ((rc = rd_u8(r, &b, what)))
			return rc;
		v |= (uint64_t)(b & 0x7f) << (7 * i);
		if (!(b & 0x80)) {
			if (b == 0 && i > 0)
				return rd_fail(r, HN_EPARSE,
					       "%s: non-canonical leb128", what);
			*out = v;
			return 0;
		}
	}
}

static int rd_nano(struct rd *r, struct hn_nano_header *h)
{
	uint64_t n = 0;
	int rc;

	if ((rc = rd_copy(r, h->nc_id, 32, "nc_id")) ||
	    (rc = rd_leb128(r, 8, &h->seqnum, "nc_seqnum")) ||
	    (rc = rd_u8(r, &h->method_len, "nc_method_len")) ||
	    (rc = rd_copy(r, h->method, h->method_len, "nc_method")))
		return rc;
	h->method[h->method_len] = '\0';
	for (size_t i = 0; i < h->method_len; i++)
		if ((uint8_t)h->method[i] > 0x7f)
			return rd_fail(r, HN_EPARSE,
				       "nc_method is not ascii");
	if ((rc = rd_u16(r, &h->args_len, "nc_args_len")) ||
	    (rc = rd_dup(r, h->args_len, &h->args, "nc_args")) ||
	    (rc = rd_u8(r, &h->n_actions, "nc_actions_len")))
		return rc;
	if (h->n_actions) {
		h->actions = calloc(h->n_actions, sizeof(*h->actions));
		if (!h->actions)
			return rd_fail(r, HN_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < h->n_actions; i++) {
		struct hn_nano_action *a = &h->actions[i];

		if ((rc = rd_u8(r, &a->type, "nc action type")))
			return rc;
		if (a->type < HN_NC_DEPOSIT || a->type > HN_NC_ACQUIRE_AUTHORITY)
			return rd_fail(r, HN_EPARSE,
				       "unknown nc action type %u", a->type);
		if ((rc = rd_u8(r, &a->token_index, "nc action token_index")) ||
		    (rc = rd_value(r, &a->amount, "nc action amount")))
			return rc;
	}
	if ((rc = rd_copy(r, h->address, HN_NANO_ADDRESS_LEN, "nc_address")) ||
	    (rc = rd_leb128(r, 2, &n, "nc_script_len")))
		return rc;
	h->script_len = (uint16_t)n;
	return rd_dup(r, h->script_len, &h->script, "nc_script");
}

static int rd_fee(struct rd *r, struct hn_fee_header *h)
{
	int rc;

	if ((rc = rd_u8(r, &h->n_fees, "fees_len")))
		return rc;
	if (h->n_fees) {
		h->fees = calloc(h->n_fees, sizeof(*h->fees));
		if (!h->fees)
			return rd_fail(r, HN_ENOMEM, "out of memory");
	}
	for (size_t i = 0; i < h->n_fees; i++)
		if ((rc = rd_u8(r, &h->fees[i].token_index, "fee token_index")) ||
		    (rc = rd_value(r, &h->fees[i].amount, "fee amount")))
			return rc;
	return 0;
}

static int rd_headers(struct rd *r, struct hn_vertex *v, int flags)
{
	while (r->off < r->len) {
		uint8_t id = r->p[r->off];
		struct hn_vertex_header *h;
		int rc;

		if (hn_vertex_is_block(v))
			return rd_fail(r, HN_EPARSE,
				       "%zu trailing bytes after the block nonce",
				       r->len - r->off);
		if (v->n_headers >= HN_MAX_HEADERS)
			return rd_fail(r, HN_EPARSE, "too many headers");
		switch (id) {
		case HN_HEADER_NANO:
			if (flags & HN_DECODE_NO_NANO)
				return rd_fail(r, HN_EUNSUPPORTED,
					       "header type not supported: 0x10 (NanoHeader)");
			break;
		case HN_HEADER_FEE:
			if (flags & HN_DECODE_NO_FEE)
				return rd_fail(r, HN_EUNSUPPORTED,
					       "header type not supported: 0x11 (FeeHeader)");
			break;
		case 0x12:
			return rd_fail(r, HN_EUNSUPPORTED,
				       "header type not supported: 0x12 (ShieldedOutputsHeader)");
		case 0x13:
			return rd_fail(r, HN_EUNSUPPORTED,
				       "header type not supported: 0x13 (UnshieldBalanceHeader)");
		default:
			return rd_fail(r, HN_EUNSUPPORTED,
				       "unknown header id 0x%02x at offset %zu",
				       id, r->off);
		}
		r->off++;
		h = &v->headers[v->n_headers++];
		h->id = (enum hn_header_id)id;
		rc = id == HN_HEADER_NANO ? rd_nano(r, &h->u.nano)
					  : rd_fee(r, &h->u.fee);
		if (rc)
			return rc;
	}
	return 0;
}

static int decode_into(struct rd *r, struct hn_vertex *v, int flags)
{
	int rc;

	if (r->len > HN_MAX_VERTEX_SIZE)
		return rd_fail(r, HN_EPARSE,
			       "serialized vertex has %zu bytes, maximum size is %d",
			       r->len, HN_MAX_VERTEX_SIZE);
	if (r->len < 2)
		return rd_fail(r, HN_EPARSE,
			       "truncated: %zu bytes, no version byte", r->len);
	if (!version_known(r->p[1]))
		return rd_fail(r, HN_EUNSUPPORTED,
			       "unsupported vertex version %u%s", r->p[1],
			       r->p[1] == 4 ? " (deprecated nano contract)" :
			       r->p[1] == 6 ? " (OnChainBlueprint)" : "");
	if ((rc = rd_funds(r, v)) || (rc = rd_graph(r, v)))
		return rc;
	switch (v->version) {
	case HN_VTX_BLOCK:
	case HN_VTX_POA_BLOCK: {
		const uint8_t *p = rd_take(r, 16, "nonce");

		if (!p)
			return HN_EPARSE;
		v->nonce_hi = be64(p);
		v->nonce_lo = be64(p + 8);
		break;
	}
	case HN_VTX_TX:
	case HN_VTX_TOKEN_CREATION: {
		uint32_t n;

		if ((rc = rd_u32(r, &n, "nonce")))
			return rc;
		v->nonce_lo = n;
		break;
	}
	case HN_VTX_MERGE_MINED_BLOCK:
		if ((rc = rd_aux_pow(r, v)))
			return rc;
		if (r->off != r->len)
			return rd_fail(r, HN_EPARSE,
				       "%zu trailing bytes after the aux_pow",
				       r->len - r->off);
		break;
	}
	return rd_headers(r, v, flags);
}

int hn_vertex_decode_opts(const uint8_t *buf, size_t len, int flags,
			  struct hn_vertex **out, char *err, size_t errlen)
{
	struct rd r = { .p = buf, .len = len, .err = err, .errlen = errlen };
	struct hn_vertex *v = hn_vertex_new();
	int rc;

	if (!v)
		return rd_fail(&r, HN_ENOMEM, "out of memory");
	rc = decode_into(&r, v, flags);
	if (!rc && !(flags & HN_DECODE_NO_HASH)) {
		rc = hn_vertex_update_hash(v);
		if (rc)
			rd_fail(&r, rc, "cannot hash the vertex");
	}
	if (rc) {
		hn_vertex_free(v);
		return rc;
	}
	*out = v;
	return 0;
}

int hn_vertex_decode(const uint8_t *buf, size_t len, struct hn_vertex **out,
		     char *err, size_t errlen)
{
	return hn_vertex_decode_opts(buf, len, 0, out, err, errlen);
}

/* ------------------------------------------------------------------ */
/* Encoding */

static int wr_inputs(struct wr *w, const struct hn_vertex *v, bool sighash)
{
	if (v->n_inputs && !v->inputs)
		return HN_EINVAL;
	for (size_t i = 0; i < v->n_inputs; i++) {
		const struct hn_tx_input *in = &v->inputs[i];

		if (in->data_len && !in->data && !sighash)
			return HN_EINVAL;
		wr_put(w, in->tx_id, 32);
		wr_u8(w, in->index);
		wr_u16(w, sighash ? 0 : in->data_len);
		if (!sighash)
			wr_put(w, in->data, in->data_len);
	}
	return 0;
}

static int wr_outputs(struct wr *w, const struct hn_vertex *v)
{
	int rc;

	if (v->n_outputs && !v->outputs)
		return HN_EINVAL;
	for (size_t i = 0; i < v->n_outputs; i++) {
		const struct hn_tx_output *o = &v->outputs[i];

		if (o->script_len && !o->script)
			return HN_EINVAL;
		if ((rc = wr_value(w, o->value)))
			return rc;
		wr_u8(w, o->token_data);
		wr_u16(w, o->script_len);
		wr_put(w, o->script, o->script_len);
	}
	return 0;
}

static int wr_funds(struct wr *w, const struct hn_vertex *v, bool sighash)
{
	int rc;

	if (v->n_parents && !v->parents)
		return HN_EINVAL;
	wr_u8(w, v->signal_bits);
	wr_u8(w, v->version);
	switch (v->version) {
	case HN_VTX_BLOCK:
	case HN_VTX_MERGE_MINED_BLOCK:
	case HN_VTX_POA_BLOCK:
		if (v->n_inputs || v->n_headers)
			return HN_EINVAL;
		wr_u8(w, v->n_outputs);
		return wr_outputs(w, v);
	case HN_VTX_TX:
		if (v->n_tokens && !v->tokens)
			return HN_EINVAL;
		wr_u8(w, v->n_tokens);
		wr_u8(w, v->n_inputs);
		wr_u8(w, v->n_outputs);
		wr_put(w, v->tokens, (size_t)v->n_tokens * 32);
		if ((rc = wr_inputs(w, v, sighash)))
			return rc;
		return wr_outputs(w, v);
	case HN_VTX_TOKEN_CREATION:
		wr_u8(w, v->n_inputs);
		wr_u8(w, v->n_outputs);
		if ((rc = wr_inputs(w, v, sighash)) || (rc = wr_outputs(w, v)))
			return rc;
		if (v->token_version > HN_TOKEN_FEE)
			return HN_EINVAL;
		wr_u8(w, v->token_version);
		wr_u8(w, v->token_name_len);
		wr_put(w, v->token_name, v->token_name_len);
		wr_u8(w, v->token_symbol_len);
		wr_put(w, v->token_symbol, v->token_symbol_len);
		return 0;
	default:
		return HN_EINVAL;
	}
}

static int wr_graph(struct wr *w, const struct hn_vertex *v)
{
	uint8_t b[8];
	uint64_t bits;

	if (v->n_parents && !v->parents)
		return HN_EINVAL;
	memcpy(&bits, &v->weight, 8);
	put_be64(b, bits);
	wr_put(w, b, 8);
	wr_u32(w, v->timestamp);
	wr_u8(w, v->n_parents);
	wr_put(w, v->parents, (size_t)v->n_parents * 32);
	if (!hn_vertex_is_block(v))
		return 0;
	wr_u8(w, v->data_len);
	wr_put(w, v->data, v->data_len);
	if (v->version != HN_VTX_POA_BLOCK)
		return 0;
	if (v->signature_len > HN_POA_MAX_SIG_LEN)
		return HN_EINVAL;
	wr_put(w, v->signer_id, HN_POA_SIGNER_ID_LEN);
	wr_u8(w, v->signature_len);
	wr_put(w, v->signature, v->signature_len);
	return 0;
}

static void wr_varint(struct wr *w, uint64_t n)
{
	uint8_t b[9];
	size_t k;

	if (n < 0xfd) {
		wr_u8(w, (uint8_t)n);
		return;
	}
	if (n <= 0xffff) {
		b[0] = 0xfd;
		k = 2;
	} else if (n <= 0xffffffffULL) {
		b[0] = 0xfe;
		k = 4;
	} else {
		b[0] = 0xff;
		k = 8;
	}
	for (size_t i = 0; i < k; i++)
		b[1 + i] = (uint8_t)(n >> (8 * i));
	wr_put(w, b, k + 1);
}

static int wr_aux_pow(struct wr *w, const struct hn_aux_pow *a)
{
	static const uint8_t zero[36];

	if (!a) {
		/* BitcoinAuxPow.dummy(), as the reference writes for a
		 * MergeMinedBlock without aux_pow. */
		wr_put(w, zero, 36);
		wr_varint(w, 4);
		wr_put(w, "Hath", 4);
		wr_varint(w, 0);
		wr_varint(w, 1);
		wr_put(w, zero, 32);
		wr_put(w, zero, 12);
		return 0;
	}
	if ((a->coinbase_head_len && !a->coinbase_head) ||
	    (a->coinbase_tail_len && !a->coinbase_tail) ||
	    (a->n_merkle_path && !a->merkle_path) ||
	    a->n_merkle_path > HN_MAX_MERKLE_PATH)
		return HN_EINVAL;
	wr_put(w, a->header_head, HN_AUX_HEADER_HEAD_LEN);
	wr_varint(w, a->coinbase_head_len);
	wr_put(w, a->coinbase_head, a->coinbase_head_len);
	wr_varint(w, a->coinbase_tail_len);
	wr_put(w, a->coinbase_tail, a->coinbase_tail_len);
	wr_varint(w, a->n_merkle_path);
	wr_put(w, a->merkle_path, a->n_merkle_path * 32);
	wr_put(w, a->header_tail, HN_AUX_HEADER_TAIL_LEN);
	return 0;
}

static int wr_nonce(struct wr *w, const struct hn_vertex *v)
{
	uint8_t b[16];

	switch (v->version) {
	case HN_VTX_BLOCK:
	case HN_VTX_POA_BLOCK:
		put_be64(b, v->nonce_hi);
		put_be64(b + 8, v->nonce_lo);
		wr_put(w, b, 16);
		return 0;
	case HN_VTX_TX:
	case HN_VTX_TOKEN_CREATION:
		if (v->nonce_hi || v->nonce_lo > 0xffffffffULL)
			return HN_EINVAL;
		wr_u32(w, (uint32_t)v->nonce_lo);
		return 0;
	case HN_VTX_MERGE_MINED_BLOCK:
		return wr_aux_pow(w, v->aux_pow);
	default:
		return HN_EINVAL;
	}
}

static void wr_leb128(struct wr *w, uint64_t v)
{
	do {
		uint8_t b = v & 0x7f;

		v >>= 7;
		if (v)
			b |= 0x80;
		wr_u8(w, b);
	} while (v);
}

static int wr_header(struct wr *w, const struct hn_vertex_header *h,
		     bool sighash)
{
	int rc;

	switch (h->id) {
	case HN_HEADER_NANO: {
		const struct hn_nano_header *n = &h->u.nano;

		if (n->seqnum >= (1ULL << 56) || n->script_len >= (1U << 14) ||
		    (n->args_len && !n->args) ||
		    (n->n_actions && !n->actions) ||
		    (n->script_len && !n->script && !sighash))
			return HN_EINVAL;
		wr_u8(w, HN_HEADER_NANO);
		wr_put(w, n->nc_id, 32);
		wr_leb128(w, n->seqnum);
		wr_u8(w, n->method_len);
		wr_put(w, n->method, n->method_len);
		wr_u16(w, n->args_len);
		wr_put(w, n->args, n->args_len);
		wr_u8(w, n->n_actions);
		for (size_t i = 0; i < n->n_actions; i++) {
			const struct hn_nano_action *a = &n->actions[i];

			if (a->type < HN_NC_DEPOSIT ||
			    a->type > HN_NC_ACQUIRE_AUTHORITY)
				return HN_EINVAL;
			wr_u8(w, a->type);
			wr_u8(w, a->token_index);
			if ((rc = wr_value(w, a->amount)))
				return rc;
		}
		wr_put(w, n->address, HN_NANO_ADDRESS_LEN);
		if (sighash) {
			wr_leb128(w, 0);
		} else {
			wr_leb128(w, n->script_len);
			wr_put(w, n->script, n->script_len);
		}
		return 0;
	}
	case HN_HEADER_FEE: {
		const struct hn_fee_header *f = &h->u.fee;

		if (f->n_fees && !f->fees)
			return HN_EINVAL;
		wr_u8(w, HN_HEADER_FEE);
		wr_u8(w, f->n_fees);
		for (size_t i = 0; i < f->n_fees; i++) {
			wr_u8(w, f->fees[i].token_index);
			if ((rc = wr_value(w, f->fees[i].amount)))
				return rc;
		}
		return 0;
	}
	}
	return HN_EINVAL;
}

static int wr_headers(struct wr *w, const struct hn_vertex *v, bool sighash)
{
	int rc;

	if (v->n_headers > HN_MAX_HEADERS ||
	    (v->n_headers && !hn_vertex_is_tx(v)))
		return HN_EINVAL;
	for (size_t i = 0; i < v->n_headers; i++)
		if ((rc = wr_header(w, &v->headers[i], sighash)))
			return rc;
	return 0;
}

static int wr_vertex(struct wr *w, const struct hn_vertex *v)
{
	int rc;

	if ((rc = wr_funds(w, v, false)) || (rc = wr_graph(w, v)) ||
	    (rc = wr_nonce(w, v)) || (rc = wr_headers(w, v, false)))
		return rc;
	return 0;
}

/* Runs @fn twice (size, then fill) into a new buffer. */
static int wr_run(int (*fn)(struct wr *, const struct hn_vertex *),
		  const struct hn_vertex *v, uint8_t **buf, size_t *len)
{
	struct wr w = { 0 };
	int rc = fn(&w, v);
	size_t n = w.len;

	if (rc)
		return rc;
	w.buf = malloc(n ? n : 1);
	if (!w.buf)
		return HN_ENOMEM;
	w.len = 0;
	rc = fn(&w, v);
	if (rc || w.len != n) {
		free(w.buf);
		return rc ? rc : HN_EINVAL;
	}
	*buf = w.buf;
	*len = n;
	return 0;
}

int hn_vertex_encode(const struct hn_vertex *v, uint8_t **buf, size_t *len)
{
	return wr_run(wr_vertex, v, buf, len);
}

long hn_vertex_encoded_size(const struct hn_vertex *v)
{
	struct wr w = { 0 };
	int rc = wr_vertex(&w, v);

	return rc ? rc : (long)w.len;
}

static int wr_funds_only(struct wr *w, const struct hn_vertex *v)
{
	return wr_funds(w, v, false);
}

static int wr_graph_only(struct wr *w, const struct hn_vertex *v)
{
	return wr_graph(w, v);
}

static int wr_graph_headers(struct wr *w, const struct hn_vertex *v)
{
	int rc = wr_graph(w, v);

	return rc ? rc : wr_headers(w, v, false);
}

static int wr_sighash(struct wr *w, const struct hn_vertex *v)
{
	int rc;

	if (!hn_vertex_is_tx(v))
		return HN_EINVAL;
	if ((rc = wr_funds(w, v, true)))
		return rc;
	return wr_headers(w, v, true);
}

int hn_vertex_funds_bytes(const struct hn_vertex *v, uint8_t **buf,
			  size_t *len)
{
	return wr_run(wr_funds_only, v, buf, len);
}

int hn_vertex_graph_bytes(const struct hn_vertex *v, uint8_t **buf,
			  size_t *len)
{
	return wr_run(wr_graph_only, v, buf, len);
}

int hn_vertex_sighash(const struct hn_vertex *v, uint8_t **buf, size_t *len)
{
	return wr_run(wr_sighash, v, buf, len);
}

int hn_vertex_sighash_data(const struct hn_vertex *v, uint8_t out[32])
{
	uint8_t *buf;
	size_t len;
	int rc = hn_vertex_sighash(v, &buf, &len);

	if (rc)
		return rc;
	hn_sha256(buf, len, out);
	free(buf);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Hashing */

int hn_vertex_mining_header(const struct hn_vertex *v, uint8_t out[64])
{
	uint8_t *buf;
	size_t len;
	int rc;

	if ((rc = wr_run(wr_funds_only, v, &buf, &len)))
		return rc;
	hn_sha256(buf, len, out);
	free(buf);
	if ((rc = wr_run(wr_graph_headers, v, &buf, &len)))
		return rc;
	hn_sha256(buf, len, out + 32);
	free(buf);
	return 0;
}

/* aux_pow.py: calculate_hash(base), everything in internal byte order
 * until the final reversal. */
static int aux_pow_hash(const struct hn_aux_pow *a, const uint8_t base[32],
			uint8_t out[32])
{
	size_t n = a->coinbase_head_len + 32 + a->coinbase_tail_len;
	uint8_t *cb = malloc(n);
	uint8_t h[32], pair[64], hdr[80];

	if (!cb)
		return HN_ENOMEM;
	if (a->coinbase_head_len)
		memcpy(cb, a->coinbase_head, a->coinbase_head_len);
	memcpy(cb + a->coinbase_head_len, base, 32);
	if (a->coinbase_tail_len)
		memcpy(cb + a->coinbase_head_len + 32, a->coinbase_tail,
		       a->coinbase_tail_len);
	hn_sha256d(cb, n, h);
	free(cb);
	for (size_t i = 0; i < a->n_merkle_path; i++) {
		memcpy(pair, h, 32);
		memcpy(pair + 32, a->merkle_path[i], 32);
		hn_bytes_reverse(pair + 32, 32);
		hn_sha256d(pair, 64, h);
	}
	memcpy(hdr, a->header_head, 36);
	memcpy(hdr + 36, h, 32);
	memcpy(hdr + 68, a->header_tail, 12);
	hn_sha256d(hdr, 80, out);
	hn_bytes_reverse(out, 32);
	return 0;
}

static const struct hn_aux_pow *dummy_aux_pow(void)
{
	static uint8_t path[1][32];
	static const struct hn_aux_pow dummy = {
		.coinbase_head_len = 4,
		.coinbase_head = (uint8_t *)"Hath",
		.n_merkle_path = 1,
		.merkle_path = path,
	};

	return &dummy;
}

int hn_vertex_calc_hash(const struct hn_vertex *v, uint8_t out[32])
{
	uint8_t buf[80];
	int rc;

	if (!version_known(v->version))
		return HN_EINVAL;
	if ((rc = hn_vertex_mining_header(v, buf)))
		return rc;
	if (v->version == HN_VTX_MERGE_MINED_BLOCK) {
		uint8_t base[32];

		/* get_mining_base_hash: reversed sha256d of the header */
		hn_sha256d(buf, 64, base);
		hn_bytes_reverse(base, 32);
		return aux_pow_hash(v->aux_pow ? v->aux_pow : dummy_aux_pow(),
				    base, out);
	}
	if (hn_vertex_is_block(v)) {
		put_be64(buf + 64, v->nonce_hi);
		put_be64(buf + 72, v->nonce_lo);
	} else {
		if (v->nonce_hi || v->nonce_lo > 0xffffffffULL)
			return HN_EINVAL;
		memset(buf + 64, 0, 12);
		put_be32(buf + 76, (uint32_t)v->nonce_lo);
	}
	hn_sha256d(buf, 80, out);
	hn_bytes_reverse(out, 32);
	return 0;
}

int hn_vertex_update_hash(struct hn_vertex *v)
{
	uint8_t h[32];
	int rc = hn_vertex_calc_hash(v, h);

	if (rc)
		return rc;
	memcpy(v->hash, h, 32);
	if (v->version == HN_VTX_TOKEN_CREATION) {
		if (v->n_tokens != 1 || !v->tokens) {
			uint8_t (*t)[32] = malloc(32);

			if (!t)
				return HN_ENOMEM;
			free(v->tokens);
			v->tokens = t;
			v->n_tokens = 1;
		}
		memcpy(v->tokens[0], h, 32);
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* Proof of work */

int hn_weight_to_target(double weight, uint8_t target[32])
{
	double t;
	int e;
	uint64_t mant;

	if (!isfinite(weight))
		return HN_EINVAL;
	memset(target, 0, 32);
	/* int(2**(256 - weight) - 1), all in double precision */
	t = pow(2.0, 256.0 - weight) - 1.0;
	if (!(t >= 1.0))
		return 0; /* int() truncates toward zero */
	if (t >= 0x1p256) {
		memset(target, 0xff, 32);
		return 0;
	}
	/* t = mant * 2^(e - 53) with mant < 2^53 */
	t = frexp(t, &e);
	mant = (uint64_t)ldexp(t, 53);
	e -= 53;
	if (e < 0) {
		mant >>= -e;
		e = 0;
	}
	/* target = mant << e, e <= 203 */
	for (int i = 0; i < 64; i++) {
		if (!(mant >> i & 1))
			continue;
		int bit = e + i;

		target[31 - bit / 8] |= (uint8_t)(1u << (bit % 8));
	}
	return 0;
}

bool hn_hash_meets_weight(const uint8_t hash[32], double weight)
{
	uint8_t target[32];

	if (hn_weight_to_target(weight, target))
		return false;
	return memcmp(hash, target, 32) < 0;
}

bool hn_vertex_pow_ok(const struct hn_vertex *v)
{
	return hn_hash_meets_weight(v->hash, v->weight);
}

uint64_t hn_vertex_sum_outputs(const struct hn_vertex *v)
{
	uint64_t sum = 0;

	for (size_t i = 0; v->outputs && i < v->n_outputs; i++) {
		const struct hn_tx_output *o = &v->outputs[i];

		if (o->token_data & HN_TOKEN_AUTHORITY_MASK)
			continue;
		if (sum > UINT64_MAX - o->value)
			return UINT64_MAX;
		sum += o->value;
	}
	return sum;
}

/* ------------------------------------------------------------------ */
/* Graph view */

int hn_vertex_graph_decode(const uint8_t *buf, size_t len,
			   struct hn_vertex_graph *out, char *err,
			   size_t errlen)
{
	struct hn_vertex *v;
	int rc = hn_vertex_decode(buf, len, &v, err, errlen);

	if (rc)
		return rc;
	if (v->n_parents > HN_GRAPH_MAX_PARENTS) {
		if (err && errlen)
			snprintf(err, errlen, "too many parents: %u > %d",
				 v->n_parents, HN_GRAPH_MAX_PARENTS);
		hn_vertex_free(v);
		return HN_EPARSE;
	}
	memset(out, 0, sizeof(*out));
	memcpy(out->hash, v->hash, 32);
	out->version = v->version;
	out->is_block = hn_vertex_is_block(v);
	out->weight = v->weight;
	out->timestamp = v->timestamp;
	out->n_parents = v->n_parents;
	if (v->n_parents)
		memcpy(out->parents, v->parents, (size_t)v->n_parents * 32);
	out->n_inputs = v->n_inputs;
	hn_vertex_free(v);
	return 0;
}

/* ------------------------------------------------------------------ */
/* JSON (the reference's /v1a/transaction "tx" object) */

static const char b58_alphabet[] =
	"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

/* Base58 (bitcoin alphabet) of @n <= 32 bytes into @out (>= 2n + 1). */
static void b58_encode(const uint8_t *in, size_t n, char *out)
{
	uint8_t digits[64] = { 0 };
	size_t nd = 0, zeros = 0, k = 0;

	while (zeros < n && in[zeros] == 0)
		zeros++;
	for (size_t i = zeros; i < n; i++) {
		unsigned carry = in[i];

		for (size_t j = 0; j < nd; j++) {
			carry += (unsigned)digits[j] << 8;
			digits[j] = (uint8_t)(carry % 58);
			carry /= 58;
		}
		while (carry) {
			digits[nd++] = (uint8_t)(carry % 58);
			carry /= 58;
		}
	}
	for (size_t i = 0; i < zeros; i++)
		out[k++] = '1';
	while (nd)
		out[k++] = b58_alphabet[digits[--nd]];
	out[k] = '\0';
}

static char *hex_alloc(const uint8_t *p, size_t n)
{
	static const char d[] = "0123456789abcdef";
	char *s = malloc(2 * n + 1);

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i++) {
		s[2 * i] = d[p[i] >> 4];
		s[2 * i + 1] = d[p[i] & 15];
	}
	s[2 * n] = '\0';
	return s;
}

static char *b64_alloc(const uint8_t *p, size_t n)
{
	static const char t[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *s = malloc(4 * ((n + 2) / 3) + 1), *o = s;

	if (!s)
		return NULL;
	for (size_t i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16;

		if (i + 1 < n)
			v |= (uint32_t)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		*o++ = t[v >> 18 & 63];
		*o++ = t[v >> 12 & 63];
		*o++ = i + 1 < n ? t[v >> 6 & 63] : '=';
		*o++ = i + 2 < n ? t[v & 63] : '=';
	}
	*o = '\0';
	return s;
}

/* json_object_object_add that tolerates a NULL value (out of memory) by
 * remembering the failure. */
static void jadd(struct json_object *o, const char *k, struct json_object *v,
		 bool *oom)
{
	if (!v) {
		*oom = true;
		return;
	}
	if (json_object_object_add(o, k, v)) {
		json_object_put(v);
		*oom = true;
	}
}

/* JSON null member (json-c represents null as a NULL object). */
static void jnull(struct json_object *o, const char *k, bool *oom)
{
	if (json_object_object_add(o, k, NULL))
		*oom = true;
}

static void jpush(struct json_object *a, struct json_object *v, bool *oom)
{
	if (!v) {
		*oom = true;
		return;
	}
	if (json_object_array_add(a, v)) {
		json_object_put(v);
		*oom = true;
	}
}

/* A string taking ownership of malloc'd @s. */
static struct json_object *jstr_take(char *s)
{
	struct json_object *o;

	if (!s)
		return NULL;
	o = json_object_new_string(s);
	free(s);
	return o;
}

static struct json_object *jhex(const uint8_t *p, size_t n)
{
	return jstr_take(hex_alloc(p, n));
}

/* A double printed like Python's repr (shortest round-trip form). */
static struct json_object *jdouble(double d)
{
	char buf[40];

	if (!isfinite(d))
		return json_object_new_double(d);
	for (int prec = 1; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	if (!strpbrk(buf, ".eEn"))
		strcat(buf, ".0");
	return json_object_new_double_s(d, buf);
}

/* Decimal of a 128-bit unsigned. */
static void u128_dec(hn_u128 v, char out[40])
{
	char tmp[40];
	size_t n = 0, k = 0;

	do {
		tmp[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v);
	while (n)
		out[k++] = tmp[--n];
	out[k] = '\0';
}

/* Token uid (hex) for @index in @v, NULL JSON for out of range. */
static struct json_object *jtoken_uid(const struct hn_vertex *v,
				      unsigned index, bool *oom)
{
	if (index == 0)
		return json_object_new_string("00");
	if (index > v->n_tokens || !v->tokens)
		return NULL; /* json null: the index names no token */
	{
		struct json_object *o = jhex(v->tokens[index - 1], 32);

		if (!o)
			*oom = true;
		return o;
	}
}

int hn_vertex_to_json(const struct hn_vertex *v, struct json_object **out)
{
	struct json_object *o = json_object_new_object(), *a;
	bool oom = false;
	char dec[40];
	uint8_t *raw = NULL;
	size_t raw_len = 0;
	int rc;

	if (!o)
		return HN_ENOMEM;
	jadd(o, "hash", jhex(v->hash, 32), &oom);
	if (v->version != HN_VTX_MERGE_MINED_BLOCK) {
		u128_dec(((hn_u128)v->nonce_hi << 64) | v->nonce_lo, dec);
		jadd(o, "nonce", json_object_new_string(dec), &oom);
	}
	jadd(o, "timestamp", json_object_new_int64(v->timestamp), &oom);
	jadd(o, "version", json_object_new_int(v->version), &oom);
	jadd(o, "weight", jdouble(v->weight), &oom);
	jadd(o, "signal_bits", json_object_new_int(v->signal_bits), &oom);

	if ((a = json_object_new_array())) {
		for (size_t i = 0; v->parents && i < v->n_parents; i++)
			jpush(a, jhex(v->parents[i], 32), &oom);
	}
	jadd(o, "parents", a, &oom);

	if ((a = json_object_new_array())) {
		for (size_t i = 0; v->inputs && i < v->n_inputs; i++) {
			const struct hn_tx_input *in = &v->inputs[i];
			struct json_object *e = json_object_new_object();

			if (e) {
				jadd(e, "tx_id", jhex(in->tx_id, 32), &oom);
				jadd(e, "index", json_object_new_int(in->index),
				     &oom);
				jadd(e, "data",
				     jstr_take(b64_alloc(in->data, in->data_len)),
				     &oom);
			}
			jpush(a, e, &oom);
		}
	}
	jadd(o, "inputs", a, &oom);

	if ((a = json_object_new_array())) {
		for (size_t i = 0; v->outputs && i < v->n_outputs; i++) {
			const struct hn_tx_output *ot = &v->outputs[i];
			struct json_object *e = json_object_new_object();

			if (e) {
				jadd(e, "value", json_object_new_uint64(ot->value),
				     &oom);
				jadd(e, "token_data",
				     json_object_new_int(ot->token_data), &oom);
				jadd(e, "script",
				     jstr_take(b64_alloc(ot->script,
							 ot->script_len)),
				     &oom);
			}
			jpush(a, e, &oom);
		}
	}
	jadd(o, "outputs", a, &oom);

	if ((a = json_object_new_array())) {
		if (v->version == HN_VTX_TOKEN_CREATION) {
			/* update_serialized_tokens_array: [own hash] */
			jpush(a, jhex(v->hash, 32), &oom);
		} else if (v->version == HN_VTX_TX) {
			for (size_t i = 0; v->tokens && i < v->n_tokens; i++)
				jpush(a, jhex(v->tokens[i], 32), &oom);
		}
	}
	jadd(o, "tokens", a, &oom);
	jadd(o, "token_amount_version", json_object_new_int(1), &oom);

	rc = hn_vertex_encode(v, &raw, &raw_len);
	if (rc == HN_ENOMEM) {
		json_object_put(o);
		return HN_ENOMEM;
	}
	if (rc == 0) {
		jadd(o, "raw", jhex(raw, raw_len), &oom);
		free(raw);
	} else {
		jnull(o, "raw", &oom);
	}
	if (hn_vertex_is_block(v))
		jadd(o, "data", jstr_take(b64_alloc(v->data, v->data_len)),
		     &oom);
	if (v->version == HN_VTX_MERGE_MINED_BLOCK) {
		struct wr w = { 0 };

		/* bytes(aux_pow) as hex, null when absent */
		if (v->aux_pow && wr_aux_pow(&w, v->aux_pow) == 0) {
			uint8_t *b = malloc(w.len);

			if (b) {
				size_t n = w.len;

				w.buf = b;
				w.len = 0;
				wr_aux_pow(&w, v->aux_pow);
				jadd(o, "aux_pow", jhex(b, n), &oom);
				free(b);
			} else {
				oom = true;
			}
		} else {
			jnull(o, "aux_pow", &oom);
		}
	}
	if (v->version == HN_VTX_POA_BLOCK) {
		jadd(o, "signer_id", jhex(v->signer_id, HN_POA_SIGNER_ID_LEN),
		     &oom);
		jadd(o, "signature", jhex(v->signature, v->signature_len),
		     &oom);
	}
	if (v->version == HN_VTX_TOKEN_CREATION) {
		jadd(o, "token_name",
		     json_object_new_string_len(v->token_name,
						v->token_name_len), &oom);
		jadd(o, "token_symbol",
		     json_object_new_string_len(v->token_symbol,
						v->token_symbol_len), &oom);
	}
	for (size_t i = 0; i < v->n_headers && i < HN_MAX_HEADERS; i++) {
		const struct hn_vertex_header *h = &v->headers[i];

		switch (h->id) {
		case HN_HEADER_NANO: {
			const struct hn_nano_header *n = &h->u.nano;
			char addr[64];

			jadd(o, "nc_id", jhex(n->nc_id, 32), &oom);
			jadd(o, "nc_seqnum", json_object_new_uint64(n->seqnum),
			     &oom);
			jadd(o, "nc_method",
			     json_object_new_string_len(n->method,
							n->method_len), &oom);
			jadd(o, "nc_args", jhex(n->args, n->args_len), &oom);
			b58_encode(n->address, HN_NANO_ADDRESS_LEN, addr);
			jadd(o, "nc_address", json_object_new_string(addr),
			     &oom);
			break;
		}
		case HN_HEADER_FEE: {
			const struct hn_fee_header *f = &h->u.fee;

			if (!(a = json_object_new_array())) {
				oom = true;
				break;
			}
			for (size_t j = 0; f->fees && j < f->n_fees; j++) {
				struct json_object *e = json_object_new_object();

				if (e) {
					struct json_object *uid = jtoken_uid(
						v, f->fees[j].token_index, &oom);

					if (uid)
						jadd(e, "token_uid", uid, &oom);
					else
						jnull(e, "token_uid", &oom);
					jadd(e, "amount",
					     json_object_new_uint64(
						     f->fees[j].amount),
					     &oom);
				}
				jpush(a, e, &oom);
			}
			jadd(o, "fees", a, &oom);
			break;
		}
		}
	}
	if (oom) {
		json_object_put(o);
		return HN_ENOMEM;
	}
	*out = o;
	return 0;
}
