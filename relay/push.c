/*
 * push.c - the Pushgateway sink: grouping-key URLs with @base64 values,
 * gzip bodies, and a PUT, POST or DELETE with bounded retries.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <zlib.h>

#include "push.h"

/* MARK: base64 */

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t prex_base64url_len(size_t len)
{
    return len / 3 * 4 + (len % 3 == 0 ? 0 : len % 3 + 1);
}

/* Three bytes make four characters; a last group of one or two bytes
 * makes two or three characters (no '=' padding). */
size_t prex_base64url(const char *in, size_t len, char *out)
{
    const unsigned char *s = (const unsigned char *)in;
    size_t i, o = 0;

    for (i = 0; i + 3 <= len; i += 3) {
        unsigned long v = (unsigned long)s[i] << 16 | (unsigned long)s[i + 1] << 8 | s[i + 2];

        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
        out[o++] = b64url[v & 63];
    }
    if (len - i == 1) {
        unsigned long v = (unsigned long)s[i] << 16;

        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
    } else if (len - i == 2) {
        unsigned long v = (unsigned long)s[i] << 16 | (unsigned long)s[i + 1] << 8;

        out[o++] = b64url[v >> 18 & 63];
        out[o++] = b64url[v >> 12 & 63];
        out[o++] = b64url[v >> 6 & 63];
    }
    return o;
}

/* MARK: grouping key */

int prex_push_value_is_plain(const char *value, size_t len)
{
    size_t i;

    if (len == 0 || (len == 1 && value[0] == '.') ||
        (len == 2 && value[0] == '.' && value[1] == '.'))
        return 0;
    for (i = 0; i < len; i++) {
        char c = value[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '~' || c == '-'))
            return 0;
    }
    return 1;
}

int prex_push_label_name_ok(const char *name, size_t len)
{
    prex_slice s;

    s.ptr = name;
    s.len = len;
    if (len == 0 || !prex_is_legacy_label_name(s))
        return 0;
    return !(len >= 2 && name[0] == '_' && name[1] == '_');
}

/* Appends "/<name>/<value>" or "/<name>@base64/<encoded>" to out.
 * Returns 0 or -1 when out of memory. */
static int put_pair(prex_buf *out, const char *name, const char *value)
{
    size_t vlen = strlen(value);
    int rc = 0;

    rc |= prex_buf_putc(out, '/');
    rc |= prex_buf_puts(out, name);
    if (prex_push_value_is_plain(value, vlen)) {
        rc |= prex_buf_putc(out, '/');
        rc |= prex_buf_append(out, value, vlen);
        return rc;
    }
    rc |= prex_buf_puts(out, "@base64/");
    if (vlen == 0)
        return rc | prex_buf_putc(out, '=');
    if (rc != 0 || prex_buf_make_room(out, prex_base64url_len(vlen)) != 0)
        return -1;
    prex_buf_incr_len(out, prex_base64url(value, vlen, prex_buf_space(out)));
    return 0;
}

prex_push_url_result prex_push_url(prex_buf *out, const char *base, const char *job,
                                   const prex_group_label *labels, size_t n, size_t *bad)
{
    size_t blen = strlen(base), i, j;

    if (bad)
        *bad = n;
    prex_buf_clear(out);
    if (!((blen > 7 && strncmp(base, "http://", 7) == 0) ||
          (blen > 8 && strncmp(base, "https://", 8) == 0)))
        return PREX_PUSH_URL_E_BASE;
    if (job[0] == '\0')
        return PREX_PUSH_URL_E_JOB;
    for (i = 0; i < n; i++) {
        size_t nl = strlen(labels[i].name);

        if (bad)
            *bad = i;
        if (!prex_push_label_name_ok(labels[i].name, nl))
            return PREX_PUSH_URL_E_NAME;
        if (strcmp(labels[i].name, "job") == 0)
            return PREX_PUSH_URL_E_DUP;
        for (j = 0; j < i; j++)
            if (strcmp(labels[j].name, labels[i].name) == 0)
                return PREX_PUSH_URL_E_DUP;
    }
    if (bad)
        *bad = n;
    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    if (prex_buf_append(out, base, blen) != 0 || prex_buf_puts(out, "/metrics") != 0 ||
        put_pair(out, "job", job) != 0)
        return PREX_PUSH_URL_E_MEMORY;
    for (i = 0; i < n; i++)
        if (put_pair(out, labels[i].name, labels[i].value) != 0)
            return PREX_PUSH_URL_E_MEMORY;
    return PREX_PUSH_URL_OK;
}

const char *prex_push_url_strerror(prex_push_url_result r)
{
    switch (r) {
    case PREX_PUSH_URL_OK:
        return "no error";
    case PREX_PUSH_URL_E_BASE:
        return "the Pushgateway URL must start with http:// or https://";
    case PREX_PUSH_URL_E_JOB:
        return "the job must not be empty";
    case PREX_PUSH_URL_E_NAME:
        return "invalid grouping label name (expected [a-zA-Z_][a-zA-Z0-9_]*, not "
               "starting with __)";
    case PREX_PUSH_URL_E_DUP:
        return "grouping label given twice (the job is given with --job)";
    case PREX_PUSH_URL_E_MEMORY:
        return "out of memory";
    }
    return "unknown error";
}

/* MARK: gzip */

/* A body in memory, as a prex_push_source. */
struct membody {
    const char *ptr;
    size_t len, off;
};

static int mem_restart(void *ctx)
{
    ((struct membody *)ctx)->off = 0;
    return 0;
}

static ptrdiff_t mem_read(void *ctx, char *dst, size_t n)
{
    struct membody *b = ctx;

    if (n > b->len - b->off)
        n = b->len - b->off;
    memcpy(dst, b->ptr + b->off, n);
    b->off += n;
    return (ptrdiff_t)n;
}

int prex_gzip_source(const prex_push_source *src, prex_buf *out)
{
    enum { CHUNK = 64 * 1024 };
    z_stream z;
    char *in;
    int rc = Z_OK, flush = Z_NO_FLUSH;

    prex_buf_clear(out);
    if (src->restart(src->ctx) != 0)
        return -1;
    in = malloc(CHUNK);
    if (!in)
        return -1;
    memset(&z, 0, sizeof z);
    /* windowBits 15 + 16: a gzip header and trailer instead of zlib's */
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK) {
        free(in);
        return -1;
    }
    while (rc != Z_STREAM_END) {
        if (z.avail_in == 0 && flush == Z_NO_FLUSH) {
            ptrdiff_t n = src->read(src->ctx, in, CHUNK);

            if (n < 0)
                goto fail;
            z.next_in = (Bytef *)in;
            z.avail_in = (uInt)n;
            if (n == 0)
                flush = Z_FINISH;
        }
        if (prex_buf_make_room(out, CHUNK) != 0)
            goto fail;
        z.next_out = (Bytef *)prex_buf_space(out);
        z.avail_out = CHUNK;
        rc = deflate(&z, flush);
        if (rc == Z_STREAM_ERROR)
            goto fail;
        prex_buf_incr_len(out, CHUNK - z.avail_out);
    }
    deflateEnd(&z);
    free(in);
    return 0;
fail:
    deflateEnd(&z);
    free(in);
    return -1;
}

int prex_gzip(const char *in, size_t len, prex_buf *out)
{
    struct membody b = { in, len, 0 };
    prex_push_source src = { mem_restart, mem_read, &b };

    return prex_gzip_source(&src, out);
}

/* MARK: pushing */

const char *prex_push_method_name(prex_push_method m)
{
    return m == PREX_PUSH_POST ? "POST" : m == PREX_PUSH_DELETE ? "DELETE" : "PUT";
}

/* The body being sent, read by curl through upload_read(): len bytes
 * from src, exactly. */
struct upload {
    const prex_push_source *src;
    size_t len;
    size_t off;
    const char *error;  /* why the body could not be produced, or NULL */
};

/* curl's read callback: the next bytes of the body. A source that fails,
 * or gives more or fewer bytes than announced, aborts the transfer: the
 * server never sees a complete body, so it stores nothing. */
static size_t upload_read(char *dst, size_t size, size_t nmemb, void *userp)
{
    struct upload *u = userp;
    size_t n = size * nmemb, left = u->len - u->off;
    ptrdiff_t got;

    if (left == 0)
        return 0;
    if (n > left)
        n = left;
    got = u->src->read(u->src->ctx, dst, n);
    if (got < 0) {
        u->error = "the body could not be produced";
        return CURL_READFUNC_ABORT;
    }
    if (got == 0) {
        u->error = "the body ended before its announced length";
        return CURL_READFUNC_ABORT;
    }
    u->off += (size_t)got;
    if (u->off == u->len) {
        char extra;

        if (u->src->read(u->src->ctx, &extra, 1) != 0) {
            u->error = "the body is longer than its announced length";
            return CURL_READFUNC_ABORT;
        }
    }
    return (size_t)got;
}

/* curl's seek callback, for a body that must be sent again (an
 * authentication round trip): only back to the start. */
static int upload_seek(void *userp, curl_off_t offset, int origin)
{
    struct upload *u = userp;

    if (origin != SEEK_SET || offset != 0 || u->src->restart(u->src->ctx) != 0)
        return CURL_SEEKFUNC_CANTSEEK;
    u->off = 0;
    return CURL_SEEKFUNC_OK;
}

/* curl's write callback: keeps the first PREX_PUSH_RESPONSE_MAX bytes of
 * the answer. */
static size_t response_write(char *data, size_t size, size_t nmemb, void *userp)
{
    prex_buf *b = userp;
    size_t n = size * nmemb;
    size_t room = PREX_PUSH_RESPONSE_MAX > b->len ? PREX_PUSH_RESPONSE_MAX - b->len : 0;

    if (prex_buf_append(b, data, n < room ? n : room) != 0)
        return 0;
    return n;
}

/* Milliseconds on the monotonic clock. */
static long long now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Sleeps ms milliseconds in slices of at most 100 ms, returning early
 * when *stop becomes set. */
static void backoff_sleep(long ms, volatile sig_atomic_t *stop)
{
    long long end = now_ms() + ms;

    for (;;) {
        long long left = end - now_ms();
        struct timespec ts;

        if (left <= 0 || (stop && *stop))
            return;
        if (left > 100)
            left = 100;
        ts.tv_sec = 0;
        ts.tv_nsec = (long)left * 1000000L;
        nanosleep(&ts, NULL);
    }
}

/* Nonzero when the curl error means the request may not have reached a
 * working server, so that sending it again is safe and may help. */
static int retryable_curl(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
        return 1;
    default:
        return 0;
    }
}

/* Outcome of one attempt. */
enum { ATTEMPT_OK, ATTEMPT_RETRY, ATTEMPT_FAIL };

/*
 * Makes one request with budget_ms as its timeout. Fills res->status,
 * res->error and res->response. Returns ATTEMPT_OK, ATTEMPT_RETRY (a
 * connection error or a 5xx) or ATTEMPT_FAIL.
 */
static int attempt(const prex_push_request *req, const prex_push_source *body, size_t len,
                   int gzip, long budget_ms, prex_push_result *res)
{
    prex_http_config cfg = *req->http;
    struct curl_slist *extra = NULL, *hdrs = NULL;
    struct upload up;
    char curlerr[CURL_ERROR_SIZE];
    CURLcode rc = CURLE_OK;
    CURL *h;
    long status = 0;
    int out;

    res->status = 0;
    res->error[0] = '\0';
    prex_buf_clear(&res->response);
    h = curl_easy_init();
    if (!h) {
        snprintf(res->error, sizeof res->error, "cannot create a transfer");
        return ATTEMPT_FAIL;
    }
    cfg.timeout_ms = budget_ms;
    if (req->method != PREX_PUSH_DELETE) {
        extra = curl_slist_append(NULL, "Content-Type: " PREX_PUSH_CONTENT_TYPE);
        if (extra)
            extra = curl_slist_append(extra, "Expect:");
        if (extra && gzip)
            extra = curl_slist_append(extra, "Content-Encoding: gzip");
        if (!extra) {
            snprintf(res->error, sizeof res->error, "out of memory");
            curl_easy_cleanup(h);
            return ATTEMPT_FAIL;
        }
    }
    if (prex_http_setup(h, &cfg, extra, &hdrs, res->error, sizeof res->error) != 0) {
        curl_easy_cleanup(h);
        return ATTEMPT_FAIL;
    }
    up.src = body;
    up.len = len;
    up.off = 0;
    up.error = NULL;
    if (req->method != PREX_PUSH_DELETE && body->restart(body->ctx) != 0) {
        snprintf(res->error, sizeof res->error, "the body could not be produced");
        curl_easy_cleanup(h);
        curl_slist_free_all(hdrs);
        return ATTEMPT_FAIL;
    }
    curlerr[0] = '\0';
#define SET(opt, val)                                                          \
    do {                                                                       \
        if (rc == CURLE_OK)                                                    \
            rc = curl_easy_setopt(h, opt, val);                                \
    } while (0)
    SET(CURLOPT_URL, req->url);
    SET(CURLOPT_FOLLOWLOCATION, 0L);
    SET(CURLOPT_ERRORBUFFER, curlerr);
    SET(CURLOPT_WRITEFUNCTION, response_write);
    SET(CURLOPT_WRITEDATA, &res->response);
    if (hdrs)
        SET(CURLOPT_HTTPHEADER, hdrs);
    switch (req->method) {
    case PREX_PUSH_PUT:
        SET(CURLOPT_UPLOAD, 1L);
        SET(CURLOPT_INFILESIZE_LARGE, (curl_off_t)len);
        break;
    case PREX_PUSH_POST:
        SET(CURLOPT_POST, 1L);
        SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
        break;
    case PREX_PUSH_DELETE:
        SET(CURLOPT_CUSTOMREQUEST, "DELETE");
        break;
    }
    if (req->method != PREX_PUSH_DELETE) {
        SET(CURLOPT_READFUNCTION, upload_read);
        SET(CURLOPT_READDATA, &up);
        SET(CURLOPT_SEEKFUNCTION, upload_seek);
        SET(CURLOPT_SEEKDATA, &up);
    }
#undef SET
    if (rc != CURLE_OK) {
        snprintf(res->error, sizeof res->error, "cannot set up the request: %s",
                 curl_easy_strerror(rc));
        curl_easy_cleanup(h);
        curl_slist_free_all(hdrs);
        return ATTEMPT_FAIL;
    }
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(h);
    curl_slist_free_all(hdrs);

    res->status = status;
    if (rc != CURLE_OK && up.error) {
        snprintf(res->error, sizeof res->error, "%s; the push was abandoned", up.error);
        out = ATTEMPT_FAIL;
    } else if (rc != CURLE_OK) {
        snprintf(res->error, sizeof res->error, "%s", curlerr[0] ? curlerr
                                                                 : curl_easy_strerror(rc));
        out = retryable_curl(rc) ? ATTEMPT_RETRY : ATTEMPT_FAIL;
    } else if (status == 200 || status == 202) {
        out = ATTEMPT_OK;
    } else {
        snprintf(res->error, sizeof res->error, "HTTP status %ld", status);
        out = status >= 500 && status <= 599 ? ATTEMPT_RETRY : ATTEMPT_FAIL;
    }
    return out;
}

/*
 * Pushes (see push.h). The time budget starts now: each attempt gets what
 * is left of it as its timeout, and a backoff that would end past it is
 * not started.
 */
int prex_push(const prex_push_request *req, prex_push_result *res)
{
    long long start = now_ms(), deadline = 0;
    struct membody mem = { req->body ? req->body : "", req->body ? req->len : 0, 0 };
    prex_push_source memsrc = { mem_restart, mem_read, &mem };
    const prex_push_source *body = req->source ? req->source : &memsrc;
    size_t len = req->source ? req->len : mem.len;
    unsigned retries = req->retries > PREX_PUSH_MAX_RETRIES ? PREX_PUSH_MAX_RETRIES
                                                            : req->retries;
    prex_buf z;
    int gzip = req->gzip && req->method != PREX_PUSH_DELETE;
    int rc = -1;

    memset(res, 0, sizeof *res);
    prex_buf_init(&res->response, NULL);
    prex_buf_init(&z, NULL);
    if (req->method == PREX_PUSH_DELETE) {
        body = &memsrc;
        mem.len = len = 0;
    }
    if (gzip) {
        /* compressed whole (a fraction of the text): its length must be
         * known before the request starts */
        if (prex_gzip_source(body, &z) != 0) {
            snprintf(res->error, sizeof res->error, "cannot gzip the body");
            prex_buf_free(&z);
            return -1;
        }
        mem.ptr = z.ptr;
        mem.len = len = z.len;
        body = &memsrc;
    }
    res->sent_bytes = len;
    if (req->http->timeout_ms > 0)
        deadline = start + req->http->timeout_ms;

    for (;;) {
        long budget = 0;
        int out;

        if (deadline) {
            long long left = deadline - now_ms();

            if (left <= 0) {
                if (res->error[0] == '\0')
                    snprintf(res->error, sizeof res->error, "timed out");
                break;
            }
            budget = (long)left;
        }
        res->attempts++;
        out = attempt(req, body, len, gzip, budget, res);
        if (out == ATTEMPT_OK) {
            res->ok = 1;
            rc = 0;
            break;
        }
        if (out == ATTEMPT_FAIL || res->attempts > retries || (req->stop && *req->stop))
            break;
        {
            unsigned k = res->attempts - 1;
            long delay = k >= 5 ? PREX_PUSH_BACKOFF_MAX_MS : PREX_PUSH_BACKOFF_MS << k;

            if (delay > PREX_PUSH_BACKOFF_MAX_MS)
                delay = PREX_PUSH_BACKOFF_MAX_MS;
            if (deadline && now_ms() + delay >= deadline)
                break;
            if (req->on_retry)
                req->on_retry(req->retry_ctx, res->attempts, delay, res->error);
            backoff_sleep(delay, req->stop);
            if (req->stop && *req->stop)
                break;
        }
    }
    res->seconds = (double)(now_ms() - start) / 1000.0;
    prex_buf_free(&z);
    return rc;
}

void prex_push_result_free(prex_push_result *res)
{
    prex_buf_free(&res->response);
}
