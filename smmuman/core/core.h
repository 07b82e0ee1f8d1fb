/* The service's core: objects, devices, regions, each client's share and
 * fault queue, and the decision that something is unrecoverable (DSS).
 *
 * The core neither exits nor touches a socket, a file or a global: it
 * drives its units through the back-end interface (smmu-hw.h: the support
 * libraries, or any other implementation of SmmuHwOps) and reports through
 * the hooks its shell sets: a log line, "records wait for this client",
 * and "this is a DSS, for this reason". The host shell's DSS hook blocks
 * the hardware and exits; a test's hook records the decision and returns,
 * after which the core refuses everything with -EIO. Single-threaded: the
 * shell calls it from one thread. */
#ifndef SMMU_CORE_H
#define SMMU_CORE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../hw/smmu-hw.h"
#include "../include/smmu.h"
#include "regions.h"

#define CORE_FAULT_QUEUE 64 /* records per client (contract) */
#define CORE_MAX_UNITS   8

typedef struct Core Core;
typedef struct CoreClient CoreClient;
typedef struct CoreObject CoreObject;

/* What the shell is told. log gets every line, debug ones included (the
 * shell filters); dss may not return (the host shell exits). */
typedef struct {
    void *ctx;
    void (*log)(void *ctx, SmmuLogLevel level, const char *msg);
    void (*notify)(void *ctx, CoreClient *c, uint32_t pending); /* records wait for c: tell it */
    void (*dss)(void *ctx, const char *reason);
} CoreHooks;

/* What one client may hold (docs/configuration.md, "client-*"). */
typedef struct {
    size_t client_pages; /* table pages */
    unsigned client_objects;
    unsigned client_devices;
    size_t client_regions;
} CoreLimits;

/* Table memory as the core weighs it: how much is in use, how much there
 * is, and the physical range no device may ever reach (a device that could
 * write its IOMMU's tables could map itself anywhere). A back end without
 * a pool leaves pages_total NULL: nothing is weighed. */
typedef struct {
    void *ctx;
    size_t (*pages_used)(void *ctx);
    size_t (*pages_total)(void *ctx);
    uint64_t protected_base, protected_size;
} CoreMemory;

/* A client as the core knows it; the shell keeps its own handle. */
struct CoreClient {
    Core *core;
    void *shell;          /* the shell's client (its socket), for notify */
    unsigned id;
    bool target;          /* may use SMF_TARGET */
    pid_t pid;
    uid_t uid;
    gid_t gid;
    GHashTable *objects;  /* id -> CoreObject* */
    struct smmu_status queue[CORE_FAULT_QUEUE];
    unsigned q_head, q_len;
    bool dropped;         /* records were dropped since the last one read */
    uint64_t n_dropped, n_queued;
    bool armed;           /* one-shot notification registered */
    size_t pages;         /* table pages its objects' domains hold */
    unsigned n_devices;   /* devices attached to its objects that it brought there */
    size_t n_regions;     /* regions in all its objects */
};

/* One device of the configuration (docs/configuration.md, "device"). */
typedef struct {
    union smmu_devid id;
    const char *where;    /* "FILE:LINE" of its line, for messages */
    unsigned unit;        /* index of the unit it uses */
    bool has_sid;
    uint32_t sid;         /* SMMUv3 StreamID ("use UNIT PARAM") */
    /* its allow ranges (a startup mapping) and reserved regions, each with
     * the line it comes from */
    const Region *allow;
    const char *const *allow_where; /* "FILE:LINE: allow NAME" */
    size_t n_allow;
    const Region *reserved;
    const char *const *reserved_where;
    size_t n_reserved;
} CoreStartupDevice;

/* ---- life ---------------------------------------------------------------- */

Core *core_new(const CoreHooks *hooks, const CoreMemory *mem, const CoreLimits *limits);
void core_free(Core *c);
/* A unit the shell opened (deny by default: it blocks everything). Its
 * records carry hw_family (SSF_HW_*). Returns its index or -E2BIG. */
int core_add_unit(Core *c, const char *name, const SmmuHwOps *ops, SmmuHwUnit *hw, unsigned hw_family);
unsigned core_units(const Core *c);
const char *core_unit_name(const Core *c, unsigned unit);
SmmuHwUnit *core_unit_hw(const Core *c, unsigned unit);
const SmmuHwOps *core_unit_ops(const Core *c, unsigned unit);
/* Whether a DSS was decided: from then on every request fails with -EIO. */
bool core_in_dss(const Core *c);

/* ---- the configuration's devices ---------------------------------------------- */

/* Startup mappings and reserved regions: objects owned by the
 * configuration. err names the line. */
int core_startup_device(Core *c, const CoreStartupDevice *d, char *err, size_t errlen);

/* ---- clients and their requests (0 or a negative errno, with err) ---------- */

CoreClient *core_client_new(Core *c, void *shell, bool target, pid_t pid, uid_t uid, gid_t gid);
/* Its objects die; their devices go back home or to blocked. */
void core_client_free(CoreClient *cc);
int core_obj_create(CoreClient *cc, unsigned flags, uint64_t *id, char *err, size_t errlen);
int core_obj_destroy(CoreClient *cc, uint64_t id);
/* obj 0 detaches. */
int core_device_add(CoreClient *cc, uint64_t obj, const union smmu_devid *id, char *err, size_t errlen);
int core_mapping(CoreClient *cc, uint64_t obj, unsigned flags, const struct smmu_map_entry *e, unsigned n,
                 uint64_t target, char *err, size_t errlen);
/* The device's reserved regions from `offset` on, at most max; *total: all. */
unsigned core_report_reserved(Core *c, const union smmu_devid *id, unsigned offset, struct smmu_map_entry *out,
                              unsigned max, unsigned *total);

/* ---- faults ------------------------------------------------------------------- */

/* Registers the one-shot notification; returns the records pending (the
 * shell tells at once when there are some: core_take_armed()). */
unsigned core_notify_arm(CoreClient *cc);
/* Whether an armed notification is due now (records pending): disarms. */
bool core_take_armed(CoreClient *cc);
/* 1 with *out, or 0 when none is pending. */
int core_take_record(CoreClient *cc, struct smmu_status *out);
/* Drains every unit's records (the polling timer). */
void core_poll_faults(Core *c);
/* An interrupt line rose: the units it belongs to drain. */
void core_irq(Core *c, unsigned irq);

/* ---- what the shell shows ----------------------------------------------------- */

/* units, counters, clients, limits: key=value lines */
void core_status_text(Core *c, GString *out);
void core_objects_text(Core *c, GString *out);
void devid_label(const union smmu_devid *id, char *buf, size_t len);

#endif
