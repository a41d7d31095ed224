/*
 * memnode.h: in-memory node service for tests and the interop harness
 * (memnode.c says what it does and does not check).
 */
#ifndef P2P_MEMNODE_H
#define P2P_MEMNODE_H

#include <ev.h>
#include <stdbool.h>

#include "p2p_env.h"
#include "p2p_util.h"
#include "testenv.h"

struct hn_network;
struct job;

struct memnode {
	struct ev_loop *loop;
	const struct hn_network *net;
	struct p2p_hmap map;    /* hash -> struct mn_vertex */
	uint8_t (*chain)[32];   /* best chain by height */
	size_t chain_len, chain_cap;
	size_t seq;
	bool sync;              /* answer inside the call */
	bool defer;             /* a call made while answering is answered
				 * on a later loop turn, as over IPC */
	struct job *jobs, *jobs_tail;
	ev_timer timer;
	bool timer_init;
	unsigned long n_calls, n_added;
	/* Called for each vertex accepted through add_vertices. */
	void (*on_accept)(void *arg, const uint8_t *bytes, size_t len);
	void *on_accept_arg;
};

extern const struct p2p_node_ops memnode_ops;

/* The testenv's node_ctx must point to @m. */
int memnode_init(struct memnode *m, struct ev_loop *loop,
		 const struct hn_network *net);
void memnode_release(struct memnode *m);
/* Adds a vertex directly; returns enum p2p_add_result. */
int memnode_add(struct memnode *m, const uint8_t *bytes, size_t len);
void memnode_best(struct memnode *m, uint64_t *height, uint8_t hash[32]);
size_t memnode_count(struct memnode *m);
size_t memnode_mempool(struct memnode *m);
/* Calls @fn for every non-genesis vertex in arrival order. */
void memnode_foreach(struct memnode *m,
		     void (*fn)(void *arg, const uint8_t *bytes, size_t len),
		     void *arg);
bool memnode_has(struct memnode *m, const uint8_t hash[32]);

#endif /* P2P_MEMNODE_H */
