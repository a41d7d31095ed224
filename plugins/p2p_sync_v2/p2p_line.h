/*
 * p2p_line.h: "\r\n" line framing of the Hathor P2P protocol.
 *
 * Same rules as Twisted's LineReceiver with MAX_LENGTH = 65536 that the
 * reference node uses: a line is everything before "\r\n" (a bare "\n" or
 * "\r" is part of the line); a complete line longer than the maximum, or a
 * partial line that already exceeds it, means the connection must be dropped.
 * Lines before the offending one are still delivered, in order.
 */
#ifndef P2P_LINE_H
#define P2P_LINE_H

#include <stddef.h>
#include <stdint.h>

#define P2P_MAX_LINE 65536

struct p2p_linebuf {
	char *buf;              /* owned; bytes [start, len) are pending */
	size_t start;           /* first unconsumed byte */
	size_t len;             /* bytes used in buf */
	size_t cap;             /* allocated size of buf */
	size_t scan;            /* offset from start already searched */
	size_t max_line;        /* longest accepted line, without "\r\n" */
	int failed;             /* a too-long line was seen; sticky */
};

/* Initializes @lb (no allocation yet) for lines up to @max_line bytes. */
void p2p_linebuf_init(struct p2p_linebuf *lb, size_t max_line);
/* Frees the buffer; @lb may be re-initialized afterwards. */
void p2p_linebuf_release(struct p2p_linebuf *lb);

/* Appends @n bytes.  Returns 0, or HN_ENOMEM. */
int p2p_linebuf_feed(struct p2p_linebuf *lb, const void *data, size_t n);

/* Takes the next complete line.  Returns 1 and sets *@line / *@len (not
 * NUL-terminated; valid until the next call on @lb), 0 when no complete line
 * is buffered, or HN_ERANGE when the next line is (or will be) longer than
 * the maximum: the caller must drop the connection. */
int p2p_linebuf_next(struct p2p_linebuf *lb, const char **line, size_t *len);

/* Like p2p_linebuf_next() without consuming the line. */
int p2p_linebuf_peek(struct p2p_linebuf *lb, const char **line, size_t *len);
/* Consumes the line p2p_linebuf_peek() returned (of @len bytes). */
void p2p_linebuf_consume(struct p2p_linebuf *lb, size_t len);

/* Bytes buffered but not yet returned. */
size_t p2p_linebuf_pending(const struct p2p_linebuf *lb);

#endif /* P2P_LINE_H */
