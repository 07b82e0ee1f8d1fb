/* Random campaigns (docs/scenarios.md "Random campaigns"): a seeded
 * generator of scenarios in the language's own steps, their expected
 * outcomes from the reference model (refmodel.h), playing, and shrinking a
 * failing one to a small regression scenario.
 *
 * A case is kept as structured steps, not text: the shrinker drops steps
 * and clients and narrows ranges, and every candidate is rendered again,
 * with its expectations re-derived from a fresh model. Objects are named
 * by a case-wide number (oid), turned into smmu-client's handles only when
 * rendering, so that dropping an "obj" step renumbers nothing by hand. */
#ifndef TB_CAMPAIGN_H
#define TB_CAMPAIGN_H

#include <glib.h>
#include <stdbool.h>
#include <stdint.h>

#include "refmodel.h"

typedef enum {
    CG_OBJ, CG_DESTROY, CG_ADD, CG_DETACH, CG_ADD_MMIO, CG_MAP, CG_UNMAP,
    CG_KILL, CG_FINI, CG_INIT, CG_DMA, CG_STORM, CG_SIGNAL
} CgKind;

#define CG_MAX_ENTRIES 2
#define CG_MAX_CLIENTS 3
#define CG_MAX_EDU 8

typedef struct {
    CgKind kind;
    unsigned client;              /* index into the case's clients */
    unsigned oid;                 /* the object (CG_OBJ: the one it creates) */
    unsigned dev;                 /* engine index: edu0, edu1, ... */
    unsigned perms;               /* CG_MAP: REF_READ | REF_WRITE | REF_EXEC | REF_TARGET */
    unsigned n;                   /* map/unmap entries */
    RefRange r[CG_MAX_ENTRIES];
    uint64_t target;              /* with REF_TARGET */
    bool write;                   /* dma, storm */
    uint64_t addr, len;           /* dma, storm */
    unsigned offset;              /* dma: into the engine's buffer */
    unsigned count;               /* storm */
    uint64_t stride;              /* storm */
    unsigned sig;                 /* CG_SIGNAL: index into cg_signals */
} CgStep;

extern const char *const cg_signals[]; /* "TERM", "INT", "HUP", "KILL" */

typedef struct {
    uint64_t seed;
    unsigned index;
    unsigned n_clients;
    char names[CG_MAX_CLIENTS][8];
    bool target[CG_MAX_CLIENTS];
    bool dropped[CG_MAX_CLIENTS]; /* shrinking took it out, with its steps */
    bool cfg;                     /* a startup mapping for engine cfg_dev */
    unsigned cfg_dev, cfg_n;
    RefRange cfg_r[2];
    unsigned cfg_perms[2];
    GArray *steps;                /* CgStep */
} CgCase;

/* The board as the generator and the model need it (its fixture). */
typedef struct {
    char name[64], kind[16];
    RefBoard ref;
    uint64_t stage_base;          /* the agent's staging page: never written by an allowed DMA */
    unsigned n_edu;
    bool x86;                     /* 0xfee00000-0xfeefffff are interrupts, not DMA */
} CgBoard;

typedef struct {
    unsigned steps;               /* steps to generate per scenario */
} CgOptions;

int cg_board_load(const char *name, CgBoard *b, GError **err);

/* campaign-gen.c: the case of scenario index of seed on board b. */
void cg_generate(const CgBoard *b, const CgOptions *opt, uint64_t seed, unsigned index, CgCase *out);
void cg_case_copy(CgCase *dst, const CgCase *src);
void cg_case_clear(CgCase *c);

/* campaign-render.c: the scenario text, every expectation from the model.
 * Steps the model says cannot be played as the language and the runner
 * need (docs/scenarios.md; campaign-render.c says which) are left out.
 * line_step (may be NULL) gets, per line of the text (index line - 1), the
 * step index + 1 that made it, 0 for none. *played: steps rendered. */
char *cg_render(const CgCase *c, const CgBoard *b, const CgOptions *opt, const char *comment, GArray *line_step,
                unsigned *played);

/* campaign-shrink.c: plays candidates through play() (true: it still
 * fails the same way) and keeps the smallest failing case in c, within
 * max_plays plays. Returns how many it played. */
typedef bool (*CgPlay)(void *ctx, const CgCase *c, unsigned *fail_step);
unsigned cg_shrink(CgCase *c, unsigned fail_step, unsigned max_plays, CgPlay play, void *ctx);

#endif
