/* The one main() every libcheck test program has: run the suite, exit
 * non-zero if anything failed.
 *
 * libcheck runs each test in a forked child that exits at the first failed
 * assertion, skipping the test's own clean-up. So every test program gets a
 * private TMPDIR, and this parent process, which outlives every child,
 * removes it at the end: a failing test leaves no run directory behind
 * (its QEMU dies with it: the launcher sets a parent-death signal). */
#ifndef SMMU_CHECK_RUN_H
#define SMMU_CHECK_RUN_H

#include <check.h>
#include <stdbool.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static inline int check_run_remove(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)type;
    (void)ftw;
    remove(path);
    return 0;
}

static inline int check_run(Suite *suite)
{
    const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s/smmu-test-XXXXXX", base);
    bool own_tmp = mkdtemp(tmp) != NULL;
    if (own_tmp) setenv("TMPDIR", tmp, 1);
    SRunner *sr = srunner_create(suite);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    if (own_tmp) nftw(tmp, check_run_remove, 16, FTW_DEPTH | FTW_PHYS);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}

#endif
