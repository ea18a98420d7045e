/* execute.c: execution (spec section 6) in waves. Every resolver that can run
 * runs; a resolver that needs data answers with a load request, and its field
 * waits. When nothing else can run, the host receives the wave's loads grouped
 * per loader, answers each key, and execution resumes with the loaded values,
 * which complete like any value (default resolvers apply on loaded objects).
 * Root fields of a query start in the first wave; those of a mutation run one
 * after the other, each with everything below it.
 *
 * Results build up in a tree of positions so that a null can bubble to the
 * nearest nullable position (spec 6.4.4) even after its siblings completed or
 * while some of them wait: fields waiting below a nulled position are dropped
 * when their data arrives. All JSON given to or made by the executor lives
 * until souk_gql_exec_free (the arena releases it), so values can be borrowed
 * freely. No threads, no network, no clock. */
#include "gql_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MESSAGE_MAX 1024

/* ---- answers ------------------------------------------------------------------------------ */

typedef enum { ANS_NONE, ANS_VALUE, ANS_ERROR, ANS_LOAD } anskind_t;

struct souk_gql_answer {
    anskind_t kind;
    json_t *value;
    souk_gql_code_t code;
    char *message;
    char *loader, *key;
    json_t *arg;
    souk_gql_then_fn then;
};

static void answer_reset(souk_gql_answer_t *a)
{
    json_decref(a->value);
    json_decref(a->arg);
    souk_free(a->message);
    souk_free(a->loader);
    souk_free(a->key);
    memset(a, 0, sizeof(*a));
}

void souk_gql_answer_value(souk_gql_answer_t *a, json_t *value)
{
    answer_reset(a);
    a->kind = ANS_VALUE;
    a->value = value;
}

void souk_gql_answer_error(souk_gql_answer_t *a, souk_gql_code_t code, const char *fmt, ...)
{
    char msg[MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    answer_reset(a);
    a->kind = ANS_ERROR;
    a->code = code;
    a->message = souk_strdup(msg);
}

void souk_gql_answer_load_then(souk_gql_answer_t *a, const char *loader, const char *key,
                               json_t *arg, souk_gql_then_fn then)
{
    answer_reset(a);
    a->kind = ANS_LOAD;
    a->loader = souk_strdup(loader ? loader : "");
    a->key = souk_strdup(key ? key : "");
    a->arg = arg;
    a->then = then;
}

void souk_gql_answer_load(souk_gql_answer_t *a, const char *loader, const char *key, json_t *arg)
{
    souk_gql_answer_load_then(a, loader, key, arg, NULL);
}

/* ---- state -------------------------------------------------------------------------------- */

typedef enum { RN_PENDING, RN_NULL, RN_LEAF, RN_OBJECT, RN_LIST } rstate_t;

/* A position in the result: a field of an object, or an item of a list. */
typedef struct rnode {
    struct rnode *parent;
    const char *key; /* NULL for a list item */
    size_t index;
    const gql_tref_t *type; /* NULL at the root (data), which is nullable */
    rstate_t state;
    json_t *leaf;
    struct rnode **kids;
    size_t nkids;
} rnode_t;

struct groups;

/* CollectSubfields of a group for one object type, kept: every item of a list
 * (and every object below) shares it, as graphql-js memoizes it. */
typedef struct subcache {
    const gql_type_t *type;
    struct groups *fields;
    struct subcache *next;
} subcache_t;

/* Fields of one response key (CollectFields). */
typedef struct {
    const char *key;
    const gql_selection_t **nodes;
    size_t n, cap;
    subcache_t *sub;
} group_t;

typedef struct groups {
    group_t *g;
    size_t n, cap;
    gql_map_t index;
} groups_t;

/* A field being resolved, or waiting for its load. */
typedef struct task {
    rnode_t *node;
    const gql_type_t *ptype;
    const gql_field_t *def;
    const group_t *group;
    json_t *parent;
    json_t *args;
    void *udata;
    souk_gql_then_fn then;
    souk_gql_batch_t *batch;
    size_t entry;
    struct task *next;
} task_t;

typedef struct {
    const char *key;
    json_t *arg, *value;
    bool answered, failed;
    souk_gql_code_t code;
    char *message;
    size_t next_same_key; /* index + 1 */
} entry_t;

struct souk_gql_batch {
    const char *loader;
    entry_t *e;
    size_t n, cap;
    gql_map_t keys; /* key -> index + 1 of its first entry */
};

typedef enum { EX_NEW, EX_WAITING, EX_DONE } exstate_t;

struct souk_gql_exec {
    souk_arena_t *a;
    const souk_gql_schema_t *s;
    const souk_gql_doc_t *doc;
    const souk_gql_resolvers_t *res;
    const gql_def_t *op;
    json_t *vars;
    void *host;
    json_t *errors;
    rnode_t *root;
    const gql_type_t *root_type;
    groups_t roots;
    size_t next_root;
    souk_gql_batch_t **batches;
    size_t nbatches, bcap;
    task_t *waiting, **tail;
    exstate_t state;
    unsigned waves;
    json_t *result;
};

static json_t *keep(souk_gql_exec_t *ex, json_t *j)
{
    return souk_arena_json(ex->a, j);
}

static void *zalloc(souk_gql_exec_t *ex, size_t n)
{
    void *p = souk_arena_alloc(ex->a, n ? n : 1);
    memset(p, 0, n ? n : 1);
    return p;
}

/* ---- result positions, errors and null propagation ---------------------------------------- */

static rnode_t *new_node(souk_gql_exec_t *ex, rnode_t *parent, const char *key, size_t index,
                         const gql_tref_t *type)
{
    rnode_t *n = zalloc(ex, sizeof(*n));
    n->parent = parent;
    n->key = key;
    n->index = index;
    n->type = type;
    return n;
}

static bool alive(const rnode_t *n)
{
    for (; n; n = n->parent)
        if (n->state == RN_NULL)
            return false;
    return true;
}

static json_t *path_of(const rnode_t *n)
{
    json_t *p = json_array();
    for (; n && n->parent; n = n->parent)
        json_array_insert_new(p, 0,
                              n->key ? json_string(n->key) : json_integer((json_int_t)n->index));
    return p;
}

/* The null a failed position leaves goes up to the nearest nullable one. */
static void null_out(rnode_t *n)
{
    while (n->type && n->type->kind == GQL_T_NONNULL && n->parent)
        n = n->parent;
    n->state = RN_NULL;
}

static void field_error(souk_gql_exec_t *ex, rnode_t *node, const group_t *g, souk_gql_code_t code,
                        const char *message)
{
    gql_loc_t loc = g->nodes[0]->loc;
    json_t *e = souk_gql__error_json(message, &loc, 1, NULL);
    json_object_set_new(e, "path", path_of(node));
    json_object_set_new(e, "extensions", json_pack("{s:s}", "code", souk_gql_code_name(code)));
    json_array_append_new(ex->errors, e);
    null_out(node);
}

/* ---- CollectFields (spec 6.3.2) -------------------------------------------------------------- */

static bool if_argument(souk_gql_exec_t *ex, const gql_directive_t *d, bool *out)
{
    for (const gql_arg_t *a = d->args; a; a = a->next) {
        if (strcmp(a->name, "if") != 0)
            continue;
        const json_t *v = a->value->kind == GQL_V_VAR    ? json_object_get(ex->vars, a->value->str)
                          : a->value->kind == GQL_V_BOOL ? json_boolean(a->value->boolean)
                                                         : NULL;
        if (json_is_boolean(v)) {
            *out = json_is_true(v);
            return true;
        }
    }
    return false;
}

static bool included(souk_gql_exec_t *ex, const gql_directive_t *dirs)
{
    bool b;
    for (const gql_directive_t *d = dirs; d; d = d->next) {
        if (!strcmp(d->name, "skip") && if_argument(ex, d, &b) && b)
            return false;
        if (!strcmp(d->name, "include") && if_argument(ex, d, &b) && !b)
            return false;
    }
    return true;
}

static bool applies(souk_gql_exec_t *ex, const gql_type_t *obj, const char *cond)
{
    const gql_type_t *t = cond ? souk_gql__type(ex->s, cond) : obj;
    return t == obj || (gql_is_abstract(t) && souk_gql__is_possible(t, obj));
}

static void add_to_group(souk_gql_exec_t *ex, groups_t *out, const gql_selection_t *s)
{
    const char *key = gql_response_key(s);
    uintptr_t at = (uintptr_t)souk_gql__map_get(&out->index, key);
    if (!at) {
        if (out->n == out->cap) {
            out->cap = out->cap ? out->cap * 2 : 8;
            group_t *g = zalloc(ex, out->cap * sizeof(*g));
            if (out->n)
                memcpy(g, out->g, out->n * sizeof(*g));
            out->g = g;
        }
        out->g[out->n] = (group_t){.key = key};
        at = ++out->n;
        souk_gql__map_put(&out->index, key, (void *)at);
    }
    group_t *g = &out->g[at - 1];
    if (g->n == g->cap) {
        g->cap = g->cap ? g->cap * 2 : 2;
        const gql_selection_t **nodes = zalloc(ex, g->cap * sizeof(*nodes));
        if (g->n)
            memcpy(nodes, g->nodes, g->n * sizeof(*nodes));
        g->nodes = nodes;
    }
    g->nodes[g->n++] = s;
}

static void collect(souk_gql_exec_t *ex, const gql_type_t *obj, const gql_selset_t *set,
                    gql_map_t *visited, groups_t *out)
{
    for (const gql_selection_t *s = set->first; s; s = s->next) {
        if (!included(ex, s->directives))
            continue;
        if (s->kind == GQL_SEL_FIELD) {
            add_to_group(ex, out, s);
        } else if (s->kind == GQL_SEL_INLINE) {
            if (applies(ex, obj, s->type_cond))
                collect(ex, obj, s->selset, visited, out);
        } else if (!souk_gql__map_get(visited, s->name)) {
            souk_gql__map_put(visited, s->name, (void *)s);
            const gql_def_t *f = souk_gql__map_get(&ex->doc->fragments, s->name);
            if (f && applies(ex, obj, f->type_cond))
                collect(ex, obj, f->selset, visited, out);
        }
    }
}

static groups_t *subfields(souk_gql_exec_t *ex, const gql_type_t *obj, const group_t *cg)
{
    group_t *g = (group_t *)cg; /* the cache is ours; the nodes stay as they are */
    for (subcache_t *c = g->sub; c; c = c->next)
        if (c->type == obj)
            return c->fields;
    groups_t *out = zalloc(ex, sizeof(*out));
    gql_map_t visited;
    souk_gql__map_init(&out->index, ex->a);
    souk_gql__map_init(&visited, ex->a);
    for (size_t i = 0; i < g->n; i++)
        if (g->nodes[i]->selset)
            collect(ex, obj, g->nodes[i]->selset, &visited, out);
    subcache_t *c = zalloc(ex, sizeof(*c));
    *c = (subcache_t){obj, out, g->sub};
    g->sub = c;
    return out;
}

/* ---- batches ----------------------------------------------------------------------------------
 */

static void batch_cleanup(void *p)
{
    souk_gql_batch_t *b = p;
    for (size_t i = 0; i < b->n; i++) {
        json_decref(b->e[i].arg);
        json_decref(b->e[i].value);
        souk_free(b->e[i].message);
    }
    souk_free(b->e);
}

static souk_gql_batch_t *batch_for(souk_gql_exec_t *ex, const char *loader)
{
    for (size_t i = 0; i < ex->nbatches; i++)
        if (strcmp(ex->batches[i]->loader, loader) == 0)
            return ex->batches[i];
    if (ex->nbatches == ex->bcap) {
        ex->bcap = ex->bcap ? ex->bcap * 2 : 4;
        souk_gql_batch_t **grown = zalloc(ex, ex->bcap * sizeof(*grown));
        if (ex->nbatches)
            memcpy(grown, ex->batches, ex->nbatches * sizeof(*grown));
        ex->batches = grown;
    }
    souk_gql_batch_t *b = zalloc(ex, sizeof(*b));
    b->loader = souk_arena_strdup(ex->a, loader);
    souk_gql__map_init(&b->keys, ex->a);
    souk_arena_defer(ex->a, batch_cleanup, b);
    ex->batches[ex->nbatches++] = b;
    return b;
}

/* The entry for (key, arg), shared by equal requests; arg is stolen. */
static size_t batch_entry(souk_gql_exec_t *ex, souk_gql_batch_t *b, const char *key, json_t *arg)
{
    uintptr_t at = (uintptr_t)souk_gql__map_get(&b->keys, key);
    for (size_t i = at; i; i = b->e[i - 1].next_same_key) {
        entry_t *e = &b->e[i - 1];
        if ((!e->arg && !arg) || (e->arg && arg && json_equal(e->arg, arg))) {
            json_decref(arg);
            return i - 1;
        }
    }
    if (b->n == b->cap) {
        b->cap = b->cap ? b->cap * 2 : 8;
        b->e = souk_realloc(b->e, b->cap * sizeof(*b->e));
    }
    entry_t *e = &b->e[b->n];
    *e = (entry_t){.key = souk_arena_strdup(ex->a, key), .arg = arg, .next_same_key = at};
    souk_gql__map_put(&b->keys, e->key, (void *)(uintptr_t)(b->n + 1));
    return b->n++;
}

/* ---- completing values (spec 6.4.3) ------------------------------------------------------------
 */

static void run_group(souk_gql_exec_t *ex, rnode_t *obj, const gql_type_t *t, json_t *value,
                      const group_t *g);
static void complete_value(souk_gql_exec_t *ex, const task_t *c, rnode_t *node,
                           const gql_tref_t *type, json_t *v);

static void field_errorf(souk_gql_exec_t *ex, const task_t *c, rnode_t *node, souk_gql_code_t code,
                         const char *fmt, ...) SOUK_PRINTF(5, 6);

static void field_errorf(souk_gql_exec_t *ex, const task_t *c, rnode_t *node, souk_gql_code_t code,
                         const char *fmt, ...)
{
    char msg[MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    field_error(ex, node, c->group, code, msg);
}

static void complete_object(souk_gql_exec_t *ex, const task_t *c, rnode_t *node,
                            const gql_type_t *t, json_t *v)
{
    groups_t *fields = subfields(ex, t, c->group);
    node->state = RN_OBJECT;
    node->kids = zalloc(ex, fields->n * sizeof(*node->kids));
    for (size_t i = 0; i < fields->n && alive(node); i++)
        run_group(ex, node, t, v, &fields->g[i]);
}

static void complete_list(souk_gql_exec_t *ex, const task_t *c, rnode_t *node,
                          const gql_tref_t *list, json_t *v)
{
    if (!json_is_array(v)) {
        field_errorf(ex, c, node, SOUK_GQL_INTERNAL,
                     "Expected Iterable, but did not find one for field \"%s.%s\".", c->ptype->name,
                     c->def->name);
        return;
    }
    size_t n = json_array_size(v);
    node->state = RN_LIST;
    node->kids = zalloc(ex, n * sizeof(*node->kids));
    for (size_t i = 0; i < n && alive(node); i++) {
        rnode_t *kid = new_node(ex, node, NULL, i, list->of);
        node->kids[node->nkids++] = kid;
        complete_value(ex, c, kid, list->of, json_array_get(v, i));
    }
}

static void complete_leaf(souk_gql_exec_t *ex, const task_t *c, rnode_t *node, const gql_type_t *t,
                          json_t *v)
{
    souk_buf_t msg;
    json_t *out;
    souk_buf_init(&msg, MESSAGE_MAX);
    if (souk_gql__serialize_leaf(t, v, &out, &msg)) {
        node->leaf = keep(ex, out);
        node->state = RN_LEAF;
    } else {
        field_error(ex, node, c->group, SOUK_GQL_INTERNAL, msg.data ? msg.data : "invalid value");
    }
    souk_buf_cleanup(&msg);
}

/* The object type of an abstract value: its "__typename" member, or the only
 * possible type. */
static const gql_type_t *runtime_type(souk_gql_exec_t *ex, const gql_type_t *abstract, json_t *v)
{
    const char *name = json_string_value(json_object_get(v, "__typename"));
    const gql_type_t *t = name ? souk_gql__type(ex->s, name) : NULL;
    if (t && t->kind == GQL_OBJECT && souk_gql__is_possible(abstract, t))
        return t;
    return !name && abstract->npossible == 1 ? abstract->possible[0] : NULL;
}

static void complete_value(souk_gql_exec_t *ex, const task_t *c, rnode_t *node,
                           const gql_tref_t *type, json_t *v)
{
    if (!v || json_is_null(v)) {
        if (type->kind == GQL_T_NONNULL)
            field_errorf(ex, c, node, SOUK_GQL_INTERNAL,
                         "Cannot return null for non-nullable field %s.%s.", c->ptype->name,
                         c->def->name);
        else
            node->state = RN_NULL;
        return;
    }
    const gql_tref_t *t = gql_nullable(type);
    if (t->kind == GQL_T_LIST) {
        complete_list(ex, c, node, t, v);
    } else if (gql_is_leaf(t->named)) {
        complete_leaf(ex, c, node, t->named, v);
    } else if (t->named->kind == GQL_OBJECT) {
        complete_object(ex, c, node, t->named, v);
    } else {
        const gql_type_t *rt = runtime_type(ex, t->named, v);
        if (rt)
            complete_object(ex, c, node, rt, v);
        else
            field_errorf(ex, c, node, SOUK_GQL_INTERNAL,
                         "Abstract type \"%s\" must resolve to an Object type at runtime for field "
                         "\"%s.%s\": give the value a \"__typename\" member naming one of its "
                         "possible types.",
                         t->named->name, c->ptype->name, c->def->name);
    }
}

/* ---- resolving fields (spec 6.4.2)
 * ---------------------------------------------------------------- */

static void suspend(souk_gql_exec_t *ex, const task_t *c, souk_gql_answer_t *ans)
{
    task_t *t = zalloc(ex, sizeof(*t));
    *t = *c;
    t->then = ans->then;
    t->batch = batch_for(ex, ans->loader);
    t->entry = batch_entry(ex, t->batch, ans->key, ans->arg);
    ans->arg = NULL;
    *ex->tail = t;
    ex->tail = &t->next;
}

static void handle(souk_gql_exec_t *ex, const task_t *c, souk_gql_answer_t *ans)
{
    switch (ans->kind) {
    case ANS_NONE:
        complete_value(ex, c, c->node, c->node->type, NULL);
        break;
    case ANS_VALUE:
        complete_value(ex, c, c->node, c->node->type, keep(ex, ans->value));
        ans->value = NULL;
        break;
    case ANS_ERROR:
        field_error(ex, c->node, c->group, ans->code, ans->message);
        break;
    case ANS_LOAD:
        suspend(ex, c, ans);
        break;
    }
    answer_reset(ans);
}

static souk_gql_info_t info_of(souk_gql_exec_t *ex, const task_t *c)
{
    return (souk_gql_info_t){.type = c->ptype->name,
                             .field = c->def->name,
                             .parent = c->parent,
                             .args = c->args,
                             .host = ex->host,
                             .udata = c->udata};
}

/* priceCents -> price_cents, into out[cap]; false when it does not fit. */
static bool snake_case(const char *name, char *out, size_t cap)
{
    size_t k = 0;
    for (const char *p = name; *p; p++) {
        if (k + 3 > cap)
            return false;
        if (*p >= 'A' && *p <= 'Z') {
            out[k++] = '_';
            out[k++] = (char)(*p + 32);
        } else {
            out[k++] = *p;
        }
    }
    out[k] = '\0';
    return true;
}

/* Default resolver: the member named like the field, else its snake_case. */
static json_t *default_value(const json_t *parent, const char *name)
{
    json_t *v = json_object_get(parent, name);
    char snake[256];
    if (v || !json_is_object(parent) || !snake_case(name, snake, sizeof(snake)))
        return v;
    return json_object_get(parent, snake);
}

json_t *souk_gql_snake_keys(const json_t *v)
{
    json_t *out, *x;
    const char *key;
    size_t i;
    char snake[256];
    if (json_is_object(v)) {
        out = json_object();
        json_object_foreach((json_t *)v, key, x) json_object_set_new(
            out, snake_case(key, snake, sizeof(snake)) ? snake : key, souk_gql_snake_keys(x));
        return out;
    }
    if (json_is_array(v)) {
        out = json_array();
        json_array_foreach((json_t *)v, i, x) json_array_append_new(out, souk_gql_snake_keys(x));
        return out;
    }
    return v ? json_deep_copy(v) : NULL;
}

static void resolve(souk_gql_exec_t *ex, task_t *c)
{
    bool own = c->def->index < c->ptype->nfields && &c->ptype->fields[c->def->index] == c->def;
    const gql_resolver_t *r = own ? &ex->res->by_type[c->ptype->index][c->def->index] : NULL;
    if (c->def == &ex->s->schema_field) {
        complete_value(ex, c, c->node, c->node->type, keep(ex, souk_gql__introspect_schema()));
    } else if (c->def == &ex->s->type_field) {
        const char *name = json_string_value(json_object_get(c->args, "name"));
        json_t *t = keep(ex, souk_gql__introspect_type_named(ex->s, name));
        complete_value(ex, c, c->node, c->node->type, t);
    } else if (r && r->unavailable) {
        field_error(ex, c->node, c->group, r->code, r->message);
    } else if (r && r->fn) {
        souk_gql_answer_t ans = {0};
        c->udata = r->udata;
        souk_gql_info_t info = info_of(ex, c);
        r->fn(&info, &ans);
        handle(ex, c, &ans);
    } else {
        complete_value(ex, c, c->node, c->node->type, default_value(c->parent, c->def->name));
    }
}

static void run_group(souk_gql_exec_t *ex, rnode_t *obj, const gql_type_t *t, json_t *value,
                      const group_t *g)
{
    const gql_selection_t *first = g->nodes[0];
    const gql_field_t *def = souk_gql__field_def(ex->s, t, first->name);
    if (!def)
        return;
    rnode_t *node = new_node(ex, obj, g->key, 0, def->type);
    obj->kids[obj->nkids++] = node;
    if (def == &ex->s->typename_field) {
        node->leaf = keep(ex, json_string(t->name));
        node->state = RN_LEAF;
        return;
    }
    task_t c = {.node = node, .ptype = t, .def = def, .group = g, .parent = value};
    souk_buf_t msg;
    json_t *args;
    souk_buf_init(&msg, MESSAGE_MAX);
    if (souk_gql__argument_values(def->args, def->nargs, first->args, ex->vars, &args, &msg)) {
        c.args = keep(ex, args);
        resolve(ex, &c);
    } else {
        field_error(ex, node, g, SOUK_GQL_BAD_USER_INPUT, msg.data ? msg.data : "bad argument");
    }
    souk_buf_cleanup(&msg);
}

/* ---- waves
 * ------------------------------------------------------------------------------------------ */

static void resume_task(souk_gql_exec_t *ex, task_t *t)
{
    entry_t *e = &t->batch->e[t->entry];
    if (!e->answered) {
        field_errorf(ex, t, t->node, SOUK_GQL_INTERNAL,
                     "The loader \"%s\" gave no result for key \"%s\".", t->batch->loader, e->key);
    } else if (e->failed) {
        field_error(ex, t->node, t->group, e->code, e->message ? e->message : "load failed");
    } else if (t->then) {
        souk_gql_answer_t ans = {0};
        souk_gql_info_t info = info_of(ex, t);
        t->then(&info, e->value ? e->value : json_null(), &ans);
        handle(ex, t, &ans);
    } else {
        complete_value(ex, t, t->node, t->node->type, e->value);
    }
}

static void resume(souk_gql_exec_t *ex)
{
    task_t *list = ex->waiting;
    ex->waiting = NULL;
    ex->tail = &ex->waiting;
    ex->batches = NULL;
    ex->nbatches = ex->bcap = 0;
    for (task_t *t = list; t; t = t->next)
        if (alive(t->node))
            resume_task(ex, t);
}

static void start(souk_gql_exec_t *ex)
{
    gql_map_t visited;
    souk_gql__map_init(&visited, ex->a);
    souk_gql__map_init(&ex->roots.index, ex->a);
    collect(ex, ex->root_type, ex->op->selset, &visited, &ex->roots);
    ex->root = new_node(ex, NULL, NULL, 0, NULL);
    ex->root->state = RN_OBJECT;
    ex->root->kids = zalloc(ex, ex->roots.n * sizeof(*ex->root->kids));
    if (ex->op->op == SOUK_GQL_MUTATION)
        return; /* one root field at a time, from the wave loop */
    for (size_t i = 0; i < ex->roots.n && alive(ex->root); i++)
        run_group(ex, ex->root, ex->root_type, json_null(), &ex->roots.g[i]);
}

souk_gql_status_t souk_gql_exec_run(souk_gql_exec_t *ex)
{
    if (ex->state == EX_DONE)
        return SOUK_GQL_DONE;
    if (ex->state == EX_NEW)
        start(ex);
    else
        resume(ex);
    for (;;) {
        if (ex->waiting) {
            ex->state = EX_WAITING;
            ex->waves++;
            return SOUK_GQL_PENDING;
        }
        bool serial = ex->op->op == SOUK_GQL_MUTATION;
        if (serial && ex->next_root < ex->roots.n && alive(ex->root)) {
            run_group(ex, ex->root, ex->root_type, json_null(), &ex->roots.g[ex->next_root++]);
            continue;
        }
        ex->state = EX_DONE;
        return SOUK_GQL_DONE;
    }
}

unsigned souk_gql_exec_waves(const souk_gql_exec_t *ex)
{
    return ex->waves;
}

/* ---- the host's side of a wave ------------------------------------------------------------------
 */

size_t souk_gql_exec_batch_count(const souk_gql_exec_t *ex)
{
    return ex->state == EX_WAITING ? ex->nbatches : 0;
}

souk_gql_batch_t *souk_gql_exec_batch(souk_gql_exec_t *ex, size_t i)
{
    return ex->state == EX_WAITING && i < ex->nbatches ? ex->batches[i] : NULL;
}

const char *souk_gql_batch_loader(const souk_gql_batch_t *b)
{
    return b->loader;
}

size_t souk_gql_batch_size(const souk_gql_batch_t *b)
{
    return b->n;
}

const char *souk_gql_batch_key(const souk_gql_batch_t *b, size_t i)
{
    return i < b->n ? b->e[i].key : NULL;
}

json_t *souk_gql_batch_arg(const souk_gql_batch_t *b, size_t i)
{
    return i < b->n ? b->e[i].arg : NULL;
}

void souk_gql_batch_resolve(souk_gql_batch_t *b, size_t i, json_t *value)
{
    if (i >= b->n) {
        json_decref(value);
        return;
    }
    entry_t *e = &b->e[i];
    json_decref(e->value);
    souk_free(e->message);
    e->message = NULL;
    e->value = value;
    e->answered = true;
    e->failed = false;
}

void souk_gql_batch_fail(souk_gql_batch_t *b, size_t i, souk_gql_code_t code, const char *fmt, ...)
{
    if (i >= b->n)
        return;
    char msg[MESSAGE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    entry_t *e = &b->e[i];
    json_decref(e->value);
    souk_free(e->message);
    e->value = NULL;
    e->message = souk_strdup(msg);
    e->code = code;
    e->answered = e->failed = true;
}

/* ---- setting up and the result -----------------------------------------------------------------
 */

static void request_error(json_t *errors, const char *message, const gql_loc_t *loc)
{
    json_array_append_new(errors,
                          souk_gql__error_json(message, loc, loc ? 1 : 0, "BAD_USER_INPUT"));
}

static void variable_error(json_t *errors, const gql_vardef_t *d, const gql_tref_t *t,
                           const char *kind, const char *what)
{
    souk_buf_t b;
    souk_buf_init(&b, MESSAGE_MAX);
    souk_gql__putf(&b, "Variable \"$%s\" of %s type \"", d->name, kind);
    souk_gql__print_tref(&b, t);
    souk_gql__putf(&b, "\" %s", what);
    request_error(errors, b.data, &d->loc);
    souk_buf_cleanup(&b);
}

/* CoerceVariableValues (spec 6.1.2). */
static json_t *coerce_variables(souk_gql_exec_t *ex, const json_t *given, json_t *errors)
{
    json_t *vars = json_object(), *msgs = json_array(), *x, *m;
    size_t i;
    for (const gql_vardef_t *d = ex->op->vars; d; d = d->next) {
        gql_tref_t *t = souk_gql__tref_from_ast(ex->s, ex->a, d->type);
        json_t *in = given ? json_object_get(given, d->name) : NULL;
        if (!in) {
            if (d->defval && souk_gql__value_from_ast(d->defval, t, NULL, &x) == GQL_VAL_OK)
                json_object_set_new(vars, d->name, x);
            else if (!d->defval && t->kind == GQL_T_NONNULL)
                variable_error(errors, d, t, "required", "was not provided.");
            continue;
        }
        if (json_is_null(in) && t->kind == GQL_T_NONNULL) {
            variable_error(errors, d, t, "non-null", "must not be null.");
            continue;
        }
        if ((x = souk_gql__coerce_variable(d->name, in, t, msgs)))
            json_object_set_new(vars, d->name, x);
        json_array_foreach(msgs, i, m) request_error(errors, json_string_value(m), &d->loc);
        json_array_clear(msgs);
    }
    json_decref(msgs);
    return vars;
}

static const gql_def_t *choose(const souk_gql_doc_t *doc, const char *name, json_t *errors)
{
    const gql_def_t *op = souk_gql__operation(doc, name);
    char msg[300];
    if (!op && name)
        snprintf(msg, sizeof(msg), "Unknown operation named \"%.200s\".", name);
    else if (!op)
        snprintf(msg, sizeof(msg),
                 "Must provide operation name if query contains multiple "
                 "operations.");
    else if (op->op == SOUK_GQL_SUBSCRIPTION)
        snprintf(msg, sizeof(msg), "Subscriptions are not supported.");
    else
        return op;
    request_error(errors, msg, op ? &op->loc : NULL);
    return NULL;
}

/* Operation, variables and cost of a new execution; errors go to errs. */
static souk_err_t prepare(souk_gql_exec_t *ex, const char *operation_name, const json_t *variables,
                          const souk_gql_limits_t *lim, json_t *errs)
{
    if (variables && !json_is_object(variables)) {
        request_error(errs,
                      "Variables must be provided as an Object where each property is a "
                      "variable value.",
                      NULL);
        return SOUK_EINVAL;
    }
    if (!(ex->op = choose(ex->doc, operation_name, errs)))
        return SOUK_EINVAL;
    ex->root_type = ex->op->op == SOUK_GQL_MUTATION ? ex->s->mutation : ex->s->query;
    ex->vars = keep(ex, coerce_variables(ex, variables, errs));
    if (json_array_size(errs))
        return SOUK_EINVAL;
    gql_diag_t d = {
        .errors = errs, .max = SOUK_GQL_MAX_ERRORS, .code = "GRAPHQL_VALIDATION_FAILED"};
    souk_gql__check_limits(ex->s, ex->a, &ex->doc->ast, ex->op, ex->vars, lim, &d);
    return json_array_size(errs) ? SOUK_ELIMIT : SOUK_OK;
}

souk_err_t souk_gql_exec_new(const souk_gql_doc_t *doc, const souk_gql_resolvers_t *resolvers,
                             const char *operation_name, const json_t *variables, void *host,
                             const souk_gql_limits_t *lim, souk_gql_exec_t **out, json_t **errors)
{
    souk_gql_limits_t defaults;
    json_t *errs = json_array();
    souk_gql_exec_t *ex = souk_calloc(1, sizeof(*ex));
    ex->a = souk_arena_new();
    ex->s = doc->schema;
    ex->doc = doc;
    ex->res = resolvers;
    ex->host = host;
    ex->tail = &ex->waiting;
    ex->errors = json_array();
    if (!lim) {
        souk_gql_limits_default(&defaults);
        lim = &defaults;
    }
    souk_err_t rc = prepare(ex, operation_name, variables, lim, errs);
    if (rc != SOUK_OK) {
        souk_gql_exec_free(ex);
        ex = NULL;
    } else {
        json_decref(errs);
        errs = NULL;
    }
    *out = ex;
    if (errors)
        *errors = errs;
    else
        json_decref(errs);
    return rc;
}

static json_t *build(const rnode_t *n)
{
    json_t *j;
    switch (n->state) {
    case RN_LEAF:
        return json_incref(n->leaf);
    case RN_OBJECT:
        j = json_object();
        for (size_t i = 0; i < n->nkids; i++)
            json_object_set_new(j, n->kids[i]->key, build(n->kids[i]));
        return j;
    case RN_LIST:
        j = json_array();
        for (size_t i = 0; i < n->nkids; i++)
            json_array_append_new(j, build(n->kids[i]));
        return j;
    default:
        return json_null();
    }
}

json_t *souk_gql_exec_result(souk_gql_exec_t *ex)
{
    if (ex->state != EX_DONE)
        return NULL;
    if (!ex->result) {
        ex->result = json_object();
        if (json_array_size(ex->errors))
            json_object_set(ex->result, "errors", ex->errors);
        json_object_set_new(ex->result, "data", ex->root ? build(ex->root) : json_null());
    }
    return json_incref(ex->result);
}

void souk_gql_exec_free(souk_gql_exec_t *ex)
{
    if (!ex)
        return;
    souk_arena_free(ex->a);
    json_decref(ex->errors);
    json_decref(ex->result);
    souk_free(ex);
}
