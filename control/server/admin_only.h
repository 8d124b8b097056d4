#pragma once

#include "control/auth/admin_token.h"
#include "net/http/api_router.h"

namespace weft::control {

// `handler` once the request carries the admin token (Authorization: Bearer <DIR/admin.token>);
// 401 with a JSON error and WWW-Authenticate otherwise. `admin` must outlive the handler.
http::ApiHandler adminOnly(const auth::AdminToken& admin, http::ApiHandler handler);

}  // namespace weft::control
