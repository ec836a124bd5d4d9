// SPDX-License-Identifier: MIT
/* Helpers shared by the ipcx commands: error lines and JSON strings. */
#include <stdio.h>

#include "cli.h"

void cli_error(const char *cmd, const char *what, const char *why)
{
    fprintf(stderr, "ipcx: %s: %s: %s\n", cmd, what, why);
}

int cli_usage_error(const char *cmd, const char *msg)
{
    fprintf(stderr, "ipcx: %s: %s\nTry 'ipcx %s --help'.\n", cmd, msg, cmd);
    return CLI_USAGE;
}

void cli_json_string(FILE *f, const char *s)
{
    fputc('"', f);
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p == '"' || *p == '\\')
            fprintf(f, "\\%c", *p);
        else if (*p < 0x20)
            fprintf(f, "\\u%04x", *p);
        else
            fputc(*p, f);
    }
    fputc('"', f);
}
