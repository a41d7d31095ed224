/*
 * p2p_line.c: "\r\n" line framing with a maximum line length (see
 * p2p_line.h for the rules, which follow Twisted's LineReceiver).
 *
 * The buffer is compacted lazily: consumed bytes are dropped when more room
 * is needed, so a burst of small lines costs no memmove per line.
 */
#include "p2p_line.h"

#include <stdlib.h>
#include <string.h>

#include "hn/err.h"

void p2p_linebuf_init(struct p2p_linebuf *lb, size_t max_line)
{
	memset(lb, 0, sizeof(*lb));
	lb->max_line = max_line;
}

void p2p_linebuf_release(struct p2p_linebuf *lb)
{
	free(lb->buf);
	lb->buf = NULL;
	lb->start = lb->len = lb->cap = lb->scan = 0;
}

size_t p2p_linebuf_pending(const struct p2p_linebuf *lb)
{
	return lb->len - lb->start;
}

int p2p_linebuf_feed(struct p2p_linebuf *lb, const void *data, size_t n)
{
	size_t pending = lb->len - lb->start;

	if (n == 0)
		return 0;
	if (lb->cap - lb->len < n) {
		if (lb->start > 0) {
			memmove(lb->buf, lb->buf + lb->start, pending);
			lb->len = pending;
			lb->start = 0;
		}
		if (lb->cap - lb->len < n) {
			size_t ncap = lb->cap ? lb->cap : 4096;
			char *nb;

			while (ncap - lb->len < n)
				ncap *= 2;
			nb = realloc(lb->buf, ncap);
			if (!nb)
				return HN_ENOMEM;
			lb->buf = nb;
			lb->cap = ncap;
		}
	}
	memcpy(lb->buf + lb->len, data, n);
	lb->len += n;
	return 0;
}

int p2p_linebuf_next(struct p2p_linebuf *lb, const char **line, size_t *len)
{
	int rc = p2p_linebuf_peek(lb, line, len);

	if (rc == 1)
		p2p_linebuf_consume(lb, *len);
	return rc;
}

void p2p_linebuf_consume(struct p2p_linebuf *lb, size_t len)
{
	lb->start += len + 2;
	lb->scan = 0;
}

int p2p_linebuf_peek(struct p2p_linebuf *lb, const char **line, size_t *len)
{
	/* No buffer yet (nothing received): NULL + 0 is undefined. */
	const char *p = lb->buf ? lb->buf + lb->start : NULL;
	size_t pending = lb->len - lb->start;
	size_t i = lb->scan ? lb->scan - 1 : 0;

	if (lb->failed)
		return HN_ERANGE;
	for (; i + 1 < pending; i++) {
		if (p[i] == '\r' && p[i + 1] == '\n')
			break;
	}
	if (i + 1 >= pending) {
		/* No delimiter yet.  A partial line longer than the maximum
		 * can never become valid. */
		lb->scan = pending;
		if (pending > lb->max_line) {
			lb->failed = 1;
			return HN_ERANGE;
		}
		if (pending == 0) {
			lb->start = lb->len = 0;
			lb->scan = 0;
		}
		return 0;
	}
	if (i > lb->max_line) {
		lb->failed = 1;
		return HN_ERANGE;
	}
	*line = p;
	*len = i;
	lb->scan = i + 1;       /* a repeated peek finds it at once */
	return 1;
}
