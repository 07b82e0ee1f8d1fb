/* The few declarations of QEMU's TCG plugin API (version 2 and later) the
 * agent uses. QEMU installs no header for plugins, so the ABI facts are
 * written down here, from QEMU's documented plugin interface. */
#ifndef AGENT_PLUGIN_API_H
#define AGENT_PLUGIN_API_H

#include <stdbool.h>
#include <stdint.h>

#define AGENT_EXPORT __attribute__((visibility("default")))

typedef uint64_t qemu_plugin_id_t;

typedef struct qemu_info_t {
    const char *target_name;
    struct {
        int min;
        int cur;
    } version;
    bool system_emulation;
    union {
        struct {
            int smp_vcpus;
            int max_vcpus;
        } system;
    };
} qemu_info_t;

typedef void (*qemu_plugin_udata_cb_t)(qemu_plugin_id_t id, void *userdata);

/* Resolved against the QEMU binary at load time. */
void qemu_plugin_register_atexit_cb(qemu_plugin_id_t id, qemu_plugin_udata_cb_t cb, void *userdata);

#endif
