/*
 * loopmon.h: how long the event loop is blocked.  An ev_check watcher
 * (highest priority: the first callback after the poll returns) and an
 * ev_prepare watcher (lowest priority: the last callback before the next
 * poll) bracket every loop iteration's callbacks; the time between them is
 * one stretch the loop could not serve new I/O (an HTTP request waiting
 * for it sees it whole).  Kept as a histogram, the longest stretch and
 * the total.  Used by hathor-node (core/daemon.c; `hathor-admin status`
 * shows it as "loop") and by the bench's own host-mode core, so that the
 * two are measured the same way.
 *
 * Loop thread only.
 */
#ifndef HN_CORE_LOOPMON_H
#define HN_CORE_LOOPMON_H

#include <stdbool.h>
#include <stdint.h>

#include <ev.h>

struct json_object;

/* Bucket upper bounds in ms (the last bucket is everything above). */
#define HN_LOOPMON_BUCKETS 9
extern const double hn_loopmon_le_ms[HN_LOOPMON_BUCKETS - 1];

struct hn_loopmon {
	ev_check check;
	ev_prepare prepare;
	struct ev_loop *loop;
	uint64_t t_check;               /* us, 0: no iteration open */
	uint64_t iters;                 /* iterations measured */
	uint64_t busy_us;               /* sum of the stretches */
	uint64_t max_us;                /* longest stretch */
	double max_at;                  /* ev_now() at its end */
	uint64_t n[HN_LOOPMON_BUCKETS]; /* stretches per bucket */
};

/* Zeroes @m and starts its watchers on @loop. */
void hn_loopmon_start(struct hn_loopmon *m, struct ev_loop *loop);
void hn_loopmon_stop(struct hn_loopmon *m);
/* Stretches longer than @ms (a bucket bound). */
uint64_t hn_loopmon_over(const struct hn_loopmon *m, double ms);
/* {"iterations", "busy_s", "max_ms", "over_20ms", "over_100ms",
 *  "hist_ms": {"1": n, ..., "+Inf": n}} (per-bucket counts, not cumulative);
 * NULL on ENOMEM. */
struct json_object *hn_loopmon_json(const struct hn_loopmon *m);

#endif /* HN_CORE_LOOPMON_H */
