#!/usr/bin/env bash
# Every program answers --help and --version: usage or "NAME VERSION" on
# stdout, exit status 0, nothing on stderr, and nothing started (no board,
# no run directory, no hardware touched).
# Usage: help-version.sh PROGRAM NAME VERSION
set -uo pipefail
prog=$1 name=$2 version=$3
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
trap 'exit 1' TERM INT HUP # so that the EXIT trap cleans up on a timeout too
fail() { echo "help-version.sh: $name: $*" >&2; exit 1; }

# A board would make its run directory under TMPDIR, or under
# SMMU_BOARD_RUN_DIR for smmu-board: both point into the scratch directory,
# which must stay empty. The time limit bounds a program that ignored the
# option and went on to start something.
mkdir "$scratch/tmp"
for opt in --help --version; do
  TMPDIR="$scratch/tmp" SMMU_BOARD_RUN_DIR="$scratch/tmp/board" \
    timeout 20 "$prog" "$opt" >"$scratch/out" 2>"$scratch/err" </dev/null
  rc=$?
  [ $rc -eq 0 ] || fail "$opt: exit status $rc, expected 0 (stderr: $(head -c 300 "$scratch/err"))"
  [ -s "$scratch/err" ] && fail "$opt: wrote to stderr: $(head -c 300 "$scratch/err")"
  [ -z "$(ls -A "$scratch/tmp")" ] || fail "$opt: left files behind: $(ls -A "$scratch/tmp")"
  case $opt in
  --help)
    head -n1 "$scratch/out" | grep -q "^usage: $name" || fail "--help: stdout does not start with 'usage: $name': $(head -n1 "$scratch/out")" ;;
  --version)
    [ "$(cat "$scratch/out")" = "$name $version" ] || fail "--version: stdout is '$(cat "$scratch/out")', expected '$name $version'" ;;
  esac
done
echo "$name: --help and --version answer on stdout, exit 0, start nothing"
