/*
 * p2p_tls.h: peer identity (RSA key, peer id, CA-signed certificate) and
 * the mutual TLS 1.3 context, as the reference node does it
 * (hathor/p2p/peer.py, utils.py: generate_certificate).
 *
 * - peer id = sha256(sha256(DER SubjectPublicKeyInfo of the RSA key));
 * - the certificate: CN "Hathor full node", issuer = the Hathor CA's name,
 *   BasicConstraints(ca=False) critical, valid from now-1h for 100 years,
 *   random serial, SHA-256, signed with the public Hathor CA key;
 * - TLS 1.3 only, both sides present a certificate that must chain to the
 *   Hathor CA; no hostname check.  The binding between the certificate key
 *   and the PEER-ID pubKey is checked by the handshake (p2p_proto.c).
 *
 * The identity file uses the reference's peer JSON format
 * ({"id","pubKey","privKey"(base64 PKCS#8 DER),"entrypoints"}), so a key can
 * move between the two implementations.
 */
#ifndef P2P_TLS_H
#define P2P_TLS_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

struct p2p_identity {
	EVP_PKEY *key;          /* owned RSA private key */
	X509 *cert;             /* owned leaf certificate signed by the CA */
	uint8_t *spki;          /* owned DER SubjectPublicKeyInfo */
	size_t spki_len;
	uint8_t id[32];         /* peer id */
	char id_hex[65];        /* its lower hex */
	char *pubkey_b64;       /* owned base64 of spki (PEER-ID "pubKey") */
};

/* The embedded Hathor CA (ca/ca.crt, ca/ca.key). */
extern const char p2p_ca_crt_pem[];
extern const char p2p_ca_key_pem[];

/* Loads the identity from @path (reference peer JSON), or, if the file does
 * not exist and @create is set, generates a 2048-bit RSA key and writes it
 * there (mode 0600, via a temp file and rename).  @path NULL: an ephemeral
 * identity.  Then makes the CA-signed certificate.  Returns 0 and *@out
 * (free with p2p_identity_free), or a negative code with @err filled. */
int p2p_identity_open(const char *path, int create, struct p2p_identity **out,
		      char *err, size_t errlen);
void p2p_identity_free(struct p2p_identity *id);

/* peer id of a DER SubjectPublicKeyInfo. */
void p2p_peer_id_of_spki(const uint8_t *spki, size_t len, uint8_t out[32]);

/* Mutual TLS 1.3 context trusting only the Hathor CA, with @id's key and
 * certificate.  Returns NULL with @err filled on failure. */
SSL_CTX *p2p_tls_ctx_new(const struct p2p_identity *id, char *err,
			 size_t errlen);

/* DER SubjectPublicKeyInfo of the peer's certificate on an established
 * @ssl, malloc'd into *@der.  Returns 0 or a negative code. */
int p2p_tls_peer_spki(SSL *ssl, uint8_t **der, size_t *len);

/* Text of the last OpenSSL error (or "unknown"), clearing the queue. */
const char *p2p_tls_errstr(char *buf, size_t len);

#endif /* P2P_TLS_H */
