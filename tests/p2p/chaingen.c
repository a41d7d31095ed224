/*
 * chaingen.c: chain generator for P2P tests (see chaingen.h).
 */
#include "chaingen.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include <cmocka.h>

#include "hn/network.h"
#include "hn/vertex.h"
#include "memnode.h"


uint32_t chaingen_ts;
static uint32_t nonce_seq;

static void put32(uint8_t **p, uint32_t v)
{
	(*p)[0] = v >> 24;
	(*p)[1] = v >> 16;
	(*p)[2] = v >> 8;
	(*p)[3] = v;
	*p += 4;
}

/* Weight 0.0 (every hash meets it), one 6400 output, 3 parents. */
size_t make_block(uint8_t *buf, const uint8_t parent[32],
			 const uint8_t tx1[32], const uint8_t tx2[32],
			 uint8_t tag, uint8_t hash[32])
{
	uint8_t *p = buf;
	struct hn_vertex_graph g;

	*p++ = 0;               /* signal bits */
	*p++ = 0;               /* version: block */
	*p++ = 1;               /* outputs */
	put32(&p, 6400);
	*p++ = 0;               /* token data */
	*p++ = 0;
	*p++ = 25;              /* script len */
	memset(p, 0x76, 25);
	p += 25;
	memset(p, 0, 8);        /* weight 0.0 */
	p += 8;
	put32(&p, chaingen_ts++);
	*p++ = 3;
	memcpy(p, parent, 32);
	memcpy(p + 32, tx1, 32);
	memcpy(p + 64, tx2, 32);
	p += 96;
	*p++ = 1;               /* data */
	*p++ = tag;
	memset(p, 0, 12);
	p += 12;
	put32(&p, nonce_seq++);
	assert_int_equal(hn_vertex_graph_decode(buf, (size_t)(p - buf), &g,
						NULL, 0), 0);
	memcpy(hash, g.hash, 32);
	return (size_t)(p - buf);
}

size_t make_tx(uint8_t *buf, const uint8_t a[32], const uint8_t b[32],
		      uint8_t hash[32])
{
	uint8_t *p = buf;
	struct hn_vertex_graph g;

	*p++ = 0;
	*p++ = 1;               /* version: transaction */
	*p++ = 0;               /* tokens */
	*p++ = 0;               /* inputs */
	*p++ = 0;               /* outputs */
	memset(p, 0, 8);
	p += 8;
	put32(&p, chaingen_ts++);
	*p++ = 2;
	memcpy(p, a, 32);
	memcpy(p + 32, b, 32);
	p += 64;
	put32(&p, nonce_seq++);
	assert_int_equal(hn_vertex_graph_decode(buf, (size_t)(p - buf), &g,
						NULL, 0), 0);
	memcpy(hash, g.hash, 32);
	return (size_t)(p - buf);
}

void chain_init(struct chain *c, const struct hn_network *net)
{
	c->net = net;
	memcpy(c->tip, net->genesis_block.hash, 32);
	memcpy(c->tx_a, net->genesis_tx1.hash, 32);
	memcpy(c->tx_b, net->genesis_tx2.hash, 32);
	chaingen_ts = net->genesis_block.timestamp + 10;
}

void add_tx(struct memnode *m, struct chain *c, uint8_t out[32])
{
	uint8_t buf[256], h[32];
	size_t len = make_tx(buf, c->tx_a, c->tx_b, h);

	assert_int_equal(memnode_add(m, buf, len), P2P_ADD_ACCEPTED);
	memcpy(c->tx_b, c->tx_a, 32);
	memcpy(c->tx_a, h, 32);
	if (out)
		memcpy(out, h, 32);
}

void add_block(struct memnode *m, struct chain *c, uint8_t tag,
	       uint8_t *bytes_out, size_t *len_out)
{
	uint8_t buf[256], h[32];
	size_t len = make_block(buf, c->tip, c->tx_a, c->tx_b, tag, h);

	assert_int_equal(memnode_add(m, buf, len), P2P_ADD_ACCEPTED);
	memcpy(c->tip, h, 32);
	if (bytes_out) {
		memcpy(bytes_out, buf, len);
		*len_out = len;
	}
}

/* Builds @blocks blocks, each confirming @txs_per_block new txs, then
 * leaves @mempool txs unconfirmed. */
void build(struct memnode *m, struct chain *c, int blocks, int txs_per_block,
	   int mempool)
{
	int i, k;

	for (i = 0; i < blocks; i++) {
		for (k = 0; k < txs_per_block; k++)
			add_tx(m, c, NULL);
		add_block(m, c, 0, NULL, NULL);
	}
	for (k = 0; k < mempool; k++)
		add_tx(m, c, NULL);
}

