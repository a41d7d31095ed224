/*
 * cli_verify.h: hathor-node verify-file (see cli_verify.c).
 */
#ifndef HN_CLI_VERIFY_H
#define HN_CLI_VERIFY_H

/* argv[1] is "verify-file".  Returns the exit code: 0 every vertex
 * passes, 1 one is rejected or undecodable (or I/O error), 2 usage. */
int hn_cli_verify_file(int argc, char **argv);

#endif /* HN_CLI_VERIFY_H */
