/*
 * p2p_proto.c: the HELLO -> PEER-ID -> READY handshake and the READY-state
 * control messages (PING/PONG, GET-PEERS/PEERS, GET-BEST-BLOCKCHAIN),
 * following hathor/p2p/states/{hello,peer_id,ready}.py of the reference
 * node (v0.69.0), including its error texts.
 *
 * Every command has a table of states where it is valid; anything else
 * gets "ERROR Invalid Command: ProtocolMessages.<NAME> <payload>" and a
 * close, exactly as HathorProtocol.recv_message.  A handler failure (what
 * would be an exception in the reference) gets
 * "ERROR Error processing "<CMD>" command" and a close.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <json-c/json.h>
#include <openssl/rand.h>

#include "hn/b64.h"
#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"
#include "p2p_int.h"
#include "p2p_json.h"

/* A handler failed the way a Python exception would. */
#define EHANDLER (-2000)

static const struct {
	const char *name;
	unsigned bit;
} cap_names[] = {
	{ "whitelist", P2P_CAP_WHITELIST },
	{ "sync-version", P2P_CAP_SYNC_VERSION },
	{ "get-best-blockchain", P2P_CAP_GET_BEST_BLOCKCHAIN },
	{ "ipv6", P2P_CAP_IPV6 },
	{ "nano-state", P2P_CAP_NANO_STATE },
};

void p2p_proto_release(struct p2p_conn *c)
{
	size_t i;

	for (i = 0; i < c->n_peer_eps; i++)
		free(c->peer_eps[i]);
	free(c->peer_eps);
	c->peer_eps = NULL;
	c->n_peer_eps = 0;
}

/* --- entry points (hathor/p2p/peer_endpoint.py) --- */

int p2p_ep_parse(const char *s, struct p2p_ep *out, char *err, size_t errlen)
{
	const char *p, *hs, *he, *ps, *q;
	size_t hl;
	char *end;
	long port;

	memset(out, 0, sizeof(*out));
	if (strncmp(s, "tcp://", 6) != 0) {
		const char *colon = strstr(s, "://");

		snprintf(err, errlen, "'%.*s' is not a valid Protocol",
			 colon ? (int)(colon - s) : 0, s);
		return HN_EPARSE;
	}
	p = s + 6;
	if (*p == '[') {
		hs = p + 1;
		he = strchr(hs, ']');
		if (!he) {
			snprintf(err, errlen, "Invalid IPv6 URL");
			return HN_EPARSE;
		}
		p = he + 1;
	} else {
		hs = p;
		he = p + strcspn(p, ":/?#");
		p = he;
	}
	hl = (size_t)(he - hs);
	if (hl == 0) {
		snprintf(err, errlen, "expected a host: \"%s\"", s);
		return HN_EPARSE;
	}
	if (hl > 255) {
		snprintf(err, errlen, "hostname too long");
		return HN_EPARSE;
	}
	if (*p != ':') {
		snprintf(err, errlen, "expected a port: \"%s\"", s);
		return HN_EPARSE;
	}
	ps = p + 1;
	port = strtol(ps, &end, 10);
	if (end == ps || !(*end == '\0' || *end == '/' || *end == '?') ||
	    *ps == '+' || *ps == '-' || *ps == ' ') {
		snprintf(err, errlen, "Port could not be cast to integer "
			 "value as '%.*s'", (int)strcspn(ps, "/?"), ps);
		return HN_EPARSE;
	}
	if (port < 0 || port > 65535) {
		snprintf(err, errlen, "Port out of range 0-65535");
		return HN_EPARSE;
	}
	p = end;
	if (*p == '/')
		p++;
	if (*p && *p != '?') {
		snprintf(err, errlen, "unexpected path: \"%s\"", s);
		return HN_EPARSE;
	}
	for (size_t i = 0; i < hl; i++) {
		char ch = hs[i];

		out->host[i] = (ch >= 'A' && ch <= 'Z') ? (char)(ch + 32) : ch;
	}
	out->host[hl] = '\0';
	out->port = (uint16_t)port;
	if (*p == '?') {
		unsigned n_ids = 0;

		q = p + 1;
		while (*q) {
			size_t kl = strcspn(q, "=&");

			if (kl == 2 && strncmp(q, "id", 2) == 0 &&
			    q[2] == '=') {
				const char *v = q + 3;
				size_t vl = strcspn(v, "&");

				n_ids++;
				if (vl != 64 || hn_hex_decode_n(v, 64, out->id,
								32, NULL)) {
					snprintf(err, errlen, "non-hexadecimal "
						 "number found in fromhex() "
						 "arg");
					return HN_EPARSE;
				}
				out->has_id = true;
			}
			q += strcspn(q, "&");
			if (*q == '&')
				q++;
		}
		if (n_ids > 1) {
			snprintf(err, errlen, "unexpected id count: %u", n_ids);
			return HN_EPARSE;
		}
	}
	return 0;
}

void p2p_ep_format(const struct p2p_ep *ep, char *out, size_t outlen)
{
	if (strchr(ep->host, ':'))
		snprintf(out, outlen, "tcp://[%s]:%u", ep->host, ep->port);
	else
		snprintf(out, outlen, "tcp://%s:%u", ep->host, ep->port);
}

static bool ep_is_ipv6(const char *s)
{
	struct p2p_ep ep;
	char e[64];

	return p2p_ep_parse(s, &ep, e, sizeof(e)) == 0 &&
	       strchr(ep.host, ':') != NULL;
}

/* --- HELLO --- */

static struct json_object *caps_array(unsigned caps)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (caps & cap_names[i].bit)
			json_object_array_add(a, json_object_new_string(
						      cap_names[i].name));
	return a;
}

static void send_hello(struct p2p_conn *c)
{
	struct p2p *p = c->p2p;
	const struct hn_network *net = p->cfg.net;
	struct json_object *o = json_object_new_object();
	struct json_object *sync = json_object_new_array();
	struct json_object *settings =
		p2p_json_parse(p->settings_json, strlen(p->settings_json),
			       NULL);
	const char *s;

	json_object_object_add(o, "app", json_object_new_string(p->app));
	json_object_object_add(o, "network",
			       json_object_new_string(net->p2p_network));
	json_object_object_add(o, "remote_address",
			       json_object_new_string(c->remote));
	json_object_object_add(o, "genesis_short_hash",
			       json_object_new_string(net->genesis_short_hash));
	json_object_object_add(o, "timestamp",
			       json_object_new_double(p2p_now(p)));
	json_object_object_add(o, "settings_dict", settings);
	json_object_object_add(o, "capabilities", caps_array(P2P_MY_CAPS));
	json_object_array_add(sync, json_object_new_string("v2"));
	json_object_object_add(o, "sync_versions", sync);
	s = p2p_json_compact(o);
	p2p_conn_send(c, P2P_CMD_HELLO, s, strlen(s));
	json_object_put(o);
}

static void send_peer_id(struct p2p_conn *c)
{
	struct p2p *p = c->p2p;
	struct json_object *o = json_object_new_object();
	struct json_object *eps = json_object_new_array();
	bool ipv6 = p2p_conn_has_cap(c, P2P_CAP_IPV6);
	const char *s;
	size_t i;

	/* my_eps is kept sorted (entrypoints_as_str() sorts). */
	for (i = 0; i < p->cfg.n_entrypoints; i++)
		if (ipv6 || !ep_is_ipv6(p->my_eps[i]))
			json_object_array_add(eps, json_object_new_string(
						      p->my_eps[i]));
	json_object_object_add(o, "id", json_object_new_string(p->id->id_hex));
	json_object_object_add(o, "pubKey",
			       json_object_new_string(p->id->pubkey_b64));
	json_object_object_add(o, "entrypoints", eps);
	s = p2p_json_compact(o);
	p2p_conn_send(c, P2P_CMD_PEER_ID, s, strlen(s));
	json_object_put(o);
}

void p2p_proto_start(struct p2p_conn *c)
{
	struct p2p_env *env = c->env;

	send_hello(c);
	if (!p2p_conn_dead(c))
		env->timer_set(env->ctx, c->tick, 1.0, 1.0);
}

static int handle_hello(struct p2p_conn *c, const char *pl, size_t plen)
{
	struct p2p *p = c->p2p;
	const struct hn_network *net = p->cfg.net;
	struct json_object *o = p2p_json_parse(pl, plen, NULL), *v, *caps;
	static const char *const req[] = { "app", "network", "remote_address",
		"genesis_short_hash", "timestamp", "capabilities" };
	bool sync_v2 = false;
	double ts, dt;
	size_t i, n;
	int rc = 0;

	if (!o || json_object_is_type(o, json_type_array) ||
	    json_object_is_type(o, json_type_string)) {
		/* json_loads failed, or set(data) lacks the fields. */
		p2p_conn_error_close(c, "Invalid payload.");
		goto out;
	}
	if (!json_object_is_type(o, json_type_object)) {
		rc = EHANDLER;  /* set(<number>) raises TypeError */
		goto out;
	}
	for (i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		if (!json_object_object_get_ex(o, req[i], NULL)) {
			p2p_conn_error_close(c, "Invalid payload.");
			goto out;
		}
	}
	json_object_object_get_ex(o, "capabilities", &caps);
	if (!json_object_is_type(caps, json_type_array)) {
		rc = EHANDLER;
		goto out;
	}
	c->caps = 0;
	n = json_object_array_length(caps);
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(caps, i);
		size_t k;

		if (!json_object_is_type(e, json_type_string))
			continue;
		for (k = 0; k < sizeof(cap_names) / sizeof(cap_names[0]); k++)
			if (strcmp(json_object_get_string(e),
				   cap_names[k].name) == 0)
				c->caps |= cap_names[k].bit;
	}
	if (net->enable_peer_whitelist && !(c->caps & P2P_CAP_WHITELIST)) {
		p2p_conn_error_close(c, "Must have whitelist capability.");
		goto out;
	}
	if (c->caps & P2P_CAP_SYNC_VERSION) {
		if (!json_object_object_get_ex(o, "sync_versions", &v)) {
			p2p_conn_logf(c, P2P_LOG_WARN, "invalid protocol: "
				      "expected sync_versions field");
			p2p_conn_error_close(c, "invalid protocol");
			goto out;
		}
		if (!json_object_is_type(v, json_type_array)) {
			rc = EHANDLER;
			goto out;
		}
		n = json_object_array_length(v);
		for (i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(v, i);

			if (json_object_is_type(e, json_type_string) &&
			    strcmp(json_object_get_string(e), "v2") == 0)
				sync_v2 = true;
		}
	}
	/* Without the capability v1.1 is implied, which we do not speak. */
	if (!sync_v2) {
		p2p_conn_logf(c, P2P_LOG_INFO,
			      "no compatible sync version to use");
		p2p_conn_error_close(c, "no compatible sync version to use");
		goto out;
	}
	json_object_object_get_ex(o, "app", &v);
	snprintf(c->app_version, sizeof(c->app_version), "%s",
		 json_object_is_type(v, json_type_string) ?
		 json_object_get_string(v) : "Unknown");
	json_object_object_get_ex(o, "network", &v);
	if (!json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), net->p2p_network) != 0) {
		p2p_conn_error_close(c, "Wrong network.");
		goto out;
	}
	json_object_object_get_ex(o, "genesis_short_hash", &v);
	if (!json_object_is_type(v, json_type_string) ||
	    strcmp(json_object_get_string(v), net->genesis_short_hash) != 0) {
		p2p_conn_error_close(c, "Different genesis.");
		goto out;
	}
	json_object_object_get_ex(o, "timestamp", &v);
	if (!json_object_is_type(v, json_type_int) &&
	    !json_object_is_type(v, json_type_double)) {
		rc = EHANDLER;  /* str - float: TypeError */
		goto out;
	}
	ts = json_object_get_double(v);
	dt = ts - p2p_now(p);
	if (!(fabs(dt) <= net->max_future_timestamp_allowed / 2.0)) {
		p2p_conn_error_close(c, "Nodes timestamps too far apart.");
		goto out;
	}
	if (json_object_object_get_ex(o, "settings_dict", &v)) {
		struct json_object *mine =
			p2p_json_parse(p->settings_json,
				       strlen(p->settings_json), NULL);
		bool same = p2p_json_eq(v, mine);

		json_object_put(mine);
		if (!same) {
			p2p_conn_error_close(c, "Settings values are "
					     "different. %s", p->settings_json);
			goto out;
		}
	}
	c->diff_timestamp = dt;
	c->state = P2P_CONN_PEER_ID;
	send_peer_id(c);
out:
	json_object_put(o);
	return rc;
}

/* --- PEER-ID --- */

static bool entrypoint_valid(struct p2p_conn *c)
{
	size_t i;

	if (c->n_peer_eps == 0) {
		/* Behind a NAT: accepted, flagged. */
		c->no_entrypoints = true;
		return true;
	}
	for (i = 0; i < c->n_peer_eps; i++) {
		struct p2p_ep ep;
		char e[64];

		if (p2p_ep_parse(c->peer_eps[i], &ep, e, sizeof(e)) < 0)
			continue;
		if (c->target) {
			/* We dialed: the address we used must be listed. */
			if (ep.port == c->target->port &&
			    (strcmp(ep.host, c->target->host) == 0 ||
			     strcmp(ep.host, c->remote_host) == 0))
				return true;
		} else {
			/* Inbound: only the host can be checked. */
			if (strcmp(ep.host, c->remote_host) == 0)
				return true;
			if (strcmp(ep.host, "localhost") == 0 &&
			    (strcmp(c->remote_host, "127.0.0.1") == 0 ||
			     strcmp(c->remote_host, "::1") == 0))
				return true;
		}
	}
	/* The reference also resolves entrypoint names by DNS here; we do not
	 * (a lookup would block the loop): a known difference, docs/p2p.md. */
	return false;
}

static void enter_ready(struct p2p_conn *c);

/* base64.b64decode() without validate: characters outside the alphabet
 * are dropped, then the padding must work out. */
static int py_b64decode(const char *in, uint8_t **out, size_t *outlen)
{
	size_t n = strlen(in), k = 0, i;
	char *clean = malloc(n + 1);
	int rc;

	if (!clean)
		return HN_ENOMEM;
	for (i = 0; i < n; i++) {
		char ch = in[i];

		if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		    (ch >= '0' && ch <= '9') || ch == '+' || ch == '/' ||
		    ch == '=')
			clean[k++] = ch;
	}
	clean[k] = '\0';
	if (k == 0) {
		free(clean);
		*out = calloc(1, 1);
		*outlen = 0;
		return *out ? 0 : HN_ENOMEM;
	}
	rc = hn_b64_decode(clean, out, outlen);
	free(clean);
	return rc;
}

static int handle_peer_id(struct p2p_conn *c, const char *pl, size_t plen)
{
	struct p2p *p = c->p2p;
	struct json_object *o = p2p_json_parse(pl, plen, NULL), *v, *eps;
	uint8_t id[32], calc[32];
	uint8_t *der = NULL, *cert_der = NULL;
	size_t derlen = 0, cert_len = 0, n = 0, i;
	char **list = NULL;
	int rc = 0;

	if (!o || !json_object_is_type(o, json_type_object)) {
		rc = EHANDLER;
		goto out;
	}
	/* PublicPeer.create_from_json: pubKey first. */
	if (!json_object_object_get_ex(o, "pubKey", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		rc = EHANDLER;
		goto out;
	}
	rc = py_b64decode(json_object_get_string(v), &der, &derlen);
	if (rc == HN_ENOMEM)
		goto out;
	if (rc < 0) {
		rc = 0;
		p2p_conn_error_close(c, "Unable to parse peer id. Reason: "
				     "Incorrect padding");
		goto out;
	}
	{
		const unsigned char *dp = der;
		EVP_PKEY *pk = d2i_PUBKEY(NULL, &dp, (long)derlen);

		if (!pk || dp != der + derlen) {
			EVP_PKEY_free(pk);
			p2p_conn_error_close(c, "Unable to parse peer id. "
					     "Reason: Could not deserialize "
					     "key data. The data may be in an "
					     "incorrect format or it may be "
					     "encrypted with an unsupported "
					     "algorithm.");
			goto out;
		}
		EVP_PKEY_free(pk);
	}
	if (!json_object_object_get_ex(o, "id", &v)) {
		rc = EHANDLER;  /* KeyError */
		goto out;
	}
	if (!p2p_json_hash(v, id)) {
		p2p_conn_error_close(c, "Unable to parse peer id. Reason: "
				     "invalid peer id");
		goto out;
	}
	if (json_object_object_get_ex(o, "entrypoints", &eps)) {
		if (!json_object_is_type(eps, json_type_array)) {
			rc = EHANDLER;
			goto out;
		}
		n = json_object_array_length(eps);
		/* Checked after parsing in the reference; capping first
		 * bounds our work and gives the same outcome. */
		if (n > 4 * P2P_PEER_MAX_ENTRYPOINTS) {
			rc = EHANDLER;
			goto out;
		}
		list = calloc(n ? n : 1, sizeof(*list));
		if (!list) {
			rc = HN_ENOMEM;
			goto out;
		}
		for (i = 0; i < n; i++) {
			struct json_object *e = json_object_array_get_idx(eps,
									  i);
			struct p2p_ep ep;
			char err[128], norm[300];

			if (!json_object_is_type(e, json_type_string)) {
				rc = EHANDLER;
				goto out;
			}
			if (p2p_ep_parse(json_object_get_string(e), &ep, err,
					 sizeof(err)) < 0) {
				p2p_conn_error_close(c, "Unable to parse peer "
						     "id. Reason: %s", err);
				goto out;
			}
			if (ep.has_id && memcmp(ep.id, id, 32) != 0) {
				char a[65], b[65];

				p2p_hex32(ep.id, a);
				p2p_hex32(id, b);
				p2p_conn_error_close(c, "Unable to parse peer "
						     "id. Reason: conflicting "
						     "peer_id: %s != %s", a, b);
				goto out;
			}
			p2p_ep_format(&ep, norm, sizeof(norm));
			list[i] = strdup(norm);
			if (!list[i]) {
				rc = HN_ENOMEM;
				goto out;
			}
		}
		/* The reference keeps a set: duplicates count once. */
		{
			size_t uniq = 0, k;

			for (i = 0; i < n; i++) {
				for (k = 0; k < i; k++)
					if (strcmp(list[k], list[i]) == 0)
						break;
				if (k == i)
					uniq++;
			}
			if (uniq > P2P_PEER_MAX_ENTRYPOINTS) {
				rc = EHANDLER;  /* InvalidPeerIdException */
				goto out;
			}
		}
	}
	p2p_peer_id_of_spki(der, derlen, calc);
	if (memcmp(calc, id, 32) != 0) {
		rc = EHANDLER;  /* InvalidPeerIdException: id != pubkey */
		goto out;
	}
	if (c->target && c->target->has_id &&
	    memcmp(c->target->id, id, 32) != 0) {
		p2p_conn_error_close(c, "Peer id different from the "
				     "requested one.");
		goto out;
	}
	/* Whitelist: sync-v2 peers are not blocked unless whitelist-only. */
	if (memcmp(id, p->id->id, 32) == 0) {
		p2p_conn_error_close(c, "Are you my clone?!");
		goto out;
	}
	if (p2p_mgr_is_connected(p, id, c)) {
		p2p_conn_error_close(c, "We are already connected.");
		goto out;
	}
	p2p_proto_release(c);
	c->peer_eps = list;
	c->n_peer_eps = n;
	list = NULL;
	if (!entrypoint_valid(c)) {
		p2p_conn_error_close(c, "Connection string is not in the "
				     "entrypoints.");
		goto out;
	}
	if (p->cfg.use_tls) {
		if (!c->ssl || p2p_tls_peer_spki(c->ssl, &cert_der,
						 &cert_len) < 0 ||
		    cert_len != derlen || memcmp(cert_der, der, derlen) != 0) {
			p2p_conn_error_close(c, "Public keys from peer and "
					     "certificate are not the same.");
			goto out;
		}
	}
	memcpy(c->peer_id, id, 32);
	p2p_hex32(id, c->peer_id_hex);
	c->have_peer = true;
	/* send_ready() */
	c->my_ready = true;
	p2p_conn_send(c, P2P_CMD_READY, NULL, 0);
	if (c->other_ready && !p2p_conn_dead(c))
		enter_ready(c);
out:
	if (list) {
		for (i = 0; i < n; i++)
			free(list[i]);
		free(list);
	}
	free(der);
	free(cert_der);
	json_object_put(o);
	return rc;
}

static void handle_ready(struct p2p_conn *c)
{
	c->other_ready = true;
	if (c->my_ready)
		enter_ready(c);
}

static void enter_ready(struct p2p_conn *c)
{
	struct p2p *p = c->p2p;
	double now = p2p_now(p);

	c->state = P2P_CONN_READY;
	c->next_get_peers = now + P2P_GET_PEERS_INTERVAL;
	c->next_best_blockchain = now + P2P_BEST_BLOCKCHAIN_INTERVAL;
	c->ping_last_response = 0;
	if (!c->sync)
		c->sync = p2p_sync_new(c);
	if (!c->sync) {
		p2p_conn_close(c, true, "out of memory");
		return;
	}
	p2p_mgr_on_ready(p, c);
	if (p2p_conn_dead(c))
		return;
	p2p_conn_logf(c, P2P_LOG_INFO, "peer connected (%s, %s)",
		      c->app_version, c->inbound ? "inbound" : "outbound");
	p2p_conn_send(c, P2P_CMD_GET_PEERS, NULL, 0);
	if (!p2p_conn_dead(c))
		p2p_sync_start(c->sync);
}

/* --- READY control messages --- */

static void send_ping(struct p2p_conn *c)
{
	uint8_t salt[32];

	if (RAND_bytes(salt, sizeof(salt)) != 1)
		return;
	hn_hex_encode(salt, sizeof(salt), c->ping_salt);
	c->ping_pending = true;
	c->ping_start = p2p_now(c->p2p);
	p2p_conn_send(c, P2P_CMD_PING, c->ping_salt, 64);
}

static void handle_pong(struct p2p_conn *c, const char *pl, size_t plen)
{
	double rtt;

	if (!c->ping_pending)
		return;
	if (plen != 64 || memcmp(pl, c->ping_salt, 64) != 0)
		return;         /* ignore pong without salts */
	c->ping_last_response = p2p_now(c->p2p);
	rtt = c->ping_last_response - c->ping_start;
	if (c->n_rtt == P2P_MAX_RTT_WINDOW)
		c->n_rtt--;
	memmove(c->rtt + 1, c->rtt, c->n_rtt * sizeof(c->rtt[0]));
	c->rtt[0] = rtt;
	c->n_rtt++;
	c->ping_pending = false;
}

static int handle_peers(struct p2p_conn *c, const char *pl, size_t plen)
{
	size_t n, i;
	struct json_object *o = p2p_json_parse_array(pl, plen, &n);
	int rc = 0;

	if (!o)
		return EHANDLER;
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(o, i), *v;
		struct json_object *eps = NULL;
		uint8_t id[32];
		char *list[P2P_PEER_MAX_ENTRYPOINTS];
		size_t k, m = 0, ne;

		if (!json_object_is_type(e, json_type_object) ||
		    !json_object_object_get_ex(e, "id", &v) ||
		    !p2p_json_hash(v, id)) {
			rc = EHANDLER;
			break;
		}
		if (json_object_object_get_ex(e, "entrypoints", &eps) &&
		    !json_object_is_type(eps, json_type_array)) {
			rc = EHANDLER;
			break;
		}
		ne = eps ? json_object_array_length(eps) : 0;
		if (ne > P2P_PEER_MAX_ENTRYPOINTS) {
			rc = EHANDLER;
			break;
		}
		for (k = 0; k < ne; k++) {
			struct json_object *s = json_object_array_get_idx(eps,
									  k);
			struct p2p_ep ep;
			char err[128], norm[300];

			if (!json_object_is_type(s, json_type_string) ||
			    p2p_ep_parse(json_object_get_string(s), &ep, err,
					 sizeof(err)) < 0) {
				rc = EHANDLER;
				break;
			}
			p2p_ep_format(&ep, norm, sizeof(norm));
			list[m] = strdup(norm);
			if (list[m])
				m++;
		}
		if (rc == 0)
			p2p_mgr_on_peers(c->p2p, c, id, list, m);
		for (k = 0; k < m; k++)
			free(list[k]);
		if (rc < 0)
			break;
	}
	json_object_put(o);
	return rc;
}

struct bbc_req {
	struct p2p_conn *c;
};

static void bbc_cb(void *arg, int rc, size_t n, const uint64_t *heights,
		   const uint8_t (*hashes)[32])
{
	struct p2p_conn *c = arg;
	struct p2p_buf b = { 0 };
	size_t i;

	if (p2p_conn_dead(c))
		goto out;
	if (rc < 0) {
		p2p_conn_logf(c, P2P_LOG_WARN, "node get_n_height_tips "
			      "failed: %s", hn_strerror(rc));
		p2p_conn_error_close(c, "Error processing \"%s\" command",
				     "GET-BEST-BLOCKCHAIN");
		goto out;
	}
	p2p_buf_append(&b, "[", 1);
	for (i = 0; i < n; i++) {
		char hex[65];

		p2p_hex32(hashes[i], hex);
		p2p_buf_printf(&b, "%s[%llu,\"%s\"]", i ? "," : "",
			       (unsigned long long)heights[i], hex);
	}
	p2p_buf_append(&b, "]", 1);
	if (b.data)
		p2p_conn_send(c, P2P_CMD_BEST_BLOCKCHAIN, (char *)b.data,
			      b.len);
	p2p_buf_release(&b);
out:
	p2p_conn_release(c);
}

/* int(payload) as Python parses a decimal string. */
static bool py_int(const char *pl, size_t plen, long long *out)
{
	char buf[32];
	char *end;
	size_t s = 0, e = plen;

	while (s < e && (pl[s] == ' ' || pl[s] == '\t' || pl[s] == '\n'))
		s++;
	while (e > s && (pl[e - 1] == ' ' || pl[e - 1] == '\t' ||
			 pl[e - 1] == '\n'))
		e--;
	if (e == s || e - s >= sizeof(buf))
		return false;
	memcpy(buf, pl + s, e - s);
	buf[e - s] = '\0';
	if (!((buf[0] >= '0' && buf[0] <= '9') ||
	      ((buf[0] == '-' || buf[0] == '+') && buf[1] >= '0' &&
	       buf[1] <= '9')))
		return false;
	*out = strtoll(buf, &end, 10);
	return *end == '\0';
}

static int handle_get_best_blockchain(struct p2p_conn *c, const char *pl,
				      size_t plen)
{
	struct p2p_env *env = c->env;
	long long n;
	int rc;

	if (!py_int(pl, plen, &n)) {
		p2p_conn_error_close(c, "Invalid param type. 'payload' should "
				     "be an int but we got %.*s.", (int)plen,
				     pl);
		return 0;
	}
	if (!(n > 0 && n <= P2P_MAX_BEST_BLOCKCHAIN_BLOCKS)) {
		p2p_conn_error_close(c, "N out of bounds. Valid range: [1, "
				     "%d].", P2P_MAX_BEST_BLOCKCHAIN_BLOCKS);
		return 0;
	}
	p2p_conn_hold(c);
	rc = env->node->n_height_tips(env->ctx, (unsigned)n, bbc_cb, c);
	if (rc < 0) {
		p2p_conn_release(c);
		p2p_conn_logf(c, P2P_LOG_WARN, "node get_n_height_tips "
			      "failed: %s", hn_strerror(rc));
		return EHANDLER;
	}
	return 0;
}

static int handle_best_blockchain(struct p2p_conn *c, const char *pl,
				  size_t plen)
{
	struct json_object *o = p2p_json_parse(pl, plen, NULL);
	size_t n, i, m = 0;
	bool bad = false;

	if (!o)
		return EHANDLER;        /* json_loads raised */
	if (!json_object_is_type(o, json_type_array)) {
		bad = true;
		goto out;
	}
	/* to_height_info() on every entry, keeping the first 20. */
	n = json_object_array_length(o);
	for (i = 0; i < n && !bad; i++) {
		struct json_object *e = json_object_array_get_idx(o, i);
		uint8_t hash[32];
		int64_t h;

		if (!json_object_is_type(e, json_type_array) ||
		    json_object_array_length(e) != 2 ||
		    !p2p_json_int(json_object_array_get_idx(e, 0), &h) ||
		    h < 0 ||
		    !p2p_json_hash(json_object_array_get_idx(e, 1), hash)) {
			bad = true;
			break;
		}
		if (m < P2P_MAX_BEST_BLOCKCHAIN_BLOCKS) {
			memcpy(c->peer_bbc[m], hash, 32);
			c->peer_bbc_h[m] = (uint64_t)h;
			m++;
		}
	}
out:
	json_object_put(o);
	if (bad) {
		p2p_conn_error_close(c, "Invalid HeightInfo while handling "
				     "best_blockchain response.");
		return 0;
	}
	c->n_peer_bbc = m;
	return 0;
}

void p2p_proto_tick(struct p2p_conn *c)
{
	double now = p2p_now(c->p2p);

	if (c->state != P2P_CONN_READY)
		return;
	/* send_ping_if_necessary */
	if (!c->ping_pending && now - c->ping_last_response > P2P_PING_INTERVAL)
		send_ping(c);
	if (!p2p_conn_dead(c) && now >= c->next_get_peers) {
		c->next_get_peers = now + P2P_GET_PEERS_INTERVAL;
		p2p_conn_send(c, P2P_CMD_GET_PEERS, NULL, 0);
	}
	if (!p2p_conn_dead(c) && p2p_conn_has_cap(c,
			P2P_CAP_GET_BEST_BLOCKCHAIN) &&
	    now >= c->next_best_blockchain) {
		c->next_best_blockchain = now + P2P_BEST_BLOCKCHAIN_INTERVAL;
		p2p_conn_sendf(c, P2P_CMD_GET_BEST_BLOCKCHAIN, "%d",
			       P2P_DEFAULT_BEST_BLOCKCHAIN_BLOCKS);
	}
	if (!p2p_conn_dead(c) && c->sync)
		p2p_sync_tick(c->sync);
}

/* --- dispatch --- */

static int handle_ready_state(struct p2p_conn *c, const struct p2p_line_msg *m)
{
	switch (m->cmd) {
	case P2P_CMD_PING:
		p2p_conn_send(c, P2P_CMD_PONG, m->payload, m->payload_len);
		return 1;
	case P2P_CMD_PONG:
		handle_pong(c, m->payload, m->payload_len);
		return 1;
	case P2P_CMD_GET_PEERS:
		p2p_mgr_send_peers(c->p2p, c);
		return 1;
	case P2P_CMD_PEERS: {
		int rc = handle_peers(c, m->payload, m->payload_len);

		return rc < 0 ? rc : 1;
	}
	case P2P_CMD_GET_BEST_BLOCKCHAIN:
		if (!p2p_conn_has_cap(c, P2P_CAP_GET_BEST_BLOCKCHAIN))
			return 0;
		{
			int rc = handle_get_best_blockchain(c, m->payload,
							    m->payload_len);

			return rc < 0 ? rc : 1;
		}
	case P2P_CMD_BEST_BLOCKCHAIN:
		if (!p2p_conn_has_cap(c, P2P_CAP_GET_BEST_BLOCKCHAIN))
			return 0;
		{
			int rc = handle_best_blockchain(c, m->payload,
							m->payload_len);

			return rc < 0 ? rc : 1;
		}
	default:
		return p2p_sync_handle(c->sync, m->cmd, m->payload,
				       m->payload_len);
	}
}

void p2p_proto_handle(struct p2p_conn *c, const struct p2p_line_msg *m)
{
	int handled = 0;

	/* ERROR and THROTTLE are valid in every state.  (Sync-v2 overrides
	 * ERROR with the same behaviour: log it.) */
	if (m->cmd == P2P_CMD_ERROR) {
		p2p_conn_logf(c, P2P_LOG_WARN, "remote error: %.*s",
			      (int)(m->payload_len > 300 ? 300 :
				    m->payload_len), m->payload);
		return;
	}
	if (m->cmd == P2P_CMD_THROTTLE) {
		p2p_conn_logf(c, P2P_LOG_INFO, "throttled: %.*s",
			      (int)(m->payload_len > 300 ? 300 :
				    m->payload_len), m->payload);
		return;
	}
	switch (c->state) {
	case P2P_CONN_HELLO:
		if (m->cmd == P2P_CMD_HELLO)
			handled = handle_hello(c, m->payload, m->payload_len) <
				  0 ? -1 : 1;
		break;
	case P2P_CONN_PEER_ID:
		if (m->cmd == P2P_CMD_PEER_ID) {
			handled = handle_peer_id(c, m->payload,
						 m->payload_len) < 0 ? -1 : 1;
		} else if (m->cmd == P2P_CMD_READY) {
			handle_ready(c);
			handled = 1;
		}
		break;
	case P2P_CONN_READY:
		handled = handle_ready_state(c, m);
		break;
	default:
		return;
	}
	if (p2p_conn_dead(c))
		return;
	if (handled == 0) {
		p2p_conn_error_close(c, "Invalid Command: ProtocolMessages.%s "
				     "%.*s", p2p_cmd_enum_name(m->cmd),
				     (int)(m->payload_len > 60000 ? 60000 :
					   m->payload_len), m->payload);
	} else if (handled < 0) {
		p2p_conn_logf(c, P2P_LOG_WARN, "cannot process %s (%zu bytes)",
			      p2p_cmd_name(m->cmd), m->payload_len);
		p2p_conn_error_close(c, "Error processing \"%s\" command",
				     p2p_cmd_name(m->cmd));
	}
}
