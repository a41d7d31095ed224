/*
 * test_p2p_line.c: "\r\n" framing with the 65 536-byte maximum, command
 * split, UTF-8 rules and the command table (p2p_line.c, p2p_msg.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hn/err.h"
#include "p2p_line.h"
#include "p2p_msg.h"

static void feed(struct p2p_linebuf *lb, const char *s)
{
	assert_int_equal(p2p_linebuf_feed(lb, s, strlen(s)), 0);
}

static void expect_line(struct p2p_linebuf *lb, const char *want)
{
	const char *line;
	size_t len;

	assert_int_equal(p2p_linebuf_next(lb, &line, &len), 1);
	assert_int_equal(len, strlen(want));
	assert_memory_equal(line, want, len);
}

static void test_basic_lines(void **state)
{
	struct p2p_linebuf lb;
	const char *line;
	size_t len;

	(void)state;
	p2p_linebuf_init(&lb, P2P_MAX_LINE);
	feed(&lb, "HELLO {}\r\nPING abc\r\nREA");
	expect_line(&lb, "HELLO {}");
	expect_line(&lb, "PING abc");
	assert_int_equal(p2p_linebuf_next(&lb, &line, &len), 0);
	feed(&lb, "DY\r");
	assert_int_equal(p2p_linebuf_next(&lb, &line, &len), 0);
	/* The delimiter split across two reads. */
	feed(&lb, "\n");
	expect_line(&lb, "READY");
	assert_int_equal(p2p_linebuf_next(&lb, &line, &len), 0);
	/* A bare \n or \r belongs to the line; empty lines are lines. */
	feed(&lb, "A\nB\rC\r\n\r\n");
	expect_line(&lb, "A\nB\rC");
	expect_line(&lb, "");
	assert_int_equal(p2p_linebuf_pending(&lb), 0);
	p2p_linebuf_release(&lb);
}

static void test_max_length(void **state)
{
	struct p2p_linebuf lb;
	char *big = malloc(P2P_MAX_LINE + 3);
	const char *line;
	size_t len;

	(void)state;
	/* Exactly the maximum is accepted. */
	memset(big, 'x', P2P_MAX_LINE);
	memcpy(big + P2P_MAX_LINE, "\r\n", 2);
	p2p_linebuf_init(&lb, P2P_MAX_LINE);
	assert_int_equal(p2p_linebuf_feed(&lb, big, P2P_MAX_LINE + 2), 0);
	assert_int_equal(p2p_linebuf_next(&lb, &line, &len), 1);
	assert_int_equal(len, P2P_MAX_LINE);
	p2p_linebuf_release(&lb);

	/* One more byte in a complete line: drop, after earlier lines. */
	p2p_linebuf_init(&lb, P2P_MAX_LINE);
	feed(&lb, "PING a\r\n");
	memset(big, 'y', P2P_MAX_LINE + 1);
	memcpy(big + P2P_MAX_LINE + 1, "\r\n", 2);
	assert_int_equal(p2p_linebuf_feed(&lb, big, P2P_MAX_LINE + 3), 0);
	expect_line(&lb, "PING a");
	assert_int_equal(p2p_linebuf_next(&lb, &line, &len), HN_ERANGE);
	/* Sticky. */
	assert_int_equal(p2p_linebuf_next(&lb, &line, &len), HN_ERANGE);
	p2p_linebuf_release(&lb);

	/* A partial line already over the limit (a 70 000-byte line sent
	 * slowly) fails before the delimiter arrives. */
	p2p_linebuf_init(&lb, P2P_MAX_LINE);
	assert_int_equal(p2p_linebuf_feed(&lb, big, P2P_MAX_LINE), 0);
	assert_int_equal(p2p_linebuf_next(&lb, &line, &len), 0);
	assert_int_equal(p2p_linebuf_feed(&lb, "zz", 2), 0);
	assert_int_equal(p2p_linebuf_next(&lb, &line, &len), HN_ERANGE);
	p2p_linebuf_release(&lb);
	free(big);
}

static void test_many_small_lines(void **state)
{
	struct p2p_linebuf lb;
	int i;

	(void)state;
	p2p_linebuf_init(&lb, 100);
	for (i = 0; i < 10000; i++) {
		feed(&lb, "TIPS-END\r\n");
		if (i % 3 == 0)
			expect_line(&lb, "TIPS-END");
	}
	for (i = 0; i < 10000 - 3334; i++)
		expect_line(&lb, "TIPS-END");
	assert_int_equal(p2p_linebuf_pending(&lb), 0);
	p2p_linebuf_release(&lb);
}

static void test_split(void **state)
{
	struct p2p_line_msg m;
	const char *l;

	(void)state;
	l = "GET-NEXT-BLOCKS {\"a\": 1}";
	assert_int_equal(p2p_line_parse(l, strlen(l), &m), 0);
	assert_int_equal(m.cmd, P2P_CMD_GET_NEXT_BLOCKS);
	assert_int_equal(m.payload_len, 8);
	assert_memory_equal(m.payload, "{\"a\": 1}", 8);
	l = "READY";
	assert_int_equal(p2p_line_parse(l, strlen(l), &m), 0);
	assert_int_equal(m.cmd, P2P_CMD_READY);
	assert_int_equal(m.payload_len, 0);
	/* Split at the first space only; a trailing space means "". */
	l = "DATA mempool abc";
	assert_int_equal(p2p_line_parse(l, strlen(l), &m), 0);
	assert_int_equal(m.cmd, P2P_CMD_DATA);
	assert_int_equal(m.payload_len, 11);
	l = "PING ";
	assert_int_equal(p2p_line_parse(l, strlen(l), &m), 0);
	assert_int_equal(m.payload_len, 0);
	/* Unknown, empty, lowercase, near-miss commands. */
	assert_int_equal(p2p_line_parse("", 0, &m), HN_ENOENT);
	assert_int_equal(p2p_line_parse("ready", 5, &m), HN_ENOENT);
	assert_int_equal(p2p_line_parse("GET-BLOCKS x", 12, &m), HN_ENOENT);
	assert_int_equal(p2p_line_parse(" READY", 6, &m), HN_ENOENT);
	/* Invalid UTF-8 anywhere closes, even in the payload. */
	assert_int_equal(p2p_line_parse("ERROR \xff", 7, &m), HN_EPARSE);
	assert_int_equal(p2p_line_parse("ERROR \xc0\x80", 8, &m),
			 HN_EPARSE);           /* overlong NUL */
	assert_int_equal(p2p_line_parse("ERROR \xed\xa0\x80", 9, &m),
			 HN_EPARSE);           /* surrogate */
	assert_int_equal(p2p_line_parse("ERROR \xf4\x90\x80\x80", 10, &m),
			 HN_EPARSE);           /* > U+10FFFF */
	assert_int_equal(p2p_line_parse("ERROR \xe2\x82", 8, &m),
			 HN_EPARSE);           /* truncated */
	assert_int_equal(p2p_line_parse("ERROR \xf0\x9f\x9a\x80 ok", 13, &m),
			 0);                   /* rocket emoji */
}

static void test_table(void **state)
{
	int i;

	(void)state;
	for (i = 0; i < P2P_CMD__COUNT; i++) {
		const char *w = p2p_cmd_name((enum p2p_cmd)i);
		const char *py = p2p_cmd_enum_name((enum p2p_cmd)i);
		size_t k;

		assert_non_null(w);
		assert_non_null(py);
		assert_int_equal(p2p_cmd_lookup(w, strlen(w)), i);
		/* The enum member name is the wire name with '_' for '-'. */
		assert_int_equal(strlen(w), strlen(py));
		for (k = 0; w[k]; k++)
			assert_true(w[k] == py[k] ||
				    (w[k] == '-' && py[k] == '_'));
	}
	assert_null(p2p_cmd_name(P2P_CMD__COUNT));
	assert_int_equal(P2P_CMD__COUNT, 39);
}

static void test_format(void **state)
{
	char *out;
	long n;

	(void)state;
	n = p2p_line_format(P2P_CMD_GET_TIPS, NULL, 0, &out);
	assert_int_equal(n, 8);
	assert_string_equal(out, "GET-TIPS");
	free(out);
	n = p2p_line_format(P2P_CMD_RELAY, "true", 4, &out);
	assert_string_equal(out, "RELAY true");
	free(out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_basic_lines),
		cmocka_unit_test(test_max_length),
		cmocka_unit_test(test_many_small_lines),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_table),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
