/*
 * config.h: the daemon's configuration, filled once at start-up by
 * hn_config_load() (core/opts.c) from, in decreasing precedence, the command
 * line (GNU long options), the environment (HATHOR_<OPTION>, dashes as
 * underscores), an ini file (--config FILE, parsed with inih) and built-in
 * defaults.  See docs/configuration.md for every key.
 *
 * Invariants after a successful hn_config_load():
 *  - every string field is malloc'd and owned by the struct (or NULL where
 *    the field says "NULL: ..."), freed by hn_config_release();
 *  - @net points at the static parameters of @network;
 *  - host/port pairs are parsed and validated;
 *  - paths are as given (relative paths are relative to the cwd at start).
 * Read-only after load except where a field says otherwise; loop thread.
 */
#ifndef HN_CORE_CONFIG_H
#define HN_CORE_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct hn_network;

/* Exit code for usage / configuration errors (bad option, bad value, bad
 * config file). */
#define HN_EXIT_USAGE 2

/* Where the P2P plugin runs (ARCHITECTURE.md "Processes"). */
enum hn_p2p_mode {
	HN_P2P_HOST = 0,        /* separate hathor-p2p-host process (default) */
	HN_P2P_INPROCESS,       /* plugin loaded inside the core */
	HN_P2P_OFF,             /* no P2P at all (tests, offline node) */
};

/* A listening or dialing address "HOST:PORT" ("[v6]:PORT" accepted). */
struct hn_hostport {
	char host[256];         /* literal address or name, NUL-terminated */
	uint16_t port;          /* 0: pick a free port (listeners only) */
};

/* One raw "section.key = value" entry of the ini file, kept for modules and
 * plugins that read their own keys (plugin services "config get"). */
struct hn_config_kv {
	char *section;          /* "" for keys before any [section] */
	char *key;
	char *value;
};

struct hn_config {
	/* --config FILE: ini file that was read (NULL: none). */
	char *config_file;

	/* --network NAME: "unittests", "privatenet", "testnet", "mainnet"...
	 * resolved into @net. */
	char *network;
	const struct hn_network *net;

	/* --data DIR / --data-dir: sqlite database and lock file. */
	char *data_dir;
	/* --runtime-dir DIR: IPC sockets and the pid file; created 0700. */
	char *runtime_dir;
	/* --plugin-dir DIR: where plugin .so files are looked up (NULL: none). */
	char *plugin_dir;
	/* --p2p-host-bin PATH: hathor-p2p-host executable (NULL: beside
	 * the hathor-node executable, see core/sup.c find_host_bin()). */
	char *p2p_host_bin;
	/* --pid-file PATH (NULL: <runtime_dir>/hathor-node.pid). */
	char *pid_file;

	/* P2P. */
	enum hn_p2p_mode p2p_mode;      /* --p2p-mode host|inprocess|off */
	bool has_p2p_listen;            /* --listen given */
	struct hn_hostport p2p_listen;  /* --listen HOST:PORT */
	size_t n_bootstrap;             /* --bootstrap HOST:PORT, repeatable */
	struct hn_hostport *bootstrap;  /* owned array of n_bootstrap */
	size_t p2p_max_peers;           /* --p2p-max-peers N */
	char *peer_id_file;             /* --peer-id FILE (NULL: ephemeral) */

	/* HTTP API (libmicrohttpd). */
	bool api_enabled;               /* false with --api-listen none */
	struct hn_hostport api_listen;  /* --api-listen HOST:PORT, --status */
	size_t http_max_body;           /* --http-max-body BYTES */
	unsigned http_max_connections;  /* --http-max-connections N */
	unsigned http_timeout;          /* --http-timeout SECONDS (idle) */
	char *http_cors_origin;         /* --http-cors-origin (NULL: none) */

	/* Admin socket (core/admin*.c). */
	char *admin_socket;             /* NULL: <runtime_dir>/admin.ipc */
	char *admin_group;              /* group owning it (NULL: ours) */

	/* Metrics (plugins/metrics). */
	bool metrics_enabled;           /* --metrics-listen given */
	struct hn_hostport metrics_listen; /* --metrics-listen HOST:PORT */

	/* In-core plugins to load from plugin_dir, e.g. "metrics". */
	size_t n_plugins;
	char **plugins;                 /* --plugin NAME, repeatable */

	/* IPC limits between core and host (ARCHITECTURE.md "IPC"). */
	size_t ipc_max_msg;             /* --ipc-max-msg BYTES */
	unsigned ipc_max_inflight;      /* --ipc-max-inflight N */
	unsigned ipc_max_rate;          /* --ipc-max-rate CALLS/S (0: off) */
	unsigned host_max_rss_mb;       /* --p2p-host-max-rss MB (0: off) */
	unsigned host_heartbeat_ms;     /* --p2p-host-heartbeat MS */

	/* Storage. */
	unsigned sqlite_cache_mb;       /* --cache-size MB */
	bool sqlite_sync_full;          /* --sqlite-sync full|normal */

	/* Mining. */
	bool allow_mining_without_peers; /* --allow-mining-without-peers */

	/* --test-features SPEC (unittests only, for tests): @net is then a
	 * copy of unittests with that feature table (core/feature.h
	 * hn_fa_test_network), owned in @test_net. */
	char *test_features;
	struct hn_network *test_net;

	/* Logging, applied with hn_log_setup(). */
	char *log_level;                /* --log-level error|warn|info|debug */
	char *log_format;               /* --log-format text|json */
	char *log_file;                 /* --log-file PATH (NULL: stderr);
					 * reopened on SIGHUP */

	/* Shutdown: how long in-flight work may take after SIGTERM. */
	unsigned shutdown_timeout;      /* --shutdown-timeout SECONDS */
	/* After a p2p plugin reload's cut-over: watch the new host this
	 * long, roll back if it ends (0: no gate). */
	unsigned reload_health_ms;      /* --reload-health-ms MS (5000) */

	/* Every entry of the ini file, in file order. */
	size_t n_kv;
	struct hn_config_kv *kv;
};

struct hn_error;

/* What hn_config_load() asks the caller to do. */
enum hn_config_action {
	HN_CONFIG_RUN = 0,      /* start the daemon */
	HN_CONFIG_EXIT_OK,      /* --help, --version, --print-config done */
};

/* Fills @cfg (caller-allocated, any content) from @argv, the process
 * environment and the ini file.  @argv[0] is the program name; the
 * "run" subcommand, if any, has already been removed by the caller.
 * Output of --help/--version/--print-config goes to stdout.
 * Returns an enum hn_config_action (>= 0), or a negative code with @err
 * naming the offending option, variable or file line; then @cfg is
 * released (safe to hn_config_release() again). */
int hn_config_load(struct hn_config *cfg, int argc, char **argv,
		   struct hn_error *err);

/* Defaults only, without reading argv/env/file (tests, embedded use). */
int hn_config_defaults(struct hn_config *cfg, struct hn_error *err);

/* Frees everything @cfg owns and zeroes it.  NULL-safe, idempotent. */
void hn_config_release(struct hn_config *cfg);

/* Value of [@section] @key from the ini file, or NULL.  @section "" is the
 * part before any section header.  Borrowed, lives as long as @cfg. */
const char *hn_config_get(const struct hn_config *cfg, const char *section,
			  const char *key);

/* "host", "inprocess" or "off". */
const char *hn_p2p_mode_name(enum hn_p2p_mode m);

/* Writes the effective configuration as ini to @fd (--print-config). */
int hn_config_print(const struct hn_config *cfg, int fd);

/* Parses "HOST:PORT", "[V6]:PORT" or, if @default_host is not NULL, a bare
 * "PORT".  Returns 0 or HN_EINVAL with @err set. */
int hn_hostport_parse(const char *s, const char *default_host,
		      struct hn_hostport *out, struct hn_error *err);

#endif /* HN_CORE_CONFIG_H */
