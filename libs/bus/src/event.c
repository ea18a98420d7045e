/* event.c: CloudEvents 1.0 structured-mode JSON, parsed and validated, and
 * the owner (source) of each event type. A bad envelope is an error value,
 * never a crash: consumers park it as a dead letter so one poison message
 * cannot block its partition. */
#include "bus_int.h"

#include <stdio.h>
#include <string.h>

static bool copy_field(json_t *o, const char *name, bool required, char *out, size_t cap)
{
    json_t *v = json_object_get(o, name);
    out[0] = '\0';
    if (!v)
        return !required;
    const char *s = json_string_value(v);
    if (!s || (required && !*s) || strlen(s) >= cap || strlen(s) != json_string_length(v))
        return false;
    memcpy(out, s, strlen(s) + 1);
    return true;
}

souk_err_t souk_event_parse(const void *payload, size_t len, souk_event_t *out)
{
    memset(out, 0, sizeof(*out));
    if (!payload || len == 0 || len > (1u << 20))
        return SOUK_EINVAL;
    json_t *j = json_loadb(payload, len, JSON_REJECT_DUPLICATES, NULL);
    const char *spec = json_string_value(json_object_get(j, "specversion"));
    const char *ct = json_string_value(json_object_get(j, "datacontenttype"));
    json_t *data = json_object_get(j, "data");
    bool ok = json_is_object(j) && spec && strcmp(spec, "1.0") == 0 &&
              copy_field(j, "id", true, out->id, sizeof(out->id)) &&
              copy_field(j, "type", true, out->type, sizeof(out->type)) &&
              copy_field(j, "source", true, out->source, sizeof(out->source)) &&
              copy_field(j, "subject", false, out->subject, sizeof(out->subject)) &&
              copy_field(j, "time", false, out->time, sizeof(out->time)) &&
              (!json_object_get(j, "datacontenttype") ||
               (ct && strncmp(ct, "application/json", 16) == 0)) &&
              json_is_object(data);
    if (ok)
        out->data = json_incref(data);
    json_decref(j);
    return ok ? SOUK_OK : SOUK_EINVAL;
}

void souk_event_cleanup(souk_event_t *ev)
{
    json_decref(ev->data);
    ev->data = NULL;
}

const char *souk_event_source_of(const char *type)
{
    static const struct {
        const char *type, *source;
    } owners[] = {
        {SOUK_EV_ORDER_PLACED, SOUK_SOURCE_ORDER},
        {SOUK_EV_ORDER_CONFIRMED, SOUK_SOURCE_ORDER},
        {SOUK_EV_ORDER_REJECTED, SOUK_SOURCE_ORDER},
        {SOUK_EV_ORDER_CANCELLED, SOUK_SOURCE_ORDER},
        {SOUK_EV_INVENTORY_RESERVED, SOUK_SOURCE_PRODUCT},
        {SOUK_EV_INVENTORY_REJECTED, SOUK_SOURCE_PRODUCT},
        {SOUK_EV_INVENTORY_RELEASED, SOUK_SOURCE_PRODUCT},
        {SOUK_EV_PRODUCT_CREATED, SOUK_SOURCE_PRODUCT},
        {SOUK_EV_PRODUCT_UPDATED, SOUK_SOURCE_PRODUCT},
        {SOUK_EV_PRODUCT_DELETED, SOUK_SOURCE_PRODUCT},
        {SOUK_EV_USER_REGISTERED, SOUK_SOURCE_AUTH},
        {SOUK_EV_USER_UPDATED, SOUK_SOURCE_AUTH},
        {SOUK_EV_USER_DELETED, SOUK_SOURCE_AUTH},
    };
    for (size_t i = 0; type && i < SOUK_ARRAY_LEN(owners); i++)
        if (strcmp(owners[i].type, type) == 0)
            return owners[i].source;
    return NULL;
}
