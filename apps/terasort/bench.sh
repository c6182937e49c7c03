#!/usr/bin/env bash
# TeraSort benchmark, not run in CI: Volley against GNU sort on the same
# records, in one run.
#
#   flock /tmp/volley-bench.lock apps/terasort/bench.sh [RECORDS] [ROUNDS]
#
# Makes RECORDS (default 10,000,000 = 1 GiB) gensort -a records with
# teragen in one file, reads it once so every contender starts from the
# page cache, then runs ROUNDS rounds (default 5). Each round runs, one
# after the other:
#   - LC_ALL=C sort --parallel=2 on the file;
#   - volley run terasort -n 16 -g 8 on the same file (validate=true: the
#     job re-reads and checks its output before marking it complete);
#   - the same with validate=false (the job only sorts and writes);
#   - volley run terasort -n 16 -g 1 (16 containers instead of 2).
# Contenders alternate within each round (the Volley runs in a rotating
# order) because this machine's speed
# drifts by 2x over minutes (memory that has not been touched for a while
# is slow to touch again, in this VM): the ratios are taken within each
# round, and the medians over rounds are reported. Times are wall clock of
# the whole command (process start to exit). Every output is checked with
# volley teravalidate against the input's count and checksum.
set -euo pipefail
cd "$(dirname "$0")/../.."
records=${1:-10000000}
rounds=${2:-5}
work=$(mktemp -d "${TMPDIR:-/tmp}/terasort-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
v="$work/volley"
go build -o "$v" ./cmd/volley

echo "== $records records ($((records / 10000)) MB), $(nproc) cores, $rounds rounds"
"$v" teragen --records "$records" --ascii --out "$work/in"
in="$work/in/part-00000"
cat "$in" >/dev/null

now() { date +%s.%N; }
median() { sort -g | awk '{a[NR]=$1} END {if (NR == 0) print "failed"; else print a[int((NR+1)/2)]}'; }

# runonce NAME OUTPUT CMD...: runs CMD once, appends its seconds to
# NAME.times (or "failed" to NAME.round), checks OUTPUT with teravalidate
# and removes it. A failed run is reported, not fatal.
runonce() {
	local name=$1 out=$2
	shift 2
	rm -rf "$out"
	local t0 t1
	t0=$(now)
	if ! "$@" >"$work/$name.log" 2>"$work/$name.err"; then
		local keep
		keep=$(mktemp "${TMPDIR:-/tmp}/terasort-bench-$name-failed.XXXXXX")
		cat "$work/$name.err" "$work/$name.log" >"$keep"
		echo "$name: run failed (whole output kept in $keep): $(tail -c 300 "$work/$name.err")" >&2
		echo failed >"$work/$name.round"
		rm -rf "$out"
		return
	fi
	t1=$(now)
	if ! "$v" teravalidate "$out" --input "$in" >"$work/$name.valid" 2>&1; then
		echo "$name: output INVALID: $(tail -c 300 "$work/$name.valid")" >&2
		exit 1
	fi
	rm -rf "$out"
	awk -v a="$t0" -v b="$t1" 'BEGIN {printf "%.3f\n", b - a}' | tee -a "$work/$name.times" >"$work/$name.round"
}

# stages NAME: the stage times of NAME's last run.
stages() {
	python3 - "$work/$1.log" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ranks = [r["result"] for r in d["ranks"]]
stages = ["read", "sample", "partition", "shuffle", "sort", "write", "validate"]
print("  ready %.0f ms, job %.0f ms; slowest rank per stage (ms): %s; remote %.0f MiB" % (
    d["ready_ms"], d["total_ms"],
    ", ".join("%s %.0f" % (s, max(r["ms"][s] for r in ranks)) for s in stages),
    d["comm"]["sent_remote_bytes"] / 2**20))
PY
}

names=(g8 g8novalidate g1)
for r in $(seq "$rounds"); do
	runonce sort "$work/sorted.txt" env LC_ALL=C sort --parallel=2 -T "$work" -o "$work/sorted.txt" "$in"
	line="round $r: sort $(cat "$work/sort.round") s"
	# The run right after GNU sort meets the memory sort has just freed,
	# which is slow to touch again here: rotate who comes first.
	k=$(((r - 1) % ${#names[@]}))
	for name in "${names[@]:k}" "${names[@]:0:k}"; do
		case $name in
		g8) g=8 validate=true ;;
		g8novalidate) g=8 validate=false ;;
		g1) g=1 validate=true ;;
		esac
		runonce "$name" "$work/out-$name" "$v" run terasort -n 16 -g "$g" -p input="$in" -p output="$work/out-$name" -p validate="$validate" --json --quiet
		t=$(cat "$work/$name.round")
		line="$line, $name $t s"
		s=$(cat "$work/sort.round")
		if [ "$t" != failed ] && [ "$s" != failed ]; then
			awk -v a="$s" -v b="$t" 'BEGIN {printf "%.3f\n", a / b}' >>"$work/$name.ratios"
		fi
	done
	echo "$line" >&2
done
for name in "${names[@]}"; do
	[ -s "$work/$name.times" ] && echo "$name:" && stages "$name"
done

fails() { local n; n=$(grep -c . "$work/$1.times" 2>/dev/null || true); echo $((rounds - ${n:-0})); }
printf '\n%-36s %8s %12s %7s\n' "" "median s" "sort/this" "failed"
printf '%-36s %8s %12s %7s\n' "LC_ALL=C sort --parallel=2" "$(median <"$work/sort.times")" "1.00x" "$(fails sort)"
for cfg in "g8:volley -n 16 -g 8" "g8novalidate:volley -n 16 -g 8, validate=false" "g1:volley -n 16 -g 1"; do
	name=${cfg%%:*}
	ratios=$(touch "$work/$name.ratios"; median <"$work/$name.ratios")
	printf '%-36s %8s %12s %7s\n' "${cfg#*:}" "$(touch "$work/$name.times"; median <"$work/$name.times")" "${ratios}x" "$(fails "$name")"
done
echo "(sort/this: the median over rounds of the ratio within a round; per-round ratios:"
for name in "${names[@]}"; do echo "  $name: $(tr '\n' ' ' <"$work/$name.ratios")"; done
echo ")"
