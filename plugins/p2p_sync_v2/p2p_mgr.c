/*
 * p2p_mgr.c: the connections manager (hathor/p2p/manager.py): listening
 * socket, peers to keep connected (bootstrap and discovered) with backoff,
 * duplicate detection, sync enabling and rotation (at most 8 syncing),
 * relay to every ready peer, PEERS bookkeeping and connection summaries.
 *
 * Name lookups never block the loop: numeric hosts are used as they are,
 * names go through getaddrinfo_a() and are polled by the 1 s tick.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/rand.h>

#include "hn/b64.h"
#include "hn/err.h"
#include "hn/network.h"
#include "hn/vertex.h"
#include "p2p_int.h"

double p2p_now(struct p2p *p)
{
	return p->env->now(p->env->ctx);
}

void p2p_logf(struct p2p *p, enum p2p_log_level lvl, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (p->env->log_enabled && !p->env->log_enabled(p->env->ctx, lvl))
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	p->env->log(p->env->ctx, lvl, msg);
}

uint32_t p2p_rand(struct p2p *p)
{
	uint32_t x = p->rng;

	x ^= x << 13;
	x ^= x >> 17;
	x ^= x << 5;
	p->rng = x ? x : 0x9e3779b9u;
	return p->rng;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* settings_dict of get_settings_hello_dict(), compact. */
static void make_settings(struct p2p *p)
{
	const struct hn_network *net = p->cfg.net;
	char bw[32], tw[32];

	if (net->min_block_weight == (double)(long long)net->min_block_weight)
		snprintf(bw, sizeof(bw), "%lld",
			 (long long)net->min_block_weight);
	else
		snprintf(bw, sizeof(bw), "%.17g", net->min_block_weight);
	if (net->min_tx_weight == (double)(long long)net->min_tx_weight)
		snprintf(tw, sizeof(tw), "%lld", (long long)net->min_tx_weight);
	else
		snprintf(tw, sizeof(tw), "%.17g", net->min_tx_weight);
	snprintf(p->settings_json, sizeof(p->settings_json),
		 "{\"P2PKH_VERSION_BYTE\":\"%02x\",\"MULTISIG_VERSION_BYTE\":"
		 "\"%02x\",\"MIN_BLOCK_WEIGHT\":%s,\"MIN_TX_WEIGHT\":%s,"
		 "\"BLOCK_DATA_MAX_SIZE\":%u}", net->p2pkh_version_byte,
		 net->multisig_version_byte, bw, tw, net->block_data_max_size);
}

int p2p_new(struct p2p_env *env, const struct p2p_config *cfg,
	    struct p2p **out, char *err, size_t errlen)
{
	struct p2p *p = calloc(1, sizeof(*p));
	struct sigaction sa;
	size_t i;
	int rc;

	if (!p)
		return HN_ENOMEM;
	if (!cfg->net) {
		free(p);
		snprintf(err, errlen, "p2p: no network");
		return HN_EINVAL;
	}
	if (!cfg->use_tls && cfg->net && (!strcmp(cfg->net->name, "mainnet") ||
					  cfg->net->enable_peer_whitelist)) {
		free(p);
		snprintf(err, errlen, "p2p: TLS cannot be turned off on %s "
			 "(--p2p-no-tls is for test networks only)",
			 cfg->net->name);
		return HN_EINVAL;
	}
	if (cfg->dns_server && strlen(cfg->dns_server) >= sizeof(p->dns_server)) {
		free(p);
		snprintf(err, errlen, "p2p: DNS server '%s' too long",
			 cfg->dns_server);
		return HN_EINVAL;
	}
	p->env = env;
	p->cfg = *cfg;
	p->listen_fd = -1;
	if (cfg->dns_server)
		snprintf(p->dns_server, sizeof(p->dns_server), "%s",
			 cfg->dns_server);
	p->cfg.dns_server = NULL;
	if (!p->cfg.idle_timeout)
		p->cfg.idle_timeout = P2P_PEER_IDLE_TIMEOUT;
	if (!p->cfg.max_connections)
		p->cfg.max_connections = P2P_PEER_MAX_CONNECTIONS;
	if (!p->cfg.out_high)
		p->cfg.out_high = P2P_OUT_HIGH;
	if (!p->cfg.max_enabled_sync)
		p->cfg.max_enabled_sync = P2P_MAX_ENABLED_SYNC;
	snprintf(p->app, sizeof(p->app), "%s",
		 cfg->app ? cfg->app : "hathor-node v" P2P_VERSION_STR);
	p->cfg.app = p->app;
	p->my_eps = calloc(cfg->n_entrypoints + 1, sizeof(char *));
	if (!p->my_eps) {
		free(p);
		return HN_ENOMEM;
	}
	for (i = 0; i < cfg->n_entrypoints; i++) {
		struct p2p_ep ep;
		char norm[300];

		if (p2p_ep_parse(cfg->entrypoints[i], &ep, err, errlen) < 0) {
			p->cfg.n_entrypoints = i;
			p2p_free(p);
			return HN_EINVAL;
		}
		p2p_ep_format(&ep, norm, sizeof(norm));
		p->my_eps[i] = strdup(norm);
	}
	qsort(p->my_eps, cfg->n_entrypoints, sizeof(char *), cmp_str);
	p->cfg.entrypoints = (const char *const *)p->my_eps;
	make_settings(p);
	if (RAND_bytes((unsigned char *)&p->rng, sizeof(p->rng)) != 1 ||
	    !p->rng)
		p->rng = 0x12345678u;
	rc = p2p_identity_open(cfg->identity_path, 1, &p->id, err, errlen);
	if (rc < 0) {
		p2p_free(p);
		return rc;
	}
	if (cfg->use_tls) {
		p->ssl_ctx = p2p_tls_ctx_new(p->id, err, errlen);
		if (!p->ssl_ctx) {
			p2p_free(p);
			return HN_EINVAL;
		}
	}
	/* A write to a peer that went away must not kill the process. */
	if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
		signal(SIGPIPE, SIG_IGN);
	*out = p;
	return 0;
}

static void target_free(struct p2p_target *t)
{
	if (t->gai) {
		struct gaicb *list[1] = { t->gai };

		if (gai_cancel(t->gai) == EAI_NOTCANCELED) {
			/* Still running in glibc's thread: leak it rather
			 * than free memory the thread writes to. */
			t->gai = NULL;
		} else {
			gai_suspend((const struct gaicb *const *)list, 1, NULL);
			if (t->gai->ar_result)
				freeaddrinfo(t->gai->ar_result);
			free((void *)t->gai->ar_name);
			free(t->gai);
		}
	}
	free(t->gai_port);
	free(t->host);
	free(t);
}

static void known_free(struct p2p_known *k)
{
	size_t i;

	for (i = 0; i < k->n_entrypoints; i++)
		free(k->entrypoints[i]);
	free(k->entrypoints);
	free(k);
}

void p2p_free(struct p2p *p)
{
	struct p2p_env *env;
	size_t i;

	if (!p)
		return;
	env = p->env;
	p->started = false;
	p2p_dns_free_all(p);
	p2p_conn_free_all(p);
	if (p->tick)
		env->timer_free(env->ctx, p->tick);
	if (p->listen_io)
		env->io_free(env->ctx, p->listen_io);
	if (p->own_listen_fd && p->listen_fd >= 0)
		close(p->listen_fd);
	while (p->targets) {
		struct p2p_target *t = p->targets;

		p->targets = t->next;
		target_free(t);
	}
	while (p->known) {
		struct p2p_known *k = p->known;

		p->known = k->next;
		known_free(k);
	}
	for (i = 0; p->my_eps && p->my_eps[i]; i++)
		free(p->my_eps[i]);
	free(p->my_eps);
	SSL_CTX_free(p->ssl_ctx);
	p2p_identity_free(p->id);
	free(p);
}

const char *p2p_my_peer_id(const struct p2p *p)
{
	return p->id->id_hex;
}

static unsigned count_conns(const struct p2p *p)
{
	const struct p2p_conn *c;
	unsigned n = 0;

	for (c = p->conns; c; c = c->next)
		if (!p2p_conn_dead(c))
			n++;
	return n;
}

unsigned p2p_n_ready(const struct p2p *p)
{
	const struct p2p_conn *c;
	unsigned n = 0;

	for (c = p->conns; c; c = c->next)
		if (c->state == P2P_CONN_READY)
			n++;
	return n;
}

static bool is_loopback(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET) {
		const struct sockaddr_in *in = (const void *)sa;

		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const void *)sa;

		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	return false;
}

static void accept_cb(void *arg, int revents)
{
	struct p2p *p = arg;
	int n;

	for (n = 0; n < 64; n++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		int fd = accept4(p->listen_fd, (struct sockaddr *)&ss, &sl,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED)
				p2p_logf(p, P2P_LOG_WARN, "p2p accept failed: "
					 "%s", strerror(errno));
			return;
		}
		if (!p->started || count_conns(p) >= p->cfg.max_connections) {
			p2p_logf(p, P2P_LOG_INFO, "refusing inbound peer: %s",
				 p->started ? "too many connections" :
				 "not started");
			close(fd);
			continue;
		}
		if (!p2p_conn_new(p, fd, true, (struct sockaddr *)&ss, sl, NULL,
				  false))
			close(fd);
	}
}

int p2p_listen_fd(struct p2p *p, int fd, bool take)
{
	int fl = fcntl(fd, F_GETFL);

	if (p->listen_io)
		return HN_EEXIST;
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	p->listen_fd = fd;
	p->own_listen_fd = take;
	p->listen_io = p->env->io_new(p->env->ctx, fd, accept_cb, p);
	if (!p->listen_io)
		return HN_ENOMEM;
	if (p->started)
		p->env->io_set(p->env->ctx, p->listen_io, P2P_IO_READ);
	return 0;
}

int p2p_listen(struct p2p *p, const char *host, uint16_t port,
	       uint16_t *bound_port)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char ps[8];
	int fd, one = 1, rc;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST | AI_NUMERICSERV;
	snprintf(ps, sizeof(ps), "%u", port);
	rc = getaddrinfo(host, ps, &hints, &ai);
	if (rc)
		return HN_EINVAL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		freeaddrinfo(ai);
		return rc;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 128) < 0) {
		rc = -errno;
		close(fd);
		freeaddrinfo(ai);
		return rc;
	}
	freeaddrinfo(ai);
	if (bound_port && getsockname(fd, (struct sockaddr *)&ss, &sl) == 0)
		*bound_port = ntohs(ss.ss_family == AF_INET6 ?
				    ((struct sockaddr_in6 *)&ss)->sin6_port :
				    ((struct sockaddr_in *)&ss)->sin_port);
	rc = p2p_listen_fd(p, fd, true);
	if (rc < 0)
		close(fd);
	return rc;
}

static struct p2p_target *find_target(struct p2p *p, const char *host,
				      uint16_t port)
{
	struct p2p_target *t;

	for (t = p->targets; t; t = t->next)
		if (t->port == port && strcmp(t->host, host) == 0)
			return t;
	return NULL;
}

static struct p2p_target *add_target(struct p2p *p, const struct p2p_ep *ep,
				     bool bootstrap)
{
	struct p2p_target *t = find_target(p, ep->host, ep->port);

	if (t) {
		if (bootstrap)
			t->bootstrap = true;
		if (ep->has_id) {
			t->has_id = true;
			memcpy(t->id, ep->id, 32);
		}
		return t;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->host = strdup(ep->host);
	if (!t->host) {
		free(t);
		return NULL;
	}
	t->port = ep->port;
	t->has_id = ep->has_id;
	memcpy(t->id, ep->id, 32);
	t->bootstrap = bootstrap;
	t->retry_interval = P2P_RETRY_INTERVAL0;
	t->next = p->targets;
	p->targets = t;
	if (!bootstrap)
		p->n_unverified++;
	return t;
}

int p2p_add_peer(struct p2p *p, const char *desc)
{
	struct p2p_ep ep;
	char err[128], buf[320];

	if (strncmp(desc, "tcp://", 6) != 0) {
		snprintf(buf, sizeof(buf), "tcp://%s", desc);
		desc = buf;
	}
	if (p2p_ep_parse(desc, &ep, err, sizeof(err)) < 0) {
		p2p_logf(p, P2P_LOG_ERROR, "invalid peer address '%s': %s",
			 desc, err);
		return HN_EINVAL;
	}
	return add_target(p, &ep, true) ? 0 : HN_ENOMEM;
}

static void target_failed(struct p2p *p, struct p2p_target *t, double now)
{
	/* PeerInfo.increment_retry_attempt */
	t->retry_at = now + t->retry_interval;
	t->attempts++;
	t->retry_interval *= P2P_RETRY_MULTIPLIER;
	if (t->retry_interval > P2P_RETRY_MAX)
		t->retry_interval = P2P_RETRY_MAX;
}

static void dial_addr(struct p2p *p, struct p2p_target *t,
		      const struct sockaddr *sa, socklen_t sl)
{
	int fd, rc;

	if (p->cfg.localhost_only && !is_loopback(sa)) {
		p2p_logf(p, P2P_LOG_DEBUG, "not dialing %s:%u: localhost only",
			 t->host, t->port);
		target_failed(p, t, p2p_now(p));
		return;
	}
	fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0) {
		p2p_logf(p, P2P_LOG_WARN, "cannot create socket: %s",
			 strerror(errno));
		target_failed(p, t, p2p_now(p));
		return;
	}
	rc = connect(fd, sa, sl);
	if (rc < 0 && errno != EINPROGRESS) {
		p2p_logf(p, P2P_LOG_INFO, "cannot connect to %s:%u: %s",
			 t->host, t->port, strerror(errno));
		close(fd);
		target_failed(p, t, p2p_now(p));
		return;
	}
	p2p_logf(p, P2P_LOG_DEBUG, "connecting to %s:%u", t->host, t->port);
	t->conn = p2p_conn_new(p, fd, false, sa, sl, t, true);
	if (!t->conn) {
		close(fd);
		target_failed(p, t, p2p_now(p));
	}
}

static void dial(struct p2p *p, struct p2p_target *t)
{
	struct addrinfo hints = { 0 }, *ai = NULL;
	char ps[8];

	snprintf(ps, sizeof(ps), "%u", t->port);
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICHOST | AI_NUMERICSERV;
	if (getaddrinfo(t->host, ps, &hints, &ai) == 0) {
		dial_addr(p, t, ai->ai_addr, ai->ai_addrlen);
		freeaddrinfo(ai);
		return;
	}
	/* A name: resolve without blocking, finish in the tick. */
	if (t->gai)
		return;
	t->gai = calloc(1, sizeof(*t->gai));
	t->gai_port = strdup(ps);
	if (!t->gai || !t->gai_port) {
		free(t->gai);
		t->gai = NULL;
		target_failed(p, t, p2p_now(p));
		return;
	}
	t->gai->ar_name = strdup(t->host);
	t->gai->ar_service = t->gai_port;
	{
		static struct addrinfo h = { .ai_socktype = SOCK_STREAM,
					     .ai_flags = AI_NUMERICSERV };
		struct gaicb *list[1] = { t->gai };
		struct sigevent sev = { .sigev_notify = SIGEV_NONE };

		t->gai->ar_request = &h;
		if (!t->gai->ar_name ||
		    getaddrinfo_a(GAI_NOWAIT, list, 1, &sev) != 0) {
			free((void *)t->gai->ar_name);
			free(t->gai);
			t->gai = NULL;
			target_failed(p, t, p2p_now(p));
		}
	}
}

static void poll_gai(struct p2p *p, struct p2p_target *t)
{
	int rc = gai_error(t->gai);

	if (rc == EAI_INPROGRESS)
		return;
	if (rc == 0 && t->gai->ar_result) {
		dial_addr(p, t, t->gai->ar_result->ai_addr,
			  t->gai->ar_result->ai_addrlen);
	} else {
		p2p_logf(p, P2P_LOG_INFO, "cannot resolve '%s': %s", t->host,
			 gai_strerror(rc));
		target_failed(p, t, p2p_now(p));
	}
	if (t->gai->ar_result)
		freeaddrinfo(t->gai->ar_result);
	free((void *)t->gai->ar_name);
	free(t->gai);
	t->gai = NULL;
}

/* _sync_rotate_if_needed: pick at most max_enabled_sync peers at random. */
static void rotate_sync(struct p2p *p)
{
	struct p2p_conn *c, *ready[256];
	size_t n = 0, i;

	for (c = p->conns; c && n < 256; c = c->next)
		if (c->state == P2P_CONN_READY && c->sync)
			ready[n++] = c;
	if (n <= p->cfg.max_enabled_sync)
		return;
	for (i = n - 1; i > 0; i--) {
		size_t j = p2p_rand(p) % (i + 1);
		struct p2p_conn *tmp = ready[i];

		ready[i] = ready[j];
		ready[j] = tmp;
	}
	for (i = 0; i < n; i++)
		p2p_sync_enable(ready[i]->sync, i < p->cfg.max_enabled_sync);
	p2p_logf(p, P2P_LOG_INFO, "sync rotate: %zu candidates, %u enabled",
		 n, p->cfg.max_enabled_sync);
}

static void mgr_tick(void *arg)
{
	struct p2p *p = arg;
	struct p2p_target *t, **pt;
	double now = p2p_now(p);

	if (!p->started)
		return;
	for (t = p->targets; t; t = t->next) {
		if (t->gai) {
			poll_gai(p, t);
			continue;
		}
		if (t->conn || now < t->retry_at)
			continue;
		if (count_conns(p) >= p->cfg.max_connections)
			break;
		dial(p, t);
	}
	/* Forget discovered peers that kept failing. */
	for (pt = &p->targets; *pt;) {
		t = *pt;
		if (!t->bootstrap && !t->conn && !t->gai && t->attempts >= 5) {
			*pt = t->next;
			p->n_unverified--;
			target_free(t);
			continue;
		}
		pt = &t->next;
	}
	if (now - p->last_rotate >= P2P_SYNC_ROTATE_INTERVAL) {
		p->last_rotate = now;
		rotate_sync(p);
	}
}

int p2p_start(struct p2p *p)
{
	struct p2p_env *env = p->env;

	if (p->started)
		return 0;
	if (!p->tick) {
		p->tick = env->timer_new(env->ctx, mgr_tick, p);
		if (!p->tick)
			return HN_ENOMEM;
	}
	p->started = true;
	p->started_at = p->last_rotate = p2p_now(p);
	if (p->listen_io)
		env->io_set(env->ctx, p->listen_io, P2P_IO_READ);
	env->timer_set(env->ctx, p->tick, 0, 1.0);
	p2p_logf(p, P2P_LOG_INFO, "p2p started: peer id %s, network %s%s",
		 p->id->id_hex, p->cfg.net->p2p_network,
		 p->cfg.use_tls ? "" : " (TLS OFF)");
	return 0;
}

void p2p_disconnect_all(struct p2p *p)
{
	struct p2p_conn *c, *next;

	for (c = p->conns; c; c = next) {
		next = c->next;
		if (!p2p_conn_dead(c))
			p2p_conn_close(c, false, "disconnect requested");
	}
}

void p2p_stop(struct p2p *p)
{
	struct p2p_env *env = p->env;

	if (!p->started)
		return;
	p->started = false;
	if (p->tick)
		env->timer_stop(env->ctx, p->tick);
	if (p->listen_io)
		env->io_set(env->ctx, p->listen_io, 0);
	p2p_disconnect_all(p);
}

void p2p_set_localhost_only(struct p2p *p, bool on)
{
	p->cfg.localhost_only = on;
}

bool p2p_mgr_is_connected(struct p2p *p, const uint8_t id[32],
			  const struct p2p_conn *except)
{
	struct p2p_conn *c;

	for (c = p->conns; c; c = c->next)
		if (c != except && c->state == P2P_CONN_READY &&
		    memcmp(c->peer_id, id, 32) == 0)
			return true;
	return false;
}

static struct p2p_known *find_known(struct p2p *p, const uint8_t id[32])
{
	struct p2p_known *k;

	for (k = p->known; k; k = k->next)
		if (memcmp(k->id, id, 32) == 0)
			return k;
	return NULL;
}

void p2p_mgr_on_ready(struct p2p *p, struct p2p_conn *c)
{
	struct p2p_known *k = find_known(p, c->peer_id);
	struct p2p_conn *o;
	unsigned n_enabled = 0, n_ready = 0;
	size_t i;

	if (p2p_mgr_is_connected(p, c->peer_id, c)) {
		p2p_conn_logf(c, P2P_LOG_WARN, "duplicate connection to peer");
		p2p_conn_close(c, false, "duplicate connection");
		return;
	}
	/* verified_peer_storage.add_or_replace */
	if (!k) {
		k = calloc(1, sizeof(*k));
		if (k) {
			memcpy(k->id, c->peer_id, 32);
			k->next = p->known;
			p->known = k;
		}
	}
	if (k) {
		for (i = 0; i < k->n_entrypoints; i++)
			free(k->entrypoints[i]);
		free(k->entrypoints);
		k->entrypoints = NULL;
		k->n_entrypoints = 0;
		if (c->n_peer_eps) {
			k->entrypoints = calloc(c->n_peer_eps, sizeof(char *));
			for (i = 0; k->entrypoints && i < c->n_peer_eps; i++)
				if ((k->entrypoints[k->n_entrypoints] =
				     strdup(c->peer_eps[i])))
					k->n_entrypoints++;
		}
		k->last_seen = p2p_now(p);
	}
	if (c->target) {
		/* reset_retry_timestamp */
		c->target->retry_interval = P2P_RETRY_INTERVAL0;
		c->target->retry_at = 0;
		c->target->attempts = 0;
	}
	for (o = p->conns; o; o = o->next) {
		if (o->state != P2P_CONN_READY)
			continue;
		n_ready++;
		if (o != c && o->sync && p2p_sync_is_enabled(o->sync))
			n_enabled++;
	}
	if (n_ready <= p->cfg.max_enabled_sync &&
	    n_enabled < p->cfg.max_enabled_sync)
		p2p_sync_enable(c->sync, true);
}

void p2p_mgr_on_closed(struct p2p *p, struct p2p_conn *c)
{
	struct p2p_target *t = c->target;
	struct p2p_known *k;

	if (c->prev_state == P2P_CONN_READY && c->have_peer) {
		k = find_known(p, c->peer_id);
		if (k)
			k->last_seen = p2p_now(p);
	}
	if (t && t->conn == c) {
		t->conn = NULL;
		if (c->prev_state == P2P_CONN_READY)
			t->retry_at = p2p_now(p) + t->retry_interval;
		else
			target_failed(p, t, p2p_now(p));
	}
	c->target = NULL;
}

void p2p_mgr_on_peers(struct p2p *p, struct p2p_conn *from,
		      const uint8_t id[32], char **eps, size_t n_eps)
{
	size_t i;

	/* on_receive_peer: ignore ourselves and peers we already know. */
	if (memcmp(id, p->id->id, 32) == 0 || find_known(p, id))
		return;
	if (!p->cfg.discover)
		return;
	for (i = 0; i < n_eps; i++) {
		struct p2p_ep ep;
		char err[64];

		if (p->n_unverified >= P2P_MAX_UNVERIFIED_PEERS)
			return;
		if (p2p_ep_parse(eps[i], &ep, err, sizeof(err)) < 0)
			continue;
		if (!ep.has_id) {
			ep.has_id = true;
			memcpy(ep.id, id, 32);
		}
		if (!find_target(p, ep.host, ep.port))
			add_target(p, &ep, false);
	}
}

void p2p_mgr_send_peers(struct p2p *p, struct p2p_conn *to)
{
	struct p2p_known *k;
	bool ipv6 = p2p_conn_has_cap(to, P2P_CAP_IPV6);

	/* One PEERS message per verified peer (ready.py handle_get_peers). */
	for (k = p->known; k && !p2p_conn_dead(to); k = k->next) {
		struct json_object *a = json_object_new_array();
		struct json_object *eps = json_object_new_array();
		size_t i, n = 0;
		const char *s;

		for (i = 0; i < k->n_entrypoints; i++) {
			if (!ipv6 && strchr(k->entrypoints[i] + 6, '['))
				continue;
			json_object_array_add(eps, json_object_new_string(
						      k->entrypoints[i]));
			n++;
		}
		if (n) {
			struct json_object *o = json_object_new_object();
			char hex[65];

			p2p_hex32(k->id, hex);
			json_object_object_add(o, "id",
					       json_object_new_string(hex));
			json_object_object_add(o, "entrypoints", eps);
			json_object_array_add(a, o);
		} else {
			json_object_put(eps);
		}
		s = json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN |
						   JSON_C_TO_STRING_NOSLASHESCAPE);
		p2p_conn_send(to, P2P_CMD_PEERS, s, strlen(s));
		json_object_put(a);
	}
}

void p2p_mgr_relay(struct p2p *p, const uint8_t *bytes, size_t len)
{
	struct p2p_conn *c, *ready[512];
	size_t n = 0, i;

	for (c = p->conns; c && n < 512; c = c->next)
		if (c->state == P2P_CONN_READY && c->sync)
			ready[n++] = c;
	for (i = n; i > 1; i--) {
		size_t j = p2p_rand(p) % i;
		struct p2p_conn *tmp = ready[i - 1];

		ready[i - 1] = ready[j];
		ready[j] = tmp;
	}
	for (i = 0; i < n; i++)
		p2p_sync_send_tx(ready[i]->sync, bytes, len);
}

int p2p_send_tx_to_peers(struct p2p *p, const uint8_t *bytes, size_t len)
{
	struct hn_vertex_graph g;

	if (hn_vertex_graph_decode(bytes, len, &g, NULL, 0) < 0)
		return HN_EPARSE;
	p2p_mgr_relay(p, bytes, len);
	return 0;
}

bool p2p_has_synced_peer(const struct p2p *p)
{
	const struct p2p_conn *c;

	for (c = p->conns; c; c = c->next)
		if (c->state == P2P_CONN_READY && c->sync &&
		    p2p_sync_is_synced(c->sync))
			return true;
	return false;
}

int p2p_get_connections(struct p2p *p, struct json_object **out)
{
	struct json_object *o = json_object_new_object();
	struct json_object *conns = json_object_new_object();
	struct json_object *ready = json_object_new_array();
	struct json_object *hs = json_object_new_array();
	struct json_object *connecting = json_object_new_array();
	struct json_object *known = json_object_new_array();
	struct json_object *eps = json_object_new_array();
	struct p2p_conn *c;
	struct p2p_known *k;
	struct p2p_target *t;
	double now = p2p_now(p);
	size_t i;

	if (!o || !conns || !ready || !hs || !connecting || !known || !eps) {
		json_object_put(o);
		json_object_put(conns);
		json_object_put(ready);
		json_object_put(hs);
		json_object_put(connecting);
		json_object_put(known);
		json_object_put(eps);
		return HN_ENOMEM;
	}
	for (c = p->conns; c; c = c->next) {
		if (p2p_conn_dead(c))
			continue;
		if (c->state == P2P_CONN_READY)
			json_object_array_add(ready, p2p_conn_summary(c));
		else if (c->state == P2P_CONN_CONNECTING)
			json_object_array_add(connecting, p2p_conn_summary(c));
		else
			json_object_array_add(hs, p2p_conn_summary(c));
	}
	for (t = p->targets; t; t = t->next) {
		struct json_object *e;
		char addr[300];

		if (t->conn)
			continue;
		e = json_object_new_object();
		snprintf(addr, sizeof(addr), "%s:%u", t->host, t->port);
		json_object_object_add(e, "address",
				       json_object_new_string(addr));
		json_object_object_add(e, "state", json_object_new_string(
					       t->gai ? "RESOLVING" :
					       "WAITING"));
		json_object_object_add(e, "retry_in", json_object_new_double(
					       t->retry_at > now ?
					       t->retry_at - now : 0));
		json_object_object_add(e, "attempts",
				       json_object_new_int((int)t->attempts));
		json_object_array_add(connecting, e);
	}
	for (k = p->known; k; k = k->next) {
		struct json_object *e = json_object_new_object();
		struct json_object *a = json_object_new_array();
		char hex[65];

		p2p_hex32(k->id, hex);
		for (i = 0; i < k->n_entrypoints; i++)
			json_object_array_add(a, json_object_new_string(
						      k->entrypoints[i]));
		json_object_object_add(e, "id", json_object_new_string(hex));
		json_object_object_add(e, "entrypoints", a);
		json_object_object_add(e, "last_seen", json_object_new_double(
					       now - k->last_seen));
		json_object_object_add(e, "flags", json_object_new_array());
		json_object_array_add(known, e);
	}
	for (i = 0; i < p->cfg.n_entrypoints; i++)
		json_object_array_add(eps, json_object_new_string(
					      p->my_eps[i]));
	json_object_object_add(o, "peer_id",
			       json_object_new_string(p->id->id_hex));
	json_object_object_add(o, "app_version",
			       json_object_new_string(p->app));
	json_object_object_add(o, "network",
			       json_object_new_string(p->cfg.net->p2p_network));
	json_object_object_add(o, "uptime", json_object_new_double(
				       p->started ? now - p->started_at : 0));
	json_object_object_add(o, "entrypoints", eps);
	json_object_object_add(o, "known_peers", known);
	json_object_object_add(conns, "connected_peers", ready);
	json_object_object_add(conns, "handshaking_peers", hs);
	json_object_object_add(conns, "connecting_peers", connecting);
	json_object_object_add(o, "connections", conns);
	*out = o;
	return 0;
}
