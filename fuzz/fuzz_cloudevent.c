/* fuzz_cloudevent: the CloudEvents 1.0 envelope parser every consumer runs on
 * Kafka payloads (souk_event_parse, souk_event_cleanup). A poison message must
 * be an error value, never a crash; an accepted one must carry the envelope's
 * own id, type and source, NUL-terminated within their buffers, and an object
 * as data. */
#include "fuzz_common.h"

#include <souk/bus.h>

static void check_field(json_t *env, const char *name, const char *got, size_t cap, bool required)
{
    FUZZ_CHECK(strnlen(got, cap) < cap);
    const char *want = json_string_value(json_object_get(env, name));
    if (required)
        FUZZ_CHECK(want && *got);
    FUZZ_CHECK(strcmp(got, want ? want : "") == 0);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    json_object_seed(1); /* reproducible hashing across runs */
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    souk_event_t ev;
    souk_err_t err = souk_event_parse(data, size, &ev);
    FUZZ_CHECK(err == SOUK_OK || err == SOUK_EINVAL);
    if (err == SOUK_OK) {
        json_t *env = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES, NULL);
        FUZZ_CHECK(json_is_object(env));
        FUZZ_CHECK(strcmp(json_string_value(json_object_get(env, "specversion")), "1.0") == 0);
        check_field(env, "id", ev.id, sizeof(ev.id), true);
        check_field(env, "type", ev.type, sizeof(ev.type), true);
        check_field(env, "source", ev.source, sizeof(ev.source), true);
        check_field(env, "subject", ev.subject, sizeof(ev.subject), false);
        check_field(env, "time", ev.time, sizeof(ev.time), false);
        FUZZ_CHECK(json_is_object(ev.data));
        FUZZ_CHECK(json_equal(ev.data, json_object_get(env, "data")));
        json_decref(env);
    } else {
        FUZZ_CHECK(ev.data == NULL);
    }
    souk_event_cleanup(&ev);
    FUZZ_CHECK(ev.data == NULL);
    return 0;
}
