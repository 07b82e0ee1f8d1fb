/* A DMA driver written against QNX's documented SMMUMAN client API only
 * (SMMUMAN User's Guide, SDP 7.0-8.0: smmu.h's functions, structures,
 * enumerations and constants, with the signatures and types documented
 * there), the way a QNX driver uses it: connect, create an object, add its
 * device, map its buffer, register for transgression notices, and undo it
 * all. It is built with -Werror against smmu.h as installed and linked with
 * the shared libsmmu: if smmu.h ever stops compiling QNX driver code, or a
 * signature drifts from QNX's, this file stops building.
 *
 *   qnx-driver BUS DEV FUNC BUFFER LEN
 *
 * Says "mapped" when the device may read and write the buffer, waits for a
 * line on stdin, unmaps the buffer and says "unmapped", then waits (up to
 * 10 s) for the notice of a transgression, prints the record as
 * "fault BUS:DEV.FUNC ADDRESS hw=HW_SPECIFIC" and cleans up. Exit status 0 when
 * every call did what QNX documents; a message on stderr otherwise. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <smmu.h>

/* ---- The API's shape as QNX documents it ----
 * Each function is taken through a pointer of the documented type: a
 * signature that differed would be an incompatible-pointer error here. */
static int (*const p_init)(unsigned) = smmu_init;
static void (*const p_fini)(void) = smmu_fini;
static struct smmu_object *(*const p_obj_create)(unsigned) = smmu_obj_create;
static void (*const p_obj_destroy)(struct smmu_object *) = smmu_obj_destroy;
static int (*const p_add_generic)(struct smmu_object *, const union smmu_devid *) = smmu_device_add_generic;
static int (*const p_add_pci)(struct smmu_object *, unsigned, unsigned, unsigned) = smmu_device_add_pci;
static int (*const p_add_mmio)(struct smmu_object *, _Uint64t, unsigned) = smmu_device_add_mmio;
static unsigned (*const p_report_reserved)(const union smmu_devid *, unsigned, struct smmu_map_entry *,
                                           unsigned) = smmu_device_report_reserved;
static int (*const p_mapping_add)(struct smmu_object *, unsigned, pid_t, unsigned, const struct smmu_map_entry *,
                                  _Uint64t) = smmu_mapping_add;
static int (*const p_xfer_notify)(const struct sigevent *) = smmu_xfer_notify;
static int (*const p_xfer_status)(struct smmu_status *) = smmu_xfer_status;
static int (*const p_safety)(void) = smmu_safety;

/* Types, members, values. */
_Static_assert(SDT_PCI == 0 && SDT_MMIO == 1 && SDT_NUM_TYPES == 2, "enum smmu_devid_type");
_Static_assert(SMF_NONE == 0x00 && SMF_READ == 0x01 && SMF_WRITE == 0x02 && SMF_EXEC == 0x04 && SMF_VIRT == 0x08 &&
                   SMF_TARGET == 0x10,
               "enum smmu_mapping_flags");
_Static_assert(SOCF_NONE == 0x0000 && SOCF_RESERVED_MANUAL == 0x0001, "enum smmu_obj_create_flags");
_Static_assert(SMMU_PCI_FIELD_ANY == ~0u, "SMMU_PCI_FIELD_ANY");
_Static_assert(SMMUMAN_SAFETY_ERROR == -1 && SMMUMAN_SAFETY_NO == 0 && SMMUMAN_SAFETY_YES == 0xffff, "smmu_safety()");
_Static_assert(sizeof(SMMU_ABILITY_ATTACH_NAME) == sizeof("smmu/attach") &&
                   sizeof(SMMU_ABILITY_TARGET_NAME) == sizeof("smmu/target"),
               "SMMU_ABILITY_*");
_Static_assert(sizeof(_Uint32t) == 4 && sizeof(_Uint64t) == 8, "QNX's fixed-width types");
_Static_assert(sizeof(union smmu_devid) == 4 * sizeof(_Uint64t), "union smmu_devid: __spacer[4]");
_Static_assert(offsetof(struct smmu_devid_mmio, phys) == 8, "struct smmu_devid_mmio");
_Static_assert(sizeof(struct smmu_map_entry) == 16 && offsetof(struct smmu_map_entry, len) == 8, "smmu_map_entry");
_Static_assert(offsetof(struct smmu_status, devid) == 16, "struct smmu_status");

static enum smmu_devid_type type_of(const union smmu_devid *id) { return (enum smmu_devid_type)id->type; }

static void die(const char *what)
{
    fprintf(stderr, "qnx-driver: %s: %s\n", what, strerror(errno));
    exit(1);
}

int main(int argc, char **argv)
{
    if (argc != 6) {
        fprintf(stderr, "usage: qnx-driver BUS DEV FUNC BUFFER LEN\n");
        return 2;
    }
    unsigned bus = (unsigned)strtoul(argv[1], NULL, 0), dev = (unsigned)strtoul(argv[2], NULL, 0),
             func = (unsigned)strtoul(argv[3], NULL, 0);
    _Uint64t buffer = strtoull(argv[4], NULL, 0), len = strtoull(argv[5], NULL, 0);
    setvbuf(stdout, NULL, _IOLBF, 0);

    /* The signal its transgression notices come as, blocked before
     * smmu_init(): a signal a program waits for with sigtimedwait() must be
     * blocked in every thread, and threads (libsmmu's reader among them)
     * inherit the mask of the thread that creates them. Blocked only later,
     * a notice that came before the wait would kill the driver. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGUSR1);
    sigprocmask(SIG_BLOCK, &set, NULL);

    /* On QNX the process first obtains the SMMU_ABILITY_ATTACH_NAME ability
     * (procmgr_ability_lookup()); here the attach socket is that ability. */
    printf("ability %s\n", SMMU_ABILITY_ATTACH_NAME);
    if (p_init(0) == -1) die("smmu_init");
    int safety = p_safety();
    if (safety == SMMUMAN_SAFETY_ERROR) die("smmu_safety");
    printf("safety %s\n", safety == SMMUMAN_SAFETY_YES ? "yes" : "no");

    /* The device's reserved regions, paged as documented: an ever-increasing
     * offset until 0. */
    union smmu_devid id;
    memset(&id, 0, sizeof id);
    id.pci.type = SDT_PCI;
    id.pci.bus = bus;
    id.pci.dev = dev;
    id.pci.func = func;
    if (type_of(&id) >= SDT_NUM_TYPES) return 1;
    unsigned nreserved = 0;
    for (unsigned offset = 0;;) {
        struct smmu_map_entry resv[4];
        unsigned r = p_report_reserved(&id, offset, resv, 4);
        if (r == (unsigned)-1) die("smmu_device_report_reserved");
        if (r == 0) break;
        unsigned n = r < 4 ? r : 4;
        nreserved += n;
        offset += n;
    }
    printf("reserved %u\n", nreserved);

    /* A transgression notice, as a signal the driver waits for (blocked above). */
    struct sigevent ev;
    memset(&ev, 0, sizeof ev);
    ev.sigev_notify = SIGEV_SIGNAL;
    ev.sigev_signo = SIGUSR1;

    /* An object, its buffer, its device. */
    struct smmu_object *sop = p_obj_create(SOCF_NONE);
    if (!sop) die("smmu_obj_create");
    struct smmu_map_entry entry;
    memset(&entry, 0, sizeof entry);
    entry.phys = buffer;
    entry.len = len;
    if (p_mapping_add(sop, SMF_READ | SMF_WRITE, getpid(), 1, &entry, 0) == -1) die("smmu_mapping_add");
    int rc = p_add_pci(sop, bus, dev, func);
    if (rc == -1) die("smmu_device_add_pci");
    /* +1: the mappings must be issued again (documented; ours never asks) */
    if (rc == 1 && p_mapping_add(sop, SMF_READ | SMF_WRITE, getpid(), 1, &entry, 0) == -1)
        die("smmu_mapping_add (re-issued)");
    /* the same device again, through the generic call: still ours */
    if (p_add_generic(sop, &id) == -1) die("smmu_device_add_generic");
    /* no unit controls this MMIO device: ENOENT, as documented */
    if (p_add_mmio(sop, 0x10000000u, 0x1000u) != -1 || errno != ENOENT) {
        fprintf(stderr, "qnx-driver: smmu_device_add_mmio of an unknown device did not fail with ENOENT\n");
        return 1;
    }
    if (p_xfer_notify(&ev) == -1) die("smmu_xfer_notify");
    printf("mapped\n");

    char line[64];
    if (!fgets(line, sizeof line, stdin)) return 1;
    /* none of SMF_READ, SMF_WRITE, SMF_EXEC: the mapping goes */
    if (p_mapping_add(sop, SMF_NONE, getpid(), 1, &entry, 0) == -1) die("smmu_mapping_add (remove)");
    printf("unmapped\n");

    struct timespec wait = { .tv_sec = 10 };
    if (sigtimedwait(&set, NULL, &wait) != SIGUSR1) die("no transgression notice");
    struct smmu_status st;
    int have = p_xfer_status(&st);
    if (have == -1) die("smmu_xfer_status");
    if (have != 1) {
        fprintf(stderr, "qnx-driver: notified, but no record\n");
        return 1;
    }
    if (st.devid.type == SDT_PCI)
        printf("fault %u:%u.%u 0x%" PRIx64 " hw=0x%" PRIx64 "%s\n", st.devid.pci.bus, st.devid.pci.dev,
               st.devid.pci.func, (uint64_t)st.fault_addr, (uint64_t)st.hw_specific,
               st.flags & SSF_DROPPED_FAULTS ? " dropped-before" : "");

    if (p_add_pci(NULL, bus, dev, func) == -1) die("smmu_device_add_pci (remove)");
    p_obj_destroy(sop);
    p_fini();
    printf("done\n");
    return 0;
}
