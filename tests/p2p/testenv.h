/*
 * testenv.h: a struct p2p_env over a libev loop for tests and the harness
 * (the plugin gets the same from the host's services table).  Logs go to
 * stderr with a prefix; the node service is supplied separately.
 */
#ifndef P2P_TESTENV_H
#define P2P_TESTENV_H

#include <ev.h>

#include "p2p_env.h"

struct testenv {
	struct p2p_env env;
	struct ev_loop *loop;
	const char *prefix;     /* log prefix */
	enum p2p_log_level level;
	int n_io, n_timers;     /* live watchers, to check for leaks */
	void *node_ctx;         /* the node service's own state */
};

void testenv_init(struct testenv *t, struct ev_loop *loop,
		  const struct p2p_node_ops *node, void *node_ctx,
		  const char *prefix);

#endif /* P2P_TESTENV_H */
