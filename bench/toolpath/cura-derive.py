#!/usr/bin/env python3
"""Computes the CuraEngine settings that Cura's front end would derive from bench/toolpath/cura.settings.

CuraEngine reads only each setting's default_value from fdmprinter.def.json; the front end
evaluates every setting's "value" expression (e.g. infill_line_distance from infill_line_width and
infill_sparse_density) and sends the results. This script does the same evaluation for the
settings given in the file and prints, as key=value lines, every derived setting whose value
differs from its default_value. Run by hand after changing cura.settings (the benchmark itself
does not need Python):

    python3 bench/toolpath/cura-derive.py bench/toolpath/cura.settings           # print
    python3 bench/toolpath/cura-derive.py --update bench/toolpath/cura.settings  # rewrite the block

The derived block starts at the line "# --- derived" and ends before "[extruder 0]" (or at the
end of the file); its lines are not read as given settings.
"""
import json
import math
import sys

MARKER = "# --- derived"
EXTRUDER = "[extruder 0]"
DEFINITIONS = "/usr/share/cura/resources/definitions"

nodes = {}  # setting key -> its definition (type, default_value, value, ...)


def flatten(tree):
    for key, node in tree.items():
        nodes[key] = node
        flatten(node.get("children", {}))


def typed(key, v):
    """A setting's value as the front end's expressions see it (numbers, booleans, strings)."""
    t = nodes[key].get("type")
    integer = t in ("int", "extruder", "optional_extruder")
    if isinstance(v, str):
        if t == "bool":
            return v.strip().lower() in ("true", "1", "yes", "on")
        if integer:
            return int(float(v))
        if t == "float":
            return float(v)
        return v
    if integer and not isinstance(v, bool):
        return int(v)
    if t == "float":
        return float(v)
    return v


def text(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def split_file(lines):
    """(given lines, index of the marker or None, index where the derived block ends)."""
    start = next((i for i, l in enumerate(lines) if l.startswith(MARKER)), None)
    if start is None:
        return lines, None, None
    end = next((i for i in range(start + 1, len(lines)) if lines[i].strip() == EXTRUDER), len(lines))
    return lines[:start] + lines[end:], start, end


def derive(given_lines):
    given = {}
    for line in given_lines:
        line = line.strip()
        if not line or line.startswith("#") or line.startswith("["):
            continue
        key, _, value = line.partition("=")
        if key not in nodes:
            sys.exit(f"cura-derive.py: unknown setting {key!r}")
        given[key] = typed(key, value)

    cache = {}

    class Names(dict):
        """Resolves the names in an expression to other settings' values, lazily."""

        def __missing__(self, key):
            return value(key)

    def value(key):
        if key in given:
            return given[key]
        if key not in cache:
            node = nodes[key]
            expr = node.get("value")
            raw = eval(str(expr), scope, Names()) if expr is not None else node.get("default_value")
            cache[key] = typed(key, raw)
        return cache[key]

    # One extruder: every per-extruder lookup returns the setting itself.
    scope = {
        "math": math,
        "extruderValue": lambda extruder, key: value(key),
        "extruderValues": lambda key: [value(key)],
        "resolveOrValue": value,
        "defaultExtruderPosition": lambda: "0",
    }
    out = []
    for key in sorted(nodes):
        if key in given or "value" not in nodes[key]:
            continue
        derived = text(value(key))
        if derived != text(typed(key, nodes[key].get("default_value"))):
            out.append(f"{key}={derived}\n")
    return out


def main():
    args = sys.argv[1:]
    update = bool(args) and args[0] == "--update"
    if update:
        args = args[1:]
    if len(args) not in (1, 2):
        sys.exit("usage: cura-derive.py [--update] SETTINGS [DEFINITIONS_DIR]")
    definitions = args[1] if len(args) > 1 else DEFINITIONS
    for name in ("fdmprinter.def.json", "fdmextruder.def.json"):
        with open(f"{definitions}/{name}") as f:
            flatten(json.load(f)["settings"])
    with open(args[0]) as f:
        lines = f.readlines()
    given, start, end = split_file(lines)
    derived = derive(given)
    if not update:
        sys.stdout.writelines(derived)
        return
    if start is None:
        sys.exit(f"cura-derive.py: {args[0]} has no line starting with {MARKER!r}")
    tail = lines[end:]
    block = [lines[start]] + derived + (["\n"] if tail else [])
    with open(args[0], "w") as f:
        f.writelines(lines[:start] + block + tail)


if __name__ == "__main__":
    main()
