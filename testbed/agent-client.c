#include "agent-client.h"
#include "tb-error.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* An event line as received, numbered in order of arrival. */
typedef struct {
    char *text; /* without "! " */
    guint64 n;
} Event;

struct TbAgent {
    int fd;
    int timeout_ms;
    char *greeting;
    GString *in;
    GQueue events;       /* Event */
    guint64 received;    /* events received so far: the next one's number */
    bool draining;       /* inside a run of zero-timeout tb_agent_next_event calls */
    guint64 drain_end;   /* that run returns events numbered below this */
};

static gint64 now_ms(void) { return g_get_monotonic_time() / 1000; }

static void event_free(gpointer p)
{
    Event *e = p;
    g_free(e->text);
    g_free(e);
}

/* "irq N raise|lower": N and the direction; false for any other event. */
static bool irq_event(const char *text, unsigned *irq, bool *raised)
{
    char what[8];
    if (sscanf(text, "irq %u %7s", irq, what) != 2) return false;
    *raised = strcmp(what, "raise") == 0;
    return *raised || strcmp(what, "lower") == 0;
}

/* Queues an event. As in the agent (its server.c), a line that rises again
 * while "raise" then "lower" of it still wait here collapses into the
 * waiting "raise": that one is handled after this interrupt happened, and
 * the level last seen stays the true one. A caller that handles each
 * "raise" with register accesses of its own (which bring the next events)
 * then sees at most three events per line waiting, not a growing flood. */
static void push_event(TbAgent *ag, const char *text)
{
    unsigned irq, i2;
    bool raised, r2;
    GList *last = NULL, *prev = NULL;
    if (irq_event(text, &irq, &raised) && raised) {
        for (GList *l = ag->events.tail; l && !prev; l = l->prev) {
            if (!irq_event(((Event *)l->data)->text, &i2, &r2) || i2 != irq) continue;
            if (!last) last = l;
            else prev = l;
        }
        if (prev && irq_event(((Event *)prev->data)->text, &i2, &r2) && r2 &&
            irq_event(((Event *)last->data)->text, &i2, &r2) && !r2) {
            event_free(last->data);
            g_queue_delete_link(&ag->events, last);
            ag->received++;
            return;
        }
    }
    Event *e = g_new(Event, 1);
    e->text = g_strdup(text);
    e->n = ag->received++;
    g_queue_push_tail(&ag->events, e);
}

void tb_reply_clear(TbReply *r)
{
    g_free(r->error);
    g_free(r->text);
    if (r->data) g_ptr_array_unref(r->data);
    memset(r, 0, sizeof *r);
}

/* Reads one line (without newline) within the deadline; caller frees. */
static int read_line(TbAgent *ag, gint64 deadline, char **line, GError **err)
{
    for (;;) {
        char *nl = ag->in->len ? memchr(ag->in->str, '\n', ag->in->len) : NULL;
        if (nl) {
            *line = g_strndup(ag->in->str, (gsize)(nl - ag->in->str));
            g_string_erase(ag->in, 0, nl - ag->in->str + 1);
            return 0;
        }
        gint64 left = MAX(deadline - now_ms(), 0);
        struct pollfd p = { .fd = ag->fd, .events = POLLIN };
        /* even with no time left, look once: a zero timeout means "what is there" */
        int rc = poll(&p, 1, left > G_MAXINT ? G_MAXINT : (int)left);
        if (rc < 0 && errno == EINTR) continue;
        if (rc == 0) {
            g_set_error(err, TB_ERROR, ETIMEDOUT, "board agent: no reply in time");
            return -ETIMEDOUT;
        }
        char buf[65536];
        ssize_t n = rc < 0 ? -1 : recv(ag->fd, buf, sizeof buf, 0);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            g_set_error(err, TB_ERROR, ECONNRESET,
                        "board agent: connection closed (%s)", n == 0 ? "end of stream" : g_strerror(errno));
            return -ECONNRESET;
        }
        g_string_append_len(ag->in, buf, n);
    }
}

int tb_agent_connect(const char *path, int timeout_ms, TbAgent **out, GError **err)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    *out = NULL;
    if (strlen(path) >= sizeof sa.sun_path) {
        g_set_error(err, TB_ERROR, ENAMETOOLONG, "%s: socket path too long", path);
        return -ENAMETOOLONG;
    }
    strcpy(sa.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        g_set_error(err, TB_ERROR, e, "%s: %s", path, g_strerror(e));
        return -e;
    }
    TbAgent *ag = g_new0(TbAgent, 1);
    ag->fd = fd;
    ag->timeout_ms = timeout_ms > 0 ? timeout_ms : TB_AGENT_DEFAULT_TIMEOUT_MS;
    ag->in = g_string_new(NULL);
    g_queue_init(&ag->events);
    char *line = NULL;
    int rc = read_line(ag, now_ms() + ag->timeout_ms, &line, err);
    if (rc == 0 && !g_str_has_prefix(line, "HELLO ")) {
        g_set_error(err, TB_ERROR, EIO, "%s: not a board agent (greeting '%.60s')", path, line);
        rc = -EPROTO;
    }
    if (rc) {
        g_free(line);
        tb_agent_close(ag);
        return rc;
    }
    ag->greeting = line;
    *out = ag;
    return 0;
}

void tb_agent_close(TbAgent *ag)
{
    if (!ag) return;
    close(ag->fd);
    g_free(ag->greeting);
    g_string_free(ag->in, TRUE);
    g_queue_clear_full(&ag->events, event_free);
    g_free(ag);
}

const char *tb_agent_greeting(const TbAgent *ag) { return ag->greeting; }
void tb_agent_set_timeout(TbAgent *ag, int timeout_ms) { ag->timeout_ms = timeout_ms; }
int tb_agent_fd(const TbAgent *ag) { return ag->fd; }
bool tb_agent_events_pending(const TbAgent *ag) { return ag->events.length > 0; }

int tb_agent_send(TbAgent *ag, const char *line, GError **err)
{
    g_autofree char *msg = g_strconcat(line, "\n", NULL);
    size_t len = strlen(msg), off = 0;
    while (off < len) {
        ssize_t n = send(ag->fd, msg + off, len - off, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) {
            int e = errno;
            g_set_error(err, TB_ERROR, e, "board agent: send: %s", g_strerror(e));
            return -e;
        }
        off += (size_t)n;
    }
    return 0;
}

int tb_agent_recv(TbAgent *ag, TbReply *r, GError **err)
{
    gint64 deadline = now_ms() + ag->timeout_ms;
    memset(r, 0, sizeof *r);
    r->data = g_ptr_array_new_with_free_func(g_free);
    for (;;) {
        char *line = NULL;
        int rc = read_line(ag, deadline, &line, err);
        if (rc) {
            tb_reply_clear(r);
            return rc;
        }
        if (g_str_has_prefix(line, "! ")) {
            push_event(ag, line + 2);
            g_free(line);
        } else if (g_str_has_prefix(line, "* ")) {
            g_ptr_array_add(r->data, g_strdup(line + 2));
            g_free(line);
        } else if (strcmp(line, "OK") == 0 || g_str_has_prefix(line, "OK ")) {
            r->ok = true;
            r->text = g_strdup(line[2] ? line + 3 : "");
            g_free(line);
            return 0;
        } else if (g_str_has_prefix(line, "ERR ")) {
            char *sp = strchr(line + 4, ' ');
            r->error = sp ? g_strndup(line + 4, (gsize)(sp - line - 4)) : g_strdup(line + 4);
            r->text = g_strdup(sp ? sp + 1 : "");
            g_free(line);
            return 0;
        } else {
            g_set_error(err, TB_ERROR, EIO, "board agent: unexpected line '%.80s'", line);
            g_free(line);
            tb_reply_clear(r);
            return -EPROTO;
        }
    }
}

static int vcall(TbAgent *ag, TbReply *r, GError **err, const char *fmt, va_list ap)
{
    g_autofree char *line = g_strdup_vprintf(fmt, ap);
    memset(r, 0, sizeof *r);
    int rc = tb_agent_send(ag, line, err);
    return rc ? rc : tb_agent_recv(ag, r, err);
}

int tb_agent_call(TbAgent *ag, TbReply *r, GError **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vcall(ag, r, err, fmt, ap);
    va_end(ap);
    return rc;
}

int tb_agent_do(TbAgent *ag, TbReply *r, GError **err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = vcall(ag, r, err, fmt, ap);
    va_end(ap);
    if (rc == 0 && !r->ok) {
        g_set_error(err, TB_ERROR, EIO, "%s %s", r->error, r->text);
        return -EIO;
    }
    return rc;
}

static char *pop_event(TbAgent *ag)
{
    Event *e = g_queue_pop_head(&ag->events);
    char *text = e->text;
    g_free(e);
    return text;
}

/* Reads what is already on the socket, without waiting. */
static void take_pending(TbAgent *ag)
{
    char *line = NULL;
    while (read_line(ag, now_ms(), &line, NULL) == 0) {
        if (g_str_has_prefix(line, "! ")) push_event(ag, line + 2);
        g_free(line);
    }
}

char *tb_agent_next_event(TbAgent *ag, int timeout_ms)
{
    if (timeout_ms == 0) {
        /* A drain: what had arrived when it began, then NULL. Events that
         * the caller's own requests bring in meanwhile wait for the next
         * drain, so a caller that loops until NULL gets back to its other
         * work even while a storm keeps the interrupts coming. */
        if (!ag->draining) {
            take_pending(ag);
            ag->draining = true;
            ag->drain_end = ag->received;
        }
        Event *head = g_queue_peek_head(&ag->events);
        if (head && head->n < ag->drain_end) return pop_event(ag);
        ag->draining = false;
        return NULL;
    }
    gint64 deadline = now_ms() + timeout_ms;
    for (;;) {
        if (!g_queue_is_empty(&ag->events)) return pop_event(ag);
        /* Only events can arrive while no request is outstanding. */
        char *line = NULL;
        if (read_line(ag, deadline, &line, NULL)) return NULL;
        if (g_str_has_prefix(line, "! ")) push_event(ag, line + 2);
        g_free(line);
    }
}

char *tb_run_dir_agent_path(const char *run_dir) { return g_build_filename(run_dir, TB_RUN_AGENT_SOCK, NULL); }
