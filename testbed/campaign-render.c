/* A case as scenario text (campaign.h): the steps replayed through a fresh
 * reference model, each written with the outcome the model gives.
 *
 * A step is left out when it could not be played or checked as written:
 * - requests of a client that is gone or between its fini and init, on an
 *   object the case never made or already destroyed;
 * - a request that could be refused for two reasons at once (an object the
 *   service no longer knows, or SMF_TARGET without the ability, together
 *   with a range that is itself refusable): which one the service names
 *   first is not part of its contract;
 * - a DMA the runner refuses (over the edge of RAM, more than the engine's
 *   buffer), one that would go through outside RAM (nothing to check), or
 *   one beyond twice the input width (no record there on SMMUv3);
 * - a write into the table pool or the agent's staging page, allowed or
 *   blocked: the runner primes the target bytes before a write;
 * - a blocked DMA across two pages (part of it could land), or one whose
 *   page the same engine (on SMMUv3: any engine of the same object, see
 *   cache_tag) reached since that page's translation last changed. That is the cached-translation rule (docs/api.md): an access
 *   that hits a cached translation lacking its permission fails without a
 *   record, so a blocked access could not be proven. Rather than order
 *   accesses, every allowed access marks its page (and the pages of its
 *   2 MiB block mapped the same way, in case the service used a block
 *   entry) with the translation it had; a blocked access is generated only
 *   on pages whose mark no longer matches, which keeps the one case the
 *   quirk does not cover and that matters most: the access after an unmap
 *   or a permission change, which the service must invalidate.
 * After a signal to the service: only writes in RAM, blocked (a DSS) or as
 * the tables left them (SIGKILL), checked in RAM alone; "obj" gets EIO. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "campaign.h"

#define PG 4096ull
#define BLOCK (2ull << 20)

enum { SVC_RUNNING, SVC_DSS, SVC_KILLED };

typedef struct {
    const CgCase *c;
    const CgBoard *b;
    const CgOptions *opt;
    RefModel *m;
    GString *out;
    GArray *line_step;
    unsigned cur;          /* step index + 1 of the lines written now; 0: the header */
    unsigned n_oids;
    int *handle;           /* oid -> smmu-client handle, -1 none */
    unsigned *owner;       /* oid -> client */
    bool *dead;            /* oid -> the client's fini ended it (the handle stays) */
    int svc;
    GHashTable *taint;     /* (page | cache tag) -> RefPage* the page's translation when last reached */
    int dev_obj[CG_MAX_EDU]; /* the oid holding each engine, -1 none, -2 the startup mapping */
} R;

static void line(R *r, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
static void line(R *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    g_string_append_vprintf(r->out, fmt, ap);
    va_end(ap);
    g_string_append_c(r->out, '\n');
    if (r->line_step) g_array_append_val(r->line_step, r->cur);
}

/* RAM addresses as ram+N, so that a reader sees where they are. */
static const char *addr(const R *r, uint64_t a, char buf[40])
{
    const RefBoard *b = &r->b->ref;
    if (a >= b->ram_base && a - b->ram_base < b->ram_size) snprintf(buf, 40, "ram+0x%llx", (unsigned long long)(a - b->ram_base));
    else snprintf(buf, 40, "0x%llx", (unsigned long long)a);
    return buf;
}

static unsigned slot_of(const R *r, unsigned dev) { return (r->b->ref.devids[dev] >> 3) & 31; }

static const char *expect(int rc, char buf[24])
{
    if (rc) snprintf(buf, 24, " => err %s", ref_errname(rc));
    else buf[0] = '\0';
    return buf;
}

static bool overlaps(uint64_t a, uint64_t len, uint64_t lo, uint64_t size)
{
    return a < lo + size && lo < a + len;
}

/* A range the service can only refuse for what its object or flags are. */
static bool plain(const R *r, uint64_t a, uint64_t len)
{
    const RefBoard *b = &r->b->ref;
    return len > 0 && len <= (64ull << 20) && a >= b->ram_base && a + len <= b->pool_base;
}

static bool plain_request(const R *r, const CgStep *st)
{
    uint64_t total = 0;
    for (unsigned i = 0; i < st->n; i++) {
        if (!plain(r, st->r[i].addr, st->r[i].len)) return false;
        total += st->r[i].len;
    }
    return !(st->perms & REF_TARGET) || plain(r, st->target, total);
}

/* Whose cached translations an engine's access uses. QEMU tags VT-d's
 * IOTLB by source id: the engine's own. SMMUv3's TLB is tagged by VMID, a
 * domain, one per object: every engine of the object shares what one of
 * them cached, also one added later (a campaign found it: seed 99,
 * scenario 5, an engine added after another wrote a write-only page, then
 * reading it, failed without a record). -1: nothing cached. */
static int cache_tag(const R *r, unsigned dev)
{
    if (strcmp(r->b->kind, "smmuv3") != 0) return (int)dev;
    if (r->dev_obj[dev] == -2) return CG_MAX_EDU;
    return r->dev_obj[dev] >= 0 ? CG_MAX_EDU + 1 + r->dev_obj[dev] : -1;
}

/* DMA addresses stay below 2^40 (dma_outcome): the tag goes above. */
static uint64_t taint_key(uint64_t page, int tag) { return page | (uint64_t)tag << 44; }

static bool tainted(const R *r, unsigned dev, uint64_t page)
{
    int tag = cache_tag(r, dev);
    if (tag < 0) return false;
    uint64_t k = taint_key(page, tag);
    const RefPage *was = g_hash_table_lookup(r->taint, &k);
    if (!was) return false;
    RefPage now = ref_translate(r->m, r->b->ref.devids[dev], page);
    return now.perms == was->perms && now.phys == was->phys;
}

static void taint_set(R *r, unsigned dev, uint64_t page, RefPage t)
{
    int tag = cache_tag(r, dev);
    if (tag < 0) return;
    uint64_t *k = g_new(uint64_t, 1);
    *k = taint_key(page, tag);
    g_hash_table_replace(r->taint, k, g_memdup2(&t, sizeof t));
}

static void taint_access(R *r, unsigned dev, uint64_t a, uint64_t len)
{
    uint32_t id = r->b->ref.devids[dev];
    for (uint64_t p = a & ~(PG - 1); p <= ((a + len - 1) & ~(PG - 1)); p += PG) {
        RefPage t = ref_translate(r->m, id, p);
        taint_set(r, dev, p, t);
        for (uint64_t q = p & ~(BLOCK - 1); q < (p & ~(BLOCK - 1)) + BLOCK; q += PG) {
            RefPage u = ref_translate(r->m, id, q);
            if (q != p && u.perms == t.perms && u.phys - q == t.phys - p) taint_set(r, dev, q, u);
        }
    }
}

/* 1: the DMA goes through, 0: blocked, -1: it cannot be played (above). */
static int dma_outcome(const R *r, unsigned dev, uint64_t a, uint64_t len, bool write)
{
    const CgBoard *b = r->b;
    uint64_t ram = b->ref.ram_base, ram_end = ram + b->ref.ram_size;
    /* far beyond the input width QEMU's SMMUv3 records nothing (measured:
     * a read at 2^64 - 4096), so a blocked DMA there could not be proven */
    if (len == 0 || len > 4096 || a + len - 1 < a || a + len > 2ull << b->ref.in_bits) return -1;
    bool in_ram = a >= ram && a + len <= ram_end, out_ram = a + len <= ram || a >= ram_end;
    if (!in_ram && !out_ram) return -1;
    if (b->x86 && overlaps(a, len, 0xfee00000ull, 0x100000)) return -1;
    if (write && (overlaps(a, len, b->ref.pool_base, b->ref.pool_size) || overlaps(a, len, b->stage_base, PG))) return -1;
    if (r->svc != SVC_RUNNING && (!write || !in_ram)) return -1; /* RAM alone can show it */
    if (r->svc == SVC_DSS) return 0;
    RefAccess x;
    ref_access(r->m, b->ref.devids[dev], a, len, write, &x);
    if (x.allowed) {
        if (!in_ram) return -1;
        if (!x.contiguous || x.phys < ram || x.phys + len > ram_end) return -1;
        if (write && (overlaps(x.phys, len, b->ref.pool_base, b->ref.pool_size) || overlaps(x.phys, len, b->stage_base, PG)))
            return -1;
        return 1;
    }
    if ((a & ~(PG - 1)) != ((a + len - 1) & ~(PG - 1))) return -1;
    if (r->svc == SVC_KILLED) return 0; /* nobody records: RAM alone */
    if (tainted(r, dev, a & ~(PG - 1))) return -1;
    return 0;
}

static void render_dma(R *r, const CgStep *st)
{
    char ab[40];
    unsigned count = st->kind == CG_STORM ? st->count : 1;
    int want = -2;
    uint64_t span = (uint64_t)(count - 1) * st->stride;
    if (st->addr > (2ull << r->b->ref.in_bits) || span > (2ull << r->b->ref.in_bits)) return; /* no wrap past 2^64 */
    for (unsigned k = 0; k < count; k++) {
        int o = dma_outcome(r, st->dev, st->addr + k * st->stride, st->len, st->write);
        if (o < 0 || (want != -2 && o != want)) return;
        want = o;
    }
    if (want < 0) return;
    if (st->kind == CG_STORM)
        line(r, "storm edu%u %s %s %llu %u stride=%llu => %s", st->dev, st->write ? "write" : "read", addr(r, st->addr, ab),
             (unsigned long long)st->len, count, (unsigned long long)st->stride, want ? "ok" : "blocked");
    else if (st->offset)
        line(r, "dma edu%u %s %s %llu offset=%u => %s", st->dev, st->write ? "write" : "read", addr(r, st->addr, ab),
             (unsigned long long)st->len, st->offset, want ? "ok" : "blocked");
    else
        line(r, "dma edu%u %s %s %llu => %s", st->dev, st->write ? "write" : "read", addr(r, st->addr, ab),
             (unsigned long long)st->len, want ? "ok" : "blocked");
    if (want == 1 && r->svc == SVC_RUNNING)
        for (unsigned k = 0; k < count; k++) taint_access(r, st->dev, st->addr + k * st->stride, st->len);
}

static void render_map(R *r, const CgStep *st, const char *name, int h)
{
    char ab[40], eb[24];
    if ((r->dead[st->oid] || ((st->perms & REF_TARGET) && !r->c->target[st->client])) && !plain_request(r, st)) return;
    bool map = st->kind == CG_MAP;
    int rc = map ? ref_map(r->m, name, (unsigned)h, st->perms, st->r, st->n, st->target)
                 : ref_unmap(r->m, name, (unsigned)h, st->r, st->n);
    GString *l = g_string_new(NULL);
    g_string_printf(l, "%s %s %d", name, map ? "map" : "unmap", h);
    if (map)
        g_string_append_printf(l, " %s%s%s%s", st->perms & REF_READ ? "r" : "", st->perms & REF_WRITE ? "w" : "",
                               st->perms & REF_EXEC ? "x" : "", st->perms & REF_TARGET ? "t" : "");
    for (unsigned i = 0; i < st->n; i++)
        g_string_append_printf(l, " %s 0x%llx", addr(r, st->r[i].addr, ab), (unsigned long long)st->r[i].len);
    if (map && (st->perms & REF_TARGET)) g_string_append_printf(l, " target=%s", addr(r, st->target, ab));
    line(r, "%s%s", l->str, expect(rc, eb));
    g_string_free(l, TRUE);
}

/* Engines the client's object oid (-1: any of its objects) held go back to nobody. */
static void release_engines(R *r, unsigned client, int oid)
{
    for (unsigned d = 0; d < CG_MAX_EDU; d++)
        if (r->dev_obj[d] >= 0 && r->owner[r->dev_obj[d]] == client && (oid < 0 || r->dev_obj[d] == oid)) r->dev_obj[d] = -1;
}

static void render_step(R *r, const CgStep *st)
{
    const char *name = r->c->names[st->client];
    char eb[24];
    bool has_client = st->kind != CG_DMA && st->kind != CG_STORM && st->kind != CG_SIGNAL;
    if (has_client && r->c->dropped[st->client]) return;
    if (st->kind == CG_DMA || st->kind == CG_STORM) return render_dma(r, st);
    if (st->kind == CG_SIGNAL) {
        if (r->svc != SVC_RUNNING) return;
        line(r, "kill service %s", cg_signals[st->sig]);
        if (strcmp(cg_signals[st->sig], "KILL") == 0) r->svc = SVC_KILLED;
        else line(r, "expect-state dss stopped by a signal"), r->svc = SVC_DSS;
        return;
    }
    if (r->svc != SVC_RUNNING) {
        if (st->kind == CG_OBJ && ref_client_alive(r->m, name)) line(r, "%s obj => err EIO", name);
        return;
    }
    bool mine = st->oid < r->n_oids && r->handle[st->oid] >= 0 && r->owner[st->oid] == st->client;
    int h = mine ? r->handle[st->oid] : -1;
    uint32_t devid = r->b->ref.devids[st->dev];
    switch (st->kind) {
    case CG_OBJ: {
        unsigned nh;
        if (!ref_client_alive(r->m, name) || ref_obj_create(r->m, name, &nh)) return;
        line(r, "%s obj => ok %u", name, nh);
        r->handle[st->oid] = (int)nh, r->owner[st->oid] = st->client, r->dead[st->oid] = false;
        return;
    }
    case CG_DESTROY:
        if (!mine || !ref_client_alive(r->m, name)) return;
        ref_obj_destroy(r->m, name, (unsigned)h);
        line(r, "%s destroy %d", name, h);
        release_engines(r, st->client, (int)st->oid);
        r->handle[st->oid] = -1;
        return;
    case CG_ADD: {
        if (!mine || !ref_client_alive(r->m, name)) return;
        const char *o = ref_owner(r->m, devid);
        if (r->dead[st->oid] && strcmp(o, "none") && strcmp(o, name)) return; /* ENOENT or EBUSY? */
        int rc = ref_device_add(r->m, name, h, devid);
        line(r, "%s add %d pci 0 %u 0%s", name, h, slot_of(r, st->dev), expect(rc, eb));
        if (rc == 0) r->dev_obj[st->dev] = (int)st->oid;
        return;
    }
    case CG_DETACH:
        if (!ref_client_alive(r->m, name) || strcmp(ref_owner(r->m, devid), name)) return;
        ref_device_add(r->m, name, -1, devid);
        line(r, "%s add - pci 0 %u 0", name, slot_of(r, st->dev));
        r->dev_obj[st->dev] = -1;
        return;
    case CG_ADD_MMIO:
        if (!mine || !ref_client_alive(r->m, name)) return;
        line(r, "%s add %d mem 0x10000000 4096%s", name, h, expect(ref_device_add_mmio(r->m, name, h), eb));
        return;
    case CG_MAP:
    case CG_UNMAP:
        if (!mine || !ref_client_alive(r->m, name)) return;
        return render_map(r, st, name, h);
    case CG_KILL:
        if (ref_kill(r->m, name)) return;
        line(r, "kill %s", name);
        release_engines(r, st->client, -1);
        for (unsigned i = 0; i < r->n_oids; i++)
            if (r->owner[i] == st->client) r->handle[i] = -1;
        return;
    case CG_FINI:
        if (!ref_client_alive(r->m, name)) return;
        ref_fini(r->m, name);
        line(r, "%s fini", name);
        release_engines(r, st->client, -1);
        for (unsigned i = 0; i < r->n_oids; i++)
            if (r->owner[i] == st->client && r->handle[i] >= 0) r->dead[i] = true;
        return;
    case CG_INIT:
        if (ref_client_alive(r->m, name) || ref_init(r->m, name)) return;
        line(r, "%s init", name);
        return;
    default:
        return;
    }
}

char *cg_render(const CgCase *c, const CgBoard *b, const CgOptions *opt, const char *comment, GArray *line_step,
                unsigned *played)
{
    R r = { .c = c, .b = b, .opt = opt, .out = g_string_new(NULL), .line_step = line_step };
    r.m = ref_new(&b->ref);
    r.taint = g_hash_table_new_full(g_int64_hash, g_int64_equal, g_free, g_free);
    for (guint i = 0; i < c->steps->len; i++) {
        const CgStep *st = &g_array_index(c->steps, CgStep, i);
        if (st->oid + 1 > r.n_oids) r.n_oids = st->oid + 1;
    }
    r.handle = g_new(int, r.n_oids + 1);
    r.owner = g_new0(unsigned, r.n_oids + 1);
    r.dead = g_new0(bool, r.n_oids + 1);
    for (unsigned i = 0; i <= r.n_oids; i++) r.handle[i] = -1;
    if (line_step) g_array_set_size(line_step, 0);
    for (unsigned d = 0; d < CG_MAX_EDU; d++) r.dev_obj[d] = -1;

    if (comment) {
        g_auto(GStrv) cl = g_strsplit(comment, "\n", -1);
        for (unsigned i = 0; cl[i]; i++) line(&r, "# %s", cl[i]);
    }
    line(&r, "scenario random/%llu-%u", (unsigned long long)c->seed, c->index);
    line(&r, "purpose Random scenario %u of seed %llu: every expected outcome from the reference model (testbed/refmodel.c).",
         c->index, (unsigned long long)c->seed);
    line(&r, "board %s", b->name);
    if (c->cfg) {
        char ab[40];
        static const char *const letters[] = { "", "s", "t", "st" };
        const char *names[2] = { "cfg0", "cfg1" };
        for (unsigned i = 0; i < c->cfg_n; i++) {
            unsigned p = c->cfg_perms[i] & 3;
            line(&r, "config allow %s %s,0x%llx,%s", names[i], addr(&r, c->cfg_r[i].addr, ab),
                 (unsigned long long)c->cfg_r[i].len, letters[p]);
            ref_config_allow(r.m, names[i], c->cfg_r[i].addr, c->cfg_r[i].len, p);
        }
        line(&r, "config device pci:0:%u.0 %s", slot_of(&r, c->cfg_dev), c->cfg_n > 1 ? "cfg0 cfg1" : "cfg0");
        ref_config_device(r.m, b->ref.devids[c->cfg_dev], names, c->cfg_n);
        r.dev_obj[c->cfg_dev] = -2;
    }
    for (unsigned i = 0; i < c->n_clients; i++) {
        if (c->dropped[i]) continue;
        line(&r, "client %s%s", c->names[i], c->target[i] ? " target" : "");
        ref_client(r.m, c->names[i], c->target[i]);
    }
    unsigned n = 0;
    for (guint i = 0; i < c->steps->len; i++) {
        guint before = r.out->len;
        r.cur = i + 1;
        render_step(&r, &g_array_index(c->steps, CgStep, i));
        if (r.out->len != before) n++;
    }
    if (played) *played = n;
    ref_free(r.m);
    g_hash_table_unref(r.taint);
    g_free(r.handle);
    g_free(r.owner);
    g_free(r.dead);
    return g_string_free(r.out, FALSE);
}
