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

/* /proc/self/stat read into @line: what follows the command's ") " (field
 * 3 on), or NULL if unreadable. */
static const char *self_stat(char *line, size_t size)
{
	FILE *f = fopen("/proc/self/stat", "r");
	char *p;

	if (!f)
		return NULL;
	p = fgets(line, (int)size, f);
	fclose(f);
	if (!p || !(p = strrchr(line, ')')) || !p[1])
		return NULL;
	return p + 2;
}

static double cpu_seconds(void)
{
	char line[1024];
	const char *p = self_stat(line, sizeof(line));
	unsigned long ut, st;

	if (!p)
		return NAN;
	/* State is field 3; utime, stime are fields 14, 15. */
	if (sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu",
		   &ut, &st) != 2)
		return NAN;
	return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

/* Process start as Unix time: /proc/self/stat field 22 (clock ticks
 * after boot) plus /proc/stat btime; NAN if unreadable. */
static double start_time(void)
{
	char line[1024];
	const char *p = self_stat(line, sizeof(line));
	unsigned long long st = 0, bt = 0;
	FILE *f;
	int ok;

	if (!p)
		return NAN;
	/* State is field 3; starttime is field 22. */
	if (sscanf(p, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %*u "
		   "%*u %*d %*d %*d %*d %*d %*d %llu", &st) != 1)
		return NAN;
	f = fopen("/proc/stat", "r");
	if (!f)
		return NAN;
	ok = 0;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "btime %llu", &bt) == 1) {
			ok = 1;
			break;
		}
	fclose(f);
	if (!ok)
		return NAN;
	return (double)bt + (double)st / (double)sysconf(_SC_CLK_TCK);
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
	out->start_time = start_time();
}
