/**
 * `deno task gpu-kit --out DIR`: a self-contained folder (at most 60 MiB) that
 * runs the project's GPU checks on a bare x86-64 Linux with a Vulkan driver: no
 * network, no Deno, no npm. It holds
 *
 * - `deno.xz`: the running Deno binary, xz-compressed;
 * - `app.tar.xz`: the project (src, bench, kernels, weights table, tests,
 *   deploy/kit), the npm packages the runtime loads (pruned, resolved by Deno
 *   from `node_modules` in `nodeModulesDir: "manual"` mode) and `shared/`, laid
 *   out like the shared data folder (VGG19 blocks 1-3, the Caltech classes, the
 *   style and content images);
 * - `run.sh` (from `deploy/kit/run.sh`) and `kit.json` (what is inside, sizes).
 *
 * Needs `tar` and `xz` on the building machine.
 *
 * @example
 * ```sh
 * deno task gpu-kit --out /tmp/kit && bash /tmp/kit/run.sh --quick /tmp/kit-out
 * ```
 * @module
 */
import { basename, dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { flagHelp, type FlagTable, parseFlagTable } from "../../src/util/flags.ts";
import { runMain, UserError } from "../../src/util/errors.ts";

/** The size limit of the kit folder, bytes (60 MiB). */
export const KIT_LIMIT_BYTES = 60 * 1024 * 1024;

/**
 * npm packages the runtime imports (src, bench, tests/gpu); their dependencies come along.
 * `@tensorflow/tfjs` is imported by src/tf.ts for its side effect: it registers the gradients.
 */
export const KIT_PACKAGES = [
  "@tensorflow/tfjs",
  "@tensorflow/tfjs-core",
  "@tensorflow/tfjs-backend-cpu",
  "@tensorflow/tfjs-backend-wasm",
  "@tensorflow/tfjs-backend-webgpu",
  "sharp",
  "cli-progress",
  "fflate",
  "tar",
  "vega",
  "vega-lite",
];

/** Project folders and files the kit carries (relative to the repo root). */
export const KIT_PROJECT = ["src", "bench", "kernels", "weights", "tests", "deploy/kit"];

/** Shared-folder parts the kit carries (relative to the shared folder). */
export const KIT_SHARED = ["weights/vgg19-tfjs", "data/caltech101", "data/styles", "data/content"];

const REPO = fileURLToPath(new URL("../..", import.meta.url));

/**
 * Whether a file inside an npm package is left out of the kit: source maps,
 * type declarations, docs, the musl builds of sharp, and for the tfjs
 * packages everything but `package.json`, the `main` bundle and the `.wasm`
 * files (Deno loads `main`; the wasm backend fetches its `.wasm` from `dist/`).
 *
 * @example
 * ```ts
 * import { prunedFile } from "./build.ts";
 * console.log(prunedFile("@tensorflow/tfjs-core", "dist/index.js", "dist/tf-core.node.js")); // true
 * ```
 */
export function prunedFile(pkg: string, rel: string, main: string | null): boolean {
  if (/\.(map|d\.ts|d\.mts|d\.cts|md|markdown|ts|tsbuildinfo)$/i.test(rel)) return true;
  if (/(^|\/)(test|tests|__tests__|docs?|examples?|\.github)\//i.test(rel)) return true;
  if (pkg.startsWith("@tensorflow/")) {
    return !(rel === "package.json" || rel === main || /^dist\/[^/]+\.wasm$/.test(rel));
  }
  return false;
}

/**
 * Packages never copied: the musl builds of sharp (the kit is for glibc x86-64), type packages,
 * and core-js (14 MB; a dependency of `@tensorflow/tfjs` that its node bundle never requires).
 */
function skippedPackage(name: string): boolean {
  return /^@img\/sharp-(libvips-)?linuxmusl-/.test(name) || name.startsWith("@types/") ||
    name === "core-js";
}

async function lexists(p: string): Promise<boolean> {
  return await Deno.lstat(p).then(() => true, () => false);
}

/** Copy a directory tree, keeping symlinks as symlinks; `keep(rel)` filters files. */
async function copyTree(src: string, dst: string, keep: (rel: string) => boolean, rel = "") {
  await Deno.mkdir(join(dst, rel), { recursive: true });
  for await (const e of Deno.readDir(join(src, rel))) {
    const r = rel ? `${rel}/${e.name}` : e.name;
    if (e.isSymlink) {
      await Deno.symlink(await Deno.readLink(join(src, r)), join(dst, r));
    } else if (e.isDirectory) {
      await copyTree(src, dst, keep, r);
    } else if (keep(r)) {
      await Deno.copyFile(join(src, r), join(dst, r));
    }
  }
}

/**
 * Copy the runtime closure of {@link KIT_PACKAGES} from the repo's
 * `node_modules` (Deno's `.deno/<name>@<version>/node_modules/...` layout) to
 * `dst`, pruned by {@link prunedFile}. Returns the package folders copied.
 *
 * @example
 * ```ts
 * import { copyNodeModules } from "./build.ts";
 * console.log((await copyNodeModules("node_modules", "/tmp/kit-nm")).length);
 * ```
 */
export async function copyNodeModules(src: string, dst: string): Promise<string[]> {
  const store = join(src, ".deno");
  const done = new Set<string>();
  const queue: string[] = [];
  await Deno.mkdir(join(dst, ".deno"), { recursive: true });
  for (const name of KIT_PACKAGES) {
    const link = join(src, name);
    if (!(await lexists(link))) {
      throw new UserError(`${link} is missing: run \`deno install\` in the repo first`);
    }
    const target = await Deno.readLink(link);
    await Deno.mkdir(dirname(join(dst, name)), { recursive: true });
    await Deno.symlink(target, join(dst, name));
    queue.push(relative(store, resolve(dirname(link), target)).split("/")[0]);
  }
  while (queue.length > 0) {
    const entry = queue.pop()!;
    if (done.has(entry)) continue;
    done.add(entry);
    // .deno/<entry>/node_modules holds the package itself and links to its dependencies.
    const nm = join(store, entry, "node_modules");
    const names: string[] = [];
    for await (const e of Deno.readDir(nm)) {
      if (e.name.startsWith("@")) {
        for await (const s of Deno.readDir(join(nm, e.name))) names.push(`${e.name}/${s.name}`);
      } else names.push(e.name);
    }
    for (const name of names) {
      const p = join(nm, name);
      const out = join(dst, ".deno", entry, "node_modules", name);
      if (skippedPackage(name)) continue;
      const st = await Deno.lstat(p);
      await Deno.mkdir(dirname(out), { recursive: true });
      if (st.isSymlink) {
        const target = await Deno.readLink(p);
        const dep = relative(store, resolve(dirname(p), target)).split("/")[0];
        await Deno.symlink(target, out);
        queue.push(dep);
      } else {
        let main: string | null = null;
        try {
          const pj = JSON.parse(await Deno.readTextFile(join(p, "package.json")));
          main = typeof pj.main === "string" ? pj.main.replace(/^\.\//, "") : null;
        } catch { /* no package.json: keep everything */ }
        await copyTree(p, out, (r) => !prunedFile(name, r, main));
      }
    }
  }
  // .deno/node_modules: Deno's hoisted links, which packages reach for undeclared dependencies
  // (tfjs's bundle requires `long`, a dependency of tfjs-core only). Kept where they point into
  // the closure.
  const hoisted = join(store, "node_modules");
  const links: string[] = [];
  for await (const e of Deno.readDir(hoisted)) {
    if (e.name.startsWith("@") && e.isDirectory) {
      for await (const s of Deno.readDir(join(hoisted, e.name))) links.push(`${e.name}/${s.name}`);
    } else links.push(e.name);
  }
  for (const name of links) {
    const p = join(hoisted, name);
    if (!(await Deno.lstat(p)).isSymlink) continue;
    const target = await Deno.readLink(p);
    if (!done.has(relative(store, resolve(dirname(p), target)).split("/")[0])) continue;
    await Deno.mkdir(dirname(join(dst, ".deno", "node_modules", name)), { recursive: true });
    await Deno.symlink(target, join(dst, ".deno", "node_modules", name));
  }
  return [...done].sort();
}

/** Total bytes of regular files under `dir` (symlinks not followed). */
async function treeBytes(dir: string): Promise<number> {
  let n = 0;
  for await (const e of Deno.readDir(dir)) {
    const p = join(dir, e.name);
    if (e.isDirectory) n += await treeBytes(p);
    else if (e.isFile) n += (await Deno.stat(p)).size;
  }
  return n;
}

/** Child processes still running and temporary folders of a build: what a signal cleans up. */
const LIVE = { children: new Set<Deno.ChildProcess>(), tmp: new Map<string, string>() };

/**
 * On the first SIGINT or SIGTERM: kill every running `tar | xz` (each child is its own
 * process group), remove the temporary folders and exit 130 or 143. Returns the remover.
 */
function existsSync(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function stopOnSignals(log: (line: string) => void): () => void {
  const handlers = (["SIGINT", "SIGTERM"] as const).map((sig) => {
    const f = () => {
      for (const c of LIVE.children) {
        try {
          Deno.kill(-c.pid, "SIGTERM");
        } catch {
          // already ended
        }
      }
      for (const [t, out] of LIVE.tmp) {
        try {
          // Between the two renames of a replace: the previous kit goes back.
          if (!existsSync(out)) Deno.renameSync(join(t, "old"), out);
        } catch {
          // no previous kit
        }
        try {
          Deno.removeSync(t, { recursive: true });
        } catch {
          // already removed
        }
      }
      log(`gpu-kit: stopped by ${sig}; no kit written, temporary files removed`);
      // Intended: a signal handler exits at once (runMain is still awaiting the build).
      Deno.exit(sig === "SIGINT" ? 130 : 143);
    };
    Deno.addSignalListener(sig, f);
    return [sig, f] as const;
  });
  return () => handlers.forEach(([sig, f]) => Deno.removeSignalListener(sig, f));
}

async function sh(cmd: string, args: string[], what: string): Promise<void> {
  let out: Deno.CommandOutput;
  try {
    // Its own process group (detached), so a signal handler can end the whole pipeline.
    const child = new Deno.Command(cmd, {
      args,
      stdout: "inherit",
      stderr: "piped",
      detached: true,
    })
      .spawn();
    LIVE.children.add(child);
    try {
      out = await child.output();
    } finally {
      LIVE.children.delete(child);
    }
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new UserError(
        `gpu-kit: \`${cmd}\` not found (needed for ${what}; Debian: apt-get install ${
          cmd === "xz" ? "xz-utils" : cmd
        })`,
      );
    }
    throw e;
  }
  if (!out.success) {
    throw new UserError(`gpu-kit: ${what} failed: ${new TextDecoder().decode(out.stderr).trim()}`);
  }
}

/** What {@link buildKit} made, bytes per part. */
export interface KitInfo {
  out: string;
  bytes: { total: number; deno_xz: number; app_tar_xz: number; run_sh: number };
  /** Uncompressed bytes inside app.tar.xz. */
  raw: { node_modules: number; shared: number; project: number };
  packages: string[];
  seconds: number;
}

/**
 * Build the kit into `out` (a new folder, or a previous kit, replaced only
 * after the new one is complete).
 *
 * @example
 * ```ts
 * import { buildKit } from "./build.ts";
 * const info = await buildKit({ out: "/tmp/kit", shared: "../shared" });
 * console.log(info.bytes.total <= 60 * 1024 * 1024);
 * ```
 */
export async function buildKit(opts: {
  out: string;
  shared: string;
  deno?: string;
  xzLevel?: number;
  log?: (line: string) => void;
}): Promise<KitInfo> {
  const t0 = performance.now();
  const log = opts.log ?? ((l: string) => console.error(l));
  const out = resolve(opts.out);
  const deno = opts.deno ?? Deno.execPath();
  const level = opts.xzLevel ?? 6;
  const outStat = await Deno.stat(out).catch(() => null);
  if (outStat) {
    const names: string[] = [];
    if (outStat.isDirectory) { for await (const e of Deno.readDir(out)) names.push(e.name); }
    if (!outStat.isDirectory || (names.length > 0 && !names.includes("kit.json"))) {
      throw new UserError(`--out: ${out} exists and is not an empty folder or a previous kit`);
    }
  }
  for (const part of KIT_SHARED) {
    if (!(await Deno.stat(join(opts.shared, part)).catch(() => null))) {
      throw new UserError(
        `--shared: ${join(opts.shared, part)} is missing (set NST_SHARED or --shared DIR)`,
      );
    }
  }
  await Deno.mkdir(dirname(out), { recursive: true });
  const tmp = await Deno.makeTempDir({ dir: dirname(out), prefix: `.${basename(out)}.tmp-` });
  LIVE.tmp.set(tmp, out);
  try {
    const stage = join(tmp, "stage", "app");
    log("gpu-kit: copying the project");
    for (const p of KIT_PROJECT) {
      await copyTree(join(REPO, p), join(stage, p), (r) => !/(^|\/)\.|\.tmp-/.test(r));
    }
    const config = JSON.parse(await Deno.readTextFile(join(REPO, "deno.json")));
    const kept = new Set(KIT_PACKAGES);
    const imports: Record<string, string> = {};
    for (const [k, v] of Object.entries(config.imports as Record<string, string>)) {
      if (kept.has(k)) imports[k] = v;
    }
    const kitConfig = {
      // Resolve npm packages from the bundled node_modules; never install, never lock.
      nodeModulesDir: "manual",
      lock: false,
      imports,
      compilerOptions: { lib: config.compilerOptions?.lib ?? ["deno.ns", "deno.window", "dom"] },
    };
    await Deno.writeTextFile(join(stage, "deno.json"), JSON.stringify(kitConfig, null, 2) + "\n");
    log("gpu-kit: copying the npm packages the runtime loads");
    const packages = await copyNodeModules(join(REPO, "node_modules"), join(stage, "node_modules"));
    log("gpu-kit: copying the shared data");
    for (const p of KIT_SHARED) {
      await copyTree(join(opts.shared, p), join(stage, "shared", p), (r) => !/(^|\/)\./.test(r));
    }
    const raw = {
      node_modules: await treeBytes(join(stage, "node_modules")),
      shared: await treeBytes(join(stage, "shared")),
      project: 0,
    };
    raw.project = await treeBytes(stage) - raw.node_modules - raw.shared;
    const kit = join(tmp, "kit");
    await Deno.mkdir(kit);
    log(`gpu-kit: compressing the project (xz -${level})`);
    await sh(
      "bash",
      [
        "-c",
        `set -o pipefail; tar -C "$1" --owner=0 --group=0 --sort=name -cf - app | xz -${level} -T0 -c > "$2"`,
        "bash",
        join(tmp, "stage"),
        join(kit, "app.tar.xz"),
      ],
      "tar | xz of the project",
    );
    log(`gpu-kit: compressing ${deno} (xz -${level})`);
    await sh(
      "bash",
      ["-c", `xz -${level} -T0 -c "$1" > "$2"`, "bash", deno, join(kit, "deno.xz")],
      "xz of the Deno binary",
    );
    await Deno.copyFile(join(REPO, "deploy/kit/run.sh"), join(kit, "run.sh"));
    await Deno.chmod(join(kit, "run.sh"), 0o755);
    const size = async (n: string) => (await Deno.stat(join(kit, n))).size;
    const bytes = {
      deno_xz: await size("deno.xz"),
      app_tar_xz: await size("app.tar.xz"),
      run_sh: await size("run.sh"),
      total: 0,
    };
    const seconds = (performance.now() - t0) / 1000;
    const manifest = {
      built: new Date().toISOString(),
      deno: Deno.version.deno,
      xz_level: level,
      bytes: { deno_xz: bytes.deno_xz, app_tar_xz: bytes.app_tar_xz, run_sh: bytes.run_sh },
      raw,
      packages,
      seconds: Math.round(seconds * 10) / 10,
    };
    await Deno.writeTextFile(join(kit, "kit.json"), JSON.stringify(manifest, null, 2) + "\n");
    bytes.total = bytes.deno_xz + bytes.app_tar_xz + bytes.run_sh + (await size("kit.json"));
    if (bytes.total > KIT_LIMIT_BYTES) {
      throw new UserError(
        `gpu-kit: the kit is ${(bytes.total / 2 ** 20).toFixed(1)} MiB, over the 60 MiB limit`,
      );
    }
    // Replace: the old kit moves aside only once the new one is complete.
    if (outStat) await Deno.rename(out, join(tmp, "old"));
    await Deno.rename(kit, out);
    return { out, bytes, raw, packages, seconds: (performance.now() - t0) / 1000 };
  } finally {
    await Deno.remove(tmp, { recursive: true }).catch(() => {});
    LIVE.tmp.delete(tmp);
  }
}

/** The CLI's flags. */
const KIT_FLAGS: FlagTable = {
  out: { kind: "path", value: "DIR", help: "where to write the kit (required)" },
  shared: {
    kind: "path",
    value: "DIR",
    defaultText: "$NST_SHARED or ../shared",
    help: "the shared data folder",
  },
  "xz-level": { kind: "int", min: 0, max: 9, default: 6, help: "xz compression level" },
  help: { kind: "boolean", help: "print this table" },
};

/**
 * The CLI: `--out DIR` (required), `--shared DIR` (default `$NST_SHARED` or
 * `../shared`), `--xz-level N` (0-9, default 6).
 *
 * @example
 * ```ts
 * import { gpuKitMain } from "./build.ts";
 * await gpuKitMain(["--out", "/tmp/kit"]);
 * ```
 */
export async function gpuKitMain(args: string[]): Promise<void> {
  const values = parseFlagTable(args, KIT_FLAGS) as {
    out?: string;
    shared?: string;
    "xz-level": number;
    help?: boolean;
  };
  if (values.help) {
    console.log(
      flagHelp("deno task gpu-kit --out DIR [options]", KIT_FLAGS) +
        "\n  writes a self-contained GPU kit (<= 60 MiB) into DIR; run it with bash DIR/run.sh [--quick] OUTDIR",
    );
    return;
  }
  if (!values.out) throw new UserError("--out DIR is required (where to write the kit)");
  const shared = values.shared ?? Deno.env.get("NST_SHARED") ?? join(REPO, "..", "shared");
  const removeHandlers = stopOnSignals((l) => console.error(l));
  let info: KitInfo;
  try {
    info = await buildKit({ out: values.out, shared, xzLevel: values["xz-level"] });
  } finally {
    removeHandlers();
  }
  const mib = (n: number) => `${(n / 2 ** 20).toFixed(1)} MiB`;
  console.log(
    `gpu-kit: ${info.out}: ${mib(info.bytes.total)} (deno.xz ${mib(info.bytes.deno_xz)}, ` +
      `app.tar.xz ${mib(info.bytes.app_tar_xz)}: node_modules ${mib(info.raw.node_modules)}, ` +
      `shared ${mib(info.raw.shared)}, project ${mib(info.raw.project)} before xz) in ${
        info.seconds.toFixed(1)
      } s; run: bash ${info.out}/run.sh [--quick] OUTDIR`,
  );
}

if (import.meta.main) await runMain(() => gpuKitMain(Deno.args));
