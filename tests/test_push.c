/*
 * test_push.c - tests of the relay's transports: the Pushgateway sink
 * (relay/push.c: base64, grouping-key URLs, gzip, requests, retries), the
 * scrapes (relay/http.c) and the textfile sink (relay/textfile.c).
 *
 * Requests go to a scripted HTTP server on 127.0.0.1 run in a child
 * process: it answers each connection with the next canned response and
 * records the raw request bytes, so that the tests can check exactly what
 * went over the wire (methods, headers, bodies).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <CUnit/CUnit.h>
#include <zlib.h>

#include "buf.h"
#include "http.h"
#include "prex.h"
#include "push.h"
#include "testlib.h"
#include "textfile.h"

/* MARK: helpers */

/* Milliseconds on the monotonic clock. */
static long long mono_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Writes all of p[0..n) to fd; returns 0 or -1. */
static int put_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Decompresses a gzip member into out (cleared first). Returns 0 or -1. */
static int gunzip(const char *in, size_t len, prex_test_str *out)
{
    z_stream z;
    char chunk[16384];
    int rc;

    prex_test_str_clear(out);
    memset(&z, 0, sizeof z);
    if (inflateInit2(&z, 15 + 16) != Z_OK)
        return -1;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    do {
        z.next_out = (Bytef *)chunk;
        z.avail_out = sizeof chunk;
        rc = inflate(&z, Z_NO_FLUSH);
        if (rc != Z_OK && rc != Z_STREAM_END) {
            inflateEnd(&z);
            return -1;
        }
        prex_test_str_append(out, chunk, sizeof chunk - z.avail_out);
    } while (rc != Z_STREAM_END);
    inflateEnd(&z);
    return z.avail_in == 0 ? 0 : -1;
}

/* A listening socket on 127.0.0.1 and an ephemeral port; *port is set.
 * Aborts the test run if the socket cannot be made. */
static int listen_loopback(int *port)
{
    struct sockaddr_in a;
    socklen_t al = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    PREX_ASSERT_FATAL(fd >= 0);
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    PREX_ASSERT_FATAL(bind(fd, (struct sockaddr *)&a, sizeof a) == 0);
    PREX_ASSERT_FATAL(listen(fd, 16) == 0);
    PREX_ASSERT_FATAL(getsockname(fd, (struct sockaddr *)&a, &al) == 0);
    *port = ntohs(a.sin_port);
    return fd;
}

/* A port nothing listens on (bound, then closed). */
static int closed_port(void)
{
    int port, fd = listen_loopback(&port);

    close(fd);
    return port;
}

/* MARK: the scripted server */

/* Marks the end of each recorded request in the capture file. */
#define REQ_END "\n<<end of request>>\n"

typedef struct fake_server {
    int port;
    pid_t pid;
    char capture[64];
} fake_server;

/* Reads one HTTP/1.1 request from c (headers, then Content-Length bytes
 * of body) into req. */
static void read_request(int c, prex_test_str *req)
{
    size_t need = (size_t)-1;
    char chunk[8192];

    for (;;) {
        ssize_t n;
        char *end;

        if (need != (size_t)-1 && req->len >= need)
            return;
        n = read(c, chunk, sizeof chunk);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        prex_test_str_append(req, chunk, (size_t)n);
        if (need == (size_t)-1 && (end = strstr(req->ptr, "\r\n\r\n")) != NULL) {
            size_t head = (size_t)(end - req->ptr) + 4, i;

            need = head;
            for (i = 0; i < head; i++) {
                if ((i == 0 || req->ptr[i - 1] == '\n') &&
                    strncasecmp(req->ptr + i, "Content-Length:", 15) == 0)
                    need = head + strtoul(req->ptr + i + 15, NULL, 10);
            }
        }
    }
}

/* The child's loop: for each response, accept a connection, record the
 * request, answer (a NULL response closes without answering; a response
 * "HANG" keeps the connection open without answering). */
static void serve(int lfd, const char *capture, const prex_slice *resp, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        prex_test_str req = {0};
        int c = accept(lfd, NULL, NULL), fd;

        if (c < 0)
            _exit(1);
        read_request(c, &req);
        fd = open(capture, O_WRONLY | O_APPEND);
        if (fd >= 0) {
            put_all(fd, req.ptr ? req.ptr : "", req.len);
            put_all(fd, REQ_END, strlen(REQ_END));
            close(fd);
        }
        prex_test_str_free(&req);
        if (resp[i].ptr && resp[i].len == 4 && memcmp(resp[i].ptr, "HANG", 4) == 0) {
            pause();
        } else if (resp[i].ptr) {
            put_all(c, resp[i].ptr, resp[i].len);
        }
        shutdown(c, SHUT_RDWR);
        close(c);
    }
    pause();
}

/* Starts a server that gives the n responses, in order, to n connections. */
static void fake_start(fake_server *f, const prex_slice *resp, size_t n)
{
    int lfd = listen_loopback(&f->port), cfd;

    snprintf(f->capture, sizeof f->capture, "/tmp/prex-test-push-XXXXXX");
    cfd = mkstemp(f->capture);
    PREX_ASSERT_FATAL(cfd >= 0);
    close(cfd);
    f->pid = fork();
    PREX_ASSERT_FATAL(f->pid >= 0);
    if (f->pid == 0) {
        serve(lfd, f->capture, resp, n);
        _exit(0);
    }
    close(lfd);
}

/* Stops the server and returns what it recorded (all requests, each
 * followed by REQ_END). The caller frees *out. */
static void fake_stop(fake_server *f, prex_test_str *out)
{
    size_t len = 0;
    char *data;

    kill(f->pid, SIGKILL);
    waitpid(f->pid, NULL, 0);
    data = prex_test_read_file(f->capture, &len);
    unlink(f->capture);
    prex_test_str_clear(out);
    if (data)
        prex_test_str_append(out, data, len);
    free(data);
}

/* The first occurrence of needle in hay[0..len) (which may hold NUL
 * bytes), or NULL. */
static const char *find_bytes(const char *hay, size_t len, const char *needle)
{
    size_t n = strlen(needle), i;

    for (i = 0; i + n <= len; i++)
        if (memcmp(hay + i, needle, n) == 0)
            return hay + i;
    return NULL;
}

/* The i-th recorded request (0-based) as a slice into cap; ptr NULL if
 * there are fewer. */
static prex_slice nth_request(const prex_test_str *cap, size_t i)
{
    prex_slice s = {NULL, 0};
    const char *p = cap->ptr ? cap->ptr : "", *end = p + cap->len, *mark;

    for (;;) {
        mark = find_bytes(p, (size_t)(end - p), REQ_END);
        if (!mark)
            return s;
        if (i-- == 0) {
            s.ptr = p;
            s.len = (size_t)(mark - p);
            return s;
        }
        p = mark + strlen(REQ_END);
    }
}

/* Nonzero when request r has the header line "line" (exact bytes,
 * followed by CRLF). */
static int has_header(prex_slice r, const char *line)
{
    size_t n = strlen(line), i;

    for (i = 0; i + n + 2 <= r.len; i++)
        if ((i == 0 || r.ptr[i - 1] == '\n') && memcmp(r.ptr + i, line, n) == 0 &&
            r.ptr[i + n] == '\r' && r.ptr[i + n + 1] == '\n')
            return 1;
    return 0;
}

/* Nonzero when request r has a header called name (any case). */
static int has_header_name(prex_slice r, const char *name)
{
    size_t n = strlen(name), i;

    for (i = 0; i + n + 1 <= r.len; i++)
        if ((i == 0 || r.ptr[i - 1] == '\n') && strncasecmp(r.ptr + i, name, n) == 0 &&
            r.ptr[i + n] == ':')
            return 1;
    return 0;
}

/* The body of request r (after the blank line). */
static prex_slice request_body(prex_slice r)
{
    prex_slice b = {r.ptr + r.len, 0};
    size_t i;

    for (i = 0; i + 4 <= r.len; i++) {
        if (memcmp(r.ptr + i, "\r\n\r\n", 4) == 0) {
            b.ptr = r.ptr + i + 4;
            b.len = r.len - i - 4;
            break;
        }
    }
    return b;
}

/* Nonzero when request r starts with the request line "line\r\n". */
static int starts_with_line(prex_slice r, const char *line)
{
    size_t n = strlen(line);

    return r.len >= n + 2 && memcmp(r.ptr, line, n) == 0 && r.ptr[n] == '\r' &&
           r.ptr[n + 1] == '\n';
}

#define LIT(s) { "" s, sizeof(s) - 1 }

/* MARK: base64 and grouping keys */

/* RFC 4648 section 10 test vectors (without padding), the URL-safe
 * characters, and a value the Pushgateway notes show decoded. */
static void test_base64_vectors(void)
{
    static const struct { const char *in; size_t len; const char *out; } v[] = {
        {"", 0, ""},
        {"f", 1, "Zg"},
        {"fo", 2, "Zm8"},
        {"foo", 3, "Zm9v"},
        {"foob", 4, "Zm9vYg"},
        {"fooba", 5, "Zm9vYmE"},
        {"foobar", 6, "Zm9vYmFy"},
        {"\xfb\xff", 2, "-_8"},       /* standard alphabet: +/8= */
        {"??\x3e", 3, "Pz8-"},        /* standard alphabet: Pz8+ */
        {"???", 3, "Pz8_"},           /* standard alphabet: Pz8/ */
        {"/var/tmp", 8, "L3Zhci90bXA"},
        {"\0\0\0", 3, "AAAA"},
    };
    size_t i, n;
    char out[32];

    for (i = 0; i < sizeof v / sizeof v[0]; i++) {
        memset(out, '#', sizeof out);
        n = prex_base64url(v[i].in, v[i].len, out);
        PREX_CHECK(n == strlen(v[i].out) && n == prex_base64url_len(v[i].len),
                   "vector %zu: length %zu, want %zu", i, n, strlen(v[i].out));
        prex_test_slice_eq(__FILE__, __LINE__, "base64url", out, n, v[i].out,
                           strlen(v[i].out), 0);
        PREX_CHECK(out[n] == '#', "vector %zu: wrote past its length", i);
    }
}

static void test_value_is_plain(void)
{
    static const char *const plain[] = {"a", "node-1", "x.y_z~", "0", "A.B", "...", ".a"};
    static const struct { const char *v; size_t n; } special[] = {
        {"", 0}, {".", 1}, {"..", 2}, {"a/b", 3}, {"a b", 3}, {"a+b", 3}, {"a%2F", 4},
        {"\xe2\x82\xac", 3}, {"a@b", 3}, {"a=b", 3}, {"a\0b", 3}, {"a?", 2}, {"#", 1},
    };
    size_t i;

    for (i = 0; i < sizeof plain / sizeof plain[0]; i++)
        PREX_CHECK(prex_push_value_is_plain(plain[i], strlen(plain[i])),
                   "'%s' should be plain", plain[i]);
    for (i = 0; i < sizeof special / sizeof special[0]; i++)
        PREX_CHECK(!prex_push_value_is_plain(special[i].v, special[i].n),
                   "special value %zu should need base64", i);
}

static void test_label_name_ok(void)
{
    static const char *const ok[] = {"instance", "_x", "a1", "A_b", "_"};
    static const char *const bad[] = {"", "1a", "a-b", "__a", "__", "a.b", "a b"};
    size_t i;

    for (i = 0; i < sizeof ok / sizeof ok[0]; i++)
        PREX_CHECK(prex_push_label_name_ok(ok[i], strlen(ok[i])), "'%s' is valid", ok[i]);
    for (i = 0; i < sizeof bad / sizeof bad[0]; i++)
        PREX_CHECK(!prex_push_label_name_ok(bad[i], strlen(bad[i])), "'%s' is invalid",
                   bad[i]);
}

/* Checks that the URL built from base, job and labels is want. */
static void check_url(unsigned line, const char *base, const char *job,
                      const prex_group_label *g, size_t n, const char *want)
{
    prex_buf url;
    prex_push_url_result r;

    prex_buf_init(&url, NULL);
    r = prex_push_url(&url, base, job, g, n, NULL);
    PREX_CHECK(r == PREX_PUSH_URL_OK, "line %u: result %d", line, (int)r);
    prex_test_slice_eq(__FILE__, line, "url", url.ptr, url.len, want, strlen(want), 0);
    PREX_CHECK(url.ptr[url.len] == '\0', "line %u: no NUL", line);
    prex_buf_free(&url);
}

static void test_url_plain(void)
{
    prex_group_label g[] = {{"instance", "web-1"}, {"zone", "eu.west_2~a"}};

    check_url(__LINE__, "http://127.0.0.1:9091", "node", NULL, 0,
              "http://127.0.0.1:9091/metrics/job/node");
    check_url(__LINE__, "http://127.0.0.1:9091", "node", g, 2,
              "http://127.0.0.1:9091/metrics/job/node/instance/web-1/zone/eu.west_2~a");
    /* trailing slashes go, a route prefix stays */
    check_url(__LINE__, "https://pgw.example:443/prefix//", "j", NULL, 0,
              "https://pgw.example:443/prefix/metrics/job/j");
}

static void test_url_base64(void)
{
    prex_group_label g1[] = {{"path", "/var/tmp"}};
    prex_group_label g2[] = {{"first", ""}};
    prex_group_label g3[] = {{"a", "x y"}, {"b", "1+1"}, {"c", "\xe2\x82\xac"}};
    prex_group_label g4[] = {{"d", "."}, {"e", ".."}, {"f", "a%2Fb"}};

    check_url(__LINE__, "http://h:9091", "j", g1, 1,
              "http://h:9091/metrics/job/j/path@base64/L3Zhci90bXA");
    check_url(__LINE__, "http://h:9091", "j", g2, 1, "http://h:9091/metrics/job/j/first@base64/=");
    check_url(__LINE__, "http://h:9091", "j", g3, 3,
              "http://h:9091/metrics/job/j/a@base64/eCB5/b@base64/MSsx/c@base64/4oKs");
    check_url(__LINE__, "http://h:9091", "j", g4, 3,
              "http://h:9091/metrics/job/j/d@base64/Lg/e@base64/Li4/f@base64/YSUyRmI");
    check_url(__LINE__, "http://h:9091", "batch/nightly", NULL, 0,
              "http://h:9091/metrics/job@base64/YmF0Y2gvbmlnaHRseQ");
}

static void test_url_errors(void)
{
    prex_group_label bad_name[] = {{"ok", "1"}, {"a-b", "1"}};
    prex_group_label reserved[] = {{"__a", "1"}};
    prex_group_label job[] = {{"job", "x"}};
    prex_group_label dup[] = {{"a", "1"}, {"b", "2"}, {"a", "3"}};
    prex_buf url;
    size_t bad = 99;

    prex_buf_init(&url, NULL);
    PREX_CHECK(prex_push_url(&url, "http://h", "", NULL, 0, &bad) == PREX_PUSH_URL_E_JOB,
               "empty job");
    PREX_CHECK(bad == 0, "the job is at index n (0), got %zu", bad);
    PREX_CHECK(prex_push_url(&url, "ftp://h", "j", NULL, 0, NULL) == PREX_PUSH_URL_E_BASE,
               "ftp base");
    PREX_CHECK(prex_push_url(&url, "http://", "j", NULL, 0, NULL) == PREX_PUSH_URL_E_BASE,
               "no host");
    PREX_CHECK(prex_push_url(&url, "http://h", "j", bad_name, 2, &bad) == PREX_PUSH_URL_E_NAME,
               "a-b");
    PREX_CHECK(bad == 1, "bad label index %zu", bad);
    PREX_CHECK(prex_push_url(&url, "http://h", "j", reserved, 1, NULL) == PREX_PUSH_URL_E_NAME,
               "__a");
    PREX_CHECK(prex_push_url(&url, "http://h", "j", job, 1, NULL) == PREX_PUSH_URL_E_DUP,
               "job as a label");
    PREX_CHECK(prex_push_url(&url, "http://h", "j", dup, 3, &bad) == PREX_PUSH_URL_E_DUP,
               "a twice");
    PREX_CHECK(bad == 2, "duplicate index %zu", bad);
    PREX_CHECK(strlen(prex_push_url_strerror(PREX_PUSH_URL_E_DUP)) > 0, "message");
    prex_buf_free(&url);
}

/* MARK: gzip */

static void test_gzip_roundtrip(void)
{
    prex_buf z;
    prex_test_str in = {0}, back = {0};
    unsigned long x = 12345;
    size_t i;

    prex_buf_init(&z, NULL);
    PREX_CHECK(prex_gzip("", 0, &z) == 0 && z.len >= 18, "empty input");
    PREX_CHECK(gunzip(z.ptr, z.len, &back) == 0 && back.len == 0, "empty roundtrip");
    for (i = 0; i < 300000; i++) {
        x = x * 1103515245u + 12345u;
        prex_test_str_printf(&in, "m{i=\"%lu\"} %lu\n", (unsigned long)i, x >> 16 & 0xffff);
    }
    PREX_CHECK(prex_gzip(in.ptr, in.len, &z) == 0, "gzip failed");
    PREX_CHECK(z.len > 2 && (unsigned char)z.ptr[0] == 0x1f && (unsigned char)z.ptr[1] == 0x8b,
               "gzip magic");
    PREX_CHECK(z.len < in.len / 2, "compressed %zu of %zu bytes", z.len, in.len);
    PREX_CHECK(gunzip(z.ptr, z.len, &back) == 0, "inflate failed");
    prex_test_slice_eq(__FILE__, __LINE__, "roundtrip", back.ptr, back.len, in.ptr, in.len, 0);
    prex_buf_free(&z);
    prex_test_str_free(&in);
    prex_test_str_free(&back);
}

/* MARK: pushing */

static const char body_text[] = "# TYPE m gauge\nm{a=\"1\"} 1\n";

/* A request for url with the defaults the tests use: PUT of body_text,
 * no retries, cfg as given. */
static prex_push_request make_request(const char *url, const prex_http_config *cfg)
{
    prex_push_request rq;

    memset(&rq, 0, sizeof rq);
    rq.url = url;
    rq.method = PREX_PUSH_PUT;
    rq.body = body_text;
    rq.len = sizeof body_text - 1;
    rq.http = cfg;
    return rq;
}

/* A scripted server with its responses and a request (make_request()) to
 * path on it, with a 5 s budget. */
typedef struct push_setup {
    fake_server f;
    prex_http_config cfg;
    char url[128];
} push_setup;

static prex_push_request setup_push(push_setup *s, const prex_slice *resp, size_t n,
                                    const char *path)
{
    fake_start(&s->f, resp, n);
    prex_http_config_init(&s->cfg);
    s->cfg.timeout_ms = 5000;
    snprintf(s->url, sizeof s->url, "http://127.0.0.1:%d%s", s->f.port, path);
    return make_request(s->url, &s->cfg);
}

static void test_push_put(void)
{
    static const prex_slice resp[] = {LIT("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")};
    fake_server f;
    prex_http_config cfg;
    prex_push_request rq;
    prex_push_result res;
    prex_test_str cap = {0};
    char url[128];
    prex_slice r, b;

    fake_start(&f, resp, 1);
    prex_http_config_init(&cfg);
    cfg.timeout_ms = 5000;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics/job/j/h@base64/YS9i", f.port);
    rq = make_request(url, &cfg);
    PREX_CHECK(prex_push(&rq, &res) == 0 && res.ok, "push failed: %s", res.error);
    PREX_CHECK(res.status == 200 && res.attempts == 1, "status %ld attempts %u", res.status,
               res.attempts);
    fake_stop(&f, &cap);
    r = nth_request(&cap, 0);
    PREX_CHECK(r.ptr != NULL, "no request recorded");
    if (r.ptr) {
        PREX_CHECK(starts_with_line(r, "PUT /metrics/job/j/h@base64/YS9i HTTP/1.1"),
                   "request line");
        PREX_CHECK(has_header(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8"),
                   "Content-Type");
        PREX_CHECK(has_header(r, "Content-Length: 26"), "Content-Length");
        PREX_CHECK(!has_header_name(r, "Content-Encoding"), "no Content-Encoding");
        PREX_CHECK(!has_header_name(r, "Expect"), "no Expect");
        PREX_CHECK(!has_header_name(r, "Transfer-Encoding"), "not chunked");
        b = request_body(r);
        PREX_ASSERT_SLICE_EQ(b, body_text, sizeof body_text - 1);
    }
    PREX_CHECK(nth_request(&cap, 1).ptr == NULL, "one request only");
    prex_push_result_free(&res);
    prex_test_str_free(&cap);
}

static void test_push_gzip_post(void)
{
    static const prex_slice resp[] = {LIT("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")};
    fake_server f;
    prex_http_config cfg;
    prex_push_request rq;
    prex_push_result res;
    prex_test_str cap = {0}, plain = {0};
    char url[128];
    prex_slice r, b;

    fake_start(&f, resp, 1);
    prex_http_config_init(&cfg);
    cfg.timeout_ms = 5000;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics/job/j", f.port);
    rq = make_request(url, &cfg);
    rq.method = PREX_PUSH_POST;
    rq.gzip = 1;
    PREX_CHECK(prex_push(&rq, &res) == 0, "push failed: %s", res.error);
    fake_stop(&f, &cap);
    r = nth_request(&cap, 0);
    PREX_CHECK(r.ptr != NULL, "no request recorded");
    if (r.ptr) {
        PREX_CHECK(starts_with_line(r, "POST /metrics/job/j HTTP/1.1"), "request line");
        PREX_CHECK(has_header(r, "Content-Encoding: gzip"), "exact lower-case gzip header");
        PREX_CHECK(has_header(r, "Content-Type: text/plain; version=0.0.4; charset=utf-8"),
                   "Content-Type");
        b = request_body(r);
        PREX_CHECK(b.len == res.sent_bytes, "body %zu bytes, sent %lu", b.len,
                   (unsigned long)res.sent_bytes);
        PREX_CHECK(gunzip(b.ptr, b.len, &plain) == 0, "body is not gzip");
        prex_test_slice_eq(__FILE__, __LINE__, "gunzipped body", plain.ptr, plain.len,
                           body_text, sizeof body_text - 1, 0);
    }
    prex_push_result_free(&res);
    prex_test_str_free(&cap);
    prex_test_str_free(&plain);
}

static void test_push_delete(void)
{
    static const prex_slice resp[] = {LIT("HTTP/1.1 202 Accepted\r\nContent-Length: 0\r\n\r\n")};
    fake_server f;
    prex_http_config cfg;
    prex_push_request rq;
    prex_push_result res;
    prex_test_str cap = {0};
    char url[128];
    prex_slice r;

    fake_start(&f, resp, 1);
    prex_http_config_init(&cfg);
    cfg.timeout_ms = 5000;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics/job/j", f.port);
    rq = make_request(url, &cfg);
    rq.method = PREX_PUSH_DELETE;
    rq.gzip = 1; /* never applies to DELETE */
    PREX_CHECK(prex_push(&rq, &res) == 0 && res.status == 202, "delete: %s", res.error);
    fake_stop(&f, &cap);
    r = nth_request(&cap, 0);
    PREX_CHECK(r.ptr != NULL, "no request recorded");
    if (r.ptr) {
        PREX_CHECK(starts_with_line(r, "DELETE /metrics/job/j HTTP/1.1"), "request line");
        PREX_CHECK(!has_header_name(r, "Content-Encoding"), "no Content-Encoding on DELETE");
        PREX_CHECK(!has_header_name(r, "Content-Type"), "no Content-Type on DELETE");
        PREX_CHECK(request_body(r).len == 0, "no body on DELETE");
    }
    prex_push_result_free(&res);
    prex_test_str_free(&cap);
}

static void test_push_auth_headers(void)
{
    static const prex_slice resp[] = {
        LIT("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
        LIT("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    static const char *const hdrs[] = {"X-Scope-OrgID: team-a", "X-Other: 1"};
    fake_server f;
    prex_http_config cfg;
    prex_push_request rq;
    prex_push_result res;
    prex_test_str cap = {0};
    char url[128];
    prex_slice r;

    fake_start(&f, resp, 2);
    prex_http_config_init(&cfg);
    cfg.timeout_ms = 5000;
    cfg.basic_user = "user";
    cfg.basic_password = "pa:ss";
    cfg.headers = hdrs;
    cfg.nheaders = 2;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics/job/j", f.port);
    rq = make_request(url, &cfg);
    PREX_CHECK(prex_push(&rq, &res) == 0, "basic: %s", res.error);
    prex_push_result_free(&res);
    cfg.basic_user = NULL;
    cfg.bearer_token = "s3cret-token";
    cfg.nheaders = 0;
    PREX_CHECK(prex_push(&rq, &res) == 0, "bearer: %s", res.error);
    prex_push_result_free(&res);
    fake_stop(&f, &cap);
    r = nth_request(&cap, 0);
    PREX_CHECK(r.ptr && has_header(r, "Authorization: Basic dXNlcjpwYTpzcw=="), "basic auth");
    PREX_CHECK(r.ptr && has_header(r, "X-Scope-OrgID: team-a") && has_header(r, "X-Other: 1"),
               "extra headers");
    r = nth_request(&cap, 1);
    PREX_CHECK(r.ptr && has_header(r, "Authorization: Bearer s3cret-token"), "bearer token");
    PREX_CHECK(r.ptr && !has_header_name(r, "X-Other"), "headers of the first push only");
    prex_test_str_free(&cap);
}

/* Counts the retries reported through on_retry. */
static void count_retry(void *ctx, unsigned attempt, long delay_ms, const char *why)
{
    unsigned *n = ctx;

    (void)attempt;
    (void)why;
    PREX_CHECK(delay_ms >= PREX_PUSH_BACKOFF_MS, "delay %ld", delay_ms);
    (*n)++;
}

static void test_push_retry_5xx(void)
{
    static const prex_slice resp[] = {
        LIT("HTTP/1.1 503 Service Unavailable\r\nContent-Length: 4\r\n\r\nbusy"),
        {NULL, 0}, /* a connection closed without an answer */
        LIT("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    fake_server f;
    prex_http_config cfg;
    prex_push_request rq;
    prex_push_result res;
    prex_test_str cap = {0};
    char url[128];
    unsigned retries = 0;

    fake_start(&f, resp, 3);
    prex_http_config_init(&cfg);
    cfg.timeout_ms = 10000;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics/job/j", f.port);
    rq = make_request(url, &cfg);
    rq.retries = 3;
    rq.on_retry = count_retry;
    rq.retry_ctx = &retries;
    PREX_CHECK(prex_push(&rq, &res) == 0 && res.ok, "push failed: %s", res.error);
    PREX_CHECK(res.attempts == 3 && retries == 2, "attempts %u, retries %u", res.attempts,
               retries);
    fake_stop(&f, &cap);
    PREX_CHECK(nth_request(&cap, 2).ptr != NULL, "three requests");
    PREX_ASSERT_SLICE_EQ(request_body(nth_request(&cap, 2)), body_text, sizeof body_text - 1);
    prex_push_result_free(&res);
    prex_test_str_free(&cap);
}

static void test_push_retries_bounded(void)
{
    static const prex_slice resp[] = {
        LIT("HTTP/1.1 500 Internal Server Error\r\nContent-Length: 2\r\n\r\nno"),
        LIT("HTTP/1.1 502 Bad Gateway\r\nContent-Length: 3\r\n\r\nbad"),
        LIT("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    fake_server f;
    prex_http_config cfg;
    prex_push_request rq;
    prex_push_result res;
    prex_test_str cap = {0};
    char url[128];

    fake_start(&f, resp, 3);
    prex_http_config_init(&cfg);
    cfg.timeout_ms = 10000;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics/job/j", f.port);
    rq = make_request(url, &cfg);
    rq.retries = 1;
    PREX_CHECK(prex_push(&rq, &res) != 0 && !res.ok, "must fail after one retry");
    PREX_CHECK(res.attempts == 2 && res.status == 502, "attempts %u status %ld", res.attempts,
               res.status);
    PREX_ASSERT_SLICE_STR(((prex_slice){res.response.ptr, res.response.len}), "bad");
    fake_stop(&f, &cap);
    prex_push_result_free(&res);
    prex_test_str_free(&cap);
}

static void test_push_400_final(void)
{
    static const char msg[] =
        "pushed metrics are invalid or inconsistent with existing metrics: collected "
        "metric \"m\" { label:<name:\"a\" value:\"1\" > gauge:<value:1 > } was collected "
        "before with the same name and label values\n";
    char resp400[512];
    prex_slice resp[2];
    fake_server f;
    prex_http_config cfg;
    prex_push_request rq;
    prex_push_result res;
    prex_test_str cap = {0};
    char url[128];

    snprintf(resp400, sizeof resp400,
             "HTTP/1.1 400 Bad Request\r\nContent-Type: text/plain; charset=utf-8\r\n"
             "Content-Length: %zu\r\n\r\n%s", sizeof msg - 1, msg);
    resp[0].ptr = resp400;
    resp[0].len = strlen(resp400);
    resp[1] = resp[0];
    fake_start(&f, resp, 2);
    prex_http_config_init(&cfg);
    cfg.timeout_ms = 5000;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics/job/j", f.port);
    rq = make_request(url, &cfg);
    rq.retries = 5;
    PREX_CHECK(prex_push(&rq, &res) != 0, "a 400 is a failure");
    PREX_CHECK(res.status == 400 && res.attempts == 1, "400 never retried: %u attempts",
               res.attempts);
    prex_test_slice_eq(__FILE__, __LINE__, "server text", res.response.ptr, res.response.len,
                       msg, sizeof msg - 1, 0);
    fake_stop(&f, &cap);
    PREX_CHECK(nth_request(&cap, 1).ptr == NULL, "one request only");
    prex_push_result_free(&res);
    prex_test_str_free(&cap);
}

static void test_push_redirect_not_followed(void)
{
    static const prex_slice resp[] = {
        LIT("HTTP/1.1 301 Moved Permanently\r\nLocation: /metrics/job/k\r\n"
            "Content-Length: 0\r\n\r\n"),
        LIT("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    };
    fake_server f;
    prex_http_config cfg;
    prex_push_request rq;
    prex_push_result res;
    prex_test_str cap = {0};
    char url[128];

    fake_start(&f, resp, 2);
    prex_http_config_init(&cfg);
    cfg.timeout_ms = 5000;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics/job/j", f.port);
    rq = make_request(url, &cfg);
    rq.retries = 2;
    PREX_CHECK(prex_push(&rq, &res) != 0 && res.status == 301 && res.attempts == 1,
               "a redirect is a failure, not followed: status %ld", res.status);
    fake_stop(&f, &cap);
    PREX_CHECK(nth_request(&cap, 1).ptr == NULL, "not followed");
    prex_push_result_free(&res);
    prex_test_str_free(&cap);
}

static void test_push_refused_within_budget(void)
{
    prex_http_config cfg;
    prex_push_request rq;
    prex_push_result res;
    char url[128];
    long long t0;

    prex_http_config_init(&cfg);
    cfg.timeout_ms = 1200;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics/job/j", closed_port());
    rq = make_request(url, &cfg);
    rq.retries = 10;
    t0 = mono_ms();
    PREX_CHECK(prex_push(&rq, &res) != 0 && res.status == 0, "refused must fail");
    PREX_CHECK(mono_ms() - t0 < 1200 + 300, "took %lld ms, budget 1200", mono_ms() - t0);
    /* 0 ms: attempt 1, +500: attempt 2, +1000 would pass the budget */
    PREX_CHECK(res.attempts == 2, "attempts %u", res.attempts);
    PREX_CHECK(res.error[0] != '\0', "an error message");
    prex_push_result_free(&res);
}

static void test_push_stop_flag(void)
{
    prex_http_config cfg;
    prex_push_request rq;
    prex_push_result res;
    volatile sig_atomic_t stop = 1;
    char url[128];

    prex_http_config_init(&cfg);
    cfg.timeout_ms = 20000;
    snprintf(url, sizeof url, "http://127.0.0.1:%d/metrics/job/j", closed_port());
    rq = make_request(url, &cfg);
    rq.retries = 10;
    rq.stop = &stop;
    PREX_CHECK(prex_push(&rq, &res) != 0 && res.attempts == 1,
               "no retry once stopping: %u attempts", res.attempts);
    prex_push_result_free(&res);
}

/* A body source for the tests: text in pieces of at most step bytes,
 * failing (-1) once fail_at bytes were given; restarts counted. */
struct piece_src {
    const char *text;
    size_t len, off, step, fail_at;
    int restarts;
};

static int piece_restart(void *ctx)
{
    struct piece_src *p = ctx;

    p->off = 0;
    p->restarts++;
    return 0;
}

static ptrdiff_t piece_read(void *ctx, char *dst, size_t n)
{
    struct piece_src *p = ctx;

    if (p->off >= p->fail_at)
        return -1;
    if (n > p->step)
        n = p->step;
    if (n > p->len - p->off)
        n = p->len - p->off;
    memcpy(dst, p->text + p->off, n);
    p->off += n;
    return (ptrdiff_t)n;
}

/* A body produced on demand goes out as it is given, with its announced
 * length, plain and gzip-compressed. */
static void test_push_source(void)
{
    static const prex_slice resp[] = {LIT("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
                                      LIT("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")};
    struct piece_src ps = {body_text, sizeof body_text - 1, 0, 5, (size_t)-1, 0};
    prex_push_source src = {piece_restart, piece_read, &ps};
    push_setup su;
    prex_push_request rq = setup_push(&su, resp, 2, "/metrics/job/j");
    prex_push_result res;
    prex_test_str cap = {0}, plain = {0};
    prex_slice r, b;

    rq.body = NULL;
    rq.source = &src;
    rq.len = sizeof body_text - 1;
    PREX_CHECK(prex_push(&rq, &res) == 0, "push failed: %s", res.error);
    PREX_CHECK(ps.restarts >= 1, "the source was not started from its first byte");
    prex_push_result_free(&res);
    rq.gzip = 1;
    PREX_CHECK(prex_push(&rq, &res) == 0, "gzip push failed: %s", res.error);
    prex_push_result_free(&res);
    fake_stop(&su.f, &cap);
    r = nth_request(&cap, 0);
    PREX_CHECK(r.ptr != NULL, "no request recorded");
    if (r.ptr) {
        PREX_CHECK(has_header(r, "Content-Length: 26"), "Content-Length");
        PREX_CHECK(!has_header_name(r, "Transfer-Encoding"), "not chunked");
        b = request_body(r);
        PREX_ASSERT_SLICE_EQ(b, body_text, sizeof body_text - 1);
    }
    r = nth_request(&cap, 1);
    PREX_CHECK(r.ptr != NULL, "no gzip request recorded");
    if (r.ptr) {
        PREX_CHECK(has_header(r, "Content-Encoding: gzip"), "gzip header");
        b = request_body(r);
        PREX_CHECK(gunzip(b.ptr, b.len, &plain) == 0, "body is not gzip");
        prex_test_slice_eq(__FILE__, __LINE__, "gunzipped body", plain.ptr, plain.len,
                           body_text, sizeof body_text - 1, 0);
    }
    prex_test_str_free(&cap);
    prex_test_str_free(&plain);
}

/* A source that fails, or gives fewer or more bytes than announced, is
 * never sent whole: the push fails at once (no retry) and the server
 * never receives the announced length. */
static void test_push_source_failures(void)
{
    static const prex_slice resp[] = {LIT("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")};
    static const struct {
        size_t fail_at;
        long delta; /* announced length minus the source's */
        const char *why;
    } cases[] = {
        {10, 0, "could not be produced"},
        {(size_t)-1, 4, "ended before"},
        {(size_t)-1, -4, "longer than"},
    };
    size_t i;

    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct piece_src ps = {body_text, sizeof body_text - 1, 0, 3, cases[i].fail_at, 0};
        prex_push_source src = {piece_restart, piece_read, &ps};
        size_t announced = (size_t)((long)(sizeof body_text - 1) + cases[i].delta);
        push_setup su;
        prex_push_request rq = setup_push(&su, resp, 1, "/metrics/job/j");
        prex_push_result res;
        prex_test_str cap = {0};
        prex_slice r;

        rq.body = NULL;
        rq.source = &src;
        rq.len = announced;
        rq.retries = 3;
        PREX_CHECK(prex_push(&rq, &res) != 0 && !res.ok, "case %zu: push succeeded", i);
        PREX_CHECK(res.attempts == 1, "case %zu: %u attempts", i, res.attempts);
        PREX_CHECK(strstr(res.error, cases[i].why) != NULL, "case %zu: error \"%s\"", i,
                   res.error);
        prex_push_result_free(&res);
        fake_stop(&su.f, &cap);
        r = nth_request(&cap, 0);
        if (r.ptr)
            PREX_CHECK(request_body(r).len < announced,
                       "case %zu: the server got the whole announced body", i);
        prex_test_str_free(&cap);
    }
}

/* MARK: scrapes */

/* Collects a scrape's body into the prex_test_str in s->ctx. */
static int collect(prex_scrape *s, const char *data, size_t len)
{
    prex_test_str_append(s->ctx, data, len);
    return 0;
}

/* Asks to abort after the first chunk. */
static int refuse(prex_scrape *s, const char *data, size_t len)
{
    (void)s;
    (void)data;
    (void)len;
    return 1;
}

static void test_scrape_concurrent_gzip(void)
{
    static const char om[] = "# TYPE a counter\na_total 1\n# EOF\n";
    prex_buf z;
    prex_test_str r0 = {0}, r1 = {0}, body0 = {0}, body1 = {0}, cap0 = {0}, cap1 = {0};
    prex_slice resp0[1], resp1[1];
    fake_server f0, f1;
    prex_scrape s[2];
    prex_http_config cfg;
    char u0[96], u1[96];
    prex_slice r;

    prex_buf_init(&z, NULL);
    PREX_ASSERT_FATAL(prex_gzip(body_text, sizeof body_text - 1, &z) == 0);
    prex_test_str_printf(&r0, "HTTP/1.1 200 OK\r\nContent-Type: text/plain; version=0.0.4; "
                              "charset=utf-8\r\nContent-Encoding: gzip\r\n"
                              "Content-Length: %zu\r\n\r\n", z.len);
    prex_test_str_append(&r0, z.ptr, z.len);
    prex_test_str_printf(&r1, "HTTP/1.1 200 OK\r\nContent-Type: application/openmetrics-text; "
                              "version=1.0.0; charset=utf-8\r\nContent-Length: %zu\r\n\r\n%s",
                         sizeof om - 1, om);
    resp0[0].ptr = r0.ptr;
    resp0[0].len = r0.len;
    resp1[0].ptr = r1.ptr;
    resp1[0].len = r1.len;
    fake_start(&f0, resp0, 1);
    fake_start(&f1, resp1, 1);
    snprintf(u0, sizeof u0, "http://127.0.0.1:%d/metrics", f0.port);
    snprintf(u1, sizeof u1, "http://127.0.0.1:%d/metrics", f1.port);
    prex_scrape_init(&s[0], u0, collect, &body0);
    prex_scrape_init(&s[1], u1, collect, &body1);
    prex_http_config_init(&cfg);
    cfg.timeout_ms = 5000;
    PREX_CHECK(prex_scrape_all(s, 2, &cfg, NULL) == 0, "scrape_all");
    PREX_CHECK(s[0].result == PREX_SCRAPE_OK && s[1].result == PREX_SCRAPE_OK,
               "results %d %d: %s / %s", s[0].result, s[1].result, s[0].error, s[1].error);
    prex_test_slice_eq(__FILE__, __LINE__, "gunzipped text", body0.ptr, body0.len, body_text,
                       sizeof body_text - 1, 0);
    prex_test_slice_eq(__FILE__, __LINE__, "openmetrics", body1.ptr, body1.len, om,
                       sizeof om - 1, 0);
    PREX_CHECK(strcmp(s[1].content_type,
                      "application/openmetrics-text; version=1.0.0; charset=utf-8") == 0,
               "content type '%s'", s[1].content_type);
    PREX_CHECK(s[0].bytes == sizeof body_text - 1 && s[0].status == 200, "bytes %lu",
               (unsigned long)s[0].bytes);
    fake_stop(&f0, &cap0);
    fake_stop(&f1, &cap1);
    r = nth_request(&cap0, 0);
    PREX_CHECK(r.ptr && starts_with_line(r, "GET /metrics HTTP/1.1"), "request line");
    PREX_CHECK(r.ptr && has_header(r, "Accept: " PREX_HTTP_ACCEPT), "Prometheus's Accept");
    PREX_CHECK(r.ptr && has_header(r, "Accept-Encoding: gzip"), "Accept-Encoding");
    PREX_CHECK(r.ptr && has_header(r, "X-Prometheus-Scrape-Timeout-Seconds: 5.000"),
               "scrape timeout header");
    prex_scrape_free(&s[0]);
    prex_scrape_free(&s[1]);
    prex_buf_free(&z);
    prex_test_str_free(&r0);
    prex_test_str_free(&r1);
    prex_test_str_free(&body0);
    prex_test_str_free(&body1);
    prex_test_str_free(&cap0);
    prex_test_str_free(&cap1);
}

static void test_scrape_failures(void)
{
    static const prex_slice resp404[] = {
        LIT("HTTP/1.1 404 Not Found\r\nContent-Length: 19\r\n\r\n404 page not found\n"),
    };
    static const prex_slice resp_ok[] = {
        LIT("HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nx 1\n"),
    };
    prex_test_str got = {0}, cap = {0};
    fake_server f404, fok;
    prex_scrape s[4];
    prex_http_config cfg;
    char u[4][96];
    int hang_port, hang = listen_loopback(&hang_port);
    long long t0;

    fake_start(&f404, resp404, 1);
    fake_start(&fok, resp_ok, 1);
    snprintf(u[0], sizeof u[0], "http://127.0.0.1:%d/metrics", f404.port);
    snprintf(u[1], sizeof u[1], "http://127.0.0.1:%d/metrics", hang_port);
    snprintf(u[2], sizeof u[2], "http://127.0.0.1:%d/metrics", closed_port());
    snprintf(u[3], sizeof u[3], "http://127.0.0.1:%d/metrics", fok.port);
    prex_scrape_init(&s[0], u[0], collect, &got);
    prex_scrape_init(&s[1], u[1], collect, &got);
    prex_scrape_init(&s[2], u[2], collect, &got);
    prex_scrape_init(&s[3], u[3], refuse, NULL);
    prex_http_config_init(&cfg);
    cfg.timeout_ms = 400;
    t0 = mono_ms();
    prex_scrape_all(s, 4, &cfg, NULL);
    PREX_CHECK(mono_ms() - t0 < 400 + 600, "took %lld ms with a 400 ms timeout",
               mono_ms() - t0);
    PREX_CHECK(s[0].result == PREX_SCRAPE_E_STATUS && s[0].status == 404, "404: %d",
               s[0].result);
    PREX_CHECK(strcmp(s[0].error, "HTTP status 404: 404 page not found") == 0, "404 text '%s'",
               s[0].error);
    PREX_CHECK(s[1].result == PREX_SCRAPE_E_TRANSPORT && strstr(s[1].error, "imed out"),
               "timeout: %d '%s'", s[1].result, s[1].error);
    PREX_CHECK(s[2].result == PREX_SCRAPE_E_TRANSPORT, "refused: %d '%s'", s[2].result,
               s[2].error);
    PREX_CHECK(s[3].result == PREX_SCRAPE_E_ABORTED, "aborted by the consumer: %d",
               s[3].result);
    PREX_CHECK(got.len == 0, "no body from a failed scrape");
    close(hang);
    fake_stop(&f404, &cap);
    fake_stop(&fok, &cap);
    for (t0 = 0; t0 < 4; t0++)
        prex_scrape_free(&s[t0]);
    prex_test_str_free(&got);
    prex_test_str_free(&cap);
}

static void test_scrape_stop_flag(void)
{
    prex_test_str got = {0};
    prex_scrape s;
    prex_http_config cfg;
    volatile sig_atomic_t stop = 1;
    char u[96];
    int port, fd = listen_loopback(&port);
    long long t0;

    snprintf(u, sizeof u, "http://127.0.0.1:%d/metrics", port);
    prex_scrape_init(&s, u, collect, &got);
    prex_http_config_init(&cfg);
    cfg.timeout_ms = 20000;
    t0 = mono_ms();
    prex_scrape_all(&s, 1, &cfg, &stop);
    PREX_CHECK(mono_ms() - t0 < 1000, "stopping took %lld ms", mono_ms() - t0);
    PREX_CHECK(s.result == PREX_SCRAPE_E_ABORTED, "result %d", s.result);
    prex_scrape_free(&s);
    close(fd);
    prex_test_str_free(&got);
}

/* MARK: textfile */

/* Makes a fresh directory under /tmp into dir (64 bytes). */
static void make_dir(char *dir)
{
    strcpy(dir, "/tmp/prex-test-textfile-XXXXXX");
    PREX_ASSERT_FATAL(mkdtemp(dir) != NULL);
}

/* Number of entries in dir besides "." and "..". */
static size_t count_entries(const char *dir)
{
    size_t n = 0;
    char **list = prex_test_list_dir(dir, &n);

    prex_test_free_list(list);
    return n;
}

static void test_textfile_write_replace(void)
{
    char dir[64], path[128], err[256];
    struct stat st1, st2;
    size_t len;
    char *got;
    mode_t old = umask(022);

    make_dir(dir);
    snprintf(path, sizeof path, "%s/relay.prom", dir);
    PREX_CHECK(prex_textfile_write(path, "a 1\n", 4, err, sizeof err) == 0, "%s", err);
    got = prex_test_read_file(path, &len);
    PREX_CHECK(got && len == 4 && memcmp(got, "a 1\n", 4) == 0, "first content");
    free(got);
    PREX_CHECK(stat(path, &st1) == 0 && (st1.st_mode & 0777) == 0644, "mode %o",
               (unsigned)(st1.st_mode & 0777));
    PREX_CHECK(prex_textfile_write(path, "b 2\nc 3\n", 8, err, sizeof err) == 0, "%s", err);
    got = prex_test_read_file(path, &len);
    PREX_CHECK(got && len == 8 && memcmp(got, "b 2\nc 3\n", 8) == 0, "replaced content");
    free(got);
    PREX_CHECK(stat(path, &st2) == 0 && st2.st_ino != st1.st_ino, "replaced by rename");
    PREX_CHECK(count_entries(dir) == 1, "no temporary file left");
    umask(old);
    unlink(path);
    rmdir(dir);
}

/* The file written in steps: appends land in order; an abort leaves the
 * old file and no temporary file. */
static void test_textfile_steps(void)
{
    char dir[64], path[128], err[256];
    prex_textfile tf;
    size_t len;
    char *got;

    make_dir(dir);
    snprintf(path, sizeof path, "%s/relay.prom", dir);
    PREX_CHECK(prex_textfile_open(&tf, path, err, sizeof err) == 0, "%s", err);
    PREX_CHECK(count_entries(dir) == 1, "the temporary file exists");
    PREX_CHECK(prex_textfile_append(&tf, "a 1\n", 4, err, sizeof err) == 0, "%s", err);
    PREX_CHECK(prex_textfile_append(&tf, "", 0, err, sizeof err) == 0, "%s", err);
    PREX_CHECK(prex_textfile_append(&tf, "b 2\n", 4, err, sizeof err) == 0, "%s", err);
    got = prex_test_read_file(path, &len);
    PREX_CHECK(got == NULL, "the target appears only at commit");
    free(got);
    PREX_CHECK(prex_textfile_commit(&tf, err, sizeof err) == 0, "%s", err);
    got = prex_test_read_file(path, &len);
    PREX_CHECK(got && len == 8 && memcmp(got, "a 1\nb 2\n", 8) == 0, "content");
    free(got);
    PREX_CHECK(prex_textfile_open(&tf, path, err, sizeof err) == 0, "%s", err);
    PREX_CHECK(prex_textfile_append(&tf, "c 3\n", 4, err, sizeof err) == 0, "%s", err);
    prex_textfile_abort(&tf);
    got = prex_test_read_file(path, &len);
    PREX_CHECK(got && len == 8 && memcmp(got, "a 1\nb 2\n", 8) == 0,
               "the old file stays after an abort");
    free(got);
    PREX_CHECK(count_entries(dir) == 1, "no temporary file left");
    unlink(path);
    rmdir(dir);
}

static void test_textfile_failures(void)
{
    char dir[64], path[128], err[256];
    size_t len;
    char *got;

    make_dir(dir);
    snprintf(path, sizeof path, "%s/missing/relay.prom", dir);
    PREX_CHECK(prex_textfile_write(path, "a 1\n", 4, err, sizeof err) != 0 && errno == ENOENT,
               "missing directory");
    PREX_CHECK(strstr(err, path) != NULL, "message names the file: %s", err);
    /* the target is a directory: rename fails, nothing is left behind */
    snprintf(path, sizeof path, "%s/sub.prom", dir);
    PREX_ASSERT_FATAL(mkdir(path, 0755) == 0);
    PREX_CHECK(prex_textfile_write(path, "a 1\n", 4, err, sizeof err) != 0, "over a directory");
    PREX_CHECK(count_entries(dir) == 1, "the temporary file was removed");
    rmdir(path);
    /* an empty body makes an empty file */
    snprintf(path, sizeof path, "%s/rel.prom", dir);
    PREX_CHECK(prex_textfile_write(path, "", 0, err, sizeof err) == 0, "empty file: %s", err);
    got = prex_test_read_file(path, &len);
    PREX_CHECK(got && len == 0, "empty content");
    free(got);
    unlink(path);
    rmdir(dir);
}

/* MARK: suites */

static CU_TestInfo push_tests[] = {
    {"base64_vectors", test_base64_vectors},
    {"value_is_plain", test_value_is_plain},
    {"label_name_ok", test_label_name_ok},
    {"url_plain", test_url_plain},
    {"url_base64", test_url_base64},
    {"url_errors", test_url_errors},
    {"gzip_roundtrip", test_gzip_roundtrip},
    {"put", test_push_put},
    {"source", test_push_source},
    {"source_failures", test_push_source_failures},
    {"gzip_post", test_push_gzip_post},
    {"delete", test_push_delete},
    {"auth_headers", test_push_auth_headers},
    {"retry_5xx", test_push_retry_5xx},
    {"retries_bounded", test_push_retries_bounded},
    {"status_400_final", test_push_400_final},
    {"redirect_not_followed", test_push_redirect_not_followed},
    {"refused_within_budget", test_push_refused_within_budget},
    {"stop_flag", test_push_stop_flag},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo scrape_tests[] = {
    {"concurrent_gzip", test_scrape_concurrent_gzip},
    {"failures", test_scrape_failures},
    {"stop_flag", test_scrape_stop_flag},
    CU_TEST_INFO_NULL,
};

static CU_TestInfo textfile_tests[] = {
    {"write_replace", test_textfile_write_replace},
    {"steps", test_textfile_steps},
    {"failures", test_textfile_failures},
    CU_TEST_INFO_NULL,
};

/* curl's global state, set up once for the suites that use it. */
static int http_init(void)
{
    return prex_http_global_init();
}

static int http_cleanup(void)
{
    prex_http_global_cleanup();
    return 0;
}

CU_SuiteInfo prex_push_suites[] = {
    {.pName = "push",
     .pInitFunc = http_init,
     .pCleanupFunc = http_cleanup,
     .pSetUpFunc = NULL,
     .pTearDownFunc = NULL,
     .pTests = push_tests},
    {.pName = "scrape",
     .pInitFunc = http_init,
     .pCleanupFunc = http_cleanup,
     .pSetUpFunc = NULL,
     .pTearDownFunc = NULL,
     .pTests = scrape_tests},
    {.pName = "textfile",
     .pInitFunc = NULL,
     .pCleanupFunc = NULL,
     .pSetUpFunc = NULL,
     .pTearDownFunc = NULL,
     .pTests = textfile_tests},
    CU_SUITE_INFO_NULL,
};
