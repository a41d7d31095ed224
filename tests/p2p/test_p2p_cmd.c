/*
 * test_p2p_cmd.c: the core -> P2P commands (p2p_cmd.c) on two real
 * engines over loopback TLS: listen and peer discovery by command,
 * get_connections summaries, has_synced_peer, send_tx_to_peers reaching
 * the other node, disconnect_all_peers, reload, heartbeat, and the errors
 * for bad params and unknown methods.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <cmocka.h>
#include <ev.h>
#include <json-c/json.h>

#include "chaingen.h"
#include "hn/b64.h"
#include "hn/err.h"
#include "hn/network.h"
#include "memnode.h"
#include "p2p.h"
#include "p2p_cmd.h"
#include "testenv.h"
#include "tnode.h"

static struct ev_loop *loop;
static const struct hn_network *net;

/* Runs @method with @params_json; returns the result (caller puts) or
 * NULL, with *@rc set. */
static struct json_object *cmd(struct tnode *n, const char *method,
			       const char *params_json, int *rc_out)
{
	struct json_object *params = params_json ?
		json_tokener_parse(params_json) : NULL;
	struct json_object *res = NULL;
	char err[256] = "";
	int rc = p2p_command(n->p2p, method, params, &res, err, sizeof(err));

	if (rc_out)
		*rc_out = rc;
	else if (rc < 0)
		fprintf(stderr, "%s: %s\n", method, err);
	json_object_put(params);
	return res;
}

static void cmd_ok(struct tnode *n, const char *method, const char *params)
{
	int rc;
	struct json_object *r = cmd(n, method, params, &rc);

	assert_int_equal(rc, 0);
	assert_non_null(r);
	json_object_put(r);
}

static bool both_ready(void *arg)
{
	struct tnode **n = arg;

	return p2p_n_ready(n[0]->p2p) == 1 && p2p_n_ready(n[1]->p2p) == 1;
}

static bool both_synced(void *arg)
{
	struct tnode **n = arg;

	return p2p_has_synced_peer(n[0]->p2p) &&
	       p2p_has_synced_peer(n[1]->p2p);
}

static bool none_ready(void *arg)
{
	struct tnode **n = arg;

	return p2p_n_ready(n[0]->p2p) == 0 && p2p_n_ready(n[1]->p2p) == 0;
}

static void test_commands(void **state)
{
	struct tnode a, b;
	struct tnode *both[2] = { &a, &b };
	struct json_object *r, *v, *conns;
	struct chain c;
	uint8_t buf[256];
	char params[1024], *b64;
	struct tnode_has ha;
	size_t len;
	int rc;

	(void)state;
	tnode_new(&a, loop, net, "[A]", NULL);
	tnode_new(&b, loop, net, "[B]", NULL);
	/* Listen and dial by command, as the core would. */
	r = cmd(&a, "add_listen_address_description",
		"{\"address\":\"tcp:0:interface=127.0.0.1\"}", &rc);
	assert_int_equal(rc, 0);
	assert_true(json_object_object_get_ex(r, "port", &v));
	snprintf(params, sizeof(params), "{\"bootstrap\":[\"127.0.0.1:%d\"]}",
		 json_object_get_int(v));
	json_object_put(r);
	cmd_ok(&a, "start", NULL);
	r = cmd(&a, "heartbeat", NULL, NULL);
	assert_true(json_object_object_get_ex(r, "peer_id", &v));
	assert_string_equal(json_object_get_string(v), p2p_my_peer_id(a.p2p));
	json_object_put(r);
	cmd_ok(&b, "add_peer_discovery", params);
	cmd_ok(&b, "enable_sync_version", "{\"version\":\"v2\"}");
	cmd_ok(&b, "start", NULL);
	assert_true(tnode_run_until(loop, both_ready, both, 10));
	assert_true(tnode_run_until(loop, both_synced, both, 10));
	r = cmd(&b, "has_synced_peer", NULL, NULL);
	assert_true(json_object_object_get_ex(r, "has_synced_peer", &v));
	assert_true(json_object_get_boolean(v));
	json_object_put(r);

	/* get_connections: B sees A as a ready outbound peer. */
	r = cmd(&b, "get_connections", NULL, NULL);
	assert_true(json_object_object_get_ex(r, "connections", &conns));
	assert_true(json_object_object_get_ex(conns, "connected_peers", &v));
	assert_int_equal(json_object_array_length(v), 1);
	{
		struct json_object *peer = json_object_array_get_idx(v, 0), *x;

		assert_true(json_object_object_get_ex(peer, "id", &x));
		assert_string_equal(json_object_get_string(x),
				    p2p_my_peer_id(a.p2p));
		assert_true(json_object_object_get_ex(peer, "state", &x));
		assert_string_equal(json_object_get_string(x), "READY");
		assert_true(json_object_object_get_ex(peer, "plugins", &x));
	}
	json_object_put(r);

	/* send_tx_to_peers: a vertex accepted by A's node reaches B. */
	chain_init(&c, net);
	len = make_tx(buf, c.tx_a, c.tx_b, ha.h);
	assert_int_equal(memnode_add(&a.mn, buf, len), P2P_ADD_ACCEPTED);
	b64 = hn_b64_encode(buf, len);
	snprintf(params, sizeof(params), "{\"vertex\":\"%s\"}", b64);
	free(b64);
	cmd_ok(&a, "send_tx_to_peers", params);
	ha.n = &b;
	assert_true(tnode_run_until(loop, tnode_has, &ha, 10));

	/* Errors. */
	r = cmd(&a, "no_such_command", NULL, &rc);
	assert_null(r);
	assert_int_equal(rc, HN_ENOENT);
	r = cmd(&a, "send_tx_to_peers", "{\"vertex\":\"AAAA\"}", &rc);
	assert_null(r);
	assert_int_equal(rc, HN_EINVAL);
	r = cmd(&a, "send_tx_to_peers", "{}", &rc);
	assert_int_equal(rc, HN_EINVAL);
	r = cmd(&a, "enable_sync_version", "{\"version\":\"v1.1\"}", &rc);
	assert_int_equal(rc, HN_EINVAL);
	r = cmd(&a, "add_peer_discovery", "{\"bootstrap\":[\"nope\"]}", &rc);
	assert_int_equal(rc, HN_EINVAL);
	r = cmd(&a, "add_peer_discovery", "{\"dns\":\"\"}", &rc);
	assert_int_equal(rc, HN_EINVAL);
	r = cmd(&a, "add_listen_address_description", "{\"address\":\"x\"}",
		&rc);
	assert_int_equal(rc, HN_EINVAL);
	r = cmd(&a, "reload_entrypoints_and_connections",
		"{\"entrypoints\":[\"udp://1.2.3.4:1\"]}", &rc);
	assert_int_equal(rc, HN_EINVAL);
	r = cmd(&a, "start", "[1]", &rc);
	assert_int_equal(rc, HN_EINVAL);

	/* reload: new entrypoints, all connections killed; B redials (the
	 * reference's backoff starts at 5 s, so only the drop is checked). */
	cmd_ok(&a, "reload_entrypoints_and_connections",
	       "{\"entrypoints\":[\"tcp://127.0.0.1:40403\"]}");
	r = cmd(&a, "get_connections", NULL, NULL);
	assert_non_null(strstr(json_object_to_json_string(r),
			       "tcp:\\/\\/127.0.0.1:40403"));
	json_object_put(r);
	assert_true(tnode_run_until(loop, none_ready, both, 10));

	cmd_ok(&b, "disconnect_all_peers", "{\"force\":true}");
	cmd_ok(&b, "enable_localhost_only", NULL);
	cmd_ok(&b, "stop", NULL);
	cmd_ok(&a, "stop", NULL);
	tnode_down(&b);
	tnode_down(&a);
}

static bool c_has_two(void *arg)
{
	struct p2p *p = arg;

	return p2p_n_ready(p) == 2;
}

/* PEERS: C only knows A; A tells it about B (which announced an
 * entrypoint), and C, with discovery on, connects to B as well. */
static void test_discovery(void **state)
{
	struct tnode a, b, c;
	struct p2p_config cfg = { 0 };
	struct tnode *ab[2] = { &a, &b };
	char ep[64], addr[64];
	const char *eps[1] = { ep };
	uint16_t pa, pb;

	(void)state;
	tnode_new(&a, loop, net, "[A]", NULL);
	assert_int_equal(p2p_listen(a.p2p, "127.0.0.1", 0, &pa), 0);
	assert_int_equal(p2p_start(a.p2p), 0);
	/* B announces where it listens. */
	{
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in sa = { .sin_family = AF_INET };
		socklen_t sl = sizeof(sa);

		sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)),
				 0);
		assert_int_equal(listen(fd, 16), 0);
		getsockname(fd, (struct sockaddr *)&sa, &sl);
		pb = ntohs(sa.sin_port);
		snprintf(ep, sizeof(ep), "tcp://127.0.0.1:%u", pb);
		cfg.entrypoints = eps;
		cfg.n_entrypoints = 1;
		tnode_new(&b, loop, net, "[B]", &cfg);
		assert_int_equal(p2p_listen_fd(b.p2p, fd, true), 0);
	}
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", pa);
	assert_int_equal(p2p_add_peer(b.p2p, addr), 0);
	assert_int_equal(p2p_start(b.p2p), 0);
	assert_true(tnode_run_until(loop, both_ready, ab, 10));
	/* C: discovery on, only A configured. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.discover = true;
	tnode_new(&c, loop, net, "[C]", &cfg);
	assert_int_equal(p2p_add_peer(c.p2p, addr), 0);
	assert_int_equal(p2p_start(c.p2p), 0);
	assert_true(tnode_run_until(loop, c_has_two, c.p2p, 15));
	{
		struct json_object *r = cmd(&c, "get_connections", NULL, NULL);

		assert_non_null(strstr(json_object_to_json_string_ext(r,
				JSON_C_TO_STRING_PLAIN |
				JSON_C_TO_STRING_NOSLASHESCAPE),
				p2p_my_peer_id(b.p2p)));
		json_object_put(r);
	}
	tnode_down(&c);
	tnode_down(&b);
	tnode_down(&a);
}

/* --p2p-no-tls is for test networks: refused on mainnet. */
static void test_no_tls_mainnet(void **state)
{
	const struct hn_network *main_net = hn_network_by_name("mainnet");
	struct p2p_config cfg = { 0 };
	struct testenv te;
	struct memnode mn;
	struct p2p *p = NULL;
	char err[256] = "";

	(void)state;
	if (!main_net)
		skip();
	memnode_init(&mn, loop, main_net);
	testenv_init(&te, loop, &memnode_ops, &mn, "[mainnet]");
	cfg.net = main_net;
	cfg.use_tls = false;
	assert_int_equal(p2p_new(&te.env, &cfg, &p, err, sizeof(err)),
			 HN_EINVAL);
	assert_null(p);
	assert_non_null(strstr(err, "TLS cannot be turned off on mainnet"));
	memnode_release(&mn);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_commands),
		cmocka_unit_test(test_no_tls_mainnet),
		cmocka_unit_test(test_discovery),
	};

	net = hn_network_by_name("unittests");
	if (!net)
		return 1;
	loop = ev_loop_new(EVFLAG_AUTO);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
