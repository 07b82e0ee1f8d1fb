#!/usr/bin/env bash
# The production binaries link nothing of the test bed (ARCHITECTURE.md
# section 3, issue 9): in smmuman (and smmuman-safety), libsmmu, smmuctl and
# the support libraries there is no tb_ symbol (launcher, agent client,
# inventory, board definitions: the test bed's prefix) and none of the
# strings that start QEMU: -icount, -plugin, qemu-system, the build tree's
# agent plugin path. Symbols are read from the full symbol table (nm), local
# ones included, so a static function of the test bed is found too; a file
# without one (stripped) is an error, not a pass. As a control, the board
# platform module, which is test-bed code, must be caught.
# Usage: no-testbed.sh PLUGIN_PATH CONTROL_FILE FILE...
set -uo pipefail
plugin=$1 control=$2
shift 2

# What of the test bed FILE holds, one line per finding; empty: nothing.
findings() {
  local f=$1 syms
  syms=$(nm -a "$f" 2>/dev/null) || { echo "nm cannot read it"; return; }
  [ "$(wc -l <<<"$syms")" -ge 10 ] || { echo "no symbol table (stripped?): cannot tell"; return; }
  awk '$NF ~ /^tb_/ { print "symbol " $NF }' <<<"$syms" | head -n 5
  strings -a "$f" | grep -F -e '-icount' -e '-plugin' -e 'qemu-system' -e "$plugin" | sed 's/^/string /' | head -n 5
}

bad=0
for f in "$@"; do
  [ -e "$f" ] || { echo "FAIL: $f: not built"; bad=1; continue; }
  out=$(findings "$(readlink -f "$f")")
  if [ -n "$out" ]; then
    echo "FAIL: $f holds test-bed code:"
    sed 's/^/  /' <<<"$out"
    bad=1
  else
    echo "ok: $f"
  fi
done
# the control: this check does see test-bed code where there is some
if [ -z "$(findings "$control" | grep '^symbol tb_')" ]; then
  echo "FAIL: the control $control shows no tb_ symbol: the check cannot see the test bed"
  bad=1
fi
exit $bad
