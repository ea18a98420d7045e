/* mime.c: one email as RFC 5322 / MIME text: headers (a non-ASCII subject as
 * RFC 2047 encoded words), and a multipart/alternative body with the text
 * and HTML parts in quoted-printable, so any UTF-8 travels over any SMTP
 * server and the file stays readable. Addresses and the subject can never
 * add a header: a line break in either is refused or flattened. It does not
 * talk SMTP (smtp.c) nor choose what to say (rules.c, templates). */
#include "notify.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define QP_LINE       76 /* characters per encoded line, soft break included */
#define SUBJECT_MAX   300
#define WORD_BYTES    45        /* input bytes per encoded word: 60 base64 chars */
#define BOUNDARY_HEAD "=_souk_" /* "=_" never occurs in quoted-printable */

static const char hexdig[] = "0123456789ABCDEF";

static bool needs_encoding(unsigned char c)
{
    return c == '=' || c < 32 || c > 126;
}

souk_err_t notify_qp_encode(const char *s, size_t n, souk_buf_t *out)
{
    souk_err_t err = SOUK_OK;
    int col = 0;
    for (size_t i = 0; i < n && !err; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n' || (c == '\r' && i + 1 < n && s[i + 1] == '\n')) {
            i += c == '\r';
            err = souk_buf_append(out, "\r\n", 2);
            col = 0;
            continue;
        }
        /* a space or tab before a line end (or at the very end) is encoded,
         * since transports may strip trailing white space */
        bool at_end = i + 1 == n || s[i + 1] == '\n' || s[i + 1] == '\r';
        bool encode = needs_encoding(c) && !(c == '\t' && !at_end);
        if ((c == ' ' || c == '\t') && at_end)
            encode = true;
        char piece[3] = {(char)c};
        size_t len = 1;
        if (encode) {
            piece[0] = '=';
            piece[1] = hexdig[c >> 4];
            piece[2] = hexdig[c & 15];
            len = 3;
        }
        if (col + (int)len > QP_LINE - 1) {
            err = souk_buf_append(out, "=\r\n", 3);
            col = 0;
        }
        if (!err)
            err = souk_buf_append(out, piece, len);
        col += (int)len;
    }
    return err;
}

bool notify_mail_address(const char *s, char *out, size_t cap)
{
    const char *lt = s ? strrchr(s, '<') : NULL;
    const char *start = lt ? lt + 1 : s;
    size_t len = start ? (lt ? strcspn(start, ">") : strlen(start)) : 0;
    if (lt && start[len] != '>')
        return false;
    if (len == 0 || len >= cap || !memchr(start, '@', len))
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)start[i] <= ' ' || start[i] == '<' || start[i] == '>' ||
            start[i] == 0x7f)
            return false;
    memcpy(out, start, len);
    out[len] = '\0';
    return true;
}

/* The subject with line breaks and control characters as spaces, cut at
 * SUBJECT_MAX bytes on a character boundary. */
static void flatten(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; in[n] && n + 1 < cap && n < SUBJECT_MAX; n++)
        out[n] = (unsigned char)in[n] < 32 || in[n] == 0x7f ? ' ' : in[n];
    while (n > 0 && in[n] && ((unsigned char)in[n] & 0xC0) == 0x80)
        n--; /* do not end inside a UTF-8 sequence */
    out[n] = '\0';
}

static souk_err_t put_subject(const char *subject, souk_buf_t *out)
{
    char flat[SUBJECT_MAX + 1];
    flatten(subject, flat, sizeof(flat));
    size_t n = strlen(flat);
    bool ascii = true;
    for (size_t i = 0; i < n; i++)
        ascii = ascii && (unsigned char)flat[i] < 127;
    if (ascii)
        return souk_buf_appendf(out, "Subject: %s\r\n", flat);
    souk_err_t err = souk_buf_append(out, "Subject:", 8);
    for (size_t i = 0; i < n && !err;) {
        size_t take = n - i < WORD_BYTES ? n - i : WORD_BYTES;
        while (take > 1 && i + take < n && ((unsigned char)flat[i + take] & 0xC0) == 0x80)
            take--; /* each encoded word holds whole characters */
        char b64[sodium_base64_ENCODED_LEN(WORD_BYTES, sodium_base64_VARIANT_ORIGINAL)];
        sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)flat + i, take,
                          sodium_base64_VARIANT_ORIGINAL);
        err = souk_buf_appendf(out, "%s=?UTF-8?B?%s?=", i ? "\r\n " : " ", b64);
        i += take;
    }
    return err ? err : souk_buf_append(out, "\r\n", 2);
}

static souk_err_t put_part(const char *boundary, const char *type, const char *body,
                           souk_buf_t *out)
{
    souk_err_t err = souk_buf_appendf(out,
                                      "--%s\r\nContent-Type: %s; charset=UTF-8\r\n"
                                      "Content-Transfer-Encoding: quoted-printable\r\n\r\n",
                                      boundary, type);
    if (!err)
        err = notify_qp_encode(body, strlen(body), out);
    return err ? err : souk_buf_append(out, "\r\n", 2);
}

souk_err_t notify_mime_compose(const notify_mail_t *m, souk_buf_t *out)
{
    char to[320], from[320], date[64], boundary[64];
    if (!notify_mail_address(m->to, to, sizeof(to)) ||
        !notify_mail_address(m->from, from, sizeof(from)) || strpbrk(m->from, "\r\n") ||
        strpbrk(m->message_id, "\r\n<> "))
        return SOUK_EINVAL;
    time_t t = (time_t)m->date_unix;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S +0000", &tm);
    uint8_t h[8];
    crypto_generichash(h, sizeof(h), (const unsigned char *)m->message_id, strlen(m->message_id),
                       NULL, 0);
    char hex[17];
    souk_hex(h, sizeof(h), hex);
    snprintf(boundary, sizeof(boundary), "%s%s", BOUNDARY_HEAD, hex);
    souk_err_t err = souk_buf_appendf(out, "From: %s\r\nTo: <%s>\r\n", m->from, to);
    if (!err)
        err = put_subject(m->subject, out);
    if (!err)
        err = souk_buf_appendf(out,
                               "Date: %s\r\nMessage-ID: <%s>\r\nMIME-Version: 1.0\r\n"
                               "Content-Type: multipart/alternative; boundary=\"%s\"\r\n\r\n"
                               "This is a message in MIME format.\r\n\r\n",
                               date, m->message_id, boundary);
    if (!err)
        err = put_part(boundary, "text/plain", m->text, out);
    if (!err)
        err = put_part(boundary, "text/html", m->html, out);
    return err ? err : souk_buf_appendf(out, "--%s--\r\n", boundary);
}
