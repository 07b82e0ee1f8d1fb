/* The host shell: how the core is reached (sockets, configuration) and
 * what it drives (support libraries on a platform), and the DSS door that
 * blocks the hardware and exits. Everything mutable lives in one Service,
 * owned by the single GLib main loop thread (ARCHITECTURE.md decision 7). */
#ifndef SMMU_SERVICE_H
#define SMMU_SERVICE_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include "../core/core.h"
#include "../core/pool.h"
#include "../hw/smmu-hw.h"
#include "../include/smmu.h"
#include "../platform/platform.h"
#include "config.h"

#define SMMU_EXIT_DSS 3 /* documented: the service went to its Design Safe State */
/* A crash is reported as 128 + the signal, as a shell does, never as 3. */

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

/* A connection: the core's client plus what only the shell knows. */
typedef struct {
    Service *svc;
    CoreClient *cc;
    int fd;
    guint watch;         /* reading requests (0: not now, a reply waits in out) */
    guint out_watch;
    bool dead;           /* the socket failed: freed when its watch sees it */
    /* messages that could not be sent yet (GBytes*): while any wait, the
     * client's requests are not read (backpressure, never a lost reply) */
    GQueue *out;
    bool fault_event_queued; /* an EV_FAULT waits in out: one tells as much as many */
    RateLimit log_limit; /* log lines this client's bad messages cause */
} Client;

struct Service {
    SmmuConfig cfg;
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
    Core *core;
    bool guest;           /* guest mode: the one unit is vdev-smmu (docs/vdev-smmu.md) */
    SmmuHwUnit *vdev;     /* that unit, once open */
    bool guest_certified; /* every component the VM reported is certified */
    unsigned max_clients;
    GList *clients;       /* Client* */
    unsigned n_clients;
    RateLimit accept_limit; /* refusals of clients past max_clients */
    GMainLoop *loop;
    int attach_fd, target_fd;
    char *made_dirs[2];   /* socket directories the service created (removed at DSS) */
    FILE *log;
    bool in_dss;
    /* the DSS door (svc_dss), as the libraries' environment reaches it */
    void (*door)(Service *s, const char *reason);
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
/* The configuration's devices, given to the core. */
int svc_apply_config(Service *s, char *err, size_t errlen);

/* server.c */
int svc_listen(Service *s, char *err, size_t errlen);
void client_send_event(Client *c, uint16_t op, int32_t code, uint32_t pending, const char *text);
void client_flush_now(Client *c);
void client_flush_until(Client *c, int64_t deadline_us);

#endif
