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
 * An end that is not a failure of the program: its message is printed as is
 * (no `error:` prefix) and the process exits with `code` (e.g. 130 after
 * SIGINT, 143 after SIGTERM).
 *
 * @example
 * ```ts
 * import { ExitError } from "./errors.ts";
 * throw new ExitError(130, "stopped by SIGINT; wrote the partial log");
 * ```
 */
export class ExitError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = "ExitError";
  }
}

/**
 * True for an error the operating system raised on a file (permission denied,
 * no space left, not a directory, ...), which names its path in its message.
 *
 * @example
 * ```ts
 * import { isOsError } from "./errors.ts";
 * console.log(isOsError(new Deno.errors.PermissionDenied("open '/x'"))); // true
 * ```
 */
export function isOsError(e: unknown): boolean {
  return e instanceof Deno.errors.PermissionDenied || e instanceof Deno.errors.NotFound ||
    e instanceof Deno.errors.IsADirectory || e instanceof Deno.errors.NotADirectory ||
    e instanceof Deno.errors.AlreadyExists ||
    e instanceof Deno.errors.FilesystemLoop ||
    (e instanceof Error && /\(os error \d+\)/.test(e.message));
}

const exitHooks: (() => Promise<void>)[] = [];

/**
 * End the process with `code` without running the native libraries' exit-time
 * destructors: dispatch `unload` as `Deno.exit` does, then call libc's
 * `_exit` (Linux with FFI allowed; elsewhere `Deno.exit`). In the one
 * exit-time abort whose core was caught (glibc "corrupted size vs.
 * prev_size", exit 134), `exit()` was running libvips's ELF destructors while
 * a libvips thread freed memory (README, Tests). Everything a program writes
 * is written synchronously or awaited before this point (console output,
 * files renamed into place), and the OS frees the rest.
 */
function exitNow(code: number): never {
  if (
    Deno.build.os === "linux" && Deno.permissions.querySync({ name: "ffi" }).state === "granted"
  ) {
    try {
      const libc = Deno.dlopen("libc.so.6", { _exit: { parameters: ["i32"], result: "void" } });
      globalThis.dispatchEvent(new Event("unload")); // Deno.exit's own dispatch, which _exit skips
      libc.symbols._exit(code);
    } catch { /* no glibc: Deno.exit below dispatches unload itself */ }
  }
  Deno.exit(code);
}

/**
 * Register work that {@link runMain} awaits before the process exits, on
 * success and on error alike (e.g. an orderly release of the GPU device; see
 * `releaseWebGpu` in `src/tf.ts`). Hooks run once each, in order; one that
 * throws does not stop the others or change the exit code.
 *
 * @example
 * ```ts
 * import { onBeforeExit } from "./errors.ts";
 * onBeforeExit(async () => console.error("bye"));
 * ```
 */
export function onBeforeExit(hook: () => Promise<void>): void {
  if (!exitHooks.includes(hook)) exitHooks.push(hook);
}

async function runExitHooks(): Promise<void> {
  for (const hook of exitHooks.splice(0)) {
    try {
      await hook();
    } catch { /* exiting anyway: the hook's failure must not mask the real outcome */ }
  }
}

/**
 * Run an entry point's main function: a {@link UserError} becomes one line on
 * stderr and exit code 2, and so does an OS error on a file ({@link isOsError});
 * any other error is printed with its stack and exit 1.
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
    await runExitHooks();
    exitNow(0);
  } catch (e) {
    await runExitHooks();
    if (e instanceof UserError) {
      console.error(`error: ${e.message}`);
      exitNow(2);
    }
    if (e instanceof ExitError) {
      if (e.message) console.error(e.message);
      exitNow(e.code);
    }
    if (isOsError(e)) {
      // An OS error on a path the user gave (permissions, a full disk, ...): one line too.
      console.error(`error: ${(e as Error).message.replace(/\s+/g, " ")}`);
      exitNow(2);
    }
    console.error(e);
    exitNow(1);
  }
}
