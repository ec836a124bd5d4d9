// SPDX-License-Identifier: MIT
/*
 * ipcx keygen: a new CURVE key pair in Z85, like libzmq's curve_keygen;
 * optionally written to a secret-key file (created 0600) and a public-key
 * file, the files ipcx send/recv --curve-* and the socket calls read.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include <ipcx/ipcx.h>

#include "cli.h"

static void usage(FILE *f)
{
    fprintf(f, "usage: ipcx keygen [-s SECRET_FILE] [-p PUBLIC_FILE] [--json]\n\n"
               "Make a new CURVE key pair (Curve25519, from libsodium) and print it in Z85,\n"
               "the text form libzmq's ZMQ_CURVE_* options take:\n"
               "    public <40 characters>\n"
               "    secret <40 characters>\n\n"
               "  -s, --secret-file PATH   write the pair to PATH, created mode 0600 (never\n"
               "                           over an existing file), and print only the public\n"
               "                           key; sockets refuse the file once group or others\n"
               "                           may read it\n"
               "  -p, --public-file PATH   also write the public key to PATH (mode 0644), a\n"
               "                           file an allow-list directory (--curve-allow) holds\n"
               "      --json               print {\"public\":\"...\",\"secret\":\"...\"} instead\n"
               "  -h, --help               show this help\n\n"
               "Exit status: 0 success, 1 failure, 2 usage error.\n");
}

int cmd_keygen(int argc, char **argv)
{
    static const struct option opts[] = {{"secret-file", required_argument, NULL, 's'},
                                         {"public-file", required_argument, NULL, 'p'},
                                         {"json", no_argument, NULL, 'j'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *sfile = NULL, *pfile = NULL;
    int json = 0, opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, ":s:p:h", opts, NULL)) != -1) {
        switch (opt) {
        case 's':
            sfile = optarg;
            break;
        case 'p':
            pfile = optarg;
            break;
        case 'j':
            json = 1;
            break;
        case 'h':
            usage(stdout);
            return CLI_OK;
        case ':':
            return cli_usage_error("keygen", "option needs an argument");
        default:
            return cli_usage_error("keygen", "unknown option");
        }
    }
    if (optind < argc)
        return cli_usage_error("keygen", "takes no arguments");
    uint8_t pub[IPCX_CURVE_KEY_SIZE], sec[IPCX_CURVE_KEY_SIZE];
    int rc = ipcx_curve_keypair(pub, sec);
    if (rc != 0) {
        cli_error("keygen", "key pair", ipcx_strerror(rc));
        return CLI_FAIL;
    }
    char zp[IPCX_CURVE_Z85_SIZE + 1], zs[IPCX_CURVE_Z85_SIZE + 1];
    (void)ipcx_z85_encode(zp, sizeof(zp), pub, sizeof(pub));
    (void)ipcx_z85_encode(zs, sizeof(zs), sec, sizeof(sec));
    int status = CLI_OK;
    if (sfile != NULL && (rc = ipcx_curve_secret_file_write(sfile, pub, sec)) != 0) {
        cli_error("keygen", sfile, ipcx_strerror(rc));
        status = CLI_FAIL;
    }
    if (status == CLI_OK && pfile != NULL && (rc = ipcx_curve_public_file_write(pfile, pub)) != 0) {
        cli_error("keygen", pfile, ipcx_strerror(rc));
        status = CLI_FAIL;
    }
    if (status == CLI_OK) {
        if (json) {
            printf("{\"public\":\"%s\"", zp);
            if (sfile == NULL) {
                printf(",\"secret\":");
                cli_json_string(stdout, zs);
            }
            printf("}\n");
        } else {
            printf("public %s\n", zp);
            if (sfile == NULL)
                printf("secret %s\n", zs);
        }
    }
    memset(sec, 0, sizeof(sec));
    memset(zs, 0, sizeof(zs));
    return status;
}
