import { langfusePublicKey } from "@cuecard/core/langfuse";
import { z } from "@hono/zod-openapi";

/**
 * The Langfuse key pair a new key gives (core/langfuse.ts): shown with the key's secret, once,
 * by the admin API and the keys page, with the base URL the Langfuse SDKs are pointed at (the
 * edge's). A browser key has none: the admin side refuses browser keys, and the Langfuse SDKs
 * run on servers.
 */
export const LangfuseKeyPair = z
  .object({
    publicKey: z.string().openapi({ example: "pk-lf-key_01J…" }),
    secretKey: z.string().openapi({ description: "The key's secret itself" }),
    baseUrl: z.string().openapi({ description: "The edge's URL: the SDKs' baseUrl" }),
  })
  .openapi("LangfuseKeyPair");
export type LangfuseKeyPair = z.infer<typeof LangfuseKeyPair>;

export function langfuseKeyPair(
  key: { id: string; browser: boolean },
  secret: string,
  edgeUrl: string,
): LangfuseKeyPair | null {
  if (key.browser) return null;
  return {
    publicKey: langfusePublicKey(key.id),
    secretKey: secret,
    baseUrl: edgeUrl.replace(/\/+$/, ""),
  };
}
