/*
 * hn/log.h: one-line-per-record logging to a file descriptor (stderr by
 * default), as text or JSON.
 *
 * Text:  2026-12-06T13:00:00.123Z INFO [comp] msg
 * JSON:  {"ts":"...","level":"info","comp":"...","msg":"...","pid":123}
 *
 * Configuration comes from hn_log_setup() or, if it was never called, from
 * the environment (HN_LOG_LEVEL, HN_LOG_FORMAT) so that child processes
 * inherit it.  Safe to call from any thread; each record is written with a
 * single write(2).
 */
#ifndef HN_LOG_H
#define HN_LOG_H

#include "hn/err.h"

enum hn_log_level {
	HN_LOG_ERROR,
	HN_LOG_WARN,
	HN_LOG_INFO,
	HN_LOG_DEBUG,
};

/* Emits one record if @lvl is enabled.  @component is a short subsystem
 * name ("p2p", "store"); NULL is logged as "-". */
void hn_log(enum hn_log_level lvl, const char *component, const char *fmt, ...)
	HN_PRINTF(3, 4);

/* True if records of @lvl are currently emitted (test before costly
 * formatting). */
int hn_log_enabled(enum hn_log_level lvl);

/* @level: "error", "warn", "info" or "debug" (NULL: keep current);
 * @format: "text" or "json" (NULL: keep current); @fd: destination
 * (negative: keep current, default 2).  Also exports HN_LOG_LEVEL and
 * HN_LOG_FORMAT so child processes inherit the choice.
 * Returns 0, or HN_EINVAL for an unknown level or format (nothing changed). */
int hn_log_setup(const char *level, const char *format, int fd);

/* Parses a level name; returns 0 and sets *out, or HN_EINVAL. */
int hn_log_level_parse(const char *name, enum hn_log_level *out);

#define hn_err(comp, ...) hn_log(HN_LOG_ERROR, (comp), __VA_ARGS__)
#define hn_warn(comp, ...) hn_log(HN_LOG_WARN, (comp), __VA_ARGS__)
#define hn_info(comp, ...) hn_log(HN_LOG_INFO, (comp), __VA_ARGS__)
#define hn_debug(comp, ...) hn_log(HN_LOG_DEBUG, (comp), __VA_ARGS__)

#endif /* HN_LOG_H */
