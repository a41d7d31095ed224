/*
 * test_admin_ledger.c: "status" over the admin socket with the real ledger
 * module open on a fresh data dir (unittests network): the best block is
 * the genesis block at height 0 with the network's published hash, and
 * the vertex counts are the three genesis vertices.
 *
 * usage: test_admin_ledger HATHOR_ADMIN_BIN
 */
#include <fcntl.h>
#include <setjmp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <ev.h>
#include <json-c/json.h>

#include "admin.h"
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcomment"
#include "config.h"
#pragma GCC diagnostic pop
#include "daemon.h"
#include "ledger.h"

#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"

extern char **environ;
extern const struct hn_daemon_module hn_ledger_module;

static const char *admin_bin;
static int child_status;

static void child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
	child_status = w->rstatus;
	ev_child_stop(loop, w);
	ev_break(loop, EVBREAK_ALL);
}

static void t_status_with_ledger(void **state)
{
	struct ev_loop *loop = ev_default_loop(0);
	struct hn_config cfg = { 0 };
	struct hn_daemon d = { 0 };
	struct hn_error err = { 0 };
	posix_spawn_file_actions_t fa;
	struct json_object *o, *bb, *v;
	char dir[512], sock[600], out[600], buf[8192], hex[65];
	char *argv[6];
	ev_child cw;
	FILE *f;
	size_t n;
	pid_t pid;

	snprintf(dir, sizeof(dir), "%s/ledger-%d", HN_TEST_TMPDIR, getpid());
	assert_int_equal(mkdir(dir, 0700), 0);
	snprintf(sock, sizeof(sock), "%s/admin.ipc", dir);
	snprintf(out, sizeof(out), "%s/out", dir);
	cfg.network = (char *)"unittests";
	cfg.net = hn_network_by_name("unittests");
	assert_non_null(cfg.net);
	cfg.data_dir = dir;
	cfg.runtime_dir = dir;
	cfg.p2p_mode = HN_P2P_OFF;
	d.loop = loop;
	d.cfg = &cfg;
	d.net = cfg.net;
	d.start_mono = ev_now(loop);
	if (hn_ledger_module.open(&d, &err) < 0)
		fail_msg("ledger: %s", err.msg);
	if (hn_admin_module.open(&d, &err) < 0)
		fail_msg("admin: %s", err.msg);

	argv[0] = (char *)admin_bin;
	argv[1] = (char *)"-s";
	argv[2] = sock;
	argv[3] = (char *)"--json";
	argv[4] = (char *)"status";
	argv[5] = NULL;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, out,
					 O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_int_equal(posix_spawn(&pid, admin_bin, &fa, NULL, argv,
				     environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	ev_child_init(&cw, child_cb, pid, 0);
	ev_child_start(loop, &cw);
	ev_run(loop, 0);
	assert_true(WIFEXITED(child_status));
	assert_int_equal(WEXITSTATUS(child_status), 0);

	assert_non_null(f = fopen(out, "r"));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	print_message("%s", buf);
	assert_non_null(o = json_tokener_parse(buf));
	assert_true(json_object_object_get_ex(o, "best_block", &bb));
	assert_non_null(bb);
	assert_true(json_object_object_get_ex(bb, "height", &v));
	assert_int_equal(json_object_get_int64(v), 0);
	assert_true(json_object_object_get_ex(bb, "hash", &v));
	hn_hex_encode(cfg.net->genesis_block.hash, 32, hex);
	assert_string_equal(json_object_get_string(v), hex);
	assert_true(json_object_object_get_ex(o, "blocks", &v));
	assert_int_equal(json_object_get_int64(v), 1);
	assert_true(json_object_object_get_ex(o, "transactions", &v));
	assert_int_equal(json_object_get_int64(v), 2);
	json_object_put(o);

	hn_admin_module.stop(&d);
	hn_admin_module.close(&d);
	hn_ledger_module.close(&d);
	assert_null(d.ledger);
	unlink(out);
	snprintf(buf, sizeof(buf), "rm -rf '%s'", dir);
	assert_int_equal(system(buf), 0);
}

int main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_status_with_ledger),
	};

	if (argc != 2) {
		fprintf(stderr, "usage: %s HATHOR_ADMIN_BIN\n", argv[0]);
		return 2;
	}
	admin_bin = argv[1];
	return cmocka_run_group_tests(tests, NULL, NULL);
}
