#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""Check --json output against docs/json.schema.json.

    json_check.py [--coverage] SCHEMA FILE...

Each FILE holds the lines tpkit printed under --json (tests/run.sh has
every tpkit of a test copy its lines to one, TPKIT_JSON_COPY); a FILE's
name up to its first '.' names the test. Every line must parse as JSON and
be valid against the schema. With --coverage, every event and every kind of
result the schema describes must also have been seen at least once: a part
of the schema no test prints is a part nothing checks.
"""
import json
import os
import sys

import jsonschema


def candidates(schema, obj):
    """The schema's variants that describe this line's event (and command)."""
    out = []
    for alt in schema["anyOf"]:
        name = alt["$ref"].split("/")[-1]
        d = schema["$defs"][name]
        props = d["properties"]
        if props["event"].get("const") != obj.get("event"):
            continue
        cmd = props.get("command", {})
        if "const" in cmd and cmd["const"] != obj.get("command"):
            continue
        if "enum" in cmd and obj.get("command") not in cmd["enum"]:
            continue
        out.append(name)
    return out


def main():
    args = sys.argv[1:]
    coverage = args[:1] == ["--coverage"]
    if coverage:
        args = args[1:]
    with open(args[0]) as f:
        schema = json.load(f)
    cls = jsonschema.Draft202012Validator
    cls.check_schema(schema)
    whole = cls(schema)
    variant = {}
    for alt in schema["anyOf"]:
        name = alt["$ref"].split("/")[-1]
        variant[name] = cls(dict(schema["$defs"][name], **{"$defs": schema["$defs"]}))
    seen, bad, lines, tests = {}, 0, 0, set()
    for path in args[1:]:
        test = os.path.basename(path).split(".")[0]
        with open(path, "rb") as f:
            raw = f.read()
        for n, line in enumerate(raw.splitlines(), 1):
            lines += 1
            tests.add(test)
            where = "%s line %d" % (test, n)
            try:
                obj = json.loads(line.decode("utf-8", errors="strict"))
            except (UnicodeDecodeError, ValueError) as e:
                print("BAD %s: not JSON (%s): %r" % (where, e, line[:200]))
                bad += 1
                continue
            if whole.is_valid(obj):
                for name in candidates(schema, obj):
                    if variant[name].is_valid(obj):
                        seen.setdefault(name, test)
                continue
            bad += 1
            names = candidates(schema, obj)
            print("BAD %s: %s" % (where, line.decode()[:400]))
            if not names:
                print("    no event %r%s in the schema" % (
                    obj.get("event"), " for command %r" % obj.get("command")
                    if obj.get("event") == "result" else ""))
            for name in names:
                title = schema["$defs"][name].get("title", name)
                for err in sorted(variant[name].iter_errors(obj), key=str)[:3]:
                    path_s = "/".join(str(p) for p in err.absolute_path) or "(line)"
                    print("    as %s: %s: %s" % (title, path_s, err.message))
    missing = []
    if coverage:
        for alt in schema["anyOf"]:
            name = alt["$ref"].split("/")[-1]
            if name not in seen:
                missing.append(schema["$defs"][name].get("title", name))
        for m in missing:
            print("UNSEEN %s: no test printed one" % m)
    print("%d lines from %d tests, %d invalid; %d of %d kinds of line seen" % (
        lines, len(tests), bad, len(seen), len(schema["anyOf"])))
    return 1 if bad or missing or lines == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
