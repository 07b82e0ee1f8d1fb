/* The service's one context: everything mutable lives here, owned by the
 * single GLib main loop thread (ARCHITECTURE.md decision 7). */
#ifndef SMMU_SERVICE_H
#define SMMU_SERVICE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "../hw/smmu-hw.h"
#include "../include/smmu.h"
#include "../platform/platform.h"
#include "config.h"
#include "pool.h"
#include "regions.h"

#define SMMU_EXIT_DSS     3   /* documented: the service went to its Design Safe State */
/* A crash is reported as 128 + the signal, as a shell does, never as 3. */
#define SMMU_FAULT_QUEUE  64  /* records per client (contract) */
#define SMMU_MAX_UNITS    8

typedef struct Service Service;

/* Log lines one cause may write: a burst, then one line per interval
 * saying how many were suppressed. */
typedef struct {
    int64_t window_start_us;
    unsigned in_window;
    uint64_t suppressed;
} RateLimit;

/* A library's way to the hardware: one platform and its table pool. */
typedef struct {
    Service *s;
    Platform *platform;
    Pool *pool;
} HwCtx;

/* What one client may hold (docs/configuration.md, "client-*"). */
typedef struct {
    size_t client_pages;    /* table pages */
    unsigned client_objects;
    unsigned client_devices;
    size_t client_regions;
    unsigned max_clients;
} Limits;
typedef struct Client Client;
typedef struct Object Object;

typedef struct {
    char name[32];
    uint64_t base;
    SmmuHwUnit *hw;
    char describe[200];
} Unit;

/* A DMA-capable device the service has heard of (configuration or client). */
typedef struct {
    union smmu_devid id;
    char label[40];      /* "pci:0:4.0" */
    unsigned unit;       /* index into units */
    uint32_t sid;        /* requester ID / StreamID on that unit */
    Object *owner;       /* NULL: blocked */
    Object *home;        /* where it returns when released: its reserved/startup object, or NULL */
    bool configured;     /* named by the configuration: kept in the device table when blocked */
    GArray *reserved;    /* Region: always reachable (from the configuration) */
} Device;

struct Object {
    uint64_t id;
    Client *client;      /* NULL: owned by the configuration */
    unsigned flags;
    RegionSet regions;
    GPtrArray *devices;  /* Device* */
    SmmuHwDomain *domains[SMMU_MAX_UNITS]; /* created when a device of that unit joins */
    size_t pages;        /* table pages its domains hold (charged to its client) */
    char origin[80];     /* for a configuration object: where it was declared */
};

struct Client {
    Service *svc;
    unsigned id;
    int fd;
    guint watch;         /* reading requests (0: not now, a reply waits in out) */
    bool dead;           /* the socket failed: freed when its watch sees it */
    bool target;         /* connected through the target socket */
    pid_t pid;
    uid_t uid;
    gid_t gid;
    GHashTable *objects; /* id -> Object* */
    struct smmu_status queue[SMMU_FAULT_QUEUE];
    unsigned q_head, q_len;
    bool dropped;        /* records were dropped since the last one read */
    uint64_t n_dropped, n_queued;
    bool armed;          /* one-shot notification registered */
    /* its share (Limits) in use */
    size_t pages;        /* table pages its objects' domains hold */
    unsigned n_devices;  /* devices attached to its objects that it brought there */
    size_t n_regions;    /* regions in all its objects */
    /* messages that could not be sent yet (GBytes*): while any wait, the
     * client's requests are not read (backpressure, never a lost reply) */
    GQueue *out;
    guint out_watch;
    bool fault_event_queued; /* an EV_FAULT waits in out: one tells as much as many */
    RateLimit log_limit; /* log lines this client's bad messages cause */
};

struct Service {
    SmmuConfig cfg;
    Limits limits;
    bool safety_variant;
    const char *prog;
    Platform *platform;
    char *platform_spec;  /* what s->platform was opened from */
    Pool *pool;
    void *lib;
    const SmmuHwOps *hw;
    unsigned hw_family;   /* SSF_HW_*: which hardware's codes the records carry */
    HwCtx hwctx;
    SmmuHwEnv env;
    Unit units[SMMU_MAX_UNITS];
    unsigned n_units;
    GHashTable *devices;  /* label -> Device* */
    GHashTable *objects;  /* id (uint64 key) -> Object* */
    GList *clients;
    unsigned n_clients;
    unsigned next_client;
    RateLimit accept_limit; /* refusals of clients past max_clients */
    uint64_t next_object;
    GMainLoop *loop;
    int attach_fd, target_fd;
    char *made_dirs[2];   /* socket directories the service created (removed at DSS) */
    FILE *log;
    bool in_dss;
    /* fault statistics */
    uint64_t faults_seen, faults_unowned, faults_lost;
    uint64_t reg_accesses; /* register reads and writes, all units */
};

/* log.c */
void svc_log(Service *s, SmmuLogLevel level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Like svc_log, within rl's budget; a line says what was suppressed. */
void svc_log_limited(Service *s, RateLimit *rl, SmmuLogLevel level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* dss.c: the one door. Never returns. */
void svc_dss(Service *s, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));
void svc_write_status(Service *s, const char *state, const char *reason);

/* hwlib.c */
int svc_load_library(Service *s, char *err, size_t errlen);
int svc_open_units(Service *s, char *err, size_t errlen);
void svc_block_described_units(Service *s);

/* objects.c */
Object *obj_create(Service *s, Client *c, unsigned flags);
void obj_destroy(Service *s, Object *o);
int obj_device_add(Service *s, Client *c, Object *o, const union smmu_devid *id, char *err, size_t errlen);
int obj_mapping(Service *s, Client *c, Object *o, unsigned flags, const struct smmu_map_entry *e, unsigned n,
                uint64_t target, char *err, size_t errlen);
int obj_apply_config(Service *s, char *err, size_t errlen);
Device *dev_lookup(Service *s, const union smmu_devid *id, bool create, int *rc);
Device *dev_by_sid(Service *s, unsigned unit, uint32_t sid);
void devid_label(const union smmu_devid *id, char *buf, size_t len);

/* faults.c */
void svc_poll_faults(Service *s);
void svc_unit_irq(Service *s, unsigned irq);
void fault_deliver(Service *s, const struct smmu_status *rec, const char *owner);
int client_take_record(Client *c, struct smmu_status *out);

/* server.c */
int svc_listen(Service *s, char *err, size_t errlen);
void client_send_event(Client *c, uint16_t op, int32_t code, uint32_t pending, const char *text);
void client_flush_now(Client *c);
void client_flush_until(Client *c, int64_t deadline_us);
void svc_status_text(Service *s, GString *out);
void svc_objects_text(Service *s, GString *out);

#endif
