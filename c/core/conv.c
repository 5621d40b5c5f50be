/*
 * conv.c - talking to the application: one-message prompts, pam_get_user
 * and pam_get_authtok with Linux-PAM's rules (its pam_get_item.c and
 * pam_get_authtok.c): a user or token already set is reused, a
 * conversation failure sticks until the items change, and a new password
 * is asked twice.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include "impl.h"

void trex_pam_free_responses(struct trex_pam_response *r, int n)
{
    if (r == NULL)
        return;
    for (int i = 0; i < n; i++)
        tp_secret_drop(&r[i].resp);
    free(r);
}

int trex_pam_answer_copy(const char *p, size_t len, char **out)
{
    if (out == NULL)
        return TREX_PAM_CONV_ERR;
    *out = NULL;
    if (p == NULL || memchr(p, '\0', len) != NULL)
        return TREX_PAM_CONV_ERR;
    if (len == SIZE_MAX || (*out = malloc(len + 1)) == NULL)
        return TREX_PAM_BUF_ERR;
    memcpy(*out, p, len);
    (*out)[len] = '\0';
    return TREX_PAM_SUCCESS;
}

/* ---- pauses: control goes back to the application ------------------------------ */

int trex_pam_at_pause(trex_pam_handle_t *h, trex_pam_pause_fn fn, void *arg)
{
    if (!tp_handle_ok(h) || fn == NULL)
        return TREX_PAM_SYSTEM_ERR;
    for (int i = 0; i < h->npause; i++)
        if (h->pause[i].fn == fn && h->pause[i].arg == arg)
            return TREX_PAM_SUCCESS;
    if (h->npause == TP_PAUSE_MAX)
        return TREX_PAM_BUF_ERR;
    h->pause[h->npause].fn = fn;
    h->pause[h->npause].arg = arg;
    h->npause++;
    return TREX_PAM_SUCCESS;
}

void tp_pause(trex_pam_handle_t *h)
{
    struct tp_pause run[TP_PAUSE_MAX];
    int n = h->npause;

    if (n == 0)
        return;
    memcpy(run, h->pause, (size_t)n * sizeof run[0]);   /* a hook may add one for later */
    h->npause = 0;
    for (int i = 0; i < n; i++)
        run[i].fn(h, run[i].arg);
}

static long long mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The application's conversation function; a pause after it when it took
 * a person's time (trex_pam_at_pause). */
static int converse(trex_pam_handle_t *h, int n, const struct trex_pam_message **msg,
                    struct trex_pam_response **resp)
{
    long long t0 = h->npause > 0 ? mono_ms() : 0;
    int rc = h->conv.conv(n, msg, resp, h->conv.appdata_ptr);

    if (h->npause > 0 && mono_ms() - t0 > TREX_PAM_PAUSE_CONV_MS)
        tp_pause(h);
    return rc;
}

/* Whether h is a handle of this process with a conversation (logged if not). */
static int can_converse(trex_pam_handle_t *h)
{
    if (!tp_handle_ok(h))
        return 0;
    if (h->conv.conv == NULL) {
        tp_log(h, LOG_ERR, "no conversation function");
        return 0;
    }
    return 1;
}

int trex_pam_converse(trex_pam_handle_t *h, int n, const struct trex_pam_message **msg,
                      struct trex_pam_response **resp)
{
    if (resp != NULL)
        *resp = NULL;
    if (n <= 0 || msg == NULL || resp == NULL || !can_converse(h))
        return TREX_PAM_SYSTEM_ERR;
    return converse(h, n, msg, resp);
}

int trex_pam_prompt(trex_pam_handle_t *h, int style, char **response, const char *text)
{
    struct trex_pam_message m = { style, text };
    const struct trex_pam_message *mp = &m;
    struct trex_pam_response *r = NULL;
    int rc;

    if (response != NULL)
        *response = NULL;
    if (text == NULL || !can_converse(h))
        return TREX_PAM_SYSTEM_ERR;
    rc = converse(h, 1, &mp, &r);
    if (rc != TREX_PAM_SUCCESS) {
        if (rc != TREX_PAM_CONV_AGAIN)
            tp_log(h, LOG_ERR, "conversation failed: %s", trex_pam_strerror(h, rc));
        trex_pam_free_responses(r, 1);             /* tolerate a reply left behind on failure */
        return rc;
    }
    if (r != NULL) {
        if (response != NULL && (style == TREX_PAM_PROMPT_ECHO_OFF ||
                                 style == TREX_PAM_PROMPT_ECHO_ON ||
                                 style == TREX_PAM_RADIO_TYPE ||
                                 style == TREX_PAM_BINARY_PROMPT)) {
            *response = r[0].resp;        /* handed to the caller */
            r[0].resp = NULL;
        }
        trex_pam_free_responses(r, 1);
    }
    return TREX_PAM_SUCCESS;
}

int trex_pam_info(trex_pam_handle_t *h, const char *text)
{
    return trex_pam_prompt(h, TREX_PAM_TEXT_INFO, NULL, text);
}

int trex_pam_error(trex_pam_handle_t *h, const char *text)
{
    return trex_pam_prompt(h, TREX_PAM_ERROR_MSG, NULL, text);
}

/* ---- pam_get_user ------------------------------------------------------------ */

int trex_pam_get_user(trex_pam_handle_t *h, const char **user, const char *prompt)
{
    const char *use_prompt;
    char *resp = NULL;
    int rc;

    if (user == NULL)
        return TREX_PAM_SYSTEM_ERR;
    *user = NULL;
    if (!tp_handle_ok(h))
        return TREX_PAM_SYSTEM_ERR;
    if (h->item[TREX_PAM_USER] != NULL) {
        *user = h->item[TREX_PAM_USER];
        return TREX_PAM_SUCCESS;
    }
    if (h->user_sticky != 0)
        return h->user_sticky;            /* an earlier failure, until items change */
    use_prompt = prompt != NULL ? prompt
               : h->item[TREX_PAM_USER_PROMPT] != NULL ? h->item[TREX_PAM_USER_PROMPT]
               : "login:";
    if (h->user_again_prompt != NULL) {   /* resuming after CONV_AGAIN */
        if (strcmp(h->user_again_prompt, use_prompt) != 0)
            return TREX_PAM_ABORT;
        FREE(h->user_again_prompt);
    }
    rc = trex_pam_prompt(h, TREX_PAM_PROMPT_ECHO_ON, &resp, use_prompt);
    if (rc == TREX_PAM_CONV_AGAIN) {
        if ((h->user_again_prompt = strdup(use_prompt)) == NULL)
            return TREX_PAM_BUF_ERR;
        return rc;
    }
    if (rc == TREX_PAM_SUCCESS && resp != NULL) {
        rc = trex_pam_set_item(h, TREX_PAM_USER, resp);
        tp_secret_drop(&resp);
        if (rc == TREX_PAM_SUCCESS)
            *user = h->item[TREX_PAM_USER];
        return rc;
    }
    tp_secret_drop(&resp);
    if (rc != TREX_PAM_BUF_ERR && rc != TREX_PAM_CONV_ERR)
        rc = TREX_PAM_CONV_ERR;           /* SUCCESS without an answer, or any other code */
    h->user_sticky = rc;
    return rc;
}

/* ---- pam_get_authtok --------------------------------------------------------------- */

/* The current module line's argument "name" (exact) or "name=value". */
static const char *module_option(const trex_pam_handle_t *h, const char *name)
{
    size_t n = strlen(name);
    if (h->cur_entry == NULL || h->cur_entry->argv == NULL)
        return NULL;
    for (int i = 0; i < h->cur_entry->argc; i++) {
        const char *a = h->cur_entry->argv[i];
        if (strncmp(a, name, n) == 0) {
            if (a[n] == '\0')
                return a + n;
            if (a[n] == '=')
                return a + n + 1;
        }
    }
    return NULL;
}

int trex_pam_get_authtok(trex_pam_handle_t *h, int item, const char **authtok, const char *prompt)
{
    char *resp[2] = { NULL, NULL };
    char text[TREX_PAM_MAX_MSG_SIZE];
    const char *type = "";
    int in_chauthtok, chpass = 0, rc;

    if (authtok == NULL)
        return TREX_PAM_SYSTEM_ERR;
    *authtok = NULL;
    if (!tp_handle_ok(h) || (item != TREX_PAM_AUTHTOK && item != TREX_PAM_OLDAUTHTOK))
        return TREX_PAM_SYSTEM_ERR;
    in_chauthtok = h->in_module && h->cur_fn == TP_FN_CHAUTHTOK;
    if (in_chauthtok) {
        const char *opt = module_option(h, "authtok_type");
        if (item == TREX_PAM_AUTHTOK)
            chpass = 2;                   /* the new password: asked twice */
        if (opt != NULL && *opt != '\0') {
            if ((rc = trex_pam_set_item(h, TREX_PAM_AUTHTOK_TYPE, opt)) != TREX_PAM_SUCCESS)
                return rc;
            type = h->item[TREX_PAM_AUTHTOK_TYPE];
        } else if (h->item[TREX_PAM_AUTHTOK_TYPE] != NULL) {
            type = h->item[TREX_PAM_AUTHTOK_TYPE];
        }
    }
    if (h->item[item] != NULL) {          /* a token already there is always reused */
        *authtok = h->item[item];
        return TREX_PAM_SUCCESS;
    }
    if (module_option(h, "use_first_pass") != NULL ||
        (chpass && module_option(h, "use_authtok") != NULL))
        return chpass ? TREX_PAM_AUTHTOK_ERR : TREX_PAM_AUTH_ERR;

    if (prompt != NULL) {
        rc = trex_pam_prompt(h, TREX_PAM_PROMPT_ECHO_OFF, &resp[0], prompt);
        if (rc == TREX_PAM_SUCCESS && chpass > 1 && resp[0] != NULL) {
            snprintf(text, sizeof text, "Retype %s", prompt);
            rc = trex_pam_prompt(h, TREX_PAM_PROMPT_ECHO_OFF, &resp[1], text);
        }
    } else if (chpass) {
        const char *sp = *type ? " " : "";
        snprintf(text, sizeof text, "New %s%spassword: ", type, sp);
        rc = trex_pam_prompt(h, TREX_PAM_PROMPT_ECHO_OFF, &resp[0], text);
        if (rc == TREX_PAM_SUCCESS && resp[0] != NULL) {
            snprintf(text, sizeof text, "Retype new %s%spassword: ", type, sp);
            rc = trex_pam_prompt(h, TREX_PAM_PROMPT_ECHO_OFF, &resp[1], text);
        }
    } else if (item == TREX_PAM_OLDAUTHTOK) {
        snprintf(text, sizeof text, "Current %s%spassword: ", type, *type ? " " : "");
        rc = trex_pam_prompt(h, TREX_PAM_PROMPT_ECHO_OFF, &resp[0], text);
    } else {
        rc = trex_pam_prompt(h, TREX_PAM_PROMPT_ECHO_OFF, &resp[0], "Password: ");
    }

    if (rc != TREX_PAM_SUCCESS || resp[0] == NULL || (chpass > 1 && resp[1] == NULL)) {
        tp_secret_drop(&resp[0]);
        tp_secret_drop(&resp[1]);
        if (chpass)
            trex_pam_error(h, "Password change has been aborted.");
        return TREX_PAM_AUTHTOK_ERR;
    }
    if (chpass > 1) {
        int same = tp_secret_streq(resp[0], resp[1]);
        tp_secret_drop(&resp[1]);
        if (!same) {
            tp_secret_drop(&resp[0]);
            trex_pam_error(h, "Sorry, passwords do not match.");
            return TREX_PAM_TRY_AGAIN;
        }
    }
    rc = trex_pam_set_item(h, item, resp[0]);
    tp_secret_drop(&resp[0]);
    if (rc != TREX_PAM_SUCCESS)
        return rc;
    *authtok = h->item[item];
    return TREX_PAM_SUCCESS;
}
