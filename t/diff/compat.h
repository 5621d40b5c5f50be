/*
 * compat.h - lets t/diff/oracle.c, written against Linux-PAM's
 * <security/pam_appl.h>, compile against TRex::PAM's C core instead
 * (cc -DTREX_COMPAT -I t/diff -I c/include ... c/libtrexpam.a).
 * Only what oracle.c uses is mapped.
 */
#ifndef TREX_DIFF_COMPAT_H
#define TREX_DIFF_COMPAT_H

#include "trex_pam.h"

#define pam_handle_t          trex_pam_handle_t
#define pam_conv              trex_pam_conv
#define pam_message           trex_pam_message
#define pam_response          trex_pam_response

#define pam_start_confdir     trex_pam_start_confdir
#define pam_end               trex_pam_end
#define pam_authenticate      trex_pam_authenticate
#define pam_setcred           trex_pam_setcred
#define pam_acct_mgmt         trex_pam_acct_mgmt
#define pam_open_session      trex_pam_open_session
#define pam_close_session     trex_pam_close_session
#define pam_chauthtok         trex_pam_chauthtok
#define pam_set_item          trex_pam_set_item
#define pam_get_item          trex_pam_get_item
#define pam_strerror          trex_pam_strerror
#define pam_putenv            trex_pam_putenv
#define pam_getenv            trex_pam_getenv
#define pam_getenvlist        trex_pam_getenvlist
#define free_envlist          trex_pam_free_envlist

#define PAM_SUCCESS                 TREX_PAM_SUCCESS
#define PAM_SYSTEM_ERR              TREX_PAM_SYSTEM_ERR
#define PAM_BUF_ERR                 TREX_PAM_BUF_ERR
#define PAM_CONV_ERR                TREX_PAM_CONV_ERR

#define PAM_CONV                    TREX_PAM_CONV
#define PAM_FAIL_DELAY              TREX_PAM_FAIL_DELAY
#define PAM_XAUTHDATA               TREX_PAM_XAUTHDATA

#define PAM_SILENT                  TREX_PAM_SILENT
#define PAM_DISALLOW_NULL_AUTHTOK   TREX_PAM_DISALLOW_NULL_AUTHTOK
#define PAM_ESTABLISH_CRED          TREX_PAM_ESTABLISH_CRED
#define PAM_DELETE_CRED             TREX_PAM_DELETE_CRED
#define PAM_REINITIALIZE_CRED       TREX_PAM_REINITIALIZE_CRED
#define PAM_REFRESH_CRED            TREX_PAM_REFRESH_CRED
#define PAM_CHANGE_EXPIRED_AUTHTOK  TREX_PAM_CHANGE_EXPIRED_AUTHTOK

#define PAM_PROMPT_ECHO_OFF         TREX_PAM_PROMPT_ECHO_OFF
#define PAM_PROMPT_ECHO_ON          TREX_PAM_PROMPT_ECHO_ON

#endif /* TREX_DIFF_COMPAT_H */
