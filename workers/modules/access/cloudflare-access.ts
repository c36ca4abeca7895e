import { isRole } from "@cuecard/core/roles";
import { createRemoteJWKSet, jwtVerify } from "jose";
import type { Actor } from "../../platform/context";
import type { Role } from "./roles";

/**
 * Sign-in behind Cloudflare Access. When the admin worker sits behind an Access application,
 * Cloudflare sends a signed JWT in `Cf-Access-Jwt-Assertion` on every request. It is verified
 * against the team's public keys (issuer and audience checked), and the email is mapped to a role
 * by ACCESS_MEMBERS, e.g. `alice@acme.com=admin,*@acme.com=editor` (first match wins).
 */

export interface AccessConfig {
  /** `https://<team>.cloudflareaccess.com` */
  teamDomain: string;
  /** The Access application's audience (AUD) tag. */
  audience: string;
  /** The project Access users work in. */
  projectId: string;
  members: string;
}

export function accessConfigOf(env: {
  ACCESS_TEAM_DOMAIN?: string;
  ACCESS_AUD?: string;
  ACCESS_PROJECT?: string;
  ACCESS_MEMBERS?: string;
}): AccessConfig | undefined {
  if (!env.ACCESS_TEAM_DOMAIN || !env.ACCESS_AUD) return undefined;
  return {
    teamDomain: env.ACCESS_TEAM_DOMAIN.replace(/\/+$/, ""),
    audience: env.ACCESS_AUD,
    projectId: env.ACCESS_PROJECT || "default",
    members: env.ACCESS_MEMBERS ?? "",
  };
}

/** The role ACCESS_MEMBERS gives an email, or undefined if it names none. */
export function roleForEmail(members: string, email: string): Role | undefined {
  const address = email.toLowerCase();
  for (const entry of members.split(",")) {
    const [pattern = "", role = ""] = entry.split("=").map((part) => part.trim().toLowerCase());
    if (!isRole(role)) continue;
    const matches = pattern.startsWith("*@")
      ? address.endsWith(pattern.slice(1))
      : pattern === address;
    if (matches) return role as Role;
  }
  return undefined;
}

// One key set per team, kept for the isolate's life: jose caches the keys and refetches them
// when a token names a key id it does not know (Access rotates its keys).
const keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
function teamKeys(teamDomain: string) {
  let keys = keySets.get(teamDomain);
  if (!keys) {
    keys = createRemoteJWKSet(new URL(`${teamDomain}/cdn-cgi/access/certs`));
    keySets.set(teamDomain, keys);
  }
  return keys;
}

export type AccessOutcome =
  | { ok: true; actor: Actor }
  | { ok: false; reason: "invalid" | "no_role"; detail: string };

export async function verifyAccessUser(
  config: AccessConfig,
  token: string,
): Promise<AccessOutcome> {
  let email: unknown;
  try {
    const { payload } = await jwtVerify(token, teamKeys(config.teamDomain), {
      issuer: config.teamDomain,
      audience: config.audience,
      algorithms: ["RS256"],
    });
    email = payload.email;
  } catch {
    return { ok: false, reason: "invalid", detail: "The Cloudflare Access token is not valid." };
  }
  if (typeof email !== "string" || !email.includes("@")) {
    return { ok: false, reason: "invalid", detail: "The Cloudflare Access token names no email." };
  }
  const role = roleForEmail(config.members, email);
  if (!role) {
    return {
      ok: false,
      reason: "no_role",
      detail: `${email} has no role in Cuecard; an admin adds it to ACCESS_MEMBERS.`,
    };
  }
  return {
    ok: true,
    actor: { id: `access:${email}`, name: email, role, projectId: config.projectId, via: "access" },
  };
}
