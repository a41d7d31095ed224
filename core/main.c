/*
 * hathor-node entry point.  Kept thin: option parsing and the daemon live in
 * hn_core so that tests exercise the same code.
 */
#include <stdio.h>
#include <string.h>

#include "cli_tools.h"

int main(int argc, char **argv)
{
	int tool = hn_cli_tool_main(argc, argv); /* decode, genesis */

	if (tool >= 0)
		return tool;
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("hathor-node %s\n", HN_VERSION);
		return 0;
	}
	fprintf(stderr, "usage: hathor-node --version\n");
	return 2;
}
