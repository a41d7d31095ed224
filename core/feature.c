/*
 * feature.c: the feature-activation state machine (core/feature.h).
 */
#include <stdlib.h>
#include <string.h>

#include "daa.h"
#include "feature.h"
#include "store.h"

#include "hn/err.h"
#include "hn/network.h"
#include "hn/vertex.h"

struct memo {
	uint8_t hash[32];
	uint64_t height;
	enum hn_feature_state st[HN_FA_MAX_FEATURES];
};

struct hn_fa {
	const struct hn_network *net;
	hn_fa_get_fn get;
	void *arg;
	struct memo *m;
	size_t n, cap;
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

struct hn_fa *hn_fa_new(const struct hn_network *net, hn_fa_get_fn get,
			void *arg)
{
	struct hn_fa *fa = calloc(1, sizeof(*fa));

	if (!fa)
		return NULL;
	fa->net = net;
	fa->get = get;
	fa->arg = arg;
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

void hn_fa_free(struct hn_fa *fa)
{
	if (!fa)
		return;
	free(fa->m);
	free(fa);
}

size_t hn_fa_memo_size(const struct hn_fa *fa)
{
	return fa->n;
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

static const struct memo *memo_find(const struct hn_fa *fa,
				    const uint8_t hash[32])
{
	for (size_t i = fa->n; i-- > 0;)
		if (!memcmp(fa->m[i].hash, hash, 32))
			return &fa->m[i];
	return NULL;
}

static int memo_add(struct hn_fa *fa, const struct memo *e)
{
	if (fa->n == fa->cap) {
		size_t nc = fa->cap ? fa->cap * 2 : 32;
		void *p = realloc(fa->m, nc * sizeof(*fa->m));

		if (!p)
			return HN_ENOMEM;
		fa->m = p;
		fa->cap = nc;
	}
	fa->m[fa->n++] = *e;
	return 0;
}

/* Walks from @hash (at @b) back to the block at height @to (<= b height),
 * adding the bits of every block visited, @to's included, into @counts if
 * not NULL.  @out gets the block at @to and @to_hash its hash. */
static int walk_back(struct hn_fa *fa, const uint8_t hash[32],
		     const struct hn_fa_block *b, uint64_t to,
		     uint32_t *counts, struct hn_fa_block *out,
		     uint8_t to_hash[32])
{
	struct hn_fa_block cur = *b;
	uint8_t h[32];
	int rc;

	memcpy(h, hash, 32);
	for (;;) {
		if (counts)
			add_bits(fa, cur.signal_bits, counts);
		if (cur.height <= to)
			break;
		memcpy(h, cur.parent, 32);
		if ((rc = fa->get(fa->arg, h, &cur)) < 0)
			return rc;
	}
	if (cur.height != to)
		return HN_EINVAL;       /* heights not contiguous */
	*out = cur;
	memcpy(to_hash, h, 32);
	return 0;
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

/* States at boundary block @hash (@b, height a multiple of the interval):
 * walks back to the newest memoized boundary (or genesis), then computes
 * forward, memoizing every boundary on the way. */
static int boundary_states(struct hn_fa *fa, const uint8_t hash[32],
			   const struct hn_fa_block *b,
			   enum hn_feature_state *out)
{
	struct pend {
		uint8_t hash[32];
		uint64_t height;
		uint32_t counts[HN_FA_MAX_BITS];
	} *stack = NULL;
	size_t n = 0, cap = 0, nf = fa->net->n_features;
	enum hn_feature_state st[HN_FA_MAX_FEATURES] = { 0 };
	struct hn_fa_block cur = *b, prev;
	uint8_t h[32], ph[32];
	const struct memo *mm = NULL;
	uint32_t I = interval(fa);
	int rc = 0;

	memcpy(h, hash, 32);
	while (cur.height > 0 && !(mm = memo_find(fa, h))) {
		struct hn_fa_block par;

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
		memcpy(stack[n].hash, h, 32);
		stack[n].height = cur.height;
		memset(stack[n].counts, 0, sizeof(stack[n].counts));
		/* The previous interval: heights [cur - I, cur - 1]. */
		if ((rc = fa->get(fa->arg, cur.parent, &par)) < 0)
			goto out;
		rc = walk_back(fa, cur.parent, &par, cur.height - I,
			       stack[n].counts, &prev, ph);
		if (rc < 0)
			goto out;
		n++;
		cur = prev;
		memcpy(h, ph, 32);
	}
	if (cur.height > 0)
		memcpy(st, mm->st, sizeof(st));
	while (n-- > 0) {
		struct memo e;

		memset(&e, 0, sizeof(e));
		for (size_t i = 0; i < nf; i++)
			st[i] = next_state(fa, &fa->net->features[i], st[i],
					   stack[n].height, stack[n].counts);
		memcpy(e.hash, stack[n].hash, 32);
		e.height = stack[n].height;
		memcpy(e.st, st, sizeof(st));
		if ((rc = memo_add(fa, &e)) < 0)
			goto out;
	}
	memcpy(out, st, nf * sizeof(*out));
out:
	free(stack);
	return rc;
}

int hn_fa_states(struct hn_fa *fa, const uint8_t hash[32],
		 enum hn_feature_state *out)
{
	struct hn_fa_block b, bb;
	uint8_t bh[32];
	uint32_t I = interval(fa);
	int rc;

	if (fa->net->n_features > HN_FA_MAX_FEATURES)
		return HN_ERANGE;
	if ((rc = fa->get(fa->arg, hash, &b)) < 0)
		return rc;
	if (b.height % I == 0)
		return boundary_states(fa, hash, &b, out);
	if ((rc = walk_back(fa, hash, &b, b.height - b.height % I, NULL, &bb,
			    bh)) < 0)
		return rc;
	return boundary_states(fa, bh, &bb, out);
}

int hn_fa_bit_counts(struct hn_fa *fa, const uint8_t hash[32],
		     uint32_t counts[HN_FA_MAX_BITS])
{
	struct hn_fa_block b, bb;
	uint8_t bh[32];
	int rc;

	memset(counts, 0, HN_FA_MAX_BITS * sizeof(*counts));
	if ((rc = fa->get(fa->arg, hash, &b)) < 0)
		return rc;
	return walk_back(fa, hash, &b, b.height - b.height % interval(fa),
			 counts, &bb, bh);
}

int hn_fa_missing_signal(struct hn_fa *fa, const uint8_t hash[32],
			 size_t *feature)
{
	enum hn_feature_state st[HN_FA_MAX_FEATURES];
	uint32_t counts[HN_FA_MAX_BITS], I = interval(fa);
	struct hn_fa_block b;
	uint64_t remaining;
	bool any = false;
	int rc;

	for (size_t i = 0; i < fa->net->n_features; i++)
		any |= fa->net->features[i].lock_in_on_timeout;
	if (!any)
		return 0;       /* MUST_SIGNAL is unreachable */
	if ((rc = hn_fa_states(fa, hash, st)) < 0 ||
	    (rc = hn_fa_bit_counts(fa, hash, counts)) < 0 ||
	    (rc = fa->get(fa->arg, hash, &b)) < 0)
		return rc;
	remaining = I - b.height % I - 1;
	for (size_t i = 0; i < fa->net->n_features; i++) {
		const struct hn_feature *f = &fa->net->features[i];
		uint32_t t = threshold(fa, f), c;

		if (st[i] != HN_FS_MUST_SIGNAL)
			continue;
		c = f->bit < HN_FA_MAX_BITS ? counts[f->bit] : 0;
		if (t > c && t - c > remaining) {
			*feature = i;
			return 1;
		}
	}
	return 0;
}

int hn_fa_activation_height(struct hn_fa *fa, const uint8_t hash[32],
			    size_t idx, bool *found, uint64_t *height)
{
	enum hn_feature_state st[HN_FA_MAX_FEATURES];
	struct hn_fa_block b, bb;
	uint8_t bh[32];
	uint32_t I = interval(fa);
	int rc;

	*found = false;
	*height = 0;
	if (idx >= fa->net->n_features)
		return HN_EINVAL;
	if ((rc = fa->get(fa->arg, hash, &b)) < 0)
		return rc;
	if (b.height < I)
		return 0;
	if ((rc = walk_back(fa, hash, &b, b.height - b.height % I, NULL, &bb,
			    bh)) < 0 ||
	    (rc = boundary_states(fa, bh, &bb, st)) < 0)
		return rc;
	if (st[idx] != HN_FS_ACTIVE)
		return 0;
	*found = true;
	/* Every boundary at and below bh is memoized now: the oldest ACTIVE
	 * one of this chain is the activation height. */
	*height = bb.height;
	while (*height > I) {
		struct hn_fa_block pb;
		uint8_t ph[32];
		const struct memo *m;

		if ((rc = fa->get(fa->arg, bb.parent, &pb)) < 0 ||
		    (rc = walk_back(fa, bb.parent, &pb, *height - I, NULL, &pb,
				    ph)) < 0)
			return rc;
		if (!(m = memo_find(fa, ph)) || m->st[idx] != HN_FS_ACTIVE)
			break;
		*height -= I;
		bb = pb;
	}
	return 0;
}

int hn_fa_daa_config(struct hn_fa *fa, const uint8_t parent[32],
		     uint64_t parent_height, struct hn_daa_config *cfg,
		     uint64_t *v2_start)
{
	bool found = false;
	uint64_t ah = 0;
	int rc;

	hn_daa_config_v1(fa->net, cfg);
	if (v2_start)
		*v2_start = 0;
	if (fa->daa_idx < 0 || parent_height < fa->daa_lb)
		return 0;
	rc = hn_fa_activation_height(fa, parent, (size_t)fa->daa_idx, &found,
				     &ah);
	if (rc < 0 || !found)
		return rc;
	hn_daa_config_v2(fa->net, cfg);
	if (v2_start)
		*v2_start = ah + 1;
	return 0;
}
