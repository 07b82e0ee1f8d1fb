/* What the reports' pictures draw with (report-svg.c), for the memory map
 * (report-map.c), the A, B and C picture (report-abc.c) and the page around
 * them, and nothing else (not installed): sizes and colours, the broken
 * address axis, markers, the regions' colours and labels. */
#ifndef TB_REPORT_SVG_H
#define TB_REPORT_SVG_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "report.h"

/* Pixel sizes, in the SVG's own units (the page scales the picture), that
 * both pictures draw with; the axis's others are report-svg.c's, the
 * memory map's report-map.c's. */
#define MAP_W 1160.0
#define GUTTER 100.0   /* row names on the left */
#define ZONE_W 64.0    /* the "below RAM" / "above RAM" boxes */
#define ROW_H 22.0
#define RAM_H 26.0
#define LANE_H 20.0
#define CHAR_W 6.4     /* rough width of a character at 11px, for placing labels */
#define LABEL_STEP 13.0 /* vertical address labels need this much room */

#define ALL_LANES 16u  /* up to this many regions: a lane each, in request order */
#define MAX_TIP 4u     /* detail lines in an aggregated marker's tooltip */
#define PAGE UINT64_C(4096)

#define C_OK "#1f9d3a"
#define C_BAD "#d62b2b"

/* A piecewise-linear ("broken") address axis: the interesting addresses are
 * breakpoints, each span between two of them gets a width that grows with the
 * log of its size, and empty stretches become fixed-width breaks. */
typedef struct {
    uint64_t lo, hi;         /* what the axis covers: RAM, or the recorded range */
    unsigned n;              /* breakpoints; n - 1 spans */
    uint64_t *bp;            /* ascending, bp[0] = lo, bp[n - 1] = hi */
    double *x;
    bool *gap;               /* span i is an empty stretch drawn as a break */
    double below_x, above_x; /* centres of the outside-RAM boxes, or < 0 */
} Axis;

/* What an axis is laid out for: rp_collect_init(), rp_take() each extent
 * drawn, then rp_axis_layout(). */
typedef struct {
    uint64_t lo, hi;
    GArray *pts;  /* uint64_t */
    GArray *cover; /* Iv: stretches something is drawn in */
    unsigned below, above; /* markers wholly outside [lo, hi) */
    uint64_t seen[2][4];   /* a few of their addresses, to name in the notes */
    unsigned nseen[2];
    bool more[2];          /* and others */
} Collect;

/* A marker on an axis: where it is drawn (x, across x0..x1) and the index
 * of its DMA or fault. */
typedef struct {
    double x, x0, x1;
    guint i;
} Mark;

/* The axis: what it must show collected, then laid out; x of an address */
unsigned rp_bits64(uint64_t v);
int rp_px(double v);
uint64_t rp_end_of(uint64_t a, uint64_t len);
uint64_t rp_dma_end(const ReportDma *d);
uint64_t rp_dma_at(const ReportDma *d);
uint64_t rp_dma_at_end(const ReportDma *d);
uint64_t rp_page_of(uint64_t a);
void rp_collect_init(Collect *c, uint64_t lo, uint64_t hi);
void rp_take(Collect *c, uint64_t a, uint64_t e, bool marker);
void rp_take_fault(Collect *c, uint64_t a);
bool rp_axis_layout(Axis *ax, Collect *c, uint64_t pool_base, uint64_t pool_size, const char *space, GString *notes);
void rp_axis_free(Axis *ax);
double rp_x_of(const Axis *ax, uint64_t a);
void rp_x_range(const Axis *ax, uint64_t a, uint64_t e, double *x0, double *x1);

/* Markers, grouped where they crowd, and their tooltips */
GArray *rp_groups_of(GArray *marks);
void rp_put_title(GString *o, const GString *t);

/* Regions: their colours and labels */
const char *rp_perm_class(const ReportRegion *r);
const char *rp_perm_fill(const char *cls);
char *rp_region_label(const ReportRegion *r, guint i);

/* A vertical address label */
void rp_put_hex_label(GString *o, double x, double y, uint64_t a);

#endif
