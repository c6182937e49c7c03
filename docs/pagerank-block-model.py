#!/usr/bin/env python3
"""Model of PageRank's remote values per job for a block solve inside packs.

The README's PageRank section quotes these figures. Not run in CI. Needs
Debian's python3-numpy and python3-scipy. Usage:

    volley graphgen --scale 16 --edge-factor 16 --seed 1 --out g.txt
    python3 docs/pagerank-block-model.py g.txt [PART]

PART, if given, is a 2-way partition of the vertices, one pack number per
line (gpmetis's output, 0-based vertex order), modelled as a third
placement.

For each placement of 65536 vertices over 16 ranks in P packs it counts
the values one exchange sends between packs (distinct (sending pack,
remote target) pairs) and the exchanges needed until the L1 change is
below 1e-10, for the power iteration (sweeps=1, what the job does) and
for block Jacobi with an aggregation step before each exchange and 4 or
many local sweeps after it.
"""
import sys

import numpy as np
import scipy.sparse as sp

D = 0.85
TOL = 1e-10

edges = np.loadtxt(sys.argv[1], comments="#", dtype=np.int64)
src, dst = edges[:, 0], edges[:, 1]
V = int(max(src.max(), dst.max())) + 1
deg = np.bincount(src, minlength=V).astype(float)
dangling = deg == 0
weight = np.zeros(V)
weight[~dangling] = 1 / deg[~dangling]


def matrix(mask):
    """The damped transition matrix restricted to the edges in mask."""
    return sp.csr_matrix((weight[src[mask]] * D, (dst[mask], src[mask])), shape=(V, V))


def aggregate(r, block, B, size):
    """Rescale each block's mass by the stationary vector of the blocks' flow matrix."""
    mass = np.bincount(block, weights=r, minlength=B)
    flow = np.zeros((B, B))
    np.add.at(flow, (block[dst], block[src]), D * r[src] * weight[src])
    dang = np.bincount(block[dangling], weights=r[dangling], minlength=B)
    flow += np.outer(size / V, D * dang + (1 - D) * mass)
    flow /= mass[None, :]
    vals, vecs = np.linalg.eig(flow)
    xi = np.real(vecs[:, np.argmin(abs(vals - 1))])
    return r * (xi / xi.sum() / mass)[block]


def exchanges(block, sweeps, aggregated):
    """Exchanges until the L1 change is below TOL."""
    B = block.max() + 1
    size = np.bincount(block, minlength=B).astype(float)
    same = block[src] == block[dst]
    local, remote = matrix(same), matrix(~same)
    r = np.full(V, 1 / V)
    for outer in range(1, 301):
        if aggregated:
            r = aggregate(r, block, B, size)
        from_remote = remote @ r
        dang_total = r[dangling].sum()
        dang_before = np.bincount(block[dangling], weights=r[dangling], minlength=B)
        x = r
        for _ in range(sweeps):
            dang_now = np.bincount(block[dangling], weights=x[dangling], minlength=B)
            dang_seen = dang_total - dang_before[block] + dang_now[block]
            new = (1 - D) / V + from_remote + local @ x + D * dang_seen / V
            change, x = np.abs(new - x).sum(), new
            if change < 1e-14:
                break
        change, r = np.abs(x - r).sum(), x
        if change < TOL:
            return outer
    raise RuntimeError("no convergence in 300 exchanges")


ranks = np.arange(V) % 16
placements = [("g=1, hashed (16 packs)", ranks), ("g=8, hashed (2 packs)", ranks // 8)]
if len(sys.argv) > 2:
    placements.append(("g=8, " + sys.argv[2], np.loadtxt(sys.argv[2], dtype=np.int64)))
for name, block in placements:
    cross = block[src] != block[dst]
    values = len(np.unique(block[src][cross] * V + dst[cross]))
    for sweeps, aggregated in ((1, False), (4, False), (1000, False), (4, True), (1000, True)):
        n = exchanges(block, sweeps, aggregated)
        label = "power iteration" if sweeps == 1 else f"block Jacobi, {sweeps} sweeps" + (", aggregated" if aggregated else "")
        print(f"{name:24} {label:40} {n:3} exchanges x {values} values = {n * values}")
