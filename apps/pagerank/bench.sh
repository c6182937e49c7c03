#!/usr/bin/env bash
# PageRank benchmark (not run in CI). On one R-MAT graph of about 1M edges
# it measures:
#   1. bytes sent between containers during the iterations, 16 workers,
#      g=8 (2 containers) against g=1 (16 containers);
#   2. end-to-end time of `volley run pagerank` (16 workers, g=8) against
#      python3-igraph's PageRank (PRPACK) on the same edge list, both
#      reading the file and writing a rank file, and the L1 distance
#      between the two rank vectors.
# Run it alone:  flock /tmp/volley-bench.lock apps/pagerank/bench.sh
# Knobs: SCALE (16), EDGE_FACTOR (16), REPS (3), WORKERS (16), G (8).
set -euo pipefail

SCALE=${SCALE:-16}
EDGE_FACTOR=${EDGE_FACTOR:-16}
REPS=${REPS:-3}
WORKERS=${WORKERS:-16}
G=${G:-8}
TOL=1e-10
ITERATIONS=200
PY=/usr/bin/python3 # Debian's python, where python3-igraph installs

root=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

if ! "$PY" -c 'import igraph' 2>/dev/null; then
	echo "installing python3-igraph (Debian package)..." >&2
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-igraph >&2
fi

(cd "$root" && go build -o "$work/volley" ./cmd/volley)
"$work/volley" graphgen --scale "$SCALE" --edge-factor "$EDGE_FACTOR" --seed 1 --out "$work/g.txt" >&2
# igraph's Read_Edgelist takes no comment lines.
grep -v '^#' "$work/g.txt" >"$work/g.el"

now() { date +%s.%N; }

# volley_run G REP: one run, its --json in $work/v-G-REP.json, its wall
# time appended to $work/wall-G.
volley_run() {
	local g=$1 rep=$2 out="$work/ranks-$1-$2.txt" t0 t1
	t0=$(now)
	"$work/volley" run pagerank -n "$WORKERS" -g "$g" -p graph="$work/g.txt" \
		-p iterations=$ITERATIONS -p tol=$TOL -p out="$out" --json >"$work/v-$g-$rep.json"
	t1=$(now)
	echo "$t1 - $t0" | bc >>"$work/wall-$g"
}

cat >"$work/igraph_pr.py" <<'PYEOF'
import sys, time
t0 = time.perf_counter()
import igraph
t1 = time.perf_counter()
g = igraph.Graph.Read_Edgelist(sys.argv[1], directed=True)
t2 = time.perf_counter()
pr = g.pagerank(directed=True, damping=0.85)
t3 = time.perf_counter()
with open(sys.argv[2], "w") as f:
    f.writelines("%d %r\n" % (v, r) for v, r in enumerate(pr))
t4 = time.perf_counter()
print("%f %f %f %f %d %d" % (t1 - t0, t2 - t1, t3 - t2, t4 - t3, g.vcount(), g.ecount()))
PYEOF

igraph_run() {
	local rep=$1 t0 t1
	t0=$(now)
	"$PY" "$work/igraph_pr.py" "$work/g.el" "$work/igraph-$rep.txt" >>"$work/igraph-phases"
	t1=$(now)
	echo "$t1 - $t0" | bc >>"$work/wall-igraph"
}

for rep in $(seq "$REPS"); do
	volley_run 1 "$rep"
	volley_run "$G" "$rep"
	igraph_run "$rep"
done

"$PY" - "$work" "$REPS" "$G" "$WORKERS" <<'PYEOF'
import json, statistics, sys
work, reps, G, N = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
med = statistics.median

def runs(g):
    out = []
    for rep in range(1, reps + 1):
        d = json.load(open(f"{work}/v-{g}-{rep}.json"))
        r0 = d["ranks"][0]["result"]
        out.append(dict(
            iter_remote=sum(r["result"]["iter_remote_bytes"] for r in d["ranks"]),
            iter_local=sum(r["result"]["iter_local_bytes"] for r in d["ranks"]),
            job_remote=d["comm"]["sent_remote_bytes"], containers=d["containers"],
            iterations=r0["iterations"], vertices=r0["vertices"], edges=r0["edges"],
            total_ms=d["total_ms"], ready_ms=d["ready_ms"], load_ms=r0["load_ms"],
            setup_ms=r0["setup_ms"], iterate_ms=r0["iterate_ms"], output_ms=r0["output_ms"]))
    walls = [float(x) for x in open(f"{work}/wall-{g}")]
    return out, walls

def ranks(path):
    return [float(l.split()[1]) for l in open(path)]

v1, w1 = runs(1)
vg, wg = runs(G)
ig = [list(map(float, l.split())) for l in open(f"{work}/igraph-phases")]
wi = [float(x) for x in open(f"{work}/wall-igraph")]
a = vg[0]
print(f"graph: R-MAT, {a['vertices']} vertices, {a['edges']} edges; {N} workers; "
      f"{a['iterations']} iterations to L1 change < 1e-10; median of {reps} runs")
print()
print("bytes between containers (comm counters, summed over ranks)")
print(f"{'g':>3} {'containers':>10} {'iterations MB':>14} {'per iter KB':>12} {'whole job MB':>13} {'in-container MB':>16}")
for g, v in ((1, v1), (G, vg)):
    x = v[0]
    print(f"{g:>3} {x['containers']:>10} {x['iter_remote']/1e6:>14.2f} {x['iter_remote']/x['iterations']/1e3:>12.1f} "
          f"{x['job_remote']/1e6:>13.2f} {x['iter_local']/1e6:>16.2f}")
r_iter = vg[0]["iter_remote"] / v1[0]["iter_remote"]
r_job = vg[0]["job_remote"] / v1[0]["job_remote"]
print(f"g={G} / g=1: {100*r_iter:.1f}% of the remote bytes in the iterations, {100*r_job:.1f}% over the whole job")
print()
print("time, seconds (wall = the whole command: start, read, rank, write the rank file)")
print(f"{'':>22} {'wall':>6} {'read':>6} {'rank':>6} {'write':>6}")
for g, v, w in ((1, v1, w1), (G, vg, wg)):
    print(f"{'volley g=%d' % g:>22} {med(w):>6.2f} {med(x['load_ms']+x['setup_ms'] for x in v)/1e3:>6.2f} "
          f"{med(x['iterate_ms'] for x in v)/1e3:>6.2f} {med(x['output_ms'] for x in v)/1e3:>6.2f}"
          f"   (containers ready after {med(x['ready_ms'] for x in v)/1e3:.2f})")
print(f"{'python3-igraph':>22} {med(wi):>6.2f} {med(x[1] for x in ig):>6.2f} {med(x[2] for x in ig):>6.2f} "
      f"{med(x[3] for x in ig):>6.2f}   (import igraph {med(x[0] for x in ig):.2f})")
print(f"igraph wall / volley g={G} wall: {med(wi)/med(wg):.2f}x; "
      f"igraph read+rank / volley g={G} read+rank: "
      f"{med(x[1]+x[2] for x in ig)/med((x['load_ms']+x['setup_ms']+x['iterate_ms'])/1e3 for x in vg):.2f}x")
vr, ir = ranks(f"{work}/ranks-{G}-1.txt"), ranks(f"{work}/igraph-1.txt")
v1r = ranks(f"{work}/ranks-1-1.txt")
l1 = sum(abs(x - y) for x, y in zip(vr, ir))
print()
print(f"rank vectors: L1(volley g={G}, igraph) = {l1:.3g} over {len(vr)} vertices (igraph {len(ir)}); "
      f"L1(volley g={G}, volley g=1) = {sum(abs(x - y) for x, y in zip(vr, v1r)):.3g}")
PYEOF
