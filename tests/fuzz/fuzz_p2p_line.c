/*
 * fuzz_p2p_line.c: fuzzes the P2P line protocol as a peer would: the input
 * bytes are written into a real socket whose other end is an engine
 * connection (TLS off), which frames, parses and handles them with the
 * in-memory node service behind it.
 *
 * The first input byte picks the starting state: even = HELLO (handshake
 * handlers), odd = READY (sync-v2 and control handlers, sync enabled).
 * Rejecting input is fine; crashing, leaking or hanging is not.
 *
 * Built with -fsanitize=fuzzer (HN_FUZZ) this is a libFuzzer target;
 * otherwise HN_FUZZ_REPLAY gives it a main() that replays the built-in
 * seeds and every file given on the command line (files or directories).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ev.h>

#include "hn/network.h"
#include "memnode.h"
#include "p2p.h"
#include "p2p_int.h"
#include "testenv.h"

#define FUZZ_MAX_INPUT (256 * 1024)

static struct {
	struct ev_loop *loop;
	struct memnode mn;
	struct testenv te;
	struct p2p *p2p;
} F;

static void setup_once(void)
{
	struct p2p_config cfg = { 0 };
	char err[256];

	if (F.p2p)
		return;
	cfg.net = hn_network_by_name("unittests");
	if (!cfg.net)
		abort();
	cfg.use_tls = false;
	F.loop = ev_loop_new(EVFLAG_AUTO);
	memnode_init(&F.mn, F.loop, cfg.net);
	testenv_init(&F.te, F.loop, &memnode_ops, &F.mn, "[fuzz]");
	F.te.level = getenv("FUZZ_LOG") ? P2P_LOG_DEBUG : P2P_LOG_ERROR;
	if (p2p_new(&F.te.env, &cfg, &F.p2p, err, sizeof(err)) < 0) {
		fprintf(stderr, "p2p_new: %s\n", err);
		abort();
	}
	p2p_start(F.p2p);
}

static void drain(int fd)
{
	char buf[65536];

	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct p2p_conn *c;
	int fds[2], i, big = 4 * 1024 * 1024;
	size_t off = 1;
	bool ready;

	if (size < 1 || size > FUZZ_MAX_INPUT)
		return 0;
	setup_once();
	ready = data[0] & 1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
		       fds) < 0)
		abort();
	setsockopt(fds[1], SOL_SOCKET, SO_SNDBUF, &big, sizeof(big));
	setsockopt(fds[0], SOL_SOCKET, SO_RCVBUF, &big, sizeof(big));
	c = p2p_conn_new(F.p2p, fds[0], true, NULL, 0, NULL, false);
	if (!c)
		abort();
	p2p_conn_ref(c);
	if (ready && !p2p_conn_dead(c)) {
		c->state = P2P_CONN_READY;
		c->caps = P2P_MY_CAPS;
		c->have_peer = true;
		c->sync = p2p_sync_new(c);
		p2p_sync_enable(c->sync, true);
		p2p_sync_start(c->sync);
	}
	/* Feed everything, then EOF; keep reading what the engine says. */
	for (i = 0; i < 20000 && !p2p_conn_dead(c); i++) {
		if (off < size) {
			ssize_t w = write(fds[1], data + off, size - off);

			if (w > 0)
				off += (size_t)w;
			if (off == size)
				shutdown(fds[1], SHUT_WR);
		} else if (off == size && size == 1) {
			shutdown(fds[1], SHUT_WR);
			off++;
		}
		ev_run(F.loop, EVRUN_NOWAIT);
		drain(fds[1]);
	}
	if (!p2p_conn_dead(c))
		p2p_conn_close(c, true, "fuzz input done");
	/* Let pending node answers find the closed connection. */
	for (i = 0; i < 50; i++)
		ev_run(F.loop, EVRUN_NOWAIT);
	p2p_conn_unref(c);
	close(fds[1]);
	return 0;
}

#ifdef HN_FUZZ_REPLAY
static const char *const seeds[] = {
	"\x00HELLO {\"app\":\"x\",\"network\":\"unittests\",\"remote_address\":"
	"\"a\",\"genesis_short_hash\":\"f188691\",\"timestamp\":1e18,"
	"\"capabilities\":[\"sync-version\"],\"sync_versions\":[\"v2\"]}\r\n",
	"\x00READY\r\nHELLO {}\r\n",
	"\x00\xff\xfe\r\n",
	"\x01GET-BEST-BLOCK\r\nGET-TIPS\r\nGET-PEER-BLOCK-HASHES [0, 1, 2]"
	"\r\nGET-BEST-BLOCKCHAIN 10\r\n",
	"\x01GET-NEXT-BLOCKS {\"start_hash\": \"2ebb3b8edcb72a7e46cc0efacfe1b1"
	"09e2e9dd868a90fe0906968dc8fbbf6488\", \"end_hash\": \"2ebb3b8edcb72a"
	"7e46cc0efacfe1b109e2e9dd868a90fe0906968dc8fbbf6488\", \"quantity\": "
	"1}\r\nSTOP-BLOCK-STREAMING\r\n",
	"\x01GET-TRANSACTIONS-BFS {\"start_from\": [], \"first_block_hash\": "
	"\"2ebb3b8edcb72a7e46cc0efacfe1b109e2e9dd868a90fe0906968dc8fbbf6488\","
	" \"last_block_hash\": \"2ebb3b8edcb72a7e46cc0efacfe1b109e2e9dd868a90"
	"fe0906968dc8fbbf6488\"}\r\n",
	"\x01" "BEST-BLOCK {\"block\": \"000016dcd0be6f41691a2b719abd57e6911783b4"
	"7c59c296e7dbd0704ebaaa12\", \"height\": 17}\r\nPEER-BLOCK-HASHES "
	"[[0, \"2ebb3b8edcb72a7e46cc0efacfe1b109e2e9dd868a90fe0906968dc8fbbf6"
	"488\"]]\r\nBLOCKS AAAB////6LeJGAAAABl2qRTQe8gtbg0bsRZhQHZkXpuHyMg7QY"
	"isQAAAAAAAAABdvIa3AAAAAAAAAAAAAAAAAAAAAAAF\r\nBLOCKS-END 0\r\n",
	"\x01RELAY true\r\nDATA AAEAAABAAAAAAAAAAF28hrgAAAAABg==\r\nDATA mempool "
	"AAEAAABAAAAAAAAAAF28hrgAAAAABg==\r\nTIPS [\"ab\"]\r\nTIPS-END\r\n",
	"\x01GET-DATA {\"txid\": \"16ba3dbe424c443e571b00840ca54b9ff4cff467e10"
	"b6a15536e718e2008f952\", \"origin\": \"mempool\"}\r\nPING x\r\n"
	"PONG y\r\nGET-PEERS\r\nPEERS [{\"id\": \"00\", \"entrypoints\": []}]"
	"\r\n",
	"\x01TRANSACTION AAEAAABAAAAAAAAAAF28hrgAAAAABg==\r\nTRANSACTIONS-END "
	"2\r\nNOT-FOUND 00\r\n",
};

static void run_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (!f)
		return;
	buf = malloc(FUZZ_MAX_INPUT + 1);
	n = fread(buf, 1, FUZZ_MAX_INPUT + 1, f);
	fclose(f);
	LLVMFuzzerTestOneInput(buf, n);
	free(buf);
}

static void run_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *e;

	if (stat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		run_file(path);
		return;
	}
	d = opendir(path);
	while (d && (e = readdir(d))) {
		char p[4096];

		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", path, e->d_name);
		run_file(p);
	}
	if (d)
		closedir(d);
}

int main(int argc, char **argv)
{
	size_t i;
	int k;

	for (i = 0; i < sizeof(seeds) / sizeof(seeds[0]); i++)
		LLVMFuzzerTestOneInput((const uint8_t *)seeds[i],
				       strlen(seeds[i] + 1) + 1);
	/* A 70 000-byte line, in both states. */
	{
		uint8_t *big = malloc(70002);

		memset(big, 'A', 70002);
		for (k = 0; k < 2; k++) {
			big[0] = (uint8_t)k;
			LLVMFuzzerTestOneInput(big, 70002);
		}
		free(big);
	}
	for (k = 1; k < argc; k++)
		run_path(argv[k]);
	p2p_free(F.p2p);
	memnode_release(&F.mn);
	if (F.te.n_io || F.te.n_timers) {
		fprintf(stderr, "leaked %d io watchers, %d timers\n",
			F.te.n_io, F.te.n_timers);
		return 1;
	}
	ev_loop_destroy(F.loop);
	printf("replayed %zu seeds and %d paths\n",
	       sizeof(seeds) / sizeof(seeds[0]) + 2, argc - 1);
	return 0;
}
#endif
