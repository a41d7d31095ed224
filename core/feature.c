/*
 * feature.c: the feature-activation state machine (core/feature.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "daa.h"
#include "feature.h"
#include "store.h"

#include "hn/err.h"
#include "hn/network.h"
#include "hn/vertex.h"

/* Records cached by hash, direct-mapped (a record never changes). */
#define FA_CACHE 4096                   /* power of two */

struct cent {
	uint8_t hash[32];
	struct hn_fa_rec r;
	bool used;
};

struct hn_fa {
	const struct hn_network *net;
	struct hn_fa_source src;
	struct cent *cache;
	uint64_t reads;
	int daa_idx;            /* REDUCE_DAA_TARGET, -1: none */
	uint64_t daa_lb;        /* lowest height it can be ACTIVE at */
};

const char *hn_feature_state_name(enum hn_feature_state s)
{
	static const char *const n[] = {
		[HN_FS_DEFINED] = "DEFINED",
		[HN_FS_STARTED] = "STARTED",
		[HN_FS_MUST_SIGNAL] = "MUST_SIGNAL",
		[HN_FS_LOCKED_IN] = "LOCKED_IN",
		[HN_FS_ACTIVE] = "ACTIVE",
		[HN_FS_FAILED] = "FAILED",
	};

	return (unsigned)s <= HN_FS_FAILED ? n[s] : "?";
}

struct hn_fa *hn_fa_new_src(const struct hn_network *net,
			    const struct hn_fa_source *src)
{
	struct hn_fa *fa = calloc(1, sizeof(*fa));

	if (!fa || !(fa->cache = calloc(FA_CACHE, sizeof(*fa->cache)))) {
		free(fa);
		return NULL;
	}
	fa->net = net;
	fa->src = *src;
	fa->daa_idx = hn_fa_feature_index(net, "REDUCE_DAA_TARGET");
	if (fa->daa_idx >= 0) {
		const struct hn_feature *f = &net->features[fa->daa_idx];
		uint64_t I = net->feature_evaluation_interval ?
			     net->feature_evaluation_interval : 1;
		/* STARTED at the first boundary >= start_height, LOCKED_IN
		 * one interval later at the earliest, ACTIVE one more. */
		uint64_t s0 = (f->start_height + I - 1) / I * I;

		fa->daa_lb = s0 + 2 * I;
		if (fa->daa_lb < f->minimum_activation_height)
			fa->daa_lb = f->minimum_activation_height;
	}
	return fa;
}

struct hn_fa *hn_fa_new(const struct hn_network *net, hn_fa_get_fn get,
			void *arg)
{
	struct hn_fa_source src = { .get = get, .arg = arg };

	return hn_fa_new_src(net, &src);
}

void hn_fa_free(struct hn_fa *fa)
{
	if (!fa)
		return;
	free(fa->cache);
	free(fa);
}

uint64_t hn_fa_reads(const struct hn_fa *fa)
{
	return fa->reads;
}

void hn_fa_net_key(const struct hn_network *net, char *out, size_t outlen)
{
	uint64_t h = 14695981039346656037ull;   /* FNV-1a 64 */
	char buf[256];

	for (size_t i = 0; i <= net->n_features; i++) {
		int n;

		if (i == 0)
			n = snprintf(buf, sizeof(buf), "%u/%u/%u",
				     net->feature_evaluation_interval,
				     net->feature_default_threshold,
				     net->feature_max_signal_bits);
		else {
			const struct hn_feature *f = &net->features[i - 1];

			n = snprintf(buf, sizeof(buf),
				     ";%s:%u:%llu:%llu:%llu:%d:%u", f->name,
				     f->bit,
				     (unsigned long long)f->start_height,
				     (unsigned long long)f->timeout_height,
				     (unsigned long long)
				     f->minimum_activation_height,
				     f->lock_in_on_timeout, f->threshold);
		}
		for (int j = 0; j < n && j < (int)sizeof(buf); j++) {
			h ^= (uint8_t)buf[j];
			h *= 1099511628211ull;
		}
	}
	snprintf(out, outlen, "fa1-%zu-%016llx", net->n_features,
		 (unsigned long long)h);
}

int hn_fa_store_get(void *arg, const uint8_t hash[32],
		    struct hn_fa_block *out)
{
	struct hn_vmeta m;
	struct hn_vertex *v;
	int rc;

	if ((rc = hn_store_get_meta_vertex(arg, hash, &m, &v)) < 0)
		return rc;
	if (!hn_vertex_is_block(v)) {
		rc = HN_EINVAL;
	} else {
		out->height = m.height;
		out->signal_bits = v->signal_bits;
		if (v->n_parents)
			memcpy(out->parent, v->parents[0], 32);
		else
			memset(out->parent, 0, 32);
	}
	hn_vertex_free(v);
	hn_vmeta_release(&m);
	return rc;
}

int hn_fa_feature_index(const struct hn_network *net, const char *name)
{
	for (size_t i = 0; i < net->n_features; i++)
		if (!strcmp(net->features[i].name, name))
			return (int)i;
	return -1;
}

static uint32_t interval(const struct hn_fa *fa)
{
	return fa->net->feature_evaluation_interval ?
	       fa->net->feature_evaluation_interval : 1;
}

static uint32_t threshold(const struct hn_fa *fa, const struct hn_feature *f)
{
	return f->threshold ? f->threshold : fa->net->feature_default_threshold;
}

/* _get_feature_activation_bit_list, added into @counts. */
static void add_bits(const struct hn_fa *fa, uint8_t bits,
		     uint32_t counts[HN_FA_MAX_BITS])
{
	unsigned nb = fa->net->feature_max_signal_bits;

	if (nb > HN_FA_MAX_BITS)
		nb = HN_FA_MAX_BITS;
	for (unsigned i = 0; i < nb; i++)
		counts[i] += (bits >> i) & 1u;
}

/* _calculate_new_state for boundary @height, @counts being the previous
 * interval's counts (the boundary's parent's). */
static enum hn_feature_state next_state(const struct hn_fa *fa,
					const struct hn_feature *f,
					enum hn_feature_state prev,
					uint64_t height,
					const uint32_t *counts)
{
	uint32_t I = interval(fa);

	switch (prev) {
	case HN_FS_DEFINED:
		return height >= f->start_height ? HN_FS_STARTED :
		       HN_FS_DEFINED;
	case HN_FS_STARTED:
		if (height >= f->timeout_height && !f->lock_in_on_timeout)
			return HN_FS_FAILED;
		if (height < f->timeout_height && f->bit < HN_FA_MAX_BITS &&
		    counts[f->bit] >= threshold(fa, f))
			return HN_FS_LOCKED_IN;
		if (height + I >= f->timeout_height && f->lock_in_on_timeout)
			return HN_FS_MUST_SIGNAL;
		return HN_FS_STARTED;
	case HN_FS_MUST_SIGNAL:
		return HN_FS_LOCKED_IN;
	case HN_FS_LOCKED_IN:
		return height >= f->minimum_activation_height ? HN_FS_ACTIVE :
		       HN_FS_LOCKED_IN;
	case HN_FS_ACTIVE:
	case HN_FS_FAILED:
		break;
	}
	return prev;
}

enum hn_feature_state hn_fa_rec_state(const struct hn_fa_rec *rec,
				      size_t idx)
{
	return (enum hn_feature_state)((rec->states >> (4 * idx)) & 0xf);
}

/* The record of block @b from its parent's @p (NULL: @b is genesis). */
static int derive(const struct hn_fa *fa, const struct hn_fa_rec *p,
		  const struct hn_fa_block *b, struct hn_fa_rec *out)
{
	struct hn_fa_rec r;
	uint32_t I = interval(fa);

	memset(&r, 0, sizeof(r));
	r.height = b->height;
	if (p && p->height + 1 != b->height)
		return HN_EINVAL;       /* heights not contiguous */
	if (p && b->height % I != 0) {
		r.states = p->states;
		memcpy(r.counts, p->counts, sizeof(r.counts));
	} else if (p) {
		for (size_t i = 0; i < fa->net->n_features; i++) {
			enum hn_feature_state st = next_state(fa,
				&fa->net->features[i], hn_fa_rec_state(p, i),
				b->height, p->counts);

			r.states |= (uint64_t)st << (4 * i);
		}
	}
	add_bits(fa, b->signal_bits, r.counts);
	*out = r;
	return 0;
}

static struct cent *slot(const struct hn_fa *fa, const uint8_t h[32])
{
	uint32_t x;

	memcpy(&x, h, sizeof(x));
	return &fa->cache[x & (FA_CACHE - 1)];
}

/* Cached or persisted record of @hash: 0 or HN_ENOENT (or an error). */
static int rec_find(struct hn_fa *fa, const uint8_t hash[32],
		    struct hn_fa_rec *out)
{
	struct cent *e = slot(fa, hash);
	int rc;

	if (e->used && !memcmp(e->hash, hash, 32)) {
		*out = e->r;
		return 0;
	}
	if (!fa->src.load)
		return HN_ENOENT;
	if ((rc = fa->src.load(fa->src.arg, hash, out)) < 0)
		return rc;
	memcpy(e->hash, hash, 32);
	e->r = *out;
	e->used = true;
	return 0;
}

static int rec_keep(struct hn_fa *fa, const uint8_t hash[32],
		    const struct hn_fa_rec *r)
{
	struct cent *e = slot(fa, hash);

	memcpy(e->hash, hash, 32);
	e->r = *r;
	e->used = true;
	return fa->src.save ? fa->src.save(fa->src.arg, hash, r) : 0;
}

static int get_block(struct hn_fa *fa, const uint8_t hash[32],
		     struct hn_fa_block *b)
{
	fa->reads++;
	return fa->src.get(fa->src.arg, hash, b);
}

/* True when @hash (at @height) is the best chain's block there. */
static bool on_best(struct hn_fa *fa, const uint8_t hash[32],
		    uint64_t height)
{
	uint8_t h[32];

	return fa->src.at_height &&
	       fa->src.at_height(fa->src.arg, height, h) == 0 &&
	       !memcmp(h, hash, 32);
}

/* Record of the best chain's block at @height, which has one or is
 * genesis: 0, HN_ENOENT, or an error. */
static int best_rec(struct hn_fa *fa, uint64_t height, struct hn_fa_rec *r)
{
	struct hn_fa_block b;
	uint8_t h[32];
	int rc;

	if ((rc = fa->src.at_height(fa->src.arg, height, h)) < 0)
		return rc == HN_ENOENT ? HN_EINVAL : rc;
	if ((rc = rec_find(fa, h, r)) != HN_ENOENT || height > 0)
		return rc;
	if ((rc = get_block(fa, h, &b)) < 0 ||
	    (rc = derive(fa, NULL, &b, r)) < 0)
		return rc;
	return rec_keep(fa, h, r);
}

/* Records of the best chain up to @top.  Best-chain blocks with a record
 * form a prefix (a record is only made from its parent's), so a binary
 * search finds where to start; then forward by height. */
static int fill_best(struct hn_fa *fa, uint64_t top, struct hn_fa_rec *out)
{
	struct hn_fa_rec prev;
	uint64_t lo = 0, hi = top;
	int rc;

	if ((rc = best_rec(fa, top, out)) != HN_ENOENT)
		return rc;
	if ((rc = best_rec(fa, 0, &prev)) < 0)
		return rc;
	while (hi - lo > 1) {
		uint64_t mid = lo + (hi - lo) / 2;
		struct hn_fa_rec r;

		rc = best_rec(fa, mid, &r);
		if (rc == 0) {
			lo = mid;
			prev = r;
		} else if (rc == HN_ENOENT) {
			hi = mid;
		} else {
			return rc;
		}
	}
	for (uint64_t h = lo + 1; h <= top; h++) {
		struct hn_fa_block b;
		uint8_t hash[32];

		if ((rc = fa->src.at_height(fa->src.arg, h, hash)) < 0 ||
		    (rc = get_block(fa, hash, &b)) < 0 ||
		    (rc = derive(fa, &prev, &b, &prev)) < 0 ||
		    (rc = rec_keep(fa, hash, &prev)) < 0)
			return rc;
	}
	*out = prev;
	return 0;
}

int hn_fa_rec(struct hn_fa *fa, const uint8_t hash[32],
	      struct hn_fa_rec *out)
{
	struct pend {
		uint8_t hash[32];
		struct hn_fa_block b;
	} *stack = NULL;
	size_t n = 0, cap = 0;
	struct hn_fa_rec base;
	uint8_t cur[32];
	int rc;

	if (fa->net->n_features > HN_FA_MAX_FEATURES)
		return HN_ERANGE;
	if ((rc = rec_find(fa, hash, out)) != HN_ENOENT)
		return rc;
	/* Back to the nearest block with a record, genesis or the best
	 * chain; then forward. */
	memcpy(cur, hash, 32);
	for (;;) {
		struct hn_fa_block b;

		if ((rc = get_block(fa, cur, &b)) < 0)
			goto out;
		if (b.height == 0) {
			if ((rc = derive(fa, NULL, &b, &base)) < 0 ||
			    (rc = rec_keep(fa, cur, &base)) < 0)
				goto out;
			break;
		}
		if (on_best(fa, cur, b.height)) {
			if ((rc = fill_best(fa, b.height, &base)) < 0)
				goto out;
			break;
		}
		if (n == cap) {
			size_t nc = cap ? cap * 2 : 16;
			void *p = realloc(stack, nc * sizeof(*stack));

			if (!p) {
				rc = HN_ENOMEM;
				goto out;
			}
			stack = p;
			cap = nc;
		}
		memcpy(stack[n].hash, cur, 32);
		stack[n++].b = b;
		if ((rc = rec_find(fa, b.parent, &base)) == 0)
			break;
		if (rc != HN_ENOENT)
			goto out;
		memcpy(cur, b.parent, 32);
	}
	while (n-- > 0)
		if ((rc = derive(fa, &base, &stack[n].b, &base)) < 0 ||
		    (rc = rec_keep(fa, stack[n].hash, &base)) < 0)
			goto out;
	*out = base;
	rc = 0;
out:
	free(stack);
	return rc;
}

int hn_fa_child_rec(struct hn_fa *fa, const uint8_t parent[32],
		    uint8_t signal_bits, struct hn_fa_rec *out)
{
	struct hn_fa_block b;
	struct hn_fa_rec p;
	int rc;

	if ((rc = hn_fa_rec(fa, parent, &p)) < 0)
		return rc;
	memset(&b, 0, sizeof(b));
	b.height = p.height + 1;
	memcpy(b.parent, parent, 32);
	b.signal_bits = signal_bits;
	return derive(fa, &p, &b, out);
}

int hn_fa_block_stored(struct hn_fa *fa, const uint8_t hash[32],
		       const struct hn_fa_block *b)
{
	struct hn_fa_rec p, r;
	int rc;

	if (fa->net->n_features > HN_FA_MAX_FEATURES)
		return HN_ERANGE;
	if (b->height == 0 ||
	    (rc = rec_find(fa, b->parent, &p)) == HN_ENOENT)
		return hn_fa_rec(fa, hash, &r);
	if (rc < 0 || (rc = derive(fa, &p, b, &r)) < 0)
		return rc;
	return rec_keep(fa, hash, &r);
}

int hn_fa_states(struct hn_fa *fa, const uint8_t hash[32],
		 enum hn_feature_state *out)
{
	struct hn_fa_rec r;
	int rc;

	if ((rc = hn_fa_rec(fa, hash, &r)) < 0)
		return rc;
	for (size_t i = 0; i < fa->net->n_features; i++)
		out[i] = hn_fa_rec_state(&r, i);
	return 0;
}

int hn_fa_bit_counts(struct hn_fa *fa, const uint8_t hash[32],
		     uint32_t counts[HN_FA_MAX_BITS])
{
	struct hn_fa_rec r;
	int rc;

	if ((rc = hn_fa_rec(fa, hash, &r)) < 0)
		return rc;
	memcpy(counts, r.counts, sizeof(r.counts));
	return 0;
}

int hn_fa_rec_missing_signal(struct hn_fa *fa, const struct hn_fa_rec *rec,
			     size_t *feature)
{
	uint32_t I = interval(fa);
	uint64_t remaining = I - rec->height % I - 1;

	for (size_t i = 0; i < fa->net->n_features; i++) {
		const struct hn_feature *f = &fa->net->features[i];
		uint32_t t = threshold(fa, f), c;

		if (hn_fa_rec_state(rec, i) != HN_FS_MUST_SIGNAL)
			continue;
		c = f->bit < HN_FA_MAX_BITS ? rec->counts[f->bit] : 0;
		if (t > c && t - c > remaining) {
			*feature = i;
			return 1;
		}
	}
	return 0;
}

int hn_fa_missing_signal(struct hn_fa *fa, const uint8_t hash[32],
			 size_t *feature)
{
	struct hn_fa_rec r;
	bool any = false;
	int rc;

	for (size_t i = 0; i < fa->net->n_features; i++)
		any |= fa->net->features[i].lock_in_on_timeout;
	if (!any)
		return 0;       /* MUST_SIGNAL is unreachable */
	if ((rc = hn_fa_rec(fa, hash, &r)) < 0)
		return rc;
	return hn_fa_rec_missing_signal(fa, &r, feature);
}

/* The ancestor at @to of block @hash at @height (@to <= @height): over
 * the height index once on the best chain, by parents before. */
static int ancestor(struct hn_fa *fa, const uint8_t hash[32],
		    uint64_t height, uint64_t to, uint8_t out[32])
{
	struct hn_fa_block b;
	uint8_t cur[32];
	int rc;

	memcpy(cur, hash, 32);
	while (height > to) {
		if (on_best(fa, cur, height))
			return fa->src.at_height(fa->src.arg, to, out);
		if ((rc = get_block(fa, cur, &b)) < 0)
			return rc;
		if (b.height != height)
			return HN_EINVAL;
		memcpy(cur, b.parent, 32);
		height--;
	}
	memcpy(out, cur, 32);
	return 0;
}

int hn_fa_activation_height(struct hn_fa *fa, const uint8_t hash[32],
			    size_t idx, bool *found, uint64_t *height)
{
	struct hn_fa_rec r;
	uint32_t I = interval(fa);
	uint8_t bh[32];
	uint64_t H;
	int rc;

	*found = false;
	*height = 0;
	if (idx >= fa->net->n_features)
		return HN_EINVAL;
	if ((rc = hn_fa_rec(fa, hash, &r)) < 0)
		return rc;
	if (hn_fa_rec_state(&r, idx) != HN_FS_ACTIVE)
		return 0;
	*found = true;
	/* The oldest boundary of this chain with the feature ACTIVE: walk
	 * back one interval at a time (genesis is DEFINED, so H stays > 0). */
	H = r.height - r.height % I;
	if ((rc = ancestor(fa, hash, r.height, H, bh)) < 0)
		return rc;
	while (H >= I) {
		uint8_t ph[32];
		struct hn_fa_rec pr;

		if ((rc = ancestor(fa, bh, H, H - I, ph)) < 0 ||
		    (rc = hn_fa_rec(fa, ph, &pr)) < 0)
			return rc;
		if (hn_fa_rec_state(&pr, idx) != HN_FS_ACTIVE)
			break;
		H -= I;
		memcpy(bh, ph, 32);
	}
	*height = H;
	return 0;
}

int hn_fa_daa_config(struct hn_fa *fa, const uint8_t parent[32],
		     uint64_t parent_height, struct hn_daa_config *cfg,
		     uint64_t *v2_start)
{
	struct hn_fa_rec r;
	bool found = false;
	uint64_t ah = 0;
	int rc;

	hn_daa_config_v1(fa->net, cfg);
	if (v2_start)
		*v2_start = 0;
	if (fa->daa_idx < 0 || parent_height < fa->daa_lb)
		return 0;
	if ((rc = hn_fa_rec(fa, parent, &r)) < 0)
		return rc;
	if (hn_fa_rec_state(&r, (size_t)fa->daa_idx) != HN_FS_ACTIVE)
		return 0;
	hn_daa_config_v2(fa->net, cfg);
	if (!v2_start)
		return 0;
	rc = hn_fa_activation_height(fa, parent, (size_t)fa->daa_idx, &found,
				     &ah);
	if (rc < 0)
		return rc;
	*v2_start = ah + 1;
	return 0;
}

struct test_net {
	struct hn_network net;          /* first: freed through it */
	struct hn_feature f[HN_FA_MAX_FEATURES];
	char names[HN_FA_MAX_FEATURES][48];
};

struct hn_network *hn_fa_test_network(const struct hn_network *base,
				      const char *spec, char *err,
				      size_t errlen)
{
	struct test_net *t;
	const char *p = spec;
	size_t n = 0;

	if (!base || strcmp(base->name, "unittests")) {
		snprintf(err, errlen, "test features need the unittests "
			 "network");
		return NULL;
	}
	if (!(t = calloc(1, sizeof(*t)))) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->net = *base;
	while (*p) {
		struct hn_feature *f = &t->f[n];
		unsigned long long v[4];
		unsigned bit;
		char name[48], tail[24] = "";
		int used = 0, k;
		size_t len = strcspn(p, ",");
		char item[160];

		if (n == HN_FA_MAX_FEATURES || len >= sizeof(item))
			goto bad;
		memcpy(item, p, len);
		item[len] = '\0';
		k = sscanf(item, "%47[A-Z0-9_]:%u:%llu:%llu:%llu%n:%23s%n", name,
			   &bit, &v[0], &v[1], &v[2], &used, tail, &used);
		if (k < 5 || (size_t)used != len ||
		    bit >= base->feature_max_signal_bits)
			goto bad;
		/* Flags after MINACT: lock, support, in any order. */
		for (char *fl = k == 6 ? tail : NULL, *next; fl; fl = next) {
			if ((next = strchr(fl, ':')))
				*next++ = '\0';
			if (!strcasecmp(fl, "lock"))
				f->lock_in_on_timeout = true;
			else if (!strcasecmp(fl, "support"))
				f->signal_support_by_default = true;
			else
				goto bad;
		}
		memcpy(t->names[n], name, sizeof(name));
		f->name = t->names[n];
		f->bit = (uint8_t)bit;
		f->start_height = v[0];
		f->timeout_height = v[1];
		f->minimum_activation_height = v[2];
		f->version = "0.0.0";
		n++;
		p += len;
		if (*p == ',')
			p++;
	}
	t->net.features = t->f;
	t->net.n_features = n;
	return &t->net;
bad:
	snprintf(err, errlen, "bad test feature list '%s' (want "
		 "NAME:BIT:START:TIMEOUT:MINACT[:lock][:support],..., at most %d, bit < "
		 "%u)", spec, HN_FA_MAX_FEATURES, base->feature_max_signal_bits);
	free(t);
	return NULL;
}

void hn_fa_test_network_free(struct hn_network *net)
{
	free(net);      /* the struct test_net it starts */
}
