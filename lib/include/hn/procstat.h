/*
 * hn/procstat.h: this process's resource figures from /proc/self, for the
 * process_* metrics (docs/metrics.md).  A figure that cannot be read is
 * NAN.
 */
#ifndef HN_PROCSTAT_H
#define HN_PROCSTAT_H

struct hn_procstat {
	double rss_bytes;               /* /proc/self/statm resident pages */
	double cpu_seconds;             /* utime + stime of /proc/self/stat */
	double open_fds;                /* entries of /proc/self/fd */
	double start_time;              /* Unix time the process started */
};

void hn_procstat_read(struct hn_procstat *out);

#endif /* HN_PROCSTAT_H */
