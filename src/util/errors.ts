/**
 * Errors a user can fix (bad flag, missing file, wrong weights). Entry points
 * print their message as one line and exit non-zero; anything else is a bug
 * and keeps its stack trace.
 *
 * @example
 * ```ts
 * import { UserError } from "./errors.ts";
 * throw new UserError("--size: expected a positive integer, got 'abc'");
 * ```
 * @module
 */

/** An error caused by input the user controls; its message is the whole report. */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserError";
  }
}

/**
 * Run an entry point's main function: a {@link UserError} becomes one line on
 * stderr and exit code 2; any other error is printed with its stack and exit 1.
 *
 * @example
 * ```ts
 * import { runMain } from "./errors.ts";
 * await runMain(async () => { console.log("work"); });
 * ```
 */
export async function runMain(main: () => Promise<void>): Promise<never> {
  try {
    await main();
    Deno.exit(0);
  } catch (e) {
    if (e instanceof UserError) {
      console.error(`error: ${e.message}`);
      Deno.exit(2);
    }
    console.error(e);
    Deno.exit(1);
  }
}
