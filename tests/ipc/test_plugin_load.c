/*
 * test_plugin_load.c: the loader's refusals (each reason gives its own
 * message naming the file and versions) and the runtime's bookkeeping
 * (what a plugin leaves registered is removed at unload).
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>

#include "hn/err.h"
#include "hn/plugin_load.h"

static char dir[256];

static const char *plug(const char *name)
{
	static char buf[8][512];
	static int k;

	k = (k + 1) % 8;
	snprintf(buf[k], sizeof(buf[k]), "%s/%s.so", dir, name);
	return buf[k];
}

static void expect_refusal(const char *name, int code, const char *const *subs)
{
	struct hn_plugin *p = NULL;
	char err[1024];
	int rc;

	rc = hn_plugin_open(plug(name), NULL, &p, err, sizeof(err));
	print_message("%s: %s\n", name, err);
	assert_int_equal(rc, code);
	assert_null(p);
	assert_non_null(strstr(err, plug(name)));
	assert_non_null(strstr(err, "refused"));
	for (; *subs; subs++)
		assert_non_null(strstr(err, *subs));
	/* Not left mapped. */
	assert_null(dlopen(plug(name), RTLD_NOW | RTLD_NOLOAD));
}

static void t_ok(void **state)
{
	const struct hathor_plugin_desc *d;
	struct hn_plugin_info info;
	struct hn_plugin *p;
	char err[512];

	assert_int_equal(hn_plugin_open(plug("plug_ok"), NULL, &p, err,
					sizeof(err)), 0);
	d = hn_plugin_desc(p);
	assert_string_equal(d->name, "plug_ok");
	assert_string_equal(d->version, "1.0.0");
	assert_int_equal(d->kind, HATHOR_KIND_METRICS);
	assert_int_equal(d->abi_major, HATHOR_ABI_MAJOR);
	assert_null(hn_plugin_p2p_ops(p));
	assert_true(hn_plugin_close(p));
	assert_int_equal(hn_plugin_check(plug("plug_ok"), 0, &info, err,
					 sizeof(err)), 0);
	assert_string_equal(info.name, "plug_ok");
}

static void t_abi_major(void **state)
{
	const char *s[] = { "ABI 2.0", "supports ABI 1.0", "major", "hint",
			    NULL };

	expect_refusal("plug_bad_abi_major", HN_EABI, s);
}

static void t_abi_minor(void **state)
{
	char newer[32], s2[32];
	const char *s[] = { newer, s2, "newer", "hint", NULL };

	snprintf(newer, sizeof(newer), "ABI %d.%d", HATHOR_ABI_MAJOR,
		 HATHOR_ABI_MINOR + 1);
	snprintf(s2, sizeof(s2), "supports ABI %d.%d", HATHOR_ABI_MAJOR,
		 HATHOR_ABI_MINOR);
	expect_refusal("plug_bad_abi_minor", HN_EABI, s);
}

static void t_size(void **state)
{
	const char *s[] = { "descriptor is 24 bytes", "hint", NULL };

	expect_refusal("plug_bad_size", HN_EABI, s);
}

static void t_no_entry(void **state)
{
	const char *s[] = { "no entry symbol 'hathor_plugin_entry'",
			    "ABI 1.", "hint", NULL };

	expect_refusal("plug_bad_no_entry", HN_EPARSE, s);
}

static void t_undefined(void **state)
{
	const char *s[] = { "not a loadable shared object",
			    "hathor_test_no_such_function", NULL };

	expect_refusal("plug_bad_undefined", HN_EPARSE, s);
}

static void t_kind(void **state)
{
	const char *s[] = { "unknown kind 77", NULL };

	expect_refusal("plug_bad_kind", HN_EINVAL, s);
}

static void t_p2p_no_ops(void **state)
{
	const char *s[] = { "no handler table", NULL };

	expect_refusal("plug_bad_p2p_no_ops", HN_EABI, s);
}

static void t_not_so(void **state)
{
	struct hn_plugin *p = NULL;
	char path[512], err[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/not_a_plugin.so", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("this is not an ELF file\n", f);
	fclose(f);
	assert_int_equal(hn_plugin_open(path, NULL, &p, err, sizeof(err)),
			 HN_EPARSE);
	print_message("%s\n", err);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "not a loadable shared object"));
	unlink(path);
	assert_int_equal(hn_plugin_open(path, NULL, &p, err, sizeof(err)),
			 HN_ENOENT);
	assert_non_null(strstr(err, "No such file"));
	assert_int_equal(hn_plugin_open("plug_ok.so", NULL, &p, err,
					sizeof(err)), HN_EINVAL);
	assert_int_equal(hn_plugin_open(dir, NULL, &p, err, sizeof(err)),
			 HN_EPARSE);
}

static void t_kind_wanted_and_duplicate(void **state)
{
	const char *taken[] = { "plug_ok" };
	struct hn_plugin_open_opts o = { .want_kind = HATHOR_KIND_P2P };
	struct hn_plugin *p = NULL;
	char err[1024];

	assert_int_equal(hn_plugin_open(plug("plug_ok"), &o, &p, err,
					sizeof(err)), HN_EINVAL);
	assert_non_null(strstr(err, "is a metrics plugin, a p2p plugin"));
	o.want_kind = 0;
	o.taken_names = taken;
	o.n_taken = 1;
	assert_int_equal(hn_plugin_open(plug("plug_ok"), &o, &p, err,
					sizeof(err)), HN_EEXIST);
	assert_non_null(strstr(err, "already loaded"));
	assert_null(p);
}

struct vis {
	int n;
	double ticks;
	double events;
	uint64_t seq_count;
};

static void visit(void *arg, const struct hathor_metric_value *v)
{
	struct vis *s = arg;

	s->n++;
	if (strcmp(v->name, "plug_ok_ticks") == 0)
		s->ticks = v->value;
	if (strcmp(v->name, "plug_ok_events") == 0)
		s->events = v->value;
	if (strcmp(v->name, "plug_ok_seq") == 0) {
		s->seq_count = v->count;
		assert_int_equal(v->bucket_counts[v->n_buckets - 1],
				 v->count);
	}
}

static void runtime_once(bool leak)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct hn_plugin_rt_opts o = { .loop = loop, .process = "test" };
	struct hn_plugin_rt_counts c;
	struct hn_plugin_inst *in, *in2;
	struct hn_plugin_rt *rt;
	struct hathor_event ev = { .size = sizeof(ev) };
	struct vis v = { 0 };
	char err[1024];
	int i;

	assert_int_equal(hn_plugin_rt_new(&o, &rt), 0);
	if (leak)
		assert_int_equal(hn_plugin_rt_config_add(rt, "plug_ok.leak",
							 "1"), 0);
	assert_int_equal(hn_plugin_rt_load(rt, plug("plug_ok"), NULL, &in,
					   err, sizeof(err)), 0);
	/* A second instance of the same name is refused. */
	assert_int_equal(hn_plugin_rt_load(rt, plug("plug_ok"), NULL, &in2,
					   err, sizeof(err)), HN_EEXIST);
	hn_plugin_inst_counts(in, &c);
	assert_int_equal(c.timers, 1);
	assert_int_equal(c.ios, 1);
	assert_int_equal(c.subs, 1);
	assert_int_equal(c.metrics, 3);
	assert_int_equal(hn_plugin_inst_start(in, err, sizeof(err)), 0);
	for (i = 0; i < 1000; i++) {
		ev_run(loop, EVRUN_ONCE);
		memset(&v, 0, sizeof(v));
		hn_plugin_rt_metrics_visit(rt, visit, &v);
		if (v.ticks >= 3)
			break;
	}
	assert_true(v.ticks >= 3);
	ev.type = HATHOR_EV_BEST_BLOCK;
	ev.seq = 1;
	hn_plugin_rt_event(rt, &ev);
	ev.type = HATHOR_EV_VERTEX_ACCEPTED;    /* not subscribed */
	hn_plugin_rt_event(rt, &ev);
	memset(&v, 0, sizeof(v));
	hn_plugin_rt_metrics_visit(rt, visit, &v);
	assert_int_equal(v.n, 3);
	assert_true(v.events == 1);
	assert_int_equal(v.seq_count, 1);
	hn_plugin_inst_unload(in);
	assert_null(hn_plugin_rt_inst(rt, 0));
	memset(&v, 0, sizeof(v));
	hn_plugin_rt_metrics_visit(rt, visit, &v);
	assert_int_equal(v.n, 0);
	/* Nothing of the plugin is left on the loop. */
	assert_int_equal(ev_pending_count(loop), 0);
	hn_plugin_rt_event(rt, &ev);
	hn_plugin_rt_free(rt);
	ev_loop_destroy(loop);
}

static void t_runtime(void **state)
{
	runtime_once(false);
}

static void t_runtime_leaky(void **state)
{
	runtime_once(true);
}

static void t_init_fails(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct hn_plugin_rt_opts o = { .loop = loop, .process = "test" };
	struct hn_plugin_inst *in = NULL;
	struct hn_plugin_rt *rt;
	char err[1024];

	assert_int_equal(hn_plugin_rt_new(&o, &rt), 0);
	assert_int_equal(hn_plugin_rt_load(rt, plug("plug_bad_init_fails"),
					   NULL, &in, err, sizeof(err)),
			 HN_EIO);
	print_message("%s\n", err);
	assert_non_null(strstr(err, "failed in init"));
	assert_non_null(strstr(err, "cannot open the frobnicator"));
	assert_null(in);
	assert_null(hn_plugin_rt_inst(rt, 0));
	assert_null(dlopen(plug("plug_bad_init_fails"),
			   RTLD_NOW | RTLD_NOLOAD));
	hn_plugin_rt_free(rt);
	ev_loop_destroy(loop);
}

static void t_copy(void **state)
{
	struct hn_plugin_open_opts o = { .copy_dir = dir, .gen = 7 };
	struct hn_plugin *p1, *p2;
	char err[512];

	/* Two private copies of one file are two distinct objects. */
	assert_int_equal(hn_plugin_open(plug("plug_ok"), &o, &p1, err,
					sizeof(err)), 0);
	o.gen = 8;
	assert_int_equal(hn_plugin_open(plug("plug_ok"), &o, &p2, err,
					sizeof(err)), 0);
	assert_ptr_not_equal(hn_plugin_desc(p1), hn_plugin_desc(p2));
	assert_true(hn_plugin_close(p1));
	assert_true(hn_plugin_close(p2));
}

struct bm_vis {
	double good, gauge, refused;
	uint64_t hist_count;
	int n;
};

static void bm_visit(void *arg, const struct hathor_metric_value *v)
{
	struct bm_vis *b = arg;

	b->n++;
	if (strcmp(v->name, "bm_good_total") == 0)
		b->good = v->value;
	else if (strcmp(v->name, "bm_gauge") == 0)
		b->gauge = v->value;
	else if (strcmp(v->name, "bm_refused") == 0)
		b->refused = v->value;
	else if (strcmp(v->name, "bm_hist") == 0)
		b->hist_count = v->count;
}

static int count_of(const char *hay, const char *needle)
{
	int n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* A misbehaving metric plugin: every bad registration comes back NULL
 * with a log line naming the plugin and the reason, garbage updates are
 * refused (one line per metric), the good metrics keep their values. */
static void t_bad_metrics(void **state)
{
	struct ev_loop *loop = ev_loop_new(EVFLAG_AUTO);
	struct hn_plugin_rt_opts o = { .loop = loop, .process = "test" };
	struct hn_plugin_inst *in;
	struct hn_plugin_rt *rt;
	struct bm_vis b = { 0 };
	char err[1024], logp[600], log[16384];
	int saved, fd;
	FILE *f;
	size_t n;

	snprintf(logp, sizeof(logp), "%s/badmetrics.log", dir);
	assert_int_equal(hn_plugin_rt_new(&o, &rt), 0);
	fflush(stderr);
	saved = dup(2);
	fd = open(logp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0 && dup2(fd, 2) == 2);
	assert_int_equal(hn_plugin_rt_load(rt, plug("plug_badmetrics"), NULL,
					   &in, err, sizeof(err)), 0);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	close(fd);
	f = fopen(logp, "r");
	assert_non_null(f);
	n = fread(log, 1, sizeof(log) - 1, f);
	log[n] = 0;
	fclose(f);
	fprintf(stderr, "%s", log);

	hn_plugin_rt_metrics_visit(rt, bm_visit, &b);
	assert_int_equal(b.n, 4);
	assert_true(b.refused == 11);
	assert_true(b.good == 3);
	assert_true(b.gauge == 7);
	assert_int_equal(b.hist_count, 1);
	assert_int_equal(count_of(log, "metric_new("), 11);
	assert_int_equal(count_of(log, "[test:plug_badmetrics] metric_"),
			 11 + 3);
	assert_non_null(strstr(log, "metric_new('9bad'): refused: invalid "
			       "name"));
	assert_non_null(strstr(log, "metric_new('(null)'): refused"));
	assert_non_null(strstr(log, "metric_new('bm_bad?name'): refused"));
	assert_non_null(strstr(log, "metric_new('bm_type'): refused: unknown "
			       "metric type"));
	assert_non_null(strstr(log, "metric_new('bm_labels'): refused: "
			       "malformed labels"));
	assert_non_null(strstr(log, "metric_new('bm_labels2'): refused: "
			       "malformed labels"));
	assert_non_null(strstr(log, "metric_new('bm_le'): refused: malformed"));
	assert_non_null(strstr(log, "metric_new('bm_down'): refused: "
			       "histogram bounds not finite and ascending"));
	assert_non_null(strstr(log, "metric_new('bm_nan'): refused: "
			       "histogram bounds"));
	assert_non_null(strstr(log, "metric_new('bm_many'): refused: more "
			       "than 64"));
	assert_non_null(strstr(log, "metric_new('bm_good_total'): refused: "
			       "registered before with another type"));
	/* Updates: once per metric (good, gauge, hist). */
	assert_int_equal(count_of(log, "value kept (logged once per "
				  "metric)"), 3);
	assert_non_null(strstr(log, "metric_add('bm_good_total', nan): "
			       "refused: NaN"));
	assert_non_null(strstr(log, "metric_observe('bm_gauge', 1): refused: "
			       "wrong call for the metric type"));
	assert_non_null(strstr(log, "metric_observe('bm_hist', nan): "
			       "refused: NaN"));
	hn_plugin_inst_unload(in);
	hn_plugin_rt_free(rt);
	ev_loop_destroy(loop);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_ok),
		cmocka_unit_test(t_abi_major),
		cmocka_unit_test(t_abi_minor),
		cmocka_unit_test(t_size),
		cmocka_unit_test(t_no_entry),
		cmocka_unit_test(t_undefined),
		cmocka_unit_test(t_kind),
		cmocka_unit_test(t_p2p_no_ops),
		cmocka_unit_test(t_not_so),
		cmocka_unit_test(t_kind_wanted_and_duplicate),
		cmocka_unit_test(t_runtime),
		cmocka_unit_test(t_runtime_leaky),
		cmocka_unit_test(t_init_fails),
		cmocka_unit_test(t_copy),
		cmocka_unit_test(t_bad_metrics),
	};

	snprintf(dir, sizeof(dir), "%s", argc > 1 ? argv[1] : ".");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
