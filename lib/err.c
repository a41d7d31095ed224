/*
 * err.c: error codes to strings and the struct hn_error filler.
 */
#include "hn/err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int hn_error_set(struct hn_error *err, int code, const char *fmt, ...)
{
	va_list ap;

	if (!err)
		return code;
	err->code = code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return code;
}

const char *hn_strerror(int code)
{
	switch (code) {
	case HN_OK:
		return "success";
	case HN_EPARSE:
		return "malformed input";
	case HN_EUNSUPPORTED:
		return "not supported";
	case HN_EPROTO:
		return "protocol violation";
	case HN_EABI:
		return "ABI mismatch";
	case HN_ECONSENSUS:
		return "invalid by consensus rules";
	case HN_ECLOSED:
		return "closed";
	}
	if (code < 0 && code > -4096)
		return strerror(-code);
	return "unknown error";
}
