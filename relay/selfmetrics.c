/*
 * selfmetrics.c - builds the relay's own families (per-source up, samples,
 * duration; last success time) and adds them to the merge table as
 * HELP/TYPE/SAMPLE events of the relay's own source.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "selfmetrics.h"

/* One of the relay's families: name, HELP. All are gauges. */
typedef struct self_family {
    const char *name;
    const char *help;
} self_family;

static const self_family families[] = {
    { "prex_source_up",
      "1 if the source was read and parsed without error in this run, else 0." },
    { "prex_source_samples", "Samples read from the source in this run." },
    { "prex_source_scrape_duration_seconds",
      "Time spent reading and parsing the source in this run." },
    { "prex_last_success_timestamp_seconds",
      "Unix time of the relay's last successful run, 0 if none yet." },
};

enum { F_UP, F_SAMPLES, F_DURATION, F_LAST };

static prex_slice lit(const char *z)
{
    prex_slice s = { z, strlen(z) };
    return s;
}

int prex_selfmetrics_source(prex_merge *m, unsigned *id)
{
    return prex_merge_add_source(m, PREX_SELFMETRICS_SOURCE, strlen(PREX_SELFMETRICS_SOURCE),
                                 PREX_MERGE_SOURCE_NO_LABEL, id);
}

/* Sends family k's HELP and TYPE (gauge) as events of source self. */
static int meta(prex_merge *m, unsigned self, int k)
{
    prex_event ev;
    int rc;

    memset(&ev, 0, sizeof ev);
    ev.kind = PREX_EV_HELP;
    ev.name = lit(families[k].name);
    ev.text = lit(families[k].help);
    rc = prex_merge_meta(m, self, &ev);
    if (rc != 0)
        return rc;
    ev.kind = PREX_EV_TYPE;
    ev.type = PREX_TYPE_GAUGE;
    ev.text = lit("gauge");
    return prex_merge_meta(m, self, &ev);
}

/*
 * Formats v the shortest way that reads back as the same double ("%.15g",
 * else "%.17g"; NaN and infinities spelled as the format wants) into the
 * table's memory, and sets *raw. Returns 0 or PREX_MERGE_E_NO_MEMORY.
 */
static int format_value(prex_merge *m, double v, prex_slice *raw)
{
    char b[40];
    int n;

    if (isnan(v))
        n = snprintf(b, sizeof b, "NaN");
    else if (isinf(v))
        n = snprintf(b, sizeof b, "%s", v > 0 ? "+Inf" : "-Inf");
    else {
        n = snprintf(b, sizeof b, "%.15g", v);
        if (strtod(b, NULL) != v)
            n = snprintf(b, sizeof b, "%.17g", v);
    }
    *raw = prex_merge_copy(m, b, (size_t)n);
    return raw->ptr ? 0 : PREX_MERGE_E_NO_MEMORY;
}

/*
 * Adds one sample of family k with value v (written as count when k is
 * the samples family, so that large counts stay exact) and, when src is a
 * source number (not PREX_MERGE_NONE), the label source="<its name>".
 */
static int sample(prex_merge *m, unsigned self, int k, unsigned src, double v,
                  uint64_t count)
{
    prex_event ev;
    prex_pair pairs[2];
    size_t n = 1;
    int rc;

    memset(&ev, 0, sizeof ev);
    ev.kind = PREX_EV_SAMPLE;
    ev.name = lit(families[k].name);
    ev.family = ev.name;
    ev.type = PREX_TYPE_GAUGE;
    ev.suffix = PREX_SUFFIX_NONE;
    ev.value = v;
    if (k == F_SAMPLES) {
        char b[24];
        int len = snprintf(b, sizeof b, "%" PRIu64, count);

        ev.value_raw = prex_merge_copy(m, b, (size_t)len);
        rc = ev.value_raw.ptr ? 0 : PREX_MERGE_E_NO_MEMORY;
    } else {
        rc = format_value(m, v, &ev.value_raw);
    }
    if (rc != 0)
        return rc;
    pairs[0].name = lit("__name__");
    pairs[0].value = ev.name;
    if (src != PREX_MERGE_NONE) {
        pairs[1].name = lit("source");
        pairs[1].value = prex_merge_source_name(m, src);
        n = 2;
    }
    return prex_merge_add_pairs(m, self, &ev, pairs, n);
}

int prex_selfmetrics_add(prex_merge *m, unsigned self, const prex_source_status *st,
                         size_t n, double last_success)
{
    size_t i;
    int k, rc;

    for (i = 0; i < n; i++)
        if (prex_merge_source_name(m, st[i].source).len == 0 || st[i].source == self)
            return PREX_MERGE_E_USAGE;
    for (k = F_UP; k <= F_LAST; k++) {
        rc = meta(m, self, k);
        if (rc != 0)
            return rc;
        if (k == F_LAST) {
            rc = sample(m, self, k, PREX_MERGE_NONE, last_success, 0);
            if (rc != 0)
                return rc;
            continue;
        }
        for (i = 0; i < n; i++) {
            double v = k == F_UP ? (st[i].up ? 1.0 : 0.0)
                     : k == F_SAMPLES ? (double)st[i].samples
                     : st[i].duration_seconds;

            rc = sample(m, self, k, st[i].source, v, st[i].samples);
            if (rc != 0)
                return rc;
        }
    }
    return 0;
}
