/*
 * abi_probe.c: one exported function per type of the plugin ABI, so that
 * the DWARF of this shared object (and abidw's dump of it) describes every
 * struct, enum, typedef and function-pointer type of hathor/plugin.h,
 * hathor/node.h and hathor/p2p.h.  tests/sdk/abi_check.sh builds it from a
 * headers directory and compares the dump with plugin_api/abi/.
 */
#include "hathor/node.h"
#include "hathor/p2p.h"
#include "hathor/plugin.h"

#define PROBE(type, name)                                               \
	__attribute__((visibility("default"))) void abi_probe_##name(type *p); \
	__attribute__((visibility("default"))) void abi_probe_##name(type *p) \
	{                                                               \
		(void)p;                                                \
	}

PROBE(const struct hathor_plugin_desc, plugin_desc)
PROBE(const struct hathor_services, services)
PROBE(const struct hathor_node_ops, node_ops)
PROBE(const struct hathor_p2p_ops, p2p_ops)
PROBE(const struct hathor_p2p_status, p2p_status)
PROBE(const struct hathor_event, event)
PROBE(const struct hathor_metric_value, metric_value)
PROBE(const struct hathor_vinfo, vinfo)
PROBE(const struct hathor_height_info, height_info)
PROBE(const struct hathor_tip_interval, tip_interval)
PROBE(const struct hathor_add_result, add_result)
PROBE(const enum hathor_err, err)
PROBE(const enum hathor_plugin_kind, plugin_kind)
PROBE(const enum hathor_log_level, log_level)
PROBE(const enum hathor_io_events, io_events)
PROBE(const enum hathor_metric_type, metric_type)
PROBE(const enum hathor_event_type, event_type)
PROBE(const enum hathor_origin, origin)
PROBE(const enum hathor_add_status, add_status)
PROBE(const hathor_plugin_entry_fn, entry_fn)
PROBE(const hathor_text_cb, text_cb)
