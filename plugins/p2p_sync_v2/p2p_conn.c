/*
 * p2p_conn.c: one peer connection: non-blocking TCP, TLS 1.3 via OpenSSL on
 * the fd, "\r\n" line framing in, buffered output, timers, and the close
 * sequence.  The protocol itself (handshake, READY messages) is in
 * p2p_proto.c and sync-v2 in p2p_sync.c.
 *
 * Invariants:
 * - lines are handled one at a time, in order; while an asynchronous
 *   handler holds the connection (p2p_conn_hold) no further line is handled
 *   and the socket is not read, so TCP pushes back on the peer;
 * - output goes through obuf; nothing else writes to the fd;
 * - p2p_conn_close() logs the reason once and is idempotent; the memory
 *   lives until the last reference is dropped.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/err.h>

#include "hn/err.h"
#include "p2p_int.h"

#define READ_CHUNK 65536
#define READ_BUDGET (1024 * 1024)  /* bytes per wakeup before yielding */
#define WRITE_CHUNK (64 * 1024)

static void conn_io_cb(void *arg, int revents);
static void conn_update_io(struct p2p_conn *c);
static void conn_flush(struct p2p_conn *c);
static void conn_process(struct p2p_conn *c, bool drained);
static void conn_finish_close(struct p2p_conn *c);
static void do_read(struct p2p_conn *c);

static const char *state_name(enum p2p_conn_state s)
{
	switch (s) {
	case P2P_CONN_CONNECTING:
		return "CONNECTING";
	case P2P_CONN_TLS:
		return "TLS";
	case P2P_CONN_HELLO:
		return "HELLO";
	case P2P_CONN_PEER_ID:
		return "PEER_ID";
	case P2P_CONN_READY:
		return "READY";
	case P2P_CONN_CLOSING:
		return "CLOSING";
	case P2P_CONN_CLOSED:
		return "CLOSED";
	}
	return "?";
}

void p2p_conn_logf(struct p2p_conn *c, enum p2p_log_level lvl,
		   const char *fmt, ...)
{
	struct p2p_env *env = c->env;
	char msg[1024];
	va_list ap;
	int n;

	if (env->log_enabled && !env->log_enabled(env->ctx, lvl))
		return;
	if (c->have_peer)
		n = snprintf(msg, sizeof(msg), "peer %.7s %s: ", c->peer_id_hex,
			     c->remote);
	else
		n = snprintf(msg, sizeof(msg), "peer %s: ", c->remote);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;
	va_start(ap, fmt);
	vsnprintf(msg + n, sizeof(msg) - (size_t)n, fmt, ap);
	va_end(ap);
	env->log(env->ctx, lvl, msg);
}

static void kick_cb(void *arg)
{
	struct p2p_conn *c = arg;

	c->kick_pending = false;
	if (p2p_conn_dead(c))
		return;
	p2p_conn_ref(c);
	conn_process(c, false);
	/* SSL may hold decrypted data the fd no longer signals. */
	if (!p2p_conn_dead(c) && !c->hold && c->state >= P2P_CONN_HELLO)
		do_read(c);
	if (!p2p_conn_dead(c))
		conn_update_io(c);
	p2p_conn_unref(c);
}

static void idle_cb(void *arg)
{
	struct p2p_conn *c = arg;

	/* on_idle_timeout: the reference aborts without flushing. */
	p2p_conn_logf(c, P2P_LOG_WARN, "connection closed for idle timeout");
	p2p_conn_close(c, true, "idle timeout");
}

static void tick_cb(void *arg)
{
	struct p2p_conn *c = arg;

	if (p2p_conn_dead(c))
		return;
	p2p_conn_ref(c);
	p2p_proto_tick(c);
	p2p_conn_unref(c);
}

static void linger_cb(void *arg)
{
	struct p2p_conn *c = arg;

	if (c->state == P2P_CONN_CLOSING)
		conn_finish_close(c);
}

static void reset_idle(struct p2p_conn *c)
{
	struct p2p_env *env = c->env;
	double t = c->p2p->cfg.idle_timeout;

	if (t > 0)
		env->timer_set(env->ctx, c->idle, t, 0);
}

static void set_remote(struct p2p_conn *c, const struct sockaddr *sa,
		       socklen_t salen)
{
	char host[64] = "?", port[16] = "?";

	if (sa && getnameinfo(sa, salen, host, sizeof(host), port,
			      sizeof(port), NI_NUMERICHOST | NI_NUMERICSERV))
		snprintf(host, sizeof(host), "?");
	snprintf(c->remote_host, sizeof(c->remote_host), "%s", host);
	/* format_address(): host:port, IPv6 without brackets. */
	snprintf(c->remote, sizeof(c->remote), "%s:%s", host, port);
}

static void start_session(struct p2p_conn *c)
{
	c->state = P2P_CONN_HELLO;
	c->connected_at = p2p_now(c->p2p);
	p2p_conn_logf(c, P2P_LOG_DEBUG, "new connection (%s)",
		      c->inbound ? "inbound" : "outbound");
	p2p_proto_start(c);
}

static void start_tls(struct p2p_conn *c)
{
	struct p2p *p = c->p2p;
	char ebuf[200];

	if (!p->cfg.use_tls) {
		start_session(c);
		return;
	}
	c->ssl = SSL_new(p->ssl_ctx);
	if (!c->ssl || SSL_set_fd(c->ssl, c->fd) != 1) {
		p2p_conn_close(c, true, "cannot set up tls: %s",
			       p2p_tls_errstr(ebuf, sizeof(ebuf)));
		return;
	}
	if (c->inbound)
		SSL_set_accept_state(c->ssl);
	else
		SSL_set_connect_state(c->ssl);
	c->state = P2P_CONN_TLS;
}

struct p2p_conn *p2p_conn_new(struct p2p *p, int fd, bool inbound,
			      const struct sockaddr *sa, socklen_t salen,
			      struct p2p_target *target, bool connecting)
{
	struct p2p_env *env = p->env;
	struct p2p_conn *c = calloc(1, sizeof(*c));
	int one = 1;

	if (!c)
		return NULL;
	c->p2p = p;
	c->env = p->env;
	c->refs = 1;            /* the manager list */
	c->fd = fd;
	c->inbound = inbound;
	c->target = target;
	p2p_linebuf_init(&c->in, P2P_MAX_LINE);
	p2p_bucket_init(&c->misbehavior, P2P_MISBEHAVIOR_THRESHOLD,
			P2P_MISBEHAVIOR_WINDOW);
	set_remote(c, sa, salen);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->io = env->io_new(env->ctx, fd, conn_io_cb, c);
	c->kick = env->timer_new(env->ctx, kick_cb, c);
	c->idle = env->timer_new(env->ctx, idle_cb, c);
	c->tick = env->timer_new(env->ctx, tick_cb, c);
	c->linger = env->timer_new(env->ctx, linger_cb, c);
	if (!c->io || !c->kick || !c->idle || !c->tick || !c->linger) {
		if (c->io)
			env->io_free(env->ctx, c->io);
		if (c->kick)
			env->timer_free(env->ctx, c->kick);
		if (c->idle)
			env->timer_free(env->ctx, c->idle);
		if (c->tick)
			env->timer_free(env->ctx, c->tick);
		if (c->linger)
			env->timer_free(env->ctx, c->linger);
		free(c);
		return NULL;
	}
	c->next = p->conns;
	if (p->conns)
		p->conns->prev = c;
	p->conns = c;
	c->connected_at = p2p_now(p);
	/* The idle timeout covers the TCP connect and TLS handshake too. */
	reset_idle(c);
	if (connecting) {
		c->state = P2P_CONN_CONNECTING;
	} else {
		start_tls(c);
	}
	p2p_conn_ref(c);
	if (!p2p_conn_dead(c))
		conn_update_io(c);
	if (!p2p_conn_dead(c) && c->state == P2P_CONN_TLS)
		conn_io_cb(c, 0);       /* a client speaks first */
	p2p_conn_unref(c);
	return c;
}

void p2p_conn_ref(struct p2p_conn *c)
{
	c->refs++;
}

static void conn_free(struct p2p_conn *c)
{
	struct p2p_env *env = c->env;

	p2p_sync_free(c->sync);
	p2p_proto_release(c);
	env->timer_free(env->ctx, c->kick);
	env->timer_free(env->ctx, c->idle);
	env->timer_free(env->ctx, c->tick);
	env->timer_free(env->ctx, c->linger);
	p2p_linebuf_release(&c->in);
	free(c->obuf);
	free(c);
}

void p2p_conn_unref(struct p2p_conn *c)
{
	if (--c->refs == 0)
		conn_free(c);
}

bool p2p_conn_dead(const struct p2p_conn *c)
{
	return c->state == P2P_CONN_CLOSING || c->state == P2P_CONN_CLOSED;
}

bool p2p_conn_has_cap(const struct p2p_conn *c, unsigned cap)
{
	return (c->caps & cap) && (P2P_MY_CAPS & cap);
}

size_t p2p_conn_pending_out(const struct p2p_conn *c)
{
	return c->olen - c->ooff;
}

int p2p_conn_send(struct p2p_conn *c, enum p2p_cmd cmd, const char *payload,
		  size_t plen)
{
	const char *name = p2p_cmd_name(cmd);
	size_t nlen = strlen(name), need;

	if (p2p_conn_dead(c))
		return HN_ECLOSED;
	need = nlen + (plen ? plen + 1 : 0) + 2;
	if (need - 2 > P2P_MAX_LINE) {
		/* The peer would drop us; never send it. */
		p2p_conn_logf(c, P2P_LOG_ERROR,
			      "refusing to send a %zu-byte %s line", need - 2,
			      name);
		return HN_ERANGE;
	}
	if (c->olen - c->ooff + need > P2P_OUT_MAX) {
		p2p_conn_close(c, true, "peer is not reading (%zu bytes "
			       "pending)", c->olen - c->ooff);
		return HN_ECLOSED;
	}
	if (c->ocap - c->olen < need) {
		size_t pending = c->olen - c->ooff, ncap;
		uint8_t *nb;

		if (c->ooff) {
			memmove(c->obuf, c->obuf + c->ooff, pending);
			c->olen = pending;
			c->ooff = 0;
		}
		if (c->ocap - c->olen < need) {
			ncap = c->ocap ? c->ocap : 4096;
			while (ncap - c->olen < need)
				ncap *= 2;
			nb = realloc(c->obuf, ncap);
			if (!nb) {
				p2p_conn_close(c, true, "out of memory");
				return HN_ENOMEM;
			}
			c->obuf = nb;
			c->ocap = ncap;
		}
	}
	memcpy(c->obuf + c->olen, name, nlen);
	c->olen += nlen;
	if (plen) {
		c->obuf[c->olen++] = ' ';
		memcpy(c->obuf + c->olen, payload, plen);
		c->olen += plen;
	}
	c->obuf[c->olen++] = '\r';
	c->obuf[c->olen++] = '\n';
	c->tx_msgs++;
	c->tx_bytes += need - 2;
	c->p2p->tx_msgs++;
	c->p2p->tx_bytes += need - 2;
	/* Lines are coalesced and written by the loop (one TLS record for
	 * many lines); a large backlog is pushed out at once. */
	if (c->state >= P2P_CONN_HELLO && c->olen - c->ooff >= WRITE_CHUNK)
		conn_flush(c);
	if (!p2p_conn_dead(c))
		conn_update_io(c);
	return 0;
}

int p2p_conn_sendf(struct p2p_conn *c, enum p2p_cmd cmd, const char *fmt, ...)
{
	struct p2p_buf b = { 0 };
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = p2p_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	if (rc == 0)
		rc = p2p_conn_send(c, cmd, (const char *)b.data, b.len);
	p2p_buf_release(&b);
	return rc;
}

void p2p_conn_error_close(struct p2p_conn *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (p2p_conn_dead(c))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p2p_conn_send(c, P2P_CMD_ERROR, msg, strlen(msg));
	p2p_conn_close(c, false, "sent error: %s", msg);
}

void p2p_conn_hold(struct p2p_conn *c)
{
	c->hold++;
	p2p_conn_ref(c);
}

void p2p_conn_release(struct p2p_conn *c)
{
	struct p2p_env *env = c->env;

	if (c->hold > 0)
		c->hold--;
	if (c->hold == 0 && !p2p_conn_dead(c) && !c->kick_pending) {
		c->kick_pending = true;
		env->timer_set(env->ctx, c->kick, 0, 0);
	}
	p2p_conn_unref(c);
}

void p2p_conn_misbehave(struct p2p_conn *c, unsigned weight)
{
	if (!p2p_bucket_hit(&c->misbehavior, p2p_now(c->p2p), weight)) {
		p2p_conn_logf(c, P2P_LOG_WARN,
			      "connection closed due to misbehavior");
		p2p_conn_error_close(c, "Misbehavior score is too high");
	}
}

void p2p_bucket_init(struct p2p_bucket *b, unsigned max_hits, double window)
{
	memset(b, 0, sizeof(*b));
	b->max_hits = max_hits;
	b->window = window;
}

bool p2p_bucket_hit(struct p2p_bucket *b, double now, unsigned weight)
{
	double dt, leaked, rem;
	long nh;
	bool ok = true;

	if (!b->started) {
		b->started = true;
		b->hits = 0;
		b->t = now;
	}
	dt = now - b->t;
	/* divmod(dt * max_hits, window) */
	leaked = (dt * b->max_hits) / b->window;
	leaked = leaked >= 0 ? (double)(long)leaked : 0;
	rem = dt * b->max_hits - leaked * b->window;
	b->t = b->t + dt - rem / (double)b->max_hits;
	nh = b->hits - (long)leaked;
	if (nh < 0)
		nh = 0;
	nh += weight;
	if (nh > (long)b->max_hits) {
		ok = false;
		nh = b->max_hits;
	}
	b->hits = nh;
	return ok;
}

/* Which events the fd needs now. */
static void conn_update_io(struct p2p_conn *c)
{
	struct p2p_env *env = c->env;
	int ev = 0;

	switch (c->state) {
	case P2P_CONN_CONNECTING:
		ev = P2P_IO_WRITE;
		break;
	case P2P_CONN_TLS:
		ev = c->ssl_want_write ? P2P_IO_WRITE : P2P_IO_READ;
		break;
	case P2P_CONN_HELLO:
	case P2P_CONN_PEER_ID:
	case P2P_CONN_READY:
		if (!c->hold)
			ev |= P2P_IO_READ;
		if (c->olen > c->ooff || c->ssl_want_write)
			ev |= P2P_IO_WRITE;
		break;
	case P2P_CONN_CLOSING:
		if (c->olen > c->ooff)
			ev = P2P_IO_WRITE;
		break;
	case P2P_CONN_CLOSED:
		return;
	}
	if (ev != c->io_events) {
		env->io_set(env->ctx, c->io, ev);
		c->io_events = ev;
	}
}

static void tls_fail(struct p2p_conn *c, const char *what, int err)
{
	char ebuf[256];
	long vr = c->ssl ? SSL_get_verify_result(c->ssl) : X509_V_OK;

	if (vr != X509_V_OK)
		p2p_conn_close(c, true, "tls %s failed: certificate: %s", what,
			       X509_verify_cert_error_string(vr));
	else if (err == SSL_ERROR_SYSCALL && errno)
		p2p_conn_close(c, true, "tls %s failed: %s", what,
			       strerror(errno));
	else if (err == SSL_ERROR_SYSCALL || err == SSL_ERROR_ZERO_RETURN)
		p2p_conn_close(c, true, "tls %s failed: connection closed",
			       what);
	else
		p2p_conn_close(c, true, "tls %s failed: %s", what,
			       p2p_tls_errstr(ebuf, sizeof(ebuf)));
}

static void do_connect(struct p2p_conn *c)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
		err = errno;
	if (err == EINPROGRESS)
		return;
	if (err) {
		p2p_conn_close(c, true, "connect failed: %s", strerror(err));
		return;
	}
	start_tls(c);
	if (!p2p_conn_dead(c) && c->state == P2P_CONN_TLS)
		conn_io_cb(c, 0);
}

static void do_handshake(struct p2p_conn *c)
{
	int rc, err;

	ERR_clear_error();
	errno = 0;
	rc = SSL_do_handshake(c->ssl);
	if (rc == 1) {
		c->ssl_want_write = false;
		p2p_conn_logf(c, P2P_LOG_DEBUG, "tls established: %s %s",
			      SSL_get_version(c->ssl),
			      SSL_get_cipher_name(c->ssl));
		start_session(c);
		return;
	}
	err = SSL_get_error(c->ssl, rc);
	if (err == SSL_ERROR_WANT_READ) {
		c->ssl_want_write = false;
		return;
	}
	if (err == SSL_ERROR_WANT_WRITE) {
		c->ssl_want_write = true;
		return;
	}
	tls_fail(c, "handshake", err);
}

/* Writes as much of obuf as the socket takes. */
static void conn_flush(struct p2p_conn *c)
{
	while (c->ooff < c->olen) {
		size_t n = c->olen - c->ooff;
		ssize_t w;

		if (n > WRITE_CHUNK)
			n = WRITE_CHUNK;
		if (c->ssl) {
			int rc, err;

			ERR_clear_error();
			errno = 0;
			rc = SSL_write(c->ssl, c->obuf + c->ooff, (int)n);
			if (rc > 0) {
				w = rc;
			} else {
				err = SSL_get_error(c->ssl, rc);
				if (err == SSL_ERROR_WANT_WRITE) {
					c->ssl_want_write = true;
					return;
				}
				if (err == SSL_ERROR_WANT_READ)
					return;
				tls_fail(c, "write", err);
				return;
			}
		} else {
			w = send(c->fd, c->obuf + c->ooff, n, MSG_NOSIGNAL);
			if (w < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK ||
				    errno == EINTR) {
					c->ssl_want_write = true;
					return;
				}
				p2p_conn_close(c, true, "write failed: %s",
					       strerror(errno));
				return;
			}
		}
		c->ooff += (size_t)w;
	}
	c->ssl_want_write = false;
	c->ooff = c->olen = 0;
}

/* Handles buffered lines until none is left or a handler holds us. */
/* @drained: the socket has nothing more to read right now, so a pending
 * batch cannot grow and must run. */
static void conn_process(struct p2p_conn *c, bool drained)
{
	while (!c->hold && (c->state == P2P_CONN_HELLO ||
			    c->state == P2P_CONN_PEER_ID ||
			    c->state == P2P_CONN_READY)) {
		struct p2p_line_msg m;
		const char *line, *sp;
		size_t len, clen;
		int rc = p2p_linebuf_peek(&c->in, &line, &len);

		if (rc == 0) {
			/* Nothing more buffered: run what was batched. */
			if (drained && c->sync && p2p_sync_has_batch(c->sync)) {
				p2p_sync_flush(c->sync);
				continue;
			}
			return;
		}
		if (rc < 0) {
			/* lineLengthExceeded: Twisted drops the connection. */
			p2p_conn_close(c, false, "line length exceeded (max "
				       "%d bytes)", P2P_MAX_LINE);
			return;
		}
		sp = memchr(line, ' ', len);
		clen = sp ? (size_t)(sp - line) : len;
		if (c->sync && p2p_sync_has_batch(c->sync) &&
		    !p2p_sync_batchable(c->sync, p2p_cmd_lookup(line, clen))) {
			/* Keep the order: the batch goes first. */
			p2p_sync_flush(c->sync);
			continue;
		}
		p2p_linebuf_consume(&c->in, len);
		c->rx_msgs++;
		c->rx_bytes += len;
		c->p2p->rx_msgs++;
		c->p2p->rx_bytes += len;
		rc = p2p_line_parse(line, len, &m);
		if (rc == HN_EPARSE) {
			p2p_conn_close(c, false, "invalid utf-8 in a line");
			return;
		}
		if (rc < 0) {
			p2p_conn_close(c, false, "unknown command '%.*s'",
				       clen > 40 ? 40 : (int)clen, line);
			return;
		}
		c->last_message = p2p_now(c->p2p);
		reset_idle(c);
		p2p_proto_handle(c, &m);
	}
}

static void do_read(struct p2p_conn *c)
{
	char buf[READ_CHUNK];
	size_t total = 0;

	while (!c->hold && !p2p_conn_dead(c)) {
		ssize_t n;

		if (c->ssl) {
			int rc, err;

			ERR_clear_error();
			errno = 0;
			rc = SSL_read(c->ssl, buf, sizeof(buf));
			if (rc > 0) {
				n = rc;
			} else {
				err = SSL_get_error(c->ssl, rc);
				if (err == SSL_ERROR_WANT_READ) {
					conn_process(c, true);
					return;
				}
				if (err == SSL_ERROR_WANT_WRITE) {
					c->ssl_want_write = true;
					return;
				}
				if (err == SSL_ERROR_ZERO_RETURN ||
				    (err == SSL_ERROR_SYSCALL && !errno)) {
					p2p_conn_close(c, true, "connection "
						       "closed by peer");
					return;
				}
				tls_fail(c, "read", err);
				return;
			}
		} else {
			n = recv(c->fd, buf, sizeof(buf), 0);
			if (n == 0) {
				p2p_conn_close(c, true,
					       "connection closed by peer");
				return;
			}
			if (n < 0) {
				if (errno == EAGAIN || errno == EWOULDBLOCK ||
				    errno == EINTR) {
					conn_process(c, true);
					return;
				}
				p2p_conn_close(c, true, "read failed: %s",
					       strerror(errno));
				return;
			}
		}
		if (p2p_linebuf_feed(&c->in, buf, (size_t)n) < 0) {
			p2p_conn_close(c, true, "out of memory");
			return;
		}
		conn_process(c, false);
		total += (size_t)n;
		if (total >= READ_BUDGET) {
			/* Let other connections run; SSL may hold data the
			 * fd does not show, so come back by timer. */
			if (!c->kick_pending && !p2p_conn_dead(c)) {
				struct p2p_env *env = c->env;

				c->kick_pending = true;
				env->timer_set(env->ctx, c->kick, 0, 0);
			}
			return;
		}
	}
}

static void conn_io_cb(void *arg, int revents)
{
	struct p2p_conn *c = arg;

	p2p_conn_ref(c);
	switch (c->state) {
	case P2P_CONN_CONNECTING:
		do_connect(c);
		break;
	case P2P_CONN_TLS:
		do_handshake(c);
		if (c->state != P2P_CONN_HELLO)
			break;
		/* data may already be buffered */
		__attribute__((fallthrough));
	case P2P_CONN_HELLO:
	case P2P_CONN_PEER_ID:
	case P2P_CONN_READY:
		if (c->olen > c->ooff)
			conn_flush(c);
		if (!p2p_conn_dead(c))
			do_read(c);
		if (!p2p_conn_dead(c) && c->olen > c->ooff)
			conn_flush(c);
		/* Streams pause above P2P_OUT_HIGH; let them refill. */
		if (!p2p_conn_dead(c) && c->sync &&
		    p2p_conn_pending_out(c) < P2P_OUT_LOW(c->p2p))
			p2p_sync_on_drain(c->sync);
		break;
	case P2P_CONN_CLOSING:
		conn_flush(c);
		if (c->state == P2P_CONN_CLOSING && c->olen == c->ooff)
			conn_finish_close(c);
		break;
	case P2P_CONN_CLOSED:
		break;
	}
	if (!p2p_conn_dead(c) || c->state == P2P_CONN_CLOSING)
		conn_update_io(c);
	p2p_conn_unref(c);
}

void p2p_conn_close(struct p2p_conn *c, bool force, const char *fmt, ...)
{
	struct p2p_env *env = c->env;
	va_list ap;

	if (c->state == P2P_CONN_CLOSED)
		return;
	if (c->state == P2P_CONN_CLOSING) {
		if (force)
			conn_finish_close(c);
		return;
	}
	va_start(ap, fmt);
	vsnprintf(c->close_reason, sizeof(c->close_reason), fmt, ap);
	va_end(ap);
	c->prev_state = c->state;
	c->state = P2P_CONN_CLOSING;
	p2p_conn_logf(c, c->prev_state == P2P_CONN_READY ? P2P_LOG_INFO :
		      P2P_LOG_DEBUG, "disconnected in state %s: %s",
		      state_name(c->prev_state), c->close_reason);
	env->timer_stop(env->ctx, c->idle);
	env->timer_stop(env->ctx, c->tick);
	env->timer_stop(env->ctx, c->kick);
	c->kick_pending = false;
	if (c->sync)
		p2p_sync_stop(c->sync);
	p2p_mgr_on_closed(c->p2p, c);
	if (force || c->olen == c->ooff || c->prev_state == P2P_CONN_CONNECTING
	    || c->prev_state == P2P_CONN_TLS) {
		conn_finish_close(c);
		return;
	}
	env->timer_set(env->ctx, c->linger, P2P_CLOSE_LINGER, 0);
	conn_update_io(c);
}

static void conn_finish_close(struct p2p_conn *c)
{
	struct p2p *p = c->p2p;
	struct p2p_env *env = p->env;

	if (c->state == P2P_CONN_CLOSED)
		return;
	c->state = P2P_CONN_CLOSED;
	env->timer_stop(env->ctx, c->linger);
	env->timer_stop(env->ctx, c->kick);
	env->timer_stop(env->ctx, c->idle);
	env->timer_stop(env->ctx, c->tick);
	if (c->io) {
		env->io_free(env->ctx, c->io);
		c->io = NULL;
	}
	if (c->ssl) {
		/* Best effort close_notify; never wait for the peer's. */
		if (c->prev_state >= P2P_CONN_HELLO) {
			ERR_clear_error();
			SSL_shutdown(c->ssl);
		}
		ERR_clear_error();
		SSL_free(c->ssl);
		c->ssl = NULL;
	}
	if (c->fd >= 0) {
		close(c->fd);
		c->fd = -1;
	}
	/* Unlink from the manager list and drop its reference. */
	if (c->prev)
		c->prev->next = c->next;
	else if (p->conns == c)
		p->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = c->prev = NULL;
	p2p_conn_unref(c);
}

void p2p_conn_free_all(struct p2p *p)
{
	while (p->conns) {
		struct p2p_conn *c = p->conns;

		if (!p2p_conn_dead(c))
			p2p_conn_close(c, true, "shutting down");
		else
			conn_finish_close(c);
	}
}

struct json_object *p2p_conn_summary(struct p2p_conn *c)
{
	struct json_object *o = json_object_new_object();
	double now = p2p_now(c->p2p);
	enum p2p_conn_state st = p2p_conn_dead(c) ? c->prev_state : c->state;

	if (!o)
		return NULL;
	if (c->have_peer)
		json_object_object_add(o, "id",
				       json_object_new_string(c->peer_id_hex));
	json_object_object_add(o, "address", json_object_new_string(c->remote));
	json_object_object_add(o, "inbound", json_object_new_boolean(c->inbound));
	json_object_object_add(o, "state",
			       json_object_new_string(state_name(st)));
	json_object_object_add(o, "app_version",
			       json_object_new_string(c->app_version[0] ?
						      c->app_version :
						      "Unknown"));
	json_object_object_add(o, "current_time", json_object_new_double(now));
	json_object_object_add(o, "uptime",
			       json_object_new_double(now - c->connected_at));
	json_object_object_add(o, "last_message",
			       json_object_new_double(c->last_message ?
						      now - c->last_message :
						      now - c->connected_at));
	if (st == P2P_CONN_READY) {
		struct json_object *rtt = json_object_new_array();
		struct json_object *flags = json_object_new_array();
		struct json_object *bbc = json_object_new_array();
		struct json_object *plugins = json_object_new_object();
		size_t i;

		for (i = 0; i < c->n_rtt; i++)
			json_object_array_add(rtt,
					      json_object_new_double(c->rtt[i]));
		if (c->no_entrypoints)
			json_object_array_add(flags, json_object_new_string(
						      "no_entrypoints"));
		for (i = 0; i < c->n_peer_bbc; i++) {
			struct json_object *e = json_object_new_array();
			char hex[65];

			p2p_hex32(c->peer_bbc[i], hex);
			json_object_array_add(e, json_object_new_int64(
						      (int64_t)c->peer_bbc_h[i]));
			json_object_array_add(e, json_object_new_string(hex));
			json_object_array_add(bbc, e);
		}
		json_object_object_add(o, "rtt", rtt);
		json_object_object_add(o, "warning_flags", flags);
		json_object_object_add(o, "protocol_version",
				       json_object_new_string("sync-v2"));
		json_object_object_add(o, "peer_best_blockchain", bbc);
		if (c->sync)
			json_object_object_add(plugins, "node-block-sync",
					       p2p_sync_status(c->sync));
		json_object_object_add(o, "plugins", plugins);
	}
	json_object_object_add(o, "received_bytes",
			       json_object_new_int64((int64_t)c->rx_bytes));
	json_object_object_add(o, "sent_bytes",
			       json_object_new_int64((int64_t)c->tx_bytes));
	json_object_object_add(o, "received_messages",
			       json_object_new_int64((int64_t)c->rx_msgs));
	json_object_object_add(o, "sent_messages",
			       json_object_new_int64((int64_t)c->tx_msgs));
	return o;
}
