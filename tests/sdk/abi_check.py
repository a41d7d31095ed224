#!/usr/bin/env python3
"""abi_check.py: fails when the plugin ABI breaks without a major bump.

  abi_check.py BASELINE_DIR CURRENT_XML INCLUDE_DIR

BASELINE_DIR holds, per ABI major N, abi-N.xml (abidw of
tests/sdk/abi_probe.c built from the headers of release N.0) and
abi-N.defines (the numeric #defines of those headers).  CURRENT_XML is the
abidw dump of the probe built from INCLUDE_DIR, whose hathor/plugin.h
gives the current HATHOR_ABI_MAJOR.MINOR.

Within one major (docs/plugin-abi.md "Versioning") the check refuses:
  - a struct, enum, typedef or function type of the baseline removed or
    changed: a member moved, resized, retyped or renamed, an enumerator's
    value changed, a #define's value changed;
  - a struct growing unless it is a size-prefixed table (its first member
    is "size" or "struct_size") and the new members come after all the
    old ones; result structs (no size prefix) are frozen;
  - any addition without a minor bump over the baseline's minor.
A newer major than every baseline passes (breaking is what a major is
for) and says a baseline should be added.  Exit 0 ok, 1 refused, 2 usage.
"""
import os
import re
import sys
import xml.etree.ElementTree as ET


def read_version(include_dir):
    text = open(os.path.join(include_dir, "hathor", "plugin.h")).read()
    major = int(re.search(r"^#define HATHOR_ABI_MAJOR (\d+)", text, re.M)[1])
    minor = int(re.search(r"^#define HATHOR_ABI_MINOR (\d+)", text, re.M)[1])
    return major, minor


def read_defines(include_dir):
    out = {}
    for h in sorted(os.listdir(os.path.join(include_dir, "hathor"))):
        if not h.endswith(".h"):
            continue
        for m in re.finditer(r"^#define (HATHOR_[A-Z0-9_]+)\s+(-?(?:0x)?[0-9a-fA-F]+u?)\b",
                             open(os.path.join(include_dir, "hathor", h)).read(),
                             re.M):
            out[m[1]] = m[2]
    out.pop("HATHOR_ABI_MINOR", None)
    return out


class Dump:
    """Named types of one abidw dump, with member types as strings."""

    def __init__(self, path):
        root = ET.parse(path).getroot()
        self.by_id = {}
        for el in root.iter():
            if "id" in el.attrib:
                self.by_id[el.attrib["id"]] = el
        self.structs, self.enums, self.typedefs = {}, {}, {}
        for el in root.iter():
            tag, name = el.tag, el.attrib.get("name", "")
            if not name.startswith("hathor_"):
                continue
            if tag in ("class-decl", "union-decl"):
                if el.attrib.get("is-declaration-only") == "yes":
                    self.structs.setdefault(name, None)
                    continue
                members = []
                for dm in el.findall("data-member"):
                    var = dm.find("var-decl")
                    members.append((var.attrib["name"],
                                    int(dm.attrib.get("layout-offset-in-bits", 0)),
                                    self.type_str(var.attrib["type-id"])))
                self.structs[name] = (int(el.attrib.get("size-in-bits", 0)),
                                      members)
            elif tag == "enum-decl":
                self.enums[name] = {e.attrib["name"]: e.attrib["value"]
                                    for e in el.findall("enumerator")}
            elif tag == "typedef-decl":
                self.typedefs[name] = self.type_str(el.attrib["type-id"])

    def type_str(self, tid, depth=0):
        el = self.by_id.get(tid)
        if el is None or depth > 12:
            return "?"
        t, a = el.tag, el.attrib
        if t == "type-decl":
            return a["name"]
        if t in ("class-decl", "union-decl"):
            return ("union " if t == "union-decl" else "struct ") + a.get("name", "?")
        if t == "enum-decl":
            return "enum " + a.get("name", "?")
        if t == "typedef-decl":
            return a["name"]
        if t == "pointer-type-def":
            return self.type_str(a["type-id"], depth + 1) + "*"
        if t == "qualified-type-def":
            q = " ".join(k for k in ("const", "volatile", "restrict")
                         if a.get(k) == "yes")
            return q + " " + self.type_str(a["type-id"], depth + 1)
        if t == "array-type-def":
            dims = "".join("[%s]" % s.attrib.get("length", "")
                           for s in el.findall("subrange"))
            return self.type_str(a["type-id"], depth + 1) + dims
        if t == "function-type":
            ps = [self.type_str(p.attrib["type-id"], depth + 1)
                  if "type-id" in p.attrib else "..."
                  for p in el.findall("parameter")]
            r = el.find("return")
            rs = self.type_str(r.attrib["type-id"], depth + 1) if r is not None else "void"
            return "%s(%s)" % (rs, ", ".join(ps))
        return t


def compare(base, cur, bdef, cdef):
    """(breaks, additions) as lists of strings."""
    breaks, adds = [], []
    for name, b in sorted(base.structs.items()):
        if name not in cur.structs:
            breaks.append("struct %s removed" % name)
            continue
        c = cur.structs[name]
        if b is None:
            continue            # opaque in the baseline
        if c is None:
            breaks.append("struct %s became opaque" % name)
            continue
        bsize, bmem = b
        csize, cmem = c
        cby = {m[0]: m for m in cmem}
        for mname, off, ts in bmem:
            if mname not in cby:
                breaks.append("struct %s: member %s removed or renamed" % (name, mname))
                continue
            _, coff, cts = cby[mname]
            if coff != off:
                breaks.append("struct %s: member %s moved from bit %d to %d"
                              % (name, mname, off, coff))
            if cts != ts:
                breaks.append("struct %s: member %s changed type: %s -> %s"
                              % (name, mname, ts, cts))
        old = {m[0] for m in bmem}
        new = [m for m in cmem if m[0] not in old]
        if csize < bsize:
            breaks.append("struct %s shrank from %d to %d bytes"
                          % (name, bsize // 8, csize // 8))
        elif csize > bsize or new:
            table = bmem and bmem[0][0] in ("size", "struct_size")
            if not table:
                breaks.append("struct %s grew from %d to %d bytes: it has no "
                              "size prefix (frozen within a major)"
                              % (name, bsize // 8, csize // 8))
            else:
                # After the old size: an old host's size covers the old
                # tail padding, so HATHOR_HAS would see a member there.
                for mname, off, _ in new:
                    if off < bsize:
                        breaks.append("struct %s: new member %s at bit %d, "
                                      "inside the old %d bytes"
                                      % (name, mname, off, bsize // 8))
                adds.append("struct %s: %s appended"
                            % (name, ", ".join(m[0] for m in new) or "padding"))
    for name in sorted(set(cur.structs) - set(base.structs)):
        adds.append("struct %s added" % name)
    for name, be in sorted(base.enums.items()):
        ce = cur.enums.get(name)
        if ce is None:
            breaks.append("enum %s removed" % name)
            continue
        for k, v in be.items():
            if k not in ce:
                breaks.append("enum %s: %s removed" % (name, k))
            elif ce[k] != v:
                breaks.append("enum %s: %s changed value %s -> %s"
                              % (name, k, v, ce[k]))
        extra = sorted(set(ce) - set(be))
        if extra:
            adds.append("enum %s: %s added" % (name, ", ".join(extra)))
    for name in sorted(set(cur.enums) - set(base.enums)):
        adds.append("enum %s added" % name)
    for name, ts in sorted(base.typedefs.items()):
        if name not in cur.typedefs:
            breaks.append("typedef %s removed" % name)
        elif cur.typedefs[name] != ts:
            breaks.append("typedef %s changed: %s -> %s"
                          % (name, ts, cur.typedefs[name]))
    for name in sorted(set(cur.typedefs) - set(base.typedefs)):
        adds.append("typedef %s added" % name)
    for k, v in sorted(bdef.items()):
        if k == "HATHOR_ABI_MAJOR":
            continue
        if k not in cdef:
            breaks.append("#define %s removed" % k)
        elif cdef[k] != v:
            breaks.append("#define %s changed %s -> %s" % (k, v, cdef[k]))
    extra = sorted(set(cdef) - set(bdef))
    if extra:
        adds.append("#define %s added" % ", ".join(extra))
    return breaks, adds


def main(argv):
    if len(argv) == 3 and argv[1] == "--defines":
        # the baseline's abi-N.defines
        major, minor = read_version(argv[2])
        print("# #defines of the ABI %d.%d headers (tests/sdk/abi_check.sh "
              "baseline)" % (major, minor))
        for k, v in sorted(read_defines(argv[2]).items()):
            print("%s=%s" % (k, v))
        print("HATHOR_ABI_MINOR_BASE=%d" % minor)
        return 0
    if len(argv) != 4:
        print(__doc__, file=sys.stderr)
        return 2
    bdir, cur_xml, inc = argv[1:]
    major, minor = read_version(inc)
    majors = sorted(int(m[1]) for f in os.listdir(bdir)
                    for m in [re.fullmatch(r"abi-(\d+)\.xml", f)] if m)
    if not majors:
        print("abi_check: no baseline in %s" % bdir, file=sys.stderr)
        return 2
    if major > majors[-1]:
        print("abi_check: ABI %d.%d is a new major (baselines: %s): breaking "
              "changes are allowed; add %s/abi-%d.xml and abi-%d.defines at "
              "its release (tests/sdk/abi_check.sh baseline)"
              % (major, minor, majors, bdir, major, major))
        return 0
    if major not in majors:
        print("abi_check: FAIL: ABI major %d is older than or missing among "
              "the baselines %s" % (major, majors))
        return 1
    base = Dump(os.path.join(bdir, "abi-%d.xml" % major))
    cur = Dump(cur_xml)
    bdef = dict(l.strip().split("=", 1) for l in
                open(os.path.join(bdir, "abi-%d.defines" % major))
                if "=" in l and not l.startswith("#"))
    bminor = int(bdef.pop("HATHOR_ABI_MINOR_BASE", "0"))
    breaks, adds = compare(base, cur, bdef, read_defines(inc))
    for a in adds:
        print("abi_check: addition: %s" % a)
    if not adds and minor > bminor:
        print("abi_check: note: minor %d with nothing added over %d.%d"
              % (minor, major, bminor))
    if breaks:
        for b in breaks:
            print("abi_check: BREAK: %s" % b)
        print("abi_check: FAIL: %d incompatible change(s) within ABI major %d "
              "(%d.%d): bump HATHOR_ABI_MAJOR or undo them"
              % (len(breaks), major, major, minor))
        return 1
    if adds and minor <= bminor:
        print("abi_check: FAIL: %d addition(s) but HATHOR_ABI_MINOR is still "
              "%d (baseline %d.%d): bump the minor"
              % (len(adds), minor, major, bminor))
        return 1
    print("abi_check: ok: ABI %d.%d compatible with the %d.%d baseline "
          "(%d structs, %d enums, %d typedefs; %d addition(s))"
          % (major, minor, major, bminor, len(cur.structs), len(cur.enums),
             len(cur.typedefs), len(adds)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
