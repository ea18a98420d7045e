/* roles.c: the closed set of roles and their names on the wire. */
#include <souk/auth.h>

#include <string.h>

static const struct {
    unsigned bit;
    const char *name;
} roles[] = {{SOUK_ROLE_CUSTOMER, "customer"}, {SOUK_ROLE_ADMIN, "admin"}};

unsigned souk_role_parse(const char *name)
{
    for (size_t i = 0; name && i < SOUK_ARRAY_LEN(roles); i++)
        if (strcmp(name, roles[i].name) == 0)
            return roles[i].bit;
    return 0;
}

json_t *souk_roles_json(unsigned bits)
{
    json_t *a = json_array();
    for (size_t i = 0; i < SOUK_ARRAY_LEN(roles); i++)
        if (bits & roles[i].bit)
            json_array_append_new(a, json_string(roles[i].name));
    return a;
}
