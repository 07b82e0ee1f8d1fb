/* Names of the hardware's fault codes, so that every reader of a record
 * (smmuctl, the service log, the test bed's reports) sees why a DMA was
 * blocked, not just a number. The codes are named once, in the support
 * libraries' register headers; this table only gives them words. */
#include <stddef.h>

#include "hw/smmuv3-regs.h"
#include "hw/vtd-regs.h"
#include "smmu.h"

typedef struct {
    unsigned code;
    const char *name;
} ReasonName;

/* VT-d has no mnemonics for its legacy fault reasons: short words from the
 * specification's descriptions. */
static const ReasonName vtd_names[] = {
    { VTD_FR_ROOT_NOT_PRESENT, "root-entry-not-present" },
    { VTD_FR_CONTEXT_NOT_PRESENT, "context-entry-not-present" },
    { VTD_FR_CONTEXT_INVALID, "context-entry-invalid" },
    { VTD_FR_ADDR_BEYOND_MGAW, "address-beyond-mgaw" },
    { VTD_FR_WRITE, "write-not-permitted" },
    { VTD_FR_READ, "read-not-permitted" },
    { VTD_FR_PAGING_ENTRY_INV, "paging-entry-not-readable" },
    { VTD_FR_ROOT_TABLE_INV, "root-table-not-readable" },
    { VTD_FR_CONTEXT_TABLE_INV, "context-table-not-readable" },
    { VTD_FR_ROOT_ENTRY_RSVD, "root-entry-reserved-bits" },
    { VTD_FR_CONTEXT_ENTRY_RSVD, "context-entry-reserved-bits" },
    { VTD_FR_PAGING_ENTRY_RSVD, "paging-entry-reserved-bits" },
    { VTD_FR_CONTEXT_ENTRY_TT, "translation-type-not-allowed" },
    { VTD_FR_INTERRUPT_RANGE, "interrupt-address-range" },
};

/* SMMUv3's own event names. */
static const ReasonName smmuv3_names[] = {
    { SMMU_EVT_F_UUT, "F_UUT" },
    { SMMU_EVT_C_BAD_STREAMID, "C_BAD_STREAMID" },
    { SMMU_EVT_F_STE_FETCH, "F_STE_FETCH" },
    { SMMU_EVT_C_BAD_STE, "C_BAD_STE" },
    { SMMU_EVT_F_BAD_ATS_TREQ, "F_BAD_ATS_TREQ" },
    { SMMU_EVT_F_STREAM_DISABLED, "F_STREAM_DISABLED" },
    { SMMU_EVT_F_TRANSL_FORBIDDEN, "F_TRANSL_FORBIDDEN" },
    { SMMU_EVT_C_BAD_SUBSTREAMID, "C_BAD_SUBSTREAMID" },
    { SMMU_EVT_F_CD_FETCH, "F_CD_FETCH" },
    { SMMU_EVT_C_BAD_CD, "C_BAD_CD" },
    { SMMU_EVT_F_WALK_EABT, "F_WALK_EABT" },
    { SMMU_EVT_F_TRANSLATION, "F_TRANSLATION" },
    { SMMU_EVT_F_ADDR_SIZE, "F_ADDR_SIZE" },
    { SMMU_EVT_F_ACCESS, "F_ACCESS" },
    { SMMU_EVT_F_PERMISSION, "F_PERMISSION" },
    { SMMU_EVT_F_TLB_CONFLICT, "F_TLB_CONFLICT" },
    { SMMU_EVT_F_CFG_CONFLICT, "F_CFG_CONFLICT" },
    { SMMU_EVT_E_PAGE_REQUEST, "E_PAGE_REQUEST" },
    { SMMU_EVT_F_VMS_FETCH, "F_VMS_FETCH" },
};

static const char *lookup(const ReasonName *t, size_t n, uint64_t code)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].code == code) return t[i].name;
    return "unknown";
}

#define SMMU_EXPORT __attribute__((visibility("default")))

SMMU_EXPORT const char *smmu_fault_reason_name(const struct smmu_status *st)
{
    if (!st) return "unknown";
    switch (st->flags & SSF_HW_MASK) {
    case SSF_HW_VTD: return lookup(vtd_names, sizeof vtd_names / sizeof vtd_names[0], st->hw_specific);
    case SSF_HW_SMMUV3: return lookup(smmuv3_names, sizeof smmuv3_names / sizeof smmuv3_names[0], st->hw_specific);
    default: return "unknown";
    }
}
