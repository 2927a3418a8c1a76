#!/usr/bin/env python3
"""Writes creature.stl: a closed, welded, star-shaped "creature" (a body with a head, four legs
and a tail) for the voxel gallery. Made by the project; regenerate with
    python3 examples/voxel/make_creature.py examples/voxel/creature.stl
The surface is r(d) * d over unit directions d of a latitude-longitude grid, r an ellipsoid with
Gaussian bulges; single-vertex poles keep it welded and closed. Units: mm, centred at the origin."""
import math
import struct
import sys

RADII = (13.0, 7.5, 6.0)  # body half-lengths along x, y, z
BULGES = [  # (direction, height mm, width: larger = wider)
    ((1.0, 0.0, 0.25), 4.5, 0.06),    # head
    ((-1.0, 0.0, 0.1), 5.0, 0.02),    # tail
    ((0.55, 0.65, -0.55), 5.0, 0.025),   # legs
    ((0.55, -0.65, -0.55), 5.0, 0.025),
    ((-0.55, 0.65, -0.55), 5.0, 0.025),
    ((-0.55, -0.65, -0.55), 5.0, 0.025),
    ((0.0, 0.0, 1.0), 1.5, 0.15),     # hump
]
LAT, LON = 100, 200


def normalize(v):
    n = math.sqrt(sum(c * c for c in v))
    return tuple(c / n for c in v)


BULGES = [(normalize(d), h, w) for d, h, w in BULGES]


def radius(d):
    x, y, z = d
    base = 1.0 / math.sqrt((x / RADII[0]) ** 2 + (y / RADII[1]) ** 2 + (z / RADII[2]) ** 2)
    return base + sum(h * math.exp(-(1.0 - (x * c[0] + y * c[1] + z * c[2])) / w) for c, h, w in BULGES)


def main(path):
    verts = [(0.0, 0.0, radius((0.0, 0.0, 1.0)))]
    for i in range(1, LAT):
        theta = math.pi * i / LAT
        for j in range(LON):
            phi = 2.0 * math.pi * j / LON
            d = (math.sin(theta) * math.cos(phi), math.sin(theta) * math.sin(phi), math.cos(theta))
            r = radius(d)
            verts.append(tuple(r * c for c in d))
    verts.append((0.0, 0.0, -radius((0.0, 0.0, -1.0))))
    south = len(verts) - 1

    def ring(i, j):  # vertex of latitude row i (1..LAT-1), longitude j
        return 1 + (i - 1) * LON + j % LON

    tris = []
    for j in range(LON):
        tris.append((0, ring(1, j), ring(1, j + 1)))
        tris.append((south, ring(LAT - 1, j + 1), ring(LAT - 1, j)))
    for i in range(1, LAT - 1):
        for j in range(LON):
            a, b, c, d = ring(i, j), ring(i, j + 1), ring(i + 1, j), ring(i + 1, j + 1)
            tris.append((a, c, d))
            tris.append((a, d, b))
    with open(path, "wb") as f:
        f.write(b"fabforge creature (examples/voxel/make_creature.py)".ljust(80, b" "))
        f.write(struct.pack("<I", len(tris)))
        for t in tris:
            p = [verts[k] for k in t]
            u = [p[1][k] - p[0][k] for k in range(3)]
            v = [p[2][k] - p[0][k] for k in range(3)]
            n = normalize((u[1] * v[2] - u[2] * v[1], u[2] * v[0] - u[0] * v[2], u[0] * v[1] - u[1] * v[0]))
            f.write(struct.pack("<3f", *n))
            for q in p:
                f.write(struct.pack("<3f", *q))
            f.write(b"\0\0")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "creature.stl")
