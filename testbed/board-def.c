#include "board-def.h"

#include "ini.h"
#include "num.h"

#include <errno.h>
#include <string.h>

#define EDU_BAR_SIZE (1u << 20) /* edu's BAR0; the MMIO window must hold them all */

typedef struct {
    const TbIni *ini;
    GError **err;
    int rc;
} Ctx;

static void fail(Ctx *c, const TbIniEntry *e, const char *section, const char *key,
                 const char *what)
{
    if (c->rc) return; /* keep the first error */
    c->rc = -EINVAL;
    if (e)
        g_set_error(c->err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s:%u: %s: %s (got '%s')",
                    c->ini->path, e->line, key, what, e->value);
    else
        g_set_error(c->err, G_FILE_ERROR, G_FILE_ERROR_INVAL, "%s: [%s] %s: %s", c->ini->path,
                    section, key, what);
}

static char *get_str(Ctx *c, const char *section, const char *key, gboolean required)
{
    const TbIniEntry *e = tb_ini_get(c->ini, section, key);
    if (!e || !*e->value) {
        if (required) fail(c, NULL, section, key, "missing");
        return NULL;
    }
    return g_strdup(e->value);
}

static uint64_t get_num(Ctx *c, const char *section, const char *key, gboolean size_suffix)
{
    const TbIniEntry *e = tb_ini_get(c->ini, section, key);
    uint64_t v = 0;
    if (!e) {
        fail(c, NULL, section, key, "missing");
        return 0;
    }
    int rc = size_suffix ? tb_parse_size(e->value, &v) : tb_parse_u64(e->value, &v);
    if (rc) fail(c, e, section, key, rc == -ERANGE ? "number out of range" : "expected a number");
    return v;
}

static void get_pair(Ctx *c, const char *section, const char *key, uint64_t *a, uint64_t *b)
{
    const TbIniEntry *e = tb_ini_get(c->ini, section, key);
    if (!e) {
        fail(c, NULL, section, key, "missing");
        return;
    }
    g_auto(GStrv) parts = g_strsplit(e->value, ",", -1);
    if (g_strv_length(parts) != 2 || tb_parse_u64(g_strstrip(parts[0]), a) ||
        tb_parse_size(g_strstrip(parts[1]), b))
        fail(c, e, section, key, "expected BASE,SIZE");
}

static void get_units(Ctx *c, TbBoardDef *def)
{
    g_autoptr(GPtrArray) sections = tb_ini_sections(c->ini);
    for (guint i = 0; i < sections->len && !c->rc; i++) {
        const char *s = g_ptr_array_index(sections, i);
        if (!g_str_has_prefix(s, "unit ")) continue;
        if (def->n_units == TB_MAX_UNITS) {
            fail(c, NULL, s, "unit", "too many units");
            return;
        }
        TbUnitDef *u = &def->units[def->n_units++];
        u->name = g_strstrip(g_strdup(s + 5));
        u->kind = get_str(c, s, "kind", TRUE);
        u->base = get_num(c, s, "base", FALSE);
        u->size = get_num(c, s, "size", TRUE);
        if (u->kind && strcmp(u->kind, "vtd") && strcmp(u->kind, "smmuv3"))
            fail(c, tb_ini_get(c->ini, s, "kind"), s, "kind", "expected vtd or smmuv3");
        const TbIniEntry *e = tb_ini_get(c->ini, s, "irqs");
        if (!e) continue;
        g_auto(GStrv) items = g_strsplit(e->value, ";", -1);
        for (unsigned k = 0; items[k] && !c->rc; k++) {
            g_auto(GStrv) nv = g_strsplit(items[k], ":", 2);
            uint64_t n;
            if (g_strv_length(nv) != 2 || !*nv[0] || tb_parse_u64(nv[1], &n) || n > 1023 ||
                u->n_irqs == TB_MAX_IRQS) {
                fail(c, e, s, "irqs", "expected NAME:NUMBER;... (at most 8, numbers < 1024)");
                break;
            }
            u->irq_names[u->n_irqs] = g_strdup(nv[0]);
            u->irqs[u->n_irqs++] = (unsigned)n;
        }
    }
}

static void get_slots(Ctx *c, TbBoardDef *def)
{
    const TbIniEntry *e = tb_ini_get(c->ini, "board", "edu-slots");
    if (!e) {
        fail(c, NULL, "board", "edu-slots", "missing");
        return;
    }
    g_auto(GStrv) items = g_strsplit(e->value, ";", -1);
    for (unsigned k = 0; items[k]; k++) {
        uint64_t n;
        if (tb_parse_u64(g_strstrip(items[k]), &n) || n == 0 || n > 31 || def->n_edu == TB_MAX_EDU) {
            fail(c, e, "board", "edu-slots", "expected up to 8 PCI slots 1..31 separated by ';'");
            return;
        }
        for (unsigned j = 0; j < def->n_edu; j++)
            if (def->edu_slots[j] == n) {
                fail(c, e, "board", "edu-slots", "slot listed twice");
                return;
            }
        def->edu_slots[def->n_edu++] = (unsigned)n;
    }
}

static void check_layout(Ctx *c, TbBoardDef *def)
{
    if (c->rc) return;
    const TbIniEntry *e;
    uint64_t ram_end = def->ram_base + def->ram_size;
    if (def->ram_size < (64u << 20) || def->ram_size % 4096 || ram_end < def->ram_base)
        fail(c, tb_ini_get(c->ini, "board", "ram-size"), "board", "ram-size",
             "expected a multiple of 4 KiB, at least 64M");
    else if (def->pool_base % 4096 || def->pool_size % 4096 || def->pool_size == 0 ||
             def->pool_base < def->ram_base || def->pool_base + def->pool_size > ram_end)
        fail(c, tb_ini_get(c->ini, "board", "pool-base"), "board", "pool-base",
             "the table pool must be page aligned and lie inside RAM");
    else if (def->stage_base % 4096 || def->stage_base < def->ram_base ||
             def->stage_base + 4096 > ram_end ||
             (def->stage_base + 4096 > def->pool_base &&
              def->stage_base < def->pool_base + def->pool_size))
        fail(c, tb_ini_get(c->ini, "board", "stage-base"), "board", "stage-base",
             "the staging page must be a RAM page outside the table pool");
    else if (def->mmio_size < (uint64_t)def->n_edu * EDU_BAR_SIZE)
        fail(c, tb_ini_get(c->ini, "board", "pci-mmio-window"), "board", "pci-mmio-window",
             "window too small for the edu BARs");
    else if ((e = tb_ini_get(c->ini, "board", "pci-ecam-enable")) &&
             strcmp(def->ecam_enable, "q35-pciexbar") && strcmp(def->ecam_enable, "none"))
        fail(c, e, "board", "pci-ecam-enable", "expected q35-pciexbar or none");
    else if (def->n_edu == 0)
        fail(c, NULL, "board", "edu-slots", "at least one edu engine is needed");
}

int tb_board_def_parse(const char *path, const char *text, size_t len, TbBoardDef *def,
                       GError **err)
{
    memset(def, 0, sizeof *def);
    g_autoptr(TbIni) ini = tb_ini_parse(path, text, len, err);
    if (!ini) return -EINVAL;
    Ctx c = { .ini = ini, .err = err };
    def->path = g_strdup(path);
    def->name = get_str(&c, "board", "name", TRUE);
    def->description = get_str(&c, "board", "description", FALSE);
    def->arch = get_str(&c, "board", "arch", TRUE);
    def->qemu = get_str(&c, "board", "qemu", TRUE);
    def->machine = get_str(&c, "board", "machine", TRUE);
    def->cpu = get_str(&c, "board", "cpu", FALSE);
    def->firmware = get_str(&c, "board", "firmware", TRUE);
    g_autofree char *before = get_str(&c, "board", "devices-before", FALSE);
    def->devices_before = before ? g_strsplit(before, ";", -1) : g_new0(char *, 1);
    def->ram_base = get_num(&c, "board", "ram-base", FALSE);
    def->ram_size = get_num(&c, "board", "ram-size", TRUE);
    def->pool_base = get_num(&c, "board", "pool-base", FALSE);
    def->pool_size = get_num(&c, "board", "pool-size", TRUE);
    def->stage_base = get_num(&c, "board", "stage-base", FALSE);
    def->irq_controller = get_str(&c, "board", "irq-controller", TRUE);
    def->ecam = get_num(&c, "board", "pci-ecam", FALSE);
    def->ecam_enable = get_str(&c, "board", "pci-ecam-enable", TRUE);
    get_pair(&c, "board", "pci-mmio-window", &def->mmio_base, &def->mmio_size);
    if (!c.rc) get_slots(&c, def);
    if (!c.rc) get_units(&c, def);
    check_layout(&c, def);
    def->run_dir = get_str(&c, "run", "dir", FALSE);
    def->run_socket = get_str(&c, "run", "socket", FALSE);
    def->run_qtest = get_str(&c, "run", "qtest", FALSE);
    def->run_qmp = get_str(&c, "run", "qmp", FALSE);
    def->run_ram = get_str(&c, "run", "ram", FALSE);
    def->run_log = get_str(&c, "run", "log", FALSE);
    if (c.rc) tb_board_def_clear(def);
    return c.rc;
}

int tb_board_def_load(const char *path, TbBoardDef *def, GError **err)
{
    g_autofree char *text = NULL;
    gsize len = 0;
    memset(def, 0, sizeof *def);
    if (!g_file_get_contents(path, &text, &len, err)) return -ENOENT;
    return tb_board_def_parse(path, text, len, def, err);
}

void tb_board_def_clear(TbBoardDef *def)
{
    g_free(def->path);
    g_free(def->name);
    g_free(def->description);
    g_free(def->arch);
    g_free(def->qemu);
    g_free(def->machine);
    g_free(def->cpu);
    g_free(def->firmware);
    g_strfreev(def->devices_before);
    g_free(def->irq_controller);
    g_free(def->ecam_enable);
    for (unsigned i = 0; i < def->n_units; i++) {
        g_free(def->units[i].name);
        g_free(def->units[i].kind);
        for (unsigned k = 0; k < def->units[i].n_irqs; k++) g_free(def->units[i].irq_names[k]);
    }
    g_free(def->run_dir);
    g_free(def->run_socket);
    g_free(def->run_qtest);
    g_free(def->run_qmp);
    g_free(def->run_ram);
    g_free(def->run_log);
    memset(def, 0, sizeof *def);
}
