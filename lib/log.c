/*
 * log.c: one record per line on a file descriptor, text or JSON.
 *
 * The configuration (level, format, fd) is held in atomics so any thread may
 * log while another reconfigures.  Until hn_log_setup() is called, the first
 * record reads HN_LOG_LEVEL / HN_LOG_FORMAT from the environment, which is
 * how child processes inherit the parent's choice.  A record is formatted in
 * a local buffer and written with one write(2), so lines from several
 * threads or processes sharing the fd do not interleave.
 */
#include "hn/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#define LOG_MSG_MAX 8192

enum log_format { LOG_TEXT, LOG_JSON };

static atomic_int log_level = HN_LOG_INFO;
static atomic_int log_format = LOG_TEXT;
static atomic_int log_fd = 2;
static pthread_once_t log_env_once = PTHREAD_ONCE_INIT;

static const char *const level_names[] = {
	[HN_LOG_ERROR] = "error",
	[HN_LOG_WARN] = "warn",
	[HN_LOG_INFO] = "info",
	[HN_LOG_DEBUG] = "debug",
};

static const char *const level_upper[] = {
	[HN_LOG_ERROR] = "ERROR",
	[HN_LOG_WARN] = "WARN",
	[HN_LOG_INFO] = "INFO",
	[HN_LOG_DEBUG] = "DEBUG",
};

int hn_log_level_parse(const char *name, enum hn_log_level *out)
{
	int i;

	for (i = HN_LOG_ERROR; i <= HN_LOG_DEBUG; i++) {
		if (strcasecmp(name, level_names[i]) == 0) {
			*out = (enum hn_log_level)i;
			return 0;
		}
	}
	if (strcasecmp(name, "warning") == 0) {
		*out = HN_LOG_WARN;
		return 0;
	}
	return HN_EINVAL;
}

static int format_parse(const char *name, int *out)
{
	if (strcasecmp(name, "text") == 0)
		*out = LOG_TEXT;
	else if (strcasecmp(name, "json") == 0)
		*out = LOG_JSON;
	else
		return HN_EINVAL;
	return 0;
}

static void log_env_init(void)
{
	const char *lv = getenv("HN_LOG_LEVEL");
	const char *fmt = getenv("HN_LOG_FORMAT");
	enum hn_log_level level;
	int f;

	if (lv && hn_log_level_parse(lv, &level) == 0)
		atomic_store(&log_level, level);
	if (fmt && format_parse(fmt, &f) == 0)
		atomic_store(&log_format, f);
}

int hn_log_setup(const char *level, const char *format, int fd)
{
	enum hn_log_level lv = HN_LOG_INFO;
	int f = LOG_TEXT;

	/* Consume the environment first so it cannot override us later. */
	pthread_once(&log_env_once, log_env_init);
	if (level && hn_log_level_parse(level, &lv) < 0)
		return HN_EINVAL;
	if (format && format_parse(format, &f) < 0)
		return HN_EINVAL;
	if (level) {
		atomic_store(&log_level, lv);
		setenv("HN_LOG_LEVEL", level_names[lv], 1);
	}
	if (format) {
		atomic_store(&log_format, f);
		setenv("HN_LOG_FORMAT", f == LOG_JSON ? "json" : "text", 1);
	}
	if (fd >= 0)
		atomic_store(&log_fd, fd);
	return 0;
}

int hn_log_enabled(enum hn_log_level lvl)
{
	pthread_once(&log_env_once, log_env_init);
	return (int)lvl <= atomic_load(&log_level);
}

/* "2026-12-06T13:00:00.123Z" */
static void format_ts(char *buf, size_t len)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	size_t n = strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm);

	snprintf(buf + n, len - n, ".%03uZ",
		 (unsigned)(ts.tv_nsec / 1000000) % 1000u);
}

static void write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t n = write(fd, buf, len);

		if (n <= 0)
			return; /* nowhere left to report it */
		buf += n;
		len -= (size_t)n;
	}
}

static void emit_json(int fd, const char *ts, enum hn_log_level lvl,
		      const char *comp, const char *msg)
{
	struct json_object *o = json_object_new_object();
	const char *s;
	size_t len;
	char *line;

	if (!o)
		return;
	json_object_object_add(o, "ts", json_object_new_string(ts));
	json_object_object_add(o, "level",
			       json_object_new_string(level_names[lvl]));
	json_object_object_add(o, "comp", json_object_new_string(comp));
	json_object_object_add(o, "msg", json_object_new_string(msg));
	json_object_object_add(o, "pid", json_object_new_int64(getpid()));
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(s);
	line = malloc(len + 2);
	if (line) {
		memcpy(line, s, len);
		line[len] = '\n';
		write_all(fd, line, len + 1);
		free(line);
	}
	json_object_put(o);
}

void hn_log(enum hn_log_level lvl, const char *component, const char *fmt, ...)
{
	char msg[LOG_MSG_MAX], line[LOG_MSG_MAX + 128], ts[64];
	va_list ap;
	int n, fd;
	char *p;

	if ((int)lvl < HN_LOG_ERROR || lvl > HN_LOG_DEBUG)
		lvl = HN_LOG_ERROR;
	if (!hn_log_enabled(lvl))
		return;
	if (!component)
		component = "-";
	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		snprintf(msg, sizeof(msg), "(bad log format)");
	else if ((size_t)n >= sizeof(msg))
		memcpy(msg + sizeof(msg) - 4, "...", 4);
	format_ts(ts, sizeof(ts));
	fd = atomic_load(&log_fd);
	if (atomic_load(&log_format) == LOG_JSON) {
		emit_json(fd, ts, lvl, component, msg);
		return;
	}
	/* Text: keep one record per line. */
	for (p = msg; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	n = snprintf(line, sizeof(line), "%s %s [%s] %s\n", ts,
		     level_upper[lvl], component, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	write_all(fd, line, (size_t)n);
}
