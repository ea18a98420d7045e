/* gateway: the single entry point of souk. main names its parts; the
 * skeleton (souk/svc.h) builds, serves and stops them: the edge on
 * GATEWAY_PORT, the gateway's own souk/http.h server on an internal port. */
#include "gateway.h"

#include <souk/svc.h>

int main(void)
{
    static gateway_t gw;
    const souk_svc_def_t def = {.name = "gateway",
                                .port_env = "GATEWAY_PORT",
                                .port = 8080,
                                .verifier = true,
                                .verifier_background = true,
                                .internal_http = true,
                                .init = gw_init,
                                .routes = gw_routes,
                                .ready = gw_ready,
                                .start = gw_start,
                                .stop = gw_stop,
                                .cleanup = gw_cleanup};
    return souk_svc_main(&def, &gw);
}
