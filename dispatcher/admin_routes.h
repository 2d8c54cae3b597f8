/*
 * The admin server's paths (see admin_routes.c).
 */

#ifndef EM_DISPATCHER_ADMIN_ROUTES_H
#define EM_DISPATCHER_ADMIN_ROUTES_H

#include "admin.h"
#include "run.h"

/* The em_admin_handler_pt of the daemon; ctx is the em_run_t. */
void em_admin_routes(void *ctx, const em_admin_req_t *req,
    em_admin_answer_t *ans);

#endif /* EM_DISPATCHER_ADMIN_ROUTES_H */
