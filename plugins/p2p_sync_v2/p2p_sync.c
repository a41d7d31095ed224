/*
 * p2p_sync.c: the sync-v2 agent of one connection, client and server
 * (hathor/p2p/sync_v2/{agent,streamers,blockchain_streaming_client,
 * transaction_streaming_client,mempool}.py of the reference v0.69.0).
 *
 * Client, once per second while enabled (run_sync):
 *   GET-BEST-BLOCK -> synced?  yes: RELAY true, mempool sync (GET-TIPS,
 *   GET-DATA DFS).  no: RELAY false, 10-way common block search
 *   (GET-PEER-BLOCK-HASHES), GET-NEXT-BLOCKS stream, and for blocks whose
 *   transactions we lack, GET-TRANSACTIONS-BFS streams (resumed on
 *   LIMIT_EXCEEDED).
 * Server: answers every request from the node through batched node-service
 * calls; block and transaction streams are producers that stop writing
 * above P2P_OUT_HIGH bytes of pending output and resume on drain.
 *
 * Every node call is asynchronous.  Handlers whose answer depends on one
 * hold the connection (no further line is read) until it completes, so
 * replies keep the order of requests and vertices are added in stream
 * order; callbacks first check whether the connection died meanwhile.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "hn/b64.h"
#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"
#include "hn/vertex.h"
#include "p2p_int.h"
#include "p2p_json.h"

#define EHANDLER (-2000)

#define STREAMING_LIMIT 1000            /* DEFAULT_STREAMING_LIMIT */
#define MAX_GET_TRANSACTIONS_BFS_LEN 8
#define MAX_PEER_BLOCK_HASHES 20
#define MAX_REPEATED_BLOCKS 10
#define MAX_MEMPOOL_RECEIVING_TIPS 1000
#define MAX_TIPS_BUFFER 100000          /* raw TIPS kept before filtering */
#define MAX_DFS_STACK 1000
#define TX_CACHE_MAX 1000               /* _get_tx_cache_maxsize */
#define MAX_RUNNING_TIME (30 * 60.0)    /* watchdog */
#define PREFETCH 64                     /* blocks per streaming batch */
#define FETCH_BATCH 128                 /* vertices per BFS batch */

enum stream_end {
	END_HASH_REACHED = 0,
	NO_MORE_BLOCKS = 1,
	LIMIT_EXCEEDED = 2,
	STREAM_BECAME_VOIDED = 3,
	TX_NOT_CONFIRMED = 4,
	INVALID_PARAMS = 5,
	INTERNAL_ERROR = 6,
	PER_REQUEST = 7,
};

enum sync_state {
	S_UNKNOWN,
	S_SYNCING_BLOCKS,
	S_SYNCING_TRANSACTIONS,
	S_SYNCING_MEMPOOL,
};

enum waiting {
	W_NONE,
	W_BEST_BLOCK,           /* sent GET-BEST-BLOCK */
	W_NODE,                 /* a node call of the client is running */
	W_PEER_BLOCK_HASHES,    /* sent GET-PEER-BLOCK-HASHES */
	W_BLOCKS,               /* block stream */
	W_TXS,                  /* transaction stream */
	W_TIPS,                 /* sent GET-TIPS */
	W_DATA,                 /* sent GET-DATA */
};

struct hinfo {
	uint64_t height;
	uint8_t id[32];
};

/* A vertex received from the peer, with what the algorithms need. */
struct qv {
	uint8_t *bytes;         /* owned */
	size_t len;
	uint8_t hash[32];
	uint32_t timestamp;
	bool is_block;
	uint8_t n_parents;
	uint8_t parents[HN_GRAPH_MAX_PARENTS][32];
	size_t n_deps;          /* parents then inputs' tx ids, unique */
	uint8_t (*deps)[32];    /* owned */
	size_t n_inputs_deps;   /* of n_deps, those from inputs (last) */
};

/* Consecutive BLOCKS or TRANSACTION lines are handled as one batch. */
#define BLOCK_BATCH_MAX 128
#define BLOCK_BATCH_BYTES (1024 * 1024)
#define TX_BATCH_MAX 256
#define TX_BATCH_BYTES (1024 * 1024)
#define SC_BATCH_MAX TX_BATCH_MAX       /* the larger */
_Static_assert(BLOCK_BATCH_MAX <= SC_BATCH_MAX, "batch array too small");

/*
 * What tells the two streaming clients apart; the rest (request state,
 * limit, batching of the stream's lines, failure with STOP-*-STREAMING,
 * the *-END checks, the node's answer to adding a batch) is the shared
 * core, the sc_*() functions.
 */
struct sclient_kind {
	const char *name;       /* "block", "tx": logs */
	const char *items;      /* "blocks", "transactions": logs */
	enum p2p_cmd stop;      /* asks the peer to stop the stream */
	enum p2p_cmd end;       /* the peer's end of the stream */
	enum sync_state state;  /* the state in which @end is expected */
	bool invalid_closes;    /* an invalid vertex closes the connection */
	size_t batch_max;       /* lines batched (<= SC_BATCH_MAX) */
	size_t batch_bytes;     /* payload bytes batched */
	void (*flush)(struct p2p_sync *s);      /* runs the batch */
	void (*reset)(struct p2p_sync *s);      /* drops the stream, batch too */
};

/* The shared part of a streaming client. */
struct sclient {
	const struct sclient_kind *kind;
	bool exists;            /* created once (the reference asserts it) */
	bool active;            /* a stream was requested and not ended */
	bool overflow;          /* over the limit: fail once the batch ran */
	uint64_t received;      /* vertices of this request */
	uint64_t limit;         /* most vertices a request may bring */
	struct qv *batch[SC_BATCH_MAX]; /* lines not yet run, owned */
	size_t n_batch, batch_bytes;
};

/* Block streaming client (BlockchainStreamingClient). */
struct bclient {
	struct sclient sc;      /* limit: the quantity asked for */
	struct hinfo start, end;
	unsigned repeated;
	bool have_last;
	uint8_t last[32];
	struct qv **partial;    /* owned, in stream order */
	size_t n_partial, cap_partial;
};

/* Transaction streaming client (TransactionStreamingClient).  The
 * reference's per-transaction logic runs in memory over batches of
 * TRANSACTION lines: existence of dependencies comes from one node call
 * per batch (and one for all partial blocks at the start), and the blocks
 * completed in a batch are added, with their transactions, in one call. */
struct tclient {
	struct sclient sc;      /* limit: STREAMING_LIMIT */
	struct qv **blocks;     /* owned partial blocks */
	size_t n_blocks;
	size_t idx;             /* current block */
	struct p2p_hmap waiting_for;    /* set */
	struct p2p_hmap existing;       /* set */
	struct p2p_hmap db_index;       /* hash -> struct qv * in db */
	struct qv **db;         /* owned, insertion order */
	size_t n_db, cap_db;
	struct p2p_hmap present;        /* stored, or queued for adding */
	struct p2p_hmap queried;        /* asked the node about */
};

/* A vertex copy held by the servers. */
struct sv {
	bool found;
	uint8_t hash[32];
	uint8_t *bytes;
	size_t len;
	bool is_block;
	bool voided;
	int64_t height;
	bool has_fb;
	uint8_t fb[32];
	int64_t fb_height;
	size_t n_deps;
	uint8_t (*deps)[32];
};

/* What tells the two streaming servers apart (the shared core is ss_*). */
struct sserver_kind {
	enum p2p_cmd end;       /* BLOCKS-END, TRANSACTIONS-END */
	void (*reset)(struct p2p_sync *s);      /* drops the stream */
	void (*produce)(struct p2p_sync *s);    /* writes while it may */
};

/* The shared part of a streaming server. */
struct sserver {
	const struct sserver_kind *kind;
	bool running;           /* a stream is being sent */
	bool fetching;          /* a node call of the stream is out */
	unsigned gen;           /* bumped at each reset: older answers are
				 * stale (a stopped stream's fetch) */
	uint64_t limit;         /* vertices the request may bring */
	uint64_t counter;       /* vertices sent that count */
};

/* Block streaming server (BlockchainStreamingServer). */
struct bserver {
	struct sserver ss;
	struct sv cur;
	bool need_next;
	uint8_t end[32];
	struct sv ahead[PREFETCH];
	size_t n_ahead, i_ahead;
	bool ahead_done;        /* the best chain ended in the last fetch */
};

struct tsitem {
	uint8_t hash[32];
	struct sv *v;           /* owned once fetched */
};

/* Transactions streaming server (TransactionsStreamingServer). */
struct tserver {
	struct sserver ss;
	struct sv cur;          /* current block */
	uint8_t last[32];
	size_t n_start;
	uint8_t start_from[MAX_GET_TRANSACTIONS_BFS_LEN][32];
	bool block_started;     /* BFS roots pushed for cur */
	struct p2p_hmap seen;
	struct p2p_hmap fb_heights; /* block hash -> height + 1 */
	struct tsitem *q;
	size_t q_head, q_len, q_cap;
};

struct p2p_sync {
	struct p2p_conn *c;
	bool started, enabled;
	bool running;           /* a run_sync step is in progress */
	double started_at;
	enum sync_state state;
	enum waiting waiting;
	bool synced, synced_mempool;
	bool outbound_relay;    /* peer asked us to relay */
	bool inbound_relay;     /* we asked the peer to relay */
	bool have_peer_best, have_synced_block;
	struct hinfo my_best, peer_best, synced_block;
	struct hinfo lo, hi;    /* common block search */
	struct hinfo *pbh;      /* PEER-BLOCK-HASHES reply, sorted desc */
	size_t n_pbh;
	struct bclient bc;
	struct tclient tc;
	bool progress;          /* a stream of this cycle stored something */
	/* mempool */
	uint8_t (*tips)[32];    /* receiving tips */
	size_t n_tips, cap_tips;
	bool receiving_tips;
	struct p2p_hmap missing_tips;   /* set */
	struct qv **stack;      /* DFS stack (owned) */
	size_t n_stack;
	bool have_pending_data;
	uint8_t pending_data[32];
	void (*data_cont)(struct p2p_sync *s, struct qv *v);
	struct p2p_hmap tx_cache;       /* hash -> struct qv * */
	uint8_t (*cache_order)[32];     /* FIFO eviction ring */
	size_t cache_head, cache_n;
	/* servers */
	struct bserver bs;
	struct tserver ts;
	bool warned_node;
};

static const struct sclient_kind block_kind, tx_kind;
static const struct sserver_kind bs_kind, ts_kind;
static void tick_done(struct p2p_sync *s);
static void run_mempool(struct p2p_sync *s);
static void mempool_loop(struct p2p_sync *s);
static void bs_produce(struct p2p_sync *s);
static void ts_produce(struct p2p_sync *s);

static struct p2p_env *env_of(struct p2p_sync *s)
{
	return s->c->env;
}

static bool streaming(const struct p2p_sync *s)
{
	return s->bs.ss.running || s->ts.ss.running;
}

static void node_failed(struct p2p_sync *s, const char *what, int rc)
{
	if (!s->warned_node)
		p2p_conn_logf(s->c, P2P_LOG_WARN, "node %s failed: %s", what,
			      hn_strerror(rc));
	s->warned_node = true;
}

/* A node call of this sync cycle failed: the cycle ends (the next tick
 * starts over). */
static void cycle_failed(struct p2p_sync *s, const char *what, int rc)
{
	node_failed(s, what, rc);
	tick_done(s);
}

static void stack_clear(struct p2p_sync *s);

/* The mempool sync stops (the next cycle starts over); @what names the
 * node call that failed, or is NULL. */
static void mempool_failed(struct p2p_sync *s, const char *what, int rc)
{
	if (what)
		node_failed(s, what, rc);
	stack_clear(s);
	tick_done(s);
}

/* --- vertices --- */

static void qv_free(struct qv *v)
{
	if (!v)
		return;
	free(v->bytes);
	free(v->deps);
	free(v);
}

static int add_dep(uint8_t (**deps)[32], size_t *n, size_t *cap,
		   const uint8_t h[32])
{
	size_t i;

	for (i = 0; i < *n; i++)
		if (memcmp((*deps)[i], h, 32) == 0)
			return 0;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 8;
		uint8_t (*nd)[32] = realloc(*deps, ncap * 32);

		if (!nd)
			return HN_ENOMEM;
		*deps = nd;
		*cap = ncap;
	}
	memcpy((*deps)[(*n)++], h, 32);
	return 0;
}

/* Decodes @len bytes into a new struct qv (copying them). */
static int qv_from_bytes(const uint8_t *bytes, size_t len, struct qv **out,
			 char *err, size_t errlen)
{
	struct qv *q = calloc(1, sizeof(*q));
	struct hn_vertex_graph g;
	size_t cap = 0, i;
	int rc;

	if (!q)
		return HN_ENOMEM;
	rc = hn_vertex_graph_decode(bytes, len, &g, err, errlen);
	if (rc < 0)
		goto fail;
	q->bytes = malloc(len ? len : 1);
	if (!q->bytes) {
		rc = HN_ENOMEM;
		goto fail;
	}
	memcpy(q->bytes, bytes, len);
	q->len = len;
	memcpy(q->hash, g.hash, 32);
	q->timestamp = g.timestamp;
	q->is_block = g.is_block;
	q->n_parents = g.n_parents;
	memcpy(q->parents, g.parents, sizeof(g.parents));
	for (i = 0; i < g.n_parents; i++)
		if ((rc = add_dep(&q->deps, &q->n_deps, &cap,
				  g.parents[i])) < 0)
			goto fail;
	if (g.n_inputs) {
		struct hn_vertex *v = NULL;
		size_t before = q->n_deps;

		rc = hn_vertex_decode(bytes, len, &v, err, errlen);
		if (rc < 0)
			goto fail;
		for (i = 0; i < v->n_inputs && rc == 0; i++)
			rc = add_dep(&q->deps, &q->n_deps, &cap,
				     v->inputs[i].tx_id);
		hn_vertex_free(v);
		if (rc < 0)
			goto fail;
		q->n_inputs_deps = q->n_deps - before;
	}
	*out = q;
	return 0;
fail:
	qv_free(q);
	return rc;
}

/* Decodes a base64 payload into a struct qv. */
static int qv_from_b64(const char *pl, size_t plen, struct qv **out)
{
	char *s = malloc(plen + 1);
	uint8_t *bytes = NULL;
	size_t len = 0;
	int rc;

	if (!s)
		return HN_ENOMEM;
	memcpy(s, pl, plen);
	s[plen] = '\0';
	rc = hn_b64_decode(s, &bytes, &len);
	free(s);
	if (rc < 0)
		return rc;
	rc = qv_from_bytes(bytes, len, out, NULL, 0);
	free(bytes);
	return rc;
}

static void sv_clear(struct sv *v)
{
	free(v->bytes);
	free(v->deps);
	memset(v, 0, sizeof(*v));
}

/* Copies a node answer into @out (bytes and deps owned). */
static int sv_from_vinfo(struct sv *out, const struct p2p_vinfo *vi)
{
	memset(out, 0, sizeof(*out));
	out->found = vi->found;
	if (!vi->found)
		return 0;
	memcpy(out->hash, vi->hash, 32);
	out->is_block = vi->is_block;
	out->voided = vi->voided;
	out->height = vi->height;
	out->has_fb = vi->has_first_block;
	memcpy(out->fb, vi->first_block, 32);
	out->fb_height = vi->first_block_height;
	out->bytes = malloc(vi->len ? vi->len : 1);
	if (!out->bytes)
		return HN_ENOMEM;
	memcpy(out->bytes, vi->bytes, vi->len);
	out->len = vi->len;
	return 0;
}

/* Fills deps (parents then inputs) of a server copy. */
static int sv_deps(struct sv *v)
{
	struct qv *q = NULL;
	int rc = qv_from_bytes(v->bytes, v->len, &q, NULL, 0);

	if (rc < 0)
		return rc;
	v->deps = q->deps;
	v->n_deps = q->n_deps;
	q->deps = NULL;
	qv_free(q);
	return 0;
}

static void send_b64(struct p2p_conn *c, enum p2p_cmd cmd, const char *prefix,
		     const uint8_t *bytes, size_t len)
{
	char *b = hn_b64_encode(bytes, len);

	if (!b) {
		p2p_conn_close(c, true, "out of memory");
		return;
	}
	if (prefix && *prefix)
		p2p_conn_sendf(c, cmd, "%s %s", prefix, b);
	else
		p2p_conn_send(c, cmd, b, strlen(b));
	free(b);
}

static void send_relay(struct p2p_sync *s, bool on)
{
	s->inbound_relay = on;
	p2p_conn_send(s->c, P2P_CMD_RELAY, on ? "true" : "false",
		      on ? 4 : 5);
}

/* --- lifecycle --- */

struct p2p_sync *p2p_sync_new(struct p2p_conn *c)
{
	struct p2p_sync *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->c = c;
	s->bc.sc.kind = &block_kind;
	s->tc.sc.kind = &tx_kind;
	s->bs.ss.kind = &bs_kind;
	s->ts.ss.kind = &ts_kind;
	p2p_hmap_init(&s->tc.waiting_for);
	p2p_hmap_init(&s->tc.existing);
	p2p_hmap_init(&s->tc.db_index);
	p2p_hmap_init(&s->tc.present);
	p2p_hmap_init(&s->tc.queried);
	p2p_hmap_init(&s->missing_tips);
	p2p_hmap_init(&s->tx_cache);
	p2p_hmap_init(&s->ts.seen);
	p2p_hmap_init(&s->ts.fb_heights);
	return s;
}

static void sc_drop_batch(struct sclient *sc)
{
	size_t i;

	for (i = 0; i < sc->n_batch; i++)
		qv_free(sc->batch[i]);
	sc->n_batch = sc->batch_bytes = 0;
}

/* Drops the batch and ends the request; kind and exists stay. */
static void sc_clear(struct sclient *sc)
{
	sc_drop_batch(sc);
	sc->active = sc->overflow = false;
	sc->received = 0;
}

static void bc_reset(struct bclient *bc)
{
	size_t i;

	for (i = 0; i < bc->n_partial; i++)
		qv_free(bc->partial[i]);
	free(bc->partial);
	bc->partial = NULL;
	bc->n_partial = bc->cap_partial = 0;
	bc->repeated = 0;
	bc->have_last = false;
	sc_clear(&bc->sc);
}

static void tc_db_clear(struct tclient *tc)
{
	size_t i;

	for (i = 0; i < tc->n_db; i++)
		qv_free(tc->db[i]);
	tc->n_db = 0;
	p2p_hmap_clear(&tc->db_index);
}

static void tc_reset(struct tclient *tc)
{
	size_t i;

	for (i = 0; i < tc->n_blocks; i++)
		qv_free(tc->blocks[i]);
	free(tc->blocks);
	tc->blocks = NULL;
	tc->n_blocks = tc->idx = 0;
	tc_db_clear(tc);
	free(tc->db);
	tc->db = NULL;
	tc->cap_db = 0;
	p2p_hmap_clear(&tc->waiting_for);
	p2p_hmap_clear(&tc->existing);
	p2p_hmap_clear(&tc->present);
	p2p_hmap_clear(&tc->queried);
	sc_clear(&tc->sc);
}

static void stack_clear(struct p2p_sync *s)
{
	size_t i;

	for (i = 0; i < s->n_stack; i++)
		qv_free(s->stack[i]);
	s->n_stack = 0;
}

/* Ends the stream's state.  A node call still out for it is answered
 * later: the new generation makes that answer stale, and a new stream may
 * fetch at once. */
static void ss_clear(struct sserver *ss)
{
	ss->running = false;
	ss->fetching = false;
	ss->counter = 0;
	ss->gen++;
}

static void bs_reset(struct bserver *bs)
{
	size_t i;

	sv_clear(&bs->cur);
	for (i = 0; i < PREFETCH; i++)
		sv_clear(&bs->ahead[i]);
	bs->n_ahead = bs->i_ahead = 0;
	bs->need_next = bs->ahead_done = false;
	ss_clear(&bs->ss);
}

static void ts_reset(struct tserver *ts)
{
	size_t i;

	for (i = ts->q_head; i < ts->q_len; i++) {
		if (ts->q[i].v) {
			sv_clear(ts->q[i].v);
			free(ts->q[i].v);
		}
	}
	free(ts->q);
	ts->q = NULL;
	ts->q_head = ts->q_len = ts->q_cap = 0;
	sv_clear(&ts->cur);
	p2p_hmap_clear(&ts->seen);
	p2p_hmap_clear(&ts->fb_heights);
	ts->block_started = false;
	ss_clear(&ts->ss);
	ts->n_start = 0;
}

static void cache_clear(struct p2p_sync *s)
{
	size_t pos = 0;
	struct p2p_hmap_slot *sl;

	while ((sl = p2p_hmap_next(&s->tx_cache, &pos)))
		qv_free(sl->val);
	p2p_hmap_clear(&s->tx_cache);
	s->cache_head = s->cache_n = 0;
}

void p2p_sync_stop(struct p2p_sync *s)
{
	if (!s)
		return;
	s->started = false;
	s->running = false;
	s->waiting = W_NONE;
	bc_reset(&s->bc);
	tc_reset(&s->tc);
	bs_reset(&s->bs);
	ts_reset(&s->ts);
	stack_clear(s);
	free(s->tips);
	s->tips = NULL;
	s->n_tips = s->cap_tips = 0;
	s->receiving_tips = false;
	free(s->pbh);
	s->pbh = NULL;
	s->n_pbh = 0;
}

void p2p_sync_free(struct p2p_sync *s)
{
	if (!s)
		return;
	p2p_sync_stop(s);
	cache_clear(s);
	free(s->cache_order);
	free(s->stack);
	p2p_hmap_release(&s->tc.waiting_for);
	p2p_hmap_release(&s->tc.existing);
	p2p_hmap_release(&s->tc.db_index);
	p2p_hmap_release(&s->tc.present);
	p2p_hmap_release(&s->tc.queried);
	p2p_hmap_release(&s->missing_tips);
	p2p_hmap_release(&s->tx_cache);
	p2p_hmap_release(&s->ts.seen);
	p2p_hmap_release(&s->ts.fb_heights);
	free(s);
}

void p2p_sync_start(struct p2p_sync *s)
{
	s->started = true;
	/* LoopingCall.start(1) runs run_sync at once, then every second. */
	p2p_sync_tick(s);
}

void p2p_sync_enable(struct p2p_sync *s, bool on)
{
	if (s->enabled != on)
		p2p_conn_logf(s->c, P2P_LOG_INFO, "%s sync",
			      on ? "enable" : "disable");
	s->enabled = on;
}

bool p2p_sync_is_enabled(const struct p2p_sync *s)
{
	return s->enabled;
}

bool p2p_sync_is_synced(const struct p2p_sync *s)
{
	return s->synced;
}

bool p2p_sync_best_heights(const struct p2p_sync *s, uint64_t *peer,
			   uint64_t *mine)
{
	*mine = s->my_best.height;
	*peer = s->have_peer_best ? s->peer_best.height : 0;
	return s->have_peer_best;
}

static const char *state_str(enum sync_state st)
{
	switch (st) {
	case S_UNKNOWN:
		return "unknown";
	case S_SYNCING_BLOCKS:
		return "syncing-blocks";
	case S_SYNCING_TRANSACTIONS:
		return "syncing-transactions";
	case S_SYNCING_MEMPOOL:
		return "syncing-mempool";
	}
	return "unknown";
}

static struct json_object *hinfo_json(const struct hinfo *h)
{
	struct json_object *o = json_object_new_object();
	char hex[65];

	p2p_hex32(h->id, hex);
	json_object_object_add(o, "height",
			       json_object_new_int64((int64_t)h->height));
	json_object_object_add(o, "id", json_object_new_string(hex));
	return o;
}

struct json_object *p2p_sync_status(struct p2p_sync *s)
{
	struct json_object *o = json_object_new_object();
	struct json_object *m = json_object_new_object();

	json_object_object_add(o, "is_enabled",
			       json_object_new_boolean(s->enabled));
	json_object_object_add(o, "peer_best_block", s->have_peer_best ?
			       hinfo_json(&s->peer_best) : NULL);
	json_object_object_add(o, "synced_block", s->have_synced_block ?
			       hinfo_json(&s->synced_block) : NULL);
	json_object_object_add(o, "synced", json_object_new_boolean(s->synced));
	json_object_object_add(o, "state",
			       json_object_new_string(state_str(s->state)));
	json_object_object_add(m, "is_synced",
			       json_object_new_boolean(s->synced_mempool));
	json_object_object_add(m, "missing_tips", json_object_new_int64(
				       (int64_t)s->missing_tips.n));
	json_object_object_add(o, "mempool", m);
	json_object_object_add(o, "relay_to_peer",
			       json_object_new_boolean(s->outbound_relay));
	json_object_object_add(o, "relay_from_peer",
			       json_object_new_boolean(s->inbound_relay));
	return o;
}

/* --- client: best block and common block --- */

static void tick_done(struct p2p_sync *s)
{
	s->running = false;
	s->waiting = W_NONE;
}

/* A block or transaction stream of this cycle finished.  The reference
 * waits for the next 1 s tick (run_sync's LoopingCall) before it asks for
 * the best block again, so it idles between 1000-vertex streams; here the
 * next cycle starts at once when the stream stored something (every add
 * of the stream has completed by now: the connection was held until
 * then).  A stream that stored nothing waits for the tick as before. */
static void stream_done(struct p2p_sync *s)
{
	bool again = s->progress && !p2p_conn_dead(s->c);

	tick_done(s);
	s->progress = false;
	if (again)
		p2p_sync_tick(s);
}

void p2p_sync_tick(struct p2p_sync *s)
{
	double now = p2p_now(s->c->p2p);

	if (!s->started || !s->enabled)
		return;
	if (s->running) {
		if (now - s->started_at > MAX_RUNNING_TIME) {
			p2p_conn_logf(s->c, P2P_LOG_WARN, "stale syncing "
				      "detected, closing connection");
			p2p_conn_error_close(s->c, "stale syncing");
		}
		return;
	}
	s->running = true;
	s->progress = false;
	s->started_at = now;
	s->state = S_SYNCING_BLOCKS;
	s->waiting = W_BEST_BLOCK;
	p2p_conn_send(s->c, P2P_CMD_GET_BEST_BLOCK, NULL, 0);
}

static void synced(struct p2p_sync *s, const char *why)
{
	if (!s->synced)
		p2p_conn_logf(s->c, P2P_LOG_INFO, "%s", why);
	s->synced = true;
	send_relay(s, true);
	s->synced_block = s->peer_best;
	s->have_synced_block = true;
	if (!p2p_conn_dead(s->c))
		run_mempool(s);
}

static void find_step(struct p2p_sync *s);

static void not_synced(struct p2p_sync *s)
{
	s->synced = false;
	send_relay(s, false);
	if (p2p_conn_dead(s->c))
		return;
	/* hi = min(peer, mine) by height; lo = genesis. */
	s->hi = s->peer_best.height <= s->my_best.height ? s->peer_best :
		s->my_best;
	s->lo.height = 0;
	memcpy(s->lo.id, s->c->p2p->cfg.net->genesis_block.hash, 32);
	find_step(s);
}

static void behind_cb(void *arg, int rc, size_t n, const bool *found,
		      const uint8_t (*hashes)[32])
{
	struct p2p_sync *s = arg;
	struct p2p_conn *c = s->c;

	if (p2p_conn_dead(c) || s->waiting != W_NODE)
		goto out;
	if (rc < 0) {
		cycle_failed(s, "height_index_get", rc);
		goto out;
	}
	if (n == 1 && found[0] && memcmp(hashes[0], s->peer_best.id, 32) == 0)
		synced(s, "nothing to sync because peer is behind me at the "
		       "same best blockchain");
	else
		not_synced(s);
out:
	p2p_conn_unref(c);
}

static void my_best_cb(void *arg, int rc, uint64_t height,
		       const uint8_t hash[32])
{
	struct p2p_sync *s = arg;
	struct p2p_conn *c = s->c;
	struct p2p_env *env = env_of(s);

	if (p2p_conn_dead(c) || s->waiting != W_NODE)
		goto out;
	if (rc < 0) {
		cycle_failed(s, "get_best_block", rc);
		goto out;
	}
	s->my_best.height = height;
	memcpy(s->my_best.id, hash, 32);
	if (s->peer_best.height == height &&
	    memcmp(s->peer_best.id, hash, 32) == 0) {
		synced(s, "blocks are synced");
	} else if (s->peer_best.height <= height) {
		uint64_t h = s->peer_best.height;

		p2p_conn_ref(c);
		rc = env->node->height_hashes(env->ctx, &h, 1, behind_cb, s);
		if (rc < 0) {
			p2p_conn_unref(c);
			cycle_failed(s, "height_index_get", rc);
		}
	} else {
		not_synced(s);
	}
out:
	p2p_conn_unref(c);
}

static int handle_best_block(struct p2p_sync *s, const char *pl, size_t plen)
{
	struct json_object *o = p2p_json_parse(pl, plen, NULL), *v;
	struct p2p_env *env = env_of(s);
	struct hinfo hi;
	int64_t h;
	int rc;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    json_object_object_length(o) != 2 ||
	    !json_object_object_get_ex(o, "block", &v) ||
	    !p2p_json_hash(v, hi.id) ||
	    !json_object_object_get_ex(o, "height", &v) ||
	    !p2p_json_int(v, &h) || h < 0) {
		json_object_put(o);
		return EHANDLER;        /* pydantic ValidationError */
	}
	json_object_put(o);
	hi.height = (uint64_t)h;
	if (s->waiting != W_BEST_BLOCK)
		return 0;       /* no deferred waiting: ignored */
	s->peer_best = hi;
	s->have_peer_best = true;
	s->waiting = W_NODE;
	p2p_conn_ref(s->c);
	rc = env->node->best_block(env->ctx, my_best_cb, s);
	if (rc < 0) {
		p2p_conn_unref(s->c);
		cycle_failed(s, "get_best_block", rc);
	}
	return 0;
}

static void start_blocks(struct p2p_sync *s);

static void find_step(struct p2p_sync *s)
{
	struct p2p_buf b = { 0 };
	uint64_t step, h;

	if (s->hi.height <= s->lo.height || s->hi.height - s->lo.height <= 1) {
		s->synced_block = s->lo;
		s->have_synced_block = true;
		start_blocks(s);
		return;
	}
	step = (s->hi.height - s->lo.height + 9) / 10;  /* ceil(/10) */
	p2p_buf_append(&b, "[", 1);
	for (h = s->lo.height; h < s->hi.height; h += step)
		p2p_buf_printf(&b, "%s%llu", h == s->lo.height ? "" : ", ",
			       (unsigned long long)h);
	p2p_buf_printf(&b, ", %llu]", (unsigned long long)s->hi.height);
	s->waiting = W_PEER_BLOCK_HASHES;
	if (b.data)
		p2p_conn_send(s->c, P2P_CMD_GET_PEER_BLOCK_HASHES,
			      (char *)b.data, b.len);
	p2p_buf_release(&b);
}

static void pbh_exists_cb(void *arg, int rc, size_t n, const bool *flags)
{
	struct p2p_sync *s = arg;
	struct p2p_conn *c = s->c;
	size_t i;

	if (p2p_conn_dead(c) || s->waiting != W_NODE)
		goto out;
	if (rc < 0 || n != s->n_pbh) {
		cycle_failed(s, "vertex_exists", rc < 0 ? rc : HN_EPROTO);
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (!flags[i]) {
			s->hi = s->pbh[i];
		} else {
			s->lo = s->pbh[i];
			break;
		}
	}
	find_step(s);
out:
	p2p_conn_unref(c);
}

static int cmp_hinfo_desc(const void *a, const void *b)
{
	const struct hinfo *x = a, *y = b;

	return x->height < y->height ? 1 : x->height > y->height ? -1 : 0;
}

static int handle_peer_block_hashes(struct p2p_sync *s, const char *pl,
				    size_t plen)
{
	struct p2p_env *env = env_of(s);
	struct hinfo *list = NULL;
	uint8_t (*hashes)[32] = NULL;
	size_t n, i;
	struct json_object *o = p2p_json_parse_array(pl, plen, &n);
	int rc = 0;

	if (!o)
		return EHANDLER;
	if (n > 4 * MAX_PEER_BLOCK_HASHES) {
		json_object_put(o);
		return EHANDLER;
	}
	list = calloc(n ? n : 1, sizeof(*list));
	hashes = calloc(n ? n : 1, 32);
	if (!list || !hashes) {
		rc = HN_ENOMEM;
		goto out;
	}
	for (i = 0; i < n; i++) {
		struct json_object *e = json_object_array_get_idx(o, i);
		int64_t h;

		if (!json_object_is_type(e, json_type_array) ||
		    json_object_array_length(e) != 2 ||
		    !p2p_json_int(json_object_array_get_idx(e, 0), &h) ||
		    h < 0 ||
		    !p2p_json_hash(json_object_array_get_idx(e, 1),
				   list[i].id)) {
			rc = EHANDLER;
			goto out;
		}
		list[i].height = (uint64_t)h;
	}
	if (s->waiting != W_PEER_BLOCK_HASHES)
		goto out;       /* not asked: ignored */
	qsort(list, n, sizeof(*list), cmp_hinfo_desc);
	if (n == 0 || list[n - 1].height != s->lo.height ||
	    memcmp(list[n - 1].id, s->lo.id, 32) != 0) {
		p2p_conn_logf(s->c, P2P_LOG_INFO, "n-ary search failed "
			      "because lo != lo_block_info");
		tick_done(s);
		goto out;
	}
	for (i = 0; i < n; i++)
		memcpy(hashes[i], list[i].id, 32);
	free(s->pbh);
	s->pbh = list;
	s->n_pbh = n;
	list = NULL;
	s->waiting = W_NODE;
	p2p_conn_ref(s->c);
	rc = env->node->exists(env->ctx, (const uint8_t (*)[32])hashes, n,
			       pbh_exists_cb, s);
	if (rc < 0) {
		p2p_conn_unref(s->c);
		cycle_failed(s, "vertex_exists", rc);
		rc = 0;
	}
out:
	free(list);
	free(hashes);
	json_object_put(o);
	return rc;
}

/* --- client: the streaming core shared by blocks and transactions --- */

static void sc_start(struct sclient *sc, uint64_t limit)
{
	sc->active = true;
	sc->exists = true;
	sc->limit = limit;
	sc->received = 0;
}

/* The stream failed: drop it, ask the peer to stop, end this cycle. */
static void sc_fail(struct p2p_sync *s, struct sclient *sc, const char *reason)
{
	const struct sclient_kind *k = sc->kind;

	p2p_conn_logf(s->c, P2P_LOG_INFO, "%s streaming failed: %s", k->name,
		      reason);
	k->reset(s);
	p2p_conn_send(s->c, k->stop, NULL, 0);
	tick_done(s);
}

/* A vertex of the active stream (@v taken): counted against the limit,
 * then batched; a full batch runs.  Past the limit the stream fails, after
 * the vertices before this one ran (sc_batch_done). */
static void sc_receive(struct p2p_sync *s, struct sclient *sc, struct qv *v)
{
	const struct sclient_kind *k = sc->kind;

	if (++sc->received > sc->limit) {
		qv_free(v);
		p2p_conn_logf(s->c, P2P_LOG_WARN, "too many %s received",
			      k->items);
		if (sc->n_batch) {
			sc->overflow = true;
			k->flush(s);
		} else {
			sc_fail(s, sc, "too many vertices received");
		}
		return;
	}
	sc->batch[sc->n_batch++] = v;
	sc->batch_bytes += v->len;
	if (sc->n_batch >= k->batch_max || sc->batch_bytes >= k->batch_bytes)
		k->flush(s);
}

/* After a batch ran: the failure found in it (@fail, or NULL), or an
 * overflow, ends the stream. */
static void sc_batch_done(struct p2p_sync *s, struct sclient *sc,
			  const char *fail)
{
	if (p2p_conn_dead(s->c) || !sc->active)
		return;
	if (fail)
		sc_fail(s, sc, fail);
	else if (sc->overflow)
		sc_fail(s, sc, "too many vertices received");
}

static bool parse_end_code(const char *pl, size_t plen, int *code)
{
	size_t i;
	int v = 0;

	/* int(payload); StreamEnd(...) of an unknown value raises. */
	if (plen == 0 || plen > 3)
		return false;
	for (i = 0; i < plen; i++) {
		if (pl[i] < '0' || pl[i] > '9')
			return false;
		v = v * 10 + (pl[i] - '0');
	}
	if (v > PER_REQUEST)
		return false;
	*code = v;
	return true;
}

/* BLOCKS-END, TRANSACTIONS-END: 1 with *code when it ends the active
 * stream, 0 when ignored (or the connection closes), or EHANDLER. */
static int sc_end(struct p2p_sync *s, struct sclient *sc, const char *pl,
		  size_t plen, int *code)
{
	const struct sclient_kind *k = sc->kind;

	if (!parse_end_code(pl, plen, code))
		return EHANDLER;
	if (s->state != k->state) {
		p2p_conn_logf(s->c, P2P_LOG_WARN, "unexpected %s in state %s",
			      p2p_cmd_name(k->end), state_str(s->state));
		p2p_conn_error_close(s->c, "Not expecting to receive %s "
				     "message", p2p_cmd_name(k->end));
		return 0;
	}
	if (!sc->exists)
		return EHANDLER;        /* assert _*_streaming_client */
	return sc->active ? 1 : 0;
}

/* A batch of a stream on its way to the node. */
struct sc_op {
	struct p2p_sync *s;
	struct sclient *sc;
	struct qv **v;          /* owned; NULL where moved on */
	size_t n, cap;
	const uint8_t **bytes;  /* the n_add to add, in order (into v) */
	size_t *lens;
	size_t n_add;
	const char *fail;       /* stream failure found after these adds */
};

static struct sc_op *sc_op_new(struct p2p_sync *s, struct sclient *sc)
{
	struct sc_op *op = calloc(1, sizeof(*op));

	if (op) {
		op->s = s;
		op->sc = sc;
	}
	return op;
}

static void sc_op_free(struct sc_op *op)
{
	size_t i;

	if (!op)
		return;
	for (i = 0; i < op->n; i++)
		qv_free(op->v[i]);
	free(op->v);
	free(op->bytes);
	free(op->lens);
	free(op);
}

static int sc_op_push(struct sc_op *op, struct qv *v)
{
	if (op->n == op->cap) {
		size_t nc = op->cap ? op->cap * 2 : 64;
		struct qv **nv = realloc(op->v, nc * sizeof(*nv));

		if (!nv)
			return HN_ENOMEM;
		op->v = nv;
		op->cap = nc;
	}
	op->v[op->n++] = v;
	return 0;
}

/* Room for n_add entries of op->bytes and op->lens. */
static int sc_op_alloc_adds(struct sc_op *op, size_t n)
{
	op->bytes = calloc(n ? n : 1, sizeof(*op->bytes));
	op->lens = calloc(n ? n : 1, sizeof(*op->lens));
	return op->bytes && op->lens ? 0 : HN_ENOMEM;
}

static void sc_added_cb(void *arg, int rc, size_t n,
			const enum p2p_add_result *res, const char *msg)
{
	struct sc_op *op = arg;
	struct p2p_sync *s = op->s;
	struct sclient *sc = op->sc;
	struct p2p_conn *c = s->c;
	size_t i;

	if (p2p_conn_dead(c) || !sc->active)
		goto out;
	if (rc < 0) {
		node_failed(s, "on_new_vertex", rc);
		sc_fail(s, sc, "node unavailable");
		goto out;
	}
	for (i = 0; i < n; i++) {
		if (res[i] == P2P_ADD_INVALID) {
			p2p_conn_logf(c, P2P_LOG_INFO, "invalid vertex in %s "
				      "stream: %s", sc->kind->name,
				      msg ? msg : "rejected");
			if (sc->kind->invalid_closes)
				p2p_conn_error_close(c, "invalid vertex "
						     "received");
			else
				sc_fail(s, sc, "invalid vertex");
			goto out;
		}
		if (res[i] == P2P_ADD_MISSING_DEPS) {
			/* Raced with a reorg or another peer. */
			sc_fail(s, sc, "vertex with missing dependencies");
			goto out;
		}
	}
	if (n < op->n_add) {
		sc_fail(s, sc, "node added fewer vertices than asked");
		goto out;
	}
	s->progress = true;
	sc_batch_done(s, sc, op->fail);
out:
	sc_op_free(op);
	p2p_conn_release(c);
}

/* Adds the batch's n_add vertices in stream order; called with the
 * connection held, which the answer (or a failure here) releases. */
static void sc_add(struct p2p_sync *s, struct sc_op *op)
{
	struct p2p_env *env = env_of(s);
	struct sclient *sc = op->sc;
	int rc;

	rc = env->node->add_vertices(env->ctx, P2P_ADD_SYNC, op->n_add,
				     op->bytes, op->lens, sc_added_cb, op);
	if (rc < 0) {
		sc_op_free(op);
		node_failed(s, "on_new_vertex", rc);
		sc_fail(s, sc, "node unavailable");
		p2p_conn_release(s->c);
	}
}

/* The batch ran without adding anything: ends it; releases. */
static void sc_op_done(struct p2p_sync *s, struct sc_op *op)
{
	const char *fail = op->fail;
	struct sclient *sc = op->sc;

	sc_op_free(op);
	sc_batch_done(s, sc, fail);
	p2p_conn_release(s->c);
}

bool p2p_sync_has_batch(const struct p2p_sync *s)
{
	return s->bc.sc.n_batch > 0 || s->tc.sc.n_batch > 0;
}

bool p2p_sync_batchable(const struct p2p_sync *s, enum p2p_cmd cmd)
{
	const struct sclient *sc = cmd == P2P_CMD_BLOCKS ? &s->bc.sc :
				   cmd == P2P_CMD_TRANSACTION ? &s->tc.sc :
				   NULL;

	return sc && sc->n_batch && sc->active;
}

void p2p_sync_flush(struct p2p_sync *s)
{
	struct sclient *sc = s->bc.sc.n_batch ? &s->bc.sc : &s->tc.sc;

	if (!sc->n_batch)
		return;
	if (!sc->active || p2p_conn_dead(s->c))
		sc_drop_batch(sc);
	else
		sc->kind->flush(s);
}

/* --- client: block stream --- */

static void start_blocks(struct p2p_sync *s)
{
	struct bclient *bc = &s->bc;
	char a[65], b[65];

	bc_reset(bc);
	bc->start = s->synced_block;
	bc->end = s->peer_best;
	sc_start(&bc->sc, bc->end.height >= bc->start.height ?
		 bc->end.height - bc->start.height + 1 :
		 bc->start.height - bc->end.height + 1);
	p2p_hex32(bc->start.id, a);
	p2p_hex32(bc->end.id, b);
	p2p_conn_logf(s->c, P2P_LOG_INFO, "requesting blocks streaming from "
		      "height %llu to %llu", (unsigned long long)
		      bc->start.height, (unsigned long long)bc->end.height);
	s->state = S_SYNCING_BLOCKS;
	s->waiting = W_BLOCKS;
	p2p_conn_sendf(s->c, P2P_CMD_GET_NEXT_BLOCKS, "{\"start_hash\": \"%s\", "
		       "\"end_hash\": \"%s\", \"quantity\": %llu}", a, b,
		       (unsigned long long)bc->sc.limit);
}

static void bc_fail(struct p2p_sync *s, const char *reason)
{
	sc_fail(s, &s->bc.sc, reason);
}

static void start_txs(struct p2p_sync *s);

static void finish_blocks(struct p2p_sync *s)
{
	struct bclient *bc = &s->bc;

	bc->sc.active = false;
	if (bc->n_partial) {
		start_txs(s);
		return;
	}
	bc_reset(bc);
	stream_done(s);
}

static bool bc_take(struct bclient *bc, struct qv *v)
{
	if (bc->n_partial == bc->cap_partial) {
		size_t nc = bc->cap_partial ? bc->cap_partial * 2 : 64;
		struct qv **np = realloc(bc->partial, nc * sizeof(*np));

		if (!np)
			return false;
		bc->partial = np;
		bc->cap_partial = nc;
	}
	bc->partial[bc->n_partial++] = v;
	return true;
}

/*
 * A batch of BLOCKS: one exists call for the blocks and their parents,
 * the reference's per-block checks in order (known -> skip, parent =
 * previous block, all dependencies present -> add, else partial), then
 * one add_vertices call for the blocks to add.
 */
static void blk_exists_cb(void *arg, int rc, size_t n, const bool *flags)
{
	struct sc_op *op = arg;
	struct p2p_sync *s = op->s;
	struct p2p_conn *c = s->c;
	struct bclient *bc = &s->bc;
	struct p2p_hmap adding;
	size_t *offs = calloc(op->n + 1, sizeof(*offs));
	size_t i, j, need = 0;

	p2p_hmap_init(&adding);
	for (i = 0; i < op->n && offs; i++) {
		offs[i] = need;
		need += 1 + op->v[i]->n_parents;
	}
	if (p2p_conn_dead(c) || !bc->sc.active)
		goto done;
	if (rc < 0 || n != need || !offs) {
		node_failed(s, "vertex_exists", rc < 0 ? rc : HN_EPROTO);
		bc_fail(s, "node unavailable");
		goto done;
	}
	if (sc_op_alloc_adds(op, op->n) < 0) {
		bc_fail(s, "out of memory");
		goto done;
	}
	for (i = 0; i < op->n; i++) {
		struct qv *v = op->v[i];
		size_t off = offs[i];
		bool can_full = true;

		if (flags[off] || p2p_hmap_has(&adding, v->hash)) {
			/* A block we already have: skip it. */
			bc->repeated++;
			memcpy(bc->last, v->hash, 32);
			bc->have_last = true;
			if (bc->repeated > MAX_REPEATED_BLOCKS) {
				p2p_conn_logf(c, P2P_LOG_INFO, "too many "
					      "repeated block received");
				bc_fail(s, "too many repeated vertices");
				goto done;
			}
			continue;
		}
		/* Linearity: each block's parent is the previous block. */
		if (bc->have_last && (v->n_parents == 0 ||
				      memcmp(v->parents[0], bc->last, 32))) {
			bc_fail(s, "block not connected to previous block");
			goto done;
		}
		for (j = 0; j < v->n_parents; j++)
			if (!flags[off + 1 + j] &&
			    !p2p_hmap_has(&adding, v->parents[j]))
				can_full = false;
		memcpy(bc->last, v->hash, 32);
		bc->have_last = true;
		bc->repeated = 0;
		if (can_full && bc->n_partial == 0) {
			if (p2p_hmap_put(&adding, v->hash, NULL) < 0) {
				bc_fail(s, "out of memory");
				goto done;
			}
			op->bytes[op->n_add] = v->bytes;
			op->lens[op->n_add] = v->len;
			op->n_add++;
			continue;
		}
		if (!bc_take(bc, v)) {
			bc_fail(s, "out of memory");
			goto done;
		}
		op->v[i] = NULL;
	}
	p2p_hmap_release(&adding);
	free(offs);
	if (op->n_add)
		sc_add(s, op);          /* releases */
	else
		sc_op_done(s, op);
	return;
done:
	p2p_hmap_release(&adding);
	free(offs);
	sc_op_done(s, op);
}

static void flush_blocks(struct p2p_sync *s)
{
	struct p2p_env *env = env_of(s);
	struct sclient *sc = &s->bc.sc;
	struct sc_op *op = sc_op_new(s, sc);
	uint8_t (*hashes)[32] = NULL;
	size_t i, k = 0, need = 0;
	int rc;

	for (i = 0; i < sc->n_batch; i++)
		need += 1 + sc->batch[i]->n_parents;
	if (op)
		op->v = calloc(sc->n_batch, sizeof(*op->v));
	hashes = calloc(need ? need : 1, 32);
	if (!op || !op->v || !hashes) {
		sc_op_free(op);
		free(hashes);
		bc_fail(s, "out of memory");
		return;
	}
	op->n = op->cap = sc->n_batch;
	for (i = 0; i < op->n; i++) {
		struct qv *v = sc->batch[i];

		op->v[i] = v;
		memcpy(hashes[k++], v->hash, 32);
		memcpy(hashes[k], v->parents, 32 * v->n_parents);
		k += v->n_parents;
	}
	sc->n_batch = 0;
	sc->batch_bytes = 0;
	p2p_conn_hold(s->c);
	rc = env->node->exists(env->ctx, (const uint8_t (*)[32])hashes, need,
			       blk_exists_cb, op);
	free(hashes);
	if (rc < 0) {
		sc_op_free(op);
		p2p_conn_release(s->c);
		node_failed(s, "vertex_exists", rc);
		bc_fail(s, "node unavailable");
	}
}

static int handle_blocks(struct p2p_sync *s, const char *pl, size_t plen)
{
	struct bclient *bc = &s->bc;
	struct qv *v = NULL;
	int rc;

	if (s->state != S_SYNCING_BLOCKS) {
		p2p_conn_logf(s->c, P2P_LOG_WARN, "unexpected BLOCKS in state "
			      "%s", state_str(s->state));
		p2p_conn_error_close(s->c, "Not expecting to receive BLOCK "
				     "message");
		return 0;
	}
	rc = qv_from_b64(pl, plen, &v);
	if (rc == HN_ENOMEM)
		return rc;
	if (rc < 0)
		return EHANDLER;        /* the parser raised */
	if (v->is_block && !bc->sc.exists) {
		qv_free(v);
		return EHANDLER;        /* assert _blk_streaming_client */
	}
	if (!v->is_block || !bc->sc.active) {
		qv_free(v);             /* not a block, or stream failed */
		return 0;
	}
	sc_receive(s, &bc->sc, v);
	return 0;
}

static int handle_blocks_end(struct p2p_sync *s, const char *pl, size_t plen)
{
	int code, rc = sc_end(s, &s->bc.sc, pl, plen, &code);

	if (rc <= 0)
		return rc;
	p2p_conn_logf(s->c, P2P_LOG_DEBUG, "block streaming ended (%d), %llu "
		      "blocks, %zu partial", code,
		      (unsigned long long)s->bc.sc.received, s->bc.n_partial);
	finish_blocks(s);
	return 0;
}

static void bc_drop(struct p2p_sync *s)
{
	bc_reset(&s->bc);
}

static const struct sclient_kind block_kind = {
	.name = "block",
	.items = "blocks",
	.stop = P2P_CMD_STOP_BLOCK_STREAMING,
	.end = P2P_CMD_BLOCKS_END,
	.state = S_SYNCING_BLOCKS,
	.invalid_closes = false,
	.batch_max = BLOCK_BATCH_MAX,
	.batch_bytes = BLOCK_BATCH_BYTES,
	.flush = flush_blocks,
	.reset = bc_drop,
};

/* --- client: transaction stream --- */

static void tc_fail(struct p2p_sync *s, const char *reason)
{
	sc_fail(s, &s->tc.sc, reason);
}

static bool tc_has(const struct tclient *tc, const uint8_t h[32])
{
	return p2p_hmap_has(&tc->present, h) || p2p_hmap_has(&tc->db_index, h);
}

/* _update_dependencies(v), with existence known in memory. */
static int update_deps(struct tclient *tc, const struct qv *v)
{
	size_t i;
	int rc;

	for (i = 0; i < v->n_deps; i++) {
		if (tc_has(tc, v->deps[i]))
			rc = p2p_hmap_put(&tc->existing, v->deps[i], NULL);
		else
			rc = p2p_hmap_put(&tc->waiting_for, v->deps[i], NULL);
		if (rc < 0)
			return rc;
	}
	return 0;
}

/* _prepare_block */
static int prepare_block(struct tclient *tc)
{
	p2p_hmap_clear(&tc->waiting_for);
	p2p_hmap_clear(&tc->existing);
	tc_db_clear(tc);
	return update_deps(tc, tc->blocks[tc->idx]);
}

static void send_bfs(struct p2p_sync *s, bool resume)
{
	struct tclient *tc = &s->tc;
	struct p2p_buf b = { 0 };
	struct p2p_hmap_slot *sl;
	size_t pos = 0, n = 0;
	char first[65], last[65], hex[65];

	if (p2p_conn_dead(s->c) || !tc->sc.active)
		return;
	p2p_hex32(tc->blocks[tc->idx]->hash, first);
	p2p_hex32(tc->blocks[tc->n_blocks - 1]->hash, last);
	p2p_buf_append(&b, "{\"start_from\": [", 16);
	/* The server refuses more than 8 (MAX_GET_TRANSACTIONS_BFS_LEN). */
	while (resume && n < MAX_GET_TRANSACTIONS_BFS_LEN &&
	       (sl = p2p_hmap_next(&tc->waiting_for, &pos))) {
		p2p_hex32(sl->key, hex);
		p2p_buf_printf(&b, "%s\"%s\"", n ? ", " : "", hex);
		n++;
	}
	p2p_buf_printf(&b, "], \"first_block_hash\": \"%s\", "
		       "\"last_block_hash\": \"%s\"}", first, last);
	p2p_conn_logf(s->c, P2P_LOG_INFO, "requesting transactions streaming "
		      "for %zu blocks (%zu start_from)", tc->n_blocks - tc->idx,
		      n);
	s->waiting = W_TXS;
	if (b.data)
		p2p_conn_send(s->c, P2P_CMD_GET_TRANSACTIONS_BFS,
			      (char *)b.data, b.len);
	p2p_buf_release(&b);
}

struct query_op {
	struct p2p_sync *s;
	size_t n;
	uint8_t (*hashes)[32];
	bool start;             /* the query before the first request */
};

static void run_tx_batch(struct p2p_sync *s);

static void query_cb(void *arg, int rc, size_t n, const bool *flags)
{
	struct query_op *op = arg;
	struct p2p_sync *s = op->s;
	struct p2p_conn *c = s->c;
	struct tclient *tc = &s->tc;
	bool start = op->start;
	size_t i;

	if (p2p_conn_dead(c) || !tc->sc.active) {
		if (!op->start)
			p2p_conn_release(c);
		goto out;
	}
	if (rc < 0 || n != op->n) {
		node_failed(s, "vertex_exists", rc < 0 ? rc : HN_EPROTO);
		tc_fail(s, "node unavailable");
		if (!op->start)
			p2p_conn_release(c);
		goto out;
	}
	for (i = 0; i < n; i++) {
		p2p_hmap_put(&tc->queried, op->hashes[i], NULL);
		if (flags[i])
			p2p_hmap_put(&tc->present, op->hashes[i], NULL);
	}
	if (op->start) {
		if (prepare_block(tc) < 0)
			tc_fail(s, "out of memory");
		else
			send_bfs(s, false);
	} else {
		run_tx_batch(s);        /* releases */
	}
out:
	free(op->hashes);
	free(op);
	if (start)
		p2p_conn_unref(c);
}

/* Asks the node about every dependency of @v[0..n) not known yet. */
static int query_deps(struct p2p_sync *s, struct qv **v, size_t n,
		      bool start)
{
	struct p2p_env *env = env_of(s);
	struct tclient *tc = &s->tc;
	struct query_op *op = calloc(1, sizeof(*op));
	struct p2p_hmap seen;
	size_t i, j, cap = 0;
	int rc = 0;

	if (!op)
		return HN_ENOMEM;
	p2p_hmap_init(&seen);
	op->s = s;
	op->start = start;
	for (i = 0; i < n && rc == 0; i++) {
		for (j = 0; j < v[i]->n_deps; j++) {
			const uint8_t *d = v[i]->deps[j];

			if (tc_has(tc, d) || p2p_hmap_has(&tc->queried, d) ||
			    p2p_hmap_has(&seen, d))
				continue;
			if (op->n == cap) {
				size_t nc = cap ? cap * 2 : 64;
				uint8_t (*nh)[32] = realloc(op->hashes,
							    nc * 32);

				if (!nh) {
					rc = HN_ENOMEM;
					break;
				}
				op->hashes = nh;
				cap = nc;
			}
			memcpy(op->hashes[op->n++], d, 32);
			p2p_hmap_put(&seen, d, NULL);
		}
	}
	p2p_hmap_release(&seen);
	if (rc < 0) {
		free(op->hashes);
		free(op);
		return rc;
	}
	if (start)
		p2p_conn_ref(s->c);
	else
		p2p_conn_hold(s->c);
	if (op->n == 0) {
		/* Nothing to ask: answer at once. */
		query_cb(op, 0, 0, NULL);
		return 0;
	}
	rc = env->node->exists(env->ctx, (const uint8_t (*)[32])op->hashes,
			       op->n, query_cb, op);
	if (rc < 0) {
		free(op->hashes);
		free(op);
		if (start)
			p2p_conn_unref(s->c);
		else
			p2p_conn_release(s->c);
		node_failed(s, "vertex_exists", rc);
		return rc;
	}
	return 0;
}

static void start_txs(struct p2p_sync *s)
{
	struct tclient *tc = &s->tc;

	tc_reset(tc);
	tc->blocks = s->bc.partial;
	tc->n_blocks = s->bc.n_partial;
	s->bc.partial = NULL;
	s->bc.n_partial = s->bc.cap_partial = 0;
	bc_reset(&s->bc);
	sc_start(&tc->sc, STREAMING_LIMIT);
	s->state = S_SYNCING_TRANSACTIONS;
	s->waiting = W_TXS;
	if (query_deps(s, tc->blocks, tc->n_blocks, true) < 0)
		tc_fail(s, "node unavailable");
}

static int cmp_ts(const void *a, const void *b)
{
	const struct qv *x = *(struct qv *const *)a;
	const struct qv *y = *(struct qv *const *)b;

	return x->timestamp < y->timestamp ? -1 :
	       x->timestamp > y->timestamp ? 1 : 0;
}

/* on_block_complete(blk, txs sorted by timestamp): queue them for adding
 * (stably sorted, as Python's sort) and move to the next block. */
static int complete_block(struct tclient *tc, struct sc_op *adds)
{
	struct qv *blk = tc->blocks[tc->idx];
	size_t i, n = tc->n_db;
	int rc;

	for (i = 1; i < n; i++) {
		struct qv *x = tc->db[i];
		size_t j = i;

		while (j > 0 && cmp_ts(&tc->db[j - 1], &x) > 0) {
			tc->db[j] = tc->db[j - 1];
			j--;
		}
		tc->db[j] = x;
	}
	for (i = 0; i < n; i++) {
		if ((rc = sc_op_push(adds, tc->db[i])) < 0)
			return rc;
		p2p_hmap_put(&tc->present, tc->db[i]->hash, NULL);
		tc->db[i] = NULL;
	}
	tc->n_db = 0;
	p2p_hmap_clear(&tc->db_index);
	if ((rc = sc_op_push(adds, blk)) < 0)
		return rc;
	p2p_hmap_put(&tc->present, blk->hash, NULL);
	tc->blocks[tc->idx] = NULL;
	tc->idx++;
	return 0;
}

/* The reference's handling of one TRANSACTION.  Returns 0, or a failure
 * reason for the stream. */
static const char *process_tx(struct p2p_sync *s, struct qv *v,
			      struct sc_op *adds)
{
	struct tclient *tc = &s->tc;
	bool found;

	p2p_hmap_del(&tc->waiting_for, v->hash, &found);
	if (!found) {
		if (p2p_hmap_has(&tc->db_index, v->hash) ||
		    p2p_hmap_has(&tc->existing, v->hash)) {
			/* Duplicate (resume) or already known. */
			const char *r = update_deps(tc, v) < 0 ?
					"out of memory" : NULL;

			qv_free(v);
			return r;
		}
		{
			char hex[65];

			p2p_hex32(v->hash, hex);
			p2p_conn_logf(s->c, P2P_LOG_INFO, "unexpected vertex "
				      "received: %s", hex);
		}
		qv_free(v);
		return "unexpected vertex";
	}
	if (update_deps(tc, v) < 0) {
		qv_free(v);
		return "out of memory";
	}
	if (tc->n_db == tc->cap_db) {
		size_t nc = tc->cap_db ? tc->cap_db * 2 : 64;
		struct qv **nd = realloc(tc->db, nc * sizeof(*nd));

		if (!nd) {
			qv_free(v);
			return "out of memory";
		}
		tc->db = nd;
		tc->cap_db = nc;
	}
	tc->db[tc->n_db++] = v;
	p2p_hmap_put(&tc->db_index, v->hash, v);
	while (tc->waiting_for.n == 0 && tc->idx < tc->n_blocks) {
		if (complete_block(tc, adds) < 0)
			return "out of memory";
		if (tc->idx < tc->n_blocks && prepare_block(tc) < 0)
			return "out of memory";
	}
	return NULL;
}

/* Runs the queued TRANSACTION lines (dependencies known by now), then adds
 * what completed.  Called with the connection held; releases it. */
static void run_tx_batch(struct p2p_sync *s)
{
	struct tclient *tc = &s->tc;
	struct sc_op *op = sc_op_new(s, &tc->sc);
	size_t i, n = tc->sc.n_batch;

	if (!op) {
		tc_fail(s, "out of memory");
		p2p_conn_release(s->c);
		return;
	}
	tc->sc.n_batch = tc->sc.batch_bytes = 0;
	for (i = 0; i < n; i++) {
		struct qv *v = tc->sc.batch[i];

		tc->sc.batch[i] = NULL;
		if (op->fail) {
			qv_free(v);
			continue;
		}
		op->fail = process_tx(s, v, op);
	}
	if (op->n == 0) {
		sc_op_done(s, op);
		return;
	}
	if (sc_op_alloc_adds(op, op->n) < 0) {
		sc_op_free(op);
		tc_fail(s, "out of memory");
		p2p_conn_release(s->c);
		return;
	}
	for (i = 0; i < op->n; i++) {
		op->bytes[i] = op->v[i]->bytes;
		op->lens[i] = op->v[i]->len;
	}
	op->n_add = op->n;
	sc_add(s, op);          /* releases */
}

static void flush_txs(struct p2p_sync *s)
{
	struct tclient *tc = &s->tc;

	if (query_deps(s, tc->sc.batch, tc->sc.n_batch, false) < 0)
		tc_fail(s, "node unavailable");
}

static int handle_transaction(struct p2p_sync *s, const char *pl, size_t plen)
{
	struct tclient *tc = &s->tc;
	struct qv *v = NULL;
	int rc;

	if (!tc->sc.exists)
		return EHANDLER;        /* assert _tx_streaming_client */
	rc = qv_from_b64(pl, plen, &v);
	if (rc == HN_ENOMEM)
		return rc;
	if (rc < 0)
		return EHANDLER;
	if (v->is_block) {
		p2p_conn_logf(s->c, P2P_LOG_WARN, "not a transaction in a "
			      "transaction stream");
		qv_free(v);
		return 0;
	}
	if (!tc->sc.active) {
		qv_free(v);
		return 0;
	}
	sc_receive(s, &tc->sc, v);
	return 0;
}

static int handle_transactions_end(struct p2p_sync *s, const char *pl,
				   size_t plen)
{
	struct tclient *tc = &s->tc;
	int code, rc = sc_end(s, &tc->sc, pl, plen, &code);

	if (rc <= 0)
		return rc;
	if (code == LIMIT_EXCEEDED && tc->idx < tc->n_blocks) {
		/* resume_transactions_streaming */
		tc->sc.received = 0;
		send_bfs(s, true);
		return 0;
	}
	p2p_conn_logf(s->c, P2P_LOG_INFO, "tx streaming finished (%d): %zu of "
		      "%zu blocks complete", code, tc->idx, tc->n_blocks);
	tc_reset(tc);
	stream_done(s);
	return 0;
}

static void tc_drop(struct p2p_sync *s)
{
	tc_reset(&s->tc);
}

static const struct sclient_kind tx_kind = {
	.name = "tx",
	.items = "transactions",
	.stop = P2P_CMD_STOP_TRANSACTIONS_STREAMING,
	.end = P2P_CMD_TRANSACTIONS_END,
	.state = S_SYNCING_TRANSACTIONS,
	.invalid_closes = true,
	.batch_max = TX_BATCH_MAX,
	.batch_bytes = TX_BATCH_BYTES,
	.flush = flush_txs,
	.reset = tc_drop,
};

/* --- client: mempool --- */

static void run_mempool(struct p2p_sync *s)
{
	s->state = S_SYNCING_MEMPOOL;
	if (s->missing_tips.n) {
		mempool_loop(s);
		return;
	}
	s->waiting = W_TIPS;
	s->receiving_tips = true;
	s->n_tips = 0;
	p2p_conn_send(s->c, P2P_CMD_GET_TIPS, NULL, 0);
}

static int handle_tips(struct p2p_sync *s, const char *pl, size_t plen)
{
	struct json_object *o;
	size_t n, i;

	if (!s->receiving_tips) {
		p2p_conn_error_close(s->c, "TIPS not expected");
		return 0;
	}
	o = p2p_json_parse_array(pl, plen, &n);
	if (!o)
		return EHANDLER;
	for (i = 0; i < n; i++) {
		uint8_t h[32];

		if (!p2p_json_hash(json_object_array_get_idx(o, i), h)) {
			json_object_put(o);
			return EHANDLER;
		}
		if (s->n_tips >= MAX_TIPS_BUFFER) {
			json_object_put(o);
			p2p_conn_error_close(s->c, "Too many tips: %zu",
					     s->n_tips + 1);
			return 0;
		}
		if (s->n_tips == s->cap_tips) {
			size_t nc = s->cap_tips ? s->cap_tips * 2 : 64;
			uint8_t (*nt)[32] = realloc(s->tips, nc * 32);

			if (!nt) {
				json_object_put(o);
				return HN_ENOMEM;
			}
			s->tips = nt;
			s->cap_tips = nc;
		}
		memcpy(s->tips[s->n_tips++], h, 32);
	}
	json_object_put(o);
	return 0;
}

static void tips_exists_cb(void *arg, int rc, size_t n, const bool *flags)
{
	struct p2p_sync *s = arg;
	struct p2p_conn *c = s->c;
	size_t i, missing = 0;

	if (p2p_conn_dead(c))
		goto out;
	if (rc < 0 || n != s->n_tips) {
		node_failed(s, "vertex_exists", rc < 0 ? rc : HN_EPROTO);
		s->n_tips = 0;
		tick_done(s);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (!flags[i])
			missing++;
	if (missing > MAX_MEMPOOL_RECEIVING_TIPS) {
		p2p_conn_error_close(c, "Too many tips: %zu", missing);
		goto out;
	}
	for (i = 0; i < n; i++)
		if (!flags[i])
			p2p_hmap_put(&s->missing_tips, s->tips[i], NULL);
	s->n_tips = 0;
	mempool_loop(s);
out:
	p2p_conn_release(c);
}

static int handle_tips_end(struct p2p_sync *s, const char *pl, size_t plen)
{
	struct p2p_env *env = env_of(s);
	int rc;

	if (!s->receiving_tips)
		return EHANDLER;        /* assert _receiving_tips */
	s->receiving_tips = false;
	if (s->waiting != W_TIPS) {
		p2p_conn_error_close(s->c, "TIPS-END not expected");
		return 0;
	}
	s->waiting = W_NODE;
	if (s->n_tips == 0) {
		mempool_loop(s);
		return 0;
	}
	p2p_conn_hold(s->c);
	rc = env->node->exists(env->ctx, (const uint8_t (*)[32])s->tips,
			       s->n_tips, tips_exists_cb, s);
	if (rc < 0) {
		p2p_conn_release(s->c);
		node_failed(s, "vertex_exists", rc);
		s->n_tips = 0;
		tick_done(s);
	}
	return 0;
}

static void cache_put(struct p2p_sync *s, struct qv *v)
{
	struct qv *copy;

	if (p2p_hmap_has(&s->tx_cache, v->hash))
		return;
	if (qv_from_bytes(v->bytes, v->len, &copy, NULL, 0) < 0)
		return;
	if (!s->cache_order) {
		s->cache_order = calloc(TX_CACHE_MAX, 32);
		if (!s->cache_order) {
			qv_free(copy);
			return;
		}
	}
	if (s->cache_n == TX_CACHE_MAX) {
		size_t old = s->cache_head;

		qv_free(p2p_hmap_del(&s->tx_cache, s->cache_order[old], NULL));
		s->cache_head = (old + 1) % TX_CACHE_MAX;
		s->cache_n--;
	}
	memcpy(s->cache_order[(s->cache_head + s->cache_n) % TX_CACHE_MAX],
	       v->hash, 32);
	s->cache_n++;
	if (p2p_hmap_put(&s->tx_cache, v->hash, copy) < 0)
		qv_free(copy);
}

struct gettx_op {
	struct p2p_sync *s;
	uint8_t id[32];
	void (*cont)(struct p2p_sync *s, struct qv *v);
};

static void send_get_data(struct p2p_sync *s, const uint8_t id[32],
			  void (*cont)(struct p2p_sync *, struct qv *))
{
	char hex[65];

	p2p_hex32(id, hex);
	s->have_pending_data = true;
	memcpy(s->pending_data, id, 32);
	s->data_cont = cont;
	s->waiting = W_DATA;
	p2p_conn_sendf(s->c, P2P_CMD_GET_DATA,
		       "{\"txid\": \"%s\", \"origin\": \"mempool\"}", hex);
}

static void gettx_cb(void *arg, int rc, size_t n, const struct p2p_vinfo *vi)
{
	struct gettx_op *op = arg;
	struct p2p_sync *s = op->s;
	struct p2p_conn *c = s->c;
	struct qv *v = NULL;

	if (p2p_conn_dead(c) || s->waiting != W_NODE)
		goto out;
	if (rc < 0 || n != 1) {
		mempool_failed(s, "get_vertex", rc < 0 ? rc : HN_EPROTO);
		goto out;
	}
	if (!vi[0].found) {
		send_get_data(s, op->id, op->cont);
		goto out;
	}
	if (qv_from_bytes(vi[0].bytes, vi[0].len, &v, NULL, 0) < 0) {
		mempool_failed(s, NULL, 0);
		goto out;
	}
	op->cont(s, v);
out:
	free(op);
	p2p_conn_unref(c);
}

/* get_tx: from the cache, the node, or the peer (GET-DATA). */
static void get_tx(struct p2p_sync *s, const uint8_t id[32],
		   void (*cont)(struct p2p_sync *s, struct qv *v))
{
	struct p2p_env *env = env_of(s);
	struct qv *cached = p2p_hmap_get(&s->tx_cache, id), *v;
	struct gettx_op *op;
	int rc;

	if (cached && qv_from_bytes(cached->bytes, cached->len, &v, NULL,
				    0) == 0) {
		cont(s, v);
		return;
	}
	op = calloc(1, sizeof(*op));
	if (!op) {
		mempool_failed(s, NULL, 0);
		return;
	}
	op->s = s;
	memcpy(op->id, id, 32);
	op->cont = cont;
	s->waiting = W_NODE;
	p2p_conn_ref(s->c);
	rc = env->node->get_vertices(env->ctx, (const uint8_t (*)[32])op->id,
				     1, gettx_cb, op);
	if (rc < 0) {
		free(op);
		p2p_conn_unref(s->c);
		mempool_failed(s, "get_vertex", rc);
	}
}

static void dfs_step(struct p2p_sync *s);

static void dfs_push(struct p2p_sync *s, struct qv *v)
{
	if (!s->stack) {
		s->stack = calloc(MAX_DFS_STACK + 1, sizeof(*s->stack));
		if (!s->stack) {
			qv_free(v);
			tick_done(s);
			return;
		}
	}
	s->stack[s->n_stack++] = v;
	if (s->n_stack > MAX_DFS_STACK) {
		qv_free(s->stack[0]);
		memmove(s->stack, s->stack + 1,
			(s->n_stack - 1) * sizeof(*s->stack));
		s->n_stack--;
	}
	dfs_step(s);
}

static void mempool_loop(struct p2p_sync *s)
{
	struct p2p_hmap_slot *sl;
	size_t pos = 0;

	if (p2p_conn_dead(s->c))
		return;
	sl = p2p_hmap_next(&s->missing_tips, &pos);
	if (!sl) {
		if (!s->synced_mempool)
			p2p_conn_logf(s->c, P2P_LOG_DEBUG, "mempool synced");
		s->synced_mempool = true;
		tick_done(s);
		return;
	}
	s->synced_mempool = false;
	get_tx(s, sl->key, dfs_push);
}

struct add_op {
	struct p2p_sync *s;
	struct qv *v;
};

static void mempool_added_cb(void *arg, int rc, size_t n,
			     const enum p2p_add_result *res, const char *msg)
{
	struct add_op *op = arg;
	struct p2p_sync *s = op->s;
	struct p2p_conn *c = s->c;

	if (p2p_conn_dead(c) || s->waiting != W_NODE)
		goto out;
	if (rc < 0 || n < 1) {
		mempool_failed(s, "on_new_vertex", rc < 0 ? rc : HN_EPROTO);
		goto out;
	}
	if (res[0] == P2P_ADD_INVALID) {
		p2p_conn_logf(c, P2P_LOG_INFO, "invalid mempool vertex: %s",
			      msg ? msg : "");
		stack_clear(s);
		p2p_conn_error_close(c, "invalid vertex received");
		goto out;
	}
	if (res[0] == P2P_ADD_MISSING_DEPS) {
		mempool_failed(s, NULL, 0);
		goto out;
	}
	if (res[0] == P2P_ADD_ACCEPTED)
		p2p_mgr_relay(c->p2p, op->v->bytes, op->v->len);
	if (p2p_conn_dead(c))
		goto out;
	/* pop the vertex we just added */
	if (s->n_stack && s->stack[s->n_stack - 1] == op->v) {
		s->n_stack--;
		qv_free(op->v);
	}
	op->v = NULL;
	dfs_step(s);
out:
	free(op);
	p2p_conn_unref(c);
}

static void dfs_deps_cb(void *arg, int rc, size_t n, const bool *flags)
{
	struct add_op *op = arg;
	struct p2p_sync *s = op->s;
	struct p2p_conn *c = s->c;
	struct p2p_env *env = env_of(s);
	struct qv *v = op->v;
	size_t i, k;

	if (p2p_conn_dead(c) || s->waiting != W_NODE || !s->n_stack ||
	    s->stack[s->n_stack - 1] != v)
		goto out;
	if (rc < 0 || n != v->n_deps + 1) {
		mempool_failed(s, "vertex_exists", rc < 0 ? rc : HN_EPROTO);
		goto out;
	}
	/* _next_missing_dep: inputs first, then parents. */
	for (k = 0; k < v->n_deps; k++) {
		size_t idx = k < v->n_inputs_deps ?
			     (v->n_deps - v->n_inputs_deps) + k :
			     k - v->n_inputs_deps;

		if (!flags[1 + idx]) {
			get_tx(s, v->deps[idx], dfs_push);
			goto out;
		}
	}
	/* _add_tx */
	p2p_hmap_del(&s->missing_tips, v->hash, NULL);
	if (flags[0]) {
		s->n_stack--;
		qv_free(v);
		dfs_step(s);
		goto out;
	}
	{
		struct add_op *aop = calloc(1, sizeof(*aop));
		const uint8_t *bytes = v->bytes;
		size_t len = v->len;

		if (!aop) {
			mempool_failed(s, NULL, 0);
			goto out;
		}
		aop->s = s;
		aop->v = v;
		p2p_conn_ref(c);
		rc = env->node->add_vertices(env->ctx, v->is_block ?
					     P2P_ADD_RELAY : P2P_ADD_MEMPOOL,
					     1, &bytes, &len,
					     mempool_added_cb, aop);
		if (rc < 0) {
			free(aop);
			p2p_conn_unref(c);
			mempool_failed(s, "on_new_vertex", rc);
		}
	}
	(void)i;
out:
	free(op);
	p2p_conn_unref(c);
}

static void dfs_step(struct p2p_sync *s)
{
	struct p2p_env *env = env_of(s);
	struct add_op *op;
	uint8_t (*hashes)[32];
	struct qv *v;
	int rc;

	if (p2p_conn_dead(s->c))
		return;
	if (s->n_stack == 0) {
		mempool_loop(s);
		return;
	}
	v = s->stack[s->n_stack - 1];
	op = calloc(1, sizeof(*op));
	hashes = calloc(v->n_deps + 1, 32);
	if (!op || !hashes) {
		free(op);
		free(hashes);
		mempool_failed(s, NULL, 0);
		return;
	}
	op->s = s;
	op->v = v;
	memcpy(hashes[0], v->hash, 32);
	memcpy(hashes + 1, v->deps, v->n_deps * 32);
	s->waiting = W_NODE;
	p2p_conn_ref(s->c);
	rc = env->node->exists(env->ctx, (const uint8_t (*)[32])hashes,
			       v->n_deps + 1, dfs_deps_cb, op);
	free(hashes);
	if (rc < 0) {
		free(op);
		p2p_conn_unref(s->c);
		mempool_failed(s, "vertex_exists", rc);
	}
}

/* --- DATA: mempool replies and real-time relay --- */

struct relay_op {
	struct p2p_sync *s;
	struct qv *v;
};

static void relay_added_cb(void *arg, int rc, size_t n,
			   const enum p2p_add_result *res, const char *msg)
{
	struct relay_op *op = arg;
	struct p2p_conn *c = op->s->c;

	if (p2p_conn_dead(c))
		goto out;
	if (rc < 0 || n < 1) {
		node_failed(op->s, "on_new_vertex", rc < 0 ? rc : HN_EPROTO);
		goto out;
	}
	if (res[0] == P2P_ADD_INVALID) {
		p2p_conn_logf(c, P2P_LOG_INFO, "invalid relayed vertex: %s",
			      msg ? msg : "");
		p2p_conn_error_close(c, "invalid vertex received");
		goto out;
	}
	if (res[0] == P2P_ADD_ACCEPTED)
		p2p_mgr_relay(c->p2p, op->v->bytes, op->v->len);
out:
	qv_free(op->v);
	free(op);
	p2p_conn_release(c);
}

static void relay_exists_cb(void *arg, int rc, size_t n, const bool *flags)
{
	struct relay_op *op = arg;
	struct p2p_sync *s = op->s;
	struct p2p_conn *c = s->c;
	struct p2p_env *env = env_of(s);
	const uint8_t *bytes;
	size_t len, i;

	if (p2p_conn_dead(c))
		goto done;
	if (rc < 0 || n != 1 + op->v->n_deps) {
		node_failed(s, "vertex_exists", rc < 0 ? rc : HN_EPROTO);
		goto done;
	}
	if (flags[0])
		goto done;      /* already have it */
	for (i = 1; i < n; i++) {
		if (!flags[i]) {
			/* can_validate_full is false: skip it. */
			p2p_conn_logf(c, P2P_LOG_DEBUG, "skipping tx received "
				      "in real time from peer");
			goto done;
		}
	}
	bytes = op->v->bytes;
	len = op->v->len;
	rc = env->node->add_vertices(env->ctx, P2P_ADD_RELAY, 1, &bytes, &len,
				     relay_added_cb, op);
	if (rc == 0)
		return;
	node_failed(s, "on_new_vertex", rc);
done:
	qv_free(op->v);
	free(op);
	p2p_conn_release(c);
}

static int handle_data(struct p2p_sync *s, const char *pl, size_t plen)
{
	struct p2p_env *env = env_of(s);
	const char *sp, *b64 = pl, *origin = NULL;
	size_t olen = 0, blen = plen;
	struct qv *v = NULL;
	struct relay_op *op;
	uint8_t (*hashes)[32];
	int rc;

	if (!s->inbound_relay) {
		/* Unsolicited vertex. */
		p2p_conn_misbehave(s->c, 1);
		return 0;
	}
	if (plen == 0)
		return 0;
	sp = memchr(pl, ' ', plen);
	if (sp && sp + 1 < pl + plen) {
		origin = pl;
		olen = (size_t)(sp - pl);
		b64 = sp + 1;
		blen = plen - olen - 1;
	} else if (sp) {
		blen = (size_t)(sp - pl);
	}
	rc = qv_from_b64(b64, blen, &v);
	if (rc == HN_ENOMEM)
		return rc;
	if (rc < 0)
		return 0;       /* struct.error: ignored */
	if (origin) {
		if (olen != 7 || memcmp(origin, "mempool", 7) != 0) {
			qv_free(v);
			p2p_conn_error_close(s->c, "DATA %.*s: unsupported "
					     "origin", (int)(olen > 64 ? 64 :
							     olen), origin);
			return 0;
		}
		/* _on_get_data */
		if (!s->have_pending_data || s->waiting != W_DATA ||
		    memcmp(v->hash, s->pending_data, 32) != 0) {
			qv_free(v);
			p2p_conn_error_close(s->c, "DATA mempool: with tx that "
					     "was not requested");
			return 0;
		}
		s->have_pending_data = false;
		cache_put(s, v);
		s->data_cont(s, v);
		return 0;
	}
	if (hn_network_is_genesis(s->c->p2p->cfg.net, v->hash)) {
		qv_free(v);
		return 0;
	}
	op = calloc(1, sizeof(*op));
	hashes = calloc(1 + v->n_deps, 32);
	if (!op || !hashes) {
		free(op);
		free(hashes);
		qv_free(v);
		return HN_ENOMEM;
	}
	op->s = s;
	op->v = v;
	memcpy(hashes[0], v->hash, 32);
	memcpy(hashes + 1, v->deps, v->n_deps * 32);
	p2p_conn_hold(s->c);
	rc = env->node->exists(env->ctx, (const uint8_t (*)[32])hashes,
			       1 + v->n_deps, relay_exists_cb, op);
	free(hashes);
	if (rc < 0) {
		qv_free(v);
		free(op);
		p2p_conn_release(s->c);
		node_failed(s, "vertex_exists", rc);
	}
	return 0;
}

void p2p_sync_send_tx(struct p2p_sync *s, const uint8_t *bytes, size_t len)
{
	if (!s->enabled || !s->outbound_relay || p2p_conn_dead(s->c))
		return;
	send_b64(s->c, P2P_CMD_DATA, NULL, bytes, len);
}

static int handle_relay(struct p2p_sync *s, const char *pl, size_t plen)
{
	struct json_object *o;
	bool is_null;

	if (plen == 0) {
		s->outbound_relay = true;       /* legacy: nothing = enable */
		return 0;
	}
	o = p2p_json_parse(pl, plen, &is_null);
	if (!o && !is_null)
		return EHANDLER;
	if (!o || !json_object_is_type(o, json_type_boolean)) {
		json_object_put(o);
		p2p_conn_error_close(s->c, "RELAY: invalid value");
		return 0;
	}
	s->outbound_relay = json_object_get_boolean(o);
	json_object_put(o);
	return 0;
}

/* --- server: simple requests --- */

/* A request's node call failed: the reference's handler raised. */
static void srv_failed(struct p2p_sync *s, enum p2p_cmd cmd, const char *what,
		       int rc)
{
	node_failed(s, what, rc);
	p2p_conn_error_close(s->c, "Error processing \"%s\" command",
			     p2p_cmd_name(cmd));
}

/* A request's node call could not be made: frees @op and releases the
 * connection held for it.  Returns the handler's result. */
static int srv_call_failed(struct p2p_sync *s, void *op, const char *what,
			   int rc)
{
	free(op);
	p2p_conn_release(s->c);
	node_failed(s, what, rc);
	return EHANDLER;
}

static void best_block_srv_cb(void *arg, int rc, uint64_t height,
			      const uint8_t hash[32])
{
	struct p2p_sync *s = arg;
	struct p2p_conn *c = s->c;
	char hex[65];

	if (p2p_conn_dead(c))
		goto out;
	if (rc < 0) {
		srv_failed(s, P2P_CMD_GET_BEST_BLOCK, "get_best_block", rc);
		goto out;
	}
	p2p_hex32(hash, hex);
	p2p_conn_sendf(c, P2P_CMD_BEST_BLOCK,
		       "{\"block\": \"%s\", \"height\": %llu}", hex,
		       (unsigned long long)height);
out:
	p2p_conn_release(c);
}

static int handle_get_best_block(struct p2p_sync *s, const char *pl,
				 size_t plen)
{
	struct p2p_env *env = env_of(s);
	int rc;

	p2p_conn_hold(s->c);
	rc = env->node->best_block(env->ctx, best_block_srv_cb, s);
	if (rc < 0)
		return srv_call_failed(s, NULL, "get_best_block", rc);
	return 0;
}

struct pbh_op {
	struct p2p_sync *s;
	size_t n;
	uint64_t heights[MAX_PEER_BLOCK_HASHES];
};

static void pbh_vinfo_cb(void *arg, int rc, size_t n,
			 const struct p2p_vinfo *vi)
{
	struct pbh_op *op = arg;
	struct p2p_conn *c = op->s->c;
	struct p2p_buf b = { 0 };
	size_t i;

	if (p2p_conn_dead(c))
		goto out;
	if (rc < 0) {
		srv_failed(op->s, P2P_CMD_GET_PEER_BLOCK_HASHES, "get_vertex",
			   rc);
		goto out;
	}
	p2p_buf_append(&b, "[", 1);
	for (i = 0; i < n; i++) {
		char hex[65];

		if (!vi[i].found || vi[i].voided)
			break;
		p2p_hex32(vi[i].hash, hex);
		p2p_buf_printf(&b, "%s[%llu, \"%s\"]", i ? ", " : "",
			       (unsigned long long)op->heights[i], hex);
	}
	p2p_buf_append(&b, "]", 1);
	if (b.data)
		p2p_conn_send(c, P2P_CMD_PEER_BLOCK_HASHES, (char *)b.data,
			      b.len);
	p2p_buf_release(&b);
out:
	free(op);
	p2p_conn_release(c);
}

static void pbh_hashes_cb(void *arg, int rc, size_t n, const bool *found,
			  const uint8_t (*hashes)[32])
{
	struct pbh_op *op = arg;
	struct p2p_sync *s = op->s;
	struct p2p_conn *c = s->c;
	struct p2p_env *env = env_of(s);
	size_t k = 0;

	if (p2p_conn_dead(c))
		goto fail;
	if (rc < 0 || n != op->n) {
		srv_failed(s, P2P_CMD_GET_PEER_BLOCK_HASHES, "height_index_get",
			   rc < 0 ? rc : HN_EPROTO);
		goto fail;
	}
	while (k < n && found[k])
		k++;
	if (k == 0) {
		p2p_conn_send(c, P2P_CMD_PEER_BLOCK_HASHES, "[]", 2);
		goto fail;
	}
	op->n = k;
	rc = env->node->get_vertices(env->ctx, hashes, k, pbh_vinfo_cb, op);
	if (rc == 0)
		return;
	srv_failed(s, P2P_CMD_GET_PEER_BLOCK_HASHES, "get_vertex", rc);
fail:
	free(op);
	p2p_conn_release(c);
}

static int handle_get_peer_block_hashes(struct p2p_sync *s, const char *pl,
					size_t plen)
{
	struct p2p_env *env = env_of(s);
	struct pbh_op *op;
	size_t n, i;
	struct json_object *o = p2p_json_parse_array(pl, plen, &n);
	int rc;

	if (!o)
		return EHANDLER;
	if (n > MAX_PEER_BLOCK_HASHES) {
		json_object_put(o);
		p2p_conn_logf(s->c, P2P_LOG_INFO, "too many heights: %zu", n);
		p2p_conn_error_close(s->c, "GET-PEER-BLOCK-HASHES: too many "
				     "heights");
		return 0;
	}
	op = calloc(1, sizeof(*op));
	if (!op) {
		json_object_put(o);
		return HN_ENOMEM;
	}
	op->s = s;
	for (i = 0; i < n; i++) {
		int64_t h;

		if (!p2p_json_int(json_object_array_get_idx(o, i), &h)) {
			json_object_put(o);
			free(op);
			return EHANDLER;
		}
		if (h < 0)
			break;  /* never in the height index */
		op->heights[op->n++] = (uint64_t)h;
	}
	json_object_put(o);
	if (op->n == 0) {
		free(op);
		p2p_conn_send(s->c, P2P_CMD_PEER_BLOCK_HASHES, "[]", 2);
		return 0;
	}
	p2p_conn_hold(s->c);
	rc = env->node->height_hashes(env->ctx, op->heights, op->n,
				      pbh_hashes_cb, op);
	if (rc < 0)
		return srv_call_failed(s, op, "height_index_get", rc);
	return 0;
}

static void tips_srv_cb(void *arg, int rc, size_t n, const bool *found,
			const uint8_t (*hashes)[32])
{
	struct p2p_sync *s = arg;
	struct p2p_conn *c = s->c;
	size_t i;

	if (p2p_conn_dead(c))
		goto out;
	if (rc < 0) {
		srv_failed(s, P2P_CMD_GET_TIPS, "get_mempool_tips", rc);
		goto out;
	}
	for (i = 0; i < n && !p2p_conn_dead(c); i++) {
		char hex[65];

		p2p_hex32(hashes[i], hex);
		p2p_conn_sendf(c, P2P_CMD_TIPS, "[\"%s\"]", hex);
	}
	p2p_conn_send(c, P2P_CMD_TIPS_END, NULL, 0);
out:
	p2p_conn_release(c);
}

static int handle_get_tips(struct p2p_sync *s, const char *pl, size_t plen)
{
	struct p2p_env *env = env_of(s);
	int rc;

	if (streaming(s)) {
		/* Quirk of the reference: it answers MEMPOOL-END. */
		p2p_conn_logf(s->c, P2P_LOG_WARN, "can't send while streaming");
		p2p_conn_send(s->c, P2P_CMD_MEMPOOL_END, NULL, 0);
		return 0;
	}
	p2p_conn_hold(s->c);
	rc = env->node->mempool_tips(env->ctx, tips_srv_cb, s);
	if (rc < 0)
		return srv_call_failed(s, NULL, "get_mempool_tips", rc);
	return 0;
}

struct getdata_op {
	struct p2p_sync *s;
	char origin[64];
	char txid[130];
};

static void getdata_cb(void *arg, int rc, size_t n, const struct p2p_vinfo *vi)
{
	struct getdata_op *op = arg;
	struct p2p_conn *c = op->s->c;

	if (p2p_conn_dead(c))
		goto out;
	if (rc < 0) {
		srv_failed(op->s, P2P_CMD_GET_DATA, "get_vertex", rc);
		goto out;
	}
	if (n == 1 && vi[0].found)
		send_b64(c, P2P_CMD_DATA, op->origin, vi[0].bytes, vi[0].len);
	else
		p2p_conn_send(c, P2P_CMD_NOT_FOUND, op->txid,
			      strlen(op->txid));
out:
	free(op);
	p2p_conn_release(c);
}

static int handle_get_data(struct p2p_sync *s, const char *pl, size_t plen)
{
	struct json_object *o = p2p_json_parse(pl, plen, NULL), *v;
	struct p2p_env *env = env_of(s);
	struct getdata_op *op;
	uint8_t id[32];
	size_t tl;
	int rc;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, "txid", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		json_object_put(o);
		return EHANDLER;
	}
	op = calloc(1, sizeof(*op));
	if (!op) {
		json_object_put(o);
		return HN_ENOMEM;
	}
	op->s = s;
	tl = (size_t)json_object_get_string_len(v);
	if (tl >= sizeof(op->txid) || tl % 2 ||
	    hn_hex_decode_n(json_object_get_string(v), tl, NULL, 0,
			    NULL) == HN_EPARSE) {
		json_object_put(o);
		free(op);
		return EHANDLER;        /* bytes.fromhex raised */
	}
	memcpy(op->txid, json_object_get_string(v), tl);
	if (json_object_object_get_ex(o, "origin", &v)) {
		if (!json_object_is_type(v, json_type_string) ||
		    (size_t)json_object_get_string_len(v) >=
		    sizeof(op->origin) ||
		    strchr(json_object_get_string(v), ' ')) {
			json_object_put(o);
			free(op);
			return EHANDLER;
		}
		snprintf(op->origin, sizeof(op->origin), "%s",
			 json_object_get_string(v));
	}
	json_object_put(o);
	if (tl != 64 || hn_hex_to_hash(op->txid, id) < 0) {
		/* Not a vertex id: get_transaction() cannot find it. */
		p2p_conn_send(s->c, P2P_CMD_NOT_FOUND, op->txid, tl);
		free(op);
		return 0;
	}
	p2p_conn_hold(s->c);
	rc = env->node->get_vertices(env->ctx, (const uint8_t (*)[32])id, 1,
				     getdata_cb, op);
	if (rc < 0)
		return srv_call_failed(s, op, "get_vertex", rc);
	return 0;
}

/* --- server: the streaming core shared by blocks and transactions --- */

static void ss_start(struct p2p_sync *s, struct sserver *ss, uint64_t limit)
{
	ss->limit = limit;
	ss->running = true;
	ss->kind->produce(s);
}

/* Ends the stream with @code (StreamEnd). */
static void ss_end(struct p2p_sync *s, struct sserver *ss, int code)
{
	ss->kind->reset(s);
	p2p_conn_sendf(s->c, ss->kind->end, "%d", code);
}

/* A node call of the stream failed: the stream ends with INTERNAL_ERROR. */
static void ss_failed(struct p2p_sync *s, struct sserver *ss, const char *what,
		      int rc)
{
	ss->fetching = false;
	node_failed(s, what, rc);
	ss_end(s, ss, INTERNAL_ERROR);
}

/* A node answer for the stream generation @gen: false when that stream
 * is gone, or when the call failed or the answer is not @complete (the
 * stream then ended). */
static bool ss_answer(struct p2p_sync *s, struct sserver *ss, unsigned gen,
		      int rc, bool complete, const char *what)
{
	if (p2p_conn_dead(s->c) || !ss->running || gen != ss->gen)
		return false;
	if (rc < 0 || !complete) {
		ss_failed(s, ss, what, rc < 0 ? rc : HN_EPROTO);
		return false;
	}
	return true;
}

/* Output drained: a stream not waiting for the node writes on. */
static void ss_resume(struct p2p_sync *s, struct sserver *ss)
{
	if (ss->running && !ss->fetching && !p2p_conn_dead(s->c))
		ss->kind->produce(s);
}

/* STOP-*-STREAMING from the peer. */
static void ss_stop(struct p2p_sync *s, struct sserver *ss)
{
	if (ss->running)
		ss_end(s, ss, PER_REQUEST);
}

/* --- server: block stream --- */

static void bs_end(struct p2p_sync *s, int code)
{
	ss_end(s, &s->bs.ss, code);
}

struct bsfetch_op {
	struct p2p_sync *s;
	unsigned gen;           /* of the stream it fetches for */
	size_t n;
	uint64_t base;
};

static void bs_vinfo_cb(void *arg, int rc, size_t n,
			const struct p2p_vinfo *vi)
{
	struct bsfetch_op *op = arg;
	struct p2p_sync *s = op->s;
	struct p2p_conn *c = s->c;
	struct bserver *bs = &s->bs;
	size_t i;

	if (!ss_answer(s, &bs->ss, op->gen, rc, n == op->n, "get_vertex"))
		goto out;
	bs->ss.fetching = false;
	for (i = 0; i < n; i++) {
		if (!vi[i].found) {
			bs->ahead_done = true;
			break;
		}
		if (sv_from_vinfo(&bs->ahead[bs->n_ahead], &vi[i]) < 0) {
			bs_end(s, INTERNAL_ERROR);
			goto out;
		}
		bs->ahead[bs->n_ahead].height = (int64_t)(op->base + i);
		bs->n_ahead++;
	}
	bs_produce(s);
out:
	free(op);
	p2p_conn_unref(c);
}

static void bs_hashes_cb(void *arg, int rc, size_t n, const bool *found,
			 const uint8_t (*hashes)[32])
{
	struct bsfetch_op *op = arg;
	struct p2p_sync *s = op->s;
	struct p2p_conn *c = s->c;
	struct p2p_env *env = env_of(s);
	struct bserver *bs = &s->bs;
	size_t k = 0;

	if (!ss_answer(s, &bs->ss, op->gen, rc, n == op->n,
		       "height_index_get"))
		goto fail;
	while (k < n && found[k])
		k++;
	if (k < n)
		bs->ahead_done = true;
	if (k == 0) {
		bs->ss.fetching = false;
		bs_produce(s);
		goto fail;
	}
	op->n = k;
	rc = env->node->get_vertices(env->ctx, hashes, k, bs_vinfo_cb, op);
	if (rc == 0)
		return;
	ss_failed(s, &bs->ss, "get_vertex", rc);
fail:
	free(op);
	p2p_conn_unref(c);
}

static void bs_fetch(struct p2p_sync *s)
{
	struct p2p_env *env = env_of(s);
	struct bserver *bs = &s->bs;
	struct bsfetch_op *op = calloc(1, sizeof(*op));
	uint64_t heights[PREFETCH];
	size_t i;
	int rc;

	if (!op) {
		bs_end(s, INTERNAL_ERROR);
		return;
	}
	for (i = 0; i < bs->n_ahead; i++)
		sv_clear(&bs->ahead[i]);
	bs->n_ahead = bs->i_ahead = 0;
	op->s = s;
	op->gen = bs->ss.gen;
	op->base = (uint64_t)bs->cur.height + 1;
	op->n = PREFETCH;
	if (bs->ss.limit - bs->ss.counter + 1 < op->n)
		op->n = (size_t)(bs->ss.limit - bs->ss.counter + 1);
	for (i = 0; i < op->n; i++)
		heights[i] = op->base + i;
	bs->ss.fetching = true;
	p2p_conn_ref(s->c);
	rc = env->node->height_hashes(env->ctx, heights, op->n, bs_hashes_cb,
				      op);
	if (rc < 0) {
		free(op);
		p2p_conn_unref(s->c);
		ss_failed(s, &bs->ss, "height_index_get", rc);
	}
}

/* BlockchainStreamingServer.send_next(), repeated while the peer reads. */
static void bs_produce(struct p2p_sync *s)
{
	struct bserver *bs = &s->bs;
	struct p2p_conn *c = s->c;

	while (bs->ss.running && !bs->ss.fetching && !p2p_conn_dead(c)) {
		if (bs->need_next) {
			if (bs->i_ahead >= bs->n_ahead) {
				if (!bs->ahead_done) {
					bs_fetch(s);
					continue;
				}
				/* No next block on the best chain. */
				bs_end(s, NO_MORE_BLOCKS);
				return;
			}
			sv_clear(&bs->cur);
			bs->cur = bs->ahead[bs->i_ahead];
			memset(&bs->ahead[bs->i_ahead], 0, sizeof(struct sv));
			bs->i_ahead++;
			bs->need_next = false;
			if (bs->cur.height == 0) {
				bs_end(s, NO_MORE_BLOCKS);
				return;
			}
			if (bs->ss.counter >= bs->ss.limit) {
				bs_end(s, LIMIT_EXCEEDED);
				return;
			}
		}
		if (p2p_conn_pending_out(c) > c->p2p->cfg.out_high)
			return;         /* resumed by p2p_sync_on_drain */
		if (bs->cur.voided) {
			bs_end(s, STREAM_BECAME_VOIDED);
			return;
		}
		if (memcmp(bs->cur.hash, bs->end, 32) == 0) {
			send_b64(c, P2P_CMD_BLOCKS, NULL, bs->cur.bytes,
				 bs->cur.len);
			bs_end(s, END_HASH_REACHED);
			return;
		}
		bs->ss.counter++;
		send_b64(c, P2P_CMD_BLOCKS, NULL, bs->cur.bytes, bs->cur.len);
		bs->need_next = true;
	}
}

struct gnb_op {
	struct p2p_sync *s;
	uint64_t quantity;
	uint8_t start[32], end[32];
};

static void gnb_cb(void *arg, int rc, size_t n, const struct p2p_vinfo *vi)
{
	struct gnb_op *op = arg;
	struct p2p_sync *s = op->s;
	struct p2p_conn *c = s->c;
	struct bserver *bs = &s->bs;
	char hex[65];

	if (p2p_conn_dead(c))
		goto out;
	if (rc < 0 || n != 2) {
		srv_failed(s, P2P_CMD_GET_NEXT_BLOCKS, "get_vertex",
			   rc < 0 ? rc : HN_EPROTO);
		goto out;
	}
	if (!vi[0].found || !vi[0].is_block) {
		p2p_hex32(op->start, hex);
		p2p_conn_send(c, P2P_CMD_NOT_FOUND, hex, 64);
		goto out;
	}
	if (!vi[1].found || !vi[1].is_block) {
		p2p_hex32(op->end, hex);
		p2p_conn_send(c, P2P_CMD_NOT_FOUND, hex, 64);
		goto out;
	}
	if (streaming(s)) {
		p2p_conn_error_close(c, "GET-NEXT-BLOCKS received before "
				     "previous one finished");
		goto out;
	}
	bs_reset(bs);
	if (sv_from_vinfo(&bs->cur, &vi[0]) < 0) {
		p2p_conn_close(c, true, "out of memory");
		goto out;
	}
	memcpy(bs->end, op->end, 32);
	ss_start(s, &bs->ss, op->quantity < STREAMING_LIMIT ? op->quantity :
		 STREAMING_LIMIT);
out:
	free(op);
	p2p_conn_release(c);
}

static int handle_get_next_blocks(struct p2p_sync *s, const char *pl,
				  size_t plen)
{
	struct json_object *o, *v;
	struct p2p_env *env = env_of(s);
	struct gnb_op *op;
	uint8_t ids[2][32];
	int64_t q;
	int rc;

	if (streaming(s)) {
		p2p_conn_error_close(s->c, "GET-NEXT-BLOCKS received before "
				     "previous one finished");
		return 0;
	}
	o = p2p_json_parse(pl, plen, NULL);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    json_object_object_length(o) != 3 ||
	    !json_object_object_get_ex(o, "start_hash", &v) ||
	    !p2p_json_hash(v, ids[0]) ||
	    !json_object_object_get_ex(o, "end_hash", &v) ||
	    !p2p_json_hash(v, ids[1]) ||
	    !json_object_object_get_ex(o, "quantity", &v) ||
	    !p2p_json_int(v, &q)) {
		json_object_put(o);
		return EHANDLER;
	}
	json_object_put(o);
	op = calloc(1, sizeof(*op));
	if (!op)
		return HN_ENOMEM;
	op->s = s;
	op->quantity = q < 0 ? 0 : (uint64_t)q;
	memcpy(op->start, ids[0], 32);
	memcpy(op->end, ids[1], 32);
	p2p_conn_hold(s->c);
	rc = env->node->get_vertices(env->ctx, (const uint8_t (*)[32])ids, 2,
				     gnb_cb, op);
	if (rc < 0)
		return srv_call_failed(s, op, "get_vertex", rc);
	return 0;
}

/* --- server: transactions BFS stream --- */

static void ts_end(struct p2p_sync *s, int code)
{
	ss_end(s, &s->ts.ss, code);
}

static int ts_push(struct tserver *ts, const uint8_t h[32], struct sv *v)
{
	if (ts->q_head > 0 && ts->q_head * 2 >= ts->q_len) {
		memmove(ts->q, ts->q + ts->q_head,
			(ts->q_len - ts->q_head) * sizeof(*ts->q));
		ts->q_len -= ts->q_head;
		ts->q_head = 0;
	}
	if (ts->q_len == ts->q_cap) {
		size_t nc = ts->q_cap ? ts->q_cap * 2 : 64;
		struct tsitem *nq = realloc(ts->q, nc * sizeof(*nq));

		if (!nq)
			return HN_ENOMEM;
		ts->q = nq;
		ts->q_cap = nc;
	}
	memcpy(ts->q[ts->q_len].hash, h, 32);
	ts->q[ts->q_len].v = v;
	ts->q_len++;
	return 0;
}

/* _add_neighbors: parents then inputs, unseen ones. */
static int ts_add_neighbors(struct tserver *ts, const struct sv *v)
{
	size_t i;
	int rc;

	for (i = 0; i < v->n_deps; i++) {
		if (p2p_hmap_has(&ts->seen, v->deps[i]))
			continue;
		if ((rc = p2p_hmap_put(&ts->seen, v->deps[i], NULL)) < 0 ||
		    (rc = ts_push(ts, v->deps[i], NULL)) < 0)
			return rc;
	}
	return 0;
}

struct tsfetch_op {
	struct p2p_sync *s;
	unsigned gen;           /* of the stream it fetches for */
	size_t n;
	size_t idx[FETCH_BATCH];        /* queue positions */
	bool fb_lookup;         /* this batch resolves first-block heights */
	uint8_t (*hashes)[32];
};

static void ts_fetch(struct p2p_sync *s);

static void ts_fetch_cb(void *arg, int rc, size_t n,
			const struct p2p_vinfo *vi)
{
	struct tsfetch_op *op = arg;
	struct p2p_sync *s = op->s;
	struct p2p_conn *c = s->c;
	struct tserver *ts = &s->ts;
	size_t i;

	if (!ss_answer(s, &ts->ss, op->gen, rc, n == op->n, "get_vertex"))
		goto out;
	ts->ss.fetching = false;
	for (i = 0; i < n; i++) {
		if (op->fb_lookup) {
			if (!vi[i].found || vi[i].height < 0) {
				ts_end(s, INTERNAL_ERROR);
				goto out;
			}
			p2p_hmap_put(&ts->fb_heights, op->hashes[i],
				     (void *)(uintptr_t)(vi[i].height + 1));
			continue;
		} else {
			struct sv *v = calloc(1, sizeof(*v));
			size_t qi = op->idx[i];

			if (!v || !vi[i].found ||
			    sv_from_vinfo(v, &vi[i]) < 0 || sv_deps(v) < 0) {
				if (v) {
					sv_clear(v);
					free(v);
				}
				/* storage lost a vertex it indexed */
				ts_end(s, INTERNAL_ERROR);
				goto out;
			}
			if (qi < ts->q_head || qi >= ts->q_len ||
			    memcmp(ts->q[qi].hash, v->hash, 32) != 0 ||
			    ts->q[qi].v) {
				sv_clear(v);
				free(v);
				continue;
			}
			ts->q[qi].v = v;
		}
	}
	ts_produce(s);
out:
	free(op->hashes);
	free(op);
	p2p_conn_unref(c);
}

static void ts_fetch(struct p2p_sync *s)
{
	struct p2p_env *env = env_of(s);
	struct tserver *ts = &s->ts;
	struct tsfetch_op *op = calloc(1, sizeof(*op));
	struct tsitem *front = &ts->q[ts->q_head];
	size_t i;
	int rc;

	if (!op || !(op->hashes = calloc(FETCH_BATCH, 32))) {
		free(op);
		ts_end(s, INTERNAL_ERROR);
		return;
	}
	op->s = s;
	op->gen = ts->ss.gen;
	if (front->v) {
		/* The front is a transaction whose first block's height is
		 * unknown: look up the unknown ones among the fetched. */
		op->fb_lookup = true;
		for (i = ts->q_head; i < ts->q_len && op->n < FETCH_BATCH;
		     i++) {
			struct sv *v = ts->q[i].v;
			size_t k;

			if (!v || v->is_block || !v->has_fb ||
			    v->fb_height >= 0 ||
			    p2p_hmap_has(&ts->fb_heights, v->fb))
				continue;
			for (k = 0; k < op->n; k++)
				if (!memcmp(op->hashes[k], v->fb, 32))
					break;
			if (k == op->n)
				memcpy(op->hashes[op->n++], v->fb, 32);
		}
	} else {
		for (i = ts->q_head; i < ts->q_len && op->n < FETCH_BATCH;
		     i++) {
			if (ts->q[i].v)
				continue;
			op->idx[op->n] = i;
			memcpy(op->hashes[op->n++], ts->q[i].hash, 32);
		}
	}
	ts->ss.fetching = true;
	p2p_conn_ref(s->c);
	rc = env->node->get_vertices(env->ctx,
				     (const uint8_t (*)[32])op->hashes, op->n,
				     ts_fetch_cb, op);
	if (rc < 0) {
		free(op->hashes);
		free(op);
		p2p_conn_unref(s->c);
		ss_failed(s, &ts->ss, "get_vertex", rc);
	}
}

struct tsnext_op {
	struct p2p_sync *s;
	unsigned gen;           /* of the stream it fetches for */
	uint8_t ids[2][32];
	size_t n;
};

static void ts_next_vinfo_cb(void *arg, int rc, size_t n,
			     const struct p2p_vinfo *vi)
{
	struct tsnext_op *op = arg;
	struct p2p_sync *s = op->s;
	struct p2p_conn *c = s->c;
	struct tserver *ts = &s->ts;

	if (!ss_answer(s, &ts->ss, op->gen, rc,
		       rc >= 0 && n == op->n && vi[0].found, "get_vertex"))
		goto out;
	ts->ss.fetching = false;
	if (vi[0].voided) {
		ts_end(s, STREAM_BECAME_VOIDED);
		goto out;
	}
	if (n < 2 || !vi[1].found) {
		/* No next block: the iterator is exhausted. */
		ts_end(s, END_HASH_REACHED);
		goto out;
	}
	sv_clear(&ts->cur);
	if (sv_from_vinfo(&ts->cur, &vi[1]) < 0 || sv_deps(&ts->cur) < 0) {
		ts_end(s, INTERNAL_ERROR);
		goto out;
	}
	ts->n_start = 0;        /* start_from.clear() */
	ts->block_started = false;
	ts_produce(s);
out:
	free(op);
	p2p_conn_unref(c);
}

static void ts_next_hash_cb(void *arg, int rc, size_t n, const bool *found,
			    const uint8_t (*hashes)[32])
{
	struct tsnext_op *op = arg;
	struct p2p_sync *s = op->s;
	struct p2p_conn *c = s->c;
	struct p2p_env *env = env_of(s);
	struct tserver *ts = &s->ts;

	if (!ss_answer(s, &ts->ss, op->gen, rc, n == 1, "height_index_get"))
		goto fail;
	op->n = 1;
	if (found[0]) {
		memcpy(op->ids[1], hashes[0], 32);
		op->n = 2;
	}
	rc = env->node->get_vertices(env->ctx,
				     (const uint8_t (*)[32])op->ids, op->n,
				     ts_next_vinfo_cb, op);
	if (rc == 0)
		return;
	ss_failed(s, &ts->ss, "get_vertex", rc);
fail:
	free(op);
	p2p_conn_unref(c);
}

/* After the BFS of the current block: voided check and next block. */
static void ts_next_block(struct p2p_sync *s)
{
	struct p2p_env *env = env_of(s);
	struct tserver *ts = &s->ts;
	struct tsnext_op *op = calloc(1, sizeof(*op));
	uint64_t h = (uint64_t)ts->cur.height + 1;
	int rc;

	if (!op) {
		ts_end(s, INTERNAL_ERROR);
		return;
	}
	op->s = s;
	op->gen = ts->ss.gen;
	memcpy(op->ids[0], ts->cur.hash, 32);
	ts->ss.fetching = true;
	p2p_conn_ref(s->c);
	rc = env->node->height_hashes(env->ctx, &h, 1, ts_next_hash_cb, op);
	if (rc < 0) {
		free(op);
		p2p_conn_unref(s->c);
		ss_failed(s, &ts->ss, "height_index_get", rc);
	}
}

/* TransactionsStreamingServer.send_next(), repeated while the peer reads. */
static void ts_produce(struct p2p_sync *s)
{
	struct tserver *ts = &s->ts;
	struct p2p_conn *c = s->c;

	while (ts->ss.running && !ts->ss.fetching && !p2p_conn_dead(c)) {
		struct tsitem *it;
		struct sv *v;
		int64_t fbh;

		if (p2p_conn_pending_out(c) > c->p2p->cfg.out_high)
			return;
		if (!ts->block_started) {
			size_t i;

			ts->block_started = true;
			if (ts->n_start) {
				for (i = 0; i < ts->n_start; i++) {
					p2p_hmap_put(&ts->seen,
						     ts->start_from[i], NULL);
					ts_push(ts, ts->start_from[i], NULL);
				}
			} else {
				p2p_hmap_put(&ts->seen, ts->cur.hash, NULL);
				if (ts_add_neighbors(ts, &ts->cur) < 0) {
					ts_end(s, INTERNAL_ERROR);
					return;
				}
			}
			continue;
		}
		if (ts->q_head == ts->q_len) {
			if (memcmp(ts->cur.hash, ts->last, 32) == 0) {
				ts_end(s, END_HASH_REACHED);
				return;
			}
			ts_next_block(s);
			continue;
		}
		it = &ts->q[ts->q_head];
		if (!it->v) {
			ts_fetch(s);
			continue;
		}
		v = it->v;
		if (!v->is_block && v->has_fb && v->fb_height < 0) {
			void *hv = p2p_hmap_get(&ts->fb_heights, v->fb);

			if (!hv) {
				ts_fetch(s);
				continue;
			}
			v->fb_height = (int64_t)(uintptr_t)hv - 1;
		}
		ts->q_head++;
		if (v->is_block) {
			/* skip_neighbors */
		} else if (!v->has_fb) {
			sv_clear(v);
			free(v);
			ts_end(s, TX_NOT_CONFIRMED);
			return;
		} else {
			fbh = v->fb_height;
			if (fbh >= ts->cur.height) {
				send_b64(c, P2P_CMD_TRANSACTION, NULL, v->bytes,
					 v->len);
				ts->ss.counter++;
				if (ts->ss.counter >= ts->ss.limit) {
					sv_clear(v);
					free(v);
					ts_end(s, LIMIT_EXCEEDED);
					return;
				}
				if (ts_add_neighbors(ts, v) < 0) {
					sv_clear(v);
					free(v);
					ts_end(s, INTERNAL_ERROR);
					return;
				}
			}
		}
		sv_clear(v);
		free(v);
	}
}

struct gtb_op {
	struct p2p_sync *s;
	size_t n;               /* 2 + start_from */
	uint8_t ids[2 + MAX_GET_TRANSACTIONS_BFS_LEN][32];
};

static void gtb_cb(void *arg, int rc, size_t n, const struct p2p_vinfo *vi)
{
	struct gtb_op *op = arg;
	struct p2p_sync *s = op->s;
	struct p2p_conn *c = s->c;
	struct tserver *ts = &s->ts;
	char hex[65];
	size_t i;

	if (p2p_conn_dead(c))
		goto out;
	if (rc < 0 || n != op->n) {
		srv_failed(s, P2P_CMD_GET_TRANSACTIONS_BFS, "get_vertex",
			   rc < 0 ? rc : HN_EPROTO);
		goto out;
	}
	for (i = 0; i < 2; i++) {
		if (!vi[i].found || !vi[i].is_block) {
			p2p_hex32(op->ids[i], hex);
			p2p_conn_send(c, P2P_CMD_NOT_FOUND, hex, 64);
			goto out;
		}
	}
	for (i = 2; i < n; i++) {
		if (!vi[i].found) {
			p2p_hex32(op->ids[i], hex);
			p2p_conn_send(c, P2P_CMD_NOT_FOUND, hex, 64);
			goto out;
		}
		if (!vi[i].has_first_block ||
		    memcmp(vi[i].first_block, op->ids[0], 32) != 0) {
			p2p_conn_sendf(c, P2P_CMD_TRANSACTIONS_END, "%d",
				       INVALID_PARAMS);
			goto out;
		}
	}
	if (streaming(s)) {
		p2p_conn_logf(c, P2P_LOG_WARN, "ignore GET-TRANSACTIONS-BFS, "
			      "already streaming");
		goto out;
	}
	ts_reset(ts);
	if (sv_from_vinfo(&ts->cur, &vi[0]) < 0 || sv_deps(&ts->cur) < 0) {
		ts_reset(ts);
		p2p_conn_close(c, true, "out of memory");
		goto out;
	}
	memcpy(ts->last, op->ids[1], 32);
	ts->n_start = n - 2;
	memcpy(ts->start_from, op->ids[2], ts->n_start * 32);
	ss_start(s, &ts->ss, STREAMING_LIMIT);
out:
	free(op);
	p2p_conn_release(c);
}

static int handle_get_transactions_bfs(struct p2p_sync *s, const char *pl,
				       size_t plen)
{
	struct json_object *o, *v, *sf;
	struct p2p_env *env = env_of(s);
	struct gtb_op *op;
	size_t n, i;
	int rc;

	if (streaming(s)) {
		p2p_conn_logf(s->c, P2P_LOG_WARN, "ignore GET-TRANSACTIONS-BFS, "
			      "already streaming");
		return 0;
	}
	op = calloc(1, sizeof(*op));
	if (!op)
		return HN_ENOMEM;
	op->s = s;
	o = p2p_json_parse(pl, plen, NULL);
	if (!o || !json_object_is_type(o, json_type_object) ||
	    json_object_object_length(o) != 3 ||
	    !json_object_object_get_ex(o, "first_block_hash", &v) ||
	    !p2p_json_hash(v, op->ids[0]) ||
	    !json_object_object_get_ex(o, "last_block_hash", &v) ||
	    !p2p_json_hash(v, op->ids[1]) ||
	    !json_object_object_get_ex(o, "start_from", &sf) ||
	    !json_object_is_type(sf, json_type_array)) {
		json_object_put(o);
		free(op);
		return EHANDLER;
	}
	n = json_object_array_length(sf);
	if (n > MAX_GET_TRANSACTIONS_BFS_LEN) {
		json_object_put(o);
		free(op);
		p2p_conn_logf(s->c, P2P_LOG_WARN, "too many transactions in "
			      "GET-TRANSACTIONS-BFS");
		p2p_conn_error_close(s->c, "Too many transactions in "
				     "GET-TRANSACTIONS-BFS");
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (!p2p_json_hash(json_object_array_get_idx(sf, i),
				   op->ids[2 + i])) {
			json_object_put(o);
			free(op);
			return EHANDLER;
		}
	}
	json_object_put(o);
	op->n = 2 + n;
	p2p_conn_hold(s->c);
	rc = env->node->get_vertices(env->ctx,
				     (const uint8_t (*)[32])op->ids, op->n,
				     gtb_cb, op);
	if (rc < 0)
		return srv_call_failed(s, op, "get_vertex", rc);
	return 0;
}

void p2p_sync_on_drain(struct p2p_sync *s)
{
	ss_resume(s, &s->bs.ss);
	ss_resume(s, &s->ts.ss);
}

static void bs_drop(struct p2p_sync *s)
{
	bs_reset(&s->bs);
}

static void ts_drop(struct p2p_sync *s)
{
	ts_reset(&s->ts);
}

static const struct sserver_kind bs_kind = {
	.end = P2P_CMD_BLOCKS_END,
	.reset = bs_drop,
	.produce = bs_produce,
};

static const struct sserver_kind ts_kind = {
	.end = P2P_CMD_TRANSACTIONS_END,
	.reset = ts_drop,
	.produce = ts_produce,
};

/* --- dispatch (agent.py get_cmd_dict) --- */

static int handle_stop_block_streaming(struct p2p_sync *s, const char *pl,
				       size_t plen)
{
	ss_stop(s, &s->bs.ss);
	return 0;
}

static int handle_stop_transactions_streaming(struct p2p_sync *s,
					      const char *pl, size_t plen)
{
	ss_stop(s, &s->ts.ss);
	return 0;
}

static int handle_not_found(struct p2p_sync *s, const char *pl, size_t plen)
{
	p2p_conn_logf(s->c, P2P_LOG_WARN, "vertex not found? close "
		      "connection");
	p2p_conn_error_close(s->c, "Unexpected NOT_FOUND");
	return 0;
}

/* A handler returns 0, or a negative code for "Error processing". */
typedef int sync_handler(struct p2p_sync *s, const char *pl, size_t plen);

static sync_handler *const handlers[P2P_CMD__COUNT] = {
	[P2P_CMD_GET_NEXT_BLOCKS] = handle_get_next_blocks,
	[P2P_CMD_BLOCKS] = handle_blocks,
	[P2P_CMD_BLOCKS_END] = handle_blocks_end,
	[P2P_CMD_GET_BEST_BLOCK] = handle_get_best_block,
	[P2P_CMD_BEST_BLOCK] = handle_best_block,
	[P2P_CMD_GET_TRANSACTIONS_BFS] = handle_get_transactions_bfs,
	[P2P_CMD_TRANSACTION] = handle_transaction,
	[P2P_CMD_TRANSACTIONS_END] = handle_transactions_end,
	[P2P_CMD_GET_PEER_BLOCK_HASHES] = handle_get_peer_block_hashes,
	[P2P_CMD_PEER_BLOCK_HASHES] = handle_peer_block_hashes,
	[P2P_CMD_STOP_BLOCK_STREAMING] = handle_stop_block_streaming,
	[P2P_CMD_STOP_TRANSACTIONS_STREAMING] =
		handle_stop_transactions_streaming,
	[P2P_CMD_GET_TIPS] = handle_get_tips,
	[P2P_CMD_TIPS] = handle_tips,
	[P2P_CMD_TIPS_END] = handle_tips_end,
	[P2P_CMD_GET_DATA] = handle_get_data,
	[P2P_CMD_DATA] = handle_data,
	[P2P_CMD_RELAY] = handle_relay,
	[P2P_CMD_NOT_FOUND] = handle_not_found,
};

int p2p_sync_handle(struct p2p_sync *s, enum p2p_cmd cmd, const char *pl,
		    size_t plen)
{
	sync_handler *h;
	int rc;

	if (!s || cmd < 0 || cmd >= P2P_CMD__COUNT || !(h = handlers[cmd]))
		return 0;
	rc = h(s, pl, plen);
	return rc < 0 ? rc : 1;
}
