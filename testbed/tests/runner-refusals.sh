#!/usr/bin/env bash
# The runner refuses, at FILE:LINE and saying why, every step whose numbers
# only become out of range once the board's base is added (the parser
# refuses the rest; test-scenario), and a record awaited where no monitor
# client exists. None may read or write outside the mapped RAM file: before
# these checks, the wrapping ones and the DSS one crashed the runner, or
# wrote RAM the scenario never named.
# Usage: runner-refusals.sh BUILD_DIR        (boots q35-vtd: RAM 0..0x1fffffff, pool at 0x1f000000)
set -uo pipefail
build=$1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
trap 'exit 1' TERM INT HUP # so that the EXIT trap cleans up on a timeout too
fail() { echo "runner-refusals.sh: $*" >&2; exit 1; }

# name | the step (line 4 of its scenario; "\n" starts another line before it) | what the failure must say
cases=(
  "ram-wraps|ram expect pool+0xffffffffe0fff000 0x2000 0|ram expect: 0xfffffffffffff000 + 8192 bytes runs past the end of the 64-bit address space"
  "ram-base-wraps|ram fill pool+0xffffffffe1000000 16 0x5a|'pool+0xffffffffe1000000': 0x1f000000 + 0xffffffffe1000000 runs past the end of the 64-bit address space"
  "ram-past-end|ram fill ram+0x1ffff000 0x2000 0x5a|ram fill: 0x1ffff000 + 8192 bytes runs past the edge of RAM (0x0..0x1fffffff)"
  "dma-wraps|dma edu0 write pool+0xffffffffe0fff800 4096 => blocked|0xfffffffffffff800 + 4096 bytes runs past the end of the 64-bit address space"
  "dma-straddles|dma edu0 write ram+0x1ffff800 4096 => blocked|0x1ffff800 + 4096 bytes runs past the edge of RAM (0x0..0x1fffffff): split it in two"
  "storm-wraps|storm edu0 write pool+0xffffffffe0000000 64 3 stride=0x800000 => blocked|0xffffffffff000000 + (COUNT-1) * 8388608 + 64 bytes runs past the end of the 64-bit address space"
  "client-base-wraps|a map 0 rw pool+0xffffffffe1000000 4096|'pool+0xffffffffe1000000': 0x1f000000 + 0xffffffffe1000000 runs past the end"
  # translated mappings (the reference model): pages that land apart cannot be checked as one range
  "dma-lands-apart|client v target\nv obj\nv add 0 pci 0 4 0\nv map 0 rwt ram+0x100000 4096 target=ram+0x400000\nv map 0 rwt ram+0x101000 4096 target=ram+0x600000\ndma edu0 write ram+0x100800 4096 => ok|0x100800 + 4096 bytes of edu0 land apart in physical memory (its mappings): split it"
  # a per-board value that says nothing for this board
  "value-for-no-board|dma edu0 write ram+0x1000 64 => blocked\nexpect-fault edu0 ram+0x1000 write from=a repeat=smmuv3:15|repeat=smmuv3:15 says nothing for board q35-vtd (vtd): add q35-vtd:VALUE or vtd:VALUE"
  # no monitor client when the service starts in DSS: a record cannot be awaited (was a NULL dereference)
  "dss-expect-fault|config bogus 1\nstart dss\nexpect-fault edu0 ram+0x1000 write|no record can come: the service started in DSS"
)
files=()
for c in "${cases[@]}"; do
  IFS='|' read -r name step _ <<<"$c"
  printf 'scenario refusal/%s\nboard q35-vtd\nclient a\n%b\n' "$name" "$step" >"$scratch/$name.scn"
  files+=("$scratch/$name.scn")
done
timeout 300 "$build/testbed/smmu-scenario" --seed 0 --events "$scratch/events.jsonl" "${files[@]}" >"$scratch/out" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "smmu-scenario exit status $rc, expected 1 (each scenario fails cleanly): $(tail -n 20 "$scratch/out")"
for c in "${cases[@]}"; do
  IFS='|' read -r name step says <<<"$c"
  line=$(grep -F "\"name\":\"refusal/$name\"" "$scratch/events.jsonl") || fail "$name: no result"
  # JSON strings escape only quotes, backslashes and control characters: none here
  msg=$(sed -n 's/.*"message":"\([^"]*\)".*/\1/p' <<<"$line")
  at=$(wc -l <"$scratch/$name.scn") # the step is the last line
  [[ $msg == "$scratch/$name.scn:$at: "* ]] || fail "$name: message does not name $name.scn:$at: '$msg'"
  [[ $msg == *"$says"* ]] || fail "$name: message '$msg' does not say '$says'"
done
echo "runner refusals: ${#cases[@]} out-of-range steps refused at FILE:LINE, nothing touched"
