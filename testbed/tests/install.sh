#!/usr/bin/env bash
# The installed tree runs. This source is configured with its prefix in a
# temporary directory, built and installed there without DESTDIR, so that
# the installed smmuman's compiled-in directory (LIBDIR/smmuman) is where its
# support libraries and platform modules really are. Then, with the
# INSTALLED programs only (the build tree's smmu-board starts the boards and
# moves the DMA, as a test bench would):
#  1. the layout: smmuman, smmuman-safety (a symlink), smmuctl, libsmmu
#     (shared, smmu.h, smmu.pc), the support libraries and the board
#     platform module under LIBDIR/smmuman; a product install
#     (--tags runtime,devel) leaves the test bed (module, tools) out;
#  2. smmuman with no SMMU_HW_DIR drives a q35-vtd board: smmuctl sees its
#     unit, a driver compiled against the installed smmu.h/smmu.pc and run
#     on the installed libsmmu.so maps a buffer for edu0: edu0's DMA into it
#     lands in RAM, edu1's into it (not the driver's device) and edu0's
#     outside it are blocked, the driver is told of them, and after the
#     unmap edu0's into the buffer is blocked too; SIGTERM: exit 3 (the DSS);
#  3. the DSS door's fallback: SMMU_HW_DIR naming an empty directory, smmuman
#     cannot start (DSS naming the path it tried), yet the door reaches the
#     board and its unit through the installed directory: a DMA that landed
#     before is blocked after.
# Nothing outlives it: the service, the driver, the boards, the directory.
# Usage: install.sh SOURCE_DIR BUILD_DIR   ($CC: the C compiler for the driver)
set -uo pipefail
src=$(cd "$1" && pwd) build=$(cd "$2" && pwd)
board=$build/testbed/smmu-board
# the installed programs find what they need by themselves, not through
# the build tree's library path that meson test sets
unset LD_LIBRARY_PATH SMMU_HW_DIR SMMU_PLATFORM SMMU_SOCKET SMMU_STATUS_FILE SMMU_BOARD_RUN_DIR
scratch=$(mktemp -d)
prefix=$scratch/prefix lib=$scratch/prefix/lib
svc_pid= drv_pid=
boards=()

fail() { echo "install.sh: $*" >&2; exit 1; }
cleanup() {
  [ -n "$drv_pid" ] && kill -KILL "$drv_pid" 2>/dev/null
  [ -n "$svc_pid" ] && kill -KILL "$svc_pid" 2>/dev/null
  wait 2>/dev/null
  for r in "${boards[@]}"; do
    [ -f "$r/qemu.pid" ] && "$board" stop --run-dir "$r" >/dev/null 2>&1
  done
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 1' TERM INT HUP PIPE # so that the EXIT trap cleans up on a timeout too

# ---- build and install ----------------------------------------------------
# -Dtests=false: the installed set does not depend on it, and it halves the build
timeout 600 meson setup "$scratch/build" "$src" --prefix="$prefix" --libdir=lib -Dtests=false \
  >"$scratch/setup.log" 2>&1 || { tail -n 30 "$scratch/setup.log"; fail "meson setup failed"; }
timeout 900 meson install -C "$scratch/build" >"$scratch/install.log" 2>&1 ||
  { tail -n 30 "$scratch/install.log"; fail "meson install failed"; }
# a product install (docs/boards.md): the service without the test bed
timeout 300 meson install -C "$scratch/build" --no-rebuild --tags runtime,devel --destdir "$scratch/product" \
  >"$scratch/product.log" 2>&1 || { tail -n 30 "$scratch/product.log"; fail "meson install --tags runtime,devel failed"; }
product=$scratch/product$prefix
for f in bin/smmuman bin/smmuman-safety bin/smmuctl lib/smmuman/smmu-vtd.so include/smmu.h; do
  [ -e "$product/$f" ] || [ -L "$product/$f" ] || fail "a product install (--tags runtime,devel) lacks $f"
done
for f in lib/smmuman/smmu-platform-board.so bin/smmu-board bin/smmu-scenario; do
  [ ! -e "$product/$f" ] || fail "a product install (--tags runtime,devel) holds test-bed file $f"
done
rm -rf "$scratch/build" "$scratch/product" # from here on, only the installed tree

# ---- 1. the layout ----------------------------------------------------------
for f in bin/smmuman bin/smmuctl lib/libsmmu.so include/smmu.h lib/pkgconfig/smmu.pc \
         lib/smmuman/smmu-vtd.so lib/smmuman/smmu-vtd-safety.so lib/smmuman/smmu-smmuv3.so \
         lib/smmuman/smmu-smmuv3-safety.so lib/smmuman/smmu-platform-board.so; do
  [ -e "$prefix/$f" ] || fail "not installed: $f"
done
[ "$(readlink "$prefix/bin/smmuman-safety")" = smmuman ] || fail "bin/smmuman-safety is not a symlink to smmuman"
out=$("$prefix/bin/smmuman-safety" --version) || fail "installed smmuman-safety --version failed"
[[ $out == "smmuman-safety "* ]] || fail "installed smmuman-safety --version said '$out'"

# ---- the board and the DMA engine -------------------------------------------
sb() { SMMU_BOARD_RUN_DIR=$run timeout 30 "$board" "$@"; } # on the current board
hex() { printf "$1%.0s" $(seq "$2"); } # BYTE COUNT -> hex
ram_is() { [ "$(sb ram read "$1" 256)" = "$(hex "$2" 256)" ]; } # ADDR BYTE: 256 bytes at ADDR all hold BYTE
ram_fill() { sb ram write "$1" "$(hex "$2" 256)" >/dev/null || fail "ram write $1"; }
dma() { sb dma "$1" "$2" "$3" 256 >/dev/null || fail "dma $1 $2 $3"; } # DEV read|write ADDR
start_board() { # NAME: a q35-vtd board in $scratch/NAME, nothing translated yet
  run=$scratch/$1
  boards+=("$run")
  timeout 60 "$board" start q35-vtd --run-dir "$run" >/dev/null || fail "cannot start a q35-vtd board"
}
wait_running() { # STATUS-FILE: the service says running, or has exited
  for _ in $(seq 200); do
    grep -qx state=running "$1" 2>/dev/null && return 0
    kill -0 "$svc_pid" 2>/dev/null || return 1
    sleep 0.05
  done
  return 1
}
buf=0x100000 outside=0x200000 # q35-vtd's RAM starts at 0

# ---- 2. the installed service, its library and a driver on the installed libsmmu
start_board main
ram_fill 0x300000 c3
dma edu1 read 0x300000       # edu1 holds c3, loaded before anything translates
"$prefix/bin/smmuman" foreground platform "board:$run" smmu vtd attach-socket "$run/smmu.sock" \
  target-socket "$run/smmu-target.sock" status-file "$run/smmu.status" 2>"$scratch/smmuman.err" &
svc_pid=$!
wait_running "$run/smmu.status" || fail "the installed smmuman did not start: $(cat "$scratch/smmuman.err")"
out=$(SMMU_SOCKET=$run/smmu.sock timeout 30 "$prefix/bin/smmuctl" status) || fail "installed smmuctl status failed"
grep -q 'dmar0' <<<"$out" || fail "installed smmuctl status shows no dmar0: $out"

# built as a user of the installed package builds a driver
drv=$scratch/qnx-driver
read -ra cc <<<"${CC:-cc}"
read -ra flags < <(PKG_CONFIG_PATH=$lib/pkgconfig pkg-config --cflags --libs smmu) || fail "pkg-config smmu failed"
"${cc[@]}" -std=c11 -Wall -Wextra -Werror "$src/smmuman/tests/qnx-driver/qnx-driver.c" "${flags[@]}" -o "$drv" ||
  fail "the QNX driver does not build against the installed smmu.h and libsmmu"
out=$(LD_LIBRARY_PATH=$lib ldd "$drv") || fail "ldd $drv failed"
grep -q "libsmmu\.so.* => $lib/" <<<"$out" || fail "the driver does not load $lib/libsmmu.so: $out"
mkfifo "$scratch/drv.in"
SMMU_SOCKET=$run/smmu.sock LD_LIBRARY_PATH=$lib timeout 60 "$drv" 0 4 0 $buf 4096 \
  <"$scratch/drv.in" >"$scratch/drv.out" 2>"$scratch/drv.err" &
drv_pid=$!
exec 3>"$scratch/drv.in" # held open: the driver reads its "go on" line from here
drv_says() { # LINE-PREFIX: the driver printed it (bounded)
  for _ in $(seq 200); do grep -q "^$1" "$scratch/drv.out" && return 0; sleep 0.05; done
  fail "the driver did not say '$1' (said: $(cat "$scratch/drv.out"); stderr: $(cat "$scratch/drv.err"))"
}
drv_says mapped
ram_fill $buf 6b
dma edu0 read $buf           # the engine loads the mapped buffer...
ram_fill $buf 00
dma edu0 write $buf          # ...and writes it back: both cross
ram_is $buf 6b || fail "edu0's DMA into the driver's mapped buffer did not land in RAM"
ram_fill $buf 5a
dma edu1 write $buf
ram_is $buf 5a || fail "edu1, which no client owns, reached the buffer mapped for edu0: DMA left open"
ram_fill $outside 5a
dma edu0 write $outside
ram_is $outside 5a || fail "edu0's DMA outside its mapped buffer reached RAM: DMA left open"
echo unmap >&3
drv_says unmapped
ram_fill $buf 11
dma edu0 write $buf
ram_is $buf 11 || fail "edu0's DMA into the buffer after the unmap reached RAM"
# every attached client gets every record; the driver takes the first one
# queued for it: edu1's, into its buffer
drv_says "fault 0:5.0 $buf hw="
drv_says done
exec 3>&-
wait "$drv_pid"; rc=$? drv_pid=
[ $rc -eq 0 ] || fail "the driver exited $rc: $(cat "$scratch/drv.err")"
kill -TERM "$svc_pid"
wait "$svc_pid"; rc=$? svc_pid=
[ $rc -eq 3 ] || fail "the installed smmuman, stopped, exited $rc, want 3 (DSS)"

# ---- 3. a wrong SMMU_HW_DIR: the door still blocks through the installed directory
start_board door
ram_fill 0x300000 c3
dma edu0 read 0x300000       # the engine holds c3, loaded before anything translates
ram_fill $outside 5a
dma edu0 write $outside
ram_is $outside c3 || fail "before the service, the DMA did not land: nothing to prove"
ram_fill $outside 5a
mkdir "$scratch/empty-hw"
SMMU_HW_DIR=$scratch/empty-hw timeout 60 "$prefix/bin/smmuman" foreground platform "board:$run" smmu vtd \
  attach-socket "$run/smmu.sock" target-socket "$run/smmu-target.sock" 2>"$scratch/door.err"
rc=$?
[ $rc -eq 3 ] || fail "with an empty SMMU_HW_DIR, smmuman exited $rc, want 3: $(cat "$scratch/door.err")"
grep -qF "no module for platform type 'board' ($scratch/empty-hw/smmu-platform-board.so" "$scratch/door.err" ||
  fail "the DSS reason does not name the path tried: $(cat "$scratch/door.err")"
grep -q "opened for the DSS, blocking all DMA" "$scratch/door.err" ||
  fail "the door did not reach the unit through the installed directory: $(cat "$scratch/door.err")"
dma edu0 write $outside
ram_is $outside 5a || fail "after the door, a DMA reached RAM: the unit was not left blocking"

echo "installed tree: layout, service, driver on libsmmu.so, DMA landed and blocked, DSS door fallback: ok"
