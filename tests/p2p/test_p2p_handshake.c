/*
 * test_p2p_handshake.c: the HELLO -> PEER-ID -> READY state machine over
 * real loopback sockets with real TLS 1.3.  A server engine runs on a libev
 * loop in the main thread (node service: memnode); each case runs a
 * scripted blocking TLS client in a second thread, which sends crafted
 * lines and records what the server answers until it closes.  Every
 * rejection reason must produce the reference's ERROR text and a close.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>
#include <json-c/json.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "hn/network.h"
#include "memnode.h"
#include "p2p.h"
#include "p2p_tls.h"
#include "testenv.h"

/* --- server side --- */

static struct {
	struct ev_loop *loop;
	struct memnode mn;
	struct testenv te;
	struct p2p *p2p;
	uint16_t port;
	const struct hn_network *net;
} S;

static void server_up(void)
{
	struct p2p_config cfg = { 0 };
	char err[256];

	S.net = hn_network_by_name("unittests");
	assert_non_null(S.net);
	S.loop = ev_loop_new(EVFLAG_AUTO);
	memnode_init(&S.mn, S.loop, S.net);
	testenv_init(&S.te, S.loop, &memnode_ops, &S.mn, "[server]");
	S.te.level = P2P_LOG_WARN;
	cfg.net = S.net;
	cfg.use_tls = true;
	assert_int_equal(p2p_new(&S.te.env, &cfg, &S.p2p, err, sizeof(err)),
			 0);
	assert_int_equal(p2p_listen(S.p2p, "127.0.0.1", 0, &S.port), 0);
	assert_int_equal(p2p_start(S.p2p), 0);
}

static void server_down(void)
{
	p2p_free(S.p2p);
	memnode_release(&S.mn);
	assert_int_equal(S.te.n_io, 0);
	assert_int_equal(S.te.n_timers, 0);
	ev_loop_destroy(S.loop);
}

/* --- scripted client (second thread) --- */

#define MAX_LINES 64

struct script {
	/* inputs */
	const char *hello;      /* full HELLO line, or NULL for a good one */
	int peer_id_mode;       /* see enum below */
	const char *extra;      /* a raw line sent first, or NULL */
	bool self_signed;       /* use a certificate not from the CA */
	bool no_cert;
	struct p2p_identity *id; /* identity to use (NULL: fresh) */
	bool send_ready;
	double hold;            /* seconds to stay after READY */
	/* outputs */
	bool tls_ok;
	bool closed;            /* the server closed the connection */
	char *lines[MAX_LINES];
	int n_lines;
	bool done;
};

enum {
	PID_NONE = 0,           /* send no PEER-ID */
	PID_GOOD,
	PID_WRONG_KEY,          /* pubKey of another key than the cert's */
	PID_BAD_ID,             /* id that does not match pubKey */
	PID_CLONE,              /* the server's own id and key */
	PID_BAD_EP,             /* an entrypoint that is not us */
	PID_BAD_B64,
};

static X509 *self_signed_cert(EVP_PKEY *key)
{
	X509 *x = X509_new();
	X509_NAME *n;

	X509_set_version(x, X509_VERSION_3);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
				   (const unsigned char *)"Hathor full node",
				   -1, -1, 0);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), -3600);
	X509_gmtime_adj(X509_getm_notAfter(x), 3600);
	X509_set_pubkey(x, key);
	X509_sign(x, key, EVP_sha256());
	return x;
}

static char *server_peer_id_line;       /* the server's PEER-ID, for clone */
/* RSA key generation is slow (more so under ASan): two keys for all. */
static struct p2p_identity *client_id, *other_id;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void add_line(struct script *sc, const char *l, size_t n)
{
	if (sc->n_lines < MAX_LINES)
		sc->lines[sc->n_lines++] = strndup(l, n);
}

static int ssl_send(SSL *ssl, const char *line)
{
	size_t n = strlen(line);
	char *buf = malloc(n + 2);
	int rc;

	memcpy(buf, line, n);
	memcpy(buf + n, "\r\n", 2);
	rc = SSL_write(ssl, buf, (int)n + 2);
	free(buf);
	return rc;
}

static char *hello_line(const char *override_net, const char *override_gen,
			double dt, bool settings_bad, int caps_mode)
{
	static char buf[2048];
	char ts[64];

	snprintf(ts, sizeof(ts), "%.6f", (double)time(NULL) + dt);
	snprintf(buf, sizeof(buf),
		 "HELLO {\"app\":\"test\",\"network\":\"%s\","
		 "\"remote_address\":\"127.0.0.1:1\",\"genesis_short_hash\":"
		 "\"%s\",\"timestamp\":%s,%s\"capabilities\":[%s]%s}",
		 override_net ? override_net : "unittests",
		 override_gen ? override_gen : "f188691", ts,
		 settings_bad ? "\"settings_dict\":{\"P2PKH_VERSION_BYTE\":"
		 "\"28\",\"MULTISIG_VERSION_BYTE\":\"64\",\"MIN_BLOCK_WEIGHT\":"
		 "21,\"MIN_TX_WEIGHT\":2,\"BLOCK_DATA_MAX_SIZE\":100}," :
		 "\"settings_dict\":{\"P2PKH_VERSION_BYTE\":\"28\","
		 "\"MULTISIG_VERSION_BYTE\":\"64\",\"MIN_BLOCK_WEIGHT\":2,"
		 "\"MIN_TX_WEIGHT\":2,\"BLOCK_DATA_MAX_SIZE\":100},",
		 caps_mode == 1 ? "\"whitelist\"" :
		 "\"whitelist\",\"sync-version\",\"get-best-blockchain\"",
		 caps_mode == 2 ? "" : ",\"sync_versions\":[\"v2\"]");
	return buf;
}

static void *client_main(void *arg)
{
	struct script *sc = arg;
	struct p2p_identity *id = sc->id ? sc->id : client_id;
	SSL_CTX *ctx = NULL;
	SSL *ssl = NULL;
	int fd = -1;
	struct sockaddr_in sa = { 0 };
	char buf[70000];
	size_t blen = 0;
	bool sent_pid = false;
	double t_end = 0;
	struct timeval tv = { .tv_sec = 0, .tv_usec = 50000 };
	double deadline = now_s() + 10;

	ctx = SSL_CTX_new(TLS_client_method());
	SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
	if (!sc->no_cert) {
		X509 *cert = sc->self_signed ? self_signed_cert(id->key) :
			     id->cert;

		SSL_CTX_use_certificate(ctx, cert);
		SSL_CTX_use_PrivateKey(ctx, id->key);
		if (sc->self_signed)
			X509_free(cert);
	}
	fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_family = AF_INET;
	sa.sin_port = htons(S.port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		goto out;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ssl = SSL_new(ctx);
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1)
		goto out;
	sc->tls_ok = true;
	if (sc->extra)
		ssl_send(ssl, sc->extra);
	if (sc->hello)
		ssl_send(ssl, sc->hello);
	while (now_s() < deadline) {
		int n = SSL_read(ssl, buf + blen, (int)(sizeof(buf) - blen));
		char *nl;

		if (n <= 0) {
			int e = SSL_get_error(ssl, n);

			if (e == SSL_ERROR_WANT_READ ||
			    (e == SSL_ERROR_SYSCALL && (errno == EAGAIN ||
						       errno == EWOULDBLOCK))) {
				ERR_clear_error();
				if (t_end && now_s() >= t_end)
					break;
				/* SSL_read may report the first post-
				 * handshake failure here: a TLS alert means
				 * the server refused us. */
				continue;
			}
			/* closed, or the server's TLS alert */
			sc->closed = true;
			break;
		}
		blen += (size_t)n;
		while ((nl = memmem(buf, blen, "\r\n", 2))) {
			size_t ll = (size_t)(nl - buf);

			add_line(sc, buf, ll);
			if (ll >= 7 && !strncmp(buf, "PEER-ID", 7) &&
			    !server_peer_id_line)
				server_peer_id_line = strndup(buf, ll);
			if (ll >= 7 && !strncmp(buf, "PEER-ID", 7) &&
			    sc->peer_id_mode && !sent_pid) {
				char line[4096];
				struct p2p_identity *k = id;
				const char *idhex = id->id_hex;
				const char *ep = "";

				sent_pid = true;
				if (sc->peer_id_mode == PID_WRONG_KEY) {
					k = other_id;
					idhex = other_id->id_hex;
				}
				if (sc->peer_id_mode == PID_BAD_EP)
					ep = "\"tcp://10.1.2.3:40403\"";
				if (sc->peer_id_mode == PID_CLONE) {
					/* Echo the server's own PEER-ID. */
					snprintf(line, sizeof(line), "%.*s",
						 (int)ll, buf);
				} else if (sc->peer_id_mode == PID_BAD_B64) {
					snprintf(line, sizeof(line), "PEER-ID "
						 "{\"id\":\"%s\",\"pubKey\":"
						 "\"!!!\",\"entrypoints\":[]}",
						 idhex);
				} else {
					snprintf(line, sizeof(line), "PEER-ID "
						 "{\"id\":\"%s%s\",\"pubKey\":"
						 "\"%s\",\"entrypoints\":[%s]}",
						 sc->peer_id_mode ==
						 PID_BAD_ID ? "00" : "",
						 sc->peer_id_mode ==
						 PID_BAD_ID ? idhex + 2 :
						 idhex, k->pubkey_b64, ep);
				}
				ssl_send(ssl, line);
			}
			if (ll == 5 && !strncmp(buf, "READY", 5)) {
				if (sc->send_ready)
					ssl_send(ssl, "READY");
				t_end = now_s() + sc->hold + 0.2;
			}
			if (ll >= 4 && !strncmp(buf, "PING", 4)) {
				buf[1] = 'O';   /* PONG <salt> */
				{
					char *p = strndup(buf, ll);

					ssl_send(ssl, p);
					free(p);
				}
			}
			memmove(buf, nl + 2, blen - ll - 2);
			blen -= ll + 2;
		}
	}
out:
	if (ssl) {
		SSL_shutdown(ssl);
		SSL_free(ssl);
	}
	if (fd >= 0)
		close(fd);
	SSL_CTX_free(ctx);
	__atomic_store_n(&sc->done, true, __ATOMIC_SEQ_CST);
	return NULL;
}

static void poll_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
	struct script *sc = w->data;

	(void)revents;
	if (__atomic_load_n(&sc->done, __ATOMIC_SEQ_CST))
		ev_break(loop, EVBREAK_ALL);
}

static void run_script(struct script *sc)
{
	pthread_t th;
	ev_timer t;

	assert_int_equal(pthread_create(&th, NULL, client_main, sc), 0);
	ev_timer_init(&t, poll_cb, 0.01, 0.01);
	t.data = sc;
	ev_timer_start(S.loop, &t);
	ev_run(S.loop, 0);
	ev_timer_stop(S.loop, &t);
	pthread_join(th, NULL);
}

static void free_script(struct script *sc)
{
	int i;

	for (i = 0; i < sc->n_lines; i++)
		free(sc->lines[i]);
}

static bool has_line(struct script *sc, const char *want)
{
	int i;

	for (i = 0; i < sc->n_lines; i++)
		if (!strcmp(sc->lines[i], want))
			return true;
	return false;
}

static bool has_prefix(struct script *sc, const char *want)
{
	int i;

	for (i = 0; i < sc->n_lines; i++)
		if (!strncmp(sc->lines[i], want, strlen(want)))
			return true;
	return false;
}

static void dump(struct script *sc)
{
	int i;

	for (i = 0; i < sc->n_lines; i++)
		fprintf(stderr, "  << %.200s\n", sc->lines[i]);
}

/* A HELLO variant must be refused with @error and a close. */
static void expect_refusal(const char *hello, int pid_mode, const char *error)
{
	struct script sc = { .hello = hello, .peer_id_mode = pid_mode,
			     .send_ready = true };

	run_script(&sc);
	if (!has_line(&sc, error) || !sc.closed) {
		fprintf(stderr, "expected '%s' and a close (closed=%d):\n",
			error, sc.closed);
		dump(&sc);
	}
	assert_true(sc.tls_ok);
	assert_true(has_line(&sc, error));
	assert_true(sc.closed);
	free_script(&sc);
}

/* --- cases --- */

static void test_good_handshake(void **state)
{
	struct script sc = { .peer_id_mode = PID_GOOD, .send_ready = true,
			     .hold = 1.2 };

	(void)state;
	sc.hello = hello_line(NULL, NULL, 0, false, 0);
	run_script(&sc);
	if (!has_line(&sc, "READY"))
		dump(&sc);
	assert_true(sc.tls_ok);
	assert_true(has_prefix(&sc, "HELLO {\"app\":"));
	assert_true(has_prefix(&sc, "PEER-ID {\"id\":\""));
	assert_true(has_line(&sc, "READY"));
	/* READY state: GET-PEERS at once, then sync-v2 and PING. */
	assert_true(has_line(&sc, "GET-PEERS"));
	assert_true(has_line(&sc, "GET-BEST-BLOCK"));
	assert_false(sc.closed);
	free_script(&sc);
}

static void test_hello_refusals(void **state)
{
	char buf[4096];

	(void)state;
	expect_refusal(hello_line("mainnet", NULL, 0, false, 0), PID_NONE,
		       "ERROR Wrong network.");
	expect_refusal(hello_line(NULL, "3fdff62", 0, false, 0), PID_NONE,
		       "ERROR Different genesis.");
	expect_refusal(hello_line(NULL, NULL, 200, false, 0), PID_NONE,
		       "ERROR Nodes timestamps too far apart.");
	expect_refusal(hello_line(NULL, NULL, -200, false, 0), PID_NONE,
		       "ERROR Nodes timestamps too far apart.");
	expect_refusal(hello_line(NULL, NULL, 0, true, 0), PID_NONE,
		       "ERROR Settings values are different. "
		       "{\"P2PKH_VERSION_BYTE\":\"28\",\"MULTISIG_VERSION_BYTE"
		       "\":\"64\",\"MIN_BLOCK_WEIGHT\":2,\"MIN_TX_WEIGHT\":2,"
		       "\"BLOCK_DATA_MAX_SIZE\":100}");
	expect_refusal(hello_line(NULL, NULL, 0, false, 1), PID_NONE,
		       "ERROR no compatible sync version to use");
	expect_refusal(hello_line(NULL, NULL, 0, false, 2), PID_NONE,
		       "ERROR invalid protocol");
	expect_refusal("HELLO {\"app\":\"x\",\"network\":\"unittests\"}",
		       PID_NONE, "ERROR Invalid payload.");
	expect_refusal("HELLO {not json", PID_NONE, "ERROR Invalid payload.");
	expect_refusal("HELLO 42", PID_NONE,
		       "ERROR Error processing \"HELLO\" command");
	/* Valid JSON, wrong types. */
	snprintf(buf, sizeof(buf), "HELLO {\"app\":\"t\",\"network\":"
		 "\"unittests\",\"remote_address\":\"x\",\"genesis_short_hash"
		 "\":\"f188691\",\"timestamp\":\"now\",\"capabilities\":"
		 "[\"sync-version\"],\"sync_versions\":[\"v2\"]}");
	expect_refusal(buf, PID_NONE,
		       "ERROR Error processing \"HELLO\" command");
	/* A command valid elsewhere is invalid in HELLO (with the
	 * reference's "ProtocolMessages.X" text and trailing space). */
	expect_refusal("READY", PID_NONE,
		       "ERROR Invalid Command: ProtocolMessages.READY ");
	expect_refusal("GET-TIPS", PID_NONE,
		       "ERROR Invalid Command: ProtocolMessages.GET_TIPS ");
}

static void test_peer_id_refusals(void **state)
{
	const char *h;

	(void)state;
	h = hello_line(NULL, NULL, 0, false, 0);
	expect_refusal(h, PID_WRONG_KEY, "ERROR Public keys from peer "
		       "and certificate are not the same.");
	h = hello_line(NULL, NULL, 0, false, 0);
	expect_refusal(h, PID_BAD_ID,
		       "ERROR Error processing \"PEER-ID\" command");
	h = hello_line(NULL, NULL, 0, false, 0);
	expect_refusal(h, PID_CLONE, "ERROR Are you my clone?!");
	h = hello_line(NULL, NULL, 0, false, 0);
	expect_refusal(h, PID_BAD_EP, "ERROR Connection string is not "
		       "in the entrypoints.");
	h = hello_line(NULL, NULL, 0, false, 0);
	/* b64decode("!!!") is b"": the key cannot be parsed. */
	expect_refusal(h, PID_BAD_B64, "ERROR Unable to parse peer id. "
		       "Reason: Could not deserialize key data. The data may "
		       "be in an incorrect format or it may be encrypted with "
		       "an unsupported algorithm.");
}

struct dup_ctx {
	struct script a, b;
};

static void test_duplicate(void **state)
{
	struct p2p_identity *id = other_id;
	pthread_t ta;
	ev_timer t;
	struct script b = { .peer_id_mode = PID_GOOD, .send_ready = true };
	struct script a = { .peer_id_mode = PID_GOOD, .send_ready = true,
			    .hold = 0.5 };

	(void)state;
	a.id = id;
	b.id = id;
	a.hello = strdup(hello_line(NULL, NULL, 0, false, 0));
	b.hello = strdup(hello_line(NULL, NULL, 0, false, 0));
	assert_int_equal(pthread_create(&ta, NULL, client_main, &a), 0);
	/* Wait until the first one is READY on the server. */
	ev_timer_init(&t, poll_cb, 0.01, 0.01);
	t.data = &a;
	while (p2p_n_ready(S.p2p) < 1 && !a.done)
		ev_run(S.loop, EVRUN_ONCE);
	run_script(&b);
	assert_true(has_line(&b, "ERROR We are already connected."));
	assert_true(b.closed);
	ev_timer_start(S.loop, &t);
	ev_run(S.loop, 0);
	ev_timer_stop(S.loop, &t);
	pthread_join(ta, NULL);
	assert_true(has_line(&a, "READY"));
	free_script(&a);
	free_script(&b);
	free((char *)a.hello);
	free((char *)b.hello);
}

static void test_tls_refusals(void **state)
{
	struct script sc = { .self_signed = true };
	struct script nc = { .no_cert = true };

	(void)state;
	sc.hello = hello_line(NULL, NULL, 0, false, 0);
	run_script(&sc);
	/* The server refuses a certificate that does not chain to the
	 * Hathor CA: no line ever arrives. */
	assert_int_equal(sc.n_lines, 0);
	free_script(&sc);
	nc.hello = hello_line(NULL, NULL, 0, false, 0);
	run_script(&nc);
	assert_int_equal(nc.n_lines, 0);
	free_script(&nc);
}

static void test_bad_lines(void **state)
{
	struct script u = { 0 }, l = { 0 }, b = { 0 };
	char *big = malloc(70001);

	(void)state;
	/* Unknown command: silent close (no ERROR). */
	u.extra = "FOO bar";
	run_script(&u);
	assert_true(u.closed);
	assert_false(has_prefix(&u, "ERROR"));
	free_script(&u);
	/* A 70 000-byte line: dropped. */
	memset(big, 'A', 70000);
	big[70000] = '\0';
	l.extra = big;
	run_script(&l);
	assert_true(l.closed);
	assert_false(has_prefix(&l, "ERROR"));
	free_script(&l);
	free(big);
	/* Invalid UTF-8: silent close. */
	b.extra = "HELLO \xff\xfe";
	run_script(&b);
	assert_true(b.closed);
	assert_false(has_prefix(&b, "ERROR"));
	free_script(&b);
}

/* Two engines: a client engine dials the server; both reach READY. */
static void test_engine_to_engine(void **state)
{
	struct memnode mn2;
	struct testenv te2;
	struct p2p *c;
	struct p2p_config cfg = { 0 };
	char err[256], addr[64];
	double end;

	(void)state;
	memnode_init(&mn2, S.loop, S.net);
	testenv_init(&te2, S.loop, &memnode_ops, &mn2, "[client]");
	te2.level = P2P_LOG_WARN;
	cfg.net = S.net;
	cfg.use_tls = true;
	assert_int_equal(p2p_new(&te2.env, &cfg, &c, err, sizeof(err)), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", S.port);
	assert_int_equal(p2p_add_peer(c, addr), 0);
	assert_int_equal(p2p_start(c), 0);
	end = ev_time() + 10;
	while ((p2p_n_ready(c) < 1 || p2p_n_ready(S.p2p) < 1) &&
	       ev_time() < end)
		ev_run(S.loop, EVRUN_ONCE);
	assert_int_equal(p2p_n_ready(c), 1);
	assert_int_equal(p2p_n_ready(S.p2p), 1);
	/* Both have the same (genesis) chain: both become synced. */
	end = ev_time() + 10;
	while ((!p2p_has_synced_peer(c) || !p2p_has_synced_peer(S.p2p)) &&
	       ev_time() < end)
		ev_run(S.loop, EVRUN_ONCE);
	assert_true(p2p_has_synced_peer(c));
	assert_true(p2p_has_synced_peer(S.p2p));
	{
		struct json_object *o;

		assert_int_equal(p2p_get_connections(S.p2p, &o), 0);
		assert_non_null(strstr(json_object_to_json_string_ext(o,
				       JSON_C_TO_STRING_PLAIN),
				       "\"state\":\"READY\""));
		json_object_put(o);
	}
	p2p_free(c);
	memnode_release(&mn2);
	assert_int_equal(te2.n_io, 0);
	assert_int_equal(te2.n_timers, 0);
	/* The server notices the close. */
	end = ev_time() + 5;
	while (p2p_n_ready(S.p2p) > 0 && ev_time() < end)
		ev_run(S.loop, EVRUN_ONCE);
	assert_int_equal(p2p_n_ready(S.p2p), 0);
}

static int setup(void **state)
{
	char err[256];

	(void)state;
	server_up();
	if (p2p_identity_open(NULL, 0, &client_id, err, sizeof(err)) < 0 ||
	    p2p_identity_open(NULL, 0, &other_id, err, sizeof(err)) < 0)
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	server_down();
	free(server_peer_id_line);
	p2p_identity_free(client_id);
	p2p_identity_free(other_id);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good_handshake),
		cmocka_unit_test(test_hello_refusals),
		cmocka_unit_test(test_peer_id_refusals),
		cmocka_unit_test(test_duplicate),
		cmocka_unit_test(test_tls_refusals),
		cmocka_unit_test(test_bad_lines),
		cmocka_unit_test(test_engine_to_engine),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
