/* Table memory: 4 KiB pages taken from the physical range the platform sets
 * aside, zeroed on allocation. For every page the service itself writes it
 * keeps a digest, refreshed after each write; the scrub recomputes them and
 * reports the first page whose contents changed behind the service's back. */
#ifndef SMMU_POOL_H
#define SMMU_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "../hw/pgtable/pgtable.h"

typedef struct Pool Pool;

/* va: where [base, base+size) is mapped. size must be page aligned. */
Pool *pool_new(uint64_t base, uint64_t size, void *va);
void pool_destroy(Pool *p);
/* A zeroed page. digest: covered by the scrub (false for pages the hardware
 * writes). 0 or -ENOMEM. */
int pool_alloc(Pool *p, uint64_t *pa, bool digest);
/* n physically contiguous zeroed pages; digest as for pool_alloc. */
int pool_alloc_contig(Pool *p, size_t n, uint64_t *pa, bool digest);
void pool_release(Pool *p, uint64_t pa);
void *pool_va(Pool *p, uint64_t pa);
/* The page changed through the service: take its new digest. */
void pool_written(Pool *p, uint64_t pa);
/* 0, or -EBADMSG with *bad = the first page that no longer matches. */
int pool_scrub(Pool *p, uint64_t *bad);
size_t pool_pages_used(const Pool *p);
size_t pool_pages_total(const Pool *p);
/* PtMem callbacks bound to this pool (digested pages). */
PtMem pool_pt_mem(Pool *p);

#endif
