/*
 * test_miner.c: hathor-miner's library (tools/tk_miner.c): template
 * parsing and block assembly, timestamp/weight planning, and whole runs
 * against a small HTTP API served from a real ledger in a thread
 * (get_block_template from hn_ledger_block_template, transaction,
 * submit_block through hn_ledger_add_vertex), over real sockets.
 */
#include <arpa/inet.h>
#include <json-c/json.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "daa.h"
#include "hn/b64.h"
#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"
#include "hn/vertex.h"
#include "ledger.h"
#include "tk.h"
#include "verify.h"

static char tmpdir[512];
/* The network of the next srv_start's ledger (NULL: unittests). */
static const struct hn_network *srv_net;

static const struct hn_network *unittests(void)
{
	const struct hn_network *net = hn_network_by_name("unittests");

	assert_non_null(net);
	return net;
}

/* A template as the reference's GetBlockTemplateResource writes it. */
static const char ref_template[] =
	"{\"timestamp\": 1572636400, \"version\": 0, \"weight\": 2.0, "
	"\"signal_bits\": 0, \"parents\": ["
	"\"2ebb3b8edcb72a7e46cc0efacfe1b109e2e9dd868a90fe0906968dc8fbbf6488\", "
	"\"16ba3dbe424c443e571b00840ca54b9ff4cff467e10b6a15536e718e2008f952\", "
	"\"33e14cb555a96967841dcbe0f95e9eab5810481d01de8f4f73afb8cce365e869\"],"
	" \"outputs\": [{\"value\": 6400, \"token_data\": 0, \"script\": "
	"\"dqkU0HvILW4NG7EWYUB2ZF6bh8jIO0GIrA==\"}], \"metadata\": {\"hash\": "
	"null, \"height\": 1, \"min_height\": 0, \"voided_by\": []}, "
	"\"tokens\": [], \"data\": \"\", \"token_amount_version\": 1}";

static void test_template_parse(void **state)
{
	const struct hn_network *net = unittests();
	struct hn_error err = { 0 };
	struct hn_vertex *b, *d;
	uint8_t gscript[25], *bytes;
	uint64_t h;
	size_t n;

	(void)state;
	assert_int_equal(tk_template_parse(ref_template, &b, &h, &err), 0);
	assert_int_equal(h, 1);
	assert_int_equal(b->version, HN_VTX_BLOCK);
	assert_int_equal(b->timestamp, 1572636400);
	assert_true(b->weight == 2.0);
	assert_memory_equal(b->parents[0], net->genesis_block.hash, 32);
	assert_memory_equal(b->parents[1], net->genesis_tx1.hash, 32);
	assert_memory_equal(b->parents[2], net->genesis_tx2.hash, 32);
	assert_int_equal(b->n_outputs, 1);
	assert_int_equal(b->outputs[0].value, 6400);
	assert_int_equal(hn_hex_decode(net->genesis_output_script_hex, gscript,
				       25, &n), 0);
	assert_int_equal(b->outputs[0].script_len, 25);
	assert_memory_equal(b->outputs[0].script, gscript, 25);
	assert_int_equal(b->data_len, 0);
	/* Mined, it is a block the codec reads back identically. */
	assert_int_equal(tk_mine(b, 0, NULL), 1);
	assert_int_equal(hn_vertex_encode(b, &bytes, &n), 0);
	assert_int_equal(hn_vertex_decode(bytes, n, &d, NULL, 0), 0);
	assert_memory_equal(d->hash, b->hash, 32);
	assert_true(hn_vertex_pow_ok(d));
	free(bytes);
	hn_vertex_free(d);
	hn_vertex_free(b);

	/* Refusals name the field. */
	assert_int_equal(tk_template_parse("[]", &b, &h, &err), HN_EPARSE);
	assert_int_equal(tk_template_parse("{\"version\": 1}", &b, &h, &err),
			 HN_EPARSE);
	assert_non_null(strstr(err.msg, "version"));
	{
		char bad[sizeof(ref_template)];
		char *p;

		strcpy(bad, ref_template);
		p = strstr(bad, "\"2ebb");
		p[1] = 'x';
		assert_int_equal(tk_template_parse(bad, &b, &h, &err),
				 HN_EPARSE);
		assert_non_null(strstr(err.msg, "parents"));
		strcpy(bad, ref_template);
		p = strstr(bad, "\"value\": 6400");
		memcpy(p + 9, "-640", 4);
		assert_int_equal(tk_template_parse(bad, &b, &h, &err),
				 HN_EPARSE);
		assert_non_null(strstr(err.msg, "value"));
	}
}

static void test_plan(void **state)
{
	const struct hn_network *net = unittests();
	struct hn_daa_block chain[64];
	uint32_t ts, now = 1700000000;
	double w;
	bool hist;

	(void)state;
	/* 41 ancestors 31 s apart at weight 2: the DAA stays at 2. */
	for (int i = 0; i < 41; i++) {
		chain[i].timestamp = 1572640000 - 31 * (uint32_t)i;
		chain[i].weight = 2;
	}
	assert_int_equal(tk_miner_plan(net, NULL, chain, 41, 100, 0, TK_MINE_AUTO,
				       0, now, &ts, &w, &hist), 0);
	assert_true(hist);
	assert_int_equal(ts, 1572640031);
	assert_true(w == 2.0);
	/* A tx parent newer than parent + spacing pushes the timestamp. */
	assert_int_equal(tk_miner_plan(net, NULL, chain, 41, 100, 1572640100,
				       TK_MINE_AUTO, 0, now, &ts, &w, &hist), 0);
	assert_int_equal(ts, 1572640101);
	/* Live on an old tip: clamped to parent + MAX_DISTANCE - 1. */
	assert_int_equal(tk_miner_plan(net, NULL, chain, 41, 100, 0, TK_MINE_LIVE,
				       0, now, &ts, &w, &hist), 0);
	assert_false(hist);
	assert_int_equal(ts, 1572640000 + net->max_distance_between_blocks - 1);
	/* Auto on a recent tip is live, at now. */
	assert_int_equal(tk_miner_plan(net, NULL, chain, 41, 100, 0, TK_MINE_AUTO,
				       0, 1572640010, &ts, &w, &hist), 0);
	assert_false(hist);
	assert_int_equal(ts, 1572640010);
	/* Blocks 5 s apart: the DAA weight rises above the minimum. */
	for (int i = 0; i < 41; i++)
		chain[i].timestamp = 1572640000 - 5 * (uint32_t)i;
	assert_int_equal(tk_miner_plan(net, NULL, chain, 41, 100, 0,
				       TK_MINE_HISTORIC, 5, now, &ts, &w,
				       &hist), 0);
	assert_true(w > 2.5);
	/* A tx parent past parent + MAX_DISTANCE: no valid timestamp. */
	assert_int_equal(tk_miner_plan(net, NULL, chain, 41, 100, 1572640000 + 4600,
				       TK_MINE_AUTO, 0, now, &ts, &w, &hist),
			 HN_ERANGE);
	/* Too short a window. */
	assert_int_equal(tk_miner_plan(net, NULL, chain, 3, 100, 0, TK_MINE_AUTO, 0,
				       now, &ts, &w, &hist), HN_EINVAL);
}

/* --- fake API over a real ledger --------------------------------------- */

struct srv {
	int fd;
	uint16_t port;
	struct hn_ledger *l;
	pthread_t th;
	volatile int stop;
	unsigned templates, submits, accepted, pushed;
	bool template_500;      /* answer get_block_template with 500 */
	uint32_t now;           /* the ledger's and templates' clock; 0: real */
};

static uint32_t srv_now(const struct srv *s)
{
	return s->now ? s->now : (uint32_t)time(NULL);
}

static double srv_clock(void *arg)
{
	return srv_now(arg);
}

static void reply(int c, int status, const char *body)
{
	char hdr[200];
	int n = snprintf(hdr, sizeof(hdr), "HTTP/1.1 %d X\r\nContent-Type: "
			 "application/json\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n", status, strlen(body));

	assert_int_equal(send(c, hdr, (size_t)n, MSG_NOSIGNAL), n);
	assert_int_equal(send(c, body, strlen(body), MSG_NOSIGNAL),
			 (ssize_t)strlen(body));
}

static char *template_json(struct srv *s, const char *query)
{
	const struct hn_network *net = hn_ledger_network(s->l);
	struct hn_block_template t;
	struct json_object *o = json_object_new_object(), *a, *out, *md;
	const char *addr = strstr(query, "address=");
	uint8_t script[25];
	char hex[65], *b64, *r, a40[41];
	struct tk_wallet w;
	size_t al;

	if (addr) {
		al = strcspn(addr + 8, " &");
		assert_true(al <= 40);
		memcpy(a40, addr + 8, al);
		a40[al] = 0;
		assert_int_equal(tk_address_to_script(net, a40, script), 0);
	} else {
		/* No address: the reference pays an empty script; the test
		 * key keeps the rewards spendable here. */
		assert_int_equal(tk_wallet_init(&w, net, tk_unittests_key), 0);
		memcpy(script, w.script, 25);
		tk_wallet_release(&w);
	}
	assert_int_equal(hn_ledger_block_template(s->l, srv_now(s), &t),
			 0);
	json_object_object_add(o, "timestamp",
			       json_object_new_int64(t.timestamp));
	json_object_object_add(o, "version", json_object_new_int(0));
	json_object_object_add(o, "weight", json_object_new_double(t.weight));
	json_object_object_add(o, "signal_bits",
			       json_object_new_int(t.signal_bits));
	a = json_object_new_array();
	for (int i = 0; i < 3; i++) {
		hn_hex_encode(t.parents[i], 32, hex);
		json_object_array_add(a, json_object_new_string(hex));
	}
	json_object_object_add(o, "parents", a);
	out = json_object_new_object();
	json_object_object_add(out, "value", json_object_new_int64(
				       (int64_t)t.reward));
	json_object_object_add(out, "token_data", json_object_new_int(0));
	b64 = hn_b64_encode(script, 25);
	json_object_object_add(out, "script", json_object_new_string(b64));
	free(b64);
	a = json_object_new_array();
	json_object_array_add(a, out);
	json_object_object_add(o, "outputs", a);
	json_object_object_add(o, "data", json_object_new_string(""));
	md = json_object_new_object();
	json_object_object_add(md, "height", json_object_new_int64(
				       (int64_t)t.height));
	json_object_object_add(o, "metadata", md);
	r = strdup(json_object_to_json_string(o));
	json_object_put(o);
	return r;
}

static char *tx_json(struct srv *s, const char *id, const char *key)
{
	struct hn_ledger_vertex lv;
	struct hn_vertex *v;
	struct json_object *o, *tx, *meta;
	uint8_t h[32];
	char *r;

	if (hn_hex_to_hash(id, h) < 0 ||
	    hn_ledger_get(s->l, h, HN_VMETA_ALL, &lv) < 0)
		return NULL;
	assert_int_equal(hn_vertex_decode(lv.bytes, lv.len, &v, NULL, 0), 0);
	assert_int_equal(hn_ledger_meta_to_json(s->l, &lv.meta, &meta), 0);
	hn_ledger_vertex_release(&lv);
	assert_int_equal(hn_vertex_to_json(v, &tx), 0);
	hn_vertex_free(v);
	o = json_object_new_object();
	json_object_object_add(o, "success", json_object_new_boolean(1));
	json_object_object_add(o, key, tx);
	json_object_object_add(o, "meta", meta);
	r = strdup(json_object_to_json_string(o));
	json_object_put(o);
	return r;
}

static char *submit_json(struct srv *s, const char *body)
{
	struct json_object *o = json_tokener_parse(body), *v;
	struct hn_ledger_result res;
	uint8_t *bytes;
	size_t n;
	int rc;
	char *r;

	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "hexdata", &v));
	n = strlen(json_object_get_string(v)) / 2;
	bytes = malloc(n);
	assert_int_equal(hn_hex_decode(json_object_get_string(v), bytes, n,
				       &n), 0);
	json_object_put(o);
	rc = hn_ledger_add_vertex(s->l, bytes, n, 0, &res);
	free(bytes);
	s->submits++;
	s->accepted += rc == 0;
	if (rc != 0)
		print_message("submit_block refused: %s\n", res.msg);
	r = strdup(rc == 0 ? "{\"result\": true}" : "{\"result\": false}");
	return r;
}

static char *push_json(struct srv *s, const char *body)
{
	struct json_object *o = json_tokener_parse(body), *v;
	struct hn_ledger_result res;
	uint8_t *bytes;
	size_t n;
	int rc;
	char *r;

	assert_non_null(o);
	assert_true(json_object_object_get_ex(o, "hex_tx", &v));
	n = strlen(json_object_get_string(v)) / 2;
	bytes = malloc(n);
	assert_int_equal(hn_hex_decode(json_object_get_string(v), bytes, n,
				       &n), 0);
	json_object_put(o);
	rc = hn_ledger_add_vertex(s->l, bytes, n,
				  HN_ADD_MEMPOOL | HN_ADD_PUSH_TX, &res);
	free(bytes);
	s->pushed += rc == 0;
	o = json_object_new_object();
	json_object_object_add(o, "success", json_object_new_boolean(rc == 0));
	json_object_object_add(o, "message", json_object_new_string(res.msg));
	r = strdup(json_object_to_json_string(o));
	json_object_put(o);
	return r;
}

static void *serve(void *arg)
{
	struct srv *s = arg;

	while (!s->stop) {
		char buf[65536], *hdr_end, *body, *resp = NULL;
		size_t len = 0;
		long cl = 0;
		int c = accept(s->fd, NULL, NULL);

		if (c < 0)
			break;
		for (;;) {
			ssize_t r = recv(c, buf + len, sizeof(buf) - 1 - len, 0);

			if (r <= 0)
				break;
			len += (size_t)r;
			buf[len] = 0;
			hdr_end = strstr(buf, "\r\n\r\n");
			if (hdr_end) {
				char *p = strcasestr(buf, "Content-Length:");

				cl = p ? strtol(p + 15, NULL, 10) : 0;
				if ((long)(len - (size_t)(hdr_end + 4 - buf)) >=
				    cl)
					break;
			}
		}
		buf[len] = 0;
		hdr_end = strstr(buf, "\r\n\r\n");
		body = hdr_end ? hdr_end + 4 : buf + len;
		if (!strncmp(buf, "GET /v1a/get_block_template", 27)) {
			s->templates++;
			if (s->template_500) {
				reply(c, 500, "{\"error\": \"x\"}");
				close(c);
				continue;
			}
			resp = template_json(s, buf + 28);
		} else if (!strncmp(buf, "GET /v1a/transaction?id=", 24)) {
			char id[65];

			memcpy(id, buf + 24, 64);
			id[64] = 0;
			resp = tx_json(s, id, "tx");
		} else if (!strncmp(buf, "GET /v1a/block_at_height?height=",
				    32)) {
			uint8_t h[32];
			char id[65];

			if (hn_ledger_block_at_height(s->l, strtoull(buf + 32,
					NULL, 10), h) == 0) {
				hn_hex_encode(h, 32, id);
				resp = tx_json(s, id, "block");
			}
		} else if (!strncmp(buf, "GET /v1a/tx_parents ", 20)) {
			uint8_t p[2][32];
			char a[65], b[65];

			assert_int_equal(hn_ledger_tx_parents(s->l, p), 0);
			hn_hex_encode(p[0], 32, a);
			hn_hex_encode(p[1], 32, b);
			resp = malloc(200);
			snprintf(resp, 200, "{\"success\": true, \"tx_parents\": "
				 "[\"%s\", \"%s\"]}", a, b);
		} else if (!strncmp(buf, "POST /v1a/push_tx ", 18)) {
			resp = push_json(s, body);
		} else if (!strncmp(buf, "POST /v1a/submit_block ", 23)) {
			resp = submit_json(s, body);
		}
		if (resp)
			reply(c, 200, resp);
		else
			reply(c, 404, "{\"success\": false}");
		free(resp);
		close(c);
	}
	return NULL;
}

static void srv_start_at(struct srv *s, const char *name, uint32_t now)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	socklen_t sl = sizeof(sa);
	struct hn_ledger_opts lo = { 0 };
	struct hn_error err = { 0 };
	char dir[700], db[720];

	memset(s, 0, sizeof(*s));
	s->now = now;
	snprintf(dir, sizeof(dir), "%s/%s", tmpdir, name);
	snprintf(db, sizeof(db), "%s/ledger.db", dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	lo.db_path = db;
	lo.net = srv_net ? srv_net : unittests();
	lo.create = true;
	lo.now = srv_clock;
	lo.now_arg = s;
	assert_int_equal(hn_ledger_open(&lo, &s->l, &err), 0);
	s->fd = socket(AF_INET, SOCK_STREAM, 0);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(s->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(s->fd, 16), 0);
	assert_int_equal(getsockname(s->fd, (struct sockaddr *)&sa, &sl), 0);
	s->port = ntohs(sa.sin_port);
	assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
}

static void srv_start(struct srv *s, const char *name)
{
	srv_start_at(s, name, 0);
}

static void srv_stop(struct srv *s, const char *name)
{
	static const char *const f[] = { "ledger.db", "ledger.db-wal",
		"ledger.db-shm" };
	char p[800];

	s->stop = 1;
	shutdown(s->fd, SHUT_RDWR);
	pthread_join(s->th, NULL);
	close(s->fd);
	hn_ledger_close(s->l);
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s/%s", tmpdir, name, f[i]);
		unlink(p);
	}
	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	rmdir(p);
}

static int run_miner_at(struct srv *s, uint64_t blocks,
			enum tk_miner_mode mode, uint32_t spacing, bool catch_up,
			uint32_t now, struct tk_miner_stats *st,
			struct hn_error *err)
{
	struct tk_miner_opts o = { 0 };
	char url[64];

	snprintf(url, sizeof(url), "http://127.0.0.1:%u", s->port);
	o.net = unittests();
	o.api = url;
	o.blocks = blocks;
	o.mode = mode;
	o.spacing = spacing;
	o.timeout_s = 10;
	o.quiet = true;
	o.catch_up = catch_up;
	o.now = now;
	return tk_miner_run(&o, st, err);
}

static int run_miner(struct srv *s, uint64_t blocks, enum tk_miner_mode mode,
		     uint32_t spacing, struct tk_miner_stats *st,
		     struct hn_error *err)
{
	return run_miner_at(s, blocks, mode, spacing, false, 0, st, err);
}

/* --catch-up: blocks MAX_DISTANCE - 1 apart until the tip is recent, then
 * the requested blocks; with the clock fixed 10.5 gaps after genesis. */
static void test_catch_up(void **state)
{
	const struct hn_network *net = unittests();
	uint32_t gap = net->max_distance_between_blocks - 1;
	uint32_t g = net->genesis_block.timestamp;
	uint32_t now = g + 10 * gap + gap / 2;
	struct tk_miner_stats st;
	struct hn_error err = { 0 };
	struct hn_block_info bi;
	struct srv s;
	uint8_t h[32];
	int rc;

	(void)state;
	srv_start(&s, "api2");
	rc = run_miner_at(&s, 2, TK_MINE_AUTO, 0, true, now, &st, &err);
	if (rc < 0)
		fail_msg("miner: %s", err.msg);
	assert_int_equal(st.caught_up, 10);
	assert_int_equal(st.mined, 12);
	assert_int_equal(hn_ledger_best_block(s.l, &bi), 0);
	assert_int_equal(bi.height, 12);
	/* Catch-up blocks are a gap apart, the last two 31 s. */
	for (uint64_t i = 1; i <= 12; i++) {
		struct hn_ledger_vertex lv;
		struct hn_vertex *v;

		assert_int_equal(hn_ledger_block_at_height(s.l, i, h), 0);
		assert_int_equal(hn_ledger_get(s.l, h, HN_VMETA_CORE, &lv), 0);
		assert_int_equal(hn_vertex_decode(lv.bytes, lv.len, &v, NULL,
						  0), 0);
		hn_ledger_vertex_release(&lv);
		assert_int_equal(v->timestamp, i <= 10 ? g + gap * i :
				 g + gap * 10 + 31 * (uint32_t)(i - 10));
		assert_true(v->weight == net->min_block_weight);
		hn_vertex_free(v);
	}
	/* Already recent: nothing to catch up. */
	rc = run_miner_at(&s, 1, TK_MINE_AUTO, 0, true, now, &st, &err);
	assert_int_equal(rc, 0);
	assert_int_equal(st.caught_up, 0);
	assert_int_equal(st.mined, 1);
	srv_stop(&s, "api2");
}

static void test_mine_against_api(void **state)
{
	const struct hn_network *net = unittests();
	struct tk_miner_stats st;
	struct hn_error err = { 0 };
	struct hn_block_info bi;
	struct srv s;
	uint8_t h[32];
	int rc;

	(void)state;
	srv_start(&s, "api1");
	/* Fresh unittests ledger: the tip (genesis, 2019) is old, so auto is
	 * historic: 40 blocks, 31 s apart, at the minimum weight. */
	rc = run_miner(&s, 40, TK_MINE_AUTO, 0, &st, &err);
	if (rc < 0)
		fail_msg("miner: %s", err.msg);
	assert_int_equal(st.mined, 40);
	assert_int_equal(st.historic, 40);
	assert_int_equal(st.rejected, 0);
	assert_int_equal(s.accepted, 40);
	assert_int_equal(hn_ledger_best_block(s.l, &bi), 0);
	assert_int_equal(bi.height, 40);
	assert_memory_equal(bi.hash, st.last_hash, 32);
	assert_int_equal(bi.timestamp, net->genesis_block.timestamp + 40 * 31);
	assert_true(bi.weight == net->min_block_weight);
	for (uint64_t i = 1; i <= 40; i++) {
		struct hn_ledger_vertex lv;
		struct hn_vertex *v;

		assert_int_equal(hn_ledger_block_at_height(s.l, i, h), 0);
		assert_int_equal(hn_ledger_get(s.l, h, HN_VMETA_CORE, &lv), 0);
		assert_int_equal(hn_vertex_decode(lv.bytes, lv.len, &v, NULL,
						  0), 0);
		hn_ledger_vertex_release(&lv);
		assert_int_equal(v->timestamp,
				 net->genesis_block.timestamp + 31 * i);
		assert_true(hn_vertex_pow_ok(v));
		hn_vertex_free(v);
	}
	/* Historic at 5 s: the DAA raises the weight, and the miner's local
	 * DAA window (extended block by block) follows it. */
	rc = run_miner(&s, 40, TK_MINE_HISTORIC, 5, &st, &err);
	if (rc < 0)
		fail_msg("miner: %s", err.msg);
	assert_int_equal(st.mined, 40);
	assert_int_equal(hn_ledger_best_block(s.l, &bi), 0);
	assert_int_equal(bi.height, 80);
	assert_true(bi.weight > 2.5);
	/* A new miner process starts with an empty window and fetches it. */
	rc = run_miner(&s, 2, TK_MINE_HISTORIC, 5, &st, &err);
	if (rc < 0)
		fail_msg("miner: %s", err.msg);
	assert_int_equal(hn_ledger_best_block(s.l, &bi), 0);
	assert_int_equal(bi.height, 82);
	/* The API failing is an error, not a hang. */
	s.template_500 = true;
	assert_int_equal(run_miner(&s, 1, TK_MINE_AUTO, 0, &st, &err),
			 HN_EPROTO);
	assert_non_null(strstr(err.msg, "HTTP 500"));
	srv_stop(&s, "api1");
	/* Nobody listening. */
	assert_int_equal(run_miner(&s, 1, TK_MINE_AUTO, 0, &st, &err), HN_EIO);
}

/* The weight of the block at @height (its DAA, V1 or V2, over its
 * stored ancestors) and its own weight. */
static void daa_of(struct srv *s, uint64_t height, bool v2, double *want,
		   double *got)
{
	const struct hn_network *net = hn_ledger_network(s->l);
	const struct hn_verify_ctx *ctx = hn_ledger_verify_ctx(s->l);
	size_t need = hn_daa_blocks_needed(net, height - 1);
	struct hn_daa_block *chain = calloc(need + 1, sizeof(*chain));
	struct hn_daa_config cfg;
	struct hn_ledger_vertex lv;
	struct hn_vertex *v;
	uint8_t h[32], p[32];

	assert_non_null(chain);
	assert_int_equal(hn_ledger_block_at_height(s->l, height, h), 0);
	assert_int_equal(hn_ledger_block_at_height(s->l, height - 1, p), 0);
	assert_int_equal(hn_ledger_get(s->l, h, HN_VMETA_CORE, &lv), 0);
	assert_int_equal(hn_vertex_decode(lv.bytes, lv.len, &v, NULL, 0), 0);
	hn_ledger_vertex_release(&lv);
	assert_int_equal(ctx->block_chain(ctx->arg, p, need, chain), 0);
	if (v2)
		hn_daa_config_v2(net, &cfg);
	else
		hn_daa_config_v1(net, &cfg);
	assert_int_equal(hn_daa_next_weight(net, &cfg, chain, need,
					    height - 1, v->timestamp, want),
			 0);
	*got = v->weight;
	hn_vertex_free(v);
	free(chain);
}

/* REDUCE_DAA_TARGET on the ledger (--test-features style: lock in on
 * timeout 8, so MUST_SIGNAL 8..11 with the template's bits, LOCKED_IN at
 * 12, ACTIVE at 16, V2 from block 17): historic blocks 5 s apart get the
 * V1 DAA's weight up to 16 and the V2 DAA's from 17 (the miner reads
 * which off the template's reward); then live templates at a clock 2 s
 * after the tip fit V2, so the miner never finds a template that fits
 * neither DAA (before: V1 only, a warning on every live template). */
static void test_daa_v2(void **state)
{
	static const struct hn_feature rdt[] = {
		{ .name = "REDUCE_DAA_TARGET", .bit = 0, .start_height = 4,
		  .timeout_height = 8, .lock_in_on_timeout = true,
		  .version = "0.0.0" },
	};
	struct hn_network net = *unittests();
	struct tk_miner_stats st;
	struct hn_error err = { 0 };
	struct hn_block_info bi;
	struct srv s;
	double want, got;
	int rc;

	(void)state;
	net.features = rdt;
	net.n_features = 1;
	srv_net = &net;
	srv_start(&s, "api4");
	srv_net = NULL;
	rc = run_miner(&s, 24, TK_MINE_HISTORIC, 5, &st, &err);
	if (rc < 0)
		fail_msg("miner: %s", err.msg);
	assert_int_equal(st.mined, 24);
	assert_int_equal(st.daa_unknown, 0);
	for (uint64_t i = 1; i <= 24; i++) {
		daa_of(&s, i, i >= 17, &want, &got);
		if (got != want)
			fail_msg("block %llu: weight %.10f, %s DAA %.10f",
				 (unsigned long long)i, got,
				 i >= 17 ? "V2" : "V1", want);
	}
	/* V2 really is lower there: the V1 weight would not do. */
	daa_of(&s, 24, false, &want, &got);
	assert_true(got < want - 0.1);
	/* Live, the clock just after the tip. */
	assert_int_equal(hn_ledger_best_block(s.l, &bi), 0);
	s.now = bi.timestamp + 2;
	rc = run_miner_at(&s, 3, TK_MINE_LIVE, 0, false, s.now, &st, &err);
	if (rc < 0)
		fail_msg("miner: %s", err.msg);
	assert_int_equal(st.mined, 3);
	assert_int_equal(st.daa_unknown, 0);
	for (uint64_t i = 25; i <= 27; i++) {
		daa_of(&s, i, true, &want, &got);
		assert_true(got == want);
	}
	srv_stop(&s, "api4");
}

/* Catch-up to a fixed "now", then signed txs through push_tx (a ledger
 * whose clock is that now, so the 36 h mempool age check applies), then a
 * block confirming them; the txs chain their change. */
static void test_txgen(void **state)
{
	const struct hn_network *net = unittests();
	uint32_t gap = net->max_distance_between_blocks - 1;
	uint32_t now = net->genesis_block.timestamp + 30 * gap + 100;
	struct tk_miner_stats st;
	struct tk_txgen_opts to = { 0 };
	struct tk_txgen_stats ts;
	struct hn_error err = { 0 };
	struct srv s;
	uint8_t best[32];
	char url[64], *buf = NULL;
	size_t blen = 0;
	FILE *out;
	int rc;

	(void)state;
	srv_start_at(&s, "api3", now);
	snprintf(url, sizeof(url), "http://127.0.0.1:%u", s.port);
	to.net = net;
	to.api = url;
	to.count = 3;
	to.now = now;
	to.timeout_s = 10;
	/* Only genesis: no matured reward yet. */
	assert_int_equal(tk_txgen_run(&to, &ts, &err), HN_ENOENT);
	rc = run_miner_at(&s, 12, TK_MINE_AUTO, 0, true, now, &st, &err);
	if (rc < 0)
		fail_msg("miner: %s", err.msg);
	assert_int_equal(st.caught_up, 30);
	out = open_memstream(&buf, &blen);
	to.out = out;
	rc = tk_txgen_run(&to, &ts, &err);
	fclose(out);
	if (rc < 0)
		fail_msg("txgen: %s", err.msg);
	assert_int_equal(ts.pushed, 3);
	assert_int_equal(s.pushed, 3);
	assert_int_equal(strlen(buf), 3 * 65);
	/* The newest matured reward: height 42 - 10 = 32. */
	assert_int_equal(hn_ledger_block_at_height(s.l, 32, best), 0);
	assert_memory_equal(ts.spent_block, best, 32);
	{
		struct hn_hash_list l = { 0 };

		assert_int_equal(hn_ledger_mempool(s.l, &l), 0);
		assert_int_equal(l.n, 3);
		hn_hash_list_release(&l);
	}
	/* Spent reward: the next run starts from another block. */
	to.count = 1;
	to.out = NULL;
	assert_int_equal(tk_txgen_run(&to, &ts, &err), 0);
	assert_memory_not_equal(ts.spent_block, best, 32);
	/* A block on top confirms them (its tx parents are the new txs). */
	s.now = now + 10;
	rc = run_miner_at(&s, 1, TK_MINE_AUTO, 0, false, now + 10, &st, &err);
	if (rc < 0)
		fail_msg("miner: %s", err.msg);
	{
		struct hn_hash_list l = { 0 };

		assert_int_equal(hn_ledger_mempool(s.l, &l), 0);
		assert_int_equal(l.n, 0);
		hn_hash_list_release(&l);
	}
	free(buf);
	srv_stop(&s, "api3");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_template_parse),
		cmocka_unit_test(test_plan),
		cmocka_unit_test(test_mine_against_api),
		cmocka_unit_test(test_catch_up),
		cmocka_unit_test(test_daa_v2),
		cmocka_unit_test(test_txgen),
	};
	size_t n;
	int rc;

	/* mkdtemp template: "tmp-" and six 'X'. */
	n = (size_t)snprintf(tmpdir, sizeof(tmpdir) - 6, "%s/tmp-",
			     HN_TEST_TMPDIR);
	memset(tmpdir + n, 'X', 6);
	tmpdir[n + 6] = 0;
	if (!mkdtemp(tmpdir))
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(tmpdir);
	return rc;
}
