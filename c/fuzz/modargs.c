/*
 * modargs.c - fuzzes tp_args_parse and tp_args_value (modules/modargs.c)
 * with a table holding every kind of argument. The input is the argument
 * vector, NUL-separated; its first byte picks how bad values are shown.
 */
#include <stdlib.h>
#include <string.h>
#include "fuzz.h"
#include "modargs.h"

struct opts {
    int flag, word;
    const char *text;
    int64_t number, never, big;
};

static const struct tp_arg args[] = {
    { "flag", TP_ARG_FLAG, offsetof(struct opts, flag), 0, 0, 0 },
    { "even", TP_ARG_WORD, offsetof(struct opts, word), 2, 0, 0 },
    { "odd", TP_ARG_WORD, offsetof(struct opts, word), 3, 0, 0 },
    { "text", TP_ARG_TEXT, offsetof(struct opts, text), 0, 0, 0 },
    { "number", TP_ARG_NUMBER, offsetof(struct opts, number), 1, 65535, 0 },
    { "never", TP_ARG_NUMBER, offsetof(struct opts, never), 0, 86400, TP_ARG_NEVER },
    { "big", TP_ARG_NUMBER, offsetof(struct opts, big), 0, INT64_MAX, 0 },
    { "skip", TP_ARG_SKIP, 0, 0, 0, 0 },
    { "skipv", TP_ARG_SKIP_VALUE, 0, 0, 0, 0 },
};

static int no_conv(int n, const struct trex_pam_message **m, struct trex_pam_response **r, void *d)
{
    return TREX_PAM_CONV_ERR;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static trex_pam_handle_t *h;
    struct tp_args table = { args, TP_ARGS_COUNT(args), "fuzz: bad value for %.*s",
                             TP_ARGS_NAME, "fuzz: unknown option: %.*s" };
    struct fuzz_in in = { data, size };
    struct opts o = { 0, 0, "default", 7, 9, 11 };
    const char *argv[64];
    char *owned[64];
    int argc = 0;

    if (h == NULL) {
        struct trex_pam_options opt;
        struct trex_pam_conv conv = { no_conv, NULL };
        fuzz_write("other", "", 0);
        fuzz_options(&opt, NULL);
        if (trex_pam_start_opts("fuzz", NULL, &conv, &opt, &h) != TREX_PAM_SUCCESS)
            abort();
    }
    if (fuzz_byte(&in) & 1)
        table.bad_shows = TP_ARGS_WHOLE;
    while (in.n > 0 && argc < 64) {
        if ((owned[argc] = fuzz_rest(&in)) == NULL)
            abort();
        /* "\x01" alone stands for a NULL argument */
        argv[argc] = strcmp(owned[argc], "\x01") == 0 ? NULL : owned[argc];
        argc++;
    }
    int problems = tp_args_parse(h, &table, argc, argv, &o);
    if (problems < 0 || problems > argc || o.number < 1 || o.number > 65535 || o.never < 0
        || o.never > 86400 || o.big < 0 || (o.word != 0 && o.word != 2 && o.word != 3))
        abort();                          /* a value outside its table's range */
    (void)tp_args_value(argc, argv, "text");
    (void)tp_args_value(argc, argv, "");
    for (int i = 0; i < argc; i++)
        free(owned[i]);
    return 0;
}
