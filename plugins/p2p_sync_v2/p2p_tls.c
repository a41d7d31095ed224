/*
 * p2p_tls.c: peer identity and mutual TLS 1.3 (see p2p_tls.h).
 *
 * Everything here runs once per process (identity, context) except
 * p2p_tls_peer_spki(), which runs once per connection after the handshake.
 */
#include "p2p_tls.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>
#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>

#include "hn/b64.h"
#include "hn/err.h"
#include "hn/hash.h"
#include "hn/hex.h"

#define MAX_ID_FILE (64 * 1024)

const char *p2p_tls_errstr(char *buf, size_t len)
{
	unsigned long e = ERR_get_error();

	if (!e) {
		snprintf(buf, len, "unknown");
	} else {
		ERR_error_string_n(e, buf, len);
		ERR_clear_error();
	}
	return buf;
}

static int seterr(char *err, size_t errlen, int code, const char *what)
{
	char ebuf[200];

	if (err && errlen)
		snprintf(err, errlen, "%s: %s", what,
			 p2p_tls_errstr(ebuf, sizeof(ebuf)));
	return code;
}

void p2p_peer_id_of_spki(const uint8_t *spki, size_t len, uint8_t out[32])
{
	hn_sha256d(spki, len, out);
}

void p2p_identity_free(struct p2p_identity *id)
{
	if (!id)
		return;
	EVP_PKEY_free(id->key);
	X509_free(id->cert);
	free(id->spki);
	free(id->pubkey_b64);
	free(id);
}

static X509 *load_ca_cert(void)
{
	BIO *b = BIO_new_mem_buf(p2p_ca_crt_pem, -1);
	X509 *x;

	if (!b)
		return NULL;
	x = PEM_read_bio_X509(b, NULL, NULL, NULL);
	BIO_free(b);
	return x;
}

static EVP_PKEY *load_ca_key(void)
{
	BIO *b = BIO_new_mem_buf(p2p_ca_key_pem, -1);
	EVP_PKEY *k;

	if (!b)
		return NULL;
	k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	return k;
}

/* The certificate of generate_certificate(). */
static X509 *make_cert(EVP_PKEY *key, char *err, size_t errlen)
{
	X509 *ca = load_ca_cert();
	EVP_PKEY *cakey = load_ca_key();
	X509 *x = X509_new();
	X509_NAME *subj = X509_NAME_new();
	BIGNUM *serial = BN_new();
	ASN1_INTEGER *aserial = NULL;
	X509_EXTENSION *bc = NULL;
	BASIC_CONSTRAINTS *bcs = BASIC_CONSTRAINTS_new();
	X509 *out = NULL;

	if (!ca || !cakey || !x || !subj || !serial || !bcs) {
		seterr(err, errlen, HN_ENOMEM, "cannot load the hathor ca");
		goto done;
	}
	/* x509.random_serial_number(): 159 random bits, positive. */
	if (!BN_rand(serial, 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !(aserial = BN_to_ASN1_INTEGER(serial, NULL)) ||
	    !X509_set_version(x, X509_VERSION_3) ||
	    !X509_set_serialNumber(x, aserial) ||
	    !X509_set_issuer_name(x, X509_get_issuer_name(ca)) ||
	    !X509_NAME_add_entry_by_txt(subj, "CN", MBSTRING_ASC,
					(const unsigned char *)
					"Hathor full node", -1, -1, 0) ||
	    !X509_set_subject_name(x, subj) ||
	    !X509_gmtime_adj(X509_getm_notBefore(x), -3600) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x), 365 * 100, 0, NULL) ||
	    !X509_set_pubkey(x, key)) {
		seterr(err, errlen, HN_EINVAL, "cannot build certificate");
		goto done;
	}
	bcs->ca = 0;
	bc = X509V3_EXT_i2d(NID_basic_constraints, 1, bcs);
	if (!bc || !X509_add_ext(x, bc, -1)) {
		seterr(err, errlen, HN_EINVAL, "cannot add basic constraints");
		goto done;
	}
	if (!X509_sign(x, cakey, EVP_sha256())) {
		seterr(err, errlen, HN_EINVAL, "cannot sign certificate");
		goto done;
	}
	out = x;
	x = NULL;
done:
	X509_free(ca);
	EVP_PKEY_free(cakey);
	X509_free(x);
	X509_NAME_free(subj);
	BN_free(serial);
	ASN1_INTEGER_free(aserial);
	X509_EXTENSION_free(bc);
	BASIC_CONSTRAINTS_free(bcs);
	return out;
}

static int fill_identity(struct p2p_identity *id, char *err, size_t errlen)
{
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(id->key, &der);

	if (n <= 0)
		return seterr(err, errlen, HN_EINVAL, "cannot encode public key");
	id->spki = malloc((size_t)n);
	if (!id->spki) {
		OPENSSL_free(der);
		return HN_ENOMEM;
	}
	memcpy(id->spki, der, (size_t)n);
	id->spki_len = (size_t)n;
	OPENSSL_free(der);
	p2p_peer_id_of_spki(id->spki, id->spki_len, id->id);
	hn_hex_encode(id->id, 32, id->id_hex);
	id->pubkey_b64 = hn_b64_encode(id->spki, id->spki_len);
	if (!id->pubkey_b64)
		return HN_ENOMEM;
	id->cert = make_cert(id->key, err, errlen);
	if (!id->cert)
		return HN_EINVAL;
	return 0;
}

static int read_file(const char *path, char **out, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;
	ssize_t n;
	size_t len = 0;

	if (fd < 0)
		return -errno;
	buf = malloc(MAX_ID_FILE + 1);
	if (!buf) {
		close(fd);
		return HN_ENOMEM;
	}
	while ((n = read(fd, buf + len, MAX_ID_FILE - len)) > 0)
		len += (size_t)n;
	close(fd);
	if (n < 0 || len >= MAX_ID_FILE) {
		free(buf);
		snprintf(err, errlen, "cannot read peer identity '%s'", path);
		return HN_EIO;
	}
	buf[len] = '\0';
	*out = buf;
	return 0;
}

static int load_identity(const char *path, struct p2p_identity *id,
			 char *err, size_t errlen)
{
	char *text = NULL;
	struct json_object *root = NULL, *v;
	uint8_t *der = NULL;
	size_t derlen = 0;
	const unsigned char *p;
	int rc;

	rc = read_file(path, &text, err, errlen);
	if (rc < 0)
		return rc;
	root = json_tokener_parse(text);
	if (!root || !json_object_object_get_ex(root, "privKey", &v) ||
	    !json_object_is_type(v, json_type_string) ||
	    hn_b64_decode(json_object_get_string(v), &der, &derlen) < 0) {
		snprintf(err, errlen,
			 "peer identity '%s' has no valid privKey", path);
		rc = HN_EPARSE;
		goto out;
	}
	p = der;
	id->key = d2i_AutoPrivateKey(NULL, &p, (long)derlen);
	if (!id->key || EVP_PKEY_get_base_id(id->key) != EVP_PKEY_RSA) {
		snprintf(err, errlen,
			 "peer identity '%s': privKey is not an RSA key", path);
		rc = HN_EPARSE;
		goto out;
	}
	rc = fill_identity(id, err, errlen);
	if (rc < 0)
		goto out;
	/* The stored id, if any, must match the key. */
	if (json_object_object_get_ex(root, "id", &v) &&
	    (!json_object_is_type(v, json_type_string) ||
	     strcmp(json_object_get_string(v), id->id_hex) != 0)) {
		snprintf(err, errlen,
			 "peer identity '%s': id does not match the key", path);
		rc = HN_EPARSE;
	}
out:
	free(text);
	free(der);
	json_object_put(root);
	return rc;
}

static int save_identity(const char *path, const struct p2p_identity *id,
			 char *err, size_t errlen)
{
	PKCS8_PRIV_KEY_INFO *p8 = EVP_PKEY2PKCS8(id->key);
	unsigned char *der = NULL;
	int n = p8 ? i2d_PKCS8_PRIV_KEY_INFO(p8, &der) : -1;
	char *b64 = n > 0 ? hn_b64_encode(der, (size_t)n) : NULL;
	struct json_object *o = json_object_new_object();
	char tmp[4096];
	const char *s;
	int fd = -1, rc = 0;
	size_t len;

	PKCS8_PRIV_KEY_INFO_free(p8);
	if (der) {
		OPENSSL_cleanse(der, (size_t)n);
		OPENSSL_free(der);
	}
	if (!b64 || !o) {
		rc = HN_ENOMEM;
		goto out;
	}
	json_object_object_add(o, "id", json_object_new_string(id->id_hex));
	json_object_object_add(o, "pubKey",
			       json_object_new_string(id->pubkey_b64));
	json_object_object_add(o, "privKey", json_object_new_string(b64));
	json_object_object_add(o, "entrypoints", json_object_new_array());
	s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PRETTY |
					   JSON_C_TO_STRING_NOSLASHESCAPE);
	if (snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)getpid()) >=
	    (int)sizeof(tmp)) {
		rc = HN_ERANGE;
		goto out;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	len = strlen(s);
	if (fd < 0 || write(fd, s, len) != (ssize_t)len ||
	    write(fd, "\n", 1) != 1 || fsync(fd) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot write peer identity '%s': %s",
			 tmp, strerror(errno));
		unlink(tmp);
		goto out;
	}
	if (rename(tmp, path) < 0) {
		rc = -errno;
		snprintf(err, errlen, "cannot rename '%s' to '%s': %s", tmp,
			 path, strerror(errno));
		unlink(tmp);
	}
out:
	if (fd >= 0)
		close(fd);
	if (b64) {
		OPENSSL_cleanse(b64, strlen(b64));
		free(b64);
	}
	json_object_put(o);
	return rc;
}

int p2p_identity_open(const char *path, int create, struct p2p_identity **out,
		      char *err, size_t errlen)
{
	struct p2p_identity *id = calloc(1, sizeof(*id));
	int rc;

	if (!id)
		return HN_ENOMEM;
	if (path) {
		rc = load_identity(path, id, err, errlen);
		if (rc == 0)
			goto ok;
		if (rc != -ENOENT || !create)
			goto fail;
		if (rc == -ENOENT)
			snprintf(err, errlen, "peer identity '%s' missing",
				 path);
	}
	id->key = EVP_RSA_gen(2048);
	if (!id->key) {
		rc = seterr(err, errlen, HN_ENOMEM, "cannot generate rsa key");
		goto fail;
	}
	rc = fill_identity(id, err, errlen);
	if (rc < 0)
		goto fail;
	if (path) {
		rc = save_identity(path, id, err, errlen);
		if (rc < 0)
			goto fail;
	}
ok:
	*out = id;
	return 0;
fail:
	p2p_identity_free(id);
	return rc;
}

SSL_CTX *p2p_tls_ctx_new(const struct p2p_identity *id, char *err,
			 size_t errlen)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_method());
	X509 *ca = load_ca_cert();
	X509_STORE *store;

	if (!ctx || !ca)
		goto fail;
	if (!SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION) ||
	    !SSL_CTX_set_max_proto_version(ctx, TLS1_3_VERSION))
		goto fail;
	if (SSL_CTX_use_certificate(ctx, id->cert) != 1 ||
	    SSL_CTX_use_PrivateKey(ctx, id->key) != 1 ||
	    SSL_CTX_check_private_key(ctx) != 1)
		goto fail;
	store = SSL_CTX_get_cert_store(ctx);
	if (!store || X509_STORE_add_cert(store, ca) != 1)
		goto fail;
	X509_free(ca);
	ca = NULL;
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER |
			   SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(ctx, 2);
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
			 SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER |
			 SSL_MODE_RELEASE_BUFFERS);
	SSL_CTX_set_options(ctx, SSL_OP_NO_TICKET);
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	return ctx;
fail:
	seterr(err, errlen, HN_EINVAL, "cannot set up tls context");
	X509_free(ca);
	SSL_CTX_free(ctx);
	return NULL;
}

int p2p_tls_peer_spki(SSL *ssl, uint8_t **der, size_t *len)
{
	X509 *peer = SSL_get1_peer_certificate(ssl);
	EVP_PKEY *pk;
	unsigned char *buf = NULL;
	int n;

	if (!peer)
		return HN_ENOENT;
	pk = X509_get0_pubkey(peer);
	n = pk ? i2d_PUBKEY(pk, &buf) : -1;
	X509_free(peer);
	if (n <= 0)
		return HN_EINVAL;
	*der = malloc((size_t)n);
	if (!*der) {
		OPENSSL_free(buf);
		return HN_ENOMEM;
	}
	memcpy(*der, buf, (size_t)n);
	*len = (size_t)n;
	OPENSSL_free(buf);
	return 0;
}
