const encoder = new TextEncoder();

export async function sha256Hex(value: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", encoder.encode(value));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

/**
 * Secrets kept in D1 (a model provider's API key) are sealed with AES-256-GCM under a key the
 * deployment holds outside the database (a worker secret), so a leaked database or backup does
 * not leak them. The sealed form is `v1.<iv>.<ciphertext+tag>` (base64url); the associated data
 * binds it to where it belongs (e.g. the project), so a sealed value copied into another row
 * does not open there.
 */
const SEALED_VERSION = "v1";

function toBase64Url(bytes: Uint8Array): string {
  let binary = "";
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replaceAll("+", "-").replaceAll("/", "_").replace(/=+$/, "");
}

function fromBase64(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text);
  const bytes = new Uint8Array(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  return fromBase64(text.replaceAll("-", "+").replaceAll("_", "/"));
}

/** Why a configured sealing key cannot be used; undefined when it can. */
export function sealingKeyProblem(raw: string | undefined): string | undefined {
  if (!raw) return "is not set";
  try {
    return fromBase64(raw.trim()).byteLength === 32
      ? undefined
      : "must be 32 random bytes, base64-encoded";
  } catch {
    return "must be 32 random bytes, base64-encoded";
  }
}

/** The AES-256-GCM key from its base64 form (32 bytes; check with `sealingKeyProblem`). */
export async function importSealingKey(raw: string): Promise<CryptoKey> {
  return crypto.subtle.importKey("raw", fromBase64(raw.trim()), { name: "AES-GCM" }, false, [
    "encrypt",
    "decrypt",
  ]);
}

export async function sealSecret(key: CryptoKey, plaintext: string, context: string) {
  const iv = crypto.getRandomValues(new Uint8Array(12));
  const sealed = await crypto.subtle.encrypt(
    { name: "AES-GCM", iv, additionalData: encoder.encode(context) },
    key,
    encoder.encode(plaintext),
  );
  return `${SEALED_VERSION}.${toBase64Url(iv)}.${toBase64Url(new Uint8Array(sealed))}`;
}

/** The plaintext, or undefined when the value was sealed under another key or context. */
export async function openSecret(
  key: CryptoKey,
  sealed: string,
  context: string,
): Promise<string | undefined> {
  const [version, iv, body] = sealed.split(".");
  if (version !== SEALED_VERSION || !iv || !body) return undefined;
  try {
    const plain = await crypto.subtle.decrypt(
      { name: "AES-GCM", iv: fromBase64Url(iv), additionalData: encoder.encode(context) },
      key,
      fromBase64Url(body),
    );
    return new TextDecoder().decode(plain);
  } catch {
    return undefined;
  }
}
