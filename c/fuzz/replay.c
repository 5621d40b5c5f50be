/*
 * replay.c - a main() for the fuzz targets without libFuzzer: runs each
 * file named (a directory: each file in it, in name order) once through
 * LLVMFuzzerTestOneInput. Names each file before running it, so a crash
 * names its input; exits 0 when every file ran.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "fuzz.h"

static int run_file(const char *path)
{
    FILE *f = fopen(path, "rb");
    uint8_t *buf = NULL;
    size_t n = 0, cap = 0;

    if (f == NULL) {
        perror(path);
        return -1;
    }
    for (;;) {
        size_t r;
        if (n == cap) {
            uint8_t *nb = realloc(buf, cap = cap ? cap * 2 : 4096);
            if (nb == NULL) {
                perror("replay");
                exit(2);
            }
            buf = nb;
        }
        if ((r = fread(buf + n, 1, cap - n, f)) == 0)
            break;
        n += r;
    }
    if (ferror(f)) {
        perror(path);
        fclose(f);
        free(buf);
        return -1;
    }
    fclose(f);
    fprintf(stderr, "replay: %s\n", path);
    /* a copy of exactly n bytes: ASan sees a read past the input */
    {
        uint8_t *copy = malloc(n ? n : 1);
        if (copy == NULL) {
            perror("replay");
            exit(2);
        }
        memcpy(copy, buf, n);
        free(buf);
        (void)LLVMFuzzerTestOneInput(copy, n);
        free(copy);
    }
    return 0;
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
    return strcmp((*a)->d_name, (*b)->d_name);
}

int main(int argc, char **argv)
{
    int bad = 0, ran = 0;

    for (int i = 1; i < argc; i++) {
        struct stat st;
        struct dirent **names;
        int n;

        if (stat(argv[i], &st) != 0) {
            perror(argv[i]);
            bad = 1;
            continue;
        }
        if (!S_ISDIR(st.st_mode)) {
            bad |= run_file(argv[i]) != 0;
            ran++;
            continue;
        }
        if ((n = scandir(argv[i], &names, NULL, by_name)) < 0) {
            perror(argv[i]);
            bad = 1;
            continue;
        }
        for (int k = 0; k < n; k++) {
            char path[4096];
            if (names[k]->d_name[0] != '.') {
                snprintf(path, sizeof path, "%s/%s", argv[i], names[k]->d_name);
                bad |= run_file(path) != 0;
                ran++;
            }
            free(names[k]);
        }
        free(names);
    }
    fprintf(stderr, "replay: %d file%s\n", ran, ran == 1 ? "" : "s");
    return bad ? 1 : 0;
}
