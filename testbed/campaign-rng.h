/* The random campaign's own pseudo-random numbers: xoshiro256** seeded
 * through splitmix64 (Vigna's published algorithms, written from their
 * description). Ours rather than rand() or GLib's so that a seed gives the
 * same campaign on every machine, libc and GLib version. */
#ifndef TB_CAMPAIGN_RNG_H
#define TB_CAMPAIGN_RNG_H

#include <stdint.h>

typedef struct {
    uint64_t s[4];
} CgRng;

static inline uint64_t cg_splitmix64(uint64_t *x)
{
    uint64_t z = (*x += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* A stream of its own for scenario index of the campaign seed: scenario i
 * is the same whichever shard or job plays it. */
static inline void cg_rng_seed(CgRng *r, uint64_t seed, uint64_t index)
{
    uint64_t x = seed ^ (index * 0xd1b54a32d192ed03ull);
    for (int i = 0; i < 4; i++) r->s[i] = cg_splitmix64(&x);
}

static inline uint64_t cg_rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

static inline uint64_t cg_next(CgRng *r)
{
    uint64_t *s = r->s;
    uint64_t out = cg_rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = cg_rotl(s[3], 45);
    return out;
}

/* 0 .. n-1 (n >= 1); the modulo's bias is irrelevant here. */
static inline uint64_t cg_below(CgRng *r, uint64_t n) { return n ? cg_next(r) % n : 0; }
/* true with probability pct/100 */
static inline int cg_chance(CgRng *r, unsigned pct) { return cg_below(r, 100) < pct; }

#endif
