/*
 * p2p_cmd.c: the core -> P2P commands (ARCHITECTURE.md "The IPC contract",
 * the reference's ConnectionsManager methods the node calls), as one
 * JSON-in / JSON-out dispatcher, so the plugin glue forwards whatever
 * carries them (p2p.ipc JSON-RPC in the host, direct calls in-process).
 *
 * Every method takes a JSON object of params (NULL = {}) and produces a
 * JSON object result; bad params give HN_EINVAL with a message naming the
 * field, an unknown method HN_ENOENT.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hn/b64.h"
#include "hn/err.h"
#include "p2p_cmd.h"
#include "p2p_int.h"

static int seterr(char *err, size_t errlen, int code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int seterr(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	if (err && errlen) {
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return code;
}

static struct json_object *ok_obj(void)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "ok", json_object_new_boolean(1));
	return o;
}

/* Optional string list param @name: each item through @fn. */
static int each_string(struct json_object *params, const char *name,
		       bool required, int (*fn)(struct p2p *, const char *,
						char *, size_t),
		       struct p2p *p, char *err, size_t errlen)
{
	struct json_object *v;
	size_t i, n;
	int rc;

	if (!params || !json_object_object_get_ex(params, name, &v)) {
		if (required)
			return seterr(err, errlen, HN_EINVAL,
				      "missing param '%s'", name);
		return 0;
	}
	if (json_object_is_type(v, json_type_string))
		return fn(p, json_object_get_string(v), err, errlen);
	if (!json_object_is_type(v, json_type_array))
		return seterr(err, errlen, HN_EINVAL, "param '%s' must be a "
			      "string or a list of strings", name);
	n = json_object_array_length(v);
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);

		if (!json_object_is_type(e, json_type_string))
			return seterr(err, errlen, HN_EINVAL, "param '%s[%zu]' "
				      "must be a string", name, i);
		if ((rc = fn(p, json_object_get_string(e), err, errlen)) < 0)
			return rc;
	}
	return 0;
}

static int add_peer(struct p2p *p, const char *s, char *err, size_t errlen)
{
	if (p2p_add_peer(p, s) < 0)
		return seterr(err, errlen, HN_EINVAL, "invalid peer address "
			      "'%s' (want HOST:PORT or tcp://HOST:PORT)", s);
	return 0;
}

static int add_dns(struct p2p *p, const char *s, char *err, size_t errlen)
{
	int rc = p2p_add_dns_seed(p, s);

	if (rc < 0)
		return seterr(err, errlen, rc, "cannot look up DNS seed '%s'",
			      s);
	return 0;
}

/* "tcp:PORT[:interface=HOST]" (Twisted endpoint, as the reference's
 * --listen) or "HOST:PORT". */
static int add_listen(struct p2p *p, const char *s, char *err, size_t errlen)
{
	char host[128] = "0.0.0.0";
	unsigned port = 0;
	const char *iface;
	int rc;

	if (!strncmp(s, "tcp:", 4)) {
		if (sscanf(s + 4, "%u", &port) != 1)
			return seterr(err, errlen, HN_EINVAL, "invalid listen "
				      "address '%s'", s);
		iface = strstr(s, ":interface=");
		if (iface)
			snprintf(host, sizeof(host), "%s", iface + 11);
	} else {
		const char *colon = strrchr(s, ':');

		if (!colon || (size_t)(colon - s) >= sizeof(host) ||
		    sscanf(colon + 1, "%u", &port) != 1)
			return seterr(err, errlen, HN_EINVAL, "invalid listen "
				      "address '%s'", s);
		memcpy(host, s, (size_t)(colon - s));
		host[colon - s] = '\0';
	}
	if (port > 65535)
		return seterr(err, errlen, HN_EINVAL, "invalid port in '%s'",
			      s);
	rc = p2p_listen(p, host, (uint16_t)port, &p->listen_port);
	if (rc < 0)
		return seterr(err, errlen, rc, "cannot listen on '%s': %s", s,
			      hn_strerror(rc));
	return 0;
}

static int set_entrypoints(struct p2p *p, struct json_object *params,
			   char *err, size_t errlen)
{
	struct json_object *v;
	char **eps;
	size_t n, i;

	if (!params || !json_object_object_get_ex(params, "entrypoints", &v))
		return 0;       /* keep the current ones */
	if (!json_object_is_type(v, json_type_array))
		return seterr(err, errlen, HN_EINVAL, "param 'entrypoints' "
			      "must be a list");
	n = json_object_array_length(v);
	if (n > P2P_PEER_MAX_ENTRYPOINTS)
		return seterr(err, errlen, HN_EINVAL, "at most %d entrypoints",
			      P2P_PEER_MAX_ENTRYPOINTS);
	eps = calloc(n + 1, sizeof(*eps));
	if (!eps)
		return HN_ENOMEM;
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(v, i);
		struct p2p_ep ep;
		char perr[128], norm[300];

		if (!json_object_is_type(e, json_type_string) ||
		    p2p_ep_parse(json_object_get_string(e), &ep, perr,
				 sizeof(perr)) < 0) {
			while (i > 0)
				free(eps[--i]);
			free(eps);
			return seterr(err, errlen, HN_EINVAL, "entrypoints[%zu]: "
				      "want tcp://HOST:PORT", i);
		}
		p2p_ep_format(&ep, norm, sizeof(norm));
		eps[i] = strdup(norm);
	}
	for (i = 0; p->my_eps && p->my_eps[i]; i++)
		free(p->my_eps[i]);
	free(p->my_eps);
	p->my_eps = eps;
	p->cfg.n_entrypoints = n;
	p->cfg.entrypoints = (const char *const *)eps;
	return 0;
}

int p2p_command(struct p2p *p, const char *method, struct json_object *params,
		struct json_object **result, char *err, size_t errlen)
{
	struct json_object *v;
	int rc;

	*result = NULL;
	if (params && !json_object_is_type(params, json_type_object))
		return seterr(err, errlen, HN_EINVAL, "params must be an "
			      "object");
	if (!strcmp(method, "start")) {
		rc = p2p_start(p);
		if (rc < 0)
			return seterr(err, errlen, rc, "cannot start: %s",
				      hn_strerror(rc));
		*result = ok_obj();
	} else if (!strcmp(method, "stop")) {
		p2p_stop(p);
		*result = ok_obj();
	} else if (!strcmp(method, "get_connections")) {
		rc = p2p_get_connections(p, result);
		if (rc < 0)
			return seterr(err, errlen, rc, "out of memory");
	} else if (!strcmp(method, "has_synced_peer")) {
		*result = json_object_new_object();
		json_object_object_add(*result, "has_synced_peer",
				       json_object_new_boolean(
					       p2p_has_synced_peer(p)));
	} else if (!strcmp(method, "enable_localhost_only")) {
		p2p_set_localhost_only(p, true);
		*result = ok_obj();
	} else if (!strcmp(method, "send_tx_to_peers")) {
		uint8_t *bytes = NULL;
		size_t len = 0;

		if (!params || !json_object_object_get_ex(params, "vertex",
							  &v) ||
		    !json_object_is_type(v, json_type_string) ||
		    hn_b64_decode(json_object_get_string(v), &bytes,
				  &len) < 0)
			return seterr(err, errlen, HN_EINVAL, "param 'vertex' "
				      "must be the base64 vertex bytes");
		rc = p2p_send_tx_to_peers(p, bytes, len);
		free(bytes);
		if (rc < 0)
			return seterr(err, errlen, HN_EINVAL, "param 'vertex' "
				      "is not a valid vertex");
		*result = ok_obj();
	} else if (!strcmp(method, "reload_entrypoints_and_connections")) {
		/* Kill all connections and reload the entrypoints. */
		rc = set_entrypoints(p, params, err, errlen);
		if (rc < 0)
			return rc;
		p2p_logf(p, P2P_LOG_WARN, "killing all connections and "
			 "resetting entrypoints");
		p2p_conn_free_all(p);
		*result = ok_obj();
	} else if (!strcmp(method, "enable_sync_version")) {
		if (!params || !json_object_object_get_ex(params, "version",
							  &v) ||
		    !json_object_is_type(v, json_type_string))
			return seterr(err, errlen, HN_EINVAL, "missing param "
				      "'version'");
		if (strcmp(json_object_get_string(v), "v2"))
			return seterr(err, errlen, HN_EINVAL, "sync version "
				      "'%s' is not available (only v2)",
				      json_object_get_string(v));
		*result = ok_obj();
	} else if (!strcmp(method, "add_peer_discovery")) {
		bool dns = params && json_object_object_get_ex(params, "dns",
							       &v);

		rc = each_string(params, "bootstrap", !dns, add_peer, p, err,
				 errlen);
		if (rc < 0)
			return rc;
		rc = each_string(params, "dns", false, add_dns, p, err,
				 errlen);
		if (rc < 0)
			return rc;
		*result = ok_obj();
	} else if (!strcmp(method, "add_listen_address_description")) {
		rc = each_string(params, "address", true, add_listen, p, err,
				 errlen);
		if (rc < 0)
			return rc;
		*result = ok_obj();
		json_object_object_add(*result, "port",
				       json_object_new_int(p->listen_port));
	} else if (!strcmp(method, "disconnect_all_peers")) {
		bool force = params && json_object_object_get_ex(params,
								 "force", &v)
			     && json_object_get_boolean(v);

		if (force)
			p2p_conn_free_all(p);
		else
			p2p_disconnect_all(p);
		*result = ok_obj();
	} else if (!strcmp(method, "heartbeat")) {
		*result = json_object_new_object();
		json_object_object_add(*result, "ok",
				       json_object_new_boolean(1));
		json_object_object_add(*result, "ready_peers",
				       json_object_new_int((int)p2p_n_ready(p)));
		json_object_object_add(*result, "peer_id",
				       json_object_new_string(p->id->id_hex));
	} else {
		return seterr(err, errlen, HN_ENOENT, "unknown p2p command "
			      "'%s'", method);
	}
	return *result ? 0 : HN_ENOMEM;
}
