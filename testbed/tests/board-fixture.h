/* Test helper: a running board with its agent connection, inventory and the
 * shared RAM file mapped, torn down completely by board_fixture_stop(). */
#ifndef TB_TEST_BOARD_FIXTURE_H
#define TB_TEST_BOARD_FIXTURE_H

#include <stdint.h>

#include "agent-client.h"
#include "inventory.h"
#include "launcher.h"

extern const char *const all_boards[4];

typedef struct {
    TbBoard *board;
    TbAgent *agent;
    TbInventory inv;
    uint8_t *ram; /* the board's RAM as the shared file maps it */
    size_t ram_size;
} BoardFixture;

/* Starts the board or fails the test with the launcher's message. */
void board_fixture_start(BoardFixture *f, const char *name);
void board_fixture_stop(BoardFixture *f);
/* Pointer into mapped RAM for [addr, addr + len), or NULL if any byte of it
 * is outside RAM or the range wraps past 2^64: never a pointer outside the
 * mapping, whatever the numbers. */
uint8_t *board_ram_try(BoardFixture *f, uint64_t addr, uint64_t len);
/* The same, failing the test (at the caller's FILE:LINE) if outside. */
uint8_t *board_ram_at(BoardFixture *f, uint64_t addr, uint64_t len, const char *file, int line);
#define board_ram(f, addr, len) board_ram_at((f), (addr), (len), __FILE__, __LINE__)
/* Sends a request that must succeed; returns the text after OK (caller frees). */
char *board_ok(BoardFixture *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A free RAM address for tests: base + off, below the staging page. */
uint64_t board_addr(const BoardFixture *f, uint64_t off);
int process_alive(pid_t pid);

#endif
