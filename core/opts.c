/*
 * opts.c: hathor-node's configuration (core/config.h).  One table lists
 * every option once; the command line (getopt_long), the environment
 * (HATHOR_<OPTION>) and the ini file (inih) all go through set_opt(), applied
 * in the order defaults, file, environment, command line, so the later
 * source wins.  A repeatable option given by a source replaces the list of
 * the sources before it.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ini.h>

#include "config.h"
#include "feature.h"

#include "hn/err.h"
#include "hn/log.h"
#include "hn/network.h"

#define HN_DEFAULT_NETWORK "privatenet"
#define HN_DEFAULT_DATA_DIR "./hathor-data"
#define HN_DEFAULT_API_LISTEN "127.0.0.1:8080"

enum opt_kind {
	K_STR,          /* char * field */
	K_NETWORK,      /* char * field, checked against hn_network_by_name */
	K_HOSTPORT,     /* struct hn_hostport + has flag */
	K_API,          /* --api-listen HOST:PORT|none */
	K_STATUS,       /* --status PORT|HOST:PORT (api alias) */
	K_HP_LIST,      /* --bootstrap, repeatable */
	K_STR_LIST,     /* --plugin, repeatable */
	K_SIZE,         /* size_t field */
	K_UINT,         /* unsigned field */
	K_P2P_MODE,
	K_LOG_LEVEL,    /* char * field, checked */
	K_LOG_FORMAT,   /* char * field, checked */
	K_SQLITE_SYNC,  /* bool field: full (true) or normal */
	K_BOOL,         /* bool field; a bare flag on the command line */
	K_CLI,          /* --help/--version/--print-config/--config */
};

enum { A_HELP = 1, A_VERSION, A_PRINT, A_CONFIG };

struct opt_def {
	const char *name;
	enum opt_kind kind;
	size_t off;             /* offset of the field in struct hn_config */
	size_t off2;            /* K_HOSTPORT: the bool; lists: the count */
	unsigned long max;      /* K_SIZE/K_UINT upper bound */
	const char *arg;        /* for --help */
	const char *help;
};

#define F(field) offsetof(struct hn_config, field)

static const struct opt_def opts[] = {
	{ "config", K_CLI, A_CONFIG, 0, 0, "FILE", "ini file to read" },
	{ "network", K_NETWORK, F(network), 0, 0, "NAME",
	  "mainnet, testnet, privatenet, unittests... (" HN_DEFAULT_NETWORK
	  ")" },
	{ "data-dir", K_STR, F(data_dir), 0, 0, "DIR",
	  "database and LOCK (" HN_DEFAULT_DATA_DIR ")" },
	{ "data", K_STR, F(data_dir), 0, 0, "DIR", "alias of --data-dir" },
	{ "runtime-dir", K_STR, F(runtime_dir), 0, 0, "DIR",
	  "sockets and pid file, 0700 (<data-dir>/run)" },
	{ "plugin-dir", K_STR, F(plugin_dir), 0, 0, "DIR", "plugin .so files" },
	{ "plugin", K_STR_LIST, F(plugins), F(n_plugins), 0, "NAME",
	  "in-core plugin to load (repeatable)" },
	{ "plugins", K_STR_LIST, F(plugins), F(n_plugins), 0, "NAME",
	  "alias of --plugin" },
	{ "p2p-host-bin", K_STR, F(p2p_host_bin), 0, 0, "PATH",
	  "hathor-p2p-host executable" },
	{ "pid-file", K_STR, F(pid_file), 0, 0, "PATH",
	  "(<runtime-dir>/hathor-node.pid)" },
	{ "p2p-mode", K_P2P_MODE, F(p2p_mode), 0, 0, "MODE",
	  "host, inprocess or off (host)" },
	{ "listen", K_HOSTPORT, F(p2p_listen), F(has_p2p_listen), 0,
	  "HOST:PORT", "P2P listening address" },
	{ "bootstrap", K_HP_LIST, F(bootstrap), F(n_bootstrap), 0,
	  "HOST:PORT", "peer to dial at start (repeatable)" },
	{ "p2p-max-peers", K_SIZE, F(p2p_max_peers), 0, 100000, "N",
	  "connection limit (32)" },
	{ "peer-id", K_STR, F(peer_id_file), 0, 0, "FILE",
	  "persistent peer identity" },
	{ "api-listen", K_API, F(api_listen), F(api_enabled), 0,
	  "HOST:PORT|none", "HTTP API (" HN_DEFAULT_API_LISTEN ")" },
	{ "status", K_STATUS, F(api_listen), F(api_enabled), 0, "PORT",
	  "alias of --api-listen 127.0.0.1:PORT" },
	{ "http-max-body", K_SIZE, F(http_max_body), 0, 1UL << 30, "BYTES",
	  "largest request body (1048576)" },
	{ "http-max-connections", K_UINT, F(http_max_connections), 0, 65535,
	  "N", "(256)" },
	{ "http-timeout", K_UINT, F(http_timeout), 0, 86400, "SECONDS",
	  "idle connection timeout (30)" },
	{ "http-cors-origin", K_STR, F(http_cors_origin), 0, 0, "ORIGIN",
	  "Access-Control-Allow-Origin" },
	{ "admin-socket", K_STR, F(admin_socket), 0, 0, "PATH",
	  "(<runtime-dir>/admin.ipc)" },
	{ "admin-group", K_STR, F(admin_group), 0, 0, "GROUP",
	  "group owning the admin socket" },
	{ "metrics-listen", K_HOSTPORT, F(metrics_listen),
	  F(metrics_enabled), 0, "HOST:PORT", "Prometheus listener" },
	{ "ipc-max-msg", K_SIZE, F(ipc_max_msg), 0, 1UL << 30, "BYTES",
	  "(0: IPC default)" },
	{ "ipc-max-inflight", K_UINT, F(ipc_max_inflight), 0, 65535, "N",
	  "(0: IPC default)" },
	{ "ipc-max-rate", K_UINT, F(ipc_max_rate), 0, 10000000, "CALLS/S",
	  "(0: off)" },
	{ "p2p-host-max-rss", K_UINT, F(host_max_rss_mb), 0, 1048576, "MB",
	  "(0: off)" },
	{ "p2p-host-heartbeat", K_UINT, F(host_heartbeat_ms), 0, 3600000,
	  "MS", "(1000)" },
	{ "cache-size", K_UINT, F(sqlite_cache_mb), 0, 1048576, "MB",
	  "sqlite cache (16)" },
	{ "sqlite-sync", K_SQLITE_SYNC, F(sqlite_sync_full), 0, 0, "MODE",
	  "normal (survives kill -9) or full (also power loss; an fsync "
	  "per commit) (normal)" },
	{ "allow-mining-without-peers", K_BOOL,
	  F(allow_mining_without_peers), 0, 0, NULL,
	  "getmininginfo answers without a synced peer (P2P on)" },
	{ "test-features", K_STR, F(test_features), 0, 0, "SPEC",
	  "unittests only, for tests: the feature table, "
	  "NAME:BIT:START:TIMEOUT:MINACT[:lock],..." },
	{ "log-level", K_LOG_LEVEL, F(log_level), 0, 0, "LEVEL",
	  "error, warn, info, debug (info)" },
	{ "log-format", K_LOG_FORMAT, F(log_format), 0, 0, "FORMAT",
	  "text or json (text)" },
	{ "log-file", K_STR, F(log_file), 0, 0, "PATH",
	  "append the log to PATH, reopened on SIGHUP (stderr)" },
	{ "shutdown-timeout", K_UINT, F(shutdown_timeout), 0, 3600,
	  "SECONDS", "in-flight work after SIGTERM (10)" },
	{ "reload-health-ms", K_UINT, F(reload_health_ms), 0, 3600000,
	  "MS", "after a p2p plugin reload, roll back if the new host ends "
	  "within MS (5000, 0: off)" },
	{ "print-config", K_CLI, A_PRINT, 0, 0, NULL,
	  "print the effective configuration and exit" },
	{ "help", K_CLI, A_HELP, 0, 0, NULL, "this text" },
	{ "version", K_CLI, A_VERSION, 0, 0, NULL, "print the version" },
};
#define N_OPTS (sizeof(opts) / sizeof(opts[0]))

#define FIELD(cfg, off, type) ((type *)((char *)(cfg) + (off)))

/* Which source last set each repeatable option (to replace, not append). */
struct load_state {
	struct hn_config *cfg;
	int source;             /* 1 file, 2 env, 3 cli */
	int list_source[N_OPTS];
	struct hn_error *err;
	bool failed;
};

static const struct opt_def *opt_by_name(const char *name)
{
	for (size_t i = 0; i < N_OPTS; i++)
		if (strcmp(opts[i].name, name) == 0)
			return &opts[i];
	return NULL;
}

int hn_hostport_parse(const char *s, const char *default_host,
		      struct hn_hostport *out, struct hn_error *err)
{
	const char *host, *port;
	size_t hlen;
	char *end;
	unsigned long p;

	if (!s || !*s)
		return hn_error_set(err, HN_EINVAL, "empty address");
	if (s[0] == '[') {
		const char *rb = strchr(s, ']');

		if (!rb || rb[1] != ':')
			return hn_error_set(err, HN_EINVAL, "bad address '%s' "
					    "(want [V6]:PORT)", s);
		host = s + 1;
		hlen = (size_t)(rb - host);
		port = rb + 2;
	} else {
		const char *c = strrchr(s, ':');

		if (!c) {
			if (!default_host)
				return hn_error_set(err, HN_EINVAL, "bad address"
						    " '%s' (want HOST:PORT)",
						    s);
			host = default_host;
			hlen = strlen(default_host);
			port = s;
		} else {
			if (memchr(s, ':', (size_t)(c - s)))
				return hn_error_set(err, HN_EINVAL, "bad address"
						    " '%s' (IPv6 needs "
						    "[V6]:PORT)", s);
			host = s;
			hlen = (size_t)(c - s);
			port = c + 1;
		}
	}
	if (hlen == 0 || hlen >= sizeof(out->host))
		return hn_error_set(err, HN_EINVAL, "bad host in '%s'", s);
	for (size_t i = 0; i < hlen; i++)
		if (isspace((unsigned char)host[i]) || host[i] == '/')
			return hn_error_set(err, HN_EINVAL, "bad host in '%s'",
					    s);
	if (!isdigit((unsigned char)port[0]))
		return hn_error_set(err, HN_EINVAL, "bad port in '%s'", s);
	errno = 0;
	p = strtoul(port, &end, 10);
	if (errno || *end || p > 65535)
		return hn_error_set(err, HN_EINVAL, "bad port in '%s'", s);
	memcpy(out->host, host, hlen);
	out->host[hlen] = '\0';
	out->port = (uint16_t)p;
	return 0;
}

static int parse_ulong(const char *v, unsigned long max, unsigned long *out)
{
	char *end;
	unsigned long x;

	if (!isdigit((unsigned char)v[0]))
		return -1;
	errno = 0;
	x = strtoul(v, &end, 10);
	if (errno || *end || x > max)
		return -1;
	*out = x;
	return 0;
}

static int replace_str(char **field, const char *v)
{
	char *c = strdup(v);

	if (!c)
		return HN_ENOMEM;
	free(*field);
	*field = c;
	return 0;
}

/* Sets option @o to @v; @where names the source for messages
 * ("--listen", "HATHOR_LISTEN", "hathor.conf:12: listen"). */
static int set_opt(struct load_state *ls, const struct opt_def *o,
		   const char *v, const char *where)
{
	struct hn_config *cfg = ls->cfg;
	struct hn_error *err = ls->err;
	struct hn_error e2;
	unsigned long x;
	size_t idx = (size_t)(o - opts);

	switch (o->kind) {
	case K_CLI:
		return 0;
	case K_STR:
		if (!*v)
			return hn_error_set(err, HN_EINVAL, "%s: empty value",
					    where);
		break;
	case K_NETWORK:
		if (!hn_network_by_name(v)) {
			const char *const *n = hn_network_names();
			char list[96] = "";

			for (; n && *n; n++) {
				if (strlen(list) + strlen(*n) + 2 >=
				    sizeof(list))
					break;
				if (list[0])
					strcat(list, ", ");
				strcat(list, *n);
			}
			return hn_error_set(err, HN_EINVAL, "%s: unknown network "
					    "'%s' (known: %s)", where, v, list);
		}
		break;
	case K_LOG_LEVEL: {
		enum hn_log_level l;

		if (hn_log_level_parse(v, &l) < 0)
			return hn_error_set(err, HN_EINVAL, "%s: bad log level "
					    "'%s' (error, warn, info, debug)",
					    where, v);
		break;
	}
	case K_LOG_FORMAT:
		if (strcmp(v, "text") && strcmp(v, "json"))
			return hn_error_set(err, HN_EINVAL, "%s: bad log format "
					    "'%s' (text or json)", where, v);
		break;
	case K_BOOL: {
		bool *b = FIELD(cfg, o->off, bool);

		if (!v || !strcmp(v, "1") || !strcasecmp(v, "true") ||
		    !strcasecmp(v, "yes") || !strcasecmp(v, "on"))
			*b = true;
		else if (!strcmp(v, "0") || !strcasecmp(v, "false") ||
			 !strcasecmp(v, "no") || !strcasecmp(v, "off"))
			*b = false;
		else
			return hn_error_set(err, HN_EINVAL, "%s: bad boolean "
					    "'%s' (true or false)", where, v);
		return 0;
	}
	case K_SQLITE_SYNC: {
		bool *full = FIELD(cfg, o->off, bool);

		if (strcmp(v, "full") == 0)
			*full = true;
		else if (strcmp(v, "normal") == 0)
			*full = false;
		else
			return hn_error_set(err, HN_EINVAL, "%s: bad sqlite sync "
					    "mode '%s' (full or normal)",
					    where, v);
		return 0;
	}
	case K_P2P_MODE: {
		enum hn_p2p_mode *m = FIELD(cfg, o->off, enum hn_p2p_mode);

		if (strcmp(v, "host") == 0)
			*m = HN_P2P_HOST;
		else if (strcmp(v, "inprocess") == 0)
			*m = HN_P2P_INPROCESS;
		else if (strcmp(v, "off") == 0)
			*m = HN_P2P_OFF;
		else
			return hn_error_set(err, HN_EINVAL, "%s: bad p2p mode "
					    "'%s' (host, inprocess or off)",
					    where, v);
		return 0;
	}
	case K_HOSTPORT:
	case K_API:
	case K_STATUS: {
		struct hn_hostport hp;
		bool *has = FIELD(cfg, o->off2, bool);

		if (o->kind == K_API && strcmp(v, "none") == 0) {
			*has = false;
			return 0;
		}
		if (hn_hostport_parse(v, o->kind == K_STATUS ? "127.0.0.1" :
				      NULL, &hp, &e2) < 0)
			return hn_error_set(err, HN_EINVAL, "%s: %s", where,
					    e2.msg);
		*FIELD(cfg, o->off, struct hn_hostport) = hp;
		*has = true;
		return 0;
	}
	case K_HP_LIST: {
		struct hn_hostport hp, **arr, *n;
		size_t *cnt = FIELD(cfg, o->off2, size_t);

		if (hn_hostport_parse(v, NULL, &hp, &e2) < 0)
			return hn_error_set(err, HN_EINVAL, "%s: %s", where,
					    e2.msg);
		arr = FIELD(cfg, o->off, struct hn_hostport *);
		if (ls->list_source[idx] != ls->source) {
			free(*arr);
			*arr = NULL;
			*cnt = 0;
			ls->list_source[idx] = ls->source;
		}
		n = realloc(*arr, (*cnt + 1) * sizeof(*n));
		if (!n)
			return hn_error_set(err, HN_ENOMEM, "out of memory");
		n[(*cnt)++] = hp;
		*arr = n;
		return 0;
	}
	case K_STR_LIST: {
		char ***arr = FIELD(cfg, o->off, char **), **n;
		size_t *cnt = FIELD(cfg, o->off2, size_t);

		if (!*v)
			return hn_error_set(err, HN_EINVAL, "%s: empty value",
					    where);
		if (ls->list_source[idx] != ls->source) {
			for (size_t i = 0; i < *cnt; i++)
				free((*arr)[i]);
			free(*arr);
			*arr = NULL;
			*cnt = 0;
			ls->list_source[idx] = ls->source;
		}
		n = realloc(*arr, (*cnt + 1) * sizeof(*n));
		if (!n)
			return hn_error_set(err, HN_ENOMEM, "out of memory");
		*arr = n;
		if (!(n[*cnt] = strdup(v)))
			return hn_error_set(err, HN_ENOMEM, "out of memory");
		(*cnt)++;
		return 0;
	}
	case K_SIZE:
		if (parse_ulong(v, o->max, &x) < 0)
			return hn_error_set(err, HN_EINVAL, "%s: bad number '%s'"
					    " (0..%lu)", where, v, o->max);
		*FIELD(cfg, o->off, size_t) = x;
		return 0;
	case K_UINT:
		if (parse_ulong(v, o->max, &x) < 0)
			return hn_error_set(err, HN_EINVAL, "%s: bad number '%s'"
					    " (0..%lu)", where, v, o->max);
		*FIELD(cfg, o->off, unsigned) = (unsigned)x;
		return 0;
	}
	if (replace_str(FIELD(cfg, o->off, char *), v) < 0)
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	return 0;
}

void hn_config_release(struct hn_config *cfg)
{
	if (!cfg)
		return;
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt_def *o = &opts[i];

		switch (o->kind) {
		case K_STR:
		case K_NETWORK:
		case K_LOG_LEVEL:
		case K_LOG_FORMAT: {
			char **f = FIELD(cfg, o->off, char *);

			free(*f);
			*f = NULL;
			break;
		}
		default:
			break;
		}
	}
	for (size_t i = 0; i < cfg->n_plugins; i++)
		free(cfg->plugins[i]);
	free(cfg->plugins);
	free(cfg->bootstrap);
	free(cfg->config_file);
	for (size_t i = 0; i < cfg->n_kv; i++) {
		free(cfg->kv[i].section);
		free(cfg->kv[i].key);
		free(cfg->kv[i].value);
	}
	free(cfg->kv);
	hn_fa_test_network_free(cfg->test_net);
	memset(cfg, 0, sizeof(*cfg));
}

int hn_config_defaults(struct hn_config *cfg, struct hn_error *err)
{
	memset(cfg, 0, sizeof(*cfg));
	if (!(cfg->network = strdup(HN_DEFAULT_NETWORK)) ||
	    !(cfg->data_dir = strdup(HN_DEFAULT_DATA_DIR)) ||
	    !(cfg->log_level = strdup("info")) ||
	    !(cfg->log_format = strdup("text"))) {
		hn_config_release(cfg);
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	}
	cfg->net = hn_network_by_name(cfg->network);
	if (!cfg->net) {
		hn_config_release(cfg);
		return hn_error_set(err, HN_EINVAL, "default network '%s' is "
				    "not built in", HN_DEFAULT_NETWORK);
	}
	cfg->p2p_mode = HN_P2P_HOST;
	cfg->p2p_max_peers = 32;
	cfg->api_enabled = true;
	hn_hostport_parse(HN_DEFAULT_API_LISTEN, NULL, &cfg->api_listen, NULL);
	cfg->http_max_body = 1048576;
	cfg->http_max_connections = 256;
	cfg->http_timeout = 30;
	cfg->host_heartbeat_ms = 1000;
	cfg->sqlite_cache_mb = 16;     /* docs/operations.md, Memory */
	cfg->shutdown_timeout = 10;
	cfg->reload_health_ms = 5000;
	return 0;
}

const char *hn_config_get(const struct hn_config *cfg, const char *section,
			  const char *key)
{
	const char *v = NULL;

	for (size_t i = 0; cfg && i < cfg->n_kv; i++)
		if (strcmp(cfg->kv[i].section, section) == 0 &&
		    strcmp(cfg->kv[i].key, key) == 0)
			v = cfg->kv[i].value;   /* the last one wins */
	return v;
}

/* inih callback: keys before any section or in [node] are options; keys
 * of other sections are kept for modules and plugins. */
static int ini_cb(void *user, const char *section, const char *name,
		  const char *value)
{
	struct load_state *ls = user;
	struct hn_config *cfg = ls->cfg;
	struct hn_config_kv *kv;
	char where[300];

	kv = realloc(cfg->kv, (cfg->n_kv + 1) * sizeof(*kv));
	if (!kv)
		goto nomem;
	cfg->kv = kv;
	kv = &cfg->kv[cfg->n_kv];
	kv->section = strdup(section);
	kv->key = strdup(name);
	kv->value = strdup(value);
	cfg->n_kv++;
	if (!kv->section || !kv->key || !kv->value)
		goto nomem;
	if (section[0] && strcmp(section, "node") != 0)
		return 1;
	snprintf(where, sizeof(where), "%s: key '%s'", cfg->config_file, name);
	{
		const struct opt_def *o = opt_by_name(name);

		if (!o || o->kind == K_CLI) {
			hn_error_set(ls->err, HN_EINVAL, "%s: unknown key '%s'",
				     cfg->config_file, name);
			ls->failed = true;
			return 0;
		}
		if (set_opt(ls, o, value, where) < 0) {
			ls->failed = true;
			return 0;
		}
	}
	return 1;
nomem:
	hn_error_set(ls->err, HN_ENOMEM, "out of memory");
	ls->failed = true;
	return 0;
}

static int load_file(struct load_state *ls)
{
	struct hn_config *cfg = ls->cfg;
	char msg[sizeof(ls->err->msg)];
	FILE *f;
	int line;

	f = fopen(cfg->config_file, "r");
	if (!f)
		return hn_error_set(ls->err, HN_ENOENT, "config file %s: %s",
				    cfg->config_file, strerror(errno));
	ls->source = 1;
	line = ini_parse_file(f, ini_cb, ls);
	fclose(f);
	if (line == 0)
		return 0;
	if (line < 0)
		return hn_error_set(ls->err, HN_EIO, "config file %s: cannot "
				    "read", cfg->config_file);
	if (ls->failed) {
		/* Put the line number in front of the handler's message. */
		snprintf(msg, sizeof(msg), "%s", ls->err->msg);
		const char *rest = msg;
		size_t fl = strlen(cfg->config_file);

		if (strncmp(rest, cfg->config_file, fl) == 0 && rest[fl] == ':')
			rest += fl + 1;
		while (*rest == ' ')
			rest++;
		return hn_error_set(ls->err, ls->err->code, "%s:%d: %s",
				    cfg->config_file, line, rest);
	}
	return hn_error_set(ls->err, HN_EPARSE, "%s:%d: syntax error (want "
			    "'key = value', '[section]' or '# comment')",
			    cfg->config_file, line);
}

static int load_env(struct load_state *ls)
{
	char var[64], where[80];

	ls->source = 2;
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt_def *o = &opts[i];
		const char *v;
		size_t j;

		if (o->kind == K_CLI)
			continue;
		memcpy(var, "HATHOR_", 7);
		for (j = 0; o->name[j] && j + 8 < sizeof(var); j++)
			var[7 + j] = o->name[j] == '-' ? '_' :
				(char)toupper((unsigned char)o->name[j]);
		var[7 + j] = '\0';
		v = getenv(var);
		if (!v)
			continue;
		snprintf(where, sizeof(where), "%s", var);
		if (set_opt(ls, o, v, where) < 0)
			return ls->err->code ? ls->err->code : HN_EINVAL;
	}
	return 0;
}

static void usage(FILE *f, const char *prog)
{
	fprintf(f, "usage: %s [run] [options]\n"
		"       %s decode [--network N] [--compact] HEX|-\n"
		"       %s genesis [--network N] [--json]\n\n"
		"Options (also HATHOR_<OPTION> in the environment and "
		"'option = value' in the --config file):\n", prog, prog, prog);
	for (size_t i = 0; i < N_OPTS; i++) {
		char lhs[48];

		snprintf(lhs, sizeof(lhs), "--%s%s%s", opts[i].name,
			 opts[i].arg ? " " : "", opts[i].arg ? opts[i].arg : "");
		fprintf(f, "  %-34s %s\n", lhs, opts[i].help);
	}
}

static void fail_clean(struct hn_config *cfg)
{
	hn_config_release(cfg);
}

int hn_config_load(struct hn_config *cfg, int argc, char **argv,
		   struct hn_error *err)
{
	struct option lo[N_OPTS + 1];
	struct load_state ls = { .cfg = cfg, .err = err };
	struct hn_error lerr = { 0 };
	int *seen_idx = NULL, nseen = 0, rc;
	char **seen_arg = NULL;
	bool help = false, version = false, print = false;
	const char *config_file = NULL;
	const char *prog = argc > 0 && argv[0] ? argv[0] : "hathor-node";

	if (!err)
		ls.err = err = &lerr;
	rc = hn_config_defaults(cfg, err);
	if (rc < 0)
		return rc;
	for (size_t i = 0; i < N_OPTS; i++) {
		lo[i].name = opts[i].name;
		lo[i].has_arg = opts[i].arg ? required_argument : no_argument;
		lo[i].flag = NULL;
		lo[i].val = 0;
	}
	memset(&lo[N_OPTS], 0, sizeof(lo[N_OPTS]));
	seen_idx = calloc((size_t)argc + 1, sizeof(*seen_idx));
	seen_arg = calloc((size_t)argc + 1, sizeof(*seen_arg));
	if (!seen_idx || !seen_arg) {
		rc = hn_error_set(err, HN_ENOMEM, "out of memory");
		goto out;
	}

	/* Pass 1: the command line, checked and remembered. */
	optind = 0;
	opterr = 0;
	for (;;) {
		int li = -1, c = getopt_long(argc, argv, "+:", lo, &li);

		if (c == -1)
			break;
		if (c == '?' || c == ':') {
			const char *bad = argv[optind - 1];

			if (c == ':')
				rc = hn_error_set(err, HN_EINVAL, "option %s "
						  "needs a value", bad);
			else if (optopt)
				rc = hn_error_set(err, HN_EINVAL, "unknown "
						  "option -%c", optopt);
			else
				rc = hn_error_set(err, HN_EINVAL, "unknown or "
						  "ambiguous option %s", bad);
			goto out;
		}
		if (li < 0) {
			rc = hn_error_set(err, HN_EINVAL, "unknown option");
			goto out;
		}
		if (opts[li].kind == K_CLI) {
			switch (opts[li].off) {
			case A_HELP: help = true; break;
			case A_VERSION: version = true; break;
			case A_PRINT: print = true; break;
			case A_CONFIG: config_file = optarg; break;
			}
			continue;
		}
		seen_idx[nseen] = li;
		seen_arg[nseen++] = optarg;
	}
	if (optind < argc) {
		rc = hn_error_set(err, HN_EINVAL, "unexpected argument '%s'",
				  argv[optind]);
		goto out;
	}
	if (help) {
		usage(stdout, prog);
		rc = HN_CONFIG_EXIT_OK;
		goto out;
	}
	if (version) {
		printf("hathor-node %s\n", HN_VERSION);
		rc = HN_CONFIG_EXIT_OK;
		goto out;
	}

	/* File, then environment, then the command line. */
	if (!config_file)
		config_file = getenv("HATHOR_CONFIG");
	if (config_file) {
		if (!*config_file) {
			rc = hn_error_set(err, HN_EINVAL, "--config: empty "
					  "value");
			goto out;
		}
		if (!(cfg->config_file = strdup(config_file))) {
			rc = hn_error_set(err, HN_ENOMEM, "out of memory");
			goto out;
		}
		if ((rc = load_file(&ls)) < 0)
			goto out;
	}
	if ((rc = load_env(&ls)) < 0)
		goto out;
	ls.source = 3;
	for (int i = 0; i < nseen; i++) {
		char where[64];

		snprintf(where, sizeof(where), "--%s", opts[seen_idx[i]].name);
		if ((rc = set_opt(&ls, &opts[seen_idx[i]], seen_arg[i],
				  where)) < 0)
			goto out;
	}

	cfg->net = hn_network_by_name(cfg->network);
	if (cfg->test_features) {
		char msg[200];

		hn_fa_test_network_free(cfg->test_net);
		cfg->test_net = hn_fa_test_network(cfg->net,
						   cfg->test_features, msg,
						   sizeof(msg));
		if (!cfg->test_net) {
			rc = hn_error_set(err, HN_EINVAL, "--test-features: "
					  "%s", msg);
			goto out;
		}
		cfg->net = cfg->test_net;
	}
	if (!cfg->runtime_dir &&
	    asprintf(&cfg->runtime_dir, "%s/run", cfg->data_dir) < 0) {
		cfg->runtime_dir = NULL;
		rc = hn_error_set(err, HN_ENOMEM, "out of memory");
		goto out;
	}
	rc = HN_CONFIG_RUN;
	if (print) {
		fflush(stdout);
		if (hn_config_print(cfg, STDOUT_FILENO) < 0) {
			rc = hn_error_set(err, HN_EIO, "cannot write the "
					  "configuration");
			goto out;
		}
		rc = HN_CONFIG_EXIT_OK;
	}
out:
	free(seen_idx);
	free(seen_arg);
	if (rc < 0) {
		if (!err->code)
			err->code = rc;
		fail_clean(cfg);
	}
	return rc;
}

const char *hn_p2p_mode_name(enum hn_p2p_mode m)
{
	switch (m) {
	case HN_P2P_HOST:
		return "host";
	case HN_P2P_INPROCESS:
		return "inprocess";
	case HN_P2P_OFF:
		return "off";
	}
	return "?";
}

static void hp_str(const struct hn_hostport *hp, char *buf, size_t n)
{
	if (strchr(hp->host, ':'))
		snprintf(buf, n, "[%s]:%u", hp->host, hp->port);
	else
		snprintf(buf, n, "%s:%u", hp->host, hp->port);
}

int hn_config_print(const struct hn_config *cfg, int fd)
{
	FILE *f;
	int dfd = dup(fd);
	char hp[300];

	if (dfd < 0 || !(f = fdopen(dfd, "w"))) {
		if (dfd >= 0)
			close(dfd);
		return HN_EIO;
	}
	fprintf(f, "# effective configuration of hathor-node %s\n",
		HN_VERSION);
	if (cfg->config_file)
		fprintf(f, "# read from %s\n", cfg->config_file);
	for (size_t i = 0; i < N_OPTS; i++) {
		const struct opt_def *o = &opts[i];

		/* Aliases print under their main name. */
		if (strcmp(o->name, "data") == 0 ||
		    strcmp(o->name, "status") == 0 ||
		    strcmp(o->name, "plugins") == 0)
			continue;
		switch (o->kind) {
		case K_STR:
		case K_NETWORK:
		case K_LOG_LEVEL:
		case K_LOG_FORMAT: {
			const char *v = *FIELD(cfg, o->off, char *);

			if (v)
				fprintf(f, "%s = %s\n", o->name, v);
			else
				fprintf(f, "#%s =\n", o->name);
			break;
		}
		case K_HOSTPORT:
		case K_API:
			if (*FIELD(cfg, o->off2, bool)) {
				hp_str(FIELD(cfg, o->off, struct hn_hostport),
				       hp, sizeof(hp));
				fprintf(f, "%s = %s\n", o->name, hp);
			} else if (o->kind == K_API) {
				fprintf(f, "%s = none\n", o->name);
			} else {
				fprintf(f, "#%s =\n", o->name);
			}
			break;
		case K_HP_LIST:
			for (size_t j = 0; j < cfg->n_bootstrap; j++) {
				hp_str(&cfg->bootstrap[j], hp, sizeof(hp));
				fprintf(f, "%s = %s\n", o->name, hp);
			}
			break;
		case K_STR_LIST:
			for (size_t j = 0; j < cfg->n_plugins; j++)
				fprintf(f, "%s = %s\n", o->name,
					cfg->plugins[j]);
			break;
		case K_SIZE:
			fprintf(f, "%s = %zu\n", o->name,
				*FIELD(cfg, o->off, size_t));
			break;
		case K_UINT:
			fprintf(f, "%s = %u\n", o->name,
				*FIELD(cfg, o->off, unsigned));
			break;
		case K_P2P_MODE:
			fprintf(f, "%s = %s\n", o->name,
				hn_p2p_mode_name(cfg->p2p_mode));
			break;
		case K_SQLITE_SYNC:
			fprintf(f, "%s = %s\n", o->name,
				cfg->sqlite_sync_full ? "full" : "normal");
			break;
		case K_BOOL:
			fprintf(f, "%s = %s\n", o->name,
				*FIELD(cfg, o->off, bool) ? "true" : "false");
			break;
		default:
			break;
		}
	}
	for (size_t i = 0; i < cfg->n_kv; i++) {
		const struct hn_config_kv *kv = &cfg->kv[i];

		if (!kv->section[0] || strcmp(kv->section, "node") == 0)
			continue;
		if (i == 0 || strcmp(cfg->kv[i - 1].section, kv->section))
			fprintf(f, "\n[%s]\n", kv->section);
		fprintf(f, "%s = %s\n", kv->key, kv->value);
	}
	return fclose(f) == 0 ? 0 : HN_EIO;
}
