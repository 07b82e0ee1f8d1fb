/* Starts a board (QEMU + agent plugin) in a run directory, waits until the
 * agent answers, and stops it leaving no process, socket or file behind.
 * Run-directory layout: docs/boards.md. */
#ifndef TB_LAUNCHER_H
#define TB_LAUNCHER_H

#include <glib.h>
#include <stdbool.h>
#include <sys/types.h>

#include "agent-client.h" /* tb_run_dir_agent_path */
#include "board-def.h"

#define TB_START_TIMEOUT_MS 30000
#define TB_STOP_TIMEOUT_MS  5000

typedef struct {
    const char *run_dir; /* NULL: a fresh directory under $TMPDIR */
    bool keep;           /* at stop, keep board.conf, qemu.log and dma.jsonl */
    bool detach;         /* outlive the caller (smmu-board start) */
    bool no_agent;       /* raw qtest socket, no plugin (benchmarks) */
    int timeout_ms;      /* start-up bound; 0 = TB_START_TIMEOUT_MS */
} TbLaunchOptions;

typedef struct TbBoard TbBoard;

/* board: a fixture name ("q35-vtd") or a path to a .board file. */
char *tb_board_resolve(const char *board, GError **err);
/* Names of the fixtures found, sorted; caller frees with g_strfreev. */
char **tb_board_list(void);

TbBoard *tb_board_start(const char *board, const TbLaunchOptions *opt, GError **err);
/* Stops QEMU (SIGTERM, then SIGKILL after TB_STOP_TIMEOUT_MS), removes the
 * run directory's files, frees b. */
int tb_board_stop(TbBoard *b, GError **err);
/* Frees b without stopping QEMU (after a detached start). */
void tb_board_release(TbBoard *b);
/* Stops the board whose run directory this is (by its pid file). */
int tb_board_stop_run_dir(const char *run_dir, bool keep, GError **err);

const char *tb_board_run_dir(const TbBoard *b);
const char *tb_board_agent_path(const TbBoard *b);
const char *tb_board_qtest_path(const TbBoard *b);
const char *tb_board_ram_path(const TbBoard *b);
const TbBoardDef *tb_board_def(const TbBoard *b);
pid_t tb_board_pid(const TbBoard *b);

#endif
