import {
  MODEL_NAME_MAX,
  MODEL_PROVIDER_API_KEY_MAX,
  MODEL_PROVIDER_URL_MAX,
} from "@cuecard/core/limits";
import { z } from "@hono/zod-openapi";

/** What GET/PUT …/model-provider answer: the settings, and only whether a key is set. */
export const ModelProvider = z
  .object({
    baseUrl: z.string().openapi({ example: "https://api.openai.com/v1" }),
    defaultModel: z.string().openapi({ example: "gpt-4o-mini" }),
    apiKey: z
      .object({
        set: z.literal(true),
        lastChars: z.string().nullable().openapi({
          description: "The key's last 4 characters; null when the key is too short to show any",
        }),
      })
      .openapi({ description: "The key itself is never returned" }),
    updatedBy: z.string(),
    updatedAt: z.string(),
  })
  .openapi("ModelProvider");
export type ModelProviderView = z.infer<typeof ModelProvider>;

/** A bearer token as HTTP allows it in a header: visible ASCII only. */
const API_KEY_PATTERN = /^[\x21-\x7e]+$/;

/** What PUT /v1/projects/{project}/model-provider takes; `setModelProvider` checks it too. */
export const ModelProviderInput = z.strictObject({
  baseUrl: z
    .string()
    .min(1, "is required")
    .max(MODEL_PROVIDER_URL_MAX)
    .openapi({ description: "An OpenAI-compatible API base URL (https, public host)" }),
  defaultModel: z.string().trim().min(1, "is required").max(MODEL_NAME_MAX).openapi({
    description: "Used when a version's config names no model",
    example: "gpt-4o-mini",
  }),
  apiKey: z
    .string()
    .min(1, "must not be empty; leave it out to keep the current key")
    .max(MODEL_PROVIDER_API_KEY_MAX)
    .regex(
      API_KEY_PATTERN,
      "must be the key alone: visible ASCII characters, no spaces or line breaks",
    )
    .optional()
    .openapi({
      description:
        "Required the first time; left out, the current key is kept. Stored encrypted, never returned.",
    }),
});
