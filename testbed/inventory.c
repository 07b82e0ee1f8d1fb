#include "inventory.h"
#include "tb-error.h"

#include <errno.h>
#include <string.h>

#include "num.h"

/* Value of key=... in a line of space-separated pairs, or NULL. */
static const char *kv(char **words, const char *key)
{
    size_t n = strlen(key);
    for (unsigned i = 1; words[i]; i++)
        if (strncmp(words[i], key, n) == 0 && words[i][n] == '=') return words[i] + n + 1;
    return NULL;
}

static bool num(char **w, const char *key, uint64_t *v)
{
    const char *s = kv(w, key);
    return s && tb_parse_u64(s, v) == 0;
}

static void copy(char *dst, size_t cap, const char *src) { g_strlcpy(dst, src ? src : "", cap); }

/* "name:N,name:N" or "-" */
static bool irqs(char **w, TbInvUnit *u)
{
    const char *s = kv(w, "irqs");
    if (!s) return false;
    if (strcmp(s, "-") == 0) return true;
    g_auto(GStrv) items = g_strsplit(s, ",", -1);
    for (unsigned i = 0; items[i]; i++) {
        char *colon = strchr(items[i], ':');
        uint64_t n;
        if (!colon || u->n_irqs == TB_INV_MAX_IRQS || tb_parse_u64(colon + 1, &n) || n > 1023) return false;
        *colon = '\0';
        g_strlcpy(u->irq_names[u->n_irqs], items[i], sizeof u->irq_names[0]);
        u->irqs[u->n_irqs++] = (unsigned)n;
    }
    return true;
}

static bool bar(char **w, const char *key, uint64_t *base, uint64_t *size)
{
    const char *s = kv(w, key);
    if (!s) return false;
    g_auto(GStrv) p = g_strsplit(s, ",", 2);
    return g_strv_length(p) == 2 && !tb_parse_u64(p[0], base) && !tb_parse_u64(p[1], size);
}

int tb_inventory_parse(const TbReply *r, TbInventory *inv, GError **err)
{
    memset(inv, 0, sizeof *inv);
    for (guint i = 0; i < r->data->len; i++) {
        const char *line = g_ptr_array_index(r->data, i);
        g_auto(GStrv) w = g_strsplit(line, " ", -1);
        bool ok = true;
        uint64_t v = 0;
        if (strcmp(w[0], "board") == 0) {
            copy(inv->board, sizeof inv->board, kv(w, "name"));
            copy(inv->arch, sizeof inv->arch, kv(w, "arch"));
        } else if (strcmp(w[0], "ram") == 0) {
            ok = num(w, "base", &inv->ram_base) && num(w, "size", &inv->ram_size);
            copy(inv->ram_file, sizeof inv->ram_file, kv(w, "file"));
        } else if (strcmp(w[0], "pool") == 0) {
            ok = num(w, "base", &inv->pool_base) && num(w, "size", &inv->pool_size);
        } else if (strcmp(w[0], "stage") == 0) {
            ok = num(w, "base", &inv->stage_base);
        } else if (strcmp(w[0], "dma-log") == 0) {
            copy(inv->dma_log, sizeof inv->dma_log, kv(w, "file"));
        } else if (strcmp(w[0], "unit") == 0 && inv->n_units < TB_INV_MAX_UNITS) {
            TbInvUnit *u = &inv->units[inv->n_units++];
            copy(u->name, sizeof u->name, kv(w, "name"));
            copy(u->kind, sizeof u->kind, kv(w, "kind"));
            ok = num(w, "base", &u->base) && num(w, "size", &u->size) && irqs(w, u);
        } else if (strcmp(w[0], "device") == 0 && inv->n_devices < TB_INV_MAX_DEVICES) {
            TbInvDevice *d = &inv->devices[inv->n_devices++];
            copy(d->name, sizeof d->name, kv(w, "name"));
            copy(d->bdf, sizeof d->bdf, kv(w, "bdf"));
            d->is_edu = g_strcmp0(kv(w, "kind"), "edu") == 0;
            ok = num(w, "vendor", &v);
            d->vendor = (uint16_t)v;
            ok = ok && num(w, "device", &v);
            d->device = (uint16_t)v;
            ok = ok && num(w, "rid", &v);
            d->rid = (unsigned)v;
            d->intx = num(w, "intx", &v) ? (int)v : -1;
            if (d->is_edu) ok = ok && bar(w, "bar0", &d->bar0, &d->bar0_size);
        }
        if (!ok) {
            g_set_error(err, TB_ERROR, EPROTO, "inventory: malformed line '%.100s'", line);
            return -EPROTO;
        }
    }
    if (!inv->board[0] || !inv->ram_size) {
        g_set_error(err, TB_ERROR, EPROTO, "inventory: no board or ram line");
        return -EPROTO;
    }
    return 0;
}

int tb_inventory_fetch(TbAgent *ag, TbInventory *inv, GError **err)
{
    TbReply r;
    int rc = tb_agent_do(ag, &r, err, "info");
    if (!rc) rc = tb_inventory_parse(&r, inv, err);
    tb_reply_clear(&r);
    return rc;
}

const TbInvDevice *tb_inventory_device(const TbInventory *inv, const char *name)
{
    for (unsigned i = 0; i < inv->n_devices; i++)
        if (strcmp(inv->devices[i].name, name) == 0) return &inv->devices[i];
    return NULL;
}

unsigned tb_inventory_count_edu(const TbInventory *inv)
{
    unsigned n = 0;
    for (unsigned i = 0; i < inv->n_devices; i++) n += inv->devices[i].is_edu;
    return n;
}
