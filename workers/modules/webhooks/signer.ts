/**
 * Standard Webhooks signing (https://www.standardwebhooks.com): HMAC-SHA256 over
 * `${webhookId}.${timestamp}.${body}` keyed with the base64 bytes after `whsec_`, sent as
 * `webhook-signature: v1,<base64>`. During a secret rotation the previous secret signs too, as a
 * second space-separated entry, so receivers can switch secrets without dropping a delivery.
 */

const SECRET_PREFIX = "whsec_";
const encoder = new TextEncoder();

function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

/** A new signing secret: 24 random bytes (the spec asks for 24 to 64), base64 after `whsec_`. */
export function generateSigningSecret(): string {
  return SECRET_PREFIX + toBase64(crypto.getRandomValues(new Uint8Array(24)));
}

export function isSigningSecret(secret: string): boolean {
  if (!secret.startsWith(SECRET_PREFIX)) return false;
  try {
    const key = fromBase64(secret.slice(SECRET_PREFIX.length));
    return key.byteLength >= 24 && key.byteLength <= 64;
  } catch {
    return false;
  }
}

/** One `v1,<base64>` signature of a message with one secret. */
export async function signMessage(
  secret: string,
  webhookId: string,
  timestamp: number,
  body: string,
): Promise<string> {
  const key = await crypto.subtle.importKey(
    "raw",
    fromBase64(secret.slice(SECRET_PREFIX.length)),
    { name: "HMAC", hash: "SHA-256" },
    false,
    ["sign"],
  );
  const mac = await crypto.subtle.sign(
    "HMAC",
    key,
    encoder.encode(`${webhookId}.${timestamp}.${body}`),
  );
  return `v1,${toBase64(new Uint8Array(mac))}`;
}

/** The Standard Webhooks headers of one attempt; every listed secret signs. */
export async function signedHeaders(
  secrets: readonly string[],
  webhookId: string,
  timestamp: number,
  body: string,
): Promise<Record<string, string>> {
  const signatures = await Promise.all(
    secrets.map((secret) => signMessage(secret, webhookId, timestamp, body)),
  );
  return {
    "webhook-id": webhookId,
    "webhook-timestamp": String(timestamp),
    "webhook-signature": signatures.join(" "),
  };
}
