/* Safety test: a hostile traced command. For SECONDS seconds it looks at every name in the
 * output folder DIR (and in the crash journal folders there) and replaces each one that is not
 * its own (files and folders) with a symbolic link to VICTIM (the original renamed aside), and
 * plants links at the final names FINAL... too: whatever root then follows would write or chown the victim.
 * Usage: swapper SECONDS VICTIM DIR FINAL... ; prints the number of names it swapped. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int swapped;

static void swap_in(const char *dir, const char *victim, int argc, char **argv) {
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *e;
    char path[4096], aside[4200];
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") || strstr(e->d_name, ".aside"))
            continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (e->d_type == DT_LNK)
            continue;
        if (e->d_type == DT_DIR)
            swap_in(path, victim, argc, argv);
        snprintf(aside, sizeof aside, "%s.aside", path);
        if (rename(path, aside) == 0) {
            if (symlink(victim, path) == 0)
                swapped++;
        }
    }
    closedir(d);
}

int main(int argc, char **argv) {
    if (argc < 4)
        return 2;
    double secs = atof(argv[1]);
    const char *victim = argv[2], *dir = argv[3];
    struct timespec ms = {0, 2 * 1000 * 1000};
    for (int i = 0; i < (int)(secs * 500); i++) {
        for (int f = 4; f < argc; f++)
            if (symlink(victim, argv[f]) == 0)
                swapped++;
        swap_in(dir, victim, argc, argv);
        nanosleep(&ms, NULL);
    }
    printf("swapped %d\n", swapped);
    return 0;
}
