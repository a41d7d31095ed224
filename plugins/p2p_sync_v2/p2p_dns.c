/*
 * p2p_dns.c: entrypoints from a DNS seed's answer (see p2p_dns.h), parsed
 * with libresolv's ns_initparse / ns_parserr.
 */
#include "p2p_dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <resolv.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "hn/err.h"
#include "p2p.h"
#include "p2p_int.h"
#include "p2p_msg.h"

/* hathor-core's DNSPeerDiscovery default_port. */
#define P2P_DNS_PORT 40403

static int txt_strings(const uint8_t *rd, size_t n, p2p_dns_entry_cb cb,
		       void *arg)
{
	char ep[256];
	size_t off = 0;
	int found = 0;

	while (off < n) {
		size_t sl = rd[off++];

		if (sl > n - off)
			break;  /* truncated rdata: stop at the last whole one */
		memcpy(ep, rd + off, sl);
		ep[sl] = 0;
		off += sl;
		if (sl == 0 || memchr(ep, 0, sl) || !p2p_utf8_valid(ep, sl))
			continue;
		cb(arg, ep);
		found++;
	}
	return found;
}

int p2p_dns_parse(const uint8_t *msg, size_t len, uint16_t default_port,
		  p2p_dns_entry_cb cb, void *arg)
{
	ns_msg h;
	ns_rr rr;
	int found = 0;

	if (len > 65535 || ns_initparse(msg, (int)len, &h) < 0)
		return -1;
	for (int i = 0; i < ns_msg_count(h, ns_s_an); i++) {
		if (ns_parserr(&h, ns_s_an, i, &rr) < 0)
			return -1;
		if (ns_rr_class(rr) != ns_c_in)
			continue;
		if (ns_rr_type(rr) == ns_t_txt) {
			found += txt_strings(ns_rr_rdata(rr), ns_rr_rdlen(rr),
					     cb, arg);
		} else if (ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4) {
			char ip[INET_ADDRSTRLEN], ep[64];

			if (!inet_ntop(AF_INET, ns_rr_rdata(rr), ip, sizeof(ip)))
				continue;
			snprintf(ep, sizeof(ep), "tcp://%s:%u", ip,
				 (unsigned)default_port);
			cb(arg, ep);
			found++;
		}
	}
	return found;
}

/* --- lookups in a worker thread --- */

struct p2p_dns_job {
	struct p2p_dns_job *next;
	struct p2p *p;          /* loop side only */
	struct p2p_io *io;
	int rfd, wfd;
	pthread_mutex_t mu;
	int refs;               /* the thread and the loop */
	char name[256];
	bool has_ns;
	struct sockaddr_in ns;
	int txt_len, a_len;     /* res_nquery results (-1: failed) */
	uint8_t txt[8192];
	uint8_t a[2048];
};

static void job_unref(struct p2p_dns_job *j)
{
	bool last;

	pthread_mutex_lock(&j->mu);
	last = --j->refs == 0;
	pthread_mutex_unlock(&j->mu);
	if (last) {
		pthread_mutex_destroy(&j->mu);
		free(j);
	}
}

static void *job_main(void *arg)
{
	struct p2p_dns_job *j = arg;
	struct __res_state rs;

	memset(&rs, 0, sizeof(rs));
	j->txt_len = j->a_len = -1;
	if (res_ninit(&rs) == 0) {
		if (j->has_ns) {
			rs.nscount = 1;
			rs.nsaddr_list[0] = j->ns;
		}
		rs.retrans = 2;
		rs.retry = 2;
		j->txt_len = res_nquery(&rs, j->name, ns_c_in, ns_t_txt,
					j->txt, sizeof(j->txt));
		j->a_len = res_nquery(&rs, j->name, ns_c_in, ns_t_a, j->a,
				      sizeof(j->a));
		res_nclose(&rs);
	}
	while (write(j->wfd, "x", 1) < 0 && errno == EINTR)
		;
	close(j->wfd);
	job_unref(j);
	return NULL;
}

static void job_drop(struct p2p *p, struct p2p_dns_job *j)
{
	struct p2p_dns_job **pp;

	for (pp = &p->dns_jobs; *pp; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	}
	p->env->io_free(p->env->ctx, j->io);
	close(j->rfd);
	job_unref(j);
}

static void add_found(void *arg, const char *ep)
{
	struct p2p *p = arg;

	if (p2p_add_peer(p, ep) == 0)
		p2p_logf(p, P2P_LOG_INFO, "DNS seed: peer %s", ep);
}

static void job_done(void *arg, int revents)
{
	struct p2p_dns_job *j = arg;
	struct p2p *p = j->p;
	int n = 0, m = 0;

	(void)revents;
	if (j->txt_len > 0)
		n = p2p_dns_parse(j->txt, (size_t)j->txt_len, P2P_DNS_PORT,
				  add_found, p);
	if (j->a_len > 0)
		m = p2p_dns_parse(j->a, (size_t)j->a_len, P2P_DNS_PORT,
				  add_found, p);
	p2p_logf(p, j->txt_len < 0 && j->a_len < 0 ? P2P_LOG_WARN :
		 P2P_LOG_INFO, "DNS seed %s: %d TXT and %d A entrypoints%s",
		 j->name, n > 0 ? n : 0, m > 0 ? m : 0,
		 j->txt_len < 0 && j->a_len < 0 ? " (lookup failed)" : "");
	job_drop(p, j);
}

int p2p_add_dns_seed(struct p2p *p, const char *name)
{
	struct p2p_dns_job *j;
	sigset_t all, old;
	pthread_attr_t at;
	pthread_t th;
	int fds[2], rc;

	if (!name || !*name || strlen(name) >= sizeof(j->name))
		return HN_EINVAL;
	if (!(j = calloc(1, sizeof(*j))))
		return HN_ENOMEM;
	snprintf(j->name, sizeof(j->name), "%s", name);
	if (p->dns_server[0]) {
		char host[64], *c;
		unsigned long port;

		snprintf(host, sizeof(host), "%s", p->dns_server);
		c = strrchr(host, ':');
		if (!c) {
			free(j);
			return HN_EINVAL;
		}
		*c = 0;
		port = strtoul(c + 1, NULL, 10);
		j->ns.sin_family = AF_INET;
		j->ns.sin_port = htons((uint16_t)port);
		if (port == 0 || port > 65535 ||
		    inet_pton(AF_INET, host, &j->ns.sin_addr) != 1) {
			free(j);
			return HN_EINVAL;
		}
		j->has_ns = true;
	}
	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0) {
		free(j);
		return HN_EIO;
	}
	j->rfd = fds[0];
	j->wfd = fds[1];
	j->p = p;
	j->refs = 2;
	pthread_mutex_init(&j->mu, NULL);
	if (!(j->io = p->env->io_new(p->env->ctx, j->rfd, job_done, j))) {
		close(fds[0]);
		close(fds[1]);
		pthread_mutex_destroy(&j->mu);
		free(j);
		return HN_ENOMEM;
	}
	p->env->io_set(p->env->ctx, j->io, P2P_IO_READ);
	j->next = p->dns_jobs;
	p->dns_jobs = j;
	/* The worker takes no signals (the host's loop handles them). */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	rc = pthread_create(&th, &at, job_main, j);
	pthread_attr_destroy(&at);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != 0) {
		close(j->wfd);
		j->refs = 1;
		job_drop(p, j);
		return HN_ENOMEM;
	}
	p2p_logf(p, P2P_LOG_INFO, "DNS seed %s: looking up TXT and A records",
		 name);
	return 0;
}

void p2p_dns_free_all(struct p2p *p)
{
	while (p->dns_jobs)
		job_drop(p, p->dns_jobs);
}
