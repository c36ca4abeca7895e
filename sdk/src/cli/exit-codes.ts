import { CuecardRequestError, CuecardUnavailableError } from "../errors";

/**
 * The CLI's exit codes; scripts and CI branch on them (documented in docs/prompts-as-code.md, and
 * for `experiment results` in docs/experiments.md).
 */
export const ExitCode = {
  ok: 0,
  /** A test failed, or `diff` found differences. */
  failed: 1,
  /** Wrong usage, a bad prompt file, a missing or refused key, a request the server refused. */
  usage: 2,
  notFound: 3,
  /** Someone else moved the label first (stale `--expected-rev`), or the name is taken. */
  conflict: 4,
  /** The server could not be reached, timed out, or answered 429/5xx. */
  unavailable: 5,
  /** `experiment results`: no winner yet (not enough data, or no clear difference). Keep waiting. */
  undecided: 6,
  /** `experiment results`: a sample-ratio mismatch or a failing guardrail. Someone should look. */
  blocked: 7,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the CLI reports as one clear line and an exit code. */
export class CliError extends Error {
  constructor(
    readonly exitCode: ExitCode,
    message: string,
    /** A stable word for --json output, e.g. bad_file. */
    readonly code = "error",
  ) {
    super(message);
    this.name = "CliError";
  }
}

export function badFile(path: string, problem: string): CliError {
  return new CliError(ExitCode.usage, `${path}: ${problem}`, "bad_file");
}

/** Maps whatever a command threw to what the user sees and the exit code. */
export function toCliError(error: unknown): CliError {
  if (error instanceof CliError) return error;
  if (error instanceof CuecardUnavailableError) {
    return new CliError(
      ExitCode.unavailable,
      `${error.message}. Is the server running, and is the URL in cuecard.json right?`,
      "unavailable",
    );
  }
  if (error instanceof CuecardRequestError) {
    const code = error.code ?? `http_${error.status}`;
    if (error.status === 404) return new CliError(ExitCode.notFound, error.message, code);
    if (error.status === 409) return new CliError(ExitCode.conflict, error.message, code);
    if (error.status === 401 || error.status === 403) {
      return new CliError(
        ExitCode.usage,
        `${error.message} Check CUECARD_API_KEY (push needs an editor key, promote and rollback a publisher key).`,
        code,
      );
    }
    // Not a passing outage: this deployment has no telemetry worker, so retrying will not help.
    if (error.code === "telemetry_not_configured") {
      return new CliError(ExitCode.usage, error.message, error.code);
    }
    if (error.status >= 500 || error.status === 429) {
      return new CliError(ExitCode.unavailable, error.message, code);
    }
    return new CliError(ExitCode.usage, error.message, code);
  }
  if (
    error instanceof Error &&
    "code" in error &&
    String(error.code).startsWith("ERR_PARSE_ARGS")
  ) {
    return new CliError(ExitCode.usage, `${error.message}. See 'cuecard --help'.`, "usage");
  }
  return new CliError(
    ExitCode.usage,
    error instanceof Error ? error.message : String(error),
    "error",
  );
}
