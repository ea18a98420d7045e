/* graphql_docs.c: parsed and validated documents kept by their exact text,
 * so that the queries an application sends again and again (every product
 * page asks the same document with other variables) are parsed and validated
 * once. Parsing and validation cost about as much as the rest of a small
 * request's GraphQL work; a hit costs a hash and a compare.
 *
 * Bounded: a fixed number of slots (a new document replaces the one in its
 * slot), and only documents of at most GW_GQL_DOC_CACHE_TEXT bytes are kept;
 * a document that does not parse or validate is never kept, so a client
 * cannot fill the cache with refusals, only evict entries by sending valid
 * documents, which costs it the same parse. Entries are reference-counted: a
 * document evicted while an execution uses it lives until that execution
 * releases it. A document is read-only once parsed (souk/graphql.h), so
 * executions on several threads share one. */
#include "graphql_gw.h"

#include <pthread.h>
#include <string.h>

struct gw_gql_doc_ref {
    char *text;
    size_t len;
    souk_gql_doc_t *doc;
    unsigned refs; /* holders: executions, and the cache while it is in a slot */
};

struct gw_gql_docs {
    pthread_mutex_t lock;
    gw_gql_doc_ref_t **slots;
    size_t nslots;
};

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h;
}

gw_gql_docs_t *gw_gql_docs_new(size_t slots)
{
    gw_gql_docs_t *c = souk_calloc(1, sizeof(*c));
    pthread_mutex_init(&c->lock, NULL);
    c->nslots = slots ? slots : 1;
    c->slots = souk_calloc(c->nslots, sizeof(*c->slots));
    return c;
}

static void ref_free(gw_gql_doc_ref_t *r)
{
    souk_gql_doc_free(r->doc);
    souk_free(r->text);
    souk_free(r);
}

/* Drops one reference; the last one frees. Called with the lock held. */
static void unref_locked(gw_gql_doc_ref_t *r)
{
    if (r && --r->refs == 0)
        ref_free(r);
}

void gw_gql_docs_free(gw_gql_docs_t *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < c->nslots; i++)
        unref_locked(c->slots[i]);
    souk_free(c->slots);
    pthread_mutex_destroy(&c->lock);
    souk_free(c);
}

souk_err_t gw_gql_docs_get(gw_gql_docs_t *c, const souk_gql_schema_t *schema, const char *text,
                           size_t len, const souk_gql_limits_t *lim, gw_gql_doc_ref_t **out,
                           bool *hit, json_t **errors)
{
    size_t at = (size_t)(fnv1a(text, len) % c->nslots);
    gw_gql_doc_ref_t *r;
    *out = NULL;
    pthread_mutex_lock(&c->lock);
    r = c->slots[at];
    if (r && r->len == len && memcmp(r->text, text, len) == 0) {
        r->refs++;
        pthread_mutex_unlock(&c->lock);
        *hit = true;
        *out = r;
        return SOUK_OK;
    }
    pthread_mutex_unlock(&c->lock);
    *hit = false;
    souk_gql_doc_t *doc = NULL;
    souk_err_t err = souk_gql_document_parse(schema, text, len, lim, &doc, errors);
    if (err)
        return err;
    r = souk_calloc(1, sizeof(*r));
    r->doc = doc;
    r->refs = 1;
    if (len <= GW_GQL_DOC_CACHE_TEXT) {
        r->text = souk_strndup(text, len);
        r->len = len;
        r->refs++;
        pthread_mutex_lock(&c->lock);
        unref_locked(c->slots[at]);
        c->slots[at] = r;
        pthread_mutex_unlock(&c->lock);
    }
    *out = r;
    return SOUK_OK;
}

const souk_gql_doc_t *gw_gql_doc(const gw_gql_doc_ref_t *r)
{
    return r->doc;
}

void gw_gql_docs_release(gw_gql_docs_t *c, gw_gql_doc_ref_t *r)
{
    if (!r)
        return;
    pthread_mutex_lock(&c->lock);
    unref_locked(r);
    pthread_mutex_unlock(&c->lock);
}
