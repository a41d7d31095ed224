/*
 * script.h: Hathor script interpreter (hathor/transaction/scripts/), sigop
 * counting and ECDSA secp256k1 signature checks.
 *
 * The interpreter follows execute.py / opcode.py exactly: the unlocking
 * data and the locking script are concatenated and run on one stack of
 * byte strings and small integers; P2SH multisig outputs (OP_HASH160
 * <20> OP_EQUAL, optionally time-locked) run in two passes as the
 * reference does.  Any error the reference raises (script error, assertion
 * on a wrongly typed stack item, struct error) is a failure here.
 */
#ifndef HN_SCRIPT_H
#define HN_SCRIPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum hn_opcode {
	HN_OP_0 = 0x50,
	HN_OP_16 = 0x60,
	HN_OP_DUP = 0x76,
	HN_OP_EQUAL = 0x87,
	HN_OP_EQUALVERIFY = 0x88,
	HN_OP_CHECKSIG = 0xac,
	HN_OP_HASH160 = 0xa9,
	HN_OP_PUSHDATA1 = 0x4c,
	HN_OP_GREATERTHAN_TIMESTAMP = 0x6f,
	HN_OP_CHECKMULTISIG = 0xae,
	HN_OP_CHECKDATASIG = 0xba,
	HN_OP_DATA_STREQUAL = 0xc0,
	HN_OP_DATA_GREATERTHAN = 0xc1,
	HN_OP_FIND_P2PKH = 0xd0,
	HN_OP_DATA_MATCH_VALUE = 0xd1,
};

/* OpcodesVersion: V1 also has the oracle / nano-contract opcodes
 * (CHECKDATASIG, DATA_*, FIND_P2PKH); V2 (OPCODES_V2 feature) drops them. */
enum hn_opcodes_version {
	HN_OPCODES_V1 = 1,
	HN_OPCODES_V2 = 2,
};

/* One output of the spending tx, for OP_FIND_P2PKH. */
struct hn_script_output {
	uint64_t value;
	const uint8_t *script;
	size_t script_len;
};

struct hn_script_ctx {
	enum hn_opcodes_version version;
	/* get_sighash_all_data(): sha256(sighash).  Signatures are ECDSA over
	 * sha256 of these 32 bytes. */
	uint8_t sighash_data[32];
	uint32_t tx_timestamp;          /* spending tx's timestamp */
	uint32_t max_multisig_pubkeys;  /* 20 */
	uint32_t max_multisig_signatures; /* 15 */
	/* OP_FIND_P2PKH only: */
	uint8_t p2pkh_version_byte;
	uint64_t spent_value;           /* value of the spent output */
	size_t n_outputs;
	const struct hn_script_output *outputs;
};

/* Runs @input_data against @output_script (raw_script_eval).  Returns 0 if
 * the script succeeds, HN_ECONSENSUS if it fails (reason in @err), HN_ENOMEM.
 */
int hn_script_eval(const uint8_t *input_data, size_t input_len,
		   const uint8_t *output_script, size_t output_len,
		   const struct hn_script_ctx *ctx, char *err, size_t errlen);

/* True iff @script matches MultiSig.re_match (P2SH). */
bool hn_script_is_multisig(const uint8_t *script, size_t len);
/* True iff @script matches P2PKH.re_match; *@hash160 (if not NULL) points
 * at the 20-byte public key hash inside @script. */
bool hn_script_is_p2pkh(const uint8_t *script, size_t len,
			const uint8_t **hash160);

/* SigopCounter.get_sigops_count: sigops of @data; when @output_script is
 * given (an input's data) and is P2SH, counts over the multisig data.
 * Returns the count (>= 0) or HN_ECONSENSUS on an invalid script. */
long hn_script_sigops(const uint8_t *data, size_t len,
		      const uint8_t *output_script, size_t output_len,
		      uint32_t max_multisig_pubkeys, bool count_checkdatasig);

/* Verifies a DER ECDSA signature (any S: it is normalized first, as
 * OpenSSL accepts high S) by the 33-byte compressed @pubkey over
 * sha256(@msg).  False for anything malformed. */
bool hn_ecdsa_verify_sha256(const uint8_t *pubkey, size_t pubkey_len,
			    const uint8_t *sig, size_t sig_len,
			    const uint8_t *msg, size_t msg_len);

/* Wallet side (tests, miner, chain generator).  P2PKH output script
 * (25 bytes) paying the compressed public key of @seckey.  Returns 0 or
 * HN_EINVAL (not a valid secret key). */
int hn_script_p2pkh_of_key(const uint8_t seckey[32], uint8_t script[25]);
/* P2PKH input data spending such an output: push(DER signature over
 * sha256(@sighash_data), low S) push(compressed public key).  @out needs
 * HN_P2PKH_INPUT_MAX bytes.  Returns the length or HN_EINVAL. */
#define HN_P2PKH_INPUT_MAX 108
long hn_script_sign_p2pkh(const uint8_t seckey[32],
			  const uint8_t sighash_data[32],
			  uint8_t out[HN_P2PKH_INPUT_MAX]);

#endif /* HN_SCRIPT_H */
