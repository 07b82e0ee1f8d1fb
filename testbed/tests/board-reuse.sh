#!/usr/bin/env bash
# Nothing leaks from one scenario to the next on a kept board (issue 12,
# row 7; docs/scenarios.md "Boards kept between scenarios"). A set of
# scenarios, some of which leave state behind on purpose (mappings and
# cached translations, engines' buffers full, RAM and tables written,
# records left unread and dropped, a corrupted table, a service killed),
# is played once each alone on a fresh board, then twice over in three
# orders on kept boards (--jobs 1 and 2). Every run's result (pass or fail
# and its message, each DMA's outcome, every fault record; RAM where a
# scenario checks it, through its pass) must equal the fresh run's, and
# the reused runs must have been played on reset boards. Then the same
# with each step of the reset left out (SMMU_BOARD_RESET_SKIP): the
# comparison must fail, or the test could not see that leak.
# Usage: board-reuse.sh BUILD_DIR SOURCE_DIR      (starts q35-vtd and virt-smmuv3 boards)
set -uo pipefail
build=$1 src=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
trap 'exit 1' TERM INT HUP # so that the EXIT trap cleans up on a timeout too
fail() { echo "board-reuse.sh: $*" >&2; exit 1; }
scn=$build/testbed/smmu-scenario
set_files=(
    "$src/testbed/tests/reuse/leave-behind.scn"
    "$src/testbed/tests/reuse/leave-faults.scn"
    "$src/testbed/tests/reuse/expect-clean.scn"
    "$src/testbed/tests/reuse/fresh-asked.scn"
    "$src/scenarios/host/map-unmap.scn"
    "$src/scenarios/host/startup-mapping.scn"
    "$src/scenarios/faults/queue-dropped.scn"
    "$src/scenarios/dss/corrupt-table.scn"
    "$src/scenarios/dss/stop-kill.scn"
    "$src/scenarios/rogue/storm-one-device.scn"
)
for f in "${set_files[@]}"; do [ -f "$f" ] || fail "missing scenario $f"; done

# One line per run, what must not depend on the board's past: without its
# time and without whether its board was reused; sorted by name and board.
results() { # EVENTS
    grep '"event":"scenario"' "$1" | sed -E 's/"seconds":[0-9.]+,//; s/"board_reused":(true|false),//' | sort
}

"$scn" --fresh-boards --tap --events "$scratch/fresh.jsonl" "${set_files[@]}" >"$scratch/fresh.tap" ||
    { cat "$scratch/fresh.tap"; fail "the set does not pass on fresh boards"; }
results "$scratch/fresh.jsonl" >"$scratch/fresh.txt"
n=$(wc -l <"$scratch/fresh.txt")
[ "$n" -ge 16 ] || fail "expected at least 16 runs on fresh boards, got $n"
grep -q '"board_reused":true' "$scratch/fresh.jsonl" && fail "--fresh-boards played a run on a reused board"

# the set twice over: every scenario follows others on the same board
for run in "1 1" "2 1" "3 2"; do
    read -r seed jobs <<<"$run"
    "$scn" --seed "$seed" --jobs "$jobs" --tap --events "$scratch/reuse.jsonl" "${set_files[@]}" "${set_files[@]}" \
        >"$scratch/reuse.tap"
    reused=$(grep -c '"board_reused":true' "$scratch/reuse.jsonl")
    # board-fresh: never a kept board
    grep '"name":"reuse/fresh-asked"' "$scratch/reuse.jsonl" | grep -q '"board_reused":true' &&
        fail "seed $seed, jobs $jobs: reuse/fresh-asked (board-fresh) played on a kept board"
    [ "$reused" -ge $((n - 2)) ] || fail "seed $seed, jobs $jobs: only $reused of $((2 * n)) runs were on a kept board"
    results "$scratch/reuse.jsonl" >"$scratch/reuse.txt"
    # each run twice: once per copy of the set
    sed 'p' "$scratch/fresh.txt" >"$scratch/fresh2.txt"
    if ! diff "$scratch/fresh2.txt" "$scratch/reuse.txt" >"$scratch/diff"; then
        head -c 3000 "$scratch/diff" >&2
        fail "seed $seed, jobs $jobs: runs on kept boards differ from the same runs on fresh boards (above: < fresh, > kept)"
    fi
    echo "ok: seed $seed, jobs $jobs: $((2 * n)) runs, $reused on kept boards, each as on a fresh board"
done

# The test sees each leak: a reset that leaves out RAM or the engines' buffers
for skip in ram edu; do
    SMMU_BOARD_RESET_SKIP=$skip "$scn" --seed 1 --tap --events "$scratch/skip.jsonl" "${set_files[@]}" "${set_files[@]}" \
        >"$scratch/skip.tap"
    results "$scratch/skip.jsonl" >"$scratch/skip.txt"
    sed 'p' "$scratch/fresh.txt" >"$scratch/fresh2.txt"
    diff -q "$scratch/fresh2.txt" "$scratch/skip.txt" >/dev/null &&
        fail "a reset without its '$skip' step went unnoticed: the test cannot see that leak"
    echo "ok: a reset without its '$skip' step is caught"
done
exit 0
