/* templates.c: the email templates of templates/, embedded at build time
 * (CMakeLists.txt) so the binary needs no files beside it. One file per
 * part: <kind>.subject.txt, <kind>.txt and <kind>.html. */
#include "notify.h"

extern const char tpl_welcome_subject[], tpl_welcome_text[], tpl_welcome_html[];
extern const char tpl_order_confirmed_subject[], tpl_order_confirmed_text[],
    tpl_order_confirmed_html[];
extern const char tpl_order_rejected_subject[], tpl_order_rejected_text[],
    tpl_order_rejected_html[];
extern const char tpl_order_cancelled_subject[], tpl_order_cancelled_text[],
    tpl_order_cancelled_html[];

void notify_templates_builtin(notify_templates_t out[NOTIFY__KIND_COUNT])
{
    out[NOTIFY_WELCOME] =
        (notify_templates_t){tpl_welcome_subject, tpl_welcome_text, tpl_welcome_html};
    out[NOTIFY_ORDER_CONFIRMED] = (notify_templates_t){
        tpl_order_confirmed_subject, tpl_order_confirmed_text, tpl_order_confirmed_html};
    out[NOTIFY_ORDER_REJECTED] = (notify_templates_t){
        tpl_order_rejected_subject, tpl_order_rejected_text, tpl_order_rejected_html};
    out[NOTIFY_ORDER_CANCELLED] = (notify_templates_t){
        tpl_order_cancelled_subject, tpl_order_cancelled_text, tpl_order_cancelled_html};
}
