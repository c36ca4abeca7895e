import { ROLES } from "@cuecard/core/roles";
import { z } from "@hono/zod-openapi";

/**
 * The access module's response schemas. The view types its verbs return are inferred from
 * them, so what a verb builds is what the API documents.
 */

export const Key = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.enum(ROLES),
    prefix: z.string().openapi({ description: "The start of the key, to recognise it" }),
    createdBy: z.string(),
    createdAt: z.string(),
    expiresAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
    lastUsedAt: z.string().nullable(),
    sendTelemetry: z.boolean().openapi({
      description:
        "Whether the key may send telemetry to the edge (events, scores, traces; a browser key: scores only)",
    }),
    browser: z.boolean().openapi({
      description:
        "A public key for a browser app: a reader, refused by the admin API, served only from allowed origins, never sending events or traces",
    }),
    allowedOrigins: z.array(z.string()).nullable().openapi({
      description:
        "The key's own browser origins, narrowing the project's; null: the project's alone",
    }),
  })
  .openapi("Key");
export type KeyView = z.infer<typeof Key>;
