/*
 * hathor-node entry point.  Kept thin: option parsing and the daemon live in
 * hn_core so that tests exercise the same code.
 */
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("hathor-node %s\n", HN_VERSION);
		return 0;
	}
	fprintf(stderr, "usage: hathor-node --version\n");
	return 2;
}
