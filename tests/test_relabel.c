/*
 * test_relabel.c - the relabel engine's suite: the 34 relabel_test.go
 * vectors and the spec file's extra vectors, Go's $-expansion table,
 * hashmod check values, the Go regex dialect, load-time errors with their
 * positions, the label-set contract (sorting, empty values, growth, no
 * allocation when nothing changes) and the arena.
 *
 * Every rule set here is loaded from YAML text, so the loader's defaults
 * and "omitted versus empty" handling are under test in every case.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <CUnit/CUnit.h>

#include "relabel.h"
#include "testlib.h"

/* MARK: label sets as text */

/* A label set read from Prometheus-style text, e.g.
 * {a="foo", "utf-8.label"="line1\nline2"}; the bytes live in the set. */
typedef struct tset {
    prex_pair pairs[96];
    size_t n;
    char bytes[8192];
    size_t used;
} tset;

/* Reads a quoted string at *p (after the opening quote) into ts->bytes,
 * decoding \n, \\ and \". Returns the slice, or a NULL ptr on error. */
static prex_slice read_quoted(const char **p, tset *ts)
{
    prex_slice s = { ts->bytes + ts->used, 0 };
    const char *q = *p;

    while (*q && *q != '"') {
        char c = *q++;
        if (c == '\\') {
            c = *q++;
            if (c == 'n')
                c = '\n';
            else if (c != '\\' && c != '"')
                return (prex_slice){ NULL, 0 };
        }
        if (ts->used >= sizeof ts->bytes)
            return (prex_slice){ NULL, 0 };
        ts->bytes[ts->used++] = c;
        s.len++;
    }
    if (*q != '"')
        return (prex_slice){ NULL, 0 };
    *p = q + 1;
    return s;
}

/* Parses text into ts. Returns 0, or -1 when the text is malformed. */
static int parse_set(const char *text, tset *ts)
{
    const char *p = text;
    prex_slice name, value;

    ts->n = 0;
    ts->used = 0;
    if (*p++ != '{')
        return -1;
    for (;;) {
        while (*p == ' ' || *p == ',')
            p++;
        if (*p == '}')
            return p[1] == '\0' ? 0 : -1;
        if (*p == '"') {
            p++;
            name = read_quoted(&p, ts);
        } else {
            name.ptr = p;
            while (*p && *p != '=')
                p++;
            name.len = (size_t)(p - name.ptr);
        }
        if (!name.ptr || *p++ != '=' || *p++ != '"')
            return -1;
        value = read_quoted(&p, ts);
        if (!value.ptr || ts->n == sizeof ts->pairs / sizeof *ts->pairs)
            return -1;
        ts->pairs[ts->n].name = name;
        ts->pairs[ts->n].value = value;
        ts->n++;
    }
}

static void put_escaped(prex_test_str *out, prex_slice s)
{
    size_t i;

    for (i = 0; i < s.len; i++) {
        if (s.ptr[i] == '\n')
            prex_test_str_puts(out, "\\n");
        else if (s.ptr[i] == '\\' || s.ptr[i] == '"') {
            prex_test_str_putc(out, '\\');
            prex_test_str_putc(out, s.ptr[i]);
        } else {
            prex_test_str_putc(out, s.ptr[i]);
        }
    }
}

static int cmp_pair(const void *a, const void *b)
{
    const prex_pair *x = a, *y = b;
    size_t m = x->name.len < y->name.len ? x->name.len : y->name.len;
    int c = m ? memcmp(x->name.ptr, y->name.ptr, m) : 0;

    if (c)
        return c;
    return x->name.len < y->name.len ? -1 : x->name.len > y->name.len;
}

/* Appends the set in the text form above, in the given order. */
static void render(prex_test_str *out, const prex_pair *p, size_t n)
{
    size_t i;

    prex_test_str_putc(out, '{');
    for (i = 0; i < n; i++) {
        if (i)
            prex_test_str_puts(out, ", ");
        if (prex_is_legacy_label_name(p[i].name)) {
            prex_test_str_append(out, p[i].name.ptr, p[i].name.len);
        } else {
            prex_test_str_putc(out, '"');
            put_escaped(out, p[i].name);
            prex_test_str_putc(out, '"');
        }
        prex_test_str_puts(out, "=\"");
        put_escaped(out, p[i].value);
        prex_test_str_putc(out, '"');
    }
    prex_test_str_putc(out, '}');
}

/* MARK: running rules */

/*
 * Loads yaml (named what) with flags and applies it to the label set
 * in[0..n) (copied; the copy has room for 8 more labels). Appends the
 * outcome to got: "dropped", "error: TEXT", "load error: TEXT", or the
 * resulting set rendered in output order.
 */
static void run_pairs(const char *what, const char *yaml, unsigned flags,
                      const prex_pair *in, size_t n, prex_test_str *got)
{
    prex_relabel_rules *rs;
    prex_relabel_error err;
    prex_relabel_state st;
    prex_arena arena;
    prex_pair pairs[104];
    prex_labelset ls;
    int rc;

    if (prex_relabel_load(&rs, what, yaml, strlen(yaml), flags, NULL, &err) != 0) {
        prex_test_str_printf(got, "load error: %s", err.text);
        return;
    }
    memcpy(pairs, in, n * sizeof *pairs);
    ls.pairs = pairs;
    ls.n = n;
    ls.cap = n + 8;
    prex_arena_init(&arena, NULL, 0);
    prex_relabel_state_init(&st, rs, &arena);
    rc = prex_relabel_apply(&st, &ls);
    if (rc == PREX_RELABEL_DROP)
        prex_test_str_puts(got, "dropped");
    else if (rc == PREX_RELABEL_ERROR)
        prex_test_str_printf(got, "error: %s", prex_relabel_state_error(&st)->text);
    else
        render(got, ls.pairs, ls.n);
    prex_relabel_state_free(&st);
    prex_arena_free(&arena);
    prex_relabel_free(rs);
}

/*
 * Runs yaml on the label set written as text input and compares the
 * outcome with expected: a label set (in any order), or the exact text
 * run_pairs() gives for the other outcomes ("dropped", "error: ...",
 * "load error: ...").
 * Records a failure naming what at file:line. Returns nonzero if equal.
 */
static int check_run(const char *file, unsigned line, const char *what, const char *yaml,
                     unsigned flags, const char *input, const char *expected)
{
    static tset in, want;
    prex_test_str got = { 0 }, exp = { 0 };
    int ok;

    if (parse_set(input, &in) != 0)
        return prex_test_fail(file, line, "%s: bad input text %s", what, input);
    run_pairs(what, yaml, flags, in.pairs, in.n, &got);
    if (expected[0] != '{') {
        prex_test_str_puts(&exp, expected);
    } else {
        if (parse_set(expected, &want) != 0) {
            prex_test_str_free(&got);
            return prex_test_fail(file, line, "%s: bad expected text %s", what, expected);
        }
        qsort(want.pairs, want.n, sizeof *want.pairs, cmp_pair);
        render(&exp, want.pairs, want.n);
    }
    ok = got.len == exp.len && memcmp(got.ptr, exp.ptr, got.len) == 0;
    if (ok)
        prex_test_pass(file, line);
    else
        prex_test_fail(file, line, "%s: got %s, want %s", what, got.ptr, exp.ptr);
    prex_test_str_free(&got);
    prex_test_str_free(&exp);
    return ok;
}

#define CHECK_RUN(what, yaml, flags, input, expected)                          \
    check_run(__FILE__, __LINE__, (what), (yaml), (flags), (input), (expected))

/* MARK: the 34 relabel_test.go vectors */

/* Transcribed from relabel-cases.md (Prometheus 3.x semantics: UTF-8
 * names, dot-all regexes). Inputs and expectations in the text form. */
static const struct {
    const char *name;
    const char *input;
    const char *yaml;
    const char *expected;
} upstream_cases[] = {
    {
        "case 1",
        "{a=\"foo\", b=\"bar\", c=\"baz\"}",
        "- source_labels: [a]\n"
        "  separator: ';'\n"
        "  regex: 'f(.*)'\n"
        "  target_label: 'd'\n"
        "  replacement: 'ch${1}-ch${1}'\n"
        "  action: replace\n",
        "{a=\"foo\", b=\"bar\", c=\"baz\", d=\"choo-choo\"}",
    },
    {
        "case 2",
        "{a=\"foo\", b=\"bar\", c=\"baz\"}",
        "- source_labels: [a, b]\n"
        "  separator: ';'\n"
        "  regex: 'f(.*);(.*)r'\n"
        "  target_label: 'a'\n"
        "  replacement: 'b${1}${2}m'\n"
        "  action: replace\n"
        "- source_labels: [c, a]\n"
        "  separator: ';'\n"
        "  regex: '(b).*b(.*)ba(.*)'\n"
        "  target_label: 'd'\n"
        "  replacement: '$1$2$2$3'\n"
        "  action: replace\n",
        "{a=\"boobam\", b=\"bar\", c=\"baz\", d=\"boooom\"}",
    },
    {
        "case 3",
        "{a=\"foo\"}",
        "- source_labels: [a]\n"
        "  regex: '.*o.*'\n"
        "  action: drop\n"
        "- source_labels: [a]\n"
        "  separator: ';'\n"
        "  regex: 'f(.*)'\n"
        "  target_label: 'd'\n"
        "  replacement: 'ch$1-ch$1'\n"
        "  action: replace\n",
        "dropped",
    },
    {
        "case 4",
        "{a=\"foo\", b=\"bar\"}",
        "- source_labels: [a]\n"
        "  regex: '.*o.*'\n"
        "  action: drop\n",
        "dropped",
    },
    {
        "case 5",
        "{a=\"abc\"}",
        "- source_labels: [a]\n"
        "  separator: ';'\n"
        "  regex: '.*(b).*'\n"
        "  target_label: 'd'\n"
        "  replacement: '$1'\n"
        "  action: replace\n",
        "{a=\"abc\", d=\"b\"}",
    },
    {
        "case 6",
        "{a=\"foo\"}",
        "- source_labels: [a]\n"
        "  regex: 'no-match'\n"
        "  action: drop\n",
        "{a=\"foo\"}",
    },
    {
        "case 7",
        "{a=\"foo\"}",
        "- source_labels: [a]\n"
        "  regex: 'f|o'\n"
        "  action: drop\n",
        "{a=\"foo\"}",
    },
    {
        "case 8",
        "{a=\"foo\"}",
        "- source_labels: [a]\n"
        "  regex: 'no-match'\n"
        "  action: keep\n",
        "dropped",
    },
    {
        "case 9",
        "{a=\"foo\"}",
        "- source_labels: [a]\n"
        "  regex: 'f.*'\n"
        "  action: keep\n",
        "{a=\"foo\"}",
    },
    {
        "case 10",
        "{a=\"boo\"}",
        "- source_labels: [a]\n"
        "  regex: 'f'\n"
        "  target_label: 'b'\n"
        "  replacement: 'bar'\n"
        "  action: replace\n",
        "{a=\"boo\"}",
    },
    {
        "case 11",
        "{a=\"foo\", f=\"baz\"}",
        "- source_labels: [a]\n"
        "  regex: '(f).*'\n"
        "  target_label: '$1'\n"
        "  replacement: '$2'\n"
        "  action: replace\n",
        "{a=\"foo\"}",
    },
    {
        "case 12",
        "{a=\"foo\", b=\"bar\", c=\"baz\"}",
        "- source_labels: [c]\n"
        "  separator: ';'\n"
        "  modulus: 1000\n"
        "  target_label: 'd'\n"
        "  action: hashmod\n",
        "{a=\"foo\", b=\"bar\", c=\"baz\", d=\"976\"}",
    },
    {
        "case 13",
        "{a=\"foo\\nbar\"}",
        "- source_labels: [a]\n"
        "  separator: ';'\n"
        "  modulus: 1000\n"
        "  target_label: 'b'\n"
        "  action: hashmod\n",
        "{a=\"foo\\nbar\", b=\"734\"}",
    },
    {
        "case 14",
        "{a=\"foo\", b1=\"bar\", b2=\"baz\"}",
        "- regex: '(b.*)'\n"
        "  replacement: 'bar_${1}'\n"
        "  action: labelmap\n",
        "{a=\"foo\", b1=\"bar\", b2=\"baz\", bar_b1=\"bar\", bar_b2=\"baz\"}",
    },
    {
        "case 15",
        "{__meta_my_bar=\"aaa\", __meta_my_baz=\"bbb\", __meta_other=\"ccc\", a=\"foo\"}",
        "- regex: '__meta_(my.*)'\n"
        "  replacement: '${1}'\n"
        "  action: labelmap\n",
        "{__meta_my_bar=\"aaa\", __meta_my_baz=\"bbb\", __meta_other=\"ccc\", a=\"foo\", my_bar=\"aaa\", my_baz=\"bbb\"}",
    },
    {
        "case 16",
        "{a=\"some-name-value\"}",
        "- source_labels: [a]\n"
        "  regex: 'some-([^-]+)-([^,]+)'\n"
        "  target_label: '${1}'\n"
        "  replacement: '${2}'\n"
        "  action: replace\n",
        "{a=\"some-name-value\", name=\"value\"}",
    },
    {
        "case 17",
        "{a=\"some-name-value\"}",
        "- source_labels: [a]\n"
        "  regex: 'some-([^-]+)-([^,]+)'\n"
        "  target_label: '${1}'\n"
        "  replacement: '${3}'\n"
        "  action: replace\n",
        "{a=\"some-name-value\"}",
    },
    {
        "case 18",
        "{a=\"some-name-0\"}",
        "- source_labels: [a]\n"
        "  regex: 'some-([^-]+)-([^,]+)'\n"
        "  target_label: '${3}'\n"
        "  replacement: '${1}'\n"
        "  action: replace\n"
        "- source_labels: [a]\n"
        "  regex: 'some-([^-]+)-([^,]+)'\n"
        "  target_label: '${3}'\n"
        "  replacement: '${1}'\n"
        "  action: replace\n"
        "- source_labels: [a]\n"
        "  regex: 'some-([^-]+)(-[^,]+)'\n"
        "  target_label: '${3}'\n"
        "  replacement: '${1}'\n"
        "  action: replace\n",
        "{a=\"some-name-0\"}",
    },
    {
        "case 19",
        "{__meta_sd_tags=\"path:/secret,job:some-job,label:foo=bar\"}",
        "- source_labels: [__meta_sd_tags]\n"
        "  regex: '(?:.+,|^)path:(/[^,]+).*'\n"
        "  target_label: '__metrics_path__'\n"
        "  replacement: '${1}'\n"
        "  action: replace\n"
        "- source_labels: [__meta_sd_tags]\n"
        "  regex: '(?:.+,|^)job:([^,]+).*'\n"
        "  target_label: 'job'\n"
        "  replacement: '${1}'\n"
        "  action: replace\n"
        "- source_labels: [__meta_sd_tags]\n"
        "  regex: '(?:.+,|^)label:([^=]+)=([^,]+).*'\n"
        "  target_label: '${1}'\n"
        "  replacement: '${2}'\n"
        "  action: replace\n",
        "{__meta_sd_tags=\"path:/secret,job:some-job,label:foo=bar\", __metrics_path__=\"/secret\", foo=\"bar\", job=\"some-job\"}",
    },
    {
        "case 20",
        "{__meta_kubernetes_pod_annotation_XXX_metrics_port=\"9091\", __meta_kubernetes_pod_container_port_name=\"foo\"}",
        "- regex: '^__meta_kubernetes_pod_container_port_name$'\n"
        "  action: labeldrop\n"
        "- source_labels: [__meta_kubernetes_pod_annotation_XXX_metrics_port]\n"
        "  regex: '(.+)'\n"
        "  target_label: '__meta_kubernetes_pod_container_port_name'\n"
        "  replacement: 'metrics'\n"
        "  action: replace\n"
        "- source_labels: [__meta_kubernetes_pod_container_port_name]\n"
        "  regex: '^metrics$'\n"
        "  action: keep\n",
        "{__meta_kubernetes_pod_annotation_XXX_metrics_port=\"9091\", __meta_kubernetes_pod_container_port_name=\"metrics\"}",
    },
    {
        "case 21",
        "{a=\"foo\", b1=\"bar\", b2=\"baz\"}",
        "- regex: '(b.*)'\n"
        "  action: labelkeep\n",
        "{b1=\"bar\", b2=\"baz\"}",
    },
    {
        "case 22",
        "{a=\"foo\", b1=\"bar\", b2=\"baz\"}",
        "- regex: '(b.*)'\n"
        "  action: labeldrop\n",
        "{a=\"foo\"}",
    },
    {
        "case 23",
        "{foo=\"bAr123Foo\"}",
        "- source_labels: [foo]\n"
        "  target_label: 'foo_uppercase'\n"
        "  action: uppercase\n"
        "- source_labels: [foo]\n"
        "  target_label: 'foo_lowercase'\n"
        "  action: lowercase\n",
        "{foo=\"bAr123Foo\", foo_lowercase=\"bar123foo\", foo_uppercase=\"BAR123FOO\"}",
    },
    {
        "case 24",
        "{__port1=\"1234\", __port2=\"5678\", __tmp_port=\"1234\"}",
        "- source_labels: [__tmp_port]\n"
        "  target_label: '__port1'\n"
        "  action: keepequal\n",
        "{__port1=\"1234\", __port2=\"5678\", __tmp_port=\"1234\"}",
    },
    {
        "case 25",
        "{__port1=\"1234\", __port2=\"5678\", __tmp_port=\"1234\"}",
        "- source_labels: [__tmp_port]\n"
        "  target_label: '__port1'\n"
        "  action: dropequal\n",
        "dropped",
    },
    {
        "case 26",
        "{__port1=\"1234\", __port2=\"5678\", __tmp_port=\"1234\"}",
        "- source_labels: [__tmp_port]\n"
        "  target_label: '__port2'\n"
        "  action: dropequal\n",
        "{__port1=\"1234\", __port2=\"5678\", __tmp_port=\"1234\"}",
    },
    {
        "case 27",
        "{__port1=\"1234\", __port2=\"5678\", __tmp_port=\"1234\"}",
        "- source_labels: [__tmp_port]\n"
        "  target_label: '__port2'\n"
        "  action: keepequal\n",
        "dropped",
    },
    {
        "case 28",
        "{a=\"line1\\nline2\", b=\"bar\", c=\"baz\"}",
        "- source_labels: [a]\n"
        "  separator: ';'\n"
        "  regex: 'line1.*line2'\n"
        "  target_label: 'd'\n"
        "  replacement: 'match${1}'\n"
        "  action: replace\n",
        "{a=\"line1\\nline2\", b=\"bar\", c=\"baz\", d=\"match\"}",
    },
    {
        "case 29",
        "{b=\"bar\", c=\"baz\", \"utf-8.label\"=\"line1\\nline2\"}",
        "- source_labels: ['utf-8.label']\n"
        "  separator: ';'\n"
        "  regex: 'line1.*line2'\n"
        "  target_label: 'd'\n"
        "  replacement: 'match${1}'\n"
        "  action: replace\n",
        "{b=\"bar\", c=\"baz\", d=\"match\", \"utf-8.label\"=\"line1\\nline2\"}",
    },
    {
        "case 30",
        "{a=\"line1\\nline2\", b=\"bar\", c=\"baz\"}",
        "- source_labels: [a]\n"
        "  separator: ';'\n"
        "  regex: 'line1.*line2'\n"
        "  target_label: 'utf-8.label'\n"
        "  replacement: 'match${1}'\n"
        "  action: replace\n",
        "{a=\"line1\\nline2\", b=\"bar\", c=\"baz\", \"utf-8.label\"=\"match\"}",
    },
    {
        "case 31",
        "{a=\"line1\\nline2\", b=\"bar\", c=\"baz\"}",
        "- source_labels: [a]\n"
        "  separator: ';'\n"
        "  regex: 'line1.*line2'\n"
        "  target_label: 'utf-8.label${1}'\n"
        "  replacement: 'match${1}'\n"
        "  action: replace\n",
        "{a=\"line1\\nline2\", b=\"bar\", c=\"baz\", \"utf-8.label\"=\"match\"}",
    },
    {
        "case 32",
        "{a=\"line1\\nline2\", b=\"bar\", c=\"baz\"}",
        "- source_labels: [a]\n"
        "  separator: ';'\n"
        "  regex: '(line1).*(?<second>line2)'\n"
        "  target_label: 'label1_${1}'\n"
        "  replacement: 'val_${second}'\n"
        "  action: replace\n"
        "- source_labels: [a]\n"
        "  separator: ';'\n"
        "  regex: '(line1).*(?<second>line2)'\n"
        "  target_label: 'label2_$1'\n"
        "  replacement: 'val_$second'\n"
        "  action: replace\n",
        "{a=\"line1\\nline2\", b=\"bar\", c=\"baz\", label1_line1=\"val_line2\", label2_line1=\"val_line2\"}",
    },
    {
        "case 33",
        "{__name__=\"http_requests_total\"}",
        "- source_labels: [__name__]\n"
        "  regex: '.*_total$'\n"
        "  target_label: '__type__'\n"
        "  replacement: 'counter'\n"
        "  action: replace\n",
        "{__name__=\"http_requests_total\", __type__=\"counter\"}",
    },
    {
        "case 34",
        "{__name__=\"disk_usage_bytes\"}",
        "- source_labels: [__name__]\n"
        "  regex: '.*_bytes$'\n"
        "  target_label: '__unit__'\n"
        "  replacement: 'bytes'\n"
        "  action: replace\n",
        "{__name__=\"disk_usage_bytes\", __unit__=\"bytes\"}",
    },
};

/* All 34 vectors through the YAML path, with 3.x semantics. */
static void test_upstream_cases(void)
{
    size_t i;

    for (i = 0; i < sizeof upstream_cases / sizeof *upstream_cases; i++)
        CHECK_RUN(upstream_cases[i].name, upstream_cases[i].yaml, 0, upstream_cases[i].input,
                  upstream_cases[i].expected);
    PREX_CHECK(i == 34, "expected 34 upstream cases, have %zu", i);
}

/* MARK: the spec file, read at run time */

/* Copies the text between start and the next stop (exclusive) into a
 * malloc'd string, or returns NULL when either is missing. */
static char *between(const char *from, const char *start, const char *stop, const char *limit)
{
    const char *a = strstr(from, start), *b;
    char *s;

    if (!a || (limit && a >= limit))
        return NULL;
    a += strlen(start);
    b = strstr(a, stop);
    if (!b || (limit && b > limit))
        return NULL;
    s = malloc((size_t)(b - a) + 1);
    PREX_ASSERT_FATAL(s != NULL);
    memcpy(s, a, (size_t)(b - a));
    s[b - a] = '\0';
    return s;
}

/*
 * Runs every "### Case" and "### Benchmark" section of
 * spec/relabel-cases.md: its input, its YAML rules and its expected (or
 * derived) result. This keeps the transcribed table above honest and
 * adds the benchmark configurations as vectors.
 */
static void test_spec_file(void)
{
    char path[1024], *md, *sec, *next, *input, *yaml, *expected, *end;
    size_t len, cases = 0, benches = 0;
    char title[64];

    snprintf(path, sizeof path, "%s/spec/relabel-cases.md", prex_test_shared_dir());
    md = prex_test_read_file(path, &len);
    if (!PREX_CHECK(md != NULL, "cannot read %s (set PREX_SHARED)", path))
        return;
    for (sec = strstr(md, "\n### "); sec; sec = next) {
        sec += 5;
        next = strstr(sec, "\n### ");
        /* a section ends at the next heading of any level */
        end = strstr(sec, "\n## ");
        if (end && (!next || end < next))
            next = end;
        snprintf(title, sizeof title, "%.*s", (int)strcspn(sec, "\n"), sec);
        if (strncmp(title, "Case ", 5) != 0 && strncmp(title, "Benchmark ", 10) != 0)
            continue;
        input = between(sec, "* input: `", "`\n", next);
        yaml = between(sec, "```yaml\n", "```", next);
        expected = between(sec, "* expected: `", "`\n", next);
        if (!expected)
            expected = between(sec, "* derived result: `", "`\n", next);
        if (!expected) {
            const char *d = strstr(sec, "**dropped**");
            if (d && (!next || d < next)) {
                expected = malloc(8);
                PREX_ASSERT_FATAL(expected != NULL);
                strcpy(expected, "dropped");
            }
        }
        if (PREX_CHECK(input && yaml && expected, "%s: section not understood", title)) {
            CHECK_RUN(title, yaml, 0, input, expected);
            if (strncmp(title, "Case ", 5) == 0)
                cases++;
            else
                benches++;
        }
        free(input);
        free(yaml);
        free(expected);
    }
    PREX_CHECK(cases == 34, "spec file: %zu cases run, want 34", cases);
    PREX_CHECK(benches == 3, "spec file: %zu benchmark vectors run, want 3", benches);
    free(md);
}

/* MARK: extra vectors observed on Prometheus 2.42 */

static const char prom242_rules[] =
    "- source_labels: [__name__]\n"
    "  regex: rl_a|dup_m\n"
    "  action: keep\n"
    "- source_labels: [a]\n"
    "  regex: '(f)(o+)'\n"
    "  target_label: t1\n"
    "  replacement: '$1x'\n"
    "- source_labels: [a]\n"
    "  regex: '(f)(o+)'\n"
    "  target_label: t2\n"
    "  replacement: '${1}x'\n"
    "- source_labels: [nl]\n"
    "  regex: 'line1.*line2'\n"
    "  target_label: t3\n"
    "  replacement: matched\n"
    "- source_labels: [c]\n"
    "  action: hashmod\n"
    "  modulus: 1000\n"
    "  target_label: h\n"
    "- source_labels: [U]\n"
    "  action: lowercase\n"
    "  target_label: lc\n"
    "- source_labels: [tn]\n"
    "  target_label: '${1}'\n"
    "  replacement: x\n"
    "- regex: 'lm_(.*)'\n"
    "  action: labelmap\n"
    "  replacement: 'mapped_$1'\n"
    "- target_label: static\n"
    "  replacement: v\n"
    "- source_labels: [a]\n"
    "  regex: '(f)(o+)'\n"
    "  target_label: t4\n"
    "  replacement: '$$1-${2}-$9-$01'\n"
    "- source_labels: [a]\n"
    "  target_label: __tmp_keep\n"
    "  replacement: tmpval\n";

static const char prom242_input[] =
    "{__name__=\"rl_a\", a=\"foo\", c=\"baz\", nl=\"line1\\nline2\", U=\"MiXeD\", "
    "tn=\"bad-name\", lm_x=\"1\", lm_y=\"2\", instance=\"pushed-i\"}";

/* The rules of the Prometheus 2.42 experiment, with 2.x semantics (no
 * dot-all, legacy names) and then with 3.x semantics. */
static void test_prom242_vectors(void)
{
    CHECK_RUN("2.42 rules, 2.x semantics", prom242_rules,
              PREX_RELABEL_NO_DOTALL | PREX_RELABEL_LEGACY_NAMES, prom242_input,
              "{U=\"MiXeD\", __name__=\"rl_a\", __tmp_keep=\"tmpval\", a=\"foo\", c=\"baz\", "
              "h=\"976\", instance=\"pushed-i\", lc=\"mixed\", lm_x=\"1\", lm_y=\"2\", "
              "mapped_x=\"1\", mapped_y=\"2\", nl=\"line1\\nline2\", static=\"v\", "
              "t2=\"fx\", t4=\"$1-oo--\", tn=\"bad-name\"}");
    CHECK_RUN("2.42 rules, 3.x semantics", prom242_rules, 0, prom242_input,
              "{U=\"MiXeD\", __name__=\"rl_a\", __tmp_keep=\"tmpval\", a=\"foo\", "
              "\"bad-name\"=\"x\", c=\"baz\", h=\"976\", instance=\"pushed-i\", lc=\"mixed\", "
              "lm_x=\"1\", lm_y=\"2\", mapped_x=\"1\", mapped_y=\"2\", nl=\"line1\\nline2\", "
              "static=\"v\", t2=\"fx\", t3=\"matched\", t4=\"$1-oo--\", tn=\"bad-name\"}");
    CHECK_RUN("2.42 rules, series without a and c", prom242_rules,
              PREX_RELABEL_NO_DOTALL | PREX_RELABEL_LEGACY_NAMES, "{__name__=\"dup_m\"}",
              "{__name__=\"dup_m\", __tmp_keep=\"tmpval\", h=\"958\", static=\"v\"}");
    CHECK_RUN("2.42 labeldrop of __name__", "- {regex: __name__, action: labeldrop}\n", 0,
              "{__name__=\"up\", job=\"x\"}", "{job=\"x\"}");
}

/* MARK: $-expansion */

/* Go's regexp.Expand rules (relabel.md section 4), regex (f)(o+) on
 * "foo"; an empty expectation means the target label is absent. */
static void test_expand_table(void)
{
    static const struct {
        const char *tmpl, *want;
    } tab[] = {
        { "$1x", "" },
        { "${1}x", "fx" },
        { "$1.$2", "f.oo" },
        { "$1\xc3\xa9", "" },
        { "$$1", "$1" },
        { "$9", "" },
        { "$01", "" },
        { "$0", "foo" },
        { "${0}", "foo" },
        { "a$-b", "a$-b" },
        { "${1", "${1" },
        { "$", "$" },
        { "$$1-${2}-$9-$01", "$1-oo--" },
        { "${}", "${}" },
        { "$1$", "f$" },
        { "$1$2$2", "foooo" },
        { "x$$$1", "x$f" },
        { "$\xc3\xa9", "" },
        { "${2}${1}", "oof" },
        { "$2_", "" },
        { "${2}_", "oo_" },
        { "$000000001", "" },
        { "$1000000000", "" },
        { "plain", "plain" },
    };
    prex_test_str yaml = { 0 }, want = { 0 };
    size_t i;

    for (i = 0; i < sizeof tab / sizeof *tab; i++) {
        prex_test_str_clear(&yaml);
        prex_test_str_clear(&want);
        prex_test_str_printf(&yaml,
                             "- source_labels: [a]\n  regex: '(f)(o+)'\n  target_label: t\n"
                             "  replacement: '%s'\n",
                             tab[i].tmpl);
        if (tab[i].want[0])
            prex_test_str_printf(&want, "{a=\"foo\", t=\"%s\"}", tab[i].want);
        else
            prex_test_str_puts(&want, "{a=\"foo\"}");
        CHECK_RUN(tab[i].tmpl, yaml.ptr, 0, "{a=\"foo\"}", want.ptr);
    }

    /* named groups: $name, ${name}, longest-name rule, duplicates */
    CHECK_RUN("named", "- source_labels: [a]\n  regex: '(?P<first>f)(?<rest>o+)'\n"
                       "  target_label: t\n  replacement: '${rest}-$first-$firstx-$rest.'\n",
              0, "{a=\"foo\"}", "{a=\"foo\", t=\"oo-f--oo.\"}");
    CHECK_RUN("duplicate names: the first group that took part",
              "- source_labels: [a]\n  regex: '(?P<n>x)?(?P<n>f)(o+)'\n"
              "  target_label: t\n  replacement: '[$n]'\n",
              0, "{a=\"foo\"}", "{a=\"foo\", t=\"[f]\"}");
    CHECK_RUN("group that did not take part", "- source_labels: [a]\n  regex: '(x)?(foo)'\n"
                                              "  target_label: t\n  replacement: '<$1>$2'\n",
              0, "{a=\"foo\"}", "{a=\"foo\", t=\"<>foo\"}");
    /* target_label templates */
    CHECK_RUN("target template", "- source_labels: [a]\n  regex: '(f)(o+)'\n"
                                 "  target_label: 'x_${1}_$2'\n  replacement: '$0'\n",
              0, "{a=\"foo\"}", "{a=\"foo\", x_f_oo=\"foo\"}");
    CHECK_RUN("target expands to an invalid legacy name: skipped",
              "- source_labels: [a]\n  regex: '(.*)'\n  target_label: '${1}'\n"
              "  replacement: x\n",
              PREX_RELABEL_LEGACY_NAMES, "{a=\"bad-name\"}", "{a=\"bad-name\"}");
    CHECK_RUN("target expands to empty: skipped, even with UTF-8 names",
              "- source_labels: [a]\n  regex: '(.*)'\n  target_label: '$2'\n"
              "  replacement: x\n",
              0, "{a=\"v\"}", "{a=\"v\"}");
    prex_test_str_free(&yaml);
    prex_test_str_free(&want);
}

/* MARK: hashmod */

static void test_hashmod_values(void)
{
    static const char *rule = "- source_labels: [a]\n  action: hashmod\n"
                              "  target_label: h\n  modulus: %s\n";
    prex_test_str yaml = { 0 };

    prex_test_str_printf(&yaml, rule, "1000");
    CHECK_RUN("md5(baz) % 1000", yaml.ptr, 0, "{a=\"baz\"}", "{a=\"baz\", h=\"976\"}");
    CHECK_RUN("md5(foo\\nbar) % 1000", yaml.ptr, 0, "{a=\"foo\\nbar\"}",
              "{a=\"foo\\nbar\", h=\"734\"}");
    CHECK_RUN("md5() % 1000", yaml.ptr, 0, "{b=\"x\"}", "{b=\"x\", h=\"958\"}");
    prex_test_str_clear(&yaml);
    prex_test_str_printf(&yaml, rule, "3");
    CHECK_RUN("md5(address) % 3", yaml.ptr, 0, "{a=\"10.132.183.40:80\"}",
              "{a=\"10.132.183.40:80\", h=\"1\"}");
    /* the largest modulus shows the whole big-endian integer of the
     * digest's last 8 bytes (0xe44cf984c85f6e88 for "baz") */
    prex_test_str_clear(&yaml);
    prex_test_str_printf(&yaml, rule, "18446744073709551615");
    CHECK_RUN("md5(baz) last 8 bytes", yaml.ptr, 0, "{a=\"baz\"}",
              "{a=\"baz\", h=\"16450797887570275976\"}");
    CHECK_RUN("md5() last 8 bytes", yaml.ptr, 0, "{b=\"x\"}",
              "{b=\"x\", h=\"16825458760271544958\"}");
    prex_test_str_clear(&yaml);
    prex_test_str_printf(&yaml, rule, "0x3e8");
    CHECK_RUN("hex modulus", yaml.ptr, 0, "{a=\"baz\"}", "{a=\"baz\", h=\"976\"}");
    /* the joined value is hashed: "foo" + "\n" + "bar" */
    CHECK_RUN("joined with a separator",
              "- source_labels: [a, b]\n  separator: \"\\n\"\n  action: hashmod\n"
              "  target_label: h\n  modulus: 1_000\n",
              0, "{a=\"foo\", b=\"bar\"}", "{a=\"foo\", b=\"bar\", h=\"734\"}");
    prex_test_str_free(&yaml);
}

/* MARK: fields, defaults, omitted versus empty */

/* Loads yaml and returns the rule set, recording a failure (and
 * returning NULL) when it does not load. */
static prex_relabel_rules *load_ok(const char *file, unsigned line, const char *yaml,
                                   unsigned flags)
{
    prex_relabel_rules *rs;
    prex_relabel_error err;

    if (prex_relabel_load(&rs, "rules.yml", yaml, strlen(yaml), flags, NULL, &err) != 0) {
        prex_test_fail(file, line, "load failed: %s", err.text);
        return NULL;
    }
    prex_test_pass(file, line);
    return rs;
}

#define LOAD_OK(yaml, flags) load_ok(__FILE__, __LINE__, (yaml), (flags))

static int slice_is(prex_slice s, const char *z)
{
    return s.len == strlen(z) && (s.len == 0 || memcmp(s.ptr, z, s.len) == 0);
}

/* Checks one rule's fields against expectations. */
static void check_info(const char *file, unsigned line, const prex_relabel_rules *rs,
                       size_t i, prex_relabel_action action, const char *sep,
                       const char *regex, int regex_set, const char *target,
                       const char *repl, uint64_t modulus, size_t nsource)
{
    prex_relabel_rule_info ri;

    if (prex_relabel_rule(rs, i, &ri) != 0) {
        prex_test_fail(file, line, "no rule %zu", i);
        return;
    }
    if (ri.action != action || !slice_is(ri.separator, sep) || !slice_is(ri.regex, regex) ||
        ri.regex_set != regex_set || !slice_is(ri.target, target) ||
        !slice_is(ri.replacement, repl) || ri.modulus != modulus || ri.nsource != nsource)
        prex_test_fail(file, line,
                       "rule %zu: got action=%s sep=%.*s regex=%.*s(set %d) target=%.*s "
                       "repl=%.*s mod=%llu nsource=%zu",
                       i, prex_relabel_action_name(ri.action), (int)ri.separator.len,
                       ri.separator.ptr, (int)ri.regex.len, ri.regex.ptr, ri.regex_set,
                       (int)ri.target.len, ri.target.ptr, (int)ri.replacement.len,
                       ri.replacement.ptr, (unsigned long long)ri.modulus, ri.nsource);
    else
        prex_test_pass(file, line);
}

#define CHECK_INFO(rs, i, act, sep, re, set, tgt, repl, mod, nsrc)                   \
    check_info(__FILE__, __LINE__, (rs), (i), PREX_RELABEL_ACT_##act, (sep), (re), (set), \
               (tgt), (repl), (mod), (nsrc))

/* Defaults, explicit empty values and YAML null, read back from the
 * compiled rules. */
static void test_defaults(void)
{
    prex_relabel_rules *rs;
    prex_relabel_rule_info ri;

    rs = LOAD_OK("- target_label: x\n"
                 "- target_label: x\n  separator: ''\n  regex: ''\n  replacement: \"\"\n"
                 "- target_label: x\n  separator:\n  regex:\n  replacement:\n"
                 "- target_label: x\n  regex: ~\n  separator: null\n  replacement: 'null'\n"
                 "- {action: LabelMap, regex: 'a(.*)'}\n"
                 "- {action: KEEP, source_labels: [a, b]}\n"
                 "- {action: hashmod, source_labels: [a], target_label: h, modulus: 010}\n"
                 "- target_label: x\n  regex: 12\n  replacement: true\n",
                 0);
    if (!rs)
        return;
    PREX_CHECK(prex_relabel_count(rs) == 8, "count %zu", prex_relabel_count(rs));
    CHECK_INFO(rs, 0, REPLACE, ";", "(.*)", 0, "x", "$1", 0, 0);
    CHECK_INFO(rs, 1, REPLACE, "", "", 1, "x", "", 0, 0);
    CHECK_INFO(rs, 2, REPLACE, "", "", 1, "x", "", 0, 0);
    CHECK_INFO(rs, 3, REPLACE, "", "", 1, "x", "null", 0, 0);
    CHECK_INFO(rs, 4, LABELMAP, ";", "a(.*)", 1, "", "$1", 0, 0);
    CHECK_INFO(rs, 5, KEEP, ";", "(.*)", 0, "", "$1", 0, 2);
    CHECK_INFO(rs, 6, HASHMOD, ";", "(.*)", 0, "h", "$1", 8, 1);
    CHECK_INFO(rs, 7, REPLACE, ";", "12", 1, "x", "true", 0, 0);
    if (prex_relabel_rule(rs, 1, &ri) == 0)
        PREX_CHECK(ri.line == 2 && ri.column == 3, "rule 2 at %llu:%llu",
                   (unsigned long long)ri.line, (unsigned long long)ri.column);
    if (prex_relabel_rule(rs, 5, &ri) == 0)
        PREX_CHECK(ri.nsource == 2 && slice_is(ri.source[0], "a") && slice_is(ri.source[1], "b"),
                   "source labels of rule 6");
    PREX_CHECK(prex_relabel_rule(rs, 8, &ri) == -1, "rule 9 must not exist");
    prex_relabel_free(rs);

    /* Prometheus's TestConfig_UnmarshalThenMarshal inputs keep their
     * explicit values */
    rs = LOAD_OK("- source_labels: [namespace, k8s_app]\n  separator: \"\"\n  regex: \"\"\n"
                 "  target_label: target_cluster\n  replacement: \"\"\n  action: replace\n"
                 "- source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_port]\n"
                 "  separator: ;\n  target_label: __meta_kubernetes_pod_container_port_number\n"
                 "  replacement: $1\n  action: keepequal\n"
                 "- source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_port]\n"
                 "  separator: ;\n  regex: (.*)\n"
                 "  target_label: __meta_kubernetes_pod_container_port_number\n"
                 "  replacement: $1\n  action: replace\n",
                 0);
    if (!rs)
        return;
    CHECK_INFO(rs, 0, REPLACE, "", "", 1, "target_cluster", "", 0, 2);
    CHECK_INFO(rs, 1, KEEPEQUAL, ";", "(.*)", 0, "__meta_kubernetes_pod_container_port_number",
               "$1", 0, 1);
    CHECK_INFO(rs, 2, REPLACE, ";", "(.*)", 1, "__meta_kubernetes_pod_container_port_number",
               "$1", 0, 1);
    prex_relabel_free(rs);
}

/* What the explicit empty values do when rules run. */
static void test_omitted_vs_empty(void)
{
    CHECK_RUN("separator: \"\" joins without separator",
              "- {source_labels: [a, b], separator: '', regex: xy, action: keep}\n", 0,
              "{a=\"x\", b=\"y\"}", "{a=\"x\", b=\"y\"}");
    CHECK_RUN("default separator", "- {source_labels: [a, b], regex: 'x;y', action: keep}\n", 0,
              "{a=\"x\", b=\"y\"}", "{a=\"x\", b=\"y\"}");
    CHECK_RUN("missing source labels contribute \"\"",
              "- {source_labels: [a, m, b], regex: 'x;;y', action: keep}\n", 0,
              "{a=\"x\", b=\"y\"}", "{a=\"x\", b=\"y\"}");
    CHECK_RUN("regex: '' matches only the empty value",
              "- {source_labels: [a], regex: '', action: keep}\n", 0, "{a=\"x\"}", "dropped");
    CHECK_RUN("regex: '' on an absent label", "- {source_labels: [z], regex: '', action: keep}\n",
              0, "{a=\"x\"}", "{a=\"x\"}");
    CHECK_RUN("bare regex: is the empty regex",
              "- source_labels: [a]\n  regex:\n  action: drop\n", 0, "{a=\"x\"}", "{a=\"x\"}");
    CHECK_RUN("replacement: '' deletes the target",
              "- {source_labels: [a], target_label: t, replacement: ''}\n", 0,
              "{a=\"foo\", t=\"old\"}", "{a=\"foo\"}");
    CHECK_RUN("omitted replacement is $1",
              "- {source_labels: [a], target_label: t}\n", 0, "{a=\"foo\", t=\"old\"}",
              "{a=\"foo\", t=\"foo\"}");
    CHECK_RUN("static label (no source labels)",
              "- {target_label: env, replacement: prod}\n", 0, "{a=\"x\"}",
              "{a=\"x\", env=\"prod\"}");
    CHECK_RUN("no source labels: keep tests \"\"", "- {regex: '.+', action: keep}\n", 0,
              "{a=\"x\"}", "dropped");
    CHECK_RUN("keepequal against an absent target",
              "- {source_labels: [z], target_label: y, action: keepequal}\n", 0, "{a=\"x\"}",
              "{a=\"x\"}");
    CHECK_RUN("dropequal against an absent target",
              "- {source_labels: [z], target_label: y, action: dropequal}\n", 0, "{a=\"x\"}",
              "dropped");
    CHECK_RUN("lowercase to empty deletes the target",
              "- {source_labels: [z], target_label: a, action: lowercase}\n", 0, "{a=\"x\"}",
              "{}");
    CHECK_RUN("labelkeep drops __name__ unless kept",
              "- {regex: 'job', action: labelkeep}\n", 0, "{__name__=\"up\", job=\"x\"}",
              "{job=\"x\"}");
    CHECK_RUN("labelmap then labeldrop moves labels",
              "- {regex: 'tmp_(.*)', action: labelmap}\n- {regex: 'tmp_.*', action: labeldrop}\n",
              0, "{tmp_a=\"1\", tmp_b=\"2\", z=\"3\"}", "{a=\"1\", b=\"2\", z=\"3\"}");
    CHECK_RUN("empty rule list", "[]\n", 0, "{b=\"2\", a=\"1\"}", "{a=\"1\", b=\"2\"}");
}

/* MARK: load-time errors */

static const struct {
    const char *yaml;
    unsigned flags;
    int code;
    uint64_t line, column;
    const char *msg;
} load_errors[] = {
    /* TestRelabelValidate and the facts of Config.Validate */
    { "- action: ''\n", 0, PREX_RELABEL_E_CONFIG, 1, 11, "relabel action cannot be empty" },
    { "- action:\n", 0, PREX_RELABEL_E_CONFIG, 1, 10, "relabel action cannot be empty" },
    { "- action: replace\n", 0, PREX_RELABEL_E_CONFIG, 1, 3,
      "relabel configuration for replace action requires 'target_label' value" },
    { "- action: lowercase\n", 0, PREX_RELABEL_E_CONFIG, 1, 3,
      "relabel configuration for lowercase action requires 'target_label' value" },
    { "- {action: lowercase, replacement: $1, target_label: '${3}'}\n",
      PREX_RELABEL_LEGACY_NAMES, PREX_RELABEL_E_CONFIG, 1, 54,
      "\"${3}\" is invalid 'target_label' for lowercase action" },
    { "- source_labels: [a]\n  regex: 'some-([^-]+)-([^,]+)'\n  target_label: '0${3}'\n",
      PREX_RELABEL_LEGACY_NAMES, PREX_RELABEL_E_CONFIG, 3, 17,
      "\"0${3}\" is invalid 'target_label' for replace action" },
    { "- source_labels: [a]\n  target_label: '-${3}'\n", PREX_RELABEL_LEGACY_NAMES,
      PREX_RELABEL_E_CONFIG, 2, 17, "\"-${3}\" is invalid 'target_label' for replace action" },
    { "- {action: hashmod, target_label: h}\n", 0, PREX_RELABEL_E_CONFIG, 1, 3,
      "relabel configuration for hashmod requires non-zero modulus" },
    { "- {action: hashmod, target_label: h, modulus: 0}\n", 0, PREX_RELABEL_E_CONFIG, 1, 47,
      "relabel configuration for hashmod requires non-zero modulus" },
    { "- {action: hashmod, target_label: 'a.b', modulus: 2}\n", PREX_RELABEL_LEGACY_NAMES,
      PREX_RELABEL_E_CONFIG, 1, 35, "\"a.b\" is invalid 'target_label' for hashmod action" },
    { "- {action: uppercase, target_label: u, replacement: x}\n", 0, PREX_RELABEL_E_CONFIG, 1,
      53, "'replacement' can not be set for uppercase action" },
    { "- {action: keepequal, target_label: u, regex: '(.*)'}\n", 0, PREX_RELABEL_E_CONFIG, 1,
      47, "keepequal action requires only 'source_labels' and `target_label`, and no other fields" },
    { "- {action: dropequal, target_label: u, separator: ','}\n", 0, PREX_RELABEL_E_CONFIG, 1,
      51, "dropequal action requires only" },
    { "- {action: dropequal, target_label: u, modulus: 3}\n", 0, PREX_RELABEL_E_CONFIG, 1, 49,
      "dropequal action requires only" },
    { "- {action: labeldrop, regex: a, source_labels: []}\n", 0, PREX_RELABEL_E_CONFIG, 1, 33,
      "labeldrop action requires only 'regex', and no other fields" },
    { "- {action: labelkeep, regex: a, target_label: t}\n", 0, PREX_RELABEL_E_CONFIG, 1, 47,
      "labelkeep action requires only 'regex', and no other fields" },
    { "- {action: labelkeep, regex: a, replacement: x}\n", 0, PREX_RELABEL_E_CONFIG, 1, 46,
      "labelkeep action requires only 'regex'" },
    { "- {action: labelmap, regex: a, replacement: '-x'}\n", PREX_RELABEL_LEGACY_NAMES,
      PREX_RELABEL_E_CONFIG, 1, 45, "\"-x\" is invalid 'replacement' for labelmap action" },
    { "- {action: labelmap, regex: a, replacement: ''}\n", 0, PREX_RELABEL_E_CONFIG, 1, 45,
      "\"\" is invalid 'replacement' for labelmap action" },
    { "- action: Foo\n", 0, PREX_RELABEL_E_CONFIG, 1, 11, "unknown relabel action \"Foo\"" },
    /* names */
    { "- {source_labels: [ok, 'utf-8.label'], target_label: x}\n", PREX_RELABEL_LEGACY_NAMES,
      PREX_RELABEL_E_CONFIG, 1, 24, "\"utf-8.label\" is not a valid label name" },
    { "- {source_labels: [''], target_label: x}\n", 0, PREX_RELABEL_E_CONFIG, 1, 20,
      "\"\" is not a valid label name" },
    { "- {target_label: 'utf-8.label'}\n", PREX_RELABEL_LEGACY_NAMES, PREX_RELABEL_E_CONFIG,
      1, 18, "\"utf-8.label\" is invalid 'target_label' for replace action" },
    { "metric_name_validation_scheme: legacy\nmetric_relabel_configs:\n"
      "- {target_label: 'a-b'}\n",
      0, PREX_RELABEL_E_CONFIG, 3, 18, "\"a-b\" is invalid 'target_label'" },
    { "metric_name_validation_scheme: strict\nmetric_relabel_configs: []\n", 0,
      PREX_RELABEL_E_CONFIG, 1, 32, "unknown metric_name_validation_scheme \"strict\"" },
    /* structure and types */
    { "- foo: bar\n", 0, PREX_RELABEL_E_CONFIG, 1, 3, "unknown key \"foo\" in relabel rule" },
    { "- target_label: a\n  target_label: b\n", 0, PREX_RELABEL_E_CONFIG, 2, 3,
      "duplicate key \"target_label\" in relabel rule" },
    { "- source_labels: a\n", 0, PREX_RELABEL_E_CONFIG, 1, 18,
      "source_labels must be a list of label names, not a scalar" },
    { "- source_labels: [[a]]\n", 0, PREX_RELABEL_E_CONFIG, 1, 19,
      "source_labels must be a list of label names, not of list" },
    { "- regex: [a]\n", 0, PREX_RELABEL_E_CONFIG, 1, 10, "regex must be a string, not a list" },
    { "- {target_label: x, replacement: {a: b}}\n", 0, PREX_RELABEL_E_CONFIG, 1, 34,
      "replacement must be a string, not a mapping" },
    { "- {action: hashmod, target_label: h, modulus: '5'}\n", 0, PREX_RELABEL_E_CONFIG, 1, 47,
      "modulus must be an unsigned integer, not the string \"5\"" },
    { "- {action: hashmod, target_label: h, modulus: -5}\n", 0, PREX_RELABEL_E_CONFIG, 1, 47,
      "modulus \"-5\" must not be negative" },
    { "- {action: hashmod, target_label: h, modulus: 1.5}\n", 0, PREX_RELABEL_E_CONFIG, 1, 47,
      "modulus \"1.5\" is not an unsigned integer" },
    { "- {action: hashmod, target_label: h, modulus: 18446744073709551616}\n", 0,
      PREX_RELABEL_E_CONFIG, 1, 47, "does not fit in 64 bits" },
    { "-\n", 0, PREX_RELABEL_E_CONFIG, 1, 2, "empty or null relabel rule" },
    { "- [a]\n", 0, PREX_RELABEL_E_CONFIG, 1, 3, "a relabel rule must be a mapping" },
    { "- {<<: 5, target_label: x}\n", 0, PREX_RELABEL_E_CONFIG, 1, 8,
      "a << merge needs a mapping or a list of mappings" },
    { "just text\n", 0, PREX_RELABEL_E_CONFIG, 1, 1,
      "expected a list of relabel rules, or a scrape config mapping" },
    { "global: {}\nscrape_configs: []\n", 0, PREX_RELABEL_E_CONFIG, 1, 1,
      "belongs to a whole Prometheus configuration" },
    { "action: drop\nregex: x\n", 0, PREX_RELABEL_E_CONFIG, 1, 1,
      "this is a single relabel rule; write the rules as a list" },
    { "job_name: x\n", 0, PREX_RELABEL_E_CONFIG, 1, 1, "no metric_relabel_configs key" },
    { "job_name: x\nmetric_relabel_config: []\n", 0, PREX_RELABEL_E_CONFIG, 2, 1,
      "unknown key \"metric_relabel_config\"" },
    { "metric_relabel_configs: []\nmetric_relabel_configs: []\n", 0, PREX_RELABEL_E_CONFIG, 2,
      1, "duplicate key \"metric_relabel_configs\"" },
    { "metric_relabel_configs: {a: b}\n", 0, PREX_RELABEL_E_CONFIG, 1, 25,
      "metric_relabel_configs must be a list of relabel rules, not a mapping" },
    { "- {action: drop}\n---\n- {action: keep}\n", 0, PREX_RELABEL_E_CONFIG, 3, 1,
      "a second YAML document" },
    { "- [a\n", 0, PREX_RELABEL_E_YAML, 2, 1, "YAML: did not find expected ',' or ']'" },
    { "- a: b\n c: d\n", 0, PREX_RELABEL_E_YAML, 2, 2,
      "YAML: did not find expected '-' indicator" },
    /* regexes: what Go's RE2 refuses */
    { "- {source_labels: [a], regex: '(?=x)', action: keep}\n", 0, PREX_RELABEL_E_REGEX, 1, 31,
      "invalid regex \"(?=x)\": invalid or unsupported Perl syntax (lookahead is not "
      "supported): `(?=` (offset 0)" },
    { "- {source_labels: [a], regex: 'ab\\1', action: keep}\n", 0, PREX_RELABEL_E_REGEX, 1, 31,
      "invalid escape sequence (backreferences are not supported): `\\1` (offset 2)" },
};

/* Each error: code, position (1-based line and column of the node at
 * fault) and message. */
static void test_load_errors(void)
{
    prex_relabel_rules *rs;
    prex_relabel_error err;
    char want[600];
    size_t i;
    int rc;

    for (i = 0; i < sizeof load_errors / sizeof *load_errors; i++) {
        rc = prex_relabel_load(&rs, "rules.yml", load_errors[i].yaml,
                               strlen(load_errors[i].yaml), load_errors[i].flags, NULL, &err);
        if (!PREX_CHECK(rc != 0, "%s: loaded, want error %s", load_errors[i].yaml,
                        load_errors[i].msg)) {
            prex_relabel_free(rs);
            continue;
        }
        PREX_CHECK(rs == NULL, "%s: rule set returned with an error", load_errors[i].yaml);
        PREX_CHECK(rc == load_errors[i].code && err.code == rc, "%s: code %s, want %s (%s)",
                   load_errors[i].yaml, prex_relabel_errname(rc),
                   prex_relabel_errname(load_errors[i].code), err.text);
        PREX_CHECK(err.line == load_errors[i].line && err.column == load_errors[i].column,
                   "%s: at %llu:%llu, want %llu:%llu (%s)", load_errors[i].yaml,
                   (unsigned long long)err.line, (unsigned long long)err.column,
                   (unsigned long long)load_errors[i].line,
                   (unsigned long long)load_errors[i].column, err.text);
        PREX_CHECK(strstr(err.message, load_errors[i].msg) != NULL, "%s: message %s, want %s",
                   load_errors[i].yaml, err.message, load_errors[i].msg);
        snprintf(want, sizeof want, "rules.yml:%llu:%llu: error: ",
                 (unsigned long long)load_errors[i].line,
                 (unsigned long long)load_errors[i].column);
        PREX_CHECK(strncmp(err.text, want, strlen(want)) == 0 &&
                       strcmp(err.text + strlen(want), err.message) == 0,
                   "%s: text %s", load_errors[i].yaml, err.text);
    }

    rc = prex_relabel_load_file(&rs, "/nonexistent/rules.yml", 0, NULL, &err);
    PREX_CHECK(rc == PREX_RELABEL_E_IO && err.line == 0 &&
                   strcmp(err.text, "/nonexistent/rules.yml: error: cannot open: "
                                    "No such file or directory") == 0,
               "missing file: %s", err.text);
}

/* Configurations Prometheus accepts (TestRelabelValidate's OK rows). */
static void test_valid_configs(void)
{
    static const struct {
        const char *yaml;
        unsigned flags;
    } ok[] = {
        { "- {action: lowercase, replacement: $1, target_label: '${3}'}\n", 0 },
        { "- source_labels: [a]\n  regex: 'some-([^-]+)-([^,]+)'\n  replacement: '${1}'\n"
          "  target_label: '${3}'\n", 0 },
        { "- source_labels: [a]\n  regex: 'some-([^-]+)-([^,]+)'\n  target_label: '0${3}'\n", 0 },
        { "- source_labels: [a]\n  regex: 'some-([^-]+)-([^,]+)'\n  target_label: '-${3}'\n", 0 },
        { "- action: labelmap\n  regex: '__meta_kubernetes_pod_label_(strimzi_io_.+)'\n"
          "  replacement: $1\n", PREX_RELABEL_LEGACY_NAMES },
        { "- {action: labelmap, regex: '__meta_(.+)', replacement: '${1}'}\n",
          PREX_RELABEL_LEGACY_NAMES },
        { "- {action: labeldrop, regex: a, separator: ';', replacement: $1, modulus: 0}\n", 0 },
        { "- {action: labeldrop, regex: a, source_labels: ~}\n", 0 },
        { "- {action: keepequal, source_labels: [a], target_label: b, separator: ';'}\n", 0 },
        { "- {action: keep, target_label: ignored, replacement: ignored}\n", 0 },
        { "- {action: hashmod, target_label: h, modulus: 0x10, regex: '(ignored)'}\n", 0 },
        { "", 0 },
        { "# only a comment\n", 0 },
        { "metric_relabel_configs:\n", 0 },
        { "metric_name_validation_scheme: utf8\nmetric_relabel_configs:\n"
          "- {target_label: 'utf-8.label'}\n", PREX_RELABEL_LEGACY_NAMES },
    };
    prex_relabel_rules *rs;
    size_t i;

    for (i = 0; i < sizeof ok / sizeof *ok; i++) {
        rs = LOAD_OK(ok[i].yaml, ok[i].flags);
        prex_relabel_free(rs);
    }
}

/* TestTargetLabelLegacyValidity, through a replace target with legacy
 * names. */
static void test_legacy_template_names(void)
{
    static const struct {
        const char *s;
        int valid;
    } tab[] = {
        { "-label", 0 }, { "label", 1 }, { "label${1}", 1 }, { "${1}label", 1 },
        { "${1}", 1 }, { "${", 0 }, { "$", 0 }, { "${}", 0 }, { "foo${", 0 }, { "$1", 1 },
        { "asd$2asd", 1 }, { "-foo${1}bar-", 0 }, { "bar.foo${1}bar", 0 }, { "_${1}_", 1 },
        { "foo${bar}foo", 1 },
    };
    prex_relabel_rules *rs;
    prex_relabel_error err;
    prex_test_str yaml = { 0 };
    size_t i;
    int rc;

    for (i = 0; i < sizeof tab / sizeof *tab; i++) {
        prex_test_str_clear(&yaml);
        prex_test_str_printf(&yaml, "- {source_labels: [a], target_label: '%s'}\n", tab[i].s);
        rc = prex_relabel_load(&rs, "t.yml", yaml.ptr, yaml.len, PREX_RELABEL_LEGACY_NAMES, NULL,
                               &err);
        PREX_CHECK((rc == 0) == tab[i].valid, "%s: load %s (%s)", tab[i].s,
                   rc == 0 ? "succeeded" : "failed", rc ? err.text : "");
        prex_relabel_free(rs);
        /* with UTF-8 names any non-empty template is accepted */
        rc = prex_relabel_load(&rs, "t.yml", yaml.ptr, yaml.len, 0, NULL, &err);
        PREX_CHECK(rc == 0, "%s (utf8): %s", tab[i].s, err.text);
        prex_relabel_free(rs);
    }
    prex_test_str_free(&yaml);
}

/* MARK: the regex dialect */

/* Applies "keep if the regex matches" to a one-label set a=subject and
 * returns 1 (match), 0 (no match) or -1 (load or run error, recorded). */
static int re_match(const char *file, unsigned line, const char *regex, const char *subject,
                    size_t slen, unsigned flags)
{
    prex_test_str yaml = { 0 }, got = { 0 };
    prex_pair in;
    int r;

    prex_test_str_puts(&yaml, "- source_labels: [a]\n  action: keep\n  regex: \"");
    for (const char *p = regex; *p; p++) {
        if (*p == '\\' || *p == '"')
            prex_test_str_putc(&yaml, '\\');
        prex_test_str_putc(&yaml, *p);
    }
    prex_test_str_puts(&yaml, "\"\n");
    in.name.ptr = "a";
    in.name.len = 1;
    in.value.ptr = subject;
    in.value.len = slen;
    run_pairs(regex, yaml.ptr, flags, &in, slen ? 1 : 0, &got);
    if (strcmp(got.ptr, "dropped") == 0) {
        r = 0;
    } else if (got.ptr[0] == '{') {
        r = 1;
    } else {
        prex_test_fail(file, line, "regex %s: %s", regex, got.ptr);
        r = -1;
    }
    prex_test_str_free(&yaml);
    prex_test_str_free(&got);
    return r;
}

#define RE_MATCH(re, subj, flags) re_match(__FILE__, __LINE__, (re), (subj), sizeof(subj) - 1, (flags))

/* Go's meaning of constructs PCRE2 reads differently, anchoring,
 * dot-all, Unicode and case folding: regex, subject, match or not. */
static void test_regex_dialect(void)
{
    static const struct {
        const char *re;
        const char *subject;
        size_t len;
        int match;
    } tab[] = {
#define M(re, s, m) { re, s, sizeof(s) - 1, m }
        /* Go's \s is [\t\n\f\r ]: no \v */
        M("\\s", "\v", 0), M("\\s", "\t", 1), M("\\S", "\v", 1), M("[\\s]", "\v", 0),
        M("[^\\S]", "\v", 0), M("[^\\S]", " ", 1), M("[\\S]", "\v", 1), M("[\\S]", " ", 0),
        M("[[:space:]]", "\v", 1),
        /* \v is the vertical tab, not PCRE2's vertical-space class */
        M("\\v", "\v", 1), M("\\v", "\n", 0),
        /* octal and hex escapes */
        M("\\101", "A", 1), M("\\12", "\n", 1), M("\\0", "\0", 1), M("\\1234", "S4", 1),
        M("\\x41", "A", 1), M("\\x{1F600}", "\xf0\x9f\x98\x80", 1), M("[\\x41-\\x43]+", "ABC", 1),
        /* a '{' that is not a repeat is a literal */
        M("a{,2}", "a{,2}", 1), M("a{01}", "a{01}", 1), M("a{2}", "aa", 1), M("x{", "x{", 1),
        M("{", "{", 1), M("a{1,}", "aaaa", 1), M("a{0}", "", 1), M("a{2,3}?", "aaa", 1),
        /* \Q...\E, backslashes inside are literal */
        M("\\Q.*\\E", ".*", 1), M("\\Q.*\\E", "ab", 0), M("\\Qa\\b\\E", "a\\b", 1),
        /* classes */
        M("[[:alpha:]]+", "abc", 1), M("[[:^alpha:]]", "1", 1), M("[:alpha:]+", ":ap", 1),
        M("[:alpha:]", "x", 0), M("[[.a.]]", "a]", 1), M("[]a]+", "]a", 1),
        M("[^]a]", "b", 1), M("[a-]+", "a-", 1), M("[\\d-z]+", "1-z", 1),
        M("[^a]", "\n", 1),
        /* Unicode classes; Go's \p{C} has no unassigned code points */
        M("\\pL+", "h\xc3\xa9llo", 1), M("\\p{Greek}+", "\xce\xb1\xce\xb2", 1),
        M("\\PL", "1", 1), M("\\p{^L}", "1", 1), M("[\\p{Lu}]", "A", 1), M("\\p{Any}", "x", 1),
        M("\\p{C}", "\xcd\xb8", 0), M("\\P{C}", "\xcd\xb8", 1), M("[\\p{C}]", "\xcd\xb8", 0),
        M("[\\P{C}]", "\xcd\xb8", 1), M("\\p{C}", "\x01", 1),
        /* case folding is Unicode's simple folding, as in Go */
        M("(?i)k", "\xe2\x84\xaa", 1), M("(?i)\xc3\xa9", "\xc3\x89", 1),
        M("(?i)stra\xc3\x9f" "e", "STRASSE", 0),
        /* ASCII \w \d \b, UTF-8 '.' */
        M(".", "\xc3\xa9", 1), M("\\w", "\xc3\xa9", 0), M("\\d", "\xd9\xa3", 0),
        M("a\\b", "a", 1), M("\\w+", "a_1", 1),
        /* '$' is the very end; multi-line anchors */
        M("abc", "abc\n", 0), M("abc\\n", "abc\n", 1), M("(?m)a$\\n^b", "a\nb", 1),
        M("(?m)a\\n^", "a\n", 1), M("\\Aab\\z", "ab", 1),
        /* dot-all by default (Prometheus 3.x), flags can turn it off */
        M(".", "\n", 1), M("(?-s).", "\n", 0), M("(?s:.)", "\n", 1),
        /* full anchoring, and Prometheus's textual wrapper */
        M("f|o", "foo", 0), M("f.*|o", "foo", 1), M("a)|(b", "axyz", 1), M("", "", 1),
        M("", "a", 0), M(".*", "", 1), M("(.*)", "anything", 1),
        /* flags and groups */
        M("(?i)ABC", "abc", 1), M("(?i:A)b", "ab", 1), M("(?i:A)b", "aB", 0),
        M("(?U)a+", "aaa", 1), M("(?)a", "a", 1), M("(?P<n>a)(?<m>b)", "ab", 1),
        M("(?:a|b)+", "abba", 1), M("(a*)*", "aa", 1), M("()", "", 1),
#undef M
    };
    size_t i;

    for (i = 0; i < sizeof tab / sizeof *tab; i++) {
        int m = re_match(__FILE__, __LINE__, tab[i].re, tab[i].subject, tab[i].len, 0);
        PREX_CHECK(m == tab[i].match, "regex %s on %zu bytes: got %d, want %d", tab[i].re,
                   tab[i].len, m, tab[i].match);
    }
    /* Prometheus 2.x: '.' does not match a newline */
    PREX_CHECK(RE_MATCH(".", "\n", PREX_RELABEL_NO_DOTALL) == 0, "2.x: . on newline");
    PREX_CHECK(RE_MATCH("(?s).", "\n", PREX_RELABEL_NO_DOTALL) == 1, "2.x: (?s). on newline");
    PREX_CHECK(RE_MATCH("(.*)", "a\nb", PREX_RELABEL_NO_DOTALL) == 0, "2.x: (.*) on newline");
    PREX_CHECK(RE_MATCH("(.*)", "ab", PREX_RELABEL_NO_DOTALL) == 1, "2.x: (.*)");
    CHECK_RUN("case 28 with 2.x semantics",
              "- {source_labels: [a], regex: 'line1.*line2', target_label: d, "
              "replacement: 'match${1}'}\n",
              PREX_RELABEL_NO_DOTALL, "{a=\"line1\\nline2\"}", "{a=\"line1\\nline2\"}");
    /* greediness decides captures */
    CHECK_RUN("ungreedy captures",
              "- {source_labels: [a], regex: '(?U)(a+)(a*)', target_label: t, "
              "replacement: '$1|$2'}\n",
              0, "{a=\"aaa\"}", "{a=\"aaa\", t=\"a|aa\"}");
    CHECK_RUN("leftmost-first alternation",
              "- {source_labels: [a], regex: '(a|ab)(c|bcd)(d*)', target_label: t, "
              "replacement: '$1|$2|$3'}\n",
              0, "{a=\"abcd\"}", "{a=\"abcd\", t=\"a|bcd|\"}");
}

/* Constructs Go's RE2 parser refuses are refused at load time. */
static void test_regex_refused(void)
{
    static const char *const tab[] = {
        "(?=a)", "(?!a)", "(?<=a)", "(?<!a)", "(?>a)", "a*+", "a++", "a?+", "a{2}+",
        "(a)\\1", "\\8", "\\Z", "\\C", "\\G", "\\K", "\\R", "\\h", "\\X", "\\N", "\\e",
        "\\cA", "\\g1", "\\k<n>", "\\o{101}", "\\u0041", "(?'n'a)", "(?x)a", "(?J)a",
        "(?n)a", "(?R)", "(a)(?1)", "(a)(?(1)b|c)", "(?|a)", "(?#c)", "(?P<n>a)(?P=n)",
        "(?P<n>a)(?P>n)", "(*UTF)a", "(*ACCEPT)", "a{1001}", "a{2,1}", "a**", "a*?*",
        "\\p{greek}", "\\p{Alphabetic}", "\\p{Xan}", "\\p{Cn}", "[\\b]", "[a-\\d]", "[z-a]",
        "a)", "(a", "[a", "x\\", "\\x{110000}", "\\x4", "\\xZZ", "(?P<>a)", "(?P<a-b>x)",
        "(?i", "*a", "a|*", "(*)", "[[:foo:]]", "\\\xc3\xa9", "(?i)*", "\\x{D800}",
        "(?-)", "(?i-)", "(?ii-s-m)",
        /* \Q without \E swallows Prometheus's closing ")$" as literal
         * text, so Go reports a missing parenthesis */
        "\\Qab",
    };
    prex_relabel_rules *rs;
    prex_relabel_error err;
    prex_test_str yaml = { 0 };
    size_t i;
    int rc;

    for (i = 0; i < sizeof tab / sizeof *tab; i++) {
        prex_test_str_clear(&yaml);
        prex_test_str_puts(&yaml, "- source_labels: [a]\n  action: drop\n  regex: \"");
        for (const char *p = tab[i]; *p; p++) {
            if (*p == '\\' || *p == '"')
                prex_test_str_putc(&yaml, '\\');
            prex_test_str_putc(&yaml, *p);
        }
        prex_test_str_puts(&yaml, "\"\n");
        rc = prex_relabel_load(&rs, "re.yml", yaml.ptr, yaml.len, 0, NULL, &err);
        if (PREX_CHECK(rc == PREX_RELABEL_E_REGEX, "regex %s: want a regex error, got %s (%s)",
                       tab[i], prex_relabel_errname(rc), rc ? err.text : "loaded")) {
            PREX_CHECK(err.line == 3 && err.column == 10 &&
                           strncmp(err.message, "invalid regex ", 14) == 0,
                       "regex %s: %s", tab[i], err.text);
        }
        prex_relabel_free(rs);
    }
    prex_test_str_free(&yaml);
}

/* MARK: names */

static void test_name_schemes(void)
{
    /* cases 29-31 need UTF-8 names; legacy names refuse them at load */
    CHECK_RUN("utf-8 source label (legacy)",
              "- {source_labels: ['utf-8.label'], target_label: d}\n", PREX_RELABEL_LEGACY_NAMES,
              "{a=\"x\"}",
              "load error: utf-8 source label (legacy):1:20: error: \"utf-8.label\" is not a "
              "valid label name");
    CHECK_RUN("expanded target, UTF-8 names",
              "- {source_labels: [a], target_label: '${1}', replacement: x}\n", 0,
              "{a=\"bad-name\"}", "{a=\"bad-name\", \"bad-name\"=\"x\"}");
    CHECK_RUN("expanded target, legacy names",
              "- {source_labels: [a], target_label: '${1}', replacement: x}\n",
              PREX_RELABEL_LEGACY_NAMES, "{a=\"bad-name\"}", "{a=\"bad-name\"}");
    CHECK_RUN("scheme from the file",
              "metric_name_validation_scheme: legacy\nmetric_relabel_configs:\n"
              "- {source_labels: [a], target_label: '${1}', replacement: x}\n",
              0, "{a=\"bad-name\"}", "{a=\"bad-name\"}");
    CHECK_RUN("labelmap does not check the names it makes",
              "- {regex: 'a(.*)', replacement: 'x$1', action: labelmap}\n",
              PREX_RELABEL_LEGACY_NAMES, "{a-b=\"1\"}", "{\"a-b\"=\"1\", \"x-b\"=\"1\"}");
}

/* MARK: the label-set contract */

/* An allocator that counts calls. */
typedef struct counter {
    size_t mallocs, reallocs, frees;
} counter;

static void *count_malloc(void *ctx, size_t n)
{
    ((counter *)ctx)->mallocs++;
    return malloc(n);
}

static void *count_realloc(void *ctx, void *p, size_t old, size_t n)
{
    (void)old;
    ((counter *)ctx)->reallocs++;
    return realloc(p, n);
}

static void count_free(void *ctx, void *p)
{
    ((counter *)ctx)->frees++;
    free(p);
}

/* Rules that change nothing on the series below (every kind of action),
 * and that series. */
static const char nochange_rules[] =
    "- {source_labels: [job], regex: api, action: keep}\n"
    "- {source_labels: [__name__], regex: 'go_.*', action: drop}\n"
    "- {source_labels: [job], target_label: job}\n"
    "- {source_labels: [instance, job], separator: '@', regex: '(.*)@(.*)', "
    "target_label: instance, replacement: '$1'}\n"
    "- {source_labels: [job], target_label: job, action: lowercase}\n"
    "- {source_labels: [env], target_label: env, action: uppercase}\n"
    "- {regex: 'nomatch_(.*)', action: labelmap}\n"
    "- {regex: 'tmp_.*', action: labeldrop}\n"
    "- {regex: '.+', action: labelkeep}\n"
    "- {source_labels: [job], target_label: zone, action: hashmod, modulus: 1000}\n"
    "- {source_labels: [job], target_label: job, action: keepequal}\n"
    "- {source_labels: [job], target_label: env, action: dropequal}\n"
    "- {target_label: env, replacement: PROD}\n"
    "- {source_labels: [job, env], separator: '', regex: '(api)(PROD)', "
    "target_label: '${2}', replacement: '${1}'}\n"
    "- {regex: 'PROD', action: labelmap, replacement: 'PROD'}\n";

/* The series nochange_rules leaves as it is (zone is md5("api") % 1000). */
static void fill_nochange(prex_pair *p)
{
    static const char *kv[][2] = {
        { "__name__", "http_requests_total" }, { "env", "PROD" },
        { "instance", "host:9100" }, { "job", "api" }, { "zone", "658" }, { "PROD", "api" },
    };
    size_t i;

    for (i = 0; i < 6; i++) {
        p[i].name.ptr = kv[i][0];
        p[i].name.len = strlen(kv[i][0]);
        p[i].value.ptr = kv[i][1];
        p[i].value.len = strlen(kv[i][1]);
    }
}

/* A rule set that changes nothing allocates nothing once the state's
 * buffers exist, and leaves every slice where it was. */
static void test_no_alloc_without_change(void)
{
    counter c = { 0 };
    prex_alloc alc = { count_malloc, count_realloc, count_free, &c };
    prex_relabel_rules *rs;
    prex_relabel_error err;
    prex_relabel_state st;
    prex_arena arena;
    prex_pair in[6], work[6];
    prex_labelset ls;
    size_t before, i, k;
    int rc;

    rc = prex_relabel_load(&rs, "n.yml", nochange_rules, strlen(nochange_rules), 0, &alc, &err);
    if (!PREX_CHECK(rc == 0, "load: %s", err.text))
        return;
    fill_nochange(in);
    prex_arena_init(&arena, &alc, 0);
    prex_relabel_state_init(&st, rs, &arena);
    for (k = 0; k < 3; k++) {
        memcpy(work, in, sizeof in);
        ls.pairs = work;
        ls.n = 6;
        ls.cap = 6;
        before = c.mallocs + c.reallocs;
        rc = prex_relabel_apply(&st, &ls);
        PREX_CHECK(rc == PREX_RELABEL_KEEP, "round %zu: rc %d (%s)", k, rc,
                   prex_relabel_state_error(&st)->text);
        PREX_CHECK(ls.pairs == work && ls.n == 6, "round %zu: the set moved or changed size", k);
        /* the first round may create match data and scratch buffers */
        if (k > 0)
            PREX_CHECK(c.mallocs + c.reallocs == before, "round %zu: %zu allocations", k,
                       c.mallocs + c.reallocs - before);
        PREX_CHECK(prex_arena_reserved(&arena) == 0, "round %zu: arena used", k);
        for (i = 0; i < 6 && ls.pairs == work; i++) {
            /* sorted output: PROD, __name__, env, instance, job, zone */
            static const size_t from[6] = { 5, 0, 1, 2, 3, 4 };
            PREX_CHECK(work[i].name.ptr == in[from[i]].name.ptr &&
                           work[i].value.ptr == in[from[i]].value.ptr,
                       "round %zu: label %zu has new bytes", k, i);
        }
    }
    prex_relabel_state_free(&st);
    prex_arena_free(&arena);
    prex_relabel_free(rs);
    PREX_CHECK(c.mallocs == c.frees, "%zu mallocs, %zu frees", c.mallocs, c.frees);
}

/* Only created or changed labels get new bytes; a value that is a whole
 * capture of one source label is not copied at all. */
static void test_changed_bytes(void)
{
    static const char rules[] =
        "- {source_labels: [job], target_label: job, action: uppercase}\n"
        "- {source_labels: [instance], regex: '(.*):.*', target_label: host}\n"
        "- {source_labels: [instance, job], regex: '(.*);(.*)', target_label: both, "
        "replacement: '$2'}\n";
    static const char bytes[] = "jobapiinstancehost:9100";
    prex_relabel_rules *rs;
    prex_relabel_error err;
    prex_relabel_state st;
    prex_arena arena;
    prex_pair p[2];
    prex_labelset ls = { p, 2, 2 };
    int rc;

    rc = prex_relabel_load(&rs, "c.yml", rules, strlen(rules), 0, NULL, &err);
    if (!PREX_CHECK(rc == 0, "load: %s", err.text))
        return;
    p[0] = (prex_pair){ { bytes, 3 }, { bytes + 3, 3 } };
    p[1] = (prex_pair){ { bytes + 6, 8 }, { bytes + 14, 9 } };
    prex_arena_init(&arena, NULL, 0);
    prex_relabel_state_init(&st, rs, &arena);
    rc = prex_relabel_apply(&st, &ls);
    if (PREX_CHECK(rc == PREX_RELABEL_KEEP && ls.n == 4, "rc %d n %zu", rc, ls.n)) {
        /* both, host, instance, job */
        PREX_CHECK(ls.pairs != p && ls.cap >= 4, "the set must have grown into the arena");
        PREX_ASSERT_SLICE_STR(ls.pairs[0].value, "API");
        PREX_CHECK(ls.pairs[0].value.ptr < bytes || ls.pairs[0].value.ptr >= bytes + sizeof bytes,
                   "a capture of the joined value must be copied");
        PREX_ASSERT_SLICE_STR(ls.pairs[1].value, "host");
        PREX_CHECK(ls.pairs[1].value.ptr == bytes + 14, "host must point into the input");
        PREX_CHECK(ls.pairs[2].name.ptr == bytes + 6 && ls.pairs[2].value.ptr == bytes + 14,
                   "instance must be untouched");
        PREX_ASSERT_SLICE_STR(ls.pairs[3].value, "API");
        PREX_CHECK(ls.pairs[3].name.ptr == bytes, "job keeps its name bytes");
        /* the caller's array is working storage until the set outgrows
         * it: sorted, with job already upper-cased, and nothing added */
        PREX_CHECK(p[0].name.ptr == bytes + 6 && p[1].name.ptr == bytes &&
                       p[1].value.len == 3 && memcmp(p[1].value.ptr, "API", 3) == 0,
                   "the caller's array must not be written after it was outgrown");
    }
    prex_relabel_state_free(&st);
    prex_arena_free(&arena);
    prex_relabel_free(rs);
}

/* Empty values are absent labels; the output is sorted; duplicate input
 * names are an error. */
static void test_set_normalisation(void)
{
    prex_relabel_rules *rs;
    prex_relabel_error err;
    prex_relabel_state st;
    prex_arena arena;
    prex_pair p[80];
    prex_labelset ls;
    char names[80][8];
    size_t i;
    int rc, sorted;

    CHECK_RUN("no rules: empty values go, names are sorted", "[]", 0,
              "{b=\"2\", e=\"\", a=\"1\", __name__=\"m\"}", "{__name__=\"m\", a=\"1\", b=\"2\"}");
    CHECK_RUN("an empty input value reads as absent",
              "- {source_labels: [e], regex: '', action: keep}\n", 0, "{e=\"\"}", "{}");
    CHECK_RUN("duplicate input names", "[]", 0, "{a=\"1\", b=\"2\", a=\"3\"}",
              "error: duplicate input names: error: duplicate label name in the input label "
              "set");

    /* a large unsorted set (the qsort path) */
    rc = prex_relabel_load(&rs, "s.yml", "[]", 2, 0, NULL, &err);
    if (!PREX_CHECK(rc == 0, "load"))
        return;
    for (i = 0; i < 80; i++) {
        snprintf(names[i], sizeof names[i], "l%02zu", (i * 37) % 80);
        p[i].name.ptr = names[i];
        p[i].name.len = strlen(names[i]);
        p[i].value.ptr = "v";
        p[i].value.len = 1;
    }
    ls.pairs = p;
    ls.n = 80;
    ls.cap = 80;
    prex_arena_init(&arena, NULL, 0);
    prex_relabel_state_init(&st, rs, &arena);
    rc = prex_relabel_apply(&st, &ls);
    sorted = rc == PREX_RELABEL_KEEP && ls.n == 80;
    for (i = 1; sorted && i < 80; i++)
        sorted = memcmp(ls.pairs[i - 1].name.ptr, ls.pairs[i].name.ptr, 3) < 0;
    PREX_CHECK(sorted, "80 labels must come out sorted");
    p[5].name = p[6].name;
    ls.n = 80;
    rc = prex_relabel_apply(&st, &ls);
    PREX_CHECK(rc == PREX_RELABEL_ERROR &&
                   prex_relabel_state_error(&st)->code == PREX_RELABEL_E_DUP_LABEL,
               "duplicate in a large set: rc %d", rc);
    prex_relabel_state_free(&st);
    prex_arena_free(&arena);
    prex_relabel_free(rs);
}

/* A dropped series gives its arena bytes back. */
static void test_drop_restores_arena(void)
{
    static const char rules[] =
        "- {source_labels: [a], target_label: b, action: uppercase}\n"
        "- {regex: '(.*)', replacement: 'copy_$1', action: labelmap}\n"
        "- {source_labels: [b], regex: 'X.*', action: drop}\n";
    prex_relabel_rules *rs;
    prex_relabel_error err;
    prex_relabel_state st;
    prex_arena arena;
    prex_pair p[1];
    prex_labelset ls;
    char *before, *after;
    int rc;

    rc = prex_relabel_load(&rs, "d.yml", rules, strlen(rules), 0, NULL, &err);
    if (!PREX_CHECK(rc == 0, "load: %s", err.text))
        return;
    prex_arena_init(&arena, NULL, 0);
    prex_relabel_state_init(&st, rs, &arena);
    before = prex_arena_alloc_bytes(&arena, 1);
    p[0] = (prex_pair){ { "a", 1 }, { "xyz", 3 } };
    ls = (prex_labelset){ p, 1, 1 };
    rc = prex_relabel_apply(&st, &ls);
    after = prex_arena_alloc_bytes(&arena, 1);
    PREX_CHECK(rc == PREX_RELABEL_DROP, "rc %d", rc);
    PREX_CHECK(after == before + 1, "the arena must be back where it was");
    p[0] = (prex_pair){ { "a", 1 }, { "abc", 3 } };
    ls = (prex_labelset){ p, 1, 1 };
    rc = prex_relabel_apply(&st, &ls);
    PREX_CHECK(rc == PREX_RELABEL_KEEP && ls.n == 4, "kept with 4 labels: rc %d n %zu", rc,
               ls.n);
    prex_relabel_state_free(&st);
    prex_arena_free(&arena);
    prex_relabel_free(rs);
}

/* labelmap visits input labels that no rule touched (by name), then the
 * labels earlier rules set, in the order they were first set; when two
 * labels map to one name, the one visited last wins. */
static void test_labelmap_order(void)
{
    CHECK_RUN("labelmap first: sorted order",
              "- {regex: '[ab]_(x)', action: labelmap}\n", 0, "{b_x=\"2\", a_x=\"1\"}",
              "{a_x=\"1\", b_x=\"2\", x=\"2\"}");
    CHECK_RUN("a label set by an earlier rule is visited after the others",
              "- {target_label: a_x, replacement: new_a}\n"
              "- {regex: '[ab]_(x)', action: labelmap}\n",
              0, "{a_x=\"base_a\", b_x=\"base_b\"}",
              "{a_x=\"new_a\", b_x=\"base_b\", x=\"new_a\"}");
    CHECK_RUN("labels set later are visited later",
              "- {target_label: c_x, replacement: c}\n"
              "- {target_label: a_x, replacement: a}\n"
              "- {regex: '[abc]_(x)', action: labelmap}\n",
              0, "{b_x=\"b\"}", "{a_x=\"a\", b_x=\"b\", c_x=\"c\", x=\"a\"}");
    CHECK_RUN("setting an added label again keeps its place",
              "- {target_label: a_x, replacement: a}\n"
              "- {target_label: c_x, replacement: c}\n"
              "- {target_label: a_x, replacement: a2}\n"
              "- {regex: '[ac]_(x)', action: labelmap}\n",
              0, "{z=\"1\"}", "{a_x=\"a2\", c_x=\"c\", x=\"c\", z=\"1\"}");
    CHECK_RUN("a deleted and re-set label goes to the end",
              "- {target_label: a_x, replacement: a}\n"
              "- {target_label: c_x, replacement: c}\n"
              "- {regex: a_x, action: labeldrop}\n"
              "- {target_label: a_x, replacement: a3}\n"
              "- {regex: '[ac]_(x)', action: labelmap}\n",
              0, "{z=\"1\"}", "{a_x=\"a3\", c_x=\"c\", x=\"a3\", z=\"1\"}");
}

/* Go's strings.ToLower/ToUpper: one-to-one Unicode mappings. */
static void test_case_mapping(void)
{
    static const struct {
        int upper;
        const char *in, *out;
    } tab[] = {
        { 0, "bAr123Foo", "bar123foo" },
        { 1, "bAr123Foo", "BAR123FOO" },
        { 0, "\xc3\x80\xc3\x89\xc3\x8e", "\xc3\xa0\xc3\xa9\xc3\xae" },         /* ÀÉÎ */
        { 1, "stra\xc3\x9f" "e", "STRA\xc3\x9f" "E" },                         /* ß stays */
        { 0, "\xc4\xb0", "i" },                                                /* İ -> i */
        { 1, "\xc4\xb1", "I" },                                                /* ı -> I */
        { 1, "\xc7\x85", "\xc7\x84" },                                         /* ǅ -> Ǆ */
        { 0, "\xc7\x85", "\xc7\x86" },                                         /* ǅ -> ǆ */
        { 0, "\xce\x9f\xce\x94\xce\x9f\xce\xa3", "\xce\xbf\xce\xb4\xce\xbf\xcf\x83" }, /* no final sigma */
        { 1, "\xef\xac\x81", "\xef\xac\x81" },                                 /* ﬁ stays */
        { 0, "\xe1\xba\x9e", "\xc3\x9f" },                                     /* ẞ -> ß */
        { 0, "\xe2\x84\xaa", "k" },                                            /* KELVIN -> k */
        { 0, "a\xff" "B", "a\xef\xbf\xbd" "b" },                               /* bad byte */
        { 1, "\xe2\x82\xac", "\xe2\x82\xac" },                                 /* € */
    };
    static const char rules[] =
        "- {source_labels: [a], target_label: lo, action: lowercase}\n"
        "- {source_labels: [a], target_label: up, action: uppercase}\n";
    prex_relabel_rules *rs;
    prex_relabel_error err;
    prex_relabel_state st;
    prex_arena arena;
    prex_pair p[1];
    prex_labelset ls;
    prex_slice v;
    size_t i;
    int rc;

    rc = prex_relabel_load(&rs, "u.yml", rules, strlen(rules), 0, NULL, &err);
    if (!PREX_CHECK(rc == 0, "load: %s", err.text))
        return;
    prex_arena_init(&arena, NULL, 0);
    prex_relabel_state_init(&st, rs, &arena);
    for (i = 0; i < sizeof tab / sizeof *tab; i++) {
        p[0] = (prex_pair){ { "a", 1 }, { tab[i].in, strlen(tab[i].in) } };
        ls = (prex_labelset){ p, 1, 1 };
        rc = prex_relabel_apply(&st, &ls);
        if (!PREX_CHECK(rc == PREX_RELABEL_KEEP, "%s: rc %d", tab[i].in, rc))
            continue;
        v = prex_labelset_get(&ls, tab[i].upper ? "up" : "lo", 2);
        PREX_ASSERT_SLICE_EQ(v, tab[i].out, strlen(tab[i].out));
    }
    prex_relabel_state_free(&st);
    prex_arena_free(&arena);
    prex_relabel_free(rs);
}

/* Values that are not UTF-8: a regex match fails the series (the parser
 * never produces such values); the default regex needs no match. */
static void test_invalid_utf8(void)
{
    CHECK_RUN("regex on invalid UTF-8", "- {source_labels: [a], regex: '.+', action: keep}\n", 0,
              "{a=\"\xff\"}",
              "error: regex on invalid UTF-8:1:3: error: rule 1 (keep): a label name or value "
              "that the regex must match is not valid UTF-8");
    CHECK_RUN("default regex on invalid UTF-8", "- {source_labels: [a], target_label: b}\n", 0,
              "{a=\"\xff\"}", "{a=\"\xff\", b=\"\xff\"}");
}

/* A pattern that backtracks exponentially hits the match limit; the
 * state stays usable. */
static void test_match_limit(void)
{
    prex_relabel_rules *rs;
    prex_relabel_error err;
    prex_relabel_state st;
    prex_arena arena;
    prex_pair p[1];
    prex_labelset ls;
    const char *rules = "- {source_labels: [a], regex: '(a+)+[bc]', action: keep}\n";
    const char *many = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    int rc;

    rc = prex_relabel_load(&rs, "m.yml", rules, strlen(rules), 0, NULL, &err);
    if (!PREX_CHECK(rc == 0, "load: %s", err.text))
        return;
    prex_arena_init(&arena, NULL, 0);
    prex_relabel_state_init(&st, rs, &arena);
    p[0] = (prex_pair){ { "a", 1 }, { many, strlen(many) } };
    ls = (prex_labelset){ p, 1, 1 };
    rc = prex_relabel_apply(&st, &ls);
    PREX_CHECK(rc == PREX_RELABEL_ERROR &&
                   prex_relabel_state_error(&st)->code == PREX_RELABEL_E_MATCH_LIMIT &&
                   prex_relabel_state_error(&st)->rule == 0 &&
                   prex_relabel_state_error(&st)->line == 1,
               "rc %d: %s", rc, prex_relabel_state_error(&st)->text);
    p[0] = (prex_pair){ { "a", 1 }, { "aab", 3 } };
    ls = (prex_labelset){ p, 1, 1 };
    rc = prex_relabel_apply(&st, &ls);
    PREX_CHECK(rc == PREX_RELABEL_KEEP, "after the limit: rc %d", rc);
    prex_relabel_state_free(&st);
    prex_arena_free(&arena);
    prex_relabel_free(rs);
}

/* An allocator that fails from the n-th call on, and counts live blocks. */
typedef struct failing {
    long left;            /* calls that still succeed; negative: all */
    long live;
} failing;

static void *fail_malloc(void *ctx, size_t n)
{
    failing *f = ctx;
    void *p;

    if (f->left == 0)
        return NULL;
    if (f->left > 0)
        f->left--;
    p = malloc(n);
    if (p)
        f->live++;
    return p;
}

static void *fail_realloc(void *ctx, void *p, size_t old, size_t n)
{
    failing *f = ctx;

    (void)old;
    if (f->left == 0)
        return NULL;
    if (f->left > 0)
        f->left--;
    return realloc(p, n);
}

static void fail_free(void *ctx, void *p)
{
    failing *f = ctx;

    if (p)
        f->live--;
    free(p);
}

/* Makes every allocation of loading and applying fail in turn: each
 * failure must come back as PREX_RELABEL_E_NO_MEMORY, never as a crash,
 * another error or a leak, and the first run without failures must give
 * the normal result. */
static void test_out_of_memory(void)
{
    static const char rules[] =
        "- {source_labels: [a, b], regex: '(?P<x>.*);(.*)', target_label: 'j_$x', "
        "replacement: '${2}!'}\n"
        "- {regex: '(.*)', replacement: 'm_$1', action: labelmap}\n"
        "- {source_labels: [a], target_label: up, action: uppercase}\n"
        "- {source_labels: [a], target_label: h, action: hashmod, modulus: 7}\n"
        "- {regex: 'b', action: labeldrop}\n";
    failing f;
    prex_alloc alc = { fail_malloc, fail_realloc, fail_free, &f };
    prex_relabel_rules *rs;
    prex_relabel_error err;
    prex_relabel_state st;
    prex_arena arena;
    prex_pair p[2];
    prex_labelset ls;
    long n;
    int rc, done = 0;

    for (n = 0; n < 2000 && !done; n++) {
        f.left = n;
        f.live = 0;
        rc = prex_relabel_load(&rs, "oom.yml", rules, strlen(rules), 0, &alc, &err);
        if (rc != 0) {
            PREX_CHECK(rc == PREX_RELABEL_E_NO_MEMORY && rs == NULL,
                       "load, failing at %ld: %s", n, err.text);
            PREX_CHECK(f.live == 0, "load, failing at %ld: %ld blocks leaked", n, f.live);
            continue;
        }
        prex_arena_init(&arena, &alc, 64);
        prex_relabel_state_init(&st, rs, &arena);
        p[0] = (prex_pair){ { "a", 1 }, { "foo", 3 } };
        p[1] = (prex_pair){ { "b", 1 }, { "bar", 3 } };
        ls = (prex_labelset){ p, 2, 2 };
        rc = prex_relabel_apply(&st, &ls);
        if (rc == PREX_RELABEL_ERROR) {
            PREX_CHECK(prex_relabel_state_error(&st)->code == PREX_RELABEL_E_NO_MEMORY,
                       "apply, failing at %ld: %s", n, prex_relabel_state_error(&st)->text);
        } else {
            done = PREX_CHECK(rc == PREX_RELABEL_KEEP && ls.n == 7,
                              "apply, failing at %ld: rc %d n %zu", n, rc, ls.n);
        }
        prex_relabel_state_free(&st);
        prex_arena_free(&arena);
        prex_relabel_free(rs);
        PREX_CHECK(f.live == 0, "failing at %ld: %ld blocks leaked", n, f.live);
    }
    PREX_CHECK(done, "never succeeded in %ld tries", n);
}

/* MARK: document shapes */

/* A pasted scrape_config: only metric_relabel_configs counts. */
static void test_scrape_mapping(void)
{
    static const char cfg[] =
        "job_name: node\n"
        "scrape_interval: 15s\n"
        "honor_labels: true\n"
        "static_configs:\n"
        "  - targets: ['localhost:9100']\n"
        "kubernetes_sd_configs: []\n"
        "relabel_configs:\n"
        "  - source_labels: [__address__]\n"
        "    target_label: instance\n"
        "metric_relabel_configs:\n"
        "  - source_labels: [__name__]\n"
        "    regex: 'go_.*'\n"
        "    action: drop\n";
    prex_relabel_rules *rs;
    prex_relabel_rule_info ri;

    rs = LOAD_OK(cfg, 0);
    if (rs) {
        PREX_CHECK(prex_relabel_count(rs) == 1, "one rule, not %zu", prex_relabel_count(rs));
        if (prex_relabel_rule(rs, 0, &ri) == 0)
            PREX_CHECK(ri.action == PREX_RELABEL_ACT_DROP && ri.line == 11 && ri.column == 5,
                       "rule at %llu:%llu", (unsigned long long)ri.line,
                       (unsigned long long)ri.column);
    }
    prex_relabel_free(rs);
    CHECK_RUN("scrape config", cfg, 0, "{__name__=\"go_gc\"}", "dropped");
    CHECK_RUN("scrape config", cfg, 0, "{__name__=\"up\"}", "{__name__=\"up\"}");
    rs = LOAD_OK("job_name: x\nmetric_relabel_configs:\n", 0);
    PREX_CHECK(!rs || prex_relabel_count(rs) == 0, "null list: no rules");
    prex_relabel_free(rs);
    rs = LOAD_OK("", 0);
    PREX_CHECK(!rs || prex_relabel_count(rs) == 0, "empty document: no rules");
    prex_relabel_free(rs);
}

/* YAML anchors and << merges: explicit keys win, then earlier merged
 * mappings. */
static void test_merge_keys(void)
{
    static const char cfg[] =
        "- &base\n"
        "  source_labels: [a]\n"
        "  target_label: x\n"
        "- <<: *base\n"
        "  target_label: y\n"
        "- <<: [{target_label: z, replacement: first}, {replacement: second, regex: 'f(.*)'}]\n"
        "  source_labels: [a]\n";
    prex_relabel_rules *rs = LOAD_OK(cfg, 0);

    if (rs) {
        PREX_CHECK(prex_relabel_count(rs) == 3, "3 rules, not %zu", prex_relabel_count(rs));
        CHECK_INFO(rs, 1, REPLACE, ";", "(.*)", 0, "y", "$1", 0, 1);
        CHECK_INFO(rs, 2, REPLACE, ";", "f(.*)", 1, "z", "first", 0, 1);
    }
    prex_relabel_free(rs);
    CHECK_RUN("merged rules", cfg, 0, "{a=\"foo\"}",
              "{a=\"foo\", x=\"foo\", y=\"foo\", z=\"first\"}");
}

/* MARK: arena */

/* Packing, alignment, own blocks for large requests, restore, reuse
 * after reset, and freeing. */
static void test_arena(void)
{
    counter c = { 0 };
    prex_alloc alc = { count_malloc, count_realloc, count_free, &c };
    prex_arena a;
    prex_arena_mark m;
    char *s1, *s2, *big, *again;
    void *al;
    size_t mallocs;

    prex_arena_init(&a, &alc, 256);
    PREX_CHECK(c.mallocs == 0 && prex_arena_reserved(&a) == 0, "init allocates nothing");
    s1 = prex_arena_copy(&a, "abc", 3);
    s2 = prex_arena_alloc_bytes(&a, 1);
    PREX_CHECK(s1 && memcmp(s1, "abc", 3) == 0 && s2 == s1 + 3, "bytes are packed");
    al = prex_arena_alloc(&a, 8);
    PREX_CHECK(al && (uintptr_t)al % _Alignof(max_align_t) == 0, "alloc is aligned");
    m = prex_arena_save(&a);
    big = prex_arena_alloc_bytes(&a, 1000);
    PREX_CHECK(big != NULL && c.mallocs == 2, "a large request gets its own block");
    memset(big, 'x', 1000);
    prex_arena_restore(&a, m);
    again = prex_arena_alloc(&a, 8);
    PREX_CHECK(again == (char *)al + _Alignof(max_align_t) || again == (char *)al + 8,
               "restore gives the bytes back");
    mallocs = c.mallocs;
    prex_arena_reset(&a);
    s1 = prex_arena_alloc_bytes(&a, 200);
    big = prex_arena_alloc_bytes(&a, 900);
    PREX_CHECK(s1 && big && c.mallocs == mallocs, "after reset the blocks are reused");
    PREX_CHECK(prex_arena_copy(&a, "", 0) != NULL, "an empty copy is not NULL");
    PREX_CHECK(prex_arena_alloc(&a, SIZE_MAX - 8) == NULL, "an impossible size fails");
    prex_arena_free(&a);
    PREX_CHECK(c.frees == c.mallocs && prex_arena_reserved(&a) == 0, "free returns every block");
    s1 = prex_arena_copy(&a, "x", 1);
    PREX_CHECK(s1 && *s1 == 'x', "usable after free");
    prex_arena_free(&a);
}

/* MARK: names of things */

/* Every error code and action has a name. */
static void test_names(void)
{
    int k;

    for (k = 0; k < PREX_RELABEL_E__COUNT; k++) {
        PREX_CHECK(strcmp(prex_relabel_errname(k), "UNKNOWN") != 0, "error %d has a name", k);
        PREX_CHECK(strcmp(prex_relabel_strerror(k), "unknown error") != 0,
                   "error %d has a description", k);
    }
    PREX_CHECK(strcmp(prex_relabel_errname(PREX_RELABEL_E_MATCH_LIMIT), "MATCH_LIMIT") == 0,
               "MATCH_LIMIT");
    PREX_CHECK(strcmp(prex_relabel_errname(999), "UNKNOWN") == 0, "unknown code");
    PREX_CHECK(strcmp(prex_relabel_action_name(PREX_RELABEL_ACT_LABELKEEP), "labelkeep") == 0,
               "labelkeep");
    PREX_CHECK(strcmp(prex_relabel_action_name((prex_relabel_action)99), "?") == 0, "bad action");
}

/* MARK: suite */

static CU_TestInfo relabel_tests[] = {
    { "upstream_cases", test_upstream_cases },
    { "spec_file", test_spec_file },
    { "prom242_vectors", test_prom242_vectors },
    { "expand_table", test_expand_table },
    { "hashmod_values", test_hashmod_values },
    { "defaults", test_defaults },
    { "omitted_vs_empty", test_omitted_vs_empty },
    { "load_errors", test_load_errors },
    { "valid_configs", test_valid_configs },
    { "legacy_template_names", test_legacy_template_names },
    { "regex_dialect", test_regex_dialect },
    { "regex_refused", test_regex_refused },
    { "name_schemes", test_name_schemes },
    { "no_alloc_without_change", test_no_alloc_without_change },
    { "changed_bytes", test_changed_bytes },
    { "set_normalisation", test_set_normalisation },
    { "drop_restores_arena", test_drop_restores_arena },
    { "labelmap_order", test_labelmap_order },
    { "case_mapping", test_case_mapping },
    { "invalid_utf8", test_invalid_utf8 },
    { "match_limit", test_match_limit },
    { "out_of_memory", test_out_of_memory },
    { "scrape_mapping", test_scrape_mapping },
    { "merge_keys", test_merge_keys },
    { "arena", test_arena },
    { "names", test_names },
    CU_TEST_INFO_NULL,
};

CU_SuiteInfo prex_relabel_suites[] = {
    { .pName = "relabel", .pInitFunc = NULL, .pCleanupFunc = NULL, .pSetUpFunc = NULL,
      .pTearDownFunc = NULL, .pTests = relabel_tests },
    CU_SUITE_INFO_NULL,
};
