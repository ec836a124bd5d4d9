// SPDX-License-Identifier: MIT
/*
 * pubsub: publish and subscribe.  A PUB sends every message to each
 * subscriber whose subscriptions match its first bytes; a SUB receives
 * only what it subscribed to (a prefix; "" is everything).
 *
 *   pubsub pub URL [COUNT]           listen on URL and publish "even N"
 *                                    and "odd N", ten a second (COUNT of
 *                                    them; 0, the default: forever)
 *   pubsub sub URL [TOPIC [COUNT]]   dial URL, print what starts with
 *                                    TOPIC ("": all), stop after COUNT
 *
 * URL is any transport (tcp://, unix:// or ipc://, unix://@name).  A
 * subscriber misses what was published before it connected and
 * subscribed: that is the pattern, not a fault.  A subscriber that falls
 * behind loses messages past its high-water mark; the others never wait
 * for it.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ipcx/ipcx.h>

static int usage(void)
{
    fprintf(stderr, "usage: pubsub pub URL [COUNT] | pubsub sub URL [TOPIC [COUNT]]\n");
    return 2;
}

static int fail(const char *what, int rc)
{
    fprintf(stderr, "pubsub: %s: %s\n", what, ipcx_strerror(rc));
    return 1;
}

static int publish(ipcx_socket *s, const char *url, long count)
{
    int rc = ipcx_listen(s, url);
    if (rc < 0)
        return fail(url, rc);
    for (long n = 1; count == 0 || n <= count; n++) {
        char msg[64];
        int len = snprintf(msg, sizeof(msg), "%s %ld", n % 2 ? "odd" : "even", n);
        /* Never blocks: with no subscriber yet the message is just gone.
         * The call also accepts new subscribers and their subscriptions. */
        rc = ipcx_send(s, msg, (size_t)len, 0);
        if (rc < 0)
            return fail("send", rc);
        struct timespec tick = {0, 100 * 1000 * 1000};
        nanosleep(&tick, NULL); /* the pace of the publisher, nothing more */
    }
    return 0;
}

static int subscribe(ipcx_socket *s, const char *url, const char *topic, long count)
{
    /* Subscribe first or after dialling: either way the publisher hears of it. */
    int rc = ipcx_socket_set_bytes(s, IPCX_OPT_SUBSCRIBE, topic, strlen(topic));
    if (rc < 0)
        return fail("subscribe", rc);
    rc = ipcx_dial(s, url);
    if (rc < 0)
        return fail(url, rc);
    char msg[4096];
    for (long n = 0; count == 0 || n < count; n++) {
        rc = ipcx_recv(s, msg, sizeof(msg), 0);
        if (rc < 0)
            return fail("recv", rc);
        printf("%.*s\n", rc, msg);
        fflush(stdout);
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    bool is_pub = strcmp(argv[1], "pub") == 0;
    if ((is_pub && argc > 4) || (!is_pub && (strcmp(argv[1], "sub") != 0 || argc > 5)))
        return usage();

    ipcx_socket *s;
    int rc = ipcx_socket_open(is_pub ? IPCX_PUB : IPCX_SUB, &s);
    if (rc < 0)
        return fail("socket", rc);
    int status;
    if (is_pub)
        status = publish(s, argv[2], argc > 3 ? strtol(argv[3], NULL, 10) : 0);
    else
        status = subscribe(s, argv[2], argc > 3 ? argv[3] : "",
                           argc > 4 ? strtol(argv[4], NULL, 10) : 0);
    ipcx_socket_close(s);
    return status;
}
