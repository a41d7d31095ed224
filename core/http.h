/*
 * http.h: the /v1a/ HTTP API (module "http"): libmicrohttpd driven by the
 * daemon's libev loop (external epoll mode, IPC.md section 5), answering
 * the hathor-core resources listed in docs/http-api.md with the same
 * paths, field names and error shapes.
 *
 * Invariants:
 *  - everything runs on the loop thread (MHD callbacks run inside MHD_run
 *    called from our watchers), so handlers use the ledger directly;
 *  - a request body is never buffered beyond cfg->http_max_body: larger
 *    uploads get 413 and the rest of the body is discarded;
 *  - every answered request is counted by (route, status code).
 */
#ifndef HN_CORE_HTTP_H
#define HN_CORE_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hn_daemon;
struct hn_http;

/* The "http" daemon module: opens cfg->api_listen into d->http unless
 * cfg->api_enabled is false (then d->http stays NULL).  Needs d->ledger
 * (open it after the ledger module). */
struct hn_daemon_module;
extern const struct hn_daemon_module hn_http_module;

/* Port the API listens on (useful with api_listen port 0), or 0. */
uint16_t hn_http_port(const struct hn_http *h);

/* Requests answered so far by route and status.  @path is the route
 * ("/v1a/version", ... or "other" for unknown paths). */
typedef void (*hn_http_counter_cb)(const char *path, unsigned status,
				   uint64_t count, void *arg);
/* Calls @cb once per (path, status) seen, in first-seen order. */
void hn_http_foreach_counter(const struct hn_http *h, hn_http_counter_cb cb,
			     void *arg);
/* Requests answered so far (all paths). */
uint64_t hn_http_requests(const struct hn_http *h);
/* Requests in progress (received, not yet answered). */
unsigned hn_http_in_flight(const struct hn_http *h);

#endif /* HN_CORE_HTTP_H */
