/* smmuman's configuration: command line and @files, one grammar.
 * Keywords and number rules: docs/configuration.md (from the contract in
 * shared/notes/smmuman-semantics.md). Every error names where it stands
 * (file:line:column, or "command line:word N") and what was expected. */
#ifndef SMMU_CONFIG_H
#define SMMU_CONFIG_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "../include/smmu.h"

typedef struct {
    char *file;     /* path, or "command line" */
    unsigned line;  /* 1-based; for the command line: the word number */
    unsigned col;   /* 1-based column of the option's first character (1 on the command line) */
} CfgWhere;

typedef enum { CFG_SAFETY_NONE, CFG_SAFETY_WARN, CFG_SAFETY_REQUIRED } CfgSafety;

typedef struct {
    char *name;
    uint64_t start, len;
    unsigned perms; /* SMF_READ ('s': DMA source) | SMF_WRITE ('t': DMA target); neither given: both */
    CfgWhere where;
} CfgAllow;

typedef struct {
    uint64_t start, len;
    unsigned perms;
    CfgWhere where;
} CfgReserved;

typedef struct {
    union smmu_devid id;   /* SDT_PCI (bus/dev/func) or SDT_MMIO (phys/length; length 0 if not given) */
    GPtrArray *allow;      /* names of CfgAllow (char*): non-empty = a startup mapping */
    char *use_unit;        /* "use UNIT [PARAM]", NULL if absent */
    bool has_use_param;
    uint32_t use_param;    /* SMMUv3: StreamID */
    GArray *reserved;      /* CfgReserved, from "reserved" lines after this device */
    CfgWhere where;
} CfgDevice;

typedef struct {
    char *name;
    uint64_t paddr;
    int evtq_irq, gerror_irq; /* SMMUv3 "PADDR,EVTQ,GERROR"; -1 when absent */
    CfgWhere where;
} CfgUnit;

typedef struct {
    /* QNX keywords */
    char *smmu_type;       /* "vtd", "smmuv3"; NULL if none named */
    char *smmu_param;      /* vtd: "require" | "ignore" | NULL */
    CfgWhere smmu_where;
    GPtrArray *units;      /* CfgUnit*   (accumulate) */
    GPtrArray *allows;     /* CfgAllow*  (accumulate) */
    GPtrArray *devices;    /* CfgDevice* (accumulate) */
    CfgSafety safety;
    bool safety_given;     /* false: the caller applies the default for its variant */
    unsigned debug;        /* 0, 1, 2 */
    bool foreground;
    /* ours (docs/configuration.md) */
    char *platform;        /* "TYPE:ARGUMENT", e.g. "board:RUNDIR" */
    char *vdev_smmu;       /* where a guest finds vdev-smmu (docs/vdev-smmu.md); NULL: $SMMU_VDEV */
    char *attach_socket;   /* default SMMU_DEFAULT_SOCKET */
    char *target_socket;   /* default SMMU_DEFAULT_TARGET_SOCKET */
    unsigned target_mode;  /* octal file mode of the target socket; default 0600 */
    char *status_file;     /* NULL: none */
    char *log_file;        /* NULL: stderr only */
    unsigned fault_poll_ms;/* default 10 */
    unsigned scrub_ms;     /* default 1000 (safety variant only) */
    /* each client's share (0: the default, see docs/configuration.md) */
    uint64_t client_pages; /* table pages */
    uint64_t client_objects, client_devices, client_regions;
    uint64_t max_clients;
    GPtrArray *notices;    /* char*: options ignored in a guest, with where */
} SmmuConfig;

/* Parses argv[0..argc) (the program name NOT included). An "@path" word reads
 * that file (one option per line, '#' comments, nested @ allowed up to depth
 * 8). guest: ignore reserved/smmu/unit/use with a notice. Returns 0, or
 * -EINVAL (-ENOENT: an @file cannot be read; -ELOOP: @files nested deeper
 * than 8) with err set; on error cfg holds nothing (cleared). */
int smmu_config_parse(int argc, char *const argv[], bool guest, SmmuConfig *cfg, GError **err);
void smmu_config_clear(SmmuConfig *cfg);
/* After a failed parse: what the Design Safe State's door needs, taken
 * from every option it can still read (platform, smmu, unit, status-file,
 * log-file, vdev-smmu), wherever the error stood; everything else stays
 * empty.
 * Never fails; cfg is reset first. */
void smmu_config_salvage(int argc, char *const argv[], SmmuConfig *cfg);

/* Number rules of the contract, exposed for tests and tools:
 * addresses hex by default, lengths decimal by default, "0x" forces hex,
 * "0d" forces decimal, K/M/G (any case) multiply by 1024^1..3. 0 or -EINVAL/-ERANGE. */
int cfg_parse_address(const char *s, uint64_t *out);
int cfg_parse_length(const char *s, uint64_t *out);

#endif
