/*
 * tnode.c: see tnode.h.
 */
#include "tnode.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

#include <cmocka.h>

void tnode_new(struct tnode *n, struct ev_loop *loop,
	       const struct hn_network *net, const char *name,
	       struct p2p_config *cfg)
{
	struct p2p_config def = { 0 };
	char err[256];

	if (!cfg)
		cfg = &def;
	snprintf(n->name, sizeof(n->name), "%s", name);
	n->port = 0;
	memnode_init(&n->mn, loop, net);
	testenv_init(&n->te, loop, &memnode_ops, &n->mn, n->name);
	if (n->te.level > P2P_LOG_WARN)
		n->te.level = P2P_LOG_WARN;
	cfg->net = net;
	cfg->use_tls = true;
	if (p2p_new(&n->te.env, cfg, &n->p2p, err, sizeof(err)) != 0)
		fail_msg("p2p_new %s: %s", n->name, err);
}

void tnode_up(struct tnode *n, struct ev_loop *loop,
	      const struct hn_network *net, const char *name,
	      struct p2p_config *cfg, bool listen)
{
	tnode_new(n, loop, net, name, cfg);
	if (listen)
		assert_int_equal(p2p_listen(n->p2p, "127.0.0.1", 0, &n->port),
				 0);
	assert_int_equal(p2p_start(n->p2p), 0);
}

void tnode_down(struct tnode *n)
{
	p2p_free(n->p2p);
	memnode_release(&n->mn);
	assert_int_equal(n->te.n_io, 0);
	assert_int_equal(n->te.n_timers, 0);
}

bool tnode_run_until(struct ev_loop *loop, bool (*cond)(void *), void *arg,
		     double secs)
{
	double end = ev_time() + secs;

	while (!cond(arg) && ev_time() < end)
		ev_run(loop, EVRUN_ONCE);
	return cond(arg);
}

bool tnode_has(void *arg)
{
	struct tnode_has *h = arg;

	return memnode_has(&h->n->mn, h->h);
}
