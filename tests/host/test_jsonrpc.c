/*
 * test_jsonrpc.c: JSON-RPC codec (lib/jsonrpc.c): size limit before
 * parsing, strict parsing, request/response shapes, error objects, typed
 * params, hello version and capability checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hn/jsonrpc.h"

static int req(const char *s, size_t max, struct hn_rpc_req *r,
	       struct hn_rpc_error *e)
{
	memset(e, 0, sizeof(*e));
	return hn_rpc_req_parse(s, strlen(s), max, r, e);
}

static void test_parse_limits(void **state)
{
	struct json_object *o = NULL;
	struct hn_error err = { 0 };
	const char *s = "{\"a\":1}";
	char deep[200];
	int i;

	/* Over the limit: refused before parsing, even if valid. */
	assert_int_equal(hn_rpc_parse(s, strlen(s), 6, &o, &err), HN_EMSGSIZE);
	assert_null(o);
	assert_int_equal(hn_rpc_parse(s, strlen(s), 7, &o, &err), 0);
	json_object_put(o);
	/* Trailing garbage, truncation, non-strict syntax, empty input. */
	o = NULL;
	assert_int_equal(hn_rpc_parse("{} x", 4, 100, &o, &err), HN_EPARSE);
	assert_null(o);
	assert_int_equal(hn_rpc_parse("{} \n", 4, 100, &o, &err), 0);
	json_object_put(o);
	assert_int_equal(hn_rpc_parse("{\"a\":", 5, 100, &o, &err), HN_EPARSE);
	/* (json-c 0.16's strict mode still takes 'single-quoted' keys and
	 * NaN; values are type-checked later, so neither gets further.) */
	assert_int_equal(hn_rpc_parse("{\"a\":'x'}", 9, 100, &o, &err),
			 HN_EPARSE);
	assert_int_equal(hn_rpc_parse("{a:1}", 5, 100, &o, &err), HN_EPARSE);
	assert_int_equal(hn_rpc_parse("[1,]", 4, 100, &o, &err), HN_EPARSE);
	assert_int_equal(hn_rpc_parse("", 0, 100, &o, &err), HN_EPARSE);
	/* The length is explicit: a NUL inside the buffer is not an end. */
	assert_int_equal(hn_rpc_parse("{}\0{}", 5, 100, &o, &err), HN_EPARSE);
	assert_non_null(strstr(err.msg, "trailing"));
	/* Depth limit. */
	for (i = 0; i < 40; i++)
		deep[i] = '[';
	for (i = 40; i < 80; i++)
		deep[i] = ']';
	assert_int_equal(hn_rpc_parse(deep, 80, 1000, &o, &err), HN_EPARSE);
	assert_int_equal(hn_rpc_parse(deep + 30, 20, 1000, &o, &err), 0);
	json_object_put(o);
}

static void test_request_parse(void **state)
{
	struct hn_rpc_req r;
	struct hn_rpc_error e;

	assert_int_equal(req("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"m\","
			     "\"params\":{\"x\":1}}", 1000, &r, &e), 0);
	assert_int_equal(r.id_num, 7);
	assert_string_equal(r.method, "m");
	assert_true(json_object_is_type(r.params, json_type_object));
	hn_rpc_req_release(&r);

	/* Notification without params: params reads as {}. */
	assert_int_equal(req("{\"jsonrpc\":\"2.0\",\"method\":\"n\"}", 1000,
			     &r, &e), 0);
	assert_null(r.id);
	assert_int_equal(json_object_object_length(r.params), 0);
	hn_rpc_req_release(&r);

	/* Not JSON: parse error, no id. */
	assert_true(req("{\"jsonrpc\":", 1000, &r, &e) < 0);
	assert_int_equal(e.code, HN_RPC_PARSE_ERROR);
	assert_null(r.id);
	hn_rpc_req_release(&r);

	/* Oversize: ETOOBIG. */
	assert_true(req("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"}", 10,
			&r, &e) < 0);
	assert_int_equal(e.code, HN_RPC_ETOOBIG);
	hn_rpc_req_release(&r);

	/* Not an object / wrong version / method type: invalid request,
	 * answered with the id when there is one. */
	assert_true(req("[1,2]", 1000, &r, &e) < 0);
	assert_int_equal(e.code, HN_RPC_INVALID_REQUEST);
	hn_rpc_req_release(&r);
	assert_true(req("{\"jsonrpc\":\"1.0\",\"id\":3,\"method\":\"m\"}",
			1000, &r, &e) < 0);
	assert_int_equal(e.code, HN_RPC_INVALID_REQUEST);
	assert_non_null(r.id);
	assert_int_equal(r.id_num, 3);
	hn_rpc_req_release(&r);
	assert_true(req("{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":5}", 1000,
			&r, &e) < 0);
	assert_int_equal(e.code, HN_RPC_INVALID_REQUEST);
	assert_int_equal(r.id_num, 4);
	hn_rpc_req_release(&r);
	assert_true(req("{\"jsonrpc\":\"2.0\",\"id\":[1],\"method\":\"m\"}",
			1000, &r, &e) < 0);
	assert_int_equal(e.code, HN_RPC_INVALID_REQUEST);
	assert_null(r.id);
	hn_rpc_req_release(&r);
	/* Positional params are refused: by-name only. */
	assert_true(req("{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"m\","
			"\"params\":[1]}", 1000, &r, &e) < 0);
	assert_int_equal(e.code, HN_RPC_INVALID_PARAMS);
	hn_rpc_req_release(&r);
}

static void test_response_roundtrip(void **state)
{
	struct hn_rpc_error e = { 0 };
	struct json_object *id = json_object_new_int64(42), *o;
	struct hn_rpc_resp r;
	struct hn_error err = { 0 };
	const char *s;
	size_t len;

	/* Result. */
	o = hn_rpc_result(id, json_object_new_boolean(1));
	assert_int_equal(hn_rpc_serialize(o, 1000, &s, &len), 0);
	assert_string_equal(s, "{\"jsonrpc\":\"2.0\",\"id\":42,"
			    "\"result\":true}");
	assert_int_equal(hn_rpc_serialize(o, len - 1, &s, &len), HN_EMSGSIZE);
	assert_int_equal(hn_rpc_serialize(o, 1000, &s, &len), 0);
	assert_int_equal(hn_rpc_resp_parse(s, len, 1000, &r, &err), 0);
	assert_int_equal(r.id, 42);
	assert_false(r.is_error);
	assert_true(json_object_get_boolean(r.result));
	hn_rpc_resp_release(&r);
	json_object_put(o);

	/* Application error keeps its hn_err code through data.err. */
	hn_rpc_error_app(&e, HN_ENOENT, "vertex %s not found", "ab");
	o = hn_rpc_error_obj(id, &e);
	assert_int_equal(hn_rpc_serialize(o, 1000, &s, &len), 0);
	assert_non_null(strstr(s, "\"code\":-32000"));
	assert_non_null(strstr(s, "\"name\":\"ENOENT\""));
	assert_int_equal(hn_rpc_resp_parse(s, len, 1000, &r, &err), 0);
	assert_true(r.is_error);
	assert_int_equal(r.error.code, HN_RPC_EAPP);
	assert_int_equal(r.error.app, HN_ENOENT);
	assert_string_equal(r.error.message, "vertex ab not found");
	hn_rpc_resp_release(&r);
	json_object_put(o);

	/* Protocol error with a null id. */
	hn_rpc_error_set(&e, HN_RPC_METHOD_NOT_FOUND, "no method 'x'");
	o = hn_rpc_error_obj(NULL, &e);
	assert_int_equal(hn_rpc_serialize(o, 1000, &s, &len), 0);
	assert_int_equal(hn_rpc_resp_parse(s, len, 1000, &r, &err), 0);
	assert_int_equal(r.id, -1);
	assert_int_equal(r.error.app, HN_EUNSUPPORTED);
	hn_rpc_resp_release(&r);
	json_object_put(o);
	json_object_put(id);

	/* Malformed responses. */
	s = "{\"jsonrpc\":\"2.0\",\"id\":1}";
	assert_int_equal(hn_rpc_resp_parse(s, strlen(s), 1000, &r, &err),
			 HN_EPROTO);
	hn_rpc_resp_release(&r);
	s = "{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":1,\"error\":{}}";
	assert_int_equal(hn_rpc_resp_parse(s, strlen(s), 1000, &r, &err),
			 HN_EPROTO);
	hn_rpc_resp_release(&r);
	s = "{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":\"x\"}}";
	assert_int_equal(hn_rpc_resp_parse(s, strlen(s), 1000, &r, &err),
			 HN_EPROTO);
	hn_rpc_resp_release(&r);
	s = "{\"jsonrpc\":\"2.0\",\"id\":\"1\",\"result\":1}";
	assert_int_equal(hn_rpc_resp_parse(s, strlen(s), 1000, &r, &err),
			 HN_EPROTO);
	hn_rpc_resp_release(&r);
}

static void test_request_build(void **state)
{
	struct json_object *p = json_object_new_object(), *o;
	struct hn_rpc_req r;
	struct hn_rpc_error e;
	uint8_t h[32];
	const char *s;
	size_t len;

	memset(h, 0xab, sizeof(h));
	hn_rpc_add(p, "hash", hn_rpc_j_hash(h));
	o = hn_rpc_request(9, "get_vertex", p);
	assert_non_null(o);
	assert_int_equal(hn_rpc_serialize(o, 1000, &s, &len), 0);
	assert_int_equal(hn_rpc_req_parse(s, len, 1000, &r, &e), 0);
	assert_int_equal(r.id_num, 9);
	assert_string_equal(r.method, "get_vertex");
	hn_rpc_req_release(&r);
	json_object_put(o);
	/* id < 0: notification. */
	o = hn_rpc_request(-1, "events", NULL);
	assert_int_equal(hn_rpc_serialize(o, 1000, &s, &len), 0);
	assert_null(strstr(s, "\"id\""));
	json_object_put(o);
}

static int params_of(const char *json, const struct hn_rpc_param *spec,
		     size_t n, struct hn_rpc_error *e)
{
	struct json_object *o = json_tokener_parse(json);
	int rc;

	assert_non_null(o);
	memset(e, 0, sizeof(*e));
	rc = hn_rpc_params(o, spec, n, e);
	json_object_put(o);
	return rc;
}

static void test_params(void **state)
{
	uint8_t hash[32];
	struct hn_rpc_bytes b;
	struct hn_rpc_hashes hs;
	uint64_t u = 0;
	bool flag = false, seen_flag = true;
	struct hn_rpc_error e;
	const struct hn_rpc_param spec[] = {
		{ "hash", HN_RPC_P_HASH, true, hash, NULL, 0 },
		{ "bytes", HN_RPC_P_BYTES, true, &b, NULL, 8 },
		{ "n", HN_RPC_P_U64, true, &u, NULL, 0 },
		{ "flag", HN_RPC_P_BOOL, false, &flag, &seen_flag, 0 },
		{ "hashes", HN_RPC_P_HASHES, false, &hs, NULL, 2 },
	};
	const size_t n = sizeof(spec) / sizeof(spec[0]);
	char json[512];
	const char *hx = "00112233445566778899aabbccddeeff"
			 "00112233445566778899aabbccddeeff";

	snprintf(json, sizeof(json), "{\"hash\":\"%s\",\"bytes\":\"AAEC\","
		 "\"n\":5,\"hashes\":[\"%s\"]}", hx, hx);
	assert_int_equal(params_of(json, spec, n, &e), 0);
	assert_int_equal(hash[1], 0x11);
	assert_int_equal(b.len, 3);
	assert_int_equal(b.data[2], 2);
	assert_int_equal(u, 5);
	assert_false(seen_flag);
	assert_int_equal(hs.n, 1);
	hn_rpc_params_release(spec, n);
	assert_null(b.data);

	/* Upper-case hex is refused (wire form is lower case). */
	snprintf(json, sizeof(json), "{\"hash\":\"%s\",\"bytes\":\"\","
		 "\"n\":5}", "00112233445566778899AABBCCDDEEFF"
		 "00112233445566778899aabbccddeeff");
	assert_true(params_of(json, spec, n, &e) < 0);
	assert_int_equal(e.code, HN_RPC_INVALID_PARAMS);
	assert_non_null(strstr(e.message, "params.hash"));
	/* Wrong types: json-c would coerce, we do not. */
	snprintf(json, sizeof(json), "{\"hash\":\"%s\",\"bytes\":\"\","
		 "\"n\":\"5\"}", hx);
	assert_true(params_of(json, spec, n, &e) < 0);
	assert_non_null(strstr(e.message, "params.n"));
	snprintf(json, sizeof(json), "{\"hash\":\"%s\",\"bytes\":\"\","
		 "\"n\":-1}", hx);
	assert_true(params_of(json, spec, n, &e) < 0);
	snprintf(json, sizeof(json), "{\"hash\":\"%s\",\"bytes\":\"\","
		 "\"n\":18446744073709551615}", hx);
	assert_true(params_of(json, spec, n, &e) < 0);
	snprintf(json, sizeof(json), "{\"hash\":\"%s\",\"bytes\":\"\","
		 "\"n\":1,\"flag\":1}", hx);
	assert_true(params_of(json, spec, n, &e) < 0);
	assert_non_null(strstr(e.message, "params.flag"));
	/* Bad base64, too many bytes (8 max), too many hashes (2 max). */
	snprintf(json, sizeof(json), "{\"hash\":\"%s\",\"bytes\":\"A=AA\","
		 "\"n\":1}", hx);
	assert_true(params_of(json, spec, n, &e) < 0);
	assert_non_null(strstr(e.message, "base64"));
	snprintf(json, sizeof(json), "{\"hash\":\"%s\",\"bytes\":"
		 "\"AAAAAAAAAAAA\",\"n\":1}", hx);
	assert_true(params_of(json, spec, n, &e) < 0);
	snprintf(json, sizeof(json), "{\"hash\":\"%s\",\"bytes\":\"\",\"n\":1,"
		 "\"hashes\":[\"%s\",\"%s\",\"%s\"]}", hx, hx, hx, hx);
	assert_true(params_of(json, spec, n, &e) < 0);
	assert_null(b.data);    /* released on failure */
	/* Missing and unknown names. */
	assert_true(params_of("{\"bytes\":\"\",\"n\":1}", spec, n, &e) < 0);
	assert_non_null(strstr(e.message, "params.hash: missing"));
	snprintf(json, sizeof(json), "{\"hash\":\"%s\",\"bytes\":\"\","
		 "\"n\":1,\"extra\":0}", hx);
	assert_true(params_of(json, spec, n, &e) < 0);
	assert_non_null(strstr(e.message, "params.extra: unknown"));
	/* Optional present. */
	snprintf(json, sizeof(json), "{\"hash\":\"%s\",\"bytes\":\"\","
		 "\"n\":1,\"flag\":true}", hx);
	assert_int_equal(params_of(json, spec, n, &e), 0);
	assert_true(flag);
	assert_true(seen_flag);
	hn_rpc_params_release(spec, n);
}

static void test_hello(void **state)
{
	static const char *const caps[] = { "node.v1", "events.v1", NULL };
	static const char *const need_ok[] = { "node.v1", NULL };
	static const char *const need_bad[] = { "node.v2", NULL };
	struct json_object *o = hn_rpc_hello_obj("p2p-host", caps);
	struct hn_rpc_hello h;
	struct hn_rpc_error e = { 0 };

	assert_int_equal(hn_rpc_hello_check(o, need_ok, &h, &e), 0);
	assert_string_equal(h.role, "p2p-host");
	assert_true(hn_rpc_caps_has(h.caps, "events.v1"));
	assert_true(hn_rpc_hello_check(o, need_bad, &h, &e) < 0);
	assert_int_equal(e.code, HN_RPC_ECAPS);
	assert_non_null(strstr(e.message, "node.v2"));
	/* Version mismatch names both versions. */
	json_object_object_add(o, "proto",
			       json_object_new_int(HN_RPC_PROTO_VERSION + 1));
	assert_int_equal(hn_rpc_hello_check(o, NULL, &h, &e), HN_EABI);
	assert_int_equal(e.code, HN_RPC_EVERSION);
	assert_non_null(strstr(e.message, "protocol 2"));
	assert_non_null(strstr(e.message, "speaks 1"));
	json_object_object_add(o, "proto", json_object_new_string("1"));
	assert_true(hn_rpc_hello_check(o, NULL, &h, &e) < 0);
	assert_int_equal(e.code, HN_RPC_INVALID_PARAMS);
	json_object_put(o);
}

static void test_values(void **state)
{
	uint8_t b[3] = { 0xff, 0x00, 0x10 }, *out = NULL;
	struct json_object *j = hn_rpc_j_bytes(b, 3);
	struct hn_error err;
	size_t len = 0;
	const char *s;

	assert_string_equal(json_object_get_string(j), "/wAQ");
	assert_int_equal(hn_rpc_v_bytes(j, 3, &out, &len, &err), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(out, b, 3);
	free(out);
	assert_true(hn_rpc_v_bytes(j, 2, &out, &len, &err) < 0);
	json_object_put(j);
	j = hn_rpc_j_u64(UINT64_MAX);
	assert_int_equal(json_object_get_int64(j), INT64_MAX);
	json_object_put(j);
	/* NUL inside a string is refused. */
	j = json_object_new_string_len("a\0b", 3);
	assert_true(hn_rpc_v_str(j, &s, &err) < 0);
	json_object_put(j);
	assert_string_equal(hn_rpc_err_name(HN_ECLOSED), "ECLOSED");
	assert_int_equal(hn_rpc_code_to_err(HN_RPC_ETOOBIG), HN_EMSGSIZE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_limits),
		cmocka_unit_test(test_request_parse),
		cmocka_unit_test(test_response_roundtrip),
		cmocka_unit_test(test_request_build),
		cmocka_unit_test(test_params),
		cmocka_unit_test(test_hello),
		cmocka_unit_test(test_values),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
