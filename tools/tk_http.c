/*
 * tk_http.c: minimal blocking HTTP/1.1 client for the tools (one request
 * per connection, "Connection: close"; Content-Length, chunked or
 * read-to-close bodies).
 */
#include "tk.h"

#include <errno.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "hn/err.h"

#define MAX_RESPONSE (16u << 20)

/* Splits "http://host[:port][/prefix]" (prefix without trailing '/'). */
static int parse_url(const char *url, char *host, size_t hn, char *port,
		     size_t pn, char *prefix, size_t xn)
{
	const char *p, *slash, *colon, *end;

	if (strncmp(url, "http://", 7))
		return HN_EINVAL;
	p = url + 7;
	slash = strchr(p, '/');
	end = slash ? slash : p + strlen(p);
	if (*p == '[') {        /* [v6]:port */
		const char *rb = memchr(p, ']', (size_t)(end - p));

		if (!rb)
			return HN_EINVAL;
		if ((size_t)(rb - p - 1) >= hn)
			return HN_EINVAL;
		memcpy(host, p + 1, (size_t)(rb - p - 1));
		host[rb - p - 1] = 0;
		colon = rb[1] == ':' ? rb + 1 : NULL;
	} else {
		colon = memchr(p, ':', (size_t)(end - p));
		size_t n = (size_t)((colon ? colon : end) - p);

		if (n == 0 || n >= hn)
			return HN_EINVAL;
		memcpy(host, p, n);
		host[n] = 0;
	}
	if (colon) {
		size_t n = (size_t)(end - colon - 1);

		if (n == 0 || n >= pn)
			return HN_EINVAL;
		memcpy(port, colon + 1, n);
		port[n] = 0;
	} else {
		snprintf(port, pn, "80");
	}
	snprintf(prefix, xn, "%s", slash ? slash : "");
	while (*prefix && prefix[strlen(prefix) - 1] == '/')
		prefix[strlen(prefix) - 1] = 0;
	return 0;
}

static int dial(const char *host, const char *port, unsigned timeout_s,
		struct hn_error *err)
{
	struct addrinfo hints = { 0 }, *ai, *a;
	struct timeval tv = { .tv_sec = timeout_s };
	int fd = -1, rc;

	hints.ai_socktype = SOCK_STREAM;
	if ((rc = getaddrinfo(host, port, &hints, &ai)) != 0)
		return hn_error_set(err, HN_EIO, "%s: %s", host,
				    gai_strerror(rc));
	for (a = ai; a; a = a->ai_next) {
		fd = socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC,
			    a->ai_protocol);
		if (fd < 0)
			continue;
		setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(ai);
	if (fd < 0)
		return hn_error_set(err, HN_EIO, "connect %s:%s: %s", host,
				    port, strerror(errno));
	return fd;
}

static int send_all(int fd, const char *b, size_t n)
{
	while (n) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Decodes a chunked body in place; returns its length or -1. */
static long dechunk(char *b, size_t n)
{
	size_t in = 0, out = 0;

	for (;;) {
		char *end;
		unsigned long sz = strtoul(b + in, &end, 16);
		char *nl = strstr(b + in, "\r\n");

		if (!nl || end == b + in)
			return -1;
		in = (size_t)(nl - b) + 2;
		if (sz == 0)
			return (long)out;
		if (sz > n - in)
			return -1;
		memmove(b + out, b + in, sz);
		out += sz;
		in += sz + 2;
		if (in > n)
			return -1;
	}
}

int tk_http_request(const char *url, const char *method, const char *path,
		    const char *body, unsigned timeout_s, int *status,
		    char **resp, struct hn_error *err)
{
	char host[256], port[16], prefix[512], clen[96] = "";
	char *req = NULL, *buf = NULL;
	size_t len = 0, cap = 0, blen = body ? strlen(body) : 0;
	char *hdr_end, *b;
	long n;
	int fd, rc;

	*resp = NULL;
	*status = 0;
	if (parse_url(url, host, sizeof(host), port, sizeof(port), prefix,
		      sizeof(prefix)) < 0)
		return hn_error_set(err, HN_EINVAL, "bad URL %s (want "
				    "http://host:port)", url);
	if ((fd = dial(host, port, timeout_s ? timeout_s : 30, err)) < 0)
		return fd;
	if (body)
		snprintf(clen, sizeof(clen), "Content-Type: application/json"
			 "\r\nContent-Length: %zu\r\n", blen);
	if (asprintf(&req, "%s %s%s HTTP/1.1\r\nHost: %s:%s\r\n"
		     "User-Agent: hathor-tools/" HN_VERSION "\r\n"
		     "Accept: application/json\r\nConnection: close\r\n"
		     "%s\r\n", method, prefix, path, host, port, clen) < 0) {
		close(fd);
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	}
	rc = send_all(fd, req, strlen(req));
	if (rc == 0 && body)
		rc = send_all(fd, body, blen);
	free(req);
	if (rc < 0) {
		close(fd);
		return hn_error_set(err, HN_EIO, "send: %s", strerror(errno));
	}
	for (;;) {
		ssize_t r;

		if (cap - len < 4096) {
			char *nb;

			cap = cap ? 2 * cap : 8192;
			if (cap > MAX_RESPONSE || !(nb = realloc(buf, cap + 1))) {
				free(buf);
				close(fd);
				return hn_error_set(err, HN_ENOMEM,
						    "response too large");
			}
			buf = nb;
		}
		r = recv(fd, buf + len, cap - len, 0);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			free(buf);
			close(fd);
			return hn_error_set(err, HN_EIO, "recv: %s",
					    errno == EAGAIN ? "timeout" :
					    strerror(errno));
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	if (!buf)
		return hn_error_set(err, HN_EPROTO, "empty response");
	buf[len] = 0;
	if (sscanf(buf, "HTTP/1.%*d %d", status) != 1 ||
	    !(hdr_end = strstr(buf, "\r\n\r\n"))) {
		free(buf);
		return hn_error_set(err, HN_EPROTO, "not an HTTP response");
	}
	*hdr_end = 0;
	b = hdr_end + 4;
	n = (long)(len - (size_t)(b - buf));
	for (char *h = strstr(buf, "\r\n"); h; h = strstr(h + 2, "\r\n")) {
		if (!strncasecmp(h + 2, "Transfer-Encoding:", 18) &&
		    strcasestr(h + 20, "chunked")) {
			n = dechunk(b, (size_t)n);
			break;
		}
		if (!strncasecmp(h + 2, "Content-Length:", 15)) {
			long cl = strtol(h + 17, NULL, 10);

			if (cl >= 0 && cl < n)
				n = cl;
		}
	}
	if (n < 0) {
		free(buf);
		return hn_error_set(err, HN_EPROTO, "bad chunked body");
	}
	memmove(buf, b, (size_t)n);
	buf[n] = 0;
	*resp = buf;
	return 0;
}
