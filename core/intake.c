/*
 * intake.c: the sliced on_new_vertices intake (see intake.h).
 */
#include "intake.h"

#include <string.h>
#include <time.h>

#include "ledger.h"

#include "hn/err.h"

uint64_t hn_intake_mono_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

/* The batch's transaction failed (its commit, or the commit of the
 * paused transaction by another writer): nothing from b->txn_from on is
 * stored; the vertices before are, with their own results. */
static void txn_lost(struct hn_intake_batch *b, size_t upto, int rc)
{
	for (size_t i = b->txn_from; i < upto; i++)
		b->res[i].stored = false;
	b->rc = rc;
	b->fail_at = b->txn_from;
	b->next = upto;
	b->finished = true;
}

void hn_intake_slice(struct hn_ledger *l, struct hn_intake_batch *b,
		     unsigned budget_us, unsigned max_vertices,
		     struct hn_intake_slice_info *info)
{
	size_t max = b->n - b->next, done = 0;
	uint64_t t0 = hn_intake_mono_us(), t1, t2;
	bool rejected = false, last;
	int rc;

	if (info)
		memset(info, 0, sizeof(*info));
	if (b->finished || max == 0) {
		hn_intake_release(l, b);
		b->finished = true;
		return;
	}
	if (max_vertices && max > max_vertices)
		max = max_vertices;
	/* The signatures of the whole batch are checked by a worker thread
	 * while the slices store the vertices before them. */
	if (b->next == 0 && !b->prefetch && b->n > 1)
		b->prefetch = hn_ledger_prefetch(l, b->v, b->n);
	if (b->paused) {
		b->paused = false;
		rc = hn_ledger_batch_resume(l);
		if (rc == 2) {
			txn_lost(b, b->next, HN_EIO);
			return;
		}
		if (rc == 1)
			b->txn_from = b->next;
	} else {
		rc = hn_ledger_batch_begin(l);
		b->txn_from = b->next;
	}
	if (rc < 0) {
		b->rc = rc;
		b->fail_at = b->next;
		b->begin_failed = true;
		memset(&b->res[b->next], 0, sizeof(b->res[0]));
		b->next++;
		b->finished = true;
		if (info)
			info->done = 1;
		return;
	}
	while (done < max) {
		const struct hn_buf *v = &b->v[b->next + done];

		rc = hn_nodesvc_on_new_vertex(l, v->data, v->len, b->origin,
					      &b->res[b->next + done]);
		done++;
		hn_ledger_prefetch_done(l, b->prefetch, b->next + done);
		if (rc < 0) {
			/* Ends the batch, whether or not it was the last
			 * vertex this slice would have taken. */
			rejected = true;
			break;
		}
		if (hn_intake_mono_us() - t0 >= budget_us)
			break;
	}
	t1 = hn_intake_mono_us();
	last = rejected || b->next + done >= b->n;
	if (!last && b->next + done - b->txn_from < HN_INTAKE_TXN_MAX) {
		/* One commit for the batch: the transaction stays open while
		 * the loop runs (readers on this connection see the vertices
		 * stored so far; another writer commits it first). */
		hn_ledger_batch_pause(l);
		b->paused = true;
		rc = 0;
	} else {
		rc = hn_ledger_batch_end(l);
	}
	t2 = hn_intake_mono_us();
	if (info) {
		info->done = done;
		info->us = t2 - t0;
		info->commit_us = t2 - t1;
	}
	if (rc < 0) {
		txn_lost(b, b->next + done, rc);
		return;
	}
	b->next += done;
	if (last)
		b->finished = true;
}

void hn_intake_release(struct hn_ledger *l, struct hn_intake_batch *b)
{
	if (!b->paused)
		return;
	b->paused = false;
	if (hn_ledger_batch_resume(l) >= 0 && hn_ledger_batch_end(l) < 0)
		txn_lost(b, b->next, HN_EIO);
}

/* --- scheduler ----------------------------------------------------------- */

static void sched_run(struct hn_intake_sched *s)
{
	hn_intake_sched_disarm(s);
	s->fn(s->arg);
}

static void idle_cb(struct ev_loop *loop, ev_idle *w, int revents)
{
	(void)loop;
	(void)revents;
	sched_run(w->data);
}

static void guard_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	(void)loop;
	(void)revents;
	sched_run(w->data);
}

void hn_intake_sched_init(struct hn_intake_sched *s, struct ev_loop *loop,
			  void (*fn)(void *arg), void *arg)
{
	s->loop = loop;
	s->fn = fn;
	s->arg = arg;
	ev_idle_init(&s->idle, idle_cb);
	s->idle.data = s;
	ev_timer_init(&s->guard, guard_cb, HN_INTAKE_GUARD, 0.);
	s->guard.data = s;
}

void hn_intake_sched_arm(struct hn_intake_sched *s)
{
	if (ev_is_active(&s->idle))
		return;
	ev_idle_start(s->loop, &s->idle);
	ev_timer_set(&s->guard, HN_INTAKE_GUARD, 0.);
	ev_timer_start(s->loop, &s->guard);
}

void hn_intake_sched_disarm(struct hn_intake_sched *s)
{
	ev_idle_stop(s->loop, &s->idle);
	ev_timer_stop(s->loop, &s->guard);
}

bool hn_intake_sched_armed(const struct hn_intake_sched *s)
{
	return ev_is_active(&s->idle);
}
