/**
 * Reading the kernels' WGSL: the one include mechanism (a line
 * `// #include other.wgsl` is replaced by that file of `kernels/`, once per
 * module, with a line map so compiler errors name the file and line that hold
 * the code; a missing file is an error naming the line that includes it), and
 * the small parsers the kernel descriptors are checked with: the
 * `struct Params` fields, the `override` and literal `const` declarations and
 * the `@workgroup_size` attribute.
 *
 * The directive is a WGSL comment, so a kernel file stays valid WGSL text for
 * editors and formatters; only the pipeline builder expands it.
 *
 * @example
 * ```ts
 * import { loadWgsl, parseParams } from "./wgsl.ts";
 * const src = await loadWgsl("conv3x3_relu.wgsl");
 * console.log(parseParams(src.code).map((f) => f.name)); // ["batch", "height", ...]
 * console.log(src.where(1)); // "conv3x3_relu.wgsl:1"
 * ```
 * @module
 */

/** A kernel's WGSL with its includes expanded. */
export interface WgslSource {
  /** The file under `kernels/`. */
  file: string;
  /** The expanded module text. */
  code: string;
  /** Every file that went into `code` (the kernel first). */
  files: string[];
  /** `file:line` of line `line` (1-based) of `code`, in the file that holds it. */
  where(line: number): string;
}

const INCLUDE = /^\s*\/\/\s*#include\s+([A-Za-z0-9_.-]+\.wgsl)\s*$/;

/** The root of the WGSL files. */
const KERNEL_DIR = new URL("../../kernels/", import.meta.url);

const cache = new Map<string, Promise<WgslSource>>();

/**
 * Expand `text` (the contents of `file`) with `read` supplying included files: pure, so tests
 * can check the line map without the file system.
 *
 * @example
 * ```ts
 * import { expandIncludes } from "./wgsl.ts";
 * const src = await expandIncludes("a.wgsl", "x\n// #include b.wgsl\ny", async () => "b1\nb2");
 * console.log(src.code, src.where(3), src.where(4)); // "x\nb1\nb2\ny" "b.wgsl:2" "a.wgsl:3"
 * ```
 */
export async function expandIncludes(
  file: string,
  text: string,
  read: (file: string) => Promise<string>,
): Promise<WgslSource> {
  const lines: string[] = [];
  const origin: Array<[string, number]> = [];
  const files: string[] = [];
  const expand = async (name: string, body: string, stack: string[]): Promise<void> => {
    files.push(name);
    const own = body.split("\n");
    for (let i = 0; i < own.length; i++) {
      const m = INCLUDE.exec(own[i]);
      if (!m) {
        lines.push(own[i]);
        origin.push([name, i + 1]);
        continue;
      }
      const inc = m[1];
      if (stack.includes(inc)) {
        throw new Error(`kernels/${name}:${i + 1}: #include ${inc} is circular`);
      }
      if (files.includes(inc)) {
        throw new Error(`kernels/${name}:${i + 1}: ${inc} is already included`);
      }
      let included: string;
      try {
        included = await read(inc);
      } catch (e) {
        const why = e instanceof Deno.errors.NotFound
          ? "no such file"
          : e instanceof Error
          ? e.message
          : String(e);
        throw new Error(`kernels/${name}:${i + 1}: #include ${inc}: ${why} (kernels/${inc})`);
      }
      await expand(inc, included, [...stack, inc]);
    }
  };
  await expand(file, text, [file]);
  return {
    file,
    code: lines.join("\n"),
    files,
    where(line: number): string {
      const o = origin[line - 1];
      return o ? `${o[0]}:${o[1]}` : `${file}:${line}`;
    },
  };
}

/** `kernels/<file>` with its includes expanded (read once per process). */
export function loadWgsl(file: string): Promise<WgslSource> {
  let p = cache.get(file);
  if (!p) {
    const read = (f: string) => Deno.readTextFile(new URL(f, KERNEL_DIR));
    p = read(file).then((text) => expandIncludes(file, text, read));
    cache.set(file, p);
    p.catch(() => cache.delete(file));
  }
  return p;
}

/** WGSL text without `//` and `/* *\/` comments (line breaks kept). */
export function stripComments(code: string): string {
  return code.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, " ")).replace(
    /\/\/[^\n]*/g,
    "",
  );
}

/** One field of a kernel's `struct Params`. */
export interface ParamField {
  name: string;
  type: string;
}

/**
 * The fields of `struct Params` in declaration order (empty when the module has none).
 *
 * @example
 * ```ts
 * import { parseParams } from "./wgsl.ts";
 * console.log(parseParams("struct Params {\n  n: u32, // count\n  s: f32,\n}"));
 * // [{ name: "n", type: "u32" }, { name: "s", type: "f32" }]
 * ```
 */
export function parseParams(code: string): ParamField[] {
  const m = /\bstruct\s+Params\s*\{([^}]*)\}/.exec(stripComments(code));
  if (!m) return [];
  return m[1].split(",").map((f) => f.trim()).filter((f) => f.length > 0).map((f) => {
    const fm = /^(?:@\w+(?:\([^)]*\))?\s+)*([A-Za-z_]\w*)\s*:\s*(.+)$/.exec(f);
    if (!fm) throw new Error(`struct Params: cannot read field '${f}'`);
    return { name: fm[1], type: fm[2].trim() };
  });
}

/**
 * The module's `override` declarations: name to whether it has a default.
 *
 * @example
 * ```ts
 * import { parseOverrides } from "./wgsl.ts";
 * console.log(parseOverrides("override WG: u32;\noverride T: u32 = WG * 2u;"));
 * // Map { "WG" => false, "T" => true }
 * ```
 */
export function parseOverrides(code: string): Map<string, boolean> {
  const out = new Map<string, boolean>();
  const re = /(?:@id\([^)]*\)\s*)?\boverride\s+([A-Za-z_]\w*)\s*(?::\s*[\w<>]+)?\s*(=)?/g;
  for (const m of stripComments(code).matchAll(re)) out.set(m[1], m[2] === "=");
  return out;
}

/**
 * The module's `const` declarations whose value is a plain integer literal (`const R: u32 = 16u;`).
 *
 * @example
 * ```ts
 * import { parseLiteralConsts } from "./wgsl.ts";
 * console.log(parseLiteralConsts("const R: u32 = 16u;\nconst S = R * 2u;")); // Map { "R" => 16 }
 * ```
 */
export function parseLiteralConsts(code: string): Map<string, number> {
  const out = new Map<string, number>();
  const re = /\bconst\s+([A-Za-z_]\w*)\s*(?::\s*\w+)?\s*=\s*(\d+)[ui]?\s*;/g;
  for (const m of stripComments(code).matchAll(re)) out.set(m[1], Number(m[2]));
  return out;
}

/**
 * The arguments of the `@workgroup_size` attribute of entry point `entry` (as written).
 *
 * @example
 * ```ts
 * import { parseWorkgroupSize } from "./wgsl.ts";
 * console.log(parseWorkgroupSize("@compute @workgroup_size(WG, 1, 1)\nfn main() {}", "main"));
 * // ["WG", "1", "1"]
 * ```
 */
export function parseWorkgroupSize(code: string, entry: string): string[] {
  const re = new RegExp(
    String.raw`@workgroup_size\s*\(([^)]*)\)[^{]*?\bfn\s+${entry}\s*\(`,
  );
  const m = re.exec(stripComments(code));
  if (!m) throw new Error(`no @workgroup_size on entry point '${entry}'`);
  return m[1].split(",").map((a) => a.trim()).filter((a) => a.length > 0);
}
