/**
 * Soak test for the exit-time abort (issue 16, §2): run the WebGPU test
 * process (`deno test -A tests/gpu/`) and `deno task stylize --backend webgpu`
 * many times in a row, each in a fresh process, and count how each one ended.
 * Each test process gets a fresh cache directory, as in CI; the stylize runs
 * share one, as a user's runs do (the first one tunes `--kernels auto`). An abort in native teardown
 * shows as exit 134 (SIGABRT) or a signal; a failed test as exit 1.
 *
 * It is a benchmark, not a test: it takes about 25 minutes on 2 cores with
 * the defaults (50 + 30 runs). It writes a JSON summary (counts per kind and
 * exit status, the CPU model and adapter) and keeps the output of every run
 * that did not exit 0 beside it. Exits 1 if any run did not exit 0.
 *
 * @example
 * ```sh
 * deno run -A bench/soak.ts --gpu-tests 50 --stylize 30 --json docs/soak.json
 * ```
 * @module
 */
import { dirname, join } from "node:path";
import { probeWebGpuAdapter } from "../src/tf.ts";
import { cpuModel } from "../src/util/host.ts";
import { writeTextAtomic } from "../src/util/fs.ts";
import { ExitError, runMain, UserError } from "../src/util/errors.ts";
import { flagHelp, type FlagTable, parseFlagTable } from "../src/util/flags.ts";
import { sharedPath } from "../tests/_env.ts";

/** The flags. */
const FLAGS: FlagTable = {
  "gpu-tests": {
    kind: "int",
    min: 0,
    default: 50,
    help: "runs of the WebGPU test process (deno test -A tests/gpu/)",
  },
  stylize: { kind: "int", min: 0, default: 30, help: "runs of stylize --backend webgpu" },
  size: { kind: "int", min: 16, default: 64, help: "stylize: long side (px)" },
  iterations: { kind: "int", min: 1, default: 10, help: "stylize: iterations" },
  json: { kind: "path", default: "docs/soak.json", help: "where to write the summary" },
  help: { kind: "boolean", help: "print this table" },
};

/** How one run ended. */
interface Outcome {
  kind: "gpu-tests" | "stylize";
  run: number;
  code: number;
  signal: string | null;
  seconds: number;
}

/** Run `cmd` with a fresh cache dir; keep its output when it did not exit 0. */
async function runOnce(
  kind: Outcome["kind"],
  run: number,
  cmd: string[],
  keepDir: string,
  sharedCache?: string,
): Promise<Outcome> {
  const cache = sharedCache ?? await Deno.makeTempDir({ prefix: "nst-soak-cache-" });
  const t0 = performance.now();
  try {
    const out = await new Deno.Command(cmd[0], {
      args: cmd.slice(1),
      env: { NST_CACHE_DIR: cache, NST_REQUIRE_WEBGPU: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const o: Outcome = {
      kind,
      run,
      code: out.code,
      signal: out.signal,
      seconds: (performance.now() - t0) / 1000,
    };
    if (out.code !== 0) {
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      await Deno.writeTextFile(join(keepDir, `${kind}-${run}.log`), text);
    }
    console.error(
      `${kind} ${run}: exit ${out.code}${out.signal ? ` (${out.signal})` : ""}, ` +
        `${o.seconds.toFixed(1)} s`,
    );
    return o;
  } finally {
    if (!sharedCache) await Deno.remove(cache, { recursive: true });
  }
}

/** Entry point. */
async function main(): Promise<void> {
  const a = parseFlagTable(Deno.args, FLAGS) as {
    "gpu-tests": number;
    stylize: number;
    size: number;
    iterations: number;
    json: string;
    help?: boolean;
  };
  if (a.help) {
    console.log(flagHelp("deno run -A bench/soak.ts [options]", FLAGS));
    return;
  }
  const adapter = await probeWebGpuAdapter();
  if (!adapter) {
    throw new UserError(
      "no WebGPU adapter: the soak needs one (apt-get install mesa-vulkan-drivers)",
    );
  }
  const deno = Deno.execPath();
  const keepDir = join(dirname(a.json), "soak-failures");
  await Deno.mkdir(keepDir, { recursive: true });
  const outDir = await Deno.makeTempDir({ prefix: "nst-soak-out-" });
  const stylizeCache = join(outDir, "cache");
  const outcomes: Outcome[] = [];
  try {
    for (let i = 1; i <= a["gpu-tests"]; i++) {
      outcomes.push(
        await runOnce("gpu-tests", i, [deno, "test", "-A", "--quiet", "tests/gpu/"], keepDir),
      );
    }
    for (let i = 1; i <= a.stylize; i++) {
      const out = join(outDir, `tubingen-${i}.png`);
      outcomes.push(
        await runOnce(
          "stylize",
          i,
          [
            deno,
            "run",
            "-A",
            "--quiet",
            "src/style/cli.ts",
            "--content",
            sharedPath("data/content/tubingen.jpg"),
            "--style",
            sharedPath("data/styles/composition_vii.jpg"),
            "--weights",
            sharedPath("weights/vgg19-tfjs"),
            "--profile",
            "offline",
            "--backend",
            "webgpu",
            "--size",
            String(a.size),
            "--iterations",
            String(a.iterations),
            "--out",
            out,
          ],
          keepDir,
          stylizeCache,
        ),
      );
      await Deno.remove(out).catch(() => {});
    }
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
  const count = (kind: Outcome["kind"]) => {
    const mine = outcomes.filter((o) => o.kind === kind);
    const byExit: Record<string, number> = {};
    for (const o of mine) {
      const key = o.signal ? `signal ${o.signal}` : `exit ${o.code}`;
      byExit[key] = (byExit[key] ?? 0) + 1;
    }
    return { runs: mine.length, by_exit: byExit, aborted: mine.filter(isAbort).length };
  };
  const summary = {
    date: new Date().toISOString(),
    cpu: await cpuModel(),
    adapter,
    deno: Deno.version.deno,
    gpu_tests: count("gpu-tests"),
    stylize: { ...count("stylize"), size: a.size, iterations: a.iterations },
    outcomes,
  };
  await Deno.mkdir(dirname(a.json), { recursive: true });
  await writeTextAtomic(a.json, JSON.stringify(summary, null, 1) + "\n");
  const bad = outcomes.filter((o) => o.code !== 0).length;
  console.log(
    `gpu tests: ${summary.gpu_tests.runs} runs, ${summary.gpu_tests.aborted} aborted; ` +
      `stylize: ${summary.stylize.runs} runs, ${summary.stylize.aborted} aborted; ` +
      `${bad} run(s) not exiting 0 (logs in ${keepDir})`,
  );
  if (bad > 0) throw new ExitError(1, "");
}

/** An abort in teardown: SIGABRT (exit 134) or any other fatal signal. */
function isAbort(o: Outcome): boolean {
  return o.code === 134 || o.signal !== null;
}

if (import.meta.main) await runMain(main);
