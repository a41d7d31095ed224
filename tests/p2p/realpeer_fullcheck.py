#!/usr/bin/env python3
"""Every vertex of a hathor-chaingen file was accepted by a reference node
with full validation.

    realpeer_fullcheck.py CHAIN_FILE REFERENCE_LOG HATHOR_NODE

Hashes come from our own decoder (hathor-node decode); the reference node's
log records each vertex it accepts with validation=FULL (its
/v1a/transaction needs the wallet index, off in ../shared/realpeer).  Exit 1
when one is missing or the file holds none.
"""
import json, re, struct, subprocess, sys
full = set()
for line in open(sys.argv[2], errors='replace'):
    if 'validation' in line and 'FULL' in line:
        full.update(re.findall(r'hash=([0-9a-f]{64})', line))
data = open(sys.argv[1], 'rb').read()
assert data[:8] == b'HNVTXF01', 'not a chaingen file'
off = 9 + data[8]
n = missing = 0
while off < len(data):
    (ln,) = struct.unpack('>I', data[off:off + 4])
    raw = data[off + 4:off + 4 + ln]
    off += 4 + ln
    d = json.loads(subprocess.run([sys.argv[3], 'decode', raw.hex()], check=True,
                                  capture_output=True, text=True).stdout)
    n += 1
    if d['hash'] not in full:
        missing += 1
        print('not accepted with full validation by B:', d['hash'])
print('%d vertices checked, %d not fully validated by B' % (n, missing))
sys.exit(1 if missing or n == 0 else 0)