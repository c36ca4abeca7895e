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
      description: "Whether the key may send telemetry (events, scores, traces) to the edge",
    }),
  })
  .openapi("Key");
export type KeyView = z.infer<typeof Key>;
