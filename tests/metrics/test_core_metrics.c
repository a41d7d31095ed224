/*
 * test_core_metrics: core/metrics.c, the core's own registry.  Gauges read
 * from a real ledger (sqlite under the build dir) as it grows, hook-fed
 * counters and histograms, label escaping and the cardinality cap, and
 * metrics reported by another process (replace, clear, clash refused).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "chain.h"
#include "hn/network.h"
#include "ledger.h"
#include "metrics.h"

struct seen {
	struct hathor_metric_value v[512];
	char name[512][96], labels[512][256];
	size_t n;
};

static void collect(void *arg, const struct hathor_metric_value *v)
{
	struct seen *s = arg;

	assert_true(s->n < 512);
	s->v[s->n] = *v;
	snprintf(s->name[s->n], sizeof(s->name[0]), "%s", v->name);
	snprintf(s->labels[s->n], sizeof(s->labels[0]), "%s", v->labels);
	s->v[s->n].name = s->name[s->n];
	s->v[s->n].labels = s->labels[s->n];
	s->n++;
}

static void visit(struct seen *s)
{
	s->n = 0;
	hn_core_metrics_visit(NULL, collect, s);
}

/* The sample @name{@labels}, or NULL. */
static const struct hathor_metric_value *find(const struct seen *s,
					      const char *name,
					      const char *labels)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (strcmp(s->v[i].name, name) == 0 &&
		    strcmp(s->v[i].labels, labels) == 0)
			return &s->v[i];
	return NULL;
}

static double val(const struct seen *s, const char *name, const char *labels)
{
	const struct hathor_metric_value *v = find(s, name, labels);

	if (!v)
		fail_msg("no sample %s{%s}", name, labels);
	return v->value;
}

static size_t count_name(const struct seen *s, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < s->n; i++)
		n += strcmp(s->v[i].name, name) == 0;
	return n;
}

static void test_ledger_gauges(void **state)
{
	struct tchain tc;
	struct seen *s = calloc(1, sizeof(*s));
	uint8_t top[32];

	(void)state;
	assert_non_null(s);
	hn_core_metrics_reset();
	visit(s);
	assert_int_equal(s->n, 0);      /* nothing attached, nothing hooked */

	tc_open(&tc);
	hn_core_metrics_attach_ledger(tc.l, tc.db);
	visit(s);
	assert_true(val(s, "hathor_best_block_height", "") == 0);
	assert_true(val(s, "hathor_vertices", "type=\"block\"") == 1);
	assert_true(val(s, "hathor_vertices", "type=\"tx\"") == 2);
	assert_true(val(s, "hathor_mempool_transactions", "") == 2);
	assert_true(val(s, "hathor_db_file_size_bytes", "file=\"db\"") > 0);

	/* hathor-core's hash_rate, 2**(weight - log(30, 2)): of the newest
	 * block before any is accepted (genesis here). */
	assert_true(val(s, "hathor_hash_rate", "") ==
		    pow(2.0, tc.net->genesis_block.weight - log(30) / log(2)));

	tc_chain(&tc, tc_gblock(&tc), tc.net->genesis_block.timestamp + 30, 5,
		 2.0, 0, top, NULL);
	visit(s);
	assert_true(val(s, "hathor_hash_rate", "") ==
		    pow(2.0, 2.0 - log(30) / log(2)));
	assert_true(val(s, "hathor_best_block_height", "") == 5);
	assert_true(val(s, "hathor_best_block_height", "") ==
		    (double)tc_best_height(&tc));
	/* tc_chain's blocks have weight 2.0. */
	assert_true(val(s, "hathor_best_block_weight", "") == 2.0);
	assert_true(val(s, "hathor_vertices", "type=\"block\"") == 6);
	assert_true(val(s, "hathor_vertices", "type=\"tx\"") == 2);
	/* The first block confirmed both genesis transactions. */
	assert_true(val(s, "hathor_mempool_transactions", "") == 0);
	/* The ledger's add path feeds the vertex counters (a dry run does
	 * not count). */
	assert_true(val(s, "hathor_vertices_received_total",
			"type=\"block\"") == 5);
	{
		static const uint8_t junk[] = { 0x00, 0x01, 0x02 };

		assert_true(hn_ledger_add_vertex(tc.l, junk, sizeof(junk), 0,
						 NULL) < 0);
		assert_true(hn_ledger_add_vertex(tc.l, junk, sizeof(junk),
						 HN_ADD_DRY_RUN, NULL) < 0);
	}
	visit(s);
	assert_true(val(s, "hathor_vertices_received_total",
			"type=\"unknown\"") == 1);
	assert_true(val(s, "hathor_vertices_rejected_total",
			"type=\"unknown\",reason=\"parse\"") == 1);

	/* hash_rate follows the last block accepted, also one that loses:
	 * a heavier block on genesis stays off the best chain (score 2**3 <
	 * 5 * 2**2) and sets it, the best block's weight does not change;
	 * the next block on the best chain sets it back. */
	{
		uint8_t side[32], top2[32];

		tc_add_block(&tc, tc_gblock(&tc), NULL,
			     tc.net->genesis_block.timestamp + 40, 3.0, 9, 0,
			     side);
		assert_true(tc_voided(&tc, side));
		visit(s);
		assert_true(val(s, "hathor_hash_rate", "") ==
			    pow(2.0, 3.0 - log(30) / log(2)));
		assert_true(val(s, "hathor_best_block_weight", "") == 2.0);
		tc_add_block(&tc, top, NULL,
			     tc.net->genesis_block.timestamp + 180, 2.5, 0, 0,
			     top2);
		visit(s);
		assert_true(val(s, "hathor_hash_rate", "") ==
			    pow(2.0, 2.5 - log(30) / log(2)));
		/* Attached again: nothing accepted since, the newest block by
		 * timestamp (top2) again. */
		hn_core_metrics_attach_ledger(NULL, NULL);
		tc_add_block(&tc, top2, NULL,
			     tc.net->genesis_block.timestamp + 210, 3.5, 0, 0,
			     top);
		hn_core_metrics_attach_ledger(tc.l, tc.db);
		tc_add_block(&tc, tc_gblock(&tc), NULL,
			     tc.net->genesis_block.timestamp + 50, 4.0, 8, 0,
			     side);
		hn_core_metrics_attach_ledger(NULL, NULL);
		hn_core_metrics_attach_ledger(tc.l, tc.db);
		visit(s);
		assert_true(val(s, "hathor_hash_rate", "") ==
			    pow(2.0, 3.5 - log(30) / log(2)));
	}

	hn_core_metrics_attach_ledger(NULL, NULL);
	visit(s);
	assert_null(find(s, "hathor_best_block_height", ""));
	assert_null(find(s, "hathor_hash_rate", ""));
	tc_close(&tc, false);
	free(s);
}

static void test_hooks(void **state)
{
	struct seen *s = calloc(1, sizeof(*s));
	const struct hathor_metric_value *h;
	size_t i;

	(void)state;
	assert_non_null(s);
	hn_core_metrics_reset();
	hn_core_metrics_http("/v1a/status", 200, 0.003);
	hn_core_metrics_http("/v1a/status", 200, 0.2);
	hn_core_metrics_http("/v1a/status", 404, 20);
	hn_core_metrics_ipc("get_best_block", 0.0002, false);
	hn_core_metrics_ipc("get_best_block", 0.0002, true);
	hn_core_metrics_vertex("block", NULL);
	hn_core_metrics_vertex("tx", "invalid_pow");
	hn_core_metrics_host_restart("crash");
	hn_core_metrics_plugin_reload("p2p_sync_v2", "ok", 1700000000);
	hn_core_metrics_plugin_load("vertex_metrics", "ok");
	hn_core_metrics_plugin_load("vertex_metrics", "refused");
	hn_core_metrics_plugin_load("vertex_metrics", "refused");
	hn_core_metrics_plugin_unload("vertex_metrics", "ok");
	hn_core_metrics_plugin_unload("nosuch", "not_found");
	hn_core_metrics_peers(3, 1, 2);
	hn_core_metrics_host_up(true);
	visit(s);

	assert_true(val(s, "hathor_http_requests_total",
			"path=\"/v1a/status\",code=\"200\"") == 2);
	assert_true(val(s, "hathor_http_requests_total",
			"path=\"/v1a/status\",code=\"404\"") == 1);
	h = find(s, "hathor_http_request_duration_seconds",
		 "path=\"/v1a/status\"");
	assert_non_null(h);
	assert_int_equal(h->type, HATHOR_METRIC_HISTOGRAM);
	assert_int_equal(h->count, 3);
	assert_true(h->value > 20.2 && h->value < 20.21);
	/* Cumulative; the 20 s one is only in +Inf (count). */
	for (i = 1; i < h->n_buckets; i++)
		assert_true(h->bucket_counts[i] >= h->bucket_counts[i - 1]);
	assert_true(h->bounds[h->n_buckets - 1] == 10);
	assert_int_equal(h->bucket_counts[h->n_buckets - 1], 2);
	for (i = 0; i < h->n_buckets; i++)
		if (h->bounds[i] == 0.005)
			assert_int_equal(h->bucket_counts[i], 1);

	h = find(s, "hathor_ipc_request_duration_seconds",
		 "method=\"get_best_block\"");
	assert_non_null(h);
	assert_int_equal(h->count, 2);
	assert_true(h->bounds[0] == 0.0001);
	assert_int_equal(h->bucket_counts[0], 0);
	assert_int_equal(h->bucket_counts[1], 2);
	assert_true(val(s, "hathor_ipc_errors_total",
			"method=\"get_best_block\"") == 1);
	assert_true(val(s, "hathor_vertices_received_total",
			"type=\"block\"") == 1);
	assert_true(val(s, "hathor_vertices_received_total",
			"type=\"tx\"") == 1);
	assert_true(val(s, "hathor_vertices_rejected_total",
			"type=\"tx\",reason=\"invalid_pow\"") == 1);
	assert_true(val(s, "hathor_p2p_host_restarts_total",
			"reason=\"crash\"") == 1);
	assert_true(val(s, "hathor_plugin_reloads_total",
			"plugin=\"p2p_sync_v2\",result=\"ok\"") == 1);
	assert_true(val(s, "hathor_plugin_last_reload_timestamp_seconds",
			"plugin=\"p2p_sync_v2\"") == 1700000000);
	assert_true(val(s, "hathor_plugin_loads_total",
			"plugin=\"vertex_metrics\",result=\"ok\"") == 1);
	assert_true(val(s, "hathor_plugin_loads_total",
			"plugin=\"vertex_metrics\",result=\"refused\"") == 2);
	assert_true(val(s, "hathor_plugin_unloads_total",
			"plugin=\"vertex_metrics\",result=\"ok\"") == 1);
	assert_true(val(s, "hathor_plugin_unloads_total",
			"plugin=\"nosuch\",result=\"not_found\"") == 1);
	/* A load or unload is not a reload. */
	assert_null(find(s, "hathor_plugin_reloads_total",
			 "plugin=\"vertex_metrics\",result=\"ok\""));
	assert_true(val(s, "hathor_peers", "state=\"connecting\"") == 3);
	assert_true(val(s, "hathor_peers", "state=\"handshaking\"") == 1);
	assert_true(val(s, "hathor_peers", "state=\"ready\"") == 2);
	assert_true(val(s, "hathor_p2p_host_up", "") == 1);
	hn_core_metrics_host_up(false);
	visit(s);
	assert_true(val(s, "hathor_p2p_host_up", "") == 0);
	for (i = 0; i < s->n; i++)
		assert_string_equal(s->v[i].source, "core");
	hn_core_metrics_reset();
	visit(s);
	assert_int_equal(s->n, 0);
	free(s);
}

static void test_labels_and_cap(void **state)
{
	struct seen *s = calloc(1, sizeof(*s));
	char route[32];
	int i;

	(void)state;
	assert_non_null(s);
	hn_core_metrics_reset();
	hn_core_metrics_host_restart("a\"b\\c\nd");
	for (i = 0; i < 3 * HN_CORE_METRICS_MAX_SERIES; i++) {
		snprintf(route, sizeof(route), "/r%d", i);
		hn_core_metrics_http(route, 200, 0.01);
	}
	visit(s);
	assert_true(val(s, "hathor_p2p_host_restarts_total",
			"reason=\"a\\\"b\\\\c\\nd\"") == 1);
	/* Bounded: the first MAX routes, then everything else in "other". */
	assert_int_equal(count_name(s, "hathor_http_requests_total"),
			 HN_CORE_METRICS_MAX_SERIES + 1);
	assert_true(val(s, "hathor_http_requests_total",
			"path=\"/r0\",code=\"200\"") == 1);
	assert_true(val(s, "hathor_http_requests_total",
			"path=\"other\",code=\"other\"") ==
		    2 * HN_CORE_METRICS_MAX_SERIES);
	assert_null(find(s, "hathor_http_requests_total",
			 "path=\"/r100\",code=\"200\""));
	hn_core_metrics_reset();
	free(s);
}

static void test_report(void **state)
{
	struct seen *s = calloc(1, sizeof(*s));
	static const double b[] = { 0.1, 1 };
	static const uint64_t bc[] = { 1, 3 };
	struct hathor_metric_value in[] = {
		{ .name = "hathor_p2p_messages_total", .help = "m",
		  .labels = "dir=\"in\"", .type = HATHOR_METRIC_COUNTER,
		  .value = 7 },
		{ .name = "hathor_p2p_sync_seconds", .help = "h",
		  .labels = "", .type = HATHOR_METRIC_HISTOGRAM,
		  .value = 2.5, .count = 4, .n_buckets = 2, .bounds = b,
		  .bucket_counts = bc },
		/* A core family: dropped. */
		{ .name = "hathor_best_block_height", .help = "x",
		  .labels = "", .type = HATHOR_METRIC_GAUGE, .value = 99 },
		{ .name = "9bad name", .help = "x", .labels = "",
		  .type = HATHOR_METRIC_GAUGE, .value = 1 },
		{ .name = "bad_type", .help = "x", .labels = "",
		  .type = (enum hathor_metric_type)7, .value = 1 },
	};
	const struct hathor_metric_value *h;

	(void)state;
	assert_non_null(s);
	hn_core_metrics_reset();
	assert_int_equal(hn_core_metrics_report("p2p-host", in, 5), 2);
	visit(s);
	assert_int_equal(s->n, 2);
	assert_true(val(s, "hathor_p2p_messages_total", "dir=\"in\"") == 7);
	assert_string_equal(s->v[0].source, "p2p-host");
	h = find(s, "hathor_p2p_sync_seconds", "");
	assert_non_null(h);
	assert_int_equal(h->count, 4);
	assert_int_equal(h->bucket_counts[1], 3);
	assert_true(h->bounds[0] == 0.1);

	/* A new report replaces the old one. */
	in[0].value = 9;
	assert_int_equal(hn_core_metrics_report("p2p-host", in, 1), 1);
	visit(s);
	assert_int_equal(s->n, 1);
	assert_true(val(s, "hathor_p2p_messages_total", "dir=\"in\"") == 9);
	hn_core_metrics_report_clear("p2p-host");
	visit(s);
	assert_int_equal(s->n, 0);
	hn_core_metrics_reset();
	free(s);
}

/* Garbage another process reports is dropped value by value. */
static void test_report_garbage(void **state)
{
	struct seen *s = calloc(1, sizeof(*s));
	static const double b[] = { 0.1, 1 }, bdown[] = { 1, 0.1 };
	static const uint64_t bc[] = { 3, 1 }, over[] = { 1, 9 };
	struct hathor_metric_value in[] = {
		{ .name = "ok_total", .labels = "a=\"1\"",
		  .type = HATHOR_METRIC_COUNTER, .value = 1 },
		{ .name = "neg_total", .type = HATHOR_METRIC_COUNTER,
		  .value = -1 },
		{ .name = "nan_total", .type = HATHOR_METRIC_COUNTER,
		  .value = NAN },
		{ .name = "lab1", .labels = "a=1", .type = HATHOR_METRIC_GAUGE },
		{ .name = "lab2", .labels = "a=\"1\",", .type =
		  HATHOR_METRIC_GAUGE },
		{ .name = "lab3", .labels = "__a=\"1\"", .type =
		  HATHOR_METRIC_GAUGE },
		{ .name = "lab4", .labels = "a=\"x\ny\"", .type =
		  HATHOR_METRIC_GAUGE },
		{ .name = "lab5", .labels = "a=\"1\"}", .type =
		  HATHOR_METRIC_GAUGE },
		{ .name = "h_le", .labels = "le=\"1\"",
		  .type = HATHOR_METRIC_HISTOGRAM },
		{ .name = "h_notcum", .type = HATHOR_METRIC_HISTOGRAM,
		  .count = 3, .n_buckets = 2, .bounds = b,
		  .bucket_counts = bc },
		{ .name = "h_down", .type = HATHOR_METRIC_HISTOGRAM,
		  .count = 3, .n_buckets = 2, .bounds = bdown,
		  .bucket_counts = over },
		{ .name = "h_over", .type = HATHOR_METRIC_HISTOGRAM,
		  .count = 3, .n_buckets = 2, .bounds = b,
		  .bucket_counts = over },
		{ .name = "h_null", .type = HATHOR_METRIC_HISTOGRAM,
		  .count = 3, .n_buckets = 2 },
		{ .name = NULL, .type = HATHOR_METRIC_GAUGE },
	};

	(void)state;
	assert_non_null(s);
	hn_core_metrics_reset();
	assert_int_equal(hn_core_metrics_report("p2p-host", in,
						sizeof(in) / sizeof(in[0])), 1);
	visit(s);
	assert_int_equal(s->n, 1);
	assert_string_equal(s->v[0].name, "ok_total");
	assert_non_null(hn_core_metrics_check(&in[1]));
	assert_string_equal(hn_core_metrics_check(&in[9]),
			    "buckets not cumulative");
	assert_string_equal(hn_core_metrics_check(&in[11]),
			    "bucket over _count");
	assert_true(hn_core_metrics_labels_ok("", false));
	assert_true(hn_core_metrics_labels_ok("a=\"\\\"\\n\",b_2=\"\"",
					      false));
	assert_true(hn_core_metrics_labels_ok("le=\"1\"", false));
	assert_false(hn_core_metrics_labels_ok("a=\"\\x\"", false));
	assert_false(hn_core_metrics_labels_ok("2a=\"1\"", false));
	assert_false(hn_core_metrics_labels_ok("a=\"1\"b=\"2\"", false));
	hn_core_metrics_reset();
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_ledger_gauges),
		cmocka_unit_test(test_hooks),
		cmocka_unit_test(test_labels_and_cap),
		cmocka_unit_test(test_report),
		cmocka_unit_test(test_report_garbage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
