/*
 * procstat.c: hn/procstat.h.
 */
#include "hn/procstat.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static double rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size, rss;
	int n;

	if (!f)
		return NAN;
	n = fscanf(f, "%lu %lu", &size, &rss);
	fclose(f);
	return n == 2 ? (double)rss * (double)sysconf(_SC_PAGESIZE) : NAN;
}

static double cpu_seconds(void)
{
	FILE *f = fopen("/proc/self/stat", "r");
	char line[1024], *p;
	unsigned long ut, st;

	if (!f)
		return NAN;
	p = fgets(line, sizeof(line), f);
	fclose(f);
	if (!p || !(p = strrchr(line, ')')))
		return NAN;
	/* After ") ": state is field 3; utime, stime are fields 14, 15. */
	if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		   &ut, &st) != 2)
		return NAN;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static double open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	double n = 0;

	if (!d)
		return NAN;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n - 1;   /* the directory's own fd */
}

void hn_procstat_read(struct hn_procstat *out)
{
	out->rss_bytes = rss_bytes();
	out->cpu_seconds = cpu_seconds();
	out->open_fds = open_fds();
}
