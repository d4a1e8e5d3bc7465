/*
 * http.h - HTTP transfers over libcurl: the options scrapes and pushes
 * share (timeout, TLS, authentication, extra headers), and concurrent
 * scrapes through curl's multi interface that hand each source's body to
 * the caller chunk by chunk as it arrives.
 *
 * Usage recipe (scrape two exporters at once):
 *
 *     prex_http_config cfg;
 *     prex_scrape s[2];
 *     prex_http_config_init(&cfg);
 *     cfg.timeout_ms = 10000;
 *     prex_http_global_init();                     // once per process
 *     prex_scrape_init(&s[0], "http://127.0.0.1:9100/metrics", on_data, ctx0);
 *     prex_scrape_init(&s[1], "http://127.0.0.1:9256/metrics", on_data, ctx1);
 *     prex_scrape_all(s, 2, &cfg, NULL);
 *     for (i = 0; i < 2; i++)
 *         if (s[i].result != PREX_SCRAPE_OK) report(s[i].error);
 *     prex_scrape_free(&s[0]); prex_scrape_free(&s[1]);
 *     prex_http_global_cleanup();
 *
 * on_data sees the decoded (gunzipped) body of a 200 answer only;
 * s->content_type is filled in before its first call.
 */
#ifndef PREX_HTTP_H
#define PREX_HTTP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#ifdef __cplusplus
extern "C" {
#endif

/* MARK: compile-time options */

/* Bytes of a non-200 answer's body kept for the error message. */
#ifndef PREX_HTTP_ERROR_BODY
#define PREX_HTTP_ERROR_BODY 512
#endif

/* The Accept header of a scrape: the one Prometheus 3 sends with its
 * default scrape protocols (OpenMetrics preferred, then text). */
#define PREX_HTTP_ACCEPT                                                       \
    "application/openmetrics-text;version=1.0.0;escaping=allow-utf-8;q=0.5,"   \
    "application/openmetrics-text;version=0.0.1;q=0.4,"                        \
    "text/plain;version=1.0.0;escaping=allow-utf-8;q=0.3,"                     \
    "text/plain;version=0.0.4;q=0.2,*/*;q=0.1"

/* MARK: shared options */

struct curl_slist; /* libcurl's header list */

/* What every request carries. Strings are borrowed: they must outlive the
 * transfers that use them. */
typedef struct prex_http_config {
    long timeout_ms;              /* whole transfer (scrape) or whole push
                                   * budget; 0: no limit */
    const char *cacert;           /* CA bundle file (PEM), NULL: system's */
    const char *cert;             /* client certificate (PEM), NULL: none */
    const char *key;              /* its private key (PEM), NULL: in cert */
    int insecure;                 /* do not verify the server's certificate */
    const char *const *headers;   /* extra "Name: value" headers */
    size_t nheaders;
    const char *bearer_token;     /* "Authorization: Bearer ...", NULL: none */
    const char *basic_user;       /* basic authentication, NULL: none */
    const char *basic_password;   /* with basic_user ("" if NULL) */
    const char *user_agent;       /* NULL: "prex-relay/<version>" */
} prex_http_config;

/* Zeroes cfg: no timeout, no TLS files, no authentication, no headers. */
void prex_http_config_init(prex_http_config *cfg);

/* curl_global_init() and its cleanup: call once per process, before any
 * transfer and after the last. Returns 0, or -1 if libcurl cannot start. */
int prex_http_global_init(void);
void prex_http_global_cleanup(void);

/*
 * Applies cfg to a curl easy handle: timeouts, TLS files and
 * verification, authentication, User-Agent, http/https only, no signals.
 *   easy:  a CURL * (which curl.h defines as void *).
 *   cfg:   the options.
 *   extra: NULL or a list of request headers to add cfg's headers to.
 *   list:  OUT: the header list to set with CURLOPT_HTTPHEADER (extra
 *          plus cfg's); the caller frees it with curl_slist_free_all()
 *          after the transfer. On failure extra is freed too.
 * Returns 0, or -1 when out of memory or an option is refused (err, of
 * errlen bytes, then says which).
 */
int prex_http_setup(void *easy, const prex_http_config *cfg, struct curl_slist *extra,
                    struct curl_slist **list, char *err, size_t errlen);

/* MARK: scrapes */

/* Outcome of one scrape. */
typedef enum prex_scrape_result {
    PREX_SCRAPE_OK = 0,       /* 200, body received completely */
    PREX_SCRAPE_E_TRANSPORT,  /* connection, TLS, timeout, decoding: error says */
    PREX_SCRAPE_E_STATUS,     /* an answer other than 200 */
    PREX_SCRAPE_E_ABORTED,    /* on_data asked to stop, or *stop was set */
    PREX_SCRAPE_E_SETUP       /* the transfer could not be started */
} prex_scrape_result;

struct prex_scrape;

/* Receives the next chunk of a 200 answer's decoded body: data[0..len).
 * Returns 0 to go on, nonzero to abort this transfer. */
typedef int (*prex_scrape_data_fn)(struct prex_scrape *s, const char *data, size_t len);

/* One scrape: inputs, results, and private transfer state. */
typedef struct prex_scrape {
    /* in */
    const char *url;              /* borrowed */
    prex_scrape_data_fn on_data;
    void *ctx;                    /* for on_data */

    /* out */
    prex_scrape_result result;
    long status;                  /* HTTP status; 0 before an answer */
    char content_type[160];       /* as received ("" if none), cut to fit */
    char error[400];              /* what failed ("" when OK) */
    double seconds;               /* from the start to the last byte */
    uint64_t bytes;               /* decoded body bytes handed to on_data */

    /* private */
    void *_easy;
    struct curl_slist *_hdrs;
    int _started;                 /* the status was looked at */
    int _aborted;                 /* on_data returned nonzero */
    prex_buf _errbody;            /* first bytes of a non-200 body */
    char _curlerr[256];
} prex_scrape;

/* Prepares s for url (borrowed). Allocates nothing. */
void prex_scrape_init(prex_scrape *s, const char *url, prex_scrape_data_fn on_data,
                      void *ctx);

/*
 * Runs the scrapes s[0..n) concurrently until every one has finished, each
 * within cfg->timeout_ms. Sends PREX_HTTP_ACCEPT, "Accept-Encoding: gzip"
 * and X-Prometheus-Scrape-Timeout-Seconds; follows up to 5 redirects
 * (http and https only).
 *   stop: NULL, or a flag a signal handler sets: the scrapes still running
 *         are then aborted within about 100 ms (result E_ABORTED).
 * Every s[i] gets its result; a scrape that fails does not affect the
 * others. Returns 0, or -1 when the multi handle cannot be created (every
 * result is then E_SETUP).
 */
int prex_scrape_all(prex_scrape *s, size_t n, const prex_http_config *cfg,
                    volatile sig_atomic_t *stop);

/* Releases what the transfer kept (s can be initialised again). */
void prex_scrape_free(prex_scrape *s);

#ifdef __cplusplus
}
#endif

#endif /* PREX_HTTP_H */
