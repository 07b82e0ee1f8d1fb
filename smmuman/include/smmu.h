/* smmu.h: the client API of smmuman, with the names, types, signatures and
 * constant values of QNX's libsmmu, so that a driver written for QNX
 * compiles against it. Semantics: docs/api.md (from the service's contract).
 *
 * Errors: functions returning int return -1 and set errno; those returning a
 * pointer return NULL and set errno; smmu_device_report_reserved() returns
 * (unsigned)-1 and sets errno. */
#ifndef SMMU_H
#define SMMU_H

#include <signal.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* QNX spells its fixed-width types _Uint32t and _Uint64t (<sys/platform.h>)
 * and its documentation and examples use them; give them to driver code
 * ported from QNX so that it compiles unchanged. QNX's own headers define
 * them there; define SMMU_NO_QNX_TYPES if another header of yours does. */
#if !defined(__QNXNTO__) && !defined(SMMU_NO_QNX_TYPES)
typedef uint32_t _Uint32t;
typedef uint64_t _Uint64t;
#endif

/* Abilities (QNX: procmgr_ability_lookup() names). Ours: an ability is a
 * socket. "smmu/attach" is the attach socket (SMMU_DEFAULT_SOCKET), open to
 * every local process; "smmu/target" is the target socket
 * (SMMU_DEFAULT_TARGET_SOCKET), gated by its file mode, whose clients may use
 * SMF_TARGET. $SMMU_SOCKET names the socket smmu_init() connects to: a path,
 * or one of these two names for the default socket of that ability. */
#define SMMU_ABILITY_ATTACH_NAME "smmu/attach"
#define SMMU_ABILITY_TARGET_NAME "smmu/target"

/* Device identifiers */
enum smmu_devid_type {
    SDT_PCI,
    SDT_MMIO,
    SDT_NUM_TYPES, /* how many types there are */
};
#define SMMU_PCI_FIELD_ANY (~0u)

struct smmu_devid_pci {
    unsigned type; /* SDT_PCI */
    unsigned bus, dev, func;
};

struct smmu_devid_mmio {
    unsigned type; /* SDT_MMIO */
    unsigned length;
    uint64_t phys;
};

/* 32 bytes, type word first: the wire protocol and the service rely on it */
union smmu_devid {
    unsigned type;
    struct smmu_devid_pci pci;
    struct smmu_devid_mmio mmio;
    uint64_t __spacer[4]; /* QNX's name; sets the size */
};

/* smmu_mapping_add() flags */
enum smmu_mapping_flags {
    SMF_NONE   = 0x00,
    SMF_READ   = 0x01, /* the device may read the memory (DMA source) */
    SMF_WRITE  = 0x02, /* the device may write the memory (DMA target) */
    SMF_EXEC   = 0x04,
    SMF_VIRT   = 0x08, /* reserved */
    SMF_TARGET = 0x10, /* entry.phys is device-visible; target is where it lands */
};

/* 16 bytes: phys, len. The virtual-address forms are QNX's, reserved for
 * future use there as here (SMF_VIRT): the service reads phys only. */
struct smmu_map_entry {
    union {
        void *virt;
        uint32_t virt32;
        uint64_t virt64;
        uint64_t phys;
    };
    uint64_t len;
};

/* A fault ("transgression") record */
struct smmu_status {
    uint64_t hw_specific; /* raw hardware reason (VT-d fault reason, SMMUv3 event type) */
    uint64_t fault_addr;  /* as much of the address as the hardware gives */
    union smmu_devid devid;
    unsigned flags;
};
#define SSF_DROPPED_FAULTS 0x80000000u /* records were dropped before this one */
#define SSF_READ           0x00000001u /* ours: the access was a read */
#define SSF_WRITE          0x00000002u /* ours: the access was a write */
/* ours: identical records the hardware wrote for this one (SMMUv3 writes one
 * per failed 4-byte access), folded: how many MORE there were, saturating */
#define SSF_REPEAT_SHIFT   8
#define SSF_REPEAT_MASK    0x00ffff00u
#define SSF_REPEAT(flags)  (((flags) & SSF_REPEAT_MASK) >> SSF_REPEAT_SHIFT)
/* ours: which hardware wrote the record, so that hw_specific can be named */
#define SSF_HW_MASK        0x0f000000u
#define SSF_HW_VTD         0x01000000u /* hw_specific: VT-d fault reason */
#define SSF_HW_SMMUV3      0x02000000u /* hw_specific: SMMUv3 event type */

/* smmu_obj_create() flags */
enum smmu_obj_create_flags {
    SOCF_NONE            = 0x0000,
    SOCF_RESERVED_MANUAL = 0x0001, /* the client adds the devices' reserved regions itself */
};

/* smmu_safety() results */
#define SMMUMAN_SAFETY_ERROR (-1)
#define SMMUMAN_SAFETY_NO    0
#define SMMUMAN_SAFETY_YES   0xffff

/* Where libsmmu connects: $SMMU_SOCKET, else this. */
#define SMMU_DEFAULT_SOCKET        "/run/smmuman/attach"
#define SMMU_DEFAULT_TARGET_SOCKET "/run/smmuman/target"

/* How smmu_dss_reason() begins when the connection ended without the
 * service announcing a DSS (it was killed, or crashed; or it sent what
 * libsmmu cannot decode, which follows after ": "). */
#define SMMU_REASON_LOST "connection to smmuman lost"

struct smmu_object;
struct sigevent; /* <signal.h>, POSIX */

/* flags must be 0 (QNX: "Must be 0"); anything else fails with EINVAL, so
 * that a flag of a later version is never silently ignored. Makes the
 * default connection, the one every call below without a connection
 * argument uses (ours: a process may open more, smmu_conn_open() below). */
int smmu_init(unsigned flags);
/* Destroys the default connection's objects and disconnects. Ours: their
 * handles stay valid; used later (after another smmu_init() too) they fail
 * with ENOENT, the object being no longer the caller's, and
 * smmu_obj_destroy() frees them. */
void smmu_fini(void);

struct smmu_object *smmu_obj_create(unsigned flags);
void smmu_obj_destroy(struct smmu_object *obj);

/* 0 on success (ours: never +1, the service replays mappings itself), -1. */
int smmu_device_add_generic(struct smmu_object *obj, const union smmu_devid *devid);
int smmu_device_add_pci(struct smmu_object *obj, unsigned bus, unsigned dev, unsigned func);
int smmu_device_add_mmio(struct smmu_object *obj, uint64_t phys, unsigned len);
/* The device's reserved regions from index offset on, at most nresv of them
 * written to resv. Returns (unsigned)-1 on failure (errno set); 0 when offset
 * is past the last region; otherwise how many regions there are from offset
 * on: when that is more than nresv, more remain and only nresv were written.
 * Page with an ever-increasing offset until it returns 0. */
unsigned smmu_device_report_reserved(const union smmu_devid *devid, unsigned offset,
                                     struct smmu_map_entry *resv, unsigned nresv);

int smmu_mapping_add(struct smmu_object *obj, unsigned flags, pid_t pid, unsigned n,
                     const struct smmu_map_entry *entries, uint64_t target);

/* One-shot: the next fault record queued for this client triggers ev. Ours:
 * a DSS or the loss of the service triggers it too (see smmu_dss_reason()). */
int smmu_xfer_notify(const struct sigevent *ev);
/* 1 when a record was stored, 0 when none is pending, -1 on error. */
int smmu_xfer_status(struct smmu_status *status);
/* SMMUMAN_SAFETY_ERROR (errno set), _NO or _YES. */
int smmu_safety(void);

/* Ours, Linux-native: a descriptor that polls readable while records are
 * pending for this client, and for good once the service is gone (DSS or
 * lost connection: every call then fails). Owned by libsmmu; valid until
 * smmu_fini(). (The default connection's; each connection has its own:
 * smmu_conn_xfer_fd() below.) */
int smmu_xfer_fd(void);

/* Ours: why the service is gone, once it is: the reason of its Design Safe
 * State as it announced it to every client, or text beginning with
 * SMMU_REASON_LOST when the connection ended without one. NULL while the
 * connection is good (and before smmu_init()). Valid until the next
 * smmu_init(). After either, every call fails with EIO. */
const char *smmu_dss_reason(void);

/* Ours: why the service refused the last request that failed on this
 * connection (the text it gave, naming the field, the range or the
 * configuration line), or "" when it gave none or the request succeeded.
 * Valid until the connection's next request. */
const char *smmu_last_error(void);

/* Ours: the name of a record's hardware code ("F_PERMISSION",
 * "write-not-permitted"), or "unknown". Static storage. */
const char *smmu_fault_reason_name(const struct smmu_status *status);

/* ---- Ours: several connections in one process ----
 *
 * QNX's calls above work on one connection per process, the default one,
 * which smmu_init() makes. A process that needs more (a VM manager is a
 * client of the host's service and may serve its guest's service in the
 * same process) opens connections as values. Each has its own socket,
 * reader thread, fault descriptor, notification registration, objects and
 * DSS reason, and the service sees each as a client of its own: a device
 * one connection holds is EBUSY for another, and every connection receives
 * every fault record in its own queue. Requests are serialised per
 * connection; two connections never wait for each other.
 *
 * Each smmu_conn_X(conn, ...) is smmu_X(...) on conn, with the same
 * results and errors, plus: a NULL conn fails with EINVAL; an object is
 * its connection's alone, and passing it with another connection (the
 * default one included: smmu_mapping_add() with an object of
 * smmu_conn_obj_create()) fails with EINVAL before anything is sent
 * (smmu_conn_obj_destroy() then leaves it alone, errno EINVAL). The
 * default connection is such a value too (smmu_conn_default()), and its
 * objects are smmu_obj_create()'s. */
struct smmu_conn;

/* smmu_conn_abilities() bit: the connection came through the target
 * socket, so SMF_TARGET is allowed (QNX's "smmu/target" ability). */
#define SMMU_CONN_TARGET 0x1u

/* Connects to socket_path (a path, or SMMU_ABILITY_ATTACH_NAME /
 * SMMU_ABILITY_TARGET_NAME for that ability's default socket; NULL: as
 * smmu_init(), $SMMU_SOCKET or SMMU_DEFAULT_SOCKET). flags must be 0
 * (EINVAL). NULL with errno on failure. */
struct smmu_conn *smmu_conn_open(const char *socket_path, unsigned flags);
/* Destroys the connection's objects (each confirmed by the service: no
 * device reaches their buffers once this returns), disconnects and frees
 * it; conn, its objects, descriptor and DSS text are gone after. 0, or -1
 * with EINVAL for NULL or the default connection (smmu_fini() ends that
 * one). No other thread may be using conn meanwhile. */
int smmu_conn_close(struct smmu_conn *conn);
/* The default connection while smmu_init() has it connected, else NULL
 * (ENOTCONN). The pointer stays valid for the life of the process: after
 * smmu_fini() its calls fail with ENOTCONN, after the next smmu_init()
 * they work again. Never pass it to smmu_conn_close(). */
struct smmu_conn *smmu_conn_default(void);
/* SMMU_CONN_* bits the service granted this connection (its HELLO reply),
 * or -1 (EINVAL: NULL; ENOTCONN: a default connection smmu_fini() ended). */
int smmu_conn_abilities(struct smmu_conn *conn);

struct smmu_object *smmu_conn_obj_create(struct smmu_conn *conn, unsigned flags);
void smmu_conn_obj_destroy(struct smmu_conn *conn, struct smmu_object *obj);
int smmu_conn_device_add_generic(struct smmu_conn *conn, struct smmu_object *obj, const union smmu_devid *devid);
int smmu_conn_device_add_pci(struct smmu_conn *conn, struct smmu_object *obj, unsigned bus, unsigned dev,
                             unsigned func);
int smmu_conn_device_add_mmio(struct smmu_conn *conn, struct smmu_object *obj, uint64_t phys, unsigned len);
unsigned smmu_conn_device_report_reserved(struct smmu_conn *conn, const union smmu_devid *devid, unsigned offset,
                                          struct smmu_map_entry *resv, unsigned nresv);
int smmu_conn_mapping_add(struct smmu_conn *conn, struct smmu_object *obj, unsigned flags, pid_t pid, unsigned n,
                          const struct smmu_map_entry *entries, uint64_t target);
/* The registration and the record queue are the connection's: every
 * attached connection receives every record, so a record fires each
 * connection's armed registration once, and reading it through one
 * connection leaves it in the others' queues. */
int smmu_conn_xfer_notify(struct smmu_conn *conn, const struct sigevent *ev);
int smmu_conn_xfer_status(struct smmu_conn *conn, struct smmu_status *status);
int smmu_conn_safety(struct smmu_conn *conn);
/* The connection's own descriptor, valid until smmu_conn_close() (for the
 * default connection: until smmu_fini()). */
int smmu_conn_xfer_fd(struct smmu_conn *conn);
/* Why this connection's service is gone, or NULL while it is good (and,
 * errno EINVAL, for a NULL conn). Valid until smmu_conn_close() (for the
 * default connection: until the next smmu_init()). */
const char *smmu_conn_dss_reason(struct smmu_conn *conn);
/* smmu_last_error() for this connection; NULL (errno EINVAL) for NULL. */
const char *smmu_conn_last_error(struct smmu_conn *conn);

#ifdef __cplusplus
}
#endif

#endif
