import { toProblem } from "./problem";

/**
 * The Langfuse-compatible API's shared rules (zod-free: the edge and the admin worker both use
 * them). A Langfuse key pair is a view of one Cuecard key: the public key names the key's id (it
 * is not secret), the secret key IS the Cuecard key, checked exactly like a bearer key. So a
 * Langfuse pair has the role, project, expiry and revocation of the key it views, and nothing new
 * is stored.
 */

export const LANGFUSE_PUBLIC_KEY_PREFIX = "pk-lf-";

/**
 * What `GET /api/public/health` answers as `version`. Langfuse answers its server's version
 * there, and `langfuse-cli --api-version auto` picks the newest API contract it bundles that is
 * no newer than it, refusing anything that is not semantic. Cuecard names the contract its
 * Langfuse API is tested against: langfuse-cli 1.2.4's default (latest) snapshot.
 */
export const LANGFUSE_API_VERSION = "4.35.0";

/** The public key of the pair that views the key `keyId`. */
export function langfusePublicKey(keyId: string): string {
  return `${LANGFUSE_PUBLIC_KEY_PREFIX}${keyId}`;
}

/** `Authorization: Basic base64(publicKey:secretKey)` → the pair, or undefined when not Basic. */
export function basicCredentials(
  header: string | null | undefined,
): { publicKey: string; secretKey: string } | undefined {
  if (!header || !/^basic /i.test(header)) return undefined;
  let decoded: string;
  try {
    decoded = atob(header.slice(6).trim());
  } catch {
    return undefined;
  }
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { publicKey: decoded.slice(0, colon), secretKey: decoded.slice(colon + 1) };
}

/** What Langfuse's server calls its errors, by status: the SDKs show `message`, some match `error`. */
const LANGFUSE_ERROR_NAMES: Record<number, string> = {
  400: "InvalidRequestError",
  401: "UnauthorizedError",
  403: "AccessDeniedError",
  404: "LangfuseNotFoundError",
  405: "MethodNotAllowedError",
  409: "ConflictError",
  413: "PayloadTooLargeError",
  415: "InvalidRequestError",
  422: "InvalidRequestError",
  429: "TooManyRequestsError",
  503: "ServiceUnavailableError",
};

/**
 * Langfuse's error envelope `{message, error}` (the SDKs read `message` from every 4xx), with
 * Cuecard's own 422 (validation) answered as Langfuse's 400.
 */
export function langfuseErrorResponse(
  status: number,
  message: string,
  headers?: Record<string, string>,
): Response {
  const sent = status === 422 || status === 415 ? 400 : status;
  return new Response(
    JSON.stringify({ message, error: LANGFUSE_ERROR_NAMES[sent] ?? "InternalServerError" }),
    {
      status: sent,
      headers: { ...headers, "content-type": "application/json", "cache-control": "no-store" },
    },
  );
}

/** The 404 message Langfuse's SDK users know, for a label or a version. */
export function langfuseNotFoundMessage(name: string, selector: string | number): string {
  return typeof selector === "number"
    ? `Prompt not found: '${name}' with version ${selector}`
    : `Prompt not found: '${name}' with label '${selector}'`;
}

/**
 * A Cuecard problem as Langfuse's error: its detail followed by each field problem, since Langfuse
 * clients show one message. Unexpected errors are logged and answered without their details.
 */
export function langfuseProblemResponse(
  error: unknown,
  headers?: Record<string, string>,
): Response {
  const problem = toProblem(error);
  if (problem.status === 500) console.error("langfuse request failed", error);
  const fields = problem.errors?.map((field) => `${field.field} ${field.message}`) ?? [];
  const message =
    fields.length === 0 ? problem.message : `${problem.message} ${fields.join("; ")}.`;
  return langfuseErrorResponse(problem.status, message, { ...problem.headers, ...headers });
}
