/*
 * test_p2p_dns.c: DNS seed answers (wire format, as res_query returns them)
 * turned into entrypoints like hathor-core's DNSPeerDiscovery: every TXT
 * character-string, A records with the default port; bad input refused.
 * The messages are written out byte by byte below (header, question,
 * compressed answer names), not produced by our own encoder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "p2p_dns.h"

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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_answer),
		cmocka_unit_test(test_default_port),
		cmocka_unit_test(test_malformed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
