/*
 * syntax.c - pam.d syntax, following upstream Linux-PAM >= 1.6.1 step by
 * step (pam_line.c, _pam_tokenize, _pam_parse_control) so that odd files
 * read as they do there: logical lines, tokens and the control grammar.
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include "conf.h"

#define DELIMITERS  " \n\t"      /* CR is not a separator, as in Linux-PAM */
#define DEFAULT_IDX TREX_PAM_RETURN_VALUES

static const char *const action_names[] = { "ignore", "ok", "done", "bad", "die", "reset" };

static int is_space(int c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\v' || c == '\f' || c == '\r';
}

static int is_digit(int c)
{
    return c >= '0' && c <= '9';
}

void tp_syntax_fill(int actions[TREX_PAM_RETURN_VALUES], int act)
{
    for (int i = 0; i < TREX_PAM_RETURN_VALUES; i++)
        if (actions[i] == TP_ACT_UNDEF)
            actions[i] = act;
}

/* ---- line assembly (pam_line.c) ------------------------------------------------
 * A physical line ending in '\' (trailing blanks ignored) continues; the
 * backslash becomes a space. A line holding '#' ends the logical line, and a
 * blank line right after a continued one ends it too. Leading blanks are
 * skipped and a comment runs to the end of its physical line. */

static int assembly_add(struct tp_assembly *a, const char *start, const char *end, int lineno)
{
    size_t n = (size_t)(end - start);
    if (n == 0)
        return 0;
    if (a->s == NULL)
        a->first = lineno;
    if (a->len + n + 1 > a->size) {
        size_t size = a->len + n + 1;
        char *p;
        if (size < a->size * 2)
            size = a->size * 2;
        if ((p = realloc(a->s, size)) == NULL)
            return -1;
        a->s = p;
        a->size = size;
    }
    memcpy(a->s + a->len, start, n);     /* may hold a NUL: the line then ends there */
    a->len += n;
    a->s[a->len] = '\0';
    return 0;
}

static void assembly_reset(struct tp_assembly *a)
{
    a->len = 0;
    if (a->s != NULL) {
        a->s[0] = '\0';
        FREE(a->s);
    }
    a->size = 0;
}

void tp_syntax_line_free(struct tp_assembly *a)
{
    assembly_reset(a);
    FREE(a->chunk);
    a->chunk_size = 0;
}

/* Replace an escaped newline by a space; 0 if the line continues. */
static int unescape_newline(char *start, char **end)
{
    char *p = *end;
    while (p > start && (*--p == ' ' || *p == '\t' || *p == '\n'))
        ;
    if (*p == '\\') {
        *p = ' ';
        *++p = '\0';
        *end = p;
        return 0;
    }
    return 1;
}

/* 1: a logical line in a->s; 0: end of input; -1: the input ends inside a
 * continued line; -2: out of memory. */
int tp_syntax_line(struct tp_source *in, struct tp_assembly *a)
{
    int ret = 0;

    assembly_reset(a);
    for (;;) {
        const char *nl;
        size_t n;
        char *start, *end;
        int eol;

        if (in->p >= in->end)
            break;
        nl = memchr(in->p, '\n', (size_t)(in->end - in->p));
        n = nl != NULL ? (size_t)(nl + 1 - in->p) : (size_t)(in->end - in->p);
        if (n + 1 > a->chunk_size) {
            char *c = realloc(a->chunk, n + 1);
            if (c == NULL)
                return -2;
            a->chunk = c;
            a->chunk_size = n + 1;
        }
        memcpy(a->chunk, in->p, n);
        a->chunk[n] = '\0';
        in->p += n;
        in->lineno++;

        start = a->chunk;
        end = a->chunk + n;
        eol = unescape_newline(start, &end) || strchr(start, '#') != NULL;
        start += strspn(start, " \t");
        start[strcspn(start, "#")] = '\0';
        if (end < start)
            end = start;

        if (eol) {
            if ((a->s != NULL || (*start != '\0' && *start != '\n')) &&
                assembly_add(a, start, end, in->lineno) != 0)
                return -2;
            if (a->s != NULL && a->s[0] != '\0')
                return 1;
            assembly_reset(a);
            ret = 0;
        } else {
            if (assembly_add(a, start, end, in->lineno) != 0)
                return -2;
            ret = 1;
        }
    }
    assembly_reset(a);
    return ret ? -1 : 0;
}

/* ---- tokens (_pam_tokenize) ------------------------------------------------------
 * Space, tab and newline separate. A token starting with '[' runs to the
 * first ']' ("\]" gives ']'); the brackets go, and whatever follows the ']'
 * starts the next token. */

char *tp_syntax_token(char **next, int *bracketed)
{
    char *from = *next, *end;

    *bracketed = 0;
    if (from == NULL)
        return NULL;
    from += strspn(from, DELIMITERS);
    if (*from == '[') {
        char *to;
        *bracketed = 1;
        for (to = end = ++from; *end && *end != ']'; ++to, ++end) {
            if (*end == '\\' && end[1] == ']')
                ++end;
            if (to != end)
                *to = *end;
        }
        if (to != end)
            *to = '\0';
    } else if (*from) {
        end = from + strcspn(from, DELIMITERS);
    } else {
        *next = NULL;
        return NULL;
    }
    if (*end)
        *end++ = '\0';
    *next = *end ? end : NULL;
    return from;
}

/* ---- the control grammar (_pam_parse_control) ------------------------------------ */

int tp_syntax_control(const char *tok, int actions[TREX_PAM_RETURN_VALUES],
                         const char **why, const char **where)
{
    while (*tok) {
        size_t len = 0;
        int ret, act;

        while (is_space((unsigned char)*tok) && *++tok)
            ;
        if (!*tok)
            break;

        /* the value: the first name in table order that prefixes the text */
        for (ret = 0; ret <= DEFAULT_IDX; ++ret) {
            const char *name = ret < DEFAULT_IDX ? tp_code_token(ret) : "default";
            if (name == NULL || *name == '\0')
                continue;
            len = strlen(name);
            if (strncmp(name, tok, len) == 0)
                break;
        }
        if (ret > DEFAULT_IDX || !*(tok += len)) {
            *why = "expecting return value";
            goto parse_error;
        }

        while (is_space((unsigned char)*tok) && *++tok)
            ;
        if (!*tok || *tok++ != '=') {
            *why = "expecting '='";
            goto parse_error;
        }
        while (is_space((unsigned char)*tok) && *++tok)
            ;
        if (!*tok) {
            *why = "expecting action";
            goto parse_error;
        }

        /* the action: a name (matched as a prefix, like the values) or N */
        for (act = 0; act < (int)(sizeof action_names / sizeof action_names[0]); ++act) {
            len = strlen(action_names[act]);
            if (strncmp(action_names[act], tok, len) == 0) {
                act = -act;
                tok += len;
                break;
            }
        }
        if (act > 0) {
            if (!is_digit((unsigned char)*tok)) {
                *why = "expecting jump number";
                goto parse_error;
            }
            act = 0;
            do {
                int digit = *tok - '0';
                if (act > INT_MAX / 10 || act * 10 > INT_MAX - digit) {
                    *why = "jump number too large";     /* libpam wraps (a deliberate difference) */
                    goto parse_error;
                }
                act = act * 10 + digit;
            } while (*++tok && is_digit((unsigned char)*tok));
            if (act == 0) {
                *why = "expecting non-zero jump";
                goto parse_error;
            }
        }

        if (ret != DEFAULT_IDX)
            actions[ret] = act;              /* the last one wins, as in libpam */
        else
            tp_syntax_fill(actions, act);        /* only what is still unset */
    }
    return 0;

parse_error:
    *where = tok;
    for (int i = 0; i < TREX_PAM_RETURN_VALUES; i++)
        actions[i] = TP_ACT_BAD;
    return -1;
}

int tp_conf_parse_control(const char *text, int actions[TREX_PAM_RETURN_VALUES])
{
    const char *why = NULL, *where = NULL;
    int rc;

    for (int i = 0; i < TREX_PAM_RETURN_VALUES; i++)
        actions[i] = TP_ACT_UNDEF;
    if (text == NULL) {
        tp_syntax_fill(actions, TP_ACT_BAD);
        return -1;
    }
    rc = tp_syntax_control(text, actions, &why, &where);
    tp_syntax_fill(actions, TP_ACT_BAD);
    return rc;
}

