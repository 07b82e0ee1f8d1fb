#include "num.h"

#include <errno.h>
#include <string.h>

static int hexval(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Parses digits of one base over [s, end); no prefix, no suffix. */
static int parse_digits(const char *s, const char *end, unsigned base, uint64_t *out)
{
    if (s == end) return -EINVAL;
    uint64_t v = 0;
    for (; s < end; s++) {
        int d = base == 16 ? hexval(*s) : (*s >= '0' && *s <= '9' ? *s - '0' : -1);
        if (d < 0) return -EINVAL;
        if (v > (UINT64_MAX - (uint64_t)d) / base) return -ERANGE;
        v = v * base + (uint64_t)d;
    }
    *out = v;
    return 0;
}

static int parse_number(const char *s, const char *end, uint64_t *out)
{
    if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
        return parse_digits(s + 2, end, 16, out);
    return parse_digits(s, end, 10, out);
}

int tb_parse_u64(const char *s, uint64_t *out)
{
    if (!s) return -EINVAL;
    return parse_number(s, s + strlen(s), out);
}

int tb_parse_size(const char *s, uint64_t *out)
{
    if (!s || !*s) return -EINVAL;
    size_t n = strlen(s);
    unsigned shift = 0;
    switch (s[n - 1]) {
    case 'k': case 'K': shift = 10; break;
    case 'm': case 'M': shift = 20; break;
    case 'g': case 'G': shift = 30; break;
    default: break;
    }
    uint64_t v;
    int rc = parse_number(s, s + n - (shift ? 1 : 0), &v);
    if (rc) return rc;
    if (shift && v > (UINT64_MAX >> shift)) return -ERANGE;
    *out = v << shift;
    return 0;
}

int tb_parse_hexbytes(const char *s, uint8_t *out, size_t cap, size_t *len)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n % 2) return -EINVAL;
    if (n / 2 > cap) return -E2BIG;
    for (size_t i = 0; i < n / 2; i++) {
        int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
        if (hi < 0 || lo < 0) return -EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    *len = n / 2;
    return 0;
}

int tb_parse_bdf(const char *s, unsigned *bdf)
{
    /* exactly BB:DD.F */
    if (!s || strlen(s) != 7 || s[2] != ':' || s[5] != '.') return -EINVAL;
    uint64_t bus, dev, fn;
    if (parse_digits(s, s + 2, 16, &bus) || parse_digits(s + 3, s + 5, 16, &dev) ||
        parse_digits(s + 6, s + 7, 16, &fn))
        return -EINVAL;
    if (dev > 31 || fn > 7) return -ERANGE;
    *bdf = (unsigned)(bus << 8 | dev << 3 | fn);
    return 0;
}
