/* tap.h - a tiny TAP emitter for the C tests (c/tests/t_*.c).
 * The helpers are functions, not macros, so every argument is evaluated once. */
#ifndef TP_TAP_H
#define TP_TAP_H
#include <stddef.h>
#if defined(__GNUC__)
#define TAP_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define TAP_PRINTF(a, b)
#endif

int tap_ok(int cond, const char *fmt, ...) TAP_PRINTF(2, 3);
int tap_is_int(long got, long want, const char *fmt, ...) TAP_PRINTF(3, 4);
int tap_is_str(const char *got, const char *want, const char *fmt, ...) TAP_PRINTF(3, 4);
void tap_diag(const char *fmt, ...) TAP_PRINTF(1, 2);
/* A check that cannot run here: "ok N # SKIP why" (TAP's skip directive;
 * a harness counts it as skipped, not as failed). */
void tap_skip(const char *why, ...) TAP_PRINTF(1, 2);
/* Print the plan ("1..N") and return the exit status: 0 if all passed. */
int tap_done(void);
/* A fresh private directory for the test (removed by tap_rmtree). */
char *tap_tmpdir(void);
/* Write text to dir/name; returns 0 or -1. */
int tap_write_file(const char *dir, const char *name, const char *text);
void tap_rmtree(const char *dir);
#endif
