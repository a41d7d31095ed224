/*
 * store.c: the ledger's sqlite persistence (see store.h for the contract
 * and docs/storage.md for the schema and the durability choice).
 *
 * One connection, used only by the loop thread.  Every statement is
 * prepared once at open (SQLITE_PREPARE_PERSISTENT) and reset after use.
 * Nothing here decides consensus: the ledger tells the store what to
 * write, the store keeps the rows and the derived index rows consistent
 * inside the caller's transaction.
 */
#include "store.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "hn/err.h"
#include "hn/hex.h"
#include "hn/log.h"
#include "hn/network.h"
#include "hn/vertex.h"

#define COMP "store"
#define TIPS_INF INT64_MAX      /* open interval end, as stored */

/* Schema version 2 (1 plus feature_block).  Changing anything below
 * needs a version bump and a migration in store_migrate(). */
/* Feature activation per block (core/feature.h struct hn_fa_rec): height,
 * states packed 4 bits per feature, bit counts as 8 little-endian u32.
 * Derived from the block's ancestry only, so never stale for a hash;
 * cleared when the network's feature table changes (meta feature_key). */
#define FA_TABLE_SQL \
	"CREATE TABLE IF NOT EXISTS feature_block (hash BLOB PRIMARY KEY," \
	" height INTEGER NOT NULL, states INTEGER NOT NULL," \
	" counts BLOB NOT NULL) WITHOUT ROWID;"

static const char schema_sql[] =
	"CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
	/* One row per vertex; mutable metadata lives here, the wire bytes
	 * in vbytes so metadata updates rewrite small rows only. */
	"CREATE TABLE vertex ("
	" id INTEGER PRIMARY KEY,"
	" hash BLOB NOT NULL UNIQUE,"
	" is_block INTEGER NOT NULL,"
	" version INTEGER NOT NULL,"
	" timestamp INTEGER NOT NULL,"
	" weight REAL NOT NULL,"
	" validation INTEGER NOT NULL,"
	" height INTEGER NOT NULL,"
	" min_height INTEGER NOT NULL,"
	" acc_work BLOB NOT NULL,"       /* 16-byte big-endian integer */
	" score BLOB NOT NULL,"
	" first_block BLOB,"             /* NULL: not confirmed */
	" voided_by BLOB,"               /* n x 32 bytes, NULL: not voided */
	" conflict_with BLOB,"           /* n x 32 bytes or NULL */
	" twins BLOB,"                   /* n x 32 bytes or NULL */
	" mempool_tip INTEGER NOT NULL DEFAULT 0,"
	" received_at REAL NOT NULL);"
	"CREATE TABLE vbytes (id INTEGER PRIMARY KEY, bytes BLOB NOT NULL);"
	/* sorted_all, and sorted_blocks / sorted_txs. */
	"CREATE INDEX vertex_ts ON vertex(timestamp, hash);"
	"CREATE INDEX vertex_kind_ts ON vertex(is_block, timestamp, hash);"
	/* The mempool: txs not confirmed and not voided. */
	"CREATE INDEX vertex_mempool ON vertex(timestamp, hash)"
	" WHERE is_block = 0 AND first_block IS NULL AND voided_by IS NULL;"
	"CREATE INDEX vertex_mempool_tip ON vertex(mempool_tip)"
	" WHERE mempool_tip = 1;"
	/* Verification DAG (parent -> child) and funds DAG (spent output
	 * -> spender), by rowid. */
	"CREATE TABLE edge (parent INTEGER NOT NULL, child INTEGER NOT NULL,"
	" PRIMARY KEY (parent, child)) WITHOUT ROWID;"
	"CREATE TABLE spent (tx INTEGER NOT NULL, idx INTEGER NOT NULL,"
	" spender INTEGER NOT NULL, PRIMARY KEY (tx, idx, spender))"
	" WITHOUT ROWID;"
	/* Height index of the best chain. */
	"CREATE TABLE height (height INTEGER PRIMARY KEY,"
	" block INTEGER NOT NULL);"
	/* Tips intervals [begin, end) per kind (tips_index.py). */
	"CREATE TABLE tips (kind INTEGER NOT NULL, vid INTEGER NOT NULL,"
	" begin INTEGER NOT NULL, end INTEGER NOT NULL,"
	" PRIMARY KEY (kind, vid)) WITHOUT ROWID;"
	"CREATE INDEX tips_end ON tips(kind, end);"
	"CREATE TABLE token (uid BLOB PRIMARY KEY, tx INTEGER NOT NULL,"
	" name TEXT NOT NULL, symbol TEXT NOT NULL, version INTEGER NOT NULL);"
	/* Vertex counts, kept in the same transactions as the rows. */
	"CREATE TABLE counter (name TEXT PRIMARY KEY, value INTEGER NOT NULL);"
	"INSERT INTO counter VALUES ('blocks', 0), ('txs', 0);"
	FA_TABLE_SQL;

enum stmt_id {
	S_BEGIN, S_COMMIT, S_ROLLBACK, S_SAVEPOINT, S_RELEASE, S_ROLLBACK_TO,
	S_ID_BY_HASH, S_META_BY_HASH, S_INSERT_VERTEX, S_INSERT_BYTES,
	S_GET_BYTES, S_UPDATE_META, S_INSERT_EDGE, S_INSERT_SPENT,
	S_CHILDREN, S_SPENDERS, S_SPENT_ALL, S_HEIGHT_GET, S_HEIGHT_SET,
	S_HEIGHT_TRUNC, S_HEIGHT_TOP, S_TIPS_INSERT, S_TIPS_GET,
	S_TIPS_CHILD_MIN, S_TIPS_SET_END, S_TIPS_LOWER_END, S_TIPS_DELETE, S_TIPS_AT,
	S_TIPS_OPEN, S_MEMPOOL_SET, S_MEMPOOL_TIPS, S_MEMPOOL_ALL,
	S_RANGE, S_NEWEST, S_NEWEST_FROM, S_TS_FIRST, S_TS_LATEST,
	S_COUNTER_ADD, S_COUNTERS, S_TOKEN_INSERT, S_TOKEN_GET,
	S_DEL_VERTEX, S_DEL_BYTES, S_DEL_EDGE_CHILD, S_DEL_EDGE_PARENT,
	S_DEL_SPENT_BY, S_DEL_SPENT_OF, S_DEL_TIPS_ALL, S_DEL_TOKEN,
	S_MEMPOOL_REFRESH, S_META_BYTES, S_READ_BEGIN, S_READ_END,
	S_COUNT
};

static const char *const stmt_sql[S_COUNT] = {
	[S_BEGIN] = "BEGIN IMMEDIATE",
	/* hn_store_read_begin/end: a deferred (read) transaction; not
	 * S_COMMIT, so that failure injection counts writes only. */
	[S_READ_BEGIN] = "BEGIN",
	[S_READ_END] = "COMMIT",
	[S_COMMIT] = "COMMIT",
	[S_ROLLBACK] = "ROLLBACK",
	[S_SAVEPOINT] = "SAVEPOINT hn",
	[S_RELEASE] = "RELEASE hn",
	[S_ROLLBACK_TO] = "ROLLBACK TO hn",
	[S_META_BYTES] = "SELECT id, is_block, version, timestamp, weight,"
		" validation, height, min_height, acc_work, score, first_block,"
		" voided_by, conflict_with, received_at, twins, (SELECT bytes"
		" FROM vbytes"
		" WHERE vbytes.id = vertex.id) FROM vertex WHERE hash = ?1",
	[S_ID_BY_HASH] = "SELECT id, timestamp, is_block FROM vertex"
		" WHERE hash = ?1",
	[S_META_BY_HASH] = "SELECT id, is_block, version, timestamp, weight,"
		" validation, height, min_height, acc_work, score, first_block,"
		" voided_by, conflict_with, received_at, twins FROM vertex"
		" WHERE hash = ?1",
	[S_INSERT_VERTEX] = "INSERT INTO vertex (hash, is_block, version,"
		" timestamp, weight, validation, height, min_height, acc_work,"
		" score, first_block, voided_by, conflict_with, received_at)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13,"
		" ?14)",
	[S_INSERT_BYTES] = "INSERT INTO vbytes (id, bytes) VALUES (?1, ?2)",
	[S_GET_BYTES] = "SELECT b.bytes FROM vertex v JOIN vbytes b"
		" ON b.id = v.id WHERE v.hash = ?1",
	[S_UPDATE_META] = "UPDATE vertex SET validation = ?2, height = ?3,"
		" acc_work = ?4, score = ?5, first_block = ?6, voided_by = ?7,"
		" conflict_with = ?8, min_height = ?9, twins = ?10 WHERE hash = ?1",
	[S_INSERT_EDGE] = "INSERT OR IGNORE INTO edge (parent, child)"
		" VALUES (?1, ?2)",
	[S_INSERT_SPENT] = "INSERT OR IGNORE INTO spent (tx, idx, spender)"
		" VALUES (?1, ?2, ?3)",
	[S_CHILDREN] = "SELECT c.hash FROM edge e JOIN vertex c"
		" ON c.id = e.child WHERE e.parent = ?1 ORDER BY c.timestamp,"
		" c.hash",
	[S_SPENDERS] = "SELECT v.hash FROM spent s JOIN vertex v"
		" ON v.id = s.spender WHERE s.tx = ?1 AND s.idx = ?2"
		" ORDER BY v.timestamp, v.hash",
	[S_SPENT_ALL] = "SELECT s.idx, v.hash FROM spent s JOIN vertex v"
		" ON v.id = s.spender WHERE s.tx = ?1 ORDER BY s.idx,"
		" v.timestamp, v.hash",
	[S_HEIGHT_GET] = "SELECT v.hash FROM height h JOIN vertex v"
		" ON v.id = h.block WHERE h.height = ?1",
	[S_HEIGHT_SET] = "INSERT OR REPLACE INTO height (height, block)"
		" SELECT ?1, id FROM vertex WHERE hash = ?2",
	[S_HEIGHT_TRUNC] = "DELETE FROM height WHERE height > ?1",
	[S_HEIGHT_TOP] = "SELECT h.height, v.hash FROM height h JOIN vertex v"
		" ON v.id = h.block ORDER BY h.height DESC LIMIT 1",
	[S_TIPS_INSERT] = "INSERT OR REPLACE INTO tips (kind, vid, begin, end)"
		" VALUES (?1, ?2, ?3, ?4)",
	[S_TIPS_GET] = "SELECT end FROM tips WHERE kind = ?1 AND vid = ?2",
	[S_TIPS_CHILD_MIN] = "SELECT MIN(c.timestamp) FROM edge e"
		" JOIN vertex c ON c.id = e.child JOIN tips t ON t.kind = ?1"
		" AND t.vid = e.child WHERE e.parent = ?2",
	[S_TIPS_SET_END] = "UPDATE tips SET end = ?3 WHERE kind = ?1"
		" AND vid = ?2",
	[S_TIPS_LOWER_END] = "UPDATE tips SET end = ?3 WHERE kind = ?1"
		" AND vid = ?2 AND +end > ?3",       /* by the key */
	[S_TIPS_DELETE] = "DELETE FROM tips WHERE kind = ?1 AND vid = ?2",
	[S_TIPS_AT] = "SELECT t.begin, t.end, v.hash FROM tips t JOIN vertex v"
		" ON v.id = t.vid WHERE t.kind = ?1 AND t.end > ?2"
		" AND t.begin <= ?2 ORDER BY v.hash",
	[S_TIPS_OPEN] = "SELECT t.begin, t.end, v.hash FROM tips t"
		" JOIN vertex v ON v.id = t.vid WHERE t.kind = ?1"
		" AND t.end = 9223372036854775807 ORDER BY v.hash",
	[S_MEMPOOL_SET] = "UPDATE vertex SET mempool_tip = ?2 WHERE hash = ?1",
	[S_MEMPOOL_TIPS] = "SELECT hash FROM vertex WHERE mempool_tip = 1"
		" ORDER BY hash",
	/* INDEXED BY: without it sqlite walks every tx by vertex_kind_ts
	 * (is_block = 0) and reads each row: 6-45 ms on the loop thread for
	 * an empty mempool at 20k txs (/v1a/mempool, metrics). */
	[S_MEMPOOL_ALL] = "SELECT hash FROM vertex INDEXED BY vertex_mempool"
		" WHERE is_block = 0"
		" AND first_block IS NULL AND voided_by IS NULL"
		" ORDER BY timestamp, hash",
	[S_RANGE] = "SELECT hash, timestamp FROM vertex WHERE timestamp >= ?1"
		" ORDER BY timestamp, hash LIMIT ?2 OFFSET ?3",
	[S_NEWEST] = "SELECT hash FROM vertex WHERE is_block = ?1"
		" ORDER BY timestamp DESC, hash DESC LIMIT ?2",
	[S_NEWEST_FROM] = "SELECT hash FROM vertex WHERE is_block = ?1"
		" AND (timestamp, hash) < (?3, ?4)"
		" ORDER BY timestamp DESC, hash DESC LIMIT ?2",
	[S_TS_FIRST] = "SELECT MIN(timestamp) FROM vertex",
	[S_TS_LATEST] = "SELECT MAX(timestamp) FROM vertex",
	[S_COUNTER_ADD] = "UPDATE counter SET value = value + ?2"
		" WHERE name = ?1",
	[S_COUNTERS] = "SELECT name, value FROM counter",
	[S_TOKEN_INSERT] = "INSERT OR REPLACE INTO token (uid, tx, name, symbol,"
		" version) VALUES (?1, ?2, ?3, ?4, ?5)",
	[S_TOKEN_GET] = "SELECT name, symbol, version FROM token"
		" WHERE uid = ?1",
	[S_DEL_VERTEX] = "DELETE FROM vertex WHERE id = ?1",
	[S_DEL_BYTES] = "DELETE FROM vbytes WHERE id = ?1",
	[S_DEL_EDGE_CHILD] = "DELETE FROM edge WHERE child = ?1",
	[S_DEL_EDGE_PARENT] = "DELETE FROM edge WHERE parent = ?1",
	[S_DEL_SPENT_BY] = "DELETE FROM spent WHERE tx = ?1 AND idx = ?2"
		" AND spender = ?3",
	[S_DEL_SPENT_OF] = "DELETE FROM spent WHERE tx = ?1",
	[S_DEL_TIPS_ALL] = "DELETE FROM tips WHERE vid = ?1",
	[S_DEL_TOKEN] = "DELETE FROM token WHERE tx = ?1",
	/* MempoolTipsIndex: a tx in the mempool with no non-voided child
	 * and no non-voided spender. */
	[S_MEMPOOL_REFRESH] = "UPDATE vertex SET mempool_tip = (is_block = 0"
		" AND first_block IS NULL AND voided_by IS NULL AND NOT EXISTS"
		" (SELECT 1 FROM edge e JOIN vertex c ON c.id = e.child"
		" WHERE e.parent = vertex.id AND c.voided_by IS NULL)"
		" AND NOT EXISTS (SELECT 1 FROM spent s JOIN vertex c"
		" ON c.id = s.spender WHERE s.tx = vertex.id"
		" AND c.voided_by IS NULL)) WHERE hash = ?1",
};

/* Direct-mapped cache of hash -> (rowid, timestamp, kind).  Rowids can be
 * reused after a rollback or a removal, so both clear it.
 *
 * tips_ub[kind] bounds the vertex's row in the tips index: no row (kind,
 * id) has an end above it (TIPS_INF: nothing known).  Lowering a parent's
 * end to a child's timestamp at or above the bound changes nothing, so
 * tips_add_id() skips the statement: most parents already have an older
 * child.  Every tips write of this store sets or resets the bound of the
 * row it wrote, and whatever undoes writes clears the cache. */
#define IDCACHE_SIZE 4096
struct idc_entry {
	uint8_t hash[32];
	int64_t id;                     /* 0: empty */
	int64_t ts;
	bool is_block;
	int64_t tips_ub[3];             /* by enum hn_tips_kind */
};

/*
 * Write-through cache of the CORE metadata (and wire bytes) of recently
 * read or written vertices, direct-mapped by hash.  The accept pipeline
 * reads the same parents and spent transactions many times per vertex
 * (checks, verification, consensus) and every vertex's parents were
 * written a moment earlier, so most reads are hits.  Only this store
 * writes the rows: put_vertex fills an entry, update_meta rewrites its
 * mutable fields after the UPDATE succeeded, and everything that can undo
 * or remove rows (rollback of any level, a failed commit, remove_vertex)
 * clears the whole cache with the id cache (idc_clear), so a cached entry
 * always equals what sqlite would return inside the current transaction.
 * A read-only store has no cache: another process writes its file.
 */
#define MCACHE_SIZE 8192
struct mc_entry {
	bool used;
	struct hn_vmeta m;              /* CORE fields; arrays owned */
	uint8_t *bytes;                 /* wire bytes (NULL: not known) */
	size_t len;
};

struct hn_store {
	sqlite3 *db;
	struct idc_entry *idc;          /* IDCACHE_SIZE entries */
	struct mc_entry *mc;            /* MCACHE_SIZE entries, or NULL */
	char *path;                     /* malloc'd copy */
	const struct hn_network *net;
	bool readonly;
	unsigned depth;                 /* transaction nesting */
	unsigned read_nest;             /* hn_store_read_begin() nesting */
	bool read_open;                 /* it began a read transaction */
	long fail_after;                /* tests: fail the n-th write (0: off) */
	bool best_valid;                /* best_hash/best_height cached */
	/* The last hash lookup_id found absent (the accept pipeline asks
	 * for a new vertex twice before inserting it); only put_vertex adds
	 * rows, so it stays absent until then.  Not for read-only stores. */
	bool absent_valid;
	uint8_t absent[32];
	uint8_t best_hash[32];
	uint64_t best_height;
	sqlite3_stmt *stmt[S_COUNT];
	/* feature_block statements; NULL when a read-only open found a
	 * schema 1 file (no such table: nothing is persisted). */
	sqlite3_stmt *fa_get, *fa_put;
	struct ckpt *ck;                /* WAL checkpointer thread, or NULL */
};

/*
 * WAL checkpoints off the writer's thread.  sqlite's automatic checkpoint
 * runs inside the commit that takes the WAL past 1000 pages: it copies
 * ~4 MB back into ledger.db and fsyncs it, 10-60 ms on the project's VMs,
 * on the thread that also serves HTTP.  Instead the WAL hook (called after
 * each commit with the WAL's size) wakes a thread holding its own
 * connection, which runs PASSIVE checkpoints: they copy what no reader
 * needs without blocking the writer, and the writer's next transaction
 * starts the WAL over once everything is copied.  If the WAL still grows
 * past CKPT_INLINE pages (the thread cannot keep up), the commit
 * checkpoints itself as sqlite would.  Crash safety is sqlite's: a
 * checkpoint never loses a committed transaction.
 */
#define CKPT_PAGES 1000                 /* sqlite's autocheckpoint size */
#define CKPT_INLINE (16 * CKPT_PAGES)

struct ckpt {
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	bool want, stop;
	sqlite3 *db;                    /* the thread's connection */
	unsigned long runs;             /* checkpoints done by the thread */
};

static void *ckpt_main(void *arg)
{
	struct ckpt *ck = arg;

	pthread_mutex_lock(&ck->mu);
	for (;;) {
		while (!ck->want && !ck->stop)
			pthread_cond_wait(&ck->cv, &ck->mu);
		if (ck->stop)
			break;
		ck->want = false;
		pthread_mutex_unlock(&ck->mu);
		sqlite3_wal_checkpoint_v2(ck->db, NULL,
					  SQLITE_CHECKPOINT_PASSIVE, NULL,
					  NULL);
		pthread_mutex_lock(&ck->mu);
		ck->runs++;
	}
	pthread_mutex_unlock(&ck->mu);
	return NULL;
}

static int ckpt_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	struct ckpt *ck = arg;

	if (pages >= CKPT_INLINE) {
		sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
					  NULL, NULL);
	} else if (pages >= CKPT_PAGES) {
		pthread_mutex_lock(&ck->mu);
		ck->want = true;
		pthread_cond_signal(&ck->cv);
		pthread_mutex_unlock(&ck->mu);
	}
	return SQLITE_OK;
}

/* Starts the checkpointer; without it sqlite's automatic checkpoint
 * stays on (nothing is lost but the loop's smoothness). */
static void ckpt_start(struct hn_store *st)
{
	struct ckpt *ck = calloc(1, sizeof(*ck));

	if (!ck)
		return;
	if (sqlite3_open_v2(st->path, &ck->db, SQLITE_OPEN_READWRITE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		hn_warn(COMP, "%s: no checkpoint thread (%s); checkpoints run "
			"in the commits", st->path,
			ck->db ? sqlite3_errmsg(ck->db) : "out of memory");
		sqlite3_close_v2(ck->db);
		free(ck);
		return;
	}
	sqlite3_exec(ck->db, "PRAGMA cache_size=-1024", NULL, NULL, NULL);
	pthread_mutex_init(&ck->mu, NULL);
	pthread_cond_init(&ck->cv, NULL);
	if (pthread_create(&ck->th, NULL, ckpt_main, ck) != 0) {
		pthread_mutex_destroy(&ck->mu);
		pthread_cond_destroy(&ck->cv);
		sqlite3_close_v2(ck->db);
		free(ck);
		return;
	}
	st->ck = ck;
	sqlite3_wal_hook(st->db, ckpt_hook, ck);
}

static void ckpt_stop(struct hn_store *st)
{
	struct ckpt *ck = st->ck;

	if (!ck)
		return;
	sqlite3_wal_hook(st->db, NULL, NULL);
	pthread_mutex_lock(&ck->mu);
	ck->stop = true;
	pthread_cond_signal(&ck->cv);
	pthread_mutex_unlock(&ck->mu);
	pthread_join(ck->th, NULL);
	/* Closed first: the writer's close is then the last one, which
	 * checkpoints and removes the WAL as before. */
	sqlite3_close_v2(ck->db);
	pthread_mutex_destroy(&ck->mu);
	pthread_cond_destroy(&ck->cv);
	free(ck);
	st->ck = NULL;
}

/* --- small helpers ------------------------------------------------------- */

static struct idc_entry *idc_slot(struct hn_store *st, const uint8_t h[32])
{
	uint32_t x;

	memcpy(&x, h + 28, 4);
	return &st->idc[x & (IDCACHE_SIZE - 1)];
}

static void idc_fill(struct idc_entry *e, const uint8_t h[32], int64_t id,
		     int64_t ts, bool is_block)
{
	memcpy(e->hash, h, 32);
	e->id = id;
	e->ts = ts;
	e->is_block = is_block;
	for (int k = 0; k < 3; k++)
		e->tips_ub[k] = TIPS_INF;
}

/* The cache entry of @id (@h), or NULL if it is not cached. */
static struct idc_entry *idc_find(struct hn_store *st, const uint8_t h[32],
				  int64_t id)
{
	struct idc_entry *e = idc_slot(st, h);

	return e->id == id && !memcmp(e->hash, h, 32) ? e : NULL;
}

static void mc_drop(struct mc_entry *e)
{
	if (!e->used)
		return;
	hn_vmeta_release(&e->m);
	free(e->bytes);
	memset(e, 0, sizeof(*e));
}

static void mc_clear(struct hn_store *st)
{
	if (!st->mc)
		return;
	for (size_t i = 0; i < MCACHE_SIZE; i++)
		mc_drop(&st->mc[i]);
}

static void idc_clear(struct hn_store *st)
{
	st->best_valid = false;
	st->absent_valid = false;
	if (st->idc)
		memset(st->idc, 0, IDCACHE_SIZE * sizeof(*st->idc));
	mc_clear(st);
}

static struct mc_entry *mc_slot(struct hn_store *st, const uint8_t h[32])
{
	uint32_t x;

	if (!st->mc)
		return NULL;
	memcpy(&x, h + 24, 4);
	return &st->mc[x & (MCACHE_SIZE - 1)];
}

static struct mc_entry *mc_find(struct hn_store *st, const uint8_t h[32])
{
	struct mc_entry *e = mc_slot(st, h);

	return e && e->used && !memcmp(e->m.hash, h, 32) ? e : NULL;
}

static int dup_hashes(size_t n, uint8_t (*src)[32], uint8_t (**out)[32])
{
	*out = NULL;
	if (!n)
		return 0;
	*out = malloc(n * 32);
	if (!*out)
		return HN_ENOMEM;
	memcpy(*out, src, n * 32);
	return 0;
}

/* *@dst = the CORE part of @src with its own copies of the arrays. */
static int meta_copy(struct hn_vmeta *dst, const struct hn_vmeta *src)
{
	*dst = *src;
	dst->children = NULL;
	dst->n_children = 0;
	dst->spent = NULL;
	dst->n_spent = 0;
	dst->voided_by = NULL;
	dst->conflict_with = NULL;
	dst->twins = NULL;
	if (dup_hashes(src->n_voided_by, src->voided_by, &dst->voided_by) < 0 ||
	    dup_hashes(src->n_conflict_with, src->conflict_with,
		       &dst->conflict_with) < 0 ||
	    dup_hashes(src->n_twins, src->twins, &dst->twins) < 0) {
		hn_vmeta_release(dst);
		return HN_ENOMEM;
	}
	if (!dst->has_first_block)
		memset(dst->first_block, 0, 32);
	return 0;
}

/* Caches @m (CORE fields) and, if @bytes, the wire bytes of m->hash.
 * Without memory the entry is simply not cached. */
static void mc_put(struct hn_store *st, const struct hn_vmeta *m,
		   const uint8_t *bytes, size_t len)
{
	struct mc_entry *e = mc_slot(st, m->hash);
	uint8_t *b = NULL;

	if (!e)
		return;
	if (e->used && !memcmp(e->m.hash, m->hash, 32) && !bytes &&
	    e->bytes) {
		b = e->bytes;           /* keep the bytes we have */
		len = e->len;
		e->bytes = NULL;
	}
	mc_drop(e);
	if (bytes) {
		b = malloc(len ? len : 1);
		if (!b)
			return;
		memcpy(b, bytes, len);
	}
	if (meta_copy(&e->m, m) < 0) {
		free(b);
		memset(e, 0, sizeof(*e));
		return;
	}
	e->bytes = b;
	e->len = b ? len : 0;
	e->used = true;
}


void hn_vmeta_release(struct hn_vmeta *m)
{
	if (!m)
		return;
	free(m->voided_by);
	free(m->conflict_with);
	free(m->twins);
	free(m->children);
	free(m->spent);
	m->voided_by = NULL;
	m->conflict_with = NULL;
	m->twins = NULL;
	m->n_twins = 0;
	m->children = NULL;
	m->spent = NULL;
	m->n_voided_by = m->n_conflict_with = m->n_children = m->n_spent = 0;
}

bool hn_vmeta_voided_by_has(const struct hn_vmeta *m, const uint8_t h[32])
{
	for (size_t i = 0; i < m->n_voided_by; i++)
		if (!memcmp(m->voided_by[i], h, 32))
			return true;
	return false;
}

void hn_hash_list_release(struct hn_hash_list *l)
{
	if (!l)
		return;
	free(l->h);
	l->h = NULL;
	l->n = 0;
}

int hn_hash_list_push(struct hn_hash_list *l, const uint8_t h[32])
{
	/* Capacity is the next power of two >= n (implicit). */
	size_t n = l->n;

	if ((n & (n - 1)) == 0) {
		size_t cap = n ? n * 2 : 4;
		void *p;

		if (n && n < 4)
			cap = 4;
		p = realloc(l->h, cap * 32);
		if (!p)
			return HN_ENOMEM;
		l->h = p;
	}
	memcpy(l->h[n], h, 32);
	l->n = n + 1;
	return 0;
}

static void u128_to_be(hn_u128 v, uint8_t out[16])
{
	for (int i = 15; i >= 0; i--) {
		out[i] = (uint8_t)v;
		v >>= 8;
	}
}

static hn_u128 u128_from_be(const uint8_t *in, int len)
{
	hn_u128 v = 0;

	for (int i = 0; i < len && i < 16; i++)
		v = (v << 8) | in[i];
	return v;
}

static int hashes_from_blob(const void *blob, int len, size_t *n,
			    uint8_t (**out)[32])
{
	*n = 0;
	*out = NULL;
	if (!blob || len <= 0)
		return 0;
	if (len % 32)
		return HN_EIO;
	*out = malloc((size_t)len);
	if (!*out)
		return HN_ENOMEM;
	memcpy(*out, blob, (size_t)len);
	*n = (size_t)len / 32;
	return 0;
}

static int store_fail(struct hn_store *st, const char *what)
{
	hn_err(COMP, "%s: sqlite error: %s", what, sqlite3_errmsg(st->db));
	return HN_EIO;
}

/* Runs a statement expected to return no row (or ignore rows). */
static int step_done(struct hn_store *st, sqlite3_stmt *s, const char *what)
{
	int rc;

	if (st->fail_after > 0 &&
	    (!sqlite3_stmt_readonly(s) || s == st->stmt[S_COMMIT]) &&
	    --st->fail_after == 0) {
		sqlite3_reset(s);
		sqlite3_clear_bindings(s);
		hn_warn(COMP, "%s: injected failure", what);
		return HN_EIO;
	}
	rc = sqlite3_step(s);

	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return store_fail(st, what);
	return 0;
}

static void stmt_done(sqlite3_stmt *s)
{
	sqlite3_reset(s);
	sqlite3_clear_bindings(s);
}

static int bind_hash(sqlite3_stmt *s, int i, const uint8_t h[32])
{
	return sqlite3_bind_blob(s, i, h, 32, SQLITE_STATIC);
}

static int bind_hashes(sqlite3_stmt *s, int i, size_t n,
		       const uint8_t (*h)[32])
{
	if (!n)
		return sqlite3_bind_null(s, i);
	return sqlite3_bind_blob(s, i, h, (int)(n * 32), SQLITE_STATIC);
}

const char *hn_store_errmsg(const struct hn_store *st)
{
	return sqlite3_errmsg(st->db);
}

const char *hn_store_path(const struct hn_store *st)
{
	return st->path;
}

/* --- transactions --------------------------------------------------------- */

static int exec_stmt(struct hn_store *st, enum stmt_id id)
{
	return step_done(st, st->stmt[id], stmt_sql[id]);
}

int hn_store_read_begin(struct hn_store *st)
{
	if (st->read_nest++ || st->depth)
		return 0;
	if (exec_stmt(st, S_READ_BEGIN) < 0) {
		st->read_nest--;
		return HN_EIO;
	}
	st->read_open = true;
	return 0;
}

void hn_store_read_end(struct hn_store *st)
{
	if (!st->read_nest || --st->read_nest)
		return;
	if (st->read_open) {
		st->read_open = false;
		exec_stmt(st, S_READ_END);
	}
}

int hn_store_begin(struct hn_store *st)
{
	int rc;

	/* A write inside a read batch: the read transaction ends first
	 * (BEGIN IMMEDIATE cannot nest in it). */
	if (st->read_open) {
		st->read_open = false;
		exec_stmt(st, S_READ_END);
	}
	rc = exec_stmt(st, st->depth ? S_SAVEPOINT : S_BEGIN);

	if (rc == 0)
		st->depth++;
	return rc;
}

int hn_store_commit(struct hn_store *st)
{
	int rc;

	if (!st->depth)
		return HN_EINVAL;
	rc = exec_stmt(st, st->depth == 1 ? S_COMMIT : S_RELEASE);
	if (rc == 0) {
		st->depth--;
	} else if (st->depth == 1) {
		/* A failed COMMIT leaves the transaction open: undo it. */
		idc_clear(st);
		if (!sqlite3_get_autocommit(st->db))
			exec_stmt(st, S_ROLLBACK);
		st->depth = 0;
	}
	return rc;
}

int hn_store_rollback(struct hn_store *st)
{
	int rc;

	if (!st->depth)
		return HN_EINVAL;
	idc_clear(st);
	if (st->depth == 1) {
		rc = 0;
		if (!sqlite3_get_autocommit(st->db))
			rc = exec_stmt(st, S_ROLLBACK);
	} else {
		rc = exec_stmt(st, S_ROLLBACK_TO);
		if (rc == 0)
			rc = exec_stmt(st, S_RELEASE);
	}
	st->depth--;
	return rc;
}

void hn_store_inject_failure(struct hn_store *st, long nth_write)
{
	st->fail_after = nth_write;
}

unsigned hn_store_depth(const struct hn_store *st)
{
	return st->depth;
}

/* --- open / create ---------------------------------------------------------- */

static int meta_get(struct hn_store *st, const char *key, char *out,
		    size_t outlen)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, "SELECT value FROM meta WHERE key = ?1",
			       -1, &s, NULL) != SQLITE_OK)
		return HN_EIO;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		snprintf(out, outlen, "%s",
			 (const char *)sqlite3_column_text(s, 0));
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? HN_ENOENT : HN_EIO;
	}
	sqlite3_finalize(s);
	return rc;
}

static int meta_put(struct hn_store *st, const char *key, const char *val)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db,
			       "INSERT OR REPLACE INTO meta VALUES (?1, ?2)",
			       -1, &s, NULL) != SQLITE_OK)
		return HN_EIO;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, val, -1, SQLITE_STATIC);
	rc = sqlite3_step(s) == SQLITE_DONE ? 0 : HN_EIO;
	sqlite3_finalize(s);
	return rc;
}

static int pragma(struct hn_store *st, const char *sql, struct hn_error *err)
{
	char *msg = NULL;

	if (sqlite3_exec(st->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		hn_error_set(err, HN_EIO, "%s: '%s' failed: %s", st->path, sql,
			     msg ? msg : sqlite3_errmsg(st->db));
		sqlite3_free(msg);
		return HN_EIO;
	}
	return 0;
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

hn_u128 hn_weight_to_work(double weight)
{
	/* weight_to_work: floor(0.5 + 2**weight), exact in double. */
	double x;

	if (!(weight > -1e9))
		return 0;
	if (weight >= 127.0)
		return ~(hn_u128)0;
	x = floor(0.5 + pow(2.0, weight));
	return (hn_u128)x;
}

static int insert_genesis(struct hn_store *st, const struct hn_genesis_vertex *g,
			  struct hn_error *err)
{
	struct hn_vertex *v = NULL;
	struct hn_vmeta m;
	char msg[128];
	int rc;

	rc = hn_vertex_decode(g->bytes, g->len, &v, msg, sizeof(msg));
	if (rc < 0)
		return hn_error_set(err, rc, "genesis does not decode: %s", msg);
	memset(&m, 0, sizeof(m));
	memcpy(m.hash, v->hash, 32);
	m.version = v->version;
	m.is_block = hn_vertex_is_block(v);
	m.timestamp = v->timestamp;
	m.weight = v->weight;
	m.validation = HN_VALID_FULL;
	m.acc_work = hn_weight_to_work(v->weight);
	/* Genesis vertices have score = their work (get_metadata). */
	m.score = m.acc_work;
	m.received_at = wall_now();
	rc = hn_store_put_vertex(st, g->bytes, g->len, v, &m);
	if (rc == 0)
		rc = hn_store_tips_add(st, m.is_block ? HN_TIPS_BLOCK :
				       HN_TIPS_TX, v);
	if (rc == 0 && m.is_block)
		rc = hn_store_height_set(st, 0, v->hash, true);
	if (rc == 0 && !m.is_block)
		rc = hn_store_mempool_refresh(st, v->hash);
	hn_vertex_free(v);
	if (rc < 0)
		return hn_error_set(err, rc, "cannot store genesis: %s",
				    sqlite3_errmsg(st->db));
	return 0;
}

static int store_create(struct hn_store *st, struct hn_error *err)
{
	char ver[16];
	int rc;

	if ((rc = pragma(st, "BEGIN IMMEDIATE", err)) < 0)
		return rc;
	if ((rc = pragma(st, schema_sql, err)) < 0)
		goto fail;
	snprintf(ver, sizeof(ver), "%d", HN_STORE_SCHEMA_VERSION);
	if (meta_put(st, "schema_version", ver) < 0 ||
	    meta_put(st, "network", st->net->name) < 0 ||
	    meta_put(st, "application", "hathor-node") < 0) {
		rc = hn_error_set(err, HN_EIO, "%s: cannot write meta: %s",
				  st->path, sqlite3_errmsg(st->db));
		goto fail;
	}
	/* Statements need the tables: prepare now, inside the transaction. */
	return 0;
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

static int store_prepare(struct hn_store *st, struct hn_error *err)
{
	for (int i = 0; i < S_COUNT; i++) {
		if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
				       NULL) != SQLITE_OK)
			return hn_error_set(err, HN_EIO,
					    "%s: cannot prepare '%s': %s",
					    st->path, stmt_sql[i],
					    sqlite3_errmsg(st->db));
	}
	return 0;
}

/* Checks the meta rows of an existing database. */
static int store_check_meta(struct hn_store *st, struct hn_error *err)
{
	char val[128];
	int rc;

	rc = meta_get(st, "application", val, sizeof(val));
	if (rc < 0 || strcmp(val, "hathor-node"))
		return hn_error_set(err, HN_EINVAL,
				    "%s: not a hathor-node database (no meta "
				    "table); refusing to use it", st->path);
	if (meta_get(st, "schema_version", val, sizeof(val)) < 0)
		return hn_error_set(err, HN_EINVAL,
				    "%s: database has no schema version",
				    st->path);
	if (atoi(val) != HN_STORE_SCHEMA_VERSION && atoi(val) != 1)
		return hn_error_set(err, HN_EUNSUPPORTED,
				    "%s: schema version %s, this node knows "
				    "%d; refusing to open", st->path, val,
				    HN_STORE_SCHEMA_VERSION);
	if (meta_get(st, "network", val, sizeof(val)) < 0)
		return hn_error_set(err, HN_EINVAL,
				    "%s: database names no network", st->path);
	if (strcmp(val, st->net->name))
		return hn_error_set(err, HN_EINVAL,
				    "%s: database belongs to network '%s', "
				    "not '%s'; refusing to open", st->path,
				    val, st->net->name);
	return 0;
}

/* Schema 1 -> 2: adds feature_block (its rows are computed on demand by
 * core/feature.c).  One transaction: the file is either left at 1 or
 * fully at 2.  A read-only open of a schema 1 file leaves it as it is. */
static int store_migrate(struct hn_store *st, struct hn_error *err)
{
	char val[32];
	int rc;

	if (meta_get(st, "schema_version", val, sizeof(val)) < 0)
		return hn_error_set(err, HN_EIO, "%s: cannot read schema "
				    "version", st->path);
	if (atoi(val) == HN_STORE_SCHEMA_VERSION || st->readonly)
		return 0;
	if ((rc = pragma(st, "BEGIN IMMEDIATE", err)) < 0)
		return rc;
	if ((rc = pragma(st, FA_TABLE_SQL, err)) < 0)
		goto fail;
	snprintf(val, sizeof(val), "%d", HN_STORE_SCHEMA_VERSION);
	if (meta_put(st, "schema_version", val) < 0) {
		rc = hn_error_set(err, HN_EIO, "%s: cannot write meta: %s",
				  st->path, sqlite3_errmsg(st->db));
		goto fail;
	}
	if ((rc = pragma(st, "COMMIT", err)) < 0)
		goto fail;
	hn_info(COMP, "%s: schema 1 migrated to %d (feature_block added)",
		st->path, HN_STORE_SCHEMA_VERSION);
	return 0;
fail:
	sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

/* The feature_block statements (none on a read-only schema 1 file). */
static int store_prepare_fa(struct hn_store *st, struct hn_error *err)
{
	static const char *const sql[2] = {
		"SELECT height, states, counts FROM feature_block"
		" WHERE hash = ?1",
		"INSERT OR REPLACE INTO feature_block VALUES (?1, ?2, ?3, ?4)",
	};
	sqlite3_stmt **out[2] = { &st->fa_get, &st->fa_put };
	char val[32];

	if (meta_get(st, "schema_version", val, sizeof(val)) < 0 ||
	    atoi(val) != HN_STORE_SCHEMA_VERSION)
		return 0;
	for (int i = 0; i < 2; i++)
		if (sqlite3_prepare_v3(st->db, sql[i], -1,
				       SQLITE_PREPARE_PERSISTENT, out[i],
				       NULL) != SQLITE_OK)
			return hn_error_set(err, HN_EIO,
					    "%s: cannot prepare '%s': %s",
					    st->path, sql[i],
					    sqlite3_errmsg(st->db));
	return 0;
}

/* True if @path is missing or empty (a crash between creat() and the
 * first commit leaves an empty file). */
static int file_state(const char *path, bool *is_new)
{
	struct stat sb;

	if (stat(path, &sb) < 0) {
		if (errno != ENOENT)
			return -errno;
		*is_new = true;
		return 0;
	}
	if (!S_ISREG(sb.st_mode))
		return HN_EINVAL;
	*is_new = sb.st_size == 0;
	return 0;
}

static int check_header(const char *path, struct hn_error *err)
{
	static const char magic[16] = "SQLite format 3";
	char buf[16];
	FILE *f = fopen(path, "rb");
	size_t n;

	if (!f)
		return hn_error_set(err, -errno, "%s: cannot open: %s", path,
				    strerror(errno));
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (n != sizeof(buf) || memcmp(buf, magic, sizeof(buf)))
		return hn_error_set(err, HN_EINVAL,
				    "%s: not an sqlite database; refusing to "
				    "use it", path);
	return 0;
}

int hn_store_open(const struct hn_store_opts *opts, struct hn_store **out,
		  struct hn_error *err)
{
	struct hn_store *st;
	bool is_new = false;
	char buf[96];
	int flags, rc;

	if (!opts || !opts->path || !opts->net)
		return hn_error_set(err, HN_EINVAL, "store: path and network "
				    "required");
	rc = file_state(opts->path, &is_new);
	if (rc < 0)
		return hn_error_set(err, rc, "%s: cannot use: %s", opts->path,
				    rc == HN_EINVAL ? "not a regular file" :
				    strerror(-rc));
	if (is_new && !(opts->flags & HN_STORE_CREATE))
		return hn_error_set(err, HN_ENOENT, "%s: no database",
				    opts->path);
	if (is_new && (opts->flags & HN_STORE_READONLY))
		return hn_error_set(err, HN_ENOENT, "%s: no database (read "
				    "only)", opts->path);
	if (!is_new && (rc = check_header(opts->path, err)) < 0)
		return rc;

	st = calloc(1, sizeof(*st));
	if (st)
		st->idc = calloc(IDCACHE_SIZE, sizeof(*st->idc));
	if (!st || !st->idc || !(st->path = strdup(opts->path))) {
		if (st)
			free(st->idc);
		free(st);
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	}
	st->net = opts->net;
	st->readonly = opts->flags & HN_STORE_READONLY;
	/* Without memory the store runs uncached. */
	if (!st->readonly)
		st->mc = calloc(MCACHE_SIZE, sizeof(*st->mc));
	flags = st->readonly ? SQLITE_OPEN_READONLY :
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
	flags |= SQLITE_OPEN_NOMUTEX;
	if (sqlite3_open_v2(opts->path, &st->db, flags, NULL) != SQLITE_OK) {
		rc = hn_error_set(err, HN_EIO, "%s: cannot open: %s",
				  opts->path, st->db ? sqlite3_errmsg(st->db) :
				  "out of memory");
		goto fail;
	}
	sqlite3_extended_result_codes(st->db, 1);
	if (!st->readonly) {
		/* WAL: commits append to the -wal file; a crash at any point
		 * leaves the last committed state (docs/storage.md). */
		sqlite3_stmt *s;

		if (sqlite3_prepare_v2(st->db, "PRAGMA journal_mode=WAL", -1,
				       &s, NULL) != SQLITE_OK ||
		    sqlite3_step(s) != SQLITE_ROW ||
		    strcmp((const char *)sqlite3_column_text(s, 0), "wal")) {
			sqlite3_finalize(s);
			rc = hn_error_set(err, HN_EIO, "%s: cannot switch to "
					  "WAL mode: %s", opts->path,
					  sqlite3_errmsg(st->db));
			goto fail;
		}
		sqlite3_finalize(s);
		rc = pragma(st, opts->sync == HN_STORE_SYNC_FULL ?
			    "PRAGMA synchronous=FULL" :
			    "PRAGMA synchronous=NORMAL", err);
		if (rc < 0)
			goto fail;
	}
	if ((rc = pragma(st, "PRAGMA foreign_keys=OFF;"
			 "PRAGMA temp_store=MEMORY;"
			 "PRAGMA mmap_size=268435456;"
			 "PRAGMA busy_timeout=5000", err)) < 0)
		goto fail;
	if (opts->cache_mb) {
		snprintf(buf, sizeof(buf), "PRAGMA cache_size=-%u",
			 opts->cache_mb * 1024);
		if ((rc = pragma(st, buf, err)) < 0)
			goto fail;
	}

	if (is_new) {
		if ((rc = store_create(st, err)) < 0)
			goto fail;
		if ((rc = store_prepare(st, err)) < 0) {
			sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
			goto fail;
		}
		st->depth = 1;  /* inside store_create's transaction */
		if ((rc = insert_genesis(st, &st->net->genesis_block, err)) < 0 ||
		    (rc = insert_genesis(st, &st->net->genesis_tx1, err)) < 0 ||
		    (rc = insert_genesis(st, &st->net->genesis_tx2, err)) < 0) {
			hn_store_rollback(st);
			goto fail;
		}
		/* tx1/tx2 are tips of the mempool; they have no children. */
		if ((rc = hn_store_commit(st)) < 0) {
			hn_error_set(err, rc, "%s: cannot commit new database: "
				     "%s", opts->path, sqlite3_errmsg(st->db));
			goto fail;
		}
		hn_info(COMP, "created database '%s' for network '%s'",
			opts->path, st->net->name);
	} else {
		if ((rc = store_check_meta(st, err)) < 0)
			goto fail;
		if ((rc = store_migrate(st, err)) < 0)
			goto fail;
		if ((rc = store_prepare(st, err)) < 0)
			goto fail;
	}
	if ((rc = store_prepare_fa(st, err)) < 0)
		goto fail;
	if (!st->readonly)
		ckpt_start(st);
	*out = st;
	return 0;
fail:
	hn_store_close(st);
	return rc;
}

void hn_store_close(struct hn_store *st)
{
	if (!st)
		return;
	ckpt_stop(st);
	if (st->depth && st->db && !sqlite3_get_autocommit(st->db))
		sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
	for (int i = 0; i < S_COUNT; i++)
		sqlite3_finalize(st->stmt[i]);
	sqlite3_finalize(st->fa_get);
	sqlite3_finalize(st->fa_put);
	if (st->db)
		sqlite3_close_v2(st->db);
	mc_clear(st);
	free(st->mc);
	free(st->idc);
	free(st->path);
	free(st);
}

/* --- vertices ------------------------------------------------------------ */

/* Rowid, timestamp and kind of @hash: 0, HN_ENOENT or HN_EIO. */
static int lookup_id(struct hn_store *st, const uint8_t hash[32],
		     int64_t *id, int64_t *ts, bool *is_block)
{
	sqlite3_stmt *s = st->stmt[S_ID_BY_HASH];
	struct idc_entry *e = idc_slot(st, hash);
	int rc;

	if (e->id && !memcmp(e->hash, hash, 32)) {
		*id = e->id;
		if (ts)
			*ts = e->ts;
		if (is_block)
			*is_block = e->is_block;
		return 0;
	}
	if (st->absent_valid && !memcmp(st->absent, hash, 32))
		return HN_ENOENT;
	bind_hash(s, 1, hash);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*id = sqlite3_column_int64(s, 0);
		idc_fill(e, hash, *id, sqlite3_column_int64(s, 1),
			 sqlite3_column_int(s, 2));
		if (ts)
			*ts = e->ts;
		if (is_block)
			*is_block = e->is_block;
		rc = 0;
	} else if (rc == SQLITE_DONE) {
		rc = HN_ENOENT;
		if (!st->readonly) {
			memcpy(st->absent, hash, 32);
			st->absent_valid = true;
		}
	} else {
		rc = store_fail(st, "lookup");
	}
	stmt_done(s);
	return rc;
}

static int counter_add(struct hn_store *st, bool block, int delta)
{
	sqlite3_stmt *s = st->stmt[S_COUNTER_ADD];

	sqlite3_bind_text(s, 1, block ? "blocks" : "txs", -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 2, delta);
	return step_done(st, s, "counter");
}

/* Sets the cached bound of @id's row in @kind (see struct idc_entry). */
static void tips_ub_set(struct hn_store *st, enum hn_tips_kind kind,
			const uint8_t h[32], int64_t id, int64_t ub)
{
	struct idc_entry *e = idc_find(st, h, id);

	if (e)
		e->tips_ub[kind] = ub;
}

/* all_tips / block_tips / tx_tips add, see hn_store_tips_add(). */
static int tips_add_id(struct hn_store *st, enum hn_tips_kind kind,
		       const struct hn_vertex *v, int64_t id, bool fresh)
{
	sqlite3_stmt *s;
	int64_t end = TIPS_INF;
	int rc;

	/* A vertex stored in this transaction is not indexed and has no
	 * child: its interval is open. */
	if (fresh)
		goto insert;
	/* Already indexed? */
	s = st->stmt[S_TIPS_GET];
	sqlite3_bind_int(s, 1, kind);
	sqlite3_bind_int64(s, 2, id);
	rc = sqlite3_step(s);
	stmt_done(s);
	if (rc == SQLITE_ROW)
		return 0;
	if (rc != SQLITE_DONE)
		return store_fail(st, "tips get");

	/* Earliest child already in this index closes our interval. */
	s = st->stmt[S_TIPS_CHILD_MIN];
	sqlite3_bind_int(s, 1, kind);
	sqlite3_bind_int64(s, 2, id);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		end = sqlite3_column_int64(s, 0);
	stmt_done(s);
	if (rc != SQLITE_ROW)
		return store_fail(st, "tips child");
insert:
	s = st->stmt[S_TIPS_INSERT];
	sqlite3_bind_int(s, 1, kind);
	sqlite3_bind_int64(s, 2, id);
	sqlite3_bind_int64(s, 3, v->timestamp);
	sqlite3_bind_int64(s, 4, end);
	if ((rc = step_done(st, s, "tips insert")) < 0) {
		tips_ub_set(st, kind, v->hash, id, TIPS_INF);
		return rc;
	}
	tips_ub_set(st, kind, v->hash, id, end);

	/* Our parents in this index stop being tips at our timestamp
	 * (end = MIN(end, timestamp)). */
	for (unsigned i = 0; i < v->n_parents; i++) {
		struct idc_entry *e;
		int64_t pid;

		rc = lookup_id(st, v->parents[i], &pid, NULL, NULL);
		if (rc == HN_ENOENT)
			continue;
		if (rc < 0)
			return rc;
		e = idc_find(st, v->parents[i], pid);
		if (e && e->tips_ub[kind] <= (int64_t)v->timestamp)
			continue;       /* already ends at or before */
		s = st->stmt[S_TIPS_LOWER_END];
		sqlite3_bind_int(s, 1, kind);
		sqlite3_bind_int64(s, 2, pid);
		sqlite3_bind_int64(s, 3, v->timestamp);
		if ((rc = step_done(st, s, "tips lower end")) < 0)
			return rc;
		/* Now absent or ending at or before our timestamp. */
		if (e)
			e->tips_ub[kind] = v->timestamp;
	}
	return 0;
}

/* Recomputes the end of @pid's interval in @kind from its indexed
 * children (no-op if @pid is not indexed). */
static int tips_refresh(struct hn_store *st, enum hn_tips_kind kind,
			const uint8_t ph[32], int64_t pid)
{
	sqlite3_stmt *s = st->stmt[S_TIPS_GET];
	int64_t end = TIPS_INF;
	int rc;

	sqlite3_bind_int(s, 1, kind);
	sqlite3_bind_int64(s, 2, pid);
	rc = sqlite3_step(s);
	stmt_done(s);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return store_fail(st, "tips refresh");
	s = st->stmt[S_TIPS_CHILD_MIN];
	sqlite3_bind_int(s, 1, kind);
	sqlite3_bind_int64(s, 2, pid);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
		end = sqlite3_column_int64(s, 0);
	stmt_done(s);
	if (rc != SQLITE_ROW)
		return store_fail(st, "tips refresh child");
	s = st->stmt[S_TIPS_SET_END];
	sqlite3_bind_int(s, 1, kind);
	sqlite3_bind_int64(s, 2, pid);
	sqlite3_bind_int64(s, 3, end);
	rc = step_done(st, s, "tips refresh set");
	tips_ub_set(st, kind, ph, pid, rc < 0 ? TIPS_INF : end);
	return rc;
}

static int tips_remove_id(struct hn_store *st, enum hn_tips_kind kind,
			  const struct hn_vertex *v, int64_t id)
{
	sqlite3_stmt *s = st->stmt[S_TIPS_DELETE];
	int rc;

	sqlite3_bind_int(s, 1, kind);
	sqlite3_bind_int64(s, 2, id);
	rc = step_done(st, s, "tips delete");
	/* Absent now; unknown is also true (and safe if the delete failed). */
	tips_ub_set(st, kind, v->hash, id, TIPS_INF);
	if (rc < 0)
		return rc;
	if (sqlite3_changes(st->db) == 0)
		return 0;
	for (unsigned i = 0; i < v->n_parents; i++) {
		int64_t pid;

		rc = lookup_id(st, v->parents[i], &pid, NULL, NULL);
		if (rc == HN_ENOENT)
			continue;
		if (rc < 0 ||
		    (rc = tips_refresh(st, kind, v->parents[i], pid)) < 0)
			return rc;
	}
	return 0;
}

int hn_store_tips_add(struct hn_store *st, enum hn_tips_kind kind,
		      const struct hn_vertex *v)
{
	int64_t id;
	int rc = lookup_id(st, v->hash, &id, NULL, NULL);

	return rc < 0 ? rc : tips_add_id(st, kind, v, id, false);
}

int hn_store_tips_add_new(struct hn_store *st, enum hn_tips_kind kind,
			  const struct hn_vertex *v)
{
	int64_t id;
	int rc = lookup_id(st, v->hash, &id, NULL, NULL);

	return rc < 0 ? rc : tips_add_id(st, kind, v, id, true);
}

int hn_store_tips_remove(struct hn_store *st, enum hn_tips_kind kind,
			 const struct hn_vertex *v)
{
	int64_t id;
	int rc = lookup_id(st, v->hash, &id, NULL, NULL);

	return rc < 0 ? rc : tips_remove_id(st, kind, v, id);
}

int hn_store_put_vertex(struct hn_store *st, const uint8_t *bytes,
			size_t len, const struct hn_vertex *v,
			struct hn_vmeta *m)
{
	sqlite3_stmt *s = st->stmt[S_INSERT_VERTEX];
	uint8_t aw[16], sc[16];
	int64_t id;
	int rc;

	rc = lookup_id(st, v->hash, &id, NULL, NULL);
	if (rc == 0)
		return HN_EEXIST;
	if (rc != HN_ENOENT)
		return rc;

	u128_to_be(m->acc_work, aw);
	u128_to_be(m->score, sc);
	bind_hash(s, 1, v->hash);
	sqlite3_bind_int(s, 2, hn_vertex_is_block(v));
	sqlite3_bind_int(s, 3, v->version);
	sqlite3_bind_int64(s, 4, v->timestamp);
	sqlite3_bind_double(s, 5, v->weight);
	sqlite3_bind_int(s, 6, m->validation);
	sqlite3_bind_int64(s, 7, (int64_t)m->height);
	sqlite3_bind_int64(s, 8, (int64_t)m->min_height);
	sqlite3_bind_blob(s, 9, aw, 16, SQLITE_STATIC);
	sqlite3_bind_blob(s, 10, sc, 16, SQLITE_STATIC);
	if (m->has_first_block)
		bind_hash(s, 11, m->first_block);
	else
		sqlite3_bind_null(s, 11);
	bind_hashes(s, 12, m->n_voided_by,
		    (const uint8_t (*)[32])m->voided_by);
	bind_hashes(s, 13, m->n_conflict_with,
		    (const uint8_t (*)[32])m->conflict_with);
	sqlite3_bind_double(s, 14, m->received_at);
	st->absent_valid = false;
	if ((rc = step_done(st, s, "insert vertex")) < 0)
		return rc;
	id = sqlite3_last_insert_rowid(st->db);
	m->id = id;
	idc_fill(idc_slot(st, v->hash), v->hash, id, v->timestamp,
		 hn_vertex_is_block(v));

	s = st->stmt[S_INSERT_BYTES];
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_blob(s, 2, bytes, (int)len, SQLITE_STATIC);
	if ((rc = step_done(st, s, "insert bytes")) < 0)
		return rc;

	for (unsigned i = 0; i < v->n_parents; i++) {
		int64_t pid;

		if ((rc = lookup_id(st, v->parents[i], &pid, NULL, NULL)) < 0)
			return rc;
		s = st->stmt[S_INSERT_EDGE];
		sqlite3_bind_int64(s, 1, pid);
		sqlite3_bind_int64(s, 2, id);
		if ((rc = step_done(st, s, "insert edge")) < 0)
			return rc;
	}
	for (unsigned i = 0; i < v->n_inputs; i++) {
		int64_t tid;

		rc = lookup_id(st, v->inputs[i].tx_id, &tid, NULL, NULL);
		if (rc < 0)
			return rc;
		s = st->stmt[S_INSERT_SPENT];
		sqlite3_bind_int64(s, 1, tid);
		sqlite3_bind_int(s, 2, v->inputs[i].index);
		sqlite3_bind_int64(s, 3, id);
		if ((rc = step_done(st, s, "insert spent")) < 0)
			return rc;
	}
	if (v->version == HN_VTX_TOKEN_CREATION) {
		s = st->stmt[S_TOKEN_INSERT];
		bind_hash(s, 1, v->hash);
		sqlite3_bind_int64(s, 2, id);
		sqlite3_bind_text(s, 3, v->token_name, v->token_name_len,
				  SQLITE_STATIC);
		sqlite3_bind_text(s, 4, v->token_symbol, v->token_symbol_len,
				  SQLITE_STATIC);
		sqlite3_bind_int(s, 5, v->token_version);
		if ((rc = step_done(st, s, "insert token")) < 0)
			return rc;
	}
	if ((rc = tips_add_id(st, HN_TIPS_ALL, v, id, true)) < 0)
		return rc;
	if ((rc = counter_add(st, hn_vertex_is_block(v), 1)) < 0)
		return rc;
	if (st->mc) {
		/* What a read of the row would return. */
		struct hn_vmeta c = *m;

		memcpy(c.hash, v->hash, 32);
		c.is_block = hn_vertex_is_block(v);
		c.version = v->version;
		c.timestamp = v->timestamp;
		c.weight = v->weight;
		c.n_twins = 0;
		c.twins = NULL;
		mc_put(st, &c, bytes, len);
	}
	return 0;
}

int hn_store_remove_vertex(struct hn_store *st, const struct hn_vertex *v)
{
	sqlite3_stmt *s;
	int64_t id;
	int rc;

	if ((rc = lookup_id(st, v->hash, &id, NULL, NULL)) < 0)
		return rc;
	idc_clear(st);
	for (int k = HN_TIPS_ALL; k <= HN_TIPS_TX; k++)
		if ((rc = tips_remove_id(st, k, v, id)) < 0)
			return rc;
	for (unsigned i = 0; i < v->n_inputs; i++) {
		int64_t tid;

		rc = lookup_id(st, v->inputs[i].tx_id, &tid, NULL, NULL);
		if (rc == HN_ENOENT)
			continue;
		if (rc < 0)
			return rc;
		s = st->stmt[S_DEL_SPENT_BY];
		sqlite3_bind_int64(s, 1, tid);
		sqlite3_bind_int(s, 2, v->inputs[i].index);
		sqlite3_bind_int64(s, 3, id);
		if ((rc = step_done(st, s, "delete spent")) < 0)
			return rc;
	}
	static const enum stmt_id by_id[] = {
		S_DEL_EDGE_CHILD, S_DEL_EDGE_PARENT, S_DEL_SPENT_OF,
		S_DEL_TIPS_ALL, S_DEL_TOKEN, S_DEL_BYTES, S_DEL_VERTEX,
	};
	for (size_t i = 0; i < sizeof(by_id) / sizeof(by_id[0]); i++) {
		s = st->stmt[by_id[i]];
		sqlite3_bind_int64(s, 1, id);
		if ((rc = step_done(st, s, stmt_sql[by_id[i]])) < 0)
			return rc;
	}
	return counter_add(st, hn_vertex_is_block(v), -1);
}

int hn_store_update_meta(struct hn_store *st, const struct hn_vmeta *m)
{
	sqlite3_stmt *s = st->stmt[S_UPDATE_META];
	struct mc_entry *e;
	uint8_t aw[16], sc[16];
	int rc;

	u128_to_be(m->acc_work, aw);
	u128_to_be(m->score, sc);
	bind_hash(s, 1, m->hash);
	sqlite3_bind_int(s, 2, m->validation);
	sqlite3_bind_int64(s, 3, (int64_t)m->height);
	sqlite3_bind_blob(s, 4, aw, 16, SQLITE_STATIC);
	sqlite3_bind_blob(s, 5, sc, 16, SQLITE_STATIC);
	if (m->has_first_block)
		bind_hash(s, 6, m->first_block);
	else
		sqlite3_bind_null(s, 6);
	bind_hashes(s, 7, m->n_voided_by,
		    (const uint8_t (*)[32])m->voided_by);
	bind_hashes(s, 8, m->n_conflict_with,
		    (const uint8_t (*)[32])m->conflict_with);
	sqlite3_bind_int64(s, 9, (int64_t)m->min_height);
	bind_hashes(s, 10, m->n_twins, (const uint8_t (*)[32])m->twins);
	if ((rc = step_done(st, s, "update meta")) < 0) {
		if ((e = mc_find(st, m->hash)))
			mc_drop(e);
		return rc;
	}
	if (!sqlite3_changes(st->db))
		return HN_ENOENT;
	if ((e = mc_find(st, m->hash))) {
		/* The columns the UPDATE wrote; the rest cannot change. */
		struct hn_vmeta c = e->m;

		c.validation = m->validation;
		c.height = m->height;
		c.acc_work = m->acc_work;
		c.score = m->score;
		c.has_first_block = m->has_first_block;
		memcpy(c.first_block, m->first_block, 32);
		c.n_voided_by = m->n_voided_by;
		c.voided_by = m->voided_by;
		c.n_conflict_with = m->n_conflict_with;
		c.conflict_with = m->conflict_with;
		c.min_height = m->min_height;
		c.n_twins = m->n_twins;
		c.twins = m->twins;
		mc_put(st, &c, NULL, 0);
	}
	return 0;
}

int hn_store_exists(struct hn_store *st, const uint8_t hash[32])
{
	int64_t id;
	int rc = lookup_id(st, hash, &id, NULL, NULL);

	if (rc == 0)
		return 1;
	return rc == HN_ENOENT ? 0 : rc;
}

static int load_list(struct hn_store *st, sqlite3_stmt *s,
		     struct hn_hash_list *out, const char *what)
{
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(s, 0) != 32)
			continue;
		if (hn_hash_list_push(out, sqlite3_column_blob(s, 0)) < 0) {
			stmt_done(s);
			return HN_ENOMEM;
		}
	}
	stmt_done(s);
	return rc == SQLITE_DONE ? 0 : store_fail(st, what);
}

/* Fills the scalar fields of @m from the current row of @s (columns of
 * S_META_BY_HASH).  Returns 0 or a negative code. */
static int meta_from_row(sqlite3_stmt *s, const uint8_t hash[32],
			 struct hn_vmeta *m)
{
	int rc;

	memcpy(m->hash, hash, 32);
	m->id = sqlite3_column_int64(s, 0);
	m->is_block = sqlite3_column_int(s, 1);
	m->version = (uint8_t)sqlite3_column_int(s, 2);
	m->timestamp = (uint32_t)sqlite3_column_int64(s, 3);
	m->weight = sqlite3_column_double(s, 4);
	m->validation = sqlite3_column_int(s, 5);
	m->height = (uint64_t)sqlite3_column_int64(s, 6);
	m->min_height = (uint64_t)sqlite3_column_int64(s, 7);
	m->acc_work = u128_from_be(sqlite3_column_blob(s, 8),
				   sqlite3_column_bytes(s, 8));
	m->score = u128_from_be(sqlite3_column_blob(s, 9),
				sqlite3_column_bytes(s, 9));
	if (sqlite3_column_bytes(s, 10) == 32) {
		m->has_first_block = true;
		memcpy(m->first_block, sqlite3_column_blob(s, 10), 32);
	}
	rc = hashes_from_blob(sqlite3_column_blob(s, 11),
			      sqlite3_column_bytes(s, 11), &m->n_voided_by,
			      &m->voided_by);
	if (rc == 0)
		rc = hashes_from_blob(sqlite3_column_blob(s, 12),
				      sqlite3_column_bytes(s, 12),
				      &m->n_conflict_with, &m->conflict_with);
	m->received_at = sqlite3_column_double(s, 13);
	if (rc == 0)
		rc = hashes_from_blob(sqlite3_column_blob(s, 14),
				      sqlite3_column_bytes(s, 14),
				      &m->n_twins, &m->twins);
	return rc;
}

/* Decodes the stored bytes of @hash.  The hash is the row's key, computed
 * from these bytes when they were stored, so it is not recomputed (except
 * for a token creation, whose token uid is its hash). */
static int decode_stored(const uint8_t hash[32], const uint8_t *b, size_t n,
			 struct hn_vertex **out)
{
	char msg[128];
	int rc;

	rc = hn_vertex_decode_opts(b, n, HN_DECODE_NO_HASH, out, msg,
				   sizeof(msg));
	if (rc == 0 && (*out)->version == HN_VTX_TOKEN_CREATION) {
		hn_vertex_free(*out);
		*out = NULL;
		rc = hn_vertex_decode(b, n, out, msg, sizeof(msg));
	}
	if (rc < 0) {
		char hex[65];

		*out = NULL;
		hn_hex_encode(hash, 32, hex);
		hn_err(COMP, "stored vertex '%s' does not decode: %s", hex, msg);
		return HN_EIO;
	}
	memcpy((*out)->hash, hash, 32);
	return 0;
}

int hn_store_get_meta_vertex(struct hn_store *st, const uint8_t hash[32],
			     struct hn_vmeta *m, struct hn_vertex **v)
{
	sqlite3_stmt *s = st->stmt[S_META_BYTES];
	struct mc_entry *e = mc_find(st, hash);
	int rc;

	memset(m, 0, sizeof(*m));
	*v = NULL;
	if (e && e->bytes) {
		if ((rc = meta_copy(m, &e->m)) < 0)
			return rc;
		if ((rc = decode_stored(hash, e->bytes, e->len, v)) < 0)
			hn_vmeta_release(m);
		return rc;
	}
	bind_hash(s, 1, hash);
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW) {
		stmt_done(s);
		return rc == SQLITE_DONE ? HN_ENOENT : store_fail(st, "meta");
	}
	rc = meta_from_row(s, hash, m);
	if (rc == 0)
		rc = decode_stored(hash, sqlite3_column_blob(s, 15),
				   (size_t)sqlite3_column_bytes(s, 15), v);
	if (rc == 0 && st->mc)
		mc_put(st, m, sqlite3_column_blob(s, 15),
		       (size_t)sqlite3_column_bytes(s, 15));
	stmt_done(s);
	if (rc < 0)
		hn_vmeta_release(m);
	return rc;
}

int hn_store_get_meta(struct hn_store *st, const uint8_t hash[32],
		      int fields, struct hn_vmeta *m)
{
	sqlite3_stmt *s = st->stmt[S_META_BY_HASH];
	struct mc_entry *e = mc_find(st, hash);
	int rc;

	memset(m, 0, sizeof(*m));
	if (e) {
		if ((rc = meta_copy(m, &e->m)) < 0)
			return rc;
	} else {
		bind_hash(s, 1, hash);
		rc = sqlite3_step(s);
		if (rc != SQLITE_ROW) {
			stmt_done(s);
			return rc == SQLITE_DONE ? HN_ENOENT :
				store_fail(st, "meta");
		}
		rc = meta_from_row(s, hash, m);
		stmt_done(s);
		if (rc == 0 && st->mc)
			mc_put(st, m, NULL, 0);
	}
	if (rc == 0 && (fields & HN_VMETA_CHILDREN)) {
		struct hn_hash_list l = { 0 };

		s = st->stmt[S_CHILDREN];
		sqlite3_bind_int64(s, 1, m->id);
		rc = load_list(st, s, &l, "children");
		m->children = l.h;
		m->n_children = l.n;
	}
	if (rc == 0 && (fields & HN_VMETA_SPENT)) {
		size_t cap = 0;

		s = st->stmt[S_SPENT_ALL];
		sqlite3_bind_int64(s, 1, m->id);
		while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
			if (m->n_spent == cap) {
				void *p;

				cap = cap ? cap * 2 : 4;
				p = realloc(m->spent, cap * sizeof(*m->spent));
				if (!p) {
					rc = SQLITE_NOMEM;
					break;
				}
				m->spent = p;
			}
			m->spent[m->n_spent].index =
				(uint8_t)sqlite3_column_int(s, 0);
			memcpy(m->spent[m->n_spent].tx,
			       sqlite3_column_blob(s, 1), 32);
			m->n_spent++;
		}
		stmt_done(s);
		rc = rc == SQLITE_DONE ? 0 :
			rc == SQLITE_NOMEM ? HN_ENOMEM :
			store_fail(st, "spent");
	}
	if (rc < 0)
		hn_vmeta_release(m);
	return rc;
}

int hn_store_get_bytes(struct hn_store *st, const uint8_t hash[32],
		       uint8_t **bytes, size_t *len)
{
	sqlite3_stmt *s = st->stmt[S_GET_BYTES];
	struct mc_entry *e = mc_find(st, hash);
	int rc;

	if (e && e->bytes) {
		*bytes = malloc(e->len ? e->len : 1);
		if (!*bytes)
			return HN_ENOMEM;
		memcpy(*bytes, e->bytes, e->len);
		*len = e->len;
		return 0;
	}
	bind_hash(s, 1, hash);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		int n = sqlite3_column_bytes(s, 0);

		*bytes = malloc(n ? (size_t)n : 1);
		if (*bytes) {
			memcpy(*bytes, sqlite3_column_blob(s, 0), (size_t)n);
			*len = (size_t)n;
			rc = 0;
			/* The metadata is cached: keep the bytes with it. */
			if (e && (e->bytes = malloc(n ? (size_t)n : 1))) {
				memcpy(e->bytes, *bytes, (size_t)n);
				e->len = (size_t)n;
			}
		} else {
			rc = HN_ENOMEM;
		}
	} else {
		rc = rc == SQLITE_DONE ? HN_ENOENT : store_fail(st, "bytes");
	}
	stmt_done(s);
	return rc;
}

int hn_store_get_vertex(struct hn_store *st, const uint8_t hash[32],
			struct hn_vertex **out)
{
	struct mc_entry *e = mc_find(st, hash);
	uint8_t *b;
	size_t n;
	int rc;

	if (e && e->bytes)
		return decode_stored(hash, e->bytes, e->len, out);
	if ((rc = hn_store_get_bytes(st, hash, &b, &n)) < 0)
		return rc;
	rc = decode_stored(hash, b, n, out);
	free(b);
	return rc;
}

int hn_store_get_spenders(struct hn_store *st, const uint8_t tx[32],
			  uint8_t index, struct hn_hash_list *out)
{
	sqlite3_stmt *s = st->stmt[S_SPENDERS];
	int64_t id;
	int rc = lookup_id(st, tx, &id, NULL, NULL);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int(s, 2, index);
	return load_list(st, s, out, "spenders");
}

int hn_store_get_children(struct hn_store *st, const uint8_t hash[32],
			  struct hn_hash_list *out)
{
	sqlite3_stmt *s = st->stmt[S_CHILDREN];
	int64_t id;
	int rc = lookup_id(st, hash, &id, NULL, NULL);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	return load_list(st, s, out, "children");
}

/* All spenders of any output of @hash (funds DAG, left to right). */
int hn_store_get_all_spenders(struct hn_store *st, const uint8_t hash[32],
			      struct hn_hash_list *out)
{
	sqlite3_stmt *s = st->stmt[S_SPENT_ALL];
	int64_t id;
	int rc = lookup_id(st, hash, &id, NULL, NULL);

	if (rc < 0)
		return rc;
	sqlite3_bind_int64(s, 1, id);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (hn_hash_list_push(out, sqlite3_column_blob(s, 1)) < 0) {
			stmt_done(s);
			return HN_ENOMEM;
		}
	}
	stmt_done(s);
	return rc == SQLITE_DONE ? 0 : store_fail(st, "spenders");
}

/* --- height index ------------------------------------------------------------ */

int hn_store_height_get(struct hn_store *st, uint64_t height,
			uint8_t hash[32])
{
	sqlite3_stmt *s = st->stmt[S_HEIGHT_GET];
	int rc;

	if (height > INT64_MAX)
		return HN_ENOENT;
	sqlite3_bind_int64(s, 1, (int64_t)height);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		memcpy(hash, sqlite3_column_blob(s, 0), 32);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? HN_ENOENT : store_fail(st, "height");
	}
	stmt_done(s);
	return rc;
}

int hn_store_height_set(struct hn_store *st, uint64_t height,
			const uint8_t hash[32], bool truncate_above)
{
	bool was_valid = st->best_valid;
	uint64_t top = st->best_height;
	sqlite3_stmt *s;
	int rc;

	st->best_valid = false;
	if (truncate_above) {
		s = st->stmt[S_HEIGHT_TRUNC];
		sqlite3_bind_int64(s, 1, (int64_t)height);
		if ((rc = step_done(st, s, "height truncate")) < 0)
			return rc;
	}
	st->best_valid = false;
	s = st->stmt[S_HEIGHT_SET];
	sqlite3_bind_int64(s, 1, (int64_t)height);
	bind_hash(s, 2, hash);
	if ((rc = step_done(st, s, "height set")) < 0)
		return rc;
	if (!sqlite3_changes(st->db))
		return HN_ENOENT;
	/* The top of the index: @height if nothing is above it. */
	if (truncate_above || (was_valid && height >= top)) {
		memcpy(st->best_hash, hash, 32);
		st->best_height = height;
		st->best_valid = true;
	} else if (was_valid) {
		st->best_valid = true;  /* below the top: top unchanged */
	}
	return 0;
}

int hn_store_best(struct hn_store *st, uint8_t hash[32], uint64_t *height)
{
	sqlite3_stmt *s = st->stmt[S_HEIGHT_TOP];
	int rc;

	if (st->best_valid) {
		memcpy(hash, st->best_hash, 32);
		if (height)
			*height = st->best_height;
		return 0;
	}
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		st->best_height = (uint64_t)sqlite3_column_int64(s, 0);
		memcpy(st->best_hash, sqlite3_column_blob(s, 1), 32);
		st->best_valid = true;
		if (height)
			*height = st->best_height;
		memcpy(hash, st->best_hash, 32);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? HN_ENOENT : store_fail(st, "best");
	}
	stmt_done(s);
	return rc;
}

/* --- tips ---------------------------------------------------------------- */

int hn_store_tips(struct hn_store *st, enum hn_tips_kind kind,
		  uint64_t timestamp, struct hn_tip_interval **out, size_t *n)
{
	sqlite3_stmt *s;
	size_t cap = 0, cnt = 0;
	struct hn_tip_interval *arr = NULL;
	int rc;

	if (timestamp >= (uint64_t)INT64_MAX) {
		s = st->stmt[S_TIPS_OPEN];
		sqlite3_bind_int(s, 1, kind);
	} else {
		s = st->stmt[S_TIPS_AT];
		sqlite3_bind_int(s, 1, kind);
		sqlite3_bind_int64(s, 2, (int64_t)timestamp);
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int64_t end = sqlite3_column_int64(s, 1);

		if (cnt == cap) {
			void *p;

			cap = cap ? cap * 2 : 8;
			p = realloc(arr, cap * sizeof(*arr));
			if (!p) {
				rc = SQLITE_NOMEM;
				break;
			}
			arr = p;
		}
		arr[cnt].begin = (uint64_t)sqlite3_column_int64(s, 0);
		arr[cnt].end = end == TIPS_INF ? UINT64_MAX : (uint64_t)end;
		memcpy(arr[cnt].hash, sqlite3_column_blob(s, 2), 32);
		cnt++;
	}
	stmt_done(s);
	if (rc != SQLITE_DONE) {
		free(arr);
		return rc == SQLITE_NOMEM ? HN_ENOMEM : store_fail(st, "tips");
	}
	*out = arr;
	*n = cnt;
	return 0;
}

int hn_store_mempool_set(struct hn_store *st, const uint8_t hash[32],
			 bool is_tip)
{
	sqlite3_stmt *s = st->stmt[S_MEMPOOL_SET];

	bind_hash(s, 1, hash);
	sqlite3_bind_int(s, 2, is_tip);
	return step_done(st, s, "mempool set");
}

int hn_store_mempool_refresh(struct hn_store *st, const uint8_t hash[32])
{
	sqlite3_stmt *s = st->stmt[S_MEMPOOL_REFRESH];

	bind_hash(s, 1, hash);
	return step_done(st, s, "mempool refresh");
}

int hn_store_mempool_tips(struct hn_store *st, struct hn_hash_list *out)
{
	return load_list(st, st->stmt[S_MEMPOOL_TIPS], out, "mempool tips");
}

int hn_store_mempool_all(struct hn_store *st, struct hn_hash_list *out)
{
	return load_list(st, st->stmt[S_MEMPOOL_ALL], out, "mempool");
}

/* --- timestamp order ----------------------------------------------------- */

int hn_store_range(struct hn_store *st, uint64_t timestamp, uint64_t offset,
		   size_t count, struct hn_hash_list *out, bool *has_next,
		   uint64_t *next_ts, uint64_t *next_off)
{
	sqlite3_stmt *s = st->stmt[S_RANGE];
	uint64_t nts = timestamp, noff = offset;
	size_t got = 0;
	int rc;

	/* Mirrors RocksDBTimestampIndex.get_hashes_and_next_idx. */
	if (timestamp > INT64_MAX || offset > INT64_MAX)
		return HN_EINVAL;
	sqlite3_bind_int64(s, 1, (int64_t)timestamp);
	sqlite3_bind_int64(s, 2, (int64_t)count);
	sqlite3_bind_int64(s, 3, (int64_t)offset);
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		uint64_t ts = (uint64_t)sqlite3_column_int64(s, 1);

		if (hn_hash_list_push(out, sqlite3_column_blob(s, 0)) < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
		got++;
		if (ts != nts) {
			noff = 1;
			nts = ts;
		} else {
			noff++;
		}
	}
	stmt_done(s);
	if (rc != SQLITE_DONE)
		return rc == SQLITE_NOMEM ? HN_ENOMEM : store_fail(st, "range");
	*has_next = got == count;
	*next_ts = nts;
	*next_off = noff;
	return 0;
}

int hn_store_newest(struct hn_store *st, bool blocks, uint64_t ts,
		    const uint8_t *hash, size_t count,
		    struct hn_hash_list *out, bool *has_more)
{
	sqlite3_stmt *s = st->stmt[hash ? S_NEWEST_FROM : S_NEWEST];
	size_t got = 0;
	int rc;

	sqlite3_bind_int(s, 1, blocks);
	sqlite3_bind_int64(s, 2, (int64_t)count + 1);
	if (hash) {
		sqlite3_bind_int64(s, 3, (int64_t)ts);
		bind_hash(s, 4, hash);
	}
	*has_more = false;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (got == count) {
			*has_more = true;       /* the extra row */
			continue;
		}
		if (hn_hash_list_push(out, sqlite3_column_blob(s, 0)) < 0) {
			rc = SQLITE_NOMEM;
			break;
		}
		got++;
	}
	stmt_done(s);
	if (rc != SQLITE_DONE)
		return rc == SQLITE_NOMEM ? HN_ENOMEM : store_fail(st, "newest");
	return 0;
}

int hn_store_timestamps(struct hn_store *st, uint64_t *first,
			uint64_t *latest)
{
	sqlite3_stmt *s = st->stmt[S_TS_FIRST];
	int rc = sqlite3_step(s);

	if (rc == SQLITE_ROW && first)
		*first = (uint64_t)sqlite3_column_int64(s, 0);
	stmt_done(s);
	if (rc != SQLITE_ROW)
		return store_fail(st, "first timestamp");
	s = st->stmt[S_TS_LATEST];
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW && latest)
		*latest = (uint64_t)sqlite3_column_int64(s, 0);
	stmt_done(s);
	if (rc != SQLITE_ROW)
		return store_fail(st, "latest timestamp");
	return 0;
}

int hn_store_counts(struct hn_store *st, uint64_t *n_blocks, uint64_t *n_txs)
{
	sqlite3_stmt *s = st->stmt[S_COUNTERS];
	int rc;

	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0);
		uint64_t v = (uint64_t)sqlite3_column_int64(s, 1);

		if (!strcmp(name, "blocks") && n_blocks)
			*n_blocks = v;
		else if (!strcmp(name, "txs") && n_txs)
			*n_txs = v;
	}
	stmt_done(s);
	return rc == SQLITE_DONE ? 0 : store_fail(st, "counts");
}

int hn_store_token_get(struct hn_store *st, const uint8_t uid[32],
		       struct hn_token_info *out)
{
	sqlite3_stmt *s = st->stmt[S_TOKEN_GET];
	int rc;

	bind_hash(s, 1, uid);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		memcpy(out->uid, uid, 32);
		snprintf(out->name, sizeof(out->name), "%s",
			 (const char *)sqlite3_column_text(s, 0));
		snprintf(out->symbol, sizeof(out->symbol), "%s",
			 (const char *)sqlite3_column_text(s, 1));
		out->version = (uint8_t)sqlite3_column_int(s, 2);
		rc = 0;
	} else {
		rc = rc == SQLITE_DONE ? HN_ENOENT : store_fail(st, "token");
	}
	stmt_done(s);
	return rc;
}

/* --- consistency ------------------------------------------------------------ */

/* Each query returns one integer: the number of violations. */
static const struct {
	const char *what;
	const char *sql;
} checks[] = {
	{ "height index entry without its block",
	  "SELECT COUNT(*) FROM height h LEFT JOIN vertex v ON v.id = h.block"
	  " WHERE v.id IS NULL OR v.is_block = 0 OR v.height != h.height" },
	{ "height index has gaps",
	  "SELECT (SELECT COUNT(*) FROM height) -"
	  " (SELECT IFNULL(MAX(height), -1) + 1 FROM height)" },
	{ "voided block in the height index",
	  "SELECT COUNT(*) FROM height h JOIN vertex v ON v.id = h.block"
	  " WHERE v.voided_by IS NOT NULL" },
	{ "height index chain broken",
	  "SELECT COUNT(*) FROM height a JOIN height b"
	  " ON b.height = a.height + 1 WHERE NOT EXISTS (SELECT 1 FROM edge e"
	  " WHERE e.parent = a.block AND e.child = b.block)" },
	{ "vertex without bytes",
	  "SELECT COUNT(*) FROM vertex v LEFT JOIN vbytes b ON b.id = v.id"
	  " WHERE b.id IS NULL" },
	{ "bytes without vertex",
	  "SELECT COUNT(*) FROM vbytes b LEFT JOIN vertex v ON v.id = b.id"
	  " WHERE v.id IS NULL" },
	{ "edge to a missing vertex",
	  "SELECT COUNT(*) FROM edge e WHERE NOT EXISTS (SELECT 1 FROM vertex"
	  " WHERE id = e.parent) OR NOT EXISTS (SELECT 1 FROM vertex"
	  " WHERE id = e.child)" },
	{ "spent row to a missing vertex",
	  "SELECT COUNT(*) FROM spent s WHERE NOT EXISTS (SELECT 1 FROM vertex"
	  " WHERE id = s.tx) OR NOT EXISTS (SELECT 1 FROM vertex"
	  " WHERE id = s.spender)" },
	{ "tips row to a missing vertex",
	  "SELECT COUNT(*) FROM tips t LEFT JOIN vertex v ON v.id = t.vid"
	  " WHERE v.id IS NULL" },
	{ "vertex missing from all_tips",
	  "SELECT COUNT(*) FROM vertex v WHERE NOT EXISTS (SELECT 1 FROM tips"
	  " t WHERE t.kind = 0 AND t.vid = v.id)" },
	{ "voided vertex in block/tx tips",
	  "SELECT COUNT(*) FROM tips t JOIN vertex v ON v.id = t.vid"
	  " WHERE t.kind != 0 AND v.voided_by IS NOT NULL" },
	{ "valid vertex missing from block/tx tips",
	  "SELECT COUNT(*) FROM vertex v WHERE v.voided_by IS NULL AND NOT"
	  " EXISTS (SELECT 1 FROM tips t WHERE t.vid = v.id"
	  " AND t.kind = 2 - v.is_block)" },
	{ "mempool tip that is not in the mempool",
	  "SELECT COUNT(*) FROM vertex WHERE mempool_tip = 1 AND (is_block = 1"
	  " OR first_block IS NOT NULL OR voided_by IS NOT NULL)" },
	{ "mempool tip flag differs from its definition",
	  "SELECT COUNT(*) FROM vertex WHERE mempool_tip != (is_block = 0"
	  " AND first_block IS NULL AND voided_by IS NULL AND NOT EXISTS"
	  " (SELECT 1 FROM edge e JOIN vertex c ON c.id = e.child"
	  " WHERE e.parent = vertex.id AND c.voided_by IS NULL)"
	  " AND NOT EXISTS (SELECT 1 FROM spent s JOIN vertex c"
	  " ON c.id = s.spender WHERE s.tx = vertex.id"
	  " AND c.voided_by IS NULL))" },
	{ "tips interval end is not its earliest indexed child",
	  "SELECT COUNT(*) FROM tips t WHERE t.end != IFNULL((SELECT"
	  " MIN(c.timestamp) FROM edge e JOIN vertex c ON c.id = e.child"
	  " JOIN tips u ON u.kind = t.kind AND u.vid = e.child"
	  " WHERE e.parent = t.vid), 9223372036854775807)" },
	{ "block counter differs from the rows",
	  "SELECT (SELECT value FROM counter WHERE name = 'blocks') -"
	  " (SELECT COUNT(*) FROM vertex WHERE is_block = 1)" },
	{ "tx counter differs from the rows",
	  "SELECT (SELECT value FROM counter WHERE name = 'txs') -"
	  " (SELECT COUNT(*) FROM vertex WHERE is_block = 0)" },
	{ "first_block names a missing vertex",
	  "SELECT COUNT(*) FROM vertex v WHERE v.first_block IS NOT NULL AND"
	  " NOT EXISTS (SELECT 1 FROM vertex b WHERE b.hash = v.first_block"
	  " AND b.is_block = 1)" },
	{ "vertex without parents other than the genesis",
	  "SELECT 3 - COUNT(*) FROM vertex v WHERE v.id NOT IN"
	  " (SELECT child FROM edge)" },
};

int hn_store_synchronous(struct hn_store *st)
{
	sqlite3_stmt *s;
	int rc = HN_EIO;

	if (sqlite3_prepare_v2(st->db, "PRAGMA synchronous", -1, &s,
			       NULL) != SQLITE_OK)
		return HN_EIO;
	if (sqlite3_step(s) == SQLITE_ROW)
		rc = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	return rc;
}

int hn_store_check(struct hn_store *st, struct hn_error *err)
{
	sqlite3_stmt *s;
	int rc;

	if (sqlite3_prepare_v2(st->db, "PRAGMA integrity_check", -1, &s,
			       NULL) != SQLITE_OK)
		return hn_error_set(err, HN_EIO, "integrity_check: %s",
				    sqlite3_errmsg(st->db));
	rc = sqlite3_step(s);
	if (rc != SQLITE_ROW ||
	    strcmp((const char *)sqlite3_column_text(s, 0), "ok")) {
		hn_error_set(err, HN_EIO, "%s: integrity_check: %s", st->path,
			     rc == SQLITE_ROW ?
			     (const char *)sqlite3_column_text(s, 0) :
			     sqlite3_errmsg(st->db));
		sqlite3_finalize(s);
		return HN_EIO;
	}
	sqlite3_finalize(s);
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		int64_t bad;

		if (sqlite3_prepare_v2(st->db, checks[i].sql, -1, &s, NULL) !=
		    SQLITE_OK)
			return hn_error_set(err, HN_EIO, "check '%s': %s",
					    checks[i].what,
					    sqlite3_errmsg(st->db));
		rc = sqlite3_step(s);
		bad = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
		sqlite3_finalize(s);
		if (bad != 0)
			return hn_error_set(err, HN_EIO, "%s: %s (%lld)",
					    st->path, checks[i].what,
					    (long long)bad);
	}
	return 0;
}

/* --- feature activation rows ------------------------------------------- */

int hn_store_fa_get(struct hn_store *st, const uint8_t hash[32],
		    struct hn_store_fa *out)
{
	sqlite3_stmt *s = st->fa_get;
	const uint8_t *b;
	int rc;

	if (!s)
		return HN_ENOENT;
	bind_hash(s, 1, hash);
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		out->height = (uint64_t)sqlite3_column_int64(s, 0);
		out->states = (uint64_t)sqlite3_column_int64(s, 1);
		b = sqlite3_column_blob(s, 2);
		if (!b || sqlite3_column_bytes(s, 2) != 32) {
			rc = HN_EIO;
			hn_err(COMP, "feature_block: malformed counts");
		} else {
			for (int i = 0; i < 8; i++)
				out->counts[i] = (uint32_t)b[4 * i] |
					(uint32_t)b[4 * i + 1] << 8 |
					(uint32_t)b[4 * i + 2] << 16 |
					(uint32_t)b[4 * i + 3] << 24;
			rc = 0;
		}
	} else {
		rc = rc == SQLITE_DONE ? HN_ENOENT :
		     store_fail(st, "feature_block");
	}
	stmt_done(s);
	return rc;
}

int hn_store_fa_put(struct hn_store *st, const uint8_t hash[32],
		    const struct hn_store_fa *in)
{
	sqlite3_stmt *s = st->fa_put;
	uint8_t b[32];

	if (!s || st->readonly)
		return 0;
	for (int i = 0; i < 8; i++) {
		b[4 * i] = (uint8_t)in->counts[i];
		b[4 * i + 1] = (uint8_t)(in->counts[i] >> 8);
		b[4 * i + 2] = (uint8_t)(in->counts[i] >> 16);
		b[4 * i + 3] = (uint8_t)(in->counts[i] >> 24);
	}
	bind_hash(s, 1, hash);
	sqlite3_bind_int64(s, 2, (int64_t)in->height);
	sqlite3_bind_int64(s, 3, (int64_t)in->states);
	sqlite3_bind_blob(s, 4, b, 32, SQLITE_STATIC);
	return step_done(st, s, "feature_block");
}

int hn_store_fa_key(struct hn_store *st, const char *key)
{
	char val[128];
	bool had;
	int rc;

	if (!st->fa_put || st->readonly)
		return 0;
	had = meta_get(st, "feature_key", val, sizeof(val)) == 0;
	if (had && !strcmp(val, key))
		return 0;
	if ((rc = hn_store_begin(st)) < 0)
		return rc;
	if (sqlite3_exec(st->db, "DELETE FROM feature_block", NULL, NULL,
			 NULL) != SQLITE_OK ||
	    meta_put(st, "feature_key", key) < 0) {
		store_fail(st, "feature_key");
		hn_store_rollback(st);
		return HN_EIO;
	}
	if ((rc = hn_store_commit(st)) < 0)
		return rc;
	if (had)
		hn_info(COMP, "%s: feature table changed (%s, was %s): feature "
			"rows dropped, recomputed from now on", st->path, key,
			val);
	return 0;
}

int hn_store_fa_count(struct hn_store *st, uint64_t *n)
{
	sqlite3_stmt *s;
	int rc;

	*n = 0;
	if (!st->fa_get)
		return 0;
	if (sqlite3_prepare_v2(st->db, "SELECT count(*) FROM feature_block",
			       -1, &s, NULL) != SQLITE_OK)
		return store_fail(st, "feature_block count");
	rc = sqlite3_step(s) == SQLITE_ROW ? 0 : HN_EIO;
	if (rc == 0)
		*n = (uint64_t)sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc;
}
