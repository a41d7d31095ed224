/*
 * ledger_json.c: vertex metadata as the reference's JSON
 * (TransactionMetadata.to_json_extended), for the HTTP API.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "ledger.h"
#include "store.h"

#include "hn/err.h"
#include "hn/hex.h"

#define MAX_JSON_CHILDREN 100   /* _MAX_JSON_CHILDREN */

double hn_work_to_weight(hn_u128 work)
{
	if (work <= 1)
		return 0.0;
	return log2((double)work);
}

int hn_u128_to_dec(hn_u128 v, char out[40])
{
	char tmp[40];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v);
	for (int i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

static struct json_object *jhash(const uint8_t h[32])
{
	char hex[65];

	hn_hex_encode(h, 32, hex);
	return json_object_new_string(hex);
}

static int add(struct json_object *o, const char *k, struct json_object *v)
{
	if (!v)
		return HN_ENOMEM;
	if (json_object_object_add(o, k, v) < 0) {
		json_object_put(v);
		return HN_ENOMEM;
	}
	return 0;
}

static struct json_object *hash_array(uint8_t (*h)[32], size_t n, size_t max)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n && i < max; i++) {
		struct json_object *s = jhash(h[i]);

		if (!s || json_object_array_add(a, s) < 0) {
			json_object_put(s);
			json_object_put(a);
			return NULL;
		}
	}
	return a;
}

int hn_ledger_meta_to_json(struct hn_ledger *l, const struct hn_vmeta *m,
			   struct json_object **out)
{
	struct json_object *o = json_object_new_object(), *so;
	char dec[40];
	int rc = 0;

	if (!o)
		return HN_ENOMEM;
	rc |= add(o, "hash", jhash(m->hash));
	/* spent_outputs: [[index, [spender, ...]], ...] by index */
	so = json_object_new_array();
	for (size_t i = 0; so && i < m->n_spent;) {
		struct json_object *pair = json_object_new_array();
		struct json_object *list = json_object_new_array();
		uint8_t idx = m->spent[i].index;

		if (!pair || !list) {
			json_object_put(pair);
			json_object_put(list);
			rc = HN_ENOMEM;
			break;
		}
		for (; i < m->n_spent && m->spent[i].index == idx; i++)
			json_object_array_add(list, jhash(m->spent[i].tx));
		json_object_array_add(pair, json_object_new_int(idx));
		json_object_array_add(pair, list);
		json_object_array_add(so, pair);
	}
	rc |= add(o, "spent_outputs", so);
	rc |= add(o, "received_by", json_object_new_array());
	rc |= add(o, "conflict_with", hash_array(m->conflict_with,
						  m->n_conflict_with, SIZE_MAX));
	rc |= add(o, "voided_by", hash_array(m->voided_by, m->n_voided_by,
					      SIZE_MAX));
	rc |= add(o, "twins", hash_array(m->twins, m->n_twins, SIZE_MAX));
	hn_u128_to_dec(m->acc_work, dec);
	rc |= add(o, "accumulated_weight_raw", json_object_new_string(dec));
	hn_u128_to_dec(m->score, dec);
	rc |= add(o, "score_raw", json_object_new_string(dec));
	rc |= add(o, "min_height", json_object_new_int64((int64_t)m->min_height));
	rc |= add(o, "height", json_object_new_int64(m->is_block ?
						     (int64_t)m->height : 0));
	rc |= add(o, "feature_activation_bit_counts", json_object_new_array());
	if (m->has_first_block)
		rc |= add(o, "first_block", jhash(m->first_block));
	else
		json_object_object_add(o, "first_block", NULL);
	rc |= add(o, "validation", json_object_new_string(
			  m->validation == HN_VALID_FULL ? "full" : "basic"));
	json_object_object_add(o, "nc_block_root_id", NULL);
	json_object_object_add(o, "nc_calls", NULL);
	json_object_object_add(o, "nc_execution", NULL);
	json_object_object_add(o, "nc_events", NULL);
	rc |= add(o, "accumulated_weight",
		  json_object_new_double(hn_work_to_weight(m->acc_work)));
	rc |= add(o, "score", json_object_new_double(hn_work_to_weight(
							     m->score)));
	rc |= add(o, "children", hash_array(m->children, m->n_children,
					     MAX_JSON_CHILDREN));
	rc |= add(o, "has_more_children",
		  json_object_new_boolean(m->n_children > MAX_JSON_CHILDREN));
	if (m->has_first_block) {
		struct hn_vmeta fb;

		if (hn_store_get_meta(hn_ledger_store(l), m->first_block,
				      HN_VMETA_CORE, &fb) == 0) {
			rc |= add(o, "first_block_height",
				  json_object_new_int64((int64_t)fb.height));
			hn_vmeta_release(&fb);
		} else {
			json_object_object_add(o, "first_block_height", NULL);
		}
	} else {
		json_object_object_add(o, "first_block_height", NULL);
	}
	if (rc) {
		json_object_put(o);
		return HN_ENOMEM;
	}
	*out = o;
	return 0;
}
