/*
 * gen.c - prex-gen: writes a deterministic, kube-state-metrics-like
 * exposition of a requested size to stdout, in text format 0.0.4 or as its
 * OpenMetrics 1.0 twin, as input for the benchmarks and the relay.
 *
 *     prex-gen [--openmetrics] [--size BYTES] [--timestamps] [--seed N] > file
 *
 * BYTES takes an optional k, M or G suffix (powers of 1000); the default is
 * 50M. The output is the same for the same options on every machine: a
 * small xorshift generator with a fixed default seed drives every choice,
 * and floats are formatted with the C locale. It is valid per the format
 * rules: families are contiguous, carry HELP and TYPE, series are unique,
 * histogram buckets are cumulative with a +Inf bucket equal to _count.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_SIZE 50000000ull
#define DEFAULT_SEED 0x9e3779b97f4a7c15ull
#define OUT_CAP (1u << 20)
#define OUT_SLACK 4096u /* room every single formatted piece fits in */

/* MARK: random numbers */

/* xorshift64* states; never zero. rng_state drives everything both
 * formats share (series, values); om_state only what OpenMetrics adds
 * (exemplars, _created), so the two outputs are twins. */
static uint64_t rng_state = DEFAULT_SEED;
static uint64_t om_state = DEFAULT_SEED ^ 0x5851f42d4c957f2dull;

/* Advances a xorshift64* state and returns the next number. */
static uint64_t xorshift(uint64_t *state)
{
    uint64_t x = *state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dull;
}

static uint64_t rnd(void)
{
    return xorshift(&rng_state);
}

/* A number in [0, n) from the OpenMetrics-only stream; n > 0. */
static uint32_t om_below(uint32_t n)
{
    return (uint32_t)((xorshift(&om_state) >> 11) % n);
}

/* A number in [0, n); n > 0. The small modulo bias is irrelevant here. */
static uint32_t below(uint32_t n)
{
    return (uint32_t)((rnd() >> 11) % n);
}

/* A double in [0, 1). */
static double unit_interval(void)
{
    return (double)(rnd() >> 11) / 9007199254740992.0;
}

/* MARK: output */

/* The output buffer: out_buf[0..out_len) not yet written to stdout. */
static char out_buf[OUT_CAP];
static size_t out_len;
static uint64_t out_total; /* bytes produced so far, flushed or not */
static int out_dry;        /* count bytes only, write nothing */

/* Writes the buffer to stdout; exits with status 1 if that fails. */
static void out_flush(void)
{
    if (out_len && fwrite(out_buf, 1, out_len, stdout) != out_len) {
        fprintf(stderr, "prex-gen: write error: %s\n", strerror(errno));
        exit(1);
    }
    out_len = 0;
}

/* Makes sure OUT_SLACK bytes are free in the buffer. */
static void out_room(void)
{
    if (OUT_CAP - out_len < OUT_SLACK)
        out_flush();
}

/* Appends n bytes of p; n may exceed OUT_SLACK. */
static void out_bytes(const char *p, size_t n)
{
    size_t k;

    if (out_dry) {
        out_total += n;
        return;
    }
    while (n) {
        if (out_len == OUT_CAP)
            out_flush();
        k = OUT_CAP - out_len < n ? OUT_CAP - out_len : n;
        memcpy(out_buf + out_len, p, k);
        out_len += k;
        out_total += k;
        p += k;
        n -= k;
    }
}

/* Appends the NUL-terminated string s (program text, never input). */
static void out_str(const char *s)
{
    out_bytes(s, strlen(s));
}

/* Appends printf-formatted text; one call produces under OUT_SLACK bytes. */
static void out_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void out_fmt(const char *fmt, ...)
{
    va_list ap;
    int n;

    out_room();
    va_start(ap, fmt);
    n = vsnprintf(out_buf + out_len, OUT_CAP - out_len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= OUT_CAP - out_len) {
        fprintf(stderr, "prex-gen: formatting failed\n");
        exit(1);
    }
    if (!out_dry)
        out_len += (size_t)n;
    out_total += (uint64_t)n;
}

/* MARK: catalogue */

typedef enum mkind { M_COUNTER, M_GAUGE, M_HISTOGRAM, M_SUMMARY, M_UNTYPED } mkind;

/* A metric template; every resource kind gets one family per template.
 * Counter names end in "_total" (the text family name; OpenMetrics drops
 * the suffix from the family name). unit is the OpenMetrics UNIT, which
 * the family name (without _total) ends with, or NULL. */
typedef struct metric_tmpl {
    const char *name;
    mkind kind;
    const char *unit;
    const char *help; /* printf format taking the resource kind; escaped */
} metric_tmpl;

static const metric_tmpl tmpls[] = {
    {"info", M_GAUGE, NULL, "Information about the %s."},
    {"created", M_GAUGE, NULL, "Unix creation timestamp of the %s."},
    {"labels", M_GAUGE, NULL,
     "Kubernetes labels of the %s converted to Prometheus labels."},
    {"annotations", M_GAUGE, NULL,
     "Kubernetes annotations of the %s; keys such as a\\\\b keep their "
     "backslash.\\nOne series per object."},
    {"status_phase", M_GAUGE, NULL, "The current phase of the %s."},
    {"status_ready", M_GAUGE, NULL, "Whether the %s is ready (1) or not (0)."},
    {"spec_replicas", M_GAUGE, NULL, "Desired number of replicas of the %s."},
    {"status_condition", M_GAUGE, NULL, "The condition of the %s."},
    {"memory_usage_bytes", M_GAUGE, "bytes", "Memory in use by the %s, in bytes."},
    {"cpu_utilisation_ratio", M_GAUGE, NULL,
     "Share of the requested CPU used by the %s."},
    {"temperature_celsius", M_GAUGE, "celsius",
     "Temperature reported for the %s, in °C."},
    {"restarts_total", M_COUNTER, NULL, "Restarts of the %s."},
    {"reconcile_errors_total", M_COUNTER, NULL,
     "Reconciliation errors seen for the %s."},
    {"cpu_usage_seconds_total", M_COUNTER, "seconds",
     "Cumulative CPU time consumed by the %s, in seconds."},
    {"sync_duration_seconds", M_HISTOGRAM, "seconds",
     "Time to sync the %s, in seconds."},
    {"request_size_bytes", M_HISTOGRAM, "bytes",
     "Size of API requests about the %s, in bytes."},
    {"api_latency_seconds", M_SUMMARY, "seconds",
     "Latency of API calls about the %s (température mesurée côté client)."},
    {"legacy_state", M_UNTYPED, NULL, "Legacy state code of the %s."},
};
#define NTMPLS (sizeof tmpls / sizeof tmpls[0])

static const char *const resources[] = {
    "pod", "deployment", "node", "namespace", "service", "job", "cronjob",
    "statefulset", "daemonset", "replicaset", "persistentvolume",
    "persistentvolumeclaim", "configmap", "secret", "ingress", "endpoint",
    "horizontalpodautoscaler", "lease", "networkpolicy", "poddisruptionbudget",
};
#define NRESOURCES (sizeof resources / sizeof resources[0])

/* Histogram bucket bounds: the value, its text rendering (Go's shortest
 * %g, as client libraries write it) and its canonical OpenMetrics one. */
typedef struct bucket {
    double le;
    const char *text;
    const char *om;
} bucket;

static const bucket seconds_buckets[] = {
    {0.005, "0.005", "0.005"}, {0.01, "0.01", "0.01"},
    {0.025, "0.025", "0.025"}, {0.05, "0.05", "0.05"},
    {0.1, "0.1", "0.1"},       {0.25, "0.25", "0.25"},
    {0.5, "0.5", "0.5"},       {1, "1", "1.0"},
    {2.5, "2.5", "2.5"},       {5, "5", "5.0"},
    {10, "10", "10.0"},
};
static const bucket bytes_buckets[] = {
    {256, "256", "256.0"},         {1024, "1024", "1024.0"},
    {4096, "4096", "4096.0"},      {16384, "16384", "16384.0"},
    {65536, "65536", "65536.0"},   {262144, "262144", "262144.0"},
    {1048576, "1.048576e+06", "1.048576e+06"},
};

static const char *const namespaces[] = {
    "default", "kube-system", "monitoring", "ingress-nginx", "payments",
    "checkout", "search", "data-pipeline", "ml-training", "cert-manager",
    "logging", "istio-system", "argocd", "backend", "frontend", "batch",
};
static const char *const apps[] = {
    "api", "web", "worker", "redis", "postgres", "kafka", "nginx",
    "fluent-bit", "prometheus", "grafana", "coredns", "etcd",
};
static const char *const containers[] = {
    "app", "sidecar", "istio-proxy", "init-config", "log-shipper",
};
static const char *const phases[] = {
    "Pending", "Running", "Succeeded", "Failed", "Unknown",
};
/* Label values already escaped for the exposition (\" \\ \n) and UTF-8. */
static const char *const messages[] = {
    "Back-off restarting failed container",
    "OOMKilled: container \\\"app\\\" exceeded its memory limit",
    "volume path C:\\\\data\\\\cache not found",
    "probe failed:\\nconnection refused",
    "Zurückgesetzt: Gerät nicht bereit",
    "重启次数过多",
    "ошибка: диск заполнен",
    "deployed \xf0\x9f\x9a\x80 ok",
    "",
};
static const char *const teams[] = {
    "platform", "équipe-données", "søk", "payments", "sre", "ml",
};
static const char *const teams_ascii[] = {
    "platform", "data", "search", "payments", "sre", "ml",
};

/* Extra label names a family may carry beyond its fixed first four. */
static const char *const extra_labels[] = {
    "container", "image", "host_ip", "pod_ip", "created_by_kind",
    "created_by_name", "priority_class", "phase", "condition", "message",
    "team",
};
#define NEXTRA (sizeof extra_labels / sizeof extra_labels[0])

/* MARK: families */

/* One family to write. */
typedef struct family {
    const metric_tmpl *t;
    const char *resource;
    char name[128];     /* text family name, e.g. kube_pod_restarts_total */
    size_t nextra;      /* extra labels: 5..10 labels in all */
    unsigned extra[NEXTRA]; /* indexes into extra_labels, distinct */
    uint32_t salt;      /* per-family variation */
} family;

/* Options of one run. */
typedef struct options {
    int openmetrics;
    int timestamps;
    uint64_t size;
} options;

/* Fills f for template t and resource r (both in range). */
static void family_init(family *f, const metric_tmpl *t, const char *r)
{
    unsigned perm[NEXTRA], i, j, tmp;

    f->t = t;
    f->resource = r;
    snprintf(f->name, sizeof f->name, "kube_%s_%s", r, t->name);
    for (i = 0; i < NEXTRA; i++)
        perm[i] = i;
    for (i = NEXTRA - 1; i > 0; i--) {
        j = below(i + 1);
        tmp = perm[i];
        perm[i] = perm[j];
        perm[j] = tmp;
    }
    f->nextra = 1 + below(6);
    if (strcmp(r, "namespace") == 0 || strcmp(r, "node") == 0)
        f->nextra++; /* they lack one of the four fixed labels */
    for (i = 0; i < f->nextra; i++)
        f->extra[i] = perm[i];
    f->salt = (uint32_t)rnd();
}

/* Length of the family name as written in metadata: OpenMetrics counter
 * families drop "_total". */
static size_t meta_name_len(const family *f, const options *o)
{
    size_t n = strlen(f->name);

    if (o->openmetrics && f->t->kind == M_COUNTER)
        n -= sizeof "_total" - 1;
    return n;
}

static const char *type_word(mkind k, const options *o)
{
    switch (k) {
    case M_COUNTER: return "counter";
    case M_GAUGE: return "gauge";
    case M_HISTOGRAM: return "histogram";
    case M_SUMMARY: return "summary";
    case M_UNTYPED: break;
    }
    return o->openmetrics ? "unknown" : "untyped";
}

/* Writes the HELP, TYPE and (OpenMetrics, when the family has a unit)
 * UNIT lines of f. */
static void write_meta(const family *f, const options *o)
{
    int n = (int)meta_name_len(f, o);

    out_fmt("# HELP %.*s ", n, f->name);
    out_fmt(f->t->help, f->resource);
    out_fmt("\n# TYPE %.*s %s\n", n, f->name, type_word(f->t->kind, o));
    if (o->openmetrics && f->t->unit)
        out_fmt("# UNIT %.*s %s\n", n, f->name, f->t->unit);
}

/* A generator for the labels of one series: the same (family, series)
 * always gives the same labels, however often its lines repeat them. */
typedef struct lrng {
    uint64_t s;
} lrng;

/* Seeds a label generator from a family salt and a series index
 * (splitmix64 finaliser, so neighbouring indexes differ in every bit). */
static void lrng_init(lrng *g, uint32_t salt, uint32_t idx)
{
    uint64_t z = ((uint64_t)salt << 32 | idx) + 0x9e3779b97f4a7c15ull;

    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    g->s = (z ^ (z >> 31)) | 1;
}

/* A number in [0, n) from a label generator (xorshift64*); n > 0. */
static uint32_t lbelow(lrng *g, uint32_t n)
{
    g->s ^= g->s >> 12;
    g->s ^= g->s << 25;
    g->s ^= g->s >> 27;
    return (uint32_t)(((g->s * 0x2545f4914f6cdd1dull) >> 11) % n);
}

#define PICK(g, table) ((table)[lbelow((g), sizeof(table) / sizeof((table)[0]))])

/*
 * Writes the label block of series idx of family f, without the closing
 * brace, so callers can add le or quantile: "{namespace=...,...", 5 to 10
 * labels. The
 * resource-named label carries idx, which makes every series unique; the
 * other values come from a generator seeded by (family, idx), so every
 * line of one histogram or summary series repeats the same labels.
 */
static void write_labels(const family *f, uint32_t idx)
{
    lrng g;
    const char *ns, *app, *ln;
    unsigned u1, u2, u3, u4, u5, u6, n1, n2, a, b, c;
    size_t i;

    lrng_init(&g, f->salt, idx);
    ns = PICK(&g, namespaces);
    app = PICK(&g, apps);
    u1 = lbelow(&g, 0xffffffffu);
    u2 = lbelow(&g, 0x10000);
    u3 = lbelow(&g, 0x1000);
    u4 = 0x8000 | lbelow(&g, 0x4000);
    u5 = lbelow(&g, 0x10000);
    u6 = lbelow(&g, 0xffffffffu);
    n1 = lbelow(&g, 16);
    n2 = lbelow(&g, 250) + 1;
    /* The namespace and node resources name themselves with the label
     * that other resources use for where they live. */
    out_str("{");
    if (strcmp(f->resource, "namespace") != 0)
        out_fmt("namespace=\"%s\",", ns);
    out_fmt("%s=\"%s-%05x-%u\",uid=\"%08x-%04x-4%03x-%04x-%04x%08x\"",
            f->resource, app, (unsigned)(f->salt & 0xfffff), (unsigned)idx,
            u1, u2, u3, u4, u5, u6);
    if (strcmp(f->resource, "node") != 0)
        out_fmt(",node=\"ip-10-0-%u-%u.eu-west-1.compute.internal\"", n1, n2);
    for (i = 0; i < f->nextra; i++) {
        ln = extra_labels[f->extra[i]];
        out_fmt(",%s=\"", ln);
        switch (f->extra[i]) {
        case 0:
            out_str(PICK(&g, containers));
            break;
        case 1:
            a = lbelow(&g, 40);
            b = lbelow(&g, 10);
            out_fmt("registry.example.com/%s/%s:v1.%u.%u", PICK(&g, teams_ascii),
                    app, a, b);
            break;
        case 2:
            a = lbelow(&g, 16);
            b = lbelow(&g, 250) + 1;
            out_fmt("10.0.%u.%u", a, b);
            break;
        case 3:
            a = 100 + lbelow(&g, 28);
            b = lbelow(&g, 256);
            c = lbelow(&g, 250) + 1;
            out_fmt("10.%u.%u.%u", a, b, c);
            break;
        case 4:
            out_str(lbelow(&g, 3) ? "ReplicaSet" : "StatefulSet");
            break;
        case 5:
            out_fmt("%s-%05x", app, (unsigned)(f->salt >> 12) & 0xfffff);
            break;
        case 6:
            out_str(lbelow(&g, 4) ? "" : "system-cluster-critical");
            break;
        case 7:
            out_str(PICK(&g, phases));
            break;
        case 8:
            out_str(lbelow(&g, 2) ? "true" : "false");
            break;
        case 9:
            out_str(PICK(&g, messages));
            break;
        default:
            out_str(PICK(&g, teams));
            break;
        }
        out_str("\"");
    }
}

/* Writes a timestamp after a value when asked: integer milliseconds in
 * text, float seconds in OpenMetrics. */
static void write_ts(const options *o, uint32_t idx)
{
    uint64_t ms = 1700000000000ull + (uint64_t)idx * 1009u % 86400000u;

    if (!o->timestamps)
        return;
    if (o->openmetrics)
        out_fmt(" %" PRIu64 ".%03u", ms / 1000, (unsigned)(ms % 1000));
    else
        out_fmt(" %" PRIu64, ms);
}

/* Writes a gauge value in the form its template calls for: constant 1
 * for info-style families, flags, small integers, timestamps, byte counts
 * in exponent form, ratios as decimals or exponents, temperatures that may
 * be negative or NaN. */
static void write_gauge_value(const family *f)
{
    const char *n = f->t->name;
    uint32_t r = below(100);

    if (strcmp(n, "info") == 0 || strcmp(n, "labels") == 0 ||
        strcmp(n, "annotations") == 0)
        out_str("1");
    else if (strncmp(n, "status_", 7) == 0)
        out_str(r < 70 ? "1" : "0");
    else if (strcmp(n, "spec_replicas") == 0)
        out_fmt("%u", r % 12);
    else if (strcmp(n, "created") == 0)
        out_fmt("%.10g", 1.6e9 + (double)below(100000000));
    else if (strcmp(n, "memory_usage_bytes") == 0)
        out_fmt("%.9g", 1e6 + unit_interval() * 8e9);
    else if (strcmp(n, "cpu_utilisation_ratio") == 0 && r < 80)
        out_fmt("%.6g", unit_interval() * 1.5);
    else if (strcmp(n, "cpu_utilisation_ratio") == 0)
        out_fmt("%.4e", unit_interval() * 1e-3);
    else if (r < 97)
        out_fmt("%.3f", unit_interval() * 90 - 20);
    else
        out_str("NaN");
}

/* Writes one series of a counter, gauge or untyped family. */
static void write_simple(const family *f, const options *o, uint32_t idx)
{
    int n = (int)meta_name_len(f, o);
    double created = 1.6e9 + (double)below(100000000);

    out_fmt("%.*s%s", n, f->name,
            o->openmetrics && f->t->kind == M_COUNTER ? "_total" : "");
    write_labels(f, idx);
    out_str("} ");
    if (f->t->kind == M_COUNTER) {
        if (f->t->unit)
            out_fmt("%.3f", unit_interval() * 1e5);
        else
            out_fmt("%u", below(2000000));
    } else if (f->t->kind == M_UNTYPED) {
        out_fmt("%u", below(8));
    } else {
        write_gauge_value(f);
    }
    write_ts(o, idx);
    if (o->openmetrics && f->t->kind == M_COUNTER && om_below(16) == 0)
        out_fmt(" # {trace_id=\"%016" PRIx64 "\"} 1", xorshift(&om_state));
    out_str("\n");
    if (o->openmetrics && f->t->kind == M_COUNTER && (idx & 3) == 0) {
        out_fmt("%.*s_created", n, f->name);
        write_labels(f, idx);
        out_fmt("} %.13g", created);
        write_ts(o, idx);
        out_str("\n");
    }
}

/* Writes one series of a histogram family: every bucket (cumulative, the
 * last one +Inf), _sum and _count, and in OpenMetrics sometimes _created
 * and exemplars that fall inside their bucket. */
static void write_histogram(const family *f, const options *o, uint32_t idx)
{
    int is_bytes = strcmp(f->t->unit, "bytes") == 0;
    const bucket *b = is_bytes ? bytes_buckets : seconds_buckets;
    size_t nb = is_bytes ? sizeof bytes_buckets / sizeof bytes_buckets[0]
                         : sizeof seconds_buckets / sizeof seconds_buckets[0];
    uint64_t cum = 0;
    double sum = 0, lo = 0, mid;
    size_t i;

    for (i = 0; i <= nb; i++) {
        uint64_t add = below(i < nb / 2 ? 400 : 60);

        mid = i < nb ? (lo + b[i].le) / 2 : lo * 2;
        cum += add;
        sum += (double)add * mid;
        out_str(f->name);
        out_str("_bucket");
        write_labels(f, idx);
        out_fmt(",le=\"%s\"} %" PRIu64,
                i < nb ? (o->openmetrics ? b[i].om : b[i].text) : "+Inf", cum);
        write_ts(o, idx);
        if (o->openmetrics && om_below(8) == 0)
            out_fmt(" # {trace_id=\"%016" PRIx64 "\"} %.6g",
                    xorshift(&om_state), mid);
        out_str("\n");
        if (i < nb)
            lo = b[i].le;
    }
    out_fmt("%s_sum", f->name);
    write_labels(f, idx);
    out_fmt("} %.10g", sum);
    write_ts(o, idx);
    out_fmt("\n%s_count", f->name);
    write_labels(f, idx);
    out_fmt("} %" PRIu64, cum);
    write_ts(o, idx);
    out_str("\n");
    if (o->openmetrics && (idx & 1) == 0) {
        out_fmt("%s_created", f->name);
        write_labels(f, idx);
        out_fmt("} %.13g", 1.6e9 + (double)om_below(100000000));
        write_ts(o, idx);
        out_str("\n");
    }
}

/* Writes one series of a summary family: three quantiles with growing
 * values, _sum and _count. */
static void write_summary(const family *f, const options *o, uint32_t idx)
{
    static const char *const qs[] = {"0.5", "0.9", "0.99"};
    double v = unit_interval() * 0.05;
    uint32_t count = below(100000);
    size_t i;

    for (i = 0; i < 3; i++) {
        out_str(f->name);
        write_labels(f, idx);
        out_fmt(",quantile=\"%s\"} %.6g", qs[i], v);
        write_ts(o, idx);
        out_str("\n");
        v *= 1.5 + unit_interval() * 3;
    }
    out_fmt("%s_sum", f->name);
    write_labels(f, idx);
    out_fmt("} %.10g", (double)count * unit_interval() * 0.2);
    write_ts(o, idx);
    out_fmt("\n%s_count", f->name);
    write_labels(f, idx);
    out_fmt("} %u", count);
    write_ts(o, idx);
    out_str("\n");
}

/*
 * Writes family f: its metadata, then series after series, either exactly
 * nseries of them (nseries > 0) or as many as fit in budget bytes (at
 * least one). Returns the number of series written.
 */
static uint32_t write_family(const family *f, const options *o, uint64_t budget,
                             uint32_t nseries)
{
    uint64_t start = out_total;
    uint32_t idx = 0;

    write_meta(f, o);
    do {
        switch (f->t->kind) {
        case M_HISTOGRAM: write_histogram(f, o, idx); break;
        case M_SUMMARY: write_summary(f, o, idx); break;
        default: write_simple(f, o, idx); break;
        }
        idx++;
    } while (nseries ? idx < nseries
                     : out_total - start < budget && idx != UINT32_MAX);
    return idx;
}

/*
 * Writes the whole exposition: nfam families of budget bytes each. counts
 * holds nfam series counts: with use_counts they are obeyed, otherwise
 * they are filled in. The random streams must be freshly seeded.
 */
static void write_all(const options *o, size_t nfam, uint64_t budget,
                      uint32_t *counts, int use_counts)
{
    family f;
    size_t i;

    for (i = 0; i < nfam; i++) {
        family_init(&f, &tmpls[i % NTMPLS], resources[i / NTMPLS]);
        counts[i] = write_family(&f, o, budget, use_counts ? counts[i] : 0);
    }
    if (o->openmetrics)
        out_str("# EOF\n");
}

/* MARK: main */

/* Parses a size: digits with an optional k, M or G suffix. Returns 0 and
 * sets *out, or -1 on a malformed or overflowing value. */
static int parse_size(const char *s, uint64_t *out)
{
    uint64_t v = 0, mul = 1;
    const char *p = s;

    if (*p < '0' || *p > '9')
        return -1;
    for (; *p >= '0' && *p <= '9'; p++) {
        if (v > (UINT64_MAX - 9) / 10)
            return -1;
        v = v * 10 + (uint64_t)(*p - '0');
    }
    if (*p == 'k' || *p == 'K')
        mul = 1000;
    else if (*p == 'M')
        mul = 1000000;
    else if (*p == 'G')
        mul = 1000000000;
    if (mul != 1)
        p++;
    if (*p != '\0' || v > UINT64_MAX / mul)
        return -1;
    *out = v * mul;
    return 0;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: prex-gen [--openmetrics] [--size BYTES[k|M|G]] "
               "[--timestamps] [--seed N] > file\n"
               "Writes a deterministic kube-state-metrics-like exposition of "
               "about BYTES bytes\n(default 50M) in text format 0.0.4, or "
               "OpenMetrics 1.0 with --openmetrics.\n");
}

int main(int argc, char **argv)
{
    options o = {0, 0, DEFAULT_SIZE}, text;
    uint64_t seed = DEFAULT_SEED, budget;
    uint32_t counts[NTMPLS * NRESOURCES];
    size_t nfam;
    int a;

    for (a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--openmetrics") == 0) {
            o.openmetrics = 1;
        } else if (strcmp(argv[a], "--timestamps") == 0) {
            o.timestamps = 1;
        } else if (strcmp(argv[a], "--size") == 0 && a + 1 < argc) {
            if (parse_size(argv[++a], &o.size) != 0) {
                fprintf(stderr, "prex-gen: bad size '%s'\n", argv[a]);
                return 2;
            }
        } else if (strcmp(argv[a], "--seed") == 0 && a + 1 < argc) {
            if (parse_size(argv[++a], &seed) != 0 || seed == 0) {
                fprintf(stderr, "prex-gen: bad seed '%s' (a positive integer)\n",
                        argv[a]);
                return 2;
            }
        } else if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            usage(stderr);
            return 2;
        }
    }

    /* Every template on every resource, but no more families than the size
     * allows for a few series each. */
    nfam = NTMPLS * NRESOURCES;
    if (o.size / 2000 < nfam)
        nfam = o.size / 2000 ? (size_t)(o.size / 2000) : 1;
    budget = o.size / nfam;

    /* The OpenMetrics twin has the text output's series: a dry text pass
     * sizes the families, then the real pass writes the same series. */
    if (o.openmetrics) {
        text = o;
        text.openmetrics = 0;
        out_dry = 1;
        rng_state = seed;
        write_all(&text, nfam, budget, counts, 0);
        out_dry = 0;
        out_total = 0;
    }
    rng_state = seed;
    om_state = seed ^ 0x5851f42d4c957f2dull;
    write_all(&o, nfam, budget, counts, o.openmetrics);
    out_flush();
    if (fflush(stdout) != 0) {
        fprintf(stderr, "prex-gen: write error: %s\n", strerror(errno));
        return 1;
    }
    return 0;
}
