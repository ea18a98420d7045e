/* catalog.c: prices and names for an order, from product-service's batch
 * read (POST /internal/products/batch), with the request's id and trace
 * context passed on. It holds no database connection: the placement flow
 * calls it between its database steps. */
#include "order.h"

#include <stdlib.h>
#include <string.h>

static json_t *request_body(const order_line_t *lines, size_t n)
{
    json_t *ids = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(ids, json_string(lines[i].product_id));
    return json_pack("{s:o}", "ids", ids);
}

/* {id: product} of the "items" of a batch answer; NULL when malformed. */
static json_t *index_items(json_t *answer)
{
    json_t *items = json_object_get(answer, "items");
    if (!json_is_array(items))
        return NULL;
    json_t *found = json_object();
    size_t i;
    json_t *p;
    json_array_foreach(items, i, p)
    {
        const char *id = json_string_value(json_object_get(p, "id"));
        if (id)
            json_object_set(found, id, p);
    }
    return found;
}

souk_err_t order_catalog_http(void *ud, const order_line_t *lines, size_t n, const char *request_id,
                              const char *traceparent, json_t **found)
{
    order_app_t *app = ud;
    json_t *body = request_body(lines, n);
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    char url[512], rid[160];
    snprintf(url, sizeof(url), "%s/internal/products/batch", app->product_url);
    snprintf(rid, sizeof(rid), "X-Request-Id: %s", request_id ? request_id : "");
    /* traceparent: the client's span, child of the request's, goes with it */
    const char *headers[] = {"Content-Type: application/json", rid, NULL};
    souk_http_request_t req = {.method = "POST",
                               .url = url,
                               .headers = headers,
                               .body = text,
                               .body_len = text ? strlen(text) : 0,
                               .timeout_ms = 5000,
                               .connect_timeout_ms = 1000};
    souk_http_response_t resp;
    souk_err_t err = text ? souk_http_fetch(app->client, &req, &resp) : SOUK_ENOMEM;
    free(text);
    json_t *answer = err == SOUK_OK && resp.status == 200
                         ? json_loadb(resp.body.data, resp.body.len, 0, NULL)
                         : NULL;
    if (err == SOUK_OK)
        souk_http_response_cleanup(&resp);
    *found = index_items(answer);
    json_decref(answer);
    return *found ? SOUK_OK : err ? err : SOUK_EUPSTREAM;
}
