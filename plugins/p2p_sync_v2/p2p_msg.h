/*
 * p2p_msg.h: the commands of the Hathor P2P line protocol and the
 * command/payload split (hathor/p2p/messages.py, protocol.py).
 *
 * A line is UTF-8 "COMMAND" or "COMMAND payload", split at the first space.
 * Invalid UTF-8 or a command not in this table means a silent close (the
 * reference does transport.loseConnection()); that is the caller's job.
 */
#ifndef P2P_MSG_H
#define P2P_MSG_H

#include <stdbool.h>
#include <stddef.h>

enum p2p_cmd {
	P2P_CMD_NONE = -1,      /* not a known command */
	P2P_CMD_ERROR = 0,
	P2P_CMD_THROTTLE,
	P2P_CMD_HELLO,
	P2P_CMD_PEER_ID,
	P2P_CMD_READY,
	P2P_CMD_GET_PEERS,
	P2P_CMD_PEERS,
	P2P_CMD_PING,
	P2P_CMD_PONG,
	P2P_CMD_GET_BEST_BLOCKCHAIN,
	P2P_CMD_BEST_BLOCKCHAIN,
	P2P_CMD_GET_DATA,
	P2P_CMD_DATA,
	P2P_CMD_NOT_FOUND,
	P2P_CMD_GET_TIPS,
	P2P_CMD_TIPS,
	P2P_CMD_TIPS_END,
	P2P_CMD_RELAY,
	P2P_CMD_GET_NEXT,
	P2P_CMD_NEXT,
	P2P_CMD_GET_NEXT_BLOCKS,
	P2P_CMD_GET_PREV_BLOCKS,
	P2P_CMD_BLOCKS,
	P2P_CMD_BLOCKS_END,
	P2P_CMD_GET_BEST_BLOCK,
	P2P_CMD_BEST_BLOCK,
	P2P_CMD_GET_TRANSACTIONS_BFS,
	P2P_CMD_TRANSACTION,
	P2P_CMD_TRANSACTIONS_END,
	P2P_CMD_GET_MEMPOOL,
	P2P_CMD_MEMPOOL_END,
	P2P_CMD_GET_PEER_BLOCK_HASHES,
	P2P_CMD_PEER_BLOCK_HASHES,
	P2P_CMD_STOP_BLOCK_STREAMING,
	P2P_CMD_STOP_TRANSACTIONS_STREAMING,
	P2P_CMD_GET_BLOCK_NC_ROOT_ID,
	P2P_CMD_BLOCK_NC_ROOT_ID,
	P2P_CMD_GET_NC_DB_NODE,
	P2P_CMD_NC_DB_NODE,
	P2P_CMD__COUNT,
};

/* Wire name ("GET-NEXT-BLOCKS"); NULL for an out-of-range value. */
const char *p2p_cmd_name(enum p2p_cmd cmd);
/* Python enum member name ("GET_NEXT_BLOCKS"), used in the reference's
 * "Invalid Command: ProtocolMessages.X payload" error text. */
const char *p2p_cmd_enum_name(enum p2p_cmd cmd);
/* Looks up @len bytes of @name; P2P_CMD_NONE when unknown. */
enum p2p_cmd p2p_cmd_lookup(const char *name, size_t len);

/* True if @len bytes of @s are strict UTF-8 as Python decodes it (no
 * overlong forms, no surrogates, nothing above U+10FFFF). */
bool p2p_utf8_valid(const char *s, size_t len);

struct p2p_line_msg {
	enum p2p_cmd cmd;
	const char *payload;    /* points into the line; not NUL-terminated */
	size_t payload_len;     /* 0 when there is no payload */
};

/* Splits a received line.  Returns 0 and fills @out, or HN_EPARSE for
 * invalid UTF-8 and HN_ENOENT for an unknown command (both: close the
 * connection silently). */
int p2p_line_parse(const char *line, size_t len, struct p2p_line_msg *out);

/* Formats "CMD" or "CMD payload" (no "\r\n") into a malloc'd buffer; the
 * payload is omitted when empty, exactly as the reference's send_message.
 * Returns the line length or HN_ENOMEM; *@out is owned by the caller. */
long p2p_line_format(enum p2p_cmd cmd, const char *payload, size_t plen,
		     char **out);

#endif /* P2P_MSG_H */
