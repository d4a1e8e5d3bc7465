/*
 * lex.re - the only re2c source: the tokenizer of both text formats.
 *
 * One block with three start conditions (see internal.h): GEN for names,
 * quoted strings and punctuation, VAL for numbers, TEXT for the rest of a
 * line. The parser picks the condition of every token, because the same
 * bytes mean different things in different places ("+Inf" is a value,
 * never a name). Each token is a single DFA pass over its bytes.
 *
 * End of input uses re2c's sentinel with bounds checks: *lim is '\0', the
 * '$' rule fires only when the cursor reaches lim, and a NUL byte inside
 * the input is an ordinary byte (PREX__T_NUL between tokens, allowed inside
 * quoted strings and text). The lexer never reads past lim.
 */
#include "internal.h"

/*!re2c
    re2c:define:YYCTYPE = "unsigned char";
    re2c:define:YYCURSOR = "cur";
    re2c:define:YYLIMIT = "lim";
    re2c:define:YYMARKER = "mar";
    re2c:yyfill:enable = 0;
    re2c:eof = 0;
    re2c:flags:utf-8 = 0;

    utf8_2 = [\xc2-\xdf][\x80-\xbf];
    utf8_3 = "\xe0"[\xa0-\xbf][\x80-\xbf]
           | [\xe1-\xec\xee\xef][\x80-\xbf][\x80-\xbf]
           | "\xed"[\x80-\x9f][\x80-\xbf];
    utf8_4 = "\xf0"[\x90-\xbf][\x80-\xbf][\x80-\xbf]
           | [\xf1-\xf3][\x80-\xbf][\x80-\xbf][\x80-\xbf]
           | "\xf4"[\x80-\x8f][\x80-\xbf][\x80-\xbf];
    utf8_mb = utf8_2 | utf8_3 | utf8_4;

    qchar   = [\x00-\x09\x0b-\x21\x23-\x5b\x5d-\x7f] | utf8_mb;
    qesc    = "\\" ["\\n];
    qxesc   = "\\" ([\x00-\x09\x0b-\x7f] | utf8_mb);
    qanyc   = [^\n"\\];
    qanyesc = "\\" [^\n];

    blank   = [ \t]+;
    ident   = [a-zA-Z_:][a-zA-Z0-9_:]*;
    lname   = [a-zA-Z_][a-zA-Z0-9_]*;
    digits  = [0-9]+;
    sign    = [+-];
    mant    = digits ("." [0-9]*)? | "." digits;
    expo    = [eE] sign? digits;
    float   = sign? (mant expo? | 'inf' | 'infinity') | 'nan';
    word    = [^ \t\n\r\x00]+;
    textc   = [\x00-\x09\x0b-\x7f] | utf8_mb;
*/

/*!types:re2c */

/*
 * Scans one token starting at l->cur in condition cond.
 * Returns a PREX__T_* kind; [l->tok, l->cur) is the token. Never reads at
 * or past l->lim except the sentinel byte *l->lim.
 */
int prex__lex(prex__lexer *l, int cond)
{
    const unsigned char *cur = (const unsigned char *)l->cur;
    const unsigned char *lim = (const unsigned char *)l->lim;
    const unsigned char *mar = cur;
    int c = cond == PREX__C_VAL ? yycVAL : cond == PREX__C_TEXT ? yycTEXT : yycGEN;
    int tok;

    l->tok = l->cur;
/*!re2c
    re2c:define:YYGETCONDITION = "c";
    re2c:define:YYGETCONDITION:naked = 1;
    re2c:define:YYSETCONDITION = "c = @@;";
    re2c:define:YYSETCONDITION:naked = 1;

    <GEN,VAL> "\n"         { tok = PREX__T_NL; goto done; }
    <GEN,VAL> "\r\n"       { tok = PREX__T_CRNL; goto done; }
    <GEN,VAL> blank        { tok = PREX__T_BLANK; goto done; }
    <GEN,VAL> "#"          { tok = PREX__T_HASH; goto done; }
    <GEN,VAL> [\x00]       { tok = PREX__T_NUL; goto done; }
    <GEN,VAL> $            { tok = PREX__T_END; goto done; }

    <GEN> lname            { tok = PREX__T_LNAME; goto done; }
    <GEN> ident            { tok = PREX__T_IDENT; goto done; }
    <GEN> "{"              { tok = PREX__T_LBRACE; goto done; }
    <GEN> "}"              { tok = PREX__T_RBRACE; goto done; }
    <GEN> ","              { tok = PREX__T_COMMA; goto done; }
    <GEN> "="              { tok = PREX__T_EQ; goto done; }
    <GEN> ["] qchar* ["]               { tok = PREX__T_QSTR; goto done; }
    <GEN> ["] (qchar | qesc)* ["]      { tok = PREX__T_QSTR_ESC; goto done; }
    <GEN> ["] (qchar | qxesc)* ["]     { tok = PREX__T_QSTR_XESC; goto done; }
    <GEN> ["] (qanyc | qanyesc)* ["]   { tok = PREX__T_QSTR_UTF8; goto done; }
    <GEN> ["] (qanyc | qanyesc)* "\\"? { tok = PREX__T_QSTR_OPEN; goto done; }
    <GEN> *                { tok = PREX__T_BAD; goto done; }

    <VAL> sign? digits     { tok = PREX__T_INT; goto done; }
    <VAL> float            { tok = PREX__T_FLOAT; goto done; }
    <VAL> word             { tok = PREX__T_WORD; goto done; }
    <VAL> *                { tok = PREX__T_BAD; goto done; }

    <TEXT> textc+          { tok = PREX__T_TEXT; goto done; }
    <TEXT> [^\n]+          { tok = PREX__T_TEXT_RAW; goto done; }
    <TEXT> "\n"            { tok = PREX__T_NL; goto done; }
    <TEXT> $               { tok = PREX__T_END; goto done; }
*/
done:
    (void)mar;
    l->cur = (const char *)cur;
    return tok;
}
