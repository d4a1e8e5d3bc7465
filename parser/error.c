/*
 * error.c - the error table: names and descriptions of PREX_E_* codes.
 *
 * Everything is generated from PREX_ERRORS in prex.h, so the enum, the
 * names and the messages cannot drift apart.
 */
#include "prex.h"

static const char *const names[PREX_E__COUNT] = {
#define X(name, num, desc) [num] = #name,
    PREX_ERRORS(X)
#undef X
};

static const char *const descs[PREX_E__COUNT] = {
#define X(name, num, desc) [num] = desc,
    PREX_ERRORS(X)
#undef X
};

/* Returns the symbolic name of code ("DUP_LABEL"), or "UNKNOWN". */
const char *prex_errname(int code)
{
    if (code < 0 || code >= PREX_E__COUNT || !names[code])
        return "UNKNOWN";
    return names[code];
}

/* Returns the description of code, or "unknown error". */
const char *prex_strerror(int code)
{
    if (code < 0 || code >= PREX_E__COUNT || !descs[code])
        return "unknown error";
    return descs[code];
}
