/*
 * test_host.c: contract tests between this process (playing the core:
 * node.ipc REP, events.ipc PUB, p2p.1.ipc REQ) and a real hathor-p2p-host
 * process running tests/host/plug_p2p.so, over real nng ipc sockets.
 *
 *  - p2p.ipc: hello rules, malformed JSON, wrong types, unknown method,
 *    oversize, then every command round trip;
 *  - node.ipc: the plugin fires every node-service method through the
 *    host's JSON-RPC bridge; this fake core answers with canned results
 *    and the plugin's view of each answer is checked;
 *  - events: in-order delivery, a gap filled by events_since, a reset
 *    after a lost tail reported as HATHOR_EV_RESYNC;
 *  - the host exits when the core's link goes, and when its parent dies
 *    (PR_SET_PDEATHSIG), within one second;
 *  - SIGTERM at any point of its start-up: a clean exit every time.
 *
 * argv[1]: hathor-p2p-host, argv[2]: plug_p2p.so.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>
#include <nng/nng.h>
#include <nng/protocol/pubsub0/pub.h>
#include <nng/protocol/reqrep0/req.h>

#include "hn/rpc_nng.h"

extern char **environ;

static const char *host_bin, *plugin_so;
static struct ev_loop *loop;
static char rundir[256];
static pid_t host_pid;
static struct hn_rpc_server *node;
static nng_socket p2p, pub;
static int next_id = 100;

#define HOST_MAX_MSG 65536

/* --- helpers ------------------------------------------------------------ */

static const char *hx(uint8_t x)
{
	static char buf[8][65];
	static int k;
	char *b = buf[k++ % 8];
	int i;

	for (i = 0; i < 32; i++)
		snprintf(b + 2 * i, 3, "%02x", x);
	return b;
}

static void timeout_cb(struct ev_loop *l, ev_timer *w, int revents)
{
	*(bool *)w->data = true;
}

static void run_for(double secs)
{
	ev_timer t;
	bool expired = false;

	ev_timer_init(&t, timeout_cb, secs, 0);
	t.data = &expired;
	ev_timer_start(loop, &t);
	while (!expired)
		ev_run(loop, EVRUN_ONCE);
	ev_timer_stop(loop, &t);
}

/* Sends raw @req on p2p.ipc and waits (running the loop, so the fake node
 * keeps answering) for the reply, copied to @out. */
static bool p2p_raw(const char *req, size_t len, char *out, size_t cap)
{
	nng_msg *m;
	int rv, i;

	nng_msg_alloc(&m, 0);
	nng_msg_append(m, req, len);
	/* Non-blocking: until the host's pipe exists, REQ cannot send, and
	 * the host needs this loop (fake node.ipc) to get there. */
	for (i = 0; (rv = nng_sendmsg(p2p, m, NNG_FLAG_NONBLOCK)) != 0; i++) {
		if (rv != NNG_EAGAIN || i == 1000) {
			nng_msg_free(m);
			return false;
		}
		run_for(0.01);
	}
	for (i = 0; i < 500; i++) {
		rv = nng_recvmsg(p2p, &m, NNG_FLAG_NONBLOCK);
		if (rv == 0) {
			snprintf(out, cap, "%.*s", (int)nng_msg_len(m),
				 (char *)nng_msg_body(m));
			nng_msg_free(m);
			return true;
		}
		run_for(0.01);
	}
	return false;
}

static bool p2p_cmd(const char *method, const char *params, char *out,
		    size_t cap)
{
	char req[4096];
	int n = snprintf(req, sizeof(req), "{\"jsonrpc\":\"2.0\",\"id\":%d,"
			 "\"method\":\"%s\",\"params\":%s}", next_id++, method,
			 params ? params : "{}");

	return p2p_raw(req, (size_t)n, out, cap);
}

/* --- the fake core's node.ipc ------------------------------------------- */

static char last_params[64][512];
static char last_names[64][64];
static int n_last;

static void remember(struct hn_rpc_call *c, struct json_object *p)
{
	const char *m = hn_rpc_call_method(c);
	int i;

	for (i = 0; i < n_last; i++)
		if (!strcmp(last_names[i], m))
			break;
	if (i == n_last) {
		if (n_last == 64)
			return;
		n_last++;
	}
	snprintf(last_names[i], sizeof(last_names[i]), "%s", m);
	snprintf(last_params[i], sizeof(last_params[i]), "%s",
		 json_object_to_json_string_ext(p, JSON_C_TO_STRING_PLAIN));
}

static const char *params_of(const char *m)
{
	int i;

	for (i = 0; i < n_last; i++)
		if (!strcmp(last_names[i], m))
			return last_params[i];
	return "";
}

static char *vinfo(uint8_t h, bool blk, int height)
{
	static char buf[4][512];
	static int k;
	char *b = buf[k++ % 4];

	snprintf(b, 512, "{\"found\":true,\"hash\":\"%s\",\"bytes\":\"AAEC\","
		 "\"is_block\":%s,\"voided\":false,\"fully_valid\":true,"
		 "\"height\":%d,%s\"first_block_height\":%d,\"timestamp\":1000,"
		 "\"weight\":21.5}", hx(h), blk ? "true" : "false", height,
		 blk ? "" : "\"first_block\":\"0404040404040404040404040404"
			    "040404040404040404040404040404040404\",",
		 blk ? -1 : 7);
	return b;
}

static void reply_text(struct hn_rpc_call *c, const char *json)
{
	struct json_object *o = json_tokener_parse(json);

	assert_non_null(o);
	hn_rpc_reply(c, o);
}

static char events_since_reply[4096];
static unsigned n_events_since;
static bool hold_calls;
static struct hn_rpc_call *held;

static void m_canned(void *arg, struct hn_rpc_call *c, struct json_object *p)
{
	const char *m = hn_rpc_call_method(c);
	char buf[8192];

	remember(c, p);
	if (hold_calls && !strcmp(m, "vertex_exists")) {
		held = c;
		return;
	}
	if (!strcmp(m, "on_new_vertex")) {
		snprintf(buf, sizeof(buf), "{\"results\":[{\"status\":"
			 "\"accepted\",\"code\":0,\"hash\":\"%s\",\"is_block\":"
			 "false,\"voided\":false,\"best_changed\":false,"
			 "\"height\":0}]}", hx(9));
	} else if (!strcmp(m, "on_new_vertices")) {
		snprintf(buf, sizeof(buf), "{\"results\":[{\"status\":"
			 "\"accepted\",\"code\":0,\"hash\":\"%s\",\"is_block\":"
			 "false,\"voided\":false,\"best_changed\":false,"
			 "\"height\":0},{\"status\":\"invalid\",\"code\":-1004,"
			 "\"hash\":\"%s\",\"is_block\":false,\"voided\":false,"
			 "\"best_changed\":false,\"height\":0,\"msg\":\"bad pow\"}"
			 "]}", hx(9), hx(8));
	} else if (!strcmp(m, "on_new_block")) {
		snprintf(buf, sizeof(buf), "{\"results\":[{\"status\":"
			 "\"accepted\",\"code\":0,\"hash\":\"%s\",\"is_block\":"
			 "true,\"voided\":false,\"best_changed\":true,"
			 "\"height\":7},{\"status\":\"known\",\"code\":0,"
			 "\"is_block\":false,\"voided\":false,\"best_changed\":"
			 "false,\"height\":0}]}", hx(8));
	} else if (!strcmp(m, "verify_basic")) {
		snprintf(buf, sizeof(buf), "{\"valid\":false,\"err\":-1004,"
			 "\"msg\":\"bad pow\",\"verr_code\":7}");
	} else if (!strcmp(m, "publish")) {
		snprintf(buf, sizeof(buf), "{}");
	} else if (!strcmp(m, "get_genesis")) {
		snprintf(buf, sizeof(buf), "%s", vinfo(2, false, -1));
	} else if (!strcmp(m, "get_vertex")) {
		if (!strstr(json_object_to_json_string(p), hx(1))) {
			hn_rpc_reply_app(c, HN_ENOENT, "vertex not found");
			return;
		}
		snprintf(buf, sizeof(buf), "%s", vinfo(1, true, 5));
	} else if (!strcmp(m, "get_block")) {
		snprintf(buf, sizeof(buf), "%s", vinfo(1, true, 5));
	} else if (!strcmp(m, "get_parent_block")) {
		snprintf(buf, sizeof(buf), "%s", vinfo(3, true, 4));
	} else if (!strcmp(m, "get_best_block")) {
		snprintf(buf, sizeof(buf), "%s", vinfo(4, true, 7));
	} else if (!strcmp(m, "get_latest_timestamp")) {
		snprintf(buf, sizeof(buf), "{\"timestamp\":2000}");
	} else if (!strcmp(m, "get_first_timestamp")) {
		snprintf(buf, sizeof(buf), "{\"timestamp\":1000}");
	} else if (!strcmp(m, "vertex_exists")) {
		snprintf(buf, sizeof(buf), "{\"exists\":true}");
	} else if (!strcmp(m, "partial_vertex_exists")) {
		snprintf(buf, sizeof(buf), "{\"exists\":false}");
	} else if (!strcmp(m, "can_validate_full")) {
		snprintf(buf, sizeof(buf), "{\"value\":true}");
	} else if (!strcmp(m, "compare_bytes_with_local_vertex")) {
		snprintf(buf, sizeof(buf), "{\"equal\":true}");
	} else if (!strcmp(m, "get_best_block_tips")) {
		snprintf(buf, sizeof(buf), "{\"hashes\":[\"%s\"]}", hx(4));
	} else if (!strcmp(m, "get_mempool_tips")) {
		snprintf(buf, sizeof(buf), "{\"hashes\":[\"%s\",\"%s\"]}",
			 hx(5), hx(6));
	} else if (!strcmp(m, "get_n_height_tips")) {
		snprintf(buf, sizeof(buf), "{\"tips\":[{\"height\":7,\"hash\":"
			 "\"%s\"},{\"height\":6,\"hash\":\"%s\"}]}", hx(4),
			 hx(3));
	} else if (!strcmp(m, "height_index_get")) {
		snprintf(buf, sizeof(buf), "{\"hash\":\"%s\"}", hx(0x33));
	} else if (!strcmp(m, "get_tx_tips")) {
		snprintf(buf, sizeof(buf), "{\"intervals\":[{\"begin\":10,"
			 "\"end\":null,\"hash\":\"%s\"}]}", hx(5));
	} else if (!strcmp(m, "get_merkle_tree")) {
		snprintf(buf, sizeof(buf), "{\"merkle\":\"%s\",\"hashes\":[\"%s\","
			 "\"%s\",\"%s\"]}", hx(0xaa), hx(4), hx(5), hx(6));
	} else if (!strcmp(m, "get_hashes_and_next_idx")) {
		snprintf(buf, sizeof(buf), "{\"hashes\":[\"%s\",\"%s\"],\"next\":"
			 "{\"ts\":1001,\"off\":1}}", hx(1), hx(2));
	} else if (!strcmp(m, "get_vertices")) {
		snprintf(buf, sizeof(buf), "{\"vertices\":[%s,{\"found\":false,"
			 "\"hash\":\"%s\"}]}", vinfo(1, true, 5), hx(2));
	} else if (!strcmp(m, "vertex_exists_many")) {
		snprintf(buf, sizeof(buf), "{\"exists\":[true,false]}");
	} else if (!strcmp(m, "partial_vertex_exists_many")) {
		snprintf(buf, sizeof(buf), "{\"exists\":[true,true]}");
	} else if (!strcmp(m, "height_index_get_many")) {
		snprintf(buf, sizeof(buf), "{\"hashes\":[\"%s\",null]}",
			 hx(0x33));
	} else if (!strcmp(m, "heartbeat")) {
		snprintf(buf, sizeof(buf), "{\"epoch\":\"00000000000000ab\","
			 "\"last_seq\":0}");
	} else if (!strcmp(m, "events_since")) {
		n_events_since++;
		snprintf(buf, sizeof(buf), "%s", events_since_reply);
	} else {
		hn_rpc_reply_app(c, HN_EUNSUPPORTED, "not in the fake");
		return;
	}
	reply_text(c, buf);
}

#define M(name) { name, m_canned }
static const struct hn_rpc_method node_methods[] = {
	M("on_new_vertex"), M("on_new_vertices"), M("on_new_block"),
	M("verify_basic"), M("publish"), M("get_genesis"), M("get_vertex"),
	M("get_block"), M("get_parent_block"), M("get_best_block"),
	M("get_latest_timestamp"), M("get_first_timestamp"),
	M("vertex_exists"), M("partial_vertex_exists"),
	M("can_validate_full"), M("compare_bytes_with_local_vertex"),
	M("get_best_block_tips"), M("get_n_height_tips"),
	M("height_index_get"), M("get_mempool_tips"), M("get_tx_tips"),
	M("get_merkle_tree"), M("get_hashes_and_next_idx"),
	M("get_vertices"), M("vertex_exists_many"),
	M("partial_vertex_exists_many"), M("height_index_get_many"),
	M("heartbeat"), M("events_since"),
};

static const char *const core_caps[] = { "node.v1", "events.v1", NULL };
static const char *const need_caps[] = { "node.v1", NULL };

static void core_open(void)
{
	struct hn_rpc_server_opts so = { 0 };
	struct hn_error err = { 0 };
	char url[320];
	nng_listener l;

	snprintf(url, sizeof(url), "ipc://%s/node.ipc", rundir);
	so.link.loop = loop;
	so.link.url = url;
	so.link.listen = true;
	so.link.max_msg = HOST_MAX_MSG;
	so.link.n_ctx = 16;
	so.link.check_uid = true;
	so.link.peer_uid = getuid();
	so.link.name = "fake-node";
	so.methods = node_methods;
	so.n_methods = sizeof(node_methods) / sizeof(node_methods[0]);
	so.role = "core";
	so.caps = core_caps;
	so.need_caps = need_caps;
	so.require_hello = true;
	assert_int_equal(hn_rpc_server_open(&so, &node, &err), 0);

	assert_int_equal(nng_pub0_open(&pub), 0);
	snprintf(url, sizeof(url), "ipc://%s/events.ipc", rundir);
	assert_int_equal(nng_listen(pub, url, &l, 0), 0);

	assert_int_equal(nng_req0_open(&p2p), 0);
	nng_socket_set_ms(p2p, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	snprintf(url, sizeof(url), "ipc://%s/p2p.1.ipc", rundir);
	assert_int_equal(nng_listen(p2p, url, &l, 0), 0);
}

static pid_t spawn_host(const char *extra_cfg)
{
	char ppid[32];
	const char *argv[16];
	int n = 0;
	pid_t pid;

	snprintf(ppid, sizeof(ppid), "%d", (int)getpid());
	argv[n++] = host_bin;
	argv[n++] = "--runtime-dir";
	argv[n++] = rundir;
	argv[n++] = "--gen";
	argv[n++] = "1";
	argv[n++] = "--plugin";
	argv[n++] = plugin_so;
	argv[n++] = "--parent-pid";
	argv[n++] = ppid;
	argv[n++] = "--max-msg";
	argv[n++] = "65536";
	if (extra_cfg) {
		argv[n++] = "--config";
		argv[n++] = extra_cfg;
	}
	argv[n] = NULL;
	assert_int_equal(posix_spawn(&pid, host_bin, NULL, NULL,
				     (char *const *)argv, environ), 0);
	return pid;
}

/* Waits for @pid to exit; returns its wait status or -1 after @secs. */
static int wait_exit(pid_t pid, double secs)
{
	double end = ev_time() + secs;
	int st;

	while (ev_time() < end) {
		pid_t r = waitpid(pid, &st, WNOHANG);

		if (r == pid)
			return st;
		run_for(0.01);
	}
	return -1;
}

static void send_pub(const char *json)
{
	assert_int_equal(nng_send(pub, (void *)json, strlen(json), 0), 0);
}

static int setup(void **state)
{
	char cwd[200];

	/* Not the default loop: that one reaps every child (SIGCHLD), and
	 * these tests waitpid() for the host themselves. */
	if (!loop)
		loop = ev_loop_new(EVFLAG_AUTO);
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(rundir, sizeof(rundir), "%s/hrtXXXXXX", cwd);
	assert_non_null(mkdtemp(rundir));
	chmod(rundir, 0700);
	core_open();
	host_pid = spawn_host(NULL);
	return 0;
}

static void core_close(void)
{
	hn_rpc_server_close(node);
	node = NULL;
	nng_close(pub);
	nng_close(p2p);
}

static int teardown(void **state)
{
	if (host_pid > 0) {
		kill(host_pid, SIGKILL);
		waitpid(host_pid, NULL, 0);
	}
	host_pid = 0;
	core_close();
	rmdir(rundir);
	return 0;
}

/* --- p2p.ipc ------------------------------------------------------------ */

static const char *HELLO = "{\"proto\":1,\"role\":\"core\",\"pid\":1,"
			   "\"caps\":[\"node.v1\",\"events.v1\"]}";

static void test_p2p_protocol(void **state)
{
	char out[65536], *big;
	size_t n;

	/* The host is up once it answers on p2p.ipc (plugin started). */
	assert_true(p2p_cmd("heartbeat", NULL, out, sizeof(out)));
	assert_non_null(strstr(out, "-32004"));         /* before hello */
	/* Malformed JSON: parse error, null id. */
	assert_true(p2p_raw("{\"jsonrpc\":\"2.0\",", 17, out, sizeof(out)));
	assert_non_null(strstr(out, "-32700"));
	assert_non_null(strstr(out, "\"id\":null"));
	/* Not a request. */
	assert_true(p2p_raw("[1,2,3]", 7, out, sizeof(out)));
	assert_non_null(strstr(out, "-32600"));
	/* Wrong protocol version. */
	assert_true(p2p_cmd("hello", "{\"proto\":2,\"role\":\"core\",\"pid\":1,"
			    "\"caps\":[]}", out, sizeof(out)));
	assert_non_null(strstr(out, "-32001"));
	assert_non_null(strstr(out, "protocol 2"));
	/* Oversize (limit 64 KiB): a defined answer, not a dropped link. */
	n = HOST_MAX_MSG + 1000;
	big = malloc(n);
	memset(big, ' ', n);
	memcpy(big, "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"stop\"}", 40);
	assert_true(p2p_raw(big, n, out, sizeof(out)));
	free(big);
	assert_non_null(strstr(out, "-32002"));
	/* Hello, then the gate opens. */
	assert_true(p2p_cmd("hello", HELLO, out, sizeof(out)));
	assert_non_null(strstr(out, "\"result\""));
	assert_non_null(strstr(out, "p2p.v1"));
	assert_non_null(strstr(out, "\"role\":\"p2p-host\""));
	/* Unknown method, wrong types, unknown params. */
	assert_true(p2p_cmd("no_such", NULL, out, sizeof(out)));
	assert_non_null(strstr(out, "-32601"));
	assert_true(p2p_cmd("send_tx_to_peers", "{\"bytes\":7}", out,
			    sizeof(out)));
	assert_non_null(strstr(out, "-32602"));
	assert_non_null(strstr(out, "params.bytes"));
	assert_true(p2p_cmd("disconnect_all_peers", "{\"force\":\"yes\"}", out,
			    sizeof(out)));
	assert_non_null(strstr(out, "-32602"));
	assert_true(p2p_cmd("stop", "{\"x\":1}", out, sizeof(out)));
	assert_non_null(strstr(out, "params.x: unknown"));
	assert_true(p2p_cmd("add_peer_discovery", "{\"peers\":[1]}", out,
			    sizeof(out)));
	assert_non_null(strstr(out, "params.peers[0]"));
	assert_true(p2p_cmd("start", "[]", out, sizeof(out)));
	assert_non_null(strstr(out, "-32602"));
}

static void expect_r(const char *out, const char *method, const char *want)
{
	char key[128];
	const char *p;

	snprintf(key, sizeof(key), "\"%s\":\"", method);
	p = strstr(out, key);
	if (!p || strncmp(p + strlen(key), want, strlen(want)) != 0) {
		print_error("%s: want '%s' in %s\n", method, want,
			    p ? p : "(missing)");
		fail();
	}
}

static void test_commands_and_node_calls(void **state)
{
	char out[65536];
	int i;

	assert_true(p2p_cmd("hello", HELLO, out, sizeof(out)));
	assert_true(p2p_cmd("start", NULL, out, sizeof(out)));
	assert_non_null(strstr(out, "\"result\":{}"));
	/* The plugin fired every node call at once; wait for all. */
	for (i = 0; i < 300; i++) {
		assert_true(p2p_cmd("get_connections", NULL, out, sizeof(out)));
		if (strstr(out, "\"in_flight\":0"))
			break;
		run_for(0.01);
	}
	assert_non_null(strstr(out, "\"done\":30,\"total\":30"));
	expect_r(out, "on_new_vertex", "rc=0 n=1 st=0 h=09 blk=0 best=0 ht=0");
	expect_r(out, "on_new_vertices", "rc=0 n=2 st=0 h=09 blk=0 best=0 "
		 "ht=0 last=3 msg=bad pow");
	expect_r(out, "on_new_block", "rc=0 n=2 st=0 h=08 blk=1 best=1 ht=7 "
		 "last=1");
	expect_r(out, "verify_basic", "rc=-1004 verr=7");
	expect_r(out, "publish", "rc=0");
	expect_r(out, "get_genesis", "rc=0 h=02 len=3 b2=2 blk=0 void=0 fv=1 "
		 "ht=-1 fb=1 fbh=7 ts=1000 w=21.5");
	expect_r(out, "get_vertex", "rc=0 h=01 len=3 b2=2 blk=1 void=0 fv=1 "
		 "ht=5 fb=0 fbh=-1 ts=1000 w=21.5");
	expect_r(out, "get_vertex_missing", "rc=-2 msg=vertex not found");
	expect_r(out, "get_block", "rc=0 h=01");
	expect_r(out, "get_parent_block", "rc=0 h=03");
	expect_r(out, "get_best_block", "rc=0 h=04");
	expect_r(out, "get_latest_timestamp", "rc=0 v=2000");
	expect_r(out, "get_first_timestamp", "rc=0 v=1000");
	expect_r(out, "vertex_exists", "rc=0 v=1");
	expect_r(out, "partial_vertex_exists", "rc=0 v=0");
	expect_r(out, "can_validate_full", "rc=0 v=1");
	expect_r(out, "compare_bytes_with_local_vertex", "rc=0 v=1");
	expect_r(out, "get_best_block_tips", "rc=0 n=1 h0=04");
	expect_r(out, "get_n_height_tips", "rc=0 n=2 ht0=7 h0=04");
	expect_r(out, "height_index_get", "rc=0 h=33");
	expect_r(out, "get_mempool_tips", "rc=0 n=2 h0=05");
	expect_r(out, "get_tx_tips", "rc=0 n=1 b0=10 open=1 h0=05");
	expect_r(out, "get_merkle_tree", "rc=0 m=aa n=3");
	expect_r(out, "get_hashes_and_next_idx", "rc=0 n=2 next=1 ts=1001 "
		 "off=1");
	expect_r(out, "get_vertices", "rc=0 n=2 f0=1 f1=0 len0=3");
	expect_r(out, "vertex_exists_many", "rc=0 n=2 v=10");
	expect_r(out, "partial_vertex_exists_many", "rc=0 n=2 v=11");
	expect_r(out, "height_index_get_many", "rc=0 n=2 f=10 h0=33");
	expect_r(out, "bad_n_height_tips", "refused=-34");
	expect_r(out, "bad_range", "refused=-34");
	/* What the core received, in the wire form of docs/ipc.md. */
	assert_non_null(strstr(params_of("on_new_vertex"),
			       "\"origin\":2,\"bytes\":\"CQk=\""));
	assert_non_null(strstr(params_of("on_new_vertices"),
			       "\"vertices\":[\"CQk=\",\"CAgI\"]"));
	assert_non_null(strstr(params_of("on_new_block"),
			       "\"block\":\"CAgI\",\"deps\":[\"CQk=\"]"));
	assert_non_null(strstr(params_of("publish"),
			       "\"key\":\"test.key\",\"json\":{\"a\":1}"));
	assert_non_null(strstr(params_of("get_tx_tips"), "\"timestamp\":1000"));
	assert_non_null(strstr(params_of("height_index_get_many"),
			       "\"heights\":[3,99]"));
	assert_non_null(strstr(params_of("get_hashes_and_next_idx"),
			       "\"from_ts\":1000,\"from_off\":0,\"count\":2"));

	/* Every p2p command. */
	assert_true(p2p_cmd("has_synced_peer", NULL, out, sizeof(out)));
	assert_non_null(strstr(out, "\"synced\":true"));
	assert_true(p2p_cmd("send_tx_to_peers", "{\"bytes\":\"CQk=\"}", out,
			    sizeof(out)));
	assert_non_null(strstr(out, "\"result\":{}"));
	assert_true(p2p_cmd("reload_entrypoints_and_connections",
			    "{\"entrypoints\":[\"tcp://a:1\"]}", out,
			    sizeof(out)));
	assert_true(p2p_cmd("enable_sync_version", "{\"version\":\"v2\"}", out,
			    sizeof(out)));
	assert_non_null(strstr(out, "\"result\":{}"));
	assert_true(p2p_cmd("enable_sync_version", "{\"version\":\"v3\"}", out,
			    sizeof(out)));
	assert_non_null(strstr(out, "-32000"));
	assert_non_null(strstr(out, "EUNSUPPORTED"));
	assert_non_null(strstr(out, "'v3' not supported"));
	assert_true(p2p_cmd("add_peer_discovery", "{\"peers\":[\"h:1\","
			    "\"h:2\"]}", out, sizeof(out)));
	assert_true(p2p_cmd("add_listen_address_description",
			    "{\"address\":\"tcp:40404\"}", out, sizeof(out)));
	assert_non_null(strstr(out, "\"port\":40404"));
	assert_true(p2p_cmd("enable_localhost_only", NULL, out, sizeof(out)));
	assert_true(p2p_cmd("disconnect_all_peers", "{\"force\":true}", out,
			    sizeof(out)));
	assert_true(p2p_cmd("heartbeat", NULL, out, sizeof(out)));
	assert_non_null(strstr(out, "\"ready_peers\":3"));
	assert_non_null(strstr(out, "\"peer_id\":\"abcd\""));
	assert_non_null(strstr(out, "\"plugin_loaded\":true"));
	assert_true(p2p_cmd("stop", NULL, out, sizeof(out)));
	assert_true(p2p_cmd("get_connections", NULL, out, sizeof(out)));
	assert_non_null(strstr(out, "\"ops\":\"start,has_synced_peer,send_tx_to_peers:2:9,"
			       "reload:1:tcp://a:1,enable_sync_version:v2,"
			       "discovery:2:h:1,listen:tcp:40404,"
			       "enable_localhost_only,disconnect:force,stop,"));
}

static void wait_events(const char *want)
{
	char out[65536];
	int i;

	for (i = 0; i < 200; i++) {
		assert_true(p2p_cmd("get_connections", NULL, out,
				    sizeof(out)));
		if (strstr(out, want))
			return;
		run_for(0.02);
	}
	print_error("events: want %s in %s\n", want, out);
	fail();
}

#define EV(seq) "{\"seq\":" #seq ",\"type\":\"best_block\",\"hash\":\"" \
	"0101010101010101010101010101010101010101010101010101010101010101" \
	"\",\"height\":" #seq "}"
#define PUBMSG(evs) "{\"jsonrpc\":\"2.0\",\"method\":\"events\",\"params\":" \
	"{\"epoch\":\"00000000000000ab\",\"events\":[" evs "]}}"

static void test_events(void **state)
{
	char out[4096];
	int i;

	assert_true(p2p_cmd("hello", HELLO, out, sizeof(out)));
	/* PUB/SUB slow joiner: repeat event 1 until the host has it. */
	for (i = 0; i < 100; i++) {
		send_pub(PUBMSG(EV(1)));
		assert_true(p2p_cmd("get_connections", NULL, out, sizeof(out)));
		if (strstr(out, "\"events\":\"1,\""))
			break;
		run_for(0.02);
	}
	send_pub(PUBMSG(EV(1) "," EV(2)));      /* 1 is a duplicate */
	wait_events("\"events\":\"1,2,\"");
	/* A gap: 3 never comes over PUB; the host asks events_since. */
	snprintf(events_since_reply, sizeof(events_since_reply),
		 "{\"epoch\":\"00000000000000ab\",\"last_seq\":4,\"reset\":false,"
		 "\"events\":[%s,%s]}", EV(3), EV(4));
	send_pub(PUBMSG(EV(4)));
	wait_events("\"events\":\"1,2,3,4,\"");
	assert_int_equal(n_events_since, 1);
	assert_non_null(strstr(params_of("events_since"), "\"after\":2"));
	/* The tail is lost and the ring moved on: a heartbeat shows it, the
	 * reset becomes HATHOR_EV_RESYNC. */
	snprintf(events_since_reply, sizeof(events_since_reply),
		 "{\"epoch\":\"00000000000000ab\",\"last_seq\":9,\"reset\":true,"
		 "\"events\":[]}");
	send_pub("{\"jsonrpc\":\"2.0\",\"method\":\"heartbeat\",\"params\":"
		 "{\"epoch\":\"00000000000000ab\",\"last_seq\":9}}");
	wait_events("\"events\":\"1,2,3,4,R,\"");
	send_pub(PUBMSG(EV(10)));
	wait_events("\"events\":\"1,2,3,4,R,10,\"");
	/* Garbage on the event stream is dropped, the host stays up. */
	send_pub("not json");
	send_pub(PUBMSG(EV(11)));
	wait_events("\"events\":\"1,2,3,4,R,10,11,\"");
}

static void test_node_link_loss(void **state)
{
	char out[4096];
	int st;

	assert_true(p2p_cmd("hello", HELLO, out, sizeof(out)));
	/* The core's node.ipc goes away: the host exits (status 1) fast. */
	hn_rpc_server_close(node);
	node = NULL;
	st = wait_exit(host_pid, 1.0);
	assert_true(st != -1);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 1);
	host_pid = 0;
}

static void test_sigterm_clean_exit(void **state)
{
	char out[4096];
	int st;

	assert_true(p2p_cmd("hello", HELLO, out, sizeof(out)));
	kill(host_pid, SIGTERM);
	st = wait_exit(host_pid, 2.0);
	assert_true(st != -1);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	host_pid = 0;
}

/* SIGTERM at any point of the start-up (hello, heartbeat, plugin start:
 * replies from this fake core on their way in): a clean exit (status 0)
 * in time, each of 40 times.  With nng 1.5.2 the host used to hang in
 * nng_close() when the stop caught a pipe between two reads of a reply
 * (then SIGKILL after the supervisor's grace; test_sup
 * test_stop_while_starting under load), or panic in nng_fini(). */
static void test_sigterm_during_startup(void **state)
{
	int st, k;

	for (k = 0; k < 40; k++) {
		if (k > 0)
			host_pid = spawn_host(NULL);
		run_for(0.0005 * (k % 20));
		kill(host_pid, SIGTERM);
		st = wait_exit(host_pid, 3.0);
		if (st == -1)
			print_error("round %d: host %d did not exit in 3 s\n", k,
				    (int)host_pid);
		assert_true(st != -1);
		/* Before its handler is installed SIGTERM kills it. */
		if (WIFSIGNALED(st)) {
			assert_int_equal(WTERMSIG(st), SIGTERM);
		} else {
			assert_true(WIFEXITED(st));
			assert_int_equal(WEXITSTATUS(st), 0);
		}
		host_pid = 0;
	}
}

/* A host whose parent dies: PR_SET_PDEATHSIG ends it.  The parent is a
 * shell that spawns the host in the background and then waits; killing
 * the shell with SIGKILL must end the host within a second. */
static void test_parent_death(void **state)
{
	char cmd[2048], pidbuf[32] = "";
	const char *argv[4];
	int fd[2], i;
	pid_t sh, hp;
	ssize_t n;
	posix_spawn_file_actions_t fa;

	assert_int_equal(pipe(fd), 0);
	snprintf(cmd, sizeof(cmd), "%s --runtime-dir %s --gen 1 --plugin %s "
		 "--parent-pid $$ & echo $! >&%d; exec 1>&-; wait",
		 host_bin, rundir, plugin_so, 9);
	argv[0] = "/bin/sh";
	argv[1] = "-c";
	argv[2] = cmd;
	argv[3] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fd[1], 9);
	assert_int_equal(posix_spawn(&sh, "/bin/sh", &fa, NULL,
				     (char *const *)argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	close(fd[1]);
	n = read(fd[0], pidbuf, sizeof(pidbuf) - 1);
	close(fd[0]);
	assert_true(n > 0);
	hp = (pid_t)atoi(pidbuf);
	assert_true(hp > 0);
	run_for(0.3);
	assert_int_equal(kill(hp, 0), 0);       /* running */
	kill(sh, SIGKILL);
	waitpid(sh, NULL, 0);
	for (i = 0; i < 100; i++) {
		char path[64], st[256] = "";
		FILE *f;

		snprintf(path, sizeof(path), "/proc/%d/stat", (int)hp);
		f = fopen(path, "r");
		if (!f)
			break;                  /* gone and reaped */
		if (!fgets(st, sizeof(st), f))
			st[0] = 0;
		fclose(f);
		if (strstr(st, ") Z "))
			break;                  /* gone, zombie */
		run_for(0.01);
	}
	assert_true(i < 100);   /* within one second */
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_p2p_protocol, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_commands_and_node_calls,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_node_link_loss, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_clean_exit, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sigterm_during_startup,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_parent_death, setup,
						teardown),
	};
	int rc;

	if (argc < 3) {
		fprintf(stderr, "usage: test_host HOST_BIN PLUGIN_SO\n");
		return 2;
	}
	host_bin = argv[1];
	plugin_so = argv[2];
	signal(SIGPIPE, SIG_IGN);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	nng_fini();
	return rc;
}
