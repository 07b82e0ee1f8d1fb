/* Where a byte range given by scenario or test numbers lies in a window of
 * memory (the board's RAM as the shared file maps it), computed without
 * overflow. The runner and the board fixture turn such numbers into
 * pointers; "addr - base + len > size" wraps for a large LEN and lets a
 * pointer run past the mapping, so every such check goes through here. */
#ifndef TB_RAM_SPAN_H
#define TB_RAM_SPAN_H

#include <stdbool.h>
#include <stdint.h>

typedef enum {
    TB_SPAN_INSIDE,   /* wholly inside the window: *off is its offset */
    TB_SPAN_WRAPS,    /* addr + len runs past 2^64: no such range */
    TB_SPAN_OUTSIDE,  /* no byte inside the window */
    TB_SPAN_STRADDLES /* some bytes inside, some not */
} TbSpan;

/* The last byte, addr + len - 1, must exist: a range that ends exactly at
 * 2^64 is fine, one that goes further wraps. A zero length never wraps. */
static inline bool tb_span_wraps(uint64_t addr, uint64_t len)
{
    return len > 0 && len - 1 > UINT64_MAX - addr;
}

/* [addr, addr + len) against [base, base + size). A zero-length range is
 * inside when addr is in [base, base + size]. */
static inline TbSpan tb_span(uint64_t base, uint64_t size, uint64_t addr, uint64_t len, uint64_t *off)
{
    if (tb_span_wraps(addr, len)) return TB_SPAN_WRAPS;
    if (addr >= base && addr - base <= size && len <= size - (addr - base)) {
        if (off) *off = addr - base;
        return TB_SPAN_INSIDE;
    }
    /* Not wholly inside: does it touch the window at all? (The window's own
     * end is clamped so that a window at the top of the space compares.) */
    uint64_t end = len ? addr + (len - 1) : addr;              /* last byte, no wrap */
    uint64_t wend = size ? (size - 1 > UINT64_MAX - base ? UINT64_MAX : base + (size - 1)) : base;
    if (len == 0 || size == 0 || end < base || addr > wend) return TB_SPAN_OUTSIDE;
    return TB_SPAN_STRADDLES;
}

#endif
