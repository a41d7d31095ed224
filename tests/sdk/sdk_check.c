/*
 * sdk_check.c: loads a plugin built out of tree (examples/plugin_hello,
 * against the installed SDK) with the node's own loader and runtime
 * (lib/plugin_load) and checks that it really works:
 *
 *   sdk_check <hello.so> <abi_major> <abi_minor>
 *
 * descriptor (name, kind, ABI as the installed .pc/.cmake say), init with
 * config, start, node events -> its metrics, a bad config refused with
 * the plugin's own message, unload leaves nothing behind.  Exit 0 or 1
 * with the reason on stderr.
 */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ev.h>

#include "hn/err.h"
#include "hn/plugin_load.h"

#define CHECK(c, ...)                                                   \
	do {                                                            \
		if (!(c)) {                                             \
			fprintf(stderr, "sdk_check: %s:%d: %s: ",       \
				__FILE__, __LINE__, #c);                \
			fprintf(stderr, __VA_ARGS__);                   \
			fputc('\n', stderr);                            \
			exit(1);                                        \
		}                                                       \
	} while (0)

struct seen {
	double blocks, height;
	int n_blocks, n_height;
	int other;
};

static void visit(void *arg, const struct hathor_metric_value *v)
{
	struct seen *s = arg;

	if (strcmp(v->source, "hello") != 0) {
		s->other++;
		return;
	}
	if (strcmp(v->name, "hello_best_blocks_total") == 0) {
		CHECK(v->type == HATHOR_METRIC_COUNTER, "type %d", v->type);
		s->blocks = v->value;
		s->n_blocks++;
	} else if (strcmp(v->name, "hello_best_height") == 0) {
		CHECK(v->type == HATHOR_METRIC_GAUGE, "type %d", v->type);
		s->height = v->value;
		s->n_height++;
	}
}

static struct seen scan(struct hn_plugin_rt *rt)
{
	struct seen s = { 0 };

	hn_plugin_rt_metrics_visit(rt, visit, &s);
	return s;
}

int main(int argc, char **argv)
{
	struct hn_plugin_open_opts oo = { .want_kind = HATHOR_KIND_OTHER };
	struct hathor_event ev = { .size = sizeof(ev) };
	const struct hathor_plugin_desc *d;
	struct hn_plugin_rt_opts ro = { 0 };
	struct hn_plugin_rt_counts c;
	struct hn_plugin_info info;
	struct hn_plugin_inst *in;
	struct hn_plugin_rt *rt;
	struct ev_loop *loop;
	unsigned major, minor;
	char err[1024];
	struct seen s;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: sdk_check PLUGIN.so ABI_MAJOR "
			"ABI_MINOR\n");
		return 2;
	}
	major = (unsigned)strtoul(argv[2], NULL, 10);
	minor = (unsigned)strtoul(argv[3], NULL, 10);
	CHECK(major == HATHOR_ABI_MAJOR && minor == HATHOR_ABI_MINOR,
	      "installed SDK says ABI %u.%u, the loader is %d.%d", major,
	      minor, HATHOR_ABI_MAJOR, HATHOR_ABI_MINOR);

	rc = hn_plugin_check(argv[1], HATHOR_KIND_OTHER, &info, err,
			     sizeof(err));
	CHECK(rc == 0, "%s", err);
	CHECK(strcmp(info.name, "hello") == 0, "name '%s'", info.name);
	CHECK(strcmp(info.version, "0.1.0") == 0, "version '%s'",
	      info.version);
	CHECK(info.abi_major == major && info.abi_minor == minor,
	      "built for %u.%u", info.abi_major, info.abi_minor);
	/* The wrong kind is refused by name. */
	rc = hn_plugin_check(argv[1], HATHOR_KIND_P2P, NULL, err, sizeof(err));
	CHECK(rc == HN_EINVAL && strstr(err, "refused"), "rc %d: %s", rc, err);

	loop = ev_loop_new(EVFLAG_AUTO);
	CHECK(loop, "ev_loop_new");
	ro.loop = loop;
	ro.process = "sdk_check";
	CHECK(hn_plugin_rt_new(&ro, &rt) == 0, "rt_new");

	/* A bad value: init refuses with the plugin's own message. */
	CHECK(hn_plugin_rt_config_set(rt, "hello.interval", "soon") == 0,
	      "config");
	rc = hn_plugin_rt_load(rt, argv[1], &oo, &in, err, sizeof(err));
	CHECK(rc == HN_EINVAL && strstr(err, "hello.interval 'soon'"),
	      "rc %d: %s", rc, err);
	CHECK(hn_plugin_rt_inst(rt, 0) == NULL, "instance left loaded");
	CHECK(dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD) == NULL,
	      "refused plugin left mapped");

	CHECK(hn_plugin_rt_config_set(rt, "hello.interval", "0.01") == 0,
	      "config");
	CHECK(hn_plugin_rt_config_set(rt, "hello.greeting", "hi") == 0,
	      "config");
	rc = hn_plugin_rt_load(rt, argv[1], &oo, &in, err, sizeof(err));
	CHECK(rc == 0, "%s", err);
	d = hn_plugin_inst_desc(in);
	CHECK(d->abi_major == HATHOR_ABI_MAJOR &&
	      d->abi_minor == HATHOR_ABI_MINOR &&
	      d->struct_size == sizeof(*d) && d->kind == HATHOR_KIND_OTHER &&
	      strcmp(d->name, "hello") == 0, "descriptor");
	hn_plugin_inst_counts(in, &c);
	CHECK(c.metrics == 2 && c.subs == 0 && c.timers == 0,
	      "after init: %zu metrics %zu subs %zu timers", c.metrics,
	      c.subs, c.timers);
	CHECK(hn_plugin_inst_start(in, err, sizeof(err)) == 0, "%s", err);
	hn_plugin_inst_counts(in, &c);
	CHECK(c.subs == 1 && c.timers == 1, "after start: %zu subs %zu "
	      "timers", c.subs, c.timers);
	ev_run(loop, EVRUN_NOWAIT);

	s = scan(rt);
	CHECK(s.n_blocks == 1 && s.n_height == 1 && s.blocks == 0,
	      "metrics before events");
	ev.type = HATHOR_EV_BEST_BLOCK;
	ev.seq = 1;
	ev.height = 41;
	hn_plugin_rt_event(rt, &ev);
	ev.type = HATHOR_EV_VERTEX_ACCEPTED;    /* not subscribed */
	ev.seq = 2;
	ev.height = 1000;
	hn_plugin_rt_event(rt, &ev);
	ev.type = HATHOR_EV_REORG;
	ev.seq = 3;
	ev.height = 42;
	hn_plugin_rt_event(rt, &ev);
	s = scan(rt);
	CHECK(s.blocks == 2 && s.height == 42, "blocks %g height %g",
	      s.blocks, s.height);

	hn_plugin_inst_unload(in);
	CHECK(hn_plugin_rt_inst(rt, 0) == NULL, "still loaded");
	s = scan(rt);
	CHECK(s.n_blocks == 0 && s.n_height == 0, "metrics left");
	CHECK(ev_pending_count(loop) == 0, "watchers left");
	CHECK(dlopen(argv[1], RTLD_NOW | RTLD_NOLOAD) == NULL,
	      "still mapped after unload");
	hn_plugin_rt_free(rt);
	ev_loop_destroy(loop);
	printf("sdk_check: %s OK (hello %s, ABI %u.%u)\n", argv[1],
	       info.version, info.abi_major, info.abi_minor);
	return 0;
}
