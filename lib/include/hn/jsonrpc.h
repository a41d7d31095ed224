/*
 * hn/jsonrpc.h: JSON-RPC 2.0 messages as hathor-node's IPC uses them
 * (docs/ipc.md), with json-c.
 *
 * One message = one JSON object: a request {"jsonrpc":"2.0","id":N,
 * "method":"...","params":{...}}, a notification (no "id"), or a response
 * {"jsonrpc":"2.0","id":N,"result":...} / {...,"error":{"code":C,
 * "message":"...","data":{...}}}.  Params are always by name (an object).
 * Wire conventions: hashes are 64 lower-case hex digits, vertex bytes are
 * standard base64, integers are JSON integers (u64 above INT64_MAX are not
 * representable and refused).
 *
 * Input is untrusted: hn_rpc_parse() checks the size before parsing, uses a
 * strict tokener with a small nesting limit and requires the whole buffer
 * to be one value.  Every extractor checks the JSON type (json-c coerces
 * silently otherwise).
 *
 * Ownership: functions marked HN_TAKES take the json_object reference
 * passed to them, also on failure.  Borrowed results live as long as the
 * object they were taken from.  Thread-agnostic (no global state).
 */
#ifndef HN_JSONRPC_H
#define HN_JSONRPC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "hn/err.h"

/* Marks a parameter whose reference the function takes (even on error). */
#define HN_TAKES

/* Version of the IPC protocol exchanged by "hello" (docs/ipc.md).  Bumped
 * on any incompatible change; a peer with another version is refused. */
#define HN_RPC_PROTO_VERSION 1

/* Default message size limit (both directions) when none is configured. */
#define HN_RPC_DEFAULT_MAX_MSG (16u * 1024u * 1024u)
/* Nesting limit of the tokener (our deepest message nests 4 levels). */
#define HN_RPC_MAX_DEPTH 16
/* Longest method name accepted. */
#define HN_RPC_MAX_METHOD 64

/* Error codes of the "error" object.  -32768..-32000 are JSON-RPC's; our
 * own are in its "server error" range.  Application failures use
 * HN_RPC_EAPP with data {"err": <enum hn_err / hathor_err value>,
 * "name": "ENOENT"}. */
enum hn_rpc_code {
	HN_RPC_PARSE_ERROR = -32700,    /* not JSON */
	HN_RPC_INVALID_REQUEST = -32600, /* JSON but not a request */
	HN_RPC_METHOD_NOT_FOUND = -32601,
	HN_RPC_INVALID_PARAMS = -32602,
	HN_RPC_INTERNAL = -32603,
	HN_RPC_EAPP = -32000,           /* the method failed: see data.err */
	HN_RPC_EVERSION = -32001,       /* hello: protocol version mismatch */
	HN_RPC_ETOOBIG = -32002,        /* request or reply over the limit */
	HN_RPC_EBUSY = -32003,          /* in-flight or rate limit reached */
	HN_RPC_ENOHELLO = -32004,       /* a call before a successful hello */
	HN_RPC_ECAPS = -32005,          /* hello: a required capability missing */
};

/* Negative codes not in enum hn_err but used across the ABI (errno). */
#define HN_EMSGSIZE (-EMSGSIZE)
#define HN_ETIMEDOUT (-ETIMEDOUT)
#define HN_EAGAIN (-EAGAIN)

/* An error object's contents (what a handler fails with, what a client
 * got back). */
struct hn_rpc_error {
	int code;               /* enum hn_rpc_code */
	int app;                /* HN_RPC_EAPP: data.err; else the hn_err
				 * closest to @code */
	char message[160];      /* NUL-terminated */
};

/* Fills @e and returns @code-derived hn_err (so handlers can "return
 * hn_rpc_error_set(..)"). */
int hn_rpc_error_set(struct hn_rpc_error *e, int code, const char *fmt, ...)
	HN_PRINTF(3, 4);
/* An application error: code HN_RPC_EAPP with data.err = @app (< 0). */
int hn_rpc_error_app(struct hn_rpc_error *e, int app, const char *fmt, ...)
	HN_PRINTF(3, 4);
/* The enum hn_err a JSON-RPC code maps to (HN_EAPP codes map to -EIO
 * without data). */
int hn_rpc_code_to_err(int code);
/* Name of an hn_err for data.name ("ENOENT", "EPARSE", ...). */
const char *hn_rpc_err_name(int app);

/* --- parsing ------------------------------------------------------------ */

/* Parses @len bytes (not NUL-terminated) as exactly one JSON value.
 * Returns 0 and *@out (caller puts), HN_EMSGSIZE if @len > @max (nothing
 * parsed), or HN_EPARSE with @err saying where. */
int hn_rpc_parse(const char *buf, size_t len, size_t max,
		 struct json_object **out, struct hn_error *err);

/* A parsed request (all pointers borrowed from @root). */
struct hn_rpc_req {
	struct json_object *root;       /* owned: hn_rpc_req_release() */
	struct json_object *id;         /* NULL: notification */
	int64_t id_num;                 /* id when it is an integer */
	const char *method;
	struct json_object *params;     /* object, never NULL after parse
					 * (an absent params reads as {}) */
};

/* Parses @buf as a request.  On failure returns a negative code and
 * fills @e with the JSON-RPC error to answer (PARSE_ERROR, ETOOBIG,
 * INVALID_REQUEST); @out->id is then set if one could be read (answer
 * with it) or NULL (answer with "id": null).  @out must be released
 * either way. */
int hn_rpc_req_parse(const char *buf, size_t len, size_t max,
		     struct hn_rpc_req *out, struct hn_rpc_error *e);
void hn_rpc_req_release(struct hn_rpc_req *r);

/* A parsed response (borrowed from @root). */
struct hn_rpc_resp {
	struct json_object *root;       /* owned: hn_rpc_resp_release() */
	int64_t id;                     /* -1: null id */
	struct json_object *result;     /* NULL when an error */
	bool is_error;
	struct hn_rpc_error error;      /* when is_error */
	struct json_object *error_data; /* error.data or NULL */
};

/* Parses @buf as a response.  Returns 0, HN_EMSGSIZE, HN_EPARSE (not JSON)
 * or HN_EPROTO (JSON but not a response) with @err. */
int hn_rpc_resp_parse(const char *buf, size_t len, size_t max,
		      struct hn_rpc_resp *out, struct hn_error *err);
void hn_rpc_resp_release(struct hn_rpc_resp *r);

/* --- building ----------------------------------------------------------- */

/* {"jsonrpc":"2.0","id":@id,"method":@method,"params":@params}; @id < 0
 * makes a notification.  @params NULL: {}.  Returns NULL on ENOMEM. */
struct json_object *hn_rpc_request(int64_t id, const char *method,
				   HN_TAKES struct json_object *params);
/* Response objects.  @id borrowed (NULL: null id). */
struct json_object *hn_rpc_result(struct json_object *id,
				  HN_TAKES struct json_object *result);
struct json_object *hn_rpc_error_obj(struct json_object *id,
				     const struct hn_rpc_error *e);

/* Serializes @o (plain, no slash escaping) and checks the size: returns
 * 0 with *@s (borrowed from @o, valid until it changes or is put) and
 * *@len, or HN_EMSGSIZE if longer than @max. */
int hn_rpc_serialize(struct json_object *o, size_t max, const char **s,
		     size_t *len);

/* --- values ------------------------------------------------------------- */

/* Builders (NULL on ENOMEM). */
struct json_object *hn_rpc_j_hash(const uint8_t hash[32]);
struct json_object *hn_rpc_j_bytes(const uint8_t *b, size_t len);
struct json_object *hn_rpc_j_u64(uint64_t v);  /* > INT64_MAX: clamps */
struct json_object *hn_rpc_j_hashes(const uint8_t (*h)[32], size_t n);

/* Adds @v under @key (takes @v, also on failure).  Returns 0 or HN_ENOMEM. */
int hn_rpc_add(struct json_object *obj, const char *key,
	       HN_TAKES struct json_object *v);

/* Extractors: check the type, convert into @out.  Return 0 or HN_EINVAL
 * with @err naming what was expected (the caller prefixes the name). */
int hn_rpc_v_hash(struct json_object *v, uint8_t out[32],
		  struct hn_error *err);
/* Bytes: malloc'd *@out (caller frees), at most @max bytes decoded. */
int hn_rpc_v_bytes(struct json_object *v, size_t max, uint8_t **out,
		   size_t *len, struct hn_error *err);
int hn_rpc_v_u64(struct json_object *v, uint64_t *out, struct hn_error *err);
int hn_rpc_v_i64(struct json_object *v, int64_t *out, struct hn_error *err);
int hn_rpc_v_bool(struct json_object *v, bool *out, struct hn_error *err);
int hn_rpc_v_double(struct json_object *v, double *out, struct hn_error *err);
/* Borrowed string. */
int hn_rpc_v_str(struct json_object *v, const char **out,
		 struct hn_error *err);
/* Array of hashes: malloc'd *@out with *@n entries (1..@max; 0 allowed
 * when @max_allow_empty). */
int hn_rpc_v_hashes(struct json_object *v, size_t max, bool allow_empty,
		    uint8_t (**out)[32], size_t *n, struct hn_error *err);
/* Borrowed array (type check + count bounds). */
int hn_rpc_v_array(struct json_object *v, size_t max, size_t *n,
		   struct hn_error *err);

/* --- named params ------------------------------------------------------- */

enum hn_rpc_ptype {
	HN_RPC_P_HASH = 1,      /* uint8_t[32] */
	HN_RPC_P_BYTES,         /* struct hn_rpc_bytes */
	HN_RPC_P_U64,           /* uint64_t */
	HN_RPC_P_I64,           /* int64_t */
	HN_RPC_P_BOOL,          /* bool */
	HN_RPC_P_DOUBLE,        /* double */
	HN_RPC_P_STR,           /* const char * (borrowed) */
	HN_RPC_P_HASHES,        /* struct hn_rpc_hashes */
	HN_RPC_P_JSON,          /* struct json_object * (borrowed, any) */
	HN_RPC_P_ARRAY,         /* struct json_object * (borrowed array) */
};

struct hn_rpc_bytes {
	uint8_t *data;          /* malloc'd; free() */
	size_t len;
};

struct hn_rpc_hashes {
	uint8_t (*h)[32];       /* malloc'd; free() */
	size_t n;
};

/* One parameter spec.  @seen (may be NULL) tells whether an optional one
 * was present.  @max: bytes / array items cap (0: HN_RPC_DEFAULT_MAX_MSG
 * bytes, 10000 items). */
struct hn_rpc_param {
	const char *name;
	enum hn_rpc_ptype type;
	bool required;
	void *out;
	bool *seen;
	size_t max;
};

/* Reads @params (an object) by @spec (@n entries).  Unknown names, missing
 * required ones and wrong types fail with HN_RPC_INVALID_PARAMS in @e
 * ("params.hash: expected 64 lower-case hex digits").  On failure every
 * output allocated so far is freed again and zeroed. */
int hn_rpc_params(struct json_object *params, const struct hn_rpc_param *spec,
		  size_t n, struct hn_rpc_error *e);
/* Frees what hn_rpc_params allocated (bytes, hashes).  Idempotent. */
void hn_rpc_params_release(const struct hn_rpc_param *spec, size_t n);

/* --- hello -------------------------------------------------------------- */

/* The first exchange on every connection: the client calls
 *   hello {"proto": HN_RPC_PROTO_VERSION, "role": "p2p-host", "pid": N,
 *          "caps": ["node.v1", ...]}
 * and the server answers {"proto": V, "role": "...", "pid": N,
 * "caps": [...]} or an error (HN_RPC_EVERSION naming both versions,
 * HN_RPC_ECAPS naming the missing capability). */
struct hn_rpc_hello {
	int64_t proto;
	const char *role;               /* borrowed */
	int64_t pid;
	struct json_object *caps;       /* borrowed array of strings */
};

/* Builds hello params / result. @caps: NULL-terminated list. */
struct json_object *hn_rpc_hello_obj(const char *role,
				     const char *const *caps);
/* Parses and checks a hello object: proto must be HN_RPC_PROTO_VERSION
 * (else HN_RPC_EVERSION), every name in @need (NULL-terminated, may be
 * NULL) must be in caps (else HN_RPC_ECAPS). */
int hn_rpc_hello_check(struct json_object *o, const char *const *need,
		       struct hn_rpc_hello *out, struct hn_rpc_error *e);
/* True if the caps array lists @name. */
bool hn_rpc_caps_has(struct json_object *caps, const char *name);

#endif /* HN_JSONRPC_H */
