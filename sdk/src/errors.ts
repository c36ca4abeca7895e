import type { ProblemCode, Problem as ServerProblem } from "@cuecard/core/problem";

/**
 * What can go wrong when asking Cuecard for something. Every error says what to change; the
 * `problem` is the server's problem+json body when there was one.
 */

/**
 * The server's problem+json envelope (its type is core's, so it cannot drift from what the
 * workers send). Every field but the status may be missing: a proxy in between may have
 * answered instead.
 */
export type Problem = Partial<ServerProblem> & { status: number };

export class CuecardError extends Error {
  override name = "CuecardError";
}

/** The server answered with an error that retrying will not fix (bad key, bad request, 404…). */
export class CuecardRequestError extends CuecardError {
  override name = "CuecardRequestError";
  constructor(
    readonly status: number,
    readonly problem: Problem,
  ) {
    super(describeProblem(problem));
  }
  get code(): ProblemCode | undefined {
    return this.problem.code;
  }
}

/** 404: the prompt, or the label / version asked for, does not exist. */
export class PromptNotFoundError extends CuecardRequestError {
  override name = "PromptNotFoundError";
}

/**
 * The server could not be reached or kept failing (network error, timeout, 429 or 5xx after the
 * retries). `cause` holds the last failure.
 */
export class CuecardUnavailableError extends CuecardError {
  override name = "CuecardUnavailableError";
  constructor(
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The prompt was fetched but is not of the type the caller asked for (text vs chat). */
export class PromptTypeError extends CuecardError {
  override name = "PromptTypeError";
}

function describeProblem(problem: Problem): string {
  const head = problem.detail ?? problem.title ?? `HTTP ${problem.status}`;
  const fields = (problem.errors ?? []).map((error) => `${error.field} ${error.message}`);
  return fields.length > 0 ? `${head} (${fields.join("; ")})` : head;
}

/** Reads an error response as a problem, whatever the server sent. */
export async function readProblem(response: Response): Promise<Problem> {
  const text = await response.text().catch(() => "");
  try {
    const parsed = JSON.parse(text) as unknown;
    if (parsed && typeof parsed === "object" && !Array.isArray(parsed)) {
      return { status: response.status, ...(parsed as Record<string, unknown>) };
    }
  } catch {
    // Not JSON (a proxy's HTML error page, say): keep a short excerpt as the detail.
  }
  return {
    status: response.status,
    detail: text ? `HTTP ${response.status}: ${text.slice(0, 200)}` : `HTTP ${response.status}`,
  };
}

export function errorFor(status: number, problem: Problem): CuecardRequestError {
  return status === 404
    ? new PromptNotFoundError(status, problem)
    : new CuecardRequestError(status, problem);
}
