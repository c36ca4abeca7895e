import { problemContent } from "../../../platform/http/openapi";
import { FAILED_AUTH_WINDOW_SECONDS } from "../auth-failures";
import { type Permission, ROLES, roleHas } from "../roles";
import { declaredAccess, routeKeyOf } from "../route-policy";

const forbiddenResponse = (detail: string) => ({
  description: `Forbidden: ${detail}`,
  content: problemContent,
});
const rateLimitedResponse = {
  description: `Too many failed keys from this address: wait the Retry-After seconds (${FAILED_AUTH_WINDOW_SECONDS})`,
  headers: {
    "Retry-After": { schema: { type: "integer" as const }, description: "Seconds to wait" },
  },
  content: problemContent,
};

function permissionRefusal(permission: Permission, method: string): string {
  const roles = ROLES.filter((role) => roleHas(role, permission)).join(", ");
  const session =
    method === "get"
      ? ""
      : " Also when a browser session's request comes from another origin or lacks the x-csrf-token header.";
  return `the route needs the \`${permission}\` permission (held by: ${roles}); when a change needs more (a protected label, say), the problem's \`permission\` names it.${session}`;
}

/** The public routes, and the refusals each can give besides `errorResponses`. */
const PUBLIC_ROUTE_ERRORS: Record<string, Record<number, object>> = {
  "POST /v1/bootstrap": { 429: rateLimitedResponse },
  "POST /v1/session": {
    403: forbiddenResponse("a reader key, or a sign-in posted from another origin."),
    429: rateLimitedResponse,
  },
  "DELETE /v1/session": { 403: forbiddenResponse("a sign-out posted from another origin.") },
};

/**
 * The refusals the access layer gives on a route, as OpenAPI responses: 403 naming the
 * permission the route declares (`defineRoute`), and 429 for failed keys. For
 * `documentAccessErrors`, so the document is derived from the declarations.
 */
export function accessRefusals(route: { method: string; path: string }): Record<number, object> {
  const access = declaredAccess(route);
  return access && access !== "public"
    ? {
        403: forbiddenResponse(permissionRefusal(access, route.method)),
        429: rateLimitedResponse,
      }
    : (PUBLIC_ROUTE_ERRORS[routeKeyOf(route.method, route.path)] ?? {});
}
