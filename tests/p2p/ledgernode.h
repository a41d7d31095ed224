/*
 * ledgernode.h: node service for the engine backed by the core ledger
 * (core/nodesvc.h), in-process and synchronous; see ledgernode.c.
 */
#ifndef P2P_LEDGERNODE_H
#define P2P_LEDGERNODE_H

#include <stddef.h>
#include <stdint.h>

#include "p2p_env.h"
#include "testenv.h"

struct hn_ledger;
struct hn_network;

/* The testenv's node_ctx must be the struct hn_ledger *. */
extern const struct p2p_node_ops ledgernode_ops;

/* Opens (or creates) @dir/ledger.db.  Returns 0 or a negative code. */
int ledgernode_open(const char *dir, const struct hn_network *net,
		    struct hn_ledger **out, char *err, size_t errlen);
void ledgernode_best(struct hn_ledger *l, uint64_t *height, uint8_t hash[32]);
size_t ledgernode_count(struct hn_ledger *l);
size_t ledgernode_mempool(struct hn_ledger *l);

#endif /* P2P_LEDGERNODE_H */
