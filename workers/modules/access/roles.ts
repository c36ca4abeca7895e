/**
 * Who may do what: each role's permissions. Every admin API route declares the permission it
 * needs beside its definition (`defineRoute`, route-policy.ts), and every domain verb checks the
 * permission it needs (`requireAccess`, access.ts).
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

/** The bootstrap token and the schedule hold no role's permissions: they act through their own code paths. */
export function roleHas(role: Role | "bootstrap" | "system", permission: Permission): boolean {
  return role !== "bootstrap" && role !== "system" && ROLE_PERMISSIONS[role].has(permission);
}
