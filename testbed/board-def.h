/* A board definition: a fixture under fixtures/boards/ plus, once the
 * launcher has placed it in a run directory, the [run] paths. The same file
 * (fixture text with [run] appended, RUNDIR/board.conf) is what the agent
 * plugin reads, so both sides agree on one description. Keys: docs/boards.md. */
#ifndef TB_BOARD_DEF_H
#define TB_BOARD_DEF_H

#include <glib.h>
#include <stdint.h>

#define TB_MAX_EDU   8
#define TB_MAX_UNITS 4
#define TB_MAX_IRQS  8

typedef struct {
    char *name;  /* from [unit NAME] */
    char *kind;  /* "vtd" or "smmuv3" */
    uint64_t base, size;
    unsigned n_irqs;
    char *irq_names[TB_MAX_IRQS];
    unsigned irqs[TB_MAX_IRQS];
} TbUnitDef;

typedef struct {
    char *path;
    char *name, *description, *arch, *qemu, *machine, *cpu, *firmware;
    char **devices_before; /* -device arguments placed before the edu engines */
    uint64_t ram_base, ram_size, pool_base, pool_size, stage_base;
    char *irq_controller;  /* QOM path intercepted through qtest */
    uint64_t ecam;
    char *ecam_enable;     /* "q35-pciexbar" or "none" */
    uint64_t mmio_base, mmio_size;
    unsigned n_edu, edu_slots[TB_MAX_EDU];
    unsigned n_units;
    TbUnitDef units[TB_MAX_UNITS];
    /* [run]: filled in by the launcher; NULL in a bare fixture */
    char *run_dir, *run_socket, *run_qtest, *run_qmp, *run_ram, *run_log;
} TbBoardDef;

/* Loads and validates; on error returns a negative errno and sets err to a
 * message naming file:line and the key. */
int tb_board_def_load(const char *path, TbBoardDef *def, GError **err);
int tb_board_def_parse(const char *path, const char *text, size_t len, TbBoardDef *def,
                       GError **err);
void tb_board_def_clear(TbBoardDef *def);

#endif
