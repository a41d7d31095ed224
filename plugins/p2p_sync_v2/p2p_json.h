/*
 * p2p_json.h: JSON helpers for untrusted P2P payloads (json-c).
 */
#ifndef P2P_JSON_H
#define P2P_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

/* Parses exactly @len bytes (surrounding whitespace allowed, as Python's
 * json.loads) with a depth limit of 16.  Returns a new object (the caller
 * puts it) or NULL for malformed JSON.  A JSON null also yields NULL, with
 * *@is_null set (may be NULL). */
struct json_object *p2p_json_parse(const char *s, size_t len, bool *is_null);
/* p2p_json_parse() of a payload that must be an array: NULL when it is
 * malformed or not an array, else a new array with *@n its length. */
struct json_object *p2p_json_parse_array(const char *s, size_t len,
					 size_t *n);
/* Equality as Python compares parsed JSON (1 == 1.0). */
bool p2p_json_eq(struct json_object *a, struct json_object *b);
/* Compact serialization (hathor.util.json_dumps), borrowed from @o. */
const char *p2p_json_compact(struct json_object *o);
/* An integer that is a JSON integer (not a bool, not a float); sets *out. */
bool p2p_json_int(struct json_object *o, int64_t *out);
/* A string of exactly 64 hex digits; decodes into @out. */
bool p2p_json_hash(struct json_object *o, uint8_t out[32]);

#endif /* P2P_JSON_H */
