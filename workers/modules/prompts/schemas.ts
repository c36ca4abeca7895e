import { COMMIT_MESSAGE_MAX, LABELS_PER_REQUEST_MAX, TAG_MAX } from "@cuecard/core/limits";
import { VARIABLE_TYPES } from "@cuecard/core/prompt";
import { z } from "@hono/zod-openapi";
import {
  labelName,
  modelConfig,
  promptContent,
  promptName,
  settableLabelName,
  variableDeclarations,
  versionNumber,
} from "../../platform/fields";
import { ProjectParams } from "../../platform/http/openapi";

/**
 * The prompts module's request and response schemas. The view types its verbs return are
 * inferred from the response schemas, so what a verb builds is what the API documents.
 */

export const PromptParams = ProjectParams.extend({
  name: promptName.openapi({
    param: { name: "name", in: "path" },
    description: "The prompt name as one URL-encoded path segment, e.g. support%2Ftriage",
    example: "support/triage",
  }),
});
export const VersionParams = PromptParams.extend({
  version: versionNumber.openapi({ param: { name: "version", in: "path" }, example: 2 }),
});
export const LabelParams = PromptParams.extend({
  label: labelName.openapi({ param: { name: "label", in: "path" }, example: "production" }),
});

export const ChatMessage = z
  .object({
    role: z.string().openapi({ description: "Any role, e.g. system, user, assistant, tool" }),
    content: z.string(),
  })
  .openapi("ChatMessage");
export const ChatPlaceholder = z
  .object({ type: z.literal("placeholder"), name: z.string() })
  .openapi("ChatPlaceholder", {
    description: "Replaced, when the prompt is compiled, by the messages given for `name`",
  });
export const PromptContent = promptContent.openapi("PromptContent", {
  description: "A Mustache template string (text prompts) or chat messages (chat prompts)",
});
export const Variable = z
  .object({
    name: z.string(),
    type: z.enum(VARIABLE_TYPES),
    required: z.boolean(),
    default: z.unknown().optional(),
    description: z.string().optional(),
  })
  .openapi("Variable");

export const VersionInput = z
  .strictObject({
    prompt: PromptContent,
    config: modelConfig.optional().openapi({ example: { model: "gpt-4o-mini", temperature: 0.2 } }),
    commitMessage: z.string().max(COMMIT_MESSAGE_MAX).optional(),
    labels: z.array(settableLabelName).max(LABELS_PER_REQUEST_MAX).optional(),
    variables: variableDeclarations.optional(),
  })
  .openapi("VersionInput");

export const Version = z
  .object({
    name: z.string(),
    type: z.enum(["text", "chat"]),
    version: z.number().int(),
    prompt: z.union([z.string(), z.array(z.union([ChatMessage, ChatPlaceholder]))]),
    config: z.record(z.string(), z.unknown()),
    variables: z.array(Variable),
    hash: z.string(),
    commitMessage: z.string().nullable(),
    author: z.string(),
    createdAt: z.string(),
    labels: z.array(z.string()),
    resolved: z
      .object({
        prompt: z.union([z.string(), z.array(z.union([ChatMessage, ChatPlaceholder]))]),
        variables: z.array(Variable),
        graph: z.object({
          root: z.object({ name: z.string(), version: z.number().int() }),
          dependencies: z.record(
            z.string(),
            z.array(
              z.object({
                name: z.string(),
                version: z.number().int(),
                label: z.string().optional(),
              }),
            ),
          ),
        }),
        followsLabels: z.boolean(),
      })
      .nullable()
      .optional()
      .openapi({
        description:
          "Set on a single version's read when it includes other prompts (`@@@langfusePrompt:name=…|label=…@@@`): the prompt as the edge serves it, with every reference resolved against the labels as they are now, and the graph of what it includes (per including `name#version`, the versions it includes). Null when it includes nothing.",
      }),
  })
  .openapi("Version");
export type VersionView = z.infer<typeof Version>;

export const Label = z
  .object({
    name: z.string(),
    version: z.number().int(),
    rev: z.number().int().openapi({
      description: "Pass back as `expectedRev` to move the label only if nobody moved it since",
    }),
    updatedBy: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Label");
export type LabelView = z.infer<typeof Label>;

export const LabelMove = z
  .object({
    id: z.number().int(),
    label: z.string(),
    fromVersion: z.number().int().nullable(),
    toVersion: z.number().int().nullable(),
    isRollback: z.boolean(),
    actor: z.string(),
    createdAt: z.string(),
  })
  .openapi("LabelMove");
export type LabelMoveView = z.infer<typeof LabelMove>;

export const Prompt = z
  .object({
    name: z.string(),
    type: z.enum(["text", "chat"]),
    description: z.string(),
    tags: z.array(z.string()),
    latestVersion: z.number().int(),
    labels: z.array(Label),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    archivedAt: z.string().nullable(),
  })
  .openapi("Prompt");
export type PromptView = z.infer<typeof Prompt>;

export const tag = z
  .string()
  .min(1)
  .max(TAG_MAX)
  .regex(/^[a-z0-9][a-z0-9_-]*$/, "use lower-case a-z, 0-9, '_' and '-'");
