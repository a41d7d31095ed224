/*
 * p2p_msg.c: command table, UTF-8 check and line split of the P2P
 * protocol.  The table order follows enum p2p_cmd.
 */
#include "p2p_msg.h"

#include <stdlib.h>
#include <string.h>

#include "hn/err.h"

static const struct {
	const char *wire;
	const char *py;
} cmd_names[P2P_CMD__COUNT] = {
	[P2P_CMD_ERROR] = { "ERROR", "ERROR" },
	[P2P_CMD_THROTTLE] = { "THROTTLE", "THROTTLE" },
	[P2P_CMD_HELLO] = { "HELLO", "HELLO" },
	[P2P_CMD_PEER_ID] = { "PEER-ID", "PEER_ID" },
	[P2P_CMD_READY] = { "READY", "READY" },
	[P2P_CMD_GET_PEERS] = { "GET-PEERS", "GET_PEERS" },
	[P2P_CMD_PEERS] = { "PEERS", "PEERS" },
	[P2P_CMD_PING] = { "PING", "PING" },
	[P2P_CMD_PONG] = { "PONG", "PONG" },
	[P2P_CMD_GET_BEST_BLOCKCHAIN] = { "GET-BEST-BLOCKCHAIN",
					  "GET_BEST_BLOCKCHAIN" },
	[P2P_CMD_BEST_BLOCKCHAIN] = { "BEST-BLOCKCHAIN", "BEST_BLOCKCHAIN" },
	[P2P_CMD_GET_DATA] = { "GET-DATA", "GET_DATA" },
	[P2P_CMD_DATA] = { "DATA", "DATA" },
	[P2P_CMD_NOT_FOUND] = { "NOT-FOUND", "NOT_FOUND" },
	[P2P_CMD_GET_TIPS] = { "GET-TIPS", "GET_TIPS" },
	[P2P_CMD_TIPS] = { "TIPS", "TIPS" },
	[P2P_CMD_TIPS_END] = { "TIPS-END", "TIPS_END" },
	[P2P_CMD_RELAY] = { "RELAY", "RELAY" },
	[P2P_CMD_GET_NEXT] = { "GET-NEXT", "GET_NEXT" },
	[P2P_CMD_NEXT] = { "NEXT", "NEXT" },
	[P2P_CMD_GET_NEXT_BLOCKS] = { "GET-NEXT-BLOCKS", "GET_NEXT_BLOCKS" },
	[P2P_CMD_GET_PREV_BLOCKS] = { "GET-PREV-BLOCKS", "GET_PREV_BLOCKS" },
	[P2P_CMD_BLOCKS] = { "BLOCKS", "BLOCKS" },
	[P2P_CMD_BLOCKS_END] = { "BLOCKS-END", "BLOCKS_END" },
	[P2P_CMD_GET_BEST_BLOCK] = { "GET-BEST-BLOCK", "GET_BEST_BLOCK" },
	[P2P_CMD_BEST_BLOCK] = { "BEST-BLOCK", "BEST_BLOCK" },
	[P2P_CMD_GET_TRANSACTIONS_BFS] = { "GET-TRANSACTIONS-BFS",
					   "GET_TRANSACTIONS_BFS" },
	[P2P_CMD_TRANSACTION] = { "TRANSACTION", "TRANSACTION" },
	[P2P_CMD_TRANSACTIONS_END] = { "TRANSACTIONS-END",
				       "TRANSACTIONS_END" },
	[P2P_CMD_GET_MEMPOOL] = { "GET-MEMPOOL", "GET_MEMPOOL" },
	[P2P_CMD_MEMPOOL_END] = { "MEMPOOL-END", "MEMPOOL_END" },
	[P2P_CMD_GET_PEER_BLOCK_HASHES] = { "GET-PEER-BLOCK-HASHES",
					    "GET_PEER_BLOCK_HASHES" },
	[P2P_CMD_PEER_BLOCK_HASHES] = { "PEER-BLOCK-HASHES",
					"PEER_BLOCK_HASHES" },
	[P2P_CMD_STOP_BLOCK_STREAMING] = { "STOP-BLOCK-STREAMING",
					   "STOP_BLOCK_STREAMING" },
	[P2P_CMD_STOP_TRANSACTIONS_STREAMING] = {
		"STOP-TRANSACTIONS-STREAMING", "STOP_TRANSACTIONS_STREAMING" },
	[P2P_CMD_GET_BLOCK_NC_ROOT_ID] = { "GET-BLOCK-NC-ROOT-ID",
					   "GET_BLOCK_NC_ROOT_ID" },
	[P2P_CMD_BLOCK_NC_ROOT_ID] = { "BLOCK-NC-ROOT-ID", "BLOCK_NC_ROOT_ID" },
	[P2P_CMD_GET_NC_DB_NODE] = { "GET-NC-DB-NODE", "GET_NC_DB_NODE" },
	[P2P_CMD_NC_DB_NODE] = { "NC-DB-NODE", "NC_DB_NODE" },
};

const char *p2p_cmd_name(enum p2p_cmd cmd)
{
	if ((int)cmd < 0 || cmd >= P2P_CMD__COUNT)
		return NULL;
	return cmd_names[cmd].wire;
}

const char *p2p_cmd_enum_name(enum p2p_cmd cmd)
{
	if ((int)cmd < 0 || cmd >= P2P_CMD__COUNT)
		return NULL;
	return cmd_names[cmd].py;
}

enum p2p_cmd p2p_cmd_lookup(const char *name, size_t len)
{
	int i;

	for (i = 0; i < P2P_CMD__COUNT; i++) {
		const char *w = cmd_names[i].wire;

		if (strlen(w) == len && memcmp(w, name, len) == 0)
			return (enum p2p_cmd)i;
	}
	return P2P_CMD_NONE;
}

bool p2p_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str;
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		size_t n, k;
		unsigned int cp, min;

		if (c < 0x80) {
			i++;
			continue;
		} else if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
			min = 0x80;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
			min = 0x800;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
			min = 0x10000;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

int p2p_line_parse(const char *line, size_t len, struct p2p_line_msg *out)
{
	const char *sp;
	size_t clen;

	if (!p2p_utf8_valid(line, len))
		return HN_EPARSE;
	sp = memchr(line, ' ', len);
	clen = sp ? (size_t)(sp - line) : len;
	out->cmd = p2p_cmd_lookup(line, clen);
	if (out->cmd == P2P_CMD_NONE)
		return HN_ENOENT;
	if (sp) {
		out->payload = sp + 1;
		out->payload_len = len - clen - 1;
	} else {
		out->payload = line + len;
		out->payload_len = 0;
	}
	return 0;
}

long p2p_line_format(enum p2p_cmd cmd, const char *payload, size_t plen,
		     char **out)
{
	const char *name = p2p_cmd_name(cmd);
	size_t nlen, total;
	char *buf;

	if (!name)
		return HN_EINVAL;
	nlen = strlen(name);
	total = nlen + (plen ? plen + 1 : 0);
	buf = malloc(total + 1);
	if (!buf)
		return HN_ENOMEM;
	memcpy(buf, name, nlen);
	if (plen) {
		buf[nlen] = ' ';
		memcpy(buf + nlen + 1, payload, plen);
	}
	buf[total] = '\0';
	*out = buf;
	return (long)total;
}
