/* Appends benchmark rows as JSON lines (contract: bench-json.h and the
 * comment at the top of scripts/bench). One line per row, written with one
 * fprintf and flushed, so that a program that dies later keeps the rows it
 * measured and programs run one after another can share one file. */
#include "bench-json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static FILE *out;
static const char *who = "bench";

void bench_json_open(const char *prog, const char *path)
{
    who = prog;
    if (!path) return;
    out = fopen(path, "a");
    if (!out) {
        fprintf(stderr, "%s: --json %s: ", prog, path);
        perror(NULL);
        exit(2);
    }
}

static void str(FILE *f, const char *s)
{
    if (!s) {
        fputs("null", f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\') fprintf(f, "\\%c", c);
        else if (c < 0x20) fprintf(f, "\\u%04x", c);
        else fputc(c, f);
    }
    fputc('"', f);
}

/* JSON has no NaN: a missing number is null */
static void num(FILE *f, double v)
{
    if (isnan(v) || isinf(v)) fputs("null", f);
    else fprintf(f, "%.6g", v);
}

static void emit(FILE *f, const BenchRow *r)
{
    fputs("{\"name\": ", f);
    str(f, r->name);
    fprintf(f, ", \"row\": %u, \"board\": ", r->row);
    str(f, r->board);
    fputs(", \"unit\": ", f);
    str(f, r->unit);
    fputs(", \"median\": ", f);
    num(f, r->median);
    fputs(", \"p99\": ", f);
    num(f, r->p99);
    fputs(", \"spread\": ", f);
    str(f, r->spread);
    fputs(", \"floor\": ", f);
    num(f, r->floor);
    fputs(", \"ratio\": ", f);
    num(f, r->ratio);
    fprintf(f, ", \"runs\": %u, \"goal\": ", r->runs);
    str(f, r->goal && *r->goal ? r->goal : NULL);
    fputs(", \"note\": ", f);
    str(f, r->note);
    fputs(", \"program\": ", f);
    str(f, who);
    fputs("}\n", f);
}

void bench_row(const BenchRow *r)
{
    printf("row %u %-12s %-34s median %10.4g %-5s", r->row, r->board, r->name, r->median, r->unit);
    if (!isnan(r->p99)) printf(" p99 %10.4g", r->p99);
    if (!isnan(r->floor)) printf(" floor %10.4g", r->floor);
    if (!isnan(r->ratio)) printf(" ratio %6.2f", r->ratio);
    if (r->goal && *r->goal) printf(" goal %s", r->goal);
    printf("\n");
    fflush(stdout);
    if (!out) return;
    emit(out, r);
    fflush(out);
}

void bench_json_close(void)
{
    if (out) fclose(out);
    out = NULL;
}
