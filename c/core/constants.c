/*
 * constants.c - the one table of codes, items, flags, message styles and
 * limits (OpenPAM's openpam_constants.c), read by the pam.d parser,
 * trex_pam_strerror() and the XS layer's BOOT.
 */
#include <string.h>
#include "impl.h"

enum tp_kind { TP_CODE, TP_ITEM, TP_FLAG, TP_STYLE, TP_LIMIT };

struct tp_constant {
    enum tp_kind kind;
    const char *name;      /* Linux-PAM's macro name */
    const char *token;     /* pam.d control token (codes only) */
    long value;
    const char *text;      /* pam_strerror text (codes only) */
};

/* Codes first, in numeric order: index == code for the first 32 rows. */
static const struct tp_constant constants[] = {
    { TP_CODE, "PAM_SUCCESS", "success", TREX_PAM_SUCCESS, "Success" },
    { TP_CODE, "PAM_OPEN_ERR", "open_err", TREX_PAM_OPEN_ERR, "Failed to load module" },
    { TP_CODE, "PAM_SYMBOL_ERR", "symbol_err", TREX_PAM_SYMBOL_ERR, "Symbol not found" },
    { TP_CODE, "PAM_SERVICE_ERR", "service_err", TREX_PAM_SERVICE_ERR, "Error in service module" },
    { TP_CODE, "PAM_SYSTEM_ERR", "system_err", TREX_PAM_SYSTEM_ERR, "System error" },
    { TP_CODE, "PAM_BUF_ERR", "buf_err", TREX_PAM_BUF_ERR, "Memory buffer error" },
    { TP_CODE, "PAM_PERM_DENIED", "perm_denied", TREX_PAM_PERM_DENIED, "Permission denied" },
    { TP_CODE, "PAM_AUTH_ERR", "auth_err", TREX_PAM_AUTH_ERR, "Authentication failure" },
    { TP_CODE, "PAM_CRED_INSUFFICIENT", "cred_insufficient", TREX_PAM_CRED_INSUFFICIENT,
      "Insufficient credentials to access authentication data" },
    { TP_CODE, "PAM_AUTHINFO_UNAVAIL", "authinfo_unavail", TREX_PAM_AUTHINFO_UNAVAIL,
      "Authentication service cannot retrieve authentication info" },
    { TP_CODE, "PAM_USER_UNKNOWN", "user_unknown", TREX_PAM_USER_UNKNOWN,
      "User not known to the underlying authentication module" },
    { TP_CODE, "PAM_MAXTRIES", "maxtries", TREX_PAM_MAXTRIES,
      "Have exhausted maximum number of retries for service" },
    { TP_CODE, "PAM_NEW_AUTHTOK_REQD", "new_authtok_reqd", TREX_PAM_NEW_AUTHTOK_REQD,
      "Authentication token is no longer valid; new one required" },
    { TP_CODE, "PAM_ACCT_EXPIRED", "acct_expired", TREX_PAM_ACCT_EXPIRED, "User account has expired" },
    { TP_CODE, "PAM_SESSION_ERR", "session_err", TREX_PAM_SESSION_ERR,
      "Cannot make/remove an entry for the specified session" },
    { TP_CODE, "PAM_CRED_UNAVAIL", "cred_unavail", TREX_PAM_CRED_UNAVAIL,
      "Authentication service cannot retrieve user credentials" },
    { TP_CODE, "PAM_CRED_EXPIRED", "cred_expired", TREX_PAM_CRED_EXPIRED, "User credentials expired" },
    { TP_CODE, "PAM_CRED_ERR", "cred_err", TREX_PAM_CRED_ERR, "Failure setting user credentials" },
    { TP_CODE, "PAM_NO_MODULE_DATA", "no_module_data", TREX_PAM_NO_MODULE_DATA,
      "No module specific data is present" },
    { TP_CODE, "PAM_CONV_ERR", "conv_err", TREX_PAM_CONV_ERR, "Conversation error" },
    { TP_CODE, "PAM_AUTHTOK_ERR", "authtok_err", TREX_PAM_AUTHTOK_ERR,
      "Authentication token manipulation error" },
    { TP_CODE, "PAM_AUTHTOK_RECOVERY_ERR", "authtok_recover_err", TREX_PAM_AUTHTOK_RECOVERY_ERR,
      "Authentication information cannot be recovered" },
    { TP_CODE, "PAM_AUTHTOK_LOCK_BUSY", "authtok_lock_busy", TREX_PAM_AUTHTOK_LOCK_BUSY,
      "Authentication token lock busy" },
    { TP_CODE, "PAM_AUTHTOK_DISABLE_AGING", "authtok_disable_aging", TREX_PAM_AUTHTOK_DISABLE_AGING,
      "Authentication token aging disabled" },
    { TP_CODE, "PAM_TRY_AGAIN", "try_again", TREX_PAM_TRY_AGAIN,
      "Failed preliminary check by password service" },
    { TP_CODE, "PAM_IGNORE", "ignore", TREX_PAM_IGNORE,
      "The return value should be ignored by PAM dispatch" },
    { TP_CODE, "PAM_ABORT", "abort", TREX_PAM_ABORT, "Critical error - immediate abort" },
    { TP_CODE, "PAM_AUTHTOK_EXPIRED", "authtok_expired", TREX_PAM_AUTHTOK_EXPIRED,
      "Authentication token expired" },
    { TP_CODE, "PAM_MODULE_UNKNOWN", "module_unknown", TREX_PAM_MODULE_UNKNOWN, "Module is unknown" },
    { TP_CODE, "PAM_BAD_ITEM", "bad_item", TREX_PAM_BAD_ITEM, "Bad item passed to pam_*_item()" },
    { TP_CODE, "PAM_CONV_AGAIN", "conv_again", TREX_PAM_CONV_AGAIN, "Conversation is waiting for event" },
    { TP_CODE, "PAM_INCOMPLETE", "incomplete", TREX_PAM_INCOMPLETE,
      "Application needs to call libpam again" },

    { TP_ITEM, "PAM_SERVICE", NULL, TREX_PAM_SERVICE, NULL },
    { TP_ITEM, "PAM_USER", NULL, TREX_PAM_USER, NULL },
    { TP_ITEM, "PAM_TTY", NULL, TREX_PAM_TTY, NULL },
    { TP_ITEM, "PAM_RHOST", NULL, TREX_PAM_RHOST, NULL },
    { TP_ITEM, "PAM_CONV", NULL, TREX_PAM_CONV, NULL },
    { TP_ITEM, "PAM_AUTHTOK", NULL, TREX_PAM_AUTHTOK, NULL },
    { TP_ITEM, "PAM_OLDAUTHTOK", NULL, TREX_PAM_OLDAUTHTOK, NULL },
    { TP_ITEM, "PAM_RUSER", NULL, TREX_PAM_RUSER, NULL },
    { TP_ITEM, "PAM_USER_PROMPT", NULL, TREX_PAM_USER_PROMPT, NULL },
    { TP_ITEM, "PAM_FAIL_DELAY", NULL, TREX_PAM_FAIL_DELAY, NULL },
    { TP_ITEM, "PAM_XDISPLAY", NULL, TREX_PAM_XDISPLAY, NULL },
    { TP_ITEM, "PAM_XAUTHDATA", NULL, TREX_PAM_XAUTHDATA, NULL },
    { TP_ITEM, "PAM_AUTHTOK_TYPE", NULL, TREX_PAM_AUTHTOK_TYPE, NULL },

    { TP_FLAG, "PAM_SILENT", NULL, TREX_PAM_SILENT, NULL },
    { TP_FLAG, "PAM_DISALLOW_NULL_AUTHTOK", NULL, TREX_PAM_DISALLOW_NULL_AUTHTOK, NULL },
    { TP_FLAG, "PAM_ESTABLISH_CRED", NULL, TREX_PAM_ESTABLISH_CRED, NULL },
    { TP_FLAG, "PAM_DELETE_CRED", NULL, TREX_PAM_DELETE_CRED, NULL },
    { TP_FLAG, "PAM_REINITIALIZE_CRED", NULL, TREX_PAM_REINITIALIZE_CRED, NULL },
    { TP_FLAG, "PAM_REFRESH_CRED", NULL, TREX_PAM_REFRESH_CRED, NULL },
    { TP_FLAG, "PAM_CHANGE_EXPIRED_AUTHTOK", NULL, TREX_PAM_CHANGE_EXPIRED_AUTHTOK, NULL },
    { TP_FLAG, "PAM_PRELIM_CHECK", NULL, TREX_PAM_PRELIM_CHECK, NULL },
    { TP_FLAG, "PAM_UPDATE_AUTHTOK", NULL, TREX_PAM_UPDATE_AUTHTOK, NULL },
    { TP_FLAG, "PAM_DATA_REPLACE", NULL, TREX_PAM_DATA_REPLACE, NULL },
    { TP_FLAG, "PAM_DATA_SILENT", NULL, TREX_PAM_DATA_SILENT, NULL },

    { TP_STYLE, "PAM_PROMPT_ECHO_OFF", NULL, TREX_PAM_PROMPT_ECHO_OFF, NULL },
    { TP_STYLE, "PAM_PROMPT_ECHO_ON", NULL, TREX_PAM_PROMPT_ECHO_ON, NULL },
    { TP_STYLE, "PAM_ERROR_MSG", NULL, TREX_PAM_ERROR_MSG, NULL },
    { TP_STYLE, "PAM_TEXT_INFO", NULL, TREX_PAM_TEXT_INFO, NULL },
    { TP_STYLE, "PAM_RADIO_TYPE", NULL, TREX_PAM_RADIO_TYPE, NULL },
    { TP_STYLE, "PAM_BINARY_PROMPT", NULL, TREX_PAM_BINARY_PROMPT, NULL },

    { TP_LIMIT, "PAM_MAX_NUM_MSG", NULL, TREX_PAM_MAX_NUM_MSG, NULL },
    { TP_LIMIT, "PAM_MAX_MSG_SIZE", NULL, TREX_PAM_MAX_MSG_SIZE, NULL },
    { TP_LIMIT, "PAM_MAX_RESP_SIZE", NULL, TREX_PAM_MAX_RESP_SIZE, NULL },
};

#define NCONSTANTS (sizeof constants / sizeof constants[0])

int trex_pam_constant(size_t i, const char **name, long *value)
{
    if (i >= NCONSTANTS)
        return 0;
    if (name != NULL)
        *name = constants[i].name;
    if (value != NULL)
        *value = constants[i].value;
    return 1;
}

const char *trex_pam_strerror(const trex_pam_handle_t *h, int errnum)
{
    (void)h;   /* pamh may be NULL or ended: strerror never needs it */
    if (errnum >= 0 && errnum < TREX_PAM_RETURN_VALUES)
        return constants[errnum].text;
    return "Unknown PAM error";
}

const char *trex_pam_status_token(int code)
{
    if (code >= 0 && code < TREX_PAM_RETURN_VALUES)
        return constants[code].token;
    return NULL;
}

const char *trex_pam_version(void)
{
#ifdef TREX_PAM_VERSION
    return TREX_PAM_VERSION;
#else
    return "0.01";
#endif
}
