/* The host service's STATUS text, read on a short connection of its own.
 *
 * Why not libsmmu: its text query (smmu_query_text_alloc) works on the
 * process's default connection only, and smmu-qvm's host connection is one
 * of smmu_conn_open(). Until libsmmu has smmu_conn_query_text(conn, op),
 * this speaks the wire protocol (lib/proto) itself, paging by line as
 * libsmmu does (docs/protocol.md, STATUS). */
#ifndef TB_HOST_QUERY_H
#define TB_HOST_QUERY_H

#include <stddef.h>

#define HOST_QUERY_TIMEOUT_MS 5000 /* the service answers in microseconds; this is for a hung one */

/* The whole STATUS text of the service at socket `path` (caller frees), or
 * NULL with a message in err. Every wait is bounded by timeout_ms in all. */
char *host_query_status(const char *path, int timeout_ms, char *err, size_t errlen);

/* The value of `key=` in a key=value text (caller frees), or NULL. */
char *host_status_value(const char *text, const char *key);

#endif
