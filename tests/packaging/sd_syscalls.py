#!/usr/bin/env python3
"""The syscalls a systemd unit's SystemCallFilter= lines allow, expanded.

    sd_syscalls.py UNIT_FILE [SYSTEMD_ANALYZE]

Reads every SystemCallFilter= line of UNIT_FILE in order, the way systemd
does (systemd.exec(5)): the first line decides the mode (a list without
"~" is an allow list: everything else is denied), later lines without "~"
add to the allow list, lines with "~" take away from it.  Groups (@name)
are expanded with `systemd-analyze syscall-filter`, recursively.  Prints
the allowed names sorted, one a line.  Exit 1 when the unit has no such
line or the first one is a deny list (not what the node's unit uses).
"""
import re
import subprocess
import sys


def groups(analyze):
    out = subprocess.run([analyze, 'syscall-filter'], check=True,
                         capture_output=True, text=True).stdout
    g, cur = {}, None
    for line in out.splitlines():
        if re.match(r'^@\S+$', line):
            cur = g.setdefault(line.strip(), [])
        elif cur is not None and line.strip() and \
                not line.strip().startswith('#'):
            cur.append(line.strip())
    return g


def expand(item, g, seen=None):
    seen = set() if seen is None else seen
    if not item.startswith('@'):
        return {item}
    if item in seen:
        return set()
    seen.add(item)
    if item not in g:
        sys.exit('unknown syscall group %s' % item)
    names = set()
    for x in g[item]:
        names |= expand(x, g, seen)
    return names


def main():
    unit = sys.argv[1]
    analyze = sys.argv[2] if len(sys.argv) > 2 else 'systemd-analyze'
    lines = [l.split('=', 1)[1].strip() for l in open(unit)
             if l.startswith('SystemCallFilter=')]
    if not lines or lines[0].startswith('~'):
        sys.exit('%s: no allow-list SystemCallFilter= line' % unit)
    g = groups(analyze)
    allowed = set()
    for l in lines:
        deny = l.startswith('~')
        names = set()
        for item in l.lstrip('~').split():
            names |= expand(item, g)
        if deny:
            allowed -= names
        else:
            allowed |= names
    print('\n'.join(sorted(allowed)))


main()
