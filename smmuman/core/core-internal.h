/* The core's own structures, shared by its files and nobody else. */
#ifndef SMMU_CORE_INTERNAL_H
#define SMMU_CORE_INTERNAL_H

#include "core.h"

/* A DMA-capable device the core has heard of (configuration or client). */
typedef struct {
    union smmu_devid id;
    char label[40];      /* "pci:0:4.0" */
    unsigned unit;       /* index into units */
    uint32_t sid;        /* requester ID / StreamID on that unit */
    CoreObject *owner;   /* NULL: blocked */
    CoreObject *home;    /* where it returns when released: its reserved/startup object, or NULL */
    bool configured;     /* named by the configuration: kept in the device table when blocked */
    GArray *reserved;    /* Region: always reachable (from the configuration) */
} Device;

struct CoreObject {
    uint64_t id;
    CoreClient *client;  /* NULL: owned by the configuration */
    unsigned flags;
    RegionSet regions;
    GPtrArray *devices;  /* Device* */
    SmmuHwDomain *domains[CORE_MAX_UNITS]; /* created when a device of that unit joins */
    size_t pages;        /* table pages its domains hold (charged to its client) */
    char origin[80];     /* for a configuration object: where it was declared */
};

typedef struct {
    char name[32];
    const SmmuHwOps *ops;
    SmmuHwUnit *hw;
    unsigned hw_family;  /* SSF_HW_*: whose codes its records carry */
    char describe[200];
} CoreUnit;

struct Core {
    CoreHooks hooks;
    CoreMemory mem;
    CoreLimits limits;
    CoreUnit units[CORE_MAX_UNITS];
    unsigned n_units;
    GHashTable *devices;  /* label -> Device* */
    GHashTable *objects;  /* id (uint64 key) -> CoreObject* */
    GList *clients;       /* CoreClient* */
    unsigned next_client;
    uint64_t next_object;
    bool dss;             /* decided: everything is refused from now on */
    uint64_t faults_seen, faults_unowned, faults_lost;
};

/* core.c */
void core_log(Core *c, SmmuLogLevel level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The DSS decision: tells the shell (whose door may not return) and
 * refuses everything after. Returns -EIO for the caller to pass up. */
int core_dss(Core *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* devices.c */
Device *dev_lookup(Core *c, const union smmu_devid *id, bool create, int *rc);
Device *dev_by_sid(Core *c, unsigned unit, uint32_t sid);
void dev_forget_if_unused(Core *c, Device *d);

/* objects.c */
CoreObject *obj_create(Core *c, CoreClient *cc, unsigned flags);
void obj_destroy(Core *c, CoreObject *o);

#endif
