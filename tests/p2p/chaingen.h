/*
 * chaingen.h: tiny chain generator for P2P tests: blocks and transactions
 * with weight 0 (any hash meets it), valid for the in-memory node service
 * (memnode.c), which checks only proof of work and dependencies.
 */
#ifndef P2P_CHAINGEN_H
#define P2P_CHAINGEN_H

#include <stddef.h>
#include <stdint.h>

struct memnode;
struct hn_network;

struct chain {
	const struct hn_network *net;
	uint8_t tip[32];        /* best block */
	uint8_t tx_a[32], tx_b[32];     /* two latest transactions */
};

extern uint32_t chaingen_ts;    /* next timestamp */

/* Encodes a block (1 output, 3 parents, data @tag) or a transaction (2
 * parents) into @buf (256 bytes) and returns its length; *@hash set. */
size_t make_block(uint8_t *buf, const uint8_t parent[32],
		  const uint8_t tx1[32], const uint8_t tx2[32], uint8_t tag,
		  uint8_t hash[32]);
size_t make_tx(uint8_t *buf, const uint8_t a[32], const uint8_t b[32],
	       uint8_t hash[32]);
/* Starts at @net's genesis. */
void chain_init(struct chain *c, const struct hn_network *net);
/* Adds one transaction / block on top of @c to @m (asserting acceptance). */
void add_tx(struct memnode *m, struct chain *c, uint8_t out[32]);
void add_block(struct memnode *m, struct chain *c, uint8_t tag,
	       uint8_t *bytes_out, size_t *len_out);
/* @blocks blocks of @txs_per_block transactions each, then @mempool
 * unconfirmed transactions. */
void build(struct memnode *m, struct chain *c, int blocks, int txs_per_block,
	   int mempool);

#endif /* P2P_CHAINGEN_H */
