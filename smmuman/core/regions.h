/* An object's regions, kept as the client gave them.
 *
 * Contract (shared/notes/smmuman-semantics.md): hardware granularity is
 * 4 KiB, so a region reaches every page it touches; a page's permission is
 * the union of the live regions that touch it; removing [start, start+len)
 * takes those exact bytes out of every region (splitting at the edges). Two
 * buffers sharing a page therefore keep it reachable until both are gone.
 *
 * Every change reports the new effective mapping of the pages it affected as
 * segments, ready to be written into page tables. */
#ifndef SMMU_REGIONS_H
#define SMMU_REGIONS_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#define REGION_PAGE_SIZE 4096ull

typedef struct {
    uint64_t start, len;
    unsigned perms;   /* SMF_READ | SMF_WRITE (as PT_READ | PT_WRITE) */
    uint64_t target;  /* where start lands (== start unless SMF_TARGET) */
} Region;

typedef struct {
    uint64_t iova, len; /* page aligned */
    unsigned perms;     /* 0: not reachable */
    uint64_t pa;        /* translation of iova (meaningless when perms == 0) */
} RegionSeg;

typedef struct {
    GArray *regions; /* Region, sorted by start */
} RegionSet;

void region_set_init(RegionSet *s);
void region_set_clear(RegionSet *s);
size_t region_set_count(const RegionSet *s);
const Region *region_set_at(const RegionSet *s, size_t i);

/* Adds regions (all or none). Each needs len > 0, no overflow, perms != 0,
 * and target at the same page offset as start. -EEXIST if a page would be
 * reached through two different translations. segs (RegionSeg) receives the
 * effective mapping of every affected page, including perms 0 holes. */
int region_set_add(RegionSet *s, const Region *add, size_t n, GArray *segs);
/* Removes the bytes of each range from every region. segs as for add. */
int region_set_remove(RegionSet *s, const Region *ranges, size_t n, GArray *segs);
/* Removes one region equal to r (not a byte range: other regions over the
 * same bytes stay). -ENOENT if there is none. segs as for add. */
int region_set_remove_exact(RegionSet *s, const Region *r, GArray *segs);
/* Effective mapping of [from, to) (page aligned), holes included. */
void region_set_segments(const RegionSet *s, uint64_t from, uint64_t to, GArray *segs);
/* Only the reachable segments of the whole set (replaying onto a new unit). */
void region_set_mapped(const RegionSet *s, GArray *segs);

#endif
