#!/usr/bin/env bash
# TeraSort benchmark, not run in CI: Volley against GNU sort on the same
# records, in one run.
#
#   flock /tmp/volley-bench.lock apps/terasort/bench.sh [RECORDS] [REPS]
#
# Makes RECORDS (default 10,000,000 = 1 GiB) gensort -a records with
# teragen in one file, reads it once so both contenders start from the page
# cache, then times, REPS times each (default 3, the median is reported):
#   - LC_ALL=C sort --parallel=2 on the file;
#   - volley run terasort -n 16 -g 8 on the same file (validate=true: the
#     job re-reads and checks its output before marking it complete);
#   - the same with validate=false (the job only sorts and writes);
#   - volley run terasort -n 16 -g 1 (16 containers instead of 2).
# Times are wall clock of the whole command (process start to exit). Every
# output is then checked with volley teravalidate against the input's
# count and checksum.
set -euo pipefail
cd "$(dirname "$0")/../.."
records=${1:-10000000}
reps=${2:-3}
work=$(mktemp -d "${TMPDIR:-/tmp}/terasort-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
v="$work/volley"
go build -o "$v" ./cmd/volley

echo "== $records records ($((records / 10000)) MB), $(nproc) cores, $reps runs each, median"
"$v" teragen --records "$records" --ascii --out "$work/in"
in="$work/in/part-00000"
cat "$in" >/dev/null

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }

# timeit NAME OUTPUT CMD...: runs CMD reps times (removing OUTPUT before
# each run), prints the median seconds of the runs that succeeded ("failed"
# when none did) and leaves the last good output. A failed run is reported,
# not fatal, so one starved run does not lose the others' figures.
timeit() {
	local name=$1 out=$2
	shift 2
	local ts=() failed=0
	for _ in $(seq "$reps"); do
		rm -rf "$out"
		local t0 t1
		t0=$(now)
		if ! "$@" >"$work/$name.run.log" 2>"$work/$name.err"; then
			failed=$((failed + 1))
			echo "$name: run failed: $(tail -c 300 "$work/$name.err")" >&2
			continue
		fi
		t1=$(now)
		mv "$work/$name.run.log" "$work/$name.log"
		rm -rf "$out.good"
		mv "$out" "$out.good"
		ts+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f", b - a}')")
	done
	rm -rf "$out"
	if [ -e "$out.good" ]; then
		mv "$out.good" "$out"
	fi
	if [ ${#ts[@]} -eq 0 ]; then
		echo failed >"$work/$name.median"
	else
		printf '%s\n' "${ts[@]}" | median >"$work/$name.median"
	fi
	echo "$name: runs ${ts[*]:-none} s ($failed failed), median $(cat "$work/$name.median") s" >&2
}

# ratio A B: A / B, or "-" when either failed.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (a == "failed" || b == "failed") print "-"; else printf "%.2fx", a / b}'; }

timeit sort "$work/sorted.txt" env LC_ALL=C sort --parallel=2 -T "$work" -o "$work/sorted.txt" "$in"
[ "$(cat "$work/sort.median")" = failed ] || "$v" teravalidate "$work/sorted.txt" --input "$in" | tail -1
rm -f "$work/sorted.txt"

for cfg in "g8 8 true" "g8novalidate 8 false" "g1 1 true"; do
	read -r name g validate <<<"$cfg"
	timeit "$name" "$work/out-$name" "$v" run terasort -n 16 -g "$g" -p input="$in" -p output="$work/out-$name" -p validate="$validate" --json --quiet
	if [ "$(cat "$work/$name.median")" = failed ]; then
		continue
	fi
	"$v" teravalidate "$work/out-$name" --input "$in" | tail -1
	python3 - "$work/$name.log" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ranks = [r["result"] for r in d["ranks"]]
stages = ["read", "sample", "partition", "shuffle", "sort", "write", "validate"]
print("  ready %.0f ms, job %.0f ms; slowest rank per stage (ms): %s; remote %.0f MiB" % (
    d["ready_ms"], d["total_ms"],
    ", ".join("%s %.0f" % (s, max(r["ms"][s] for r in ranks)) for s in stages),
    d["comm"]["sent_remote_bytes"] / 2**20))
PY
	rm -rf "$work/out-$name"
done

s=$(cat "$work/sort.median")
printf '\n%-36s %8s %10s\n' "" "seconds" "sort/this"
printf '%-36s %8s %10s\n' "LC_ALL=C sort --parallel=2" "$s" "1.00x"
for cfg in "g8:volley -n 16 -g 8" "g8novalidate:volley -n 16 -g 8, validate=false" "g1:volley -n 16 -g 1"; do
	name=${cfg%%:*}
	t=$(cat "$work/$name.median")
	printf '%-36s %8s %10s\n' "${cfg#*:}" "$t" "$(ratio "$s" "$t")"
done
echo "g=1 / g=8 (16 workers): $(ratio "$(cat "$work/g1.median")" "$(cat "$work/g8.median")")"
