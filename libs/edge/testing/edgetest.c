/* edgetest.c: see edgetest.h. */
#define _GNU_SOURCE
#include "edgetest.h"

#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

size_t souk_edgetest_read_request(int fd, char *buf, size_t cap)
{
    size_t len = 0;
    char *end = NULL;
    while (!(end = memmem(buf, len, "\r\n\r\n", 4))) {
        ssize_t k = recv(fd, buf + len, cap - len - 1, 0);
        if (k <= 0)
            return 0;
        len += (size_t)k;
    }
    buf[len] = '\0';
    size_t head = (size_t)(end + 4 - buf), body = 0;
    char *cl = strcasestr(buf, "\r\nContent-Length:");
    if (cl && cl < end)
        body = strtoul(cl + 17, NULL, 10);
    while (len < head + body) {
        ssize_t k = recv(fd, buf + len, cap - len - 1, 0);
        if (k <= 0)
            return 0;
        len += (size_t)k;
    }
    buf[len] = '\0';
    return len;
}
