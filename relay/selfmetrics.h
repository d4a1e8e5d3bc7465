/*
 * selfmetrics.h - the relay's own metric families, added to every push so
 * that the "up" signal a pushed target loses is back (DESIGN.md):
 *
 *     # HELP prex_source_up 1 if the source was read and parsed without error in this run, else 0.
 *     # TYPE prex_source_up gauge
 *     prex_source_up{source="node"} 1
 *     # HELP prex_source_samples Samples read from the source in this run.
 *     # TYPE prex_source_samples gauge
 *     prex_source_samples{source="node"} 1234
 *     # HELP prex_source_scrape_duration_seconds Time spent reading and parsing the source in this run.
 *     # TYPE prex_source_scrape_duration_seconds gauge
 *     prex_source_scrape_duration_seconds{source="node"} 0.012
 *     # HELP prex_last_success_timestamp_seconds Unix time of the relay's last successful run, 0 if none yet.
 *     # TYPE prex_last_success_timestamp_seconds gauge
 *     prex_last_success_timestamp_seconds 1700000000.5
 *
 * They enter the merge table as one more source (registered by
 * prex_selfmetrics_source(), with PREX_MERGE_SOURCE_NO_LABEL: the series
 * carry their own source="..." label instead of the -s label), so the
 * constant -l labels apply to them, and a clash with an exporter's family
 * of the same name is reported like any other.
 *
 * Usage recipe:
 *
 *     unsigned self;
 *     prex_selfmetrics_source(&m, &self);           // once, after the sources
 *     ... read the sources into m ...
 *     prex_source_status st[2] = {
 *         { .source = id_node, .up = 1, .samples = 1234, .duration_seconds = 0.012 },
 *         { .source = id_app,  .up = 0 },
 *     };
 *     prex_selfmetrics_add(&m, self, st, 2, last_success);
 *     prex_merge_finish(&m);
 */
#ifndef PREX_SELFMETRICS_H
#define PREX_SELFMETRICS_H

#include <stddef.h>
#include <stdint.h>

#include "merge.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The name of the relay's own source in issues ("prex-relay"). */
#define PREX_SELFMETRICS_SOURCE "prex-relay"

/* What happened to one source in this run. */
typedef struct prex_source_status {
    unsigned source;          /* its number in the merge table */
    int up;                   /* nonzero: read and parsed without error */
    uint64_t samples;         /* samples read from it */
    double duration_seconds;  /* time spent reading and parsing it */
} prex_source_status;

/*
 * Registers the relay's own source in m (named PREX_SELFMETRICS_SOURCE,
 * flag PREX_MERGE_SOURCE_NO_LABEL) and sets *id. Register it after the
 * exporters' sources, so that an exporter's family wins a conflict with
 * it under --conflict first. Returns prex_merge_add_source()'s result.
 */
int prex_selfmetrics_source(prex_merge *m, unsigned *id);

/*
 * Adds the four families to m as source self:
 *   st, n:        one entry per source (the relay's own source excluded);
 *                 the source label's value is the source's name in m.
 *   last_success: Unix time in seconds of the last run that pushed or
 *                 wrote its body successfully; 0 when there was none.
 * Values are formatted into the table's memory. Returns 0 or a
 * PREX_MERGE_E_* code of the merge calls (PREX_MERGE_E_USAGE for a
 * source number that is not registered).
 */
int prex_selfmetrics_add(prex_merge *m, unsigned self, const prex_source_status *st,
                         size_t n, double last_success);

#ifdef __cplusplus
}
#endif

#endif /* PREX_SELFMETRICS_H */
