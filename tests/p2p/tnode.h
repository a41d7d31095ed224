/*
 * tnode.h: one P2P engine on the in-memory node service (memnode.c) with
 * a testenv, for the engine tests (test_p2p_cmd, _dns, _hostile, _sync),
 * and the loop helpers they share.
 */
#ifndef P2P_TNODE_H
#define P2P_TNODE_H

#include <stdbool.h>
#include <stdint.h>

#include <ev.h>

#include "memnode.h"
#include "p2p.h"
#include "testenv.h"

struct hn_network;

struct tnode {
	struct memnode mn;
	struct testenv te;
	struct p2p *p2p;
	uint16_t port;          /* tnode_up with listen: the bound port */
	char name[16];          /* log prefix */
};

/* The memnode, the testenv (log prefix @name, level at most WARN) and the
 * engine with @cfg (NULL: defaults; net and TLS are set here), not
 * started.  Asserts on failure. */
void tnode_new(struct tnode *n, struct ev_loop *loop,
	       const struct hn_network *net, const char *name,
	       struct p2p_config *cfg);
/* tnode_new, listening on 127.0.0.1, any port (n->port) if @listen,
 * started. */
void tnode_up(struct tnode *n, struct ev_loop *loop,
	      const struct hn_network *net, const char *name,
	      struct p2p_config *cfg, bool listen);
/* Frees the engine and the memnode; asserts no watcher is left. */
void tnode_down(struct tnode *n);

/* Runs @loop until @cond(@arg) or @secs pass; returns @cond(@arg). */
bool tnode_run_until(struct ev_loop *loop, bool (*cond)(void *), void *arg,
		     double secs);

/* tnode_has's argument: @n's memnode holds @h. */
struct tnode_has {
	struct tnode *n;
	uint8_t h[32];
};
bool tnode_has(void *arg);

#endif /* P2P_TNODE_H */
