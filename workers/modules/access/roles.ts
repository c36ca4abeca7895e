/**
 * Who may do what: one declarative table decides every admin API route. A route missing from
 * ROUTE_POLICY is refused for everyone (fail closed); a test checks that every registered route
 * has an entry and generates the full role × route matrix from this file.
 */

import { ROLES, type Role } from "@cuecard/core/roles";

export { ROLES, type Role };

export type Permission =
  | "prompts:read"
  | "prompts:write"
  | "prompts:archive"
  | "labels:move"
  | "labels:move-protected"
  | "labels:rollback"
  | "audit:read"
  | "keys:manage"
  | "webhooks:manage"
  | "project:manage";

/** Each role has the permissions of the roles before it, plus its own. */
const GRANTS: Record<Role, Permission[]> = {
  // Reads prompts at the edge only; nothing on the admin API.
  reader: [],
  editor: ["prompts:read", "prompts:write", "labels:move"],
  publisher: ["prompts:archive", "labels:move-protected", "labels:rollback", "audit:read"],
  admin: ["keys:manage", "webhooks:manage", "project:manage"],
};

export const ROLE_PERMISSIONS: Record<Role, ReadonlySet<Permission>> = (() => {
  const result = {} as Record<Role, ReadonlySet<Permission>>;
  const acc: Permission[] = [];
  for (const role of ROLES) {
    acc.push(...GRANTS[role]);
    result[role] = new Set(acc);
  }
  return result;
})();

/** What a refusal says the role cannot do, and whom to ask: "Your role (editor) cannot …". */
export const PERMISSION_ACTIONS: Record<Permission, string> = {
  "prompts:read": "read prompts on the admin API; reader keys are for the edge",
  "prompts:write": "create or edit prompts; ask an editor",
  "prompts:archive": "archive or restore prompts; ask a publisher",
  "labels:move": "move labels; ask an editor",
  "labels:move-protected": "move protected labels; ask a publisher",
  "labels:rollback": "roll labels back; ask a publisher",
  "audit:read": "read the audit log; ask a publisher or an admin",
  "keys:manage": "manage API keys; ask an admin",
  "webhooks:manage": "manage webhooks; ask an admin",
  "project:manage": "change the project's settings; ask an admin",
};

export function roleHas(role: Role | "bootstrap", permission: Permission): boolean {
  return role !== "bootstrap" && ROLE_PERMISSIONS[role].has(permission);
}

/** `METHOD path` as Hono reports the matched route (relative to /api) → required permission. */
export const ROUTE_POLICY: Record<string, Permission> = {
  "GET /v1/projects": "prompts:read",
  "GET /v1/projects/:project": "prompts:read",
  "PATCH /v1/projects/:project": "project:manage",
  "POST /v1/projects/:project/republish": "project:manage",
  "GET /v1/projects/:project/audit": "audit:read",

  "GET /v1/projects/:project/prompts": "prompts:read",
  "POST /v1/projects/:project/prompts": "prompts:write",
  "GET /v1/projects/:project/prompts/:name": "prompts:read",
  "PATCH /v1/projects/:project/prompts/:name": "prompts:write",
  "DELETE /v1/projects/:project/prompts/:name": "prompts:archive",

  "GET /v1/projects/:project/prompts/:name/versions": "prompts:read",
  "POST /v1/projects/:project/prompts/:name/versions": "prompts:write",
  "GET /v1/projects/:project/prompts/:name/versions/:version": "prompts:read",

  "GET /v1/projects/:project/prompts/:name/labels": "prompts:read",
  "PUT /v1/projects/:project/prompts/:name/labels/:label": "labels:move",
  "DELETE /v1/projects/:project/prompts/:name/labels/:label": "labels:move",
  "GET /v1/projects/:project/prompts/:name/labels/:label/history": "prompts:read",
  "POST /v1/projects/:project/prompts/:name/labels/:label/rollback": "labels:rollback",

  "GET /v1/projects/:project/keys": "keys:manage",
  "POST /v1/projects/:project/keys": "keys:manage",
  "DELETE /v1/projects/:project/keys/:keyId": "keys:manage",

  "GET /v1/projects/:project/webhooks": "webhooks:manage",
  "POST /v1/projects/:project/webhooks": "webhooks:manage",
  "GET /v1/projects/:project/webhooks/:webhookId": "webhooks:manage",
  "PATCH /v1/projects/:project/webhooks/:webhookId": "webhooks:manage",
  "DELETE /v1/projects/:project/webhooks/:webhookId": "webhooks:manage",
  "POST /v1/projects/:project/webhooks/:webhookId/rotate-secret": "webhooks:manage",
  "POST /v1/projects/:project/webhooks/:webhookId/test": "webhooks:manage",
  "GET /v1/projects/:project/webhooks/:webhookId/deliveries": "webhooks:manage",
  "GET /v1/projects/:project/webhooks/:webhookId/deliveries/:deliveryId": "webhooks:manage",
  "POST /v1/projects/:project/webhooks/:webhookId/deliveries/:deliveryId/redeliver":
    "webhooks:manage",
};

/** Routes that authenticate differently and are not in the table. */
export const PUBLIC_ROUTES = new Set([
  "POST /v1/bootstrap",
  "POST /v1/session",
  "GET /v1/session",
  "DELETE /v1/session",
]);
