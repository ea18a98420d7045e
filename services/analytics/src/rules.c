/* rules.c: analytics' rules, free of SQL and HTTP: which order events move
 * which figures (the projection's state machine), days of RFC 3339 times,
 * report ranges, and CSV fields. */
#include "analytics.h"

#include <stdio.h>
#include <string.h>

static const char *const status_names[AN__STATUS_COUNT] = {
    [AN_UNSEEN] = "unseen",     [AN_PENDING] = "pending",     [AN_CONFIRMED] = "confirmed",
    [AN_REJECTED] = "rejected", [AN_CANCELLED] = "cancelled",
};

static const char *const action_names[] = {
    [AN_IGNORE] = "ignored",  [AN_PLACE] = "placed",     [AN_SELL] = "sold",
    [AN_REJECT] = "rejected", [AN_CANCEL] = "cancelled", [AN_UNSELL] = "unsold",
};

const char *an_status_name(an_status_t s)
{
    return (unsigned)s < AN__STATUS_COUNT ? status_names[s] : "unknown";
}

bool an_status_parse(const char *name, an_status_t *out)
{
    for (int i = 0; name && i < AN__STATUS_COUNT; i++)
        if (strcmp(name, status_names[i]) == 0) {
            *out = (an_status_t)i;
            return true;
        }
    return false;
}

const char *an_action_name(an_action_t a)
{
    return (unsigned)a < SOUK_ARRAY_LEN(action_names) ? action_names[a] : "ignored";
}

/* Each row: the event, and the action for each state it can meet. A state
 * that the order service never produces before this event (a confirmation
 * after a rejection) is ignored: figures only move forward. */
an_action_t an_order_action(an_status_t now, bool placed, const char *type, an_status_t *next)
{
    bool open = now == AN_UNSEEN || now == AN_PENDING;
    *next = now;
    if (strcmp(type, SOUK_EV_ORDER_PLACED) == 0) {
        if (placed)
            return AN_IGNORE;
        *next = now == AN_UNSEEN ? AN_PENDING : now;
        return AN_PLACE;
    }
    if (strcmp(type, SOUK_EV_ORDER_CONFIRMED) == 0 && open) {
        *next = AN_CONFIRMED;
        return AN_SELL;
    }
    if (strcmp(type, SOUK_EV_ORDER_REJECTED) == 0 && open) {
        *next = AN_REJECTED;
        return AN_REJECT;
    }
    if (strcmp(type, SOUK_EV_ORDER_CANCELLED) == 0 && (open || now == AN_CONFIRMED)) {
        *next = AN_CANCELLED;
        return now == AN_CONFIRMED ? AN_UNSELL : AN_CANCEL;
    }
    return AN_IGNORE;
}

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
static long days_from_civil(long y, long m, long d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;
    long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool digits(const char *s, int n, long *out)
{
    *out = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        *out = *out * 10 + (s[i] - '0');
    }
    return true;
}

static bool valid_date(long y, long m, long d)
{
    static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (y < 1 || m < 1 || m > 12 || d < 1)
        return false;
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return d <= mdays[m - 1] + (m == 2 && leap);
}

/* "HH:MM:SS[.frac](Z|+hh:mm|-hh:mm)" into seconds after midnight (may be
 * negative or past a day with the offset); *frac: a non-zero fraction. */
static bool parse_clock(const char *s, long *secs, bool *frac)
{
    long hh, mi, ss, oh = 0, om = 0;
    if (!digits(s, 2, &hh) || s[2] != ':' || !digits(s + 3, 2, &mi) || s[5] != ':' ||
        !digits(s + 6, 2, &ss) || hh > 23 || mi > 59 || ss > 60)
        return false;
    const char *p = s + 8;
    if (*p == '.') {
        p++;
        if (*p < '0' || *p > '9')
            return false;
        for (; *p >= '0' && *p <= '9'; p++)
            *frac = *frac || *p != '0';
    }
    int sign = 0;
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        sign = 0;
    else if ((*p == '+' || *p == '-') && digits(p + 1, 2, &oh) && p[3] == ':' &&
             digits(p + 4, 2, &om) && p[6] == '\0' && oh < 24 && om < 60)
        sign = *p == '+' ? 1 : -1;
    else
        return false;
    *secs = hh * 3600 + mi * 60 + (ss > 59 ? 59 : ss) - sign * (oh * 3600 + om * 60);
    return true;
}

bool an_parse_day(const char *s, long *day, bool *midnight)
{
    long y, m, d, secs = 0;
    bool frac = false;
    if (!s || strlen(s) < 10 || !digits(s, 4, &y) || s[4] != '-' || !digits(s + 5, 2, &m) ||
        s[7] != '-' || !digits(s + 8, 2, &d) || !valid_date(y, m, d))
        return false;
    if (s[10] != '\0' && ((s[10] != 'T' && s[10] != 't') || !parse_clock(s + 11, &secs, &frac)))
        return false;
    long long t = (long long)days_from_civil(y, m, d) * 86400 + secs;
    long long q = t / 86400, r = t % 86400;
    if (r < 0) {
        q--;
        r += 86400;
    }
    *day = (long)q;
    *midnight = r == 0 && !frac;
    return true;
}

void an_day_format(long day, char out[11])
{
    /* civil_from_days (Howard Hinnant's algorithm) */
    long z = day + 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long y = yoe + era * 400;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    long d = doy - (153 * mp + 2) / 5 + 1;
    long m = mp + (mp < 10 ? 3 : -9);
    y += m <= 2;
    snprintf(out, 11, "%04u-%02u-%02u", (unsigned)(((y % 10000) + 10000) % 10000),
             (unsigned)(m % 100), (unsigned)(d % 100));
}

bool an_range_parse(souk_valid_t *v, const char *from, const char *to, long today, an_range_t *out)
{
    bool midnight, ok = true;
    long f = 0, t = today + 1;
    if (to && !an_parse_day(to, &t, &midnight)) {
        souk_valid_error(v, "to", "must be an RFC 3339 time or a date (YYYY-MM-DD)");
        ok = false;
    } else if (to && !midnight) {
        t++; /* a to inside a day counts that day */
    }
    if (from && !an_parse_day(from, &f, &midnight)) {
        souk_valid_error(v, "from", "must be an RFC 3339 time or a date (YYYY-MM-DD)");
        ok = false;
    } else if (!from) {
        f = t - AN_DEFAULT_DAYS;
    }
    if (ok && f >= t) {
        souk_valid_error(v, "to", "must be after from");
        ok = false;
    } else if (ok && t - f > AN_MAX_RANGE_DAYS) {
        souk_valid_error(v, "from", "the range may span at most %d days", AN_MAX_RANGE_DAYS);
        ok = false;
    }
    out->from = f;
    out->to = t;
    return ok;
}

souk_err_t an_csv_field(souk_buf_t *out, const char *s, bool text)
{
    if (!s)
        return SOUK_OK;
    bool formula = text && (s[0] == '=' || s[0] == '+' || s[0] == '-' || s[0] == '@' ||
                            s[0] == '\t' || s[0] == '\r');
    if (!formula && !strpbrk(s, ",\"\r\n"))
        return souk_buf_append(out, s, strlen(s));
    souk_err_t err = souk_buf_append(out, formula ? "\"'" : "\"", formula ? 2 : 1);
    for (const char *p = s; *p && !err; p++)
        err = *p == '"' ? souk_buf_append(out, "\"\"", 2) : souk_buf_append(out, p, 1);
    return err ? err : souk_buf_append(out, "\"", 1);
}
