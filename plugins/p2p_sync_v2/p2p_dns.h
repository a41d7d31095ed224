/*
 * p2p_dns.h: the answer side of DNS peer discovery (hathor-core
 * hathor/p2p/peer_discovery/dns.py): entrypoints from the TXT records of a
 * seed name (each character-string is one "tcp://HOST:PORT[/?id=ID]") and
 * from its A records ("tcp://A.B.C.D:DEFAULT_PORT").
 */
#ifndef P2P_DNS_H
#define P2P_DNS_H

#include <stddef.h>
#include <stdint.h>

/* Called once per entrypoint found; @ep is NUL-terminated. */
typedef void (*p2p_dns_entry_cb)(void *arg, const char *ep);

/* Parses the DNS response @msg (wire format, as res_query returns it) and
 * reports every TXT string and A record of its answer section through @cb.
 * TXT strings that are not valid UTF-8 or hold a NUL are skipped (the
 * reference logs and skips what PeerEndpoint.parse refuses).  Returns the
 * number of entrypoints reported, or -1 when @msg is not a parseable DNS
 * message. */
int p2p_dns_parse(const uint8_t *msg, size_t len, uint16_t default_port,
		  p2p_dns_entry_cb cb, void *arg);

#endif
