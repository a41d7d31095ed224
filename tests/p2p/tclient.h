/*
 * tclient.h: a scripted, blocking TLS peer for P2P tests.  It runs in its
 * own thread (the engine under test runs on the main thread's loop) and
 * speaks raw lines, so a test can play an honest or a hostile peer.
 */
#ifndef P2P_TCLIENT_H
#define P2P_TCLIENT_H

#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>

struct p2p_identity;

struct tclient {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	char buf[140000];
	size_t blen;
	bool closed;            /* the other side closed */
	bool no_pong;           /* do not answer PING (play dead) */
};

/* Connects to 127.0.0.1:@port with @id's CA-signed certificate. */
int tclient_connect(struct tclient *t, uint16_t port,
		    struct p2p_identity *id);
/* HELLO / PEER-ID / READY as a good unittests peer.  Returns 0. */
int tclient_handshake(struct tclient *t, struct p2p_identity *id);
int tclient_send(struct tclient *t, const char *line);
int tclient_sendf(struct tclient *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Next line (malloc'd, caller frees), answering PING by itself; NULL on
 * close (t->closed) or after @timeout seconds. */
char *tclient_recv(struct tclient *t, double timeout);
/* Reads until a line starting with @prefix (returned) or NULL. */
char *tclient_wait(struct tclient *t, const char *prefix, double timeout);
void tclient_close(struct tclient *t);

#endif /* P2P_TCLIENT_H */
