#!/usr/bin/env bash
# README.md's "Driving a board by hand", run as written: every command of
# its example, taken from the README itself (so the two cannot drift
# apart), with only the build directory and /tmp/b1 (a private directory
# here) substituted, each checked against what the README says it does:
# the bytes the DMA wrote are read back from the board's RAM file.
# Usage: readme-board.sh BUILD_DIR SOURCE_DIR
set -uo pipefail
build=$(cd "$1" && pwd) src=$2
scratch=$(mktemp -d)
run=$scratch/b1
bg_pid=
fail() { echo "readme-board.sh: README.md, 'Driving a board by hand': $*" >&2; exit 1; }
cleanup() {
  # nothing outlives the test: the watcher, the board, the directory
  [ -n "$bg_pid" ] && kill "$bg_pid" 2>/dev/null
  [ -f "$run/qemu.pid" ] && "$build/testbed/smmu-board" stop --run-dir "$run" >/dev/null 2>&1
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 1' TERM INT HUP # so that the EXIT trap cleans up on a timeout too

# The example: the indented lines after the heading, up to the prose.
mapfile -t lines < <(awk '/^## Driving a board by hand/ { on = 1; next }
                          on && /^    / { print substr($0, 5); seen = 1; next }
                          on && seen && /^[^ ]/ { exit }' "$src/README.md")
[ ${#lines[@]} -ge 5 ] || fail "no example found"

# What "RAM address A" is in the board's RAM file (docs/board-protocol.md).
ram_bytes() { # ADDR LEN -> hex
  local base foff file
  read -r base foff file < <(sed -n 's/^ram base=\([^ ]*\) size=[^ ]* file=\([^ ]*\) file-offset=\([^ ]*\)$/\1 \3 \2/p' "$scratch/info")
  od -An -tx1 -v -j $(($1 - base + foff)) -N "$2" "$file" | tr -d ' \n'
}

i=0
for line in "${lines[@]}"; do
  i=$((i + 1))
  cmd=${line%%#*}                       # the comment is the README's claim, checked below
  cmd=${cmd//\/tmp\/b1/$run}
  cmd=${cmd//build\//$build/}
  cmd=$(sed 's/[[:space:]]*$//' <<<"$cmd")
  out=$scratch/out.$i err=$scratch/err.$i
  case $cmd in
  export\ *) eval "$cmd"; continue ;;
  *'&')
    # in the background, as written; go on once it says it is listening
    eval "timeout 60 ${cmd%&} >'$out' 2>'$err' &"
    bg_pid=$! bg_out=$out bg_err=$err
    for _ in $(seq 200); do grep -q "watching interrupts" "$err" && break; sleep 0.05; done
    grep -q "watching interrupts" "$err" || fail "'$line': never said it was listening ($(cat "$err"))"
    continue ;;
  esac
  if [[ $cmd == *" stop" ]]; then
    qemu_pid=$(cut -d' ' -f1 "$run/qemu.pid")
    if [ -n "$bg_pid" ]; then
      # the watcher has had its events by now; it must have ended by itself
      wait "$bg_pid"; rc=$? bg_pid=
      [ $rc -eq 0 ] || fail "'irq watch' exit status $rc: $(cat "$bg_err")"
      [ "$(cat "$bg_out")" = $'irq 20 raise\nirq 20 lower' ] || fail "'irq watch' printed '$(cat "$bg_out")'"
    fi
  fi
  eval "timeout 60 $cmd" >"$out" 2>"$err"
  rc=$?
  [ $rc -eq 0 ] || fail "'$line': exit status $rc: $(head -c 400 "$err")"
  case $cmd in
  *smmu-board\ list)
    grep -qx q35-vtd "$out" || fail "'$line' does not list q35-vtd" ;;
  *smmu-board\ start\ *)
    [ -S "$run/agent.sock" ] || fail "'$line': no agent socket in $run" ;;
  *smmu-board\ info)
    cp "$out" "$scratch/info"
    grep -q '^unit name=dmar0 kind=vtd base=0xfed90000 ' "$out" || fail "'$line': no VT-d unit at 0xfed90000"
    grep -q '^device name=edu0 .*bar0=0xe0000000,.*intx=20 ' "$out" || fail "'$line': edu0 is not at bar0=0xe0000000 with intx=20"
    grep -q '^stage base=' "$out" || fail "'$line': no staging page" ;;
  *dma\ edu0\ write\ 0x100000\ 4096\ pattern=a5)
    [ "$(ram_bytes 0x100000 4096)" = "$(printf 'a5%.0s' $(seq 4096))" ] ||
      fail "'$line': RAM 0x100000..0x100fff does not hold 4096 bytes of a5" ;;
  *ram\ read\ 0x100000\ 16)
    [ "$(cat "$out")" = "$(printf 'a5%.0s' $(seq 16))" ] || fail "'$line' printed '$(cat "$out")'" ;;
  *mmio\ read\ 0xfed90000\ 4)
    [ "$(cat "$out")" = 0x00000010 ] || fail "'$line' printed '$(cat "$out")', VT-d VER is 0x00000010" ;;
  *mmio\ write\ 0xe0000060\ 4\ 1 | *mmio\ write\ 0xe0000064\ 4\ 1) ;; # their events: the watcher's output
  *smmu-board\ stop)
    [ ! -e "$run" ] || fail "'$line' left $run behind"
    # exited is gone: a detached QEMU's zombie waits for init to reap it
    if kill -0 "$qemu_pid" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$qemu_pid/stat" 2>/dev/null)" != Z ]; then
      fail "'$line': QEMU (pid $qemu_pid) still runs"
    fi ;;
  *) fail "'$line' is not checked here: say in testbed/tests/readme-board.sh what it should do" ;;
  esac
done
[ -z "$bg_pid" ] || fail "the background 'irq watch' was never collected"
echo "README's board example: ${#lines[@]} commands, each did what the README says"
