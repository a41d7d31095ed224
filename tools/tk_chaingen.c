/*
 * tk_chaingen.c: deterministic valid chain for test networks (tk.h).
 *
 * Shape: blocks 1..N, block i at start_time + (i - 1) * spacing (spacing
 * >= 31 s, so the DAA stays at the minimum weight), each at its real DAA
 * weight and reward, paying the wallet.  Transactions sit between blocks
 * (timestamps block + 1, + 2, ...), so every one is confirmed by the next
 * block; they start once the first reward has matured
 * (REWARD_SPEND_MIN_BLOCKS) and spend matured block rewards or earlier
 * transaction outputs, signed with the wallet key; token creations among
 * them mint a new token (deposit 1% HTR).  Parents: a tx takes the two
 * latest transactions, a block its parent and the two latest transactions.
 * Everything is derived from the seed by splitmix64, so the same options
 * give the same bytes.
 */
#include "tk.h"

#include <stdlib.h>
#include <string.h>

#include "daa.h"
#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"
#include "hn/vertex.h"
#include "ledger.h"

#define BATCH 500

struct utxo {
	uint8_t tx[32];
	uint8_t index;
	uint64_t value;
	uint64_t height;        /* block rewards: the block's height */
};

struct gen {
	const struct tk_chaingen_opts *o;
	const struct hn_network *net;
	struct tk_chaingen_stats *st;
	struct hn_error *err;
	struct tk_wallet w;
	struct hn_daa_config cfg;
	uint64_t rng;

	struct hn_daa_block *hist;      /* by height, genesis at 0 */
	uint64_t height;                /* of tip */
	uint8_t tip[32];
	uint8_t txa[32], txb[32];       /* latest, previous transaction */

	struct utxo *pool;              /* spendable */
	size_t n_pool, cap_pool;
	struct utxo *rewards;           /* not yet matured, oldest first */
	size_t n_rewards, head_rewards;

	unsigned in_batch;
	struct tk_vfile_writer *out;    /* current branch's file */

	/* Fork support: main-chain spends above the fork height, and an
	 * output the next tx must spend first. */
	bool record;
	struct utxo *spent;
	size_t n_spent, cap_spent;
	bool has_forced;
	struct utxo forced;
	bool fork;                      /* building the fork branch */
};

static uint64_t rnd(struct gen *g)
{
	uint64_t z = (g->rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static bool same_outpoint(const struct utxo *a, const struct utxo *b)
{
	return a->index == b->index && !memcmp(a->tx, b->tx, 32);
}

/* In the fork: outputs a main-chain tx above the fork spends stay out of
 * the pool (no double spends but the one chosen on purpose). */
static bool main_spent(const struct gen *g, const struct utxo *u)
{
	for (size_t j = 0; j < g->n_spent; j++)
		if (same_outpoint(u, &g->spent[j]))
			return true;
	return false;
}

static int pool_add(struct gen *g, const struct utxo *u)
{
	if (g->fork && main_spent(g, u))
		return 0;
	if (g->n_pool == g->cap_pool) {
		size_t cap = g->cap_pool ? 2 * g->cap_pool : 256;
		struct utxo *p = realloc(g->pool, cap * sizeof(*p));

		if (!p)
			return hn_error_set(g->err, HN_ENOMEM, "out of memory");
		g->pool = p;
		g->cap_pool = cap;
	}
	g->pool[g->n_pool++] = *u;
	return 0;
}

/* Removes and returns a random spendable output. */
static struct utxo pool_take(struct gen *g)
{
	size_t i = (size_t)(rnd(g) % g->n_pool);
	struct utxo u = g->pool[i];

	g->pool[i] = g->pool[--g->n_pool];
	return u;
}

/* Encodes @v and hands it to the file and/or the ledger. */
static int emit(struct gen *g, const struct hn_vertex *v)
{
	uint8_t *b = NULL;
	size_t n;
	int rc;

	if ((rc = hn_vertex_encode(v, &b, &n)) < 0)
		return hn_error_set(g->err, rc, "encode failed");
	if (g->out && (rc = tk_vfile_write(g->out, b, n, g->err)) < 0)
		goto out;
	if (g->o->ledger) {
		struct hn_ledger_result res;
		char hex[65];

		if (g->in_batch == 0 &&
		    (rc = hn_ledger_batch_begin(g->o->ledger)) < 0) {
			hn_error_set(g->err, rc, "batch begin failed");
			goto out;
		}
		rc = hn_ledger_add_vertex(g->o->ledger, b, n, HN_ADD_QUIET,
					  &res);
		if (rc < 0) {
			hn_hex_encode(v->hash, 32, hex);
			hn_error_set(g->err, rc, "ledger refused %s %s: %s",
				     hn_vertex_type_name(v->version), hex,
				     res.msg);
			hn_ledger_batch_end(g->o->ledger);
			g->in_batch = 0;
			goto out;
		}
		if (++g->in_batch >= BATCH) {
			g->in_batch = 0;
			if ((rc = hn_ledger_batch_end(g->o->ledger)) < 0) {
				hn_error_set(g->err, rc, "commit failed");
				goto out;
			}
		}
	}
	rc = 0;
out:
	free(b);
	return rc;
}

static int mine(struct gen *g, struct hn_vertex *v)
{
	uint64_t tries;
	int rc = tk_mine_mt(v, g->o->threads, &tries);

	g->st->hashes += tries;
	if (rc != 1)
		return hn_error_set(g->err, rc < 0 ? rc : HN_EINVAL,
				    "mining failed");
	return 0;
}

static int add_block(struct gen *g, uint32_t ts)
{
	uint64_t h = g->height + 1;
	struct hn_daa_block chain[2 * 64 + 1];
	size_t need = hn_daa_blocks_needed(g->net, g->height);
	struct hn_vertex *v = hn_vertex_new();
	struct utxo u;
	double weight;
	int rc;

	if (!v)
		return hn_error_set(g->err, HN_ENOMEM, "out of memory");
	if (need > sizeof(chain) / sizeof(chain[0])) {
		rc = hn_error_set(g->err, HN_EINVAL, "DAA window too large");
		goto out;
	}
	for (size_t i = 0; i < need; i++)
		chain[i] = g->hist[g->height - i];
	if ((rc = hn_daa_next_weight(g->net, &g->cfg, chain, need, g->height,
				     ts, &weight)) < 0) {
		hn_error_set(g->err, rc, "DAA failed at height %llu",
			     (unsigned long long)h);
		goto out;
	}
	v->version = HN_VTX_BLOCK;
	v->weight = weight;
	v->timestamp = ts;
	v->n_parents = 3;
	v->parents = malloc(3 * 32);
	v->n_outputs = 1;
	v->outputs = calloc(1, sizeof(*v->outputs));
	if (g->fork) {
		v->data_len = 1;
		v->data[0] = 0x01;
	}
	if (!v->parents || !v->outputs ||
	    tk_output_set(&v->outputs[0], hn_daa_reward(g->net, &g->cfg, h), 0,
		       g->w.script) < 0) {
		rc = hn_error_set(g->err, HN_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(v->parents[0], g->tip, 32);
	memcpy(v->parents[1], g->txa, 32);
	memcpy(v->parents[2], g->txb, 32);
	if ((rc = mine(g, v)) < 0 || (rc = emit(g, v)) < 0)
		goto out;
	g->height = h;
	g->hist[h].timestamp = ts;
	g->hist[h].weight = weight;
	memcpy(g->tip, v->hash, 32);
	memcpy(u.tx, v->hash, 32);
	u.index = 0;
	u.value = v->outputs[0].value;
	u.height = h;
	g->rewards[g->n_rewards++] = u;
	g->st->blocks++;
	memcpy(g->st->best, v->hash, 32);
	g->st->last_timestamp = ts;
out:
	hn_vertex_free(v);
	return rc;
}

/* Moves rewards that may be spent now (best height - reward height >=
 * REWARD_SPEND_MIN_BLOCKS; the next block then meets the tx's min_height)
 * into the pool. */
static int mature(struct gen *g)
{
	int rc;

	while (g->head_rewards < g->n_rewards &&
	       g->height - g->rewards[g->head_rewards].height >=
	       g->net->reward_spend_min_blocks)
		if ((rc = pool_add(g, &g->rewards[g->head_rewards++])) < 0)
			return rc;
	return 0;
}

static void token_names(uint64_t n, char *name, char *symbol)
{
	static const char digits[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
	char s[8];
	int k = 0;

	do {
		s[k++] = digits[n % 36];
		n /= 36;
	} while (n && k < 3);
	symbol[0] = 'T';
	symbol[1] = 'K';
	for (int i = 0; i < k; i++)
		symbol[2 + i] = s[k - 1 - i];
	symbol[2 + k] = 0;
	memcpy(name, "Test Token ", 11);
	memcpy(name + 11, symbol + 2, (size_t)k + 1);
}

static int add_tx(struct gen *g, uint32_t ts, bool token)
{
	struct hn_vertex *v = hn_vertex_new();
	struct utxo in[2];
	uint64_t total = 0, mint = 0, deposit = 0;
	unsigned n_in = 1, n_out = 0;
	long size;
	int rc;

	if (!v)
		return hn_error_set(g->err, HN_ENOMEM, "out of memory");
	if (g->n_pool >= 2 && rnd(g) % 4 == 0)
		n_in = 2;
	for (unsigned i = 0; i < n_in; i++) {
		if (i == 0 && g->has_forced) {
			in[0] = g->forced;
			g->has_forced = false;
		} else {
			in[i] = pool_take(g);
		}
		total += in[i].value;
		if (g->record) {
			if (g->n_spent == g->cap_spent) {
				size_t cap = g->cap_spent ? 2 * g->cap_spent :
					64;
				struct utxo *p = realloc(g->spent,
							 cap * sizeof(*p));

				if (!p) {
					hn_vertex_free(v);
					return hn_error_set(g->err, HN_ENOMEM,
							    "out of memory");
				}
				g->spent = p;
				g->cap_spent = cap;
			}
			g->spent[g->n_spent++] = in[i];
		}
	}
	if (token) {
		/* Mint 1..20 whole units (x100), deposit 1%: needs >= 1. */
		mint = 100 * (1 + rnd(g) % 20);
		if (mint / 100 > total)
			mint = 100 * total;
		deposit = mint / 100;
	}
	v->version = token ? HN_VTX_TOKEN_CREATION : HN_VTX_TX;
	v->timestamp = ts;
	v->n_parents = 2;
	v->parents = malloc(2 * 32);
	v->inputs = calloc(n_in, sizeof(*v->inputs));
	v->outputs = calloc(4, sizeof(*v->outputs));
	if (!v->parents || !v->inputs || !v->outputs) {
		rc = hn_error_set(g->err, HN_ENOMEM, "out of memory");
		goto out;
	}
	memcpy(v->parents[0], g->txa, 32);
	memcpy(v->parents[1], g->txb, 32);
	v->n_inputs = (uint8_t)n_in;
	for (unsigned i = 0; i < n_in; i++) {
		memcpy(v->inputs[i].tx_id, in[i].tx, 32);
		v->inputs[i].index = in[i].index;
	}
	rc = 0;
	if (token) {
		v->token_version = HN_TOKEN_DEPOSIT;
		token_names(g->st->tokens + 1, v->token_name, v->token_symbol);
		v->token_name_len = (uint8_t)strlen(v->token_name);
		v->token_symbol_len = (uint8_t)strlen(v->token_symbol);
		rc |= tk_output_set(&v->outputs[n_out++], mint, 1, g->w.script);
		rc |= tk_output_set(&v->outputs[n_out++], HN_TOKEN_MINT_MASK,
				 HN_TOKEN_AUTHORITY_MASK | 1, g->w.script);
		rc |= tk_output_set(&v->outputs[n_out++], HN_TOKEN_MELT_MASK,
				 HN_TOKEN_AUTHORITY_MASK | 1, g->w.script);
		if (total > deposit)
			rc |= tk_output_set(&v->outputs[n_out++], total - deposit,
					 0, g->w.script);
	} else if (total >= 2 && rnd(g) % 2 == 0) {
		uint64_t a = 1 + rnd(g) % (total - 1);

		rc |= tk_output_set(&v->outputs[n_out++], a, 0, g->w.script);
		rc |= tk_output_set(&v->outputs[n_out++], total - a, 0,
				 g->w.script);
	} else {
		rc |= tk_output_set(&v->outputs[n_out++], total, 0, g->w.script);
	}
	v->n_outputs = (uint8_t)n_out;
	if (rc) {
		rc = hn_error_set(g->err, HN_ENOMEM, "out of memory");
		goto out;
	}
	if (token && (rc = hn_vertex_update_hash(v)) < 0) {
		hn_error_set(g->err, rc, "token creation encode failed");
		goto out;
	}
	if ((rc = tk_wallet_sign(&g->w, v)) < 0) {
		hn_error_set(g->err, rc, "signing failed");
		goto out;
	}
	if ((size = hn_vertex_encoded_size(v)) < 0) {
		rc = hn_error_set(g->err, (int)size, "encode failed");
		goto out;
	}
	v->weight = hn_daa_min_tx_weight(g->net, (size_t)size,
					 (double)hn_vertex_sum_outputs(v));
	if ((rc = mine(g, v)) < 0 || (rc = emit(g, v)) < 0)
		goto out;
	if (g->st->txs == 0)
		memcpy(g->st->first_tx, v->hash, 32);
	memcpy(g->txb, g->txa, 32);
	memcpy(g->txa, v->hash, 32);
	for (unsigned i = 0; i < n_out; i++) {
		struct utxo u;

		if (v->outputs[i].token_data != 0)
			continue;
		memcpy(u.tx, v->hash, 32);
		u.index = (uint8_t)i;
		u.value = v->outputs[i].value;
		u.height = 0;
		if ((rc = pool_add(g, &u)) < 0)
			goto out;
	}
	g->st->txs++;
	if (token)
		g->st->tokens++;
	g->st->last_timestamp = ts;
out:
	hn_vertex_free(v);
	return rc;
}

static void gen_release(struct gen *g)
{
	tk_wallet_release(&g->w);
	free(g->hist);
	free(g->pool);
	free(g->rewards);
	free(g->spent);
}


/* Blocks from+1..to (timestamps start + (i - 1) * spacing), @n_txs
 * transactions (@n_tokens of them token creations) spread over the gaps
 * after blocks max(from, first_slot)..to-1.  @fork_at: after adding that
 * block, call snap(). */
struct snapshot {
	struct utxo *pool;
	size_t n_pool, n_rewards, head_rewards;
	uint64_t height, rng;
	uint8_t tip[32], txa[32], txb[32];
	bool taken;
};

static int take_snapshot(struct gen *g, struct snapshot *sn)
{
	sn->pool = malloc((g->n_pool ? g->n_pool : 1) * sizeof(*sn->pool));
	if (!sn->pool)
		return hn_error_set(g->err, HN_ENOMEM, "out of memory");
	memcpy(sn->pool, g->pool, g->n_pool * sizeof(*sn->pool));
	sn->n_pool = g->n_pool;
	sn->n_rewards = g->n_rewards;
	sn->head_rewards = g->head_rewards;
	sn->height = g->height;
	sn->rng = g->rng;
	memcpy(sn->tip, g->tip, 32);
	memcpy(sn->txa, g->txa, 32);
	memcpy(sn->txb, g->txb, 32);
	sn->taken = true;
	return 0;
}

static int branch(struct gen *g, uint64_t from, uint64_t to, uint64_t n_txs,
		  uint64_t n_tokens, uint64_t first_slot, uint32_t spacing,
		  uint32_t start, uint64_t fork_at, struct snapshot *sn)
{
	uint64_t s0 = from > first_slot ? from : first_slot;
	uint64_t n_slots = to > s0 ? to - s0 : 0, tx_done = 0;
	int rc = 0;

	for (uint64_t i = from + 1; i <= to; i++) {
		uint32_t ts = start + (uint32_t)((i - 1) * spacing);

		if ((rc = add_block(g, ts)) < 0)
			break;
		if (i == fork_at) {
			if ((rc = take_snapshot(g, sn)) < 0)
				break;
			g->record = true;
		}
		if (i >= s0 && i < to) {
			uint64_t want = (i - s0 + 1) * n_txs / n_slots;

			if ((rc = mature(g)) < 0)
				break;
			for (uint32_t k = 1; tx_done < want; k++) {
				bool token = (tx_done + 1) * n_tokens / n_txs >
					tx_done * n_tokens / n_txs;

				if (!g->n_pool) {
					rc = hn_error_set(g->err, HN_ERANGE,
							  "no spendable output");
					break;
				}
				if ((rc = add_tx(g, ts + k, token)) < 0)
					break;
				tx_done++;
			}
			if (rc < 0)
				break;
		}
		if (!g->o->quiet && i % 1000 == 0)
			fprintf(stderr, "chaingen: %llu/%llu blocks, %llu txs\n",
				(unsigned long long)i, (unsigned long long)to,
				(unsigned long long)tx_done);
	}
	return rc;
}

/* Restores the state at the fork block and builds the fork branch. */
static int fork_branch(struct gen *g, struct snapshot *sn,
		       uint64_t first_slot, uint32_t spacing, uint32_t start)
{
	const struct tk_chaingen_opts *o = g->o;
	struct tk_chaingen_stats *main_st = g->st, fst;
	int rc;

	memset(&fst, 0, sizeof(fst));
	g->record = false;
	g->fork = true;
	g->n_pool = 0;
	for (size_t i = 0; i < sn->n_pool; i++) {
		if (o->fork_double_spend && !g->has_forced &&
		    main_spent(g, &sn->pool[i])) {
			g->forced = sn->pool[i];
			g->has_forced = true;
		}
		if ((rc = pool_add(g, &sn->pool[i])) < 0)
			return rc;
	}
	if (o->fork_double_spend && !g->has_forced)
		return hn_error_set(g->err, HN_EINVAL, "no main-chain spend "
				    "above the fork to double-spend");
	g->n_rewards = sn->n_rewards;
	g->head_rewards = sn->head_rewards;
	g->height = sn->height;
	g->rng = sn->rng ^ 0xd1b54a32d192ed03ULL;
	memcpy(g->tip, sn->tip, 32);
	memcpy(g->txa, sn->txa, 32);
	memcpy(g->txb, sn->txb, 32);
	g->out = o->fork_out;
	g->st = &fst;
	rc = branch(g, o->fork_height, o->fork_height + o->fork_blocks,
		    o->fork_txs, 0, first_slot, spacing, start, 0, NULL);
	g->st = main_st;
	main_st->fork_blocks = fst.blocks;
	main_st->fork_txs = fst.txs;
	memcpy(main_st->fork_best, fst.best, 32);
	memcpy(main_st->fork_conflict, fst.first_tx, 32);
	main_st->hashes += fst.hashes;
	return rc;
}

int tk_chaingen_run(const struct tk_chaingen_opts *o,
		    struct tk_chaingen_stats *st, struct hn_error *err)
{
	const struct hn_network *net = o->net;
	uint64_t first_slot = (uint64_t)net->reward_spend_min_blocks + 1;
	uint64_t n_slots = o->n_blocks > first_slot ?
		o->n_blocks - first_slot : 0;
	uint32_t spacing = o->spacing ? o->spacing : 31;
	uint32_t start = o->start_time ? o->start_time :
		net->genesis_block.timestamp + 60;
	uint64_t n_hist = o->n_blocks > o->fork_height + o->fork_blocks ?
		o->n_blocks : o->fork_height + o->fork_blocks;
	struct snapshot sn = { 0 };
	struct gen g;
	int rc;

	memset(st, 0, sizeof(*st));
	memset(&g, 0, sizeof(g));
	g.o = o;
	g.net = net;
	g.st = st;
	g.err = err;
	g.rng = o->seed;
	if (o->n_tokens > o->n_txs)
		return hn_error_set(err, HN_EINVAL, "more tokens than txs");
	if (o->n_txs && !n_slots)
		return hn_error_set(err, HN_EINVAL, "transactions need at "
				    "least %llu blocks (rewards mature "
				    "after %u)",
				    (unsigned long long)first_slot + 1,
				    net->reward_spend_min_blocks);
	if (n_slots && (o->n_txs + n_slots - 1) / n_slots + 2 > spacing)
		spacing = (uint32_t)((o->n_txs + n_slots - 1) / n_slots + 2);
	if (o->fork_blocks && o->fork_txs) {
		uint64_t f0 = o->fork_height > first_slot ? o->fork_height :
			first_slot;
		uint64_t fs = o->fork_height + o->fork_blocks > f0 ?
			o->fork_height + o->fork_blocks - f0 : 0;

		if (fs && (o->fork_txs + fs - 1) / fs + 2 > spacing)
			spacing = (uint32_t)((o->fork_txs + fs - 1) / fs + 2);
	}
	if (spacing > net->max_distance_between_blocks)
		return hn_error_set(err, HN_EINVAL, "too many transactions "
				    "per block");
	if (start <= net->genesis_tx2.timestamp)
		return hn_error_set(err, HN_EINVAL, "start time before genesis");
	if (o->fork_blocks && (o->fork_height < 1 ||
			       o->fork_height >= o->n_blocks))
		return hn_error_set(err, HN_EINVAL, "fork height must be in "
				    "1..blocks-1");
	if (o->fork_blocks && o->fork_txs && o->fork_height +
	    o->fork_blocks <= first_slot)
		return hn_error_set(err, HN_EINVAL, "fork too short for "
				    "transactions");
	hn_daa_config_v1(net, &g.cfg);
	if ((rc = tk_wallet_init(&g.w, net, tk_unittests_key)) < 0)
		return hn_error_set(err, rc, "wallet key refused");
	g.hist = calloc(n_hist + 1, sizeof(*g.hist));
	g.rewards = calloc(n_hist + 1, sizeof(*g.rewards));
	if (!g.hist || !g.rewards) {
		gen_release(&g);
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	}
	g.hist[0].timestamp = net->genesis_block.timestamp;
	g.hist[0].weight = net->genesis_block.weight;
	memcpy(g.tip, net->genesis_block.hash, 32);
	memcpy(g.txa, net->genesis_tx1.hash, 32);
	memcpy(g.txb, net->genesis_tx2.hash, 32);
	memcpy(st->best, g.tip, 32);

	g.out = o->out;
	rc = branch(&g, 0, o->n_blocks, o->n_txs, o->n_tokens, first_slot,
		    spacing, start, o->fork_blocks ? o->fork_height : 0, &sn);
	if (rc == 0 && o->fork_blocks)
		rc = fork_branch(&g, &sn, first_slot, spacing, start);
	free(sn.pool);
	if (o->ledger && g.in_batch) {
		int end = hn_ledger_batch_end(o->ledger);

		if (rc == 0 && end < 0)
			rc = hn_error_set(err, end, "commit failed");
	}
	gen_release(&g);
	return rc;
}
