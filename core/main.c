/*
 * hathor-node entry point.  Kept thin: option parsing and the daemon live in
 * hn_core so that tests exercise the same code.
 *
 *   hathor-node [run] [options]      the daemon (foreground)
 *   hathor-node decode|genesis ...   offline tools (core/cli_tools.c)
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli_tools.h"
#include "config.h"
#include "daemon.h"

#include "hn/err.h"
#include "hn/log.h"

int main(int argc, char **argv)
{
	struct hn_config cfg;
	struct hn_daemon d;
	struct hn_error err = { 0 };
	int tool = hn_cli_tool_main(argc, argv); /* decode, genesis */
	int rc;

	if (tool >= 0)
		return tool;
	if (argc > 1 && strcmp(argv[1], "run") == 0) {
		argv[1] = argv[0];
		argv++;
		argc--;
	}
	rc = hn_config_load(&cfg, argc, argv, &err);
	if (rc < 0) {
		fprintf(stderr, "hathor-node: %s\n", err.msg);
		fprintf(stderr, "Try 'hathor-node --help' for the options.\n");
		return HN_EXIT_USAGE;
	}
	if (rc == HN_CONFIG_EXIT_OK) {
		hn_config_release(&cfg);
		return 0;
	}
	if (hn_log_setup(cfg.log_level, cfg.log_format, STDERR_FILENO) < 0) {
		fprintf(stderr, "hathor-node: bad log level or format\n");
		hn_config_release(&cfg);
		return HN_EXIT_USAGE;
	}
	if (hn_daemon_open(&d, &cfg, &err) < 0) {
		hn_err("daemon", "cannot start: %s", err.msg);
		hn_config_release(&cfg);
		/* A configuration it cannot use (a plugin that does not
		 * load): usage error. */
		return d.exit_code == HN_EXIT_USAGE ? HN_EXIT_USAGE : 1;
	}
	rc = hn_daemon_run(&d);
	hn_daemon_close(&d);
	hn_config_release(&cfg);
	return rc;
}
