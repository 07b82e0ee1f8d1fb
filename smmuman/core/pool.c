#include "pool.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct Pool {
    uint64_t base;
    size_t npages, used, next; /* next: where the search for a free page starts */
    uint8_t *va;
    uint8_t *state;            /* per page: 0 free, 1 used, 2 used and digested */
    uint64_t *digest;
};

enum { PAGE_FREE, PAGE_USED, PAGE_DIGESTED };

/* FNV-1a over the page's 64-bit words: catches any change; the threat is
 * corruption, not an adversary who can also rewrite our memory. */
static uint64_t page_digest(const uint8_t *page)
{
    uint64_t h = 0xcbf29ce484222325ull;
    const uint64_t *w = (const uint64_t *)(const void *)page;
    for (size_t i = 0; i < PT_PAGE_SIZE / 8; i++) {
        h ^= w[i];
        h *= 0x100000001b3ull;
    }
    return h;
}

Pool *pool_new(uint64_t base, uint64_t size, void *va)
{
    if (size == 0 || size % PT_PAGE_SIZE || base % PT_PAGE_SIZE || !va) return NULL;
    Pool *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->base = base;
    p->npages = size / PT_PAGE_SIZE;
    p->va = va;
    p->state = calloc(p->npages, 1);
    p->digest = calloc(p->npages, sizeof *p->digest);
    if (!p->state || !p->digest) {
        pool_destroy(p);
        return NULL;
    }
    return p;
}

void pool_destroy(Pool *p)
{
    if (!p) return;
    free(p->state);
    free(p->digest);
    free(p);
}

static size_t index_of(const Pool *p, uint64_t pa)
{
    if (pa < p->base || pa % PT_PAGE_SIZE || (pa - p->base) / PT_PAGE_SIZE >= p->npages) return SIZE_MAX;
    return (size_t)((pa - p->base) / PT_PAGE_SIZE);
}

int pool_alloc(Pool *p, uint64_t *pa, bool digest)
{
    for (size_t n = 0; n < p->npages; n++) {
        size_t i = (p->next + n) % p->npages;
        if (p->state[i] != PAGE_FREE) continue;
        memset(p->va + i * PT_PAGE_SIZE, 0, PT_PAGE_SIZE);
        p->state[i] = digest ? PAGE_DIGESTED : PAGE_USED;
        if (digest) p->digest[i] = page_digest(p->va + i * PT_PAGE_SIZE);
        p->used++;
        p->next = i + 1;
        *pa = p->base + i * PT_PAGE_SIZE;
        return 0;
    }
    return -ENOMEM;
}

int pool_alloc_contig(Pool *p, size_t n, uint64_t *pa, bool digest)
{
    if (n == 0 || n > p->npages) return -EINVAL;
    for (size_t start = 0; start + n <= p->npages; start++) {
        size_t k = 0;
        while (k < n && p->state[start + k] == PAGE_FREE) k++;
        if (k < n) {
            start += k; /* the page at start+k is taken: no run can include it */
            continue;
        }
        memset(p->va + start * PT_PAGE_SIZE, 0, n * PT_PAGE_SIZE);
        for (k = 0; k < n; k++) {
            p->state[start + k] = digest ? PAGE_DIGESTED : PAGE_USED;
            if (digest) p->digest[start + k] = page_digest(p->va + (start + k) * PT_PAGE_SIZE);
        }
        p->used += n;
        *pa = p->base + start * PT_PAGE_SIZE;
        return 0;
    }
    return -ENOMEM;
}

void pool_release(Pool *p, uint64_t pa)
{
    size_t i = index_of(p, pa);
    if (i == SIZE_MAX || p->state[i] == PAGE_FREE) return;
    p->state[i] = PAGE_FREE;
    p->used--;
}

void *pool_va(Pool *p, uint64_t pa)
{
    size_t i = index_of(p, pa);
    return i == SIZE_MAX ? NULL : p->va + i * PT_PAGE_SIZE;
}

void pool_written(Pool *p, uint64_t pa)
{
    size_t i = index_of(p, pa);
    if (i != SIZE_MAX && p->state[i] == PAGE_DIGESTED) p->digest[i] = page_digest(p->va + i * PT_PAGE_SIZE);
}

int pool_scrub(Pool *p, uint64_t *bad)
{
    for (size_t i = 0; i < p->npages; i++) {
        if (p->state[i] != PAGE_DIGESTED || page_digest(p->va + i * PT_PAGE_SIZE) == p->digest[i]) continue;
        *bad = p->base + i * PT_PAGE_SIZE;
        return -EBADMSG;
    }
    return 0;
}

size_t pool_pages_used(const Pool *p) { return p->used; }
size_t pool_pages_total(const Pool *p) { return p->npages; }

static int mem_alloc(void *ctx, uint64_t *pa) { return pool_alloc(ctx, pa, true); }
static void mem_free(void *ctx, uint64_t pa) { pool_release(ctx, pa); }
static uint64_t *mem_va(void *ctx, uint64_t pa) { return pool_va(ctx, pa); }
static void mem_written(void *ctx, uint64_t pa) { pool_written(ctx, pa); }

PtMem pool_pt_mem(Pool *p)
{
    return (PtMem){ .ctx = p, .alloc = mem_alloc, .free = mem_free, .va = mem_va, .written = mem_written };
}
