/*
 * chain.h: test support for tests/store: a ledger in a private temp dir
 * under the build dir, with a fixed clock, and builders for valid blocks
 * and transactions on the unittests network (PoW solved at low weight,
 * historic timestamps).
 */
#ifndef TESTS_STORE_CHAIN_H
#define TESTS_STORE_CHAIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ledger.h"
#include "nodesvc.h"
#include "store.h"

struct ev_loop;
struct hn_network;
struct hn_vertex;

struct tchain {
	char dir[512];                  /* temp dir, removed by tc_close */
	char db[600];                   /* <dir>/ledger.db */
	const struct hn_network *net;
	struct hn_ledger *l;
	double now;                     /* the ledger's clock */
	enum hn_store_sync sync;        /* for the next (re)open; NORMAL */
};

/* Creates the temp dir and opens a new ledger in it. */
void tc_open(struct tchain *tc);
/* Closes and reopens the ledger on the same file. */
void tc_reopen(struct tchain *tc);
/* Closes the ledger (if open); removes the dir unless @keep. */
void tc_close(struct tchain *tc, bool keep);

/* Genesis hashes of the network. */
const uint8_t *tc_gblock(const struct tchain *tc);
const uint8_t *tc_gtx1(const struct tchain *tc);
const uint8_t *tc_gtx2(const struct tchain *tc);

/* Block on @parent (tx parents @txp, NULL: the genesis txs) at @ts with
 * @weight; @salt goes into the block data so competing chains differ.
 * Writes malloc'd bytes and the hash. */
void tc_make_block(const struct tchain *tc, const uint8_t parent[32],
		   const uint8_t (*txp)[32], uint32_t ts, double weight,
		   uint8_t salt, uint8_t **bytes, size_t *len, uint8_t hash[32]);

struct tc_in {
	const uint8_t *tx;              /* spent vertex */
	uint8_t index;
};

/* Transaction spending @in (n_in), with one HTR output per @values entry
 * (n_out), tx parents @p0/@p1, at @ts with @weight. */
void tc_make_tx(const struct tchain *tc, const struct tc_in *in, size_t n_in,
		const uint64_t *values, size_t n_out, const uint8_t p0[32],
		const uint8_t p1[32], uint32_t ts, double weight,
		uint8_t **bytes, size_t *len, uint8_t hash[32]);

/* The P2PKH script every output of these builders pays (25 bytes). */
const uint8_t *tc_script(void);
/* (Re)signs every input of @v with the test key (after changing funds). */
void tc_sign(struct hn_vertex *v);
/* Solves the PoW of @v, encodes it into malloc'd @bytes and frees @v. */
void tc_finish(struct hn_vertex *v, uint8_t **bytes, size_t *len,
	       uint8_t hash[32]);

/* Builds and adds; asserts the ledger returned @expect. */
void tc_add_block(struct tchain *tc, const uint8_t parent[32],
		  const uint8_t (*txp)[32], uint32_t ts, double weight,
		  uint8_t salt, int expect, uint8_t hash[32]);
void tc_add_tx(struct tchain *tc, const struct tc_in *in, size_t n_in,
	       const uint64_t *values, size_t n_out, const uint8_t p0[32],
	       const uint8_t p1[32], uint32_t ts, double weight, int expect,
	       uint8_t hash[32]);

/* Builds @n blocks on @parent, @spacing seconds apart, returns the top
 * in @top (and every hash in @all if not NULL). */
void tc_chain(struct tchain *tc, const uint8_t parent[32], uint32_t start_ts,
	      size_t n, double weight, uint8_t salt, uint8_t top[32],
	      uint8_t (*all)[32]);

/* Metadata helpers (assert on failure). */
bool tc_voided(struct tchain *tc, const uint8_t h[32]);
bool tc_has_first_block(struct tchain *tc, const uint8_t h[32],
			const uint8_t fb[32]);
bool tc_in_mempool(struct tchain *tc, const uint8_t h[32]);
bool tc_exists(struct tchain *tc, const uint8_t h[32]);
uint64_t tc_best_height(struct tchain *tc);
void tc_best(struct tchain *tc, uint8_t h[32]);
/* Full consistency check, asserts it passes. */
void tc_check(struct tchain *tc);

uint32_t tc_ts(const struct tchain *tc, const uint8_t h[32]);

/* Valid blocks for a ledger that has only genesis: tc_blocks_make builds
 * a chain of @n (at most TC_BLOCKS_MAX) on the genesis block, 30 s apart,
 * in a scratch ledger (so each block's reward is right for its height),
 * and keeps their wire bytes (malloc'd, tc_blocks_free) and hashes. */
#define TC_BLOCKS_MAX 60
struct tc_blocks {
	size_t n;
	uint8_t *bytes[TC_BLOCKS_MAX];
	size_t len[TC_BLOCKS_MAX];
	uint8_t hash[TC_BLOCKS_MAX][32];
};
void tc_blocks_make(struct tc_blocks *b, size_t n);
void tc_blocks_free(struct tc_blocks *b);
/* How many of @b's blocks @l holds; *@is_prefix: they are @b's first
 * ones (no gap). */
size_t tc_blocks_stored(const struct tc_blocks *b, struct hn_ledger *l,
			bool *is_prefix);

/* Runs @loop until *@flag is set or @secs pass; returns *@flag. */
bool tc_run_until_set(struct ev_loop *loop, const bool *flag, double secs);
const char *tc_hex(const uint8_t h[32]); /* static buffer, 4 rotating */

#endif /* TESTS_STORE_CHAIN_H */
