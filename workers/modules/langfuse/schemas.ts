import { COMMIT_MESSAGE_MAX } from "@cuecard/core/limits";
import { z } from "@hono/zod-openapi";
import { promptContent } from "../../platform/fields";

/**
 * What the Langfuse SDKs send to the prompt API (LANGFUSE.md), as Langfuse's server reads it:
 * unknown fields are ignored, as there. The prompts module's own rules (names, labels, roles,
 * sizes) are then checked by its verbs, so a Langfuse write is refused exactly where an admin API
 * write would be.
 */

export const LangfuseCreatePrompt = z.object({
  name: z.string().min(1),
  type: z.enum(["text", "chat"]).optional(),
  // The admin API's own rule: messages (v5 adds `type: "chatmessage"`, dropped) and placeholders.
  prompt: promptContent,
  config: z.record(z.string(), z.unknown()).nullish(),
  labels: z.array(z.string()).nullish(),
  tags: z.array(z.string()).nullish(),
  commitMessage: z.string().max(COMMIT_MESSAGE_MAX).nullish(),
});
export type LangfuseCreatePrompt = z.infer<typeof LangfuseCreatePrompt>;

export const LangfuseLabelsPatch = z.object({ newLabels: z.array(z.string()) });

/** `?version=` as the SDKs send it: absent, empty or 0 means none. */
const optionalVersion = z
  .string()
  .optional()
  .transform((value, ctx) => {
    if (value === undefined || value === "" || value === "0") return undefined;
    if (!/^[1-9][0-9]{0,9}$/.test(value)) {
      ctx.addIssue({ code: "custom", message: "must be a positive integer" });
      return z.NEVER;
    }
    return Number(value);
  });

export const LangfuseDeleteQuery = z.object({
  label: z.string().min(1).optional(),
  version: optionalVersion,
});

export const LANGFUSE_PAGE_LIMIT_MAX = 100;

export const LangfuseListQuery = z.object({
  name: z.string().optional(),
  label: z.string().optional(),
  tag: z.string().optional(),
  page: z.coerce.number().int().min(1).default(1),
  limit: z.coerce.number().int().min(1).max(LANGFUSE_PAGE_LIMIT_MAX).default(10),
  fromUpdatedAt: z.iso.datetime({ offset: true }).optional(),
  toUpdatedAt: z.iso.datetime({ offset: true }).optional(),
});
export type LangfuseDeleteQuery = z.infer<typeof LangfuseDeleteQuery>;
export type LangfuseListQuery = z.infer<typeof LangfuseListQuery>;
