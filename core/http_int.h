/*
 * http_int.h: shared by core/http*.c only.  http.c owns the MHD daemon,
 * routing, body limits, counters and the reply; http_<group>.c hold the
 * handlers of one endpoint group.
 *
 * A handler fills r->status and r->json (a json-c object the reply takes
 * over) and returns nothing; r->json NULL means "internal error".
 */
#ifndef HN_CORE_HTTP_INT_H
#define HN_CORE_HTTP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <ev.h>
#include <json-c/json.h>
#include <microhttpd.h>

#include "http.h"

struct hn_daemon;
struct hn_ledger;

#define HTTP__MAX_COUNTERS 128

struct http__counter {
	const char *path;               /* static string */
	unsigned status;
	uint64_t n;
};

struct hn_http {
	struct hn_daemon *d;
	struct ev_loop *loop;
	struct MHD_Daemon *mhd;
	ev_io io;                       /* MHD's epoll fd */
	ev_timer timer;                 /* MHD_get_timeout */
	uint16_t port;
	size_t max_body;
	char *cors_origin;              /* NULL: no CORS header */
	bool stopped;                   /* listener closed (stop()) */
	unsigned in_flight;
	uint64_t n_requests;
	size_t n_counters;
	struct http__counter counters[HTTP__MAX_COUNTERS];
};

enum http__method {
	HTTP__GET = 1 << 0,
	HTTP__POST = 1 << 1,
};

/* One request in progress (MHD's per-request context). */
struct http__req {
	struct hn_http *h;
	struct MHD_Connection *conn;
	const struct http__route *route;  /* NULL: unknown path */
	enum http__method method;
	bool method_ok;
	char *body;                     /* POST body, NUL-terminated */
	size_t body_len;
	bool too_big;
	bool answered;                  /* a response was queued */
	double t0;                      /* monotonic time of arrival */
	/* Result, set by the handler. */
	unsigned status;
	struct json_object *json;
};

typedef void (*http__handler)(struct http__req *r);

struct http__route {
	const char *path;               /* "/v1a/version" */
	int methods;                    /* enum http__method bits */
	http__handler fn;
	/* Errors as hathor's api_catch_exceptions (mining.py): the status
	 * code with {"error": msg}.  Otherwise 400/404 answer 200 with
	 * {"success": false, "message": msg}, as the other resources. */
	bool api_error;
};

/* Query argument @name or NULL (borrowed for the request). */
const char *http__arg(struct http__req *r, const char *name);
/* Sets {"success": false, "message": @msg}; @status 400 and 404 are
 * answered 200 inside a route, as the reference (docs/http-api.md, Error
 * format); routes with api_error get {"error": @msg} with @status. */
void http__fail(struct http__req *r, unsigned status, const char *msg);
/* Sets @obj as the answer with @status (takes @obj). */
void http__ok(struct http__req *r, unsigned status, struct json_object *obj);
/* The ledger, or NULL (then answers 503 itself and returns NULL). */
struct hn_ledger *http__ledger(struct http__req *r);
/* JSON helpers: hex string of @n bytes; never NULL on success. */
struct json_object *http__hex(const uint8_t *b, size_t n);
/* Parses a JSON POST body into an object; answers the reference's error
 * and returns NULL when it is not a JSON object. */
struct json_object *http__body_json(struct http__req *r);

/* Handlers (http_node.c). */
void http__version(struct http__req *r);
void http__status(struct http__req *r);
void http__health(struct http__req *r);
void http__readiness(struct http__req *r);
/* manager.can_start_mining() (http_node.c). */
bool http__can_start_mining(struct http__req *r);
/* http_tx.c */
void http__transaction(struct http__req *r);
void http__block_at_height(struct http__req *r);
void http__dashboard_tx(struct http__req *r);
void http__mempool(struct http__req *r);
void http__tx_parents(struct http__req *r);
void http__decode_tx(struct http__req *r);
void http__push_tx(struct http__req *r);
/* http_mining.c */
void http__get_block_template(struct http__req *r);
void http__submit_block(struct http__req *r);
void http__getmininginfo(struct http__req *r);
/* http_feature.c */
void http__feature(struct http__req *r);
/* Shared JSON builder (http_tx.c): the reference get_tx_extra_data():
 * {success, tx, meta, spent_outputs}.  0, HN_ENOENT, or another negative
 * code. */
int http__tx_extra(struct hn_ledger *l, const uint8_t hash[32],
		   struct json_object **out);

#endif /* HN_CORE_HTTP_INT_H */
