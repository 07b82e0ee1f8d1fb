#include "runner-xlate.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "num.h"

/* ---- the configuration's startup mappings -------------------------------- */

/* A number of a configuration line (docs/configuration.md): addresses are
 * hexadecimal and lengths decimal without a prefix; 0x and 0d choose; K, M,
 * G multiply. Only what the runner itself must understand: the service
 * has judged the line already (it started). */
static bool cfg_number(const char *s, bool address, uint64_t *out)
{
    int base = address ? 16 : 10;
    if (g_ascii_strncasecmp(s, "0x", 2) == 0) base = 16, s += 2;
    else if (g_ascii_strncasecmp(s, "0d", 2) == 0) base = 10, s += 2;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (errno || end == s) return false;
    unsigned shift = 0;
    if (*end) {
        char k = g_ascii_toupper(*end++);
        shift = k == 'K' ? 10 : k == 'M' ? 20 : k == 'G' ? 30 : 64;
        if (shift == 64 || *end || (v >> (64 - shift))) return false;
    }
    *out = (uint64_t)v << shift;
    return true;
}

static bool resolved_config_line(Run *r, guint i, char **out)
{
    GError *e = NULL;
    *out = scenario_subst_addrs(g_ptr_array_index(r->scn->config, i), true, rn_subst_cb, r, &e);
    if (e) g_error_free(e);
    return *out != NULL;
}

/* "allow NAME START,LEN[,PERMS]" and "device pci:B:D.F NAME ... [use ...]" */
static void config_line(Run *r, const char *line)
{
    g_auto(GStrv) w = g_strsplit_set(line, " \t", -1);
    unsigned n = g_strv_length(w);
    if (n >= 3 && strcmp(w[0], "allow") == 0) {
        g_auto(GStrv) f = g_strsplit(w[2], ",", 3);
        uint64_t start, len;
        unsigned perms = 0;
        if (!f[1] || !cfg_number(f[0], true, &start) || !cfg_number(f[1], false, &len)) return;
        for (const char *p = f[2] ? f[2] : ""; *p; p++) perms |= *p == 's' ? REF_READ : *p == 't' ? REF_WRITE : 0;
        ref_config_allow(r->ref, w[1], start, len, perms);
    } else if (n >= 3 && strcmp(w[0], "device") == 0) {
        unsigned b, d, f;
        if (sscanf(w[1], "pci:%u:%u.%u", &b, &d, &f) != 3) return;
        unsigned k = 2;
        while (w[k] && *w[k] && strcmp(w[k], "use")) k++;
        g_auto(GStrv) names = g_new0(char *, k - 1);
        for (unsigned i = 2; i < k; i++) names[i - 2] = g_strdup(w[i]);
        if (k > 2) ref_config_device(r->ref, ref_pci(b, d, f), (const char *const *)names, k - 2);
    }
}

void rn_xlate_start(Run *r)
{
    RefBoard b = { .ram_base = r->inv.ram_base, .ram_size = r->inv.ram_size, .pool_base = r->inv.pool_base,
                   .pool_size = r->inv.pool_size };
    if (!r->inv.n_units || !ref_board_unit_kind(&b, r->inv.units[0].kind)) return; /* no IOMMU: identity */
    for (unsigned i = 0; i < r->inv.n_devices && b.n_devids < REF_MAX_DEVIDS; i++) b.devids[b.n_devids++] = r->inv.devices[i].rid;
    r->ref = ref_new(&b);
    for (guint i = 0; i < r->scn->config->len; i++) {
        g_autofree char *l = NULL;
        if (resolved_config_line(r, i, &l)) config_line(r, l);
    }
    for (guint i = 0; i < r->scn->clients->len; i++) {
        g_auto(GStrv) cw = g_strsplit(g_ptr_array_index(r->scn->clients, i), " ", 2);
        if (cw[1] && g_str_has_prefix(cw[1], "guest=")) continue; /* a guest's: not the host's model */
        ref_client(r->ref, cw[0], cw[1] != NULL);
    }
}

void rn_xlate_stop(Run *r)
{
    ref_free(r->ref);
    r->ref = NULL;
}

/* ---- the host clients' requests ---------------------------------------- */

/* ADDR LEN pairs of map/unmap (up to target=), resolved as the runner sent them. */
static unsigned ranges_of(Run *r, char **w, unsigned first, RefRange *out, unsigned cap, uint64_t *target, bool *has_target)
{
    unsigned k = 0;
    *has_target = false;
    for (unsigned i = first; w[i]; i++) {
        if (g_str_has_prefix(w[i], "target=")) {
            *has_target = rn_addr_of(r, w[i] + 7, target);
            continue;
        }
        if (!w[i + 1] || k == cap || !rn_addr_of(r, w[i], &out[k].addr) || tb_parse_size(w[i + 1], &out[k].len)) return 0;
        k++, i++;
    }
    return k;
}

void rn_xlate_command(Run *r, Proc *p, char **w, const char *reply)
{
    if (!r->ref || p->guest || !g_str_has_prefix(reply, "ok")) return;
    const char *cmd = w[1];
    unsigned n = g_strv_length(w);
    int rc = 0;
    uint64_t h = 0;
    bool handle_ok = n > 2 && !tb_parse_u64(w[2], &h);
    if (strcmp(cmd, "obj") == 0) {
        unsigned got;
        rc = ref_obj_create(r->ref, p->name, &got);
        if (!rc && (unsigned)atoi(reply + 2) != got) /* smmu-client numbers its handles as the model does */
            rn_logf(r, "the reference model numbered %s's object %u, smmu-client %s", p->name, got, reply + 3);
    } else if (strcmp(cmd, "destroy") == 0 && handle_ok) {
        rc = ref_obj_destroy(r->ref, p->name, (unsigned)h);
    } else if (strcmp(cmd, "add") == 0 && n == 7 && strcmp(w[3], "pci") == 0) {
        uint64_t b, d, f;
        if (tb_parse_u64(w[4], &b) || tb_parse_u64(w[5], &d) || tb_parse_u64(w[6], &f)) return;
        rc = ref_device_add(r->ref, p->name, strcmp(w[2], "-") == 0 ? -1 : handle_ok ? (int)h : -2,
                            ref_pci((unsigned)b, (unsigned)d, (unsigned)f));
    } else if ((strcmp(cmd, "map") == 0 || strcmp(cmd, "unmap") == 0) && handle_ok) {
        bool unmap = cmd[0] == 'u';
        RefRange rg[64];
        uint64_t target = 0;
        bool has_target;
        unsigned k = ranges_of(r, w, unmap ? 3 : 4, rg, G_N_ELEMENTS(rg), &target, &has_target);
        if (!k) return;
        if (unmap) {
            rc = ref_unmap(r->ref, p->name, (unsigned)h, rg, k);
        } else {
            unsigned perms = 0;
            for (const char *c = strcmp(w[3], "none") ? w[3] : ""; *c; c++)
                perms |= *c == 'r' ? REF_READ : *c == 'w' ? REF_WRITE : *c == 'x' ? REF_EXEC : *c == 't' ? REF_TARGET : 0;
            rc = ref_map(r->ref, p->name, (unsigned)h, perms, rg, k, has_target ? target : 0);
        }
    } else if (strcmp(cmd, "fini") == 0) {
        rc = ref_fini(r->ref, p->name);
    } else if (strcmp(cmd, "init") == 0) {
        rc = ref_init(r->ref, p->name);
    }
    /* The model is the runner's knowledge of where DMA lands, not the
     * judge of replies (that is the campaign's, issue 11): a request the
     * service took and the model would refuse is said in the step log. */
    if (rc) rn_logf(r, "the reference model would refuse '%s' (%s): its translations may differ from the service's", cmd, ref_errname(rc));
}

void rn_xlate_kill(Run *r, Proc *p)
{
    if (r->ref && !p->guest) ref_kill(r->ref, p->name);
}

/* ---- questions ------------------------------------------------------------ */

XlLanding rn_xlate_landing(Run *r, unsigned rid, uint64_t addr, uint64_t len, uint64_t *phys)
{
    if (!r->ref || len == 0) return XL_IDENTITY;
    uint64_t first = addr & ~(uint64_t)(REF_PAGE - 1), last = (addr + len - 1) & ~(uint64_t)(REF_PAGE - 1);
    RefPage p0 = ref_translate(r->ref, rid, first);
    if (!p0.perms) return XL_IDENTITY;
    bool identity = p0.phys == first, together = true;
    for (uint64_t pg = first; pg != last;) {
        pg += REF_PAGE;
        RefPage p = ref_translate(r->ref, rid, pg);
        if (!p.perms) return XL_IDENTITY; /* part unmapped: the device address, as without a model */
        identity &= p.phys == pg;
        together &= p.phys == p0.phys + (pg - first);
    }
    if (!together) return XL_SPLIT;
    if (identity) return XL_IDENTITY;
    *phys = p0.phys + (addr - first);
    return XL_TRANSLATED;
}

bool rn_xlate_writable(Run *r, unsigned rid, uint64_t addr, uint64_t len, uint64_t *waddr, uint64_t *phys)
{
    if (!r->ref) return false;
    RefAccess a, rd;
    ref_access(r->ref, rid, addr, len, true, &a);
    ref_access(r->ref, rid, addr, len, false, &rd);
    if (a.allowed && a.contiguous && rd.allowed) { /* readable and writable, as below */
        *waddr = addr, *phys = a.phys;
        return true;
    }
    /* Another page, readable too: the write-back leaves the IOTLB holding
     * its translation, and one lacking read would make a later read the
     * scenario expects blocked fail with no record (docs/api.md). A page
     * is enough: len <= 4096 from its start. */
    RefSpan sp[64];
    size_t n = ref_writable(r->ref, rid, sp, G_N_ELEMENTS(sp));
    for (size_t i = 0; i < n && i < G_N_ELEMENTS(sp); i++)
        for (uint64_t off = 0; off + REF_PAGE <= sp[i].len && len <= REF_PAGE; off += REF_PAGE) {
            RefPage pg = ref_translate(r->ref, rid, sp[i].addr + off);
            if (pg.perms != (REF_READ | REF_WRITE)) continue;
            *waddr = sp[i].addr + off, *phys = pg.phys;
            return true;
        }
    return false;
}
