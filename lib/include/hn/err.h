/*
 * hn/err.h: error codes shared by every module.
 *
 * Functions return 0 on success or a negative code: errno values where one
 * fits (HN_ENOMEM == -ENOMEM), our own from -1000.  struct hn_error carries a
 * human-readable detail where the caller must know which field failed.
 */
#ifndef HN_ERR_H
#define HN_ERR_H

#include <errno.h>

#if defined(__GNUC__)
#define HN_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define HN_PRINTF(fmt, args)
#endif

enum hn_err {
	HN_OK = 0,
	HN_ENOMEM = -ENOMEM,
	HN_EINVAL = -EINVAL,
	HN_ENOENT = -ENOENT,
	HN_EEXIST = -EEXIST,
	HN_ERANGE = -ERANGE,
	HN_EIO = -EIO,
	HN_EPARSE = -1000,      /* malformed input (wire bytes, JSON, hex) */
	HN_EUNSUPPORTED = -1001, /* well-formed but not supported here */
	HN_EPROTO = -1002,      /* protocol violation by a peer */
	HN_EABI = -1003,        /* plugin ABI mismatch */
	HN_ECONSENSUS = -1004,  /* valid encoding, invalid by consensus */
	HN_ECLOSED = -1005,     /* object closed / shutting down */
};

/* Detail for humans; callers may pass NULL wherever a struct hn_error * is
 * taken. */
struct hn_error {
	int code;               /* one of enum hn_err */
	char msg[160];          /* NUL-terminated, lowercase, no final period */
};

/* Fills @err (if not NULL) and returns @code, so callers can write
 * "return hn_error_set(err, HN_EINVAL, "bad %s", what);". */
int hn_error_set(struct hn_error *err, int code, const char *fmt, ...)
	HN_PRINTF(3, 4);

/* Static string describing @code (negative); never NULL. */
const char *hn_strerror(int code);

#endif /* HN_ERR_H */
