import { importSealingKey, openSecret, sealingKeyProblem, sealSecret } from "@cuecard/core/crypto";
import { API_KEY_HINT_CHARS, API_KEY_HINT_MIN_LENGTH } from "@cuecard/core/limits";
import { ProblemError } from "@cuecard/core/problem";
import { eq } from "drizzle-orm";
import { commitChange } from "../../platform/changes";
import type { MutationContext, ReadContext } from "../../platform/context";
import type { Database } from "../../platform/db/client";
import { type ModelProviderRow, modelProviders } from "../../platform/db/schema";
import { type Untrusted, validInput } from "../../platform/fields";
import { requireAccess } from "../access/access";
import { findProject } from "../projects/projects";
import { checkWebhookUrl, type UrlGuardOptions } from "../webhooks/url-guard";
import { ModelProviderInput, type ModelProviderView } from "./schemas";

/**
 * A project's model provider (the playground's OpenAI-compatible endpoint): the verbs the API
 * and the settings page call. Only admins manage it; its API key is sealed before it is stored
 * and never leaves this worker again (no view, audit row, event or log carries it).
 */

export type { ModelProviderView } from "./schemas";
export { ModelProviderInput };

/** What the provider verbs need from the deployment. */
export interface ProviderDeps {
  /** SECRETS_ENCRYPTION_KEY: base64 of 32 random bytes (a worker secret). */
  sealingKey: string | undefined;
  /** MODEL_PROVIDER_ALLOW_LOOPBACK: loopback base URLs in local development only. */
  allowLoopback: boolean;
}

export const LOOPBACK_SETTING = "MODEL_PROVIDER_ALLOW_LOOPBACK";

export function providerDepsOf(env: {
  SECRETS_ENCRYPTION_KEY?: string;
  MODEL_PROVIDER_ALLOW_LOOPBACK?: string;
}): ProviderDeps {
  return {
    sealingKey: env.SECRETS_ENCRYPTION_KEY,
    allowLoopback: env.MODEL_PROVIDER_ALLOW_LOOPBACK === "true",
  };
}

function urlGuard(deps: ProviderDeps): UrlGuardOptions {
  return {
    allowLoopback: deps.allowLoopback,
    loopbackSetting: LOOPBACK_SETTING,
    credentialsHint: "put the API key in its own field",
  };
}

/** The sealed key's associated data: a sealed key opens only in its own project. */
const sealContext = (projectId: string) => `model-provider:${projectId}`;

async function sealingKeyOf(deps: ProviderDeps): Promise<CryptoKey> {
  const problem = sealingKeyProblem(deps.sealingKey);
  if (problem || !deps.sealingKey) {
    // The operator's mistake, not the caller's: said without echoing anything of the value.
    console.error(`SECRETS_ENCRYPTION_KEY ${problem}`);
    throw new ProblemError(
      "unavailable",
      "This deployment cannot store secrets yet: its SECRETS_ENCRYPTION_KEY is missing or malformed. Ask whoever deploys Cuecard to set it.",
    );
  }
  return importSealingKey(deps.sealingKey);
}

function keyHint(apiKey: string): string | null {
  return apiKey.length >= API_KEY_HINT_MIN_LENGTH ? apiKey.slice(-API_KEY_HINT_CHARS) : null;
}

function toView(row: ModelProviderRow): ModelProviderView {
  return {
    baseUrl: row.baseUrl,
    defaultModel: row.defaultModel,
    apiKey: { set: true, lastChars: row.apiKeyHint },
    updatedBy: row.updatedBy,
    updatedAt: row.updatedAt,
  };
}

async function loadRow(db: Database, projectId: string): Promise<ModelProviderRow | undefined> {
  return db.query.modelProviders.findFirst({ where: eq(modelProviders.projectId, projectId) });
}

function notConfigured(): ProblemError {
  return new ProblemError("not_found", "This project has no model provider yet.");
}

/** The provider's settings, or undefined when none is set (admins only). */
export async function findModelProvider(
  ctx: ReadContext,
  projectId: string,
): Promise<ModelProviderView | undefined> {
  requireAccess(ctx.actor, projectId, "project:manage");
  await findProject(ctx.db, projectId);
  const row = await loadRow(ctx.db, projectId);
  return row ? toView(row) : undefined;
}

export async function getModelProvider(
  ctx: ReadContext,
  projectId: string,
): Promise<ModelProviderView> {
  const view = await findModelProvider(ctx, projectId);
  if (!view) throw notConfigured();
  return view;
}

/** Whether runs can be made: what the playground tells people who cannot see the settings. */
export async function hasModelProvider(ctx: ReadContext, projectId: string): Promise<boolean> {
  requireAccess(ctx.actor, projectId, "prompts:read");
  return (await loadRow(ctx.db, projectId)) !== undefined;
}

function invalidField(field: string, message: string): ProblemError {
  return new ProblemError("validation_failed", `The ${field} is not accepted: ${message}.`, {
    errors: [{ field: `body.${field}`, message }],
  });
}

/** Sets or replaces the provider; the key, when given, replaces the stored one. Audited. */
export async function setModelProvider(
  ctx: MutationContext,
  projectId: string,
  fields: Untrusted<typeof ModelProviderInput>,
  deps: ProviderDeps,
): Promise<ModelProviderView> {
  requireAccess(ctx.actor, projectId, "project:manage");
  const input = validInput(ModelProviderInput, fields);
  await findProject(ctx.db, projectId);
  const verdict = checkWebhookUrl(input.baseUrl, urlGuard(deps));
  if (!verdict.ok) throw invalidField("baseUrl", verdict.reason);
  const before = await loadRow(ctx.db, projectId);
  if (!before && input.apiKey === undefined) {
    throw invalidField("apiKey", "is required: this project has no key stored yet");
  }
  const sealed =
    input.apiKey === undefined
      ? undefined
      : {
          apiKeySealed: await sealSecret(
            await sealingKeyOf(deps),
            input.apiKey,
            sealContext(projectId),
          ),
          apiKeyHint: keyHint(input.apiKey),
        };
  // The URL as the guard parsed it (no trailing slash): one spelling per endpoint.
  const baseUrl = verdict.url.href.replace(/\/+$/, "");
  const now = new Date().toISOString();
  const settings = {
    baseUrl,
    defaultModel: input.defaultModel,
    updatedBy: ctx.actor.name,
    updatedAt: now,
  };
  const statement = before
    ? ctx.db
        .update(modelProviders)
        .set({ ...settings, ...sealed })
        .where(eq(modelProviders.projectId, projectId))
    : ctx.db.insert(modelProviders).values({
        projectId,
        ...settings,
        apiKeySealed: sealed?.apiKeySealed ?? "",
        apiKeyHint: sealed?.apiKeyHint ?? null,
      });
  await commitChange(ctx, {
    projectId,
    statements: [statement],
    audit: {
      action: "model_provider.update",
      targetType: "model_provider",
      target: projectId,
      before: before ? { baseUrl: before.baseUrl, defaultModel: before.defaultModel } : null,
      // Whether the key changed, never the key nor its hint.
      after: { baseUrl, defaultModel: input.defaultModel, apiKey: sealed ? "replaced" : "kept" },
    },
    event: {
      type: "model_provider.updated",
      publishTarget: null,
      payload: { project: { id: projectId }, baseUrl, defaultModel: input.defaultModel },
    },
  });
  const row = await loadRow(ctx.db, projectId);
  if (!row) throw notConfigured();
  return toView(row);
}

/** Removes the provider and its stored key. Audited. */
export async function deleteModelProvider(ctx: MutationContext, projectId: string): Promise<void> {
  requireAccess(ctx.actor, projectId, "project:manage");
  await findProject(ctx.db, projectId);
  const before = await loadRow(ctx.db, projectId);
  if (!before) throw notConfigured();
  await commitChange(ctx, {
    projectId,
    statements: [ctx.db.delete(modelProviders).where(eq(modelProviders.projectId, projectId))],
    audit: {
      action: "model_provider.delete",
      targetType: "model_provider",
      target: projectId,
      before: { baseUrl: before.baseUrl, defaultModel: before.defaultModel },
    },
    event: {
      type: "model_provider.deleted",
      publishTarget: null,
      payload: { project: { id: projectId } },
    },
  });
}

/** What a run connects with: the endpoint (checked again now) and the opened key. */
export interface ProviderConnection {
  baseUrl: string;
  defaultModel: string;
  apiKey: string;
}

/**
 * The provider a run uses, for a caller that has checked the actor may run (no check here). The
 * URL is judged again: one saved under an older, looser rule must not be called.
 */
export async function providerConnection(
  db: Database,
  projectId: string,
  deps: ProviderDeps,
): Promise<ProviderConnection> {
  const row = await loadRow(db, projectId);
  if (!row) {
    throw new ProblemError(
      "conflict",
      "This project has no model provider yet. An admin sets one in Settings → Model provider.",
    );
  }
  const verdict = checkWebhookUrl(row.baseUrl, urlGuard(deps));
  if (!verdict.ok) {
    throw new ProblemError(
      "conflict",
      `The model provider's base URL ${verdict.reason}. An admin can change it in Settings → Model provider.`,
    );
  }
  const apiKey = await openSecret(
    await sealingKeyOf(deps),
    row.apiKeySealed,
    sealContext(projectId),
  );
  if (apiKey === undefined) {
    console.error("model provider key does not open with SECRETS_ENCRYPTION_KEY", projectId);
    throw new ProblemError(
      "conflict",
      "The stored API key cannot be read with this deployment's SECRETS_ENCRYPTION_KEY (was it changed?). An admin can enter the key again in Settings → Model provider.",
    );
  }
  return { baseUrl: row.baseUrl, defaultModel: row.defaultModel, apiKey };
}
