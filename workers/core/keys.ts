import { sha256Hex } from "./crypto";
import type { Role } from "./roles";

/**
 * API keys look like `cc_reader_<32 base62>`: the role is readable in logs and secret scanners
 * can recognise the prefix. Only the SHA-256 of a key is stored, in D1 and in KV.
 */
export const KEY_PATTERN = /^cc_(reader|editor|publisher|admin)_[A-Za-z0-9]{32}$/;

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

export function generateKey(role: Role): string {
  // 62 * 4 = 248: rejecting bytes ≥ 248 keeps every character equally likely.
  let secret = "";
  while (secret.length < 32) {
    for (const byte of crypto.getRandomValues(new Uint8Array(48))) {
      if (byte < 248 && secret.length < 32) secret += ALPHABET[byte % 62];
    }
  }
  return `cc_${role}_${secret}`;
}

export function isWellFormedKey(candidate: string): boolean {
  return KEY_PATTERN.test(candidate);
}

export function hashKey(key: string): Promise<string> {
  return sha256Hex(key);
}

/** `Authorization: Bearer <token>` → token, or undefined. */
export function bearerToken(header: string | null | undefined): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
  return match?.[1];
}
