/*
 * cli_tools.h: offline operator subcommands of hathor-node.
 *
 *   hathor-node decode [--network N] [--compact] <hex>|-
 *   hathor-node genesis [--network N] [--json]
 *
 * They touch no data directory and open no socket; output goes to stdout,
 * errors are one line on stderr.
 */
#ifndef HN_CLI_TOOLS_H
#define HN_CLI_TOOLS_H

/* Runs the tool named by @argv[1].  Returns -1 (nothing printed) when
 * @argc < 2 or @argv[1] is not a tool name, so the caller goes on with the
 * daemon; otherwise the tool's exit code: 0 success, 1 bad input (hex,
 * vertex bytes), 2 usage error. */
int hn_cli_tool_main(int argc, char **argv);

#endif /* HN_CLI_TOOLS_H */
