/* fuzz_common.h: helpers shared by the libFuzzer targets. FUZZ_CHECK states
 * a property the code under test promises; it aborts (a crash libFuzzer
 * saves) whatever NDEBUG says, so it also holds in optimised fuzz builds. */
#ifndef SOUK_FUZZ_COMMON_H
#define SOUK_FUZZ_COMMON_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "%s:%d: property violated: %s\n", __FILE__, __LINE__, #cond);          \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* A NUL-terminated copy of the input (free with free()). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        abort();
    memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

/* Every recorded validation error is {"field": string, "message": string}
 * and the list serialises (it becomes a 400 body). */
static inline void fuzz_check_errors(json_t *errors)
{
    size_t i;
    json_t *e;
    FUZZ_CHECK(json_is_array(errors));
    json_array_foreach(errors, i, e)
    {
        FUZZ_CHECK(json_is_object(e));
        FUZZ_CHECK(json_is_string(json_object_get(e, "field")));
        FUZZ_CHECK(json_is_string(json_object_get(e, "message")));
    }
    char *text = json_dumps(errors, JSON_COMPACT);
    FUZZ_CHECK(text != NULL);
    free(text);
}

#endif
