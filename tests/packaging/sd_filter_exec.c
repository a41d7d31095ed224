/*
 * sd_filter_exec: runs a command under the seccomp filters systemd 252
 * installs for the unit's SystemCallFilter= with SystemCallErrorNumber=EPERM,
 * SystemCallArchitectures=native, MemoryDenyWriteExecute=yes and
 * RestrictAddressFamilies= (src/shared/seccomp-util.c), so that a test can
 * run the real node under them where no systemd runs (containers, CI).
 *
 *   sd_filter_exec SYSCALLS_FILE FAMILIES COMMAND [ARGS...]
 *
 * SYSCALLS_FILE: the allowed syscall names, one a line (the unit's filter
 * expanded by sd_syscalls.py); any other syscall fails with EPERM.  Names
 * this libseccomp does not know are skipped (systemd skips them too).
 * FAMILIES: the address families socket() may use, as numbers separated by
 * commas; any other fails with EAFNOSUPPORT.  MemoryDenyWriteExecute:
 * mmap with PROT_WRITE|PROT_EXEC, mprotect/pkey_mprotect adding PROT_EXEC
 * and shmat with SHM_EXEC fail with EPERM.  Like systemd, each is a filter
 * of its own (the kernel applies the strictest answer of all), loaded with
 * no_new_privs; syscalls of a foreign architecture kill the process.
 * The filters are inherited by everything COMMAND starts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/shm.h>
#include <unistd.h>

#include <seccomp.h>

static void die(const char *what, int rc)
{
	fprintf(stderr, "sd_filter_exec: %s: %s\n", what, strerror(-rc));
	exit(126);
}

static void load_allow_list(const char *path)
{
	scmp_filter_ctx c = seccomp_init(SCMP_ACT_ERRNO(EPERM));
	char line[256];
	unsigned n = 0, unknown = 0;
	FILE *f;
	int rc;

	if (!c)
		die("seccomp_init", -ENOMEM);
	if (!(f = fopen(path, "r"))) {
		fprintf(stderr, "sd_filter_exec: %s: %s\n", path,
			strerror(errno));
		exit(126);
	}
	while (fgets(line, sizeof(line), f)) {
		int nr;

		line[strcspn(line, " \t\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		nr = seccomp_syscall_resolve_name(line);
		if (nr == __NR_SCMP_ERROR) {
			unknown++;
			continue;
		}
		rc = seccomp_rule_add(c, SCMP_ACT_ALLOW, nr, 0);
		if (rc < 0 && rc != -EEXIST)
			die(line, rc);
		n++;
	}
	fclose(f);
	if (n == 0) {
		fprintf(stderr, "sd_filter_exec: %s: no syscalls\n", path);
		exit(126);
	}
	if ((rc = seccomp_load(c)) < 0)
		die("seccomp_load (allow list)", rc);
	seccomp_release(c);
	if (getenv("SD_FILTER_VERBOSE"))
		fprintf(stderr, "sd_filter_exec: %u syscalls allowed, %u names "
			"unknown here\n", n, unknown);
}

static void add(scmp_filter_ctx c, const char *name, int err,
		struct scmp_arg_cmp cmp)
{
	int nr = seccomp_syscall_resolve_name(name), rc;

	if (nr == __NR_SCMP_ERROR)
		return;
	rc = seccomp_rule_add(c, SCMP_ACT_ERRNO(err), nr, 1, cmp);
	if (rc < 0)
		die(name, rc);
}

/* seccomp_memory_deny_write_execute(). */
static void load_mdwe(void)
{
	scmp_filter_ctx c = seccomp_init(SCMP_ACT_ALLOW);
	int rc;

	if (!c)
		die("seccomp_init", -ENOMEM);
	add(c, "mmap", EPERM, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC | PROT_WRITE,
				      PROT_EXEC | PROT_WRITE));
	add(c, "mmap2", EPERM, SCMP_A2(SCMP_CMP_MASKED_EQ,
				       PROT_EXEC | PROT_WRITE,
				       PROT_EXEC | PROT_WRITE));
	add(c, "mprotect", EPERM, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC,
					  PROT_EXEC));
	add(c, "pkey_mprotect", EPERM, SCMP_A2(SCMP_CMP_MASKED_EQ, PROT_EXEC,
					       PROT_EXEC));
	add(c, "shmat", EPERM, SCMP_A2(SCMP_CMP_MASKED_EQ, SHM_EXEC,
				       SHM_EXEC));
	if ((rc = seccomp_load(c)) < 0)
		die("seccomp_load (MemoryDenyWriteExecute)", rc);
	seccomp_release(c);
}

/* seccomp_restrict_address_families() with an allow list. */
static void load_families(const char *list)
{
	scmp_filter_ctx c = seccomp_init(SCMP_ACT_ALLOW);
	int allowed[64] = { 0 }, f, rc;
	char *copy = strdup(list), *tok, *save = NULL;

	if (!c || !copy)
		die("seccomp_init", -ENOMEM);
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		f = atoi(tok);
		if (f <= 0 || f >= 64) {
			fprintf(stderr, "sd_filter_exec: bad family '%s'\n",
				tok);
			exit(126);
		}
		allowed[f] = 1;
	}
	free(copy);
	for (f = 0; f < 64; f++)
		if (!allowed[f])
			add(c, "socket", EAFNOSUPPORT,
			    SCMP_A0(SCMP_CMP_EQ, (scmp_datum_t)f, 0));
	add(c, "socket", EAFNOSUPPORT, SCMP_A0(SCMP_CMP_GE, 64, 0));
	if ((rc = seccomp_load(c)) < 0)
		die("seccomp_load (RestrictAddressFamilies)", rc);
	seccomp_release(c);
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: sd_filter_exec SYSCALLS_FILE FAMILIES "
			"COMMAND [ARGS...]\n");
		return 2;
	}
	/* Families and MDWE first: the allow list may not permit the
	 * prctl/seccomp calls that load the later filters. */
	load_families(argv[2]);
	load_mdwe();
	load_allow_list(argv[1]);
	execvp(argv[3], argv + 3);
	fprintf(stderr, "sd_filter_exec: %s: %s\n", argv[3], strerror(errno));
	return 127;
}
