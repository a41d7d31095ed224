/*
 * cli_tools.c: offline operator subcommands (decode, genesis).
 *
 * decode: hex of one serialized vertex (argument, or "-" for stdin) to the
 * JSON of hn_vertex_to_json(), i.e. the field names of the reference's
 * /v1a/transaction "tx" object.  Whitespace inside the hex is ignored so a
 * wrapped paste works.
 * genesis: the genesis vertices of a network as this node rebuilds them
 * (hashes, HELLO short hash, serialized bytes).
 */
#include "cli_tools.h"
#include "cli_verify.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"
#include "hn/vertex.h"

/* Hex digits of the largest vertex, plus room for line breaks. */
#define DECODE_MAX_INPUT (2 * HN_MAX_VERTEX_SIZE + 65536)

static void print_networks(FILE *f)
{
	const char *const *n = hn_network_names();

	fprintf(f, "networks:");
	for (; *n; n++)
		fprintf(f, " %s", *n);
	fprintf(f, " (aliases: testnet, nano-testnet, localnet)\n");
}

static void decode_usage(FILE *f)
{
	fprintf(f, "usage: hathor-node decode [--network NAME] [--compact] "
		   "<hex>|-\n"
		   "  prints the vertex as JSON; '-' reads the hex from "
		   "stdin\n"
		   "  --network NAME  also report whether it is a genesis "
		   "vertex of NAME\n"
		   "  --compact       one-line JSON\n");
	print_networks(f);
}

static void genesis_usage(FILE *f)
{
	fprintf(f, "usage: hathor-node genesis [--network NAME] "
		   "[--json|--text]\n"
		   "  prints the genesis hashes, short hash and bytes of NAME "
		   "(default mainnet)\n"
		   "  as JSON (the default) or as text for reading\n");
	print_networks(f);
}

/* Looks up @name for @tool; prints the error itself. */
static const struct hn_network *tool_network(const char *tool,
					     const char *name)
{
	const struct hn_network *net = hn_network_by_name(name);

	const char *const *n = hn_network_names();

	if (net)
		return net;
	while (*n && strcmp(*n, name))
		n++;
	if (*n)
		fprintf(stderr, "hathor-node %s: network '%s' unavailable: its "
				"genesis does not match the published hashes\n",
			tool, name);
	else
		fprintf(stderr, "hathor-node %s: unknown network '%s'\n", tool,
			name);
	return NULL;
}

/* Reads all of stdin up to DECODE_MAX_INPUT bytes into a NUL-terminated
 * malloc'd string.  Returns NULL (message printed) on error. */
static char *read_stdin(void)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);

	if (!buf)
		goto nomem;
	for (;;) {
		size_t n;

		if (len + 1 == cap) {
			char *nb;

			if (cap > DECODE_MAX_INPUT) {
				fprintf(stderr, "hathor-node decode: input "
						"larger than %d bytes\n",
					DECODE_MAX_INPUT);
				free(buf);
				return NULL;
			}
			if (!(nb = realloc(buf, cap * 2)))
				goto nomem;
			buf = nb;
			cap *= 2;
		}
		n = fread(buf + len, 1, cap - 1 - len, stdin);
		len += n;
		if (n == 0) {
			if (ferror(stdin)) {
				fprintf(stderr, "hathor-node decode: cannot "
						"read stdin\n");
				free(buf);
				return NULL;
			}
			break;
		}
	}
	buf[len] = '\0';
	return buf;
nomem:
	free(buf);
	fprintf(stderr, "hathor-node decode: out of memory\n");
	return NULL;
}

/* Removes ASCII whitespace from @s in place. */
static void strip_space(char *s)
{
	char *w = s;

	for (; *s; s++)
		if (!isspace((unsigned char)*s))
			*w++ = *s;
	*w = '\0';
}

/* Adds @val (taken, may be NULL from a failed allocation) to @o. */
static int add_taken(struct json_object *o, const char *key,
		     struct json_object *val)
{
	if (!val || json_object_object_add(o, key, val) < 0) {
		json_object_put(val);
		return HN_ENOMEM;
	}
	return 0;
}

static int decode_hex_vertex(const char *hex, const struct hn_network *net,
			     bool compact)
{
	struct json_object *o = NULL;
	struct hn_vertex *v = NULL;
	uint8_t *bytes = NULL;
	size_t len = 0;
	char err[160];
	int rc, status = 1;

	if (!*hex) {
		fprintf(stderr, "hathor-node decode: empty input\n");
		return 1;
	}
	if (!(bytes = malloc(HN_MAX_VERTEX_SIZE))) {
		fprintf(stderr, "hathor-node decode: out of memory\n");
		return 1;
	}
	rc = hn_hex_decode(hex, bytes, HN_MAX_VERTEX_SIZE, &len);
	if (rc == HN_ERANGE) {
		fprintf(stderr, "hathor-node decode: more than %d bytes, "
				"larger than any vertex\n",
			HN_MAX_VERTEX_SIZE);
		goto out;
	}
	if (rc < 0) {
		fprintf(stderr, "hathor-node decode: bad hex (%zu characters): "
				"odd length or a non-hex character\n",
			strlen(hex));
		goto out;
	}
	err[0] = '\0';
	if ((rc = hn_vertex_decode(bytes, len, &v, err, sizeof(err))) < 0) {
		fprintf(stderr, "hathor-node decode: not a vertex (%zu bytes): "
				"%s\n",
			len, err[0] ? err : hn_strerror(rc));
		goto out;
	}
	if ((rc = hn_vertex_to_json(v, &o)) < 0) {
		fprintf(stderr, "hathor-node decode: cannot make json: %s\n",
			hn_strerror(rc));
		goto out;
	}
	if (net && add_taken(o, "genesis",
			     json_object_new_boolean(
				     hn_network_is_genesis(net, v->hash)))) {
		fprintf(stderr, "hathor-node decode: out of memory\n");
		goto out;
	}
	printf("%s\n", json_object_to_json_string_ext(
			       o, (compact ? JSON_C_TO_STRING_PLAIN
					   : JSON_C_TO_STRING_PRETTY) |
				  JSON_C_TO_STRING_NOSLASHESCAPE));
	status = fflush(stdout) == 0 ? 0 : 1;
out:
	json_object_put(o);
	hn_vertex_free(v);
	free(bytes);
	return status;
}

static int tool_decode(int argc, char **argv)
{
	const struct hn_network *net = NULL;
	const char *arg = NULL;
	bool compact = false;
	char *hex;
	int status;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			decode_usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--network") && i + 1 < argc) {
			if (!(net = tool_network("decode", argv[++i])))
				return 2;
		} else if (!strcmp(argv[i], "--compact")) {
			compact = true;
		} else if (!arg && (argv[i][0] != '-' ||
				    !strcmp(argv[i], "-"))) {
			arg = argv[i];
		} else {
			fprintf(stderr, "hathor-node decode: unexpected "
					"argument '%s'\n",
				argv[i]);
			decode_usage(stderr);
			return 2;
		}
	}
	if (!arg) {
		decode_usage(stderr);
		return 2;
	}
	if (!strcmp(arg, "-"))
		hex = read_stdin();
	else if (!(hex = strdup(arg)))
		fprintf(stderr, "hathor-node decode: out of memory\n");
	if (!hex)
		return 1;
	strip_space(hex);
	status = decode_hex_vertex(hex, net, compact);
	free(hex);
	return status;
}

/* {"hash", "bytes", "nonce", "timestamp", "weight"} of @g, or NULL. */
static struct json_object *genesis_json(const struct hn_genesis_vertex *g)
{
	struct json_object *o = json_object_new_object();
	char hash[65], bytes[2 * sizeof(g->bytes) + 1];

	if (!o)
		return NULL;
	hn_hex_encode(g->hash, 32, hash);
	hn_hex_encode(g->bytes, g->len, bytes);
	if (add_taken(o, "hash", json_object_new_string(hash)) ||
	    add_taken(o, "bytes", json_object_new_string(bytes)) ||
	    add_taken(o, "nonce", json_object_new_uint64(g->nonce)) ||
	    add_taken(o, "timestamp", json_object_new_int64(g->timestamp)) ||
	    add_taken(o, "weight", json_object_new_double(g->weight))) {
		json_object_put(o);
		return NULL;
	}
	return o;
}

static int genesis_print_json(const struct hn_network *net)
{
	struct json_object *o = json_object_new_object();
	int status = 1;

	if (!o ||
	    add_taken(o, "network", json_object_new_string(net->name)) ||
	    add_taken(o, "p2p_network",
		      json_object_new_string(net->p2p_network)) ||
	    add_taken(o, "short_hash",
		      json_object_new_string(net->genesis_short_hash)) ||
	    add_taken(o, "block", genesis_json(&net->genesis_block)) ||
	    add_taken(o, "tx1", genesis_json(&net->genesis_tx1)) ||
	    add_taken(o, "tx2", genesis_json(&net->genesis_tx2))) {
		fprintf(stderr, "hathor-node genesis: out of memory\n");
		goto out;
	}
	printf("%s\n", json_object_to_json_string_ext(
			       o, JSON_C_TO_STRING_PRETTY |
					  JSON_C_TO_STRING_NOSLASHESCAPE));
	status = fflush(stdout) == 0 ? 0 : 1;
out:
	json_object_put(o);
	return status;
}

static void genesis_print_one(const char *what,
			      const struct hn_genesis_vertex *g)
{
	char hash[65], bytes[2 * sizeof(g->bytes) + 1];

	hn_hex_encode(g->hash, 32, hash);
	hn_hex_encode(g->bytes, g->len, bytes);
	printf("%-5s %s\n", what, hash);
	printf("      nonce %llu, timestamp %u, weight %g\n",
	       (unsigned long long)g->nonce, g->timestamp, g->weight);
	printf("      bytes %s\n", bytes);
}

static int tool_genesis(int argc, char **argv)
{
	const char *name = "mainnet";
	const struct hn_network *net;
	bool json = true;

	for (int i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			genesis_usage(stdout);
			return 0;
		} else if (!strcmp(argv[i], "--network") && i + 1 < argc) {
			name = argv[++i];
		} else if (!strcmp(argv[i], "--json")) {
			json = true;
		} else if (!strcmp(argv[i], "--text")) {
			json = false;
		} else {
			fprintf(stderr, "hathor-node genesis: unexpected "
					"argument '%s'\n",
				argv[i]);
			genesis_usage(stderr);
			return 2;
		}
	}
	if (!(net = tool_network("genesis", name)))
		return 2;
	if (json)
		return genesis_print_json(net);
	printf("network %s (HELLO network \"%s\")\n", net->name,
	       net->p2p_network);
	printf("short hash %s\n", net->genesis_short_hash);
	genesis_print_one("block", &net->genesis_block);
	genesis_print_one("tx1", &net->genesis_tx1);
	genesis_print_one("tx2", &net->genesis_tx2);
	return fflush(stdout) == 0 ? 0 : 1;
}

int hn_cli_tool_main(int argc, char **argv)
{
	if (argc < 2 || !argv[1])
		return -1;
	if (!strcmp(argv[1], "decode"))
		return tool_decode(argc, argv);
	if (!strcmp(argv[1], "genesis"))
		return tool_genesis(argc, argv);
	if (!strcmp(argv[1], "verify-file"))
		return hn_cli_verify_file(argc, argv);
	return -1;
}
