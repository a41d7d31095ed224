/*
 * hn/vertex.h: Hathor vertex (block / transaction) binary codec.
 *
 * Byte-compatible with hathor-core's vertex_parser (see docs/codec.md and
 * PROTOCOL.md section 1).  Supported versions: 0 Block, 1 Transaction,
 * 2 TokenCreationTransaction, 3 MergeMinedBlock, 5 PoaBlock.  Supported
 * headers: 0x10 NanoHeader, 0x11 FeeHeader.  Anything else is refused with an
 * error naming it.
 *
 * Invariants of a decoded vertex:
 *  - hn_vertex_encode() gives back exactly the decoded bytes;
 *  - every pointer field is owned by the vertex and freed by
 *    hn_vertex_free(); arrays with a zero count may be NULL;
 *  - hash[] is computed by the decoder, in display order (hn/hash.h).
 *
 * To build a vertex by hand (genesis, miner, tests): hn_vertex_new(), fill
 * the fields with malloc'd arrays (they become owned by the vertex), then
 * hn_vertex_update_hash().  The codec has no global state; all functions are
 * thread-safe on distinct vertices.
 */
#ifndef HN_VERTEX_H
#define HN_VERTEX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct json_object;

#define HN_MAX_VERTEX_SIZE 48000        /* MAX_SERIALIZED_VERTEX_SIZE */
#define HN_BLOCK_DATA_MAX_SIZE 100      /* checked by verification, not here */
#define HN_MAX_MERKLE_PATH 100          /* aux-pow parse limit */
#define HN_POA_SIGNER_ID_LEN 2
#define HN_POA_MAX_SIG_LEN 100
#define HN_MAX_HEADERS 3
#define HN_NANO_ADDRESS_LEN 25
#define HN_AUX_HEADER_HEAD_LEN 36
#define HN_AUX_HEADER_TAIL_LEN 12
#define HN_MAX_OUTPUT_VALUE_32 0x7fffffffULL    /* largest 4-byte value */
#define HN_MAX_OUTPUT_VALUE_64 0x8000000000000000ULL /* 2^63, largest V1 */

/* token_data bits (TxOutput). */
#define HN_TOKEN_AUTHORITY_MASK 0x80
#define HN_TOKEN_INDEX_MASK 0x7f
/* Authority output values. */
#define HN_TOKEN_MINT_MASK 0x01
#define HN_TOKEN_MELT_MASK 0x02

enum hn_vertex_version {
	HN_VTX_BLOCK = 0,
	HN_VTX_TX = 1,
	HN_VTX_TOKEN_CREATION = 2,
	HN_VTX_MERGE_MINED_BLOCK = 3,
	HN_VTX_POA_BLOCK = 5,
};

/* Token versions of a TokenCreationTransaction (token_info.py). */
enum hn_token_version {
	HN_TOKEN_NATIVE = 0,
	HN_TOKEN_DEPOSIT = 1,
	HN_TOKEN_FEE = 2,
};

struct hn_tx_input {
	uint8_t tx_id[32];      /* spent tx hash (display order) */
	uint8_t index;          /* output index in tx_id */
	uint16_t data_len;      /* length of data */
	uint8_t *data;          /* unlocking script, owned (NULL if empty) */
};

struct hn_tx_output {
	uint64_t value;         /* atomic units, or authority bitmask */
	uint8_t token_data;     /* bit 7 authority, bits 0-6 token index */
	uint16_t script_len;    /* length of script */
	uint8_t *script;        /* locking script, owned (NULL if empty) */
};

/* Bitcoin aux-pow of a MergeMinedBlock (aux_pow.py: BitcoinAuxPow). */
struct hn_aux_pow {
	uint8_t header_head[HN_AUX_HEADER_HEAD_LEN]; /* version + prev hash */
	size_t coinbase_head_len;
	uint8_t *coinbase_head; /* owned; must end with "Hath" to be valid */
	size_t coinbase_tail_len;
	uint8_t *coinbase_tail; /* owned */
	size_t n_merkle_path;   /* <= HN_MAX_MERKLE_PATH */
	uint8_t (*merkle_path)[32]; /* owned, entries as stored on the wire */
	uint8_t header_tail[HN_AUX_HEADER_TAIL_LEN]; /* time, bits, nonce */
};

enum hn_header_id {
	HN_HEADER_NANO = 0x10,
	HN_HEADER_FEE = 0x11,
};

enum hn_nano_action_type {
	HN_NC_DEPOSIT = 1,
	HN_NC_WITHDRAWAL = 2,
	HN_NC_GRANT_AUTHORITY = 3,
	HN_NC_ACQUIRE_AUTHORITY = 4,
};

struct hn_nano_action {
	uint8_t type;           /* enum hn_nano_action_type */
	uint8_t token_index;    /* 0 HTR, i >= 1 tokens[i-1] */
	uint64_t amount;        /* output-value encoded on the wire */
};

struct hn_nano_header {
	uint8_t nc_id[32];      /* contract id or blueprint id */
	uint64_t seqnum;        /* unsigned LEB128, at most 8 bytes */
	uint8_t method_len;
	char method[256];       /* ASCII, NUL-terminated */
	uint16_t args_len;
	uint8_t *args;          /* owned */
	uint8_t n_actions;
	struct hn_nano_action *actions; /* owned */
	uint8_t address[HN_NANO_ADDRESS_LEN]; /* caller address */
	uint16_t script_len;    /* unsigned LEB128, at most 2 bytes */
	uint8_t *script;        /* owned; signature script */
};

struct hn_fee_entry {
	uint8_t token_index;
	uint64_t amount;        /* output-value encoded on the wire */
};

struct hn_fee_header {
	uint8_t n_fees;
	struct hn_fee_entry *fees; /* owned */
};

struct hn_vertex_header {
	enum hn_header_id id;
	union {
		struct hn_nano_header nano;     /* id == HN_HEADER_NANO */
		struct hn_fee_header fee;       /* id == HN_HEADER_FEE */
	} u;
};

struct hn_vertex {
	uint8_t signal_bits;
	uint8_t version;        /* enum hn_vertex_version */
	double weight;          /* log2 of the expected work */
	uint32_t timestamp;     /* Unix seconds */

	uint8_t n_parents;
	uint8_t (*parents)[32]; /* owned */

	uint8_t n_inputs;       /* always 0 for blocks */
	struct hn_tx_input *inputs;     /* owned */
	uint8_t n_outputs;
	struct hn_tx_output *outputs;   /* owned */
	/* v1: token uids on the wire; v2: one entry, the tx's own hash
	 * (set by hn_vertex_update_hash); blocks: none. */
	uint8_t n_tokens;
	uint8_t (*tokens)[32];  /* owned */

	/* Nonce: 16-byte big-endian for blocks (v0, v5; stored here as the
	 * high and low 64-bit halves), 4 bytes for v1/v2 (in nonce_lo). */
	uint64_t nonce_hi;
	uint64_t nonce_lo;

	/* Block data (v0, v3, v5). */
	uint8_t data_len;
	uint8_t data[255];

	/* v3 MergeMinedBlock: replaces the nonce. */
	struct hn_aux_pow *aux_pow;     /* owned, NULL for other versions */

	/* v5 PoaBlock. */
	uint8_t signer_id[HN_POA_SIGNER_ID_LEN];
	uint8_t signature_len;  /* <= HN_POA_MAX_SIG_LEN */
	uint8_t signature[HN_POA_MAX_SIG_LEN];

	/* v2 TokenCreationTransaction token info. */
	uint8_t token_version;  /* enum hn_token_version */
	uint8_t token_name_len;
	char token_name[256];   /* UTF-8, NUL-terminated */
	uint8_t token_symbol_len;
	char token_symbol[256]; /* UTF-8, NUL-terminated */

	/* Headers after the nonce (v1/v2 only), in wire order. */
	uint8_t n_headers;      /* <= HN_MAX_HEADERS */
	struct hn_vertex_header headers[HN_MAX_HEADERS];

	uint8_t hash[32];       /* display order; see hn_vertex_update_hash */
};

/* Options for hn_vertex_decode_opts(). */
enum hn_decode_flags {
	HN_DECODE_NO_NANO = 1 << 0,     /* refuse NanoHeader (0x10) */
	HN_DECODE_NO_FEE = 1 << 1,      /* refuse FeeHeader (0x11) */
	HN_DECODE_NO_HASH = 1 << 2,     /* skip hashing (hash[] zeroed) */
};

/* Parses exactly @len bytes of @buf.  On success *@out is a new vertex the
 * caller frees with hn_vertex_free(), with hash[] filled in.
 * Returns 0, HN_EPARSE (truncated, trailing bytes, bad field, > 48000
 * bytes), HN_EUNSUPPORTED (unknown version or header id) or HN_ENOMEM; then
 * *@out is untouched and @err (if not NULL, @errlen bytes) holds a message. */
int hn_vertex_decode(const uint8_t *buf, size_t len, struct hn_vertex **out,
		     char *err, size_t errlen);
/* Same with enum hn_decode_flags. */
int hn_vertex_decode_opts(const uint8_t *buf, size_t len, int flags,
			  struct hn_vertex **out, char *err, size_t errlen);

/* Serializes @v into a new malloc'd buffer (*@buf, caller frees) of *@len
 * bytes.  Returns 0, HN_EINVAL if @v cannot be encoded (unknown version,
 * zero or too large output value, too long field), or HN_ENOMEM. */
int hn_vertex_encode(const struct hn_vertex *v, uint8_t **buf, size_t *len);

/* Size hn_vertex_encode() would produce, or a negative code. */
long hn_vertex_encoded_size(const struct hn_vertex *v);

/* New zeroed vertex (version 0), or NULL.  Free with hn_vertex_free(). */
struct hn_vertex *hn_vertex_new(void);
/* Frees @v and everything it owns.  NULL is a no-op. */
void hn_vertex_free(struct hn_vertex *v);
/* Deep copy, or NULL when out of memory. */
struct hn_vertex *hn_vertex_dup(const struct hn_vertex *v);

/* Version predicates; cannot fail. */
bool hn_vertex_is_block(const struct hn_vertex *v);     /* v0, v3, v5 */
bool hn_vertex_is_tx(const struct hn_vertex *v);        /* v1, v2 */
bool hn_version_is_block(uint8_t version);
const char *hn_vertex_type_name(uint8_t version); /* "Block", ... or NULL */

/* Recomputes v->hash (and, for v2, tokens[0] = hash).  Returns 0 or a
 * negative code if @v cannot be encoded. */
int hn_vertex_update_hash(struct hn_vertex *v);
/* Computes the hash of @v into @out without changing @v. */
int hn_vertex_calc_hash(const struct hn_vertex *v, uint8_t out[32]);

/* funds and graph parts as the reference serializes them
 * (get_funds_struct / get_graph_struct).  malloc'd, caller frees. */
int hn_vertex_funds_bytes(const struct hn_vertex *v, uint8_t **buf,
			  size_t *len);
int hn_vertex_graph_bytes(const struct hn_vertex *v, uint8_t **buf,
			  size_t *len);
/* The 64-byte mining header without nonce: sha256(funds) ||
 * sha256(graph || headers). */
int hn_vertex_mining_header(const struct hn_vertex *v, uint8_t out[64]);

/* Sighash (serialize_sighash): funds with every input's data emptied, TCT
 * token info, each header's sighash form.  malloc'd, caller frees.  Only for
 * v1/v2 (HN_EINVAL otherwise). */
int hn_vertex_sighash(const struct hn_vertex *v, uint8_t **buf, size_t *len);
/* sha256(sighash): get_sighash_all_data(); the message whose sha256 is
 * signed (ECDSA over SHA256(sighash_data)). */
int hn_vertex_sighash_data(const struct hn_vertex *v, uint8_t out[32]);

/* PoW target exactly as the reference: the integer value of the double
 * pow(2, 256 - weight), as a 32-byte big-endian number (saturated to
 * 2^256-1 when weight <= 0).  Returns 0, or HN_EINVAL for NaN. */
int hn_weight_to_target(double weight, uint8_t target[32]);
/* True iff @hash (display order = big-endian number) < target(weight). */
bool hn_hash_meets_weight(const uint8_t hash[32], double weight);
/* True iff v->hash meets v->weight. */
bool hn_vertex_pow_ok(const struct hn_vertex *v);

/* Sum of the non-authority outputs (for min tx weight); saturates. */
uint64_t hn_vertex_sum_outputs(const struct hn_vertex *v);

/* JSON of @v with the reference /v1a/transaction "tx" field names: hash,
 * nonce, timestamp, version, weight, signal_bits, parents, inputs
 * [{tx_id, index, data(base64)}], outputs [{value, token_data, script
 * (base64)}], tokens, raw, plus per-type extras (data, token_name,
 * token_symbol, aux_pow, signer_id, signature, nc_* / fees).  *@out is a
 * new object the caller puts.  Returns 0 or HN_ENOMEM. */
int hn_vertex_to_json(const struct hn_vertex *v, struct json_object **out);

/* Minimal graph view for P2P and sync: decodes only what is needed,
 * but validates the whole buffer like hn_vertex_decode(). */
#define HN_GRAPH_MAX_PARENTS 3
struct hn_vertex_graph {
	uint8_t hash[32];
	uint8_t version;
	bool is_block;
	double weight;
	uint32_t timestamp;
	uint8_t n_parents;      /* <= HN_GRAPH_MAX_PARENTS, else refused */
	uint8_t parents[HN_GRAPH_MAX_PARENTS][32];
	uint8_t n_inputs;
	/* Spent tx ids are not copied (up to 255); use hn_vertex_decode()
	 * when they are needed. */
};
int hn_vertex_graph_decode(const uint8_t *buf, size_t len,
			   struct hn_vertex_graph *out, char *err,
			   size_t errlen);

/* Output value encodings (output_value.py).
 * V1: 1..2^31-1 as 4-byte signed BE, 2^31..2^63 as the negated value in
 * 8 bytes.  V2: length byte 1..15 then that many BE bytes, no leading zero,
 * max 2^63 * 10^16 (needs 117 bits, hence the 128-bit type).
 * Encoders write at most 8 (V1) / 16 (V2) bytes into @out and return the
 * count, or HN_EINVAL for zero (unless @allow_zero) or too large a value.
 * Decoders read from @buf (@len available), set *@value and return the
 * bytes consumed, or HN_EPARSE (truncated, zero, non-canonical, too big). */
__extension__ typedef unsigned __int128 hn_u128;
int hn_output_value_v1_encode(uint64_t value, bool allow_zero, uint8_t out[8]);
int hn_output_value_v1_decode(const uint8_t *buf, size_t len, bool allow_zero,
			      uint64_t *value);
int hn_output_value_v2_encode(hn_u128 value, bool allow_zero, uint8_t out[16]);
int hn_output_value_v2_decode(const uint8_t *buf, size_t len, bool allow_zero,
			      hn_u128 *value);
hn_u128 hn_output_value_v2_max(void); /* 2^63 * 10^16 */

#endif /* HN_VERTEX_H */
