#!/usr/bin/env bash
# The runner says why a DMA was blocked: the hardware's code with its name
# beside it ("reason 0x1 (root-entry-not-present)" on VT-d, "reason 0x10
# (F_TRANSLATION)" on SMMUv3), not just a number,
#  1. in scripts/demo's narration: runs what scripts/demo runs (the demo
#     suite, narrated, in file order) without its set-up and build steps;
#  2. in the progress line of a failure: a write the scenario expected to go
#     through, into a read-only mapping, fails with the IOMMU's record.
# The names come from smmu-client's record lines (reason-name=); a build
# whose smmu-client does not print them yet can only show the codes: then
# this checks that much, that no name is made up, and reports a skip.
# Usage: reason-names.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$1 src=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
trap 'exit 1' TERM INT HUP # so that the EXIT trap cleans up on a timeout too
fail() { echo "reason-names.sh: $*" >&2; exit 1; }

# 1. the demo, narrated
grep -q 'smmu-scenario --narrate --seed 0 .*scenarios/demo' "$src/scripts/demo" ||
  fail "scripts/demo no longer runs 'smmu-scenario --narrate --seed 0 ... scenarios/demo': bring this test in line"
timeout 600 "$build/testbed/smmu-scenario" --narrate --seed 0 --html "$scratch/demo.html" "$src/scenarios/demo" \
  >"$scratch/out" 2>&1
rc=$?
[ $rc -eq 0 ] || fail "the demo failed (exit $rc): $(tail -n 30 "$scratch/out")"

# "recorded: DEV ACCESS at page 0xADDR, reason 0xN[ (NAME)], attributed to OWNER", per board
awk '/^== / { board = $(NF) } /^  recorded: / { print board "\t" $0 }' "$scratch/out" >"$scratch/recorded"
[ -s "$scratch/recorded" ] || fail "the narration shows no recorded fault at all"
grep -v -E $'\t''  recorded: .*, reason 0x[0-9a-f]+( \([A-Za-z0-9_-]+\))?, attributed to ' "$scratch/recorded" &&
  fail "records narrated without their reason code (above)"

# 2. a failure's progress line
cat >"$scratch/read-only.scn" <<'SCN'
scenario names/read-only
purpose A write into a read-only mapping, expected to go through: the failure says why it did not.
client a
a obj
a add 0 pci 0 4 0
a map 0 r ram+0x100000 4096
dma edu0 write ram+0x100000 64 => ok
SCN
timeout 300 "$build/testbed/smmu-scenario" --seed 0 "$scratch/read-only.scn" >"$scratch/fail" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "names/read-only: exit status $rc, expected 1: $(tail -n 20 "$scratch/fail")"
grep -E '^ +[^ ]*read-only.scn:7: edu0 write to 0x[0-9a-f]+ should have gone through; RAM shows nothing written; the IOMMU recorded pci:0:4.0 write at 0x[0-9a-f]+, reason 0x[0-9a-f]+' \
  "$scratch/fail" >"$scratch/why"
[ "$(wc -l <"$scratch/why")" -eq 2 ] || fail "names/read-only: the failures do not carry the IOMMU's record on both boards: $(cat "$scratch/fail")"

if ! grep -aq 'reason-name=' "$build/testbed/smmu-client"; then
  grep -E 'reason 0x[0-9a-f]+ \(' "$scratch/recorded" "$scratch/why" && fail "a name the records did not give (above)"
  echo "SKIP: $build/testbed/smmu-client does not print reason-name= yet: the narration shows codes only"
  exit 77
fi
grep -v -E 'reason 0x[0-9a-f]+ \([A-Za-z0-9_-]+\)' "$scratch/recorded" && fail "records narrated without a reason name (above)"
grep -q $'^q35-vtd\t.*reason 0x[0-9a-f]* ([a-z-]*)' "$scratch/recorded" || fail "no VT-d reason named on q35-vtd"
grep -q $'^virt-smmuv3\t.*reason 0x[0-9a-f]* (F_[A-Z_]*)' "$scratch/recorded" || fail "no SMMUv3 event named on virt-smmuv3"
grep -q 'class="reason-name"' "$scratch/demo.html" || fail "the demo's HTML report names no reason"
grep -q 'write at 0x100000, reason 0x5 (write-not-permitted)$' "$scratch/why" || fail "no VT-d name in the failure: $(cat "$scratch/why")"
grep -q 'write at 0x40100000, reason 0x13 (F_PERMISSION)$' "$scratch/why" || fail "no SMMUv3 name in the failure: $(cat "$scratch/why")"
echo "the demo names every recorded reason ($(wc -l <"$scratch/recorded") records), and so do failures"
