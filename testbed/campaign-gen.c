/* The random campaign's generator (campaign.h): a case of structured steps
 * from the seed alone. It guesses freely (a map on an object already
 * destroyed, a DMA nobody can make): the renderer asks the model and
 * leaves out what cannot be played, so the generator only has to aim
 * where the interesting rules are: shared pages, block-sized and unaligned
 * ranges, translations, the edges of RAM, of the table pool and of the
 * address widths. */
#include <string.h>

#include "board-def.h"
#include "campaign-rng.h"
#include "campaign.h"
#include "launcher.h"
#include "tb-error.h"

#define KIB 1024ull
#define MIB (1024ull * KIB)
#define PG 4096ull

const char *const cg_signals[] = { "TERM", "INT", "HUP", "KILL" };

int cg_board_load(const char *name, CgBoard *b, GError **err)
{
    g_autofree char *path = tb_board_resolve(name, err);
    if (!path) return -ENOENT;
    TbBoardDef def;
    if (tb_board_def_load(path, &def, err)) return -EINVAL;
    memset(b, 0, sizeof *b);
    g_strlcpy(b->name, def.name, sizeof b->name);
    int rc = 0;
    if (def.n_units == 0 || !ref_board_unit_kind(&b->ref, def.units[0].kind)) {
        g_set_error(err, TB_ERROR, EINVAL, "board %s: no IOMMU the reference model knows (vtd, smmuv3)", name);
        rc = -EINVAL;
    } else {
        g_strlcpy(b->kind, def.units[0].kind, sizeof b->kind);
        b->ref.ram_base = def.ram_base, b->ref.ram_size = def.ram_size;
        b->ref.pool_base = def.pool_base, b->ref.pool_size = def.pool_size;
        b->stage_base = def.stage_base;
        b->n_edu = def.n_edu < CG_MAX_EDU ? def.n_edu : CG_MAX_EDU;
        for (unsigned i = 0; i < b->n_edu; i++) b->ref.devids[i] = ref_pci(0, def.edu_slots[i], 0);
        b->ref.n_devids = b->n_edu;
        b->x86 = strcmp(def.arch, "x86_64") == 0;
    }
    tb_board_def_clear(&def);
    return rc;
}

void cg_case_copy(CgCase *dst, const CgCase *src)
{
    *dst = *src;
    dst->steps = g_array_copy(src->steps);
}

void cg_case_clear(CgCase *c)
{
    if (c->steps) g_array_free(c->steps, TRUE);
    c->steps = NULL;
}

/* What the generator remembers to aim with: ranges it mapped, objects it made. */
typedef struct {
    CgRng rng;
    const CgBoard *b;
    const CgOptions *opt;
    CgCase *c;
    uint64_t arena, tarena;   /* where plain and translated mappings go (2 MiB aligned) */
    RefRange hist[64];
    unsigned n_hist;
    unsigned oids[CG_MAX_CLIENTS][16], n_oids[CG_MAX_CLIENTS];
    unsigned next_oid, probes;
    bool killed[CG_MAX_CLIENTS];
    /* per object: the engines added to it and the ranges mapped in it, to
     * aim DMAs where something is granted */
    struct {
        unsigned devs;
        RefRange r[8];
        unsigned perms[8];
        unsigned n;
    } obj[256];
} Gen;

/* The engine a client adds: mostly its own one (edu0 for the first
 * client, ...; not the startup mapping's), so that clients collide now
 * and then (EBUSY), not all the time. */
static unsigned pick_dev(Gen *g, unsigned client)
{
    unsigned n = g->b->n_edu - (g->c->cfg && g->b->n_edu > 1 ? 1 : 0);
    return cg_chance(&g->rng, 75) ? client % n : (unsigned)cg_below(&g->rng, g->b->n_edu);
}

static void push(Gen *g, CgStep st) { g_array_append_val(g->c->steps, st); }

static void remember(Gen *g, uint64_t addr, uint64_t len)
{
    g->hist[g->n_hist % G_N_ELEMENTS(g->hist)] = (RefRange){ addr, len };
    g->n_hist++;
}

static void remember_obj(Gen *g, unsigned oid, const CgStep *st)
{
    if (oid >= G_N_ELEMENTS(g->obj)) return;
    if (st->kind == CG_ADD) g->obj[oid].devs |= 1u << st->dev;
    /* translated ones too: the runner checks RAM where a DMA lands */
    if (st->kind == CG_MAP)
        for (unsigned i = 0; i < st->n; i++, g->obj[oid].n++) {
            g->obj[oid].r[g->obj[oid].n % 8] = st->r[i];
            g->obj[oid].perms[g->obj[oid].n % 8] = st->perms;
        }
}

/* A DMA by an engine of an object with mappings, near one of them; false
 * when there is none. */
static bool aim(Gen *g, CgStep *st)
{
    unsigned cand[256], n = 0;
    for (unsigned i = 0; i < g->next_oid && i < G_N_ELEMENTS(g->obj); i++)
        if (g->obj[i].devs && g->obj[i].n) cand[n++] = i;
    if (!n) return false;
    unsigned o = cand[cg_below(&g->rng, n)], devs[CG_MAX_EDU], nd = 0;
    for (unsigned d = 0; d < g->b->n_edu; d++)
        if (g->obj[o].devs & 1u << d) devs[nd++] = d;
    st->dev = devs[cg_below(&g->rng, nd)];
    unsigned k = g->obj[o].n < 8 ? g->obj[o].n : 8;
    unsigned pick = (unsigned)cg_below(&g->rng, k);
    RefRange h = g->obj[o].r[pick];
    /* mostly the way it was granted: a write where it may write */
    if (cg_chance(&g->rng, 70)) st->write = g->obj[o].perms[pick] & REF_WRITE && (!(g->obj[o].perms[pick] & (REF_READ | REF_EXEC)) || cg_chance(&g->rng, 50));
    uint64_t pages = (((h.addr + h.len + PG - 1) & ~(PG - 1)) - (h.addr & ~(PG - 1))) / PG;
    switch (cg_below(&g->rng, 4)) {
    case 0: st->addr = h.addr & ~(PG - 1); break;                                   /* its first page */
    case 1: st->addr = (h.addr & ~(PG - 1)) + PG * cg_below(&g->rng, pages ? pages : 1); break;
    case 2: st->addr = h.addr + cg_below(&g->rng, h.len ? h.len : 1); break;         /* somewhere in it */
    default: st->addr = cg_chance(&g->rng, 50) ? (h.addr & ~(PG - 1)) + pages * PG : (h.addr & ~(PG - 1)) - PG; /* beside it */
    }
    return true;
}

static uint64_t arena_page(Gen *g) { return g->arena + cg_below(&g->rng, 48) * PG; }

/* A device address near something mapped before: its start, inside, its
 * last byte, the page after it; else somewhere in the arena. */
static uint64_t near_mapped(Gen *g)
{
    if (!g->n_hist || cg_chance(&g->rng, 20)) return arena_page(g) + (cg_chance(&g->rng, 30) ? cg_below(&g->rng, PG) : 0);
    unsigned n = g->n_hist < G_N_ELEMENTS(g->hist) ? g->n_hist : G_N_ELEMENTS(g->hist);
    RefRange h = g->hist[cg_below(&g->rng, n)];
    switch (cg_below(&g->rng, 5)) {
    case 0: return h.addr;
    case 1: return h.addr + cg_below(&g->rng, h.len ? h.len : 1);
    case 2: return h.addr + h.len - 1;
    case 3: return ((h.addr + h.len + PG - 1) & ~(PG - 1));
    default: return (h.addr & ~(PG - 1)) - PG;
    }
}

/* A fresh device address far from every plain mapping (under the 39-bit
 * width): a refusal probed there has one cause only, never also EEXIST. */
static uint64_t probe_addr(Gen *g) { return (1ull << 38) + (uint64_t)(g->probes++) * 0x10000; }

static unsigned random_perms(Gen *g)
{
    static const unsigned p[] = { REF_READ, REF_WRITE, REF_READ | REF_WRITE, REF_READ | REF_WRITE, REF_EXEC,
                                  REF_READ | REF_EXEC, REF_WRITE | REF_EXEC, REF_READ | REF_WRITE | REF_EXEC };
    return p[cg_below(&g->rng, G_N_ELEMENTS(p))];
}

/* One of the edges: RAM, the pool, the input and output widths, 2^64. */
static void edge_probe(Gen *g, CgStep *st, bool target_ok)
{
    const RefBoard *rb = &g->b->ref;
    uint64_t pool = rb->pool_base, pool_end = rb->pool_base + rb->pool_size, width = 1ull << rb->in_bits;
    st->n = 1;
    switch (cg_below(&g->rng, target_ok ? 16 : 12)) {
    case 0: st->r[0] = (RefRange){ pool, PG }; break;                        /* the pool: EPERM */
    case 1: st->r[0] = (RefRange){ pool - PG, 2 * PG }; break;                /* into it */
    case 2: st->r[0] = (RefRange){ pool - 1, 2 }; break;                      /* one byte of it */
    case 3: st->r[0] = (RefRange){ pool_end - PG, PG }; break;                /* its last page (RAM's too) */
    case 4: st->r[0] = (RefRange){ rb->ram_base, PG * (1 + cg_below(&g->rng, 2)) }; break; /* RAM's first page */
    case 5: st->r[0] = (RefRange){ pool - PG * (1 + cg_below(&g->rng, 3)), PG }; break; /* just below the pool */
    case 6: st->r[0] = (RefRange){ width - PG, PG }; break;                   /* the last page of the width */
    case 7: st->r[0] = (RefRange){ width - PG, 2 * PG }; break;               /* across it: ERANGE */
    case 8: st->r[0] = (RefRange){ width << cg_below(&g->rng, 10), PG }; break; /* beyond: ERANGE */
    case 9: st->r[0] = (RefRange){ 0xffffffffffffe000ull, PG }; break;        /* near 2^64: ERANGE */
    case 10: st->r[0] = (RefRange){ 0xfffffffffffff000ull, PG }; break;       /* the last page: EINVAL */
    case 11: st->r[0] = (RefRange){ probe_addr(g), 0 }; break;                /* length 0: EINVAL */
    default: /* translated out of reach */
        st->r[0] = (RefRange){ probe_addr(g), PG * (1 + cg_below(&g->rng, 2)) };
        st->perms |= REF_TARGET;
        switch (cg_below(&g->rng, 4)) {
        case 0: st->target = 1ull << g->b->ref.out_bits; break;              /* beyond the output width */
        case 1: st->target = (1ull << g->b->ref.out_bits) - PG; break;       /* its last page: fine */
        case 2: st->target = 0xfffffffffffff000ull; break;                   /* past 2^64 */
        default: st->target = pool + cg_below(&g->rng, 4) * PG; break;        /* the pool */
        }
    }
}

static void gen_map(Gen *g, CgStep *st)
{
    unsigned c = st->client;
    bool tgt = g->c->target[c];
    st->kind = CG_MAP;
    st->perms = random_perms(g);
    st->n = 1;
    switch (cg_below(&g->rng, 20)) {
    case 0: case 1: case 2: case 3: case 4: case 5: /* whole pages */
        st->r[0] = (RefRange){ arena_page(g), PG * (1 + cg_below(&g->rng, 4)) };
        break;
    case 6: case 7: case 8: /* unaligned bytes */
        st->r[0] = (RefRange){ arena_page(g) + cg_below(&g->rng, PG), 1 + cg_below(&g->rng, 2 * PG) };
        break;
    case 9: case 10: /* a few bytes sharing a page with something mapped */
        st->r[0] = (RefRange){ near_mapped(g), 1 + cg_below(&g->rng, 256) };
        break;
    case 11: case 12: /* block-sized: 2 MiB, aligned, give or take a page */
        st->r[0] = (RefRange){ g->arena + 2 * MIB * cg_below(&g->rng, 2), 2 * MIB };
        if (cg_chance(&g->rng, 40)) st->r[0].len = cg_chance(&g->rng, 50) ? 2 * MIB + PG : 2 * MIB - PG;
        break;
    case 13: case 14: case 15: /* translated: the target client's, or a refused try */
        if (tgt || cg_chance(&g->rng, 25)) {
            st->perms |= REF_TARGET;
            st->r[0] = (RefRange){ arena_page(g), PG * (1 + cg_below(&g->rng, 3)) };
            unsigned how = (unsigned)cg_below(&g->rng, 4);
            st->target = how == 0 ? st->r[0].addr                                   /* identity */
                         : how == 1 && g->n_hist ? near_mapped(g) & ~(PG - 1)       /* onto something mapped */
                                                 : g->tarena + cg_below(&g->rng, 48) * PG;
        } else st->r[0] = (RefRange){ arena_page(g), PG };
        break;
    case 16: case 17: /* the edges */
        edge_probe(g, st, tgt);
        return;
    default: /* two entries in one call (back to back when translated) */
        st->n = 2;
        st->r[0] = (RefRange){ arena_page(g), PG * (1 + cg_below(&g->rng, 2)) };
        st->r[1] = (RefRange){ arena_page(g), PG };
        if (tgt && cg_chance(&g->rng, 50)) st->perms |= REF_TARGET, st->target = g->tarena + cg_below(&g->rng, 48) * PG;
    }
    for (unsigned i = 0; i < st->n; i++) remember(g, st->r[i].addr, st->r[i].len);
}

static void gen_unmap(Gen *g, CgStep *st)
{
    st->kind = CG_UNMAP;
    st->n = 1;
    unsigned n = g->n_hist < G_N_ELEMENTS(g->hist) ? g->n_hist : G_N_ELEMENTS(g->hist);
    if (!n || cg_chance(&g->rng, 8)) {
        st->r[0] = cg_chance(&g->rng, 50) ? (RefRange){ 1ull << g->b->ref.in_bits, PG } /* ERANGE */
                                           : (RefRange){ arena_page(g), PG * (1 + cg_below(&g->rng, 3)) };
        return;
    }
    RefRange h = g->hist[cg_below(&g->rng, n)];
    switch (cg_below(&g->rng, 5)) {
    case 0: st->r[0] = h; break;                                                   /* all of it */
    case 1: st->r[0] = (RefRange){ (h.addr & ~(PG - 1)) + PG, PG }; break;         /* its second page */
    case 2: st->r[0] = (RefRange){ h.addr + cg_below(&g->rng, h.len ? h.len : 1), 1 + cg_below(&g->rng, 64) }; break;
    case 3: st->r[0] = (RefRange){ (h.addr & ~(PG - 1)) - PG, h.len + 2 * PG }; break; /* more than it */
    default: st->r[0] = (RefRange){ h.addr, h.len > 1 ? h.len / 2 : 1 }; break;     /* its first half */
    }
}

static uint64_t dma_len(Gen *g)
{
    static const uint64_t lens[] = { 1, 4, 64, 256, 4096, 4096 };
    return cg_chance(&g->rng, 20) ? 1 + cg_below(&g->rng, 4096) : lens[cg_below(&g->rng, G_N_ELEMENTS(lens))];
}

static void gen_dma(Gen *g, CgStep *st)
{
    const RefBoard *rb = &g->b->ref;
    st->kind = CG_DMA;
    st->dev = (unsigned)cg_below(&g->rng, g->b->n_edu);
    st->write = cg_chance(&g->rng, 50);
    st->len = dma_len(g);
    unsigned where = (unsigned)cg_below(&g->rng, 20);
    if (where < 15 && aim(g, st)) {
        if (st->addr % PG + st->len > PG && cg_chance(&g->rng, 70)) st->len = PG - st->addr % PG;
    } else if (where < 16) st->addr = near_mapped(g);
    else if (where < 17) st->addr = arena_page(g) + (cg_chance(&g->rng, 30) ? cg_below(&g->rng, PG) : 0);
    else {
        const uint64_t probes[] = { rb->ram_base, rb->pool_base, rb->pool_base + rb->pool_size, (1ull << rb->in_bits) - PG,
                                    1ull << rb->in_bits, rb->ram_base - PG };
        st->addr = probes[cg_below(&g->rng, rb->ram_base ? 6 : 5)];
    }
    if (cg_chance(&g->rng, 15)) st->offset = (unsigned)cg_below(&g->rng, 4096 - st->len + 1);
}

void cg_generate(const CgBoard *b, const CgOptions *opt, uint64_t seed, unsigned index, CgCase *out)
{
    memset(out, 0, sizeof *out);
    out->seed = seed;
    out->index = index;
    out->steps = g_array_new(FALSE, TRUE, sizeof(CgStep));
    Gen g = { .b = b, .opt = opt, .c = out };
    cg_rng_seed(&g.rng, seed, index);
    /* clients: a, vm (the target client), and b more often than not */
    g_strlcpy(out->names[out->n_clients++], "a", 8);
    g_strlcpy(out->names[out->n_clients], "vm", 8);
    out->target[out->n_clients++] = true;
    if (cg_chance(&g.rng, 60)) g_strlcpy(out->names[out->n_clients++], "b", 8);
    g.arena = b->ref.ram_base + 2 * MIB * (1 + cg_below(&g.rng, 60));
    g.tarena = g.arena + 64 * MIB;
    if (cg_chance(&g.rng, 30) && b->n_edu > 1) { /* a startup mapping for the last engine */
        out->cfg = true;
        out->cfg_dev = b->n_edu - 1;
        out->cfg_n = 1 + (unsigned)cg_below(&g.rng, 2);
        for (unsigned i = 0; i < out->cfg_n; i++) {
            out->cfg_r[i] = (RefRange){ arena_page(&g), PG * (1 + cg_below(&g.rng, 2)) };
            out->cfg_perms[i] = 1 + (unsigned)cg_below(&g.rng, 3); /* s, t, st */
            remember(&g, out->cfg_r[i].addr, out->cfg_r[i].len);
        }
    }
    /* most clients start with an object holding an engine: DMA has somewhere to go */
    for (unsigned c = 0; c < out->n_clients; c++) {
        if (!cg_chance(&g.rng, 80)) continue;
        g.oids[c][g.n_oids[c]++] = g.next_oid;
        push(&g, (CgStep){ .kind = CG_OBJ, .client = c, .oid = g.next_oid++ });
        CgStep add = { .kind = CG_ADD, .client = c, .oid = g.next_oid - 1, .dev = pick_dev(&g, c) };
        remember_obj(&g, add.oid, &add);
        push(&g, add);
    }
    for (unsigned i = 0; i < opt->steps; i++) {
        CgStep st = { .client = (unsigned)cg_below(&g.rng, out->n_clients) };
        unsigned c = st.client, w = (unsigned)cg_below(&g.rng, 100);
        bool has_obj = g.n_oids[c] > 0;
        if (has_obj) st.oid = g.oids[c][cg_below(&g.rng, g.n_oids[c])];
        if (w < 6 || !has_obj) {
            if (g.n_oids[c] >= G_N_ELEMENTS(g.oids[c])) continue;
            st.kind = CG_OBJ, st.oid = g.next_oid++;
            g.oids[c][g.n_oids[c]++] = st.oid;
        } else if (w < 15) st.kind = CG_ADD, st.dev = pick_dev(&g, c);
        else if (w < 17) st.kind = CG_DETACH, st.dev = (unsigned)cg_below(&g.rng, b->n_edu);
        else if (w < 18) st.kind = CG_ADD_MMIO;
        else if (w < 21) st.kind = CG_DESTROY;
        else if (w < 42) gen_map(&g, &st);
        else if (w < 51) gen_unmap(&g, &st);
        else if (w < 53) {
            if (g.killed[c] || i < opt->steps / 2) continue; /* late: a client dying early leaves little to play */
            st.kind = CG_KILL, g.killed[c] = true;
        } else if (w < 55) { /* fini, then at once init again: the handles stay, naming nothing */
            st.kind = CG_FINI;
            push(&g, st);
            st.kind = CG_INIT;
        } else if (w < 60) {
            gen_dma(&g, &st);
            st.kind = CG_STORM;
            st.len = cg_chance(&g.rng, 50) ? 64 : 256;
            st.offset = 0;
            st.count = 2 + (unsigned)cg_below(&g.rng, 10);
            st.stride = PG * (1 + cg_below(&g.rng, 3));
        } else gen_dma(&g, &st);
        remember_obj(&g, st.oid, &st);
        push(&g, st);
    }
    if (cg_chance(&g.rng, 20)) { /* the service is signalled: everything blocked after */
        push(&g, (CgStep){ .kind = CG_SIGNAL, .sig = (unsigned)cg_below(&g.rng, 4) });
        for (unsigned i = 0; i < 3; i++) {
            CgStep st = { 0 };
            gen_dma(&g, &st);
            st.write = true;
            push(&g, st);
        }
        push(&g, (CgStep){ .kind = CG_OBJ, .client = 0, .oid = g.next_oid++ });
    }
}
