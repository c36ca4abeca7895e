/**
 * The roles a key or a user can have, in increasing power. The one list: the admin API's grants,
 * the database's column type, the KV read-key record and the UI all use it.
 */
export const ROLES = ["reader", "editor", "publisher", "admin"] as const;
export type Role = (typeof ROLES)[number];

export function isRole(value: string): value is Role {
  return (ROLES as readonly string[]).includes(value);
}
