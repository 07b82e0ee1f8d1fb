/* libsmmu's calls for tools (smmuctl, the benchmarks, the guest's vdev back
 * end), not part of smmu.h: the service's STATUS and OBJECTS texts, whole,
 * read page by page. op is SMMU_OP_STATUS or SMMU_OP_OBJECTS (proto.h).
 * NULL/-1 with errno on failure (EAGAIN: the text changed while it was
 * read; ask again). */
#ifndef SMMU_LIBSMMU_TOOLS_H
#define SMMU_LIBSMMU_TOOLS_H

#include <stddef.h>

#include "smmu.h"

/* On the default connection; the caller frees. */
char *smmu_query_text_alloc(int op);
/* The whole text into buf, or -1 with ERANGE when it does not fit. */
int smmu_query_text(int op, char *buf, size_t len);
/* On an explicit connection; the caller frees. */
char *smmu_conn_query_text_alloc(struct smmu_conn *conn, int op);

#endif
