/*
 * test_p2p_dns.c: DNS seed answers (wire format, as res_query returns them)
 * turned into entrypoints like hathor-core's DNSPeerDiscovery: every TXT
 * character-string, A records with the default port; bad input refused.
 * The messages are written out byte by byte below (header, question,
 * compressed answer names), not produced by our own encoder.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "hn/err.h"
#include "hn/network.h"
#include "memnode.h"
#include "p2p.h"
#include "p2p_dns.h"
#include "p2p_int.h"
#include "testenv.h"
#include "tnode.h"

struct got {
	char eps[8][256];
	int n;
};

static void collect(void *arg, const char *ep)
{
	struct got *g = arg;

	assert_true(g->n < 8);
	strcpy(g->eps[g->n++], ep);
}

/* seed.hathor.test IN TXT / A: 3 answers. */
static const uint8_t answer[] = {
	0x12, 0x34, 0x81, 0x80, 0x00, 0x01, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00,
	/* question: seed.hathor.test TXT IN */
	4, 's', 'e', 'e', 'd', 6, 'h', 'a', 't', 'h', 'o', 'r',
	4, 't', 'e', 's', 't', 0, 0x00, 0x10, 0x00, 0x01,
	/* TXT, two strings (27 + 25 bytes) */
	0xc0, 0x0c, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 54,
	27, 't', 'c', 'p', ':', '/', '/', '1', '.', '2', '.', '3', '.', '4',
	':', '4', '0', '4', '0', '3', '/', '?', 'i', 'd', '=', 'a', 'b', 'c',
	25, 't', 'c', 'p', ':', '/', '/', 's', 'e', 'e', 'd', '2', '.', 'e',
	'x', 'a', 'm', 'p', 'l', 'e', ':', '4', '0', '4', '0', '3',
	/* TXT: an empty string and invalid UTF-8: both skipped */
	0xc0, 0x0c, 0x00, 0x10, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 4,
	0, 2, 0xff, 0xfe,
	/* A 10.0.0.7 */
	0xc0, 0x0c, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x01, 0x2c, 0x00, 4,
	10, 0, 0, 7,
};

static void test_answer(void **state)
{
	struct got g = { .n = 0 };

	(void)state;
	assert_int_equal(p2p_dns_parse(answer, sizeof(answer), 40403,
				       collect, &g), 3);
	assert_int_equal(g.n, 3);
	assert_string_equal(g.eps[0], "tcp://1.2.3.4:40403/?id=abc");
	assert_string_equal(g.eps[1], "tcp://seed2.example:40403");
	assert_string_equal(g.eps[2], "tcp://10.0.0.7:40403");
}

static void test_default_port(void **state)
{
	struct got g = { .n = 0 };

	(void)state;
	assert_int_equal(p2p_dns_parse(answer, sizeof(answer), 8000,
				       collect, &g), 3);
	assert_string_equal(g.eps[2], "tcp://10.0.0.7:8000");
}

static void test_malformed(void **state)
{
	struct got g = { .n = 0 };
	uint8_t bad[sizeof(answer)];

	(void)state;
	/* cut inside the last answer */
	assert_int_equal(p2p_dns_parse(answer, sizeof(answer) - 3, 40403,
				       collect, &g), -1);
	/* shorter than a header */
	assert_int_equal(p2p_dns_parse(answer, 5, 40403, collect, &g), -1);
	/* an answer count beyond the records present */
	memcpy(bad, answer, sizeof(bad));
	bad[7] = 9;
	assert_int_equal(p2p_dns_parse(bad, sizeof(bad), 40403, collect, &g),
			 -1);
}

/* --- a DNS server on loopback UDP (a thread), and two engines --- */

struct dnssrv {
	int fd;
	uint16_t port;
	uint16_t seed_port;     /* TXT answer: tcp://127.0.0.1:seed_port */
	int queries;            /* answered (both types) */
	volatile int stop;
};

static void put16(uint8_t *b, uint16_t v)
{
	b[0] = (uint8_t)(v >> 8);
	b[1] = (uint8_t)v;
}

/* Answers "seed.hathor.test" TXT with our entrypoint and A with 127.0.0.1;
 * any other name NXDOMAIN. */
static void *dns_main(void *arg)
{
	struct dnssrv *d = arg;
	uint8_t q[512], r[1024];

	while (!d->stop) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(d->fd, q, sizeof(q), 0,
				     (struct sockaddr *)&from, &fl);
		size_t qend = 12, len;
		uint16_t qtype;
		char name[256] = "";
		bool ours;

		if (n < 17)
			continue;
		while (qend < (size_t)n && q[qend]) {
			size_t l = q[qend];

			if (strlen(name) + l + 2 > sizeof(name) ||
			    qend + 1 + l > (size_t)n)
				break;
			if (name[0])
				strcat(name, ".");
			strncat(name, (const char *)q + qend + 1, l);
			qend += 1 + l;
		}
		qend += 1;
		if (qend + 4 > (size_t)n)
			continue;
		qtype = (uint16_t)(q[qend] << 8 | q[qend + 1]);
		qend += 4;
		ours = !strcmp(name, "seed.hathor.test");
		memcpy(r, q, qend);
		r[2] = 0x81;
		r[3] = ours ? 0x80 : 0x83;      /* NOERROR / NXDOMAIN */
		put16(r + 6, ours ? 1 : 0);
		put16(r + 8, 0);
		put16(r + 10, 0);
		len = qend;
		if (ours) {
			uint8_t *a = r + len;

			put16(a, 0xc00c);
			put16(a + 2, qtype);
			put16(a + 4, 1);
			memcpy(a + 6, "\0\0\1\x2c", 4);
			if (qtype == 16) {
				char ep[64];
				int el = snprintf(ep, sizeof(ep),
						  "tcp://127.0.0.1:%u",
						  (unsigned)d->seed_port);

				put16(a + 10, (uint16_t)(el + 1));
				a[12] = (uint8_t)el;
				memcpy(a + 13, ep, (size_t)el);
				len += 13 + (size_t)el;
			} else {
				put16(a + 10, 4);
				memcpy(a + 12, "\x7f\0\0\1", 4);
				len += 16;
			}
		}
		sendto(d->fd, r, len, 0, (struct sockaddr *)&from, fl);
		__atomic_add_fetch(&d->queries, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static struct ev_loop *loop;
static const struct hn_network *net;

static void node_up(struct tnode *n, const char *name, const char *dns)
{
	struct p2p_config cfg = { .dns_server = dns };

	tnode_up(n, loop, net, name, &cfg, true);
}

static bool one_ready(void *arg)
{
	return p2p_n_ready(arg) == 1;
}

static bool no_jobs(void *arg)
{
	return ((struct p2p *)arg)->dns_jobs == NULL;
}

static bool has_target(struct p2p *p, const char *host, uint16_t port)
{
	struct p2p_target *t;

	for (t = p->targets; t; t = t->next)
		if (!strcmp(t->host, host) && t->port == port)
			return true;
	return false;
}

static void test_seed_lookup(void **state)
{
	struct dnssrv d = { .fd = -1 };
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	struct tnode a, b;
	pthread_t th;
	char ns[64];

	(void)state;
	d.fd = socket(AF_INET, SOCK_DGRAM, 0);
	assert_true(d.fd >= 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(d.fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(d.fd, (struct sockaddr *)&sa, &sl), 0);
	setsockopt(d.fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	d.port = ntohs(sa.sin_port);
	snprintf(ns, sizeof(ns), "127.0.0.1:%u", (unsigned)d.port);

	node_up(&a, "[seed]", NULL);
	d.seed_port = a.port;
	assert_int_equal(pthread_create(&th, NULL, dns_main, &d), 0);
	node_up(&b, "[b]", ns);

	/* A name the server does not know: no peers, the job ends. */
	assert_int_equal(p2p_add_dns_seed(b.p2p, "missing.test"), 0);
	assert_non_null(b.p2p->dns_jobs);
	assert_true(tnode_run_until(loop, no_jobs, b.p2p, 15));
	assert_null(b.p2p->targets);
	/* The seed: B dials what the TXT record names and gets READY. */
	assert_int_equal(p2p_add_dns_seed(b.p2p, "seed.hathor.test"), 0);
	assert_true(tnode_run_until(loop, no_jobs, b.p2p, 15));
	assert_true(has_target(b.p2p, "127.0.0.1", a.port));
	assert_true(has_target(b.p2p, "127.0.0.1", 40403));   /* the A record */
	assert_true(tnode_run_until(loop, one_ready, b.p2p, 15));
	assert_true(__atomic_load_n(&d.queries, __ATOMIC_SEQ_CST) >= 4);
	/* Refused input. */
	assert_int_equal(p2p_add_dns_seed(b.p2p, ""), HN_EINVAL);

	tnode_down(&b);
	tnode_down(&a);
	d.stop = 1;
	pthread_join(th, NULL);
	close(d.fd);
}

static void test_bad_server(void **state)
{
	struct tnode b;

	(void)state;
	node_up(&b, "[b]", "localhost:53");
	assert_int_equal(p2p_add_dns_seed(b.p2p, "seed.hathor.test"),
			 HN_EINVAL);
	p2p_free(b.p2p);
	b.p2p = NULL;
	memnode_release(&b.mn);
	node_up(&b, "[b]", "127.0.0.1:9");
	assert_int_equal(p2p_add_dns_seed(b.p2p, "seed.hathor.test"), 0);
	/* Freed with the lookup in flight: the worker finishes alone (port
	 * 9 refuses at once on loopback) and frees its half of the job. */
	tnode_down(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_default_port),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_seed_lookup),
		cmocka_unit_test(test_bad_server),
	};
	char err[256];
	int rc;

	(void)err;
	net = hn_network_by_name("unittests");
	if (!net)
		return 1;
	loop = ev_loop_new(EVFLAG_AUTO);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	ev_loop_destroy(loop);
	return rc;
}
