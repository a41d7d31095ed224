/*
 * test_script.c: script interpreter and signature checks (core/script.c).
 * Real signed vectors from PROTOCOL.md section 3 (B, C), plus scripts
 * signed here with libsecp256k1 and a fixed key.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <secp256k1.h>

#include "script.h"

#include "hn/err.h"
#include "hn/hash.h"
#include "hn/hex.h"
#include "hn/vertex.h"

#define HN_OP_1_FOR_TEST 0x51

/* PROTOCOL.md 3.B: regular tx, 1 P2PKH input. */
static const char *vec_b =
	"0001000102000001e0e88216036e4e52872ba60a96df7570c3e29cc30eda6dd92e"
	"a0fd304c00006a4730450221009fa4798bb69f66035013063c13f1a970ec58111b"
	"cead277d9c93e45c2b6885fe022012e039b26cc4a4cb0a8a5abb7deb7bb78610ed"
	"362bf422efa247db37c5a841e12102bc1213ea99ab55effcff760f94c09f8b1a0b"
	"7b990c01128d06b4a8c5c5f41f8400089f0800001976a91438fb3bc92b76819e9c"
	"19ef7c079d327c8fcd199288ac02de2d3800001976a9148d880c42ddcf78a2da5d"
	"06558f13515508720b4088ac403518509c63f9195ecfd7d40200001ea9d6e1d31d"
	"a6893fcec594dc3fa8b6819ae1268c190f7a1441302226e2000007d1c5add7b908"
	"5037cfc591f1008dff4fe8a9158fd1a4840a6dd5d4e4e600d2da8d";
/* PROTOCOL.md 3.C: TokenCreationTransaction. */
static const char *vec_c =
	"00020104000005551d7740fd7d3c0acc50b5677fdd844f1225985aa431e1712af2"
	"a2fd8900006a473045022100a445edb5cd6c79a0a7b5ed837582fd65b8d511ee60"
	"b64fd076e07bd8f63f75a202202dca24320bffc4c3ca2a07cdfff38f7c839bde70"
	"ed49ef634ac6588972836cab2103bfa995d676e3c0ed7b863c74cfef9683fab316"
	"3b42b6f21442326a023fc57fba0000264800001976a9146876f9578221fdb678d4"
	"e8376503098a9228b13288ac00004e2001001976a914031761ef85a24603203c97"
	"e75af355b83209f08f88ac0000000181001976a9149f091256cb98649c7c35df0a"
	"ad44d7805710691e88ac0000000281001976a914b1d7a5ee505ad4d3b93ea1a516"
	"2ba83d5049ec4e88ac0109546f5468654d6f6f6e04f09f9a804034a52aec6cece7"
	"5e0fc0e30200001a72272f48339fcc5d5ec5deaf197855964b0eb912e8c6eefe00"
	"928b6cf600001055641c20b71871ed2c5c7d4096a34f40888d79c25bce74421646"
	"e732dc01ff7369";

static secp256k1_context *sctx;

static struct hn_vertex *decode_hex(const char *hex)
{
	static uint8_t buf[4096];
	size_t n;
	struct hn_vertex *v = NULL;
	char err[128];

	assert_int_equal(hn_hex_decode(hex, buf, sizeof(buf), &n), 0);
	assert_int_equal(hn_vertex_decode(buf, n, &v, err, sizeof(err)), 0);
	return v;
}

/* P2PKH locking script for the pubkey pushed last in @data. */
static size_t p2pkh_for(const uint8_t *pubkey, size_t len, uint8_t out[25])
{
	out[0] = 0x76;
	out[1] = 0xa9;
	out[2] = 20;
	assert_int_equal(hn_hash160(pubkey, len, out + 3), 0);
	out[23] = 0x88;
	out[24] = 0xac;
	return 25;
}

static void ctx_for(struct hn_script_ctx *c, const struct hn_vertex *v)
{
	memset(c, 0, sizeof(*c));
	c->version = HN_OPCODES_V2;
	assert_int_equal(hn_vertex_sighash_data(v, c->sighash_data), 0);
	c->tx_timestamp = v->timestamp;
	c->max_multisig_pubkeys = 20;
	c->max_multisig_signatures = 15;
	c->p2pkh_version_byte = 0x28;
}

static void check_real_vector(const char *hex)
{
	struct hn_vertex *v = decode_hex(hex);
	struct hn_script_ctx c;
	uint8_t out[25];
	char err[160];
	const uint8_t *in = v->inputs[0].data;
	size_t inlen = v->inputs[0].data_len;

	/* data = push(sig) push(33-byte pubkey) */
	assert_true(inlen > 34);
	assert_int_equal(in[inlen - 34], 33);
	p2pkh_for(in + inlen - 33, 33, out);
	assert_true(hn_script_is_p2pkh(out, 25, NULL));
	ctx_for(&c, v);
	assert_int_equal(hn_script_eval(in, inlen, out, 25, &c, err,
					sizeof(err)), 0);
	/* Any change to the signed part breaks the signature. */
	v->outputs[0].value += 1;
	ctx_for(&c, v);
	assert_int_equal(hn_script_eval(in, inlen, out, 25, &c, err,
					sizeof(err)), HN_ECONSENSUS);
	assert_non_null(strstr(err, "false"));
	v->outputs[0].value -= 1;
	/* The graph (weight, nonce, parents) is not signed. */
	v->weight += 1;
	v->nonce_lo ^= 1;
	ctx_for(&c, v);
	assert_int_equal(hn_script_eval(in, inlen, out, 25, &c, err,
					sizeof(err)), 0);
	/* Another pubkey hash: EQUALVERIFY fails. */
	out[5] ^= 1;
	assert_int_equal(hn_script_eval(in, inlen, out, 25, &c, err,
					sizeof(err)), HN_ECONSENSUS);
	assert_non_null(strstr(err, "EQUALVERIFY"));
	hn_vertex_free(v);
}

static void test_real_tx_signature(void **state)
{
	(void)state;
	check_real_vector(vec_b);
}

static void test_real_tct_signature(void **state)
{
	(void)state;
	check_real_vector(vec_c);
}

/* Fixed test keys. */
static void key(int n, uint8_t sk[32], uint8_t pk[33])
{
	secp256k1_pubkey p;
	size_t len = 33;

	memset(sk, 0, 32);
	sk[31] = (uint8_t)n;
	sk[0] = 0x11;
	assert_int_equal(secp256k1_ec_pubkey_create(sctx, &p, sk), 1);
	assert_int_equal(secp256k1_ec_pubkey_serialize(sctx, pk, &len, &p,
			 SECP256K1_EC_COMPRESSED), 1);
}

/* DER signature of sha256(msg32); @high_s flips S to n - S. */
static size_t sign(const uint8_t sk[32], const uint8_t msg32[32],
		   bool high_s, uint8_t der[80])
{
	secp256k1_ecdsa_signature sig;
	uint8_t digest[32], compact[64];
	size_t len = 80;

	hn_sha256(msg32, 32, digest);
	assert_int_equal(secp256k1_ecdsa_sign(sctx, &sig, digest, sk, NULL,
					      NULL), 1);
	if (high_s) {
		/* n - s: negate s as a scalar. */
		uint8_t s[32];

		assert_int_equal(secp256k1_ecdsa_signature_serialize_compact(
					 sctx, compact, &sig), 1);
		memcpy(s, compact + 32, 32);
		assert_int_equal(secp256k1_ec_seckey_negate(sctx, s), 1);
		memcpy(compact + 32, s, 32);
		assert_int_equal(secp256k1_ecdsa_signature_parse_compact(
					 sctx, &sig, compact), 1);
	}
	assert_int_equal(secp256k1_ecdsa_signature_serialize_der(sctx, der,
			 &len, &sig), 1);
	return len;
}

static size_t push(uint8_t *out, const uint8_t *d, size_t n)
{
	size_t k = 0;

	if (n > 75)
		out[k++] = HN_OP_PUSHDATA1;
	out[k++] = (uint8_t)n;
	memcpy(out + k, d, n);
	return k + n;
}

static void test_ctx(struct hn_script_ctx *c)
{
	memset(c, 0, sizeof(*c));
	c->version = HN_OPCODES_V2;
	for (int i = 0; i < 32; i++)
		c->sighash_data[i] = (uint8_t)(i * 7 + 1);
	c->tx_timestamp = 1000;
	c->max_multisig_pubkeys = 20;
	c->max_multisig_signatures = 15;
	c->p2pkh_version_byte = 0x28;
}

static int eval(const uint8_t *in, size_t il, const uint8_t *out, size_t ol,
		const struct hn_script_ctx *c)
{
	char err[160];

	return hn_script_eval(in, il, out, ol, c, err, sizeof(err));
}

static void test_p2pkh_signed(void **state)
{
	struct hn_script_ctx c;
	uint8_t sk[32], pk[33], der[80], in[200], out[40];
	size_t il, ol, dl;

	(void)state;
	test_ctx(&c);
	key(1, sk, pk);
	ol = p2pkh_for(pk, 33, out);
	dl = sign(sk, c.sighash_data, false, der);
	il = push(in, der, dl);
	il += push(in + il, pk, 33);
	assert_int_equal(eval(in, il, out, ol, &c), 0);
	/* High-S form of the same signature: accepted after normalizing. */
	dl = sign(sk, c.sighash_data, true, der);
	il = push(in, der, dl);
	il += push(in + il, pk, 33);
	assert_int_equal(eval(in, il, out, ol, &c), 0);
	/* Other message: OP_CHECKSIG pushes 0, final stack false. */
	c.sighash_data[0] ^= 1;
	assert_int_equal(eval(in, il, out, ol, &c), HN_ECONSENSUS);
	c.sighash_data[0] ^= 1;
	/* Corrupt DER (bad length byte): refused, not a crash. */
	in[2] ^= 0x40;
	assert_int_equal(eval(in, il, out, ol, &c), HN_ECONSENSUS);
	in[2] ^= 0x40;
	assert_int_equal(eval(in, il, out, ol, &c), 0);
	/* Uncompressed pubkey prefix: script error. */
	{
		uint8_t pk2[33];

		memcpy(pk2, pk, 33);
		pk2[0] = 4;
		ol = p2pkh_for(pk2, 33, out);
		il = push(in, der, dl);
		il += push(in + il, pk2, 33);
		assert_int_equal(eval(in, il, out, ol, &c), HN_ECONSENSUS);
	}
	/* Missing items. */
	assert_int_equal(eval(in, 0, out, ol, &c), HN_ECONSENSUS);
}

static void test_timelock(void **state)
{
	struct hn_script_ctx c;
	uint8_t sk[32], pk[33], der[80], in[200], out[40];
	uint8_t tl[4] = { 0, 0, 0x03, 0xe7 };   /* 999 */
	size_t il, ol, dl;

	(void)state;
	test_ctx(&c);
	key(2, sk, pk);
	ol = push(out, tl, 4);
	out[ol++] = HN_OP_GREATERTHAN_TIMESTAMP;
	ol += p2pkh_for(pk, 33, out + ol);
	assert_true(hn_script_is_p2pkh(out, ol, NULL));
	dl = sign(sk, c.sighash_data, false, der);
	il = push(in, der, dl);
	il += push(in + il, pk, 33);
	c.tx_timestamp = 1000;
	assert_int_equal(eval(in, il, out, ol, &c), 0);
	c.tx_timestamp = 999;   /* timestamp <= timelock: locked */
	assert_int_equal(eval(in, il, out, ol, &c), HN_ECONSENSUS);
	/* A 3-byte timelock is a struct error in the reference. */
	{
		uint8_t bad[8] = { 3, 0, 0, 1, HN_OP_GREATERTHAN_TIMESTAMP,
				   HN_OP_1_FOR_TEST };

		c.tx_timestamp = 1000;
		assert_int_equal(eval(bad, 6, NULL, 0, &c), HN_ECONSENSUS);
		bad[0] = 4;
		bad[4] = 1;
		bad[5] = HN_OP_GREATERTHAN_TIMESTAMP;
		bad[6] = HN_OP_1_FOR_TEST;
		assert_int_equal(eval(bad, 7, NULL, 0, &c), 0);
	}
}

static size_t redeem(uint8_t *r, int m, const uint8_t pks[][33], int n)
{
	size_t k = 0;

	r[k++] = (uint8_t)(HN_OP_0 + m);
	for (int i = 0; i < n; i++)
		k += push(r + k, pks[i], 33);
	r[k++] = (uint8_t)(HN_OP_0 + n);
	r[k++] = HN_OP_CHECKMULTISIG;
	return k;
}

static void test_multisig(void **state)
{
	struct hn_script_ctx c;
	uint8_t sks[3][32], pks[3][33], der[3][80], in[600], out[40], r[200];
	size_t dl[3], rl, il, ol;

	(void)state;
	test_ctx(&c);
	for (int i = 0; i < 3; i++) {
		key(10 + i, sks[i], pks[i]);
		dl[i] = sign(sks[i], c.sighash_data, i == 2, der[i]);
	}
	rl = redeem(r, 2, pks, 3);
	out[0] = HN_OP_HASH160;
	out[1] = 20;
	assert_int_equal(hn_hash160(r, rl, out + 2), 0);
	out[22] = HN_OP_EQUAL;
	ol = 23;
	assert_true(hn_script_is_multisig(out, ol));
	assert_false(hn_script_is_p2pkh(out, ol, NULL));
	/* sig of key 0 then key 2 (high S), in pubkey order. */
	il = push(in, der[0], dl[0]);
	il += push(in + il, der[2], dl[2]);
	il += push(in + il, r, rl);
	assert_int_equal(eval(in, il, out, ol, &c), 0);
	assert_int_equal(hn_script_sigops(in, il, out, ol, 20, false), 3);
	assert_int_equal(hn_script_sigops(out, ol, NULL, 0, 20, false), 0);
	/* Wrong order: key 2 then key 0. */
	il = push(in, der[2], dl[2]);
	il += push(in + il, der[0], dl[0]);
	il += push(in + il, r, rl);
	assert_int_equal(eval(in, il, out, ol, &c), HN_ECONSENSUS);
	/* Only one signature for 2-of-3. */
	il = push(in, der[1], dl[1]);
	il += push(in + il, r, rl);
	assert_int_equal(eval(in, il, out, ol, &c), HN_ECONSENSUS);
	/* Same signature twice. */
	il = push(in, der[1], dl[1]);
	il += push(in + il, der[1], dl[1]);
	il += push(in + il, r, rl);
	assert_int_equal(eval(in, il, out, ol, &c), HN_ECONSENSUS);
	/* Redeem script not matching the hash. */
	il = push(in, der[0], dl[0]);
	il += push(in + il, der[1], dl[1]);
	r[0] = HN_OP_0 + 1;
	il += push(in + il, r, rl);
	assert_int_equal(eval(in, il, out, ol, &c), HN_ECONSENSUS);
	/* Signature count above MAX_MULTISIG_SIGNATURES. */
	c.max_multisig_signatures = 1;
	r[0] = HN_OP_0 + 2;
	il = push(in, der[0], dl[0]);
	il += push(in + il, der[1], dl[1]);
	il += push(in + il, r, rl);
	assert_int_equal(eval(in, il, out, ol, &c), HN_ECONSENSUS);
	c.max_multisig_signatures = 15;
	assert_int_equal(eval(in, il, out, ol, &c), 0);
}

static void test_sigops(void **state)
{
	uint8_t s[8] = { HN_OP_CHECKSIG, HN_OP_CHECKSIG, HN_OP_0 + 5,
			 HN_OP_CHECKMULTISIG, HN_OP_CHECKMULTISIG,
			 HN_OP_CHECKDATASIG };

	(void)state;
	assert_int_equal(hn_script_sigops(s, 6, NULL, 0, 20, false),
			 2 + 5 + 20);
	assert_int_equal(hn_script_sigops(s, 6, NULL, 0, 20, true),
			 2 + 5 + 20 + 1);
	s[6] = 0xff;    /* invalid opcode */
	assert_int_equal(hn_script_sigops(s, 7, NULL, 0, 20, false),
			 HN_ECONSENSUS);
	s[6] = 5;       /* push past the end */
	assert_int_equal(hn_script_sigops(s, 7, NULL, 0, 20, false),
			 HN_ECONSENSUS);
}

static void test_opcodes(void **state)
{
	struct hn_script_ctx c;
	uint8_t s[64];

	(void)state;
	test_ctx(&c);
	/* 1 alone is true; 2 is not; two items is not; empty is not. */
	s[0] = HN_OP_1_FOR_TEST;
	assert_int_equal(eval(s, 1, NULL, 0, &c), 0);
	s[0] = HN_OP_0 + 2;
	assert_int_equal(eval(s, 1, NULL, 0, &c), HN_ECONSENSUS);
	s[0] = HN_OP_1_FOR_TEST;
	s[1] = HN_OP_1_FOR_TEST;
	assert_int_equal(eval(s, 2, NULL, 0, &c), HN_ECONSENSUS);
	assert_int_equal(eval(s, 0, NULL, 0, &c), HN_ECONSENSUS);
	/* Bytes 0x01 is not the integer 1. */
	s[0] = 1;
	s[1] = 1;
	assert_int_equal(eval(s, 2, NULL, 0, &c), HN_ECONSENSUS);
	/* EQUAL on bytes; EQUAL on integers is an error. */
	uint8_t eq[] = { 1, 7, 1, 7, HN_OP_EQUAL };

	assert_int_equal(eval(eq, sizeof(eq), NULL, 0, &c), 0);
	eq[3] = 8;
	assert_int_equal(eval(eq, sizeof(eq), NULL, 0, &c), HN_ECONSENSUS);
	uint8_t eqi[] = { HN_OP_1_FOR_TEST, HN_OP_1_FOR_TEST, HN_OP_EQUAL };

	assert_int_equal(eval(eqi, sizeof(eqi), NULL, 0, &c), HN_ECONSENSUS);
	/* DUP, PUSHDATA1 (zero length refused), push spanning into the
	 * output script (the reference concatenates). */
	uint8_t dup[] = { HN_OP_PUSHDATA1, 2, 9, 9, HN_OP_DUP, HN_OP_EQUAL };

	assert_int_equal(eval(dup, sizeof(dup), NULL, 0, &c), 0);
	assert_int_equal(eval(dup, 3, dup + 3, 3, &c), 0);
	uint8_t z[] = { HN_OP_PUSHDATA1, 0, HN_OP_1_FOR_TEST };

	assert_int_equal(eval(z, sizeof(z), NULL, 0, &c), HN_ECONSENSUS);
	/* Unknown opcode; V1-only opcode under V2. */
	uint8_t u[] = { HN_OP_1_FOR_TEST, 0xff };

	assert_int_equal(eval(u, 2, NULL, 0, &c), HN_ECONSENSUS);
	u[1] = 0;
	assert_int_equal(eval(u, 2, NULL, 0, &c), HN_ECONSENSUS);
	/* DATA_STREQUAL: data "\x02ab\x01c", k=1, value "c". */
	uint8_t ds[] = { 5, 2, 'a', 'b', 1, 'c', HN_OP_1_FOR_TEST, 1, 'c',
			 HN_OP_DATA_STREQUAL, 1, 0x05, 1, 0x05, HN_OP_EQUALVERIFY,
			 HN_OP_1_FOR_TEST };
	/* stack after STREQUAL: data; then push/EQUALVERIFY; left: data, 1 */
	c.version = HN_OPCODES_V2;
	assert_int_equal(eval(ds, sizeof(ds), NULL, 0, &c), HN_ECONSENSUS);
	c.version = HN_OPCODES_V1;
	/* V1: STREQUAL succeeds but data is left under the 1. */
	assert_int_equal(eval(ds, sizeof(ds), NULL, 0, &c), HN_ECONSENSUS);
	uint8_t ds2[] = { 5, 2, 'a', 'b', 1, 'c', HN_OP_1_FOR_TEST, 1, 'c',
			  HN_OP_DATA_STREQUAL, 5, 2, 'a', 'b', 1, 'c',
			  HN_OP_EQUAL };

	assert_int_equal(eval(ds2, sizeof(ds2), NULL, 0, &c), 0);
	ds2[8] = 'd';
	assert_int_equal(eval(ds2, sizeof(ds2), NULL, 0, &c), HN_ECONSENSUS);
	/* DATA_GREATERTHAN: data "\x01\x05", k=0, value 4 -> ok; 5 -> fail */
	uint8_t dg[] = { 2, 1, 5, HN_OP_0, 1, 4, HN_OP_DATA_GREATERTHAN,
			 2, 1, 5, HN_OP_EQUAL };

	assert_int_equal(eval(dg, sizeof(dg), NULL, 0, &c), 0);
	dg[5] = 5;
	assert_int_equal(eval(dg, sizeof(dg), NULL, 0, &c), HN_ECONSENSUS);
}

static void test_checkdatasig_find_p2pkh(void **state)
{
	struct hn_script_ctx c;
	uint8_t sk[32], pk[33], der[80], s[300], msg[32], h[32];
	struct hn_script_output o;
	uint8_t oscript[25], addr[25];
	size_t k = 0, dl;

	(void)state;
	test_ctx(&c);
	c.version = HN_OPCODES_V1;
	key(3, sk, pk);
	/* data = 32 bytes msg; signed over sha256(msg) */
	memset(msg, 0x42, sizeof(msg));
	dl = sign(sk, msg, false, der);
	k += push(s + k, msg, 32);
	k += push(s + k, der, dl);
	k += push(s + k, pk, 33);
	s[k++] = HN_OP_CHECKDATASIG;
	k += push(s + k, msg, 32);
	s[k++] = HN_OP_EQUAL;
	assert_int_equal(eval(s, k, NULL, 0, &c), 0);
	msg[0] ^= 1;
	k = push(s, msg, 32);
	k += push(s + k, der, dl);
	k += push(s + k, pk, 33);
	s[k++] = HN_OP_CHECKDATASIG;
	assert_int_equal(eval(s, k, NULL, 0, &c), HN_ECONSENSUS);

	/* FIND_P2PKH: an output paying the same value to the address. */
	p2pkh_for(pk, 33, oscript);
	o.value = 77;
	o.script = oscript;
	o.script_len = 25;
	c.outputs = &o;
	c.n_outputs = 1;
	c.spent_value = 77;
	addr[0] = 0x28;
	memcpy(addr + 1, oscript + 3, 20);
	hn_sha256d(addr, 21, h);
	memcpy(addr + 21, h, 4);
	k = push(s, addr, 25);
	s[k++] = HN_OP_FIND_P2PKH;
	assert_int_equal(eval(s, k, NULL, 0, &c), 0);
	c.spent_value = 78;
	assert_int_equal(eval(s, k, NULL, 0, &c), HN_ECONSENSUS);
	c.spent_value = 77;
	c.p2pkh_version_byte = 0x49;
	assert_int_equal(eval(s, k, NULL, 0, &c), HN_ECONSENSUS);
}

static void test_patterns(void **state)
{
	uint8_t s[40];
	uint8_t h[20] = { 0 };
	size_t k = 0;

	(void)state;
	s[k++] = HN_OP_HASH160;
	s[k++] = HN_OP_PUSHDATA1;       /* optional PUSHDATA1 form */
	s[k++] = 20;
	memcpy(s + k, h, 20);
	k += 20;
	s[k++] = HN_OP_EQUAL;
	assert_true(hn_script_is_multisig(s, k));
	s[k] = '\n';    /* Python's '$' matches before a final newline */
	assert_true(hn_script_is_multisig(s, k + 1));
	s[k] = 0;
	assert_false(hn_script_is_multisig(s, k + 1));
	assert_false(hn_script_is_multisig(s, k - 1));
}

static int setup(void **state)
{
	(void)state;
	sctx = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	return sctx ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	secp256k1_context_destroy(sctx);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_real_tx_signature),
		cmocka_unit_test(test_real_tct_signature),
		cmocka_unit_test(test_p2pkh_signed),
		cmocka_unit_test(test_timelock),
		cmocka_unit_test(test_multisig),
		cmocka_unit_test(test_sigops),
		cmocka_unit_test(test_opcodes),
		cmocka_unit_test(test_checkdatasig_find_p2pkh),
		cmocka_unit_test(test_patterns),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
