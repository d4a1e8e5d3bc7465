/*
 * push.h - the Pushgateway sink: the grouping-key URL (job and labels,
 * @base64 where a value needs it), gzip of the body, and one PUT, POST or
 * DELETE with bounded retries.
 *
 * Usage recipe (replace the group {job="node",host="a/b"}):
 *
 *     prex_group_label g[] = { { "host", "a/b" } };
 *     prex_buf url;
 *     prex_buf_init(&url, NULL);
 *     if (prex_push_url(&url, "http://pgw:9091", "node", g, 1) != PREX_PUSH_URL_OK)
 *         fail();
 *     // url.ptr: http://pgw:9091/metrics/job/node/host@base64/YS9i
 *     prex_push_request rq = { .url = url.ptr, .method = PREX_PUSH_PUT,
 *                              .body = body, .len = len, .http = &cfg,
 *                              .retries = 3 };
 *     prex_push_result res;
 *     prex_push(&rq, &res);
 *     if (!res.ok) report(res.status, res.error, res.response.ptr);
 *     prex_push_result_free(&res);
 *
 * What the Pushgateway accepts is in the project's Pushgateway notes: a
 * value with '/' or an empty value can only travel base64-encoded, '%2F'
 * and '//' break the route, and '+' is not a space in a path. So every
 * value that is empty, is "." or "..", or has a byte outside
 * [A-Za-z0-9._~-] is sent as NAME@base64/<RFC 4648 URL-safe base64,
 * unpadded> ("=" for the empty value); nothing is ever form-encoded.
 */
#ifndef PREX_PUSH_H
#define PREX_PUSH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "http.h"

#ifdef __cplusplus
extern "C" {
#endif

/* MARK: compile-time options */

/* Bytes of the server's answer kept (the rest is counted, not stored). */
#ifndef PREX_PUSH_RESPONSE_MAX
#define PREX_PUSH_RESPONSE_MAX (64 * 1024)
#endif

/* Backoff before retry k (0-based): PREX_PUSH_BACKOFF_MS << k, at most
 * PREX_PUSH_BACKOFF_MAX_MS, and never past the push's time budget. */
#ifndef PREX_PUSH_BACKOFF_MS
#define PREX_PUSH_BACKOFF_MS 500L
#endif
#ifndef PREX_PUSH_BACKOFF_MAX_MS
#define PREX_PUSH_BACKOFF_MAX_MS 8000L
#endif

/* Most retries a push may ask for. */
#define PREX_PUSH_MAX_RETRIES 10

/* The Content-Type of a pushed body. */
#define PREX_PUSH_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* MARK: grouping key */

/* One grouping label besides job: NUL-terminated name and value. */
typedef struct prex_group_label {
    const char *name;
    const char *value;
} prex_group_label;

/* Result of prex_push_url(). */
typedef enum prex_push_url_result {
    PREX_PUSH_URL_OK = 0,
    PREX_PUSH_URL_E_BASE,    /* base is not an http:// or https:// URL */
    PREX_PUSH_URL_E_JOB,     /* empty job */
    PREX_PUSH_URL_E_NAME,    /* a label name the Pushgateway refuses */
    PREX_PUSH_URL_E_DUP,     /* a label name given twice, or "job" */
    PREX_PUSH_URL_E_MEMORY
} prex_push_url_result;

/*
 * Encodes in[0..len) in RFC 4648 base64 with the URL-safe alphabet ('-'
 * and '_') and no padding. out must hold prex_base64url_len(len) bytes;
 * nothing else is written (no NUL). Returns the length written.
 */
size_t prex_base64url(const char *in, size_t len, char *out);
size_t prex_base64url_len(size_t len);

/* Nonzero when value[0..len) can go into a push URL as it is: not empty,
 * not "." or "..", only [A-Za-z0-9._~-]. */
int prex_push_value_is_plain(const char *value, size_t len);

/* Nonzero when name[0..len) is a grouping label name the Pushgateway
 * accepts: [a-zA-Z_][a-zA-Z0-9_]* and not starting with "__". */
int prex_push_label_name_ok(const char *name, size_t len);

/*
 * Builds the URL of a group into out (cleared first; NUL-terminated):
 * base without its trailing '/'s, then /metrics/job/<job> and
 * /<name>/<value> for every label in the order given, each value plain or
 * @base64 (see above).
 *   base:   http:// or https:// URL of the Pushgateway, with its route
 *           prefix if it has one.
 *   job:    the job, not empty.
 *   labels: n grouping labels; names distinct and not "job".
 * On error *bad (if not NULL) is set to the index of the label at fault
 * (or n for the job or the base). Returns PREX_PUSH_URL_OK or an error.
 */
prex_push_url_result prex_push_url(prex_buf *out, const char *base, const char *job,
                                   const prex_group_label *labels, size_t n, size_t *bad);

/* What a prex_push_url_result means, for messages. */
const char *prex_push_url_strerror(prex_push_url_result r);

/* MARK: gzip */

/*
 * A body produced on demand, so that it need not be in memory whole.
 *   restart: go back to the first byte; 0, or -1 when it cannot.
 *   read:    copy up to n next bytes to dst; returns how many (0 only at
 *            the end), or -1 on error.
 * A source must give the same bytes after every restart.
 */
typedef struct prex_push_source {
    int (*restart)(void *ctx);
    ptrdiff_t (*read)(void *ctx, char *dst, size_t n);
    void *ctx;
} prex_push_source;

/*
 * Compresses in[0..len) (prex_gzip()) or everything src gives from its
 * start (prex_gzip_source()) into out (cleared first) as one gzip member
 * (RFC 1952), as the Pushgateway's "Content-Encoding: gzip" expects.
 * Returns 0, or -1 when the source or zlib fails or memory runs out.
 */
int prex_gzip(const char *in, size_t len, prex_buf *out);
int prex_gzip_source(const prex_push_source *src, prex_buf *out);

/* MARK: pushing */

typedef enum prex_push_method {
    PREX_PUSH_PUT = 0,  /* replace the whole group */
    PREX_PUSH_POST,     /* replace the families the body names */
    PREX_PUSH_DELETE    /* remove the group */
} prex_push_method;

/* "PUT", "POST" or "DELETE". */
const char *prex_push_method_name(prex_push_method m);

/* Called before each retry: attempt is the one that failed (1-based),
 * delay_ms the wait before the next, why what went wrong. */
typedef void (*prex_push_retry_fn)(void *ctx, unsigned attempt, long delay_ms,
                                   const char *why);

/* One push. Everything is borrowed for the duration of prex_push(). */
typedef struct prex_push_request {
    const char *url;              /* the group's URL (prex_push_url()) */
    prex_push_method method;
    const char *body;             /* text 0.0.4; ignored for DELETE */
    size_t len;                   /* body's length, or source's exact one */
    const prex_push_source *source; /* NULL, or the body produced on demand
                                   * instead of body (restarted for every
                                   * attempt); a source that fails or
                                   * gives another length than len aborts
                                   * the upload, so nothing is stored */
    int gzip;                     /* send the body gzip-compressed */
    unsigned retries;             /* further attempts after a connection
                                   * error or a 5xx, at most
                                   * PREX_PUSH_MAX_RETRIES */
    const prex_http_config *http; /* timeout_ms bounds the whole push,
                                   * retries and waits included */
    volatile sig_atomic_t *stop;  /* NULL, or set by a signal handler: no
                                   * further retry starts */
    prex_push_retry_fn on_retry;  /* NULL, or told about each retry */
    void *retry_ctx;
} prex_push_request;

/* What happened. */
typedef struct prex_push_result {
    int ok;                       /* the Pushgateway accepted it */
    long status;                  /* the last answer's HTTP status, 0: none */
    unsigned attempts;
    double seconds;               /* all attempts and waits */
    uint64_t sent_bytes;          /* body bytes per attempt (after gzip) */
    char error[400];              /* why it failed ("" when ok) */
    prex_buf response;            /* the last answer's body, verbatim, at
                                   * most PREX_PUSH_RESPONSE_MAX bytes */
} prex_push_result;

/*
 * Sends the request: PUT and POST with the body (streamed by a read
 * callback from memory or from the source, with Content-Type
 * PREX_PUSH_CONTENT_TYPE; when gzip is set the body is compressed whole
 * first and sent with "Content-Encoding: gzip"), DELETE without a body
 * and without body headers. Redirects are not followed. Success is 200 or 202. A
 * connection error or a 5xx answer is retried after a backoff while
 * retries and the time budget last; any other answer (a 400 above all) is
 * final. res is initialised here; free it with prex_push_result_free().
 * Returns 0 when the push was accepted, -1 otherwise.
 */
int prex_push(const prex_push_request *req, prex_push_result *res);

void prex_push_result_free(prex_push_result *res);

#ifdef __cplusplus
}
#endif

#endif /* PREX_PUSH_H */
