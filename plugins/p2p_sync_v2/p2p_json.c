/*
 * p2p_json.c: strict JSON parsing and comparison for P2P payloads.
 */
#include "p2p_json.h"

#include <errno.h>
#include <string.h>

#include <json-c/json.h>

#include "hn/hex.h"

#define JSON_DEPTH 16

static bool is_ws(char ch)
{
	return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r';
}

struct json_object *p2p_json_parse(const char *s, size_t len, bool *is_null)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t off;
	bool finished = false;

	if (is_null)
		*is_null = false;
	while (len && is_ws(*s)) {
		s++;
		len--;
	}
	while (len && is_ws(s[len - 1]))
		len--;
	if (!len || len > (size_t)INT32_MAX)
		return NULL;
	tok = json_tokener_new_ex(JSON_DEPTH);
	if (!tok)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	o = json_tokener_parse_ex(tok, s, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		/* Numbers at the very end need the end of input signalled. */
		if (json_tokener_get_error(tok) == json_tokener_continue) {
			json_object_put(o);
			o = json_tokener_parse_ex(tok, "", 1);
			if (json_tokener_get_error(tok) !=
			    json_tokener_success) {
				json_object_put(o);
				json_tokener_free(tok);
				return NULL;
			}
			finished = true; /* the whole input was consumed */
		} else {
			json_object_put(o);
			json_tokener_free(tok);
			return NULL;
		}
	}
	off = finished ? len : json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (off < len) {
		json_object_put(o);
		return NULL;
	}
	if (!o && is_null)
		*is_null = true;
	return o;
}

static bool is_num(struct json_object *o)
{
	return json_object_is_type(o, json_type_int) ||
	       json_object_is_type(o, json_type_double);
}

struct json_object *p2p_json_parse_array(const char *s, size_t len,
					 size_t *n)
{
	struct json_object *o = p2p_json_parse(s, len, NULL);

	if (!o || !json_object_is_type(o, json_type_array)) {
		json_object_put(o);
		return NULL;
	}
	*n = json_object_array_length(o);
	return o;
}

bool p2p_json_eq(struct json_object *a, struct json_object *b)
{
	if (!a || !b)
		return a == b;
	if (is_num(a) && is_num(b)) {
		if (json_object_is_type(a, json_type_int) &&
		    json_object_is_type(b, json_type_int))
			return json_object_get_int64(a) ==
			       json_object_get_int64(b);
		return json_object_get_double(a) == json_object_get_double(b);
	}
	if (json_object_get_type(a) != json_object_get_type(b))
		return false;
	switch (json_object_get_type(a)) {
	case json_type_null:
		return true;
	case json_type_boolean:
		return json_object_get_boolean(a) == json_object_get_boolean(b);
	case json_type_string:
		return json_object_get_string_len(a) ==
		       json_object_get_string_len(b) &&
		       memcmp(json_object_get_string(a),
			      json_object_get_string(b),
			      (size_t)json_object_get_string_len(a)) == 0;
	case json_type_array: {
		size_t n = json_object_array_length(a), i;

		if (n != json_object_array_length(b))
			return false;
		for (i = 0; i < n; i++)
			if (!p2p_json_eq(json_object_array_get_idx(a, i),
					 json_object_array_get_idx(b, i)))
				return false;
		return true;
	}
	case json_type_object: {
		struct json_object_iterator it, end;

		if (json_object_object_length(a) !=
		    json_object_object_length(b))
			return false;
		it = json_object_iter_begin(a);
		end = json_object_iter_end(a);
		for (; !json_object_iter_equal(&it, &end);
		     json_object_iter_next(&it)) {
			struct json_object *bv;

			if (!json_object_object_get_ex(
				    b, json_object_iter_peek_name(&it), &bv))
				return false;
			if (!p2p_json_eq(json_object_iter_peek_value(&it), bv))
				return false;
		}
		return true;
	}
	case json_type_int:
	case json_type_double:
		break;
	}
	return false;
}

const char *p2p_json_compact(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					      JSON_C_TO_STRING_NOSLASHESCAPE);
}

bool p2p_json_int(struct json_object *o, int64_t *out)
{
	if (!o || !json_object_is_type(o, json_type_int))
		return false;
	errno = 0;
	*out = json_object_get_int64(o);
	/* json-c saturates out-of-range values and sets errno. */
	if (errno == ERANGE)
		return false;
	return true;
}

bool p2p_json_hash(struct json_object *o, uint8_t out[32])
{
	if (!o || !json_object_is_type(o, json_type_string) ||
	    json_object_get_string_len(o) != 64)
		return false;
	return hn_hex_to_hash(json_object_get_string(o), out) == 0;
}
