/*
 * hathor-admin: the operator's CLI for hathor-node over its admin socket
 * (an nng REQ socket against the node's REP; wire format in core/admin.h).
 *
 * One request per run.  Human output by default, --json prints one JSON
 * object on stdout, -q prints nothing on success.  Errors go to stderr as
 * one line "hathor-admin: <verb>: <reason>".
 *
 * Exit codes (ECOSYSTEM.md section 3): 0 ok, 1 the command failed, 2 usage,
 * 3 daemon unreachable, 4 timeout.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <json-c/json.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#define EXIT_FAILED 1
#define EXIT_USAGE 2
#define EXIT_UNREACHABLE 3
#define EXIT_TIMEOUT 4

#define DEFAULT_SOCKET "/run/hathor/admin.ipc"
#define DEFAULT_TIMEOUT 60.0
#define MAX_REPLY (16 * 1024 * 1024)

struct opts {
	const char *socket;     /* path or ipc:// URL */
	double timeout;         /* seconds, 0: wait forever */
	bool json;
	bool quiet;
	const char *path;       /* plugin reload p2p --path FILE */
};

/* Verbs: words of the verb, then how many arguments follow. */
static const struct verb {
	const char *name;       /* as sent ("plugin reload") */
	unsigned words;         /* words in @name */
	unsigned min_args, max_args;
	const char *args_help;
	const char *help;
} verbs[] = {
	{ "status", 1, 0, 0, "", "network, best block, uptime, p2p mode, pid" },
	{ "version", 1, 0, 0, "", "versions of the node and its libraries" },
	{ "peers", 1, 0, 0, "", "connected peers (needs P2P running)" },
	{ "log-level", 1, 0, 1, " [LEVEL]",
	  "show or set the log level (error, warn, info, debug)" },
	{ "plugin list", 2, 0, 0, "", "loaded plugins" },
	{ "plugin reload", 2, 1, 1, " NAME [--path FILE]",
	  "reload a plugin from disk, e.g. p2p (waits until done)" },
	{ "plugin load", 2, 1, 1, " PATH", "load a plugin file" },
	{ "plugin unload", 2, 1, 1, " NAME", "unload a plugin" },
};
#define N_VERBS (sizeof(verbs) / sizeof(verbs[0]))

static char verb_line[512];     /* verb and arguments, for error lines */

static void errline(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void errline(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "hathor-admin: %s: ", verb_line);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static void usage(FILE *f)
{
	size_t i;

	fprintf(f,
		"usage: hathor-admin [OPTIONS] VERB [ARGS]\n"
		"\n"
		"Options:\n"
		"  -s, --socket PATH    admin socket (env HATHOR_ADMIN_SOCKET, "
		"default %s)\n"
		"  -t, --timeout SECS   give up after SECS seconds (default "
		"%.0f, 0: never)\n"
		"      --json           print the reply as one JSON object\n"
		"  -q, --quiet          print nothing on success\n"
		"  -h, --help           this help\n"
		"  -V, --version        version of hathor-admin\n"
		"\n"
		"Verbs:\n", DEFAULT_SOCKET, DEFAULT_TIMEOUT);
	for (i = 0; i < N_VERBS; i++) {
		char left[64];

		snprintf(left, sizeof(left), "%s%s", verbs[i].name,
			 verbs[i].args_help);
		fprintf(f, "  %-22s %s\n", left, verbs[i].help);
	}
	fprintf(f, "\nExit status: 0 ok, 1 command failed, 2 usage, "
		"3 daemon unreachable, 4 timeout.\n");
}

/* Finds the verb starting at @argv[0]; returns NULL if none. */
static const struct verb *find_verb(int argc, char **argv)
{
	size_t i;

	for (i = 0; i < N_VERBS; i++) {
		const struct verb *v = &verbs[i];

		if (v->words == 1 && strcmp(argv[0], v->name) == 0)
			return v;
		if (v->words == 2 && argc >= 2 &&
		    strncmp(v->name, argv[0], strlen(argv[0])) == 0 &&
		    v->name[strlen(argv[0])] == ' ' &&
		    strcmp(v->name + strlen(argv[0]) + 1, argv[1]) == 0)
			return v;
	}
	return NULL;
}

static const char *jstr(struct json_object *o, const char *key)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) || !v)
		return NULL;
	return json_object_get_string(v);
}

static bool jnum(struct json_object *o, const char *key, double *out)
{
	struct json_object *v;

	if (!o || !json_object_object_get_ex(o, key, &v) ||
	    !(json_object_is_type(v, json_type_int) ||
	      json_object_is_type(v, json_type_double)))
		return false;
	*out = json_object_get_double(v);
	return true;
}

static void fmt_duration(double s, char *out, size_t n)
{
	unsigned long t = s > 0 ? (unsigned long)s : 0;

	if (t >= 86400)
		snprintf(out, n, "%lud %luh %lum", t / 86400, t % 86400 / 3600,
			 t % 3600 / 60);
	else if (t >= 3600)
		snprintf(out, n, "%luh %lum %lus", t / 3600, t % 3600 / 60,
			 t % 60);
	else if (t >= 60)
		snprintf(out, n, "%lum %lus", t / 60, t % 60);
	else
		snprintf(out, n, "%.1fs", s);
}

static void print_status(struct json_object *r)
{
	struct json_object *bb, *run;
	char up[64];
	double d;

	printf("network      %s\n", jstr(r, "network") ?: "?");
	printf("version      %s\n", jstr(r, "version") ?: "?");
	printf("pid          %s\n", jstr(r, "pid") ?: "?");
	if (jnum(r, "uptime", &d)) {
		fmt_duration(d, up, sizeof(up));
		printf("uptime       %s\n", up);
	}
	run = NULL;
	json_object_object_get_ex(r, "p2p_running", &run);
	printf("p2p mode     %s (%s)\n", jstr(r, "p2p_mode") ?: "?",
	       run && json_object_get_boolean(run) ? "running" :
	       "not running");
	if (json_object_object_get_ex(r, "best_block", &bb) && bb)
		printf("best block   height %s hash %s\n",
		       jstr(bb, "height") ?: "?", jstr(bb, "hash") ?: "?");
	else
		printf("best block   unknown (%s)\n",
		       jstr(r, "best_block_error") ?: "no ledger");
	if (jstr(r, "blocks"))
		printf("vertices     %s blocks, %s transactions\n",
		       jstr(r, "blocks"), jstr(r, "transactions") ?: "?");
	if (jstr(r, "data_dir"))
		printf("data dir     %s\n", jstr(r, "data_dir"));
}

static void print_version(struct json_object *r)
{
	printf("hathor-node %s (plugin ABI %s, nng %s, json-c %s, libev %s)\n",
	       jstr(r, "version") ?: "?", jstr(r, "plugin_abi") ?: "?",
	       jstr(r, "nng") ?: "?", jstr(r, "json_c") ?: "?",
	       jstr(r, "libev") ?: "?");
	printf("hathor-admin %s\n", HN_VERSION);
}

static void print_peers(struct json_object *r)
{
	struct json_object *arr;
	size_t i, n;

	if (!json_object_object_get_ex(r, "peers", &arr) ||
	    !json_object_is_type(arr, json_type_array)) {
		printf("%s\n", json_object_to_json_string_ext(r,
			JSON_C_TO_STRING_PRETTY));
		return;
	}
	n = json_object_array_length(arr);
	if (n)
		printf("%-64s  %-22s  %s\n", "ID", "ADDRESS", "STATE");
	for (i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(arr, i);

		printf("%-64s  %-22s  %s\n", jstr(p, "id") ?: "-",
		       jstr(p, "address") ?: "-", jstr(p, "state") ?: "-");
	}
	printf("%zu peer%s\n", n, n == 1 ? "" : "s");
}

static void print_plugins(struct json_object *r)
{
	struct json_object *arr, *st;
	size_t i, n = 0;

	if (json_object_object_get_ex(r, "plugins", &arr) &&
	    json_object_is_type(arr, json_type_array))
		n = json_object_array_length(arr);
	if (!n) {
		printf("no plugins loaded%s%s%s\n", jstr(r, "note") ? " (" : "",
		       jstr(r, "note") ?: "", jstr(r, "note") ? ")" : "");
		return;
	}
	printf("%-16s %-10s %-8s %-9s %-8s %s\n", "NAME", "VERSION", "KIND",
	       "PROCESS", "STARTED", "PATH");
	for (i = 0; i < n; i++) {
		struct json_object *p = json_object_array_get_idx(arr, i);

		st = NULL;
		json_object_object_get_ex(p, "started", &st);
		printf("%-16s %-10s %-8s %-9s %-8s %s\n",
		       jstr(p, "name") ?: "-", jstr(p, "version") ?: "-",
		       jstr(p, "kind") ?: "-", jstr(p, "process") ?: "-",
		       st ? (json_object_get_boolean(st) ? "yes" : "no") : "-",
		       jstr(p, "path") ?: "-");
	}
}

static void print_result(const struct verb *v, char **args, unsigned n_args,
			 struct json_object *r)
{
	double ms;

	if (strcmp(v->name, "status") == 0)
		print_status(r);
	else if (strcmp(v->name, "version") == 0)
		print_version(r);
	else if (strcmp(v->name, "peers") == 0)
		print_peers(r);
	else if (strcmp(v->name, "plugin list") == 0)
		print_plugins(r);
	else if (strcmp(v->name, "log-level") == 0 && n_args)
		printf("ok: log level %s -> %s\n", jstr(r, "previous") ?: "?",
		       jstr(r, "level") ?: "?");
	else if (strcmp(v->name, "log-level") == 0)
		printf("log level: %s\n", jstr(r, "level") ?: "?");
	else if (strcmp(v->name, "plugin reload") == 0 && jnum(r, "ms", &ms))
		printf("ok: %s reloaded in %.0f ms\n", args[0], ms);
	else if (strcmp(v->name, "plugin reload") == 0)
		printf("ok: %s reloaded\n", args[0]);
	else if (strcmp(v->name, "plugin load") == 0)
		printf("ok: loaded %s\n", jstr(r, "name") ?: args[0]);
	else
		printf("ok: unloaded %s\n", args[0]);
}

/* Sends the request and waits for the reply.  Returns an exit code; on 0
 * *@reply is the parsed reply object. */
static int call(const struct opts *o, const struct verb *v, char **args,
		unsigned n_args, struct json_object **reply)
{
	struct json_object *req = json_object_new_object();
	struct json_object *ja = json_object_new_array();
	struct json_tokener *tok;
	char url[4096];
	nng_socket s;
	nng_msg *m = NULL;
	const char *txt;
	size_t len;
	unsigned i;
	int rv, code = 0;

	json_object_object_add(req, "verb", json_object_new_string(v->name));
	for (i = 0; i < n_args; i++)
		json_object_array_add(ja, json_object_new_string(args[i]));
	json_object_object_add(req, "args", ja);
	if (strncmp(o->socket, "ipc://", 6) == 0)
		snprintf(url, sizeof(url), "%s", o->socket);
	else
		snprintf(url, sizeof(url), "ipc://%s", o->socket);

	if ((rv = nng_req0_open(&s)) != 0) {
		errline("cannot open socket: %s", nng_strerror(rv));
		json_object_put(req);
		return EXIT_FAILED;
	}
	/* No resend: a reload must not run twice (IPC.md section 2). */
	nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
	nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, o->timeout > 0 ?
			  (nng_duration)ceil(o->timeout * 1000) :
			  NNG_DURATION_INFINITE);
	nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, o->timeout > 0 ?
			  (nng_duration)ceil(o->timeout * 1000) :
			  NNG_DURATION_INFINITE);
	nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, MAX_REPLY);
	if ((rv = nng_dial(s, url, NULL, 0)) != 0) {
		errline("cannot reach hathor-node at %s: %s%s", url + 6,
			nng_strerror(rv), rv == NNG_ENOENT ||
			rv == NNG_ECONNREFUSED ? " (is hathor-node running?)" :
			"");
		code = EXIT_UNREACHABLE;
		goto out;
	}
	txt = json_object_to_json_string_length(req, JSON_C_TO_STRING_PLAIN,
						&len);
	if ((rv = nng_send(s, (void *)txt, len, 0)) != 0) {
		errline("cannot send request: %s", nng_strerror(rv));
		code = rv == NNG_ETIMEDOUT ? EXIT_TIMEOUT : EXIT_UNREACHABLE;
		goto out;
	}
	if ((rv = nng_recvmsg(s, &m, 0)) != 0) {
		if (rv == NNG_ETIMEDOUT) {
			errline("no reply within %g s", o->timeout);
			code = EXIT_TIMEOUT;
		} else {
			errline("connection lost: %s", nng_strerror(rv));
			code = EXIT_UNREACHABLE;
		}
		goto out;
	}
	tok = json_tokener_new();
	*reply = json_tokener_parse_ex(tok, nng_msg_body(m),
				       (int)nng_msg_len(m));
	if (!*reply || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(*reply, json_type_object)) {
		json_object_put(*reply);
		*reply = NULL;
		errline("malformed reply from the node");
		code = EXIT_FAILED;
	}
	json_tokener_free(tok);
out:
	nng_msg_free(m);
	nng_close(s);
	json_object_put(req);
	return code;
}

/* --path FILE as the node will see it: absolute (the node's working
 * directory is not ours), resolved if it exists; the node names a missing
 * file in its answer.  The reload verb takes a path for a name with '/'. */
static int with_path(const char *file, char **out)
{
	char cwd[PATH_MAX];

	if (!*file) {
		errline("--path needs a file name");
		return EXIT_USAGE;
	}
	if ((*out = realpath(file, NULL)))
		return 0;
	if (file[0] == '/')
		*out = strdup(file);
	else if (getcwd(cwd, sizeof(cwd)) &&
		 asprintf(out, "%s/%s", cwd, file) < 0)
		*out = NULL;
	if (!*out) {
		errline("cannot resolve '%s': %s", file, strerror(errno));
		return EXIT_FAILED;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "path", required_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .timeout = DEFAULT_TIMEOUT };
	struct json_object *reply = NULL, *jok, *res;
	const struct verb *v;
	unsigned n_args;
	char **args, *end, *path_arg = NULL;
	int c, i, code;

	snprintf(verb_line, sizeof(verb_line), "usage");
	o.socket = getenv("HATHOR_ADMIN_SOCKET");
	if (!o.socket || !*o.socket)
		o.socket = DEFAULT_SOCKET;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "s:t:qhV", lopts, NULL)) != -1) {
		switch (c) {
		case 's':
			o.socket = optarg;
			break;
		case 't':
			errno = 0;
			o.timeout = strtod(optarg, &end);
			if (errno || end == optarg || *end || o.timeout < 0 ||
			    !isfinite(o.timeout) || o.timeout > 86400) {
				errline("bad --timeout '%s' (seconds, 0 to "
					"86400)", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'j':
			o.json = true;
			break;
		case 'q':
			o.quiet = true;
			break;
		case 'p':
			o.path = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("hathor-admin %s\n", HN_VERSION);
			return 0;
		default:
			if (optopt && strchr("stp", optopt))
				errline("option -%c needs a value", optopt);
			else if (optopt)
				errline("unknown option -%c (try --help)",
					optopt);
			else
				errline("unknown option '%s' (try --help)",
					argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		errline("no verb given (try --help)");
		return EXIT_USAGE;
	}
	verb_line[0] = '\0';
	for (i = optind; i < argc; i++) {
		size_t l = strlen(verb_line);

		snprintf(verb_line + l, sizeof(verb_line) - l, "%s%s",
			 l ? " " : "", argv[i]);
	}
	if (!(v = find_verb(argc - optind, argv + optind))) {
		errline("unknown verb (try --help)");
		return EXIT_USAGE;
	}
	args = argv + optind + v->words;
	n_args = (unsigned)(argc - optind) - v->words;
	if (n_args < v->min_args || n_args > v->max_args) {
		errline("usage: hathor-admin %s%s", v->name, v->args_help);
		return EXIT_USAGE;
	}
	if (o.path && (strcmp(v->name, "plugin reload") != 0 ||
		       strcmp(args[0], "p2p") != 0)) {
		errline("--path goes with 'plugin reload p2p' only");
		return EXIT_USAGE;
	}
	if (o.path && (code = with_path(o.path, &path_arg)) != 0)
		return code;
	code = call(&o, v, o.path ? &path_arg : args, n_args, &reply);
	free(path_arg);
	if (code != 0)
		return code;

	if (!json_object_object_get_ex(reply, "ok", &jok) ||
	    !json_object_get_boolean(jok)) {
		const char *ec = jstr(reply, "code");

		errline("%s", jstr(reply, "error") ?: "failed");
		if (o.json) {
			json_object_object_del(reply, "ok");
			printf("%s\n", json_object_to_json_string_ext(reply,
				JSON_C_TO_STRING_PLAIN));
		}
		code = ec && strcmp(ec, "timeout") == 0 ? EXIT_TIMEOUT :
			EXIT_FAILED;
		json_object_put(reply);
		return code;
	}
	if (!json_object_object_get_ex(reply, "result", &res) ||
	    !json_object_is_type(res, json_type_object)) {
		errline("malformed reply from the node (no result)");
		json_object_put(reply);
		return EXIT_FAILED;
	}
	if (o.json)
		printf("%s\n", json_object_to_json_string_ext(res,
			JSON_C_TO_STRING_PLAIN));
	else if (!o.quiet)
		print_result(v, args, n_args, res);
	json_object_put(reply);
	if (fflush(stdout) != 0) {
		errline("cannot write output: %s", strerror(errno));
		return EXIT_FAILED;
	}
	return 0;
}
