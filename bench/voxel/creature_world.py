#!/usr/bin/env python3
"""Writes the voxel benchmarks' creature world to the path given: the gallery's creature_zebra
(examples/voxel/creature_zebra.json) with absolute paths, so it runs from any directory, and raw
output only, so the figures are the pipeline's rather than PNG encoding's. Run from the repository
root (bench/voxel/run.sh and ab.sh do)."""
import json
import os
import sys

world = json.load(open("examples/voxel/creature_zebra.json"))
base = os.path.abspath("examples/voxel")
world["meshes"]["creature"]["file"] = os.path.join(base, "creature.stl")
for shape in world["shapes"]:
    shape["fablet"] = os.path.normpath(os.path.join(base, shape["fablet"]))
world["output"] = {"raw": "creature.raw"}
json.dump(world, open(sys.argv[1], "w"))
