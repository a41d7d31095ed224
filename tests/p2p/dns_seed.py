#!/usr/bin/env python3
"""A DNS seed for the daemon DNS-discovery test: a UDP server on 127.0.0.1
that answers TXT queries for one name with the given entrypoints (one
character-string each), A queries for that name with no records, and any
other name with NXDOMAIN.  It writes its port to PORTFILE once bound and
appends one line per query ("TYPE NAME") to PORTFILE.queries.

    dns_seed.py PORTFILE NAME ENTRYPOINT...
"""
import socket
import struct
import sys


def qname(msg, off):
    labels = []
    while True:
        n = msg[off]
        off += 1
        if n == 0:
            return ".".join(labels), off
        if n & 0xC0:
            raise ValueError("compressed name in a question")
        labels.append(msg[off:off + n].decode("ascii", "replace"))
        off += n


def answer(msg, name, entrypoints):
    qid, _flags, qd = struct.unpack(">HHH", msg[:6])
    if qd != 1:
        return None
    q, off = qname(msg, 12)
    qtype, qclass = struct.unpack(">HH", msg[off:off + 4])
    question = msg[12:off + 4]
    rrs = b""
    count = 0
    rcode = 0
    if q.lower().rstrip(".") != name:
        rcode = 3
    elif qtype == 16 and qclass == 1:
        for ep in entrypoints:
            raw = ep.encode()
            rdata = bytes([len(raw)]) + raw
            rrs += struct.pack(">HHHIH", 0xC00C, 16, 1, 60, len(rdata)) + rdata
            count += 1
    flags = 0x8180 | rcode  # response, RD, RA
    head = struct.pack(">HHHHHH", qid, flags, 1, count, 0, 0)
    return head + question + rrs, "%d %s" % (qtype, q)


def main():
    portfile, name, entrypoints = sys.argv[1], sys.argv[2].lower(), sys.argv[3:]
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    with open(portfile + ".tmp", "w") as f:
        f.write("%d\n" % s.getsockname()[1])
    import os
    os.rename(portfile + ".tmp", portfile)
    while True:
        msg, peer = s.recvfrom(4096)
        try:
            res = answer(msg, name, entrypoints)
        except (ValueError, IndexError, struct.error):
            continue
        if res is None:
            continue
        out, line = res
        with open(portfile + ".queries", "a") as f:
            f.write(line + "\n")
        s.sendto(out, peer)


if __name__ == "__main__":
    main()
