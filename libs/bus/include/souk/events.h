/* souk/events.h: the names of souk's event flow in one place: topics, event
 * types, the source each type must come from, and the limits producers and
 * consumers of one event share (so an order the order service accepts is
 * never too long for the product service to read). The data of each type is
 * documented in docs/events.md. */
#ifndef SOUK_EVENTS_H
#define SOUK_EVENTS_H

#include <stdbool.h>

/* ---- topics --------------------------------------------------------------- */
#define SOUK_TOPIC_ORDERS    "orders"
#define SOUK_TOPIC_INVENTORY "inventory"
#define SOUK_TOPIC_PRODUCTS  "products"
#define SOUK_TOPIC_USERS     "users"
/* Security-relevant actions of every service, stored by auth-service. */
#define SOUK_TOPIC_AUDIT "audit"

/* ---- sources (CloudEvents "source") --------------------------------------- */
#define SOUK_SOURCE_AUTH    "/auth-service"
#define SOUK_SOURCE_PRODUCT "/product-service"
#define SOUK_SOURCE_ORDER   "/order-service"

/* ---- types ---------------------------------------------------------------- */
#define SOUK_EV_ORDER_PLACED       "souk.order.placed.v1"
#define SOUK_EV_ORDER_CONFIRMED    "souk.order.confirmed.v1"
#define SOUK_EV_ORDER_REJECTED     "souk.order.rejected.v1"
#define SOUK_EV_ORDER_CANCELLED    "souk.order.cancelled.v1"
#define SOUK_EV_INVENTORY_RESERVED "souk.inventory.reserved.v1"
#define SOUK_EV_INVENTORY_REJECTED "souk.inventory.rejected.v1"
#define SOUK_EV_INVENTORY_RELEASED "souk.inventory.released.v1"
#define SOUK_EV_PRODUCT_CREATED    "souk.product.created.v1"
#define SOUK_EV_PRODUCT_UPDATED    "souk.product.updated.v1"
#define SOUK_EV_PRODUCT_DELETED    "souk.product.deleted.v1"
#define SOUK_EV_USER_REGISTERED    "souk.user.registered.v1"
#define SOUK_EV_USER_UPDATED       "souk.user.updated.v1"
#define SOUK_EV_USER_DELETED       "souk.user.deleted.v1"
/* Published by any service (its own source): the data is souk_audit_json's
 * (souk/auth.h). Not in the owners' table: auth-service checks that the
 * action belongs to the source (product.* from product-service, ...). */
#define SOUK_EV_AUDIT_RECORDED "souk.audit.recorded.v1"

/* The source a known type must carry, or NULL for a type souk does not
 * define. Consumers dead-letter an event whose source does not match: a
 * producer that is not the owner of the type must not move state. */
const char *souk_event_source_of(const char *type);

/* ---- limits shared by producers and consumers ----------------------------- */
#define SOUK_ORDER_MAX_LINES    50   /* lines of one order */
#define SOUK_ORDER_MAX_QUANTITY 1000 /* units of one product in one order */

#endif
