/*
 * tk_vfile.c: the vertex file (tk.h, docs/tools.md) and its import into a
 * ledger.
 */
#include "tk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hn/err.h"
#include "hn/hex.h"
#include "hn/network.h"
#include "hn/vertex.h"
#include "ledger.h"

int tk_vfile_create(struct tk_vfile_writer *w, const char *path,
		    const char *network, struct hn_error *err)
{
	size_t nl = strlen(network);

	memset(w, 0, sizeof(*w));
	if (nl == 0 || nl > 255)
		return hn_error_set(err, HN_EINVAL, "bad network name");
	w->f = fopen(path, "wb");
	if (!w->f)
		return hn_error_set(err, HN_EIO, "%s: %s", path,
				    strerror(errno));
	fwrite(TK_VFILE_MAGIC, 1, 8, w->f);
	fputc((int)nl, w->f);
	fwrite(network, 1, nl, w->f);
	return 0;
}

int tk_vfile_write(struct tk_vfile_writer *w, const uint8_t *bytes,
		   size_t len, struct hn_error *err)
{
	uint8_t hdr[4] = { (uint8_t)(len >> 24), (uint8_t)(len >> 16),
			   (uint8_t)(len >> 8), (uint8_t)len };

	if (len == 0 || len > HN_MAX_VERTEX_SIZE)
		return hn_error_set(err, HN_EINVAL, "bad vertex size %zu",
				    len);
	if (fwrite(hdr, 1, 4, w->f) != 4 ||
	    fwrite(bytes, 1, len, w->f) != len)
		return hn_error_set(err, HN_EIO, "write: %s",
				    strerror(errno));
	w->n++;
	return 0;
}

int tk_vfile_close(struct tk_vfile_writer *w, struct hn_error *err)
{
	int bad;

	if (!w->f)
		return 0;
	bad = ferror(w->f);
	bad |= fclose(w->f);
	w->f = NULL;
	if (bad)
		return hn_error_set(err, HN_EIO, "write error");
	return 0;
}

int tk_vfile_open(struct tk_vfile_reader *r, const char *path,
		  struct hn_error *err)
{
	char magic[8];
	int nl;

	memset(r, 0, sizeof(*r));
	r->f = fopen(path, "rb");
	if (!r->f)
		return hn_error_set(err, HN_EIO, "%s: %s", path,
				    strerror(errno));
	r->buf = malloc(HN_MAX_VERTEX_SIZE);
	if (!r->buf) {
		tk_vfile_close_reader(r);
		return hn_error_set(err, HN_ENOMEM, "out of memory");
	}
	if (fread(magic, 1, 8, r->f) != 8 ||
	    memcmp(magic, TK_VFILE_MAGIC, 8) || (nl = fgetc(r->f)) <= 0 ||
	    fread(r->network, 1, (size_t)nl, r->f) != (size_t)nl) {
		tk_vfile_close_reader(r);
		return hn_error_set(err, HN_EPARSE, "%s: not a vertex file",
				    path);
	}
	r->network[nl] = 0;
	return 0;
}

int tk_vfile_next(struct tk_vfile_reader *r, const uint8_t **bytes,
		  size_t *len, struct hn_error *err)
{
	uint8_t hdr[4];
	size_t got = fread(hdr, 1, 4, r->f), n;

	if (got == 0 && feof(r->f))
		return 0;
	if (got != 4)
		goto short_read;
	n = (size_t)hdr[0] << 24 | (size_t)hdr[1] << 16 |
		(size_t)hdr[2] << 8 | hdr[3];
	if (n == 0 || n > HN_MAX_VERTEX_SIZE)
		return hn_error_set(err, HN_EPARSE, "record %llu: bad length "
				    "%zu", (unsigned long long)r->n, n);
	if (fread(r->buf, 1, n, r->f) != n)
		goto short_read;
	r->n++;
	*bytes = r->buf;
	*len = n;
	return 1;
short_read:
	if (ferror(r->f))
		return hn_error_set(err, HN_EIO, "read: %s", strerror(errno));
	return hn_error_set(err, HN_EPARSE, "record %llu: truncated",
			    (unsigned long long)r->n);
}

void tk_vfile_close_reader(struct tk_vfile_reader *r)
{
	if (r->f)
		fclose(r->f);
	free(r->buf);
	memset(r, 0, sizeof(*r));
}

int tk_import_file(struct hn_ledger *l, const char *path, unsigned batch,
		   uint64_t *n_added, struct hn_error *err)
{
	const struct hn_network *net = hn_ledger_network(l);
	struct tk_vfile_reader r;
	unsigned in_batch = 0;
	int rc, end;

	if (n_added)
		*n_added = 0;
	if (!batch)
		batch = 500;
	if ((rc = tk_vfile_open(&r, path, err)) < 0)
		return rc;
	if (strcmp(r.network, net->name)) {
		hn_error_set(err, HN_EINVAL, "%s is for network %s, the ledger "
			     "is %s", path, r.network, net->name);
		tk_vfile_close_reader(&r);
		return HN_EINVAL;
	}
	for (;;) {
		struct hn_ledger_result res;
		const uint8_t *b;
		size_t n;

		rc = tk_vfile_next(&r, &b, &n, err);
		if (rc <= 0)
			break;
		if (in_batch == 0 && (rc = hn_ledger_batch_begin(l)) < 0) {
			hn_error_set(err, rc, "batch begin failed");
			break;
		}
		rc = hn_ledger_add_vertex(l, b, n, HN_ADD_QUIET, &res);
		if (rc < 0 && rc != HN_EEXIST) {
			char hex[65] = "?";

			if (res.decoded)
				hn_hex_encode(res.hash, 32, hex);
			hn_error_set(err, rc, "record %llu (%s) refused: %s",
				     (unsigned long long)r.n, hex, res.msg);
			break;
		}
		rc = 0;
		if (n_added)
			(*n_added)++;
		if (++in_batch >= batch) {
			in_batch = 0;
			if ((rc = hn_ledger_batch_end(l)) < 0) {
				hn_error_set(err, rc, "batch commit failed");
				break;
			}
		}
	}
	if (in_batch) {
		end = hn_ledger_batch_end(l);
		if (rc == 0 && end < 0)
			rc = hn_error_set(err, end, "batch commit failed");
	}
	tk_vfile_close_reader(&r);
	return rc;
}

int tk_open_data_dir(const char *dir, const struct hn_network *net,
		     bool create, bool must_be_new, struct hn_ledger **out,
		     struct hn_error *err)
{
	struct hn_ledger_opts o = { 0 };
	char path[4096];
	int rc;

	if (create && mkdir(dir, 0700) < 0 && errno != EEXIST)
		return hn_error_set(err, HN_EIO, "%s: %s", dir,
				    strerror(errno));
	if ((size_t)snprintf(path, sizeof(path), "%s/ledger.db", dir) >=
	    sizeof(path))
		return hn_error_set(err, HN_EINVAL, "data dir path too long");
	if (must_be_new && access(path, F_OK) == 0)
		return hn_error_set(err, HN_EEXIST, "%s already exists", path);
	o.db_path = path;
	o.net = net;
	o.create = create;
	rc = hn_ledger_open(&o, out, err);
	return rc < 0 ? rc : 0;
}

int tk_lock_data_dir(const char *dir, int *fd, struct hn_error *err)
{
	char path[4096], buf[32];
	ssize_t n;
	int f;

	*fd = -1;
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return hn_error_set(err, HN_EIO, "%s: %s", dir,
				    strerror(errno));
	if ((size_t)snprintf(path, sizeof(path), "%s/LOCK", dir) >=
	    sizeof(path))
		return hn_error_set(err, HN_EINVAL, "data dir path too long");
	f = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (f < 0)
		return hn_error_set(err, HN_EIO, "cannot open %s: %s", path,
				    strerror(errno));
	if (flock(f, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		n = pread(f, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = 0;
		buf[strcspn(buf, "\n")] = 0;
		close(f);
		if (e == EWOULDBLOCK)
			return hn_error_set(err, HN_EEXIST, "data dir %s is in "
					    "use (pid %s holds %s)", dir,
					    buf[0] ? buf : "?", path);
		return hn_error_set(err, HN_EIO, "cannot lock %s: %s", path,
				    strerror(e));
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	if (ftruncate(f, 0) < 0 || pwrite(f, buf, (size_t)n, 0) != n) {
		close(f);
		return hn_error_set(err, HN_EIO, "cannot write %s", path);
	}
	*fd = f;
	return 0;
}
