/*
 * tclient.c: scripted blocking TLS peer for tests (see tclient.h).
 */
#include "tclient.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>

#include "p2p_tls.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int tclient_connect(struct tclient *t, uint16_t port, struct p2p_identity *id)
{
	struct sockaddr_in sa = { 0 };
	struct timeval tv = { .tv_sec = 0, .tv_usec = 50000 };

	memset(t, 0, sizeof(*t));
	t->fd = -1;
	t->ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(t->ctx, TLS1_3_VERSION);
	SSL_CTX_use_certificate(t->ctx, id->cert);
	SSL_CTX_use_PrivateKey(t->ctx, id->key);
	t->fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(t->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	setsockopt(t->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	t->ssl = SSL_new(t->ctx);
	SSL_set_fd(t->ssl, t->fd);
	if (SSL_connect(t->ssl) != 1)
		return -EPROTO;
	return 0;
}

int tclient_send(struct tclient *t, const char *line)
{
	size_t n = strlen(line);
	char *b = malloc(n + 2);
	int rc;

	memcpy(b, line, n);
	memcpy(b + n, "\r\n", 2);
	rc = SSL_write(t->ssl, b, (int)n + 2);
	free(b);
	return rc > 0 ? 0 : -EIO;
}

int tclient_sendf(struct tclient *t, const char *fmt, ...)
{
	char line[70000];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	return tclient_send(t, line);
}

char *tclient_recv(struct tclient *t, double timeout)
{
	double end = now_s() + timeout;

	for (;;) {
		char *nl = memmem(t->buf, t->blen, "\r\n", 2);
		int n;

		if (nl) {
			size_t ll = (size_t)(nl - t->buf);
			char *line = strndup(t->buf, ll);

			memmove(t->buf, nl + 2, t->blen - ll - 2);
			t->blen -= ll + 2;
			if (!strncmp(line, "PING ", 5) && !t->no_pong) {
				line[1] = 'O';
				tclient_send(t, line);
				free(line);
				continue;
			}
			return line;
		}
		if (t->closed || now_s() > end)
			return NULL;
		n = SSL_read(t->ssl, t->buf + t->blen,
			     (int)(sizeof(t->buf) - t->blen));
		if (n > 0) {
			t->blen += (size_t)n;
			continue;
		}
		if (SSL_get_error(t->ssl, n) == SSL_ERROR_WANT_READ ||
		    errno == EAGAIN || errno == EWOULDBLOCK) {
			ERR_clear_error();
			errno = 0;
			continue;
		}
		t->closed = true;
	}
}

char *tclient_wait(struct tclient *t, const char *prefix, double timeout)
{
	double end = now_s() + timeout;

	while (now_s() < end) {
		char *l = tclient_recv(t, end - now_s());

		if (!l)
			return NULL;
		if (!strncmp(l, prefix, strlen(prefix)))
			return l;
		free(l);
	}
	return NULL;
}

int tclient_handshake(struct tclient *t, struct p2p_identity *id)
{
	char *l;

	tclient_sendf(t, "HELLO {\"app\":\"tclient\",\"network\":\"unittests\","
		      "\"remote_address\":\"127.0.0.1:1\",\"genesis_short_hash"
		      "\":\"f188691\",\"timestamp\":%ld,\"capabilities\":["
		      "\"whitelist\",\"sync-version\",\"get-best-blockchain\"],"
		      "\"sync_versions\":[\"v2\"]}", (long)time(NULL));
	l = tclient_wait(t, "PEER-ID", 5);
	if (!l)
		return -EPROTO;
	free(l);
	tclient_sendf(t, "PEER-ID {\"id\":\"%s\",\"pubKey\":\"%s\","
		      "\"entrypoints\":[]}", id->id_hex, id->pubkey_b64);
	l = tclient_wait(t, "READY", 5);
	if (!l)
		return -EPROTO;
	free(l);
	return tclient_send(t, "READY");
}

void tclient_close(struct tclient *t)
{
	if (t->ssl) {
		SSL_shutdown(t->ssl);
		SSL_free(t->ssl);
	}
	if (t->fd >= 0)
		close(t->fd);
	SSL_CTX_free(t->ctx);
	t->ssl = NULL;
	t->ctx = NULL;
	t->fd = -1;
}
