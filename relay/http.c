/*
 * http.c - HTTP transfers over libcurl: the options every request shares,
 * and concurrent scrapes through the multi interface, each body handed to
 * its consumer chunk by chunk as it arrives.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "http.h"
#include "prex.h"

#define USER_AGENT "prex-relay/" PREX_VERSION

/* How long one wait for socket activity may last, so that a stop flag
 * set by a signal handler is seen quickly. */
#define POLL_MS 100

void prex_http_config_init(prex_http_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
}

int prex_http_global_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void prex_http_global_cleanup(void)
{
    curl_global_cleanup();
}

/* Appends header line z to *list. Returns 0, or -1 when out of memory
 * (*list is then freed and NULL). */
static int add_header(struct curl_slist **list, const char *z)
{
    struct curl_slist *n = curl_slist_append(*list, z);

    if (!n) {
        curl_slist_free_all(*list);
        *list = NULL;
        return -1;
    }
    *list = n;
    return 0;
}

/*
 * Applies the shared options to easy (see http.h). Every curl_easy_setopt
 * result is checked, so that a libcurl built without a feature (say, TLS
 * client certificates) fails loudly instead of sending a request without
 * it.
 */
int prex_http_setup(void *easy, const prex_http_config *cfg, struct curl_slist *extra,
                    struct curl_slist **list, char *err, size_t errlen)
{
    CURL *h = easy;
    struct curl_slist *hdrs = extra;
    CURLcode rc = CURLE_OK;
    const char *what = "";
    size_t i;

    *list = NULL;
#define SET(opt, val)                                                          \
    do {                                                                       \
        if (rc == CURLE_OK) {                                                  \
            rc = curl_easy_setopt(h, opt, val);                                \
            what = #opt;                                                       \
        }                                                                      \
    } while (0)
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_USERAGENT, cfg->user_agent ? cfg->user_agent : USER_AGENT);
    if (cfg->timeout_ms > 0) {
        SET(CURLOPT_TIMEOUT_MS, cfg->timeout_ms);
        SET(CURLOPT_CONNECTTIMEOUT_MS, cfg->timeout_ms);
    }
    if (cfg->cacert)
        SET(CURLOPT_CAINFO, cfg->cacert);
    if (cfg->cert)
        SET(CURLOPT_SSLCERT, cfg->cert);
    if (cfg->key)
        SET(CURLOPT_SSLKEY, cfg->key);
    if (cfg->insecure) {
        SET(CURLOPT_SSL_VERIFYPEER, 0L);
        SET(CURLOPT_SSL_VERIFYHOST, 0L);
    }
    if (cfg->basic_user) {
        SET(CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        SET(CURLOPT_USERNAME, cfg->basic_user);
        SET(CURLOPT_PASSWORD, cfg->basic_password ? cfg->basic_password : "");
    }
#undef SET
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "libcurl refused %s: %s", what, curl_easy_strerror(rc));
        curl_slist_free_all(hdrs);
        return -1;
    }
    if (cfg->bearer_token) {
        size_t n = strlen(cfg->bearer_token) + sizeof "Authorization: Bearer ";
        char *line = malloc(n);
        int failed;

        if (!line) {
            curl_slist_free_all(hdrs);
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        snprintf(line, n, "Authorization: Bearer %s", cfg->bearer_token);
        failed = add_header(&hdrs, line);
        free(line);
        if (failed) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    for (i = 0; i < cfg->nheaders; i++) {
        if (add_header(&hdrs, cfg->headers[i]) != 0) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    *list = hdrs;
    return 0;
}

/* MARK: scrapes */

void prex_scrape_init(prex_scrape *s, const char *url, prex_scrape_data_fn on_data, void *ctx)
{
    memset(s, 0, sizeof *s);
    s->url = url;
    s->on_data = on_data;
    s->ctx = ctx;
    prex_buf_init(&s->_errbody, NULL);
}

/* Copies the answer's status and Content-Type into s, once. */
static void look_at_answer(prex_scrape *s)
{
    char *ct = NULL;
    long status = 0;

    if (s->_started)
        return;
    s->_started = 1;
    curl_easy_getinfo(s->_easy, CURLINFO_RESPONSE_CODE, &status);
    s->status = status;
    if (curl_easy_getinfo(s->_easy, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct)
        snprintf(s->content_type, sizeof s->content_type, "%s", ct);
}

/*
 * curl's write callback: a 200 body goes to on_data, the first bytes of
 * any other body are kept for the error message. Returning less than
 * size * nmemb makes curl abort the transfer (CURLE_WRITE_ERROR).
 */
static size_t on_write(char *data, size_t size, size_t nmemb, void *userp)
{
    prex_scrape *s = userp;
    size_t n = size * nmemb;

    look_at_answer(s);
    if (s->status != 200) {
        size_t room = PREX_HTTP_ERROR_BODY > s->_errbody.len
                          ? PREX_HTTP_ERROR_BODY - s->_errbody.len : 0;

        prex_buf_append(&s->_errbody, data, n < room ? n : room);
        return n;
    }
    if (s->on_data(s, data, n) != 0) {
        s->_aborted = 1;
        return 0;
    }
    s->bytes += n;
    return n;
}

/* Sets up the easy handle of s. Returns 0, or -1 with s->error set. */
static int start_scrape(prex_scrape *s, const prex_http_config *cfg)
{
    struct curl_slist *extra = NULL;
    CURLcode rc = CURLE_OK;
    char line[96];

    s->_easy = curl_easy_init();
    if (!s->_easy) {
        snprintf(s->error, sizeof s->error, "cannot create a transfer");
        return -1;
    }
    if (add_header(&extra, "Accept: " PREX_HTTP_ACCEPT) != 0)
        goto oom;
    if (cfg->timeout_ms > 0) {
        snprintf(line, sizeof line, "X-Prometheus-Scrape-Timeout-Seconds: %ld.%03ld",
                 cfg->timeout_ms / 1000, cfg->timeout_ms % 1000);
        if (add_header(&extra, line) != 0)
            goto oom;
    }
    if (prex_http_setup(s->_easy, cfg, extra, &s->_hdrs, s->error, sizeof s->error) != 0)
        return -1;
#define SET(opt, val)                                                          \
    do {                                                                       \
        if (rc == CURLE_OK)                                                    \
            rc = curl_easy_setopt(s->_easy, opt, val);                         \
    } while (0)
    SET(CURLOPT_URL, s->url);
    SET(CURLOPT_HTTPHEADER, s->_hdrs);
    SET(CURLOPT_ACCEPT_ENCODING, "gzip");
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, 5L);
    SET(CURLOPT_WRITEFUNCTION, on_write);
    SET(CURLOPT_WRITEDATA, s);
    SET(CURLOPT_PRIVATE, s);
    SET(CURLOPT_ERRORBUFFER, s->_curlerr);
#undef SET
    if (rc != CURLE_OK) {
        snprintf(s->error, sizeof s->error, "cannot set up the transfer: %s",
                 curl_easy_strerror(rc));
        return -1;
    }
    return 0;
oom:
    snprintf(s->error, sizeof s->error, "out of memory");
    return -1;
}

/* Appends the kept error body to s->error, on one line: control bytes
 * become blanks, and runs of them one blank. */
static void append_error_body(prex_scrape *s)
{
    size_t used = strlen(s->error), i;
    int blank = 1;

    if (s->_errbody.len == 0 || used + 3 >= sizeof s->error)
        return;
    s->error[used++] = ':';
    s->error[used++] = ' ';
    for (i = 0; i < s->_errbody.len && used + 1 < sizeof s->error; i++) {
        unsigned char c = (unsigned char)s->_errbody.ptr[i];

        if (c < 0x20 || c == 0x7f) {
            if (!blank)
                s->error[used++] = ' ';
            blank = 1;
        } else {
            s->error[used++] = (char)c;
            blank = 0;
        }
    }
    while (used > 0 && s->error[used - 1] == ' ')
        used--;
    s->error[used] = '\0';
}

/* Records how the transfer of s ended. */
static void finish_scrape(prex_scrape *s, CURLcode rc)
{
    double t = 0;

    look_at_answer(s);
    if (curl_easy_getinfo(s->_easy, CURLINFO_TOTAL_TIME, &t) == CURLE_OK)
        s->seconds = t;
    if (s->_aborted) {
        s->result = PREX_SCRAPE_E_ABORTED;
        snprintf(s->error, sizeof s->error, "aborted");
    } else if (rc != CURLE_OK) {
        s->result = PREX_SCRAPE_E_TRANSPORT;
        snprintf(s->error, sizeof s->error, "%s", s->_curlerr[0] ? s->_curlerr
                                                                  : curl_easy_strerror(rc));
    } else if (s->status != 200) {
        s->result = PREX_SCRAPE_E_STATUS;
        snprintf(s->error, sizeof s->error, "HTTP status %ld", s->status);
        append_error_body(s);
    } else {
        s->result = PREX_SCRAPE_OK;
        s->error[0] = '\0';
    }
}

/*
 * Runs the scrapes (see http.h): every easy handle joins one multi handle,
 * curl_multi_perform() drives them, curl_multi_poll() waits at most
 * POLL_MS for activity, and finished transfers are collected with
 * curl_multi_info_read().
 */
int prex_scrape_all(prex_scrape *s, size_t n, const prex_http_config *cfg,
                    volatile sig_atomic_t *stop)
{
    CURLM *m = curl_multi_init();
    size_t i, pending = 0;
    int running = 0;

    if (!m) {
        for (i = 0; i < n; i++) {
            s[i].result = PREX_SCRAPE_E_SETUP;
            snprintf(s[i].error, sizeof s[i].error, "cannot create the transfer set");
        }
        return -1;
    }
    for (i = 0; i < n; i++) {
        if (start_scrape(&s[i], cfg) != 0 || curl_multi_add_handle(m, s[i]._easy) != CURLM_OK) {
            s[i].result = PREX_SCRAPE_E_SETUP;
            if (s[i].error[0] == '\0')
                snprintf(s[i].error, sizeof s[i].error, "cannot start the transfer");
            if (s[i]._easy) {
                curl_easy_cleanup(s[i]._easy);
                s[i]._easy = NULL;
            }
            continue;
        }
        pending++;
    }
    while (pending > 0) {
        CURLMsg *msg;
        int left;

        if (stop && *stop) {
            for (i = 0; i < n; i++) {
                if (!s[i]._easy)
                    continue;
                s[i]._aborted = 1;
                finish_scrape(&s[i], CURLE_ABORTED_BY_CALLBACK);
                snprintf(s[i].error, sizeof s[i].error, "aborted: the relay is stopping");
                curl_multi_remove_handle(m, s[i]._easy);
                curl_easy_cleanup(s[i]._easy);
                s[i]._easy = NULL;
            }
            break;
        }
        if (curl_multi_perform(m, &running) != CURLM_OK)
            break;
        while ((msg = curl_multi_info_read(m, &left)) != NULL) {
            prex_scrape *done;
            char *priv = NULL;

            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
            done = (prex_scrape *)(void *)priv;
            finish_scrape(done, msg->data.result);
            curl_multi_remove_handle(m, done->_easy);
            curl_easy_cleanup(done->_easy);
            done->_easy = NULL;
            pending--;
        }
        if (pending > 0 && curl_multi_poll(m, NULL, 0, POLL_MS, NULL) != CURLM_OK)
            break;
    }
    for (i = 0; i < n; i++) {
        if (s[i]._easy) {
            if (s[i].error[0] == '\0') {
                s[i].result = PREX_SCRAPE_E_ABORTED;
                snprintf(s[i].error, sizeof s[i].error, "aborted: the transfer set failed");
            }
            curl_multi_remove_handle(m, s[i]._easy);
            curl_easy_cleanup(s[i]._easy);
            s[i]._easy = NULL;
        }
    }
    curl_multi_cleanup(m);
    return 0;
}

void prex_scrape_free(prex_scrape *s)
{
    if (s->_easy)
        curl_easy_cleanup(s->_easy);
    s->_easy = NULL;
    curl_slist_free_all(s->_hdrs);
    s->_hdrs = NULL;
    prex_buf_free(&s->_errbody);
}
