/*
 * relabel_regex.c - relabel regexes: Go RE2 syntax (the dialect Prometheus
 * configs are written in) translated to an equivalent PCRE2 pattern, then
 * compiled and JIT-compiled.
 *
 * The translator walks the pattern the way Go's regexp/syntax parser does
 * (Perl flags, as regexp.Compile uses) and writes a PCRE2 pattern with the
 * same meaning: constructs Go refuses are refused with Go's reason, and
 * constructs both accept but read differently are rewritten (\s, \v,
 * octal escapes, a '{' that is not a repeat, \Q...\E, literals inside
 * classes, \p{C}). The whole Prometheus wrapper ^(?s: ... )$ goes through
 * the translator, so a user regex is combined with it textually exactly as
 * Prometheus combines it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "relabel_int.h"

/* MARK: output buffer */

typedef struct obuf {
    char *p;
    size_t len;
    size_t cap;
    const prex_alloc *alc;
    int oom;
} obuf;

static void put(obuf *b, const char *s, size_t n)
{
    size_t ncap;
    char *np;

    if (b->oom)
        return;
    if (n > b->cap - b->len) {
        ncap = b->cap ? b->cap : 64;
        while (ncap - b->len < n) {
            if (ncap > SIZE_MAX / 2) {
                b->oom = 1;
                return;
            }
            ncap *= 2;
        }
        np = b->p ? b->alc->realloc(b->alc->ctx, b->p, b->cap, ncap)
                  : b->alc->malloc(b->alc->ctx, ncap);
        if (!np) {
            b->oom = 1;
            return;
        }
        b->p = np;
        b->cap = ncap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
}

static void puts_(obuf *b, const char *z)
{
    put(b, z, strlen(z));
}

/* Appends \x{HEX} for code point r. */
static void put_hex(obuf *b, uint32_t r)
{
    char tmp[16];
    int k = snprintf(tmp, sizeof tmp, "\\x{%x}", (unsigned)r);

    put(b, tmp, (size_t)k);
}

/* MARK: the translator */

/* What the last item was, for Go's repetition rules. */
enum { P_NONE, P_ATOM, P_REPEAT, P_FLAGS };

typedef struct tr {
    const unsigned char *s;  /* the wrapped pattern */
    size_t n;
    size_t i;
    size_t prefix;           /* wrapper bytes before the user regex */
    size_t ulen;             /* user regex length */
    obuf out;
    char *msg;
    size_t msgsz;
} tr;

/*
 * Records a translation error: reason, the offending text s[at..at+len)
 * and its offset in the user's regex. Returns PREX_RELABEL_E_REGEX.
 */
static int fail(tr *t, size_t at, size_t len, const char *reason)
{
    size_t off = at > t->prefix ? at - t->prefix : 0;

    if (off > t->ulen)
        off = t->ulen;
    if (at > t->n)
        at = t->n;
    if (len > t->n - at)
        len = t->n - at;
    if (len > 40)
        len = 40;
    snprintf(t->msg, t->msgsz, "%s: `%.*s` (offset %zu)", reason, (int)len,
             (const char *)t->s + at, off);
    return PREX_RELABEL_E_REGEX;
}

/* Decodes one UTF-8 sequence at s[i..n) (prex__utf8_next()). Returns the
 * code point and sets *w to its length, or returns -1 when the bytes are
 * not valid UTF-8. */
static int32_t decode(const unsigned char *s, size_t n, size_t i, size_t *w)
{
    uint32_t cp;
    size_t len = prex__utf8_next(s + i, s + n, &cp);

    if (len == 0)
        return -1;
    *w = len;
    return (int32_t)cp;
}

static int is_alnum(int c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Emits literal code point r outside a class: ASCII letters and digits
 * as they are, other ASCII as \x{..}, everything else as UTF-8. */
static void put_literal(tr *t, uint32_t r, const unsigned char *utf8, size_t w)
{
    char c;

    if (r < 0x80 && is_alnum((int)r)) {
        c = (char)r;
        put(&t->out, &c, 1);
    } else if (r < 0x80 || !utf8) {
        put_hex(&t->out, r);
    } else {
        put(&t->out, (const char *)utf8, w);
    }
}

/*
 * Parses an escape that stands for one character (Go's parseEscape),
 * with t->i at the backslash. On success stores the code point in *r,
 * moves t->i past the escape and returns 0.
 */
static int parse_escape(tr *t, uint32_t *r)
{
    size_t at = t->i, w, k;
    int32_t c;
    uint32_t v;
    int d, nhex;

    if (t->i + 1 >= t->n)
        return fail(t, at, 1, "trailing backslash at end of expression");
    c = decode(t->s, t->n, t->i + 1, &w);
    if (c < 0)
        return fail(t, at, 2, "invalid UTF-8");
    if (c < 0x80 && !is_alnum(c)) {
        *r = (uint32_t)c;
        t->i += 2;
        return 0;
    }
    switch (c) {
    case '1': case '2': case '3': case '4': case '5': case '6': case '7':
        /* A single non-zero digit is a backreference: not in RE2. */
        if (t->i + 2 >= t->n || t->s[t->i + 2] < '0' || t->s[t->i + 2] > '7')
            return fail(t, at, 2, "invalid escape sequence (backreferences are not supported)");
        /* fall through */
    case '0':
        v = 0;
        for (k = 1; k <= 3 && t->i + k < t->n; k++) {
            if (t->s[t->i + k] < '0' || t->s[t->i + k] > '7')
                break;
            v = v * 8 + (uint32_t)(t->s[t->i + k] - '0');
        }
        *r = v;
        t->i += k;
        return 0;
    case 'x':
        k = t->i + 2;
        if (k < t->n && t->s[k] == '{') {
            v = 0;
            nhex = 0;
            for (k++; k < t->n && t->s[k] != '}'; k++) {
                d = hexval(t->s[k]);
                if (d < 0)
                    return fail(t, at, k + 1 - at, "invalid escape sequence");
                v = v * 16 + (uint32_t)d;
                if (v > 0x10ffff)
                    return fail(t, at, k + 1 - at, "invalid escape sequence");
                nhex++;
            }
            if (k >= t->n || nhex == 0)
                return fail(t, at, k - at, "invalid escape sequence");
            *r = v;
            t->i = k + 1;
            return 0;
        }
        if (k + 1 < t->n && hexval(t->s[k]) >= 0 && hexval(t->s[k + 1]) >= 0) {
            *r = (uint32_t)(hexval(t->s[k]) * 16 + hexval(t->s[k + 1]));
            t->i = k + 2;
            return 0;
        }
        return fail(t, at, 4, "invalid escape sequence");
    case 'a': *r = 7; break;
    case 'f': *r = 12; break;
    case 'n': *r = 10; break;
    case 'r': *r = 13; break;
    case 't': *r = 9; break;
    case 'v': *r = 11; break;
    default:
        return fail(t, at, 1 + w, "invalid escape sequence");
    }
    t->i += 2;
    return 0;
}

/* Go's unicode.Categories keys. */
static const char *const categories[] = {
    "C", "Cc", "Cf", "Co", "Cs", "L", "Ll", "Lm", "Lo", "Lt", "Lu", "M", "Mc",
    "Me", "Mn", "N", "Nd", "Nl", "No", "P", "Pc", "Pd", "Pe", "Pf", "Pi", "Po",
    "Ps", "S", "Sc", "Sk", "Sm", "So", "Z", "Zl", "Zp", "Zs",
};

/* Go's unicode.Scripts keys (Unicode 15.0, Go 1.21 and later), sorted. */
static const char *const scripts[] = {
    "Adlam", "Ahom", "Anatolian_Hieroglyphs", "Arabic", "Armenian", "Avestan",
    "Balinese", "Bamum", "Bassa_Vah", "Batak", "Bengali", "Bhaiksuki",
    "Bopomofo", "Brahmi", "Braille", "Buginese", "Buhid", "Canadian_Aboriginal",
    "Carian", "Caucasian_Albanian", "Chakma", "Cham", "Cherokee", "Chorasmian",
    "Common", "Coptic", "Cuneiform", "Cypriot", "Cypro_Minoan", "Cyrillic",
    "Deseret", "Devanagari", "Dives_Akuru", "Dogra", "Duployan",
    "Egyptian_Hieroglyphs", "Elbasan", "Elymaic", "Ethiopic", "Georgian",
    "Glagolitic", "Gothic", "Grantha", "Greek", "Gujarati", "Gunjala_Gondi",
    "Gurmukhi", "Han", "Hangul", "Hanifi_Rohingya", "Hanunoo", "Hatran",
    "Hebrew", "Hiragana", "Imperial_Aramaic", "Inherited",
    "Inscriptional_Pahlavi", "Inscriptional_Parthian", "Javanese", "Kaithi",
    "Kannada", "Katakana", "Kawi", "Kayah_Li", "Kharoshthi",
    "Khitan_Small_Script", "Khmer", "Khojki", "Khudawadi", "Lao", "Latin",
    "Lepcha", "Limbu", "Linear_A", "Linear_B", "Lisu", "Lycian", "Lydian",
    "Mahajani", "Makasar", "Malayalam", "Mandaic", "Manichaean", "Marchen",
    "Masaram_Gondi", "Medefaidrin", "Meetei_Mayek", "Mende_Kikakui",
    "Meroitic_Cursive", "Meroitic_Hieroglyphs", "Miao", "Modi", "Mongolian",
    "Mro", "Multani", "Myanmar", "Nabataean", "Nag_Mundari", "Nandinagari",
    "New_Tai_Lue", "Newa", "Nko", "Nushu", "Nyiakeng_Puachue_Hmong", "Ogham",
    "Ol_Chiki", "Old_Hungarian", "Old_Italic", "Old_North_Arabian",
    "Old_Permic", "Old_Persian", "Old_Sogdian", "Old_South_Arabian",
    "Old_Turkic", "Old_Uyghur", "Oriya", "Osage", "Osmanya", "Pahawh_Hmong",
    "Palmyrene", "Pau_Cin_Hau", "Phags_Pa", "Phoenician", "Psalter_Pahlavi",
    "Rejang", "Runic", "Samaritan", "Saurashtra", "Sharada", "Shavian",
    "Siddham", "SignWriting", "Sinhala", "Sogdian", "Sora_Sompeng", "Soyombo",
    "Sundanese", "Syloti_Nagri", "Syriac", "Tagalog", "Tagbanwa", "Tai_Le",
    "Tai_Tham", "Tai_Viet", "Takri", "Tamil", "Tangsa", "Tangut", "Telugu",
    "Thaana", "Thai", "Tibetan", "Tifinagh", "Tirhuta", "Toto", "Ugaritic",
    "Vai", "Vithkuqi", "Wancho", "Warang_Citi", "Yezidi", "Yi",
    "Zanabazar_Square",
};

static int in_list(const char *const *list, size_t n, const unsigned char *p, size_t len)
{
    size_t k;

    for (k = 0; k < n; k++)
        if (strlen(list[k]) == len && memcmp(list[k], p, len) == 0)
            return 1;
    return 0;
}

/*
 * Translates \pX, \p{Name}, \PX, \P{Name} (Go's parseUnicodeClass) with
 * t->i at the backslash. in_class: the escape sits inside [...].
 * Go's \p{C} is Cc|Cf|Co|Cs while PCRE2's also has Cn (unassigned), so C
 * is spelled out.
 */
static int unicode_class(tr *t, int in_class)
{
    size_t at = t->i, j, w, nlen;
    const unsigned char *name;
    int neg = t->s[t->i + 1] == 'P';
    int32_t c;

    j = t->i + 2;
    if (j >= t->n)
        return fail(t, at, 2, "invalid character class range");
    if (t->s[j] == '{') {
        name = t->s + j + 1;
        while (j < t->n && t->s[j] != '}')
            j++;
        if (j >= t->n)
            return fail(t, at, j - at, "invalid character class range");
        nlen = (size_t)(t->s + j - name);
        j++;
        if (nlen > 0 && name[0] == '^') {
            neg = !neg;
            name++;
            nlen--;
        }
    } else {
        c = decode(t->s, t->n, j, &w);
        if (c < 0)
            return fail(t, at, 3, "invalid UTF-8");
        name = t->s + j;
        nlen = w;
        j += w;
    }
    if (!(nlen == 3 && memcmp(name, "Any", 3) == 0) &&
        !in_list(categories, sizeof categories / sizeof *categories, name, nlen) &&
        !in_list(scripts, sizeof scripts / sizeof *scripts, name, nlen))
        return fail(t, at, j - at, "invalid character class range (unknown Unicode class)");
    if (nlen == 1 && name[0] == 'C') {
        if (!neg)
            puts_(&t->out, in_class ? "\\p{Cc}\\p{Cf}\\p{Co}\\p{Cs}"
                                    : "[\\p{Cc}\\p{Cf}\\p{Co}\\p{Cs}]");
        else
            puts_(&t->out, in_class ? "\\P{C}\\p{Cn}" : "[\\P{C}\\p{Cn}]");
    } else {
        puts_(&t->out, neg ? "\\P{" : "\\p{");
        put(&t->out, (const char *)name, nlen);
        puts_(&t->out, "}");
    }
    t->i = j;
    return 0;
}

/* Go's POSIX class names for [[:name:]]. */
static const char *const posix_names[] = {
    "alnum", "alpha", "ascii", "blank", "cntrl", "digit", "graph", "lower",
    "print", "punct", "space", "upper", "word", "xdigit",
};

/*
 * One character inside a class (Go's parseClassChar): an escape or a
 * literal code point. Moves t->i past it.
 */
static int class_char(tr *t, uint32_t *r)
{
    size_t w;
    int32_t c;

    if (t->i >= t->n)
        return fail(t, t->i, 0, "missing closing ]");
    if (t->s[t->i] == '\\')
        return parse_escape(t, r);
    c = decode(t->s, t->n, t->i, &w);
    if (c < 0)
        return fail(t, t->i, 1, "invalid UTF-8");
    *r = (uint32_t)c;
    t->i += w;
    return 0;
}

/*
 * Translates a bracket class (Go's parseClass) with t->i at '['. Every
 * literal becomes \x{..}, so PCRE2 sees no POSIX collating syntax, no
 * stray '[' and no escapes of its own.
 */
static int parse_class(tr *t)
{
    size_t start = t->i, j, k, nlen;
    const unsigned char *name;
    uint32_t lo, hi;
    int first = 1, rc, found;

    puts_(&t->out, "[");
    t->i++;
    if (t->i < t->n && t->s[t->i] == '^') {
        puts_(&t->out, "^");
        t->i++;
    }
    for (;;) {
        if (t->i >= t->n)
            return fail(t, start, t->n - start, "missing closing ]");
        if (t->s[t->i] == ']' && !first)
            break;
        first = 0;
        /* [:name:] */
        if (t->s[t->i] == '[' && t->i + 1 < t->n && t->s[t->i + 1] == ':') {
            found = 0;
            for (j = t->i + 2; j + 1 < t->n; j++) {
                if (t->s[j] == ':' && t->s[j + 1] == ']') {
                    found = 1;
                    break;
                }
            }
            if (found) {
                name = t->s + t->i + 2;
                nlen = (size_t)(t->s + j - name);
                if (nlen > 0 && name[0] == '^') {
                    name++;
                    nlen--;
                }
                for (k = 0; k < sizeof posix_names / sizeof *posix_names; k++)
                    if (strlen(posix_names[k]) == nlen &&
                        memcmp(posix_names[k], name, nlen) == 0)
                        break;
                if (k == sizeof posix_names / sizeof *posix_names)
                    return fail(t, t->i, j + 2 - t->i, "invalid character class range");
                put(&t->out, (const char *)t->s + t->i, j + 2 - t->i);
                t->i = j + 2;
                continue;
            }
        }
        if (t->s[t->i] == '\\' && t->i + 1 < t->n) {
            switch (t->s[t->i + 1]) {
            case 'p': case 'P':
                if ((rc = unicode_class(t, 1)) != 0)
                    return rc;
                continue;
            case 'd': case 'D': case 'w': case 'W':
                put(&t->out, (const char *)t->s + t->i, 2);
                t->i += 2;
                continue;
            case 's':
                /* Go's \s has no \v; PCRE2's has. */
                puts_(&t->out, "\\t\\n\\f\\r\\x{20}");
                t->i += 2;
                continue;
            case 'S':
                /* PCRE2's \S lacks \v, which Go's \S has. */
                puts_(&t->out, "\\S\\x{b}");
                t->i += 2;
                continue;
            default:
                break;
            }
        }
        if ((rc = class_char(t, &lo)) != 0)
            return rc;
        if (lo >= 0xd800 && lo <= 0xdfff)
            return fail(t, start, t->i - start, "surrogate code points are not supported");
        if (t->i + 1 < t->n && t->s[t->i] == '-' && t->s[t->i + 1] != ']') {
            j = t->i;
            t->i++;
            if ((rc = class_char(t, &hi)) != 0)
                return rc;
            if (hi < lo)
                return fail(t, j - 1, t->i - j + 1, "invalid character class range");
            put_hex(&t->out, lo);
            puts_(&t->out, "-");
            put_hex(&t->out, hi);
        } else {
            put_hex(&t->out, lo);
        }
    }
    puts_(&t->out, "]");
    t->i++;
    return 0;
}

/*
 * Go's parseInt for repeat counts at s[*i..n): digits without a leading
 * zero (except "0"). Returns 0 if there are none; otherwise stores the
 * value (-1 when it reaches 1e8) and returns 1.
 */
static int repeat_int(const unsigned char *s, size_t n, size_t *i, long *v)
{
    size_t k = *i;

    if (k >= n || s[k] < '0' || s[k] > '9')
        return 0;
    if (k + 1 < n && s[k] == '0' && s[k + 1] >= '0' && s[k + 1] <= '9')
        return 0;
    *v = 0;
    for (; k < n && s[k] >= '0' && s[k] <= '9'; k++) {
        if (*v >= 100000000L)
            *v = -1;
        if (*v >= 0)
            *v = *v * 10 + (s[k] - '0');
    }
    *i = k;
    return 1;
}

/*
 * Go's parseRepeat with t->i at '{': {n}, {n,} or {n,m}. Returns 1 and
 * the counts (max -1 for "no limit") and end (past '}'), or 0 when the
 * text is not a repeat (then '{' is a literal).
 */
static int parse_repeat(tr *t, long *min, long *max, size_t *end)
{
    size_t k = t->i + 1;

    if (!repeat_int(t->s, t->n, &k, min))
        return 0;
    if (k >= t->n)
        return 0;
    if (t->s[k] == ',') {
        k++;
        if (k >= t->n)
            return 0;
        if (t->s[k] == '}') {
            *max = -1;
        } else if (!repeat_int(t->s, t->n, &k, max)) {
            return 0;
        }
    } else {
        *max = *min;
    }
    if (k >= t->n || t->s[k] != '}')
        return 0;
    *end = k + 1;
    return 1;
}

/* Go's rules for a repetition operator after prev. */
static int check_repeat(tr *t, int prev, size_t at, size_t len)
{
    if (prev == P_REPEAT)
        return fail(t, at, len, "invalid nested repetition operator");
    if (prev != P_ATOM)
        return fail(t, at, len, "missing argument to repetition operator");
    return 0;
}

/*
 * Translates a (? group opener (Go's parsePerlFlags) with t->i at '('.
 * Named groups become (?<name>; flag groups of i, m, s, U and '-' are
 * copied; everything else Perl or PCRE2 would accept is refused.
 * Sets *kind to P_NONE for a group opener, P_FLAGS for (?flags).
 */
static int perl_group(tr *t, int *kind, int *depth)
{
    size_t at = t->i, j, name;
    const unsigned char *s = t->s;
    int sign = 1, saw = 0;

    j = at + 2;
    if ((j + 1 < t->n && s[j] == 'P' && s[j + 1] == '<') || (j < t->n && s[j] == '<')) {
        if (s[j] == '<' && j + 1 < t->n && (s[j + 1] == '=' || s[j + 1] == '!'))
            return fail(t, at, 4, "invalid or unsupported Perl syntax (lookbehind is not supported)");
        name = s[j] == 'P' ? j + 2 : j + 1;
        for (j = name; j < t->n && s[j] != '>'; j++)
            ;
        if (j >= t->n)
            return fail(t, at, t->n - at, "invalid named capture");
        if (j == name)
            return fail(t, at, j + 1 - at, "invalid named capture");
        for (size_t k = name; k < j; k++)
            if (!is_alnum(s[k]) && s[k] != '_')
                return fail(t, at, j + 1 - at, "invalid named capture");
        puts_(&t->out, "(?<");
        put(&t->out, (const char *)s + name, j - name);
        puts_(&t->out, ">");
        t->i = j + 1;
        (*depth)++;
        *kind = P_NONE;
        return 0;
    }
    for (; j < t->n; j++) {
        switch (s[j]) {
        case 'i': case 'm': case 's': case 'U':
            saw = 1;
            continue;
        case '-':
            if (sign < 0)
                break;
            sign = -1;
            saw = 0;
            continue;
        case ':': case ')':
            if (sign < 0 && !saw)
                break;
            if (s[j] == ':') {
                put(&t->out, (const char *)s + at, j + 1 - at);
                (*depth)++;
                *kind = P_NONE;
            } else {
                if (j > at + 2)
                    put(&t->out, (const char *)s + at, j + 1 - at);
                *kind = P_FLAGS;
            }
            t->i = j + 1;
            return 0;
        default:
            break;
        }
        break;
    }
    switch (at + 2 < t->n ? s[at + 2] : 0) {
    case '=': case '!':
        return fail(t, at, 3, "invalid or unsupported Perl syntax (lookahead is not supported)");
    case '>':
        return fail(t, at, 3, "invalid or unsupported Perl syntax (atomic groups are not supported)");
    case '#':
        return fail(t, at, 3, "invalid or unsupported Perl syntax (comments are not supported)");
    case '|':
        return fail(t, at, 3, "invalid or unsupported Perl syntax (branch reset is not supported)");
    case '(':
        return fail(t, at, 3, "invalid or unsupported Perl syntax (conditionals are not supported)");
    case '\'':
        return fail(t, at, 3, "invalid or unsupported Perl syntax (use (?P<name>re) for a named group)");
    case 'R': case '&': case '+':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
        return fail(t, at, 3, "invalid or unsupported Perl syntax (recursion is not supported)");
    case 'P':
        return fail(t, at, 4, "invalid or unsupported Perl syntax (backreferences and recursion are not supported)");
    default:
        break;
    }
    return fail(t, at, j + 1 - at, "invalid or unsupported Perl syntax");
}

/* Translates \Q...\E with t->i at the backslash: everything up to the
 * first \E (or the end) is literal, backslashes included, as in Go. Sets
 * *any when at least one character was emitted. */
static int quoted(tr *t, int *any)
{
    size_t w;
    int32_t c;

    t->i += 2;
    *any = 0;
    while (t->i < t->n) {
        if (t->s[t->i] == '\\' && t->i + 1 < t->n && t->s[t->i + 1] == 'E') {
            t->i += 2;
            return 0;
        }
        c = decode(t->s, t->n, t->i, &w);
        if (c < 0)
            return fail(t, t->i, 1, "invalid UTF-8");
        put_literal(t, (uint32_t)c, t->s + t->i, w);
        t->i += w;
        *any = 1;
    }
    return 0;
}

/*
 * Translates the whole wrapped pattern into t->out. Returns 0 or
 * PREX_RELABEL_E_REGEX with t->msg set.
 */
static int translate(tr *t)
{
    int prev = P_NONE, depth = 0, rc, kind, any;
    long min, max;
    size_t end, w, at;
    uint32_t r;
    int32_t c;
    char tmp[48];

    while (t->i < t->n) {
        at = t->i;
        switch (t->s[t->i]) {
        case '(':
            if (t->i + 1 < t->n && t->s[t->i + 1] == '?') {
                if ((rc = perl_group(t, &kind, &depth)) != 0)
                    return rc;
                if (kind == P_FLAGS && prev == P_NONE)
                    kind = P_NONE;
                prev = kind == P_FLAGS ? P_FLAGS : P_NONE;
                continue;
            }
            puts_(&t->out, "(");
            depth++;
            t->i++;
            prev = P_NONE;
            continue;
        case ')':
            if (depth == 0)
                return fail(t, at, 1, "unexpected )");
            depth--;
            puts_(&t->out, ")");
            t->i++;
            prev = P_ATOM;
            continue;
        case '|':
            puts_(&t->out, "|");
            t->i++;
            prev = P_NONE;
            continue;
        case '^': case '$': case '.':
            put(&t->out, (const char *)t->s + t->i, 1);
            t->i++;
            prev = P_ATOM;
            continue;
        case '[':
            if ((rc = parse_class(t)) != 0)
                return rc;
            prev = P_ATOM;
            continue;
        case '*': case '+': case '?':
            end = t->i + 1;
            if (end < t->n && t->s[end] == '?')
                end++;
            if ((rc = check_repeat(t, prev, at, end - at)) != 0)
                return rc;
            put(&t->out, (const char *)t->s + at, end - at);
            t->i = end;
            prev = P_REPEAT;
            continue;
        case '{':
            if (!parse_repeat(t, &min, &max, &end)) {
                puts_(&t->out, "\\{");
                t->i++;
                prev = P_ATOM;
                continue;
            }
            if (min < 0 || min > 1000 || max > 1000 || (max >= 0 && min > max))
                return fail(t, at, end - at, "invalid repeat count");
            if (end < t->n && t->s[end] == '?')
                end++;
            if ((rc = check_repeat(t, prev, at, end - at)) != 0)
                return rc;
            if (max == min)
                snprintf(tmp, sizeof tmp, "{%ld}", min);
            else if (max < 0)
                snprintf(tmp, sizeof tmp, "{%ld,}", min);
            else
                snprintf(tmp, sizeof tmp, "{%ld,%ld}", min, max);
            puts_(&t->out, tmp);
            if (t->s[end - 1] == '?')
                puts_(&t->out, "?");
            t->i = end;
            prev = P_REPEAT;
            continue;
        case '\\':
            if (t->i + 1 >= t->n)
                return fail(t, at, 1, "trailing backslash at end of expression");
            switch (t->s[t->i + 1]) {
            case 'A': case 'z': case 'b': case 'B':
            case 'd': case 'D': case 'w': case 'W':
                put(&t->out, (const char *)t->s + t->i, 2);
                t->i += 2;
                prev = P_ATOM;
                continue;
            case 's':
                puts_(&t->out, "[\\t\\n\\f\\r\\x{20}]");
                t->i += 2;
                prev = P_ATOM;
                continue;
            case 'S':
                puts_(&t->out, "[^\\t\\n\\f\\r\\x{20}]");
                t->i += 2;
                prev = P_ATOM;
                continue;
            case 'p': case 'P':
                if ((rc = unicode_class(t, 0)) != 0)
                    return rc;
                prev = P_ATOM;
                continue;
            case 'Q':
                if ((rc = quoted(t, &any)) != 0)
                    return rc;
                if (any)
                    prev = P_ATOM;
                continue;
            case 'C':
                return fail(t, at, 2, "invalid escape sequence (\\C is not supported)");
            case 'Z':
                return fail(t, at, 2, "invalid escape sequence (use \\z)");
            default:
                break;
            }
            if ((rc = parse_escape(t, &r)) != 0)
                return rc;
            if (r >= 0xd800 && r <= 0xdfff)
                return fail(t, at, t->i - at, "surrogate code points are not supported");
            put_literal(t, r, NULL, 0);
            prev = P_ATOM;
            continue;
        default:
            c = decode(t->s, t->n, t->i, &w);
            if (c < 0)
                return fail(t, at, 1, "invalid UTF-8");
            put_literal(t, (uint32_t)c, t->s + t->i, w);
            t->i += w;
            prev = P_ATOM;
            continue;
        }
    }
    if (depth != 0)
        return fail(t, t->n, 0, "missing closing )");
    return 0;
}

/* MARK: compiling */

/* Nonzero when src[0..len) is exactly lit. */
static int is(const char *src, size_t len, const char *lit)
{
    return strlen(lit) == len && memcmp(src, lit, len) == 0;
}

/*
 * Wraps src in Prometheus's anchors, translates the whole text, compiles
 * it (UTF, DOLLAR_ENDONLY, ALT_CIRCUMFLEX, DUPNAMES, and (*UCP) and \C
 * locked out), JIT-compiles it, and notes whether it is one of the
 * match-everything spellings that need no matcher.
 */
int prex__regex_compile(prex__regex *re, const char *src, size_t len, int dotall,
                        const prex_alloc *alc, pcre2_compile_context *cctx,
                        char *msg, size_t msgsz)
{
    const char *pre = dotall ? "^(?s:" : "^(?:";
    size_t plen = strlen(pre);
    obuf in = { NULL, 0, 0, alc, 0 };
    tr t;
    int rc, errcode;
    PCRE2_SIZE erroff;
    PCRE2_UCHAR pmsg[256];

    re->code = NULL;
    re->ncap = 0;
    re->fast = PREX__RE_PCRE;
    msg[0] = '\0';

    put(&in, pre, plen);
    put(&in, src, len);
    put(&in, ")$", 2);
    memset(&t, 0, sizeof t);
    t.out.alc = alc;
    if (in.oom) {
        rc = PREX_RELABEL_E_NO_MEMORY;
        goto out;
    }
    t.s = (const unsigned char *)in.p;
    t.n = in.len;
    t.prefix = plen;
    t.ulen = len;
    t.msg = msg;
    t.msgsz = msgsz;
    rc = translate(&t);
    if (rc == 0 && t.out.oom)
        rc = PREX_RELABEL_E_NO_MEMORY;
    if (rc != 0)
        goto out;

    re->code = pcre2_compile((PCRE2_SPTR)t.out.p, t.out.len,
                             PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_ALT_CIRCUMFLEX |
                                 PCRE2_DUPNAMES | PCRE2_NEVER_BACKSLASH_C |
                                 PCRE2_NEVER_UCP,
                             &errcode, &erroff, cctx);
    if (!re->code) {
        if (errcode == PCRE2_ERROR_HEAP_FAILED || errcode == PCRE2_ERROR_NOMEMORY) {
            rc = PREX_RELABEL_E_NO_MEMORY;
        } else {
            pcre2_get_error_message(errcode, pmsg, sizeof pmsg);
            snprintf(msg, msgsz, "not supported by PCRE2: %s", (const char *)pmsg);
            rc = PREX_RELABEL_E_REGEX;
        }
        goto out;
    }
    /* JIT is an optimisation: without it (unsupported CPU, no executable
     * memory) the interpreter gives the same results. */
    (void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
    pcre2_pattern_info(re->code, PCRE2_INFO_CAPTURECOUNT, &re->ncap);
    if (is(src, len, "(.*)") || is(src, len, ".*"))
        re->fast = dotall ? PREX__RE_ALL : PREX__RE_NO_NL;
    rc = 0;
out:
    if (in.p)
        alc->free(alc->ctx, in.p);
    if (t.out.p)
        alc->free(alc->ctx, t.out.p);
    return rc;
}

/* Scans PCRE2's name table (entries: 2-byte group number, the name, a
 * NUL) for every group called name. */
size_t prex__regex_groups_named(const prex__regex *re, const char *name,
                                size_t len, uint32_t *out, size_t max)
{
    uint32_t count = 0, esize = 0, k;
    PCRE2_SPTR table = NULL, e;
    size_t found = 0, i, j;
    uint32_t g, tmp;

    if (!re->code)
        return 0;
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMECOUNT, &count);
    if (count == 0)
        return 0;
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMEENTRYSIZE, &esize);
    pcre2_pattern_info(re->code, PCRE2_INFO_NAMETABLE, &table);
    for (k = 0; k < count; k++) {
        e = table + (size_t)k * esize;
        if (len + 3 > esize || memcmp(e + 2, name, len) != 0 || e[2 + len] != 0)
            continue;
        g = ((uint32_t)e[0] << 8) | e[1];
        if (found < max)
            out[found] = g;
        found++;
    }
    /* Ascending group order: Go expands the leftmost group that matched. */
    for (i = 1; i < found && i < max; i++) {
        tmp = out[i];
        for (j = i; j > 0 && out[j - 1] > tmp; j--)
            out[j] = out[j - 1];
        out[j] = tmp;
    }
    return found;
}

void prex__regex_free(prex__regex *re)
{
    if (re->code)
        pcre2_code_free(re->code);
    re->code = NULL;
}
