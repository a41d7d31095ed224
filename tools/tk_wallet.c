/*
 * tk_wallet.c: one-key P2PKH wallet for the tools (signing with
 * libsecp256k1, base58check addresses).
 */
#include "tk.h"

#include <stdlib.h>
#include <string.h>

#include <secp256k1.h>

#include "hn/err.h"
#include "hn/hash.h"
#include "hn/network.h"
#include "hn/vertex.h"

const uint8_t tk_unittests_key[32] = {
	0x1c, 0x60, 0x9d, 0x65, 0x53, 0x59, 0xab, 0x9f, 0x0e, 0x08, 0x62,
	0xf8, 0x1c, 0xaa, 0x89, 0x58, 0x5b, 0xfc, 0xea, 0x75, 0x7c, 0xa4,
	0xaa, 0xbf, 0x7c, 0x46, 0x18, 0x19, 0x42, 0x93, 0xd4, 0x31,
};

static const char b58[] =
	"123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

static void b58_encode(const uint8_t *in, size_t n, char *out)
{
	uint8_t digits[64];
	size_t nd = 0, k = 0;

	for (size_t i = 0; i < n && in[i] == 0; i++)
		out[k++] = '1';
	for (size_t i = 0; i < n; i++) {
		unsigned carry = in[i];

		for (size_t j = 0; j < nd; j++) {
			carry += (unsigned)digits[j] << 8;
			digits[j] = (uint8_t)(carry % 58);
			carry /= 58;
		}
		while (carry) {
			digits[nd++] = (uint8_t)(carry % 58);
			carry /= 58;
		}
	}
	while (nd)
		out[k++] = b58[digits[--nd]];
	out[k] = 0;
}

/* Decodes exactly @n bytes; HN_EINVAL on a bad character or size. */
static int b58_decode(const char *s, uint8_t *out, size_t n)
{
	uint8_t buf[64];
	size_t zeros = 0, len = 0;

	memset(buf, 0, sizeof(buf));
	while (s[zeros] == '1')
		zeros++;
	for (const char *p = s + zeros; *p; p++) {
		const char *c = strchr(b58, *p);
		unsigned carry;

		if (!c || !*p)
			return HN_EINVAL;
		carry = (unsigned)(c - b58);
		for (size_t j = 0; j < len; j++) {
			carry += (unsigned)buf[j] * 58;
			buf[j] = (uint8_t)carry;
			carry >>= 8;
		}
		while (carry) {
			if (len >= sizeof(buf))
				return HN_EINVAL;
			buf[len++] = (uint8_t)carry;
			carry >>= 8;
		}
	}
	if (zeros + len != n)
		return HN_EINVAL;
	memset(out, 0, zeros);
	for (size_t i = 0; i < len; i++)
		out[zeros + i] = buf[len - 1 - i];
	return 0;
}

int tk_address_check(const struct hn_network *net, const char *addr,
		     bool *multisig)
{
	uint8_t raw[25], ck[32];

	if (strlen(addr) > 40 || b58_decode(addr, raw, sizeof(raw)) < 0)
		return HN_EINVAL;
	hn_sha256d(raw, 21, ck);
	if (memcmp(ck, raw + 21, 4))
		return HN_EINVAL;
	if (raw[0] != net->p2pkh_version_byte &&
	    raw[0] != net->multisig_version_byte)
		return HN_EINVAL;
	*multisig = raw[0] == net->multisig_version_byte;
	return 0;
}

int tk_address_to_script(const struct hn_network *net, const char *addr,
			 uint8_t script[25])
{
	uint8_t raw[25];
	bool ms;

	if (tk_address_check(net, addr, &ms) < 0 || ms ||
	    b58_decode(addr, raw, sizeof(raw)) < 0)
		return HN_EINVAL;
	script[0] = 0x76;
	script[1] = 0xa9;
	script[2] = 20;
	memcpy(script + 3, raw + 1, 20);
	script[23] = 0x88;
	script[24] = 0xac;
	return 0;
}

void tk_script_to_address(const struct hn_network *net,
			  const uint8_t script[25], char *out)
{
	uint8_t raw[25], ck[32];

	raw[0] = net->p2pkh_version_byte;
	memcpy(raw + 1, script + 3, 20);
	hn_sha256d(raw, 21, ck);
	memcpy(raw + 21, ck, 4);
	b58_encode(raw, sizeof(raw), out);
}

int tk_wallet_init(struct tk_wallet *w, const struct hn_network *net,
		   const uint8_t seckey[32])
{
	secp256k1_context *c;
	secp256k1_pubkey pk;
	size_t n = 33;

	memset(w, 0, sizeof(*w));
	c = secp256k1_context_create(SECP256K1_CONTEXT_NONE);
	if (!c)
		return HN_ENOMEM;
	if (!secp256k1_ec_pubkey_create(c, &pk, seckey) ||
	    !secp256k1_ec_pubkey_serialize(c, w->pubkey, &n, &pk,
					   SECP256K1_EC_COMPRESSED)) {
		secp256k1_context_destroy(c);
		return HN_EINVAL;
	}
	w->ctx = c;
	memcpy(w->seckey, seckey, 32);
	w->script[0] = 0x76;
	w->script[1] = 0xa9;
	w->script[2] = 20;
	if (hn_hash160(w->pubkey, 33, w->script + 3) < 0) {
		tk_wallet_release(w);
		return HN_EINVAL;
	}
	w->script[23] = 0x88;
	w->script[24] = 0xac;
	tk_script_to_address(net, w->script, w->address);
	return 0;
}

void tk_wallet_release(struct tk_wallet *w)
{
	if (w->ctx)
		secp256k1_context_destroy(w->ctx);
	memset(w, 0, sizeof(*w));
}

int tk_wallet_sign(const struct tk_wallet *w, struct hn_vertex *v)
{
	secp256k1_ecdsa_signature sig;
	uint8_t sd[32], digest[32], der[72];
	size_t dlen = sizeof(der);
	int rc;

	if ((rc = hn_vertex_sighash_data(v, sd)) < 0)
		return rc;
	hn_sha256(sd, sizeof(sd), digest);
	if (!secp256k1_ecdsa_sign(w->ctx, &sig, digest, w->seckey, NULL,
				  NULL) ||
	    !secp256k1_ecdsa_signature_serialize_der(w->ctx, der, &dlen, &sig))
		return HN_EINVAL;
	for (unsigned i = 0; i < v->n_inputs; i++) {
		struct hn_tx_input *in = &v->inputs[i];
		uint8_t *d = malloc(dlen + 35);

		if (!d)
			return HN_ENOMEM;
		d[0] = (uint8_t)dlen;
		memcpy(d + 1, der, dlen);
		d[1 + dlen] = 33;
		memcpy(d + 2 + dlen, w->pubkey, 33);
		free(in->data);
		in->data = d;
		in->data_len = (uint16_t)(dlen + 35);
	}
	return 0;
}

int tk_output_set(struct hn_tx_output *o, uint64_t value, uint8_t token_data,
		  const uint8_t script[25])
{
	o->value = value;
	o->token_data = token_data;
	o->script_len = 25;
	o->script = malloc(25);
	if (!o->script)
		return HN_ENOMEM;
	memcpy(o->script, script, 25);
	return 0;
}
