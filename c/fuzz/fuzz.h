/*
 * fuzz.h - what the fuzz targets of c/fuzz/ share. Each <target>.c defines
 * LLVMFuzzerTestOneInput and is linked either with libFuzzer (make fuzz,
 * clang) or with replay.c, a plain main() that runs the files it is given
 * (make fuzz-replay, any compiler): t/07-fuzz.t replays corpus/<target>/
 * and regress/<target>/ through every target in the normal test run.
 *
 * A target must be deterministic (same input, same path), touch nothing
 * outside the private directory fuzz_dir() makes, and free everything it
 * allocates: libFuzzer reports a leak as a failure.
 */
#ifndef TP_FUZZ_H
#define TP_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include "trex_pam.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The input as a stream of choices: bytes, numbers and strings taken from
 * the front, zeros (and empty strings) once it is used up. */
struct fuzz_in {
    const uint8_t *p;
    size_t n;
};
unsigned int fuzz_byte(struct fuzz_in *in);
/* Up to max bytes as a NUL-terminated malloc'd string (its length from the
 * input; a NUL byte ends it early); NULL only when out of memory. */
char *fuzz_str(struct fuzz_in *in, size_t max);
/* Everything left up to the first NUL (or the end), as a string. */
char *fuzz_rest(struct fuzz_in *in);

/* A private directory (made once, removed at exit). */
const char *fuzz_dir(void);
/* Writes len bytes to fuzz_dir()/name; aborts if it cannot (a broken
 * environment must not read as "no crash"). */
void fuzz_write(const char *name, const void *data, size_t len);
/* Handle options for fuzzing: the directory above, the given registry, every
 * log line formatted (the formatting is fuzzed too) and dropped. */
void fuzz_options(struct trex_pam_options *o, const struct trex_pam_registry *registry);

/* A conversation that answers from the input (appdata: a struct fuzz_in):
 * per call a status (or none at all: SUCCESS without answers), then per
 * message an answer or NULL and a retcode. Looks at every message. */
int fuzz_conv(int n, const struct trex_pam_message **msg, struct trex_pam_response **resp,
              void *appdata);

#endif
