/*
 * tk.h: shared code of the operator and test tools (tools/): CPU mining,
 * a one-key P2PKH wallet, the vertex file format and the chain generator.
 * Linked by hathor-chaingen, hathor-import, hathor-miner and the tests.
 *
 * Single-threaded; every object belongs to its caller.  Hashes are 32
 * bytes in display order (hn/hash.h), as everywhere in the codec.
 */
#ifndef HN_TOOLS_TK_H
#define HN_TOOLS_TK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct hn_error;
struct hn_ledger;
struct hn_network;
struct hn_tx_output;
struct hn_vertex;
struct hn_daa_block;
struct hn_daa_config;

/* --- mining ------------------------------------------------------------- */

/* Proof of work for @v at v->weight: tries nonces upward from v->nonce_lo
 * (the low 64 bits for blocks, 32 bits for transactions) on the 64-byte
 * mining header, at most @max_tries (0: until found or the nonce space
 * ends).  Returns 1 when solved (nonce and hash set, hash meets weight),
 * 0 when @max_tries ran out (v->nonce_lo is where to continue), HN_ERANGE
 * when a transaction's 32-bit nonce space is exhausted, or a codec error.
 * *@tries (if not NULL) gets the number of hashes computed. */
int tk_mine(struct hn_vertex *v, uint64_t max_tries, uint64_t *tries);

/* Same search on @threads threads (<= 1: tk_mine), no try limit; finds the
 * lowest solving nonce from v->nonce_lo, so the result is the one
 * tk_mine() gives, whatever the thread count.  Returns 1, HN_ERANGE (tx
 * nonce space exhausted), HN_ENOMEM or a codec error. */
int tk_mine_mt(struct hn_vertex *v, unsigned threads, uint64_t *tries);

/* --- wallet --------------------------------------------------------------- */

/* The unittests genesis key (hathor_tests/utils.py get_genesis_key:
 * GENESIS_SEED, BIP32 path 44'/280'/0'/0/0); its P2PKH script is the
 * unittests GENESIS_OUTPUT_SCRIPT. */
extern const uint8_t tk_unittests_key[32];

struct tk_wallet {
	uint8_t seckey[32];
	uint8_t pubkey[33];     /* compressed */
	uint8_t script[25];     /* P2PKH of pubkey */
	char address[40];       /* base58, network's version byte */
	void *ctx;              /* secp256k1 context */
};

/* Sets up @w for @seckey on @net.  Returns 0, HN_EINVAL (not a valid
 * key) or HN_ENOMEM.  Release with tk_wallet_release(). */
int tk_wallet_init(struct tk_wallet *w, const struct hn_network *net,
		   const uint8_t seckey[32]);
void tk_wallet_release(struct tk_wallet *w);
/* Signs every input of @v (v1/v2) with the wallet key: input data is
 * push(DER signature, low S, RFC 6979 nonce) push(pubkey), over
 * sha256(get_sighash_all_data).  Deterministic.  Returns 0 or a negative
 * code. */
int tk_wallet_sign(const struct tk_wallet *w, struct hn_vertex *v);

/* Base58check address (25 bytes: version, hash160, checksum) to the P2PKH
 * script it pays.  Returns 0, or HN_EINVAL (bad characters, length,
 * checksum, or a version byte other than @net's P2PKH one). */
int tk_address_to_script(const struct hn_network *net, const char *addr,
			 uint8_t script[25]);
/* Base58check address of @net, P2PKH or (*@multisig) P2SH: 0 or
 * HN_EINVAL. */
int tk_address_check(const struct hn_network *net, const char *addr,
		     bool *multisig);
/* P2PKH script to its address (out >= 40 bytes). */
void tk_script_to_address(const struct hn_network *net,
			  const uint8_t script[25], char *out);
/* Fills output @o: @value, @token_data, a malloc'd copy of the P2PKH
 * @script.  Returns 0 or HN_ENOMEM. */
int tk_output_set(struct hn_tx_output *o, uint64_t value, uint8_t token_data,
		  const uint8_t script[25]);

/* --- vertex file ---------------------------------------------------------- */

/* Format (docs/tools.md): magic "HNVTXF01" (8 bytes), network name length
 * (1 byte) and name, then records until end of file, each a 4-byte
 * big-endian length (1..48000) followed by that many bytes of one vertex
 * in wire format.  Vertices are in topological order (every parent and
 * spent tx before its children); genesis vertices are not included. */
#define TK_VFILE_MAGIC "HNVTXF01"

struct tk_vfile_writer {
	FILE *f;
	uint64_t n;             /* records written */
};
/* Creates @path (truncating) and writes the header. */
int tk_vfile_create(struct tk_vfile_writer *w, const char *path,
		    const char *network, struct hn_error *err);
int tk_vfile_write(struct tk_vfile_writer *w, const uint8_t *bytes,
		   size_t len, struct hn_error *err);
/* Flushes and closes; returns 0 or HN_EIO (write error at any point). */
int tk_vfile_close(struct tk_vfile_writer *w, struct hn_error *err);

struct tk_vfile_reader {
	FILE *f;
	char network[256];      /* from the header */
	uint8_t *buf;           /* last record (owned) */
	uint64_t n;             /* records read */
};
int tk_vfile_open(struct tk_vfile_reader *r, const char *path,
		  struct hn_error *err);
/* Next record: 1 and *@bytes/@len (valid until the next call), 0 at end of
 * file, HN_EPARSE (truncated record, bad length) or HN_EIO. */
int tk_vfile_next(struct tk_vfile_reader *r, const uint8_t **bytes,
		  size_t *len, struct hn_error *err);
void tk_vfile_close_reader(struct tk_vfile_reader *r);

/* Imports every record of @path into @l through hn_ledger_add_vertex()
 * (full verification), in batches of @batch (0: 500).  A record already
 * stored (HN_EEXIST) counts as imported.  Stops at the first rejection:
 * returns its code and @err names the record and the reason.  The file's
 * network must be @l's.  *@n_added (if not NULL) gets the number of
 * records read. */
int tk_import_file(struct hn_ledger *l, const char *path, unsigned batch,
		   uint64_t *n_added, struct hn_error *err);

/* Opens (creating @dir and the file if @create) the ledger the daemon uses
 * in data dir @dir, <dir>/ledger.db.  With @must_be_new, refuses a dir that
 * already has one.  Returns 0 or a negative code with @err set. */
int tk_open_data_dir(const char *dir, const struct hn_network *net,
		     bool create, bool must_be_new, struct hn_ledger **out,
		     struct hn_error *err);

/* Takes <dir>/LOCK (creating @dir and the file) as hathor-node does:
 * flock(LOCK_EX | LOCK_NB), so a tool never writes a data dir a running
 * daemon has open, and a daemon refuses to start while a tool works on it.
 * *@fd is held until the caller closes it (or exits).  Returns 0,
 * HN_EEXIST (in use; @err names the holder's pid), HN_EIO. */
int tk_lock_data_dir(const char *dir, int *fd, struct hn_error *err);

/* --- chain generator ------------------------------------------------------ */

struct tk_chaingen_opts {
	const struct hn_network *net;
	uint64_t n_blocks;      /* blocks after genesis */
	uint64_t n_txs;         /* transactions (token creations included) */
	uint64_t n_tokens;      /* token creation transactions among them */
	uint64_t seed;          /* PRNG seed: same seed, same bytes */
	uint32_t spacing;       /* seconds between blocks; 0: 31 */
	uint32_t start_time;    /* first block's timestamp; 0: genesis + 60 */
	/* Competing branch, built in the same run: from the main chain's
	 * block @fork_height (>= 1), @fork_blocks blocks (block data 0x01, so
	 * they differ from the main chain's) with @fork_txs transactions,
	 * written to @fork_out (records start after block fork_height; the
	 * shared prefix is in @out only) and added to @ledger after the main
	 * chain.  The fork's transactions spend only outputs the main chain
	 * leaves unspent above the fork, unless @fork_double_spend: then its
	 * first one spends an output a main-chain tx above the fork spends.
	 * fork_blocks == 0: no fork. */
	uint64_t fork_height;
	uint64_t fork_blocks;
	uint64_t fork_txs;
	bool fork_double_spend;
	struct tk_vfile_writer *fork_out;
	/* Where the vertices go, in topological order; either or both. */
	struct tk_vfile_writer *out;
	struct hn_ledger *ledger; /* added with hn_ledger_add_vertex */
	bool quiet;             /* no progress on stderr */
	unsigned threads;       /* mining threads (0, 1: one); same output */
};

struct tk_chaingen_stats {
	uint64_t blocks, txs, tokens;
	uint64_t hashes;        /* PoW attempts */
	uint8_t best[32];       /* last block */
	uint8_t first_tx[32];   /* first transaction */
	uint32_t last_timestamp;
	/* The fork branch (opts.fork_blocks). */
	uint64_t fork_blocks, fork_txs;
	uint8_t fork_best[32];
	uint8_t fork_conflict[32]; /* the fork's first tx */
};

/* Builds the chain (docs/tools.md describes its shape).  Returns 0, or a
 * negative code with @err set (a vertex the ledger refused, I/O). */
int tk_chaingen_run(const struct tk_chaingen_opts *o,
		    struct tk_chaingen_stats *st, struct hn_error *err);

/* --- HTTP API client ----------------------------------------------------- */

/* One request to @url ("http://host:port[/prefix]") + @path (with the
 * query), @body (JSON, or NULL for none) with a @timeout_s (0: 30 s) on
 * connect and each read.  On success *@status is the HTTP status and
 * *@resp the malloc'd, NUL-terminated body.  Returns 0, HN_EINVAL (bad
 * URL), HN_EIO (connect, send, receive), HN_EPROTO (not HTTP). */
int tk_http_request(const char *url, const char *method, const char *path,
		    const char *body, unsigned timeout_s, int *status,
		    char **resp, struct hn_error *err);

/* GET/POST @path under @url's /v1a/ (added unless @url ends in /v1a) and
 * parse the answer: 0 and *@out (caller puts) for HTTP 200 with a JSON
 * body; HN_EPROTO (other status, with the body's start in @err, or not
 * JSON) or tk_http_request()'s codes. */
struct json_object;
int tk_api_json(const char *url, unsigned timeout_s, const char *method,
		const char *path, const char *body, struct json_object **out,
		struct hn_error *err);

/* --- miner ---------------------------------------------------------------- */

/* Block template as /v1a/get_block_template returns it (the reference's
 * Block.to_json without hash, nonce and inputs, plus metadata.height)
 * into a new block vertex (nonce 0) and its height.  Returns 0, or
 * HN_EPARSE with @err naming the field. */
int tk_template_parse(const char *json, struct hn_vertex **out,
		      uint64_t *height, struct hn_error *err);

enum tk_miner_mode {
	TK_MINE_AUTO = 0,       /* historic while the tip is old enough */
	TK_MINE_HISTORIC,       /* parent + spacing, DAA weight for that */
	TK_MINE_LIVE,           /* wall clock */
};

/* Timestamp and weight for a block on a parent at @parent_height whose
 * ancestors are @chain (chain[0] the parent, then its block parents; at
 * least hn_daa_blocks_needed(@parent_height) entries, and 1); @tx_max_ts
 * is the newest tx parent's timestamp.  Historic: max(parent + @spacing,
 * tx_max_ts + 1); live: @now within [max(parent, tx_max_ts) + 1,
 * parent + MAX_DISTANCE_BETWEEN_BLOCKS - 1], as the reference's template.
 * Auto picks historic when that timestamp is <= @now.  *@historic says
 * which was used.  The weight is the DAA @cfg's (NULL: V1).  Returns 0,
 * HN_ERANGE (no timestamp within MAX_DISTANCE_BETWEEN_BLOCKS of the
 * parent is after the tx parents) or HN_EINVAL (chain too short, DAA
 * refused). */
int tk_miner_plan(const struct hn_network *net,
		  const struct hn_daa_config *cfg,
		  const struct hn_daa_block *chain, size_t n,
		  uint64_t parent_height, uint32_t tx_max_ts,
		  enum tk_miner_mode mode, uint32_t spacing, uint32_t now,
		  uint32_t *ts, double *weight, bool *historic);

struct tk_miner_opts {
	const struct hn_network *net;
	const char *api;        /* http://host:port */
	uint64_t blocks;        /* 0: until stopped */
	const char *address;    /* NULL: the test key's address */
	enum tk_miner_mode mode;
	uint32_t spacing;       /* historic spacing, 0: 31 s */
	unsigned timeout_s;     /* per HTTP request, 0: 30 */
	/* First mine historic blocks MAX_DISTANCE_BETWEEN_BLOCKS - 1 apart
	 * (minimum weight) until the tip is less than that old, so the chain
	 * reaches the present (push_tx refuses txs older than 36 h); these
	 * are not counted in @blocks. */
	bool catch_up;
	uint32_t now;           /* fixed clock for tests; 0: time() */
	volatile int *stop;     /* set to stop (signal handler) */
	bool quiet;
};

struct tk_miner_stats {
	uint64_t mined;         /* accepted by submit_block */
	uint64_t caught_up;     /* of which mined to catch up */
	uint64_t rejected;
	uint64_t hashes;
	uint64_t historic;      /* blocks mined in historic mode */
	uint64_t daa_unknown;   /* templates that fit neither DAA (warned) */
	uint64_t last_height;
	uint8_t last_hash[32];
};

/* Mines @o->blocks blocks against the API.  Returns 0, or a negative code
 * with @err set (API unreachable or answering garbage, three rejected
 * blocks in a row). */
int tk_miner_run(const struct tk_miner_opts *o, struct tk_miner_stats *st,
		 struct hn_error *err);

/* --- transaction generator (push_tx) ----------------------------------- */

struct tk_txgen_opts {
	const struct hn_network *net;
	const char *api;        /* http://host:port */
	uint64_t count;         /* transactions to push */
	const char *address;    /* gets 1 unit per tx; NULL: the test key */
	unsigned timeout_s;     /* per HTTP request, 0: 30 */
	uint32_t now;           /* fixed clock for tests; 0: time() */
	FILE *out;              /* one pushed tx hash per line, or NULL */
};

struct tk_txgen_stats {
	uint64_t pushed;
	uint64_t hashes;
	uint8_t spent_block[32]; /* the block reward the chain started from */
	uint8_t last[32];       /* last pushed tx */
};

/* Pushes @o->count signed P2PKH transactions through /v1a/push_tx.  The
 * first spends an unspent, matured block reward paid to the test key
 * (found with block_at_height and transaction, at most 1000 blocks below
 * the tip); each next one spends the previous one's change.  Each pays 1
 * unit to @o->address and the rest back to the test key, with parents from
 * /v1a/tx_parents, timestamp max(now, parents + 1, spent + 1) and the
 * minimum tx weight.  Returns 0 or a negative code with @err set (no
 * spendable reward, push_tx refused: its message is in @err). */
int tk_txgen_run(const struct tk_txgen_opts *o, struct tk_txgen_stats *st,
		 struct hn_error *err);

#endif /* HN_TOOLS_TK_H */
