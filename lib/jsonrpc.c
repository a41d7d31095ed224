/*
 * jsonrpc.c: JSON-RPC 2.0 message parsing, building and typed parameter
 * extraction for the IPC between hathor-node and its host processes.
 *
 * Untrusted input rules (STYLE.md section 8): size checked before the
 * tokener runs; strict tokener, depth HN_RPC_MAX_DEPTH, explicit length,
 * must consume the whole buffer; every value type-checked before use.
 */
#include "hn/jsonrpc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hn/b64.h"
#include "hn/hex.h"

#define RPC_DEFAULT_MAX_ITEMS 10000

/* --- errors ------------------------------------------------------------- */

int hn_rpc_code_to_err(int code)
{
	switch (code) {
	case HN_RPC_PARSE_ERROR:
		return HN_EPARSE;
	case HN_RPC_INVALID_REQUEST:
		return HN_EPROTO;
	case HN_RPC_METHOD_NOT_FOUND:
		return HN_EUNSUPPORTED;
	case HN_RPC_INVALID_PARAMS:
		return HN_EINVAL;
	case HN_RPC_EVERSION:
	case HN_RPC_ECAPS:
		return HN_EABI;
	case HN_RPC_ETOOBIG:
		return HN_EMSGSIZE;
	case HN_RPC_EBUSY:
		return HN_EAGAIN;
	case HN_RPC_ENOHELLO:
		return HN_EPROTO;
	case HN_RPC_INTERNAL:
	case HN_RPC_EAPP:
	default:
		return HN_EIO;
	}
}

const char *hn_rpc_err_name(int app)
{
	switch (app) {
	case HN_OK:
		return "OK";
	case HN_ENOMEM:
		return "ENOMEM";
	case HN_EINVAL:
		return "EINVAL";
	case HN_ENOENT:
		return "ENOENT";
	case HN_EEXIST:
		return "EEXIST";
	case HN_ERANGE:
		return "ERANGE";
	case HN_EIO:
		return "EIO";
	case HN_EMSGSIZE:
		return "EMSGSIZE";
	case HN_ETIMEDOUT:
		return "ETIMEDOUT";
	case HN_EAGAIN:
		return "EAGAIN";
	case HN_EPARSE:
		return "EPARSE";
	case HN_EUNSUPPORTED:
		return "EUNSUPPORTED";
	case HN_EPROTO:
		return "EPROTO";
	case HN_EABI:
		return "EABI";
	case HN_ECONSENSUS:
		return "ECONSENSUS";
	case HN_ECLOSED:
		return "ECLOSED";
	}
	return "EUNKNOWN";
}

__attribute__((format(printf, 3, 0)))
static void error_vset(struct hn_rpc_error *e, int code, const char *fmt,
		       va_list ap)
{
	e->code = code;
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
}

int hn_rpc_error_set(struct hn_rpc_error *e, int code, const char *fmt, ...)
{
	va_list ap;
	int app = hn_rpc_code_to_err(code);

	if (!e)
		return app;
	va_start(ap, fmt);
	error_vset(e, code, fmt, ap);
	va_end(ap);
	e->app = app;
	return app;
}

int hn_rpc_error_app(struct hn_rpc_error *e, int app, const char *fmt, ...)
{
	va_list ap;

	if (app >= 0)
		app = HN_EIO;
	if (!e)
		return app;
	va_start(ap, fmt);
	error_vset(e, HN_RPC_EAPP, fmt, ap);
	va_end(ap);
	e->app = app;
	return app;
}

/* --- parsing ------------------------------------------------------------ */

int hn_rpc_parse(const char *buf, size_t len, size_t max,
		 struct json_object **out, struct hn_error *err)
{
	struct json_tokener *tok;
	struct json_object *o;
	enum json_tokener_error je;
	size_t used;

	if (len > max)
		return hn_error_set(err, HN_EMSGSIZE, "message of %zu bytes "
				    "exceeds the limit of %zu", len, max);
	/* The strict tokener refuses trailing whitespace; a newline after
	 * the value (hand-written test input, shell tools) is harmless. */
	while (len && (buf[len - 1] == ' ' || buf[len - 1] == '\n' ||
		       buf[len - 1] == '\r' || buf[len - 1] == '\t'))
		len--;
	if (len == 0 || len > (size_t)INT32_MAX)
		return hn_error_set(err, HN_EPARSE, "empty message");
	tok = json_tokener_new_ex(HN_RPC_MAX_DEPTH);
	if (!tok)
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, buf, (int)len);
	je = json_tokener_get_error(tok);
	used = json_tokener_get_parse_end(tok);
	if (!o || je != json_tokener_success) {
		/* A complete value needing more input is truncated JSON. */
		const char *why = je == json_tokener_continue ?
			"unexpected end of input" :
			json_tokener_error_desc(je);

		json_object_put(o);
		json_tokener_free(tok);
		return hn_error_set(err, HN_EPARSE, "invalid JSON at byte "
				    "%zu: %s", used, why);
	}
	if (used < len) {
		json_object_put(o);
		json_tokener_free(tok);
		return hn_error_set(err, HN_EPARSE, "trailing data after JSON "
				    "value at byte %zu", used);
	}
	json_tokener_free(tok);
	*out = o;
	return 0;
}

static bool get_member(struct json_object *o, const char *key,
		       struct json_object **v)
{
	return json_object_object_get_ex(o, key, v);
}

static bool is_version_ok(struct json_object *root)
{
	struct json_object *v;

	return get_member(root, "jsonrpc", &v) &&
	       json_object_is_type(v, json_type_string) &&
	       strcmp(json_object_get_string(v), "2.0") == 0;
}

int hn_rpc_req_parse(const char *buf, size_t len, size_t max,
		     struct hn_rpc_req *out, struct hn_rpc_error *e)
{
	struct hn_error perr = { 0 };
	struct json_object *v;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = hn_rpc_parse(buf, len, max, &out->root, &perr);
	if (rc == HN_EMSGSIZE)
		return hn_rpc_error_set(e, HN_RPC_ETOOBIG, "%s", perr.msg);
	if (rc < 0)
		return hn_rpc_error_set(e, HN_RPC_PARSE_ERROR, "%s",
					perr.msg);
	if (!json_object_is_type(out->root, json_type_object))
		return hn_rpc_error_set(e, HN_RPC_INVALID_REQUEST,
					"request is not a JSON object");
	/* Read the id first so later errors can be answered with it. */
	if (get_member(out->root, "id", &v)) {
		if (json_object_is_type(v, json_type_int)) {
			out->id = v;
			out->id_num = json_object_get_int64(v);
		} else if (json_object_is_type(v, json_type_string)) {
			out->id = v;
			out->id_num = -1;
		} else if (v == NULL) {
			/* "id": null is a request to be answered with null */
			out->id = NULL;
			out->id_num = -1;
			return hn_rpc_error_set(e, HN_RPC_INVALID_REQUEST,
						"id must be an integer or a "
						"string");
		} else {
			return hn_rpc_error_set(e, HN_RPC_INVALID_REQUEST,
						"id must be an integer or a "
						"string");
		}
	} else {
		out->id_num = -1;
	}
	if (!is_version_ok(out->root))
		return hn_rpc_error_set(e, HN_RPC_INVALID_REQUEST,
					"\"jsonrpc\" must be \"2.0\"");
	if (!get_member(out->root, "method", &v) ||
	    !json_object_is_type(v, json_type_string))
		return hn_rpc_error_set(e, HN_RPC_INVALID_REQUEST,
					"\"method\" must be a string");
	if (json_object_get_string_len(v) == 0 ||
	    json_object_get_string_len(v) > HN_RPC_MAX_METHOD)
		return hn_rpc_error_set(e, HN_RPC_INVALID_REQUEST,
					"\"method\" must be 1..%d characters",
					HN_RPC_MAX_METHOD);
	out->method = json_object_get_string(v);
	if (get_member(out->root, "params", &v)) {
		if (!json_object_is_type(v, json_type_object))
			return hn_rpc_error_set(e, HN_RPC_INVALID_PARAMS,
						"\"params\" must be an object "
						"(by-name parameters)");
		out->params = v;
	} else {
		out->params = json_object_new_object();
		if (!out->params ||
		    json_object_object_add(out->root, "params",
					   out->params) < 0) {
			json_object_put(out->params);
			out->params = NULL;
			return hn_rpc_error_set(e, HN_RPC_INTERNAL,
						"out of memory");
		}
	}
	return 0;
}

void hn_rpc_req_release(struct hn_rpc_req *r)
{
	if (!r)
		return;
	json_object_put(r->root);
	memset(r, 0, sizeof(*r));
}

static int resp_error_parse(struct json_object *eo, struct hn_rpc_resp *out,
			    struct hn_error *err)
{
	struct json_object *c, *m, *d, *a;

	if (!json_object_is_type(eo, json_type_object) ||
	    !get_member(eo, "code", &c) ||
	    !json_object_is_type(c, json_type_int) ||
	    !get_member(eo, "message", &m) ||
	    !json_object_is_type(m, json_type_string))
		return hn_error_set(err, HN_EPROTO, "malformed error object "
				    "(needs integer code and string "
				    "message)");
	out->is_error = true;
	out->error.code = (int)json_object_get_int64(c);
	snprintf(out->error.message, sizeof(out->error.message), "%s",
		 json_object_get_string(m));
	out->error.app = hn_rpc_code_to_err(out->error.code);
	if (get_member(eo, "data", &d) && d) {
		out->error_data = d;
		if (out->error.code == HN_RPC_EAPP &&
		    json_object_is_type(d, json_type_object) &&
		    get_member(d, "err", &a) &&
		    json_object_is_type(a, json_type_int)) {
			int64_t app = json_object_get_int64(a);

			if (app < 0 && app > INT32_MIN)
				out->error.app = (int)app;
		}
	}
	return 0;
}

int hn_rpc_resp_parse(const char *buf, size_t len, size_t max,
		      struct hn_rpc_resp *out, struct hn_error *err)
{
	struct json_object *v, *r, *eo;
	bool has_r, has_e;
	int rc;

	memset(out, 0, sizeof(*out));
	out->id = -1;
	rc = hn_rpc_parse(buf, len, max, &out->root, err);
	if (rc < 0)
		return rc;
	if (!json_object_is_type(out->root, json_type_object))
		return hn_error_set(err, HN_EPROTO, "response is not a JSON "
				    "object");
	if (!is_version_ok(out->root))
		return hn_error_set(err, HN_EPROTO, "\"jsonrpc\" must be "
				    "\"2.0\"");
	if (!get_member(out->root, "id", &v))
		return hn_error_set(err, HN_EPROTO, "response without id");
	if (v) {
		if (!json_object_is_type(v, json_type_int) ||
		    json_object_get_int64(v) < 0)
			return hn_error_set(err, HN_EPROTO, "response id must "
					    "be a non-negative integer");
		out->id = json_object_get_int64(v);
	}
	has_r = get_member(out->root, "result", &r);
	has_e = get_member(out->root, "error", &eo);
	if (has_r == has_e)
		return hn_error_set(err, HN_EPROTO, "response needs exactly "
				    "one of result and error");
	if (has_e)
		return resp_error_parse(eo, out, err);
	if (!r)
		return hn_error_set(err, HN_EPROTO, "result must not be "
				    "null");
	out->result = r;
	return 0;
}

void hn_rpc_resp_release(struct hn_rpc_resp *r)
{
	if (!r)
		return;
	json_object_put(r->root);
	memset(r, 0, sizeof(*r));
	r->id = -1;
}

/* --- building ----------------------------------------------------------- */

int hn_rpc_add(struct json_object *obj, const char *key,
	       HN_TAKES struct json_object *v)
{
	if (!obj || !v || json_object_object_add(obj, key, v) < 0) {
		json_object_put(v);
		return HN_ENOMEM;
	}
	return 0;
}

static struct json_object *envelope(void)
{
	struct json_object *o = json_object_new_object();

	if (o && hn_rpc_add(o, "jsonrpc", json_object_new_string("2.0")) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *hn_rpc_request(int64_t id, const char *method,
				   HN_TAKES struct json_object *params)
{
	struct json_object *o = envelope();

	if (!params)
		params = json_object_new_object();
	if (!o || !params)
		goto fail;
	if (id >= 0 && hn_rpc_add(o, "id", json_object_new_int64(id)) < 0)
		goto fail;
	if (hn_rpc_add(o, "method", json_object_new_string(method)) < 0)
		goto fail;
	if (hn_rpc_add(o, "params", params) < 0) {
		params = NULL;
		goto fail;
	}
	return o;
fail:
	json_object_put(params);
	json_object_put(o);
	return NULL;
}

static int add_id(struct json_object *o, struct json_object *id)
{
	if (!id)
		return json_object_object_add(o, "id", NULL) < 0 ?
		       HN_ENOMEM : 0;
	return hn_rpc_add(o, "id", json_object_get(id));
}

struct json_object *hn_rpc_result(struct json_object *id,
				  HN_TAKES struct json_object *result)
{
	struct json_object *o = envelope();

	if (!result)
		result = json_object_new_object();
	if (!o || !result || add_id(o, id) < 0) {
		json_object_put(result);
		json_object_put(o);
		return NULL;
	}
	if (hn_rpc_add(o, "result", result) < 0) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

struct json_object *hn_rpc_error_obj(struct json_object *id,
				     const struct hn_rpc_error *e)
{
	struct json_object *o = envelope(), *eo = json_object_new_object();

	if (!o || !eo || add_id(o, id) < 0)
		goto fail;
	if (hn_rpc_add(eo, "code", json_object_new_int(e->code)) < 0 ||
	    hn_rpc_add(eo, "message", json_object_new_string(e->message)) < 0)
		goto fail;
	if (e->code == HN_RPC_EAPP) {
		struct json_object *d = json_object_new_object();

		if (!d || hn_rpc_add(d, "err", json_object_new_int(e->app)) < 0 ||
		    hn_rpc_add(d, "name",
			       json_object_new_string(hn_rpc_err_name(e->app)))
			    < 0) {
			json_object_put(d);
			goto fail;
		}
		if (hn_rpc_add(eo, "data", d) < 0)
			goto fail;
	}
	if (hn_rpc_add(o, "error", eo) < 0) {
		eo = NULL;
		goto fail;
	}
	return o;
fail:
	json_object_put(eo);
	json_object_put(o);
	return NULL;
}

int hn_rpc_serialize(struct json_object *o, size_t max, const char **s,
		     size_t *len)
{
	size_t n = 0;
	const char *str = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);

	if (!str)
		return HN_ENOMEM;
	if (n > max)
		return HN_EMSGSIZE;
	*s = str;
	*len = n;
	return 0;
}

/* --- values ------------------------------------------------------------- */

struct json_object *hn_rpc_j_hash(const uint8_t hash[32])
{
	char hex[65];

	hn_hex_encode(hash, 32, hex);
	return json_object_new_string_len(hex, 64);
}

struct json_object *hn_rpc_j_bytes(const uint8_t *b, size_t len)
{
	char *s = hn_b64_encode(b, len);
	struct json_object *o;

	if (!s)
		return NULL;
	o = json_object_new_string(s);
	free(s);
	return o;
}

struct json_object *hn_rpc_j_u64(uint64_t v)
{
	return json_object_new_int64(v > INT64_MAX ? INT64_MAX : (int64_t)v);
}

struct json_object *hn_rpc_j_hashes(const uint8_t (*h)[32], size_t n)
{
	struct json_object *a = json_object_new_array_ext((int)n);
	size_t i;

	if (!a)
		return NULL;
	for (i = 0; i < n; i++) {
		struct json_object *x = hn_rpc_j_hash(h[i]);

		if (!x || json_object_array_add(a, x) < 0) {
			json_object_put(x);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

int hn_rpc_v_hash(struct json_object *v, uint8_t out[32],
		  struct hn_error *err)
{
	const char *s;
	int i;

	if (!json_object_is_type(v, json_type_string) ||
	    json_object_get_string_len(v) != 64)
		goto bad;
	s = json_object_get_string(v);
	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			goto bad;
	if (hn_hex_to_hash(s, out) < 0)
		goto bad;
	return 0;
bad:
	return hn_error_set(err, HN_EINVAL, "expected 64 lower-case hex "
			    "digits");
}

int hn_rpc_v_bytes(struct json_object *v, size_t max, uint8_t **out,
		   size_t *len, struct hn_error *err)
{
	size_t slen;
	int rc;

	if (!json_object_is_type(v, json_type_string))
		return hn_error_set(err, HN_EINVAL, "expected a base64 "
				    "string");
	slen = (size_t)json_object_get_string_len(v);
	if (slen / 4 * 3 > max + 2)
		return hn_error_set(err, HN_EINVAL, "more than %zu bytes", max);
	rc = hn_b64_decode(json_object_get_string(v), out, len);
	if (rc == HN_ENOMEM)
		return hn_error_set(err, rc, "out of memory");
	if (rc < 0)
		return hn_error_set(err, HN_EINVAL, "invalid base64");
	if (*len > max) {
		free(*out);
		*out = NULL;
		return hn_error_set(err, HN_EINVAL, "more than %zu bytes", max);
	}
	return 0;
}

int hn_rpc_v_i64(struct json_object *v, int64_t *out, struct hn_error *err)
{
	if (!json_object_is_type(v, json_type_int))
		return hn_error_set(err, HN_EINVAL, "expected an integer");
	/* json-c saturates out-of-range integers to INT64_MIN/MAX; the
	 * boundary values themselves are refused rather than guessed. */
	*out = json_object_get_int64(v);
	if (*out == INT64_MAX || *out == INT64_MIN)
		return hn_error_set(err, HN_EINVAL, "integer out of range");
	return 0;
}

int hn_rpc_v_u64(struct json_object *v, uint64_t *out, struct hn_error *err)
{
	int64_t x;
	int rc = hn_rpc_v_i64(v, &x, err);

	if (rc < 0)
		return rc;
	if (x < 0)
		return hn_error_set(err, HN_EINVAL, "expected a non-negative "
				    "integer");
	*out = (uint64_t)x;
	return 0;
}

int hn_rpc_v_bool(struct json_object *v, bool *out, struct hn_error *err)
{
	if (!json_object_is_type(v, json_type_boolean))
		return hn_error_set(err, HN_EINVAL, "expected true or false");
	*out = json_object_get_boolean(v);
	return 0;
}

int hn_rpc_v_double(struct json_object *v, double *out, struct hn_error *err)
{
	if (!json_object_is_type(v, json_type_double) &&
	    !json_object_is_type(v, json_type_int))
		return hn_error_set(err, HN_EINVAL, "expected a number");
	*out = json_object_get_double(v);
	return 0;
}

int hn_rpc_v_str(struct json_object *v, const char **out,
		 struct hn_error *err)
{
	if (!json_object_is_type(v, json_type_string))
		return hn_error_set(err, HN_EINVAL, "expected a string");
	if (strlen(json_object_get_string(v)) !=
	    (size_t)json_object_get_string_len(v))
		return hn_error_set(err, HN_EINVAL, "string contains NUL");
	*out = json_object_get_string(v);
	return 0;
}

int hn_rpc_v_array(struct json_object *v, size_t max, size_t *n,
		   struct hn_error *err)
{
	if (!json_object_is_type(v, json_type_array))
		return hn_error_set(err, HN_EINVAL, "expected an array");
	*n = json_object_array_length(v);
	if (*n > max)
		return hn_error_set(err, HN_EINVAL, "more than %zu items", max);
	return 0;
}

int hn_rpc_v_hashes(struct json_object *v, size_t max, bool allow_empty,
		    uint8_t (**out)[32], size_t *n, struct hn_error *err)
{
	uint8_t (*h)[32];
	size_t i, cnt;
	int rc;

	if ((rc = hn_rpc_v_array(v, max, &cnt, err)) < 0)
		return rc;
	if (cnt == 0 && !allow_empty)
		return hn_error_set(err, HN_EINVAL, "expected at least one "
				    "item");
	h = malloc((cnt ? cnt : 1) * sizeof(*h));
	if (!h)
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	for (i = 0; i < cnt; i++) {
		struct hn_error e2 = { 0 };

		if (hn_rpc_v_hash(json_object_array_get_idx(v, i), h[i],
				  &e2) < 0) {
			free(h);
			return hn_error_set(err, HN_EINVAL, "[%zu]: %s", i,
					    e2.msg);
		}
	}
	*out = h;
	*n = cnt;
	return 0;
}

/* --- named params ------------------------------------------------------- */

static int param_one(const struct hn_rpc_param *p, struct json_object *v,
		     struct hn_error *err)
{
	size_t max_items = p->max ? p->max : RPC_DEFAULT_MAX_ITEMS;
	size_t max_bytes = p->max ? p->max : HN_RPC_DEFAULT_MAX_MSG;

	switch (p->type) {
	case HN_RPC_P_HASH:
		return hn_rpc_v_hash(v, p->out, err);
	case HN_RPC_P_BYTES: {
		struct hn_rpc_bytes *b = p->out;

		return hn_rpc_v_bytes(v, max_bytes, &b->data, &b->len, err);
	}
	case HN_RPC_P_U64:
		return hn_rpc_v_u64(v, p->out, err);
	case HN_RPC_P_I64:
		return hn_rpc_v_i64(v, p->out, err);
	case HN_RPC_P_BOOL:
		return hn_rpc_v_bool(v, p->out, err);
	case HN_RPC_P_DOUBLE:
		return hn_rpc_v_double(v, p->out, err);
	case HN_RPC_P_STR:
		return hn_rpc_v_str(v, p->out, err);
	case HN_RPC_P_HASHES: {
		struct hn_rpc_hashes *hs = p->out;

		return hn_rpc_v_hashes(v, max_items, true, &hs->h, &hs->n,
				       err);
	}
	case HN_RPC_P_JSON:
		if (!v)
			return hn_error_set(err, HN_EINVAL, "must not be null");
		*(struct json_object **)p->out = v;
		return 0;
	case HN_RPC_P_ARRAY: {
		size_t n;
		int rc = hn_rpc_v_array(v, max_items, &n, err);

		if (rc == 0)
			*(struct json_object **)p->out = v;
		return rc;
	}
	}
	return hn_error_set(err, HN_EINVAL, "unknown parameter type");
}

void hn_rpc_params_release(const struct hn_rpc_param *spec, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (spec[i].type == HN_RPC_P_BYTES) {
			struct hn_rpc_bytes *b = spec[i].out;

			free(b->data);
			b->data = NULL;
			b->len = 0;
		} else if (spec[i].type == HN_RPC_P_HASHES) {
			struct hn_rpc_hashes *hs = spec[i].out;

			free(hs->h);
			hs->h = NULL;
			hs->n = 0;
		}
	}
}

int hn_rpc_params(struct json_object *params, const struct hn_rpc_param *spec,
		  size_t n, struct hn_rpc_error *e)
{
	struct hn_error err = { 0 };
	size_t i;

	if (!json_object_is_type(params, json_type_object))
		return hn_rpc_error_set(e, HN_RPC_INVALID_PARAMS,
					"params must be an object");
	for (i = 0; i < n; i++) {
		if (spec[i].type == HN_RPC_P_BYTES)
			memset(spec[i].out, 0, sizeof(struct hn_rpc_bytes));
		else if (spec[i].type == HN_RPC_P_HASHES)
			memset(spec[i].out, 0, sizeof(struct hn_rpc_hashes));
		if (spec[i].seen)
			*spec[i].seen = false;
	}
	json_object_object_foreach(params, key, val) {
		(void)val;
		for (i = 0; i < n; i++)
			if (strcmp(spec[i].name, key) == 0)
				break;
		if (i == n) {
			hn_rpc_params_release(spec, n);
			return hn_rpc_error_set(e, HN_RPC_INVALID_PARAMS,
						"params.%.64s: unknown "
						"parameter", key);
		}
	}
	for (i = 0; i < n; i++) {
		struct json_object *v;

		if (!get_member(params, spec[i].name, &v)) {
			if (spec[i].required) {
				hn_rpc_params_release(spec, n);
				return hn_rpc_error_set(
					e, HN_RPC_INVALID_PARAMS,
					"params.%s: missing", spec[i].name);
			}
			continue;
		}
		if (param_one(&spec[i], v, &err) < 0) {
			hn_rpc_params_release(spec, n);
			return hn_rpc_error_set(e, HN_RPC_INVALID_PARAMS,
						"params.%s: %s", spec[i].name,
						err.msg);
		}
		if (spec[i].seen)
			*spec[i].seen = true;
	}
	return 0;
}

/* --- hello -------------------------------------------------------------- */

struct json_object *hn_rpc_hello_obj(const char *role,
				     const char *const *caps)
{
	struct json_object *o = json_object_new_object();
	struct json_object *a = json_object_new_array();

	if (!o || !a)
		goto fail;
	for (; caps && *caps; caps++) {
		struct json_object *s = json_object_new_string(*caps);

		if (!s || json_object_array_add(a, s) < 0) {
			json_object_put(s);
			goto fail;
		}
	}
	if (hn_rpc_add(o, "proto", json_object_new_int(HN_RPC_PROTO_VERSION))
	    < 0 ||
	    hn_rpc_add(o, "role", json_object_new_string(role)) < 0 ||
	    hn_rpc_add(o, "pid", json_object_new_int64(getpid())) < 0)
		goto fail;
	if (hn_rpc_add(o, "caps", a) < 0) {
		a = NULL;
		goto fail;
	}
	return o;
fail:
	json_object_put(a);
	json_object_put(o);
	return NULL;
}

bool hn_rpc_caps_has(struct json_object *caps, const char *name)
{
	size_t i, n;

	if (!json_object_is_type(caps, json_type_array))
		return false;
	n = json_object_array_length(caps);
	for (i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(caps, i);

		if (json_object_is_type(c, json_type_string) &&
		    strcmp(json_object_get_string(c), name) == 0)
			return true;
	}
	return false;
}

int hn_rpc_hello_check(struct json_object *o, const char *const *need,
		       struct hn_rpc_hello *out, struct hn_rpc_error *e)
{
	struct json_object *v;
	size_t i, n;

	memset(out, 0, sizeof(*out));
	if (!json_object_is_type(o, json_type_object))
		return hn_rpc_error_set(e, HN_RPC_INVALID_PARAMS,
					"hello: expected an object");
	if (!get_member(o, "proto", &v) ||
	    !json_object_is_type(v, json_type_int))
		return hn_rpc_error_set(e, HN_RPC_INVALID_PARAMS,
					"hello: proto must be an integer");
	out->proto = json_object_get_int64(v);
	if (out->proto != HN_RPC_PROTO_VERSION)
		return hn_rpc_error_set(e, HN_RPC_EVERSION,
					"hello: peer speaks IPC protocol "
					"%" PRId64 ", this side speaks %d",
					out->proto, HN_RPC_PROTO_VERSION);
	if (!get_member(o, "role", &v) ||
	    !json_object_is_type(v, json_type_string))
		return hn_rpc_error_set(e, HN_RPC_INVALID_PARAMS,
					"hello: role must be a string");
	out->role = json_object_get_string(v);
	if (!get_member(o, "pid", &v) ||
	    !json_object_is_type(v, json_type_int))
		return hn_rpc_error_set(e, HN_RPC_INVALID_PARAMS,
					"hello: pid must be an integer");
	out->pid = json_object_get_int64(v);
	if (!get_member(o, "caps", &v) ||
	    !json_object_is_type(v, json_type_array))
		return hn_rpc_error_set(e, HN_RPC_INVALID_PARAMS,
					"hello: caps must be an array");
	n = json_object_array_length(v);
	for (i = 0; i < n; i++)
		if (!json_object_is_type(json_object_array_get_idx(v, i),
					 json_type_string))
			return hn_rpc_error_set(e, HN_RPC_INVALID_PARAMS,
						"hello: caps[%zu] is not a "
						"string", i);
	out->caps = v;
	for (; need && *need; need++)
		if (!hn_rpc_caps_has(v, *need))
			return hn_rpc_error_set(e, HN_RPC_ECAPS,
						"hello: peer lacks capability "
						"'%s'", *need);
	return 0;
}
