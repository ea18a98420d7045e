/* roles.c: the one table of roles and the permissions each grants
 * (ARCHITECTURE.md §4, roles and permissions), their names on the wire, and
 * scope strings. Every permission check in souk goes through these bits; no
 * code outside this table decides what a role may do. It does not know who
 * holds which role: that is auth-service's data. */
#include <souk/auth.h>

#include <stdio.h>
#include <string.h>

static const struct {
    unsigned bit;
    const char *name;
} perms[] = {
    {SOUK_PERM_PRODUCTS_WRITE, "products:write"},
    {SOUK_PERM_ORDERS_READ_ANY, "orders:read:any"},
    {SOUK_PERM_ORDERS_CANCEL_ANY, "orders:cancel:any"},
    {SOUK_PERM_USERS_READ, "users:read"},
    {SOUK_PERM_USERS_WRITE, "users:write"},
    {SOUK_PERM_REPORTS_READ, "reports:read"},
    {SOUK_PERM_CLIENTS_WRITE, "clients:write"},
    {SOUK_PERM_AUDIT_READ, "audit:read"},
};

#define SUPPORT (SOUK_PERM_ORDERS_READ_ANY | SOUK_PERM_ORDERS_CANCEL_ANY | SOUK_PERM_USERS_READ)

static const struct {
    unsigned bit;
    const char *name;
    unsigned perms;
} roles[] = {
    {SOUK_ROLE_CUSTOMER, "customer", 0},
    {SOUK_ROLE_CATALOG, "catalog", SOUK_PERM_PRODUCTS_WRITE},
    {SOUK_ROLE_SUPPORT, "support", SUPPORT},
    {SOUK_ROLE_ANALYST, "analyst", SOUK_PERM_REPORTS_READ},
    {SOUK_ROLE_ADMIN, "admin", SOUK_PERM_ALL},
};

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

unsigned souk_role_permissions(unsigned bits)
{
    unsigned p = 0;
    for (size_t i = 0; i < SOUK_ARRAY_LEN(roles); i++)
        if (bits & roles[i].bit)
            p |= roles[i].perms;
    return p;
}

unsigned souk_permission_parse(const char *name)
{
    for (size_t i = 0; name && i < SOUK_ARRAY_LEN(perms); i++)
        if (strcmp(name, perms[i].name) == 0)
            return perms[i].bit;
    return 0;
}

json_t *souk_permissions_json(unsigned bits)
{
    json_t *a = json_array();
    for (size_t i = 0; i < SOUK_ARRAY_LEN(perms); i++)
        if (bits & perms[i].bit)
            json_array_append_new(a, json_string(perms[i].name));
    return a;
}

json_t *souk_roles_table_json(void)
{
    json_t *a = json_array();
    for (size_t i = 0; i < SOUK_ARRAY_LEN(roles); i++)
        json_array_append_new(a, json_pack("{s:s, s:o}", "name", roles[i].name, "permissions",
                                           souk_permissions_json(roles[i].perms)));
    return a;
}

souk_err_t souk_scope_parse(const char *scope, unsigned *out)
{
    *out = 0;
    if (!scope)
        return SOUK_OK;
    if (strnlen(scope, SOUK_SCOPE_MAX) >= SOUK_SCOPE_MAX)
        return SOUK_EINVAL;
    char name[64];
    for (const char *p = scope; *p;) {
        size_t n = strcspn(p, " ");
        if (n >= sizeof(name))
            return SOUK_EINVAL;
        if (n > 0) {
            memcpy(name, p, n);
            name[n] = '\0';
            unsigned bit = souk_permission_parse(name);
            if (!bit)
                return SOUK_EINVAL;
            *out |= bit;
        }
        p += n + (p[n] == ' ');
    }
    return SOUK_OK;
}

void souk_scope_format(unsigned bits, char out[SOUK_SCOPE_MAX])
{
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < SOUK_ARRAY_LEN(perms); i++)
        if (bits & perms[i].bit)
            len += (size_t)snprintf(out + len, SOUK_SCOPE_MAX - len, "%s%s", len ? " " : "",
                                    perms[i].name);
}

bool souk_claims_can(const souk_claims_t *c, unsigned perm)
{
    return (c->perms & perm) == perm;
}
