/* Client side of the board agent protocol (docs/board-protocol.md): one
 * connection, requests may be pipelined, replies come back in order, and
 * interrupt events ("! irq N raise|lower") are queued apart from replies. */
#ifndef TB_AGENT_CLIENT_H
#define TB_AGENT_CLIENT_H

#include <glib.h>
#include <stdbool.h>

#define TB_AGENT_DEFAULT_TIMEOUT_MS 120000 /* a 100k-DMA storm takes about a minute */

/* The agent's socket in a board's run directory (docs/boards.md). */
#define TB_RUN_AGENT_SOCK "agent.sock"

typedef struct TbAgent TbAgent;

typedef struct {
    bool ok;
    char *error;     /* "EINVAL", ... when !ok */
    char *text;      /* what follows "OK" or "ERR NAME" */
    GPtrArray *data; /* the "* " lines before it, without the prefix */
} TbReply;

/* Connects and reads the greeting. Errors are negative errno with err set. */
int tb_agent_connect(const char *path, int timeout_ms, TbAgent **out, GError **err);
void tb_agent_close(TbAgent *ag);
const char *tb_agent_greeting(const TbAgent *ag);
void tb_agent_set_timeout(TbAgent *ag, int timeout_ms);

/* Pipelining: send now, receive later, in order. */
int tb_agent_send(TbAgent *ag, const char *line, GError **err);
int tb_agent_recv(TbAgent *ag, TbReply *r, GError **err);
/* send + recv. Returns 0 when a reply arrived (r->ok tells which kind). */
int tb_agent_call(TbAgent *ag, TbReply *r, GError **err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Like tb_agent_call, but an ERR reply is an error too (-EIO, err = its text). */
int tb_agent_do(TbAgent *ag, TbReply *r, GError **err, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Next queued or arriving event line without "! " (caller frees), or NULL.
 * timeout_ms 0 drains without waiting: the calls until one returns NULL
 * yield what had arrived (queued or readable) at the first of them; events
 * that arrive meanwhile, typically with the replies to the caller's own
 * requests, stay queued for the next drain (tb_agent_events_pending). A
 * line that pulses again while its "raise" still waits in the queue is
 * folded into that "raise" (never lost: it is handled after the pulse). */
char *tb_agent_next_event(TbAgent *ag, int timeout_ms);
/* Raw file descriptor, for poll loops. */
int tb_agent_fd(const TbAgent *ag);
/* Events already read from the socket (the fd will not show them). */
bool tb_agent_events_pending(const TbAgent *ag);

void tb_reply_clear(TbReply *r);

/* Agent socket path of a run directory (caller frees). Here, not in the
 * launcher, so that a client of a running board (the board platform
 * module) needs nothing of the code that starts QEMU. */
char *tb_run_dir_agent_path(const char *run_dir);

#endif
