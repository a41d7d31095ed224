/*
 * bench.h: the benchmark runner (tests/bench/, target `bench`).
 *
 * One process runs every part in one go (limits, sync, ...) so that the
 * figures are ratios measured on the same machine at the same time.  Each
 * part appends rows; the runner prints them as a markdown table and writes
 * them, with the raw per-part details, to a JSON file.
 *
 * Invariants: a row is a figure that was measured in this run (no
 * defaults, no estimates); a part that cannot run records why in a
 * "missing" row with no value.  A part that measured something wrong
 * (a check failed) returns negative and the runner exits 1.
 */
#ifndef BENCH_H
#define BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct json_object;

struct bench {
	bool quick;                     /* smoke sizes */
	char dir[512];                  /* private scratch dir (removed) */
	const char *plugin;             /* p2p_sync_v2 .so, or NULL */
	/* Executables (NULL: not built) and the chain. */
	const char *chaingen, *import, *harness, *host_bin, *node, *admin;
	/* --parts daemon without sync: only the hathor-node runs (after the
	 * import and the serving node they need). */
	bool daemon_only;
	/* --daemon-arg: extra arguments for every hathor-node run. */
	const char *daemon_args[8];
	size_t n_daemon_args;
	const char *chain;              /* vertex file (made if missing) */
	long blocks, txs;               /* chain size when generated */
	struct json_object *rows;       /* array of row objects */
	struct json_object *detail;     /* object: part -> details */
	/* Figures parts pass on (0: not measured). */
	double bound_inproc;            /* vertices/s, limits part */
	double bound_host;
	double sync_inproc;             /* vertices/s, sync part */
};

/* Monotonic clock in seconds. */
double bench_now(void);

/* Appends a row: @part ("limits"), @name (what), @value in @unit, the
 * target (NULL: none) and a note (NULL: none). */
void bench_row(struct bench *b, const char *part, const char *name,
	       double value, const char *unit, const char *target,
	       const char *note);
/* A figure that could not be measured and why. */
void bench_missing(struct bench *b, const char *part, const char *name,
		   const char *why);
/* Detail object of @part (created on first use, owned by @b). */
struct json_object *bench_detail(struct bench *b, const char *part);

/* Median of @n doubles (sorts @v). */
double bench_median(double *v, size_t n);
/* Percentile @p (0..100) of @n sorted doubles. */
double bench_pct(const double *sorted, size_t n, double p);

/* utime + stime of @pid (s) and its VmHWM (MB); false if unreadable. */
bool bench_proc_usage(pid_t pid, double *cpu, double *hwm_mb);

/* Parts.  Each returns 0, or negative if a check failed. */
int bench_limits(struct bench *b);
int bench_sync(struct bench *b);

/* hn-bench --nng-server URL: the REP side of the nng figures, in a
 * process of its own; writes one byte to stdout when it listens. */
int bench_nng_server(const char *url);
/* hn-bench --host-core ...: the syncing core of host mode (bench_host.c);
 * @argc/@argv after the option. */
int bench_host_core(int argc, char **argv);

#endif /* BENCH_H */
