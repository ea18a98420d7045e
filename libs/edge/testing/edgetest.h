/* edgetest.h: what unit tests of the edge and its users share: reading
 * one HTTP/1.1 request, as a fake upstream receives it. Test code only. */
#ifndef SOUK_EDGETEST_H
#define SOUK_EDGETEST_H

#include <stddef.h>

/* Reads one request from fd into buf (NUL-terminated): its head, then
 * Content-Length bytes of body. Its length, or 0 on a close or an error. */
size_t souk_edgetest_read_request(int fd, char *buf, size_t cap);

#endif
