/*
 * plugin_load_rt.c: the plugin runtime, struct hathor_services over one
 * libev loop.
 *
 * Every timer, fd watcher, subscription and metric a plugin creates is
 * linked into its instance, so unloading removes whatever the plugin forgot
 * (and logs it) before dlclose: no libev watcher can point into unmapped
 * code afterwards.  Objects are freed only outside their own callbacks:
 * a subscription removed during event delivery is marked dead and freed
 * after the delivery loop; an instance is unloaded from an ev_idle when
 * asked from its own callback.
 *
 * Loop thread only.
 */
#include "hn/plugin_load.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ev.h>

#include "hn/err.h"
#include "hn/log.h"

/* Intrusive doubly linked list. */
struct link {
	struct link *prev, *next;
};

static void list_init(struct link *l)
{
	l->prev = l->next = l;
}

static void list_add_tail(struct link *head, struct link *n)
{
	n->prev = head->prev;
	n->next = head;
	head->prev->next = n;
	head->prev = n;
}

static void list_del(struct link *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	n->prev = n->next = n;
}

static bool list_empty(const struct link *l)
{
	return l->next == l;
}

#define container_of(p, type, member)                                   \
	((type *)((char *)(p) - offsetof(type, member)))

struct hathor_host {
	struct hn_plugin_rt *rt;
	struct hn_plugin_inst *in;
};

struct hathor_timer {
	ev_timer w;
	struct link link;               /* in inst->timers */
	struct hn_plugin_inst *in;
	hathor_timer_cb cb;
	void *arg;
};

struct hathor_io {
	ev_io w;
	struct link link;               /* in inst->ios */
	struct hn_plugin_inst *in;
	hathor_io_cb cb;
	void *arg;
	int fd;
	int events;
};

struct hathor_sub {
	struct link link;               /* in rt->subs */
	struct hn_plugin_inst *in;
	uint32_t mask;
	hathor_event_cb cb;
	void *arg;
	bool dead;                      /* unsubscribed during delivery */
};

struct hathor_metric {
	struct link link;               /* in rt->metrics */
	struct hn_plugin_inst *in;
	enum hathor_metric_type type;
	char *name, *help, *labels;
	double value;                   /* counter/gauge; histogram sum */
	uint64_t count;
	size_t n_bounds;
	double *bounds;
	uint64_t *buckets;              /* non-cumulative per bound */
	bool warned;                    /* a refused update was logged */
};

struct hn_plugin_inst {
	struct link link;               /* in rt->insts */
	struct hn_plugin_rt *rt;
	struct hathor_host host;
	struct hn_plugin *plugin;
	void *ctx;
	bool started;
	bool unloading;
	double loaded_at;
	char comp[96];                  /* log component */
	struct link timers, ios;
	ev_idle unload_w;               /* hn_plugin_inst_unload_later */
};

struct kv {
	char *key, *value;
};

struct hn_plugin_rt {
	struct hn_plugin_rt_opts o;
	char *process;
	struct hathor_services svc;
	struct link insts, subs, metrics;
	unsigned delivering;            /* nested event deliveries */
	size_t n_kv;
	struct kv *kv;
};

static const double default_bounds[] = {
	0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10,
};

/* --- services ---------------------------------------------------------- */

static enum hn_log_level map_level(enum hathor_log_level l)
{
	switch (l) {
	case HATHOR_LOG_ERROR:
		return HN_LOG_ERROR;
	case HATHOR_LOG_WARN:
		return HN_LOG_WARN;
	case HATHOR_LOG_INFO:
		return HN_LOG_INFO;
	case HATHOR_LOG_DEBUG:
		return HN_LOG_DEBUG;
	}
	return HN_LOG_ERROR;
}

static void s_log(struct hathor_host *h, enum hathor_log_level lvl,
		  const char *msg)
{
	hn_log(map_level(lvl), h->in->comp, "%s", msg ? msg : "(null)");
}

static bool s_log_enabled(struct hathor_host *h, enum hathor_log_level lvl)
{
	return hn_log_enabled(map_level(lvl));
}

static double s_now(struct hathor_host *h)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double s_mono(struct hathor_host *h)
{
	return ev_now(h->rt->o.loop);
}

static void timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct hathor_timer *t = container_of(w, struct hathor_timer, w);

	t->cb(t->arg);          /* may free t */
}

static struct hathor_timer *s_timer_new(struct hathor_host *h,
					hathor_timer_cb cb, void *arg)
{
	struct hathor_timer *t;

	if (!cb || h->in->unloading)
		return NULL;
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	ev_init(&t->w, timer_cb);
	t->in = h->in;
	t->cb = cb;
	t->arg = arg;
	list_add_tail(&h->in->timers, &t->link);
	return t;
}

static void s_timer_set(struct hathor_host *h, struct hathor_timer *t,
			double after, double repeat)
{
	if (!t)
		return;
	ev_timer_stop(h->rt->o.loop, &t->w);
	if (!(after >= 0))      /* also NaN */
		after = 0;
	if (!(repeat >= 0))
		repeat = 0;
	ev_timer_set(&t->w, after, repeat);
	ev_timer_start(h->rt->o.loop, &t->w);
}

static void s_timer_stop(struct hathor_host *h, struct hathor_timer *t)
{
	if (t)
		ev_timer_stop(h->rt->o.loop, &t->w);
}

static void timer_free(struct ev_loop *loop, struct hathor_timer *t)
{
	ev_timer_stop(loop, &t->w);
	list_del(&t->link);
	free(t);
}

static void s_timer_free(struct hathor_host *h, struct hathor_timer *t)
{
	if (t)
		timer_free(h->rt->o.loop, t);
}

static void io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
	struct hathor_io *io = container_of(w, struct hathor_io, w);
	int ev = 0;

	if (revents & EV_READ)
		ev |= HATHOR_IO_READ;
	if (revents & EV_WRITE)
		ev |= HATHOR_IO_WRITE;
	io->cb(io->arg, ev);    /* may free io */
}

static struct hathor_io *s_io_new(struct hathor_host *h, int fd,
				  hathor_io_cb cb, void *arg)
{
	struct hathor_io *io;

	if (fd < 0 || !cb || h->in->unloading)
		return NULL;
	io = calloc(1, sizeof(*io));
	if (!io)
		return NULL;
	ev_init(&io->w, io_cb);
	io->in = h->in;
	io->cb = cb;
	io->arg = arg;
	io->fd = fd;
	list_add_tail(&h->in->ios, &io->link);
	return io;
}

static void s_io_set(struct hathor_host *h, struct hathor_io *io, int events)
{
	int ev = 0;

	if (!io)
		return;
	if (events & HATHOR_IO_READ)
		ev |= EV_READ;
	if (events & HATHOR_IO_WRITE)
		ev |= EV_WRITE;
	if (ev == io->events && (ev == 0 || ev_is_active(&io->w)))
		return;
	ev_io_stop(h->rt->o.loop, &io->w);
	io->events = ev;
	if (ev) {
		ev_io_set(&io->w, io->fd, ev);
		ev_io_start(h->rt->o.loop, &io->w);
	}
}

static void io_free(struct ev_loop *loop, struct hathor_io *io)
{
	ev_io_stop(loop, &io->w);
	list_del(&io->link);
	free(io);
}

static void s_io_free(struct hathor_host *h, struct hathor_io *io)
{
	if (io)
		io_free(h->rt->o.loop, io);
}

static const char *s_config_get_n(struct hathor_host *h, const char *key,
				  size_t i)
{
	struct hn_plugin_rt *rt = h->rt;
	size_t k;

	if (!key)
		return NULL;
	for (k = 0; k < rt->n_kv; k++) {
		if (strcmp(rt->kv[k].key, key) != 0)
			continue;
		if (i-- == 0)
			return rt->kv[k].value;
	}
	return NULL;
}

static const char *s_config_get(struct hathor_host *h, const char *key)
{
	return s_config_get_n(h, key, 0);
}

static bool metric_name_ok(const char *s)
{
	if (!s || !*s)
		return false;
	if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
	      *s == '_' || *s == ':'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '_' || *s == ':'))
			return false;
	return true;
}

static bool label_name_ok(const char *s, size_t n)
{
	size_t i;

	if (!n || (n >= 2 && s[0] == '_' && s[1] == '_'))
		return false;
	for (i = 0; i < n; i++) {
		char c = s[i];
		bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     c == '_';

		if (!alpha && !(i > 0 && c >= '0' && c <= '9'))
			return false;
	}
	return true;
}

bool hn_metric_labels_ok(const char *s, bool histogram)
{
	while (s && *s) {
		const char *eq = strchr(s, '=');

		if (!eq || !label_name_ok(s, (size_t)(eq - s)))
			return false;
		if (histogram && eq - s == 2 && s[0] == 'l' && s[1] == 'e')
			return false;
		if (eq[1] != '"')
			return false;
		for (s = eq + 2; *s && *s != '"'; s++) {
			if (*s == '\n')
				return false;
			if (*s == '\\' && *++s != '\\' && *s != '"' &&
			    *s != 'n')
				return false;
		}
		if (*s++ != '"')
			return false;
		if (*s == ',' && s[1])
			s++;
		else if (*s)
			return false;
	}
	return true;
}

/* metric_new refused: one line naming the plugin (its log tag), the
 * metric and why.  The name may be garbage: printable ASCII only. */
static struct hathor_metric *metric_refuse(struct hathor_host *h,
					   const char *name, const char *why)
{
	char safe[80];
	size_t i = 0;

	for (; name && name[i] && i < sizeof(safe) - 1; i++)
		safe[i] = name[i] > 32 && name[i] < 127 ? name[i] : '?';
	safe[i] = 0;
	hn_log(HN_LOG_WARN, h->in->comp, "metric_new('%s'): refused: %s",
	       name ? safe : "(null)", why);
	return NULL;
}

/* A refused update (NaN, a counter going down, the wrong call for the
 * type): logged once per metric, the value stays. */
static void metric_update_refused(struct hathor_host *h,
				  struct hathor_metric *m, const char *call,
				  double v)
{
	if (m->warned)
		return;
	m->warned = true;
	hn_log(HN_LOG_WARN, h->in->comp, "%s('%s', %g): refused: %s; value "
	       "kept (logged once per metric)", call, m->name, v,
	       isnan(v) ? "NaN" : isinf(v) ? "infinite" :
	       m->type == HATHOR_METRIC_COUNTER && v < 0 ?
	       "a counter cannot go down" : "wrong call for the metric type");
}

static void metric_free(struct hathor_metric *m)
{
	list_del(&m->link);
	free(m->name);
	free(m->help);
	free(m->labels);
	free(m->bounds);
	free(m->buckets);
	free(m);
}

static struct hathor_metric *s_metric_new(struct hathor_host *h,
					  enum hathor_metric_type type,
					  const char *name, const char *help,
					  const char *labels,
					  const double *bounds,
					  size_t n_bounds)
{
	struct hn_plugin_rt *rt = h->rt;
	struct hathor_metric *m;
	struct link *l;
	size_t i;

	if (!metric_name_ok(name))
		return metric_refuse(h, name, "invalid name (want "
				     "[a-zA-Z_:][a-zA-Z0-9_:]*)");
	if (type < HATHOR_METRIC_COUNTER || type > HATHOR_METRIC_HISTOGRAM)
		return metric_refuse(h, name, "unknown metric type");
	if (!labels)
		labels = "";
	if (!hn_metric_labels_ok(labels, type == HATHOR_METRIC_HISTOGRAM))
		return metric_refuse(h, name, "malformed labels (want "
				     "k=\"v\",... with escaped values; \"le\" "
				     "is reserved for histograms)");
	for (l = rt->metrics.next; l != &rt->metrics; l = l->next) {
		m = container_of(l, struct hathor_metric, link);
		if (strcmp(m->name, name) != 0)
			continue;
		if (m->type != type)
			return metric_refuse(h, name, "registered before with "
					     "another type");
		if (strcmp(m->labels, labels) == 0)
			return m->in == h->in ? m : metric_refuse(h, name,
				"the same name and labels belong to another "
				"plugin");
	}
	if (type == HATHOR_METRIC_HISTOGRAM && (!bounds || !n_bounds)) {
		bounds = default_bounds;
		n_bounds = sizeof(default_bounds) / sizeof(default_bounds[0]);
	}
	if (type != HATHOR_METRIC_HISTOGRAM)
		n_bounds = 0;
	if (n_bounds > 64)
		return metric_refuse(h, name, "more than 64 histogram bounds");
	for (i = 0; i < n_bounds; i++)
		if (!isfinite(bounds[i]) || (i && !(bounds[i] > bounds[i - 1])))
			return metric_refuse(h, name, "histogram bounds not "
					     "finite and ascending");
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	list_init(&m->link);
	m->in = h->in;
	m->type = type;
	m->name = strdup(name);
	m->help = strdup(help ? help : "");
	m->labels = strdup(labels);
	m->n_bounds = n_bounds;
	if (n_bounds) {
		m->bounds = malloc(n_bounds * sizeof(*m->bounds));
		m->buckets = calloc(n_bounds, sizeof(*m->buckets));
	}
	if (!m->name || !m->help || !m->labels ||
	    (n_bounds && (!m->bounds || !m->buckets))) {
		metric_free(m);
		return NULL;
	}
	if (n_bounds)
		memcpy(m->bounds, bounds, n_bounds * sizeof(*bounds));
	list_add_tail(&rt->metrics, &m->link);
	return m;
}

static void s_metric_add(struct hathor_host *h, struct hathor_metric *m,
			 double v)
{
	if (!m)
		return;
	if (!isfinite(v) || (m->type == HATHOR_METRIC_COUNTER && v < 0) ||
	    m->type == HATHOR_METRIC_HISTOGRAM) {
		metric_update_refused(h, m, "metric_add", v);
		return;
	}
	m->value += v;
}

static void s_metric_set(struct hathor_host *h, struct hathor_metric *m,
			 double v)
{
	if (!m)
		return;
	if (m->type != HATHOR_METRIC_GAUGE || isnan(v)) {
		metric_update_refused(h, m, "metric_set", v);
		return;
	}
	m->value = v;
}

static void s_metric_observe(struct hathor_host *h, struct hathor_metric *m,
			     double v)
{
	size_t i;

	if (!m)
		return;
	if (m->type != HATHOR_METRIC_HISTOGRAM || isnan(v)) {
		metric_update_refused(h, m, "metric_observe", v);
		return;
	}
	m->value += v;
	m->count++;
	for (i = 0; i < m->n_bounds; i++) {
		if (v <= m->bounds[i]) {
			m->buckets[i]++;
			break;
		}
	}
}

static void s_metrics_visit(struct hathor_host *h, hathor_metric_visit_cb cb,
			    void *arg)
{
	hn_plugin_rt_metrics_visit(h->rt, cb, arg);
}

static struct hathor_sub *s_event_subscribe(struct hathor_host *h,
					    uint32_t mask,
					    hathor_event_cb cb, void *arg)
{
	struct hathor_sub *s;

	if (!cb || h->in->unloading)
		return NULL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	s->in = h->in;
	s->mask = mask;
	s->cb = cb;
	s->arg = arg;
	list_add_tail(&h->rt->subs, &s->link);
	return s;
}

static void sub_remove(struct hn_plugin_rt *rt, struct hathor_sub *s)
{
	if (rt->delivering) {
		s->dead = true;
		return;
	}
	list_del(&s->link);
	free(s);
}

static void s_event_unsubscribe(struct hathor_host *h, struct hathor_sub *s)
{
	if (s && !s->dead)
		sub_remove(h->rt, s);
}

static void publish_done(void *arg, int rc, const char *msg)
{
	if (rc < 0)
		hn_warn("plugin", "event publish failed: %s",
			msg ? msg : hn_strerror(rc));
}

static int s_event_publish(struct hathor_host *h, const char *key,
			   const char *json)
{
	struct hn_plugin_rt *rt = h->rt;

	if (!key || !*key)
		return HN_EINVAL;
	if (rt->o.publish)
		return rt->o.publish(rt->o.node_ctx, key, json);
	if (rt->o.node && rt->o.node->publish)
		return rt->o.node->publish(h, key, json, publish_done, NULL);
	return HN_EUNSUPPORTED;
}

/* --- runtime ----------------------------------------------------------- */

int hn_plugin_rt_new(const struct hn_plugin_rt_opts *o,
		     struct hn_plugin_rt **out)
{
	struct hn_plugin_rt *rt;

	if (!o || !o->loop)
		return HN_EINVAL;
	rt = calloc(1, sizeof(*rt));
	if (!rt)
		return HN_ENOMEM;
	rt->o = *o;
	rt->process = strdup(o->process ? o->process : "plugin");
	if (!rt->process) {
		free(rt);
		return HN_ENOMEM;
	}
	rt->o.process = rt->process;
	list_init(&rt->insts);
	list_init(&rt->subs);
	list_init(&rt->metrics);
	rt->svc = (struct hathor_services){
		.size = sizeof(struct hathor_services),
		.abi_minor = HATHOR_ABI_MINOR,
		.log = s_log,
		.log_enabled = s_log_enabled,
		.now = s_now,
		.mono = s_mono,
		.timer_new = s_timer_new,
		.timer_set = s_timer_set,
		.timer_stop = s_timer_stop,
		.timer_free = s_timer_free,
		.io_new = s_io_new,
		.io_set = s_io_set,
		.io_free = s_io_free,
		.config_get = s_config_get,
		.config_get_n = s_config_get_n,
		.metric_new = s_metric_new,
		.metric_add = s_metric_add,
		.metric_set = s_metric_set,
		.metric_observe = s_metric_observe,
		.metrics_visit = s_metrics_visit,
		.event_subscribe = s_event_subscribe,
		.event_unsubscribe = s_event_unsubscribe,
		.event_publish = s_event_publish,
		.node = o->node,
	};
	*out = rt;
	return 0;
}

void hn_plugin_rt_free(struct hn_plugin_rt *rt)
{
	size_t i;

	if (!rt)
		return;
	while (!list_empty(&rt->insts)) {
		struct hn_plugin_inst *in = container_of(
			rt->insts.prev, struct hn_plugin_inst, link);

		hn_plugin_inst_unload(in);
	}
	while (!list_empty(&rt->subs)) {
		struct link *l = rt->subs.next;

		list_del(l);
		free(container_of(l, struct hathor_sub, link));
	}
	while (!list_empty(&rt->metrics))
		metric_free(container_of(rt->metrics.next,
					 struct hathor_metric, link));
	for (i = 0; i < rt->n_kv; i++) {
		free(rt->kv[i].key);
		free(rt->kv[i].value);
	}
	free(rt->kv);
	free(rt->process);
	free(rt);
}

int hn_plugin_rt_config_add(struct hn_plugin_rt *rt, const char *key,
			    const char *value)
{
	struct kv *kv;
	char *k, *v;

	if (!key || !value)
		return HN_EINVAL;
	kv = realloc(rt->kv, (rt->n_kv + 1) * sizeof(*kv));
	if (!kv)
		return HN_ENOMEM;
	rt->kv = kv;
	k = strdup(key);
	v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return HN_ENOMEM;
	}
	rt->kv[rt->n_kv].key = k;
	rt->kv[rt->n_kv].value = v;
	rt->n_kv++;
	return 0;
}

int hn_plugin_rt_config_set(struct hn_plugin_rt *rt, const char *key,
			    const char *value)
{
	size_t i, j;

	if (!key)
		return HN_EINVAL;
	for (i = j = 0; i < rt->n_kv; i++) {
		if (strcmp(rt->kv[i].key, key) == 0) {
			free(rt->kv[i].key);
			free(rt->kv[i].value);
			continue;
		}
		rt->kv[j++] = rt->kv[i];
	}
	rt->n_kv = j;
	return value ? hn_plugin_rt_config_add(rt, key, value) : 0;
}

static void unload_idle_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	struct hn_plugin_inst *in = container_of(w, struct hn_plugin_inst,
						 unload_w);

	ev_idle_stop(loop, w);
	hn_plugin_inst_unload(in);
}

int hn_plugin_rt_load(struct hn_plugin_rt *rt, const char *path,
		      const struct hn_plugin_open_opts *o,
		      struct hn_plugin_inst **out, char *err, size_t errlen)
{
	struct hn_plugin_open_opts oo = { 0 };
	const struct hathor_plugin_desc *d;
	const char **names = NULL;
	struct hn_plugin_inst *in;
	struct hn_plugin *p;
	char ierr[512];
	size_t n = 0, i;
	struct link *l;
	int rc;

	if (o)
		oo = *o;
	for (l = rt->insts.next; l != &rt->insts; l = l->next)
		n++;
	names = calloc(n + oo.n_taken + 1, sizeof(*names));
	if (!names)
		return HN_ENOMEM;
	for (i = 0; i < oo.n_taken; i++)
		names[i] = oo.taken_names[i];
	for (l = rt->insts.next; l != &rt->insts; l = l->next)
		names[i++] = hn_plugin_desc(container_of(
			l, struct hn_plugin_inst, link)->plugin)->name;
	oo.taken_names = names;
	oo.n_taken = i;
	rc = hn_plugin_open(path, &oo, &p, err, errlen);
	free(names);
	if (rc < 0)
		return rc;
	d = hn_plugin_desc(p);
	in = calloc(1, sizeof(*in));
	if (!in) {
		hn_plugin_close(p);
		if (err && errlen)
			snprintf(err, errlen, "plugin \"%s\": out of memory",
				 path);
		return HN_ENOMEM;
	}
	in->rt = rt;
	in->plugin = p;
	in->host.rt = rt;
	in->host.in = in;
	in->loaded_at = ev_now(rt->o.loop);
	list_init(&in->timers);
	list_init(&in->ios);
	list_init(&in->link);
	ev_idle_init(&in->unload_w, unload_idle_cb);
	snprintf(in->comp, sizeof(in->comp), "%s:%s", rt->process, d->name);
	list_add_tail(&rt->insts, &in->link);
	ierr[0] = '\0';
	rc = d->init(&in->host, &rt->svc, &in->ctx, ierr, sizeof(ierr));
	if (rc < 0) {
		ierr[sizeof(ierr) - 1] = '\0';
		if (err && errlen)
			snprintf(err, errlen,
				 "plugin \"%s\" (%s %s) failed in init: %s "
				 "(%s)", path, d->name, d->version,
				 ierr[0] ? ierr : "no reason given",
				 hn_strerror(rc));
		in->ctx = NULL;
		/* destroy is not called after a failed init; clean up
		 * whatever init registered before failing. */
		in->unloading = true;
		hn_plugin_inst_unload(in);
		return rc;
	}
	hn_info(in->comp, "loaded plugin '%s' %s (%s, abi %u.%u) from %s",
		d->name, d->version, hn_plugin_kind_name(d->kind),
		d->abi_major, d->abi_minor, path);
	*out = in;
	return 0;
}

int hn_plugin_inst_start(struct hn_plugin_inst *in, char *err, size_t errlen)
{
	const struct hathor_plugin_desc *d = hn_plugin_desc(in->plugin);
	char serr[512];
	int rc = 0;

	if (in->started)
		return 0;
	serr[0] = '\0';
	if (d->start)
		rc = d->start(in->ctx, serr, sizeof(serr));
	if (rc < 0) {
		serr[sizeof(serr) - 1] = '\0';
		if (err && errlen)
			snprintf(err, errlen,
				 "plugin '%s' %s failed to start: %s (%s)",
				 d->name, d->version,
				 serr[0] ? serr : "no reason given",
				 hn_strerror(rc));
		return rc;
	}
	in->started = true;
	return 0;
}

void hn_plugin_inst_unload(struct hn_plugin_inst *in)
{
	const struct hathor_plugin_desc *d;
	struct hn_plugin_rt *rt;
	struct ev_loop *loop;
	size_t n_t = 0, n_i = 0, n_s = 0;
	bool init_failed;
	struct link *l, *next;
	char path[512];
	char name[64];

	if (!in)
		return;
	rt = in->rt;
	loop = rt->o.loop;
	d = hn_plugin_desc(in->plugin);
	init_failed = in->unloading && !in->ctx;
	ev_idle_stop(loop, &in->unload_w);
	if (in->started && d->stop)
		d->stop(in->ctx);
	in->started = false;
	in->unloading = true;
	if (rt->o.node_cancel)
		rt->o.node_cancel(rt->o.node_ctx, &in->host);
	if (!init_failed)
		d->destroy(in->ctx);
	in->ctx = NULL;
	while (!list_empty(&in->timers)) {
		timer_free(loop, container_of(in->timers.next,
					      struct hathor_timer, link));
		n_t++;
	}
	while (!list_empty(&in->ios)) {
		io_free(loop, container_of(in->ios.next, struct hathor_io,
					   link));
		n_i++;
	}
	for (l = rt->subs.next; l != &rt->subs; l = next) {
		struct hathor_sub *s = container_of(l, struct hathor_sub,
						    link);

		next = l->next;
		if (s->in != in)
			continue;
		if (!s->dead)
			n_s++;
		if (rt->delivering) {
			s->dead = true;
			s->in = NULL;
		} else {
			list_del(&s->link);
			free(s);
		}
	}
	for (l = rt->metrics.next; l != &rt->metrics; l = next) {
		struct hathor_metric *m = container_of(l, struct hathor_metric,
						       link);

		next = l->next;
		if (m->in == in)
			metric_free(m);
	}
	if (!init_failed && (n_t || n_i || n_s))
		hn_warn(in->comp, "plugin '%s' left %zu timer(s), %zu fd "
			"watcher(s), %zu subscription(s) registered; removed",
			d->name, n_t, n_i, n_s);
	snprintf(name, sizeof(name), "%s", d->name);
	snprintf(path, sizeof(path), "%s", hn_plugin_path(in->plugin));
	list_del(&in->link);
	if (!hn_plugin_close(in->plugin))
		hn_info(in->comp, "plugin '%s' (%s) stays mapped after "
			"dlclose (pinned)", name, path);
	else if (!init_failed)
		hn_info(in->comp, "unloaded plugin '%s'", name);
	free(in);
}

void hn_plugin_inst_unload_later(struct hn_plugin_inst *in)
{
	if (!in)
		return;
	ev_idle_start(in->rt->o.loop, &in->unload_w);
}

const struct hathor_plugin_desc *
hn_plugin_inst_desc(const struct hn_plugin_inst *in)
{
	return hn_plugin_desc(in->plugin);
}

const char *hn_plugin_inst_path(const struct hn_plugin_inst *in)
{
	return hn_plugin_path(in->plugin);
}

void *hn_plugin_inst_ctx(const struct hn_plugin_inst *in)
{
	return in->ctx;
}

const struct hathor_p2p_ops *
hn_plugin_inst_p2p(const struct hn_plugin_inst *in)
{
	return hn_plugin_p2p_ops(in->plugin);
}

bool hn_plugin_inst_started(const struct hn_plugin_inst *in)
{
	return in->started;
}

double hn_plugin_inst_loaded_at(const struct hn_plugin_inst *in)
{
	return in->loaded_at;
}

struct hathor_host *hn_plugin_inst_host(struct hn_plugin_inst *in)
{
	return &in->host;
}

struct hn_plugin_inst *hn_plugin_rt_inst(struct hn_plugin_rt *rt, size_t i)
{
	struct link *l;

	for (l = rt->insts.next; l != &rt->insts; l = l->next)
		if (i-- == 0)
			return container_of(l, struct hn_plugin_inst, link);
	return NULL;
}

void *hn_plugin_host_node_ctx(struct hathor_host *h)
{
	return h->rt->o.node_ctx;
}

struct hn_plugin_inst *hn_plugin_host_inst(struct hathor_host *h)
{
	return h->in;
}

void hn_plugin_rt_event(struct hn_plugin_rt *rt, const struct hathor_event *ev)
{
	struct link *l, *next;
	uint32_t bit;

	bit = ev->type < 32 ? HATHOR_EV_BIT(ev->type) : 0;
	rt->delivering++;
	for (l = rt->subs.next; l != &rt->subs; l = l->next) {
		struct hathor_sub *s = container_of(l, struct hathor_sub,
						    link);

		if (!s->dead && (s->mask & bit))
			s->cb(s->arg, ev);
	}
	for (l = rt->insts.next; l != &rt->insts; l = l->next) {
		struct hn_plugin_inst *in = container_of(
			l, struct hn_plugin_inst, link);
		const struct hathor_p2p_ops *p2p = hn_plugin_inst_p2p(in);

		if (in->started && !in->unloading && p2p && p2p->on_event)
			p2p->on_event(in->ctx, ev);
	}
	if (--rt->delivering)
		return;
	for (l = rt->subs.next; l != &rt->subs; l = next) {
		struct hathor_sub *s = container_of(l, struct hathor_sub,
						    link);

		next = l->next;
		if (s->dead) {
			list_del(&s->link);
			free(s);
		}
	}
}

void hn_plugin_rt_metrics_visit(struct hn_plugin_rt *rt,
				hathor_metric_visit_cb cb, void *arg)
{
	uint64_t cum[64];
	struct link *l;
	size_t i;

	for (l = rt->metrics.next; l != &rt->metrics; l = l->next) {
		struct hathor_metric *m = container_of(l, struct hathor_metric,
						       link);
		struct hathor_metric_value v = {
			.name = m->name,
			.help = m->help,
			.labels = m->labels,
			.source = hn_plugin_desc(m->in->plugin)->name,
			.type = m->type,
			.value = m->value,
			.count = m->count,
			.n_buckets = m->n_bounds,
			.bounds = m->bounds,
			.bucket_counts = cum,
		};
		uint64_t c = 0;

		for (i = 0; i < m->n_bounds; i++) {
			c += m->buckets[i];
			cum[i] = c;
		}
		cb(arg, &v);
	}
	if (rt->o.visit_extra)
		rt->o.visit_extra(rt->o.visit_arg, cb, arg);
}

void hn_plugin_inst_counts(const struct hn_plugin_inst *in,
			   struct hn_plugin_rt_counts *c)
{
	const struct link *l;

	memset(c, 0, sizeof(*c));
	for (l = in->timers.next; l != &in->timers; l = l->next)
		c->timers++;
	for (l = in->ios.next; l != &in->ios; l = l->next)
		c->ios++;
	for (l = in->rt->subs.next; l != &in->rt->subs; l = l->next) {
		const struct hathor_sub *s = container_of(
			l, const struct hathor_sub, link);

		if (s->in == in && !s->dead)
			c->subs++;
	}
	for (l = in->rt->metrics.next; l != &in->rt->metrics; l = l->next)
		if (container_of(l, const struct hathor_metric, link)->in ==
		    in)
			c->metrics++;
}
