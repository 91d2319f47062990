#!/usr/bin/env python3
"""Writes src/acl/catalog.rs, redlite's command catalog, from Redis 7.0.15's command
JSON files (redis/src/commands/*.json). Not part of the build: run it once by hand when
the reference version changes, then `cargo fmt` leaves the output alone (it is marked
`#[rustfmt::skip]`).

    python3 benches/gen_catalog.py /work/redis-src/src/commands > src/acl/catalog.rs

What it does is what Redis's utils/generate-command-code.py and server.c do with the
same files, written as data instead of code:
- commands flagged ONLY_SENTINEL are left out (a plain redis-server does not have them);
- subcommands follow their container, both sorted by name;
- the ACL categories are the explicit ones plus those `setImplicitACLCategories`
  derives from the flags;
- the legacy (first key, last key, step) triple and the `movablekeys` flag are derived
  from the key specs as `populateCommandLegacyRangeSpec` does;
- argument names are lowercased and tokens uppercased, as the generated commands.c has
  them.
"""
import glob
import json
import os
import sys

CATEGORIES = ["keyspace", "read", "write", "set", "sortedset", "list", "hash", "string",
              "bitmap", "hyperloglog", "geo", "stream", "pubsub", "admin", "fast", "slow",
              "blocking", "dangerous", "connection", "transaction", "scripting"]
ARG_TYPES = {"string": "STRING", "integer": "INTEGER", "double": "DOUBLE", "key": "KEY",
             "pattern": "PATTERN", "unix-time": "UNIX_TIME", "pure-token": "PURE_TOKEN",
             "oneof": "ONEOF", "block": "BLOCK"}


def cat_bit(name):
    return 1 << CATEGORIES.index(name.lower())


def c_value(s):
    """What Redis's generated commands.c makes of a JSON string: it is pasted between
    double quotes as C source, so `""` (MIGRATE's empty-string token) becomes two
    adjacent empty literals, an empty string."""
    text, out, inside, i = '"%s"' % s.replace("\n", "\\n"), "", False, 0
    while i < len(text):
        c = text[i]
        if c == '"':
            inside = not inside
        elif inside and c == "\\":
            i += 1
            out += {"n": "\n", "t": "\t"}.get(text[i], text[i])
        elif inside:
            out += c
        i += 1
    return out


def q(s):
    """A Rust string literal of what Redis serves for a JSON string."""
    return json.dumps(c_value(s), ensure_ascii=False)


def categories(d):
    flags = d.get("command_flags", [])
    mask = 0
    for c in d.get("acl_categories", []):
        mask |= cat_bit(c)
    if "WRITE" in flags:
        mask |= cat_bit("write")
    if "READONLY" in flags and not mask & cat_bit("scripting"):
        mask |= cat_bit("read")
    if "ADMIN" in flags:
        mask |= cat_bit("admin") | cat_bit("dangerous")
    if "PUBSUB" in flags:
        mask |= cat_bit("pubsub")
    if "FAST" in flags:
        mask |= cat_bit("fast")
    if "BLOCKING" in flags:
        mask |= cat_bit("blocking")
    if not mask & cat_bit("fast"):
        mask |= cat_bit("slow")
    return mask


def legacy_range(specs):
    """(first, last, step, movablekeys), as populateCommandLegacyRangeSpec."""
    if not specs:
        return (0, 0, 0, False)

    def is_range(s):
        return "index" in s["begin_search"] and "range" in s["find_keys"]

    if len(specs) == 1 and is_range(specs[0]):
        s = specs[0]
        pos, last = s["begin_search"]["index"]["pos"], s["find_keys"]["range"]["lastkey"]
        return (pos, last + pos if last >= 0 else last, s["find_keys"]["range"]["step"],
                "INCOMPLETE" in s["flags"])
    movable = False
    first, last, prev_last = None, 0, 0
    for s in specs:
        if not is_range(s):
            movable = True
            continue
        pos, r = s["begin_search"]["index"]["pos"], s["find_keys"]["range"]
        if r["step"] != 1 or (prev_last and prev_last != pos - 1):
            movable = True
            continue
        if "INCOMPLETE" in s["flags"]:
            movable = True
        first = pos if first is None else min(first, pos)
        abs_last = r["lastkey"] + pos if r["lastkey"] >= 0 else r["lastkey"]
        # Redis compares as unsigned: a negative lastkey wins.
        last = max(last % (1 << 32), abs_last % (1 << 32))
        last = last - (1 << 32) if last >= 1 << 31 else last
        prev_last = last
    if first is None:
        return (0, 0, 0, True)
    return (first, last, 1, movable)


def key_spec(s):
    bs, fk = s["begin_search"], s["find_keys"]
    if "index" in bs:
        begin = "Begin::Index(%d)" % bs["index"]["pos"]
    elif "keyword" in bs:
        begin = "Begin::Keyword(%s, %d)" % (q(bs["keyword"]["keyword"]),
                                            bs["keyword"]["startfrom"])
    else:
        begin = "Begin::Unknown"
    if "range" in fk:
        r = fk["range"]
        find = "Find::Range(%d, %d, %d)" % (r["lastkey"], r["step"], r["limit"])
    elif "keynum" in fk:
        k = fk["keynum"]
        find = "Find::Keynum(%d, %d, %d)" % (k["keynumidx"], k["firstkey"], k["step"])
    else:
        find = "Find::Unknown"
    flags = " | ".join(s["flags"]) or "0"
    out = "ks(%s, %s, %s)" % (flags, begin, find)
    if s.get("notes"):
        out += ".notes(%s)" % q(s["notes"])
    return out


def arg(a):
    out = "a(%s, %s)" % (q(a["name"].lower()), ARG_TYPES[a["type"]])
    if "key_spec_index" in a:
        out += ".key(%d)" % a["key_spec_index"]
    if a.get("token"):
        out += ".token(%s)" % q(a["token"].upper())
    if a.get("since"):
        out += ".since(%s)" % q(a["since"])
    if a.get("deprecated_since"):
        out += ".deprecated(%s)" % q(a["deprecated_since"])
    if a.get("optional"):
        out += ".optional()"
    if a.get("multiple"):
        out += ".multiple()"
    if a.get("multiple_token"):
        out += ".multiple_token()"
    if a["type"] in ("oneof", "block"):
        out += ".args(&[%s])" % ", ".join(arg(s) for s in a["arguments"])
    return out


def spec(full, parent, d, group):
    flags = [f for f in d.get("command_flags", []) if f != "ONLY_SENTINEL"]
    first, last, step, movable = legacy_range(d.get("key_specs", []))
    if movable:
        flags.append("MOVABLEKEYS")
    out = "s(%s, %s, %d, %s, %d, (%d, %d, %d), %s, %s, %s)" % (
        q(full), parent, d["arity"], " | ".join(flags) or "0", categories(d),
        first, last, step, q(group), q(d["since"]), q(d["summary"]))
    if d.get("complexity"):
        out += ".complexity(%s)" % q(d["complexity"])
    if d.get("doc_flags"):
        out += ".doc_flags(%s)" % " | ".join("DOC_" + f for f in d["doc_flags"])
    if d.get("deprecated_since"):
        out += ".deprecated(%s)" % q(d["deprecated_since"])
    if d.get("replaced_by"):
        out += ".replaced_by(%s)" % q(d["replaced_by"])
    if d.get("history"):
        out += ".history(&[%s])" % ", ".join("(%s, %s)" % (q(s), q(c)) for s, c in d["history"])
    if d.get("command_tips"):
        out += ".tips(&[%s])" % ", ".join(q(t.lower()) for t in d["command_tips"])
    if d.get("key_specs"):
        out += ".keys(&[%s])" % ", ".join(key_spec(s) for s in d["key_specs"])
    if d.get("arguments"):
        out += ".args(&[%s])" % ", ".join(arg(a) for a in d["arguments"])
    return out


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "/work/redis-src/src/commands"
    commands, subs = {}, {}
    for path in sorted(glob.glob(os.path.join(src, "*.json"))):
        with open(path) as f:
            for name, d in json.load(f).items():
                if "ONLY_SENTINEL" in d.get("command_flags", []):
                    continue
                if d.get("container"):
                    subs.setdefault(d["container"].lower(), {})[name.lower()] = d
                else:
                    commands[name.lower()] = d
    lines = []
    for name in sorted(commands):
        d = commands[name]
        index = len(lines)
        lines.append(spec(name, "NO_PARENT", d, d["group"].replace("_", "-")))
        for sub in sorted(subs.get(name, {})):
            lines.append(spec("%s|%s" % (name, sub), str(index), subs[name][sub], d["group"].replace("_", "-")))
    print("""//! Every command and subcommand Redis 7.0.15 has (sentinel-only ones aside): arity,
//! flags, ACL categories, key specs, tips and documentation with the argument trees,
//! as data. One source for the dispatcher's arity and flags, ACL key checks, COMMAND
//! INFO, DOCS, GETKEYS and redis-cli's hints.
//!
//! Generated from Redis's `src/commands/*.json` by `benches/gen_catalog.py` (which
//! says what it derives as Redis does: implicit ACL categories, the legacy key range,
//! `movablekeys`); do not edit by hand. `tests/diff_catalog.rs` compares COMMAND INFO
//! and COMMAND DOCS of every command with a running redis-server's, byte for byte.

use super::spec::key_flags::*;
use super::spec::*;
use crate::command::flags::*;

/// Every command and subcommand, parents first, sorted by name; subcommands right after
/// their container.
#[rustfmt::skip]
pub const SPECS: &[Spec] = &[""")
    for line in lines:
        print("    %s," % line)
    print("];")


main()
