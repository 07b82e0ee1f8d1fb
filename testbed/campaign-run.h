/* smmu-scenario --random (docs/scenarios.md "Random campaigns"): plays N
 * generated scenarios of a seed, shrinks each failure to a .scn file. */
#ifndef TB_CAMPAIGN_RUN_H
#define TB_CAMPAIGN_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "campaign.h"
#include "runner.h"

typedef struct {
    unsigned n;                 /* scenarios in the campaign (all shards) */
    uint64_t seed;
    const char *const *boards;  /* NULL-terminated; NULL or empty: every IOMMU board built */
    unsigned jobs, shard_k, shard_n;
    const char *out_dir;        /* where shrunk scenarios go */
    unsigned max_plays;         /* per failure, for shrinking */
    bool tap, stop_on_failure;
    bool list;                  /* print the generated scenarios, play nothing */
    const char *junit, *html, *events;
    CgOptions gen;
} CampaignOptions;

/* 0 all passed, 1 some failed, 2 bad usage or a report not written. */
int campaign_run(const CampaignOptions *co, const RunOptions *ro);

#endif
