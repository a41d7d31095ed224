/*
 * plugin_load.c: the plugin loader.  dlopen(RTLD_NOW|RTLD_LOCAL), find the
 * one entry symbol, check the descriptor it returns, refuse with one line
 * naming the file, both ABI versions where known, the reason and a hint.
 *
 * Invariant: on every refusal the object is dlclose'd again before
 * returning, so a refused build never stays mapped (except what glibc
 * itself pins, which only happens for objects that were already loaded).
 */
#include "hn/plugin_load.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hn/err.h"

#ifndef HN_VERSION
#define HN_VERSION "0"
#endif

struct hn_plugin {
	void *dl;                       /* dlopen handle */
	char *path;                     /* as given */
	char *loaded_path;              /* what dlopen saw (copy or path) */
	const struct hathor_plugin_desc *desc;
};

/* The smallest p2p table this host accepts (ABI 1.0's). */
#define P2P_OPS_MIN_SIZE                                                \
	(offsetof(struct hathor_p2p_ops, on_event) +                    \
	 sizeof(((struct hathor_p2p_ops *)0)->on_event))

HN_PRINTF(5, 6)
static int refuse(char *err, size_t errlen, const char *path, int code,
		  const char *fmt, ...)
{
	char why[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (err && errlen)
		snprintf(err, errlen, "plugin \"%s\" refused: %s", path, why);
	return code;
}

const char *hn_plugin_kind_name(uint32_t kind)
{
	switch (kind) {
	case HATHOR_KIND_P2P:
		return "p2p";
	case HATHOR_KIND_METRICS:
		return "metrics";
	case HATHOR_KIND_OTHER:
		return "other";
	}
	return "unknown";
}

static bool name_ok(const char *s)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++, n++) {
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || *s == '-'))
			return false;
	}
	return n < 64;
}

static bool version_ok(const char *s)
{
	size_t n = 0;

	if (!s || !*s)
		return false;
	for (; *s; s++, n++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return n < 64;
}

/* Copies @src to a fresh file in @dir; *@out is its malloc'd path. */
static int copy_private(const char *src, const char *dir, unsigned gen,
			char **out)
{
	const char *base = strrchr(src, '/');
	char buf[65536];
	char *dst;
	int in = -1, fd = -1, rc = HN_EIO;
	ssize_t n;

	base = base ? base + 1 : src;
	if (asprintf(&dst, "%s/.%s.%ld.%u.so", dir, base, (long)getpid(),
		     gen) < 0)
		return HN_ENOMEM;
	in = open(src, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		goto out;
	unlink(dst);    /* a stale copy of a dead process with our pid */
	fd = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0700);
	if (fd < 0)
		goto out;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		char *p = buf;

		while (n > 0) {
			ssize_t w = write(fd, p, (size_t)n);

			if (w <= 0)
				goto out;
			p += w;
			n -= w;
		}
	}
	if (n < 0)
		goto out;
	if (close(fd) < 0) {
		fd = -1;
		goto out;
	}
	fd = -1;
	rc = 0;
out:
	if (in >= 0)
		close(in);
	if (fd >= 0)
		close(fd);
	if (rc < 0) {
		unlink(dst);
		free(dst);
	} else {
		*out = dst;
	}
	return rc;
}

/* Checks the descriptor; returns 0 or a refusal. */
static int check_desc(const struct hathor_plugin_desc *d, const char *path,
		      const struct hn_plugin_open_opts *o, char *err,
		      size_t errlen)
{
	const struct hathor_p2p_ops *p2p;
	size_t i;

	if (!d)
		return refuse(err, errlen, path, HN_EINVAL,
			      "hathor_plugin_entry() returned NULL; hint: "
			      "define the plugin with HATHOR_PLUGIN()");
	if (d->abi_major != HATHOR_ABI_MAJOR)
		return refuse(err, errlen, path, HN_EABI,
			      "built for plugin ABI %u.%u, this hathor-node "
			      "%s supports ABI %u.%u (major versions differ); "
			      "hint: rebuild the plugin against the hathor-node "
			      "%s plugin SDK",
			      d->abi_major, d->abi_minor, HN_VERSION,
			      HATHOR_ABI_MAJOR, HATHOR_ABI_MINOR, HN_VERSION);
	if (d->abi_minor > HATHOR_ABI_MINOR)
		return refuse(err, errlen, path, HN_EABI,
			      "built for plugin ABI %u.%u, this hathor-node "
			      "%s supports ABI %u.%u (the plugin is newer); "
			      "hint: upgrade hathor-node or rebuild the plugin "
			      "against the %s SDK",
			      d->abi_major, d->abi_minor, HN_VERSION,
			      HATHOR_ABI_MAJOR, HATHOR_ABI_MINOR, HN_VERSION);
	if (d->struct_size < HATHOR_PLUGIN_DESC_MIN_SIZE)
		return refuse(err, errlen, path, HN_EABI,
			      "descriptor is %u bytes, ABI %u.%u needs at least "
			      "%zu (plugin says ABI %u.%u); hint: the build is "
			      "corrupt or not made with HATHOR_PLUGIN()",
			      d->struct_size, HATHOR_ABI_MAJOR,
			      HATHOR_ABI_MINOR,
			      (size_t)HATHOR_PLUGIN_DESC_MIN_SIZE,
			      d->abi_major, d->abi_minor);
	if (!name_ok(d->name))
		return refuse(err, errlen, path, HN_EINVAL,
			      "invalid plugin name (want 1-63 of [a-z0-9_-]); "
			      "hint: fix the first argument of HATHOR_PLUGIN()");
	if (!version_ok(d->version))
		return refuse(err, errlen, path, HN_EINVAL,
			      "plugin '%s' has no valid version string; hint: "
			      "fix the third argument of HATHOR_PLUGIN()",
			      d->name);
	if (!d->init || !d->destroy)
		return refuse(err, errlen, path, HN_EINVAL,
			      "plugin '%s' %s has no %s function; hint: "
			      "init and destroy are required",
			      d->name, d->version, d->init ? "destroy" : "init");
	switch (d->kind) {
	case HATHOR_KIND_P2P:
		p2p = d->kind_ops;
		if (!p2p || p2p->size < P2P_OPS_MIN_SIZE)
			return refuse(err, errlen, path, HN_EABI,
				      "p2p plugin '%s' %s has %s (need at least "
				      "%zu bytes for ABI %u.%u); hint: pass a "
				      "struct hathor_p2p_ops to "
				      "HATHOR_PLUGIN_OPS()",
				      d->name, d->version,
				      p2p ? "a too small handler table"
					  : "no handler table",
				      (size_t)P2P_OPS_MIN_SIZE,
				      HATHOR_ABI_MAJOR, HATHOR_ABI_MINOR);
		if (!p2p->start || !p2p->stop || !p2p->get_connections ||
		    !p2p->enable_localhost_only || !p2p->has_synced_peer ||
		    !p2p->send_tx_to_peers ||
		    !p2p->reload_entrypoints_and_connections ||
		    !p2p->enable_sync_version || !p2p->add_peer_discovery ||
		    !p2p->add_listen_address_description ||
		    !p2p->disconnect_all_peers || !p2p->status)
			return refuse(err, errlen, path, HN_EINVAL,
				      "p2p plugin '%s' %s lacks a required "
				      "handler (all but on_event are required)",
				      d->name, d->version);
		break;
	case HATHOR_KIND_METRICS:
	case HATHOR_KIND_OTHER:
		break;
	default:
		return refuse(err, errlen, path, HN_EINVAL,
			      "plugin '%s' %s has unknown kind %u (ABI %u.%u "
			      "knows 1-3)", d->name, d->version, d->kind,
			      HATHOR_ABI_MAJOR, HATHOR_ABI_MINOR);
	}
	if (o && o->want_kind && d->kind != o->want_kind)
		return refuse(err, errlen, path, HN_EINVAL,
			      "plugin '%s' %s is a %s plugin, a %s plugin is "
			      "needed here", d->name, d->version,
			      hn_plugin_kind_name(d->kind),
			      hn_plugin_kind_name(o->want_kind));
	for (i = 0; o && i < o->n_taken; i++)
		if (o->taken_names[i] && strcmp(o->taken_names[i],
						d->name) == 0)
			return refuse(err, errlen, path, HN_EEXIST,
				      "a plugin named '%s' is already loaded "
				      "in this process; hint: unload it first "
				      "or use reload", d->name);
	return 0;
}

/* dlclose, then true if really unmapped. */
static bool dl_unload(void *dl, const char *loaded_path)
{
	void *again;

	dlclose(dl);
	again = dlopen(loaded_path, RTLD_NOW | RTLD_NOLOAD);
	if (!again)
		return true;
	dlclose(again);
	return false;
}

int hn_plugin_open(const char *path, const struct hn_plugin_open_opts *o,
		   struct hn_plugin **out, char *err, size_t errlen)
{
	const struct hathor_plugin_desc *desc;
	hathor_plugin_entry_fn entry;
	struct hn_plugin *p;
	char *copy = NULL;
	const char *dlpath;
	struct stat st;
	void *dl;
	int rc;

	if (err && errlen)
		err[0] = '\0';
	if (!path || !*path)
		return refuse(err, errlen, "", HN_EINVAL, "empty path");
	if (!strchr(path, '/'))
		return refuse(err, errlen, path, HN_EINVAL,
			      "not a path; hint: give the file as ./%s or an "
			      "absolute path (no library search is done)",
			      path);
	if (stat(path, &st) < 0)
		return refuse(err, errlen, path,
			      errno == ENOENT ? HN_ENOENT : HN_EIO,
			      "cannot stat: %s", strerror(errno));
	if (!S_ISREG(st.st_mode))
		return refuse(err, errlen, path, HN_EPARSE,
			      "not a regular file");
	dlpath = path;
	if (o && o->copy_dir) {
		rc = copy_private(path, o->copy_dir, o->gen, &copy);
		if (rc < 0)
			return refuse(err, errlen, path, rc,
				      "cannot make a private copy in \"%s\": "
				      "%s", o->copy_dir, strerror(errno));
		dlpath = copy;
	}
	dlerror();
	dl = dlopen(dlpath, RTLD_NOW | RTLD_LOCAL);
	if (copy)
		unlink(copy);   /* the mapping stays valid */
	if (!dl) {
		const char *e = dlerror();

		rc = refuse(err, errlen, path, HN_EPARSE,
			    "not a loadable shared object: %s; hint: build it "
			    "as a MODULE library against the hathor-node %s "
			    "SDK (plugin ABI %u.%u) with -Wl,-z,defs",
			    e ? e : "unknown dlopen error", HN_VERSION,
			    HATHOR_ABI_MAJOR, HATHOR_ABI_MINOR);
		free(copy);
		return rc;
	}
	dlerror();
	entry = (hathor_plugin_entry_fn)dlsym(dl, HATHOR_PLUGIN_ENTRY_SYMBOL);
	if (!entry) {
		rc = refuse(err, errlen, path, HN_EPARSE,
			    "no entry symbol '%s' (not a hathor-node plugin, "
			    "or built without HATHOR_PLUGIN()); this process "
			    "supports plugin ABI %u.%u; hint: define the "
			    "plugin with HATHOR_PLUGIN() and export only that "
			    "symbol", HATHOR_PLUGIN_ENTRY_SYMBOL,
			    HATHOR_ABI_MAJOR, HATHOR_ABI_MINOR);
		goto fail;
	}
	desc = entry();
	rc = check_desc(desc, path, o, err, errlen);
	if (rc < 0)
		goto fail;
	p = calloc(1, sizeof(*p));
	if (!p || !(p->path = strdup(path)) ||
	    !(p->loaded_path = strdup(dlpath))) {
		if (p)
			free(p->path);
		free(p);
		rc = refuse(err, errlen, path, HN_ENOMEM, "out of memory");
		goto fail;
	}
	p->dl = dl;
	p->desc = desc;
	free(copy);
	*out = p;
	return 0;
fail:
	dl_unload(dl, dlpath);
	free(copy);
	return rc;
}

const struct hathor_plugin_desc *hn_plugin_desc(const struct hn_plugin *p)
{
	return p->desc;
}

const char *hn_plugin_path(const struct hn_plugin *p)
{
	return p->path;
}

const struct hathor_p2p_ops *hn_plugin_p2p_ops(const struct hn_plugin *p)
{
	if (p->desc->kind != HATHOR_KIND_P2P)
		return NULL;
	return p->desc->kind_ops;
}

bool hn_plugin_close(struct hn_plugin *p)
{
	bool gone;

	if (!p)
		return true;
	gone = dl_unload(p->dl, p->loaded_path);
	free(p->path);
	free(p->loaded_path);
	free(p);
	return gone;
}

int hn_plugin_check(const char *path, uint32_t want_kind,
		    struct hn_plugin_info *info, char *err, size_t errlen)
{
	struct hn_plugin_open_opts o = { .want_kind = want_kind };
	const struct hathor_plugin_desc *d;
	struct hn_plugin *p;
	int rc;

	rc = hn_plugin_open(path, &o, &p, err, errlen);
	if (rc < 0)
		return rc;
	d = hn_plugin_desc(p);
	if (info) {
		memset(info, 0, sizeof(*info));
		snprintf(info->name, sizeof(info->name), "%s", d->name);
		snprintf(info->version, sizeof(info->version), "%s",
			 d->version);
		info->kind = d->kind;
		info->abi_major = d->abi_major;
		info->abi_minor = d->abi_minor;
	}
	hn_plugin_close(p);
	return 0;
}

/* hn/plugin_load.h */
int hn_plugin_snapshot(const char *path)
{
	char buf[65536];
	int in = open(path, O_RDONLY | O_CLOEXEC), fd;
	ssize_t n = 0, w;

	if (in < 0)
		return -1;
	fd = memfd_create("hathor-plugin", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd < 0)
		return in;
	while ((n = read(in, buf, sizeof(buf))) > 0) {
		for (char *q = buf; n > 0; q += w, n -= w) {
			if ((w = write(fd, q, (size_t)n)) <= 0) {
				n = -1;
				break;
			}
		}
		if (n < 0)
			break;
	}
	if (n < 0) {
		close(fd);
		return in;
	}
	close(in);
	fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE |
	      F_SEAL_SEAL);
	return fd;
}
