/*
 * http.c: the "http" daemon module: libmicrohttpd in external epoll mode on
 * the daemon's libev loop (IPC.md section 5), routing to the handlers of
 * http_node.c, http_tx.c and http_mining.c, body limits, counters.
 *
 * Loop integration: one ev_io on MHD's epoll fd and one ev_timer armed from
 * MHD_get_timeout() after every MHD_run() (MHD's sockets are
 * edge-triggered: never wait longer than it says).
 *
 * Request life: MHD calls the access handler first with *con_cls NULL (we
 * allocate a struct http__req), then once per upload chunk (appended while
 * below max_body, discarded above it), then once more to answer.  The
 * completion callback frees the request; in_flight counts the requests
 * between those two points and is what busy() reports.
 */
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

/* config.h has a comment containing a glob (-Wcomment). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcomment"
#include "config.h"
#pragma GCC diagnostic pop
#include "daemon.h"
#include "http_int.h"
#include "metrics.h"

#include "hn/err.h"
#include "hn/hex.h"
#include "hn/log.h"

#define HTTP_DEFAULT_MAX_BODY (1024 * 1024)
#define HTTP_DEFAULT_MAX_CONN 256
#define HTTP_DEFAULT_TIMEOUT 30
/* Above this multiple of max_body a declared Content-Length is refused
 * at once (connection closed) instead of being read and discarded. */
#define HTTP_DISCARD_FACTOR 16

static const struct http__route routes[] = {
	{ "/v1a/version", HTTP__GET, http__version, false },
	{ "/v1a/status", HTTP__GET, http__status, false },
	{ "/v1a/health", HTTP__GET, http__health, false },
	{ "/v1a/p2p/readiness", HTTP__GET, http__readiness, false },
	{ "/v1a/transaction", HTTP__GET, http__transaction, false },
	{ "/v1a/block_at_height", HTTP__GET, http__block_at_height, false },
	{ "/v1a/dashboard_tx", HTTP__GET, http__dashboard_tx, false },
	{ "/v1a/mempool", HTTP__GET, http__mempool, false },
	{ "/v1a/tx_parents", HTTP__GET, http__tx_parents, false },
	{ "/v1a/decode_tx", HTTP__GET, http__decode_tx, false },
	{ "/v1a/push_tx", HTTP__GET | HTTP__POST, http__push_tx, false },
	{ "/v1a/get_block_template", HTTP__GET, http__get_block_template, true },
	{ "/v1a/submit_block", HTTP__POST, http__submit_block, true },
	{ "/v1a/getmininginfo", HTTP__GET, http__getmininginfo, false },
	{ "/v1a/feature", HTTP__GET, http__feature, false },
};
#define N_ROUTES (sizeof(routes) / sizeof(routes[0]))

/* --- helpers for handlers ------------------------------------------------ */

const char *http__arg(struct http__req *r, const char *name)
{
	return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND,
					   name);
}

void http__ok(struct http__req *r, unsigned status, struct json_object *obj)
{
	json_object_put(r->json);
	r->status = status;
	r->json = obj;
}

void http__fail(struct http__req *r, unsigned status, const char *msg)
{
	struct json_object *o = json_object_new_object();

	if (r->route && r->route->api_error) {
		if (o)
			json_object_object_add(o, "error",
					       json_object_new_string(msg));
		http__ok(r, status, o);
		return;
	}
	if (r->route && (status == MHD_HTTP_BAD_REQUEST ||
			 status == MHD_HTTP_NOT_FOUND))
		status = MHD_HTTP_OK;
	if (o) {
		json_object_object_add(o, "success",
				       json_object_new_boolean(0));
		json_object_object_add(o, "message",
				       json_object_new_string(msg));
	}
	http__ok(r, status, o);
}

struct hn_ledger *http__ledger(struct http__req *r)
{
	if (!r->h->d || !r->h->d->ledger) {
		http__fail(r, MHD_HTTP_SERVICE_UNAVAILABLE, "ledger not open");
		return NULL;
	}
	return r->h->d->ledger;
}

struct json_object *http__hex(const uint8_t *b, size_t n)
{
	char *s = malloc(2 * n + 1);
	struct json_object *o;

	if (!s)
		return NULL;
	hn_hex_encode(b, n, s);
	o = json_object_new_string(s);
	free(s);
	return o;
}

struct json_object *http__body_json(struct http__req *r)
{
	struct json_tokener *tok;
	struct json_object *o;
	size_t end;

	if (!r->body || r->body_len == 0) {
		http__fail(r, MHD_HTTP_BAD_REQUEST, "Invalid JSON");
		return NULL;
	}
	tok = json_tokener_new_ex(32);
	if (!tok) {
		http__ok(r, 500, NULL);
		return NULL;
	}
	o = json_tokener_parse_ex(tok, r->body, (int)r->body_len);
	end = json_tokener_get_parse_end(tok);
	/* trailing whitespace (a final newline) is fine, anything else not */
	while (end < r->body_len && strchr(" \t\r\n", r->body[end]))
		end++;
	if (!o || json_tokener_get_error(tok) != json_tokener_success ||
	    end != r->body_len ||
	    !json_object_is_type(o, json_type_object)) {
		json_object_put(o);
		json_tokener_free(tok);
		http__fail(r, MHD_HTTP_BAD_REQUEST, "Invalid JSON");
		return NULL;
	}
	json_tokener_free(tok);
	return o;
}

/* --- counters ------------------------------------------------------------- */

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void count(struct hn_http *h, const char *path, unsigned status)
{
	size_t i;

	h->n_requests++;
	for (i = 0; i < h->n_counters; i++)
		if (h->counters[i].path == path &&
		    h->counters[i].status == status) {
			h->counters[i].n++;
			return;
		}
	if (h->n_counters == HTTP__MAX_COUNTERS)
		return; /* bounded: 14 routes x the few codes we send */
	h->counters[h->n_counters].path = path;
	h->counters[h->n_counters].status = status;
	h->counters[h->n_counters].n = 1;
	h->n_counters++;
}

void hn_http_foreach_counter(const struct hn_http *h, hn_http_counter_cb cb,
			     void *arg)
{
	size_t i;

	if (!h)
		return;
	for (i = 0; i < h->n_counters; i++)
		cb(h->counters[i].path, h->counters[i].status,
		   h->counters[i].n, arg);
}

uint64_t hn_http_requests(const struct hn_http *h)
{
	return h ? h->n_requests : 0;
}

unsigned hn_http_in_flight(const struct hn_http *h)
{
	return h ? h->in_flight : 0;
}

uint16_t hn_http_port(const struct hn_http *h)
{
	return h ? h->port : 0;
}

/* --- answering ------------------------------------------------------------ */

static enum MHD_Result send_json(struct http__req *r, unsigned status,
				 struct json_object *o, const char *allow)
{
	struct hn_http *h = r->h;
	struct MHD_Response *resp;
	const char *s;
	enum MHD_Result ok;
	size_t len = 0;

	if (!o) {
		status = MHD_HTTP_INTERNAL_SERVER_ERROR;
		s = "{\"success\": false, \"message\": \"internal error\"}";
		len = strlen(s);
	} else {
		s = json_object_to_json_string_length(o,
			JSON_C_TO_STRING_SPACED |
			JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	}
	resp = MHD_create_response_from_buffer(len, (void *)s,
					       MHD_RESPMEM_MUST_COPY);
	if (!resp)
		return MHD_NO;
	MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
				"application/json; charset=utf-8");
	if (h->cors_origin) {
		MHD_add_response_header(resp, "Access-Control-Allow-Origin",
					h->cors_origin);
		MHD_add_response_header(resp, "Access-Control-Allow-Methods",
					"GET, POST, OPTIONS");
		MHD_add_response_header(resp, "Access-Control-Allow-Headers",
					"content-type, x-prototype-version, "
					"x-requested-with");
	}
	if (allow)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, allow);
	ok = MHD_queue_response(r->conn, status, resp);
	MHD_destroy_response(resp);
	count(h, r->route ? r->route->path : "other", status);
	/* Route pattern, never the raw URL: the label set stays bounded. */
	hn_core_metrics_http(r->route ? r->route->path : "other", status,
			     mono_now() - r->t0);
	r->status = status;
	r->answered = true;
	return ok;
}

static enum MHD_Result send_error(struct http__req *r, unsigned status,
				  const char *msg, const char *allow)
{
	struct json_object *o = json_object_new_object();
	enum MHD_Result ok;

	if (o) {
		json_object_object_add(o, "success",
				       json_object_new_boolean(0));
		json_object_object_add(o, "message",
				       json_object_new_string(msg));
	}
	ok = send_json(r, status, o, allow);
	json_object_put(o);
	return ok;
}

static const char *allow_of(int methods)
{
	if ((methods & HTTP__GET) && (methods & HTTP__POST))
		return "GET, POST, OPTIONS";
	return (methods & HTTP__POST) ? "POST, OPTIONS" : "GET, HEAD, OPTIONS";
}

static enum MHD_Result dispatch(struct http__req *r)
{
	enum MHD_Result ok;

	if (!r->route)
		return send_error(r, MHD_HTTP_NOT_FOUND, "No such resource",
				  NULL);
	if (!r->method_ok)
		return send_error(r, MHD_HTTP_METHOD_NOT_ALLOWED,
				  "Method not allowed",
				  allow_of(r->route->methods));
	if (r->too_big)
		return send_error(r, MHD_HTTP_CONTENT_TOO_LARGE,
				  "Request body too large", NULL);
	r->status = MHD_HTTP_OK;
	r->json = NULL;
	r->route->fn(r);
	ok = send_json(r, r->status, r->json, NULL);
	json_object_put(r->json);
	r->json = NULL;
	return ok;
}

static const struct http__route *find_route(const char *url)
{
	size_t i, n = strlen(url);

	/* Twisted serves "/v1a/version/" as "/v1a/version" too. */
	if (n > 1 && url[n - 1] == '/')
		n--;
	for (i = 0; i < N_ROUTES; i++)
		if (strlen(routes[i].path) == n &&
		    memcmp(routes[i].path, url, n) == 0)
			return &routes[i];
	return NULL;
}

static enum MHD_Result access_cb(void *cls, struct MHD_Connection *conn,
				 const char *url, const char *method,
				 const char *version, const char *upload,
				 size_t *upload_size, void **con_cls)
{
	struct hn_http *h = cls;
	struct http__req *r = *con_cls;

	if (!r) {
		const char *cl;

		r = calloc(1, sizeof(*r));
		if (!r)
			return MHD_NO;
		r->h = h;
		r->conn = conn;
		r->t0 = mono_now();
		r->route = find_route(url);
		if (!strcmp(method, MHD_HTTP_METHOD_GET) ||
		    !strcmp(method, MHD_HTTP_METHOD_HEAD))
			r->method = HTTP__GET;
		else if (!strcmp(method, MHD_HTTP_METHOD_POST))
			r->method = HTTP__POST;
		r->method_ok = r->route && (r->route->methods & r->method);
		*con_cls = r;
		h->in_flight++;
		if (!strcmp(method, MHD_HTTP_METHOD_OPTIONS) && r->route) {
			/* CORS preflight, as the reference's render_OPTIONS */
			struct json_object *o = json_object_new_object();
			enum MHD_Result ok = send_json(r, MHD_HTTP_OK, o,
						       allow_of(r->route->methods));

			json_object_put(o);
			return ok;
		}
		cl = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl) {
			unsigned long long v = strtoull(cl, NULL, 10);

			if (v > h->max_body) {
				r->too_big = true;
				if (v > (unsigned long long)h->max_body *
					HTTP_DISCARD_FACTOR || !r->method_ok)
					return send_error(r,
						MHD_HTTP_CONTENT_TOO_LARGE,
						"Request body too large", NULL);
			}
		}
		return MHD_YES;
	}
	if (r->answered) {
		/* answered early (OPTIONS, 413 on Content-Length): drop
		 * anything uploaded */
		*upload_size = 0;
		return MHD_YES;
	}
	if (*upload_size) {
		size_t n = *upload_size;

		*upload_size = 0;
		if (r->too_big || !r->method_ok)
			return MHD_YES;
		if (r->body_len + n > h->max_body) {
			r->too_big = true;
			free(r->body);
			r->body = NULL;
			r->body_len = 0;
			return MHD_YES;
		}
		char *nb = realloc(r->body, r->body_len + n + 1);

		if (!nb)
			return MHD_NO;
		memcpy(nb + r->body_len, upload, n);
		r->body = nb;
		r->body_len += n;
		r->body[r->body_len] = '\0';
		return MHD_YES;
	}
	return dispatch(r);
}

static void completed_cb(void *cls, struct MHD_Connection *conn,
			 void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct hn_http *h = cls;
	struct http__req *r = *con_cls;

	if (!r)
		return;
	if (!r->answered)
		count(h, r->route ? r->route->path : "other", 0);
	json_object_put(r->json);
	free(r->body);
	free(r);
	*con_cls = NULL;
	if (h->in_flight)
		h->in_flight--;
}

__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char buf[256];
	size_t n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	hn_debug("http", "mhd: %s", buf);
}

/* --- loop glue ------------------------------------------------------------ */

static void rearm(struct hn_http *h)
{
	MHD_UNSIGNED_LONG_LONG ms;

	ev_timer_stop(h->loop, &h->timer);
	if (MHD_get_timeout(h->mhd, &ms) == MHD_YES) {
		ev_timer_set(&h->timer, (double)ms / 1000.0, 0.);
		ev_timer_start(h->loop, &h->timer);
	}
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct hn_http *h = w->data;

	MHD_run(h->mhd);
	rearm(h);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hn_http *h = w->data;

	MHD_run(h->mhd);
	rearm(h);
}

/* --- module --------------------------------------------------------------- */

static void http_free(struct hn_http *h)
{
	if (!h)
		return;
	if (h->loop) {
		ev_io_stop(h->loop, &h->io);
		ev_timer_stop(h->loop, &h->timer);
	}
	if (h->mhd)
		MHD_stop_daemon(h->mhd);
	free(h->cors_origin);
	free(h);
}

static int resolve(const struct hn_hostport *hp, struct sockaddr_storage *ss,
		   socklen_t *sslen, struct hn_error *err)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	const char *host = hp->host[0] ? hp->host : NULL;
	char port[8];
	int rc;

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	snprintf(port, sizeof(port), "%u", (unsigned)hp->port);
	rc = getaddrinfo(host, port, &hints, &ai);
	if (rc || !ai) {
		if (ai)
			freeaddrinfo(ai);
		return hn_error_set(err, HN_EINVAL, "http: cannot resolve "
				    "api listen host %s: %s", hp->host,
				    gai_strerror(rc));
	}
	memcpy(ss, ai->ai_addr, ai->ai_addrlen);
	*sslen = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static int http_mod_open(struct hn_daemon *d, struct hn_error *err)
{
	const struct hn_config *cfg = d->cfg;
	struct sockaddr_storage ss;
	socklen_t sslen;
	const union MHD_DaemonInfo *info;
	unsigned flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	struct hn_http *h;
	int rc;

	if (!cfg || !cfg->api_enabled)
		return 0;
	if ((rc = resolve(&cfg->api_listen, &ss, &sslen, err)) < 0)
		return rc;
	h = calloc(1, sizeof(*h));
	if (!h)
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	h->d = d;
	h->loop = d->loop;
	h->max_body = cfg->http_max_body ? cfg->http_max_body :
		HTTP_DEFAULT_MAX_BODY;
	if (cfg->http_cors_origin &&
	    !(h->cors_origin = strdup(cfg->http_cors_origin))) {
		free(h);
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	}
	if (ss.ss_family == AF_INET6)
		flags |= MHD_USE_IPv6;
	h->mhd = MHD_start_daemon(flags, 0, NULL, NULL, access_cb, h,
		MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
		MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)(cfg->http_max_connections ?
			   cfg->http_max_connections : HTTP_DEFAULT_MAX_CONN),
		MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)(cfg->http_timeout ? cfg->http_timeout :
			   HTTP_DEFAULT_TIMEOUT),
		MHD_OPTION_NOTIFY_COMPLETED, completed_cb, h,
		MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
		MHD_OPTION_LISTENING_ADDRESS_REUSE, (unsigned)1,
		MHD_OPTION_END);
	if (!h->mhd) {
		int e = errno;

		http_free(h);
		return hn_error_set(err, HN_EIO, "http: cannot listen on "
				    "%s:%u: %s", cfg->api_listen.host,
				    (unsigned)cfg->api_listen.port,
				    strerror(e ? e : EADDRINUSE));
	}
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
	h->port = info ? info->port : cfg->api_listen.port;
	info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_EPOLL_FD);
	if (!info) {
		http_free(h);
		return hn_error_set(err, HN_EIO, "http: no epoll fd");
	}
	ev_io_init(&h->io, io_cb, info->epoll_fd, EV_READ);
	h->io.data = h;
	ev_timer_init(&h->timer, timer_cb, 0., 0.);
	h->timer.data = h;
	ev_io_start(h->loop, &h->io);
	rearm(h);
	d->http = h;
	hn_info("http", "API listening on %s:%u", cfg->api_listen.host,
		(unsigned)h->port);
	return 0;
}

static void http_mod_stop(struct hn_daemon *d)
{
	struct hn_http *h = d->http;
	MHD_socket fd;

	if (!h || h->stopped)
		return;
	h->stopped = true;
	fd = MHD_quiesce_daemon(h->mhd);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	rearm(h);
}

static bool http_mod_busy(struct hn_daemon *d)
{
	return d->http && d->http->in_flight > 0;
}

static void http_mod_close(struct hn_daemon *d)
{
	http_free(d->http);
	d->http = NULL;
}

const struct hn_daemon_module hn_http_module = {
	.name = "http",
	.open = http_mod_open,
	.stop = http_mod_stop,
	.busy = http_mod_busy,
	.close = http_mod_close,
};
