/*
 * test_util.c: hex, base64, SHA-256 and logging helpers of hn_common.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "hn/b64.h"
#include "hn/err.h"
#include "hn/hash.h"
#include "hn/hex.h"
#include "hn/log.h"
#include "hn/network.h"
#include "hn/vertex.h"

static void test_hex(void **state)
{
	uint8_t buf[8];
	char out[17];
	size_t n = 0;

	assert_int_equal(hn_hex_decode("00ff10Ab", buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 4);
	assert_int_equal(buf[1], 0xff);
	assert_int_equal(buf[3], 0xab);
	hn_hex_encode(buf, n, out);
	assert_string_equal(out, "00ff10ab");
	assert_int_equal(hn_hex_decode("abc", buf, sizeof(buf), &n), HN_EPARSE);
	assert_int_equal(hn_hex_decode("zz", buf, sizeof(buf), &n), HN_EPARSE);
	assert_int_equal(hn_hex_decode("0x00", buf, sizeof(buf), &n),
			 HN_EPARSE);
	assert_int_equal(hn_hex_decode("000000000000000000", buf, sizeof(buf),
				       &n), HN_ERANGE);
	assert_int_equal(hn_hex_decode("", buf, sizeof(buf), &n), 0);
	assert_int_equal(n, 0);
}

static void test_b64(void **state)
{
	static const struct {
		const char *plain, *b64;
	} v[] = {
		{ "", "" },       { "f", "Zg==" },     { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	size_t i, n;
	uint8_t *out;
	char *enc;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		enc = hn_b64_encode((const uint8_t *)v[i].plain,
				    strlen(v[i].plain));
		assert_non_null(enc);
		assert_string_equal(enc, v[i].b64);
		free(enc);
		assert_int_equal(hn_b64_decode(v[i].b64, &out, &n), 0);
		assert_int_equal(n, strlen(v[i].plain));
		assert_memory_equal(out, v[i].plain, n);
		free(out);
	}
	out = NULL;
	assert_int_equal(hn_b64_decode("Zm9", &out, &n), HN_EPARSE);
	assert_int_equal(hn_b64_decode("Zm9v!===", &out, &n), HN_EPARSE);
	assert_int_equal(hn_b64_decode("Zm 9v", &out, &n), HN_EPARSE);
	assert_null(out);
}

static void test_sha256(void **state)
{
	uint8_t h[32];
	char hex[65];

	hn_sha256("abc", 3, h);
	hn_hex_encode(h, 32, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223"
				 "b00361a396177a9cb410ff61f20015ad");
	hn_sha256d("", 0, h);
	hn_hex_encode(h, 32, hex);
	assert_string_equal(hex, "5df6e0e2761359d30a8275058e299fcc"
				 "0381534545f55cf43e41983f5d4c9456");
	assert_int_equal(hn_hash160("", 0, (uint8_t *)h), 0);
	hn_hex_encode(h, 20, hex);
	assert_string_equal(hex, "b472a266d0bd89c13706a4132ccfb16f7c3b9fcb");
}

static void test_log(void **state)
{
	char path[] = "hn-test-log-XXXXXX";
	char buf[512];
	ssize_t n;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(hn_log_setup("bogus", NULL, -1), HN_EINVAL);
	assert_int_equal(hn_log_setup("info", "text", fd), 0);
	hn_debug("test", "hidden %d", 1);
	hn_info("test", "hello %s", "world");
	assert_int_equal(hn_log_setup(NULL, "json", -1), 0);
	hn_warn("test", "quote \" here");
	assert_int_equal(hn_log_setup(NULL, "text", 2), 0);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_null(strstr(buf, "hidden"));
	assert_non_null(strstr(buf, "Z INFO [test] hello world\n"));
	assert_non_null(strstr(buf, "\"level\":\"warn\",\"comp\":\"test\","
				    "\"msg\":\"quote \\\" here\""));
	assert_string_equal(getenv("HN_LOG_LEVEL"), "info");
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hex),
		cmocka_unit_test(test_b64),
		cmocka_unit_test(test_sha256),
		cmocka_unit_test(test_log),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
