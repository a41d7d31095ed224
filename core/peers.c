/*
 * peers.c: the cached P2P connection table (core/peers.h).
 */
#include <stddef.h>

#include "peers.h"

static struct {
	struct json_object *snap;
	double at;
	unsigned long updates;
} P;

void hn_peers_snapshot_set(struct json_object *snap, double now)
{
	if (snap && !json_object_is_type(snap, json_type_object)) {
		json_object_put(snap);
		snap = NULL;
	}
	json_object_put(P.snap);
	P.snap = snap;
	P.at = now;
	P.updates++;
}

struct json_object *hn_peers_snapshot(double *at)
{
	if (at)
		*at = P.at;
	return P.snap;
}

static struct json_object *get(struct json_object *o, const char *k)
{
	struct json_object *v = NULL;

	if (!o || !json_object_object_get_ex(o, k, &v))
		return NULL;
	return v;
}

bool hn_peers_has_synced_peer(void)
{
	struct json_object *a = get(get(P.snap, "connections"),
				    "connected_peers");
	size_t n;

	if (!a || !json_object_is_type(a, json_type_array))
		return false;
	n = json_object_array_length(a);
	for (size_t i = 0; i < n; i++) {
		struct json_object *pl = get(json_object_array_get_idx(a, i),
					     "plugins");

		if (!pl || !json_object_is_type(pl, json_type_object))
			continue;
		json_object_object_foreach(pl, key, agent) {
			struct json_object *s = get(agent, "synced");

			(void)key;
			if (s && json_object_is_type(s, json_type_boolean) &&
			    json_object_get_boolean(s))
				return true;
		}
	}
	return false;
}

unsigned long hn_peers_updates(void)
{
	return P.updates;
}
