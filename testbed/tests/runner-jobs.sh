#!/usr/bin/env bash
# --jobs 2: each scenario keeps its own state. Two scenarios play at once on
# their own boards, each filling its engine's buffer with its own byte and
# then storming blocked writes beyond RAM, where the runner stands in its
# own buffer for "RAM" and compares it after every DMA. Each then fails on
# purpose, with a message naming its own file, line, address and bytes. A
# buffer shared between the two threads (as the beyond-RAM one was) shows
# one run's bytes to the other as "RAM changed": the wrong failure.
# Usage: runner-jobs.sh BUILD_DIR          (boots two q35-vtd boards)
set -uo pipefail
build=$1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
trap 'exit 1' TERM INT HUP # so that the EXIT trap cleans up on a timeout too
fail() { echo "runner-jobs.sh: $*" >&2; exit 1; }

scn() { # NAME PAGE BYTE WANT
  cat >"$scratch/$1.scn" <<SCN
scenario jobs/$1
board q35-vtd
client c
c obj
c add 0 pci 0 4 0
c map 0 r ram+$2 4096
ram fill ram+$2 4096 $3
dma edu0 read ram+$2 4096 => ok
# 512 GiB: beyond RAM and the tables' address width; each write is checked
storm edu0 write 0x8000000000 4096 150 => blocked
ram expect ram+$2 16 $4
SCN
}
scn a 0x100000 0x11 0x99
scn b 0x200000 0x22 0x77
timeout 600 "$build/testbed/smmu-scenario" --jobs 2 --seed 0 --events "$scratch/events.jsonl" \
  "$scratch/a.scn" "$scratch/b.scn" >"$scratch/out" 2>&1
rc=$?
[ $rc -eq 1 ] || fail "smmu-scenario exit status $rc, expected 1 (both fail on purpose): $(tail -n 20 "$scratch/out")"
check() { # NAME MESSAGE
  local line msg
  line=$(grep -F "\"name\":\"jobs/$1\"" "$scratch/events.jsonl") || fail "jobs/$1: no result"
  msg=$(sed -n 's/.*"message":"\([^"]*\)".*/\1/p' <<<"$line")
  [ "$msg" = "$2" ] || fail "jobs/$1: message '$msg', expected '$2'"
  grep -qF '"faults":150,' <<<"$line" || fail "jobs/$1: expected 150 fault records: $line"
}
check a "$scratch/a.scn:11: RAM 0x100000 holds 0x11, expected 0x99"
check b "$scratch/b.scn:11: RAM 0x200000 holds 0x22, expected 0x77"
echo "--jobs 2: each scenario's failure is its own (file, line, address, bytes)"
