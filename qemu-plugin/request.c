#include "request.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "../testbed/num.h"

#define MAX_TOKENS 12

const char *const request_help[] = {
    "hello                                   protocol version and board name",
    "info                                    inventory: board, RAM, pool, units, devices",
    "mmio read ADDR SIZE                     SIZE 1, 2, 4 or 8",
    "mmio write ADDR SIZE VALUE",
    "pci read BB:DD.F OFFSET SIZE            config space, SIZE 1, 2 or 4",
    "pci write BB:DD.F OFFSET SIZE VALUE",
    "ram read ADDR LEN                       CPU view, LEN <= 4096; reply is hex",
    "ram write ADDR HEX",
    "irq subscribe | irq unsubscribe         events: '! irq N raise|lower'",
    "irq level N                             current level of input N",
    "dma DEV read|write ADDR LEN [offset=N] [pattern=HEX]",
    "storm DEV[,DEV...] read|write ADDR LEN COUNT [stride=N] [offset=N]",
    "msi DEV ADDR DATA                       forged MSI write by DEV",
    "bringup                                 redo the PCI bring-up (after QMP system_reset)",
    "quit",
    "",
};

typedef struct {
    char *err;
    size_t errlen;
} Out;

static int failf(Out *o, int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(o->err, o->errlen, fmt, ap);
    va_end(ap);
    return rc;
}

static int num(Out *o, const char *tok, const char *field, uint64_t *v)
{
    int rc = tb_parse_u64(tok, v);
    if (rc == -ERANGE) return failf(o, -ERANGE, "%s: number does not fit in 64 bits", field);
    if (rc) return failf(o, -EINVAL, "%s: expected a number (decimal or 0x hex)", field);
    return 0;
}

static int access_size(Out *o, const char *tok, unsigned max, unsigned *size)
{
    uint64_t v;
    int rc = num(o, tok, "SIZE", &v);
    if (rc) return rc;
    if ((v != 1 && v != 2 && v != 4 && v != 8) || v > max)
        return failf(o, -EINVAL, "SIZE: expected 1, 2, 4%s", max == 8 ? " or 8" : "");
    *size = (unsigned)v;
    return 0;
}

static int value_for(Out *o, const char *tok, unsigned size, uint64_t *v)
{
    int rc = num(o, tok, "VALUE", v);
    if (rc) return rc;
    if (size < 8 && *v >> (size * 8))
        return failf(o, -ERANGE, "VALUE: does not fit in %u bytes", size);
    return 0;
}

static int length(Out *o, const char *tok, const char *field, uint64_t *v)
{
    int rc = num(o, tok, field, v);
    if (rc) return rc;
    if (*v == 0 || *v > EDU_BUF_SIZE)
        return failf(o, -ERANGE, "%s: expected 1..%u bytes", field, EDU_BUF_SIZE);
    return 0;
}

static int device_name(Out *o, const char *tok, char *out)
{
    size_t n = strlen(tok);
    if (n == 0 || n >= REQ_DEV_NAME)
        return failf(o, -EINVAL, "DEV: expected a device name or BB:DD.F");
    for (size_t i = 0; i < n; i++) {
        char c = tok[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == ':' || c == '.'))
            return failf(o, -EINVAL, "DEV: expected a device name or BB:DD.F");
    }
    memcpy(out, tok, n + 1);
    return 0;
}

static int direction(Out *o, const char *tok, bool *to_ram)
{
    if (strcmp(tok, "write") == 0) *to_ram = true;
    else if (strcmp(tok, "read") == 0) *to_ram = false;
    else return failf(o, -EINVAL, "direction: expected 'read' (device reads RAM) or 'write'");
    return 0;
}

/* key=value options after the fixed arguments. */
static int options(Out *o, char **tok, int ntok, Request *r, bool allow_pattern, bool allow_stride)
{
    for (int i = 0; i < ntok; i++) {
        char *eq = strchr(tok[i], '=');
        if (!eq) return failf(o, -EINVAL, "option %d: expected key=value", i + 1);
        *eq = '\0';
        const char *key = tok[i], *val = eq + 1;
        int rc;
        if (strcmp(key, "offset") == 0) {
            if ((rc = num(o, val, "offset", &r->offset))) return rc;
        } else if (strcmp(key, "stride") == 0 && allow_stride) {
            if ((rc = num(o, val, "stride", &r->stride))) return rc;
        } else if (strcmp(key, "pattern") == 0 && allow_pattern) {
            rc = tb_parse_hexbytes(val, r->data, sizeof r->data, &r->data_len);
            if (rc) return failf(o, -EINVAL, "pattern: expected 1..4096 bytes of hex digits");
            r->has_pattern = true;
        } else {
            return failf(o, -EINVAL, "unknown option '%.16s'", key);
        }
    }
    return 0;
}

static int check_buffer(Out *o, const Request *r)
{
    if (r->offset >= EDU_BUF_SIZE || r->len > EDU_BUF_SIZE - r->offset)
        return failf(o, -ERANGE, "offset+LEN: beyond the engine's %u-byte buffer", EDU_BUF_SIZE);
    return 0;
}

static int parse_dma(Out *o, char **t, int n, Request *r)
{
    int rc;
    if (n < 5) return failf(o, -EINVAL, "usage: dma DEV read|write ADDR LEN [offset=N] [pattern=HEX]");
    r->ndev = 1;
    if ((rc = device_name(o, t[1], r->dev[0])) || (rc = direction(o, t[2], &r->to_ram)) ||
        (rc = num(o, t[3], "ADDR", &r->addr)) || (rc = length(o, t[4], "LEN", &r->len)) ||
        (rc = options(o, t + 5, n - 5, r, true, false)) || (rc = check_buffer(o, r)))
        return rc;
    if (r->addr + r->len - 1 < r->addr) return failf(o, -ERANGE, "ADDR+LEN: wraps around");
    if (r->has_pattern && !r->to_ram)
        return failf(o, -EINVAL, "pattern: only for 'write' (the device writes the pattern)");
    return 0;
}

static int parse_storm(Out *o, char **t, int n, Request *r)
{
    int rc;
    if (n < 6) return failf(o, -EINVAL, "usage: storm DEV[,DEV...] read|write ADDR LEN COUNT [stride=N] [offset=N]");
    char *save = NULL;
    for (char *d = strtok_r(t[1], ",", &save); d; d = strtok_r(NULL, ",", &save)) {
        if (r->ndev == REQ_MAX_DEVS) return failf(o, -E2BIG, "DEV: at most %d devices", REQ_MAX_DEVS);
        if ((rc = device_name(o, d, r->dev[r->ndev]))) return rc;
        r->ndev++;
    }
    if (r->ndev == 0) return failf(o, -EINVAL, "DEV: expected a device name or BB:DD.F");
    r->stride = 4096;
    if ((rc = direction(o, t[2], &r->to_ram)) || (rc = num(o, t[3], "ADDR", &r->addr)) ||
        (rc = length(o, t[4], "LEN", &r->len)) || (rc = num(o, t[5], "COUNT", &r->count)) ||
        (rc = options(o, t + 6, n - 6, r, false, true)) || (rc = check_buffer(o, r)))
        return rc;
    if (r->count == 0 || r->count > REQ_MAX_STORM)
        return failf(o, -ERANGE, "COUNT: expected 1..%u", REQ_MAX_STORM);
    /* the last DMA must not wrap: addr + (count-1)*stride + len - 1 */
    uint64_t span;
    if (__builtin_mul_overflow(r->count - 1, r->stride, &span) ||
        __builtin_add_overflow(span, r->len - 1, &span) ||
        __builtin_add_overflow(r->addr, span, &span))
        return failf(o, -ERANGE, "ADDR+COUNT*stride: wraps around");
    return 0;
}

static int parse_tokens(Out *o, char **t, int n, Request *r)
{
    int rc;
    const char *v = t[0];
    if (n == 1 && strcmp(v, "hello") == 0) return r->kind = REQ_HELLO, 0;
    if (n == 1 && strcmp(v, "help") == 0) return r->kind = REQ_HELP, 0;
    if (n == 1 && strcmp(v, "info") == 0) return r->kind = REQ_INFO, 0;
    if (n == 1 && strcmp(v, "quit") == 0) return r->kind = REQ_QUIT, 0;
    if (n == 1 && strcmp(v, "bringup") == 0) return r->kind = REQ_BRINGUP, 0;
    if (strcmp(v, "hello") == 0 || strcmp(v, "help") == 0 || strcmp(v, "info") == 0 ||
        strcmp(v, "quit") == 0 || strcmp(v, "bringup") == 0)
        return failf(o, -EINVAL, "%s: takes no arguments", v);

    const char *sub = n > 1 ? t[1] : "";
    if (strcmp(v, "mmio") == 0) {
        if (strcmp(sub, "read") == 0 && n == 4) {
            r->kind = REQ_MMIO_READ;
            if ((rc = num(o, t[2], "ADDR", &r->addr)) || (rc = access_size(o, t[3], 8, &r->size))) return rc;
        } else if (strcmp(sub, "write") == 0 && n == 5) {
            r->kind = REQ_MMIO_WRITE;
            if ((rc = num(o, t[2], "ADDR", &r->addr)) || (rc = access_size(o, t[3], 8, &r->size)) ||
                (rc = value_for(o, t[4], r->size, &r->value)))
                return rc;
        } else {
            return failf(o, -EINVAL, "usage: mmio read ADDR SIZE | mmio write ADDR SIZE VALUE");
        }
        if (r->addr + r->size - 1 < r->addr) return failf(o, -ERANGE, "ADDR: access wraps around");
        return 0;
    }
    if (strcmp(v, "pci") == 0) {
        if (strcmp(sub, "read") == 0 && n == 5) r->kind = REQ_PCI_READ;
        else if (strcmp(sub, "write") == 0 && n == 6) r->kind = REQ_PCI_WRITE;
        else return failf(o, -EINVAL, "usage: pci read BB:DD.F OFFSET SIZE | pci write BB:DD.F OFFSET SIZE VALUE");
        if (tb_parse_bdf(t[2], &r->bdf)) return failf(o, -EINVAL, "BDF: expected BB:DD.F in hex");
        if ((rc = num(o, t[3], "OFFSET", &r->addr)) || (rc = access_size(o, t[4], 4, &r->size))) return rc;
        if (r->addr >= 4096 || r->addr % r->size)
            return failf(o, -ERANGE, "OFFSET: expected a SIZE-aligned offset below 4096");
        if (r->kind == REQ_PCI_WRITE && (rc = value_for(o, t[5], r->size, &r->value))) return rc;
        return 0;
    }
    if (strcmp(v, "ram") == 0) {
        if (strcmp(sub, "read") == 0 && n == 4) {
            r->kind = REQ_RAM_READ;
            if ((rc = num(o, t[2], "ADDR", &r->addr)) || (rc = length(o, t[3], "LEN", &r->len))) return rc;
        } else if (strcmp(sub, "write") == 0 && n == 4) {
            r->kind = REQ_RAM_WRITE;
            if ((rc = num(o, t[2], "ADDR", &r->addr))) return rc;
            rc = tb_parse_hexbytes(t[3], r->data, sizeof r->data, &r->data_len);
            if (rc) return failf(o, -EINVAL, "HEX: expected 1..4096 bytes of hex digits");
            r->len = r->data_len;
        } else {
            return failf(o, -EINVAL, "usage: ram read ADDR LEN | ram write ADDR HEX");
        }
        if (r->addr + r->len - 1 < r->addr) return failf(o, -ERANGE, "ADDR+LEN: wraps around");
        return 0;
    }
    if (strcmp(v, "irq") == 0) {
        if (n == 2 && strcmp(sub, "subscribe") == 0) return r->kind = REQ_IRQ_SUBSCRIBE, 0;
        if (n == 2 && strcmp(sub, "unsubscribe") == 0) return r->kind = REQ_IRQ_UNSUBSCRIBE, 0;
        if (n == 3 && strcmp(sub, "level") == 0) {
            uint64_t irq;
            r->kind = REQ_IRQ_LEVEL;
            if ((rc = num(o, t[2], "N", &irq))) return rc;
            if (irq >= REQ_MAX_IRQ) return failf(o, -ERANGE, "N: expected 0..%u", REQ_MAX_IRQ - 1);
            r->irq = (unsigned)irq;
            return 0;
        }
        return failf(o, -EINVAL, "usage: irq subscribe | irq unsubscribe | irq level N");
    }
    if (strcmp(v, "dma") == 0) return r->kind = REQ_DMA, parse_dma(o, t, n, r);
    if (strcmp(v, "storm") == 0) return r->kind = REQ_STORM, parse_storm(o, t, n, r);
    if (strcmp(v, "msi") == 0) {
        r->kind = REQ_MSI;
        r->ndev = 1;
        if (n != 4) return failf(o, -EINVAL, "usage: msi DEV ADDR DATA");
        if ((rc = device_name(o, t[1], r->dev[0])) || (rc = num(o, t[2], "ADDR", &r->addr)) ||
            (rc = num(o, t[3], "DATA", &r->value)))
            return rc;
        if (r->addr % 4) return failf(o, -EINVAL, "ADDR: MSI addresses are 4-byte aligned");
        if (r->value > 0xffff) return failf(o, -ERANGE, "DATA: MSI data is 16 bits");
        return 0;
    }
    return failf(o, -ENOSYS, "unknown request (try 'help')");
}

int request_parse(const char *line, size_t len, Request *req, char *err, size_t errlen)
{
    Out o = { err, errlen };
    char buf[REQ_MAX_LINE + 1];
    char *tok[MAX_TOKENS];
    int n = 0;

    memset(req, 0, offsetof(Request, data));
    req->data_len = 0;
    if (len > REQ_MAX_LINE) return failf(&o, -E2BIG, "request longer than %d bytes", REQ_MAX_LINE);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)line[i];
        if (c == '\0') return failf(&o, -EINVAL, "NUL byte at column %zu", i + 1);
        if ((c < 0x20 && c != '\t') || c >= 0x7f)
            return failf(&o, -EINVAL, "control or non-ASCII byte 0x%02x at column %zu", c, i + 1);
    }
    memcpy(buf, line, len);
    buf[len] = '\0';
    char *save = NULL;
    for (char *p = strtok_r(buf, " \t", &save); p; p = strtok_r(NULL, " \t", &save)) {
        if (n == MAX_TOKENS) return failf(&o, -E2BIG, "too many words (at most %d)", MAX_TOKENS);
        tok[n++] = p;
    }
    if (n == 0) return failf(&o, -EINVAL, "empty request");
    return parse_tokens(&o, tok, n, req);
}
