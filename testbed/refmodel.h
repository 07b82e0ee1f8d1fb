/* A reference model of one host smmuman (docs/api.md, the semantics notes):
 * what the service must answer to each request, and where a device's DMA
 * may land. Written apart from the service's own region and object code
 * (smmuman/core) and kept small enough to be obviously right: an object is
 * the list of its live regions, a page's permission is computed from that
 * list on every question (quadratic, and fine for a test bed).
 *
 * Used by the random campaign generator (expected replies and DMA
 * outcomes) and by the scenario runner (where a translated DMA lands, whom
 * a blocked one's record names, and which mappings are writable).
 *
 * Requests return 0 or the -errno the service must answer, and change the
 * model only when they return 0 (a call changes everything or nothing). */
#ifndef TB_REFMODEL_H
#define TB_REFMODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define REF_PAGE 4096u
#define REF_MAX_DEVIDS 32

/* Mapping permissions, as smmu.h's SMF_* values (EXEC is read). */
enum { REF_READ = 0x1, REF_WRITE = 0x2, REF_EXEC = 0x4, REF_TARGET = 0x10 };

/* The board facts the model needs, filled by the caller from the board's
 * inventory (testbed/inventory.h) and its unit's kind. */
typedef struct {
    uint64_t ram_base, ram_size;
    uint64_t pool_base, pool_size;   /* the IOMMU's table memory: never mappable (EPERM) */
    unsigned in_bits;                /* device addresses a unit translates: 39 on both libraries */
    unsigned out_bits;               /* physical addresses it can reach: VT-d MGAW 48, SMMUv3 OAS 44 */
    unsigned n_devids;
    uint32_t devids[REF_MAX_DEVIDS]; /* PCI requester ids (bus << 8 | dev << 3 | func) a unit controls */
} RefBoard;

/* The facts of the test bed's two IOMMU boards' units: "vtd" or "smmuv3"
 * (false for anything else). Fills the widths only. */
bool ref_board_unit_kind(RefBoard *b, const char *kind);
static inline uint32_t ref_pci(unsigned bus, unsigned dev, unsigned func) { return bus << 8 | dev << 3 | func; }

typedef struct RefModel RefModel;

RefModel *ref_new(const RefBoard *b);
void ref_free(RefModel *m);

/* ---- configuration (before any client) ---------------------------------- */
/* "allow NAME START,LEN[,PERMS]": perms REF_READ ('s') | REF_WRITE ('t'). */
int ref_config_allow(RefModel *m, const char *name, uint64_t start, uint64_t len, unsigned perms);
/* "device pci:B:D.F NAME ...": a startup mapping, owned by "config". */
int ref_config_device(RefModel *m, uint32_t devid, const char *const *allow_names, unsigned n);

/* ---- clients ------------------------------------------------------------ */
/* A client attaches (target: through the target socket). -EEXIST for a name in use. */
int ref_client(RefModel *m, const char *name, bool target);
/* Its connection ends (kill, or "fini"): its objects go, their devices are
 * blocked. After "fini" its object handles stay taken (smmu-client keeps
 * them) and name nothing at the service: ENOENT; "init" reconnects. */
int ref_kill(RefModel *m, const char *client);
int ref_fini(RefModel *m, const char *client);
int ref_init(RefModel *m, const char *client);
bool ref_client_alive(const RefModel *m, const char *client);   /* attached now */

/* ---- a client's requests, as smmu-client numbers its objects ------------- */
/* "obj": the lowest free handle of the client (smmu-client's numbering). */
int ref_obj_create(RefModel *m, const char *client, unsigned *handle);
/* "destroy H": always "ok" for a taken handle (smmu_obj_destroy returns
 * nothing); -EINVAL for a free one (smmu-client refuses it itself). */
int ref_obj_destroy(RefModel *m, const char *client, unsigned handle);
/* "add H pci B D F" (handle >= 0) or "add - pci ..." (handle < 0: detach). */
int ref_device_add(RefModel *m, const char *client, int handle, uint32_t devid);
/* "add H mem PHYS LEN": no unit controls a memory-mapped device here. */
int ref_device_add_mmio(RefModel *m, const char *client, int handle);

typedef struct {
    uint64_t addr, len;
} RefRange;
/* "map H PERMS ADDR LEN ... [target=T]": perms REF_* (none of R/W/X
 * removes, as smmu_mapping_add does). With REF_TARGET the entries land back
 * to back from target. */
int ref_map(RefModel *m, const char *client, unsigned handle, unsigned perms, const RefRange *r, unsigned n,
            uint64_t target);
/* "unmap H ADDR LEN ...": takes those bytes out of every region. */
int ref_unmap(RefModel *m, const char *client, unsigned handle, const RefRange *r, unsigned n);

/* ---- questions ------------------------------------------------------------ */
/* Who a device's blocked access is attributed to: the owning client's name,
 * "config" for a startup mapping, "none" for nobody's (the runner's rules,
 * docs/scenarios.md "Whose record"). Valid until the next request. */
const char *ref_owner(const RefModel *m, uint32_t devid);

/* One page of a device's translation: 0 when unmapped. */
typedef struct {
    unsigned perms;  /* REF_READ | REF_WRITE, 0: not mapped */
    uint64_t phys;   /* the physical page the device page lands on */
} RefPage;
RefPage ref_translate(const RefModel *m, uint32_t devid, uint64_t addr);

typedef struct {
    bool allowed;          /* every byte's page permits the access */
    bool contiguous;       /* allowed, and the bytes land back to back from phys */
    uint64_t phys;         /* allowed: where the first byte lands */
    uint64_t blocked_at;   /* not allowed: the first refused byte's device address */
    const char *owner;     /* whom the record of a blocked access names (ref_owner) */
} RefAccess;
/* A DMA of len bytes (len >= 1) at device address addr. */
void ref_access(const RefModel *m, uint32_t devid, uint64_t addr, uint64_t len, bool write, RefAccess *out);

/* A device's writable mappings, as runs of pages that are writable and
 * land back to back: device address -> physical address, len bytes. */
typedef struct {
    uint64_t addr, phys, len;
} RefSpan;
/* Writes at most cap spans in ascending device address; returns how many
 * there are in all. */
size_t ref_writable(const RefModel *m, uint32_t devid, RefSpan *out, size_t cap);

/* errno's name as smmu-client prints it ("EBUSY"), for expectations. */
const char *ref_errname(int neg_errno);

#endif
