/*
 * loopmon.c: event loop stall histogram (see loopmon.h).
 */
#include "loopmon.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include <json-c/json.h>

const double hn_loopmon_le_ms[HN_LOOPMON_BUCKETS - 1] = {
	1, 2, 5, 10, 20, 50, 100, 200,
};

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static void check_cb(struct ev_loop *loop, ev_check *w, int revents)
{
	struct hn_loopmon *m = w->data;

	(void)loop;
	(void)revents;
	m->t_check = now_us();
}

static void prepare_cb(struct ev_loop *loop, ev_prepare *w, int revents)
{
	struct hn_loopmon *m = w->data;
	uint64_t us;
	unsigned i;

	(void)revents;
	if (!m->t_check)
		return;
	us = now_us() - m->t_check;
	m->t_check = 0;
	m->iters++;
	m->busy_us += us;
	if (us > m->max_us) {
		m->max_us = us;
		m->max_at = ev_now(loop);
	}
	for (i = 0; i < HN_LOOPMON_BUCKETS - 1; i++)
		if ((double)us <= hn_loopmon_le_ms[i] * 1000.0)
			break;
	m->n[i]++;
}

void hn_loopmon_start(struct hn_loopmon *m, struct ev_loop *loop)
{
	memset(m, 0, sizeof(*m));
	m->loop = loop;
	ev_check_init(&m->check, check_cb);
	m->check.data = m;
	ev_set_priority(&m->check, EV_MAXPRI);
	ev_prepare_init(&m->prepare, prepare_cb);
	m->prepare.data = m;
	ev_set_priority(&m->prepare, EV_MINPRI);
	ev_check_start(loop, &m->check);
	ev_prepare_start(loop, &m->prepare);
}

void hn_loopmon_stop(struct hn_loopmon *m)
{
	if (!m->loop)
		return;
	ev_check_stop(m->loop, &m->check);
	ev_prepare_stop(m->loop, &m->prepare);
}

uint64_t hn_loopmon_over(const struct hn_loopmon *m, double ms)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < HN_LOOPMON_BUCKETS; i++)
		if (i > 0 && hn_loopmon_le_ms[i - 1] >= ms)
			n += m->n[i];
	return n;
}

struct json_object *hn_loopmon_json(const struct hn_loopmon *m)
{
	struct json_object *o = json_object_new_object();
	struct json_object *h = json_object_new_object();
	char k[16];

	if (!o || !h) {
		json_object_put(o);
		json_object_put(h);
		return NULL;
	}
	json_object_object_add(o, "iterations",
			       json_object_new_int64((int64_t)m->iters));
	json_object_object_add(o, "busy_s",
			       json_object_new_double((double)m->busy_us / 1e6));
	json_object_object_add(o, "max_ms",
			       json_object_new_double((double)m->max_us / 1e3));
	json_object_object_add(o, "over_20ms", json_object_new_int64(
		(int64_t)hn_loopmon_over(m, 20)));
	json_object_object_add(o, "over_100ms", json_object_new_int64(
		(int64_t)hn_loopmon_over(m, 100)));
	for (unsigned i = 0; i < HN_LOOPMON_BUCKETS; i++) {
		if (i < HN_LOOPMON_BUCKETS - 1)
			snprintf(k, sizeof(k), "%g", hn_loopmon_le_ms[i]);
		else
			snprintf(k, sizeof(k), "+Inf");
		json_object_object_add(h, k, json_object_new_int64(
			(int64_t)m->n[i]));
	}
	json_object_object_add(o, "hist_ms", h);
	return o;
}
