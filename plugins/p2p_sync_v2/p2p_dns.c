/*
 * p2p_dns.c: entrypoints from a DNS seed's answer (see p2p_dns.h), parsed
 * with libresolv's ns_initparse / ns_parserr.
 */
#include "p2p_dns.h"

#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdio.h>
#include <string.h>

#include "p2p_msg.h"

static int txt_strings(const uint8_t *rd, size_t n, p2p_dns_entry_cb cb,
		       void *arg)
{
	char ep[256];
	size_t off = 0;
	int found = 0;

	while (off < n) {
		size_t sl = rd[off++];

		if (sl > n - off)
			break;  /* truncated rdata: stop at the last whole one */
		memcpy(ep, rd + off, sl);
		ep[sl] = 0;
		off += sl;
		if (sl == 0 || memchr(ep, 0, sl) || !p2p_utf8_valid(ep, sl))
			continue;
		cb(arg, ep);
		found++;
	}
	return found;
}

int p2p_dns_parse(const uint8_t *msg, size_t len, uint16_t default_port,
		  p2p_dns_entry_cb cb, void *arg)
{
	ns_msg h;
	ns_rr rr;
	int found = 0;

	if (len > 65535 || ns_initparse(msg, (int)len, &h) < 0)
		return -1;
	for (int i = 0; i < ns_msg_count(h, ns_s_an); i++) {
		if (ns_parserr(&h, ns_s_an, i, &rr) < 0)
			return -1;
		if (ns_rr_class(rr) != ns_c_in)
			continue;
		if (ns_rr_type(rr) == ns_t_txt) {
			found += txt_strings(ns_rr_rdata(rr), ns_rr_rdlen(rr),
					     cb, arg);
		} else if (ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4) {
			char ip[INET_ADDRSTRLEN], ep[64];

			if (!inet_ntop(AF_INET, ns_rr_rdata(rr), ip, sizeof(ip)))
				continue;
			snprintf(ep, sizeof(ep), "tcp://%s:%u", ip,
				 (unsigned)default_port);
			cb(arg, ep);
			found++;
		}
	}
	return found;
}
