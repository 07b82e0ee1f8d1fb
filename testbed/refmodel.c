/* The reference model (refmodel.h). Every rule here comes from docs/api.md
 * and the semantics notes, not from smmuman/core: an object keeps its
 * regions exactly as given (bytes), a page's permission is the union of the
 * live regions that touch it, removal cuts bytes out of regions. Nothing is
 * cached: each question walks the lists again. */
#include "refmodel.h"

#include <errno.h>
#include <glib.h>
#include <string.h>

#define PAGE_MASK ((uint64_t)REF_PAGE - 1)
#define LAST_PAGE (~(uint64_t)0 & ~PAGE_MASK) /* the 64-bit space's last page: never usable (EINVAL) */

/* Bytes [dev, dev + len) of device address space landing at phys. perms:
 * REF_READ | REF_WRITE (EXEC already folded into READ). */
typedef struct {
    uint64_t dev, len, phys;
    unsigned perms;
} Region;

typedef struct {
    int client;      /* index into clients */
    bool alive;
    GArray *regions; /* Region */
} Obj;

typedef struct {
    char *name;
    bool target;     /* came through the target socket */
    bool attached;   /* connected now (false after fini, until init) */
    bool gone;       /* killed: never again */
    GArray *handles; /* int per smmu-client handle: object index, -1 free */
} Client;

typedef struct {
    uint32_t devid;
    int obj;         /* the client object holding it, -1 none */
    bool config;     /* a startup mapping owns it */
    GArray *cfg;     /* Region: its allow ranges */
} Dev;

typedef struct {
    char *name;
    Region r;
} Allow;

struct RefModel {
    RefBoard b;
    GPtrArray *objs;    /* Obj*, index = id; dead ones stay (ids are never reused) */
    GPtrArray *clients; /* Client* */
    Dev devs[REF_MAX_DEVIDS];
    GArray *allows;     /* Allow */
};

static uint64_t pg_lo(uint64_t a) { return a & ~PAGE_MASK; }
/* The end of the last page [a, a + len) touches; callers have made sure
 * that this does not wrap (a range never reaches the last page). */
static uint64_t pg_hi(uint64_t a, uint64_t len) { return ((a + len - 1) | PAGE_MASK) + 1; }
static unsigned norm_perms(unsigned p) { return (p & (REF_READ | REF_EXEC) ? REF_READ : 0) | (p & REF_WRITE); }

bool ref_board_unit_kind(RefBoard *b, const char *kind)
{
    /* docs/api.md "ERANGE": input 39 bits on both libraries; output VT-d
     * MGAW (48 on QEMU's model), SMMUv3 IDR5.OAS (44). */
    if (strcmp(kind, "vtd") == 0) b->in_bits = 39, b->out_bits = 48;
    else if (strcmp(kind, "smmuv3") == 0) b->in_bits = 39, b->out_bits = 44;
    else return false;
    return true;
}

RefModel *ref_new(const RefBoard *b)
{
    RefModel *m = g_new0(RefModel, 1);
    m->b = *b;
    if (m->b.n_devids > REF_MAX_DEVIDS) m->b.n_devids = REF_MAX_DEVIDS;
    m->objs = g_ptr_array_new();
    m->clients = g_ptr_array_new();
    m->allows = g_array_new(FALSE, FALSE, sizeof(Allow));
    for (unsigned i = 0; i < m->b.n_devids; i++) {
        m->devs[i] = (Dev){ .devid = m->b.devids[i], .obj = -1 };
        m->devs[i].cfg = g_array_new(FALSE, FALSE, sizeof(Region));
    }
    return m;
}

void ref_free(RefModel *m)
{
    if (!m) return;
    for (guint i = 0; i < m->objs->len; i++) {
        Obj *o = g_ptr_array_index(m->objs, i);
        g_array_free(o->regions, TRUE);
        g_free(o);
    }
    for (guint i = 0; i < m->clients->len; i++) {
        Client *c = g_ptr_array_index(m->clients, i);
        g_free(c->name);
        g_array_free(c->handles, TRUE);
        g_free(c);
    }
    for (unsigned i = 0; i < m->b.n_devids; i++) g_array_free(m->devs[i].cfg, TRUE);
    for (guint i = 0; i < m->allows->len; i++) g_free(g_array_index(m->allows, Allow, i).name);
    g_ptr_array_free(m->objs, TRUE);
    g_ptr_array_free(m->clients, TRUE);
    g_array_free(m->allows, TRUE);
    g_free(m);
}

static Dev *dev_of(const RefModel *m, uint32_t devid)
{
    for (unsigned i = 0; i < m->b.n_devids; i++)
        if (m->devs[i].devid == devid) return (Dev *)&m->devs[i];
    return NULL;
}

static int client_index(const RefModel *m, const char *name)
{
    for (guint i = 0; i < m->clients->len; i++)
        if (strcmp(((Client *)g_ptr_array_index(m->clients, i))->name, name) == 0) return (int)i;
    return -1;
}

static Client *client_of(const RefModel *m, const char *name)
{
    int i = client_index(m, name);
    return i < 0 ? NULL : g_ptr_array_index(m->clients, i);
}

/* ---- configuration -------------------------------------------------------- */

int ref_config_allow(RefModel *m, const char *name, uint64_t start, uint64_t len, unsigned perms)
{
    if (len == 0 || start + len - 1 < start || start + len - 1 >= LAST_PAGE) return -EINVAL;
    Allow a = { g_strdup(name), { start, len, start, norm_perms(perms ? perms : REF_READ | REF_WRITE) } };
    g_array_append_val(m->allows, a);
    return 0;
}

int ref_config_device(RefModel *m, uint32_t devid, const char *const *names, unsigned n)
{
    Dev *d = dev_of(m, devid);
    if (!d) return -ENOENT;
    for (unsigned k = 0; k < n; k++) {
        bool found = false;
        for (guint i = 0; i < m->allows->len; i++) {
            Allow *a = &g_array_index(m->allows, Allow, i);
            if (strcmp(a->name, names[k]) == 0) g_array_append_val(d->cfg, a->r), found = true;
        }
        if (!found) return -ENOENT;
    }
    d->config = n > 0;
    return 0;
}

/* ---- clients and objects ---------------------------------------------------- */

int ref_client(RefModel *m, const char *name, bool target)
{
    if (client_index(m, name) >= 0) return -EEXIST;
    Client *c = g_new0(Client, 1);
    c->name = g_strdup(name);
    c->target = target;
    c->attached = true;
    c->handles = g_array_new(FALSE, FALSE, sizeof(int));
    g_ptr_array_add(m->clients, c);
    return 0;
}

bool ref_client_alive(const RefModel *m, const char *name)
{
    const Client *c = client_of(m, name);
    return c && c->attached && !c->gone;
}

/* An object goes: its devices are blocked again (nobody's). */
static void obj_kill(RefModel *m, int id)
{
    Obj *o = g_ptr_array_index(m->objs, id);
    o->alive = false;
    g_array_set_size(o->regions, 0);
    for (unsigned i = 0; i < m->b.n_devids; i++)
        if (m->devs[i].obj == id) m->devs[i].obj = -1;
}

static void client_disconnect(RefModel *m, Client *c)
{
    for (guint h = 0; h < c->handles->len; h++) {
        int id = g_array_index(c->handles, int, h);
        if (id >= 0 && ((Obj *)g_ptr_array_index(m->objs, id))->alive) obj_kill(m, id);
    }
    c->attached = false;
}

int ref_kill(RefModel *m, const char *client)
{
    Client *c = client_of(m, client);
    if (!c || c->gone) return -ENOENT;
    client_disconnect(m, c);
    c->gone = true;
    return 0;
}

int ref_fini(RefModel *m, const char *client)
{
    Client *c = client_of(m, client);
    if (!c || c->gone) return -ENOENT;
    client_disconnect(m, c); /* handles stay taken: they now name nothing */
    return 0;
}

int ref_init(RefModel *m, const char *client)
{
    Client *c = client_of(m, client);
    if (!c || c->gone) return -ENOENT;
    c->attached = true;
    return 0;
}

int ref_obj_create(RefModel *m, const char *client, unsigned *handle)
{
    Client *c = client_of(m, client);
    if (!c || !c->attached || c->gone) return -EIO;
    guint h = 0;
    while (h < c->handles->len && g_array_index(c->handles, int, h) >= 0) h++;
    if (h == c->handles->len) {
        int none = -1;
        g_array_append_val(c->handles, none);
    }
    Obj *o = g_new0(Obj, 1);
    o->client = client_index(m, client);
    o->alive = true;
    o->regions = g_array_new(FALSE, FALSE, sizeof(Region));
    g_ptr_array_add(m->objs, o);
    g_array_index(c->handles, int, h) = (int)m->objs->len - 1;
    *handle = h;
    return 0;
}

/* The object a client's handle names: -EINVAL for a free handle
 * (smmu-client refuses it), -ENOENT for one the service no longer knows. */
static int handle_obj(const RefModel *m, const char *client, unsigned h, Obj **out)
{
    Client *c = client_of(m, client);
    if (!c || !c->attached || c->gone) return -EIO;
    if (h >= c->handles->len || g_array_index(c->handles, int, h) < 0) return -EINVAL;
    Obj *o = g_ptr_array_index(m->objs, g_array_index(c->handles, int, h));
    if (!o->alive) return -ENOENT;
    *out = o;
    return g_array_index(c->handles, int, h);
}

int ref_obj_destroy(RefModel *m, const char *client, unsigned handle)
{
    Obj *o;
    int id = handle_obj(m, client, handle, &o);
    if (id == -EINVAL || id == -EIO) return id;
    if (id >= 0) obj_kill(m, id);
    g_array_index(client_of(m, client)->handles, int, handle) = -1;
    return 0;
}

int ref_device_add(RefModel *m, const char *client, int handle, uint32_t devid)
{
    int me = client_index(m, client);
    Dev *d = dev_of(m, devid);
    Obj *o = NULL;
    int id = -1;
    if (handle >= 0) {
        id = handle_obj(m, client, (unsigned)handle, &o);
        if (id < 0) return id;
    } else if (!ref_client_alive(m, client)) return -EIO;
    if (!d) return -ENOENT;
    if (d->config) return -EBUSY;
    if (d->obj >= 0 && ((Obj *)g_ptr_array_index(m->objs, d->obj))->client != me) return -EBUSY;
    d->obj = id; /* attach, move between own objects, or detach (-1) */
    return 0;
}

int ref_device_add_mmio(RefModel *m, const char *client, int handle)
{
    Obj *o;
    if (handle >= 0) {
        int id = handle_obj(m, client, (unsigned)handle, &o);
        if (id < 0) return id;
    }
    return -ENOENT; /* no unit of ours controls a memory-mapped device */
}

/* ---- regions ------------------------------------------------------------------ */

/* EINVAL: length 0, a range that wraps or reaches the last page. */
static int check_span(uint64_t a, uint64_t len)
{
    if (len == 0 || a + len - 1 < a || a + len - 1 >= LAST_PAGE) return -EINVAL;
    return 0;
}

static bool beyond(uint64_t a, uint64_t len, unsigned bits)
{
    return bits < 64 && (a + len - 1) >> bits != 0;
}

/* Two regions give one of their common pages different physical pages. */
static bool clash(const Region *x, const Region *y)
{
    bool overlap = pg_lo(x->dev) < pg_hi(y->dev, y->len) && pg_lo(y->dev) < pg_hi(x->dev, x->len);
    return overlap && pg_lo(x->phys) - pg_lo(x->dev) != pg_lo(y->phys) - pg_lo(y->dev);
}

/* Cut the bytes [a, a + len) out of every region. */
static void cut(GArray *regions, uint64_t a, uint64_t len)
{
    GArray *out = g_array_new(FALSE, FALSE, sizeof(Region));
    uint64_t e = a + len;
    for (guint i = 0; i < regions->len; i++) {
        Region r = g_array_index(regions, Region, i);
        uint64_t re = r.dev + r.len;
        if (re <= a || r.dev >= e) {
            g_array_append_val(out, r);
            continue;
        }
        if (r.dev < a) {
            Region left = { r.dev, a - r.dev, r.phys, r.perms };
            g_array_append_val(out, left);
        }
        if (re > e) {
            Region right = { e, re - e, r.phys + (e - r.dev), r.perms };
            g_array_append_val(out, right);
        }
    }
    g_array_set_size(regions, 0);
    g_array_append_vals(regions, out->data, out->len);
    g_array_free(out, TRUE);
}

static int removal(RefModel *m, Obj *o, const RefRange *r, unsigned n)
{
    for (unsigned i = 0; i < n; i++)
        if (check_span(r[i].addr, r[i].len)) return -EINVAL;
    for (unsigned i = 0; i < n; i++)
        if (beyond(r[i].addr, r[i].len, m->b.in_bits)) return -ERANGE;
    for (unsigned i = 0; i < n; i++) cut(o->regions, r[i].addr, r[i].len);
    return 0;
}

int ref_unmap(RefModel *m, const char *client, unsigned handle, const RefRange *r, unsigned n)
{
    Obj *o;
    int id = handle_obj(m, client, handle, &o);
    if (id < 0) return id;
    return removal(m, o, r, n);
}

int ref_map(RefModel *m, const char *client, unsigned handle, unsigned perms, const RefRange *r, unsigned n,
            uint64_t target)
{
    Obj *o;
    int id = handle_obj(m, client, handle, &o);
    if (id < 0) return id;
    if ((perms & REF_TARGET) && !client_of(m, client)->target) return -EPERM;
    if (!(perms & (REF_READ | REF_WRITE | REF_EXEC))) return removal(m, o, r, n);
    for (unsigned i = 0; i < n; i++)
        if (check_span(r[i].addr, r[i].len)) return -EINVAL;
    g_autoptr(GArray) add = g_array_new(FALSE, FALSE, sizeof(Region));
    uint64_t t = target;
    for (unsigned i = 0; i < n; i++) {
        Region g = { r[i].addr, r[i].len, r[i].addr, norm_perms(perms) };
        if (perms & REF_TARGET) {
            if (t + r[i].len - 1 < t) return -ERANGE; /* a target range running past 2^64 */
            g.phys = t;
            t += r[i].len;
        }
        if (beyond(g.dev, g.len, m->b.in_bits) || beyond(g.phys, g.len, m->b.out_bits)) return -ERANGE;
        g_array_append_val(add, g);
    }
    for (guint i = 0; i < add->len; i++) {
        const Region *g = &g_array_index(add, Region, i);
        uint64_t lo = pg_lo(g->phys), hi = pg_hi(g->phys, g->len);
        if (m->b.pool_size && lo < m->b.pool_base + m->b.pool_size && m->b.pool_base < hi) return -EPERM;
    }
    for (guint i = 0; i < add->len; i++) {
        const Region *g = &g_array_index(add, Region, i);
        for (guint k = 0; k < o->regions->len; k++)
            if (clash(g, &g_array_index(o->regions, Region, k))) return -EEXIST;
        for (guint k = 0; k < i; k++)
            if (clash(g, &g_array_index(add, Region, k))) return -EEXIST;
    }
    g_array_append_vals(o->regions, add->data, add->len);
    return 0;
}

/* ---- questions ------------------------------------------------------------------ */

/* The regions a device reaches now: its object's, its startup mapping's, or none. */
static const GArray *dev_regions(const RefModel *m, uint32_t devid)
{
    const Dev *d = dev_of(m, devid);
    if (!d) return NULL;
    if (d->config) return d->cfg;
    if (d->obj >= 0) return ((Obj *)g_ptr_array_index(m->objs, d->obj))->regions;
    return NULL;
}

const char *ref_owner(const RefModel *m, uint32_t devid)
{
    const Dev *d = dev_of(m, devid);
    if (!d || (!d->config && d->obj < 0)) return "none";
    if (d->config) return "config";
    const Obj *o = g_ptr_array_index(m->objs, d->obj);
    return ((Client *)g_ptr_array_index(m->clients, o->client))->name;
}

static RefPage page_of(const GArray *regions, uint64_t page)
{
    RefPage p = { 0, 0 };
    for (guint i = 0; regions && i < regions->len; i++) {
        const Region *r = &g_array_index(regions, Region, i);
        if (page < pg_lo(r->dev) || page >= pg_hi(r->dev, r->len)) continue;
        if (!p.perms) p.phys = page - pg_lo(r->dev) + pg_lo(r->phys);
        p.perms |= r->perms;
    }
    return p;
}

RefPage ref_translate(const RefModel *m, uint32_t devid, uint64_t addr)
{
    return page_of(dev_regions(m, devid), pg_lo(addr));
}

void ref_access(const RefModel *m, uint32_t devid, uint64_t addr, uint64_t len, bool write, RefAccess *out)
{
    const GArray *regions = dev_regions(m, devid);
    unsigned need = write ? REF_WRITE : REF_READ;
    *out = (RefAccess){ .allowed = true, .contiguous = true, .owner = ref_owner(m, devid) };
    uint64_t last = addr + (len ? len - 1 : 0), first_phys = 0;
    if (last < addr) { /* wraps past 2^64: no device reaches there */
        *out = (RefAccess){ .blocked_at = addr, .owner = ref_owner(m, devid) };
        return;
    }
    for (uint64_t p = pg_lo(addr);; p += REF_PAGE) {
        RefPage pg = page_of(regions, p);
        if (!(pg.perms & need)) {
            *out = (RefAccess){ .blocked_at = p > addr ? p : addr, .owner = ref_owner(m, devid) };
            return;
        }
        if (p == pg_lo(addr)) first_phys = pg.phys;
        else if (pg.phys != first_phys + (p - pg_lo(addr))) out->contiguous = false;
        if (p == pg_lo(last)) break;
    }
    out->phys = first_phys + (addr & PAGE_MASK);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

size_t ref_writable(const RefModel *m, uint32_t devid, RefSpan *out, size_t cap)
{
    const GArray *regions = dev_regions(m, devid);
    if (!regions || !regions->len) return 0;
    /* Between two consecutive page boundaries of the regions, the set of
     * regions touching a page, and so its permission and translation,
     * stays the same: look at one page of each piece. */
    g_autoptr(GArray) cuts = g_array_new(FALSE, FALSE, sizeof(uint64_t));
    for (guint i = 0; i < regions->len; i++) {
        const Region *r = &g_array_index(regions, Region, i);
        uint64_t lo = pg_lo(r->dev), hi = pg_hi(r->dev, r->len);
        g_array_append_val(cuts, lo);
        g_array_append_val(cuts, hi);
    }
    g_array_sort(cuts, cmp_u64);
    size_t n = 0;
    RefSpan cur = { 0, 0, 0 };
    for (guint i = 0; i + 1 < cuts->len; i++) {
        uint64_t lo = g_array_index(cuts, uint64_t, i), hi = g_array_index(cuts, uint64_t, i + 1);
        if (lo == hi) continue;
        RefPage pg = page_of(regions, lo);
        if (!(pg.perms & REF_WRITE)) continue;
        if (cur.len && cur.addr + cur.len == lo && cur.phys + cur.len == pg.phys) {
            cur.len += hi - lo;
            continue;
        }
        if (cur.len) {
            if (n < cap) out[n] = cur;
            n++;
        }
        cur = (RefSpan){ lo, pg.phys, hi - lo };
    }
    if (cur.len) {
        if (n < cap) out[n] = cur;
        n++;
    }
    return n;
}

const char *ref_errname(int e)
{
    switch (-e) {
    case 0: return "ok";
    case EINVAL: return "EINVAL";
    case ENOENT: return "ENOENT";
    case EPERM: return "EPERM";
    case ERANGE: return "ERANGE";
    case EEXIST: return "EEXIST";
    case EBUSY: return "EBUSY";
    case ENOMEM: return "ENOMEM";
    case EDQUOT: return "EDQUOT";
    case EIO: return "EIO";
    default: return "E?";
    }
}
