/**
 * `deno task check`'s module-graph step: the folders of `src/` must form a
 * DAG, and `src/` must never import from `bench/`, `tests/` or `deploy/`.
 *
 * Every `.ts` under `src/` is scanned for its import specifiers (static
 * `import`/`export ... from`, side-effect imports, dynamic and type-position
 * `import("...")`); specifiers inside comments (JSDoc `@example` blocks
 * included) and string contents are not imports. Relative specifiers are
 * resolved; bare ones (npm packages) are outside the graph. A node is a folder
 * directly under `src/` (`study`, `gpu`, ...) or a file directly in `src/`
 * (`tf.ts`). Each problem is one line: a cycle names the folders and, per
 * edge, the first file that makes it; an outward import names both files.
 *
 * @example
 * ```ts
 * import { checkGraph } from "./_graph.ts";
 * const problems = await checkGraph(".");
 * console.log(problems.length === 0 ? "module graph: ok" : problems.join("\n"));
 * ```
 * @module
 */
import { join, relative, resolve, sep } from "node:path";
import { fileURLToPath } from "node:url";

/** Top-level folders that `src/` may not import from. */
export const FORBIDDEN_FROM_SRC: readonly string[] = ["bench", "tests", "deploy"];

/** One resolved relative import: both paths relative to the root, `/`-separated. */
export interface ImportEdge {
  from: string;
  to: string;
}

/**
 * Replace comments with spaces and every string or template literal with
 * `"#N"` (N indexes the returned `strings`), so that a regex over `code`
 * sees only real syntax. Regex literals are recognised by the token before the
 * `/`, which is enough for this project's code (deno fmt output).
 *
 * @example
 * ```ts
 * import { maskSource } from "./_graph.ts";
 * const { code, strings } = maskSource(`// import "./a.ts"\nimport "./b.ts";`);
 * console.log(code.trim(), strings); // import "#0"; [ "./b.ts" ]
 * ```
 */
export function maskSource(text: string): { code: string; strings: string[] } {
  const strings: string[] = [];
  let out = "";
  let i = 0;
  // Brace depth of each open `${` (its template resumes when its depth closes).
  const templates: number[] = [];
  let depth = 0;
  let lastSignificant = "";
  // After these a `/` starts a regex literal; after a name, `)` or `]` it divides.
  const regexAfterWord = /^(?:return|typeof|case|do|else|in|of|void|yield|await|delete|throw|new)$/;
  const regexBefore = (last: string) =>
    last === "" || /^[(,=:[!&|?{};+\-*%<>~^]$/.test(last) || regexAfterWord.test(last);
  const readTemplate = () => {
    // i is just past the opening backtick or the `}` that closes a `${`.
    let body = "";
    while (i < text.length) {
      const c = text[i];
      if (c === "\\") {
        body += text.slice(i, i + 2);
        i += 2;
      } else if (c === "`") {
        i++;
        strings.push(body);
        out += `"#${strings.length - 1}"`;
        lastSignificant = '"';
        return;
      } else if (c === "$" && text[i + 1] === "{") {
        i += 2;
        strings.push(body);
        out += `"#${strings.length - 1}" + (`;
        templates.push(depth);
        depth++;
        lastSignificant = "(";
        return;
      } else {
        body += c;
        i++;
      }
    }
  };
  while (i < text.length) {
    const c = text[i];
    const next = text[i + 1];
    if (c === "/" && next === "/") {
      const end = text.indexOf("\n", i);
      const stop = end < 0 ? text.length : end;
      out += " ".repeat(stop - i);
      i = stop;
    } else if (c === "/" && next === "*") {
      const end = text.indexOf("*/", i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, " ");
      i = stop;
    } else if (c === '"' || c === "'") {
      let j = i + 1;
      let body = "";
      while (j < text.length && text[j] !== c && text[j] !== "\n") {
        if (text[j] === "\\") {
          body += text.slice(j, j + 2);
          j += 2;
        } else body += text[j++];
      }
      strings.push(body);
      out += `"#${strings.length - 1}"`;
      i = j + 1;
      lastSignificant = '"';
    } else if (c === "`") {
      i++;
      readTemplate();
    } else if (c === "/" && regexBefore(lastSignificant)) {
      // A regex literal: skip to its closing slash (outside a character class).
      let j = i + 1;
      let inClass = false;
      while (j < text.length && text[j] !== "\n") {
        if (text[j] === "\\") j++;
        else if (text[j] === "[") inClass = true;
        else if (text[j] === "]") inClass = false;
        else if (text[j] === "/" && !inClass) break;
        j++;
      }
      out += " ".repeat(j + 1 - i);
      i = j + 1;
      lastSignificant = ")";
    } else if (c === "{") {
      depth++;
      out += c;
      i++;
      lastSignificant = c;
    } else if (c === "}") {
      depth--;
      i++;
      if (templates.length > 0 && templates[templates.length - 1] === depth) {
        templates.pop();
        out += ") + ";
        readTemplate();
      } else {
        out += c;
        lastSignificant = c;
      }
    } else {
      out += c;
      i++;
      if (!/\s/.test(c)) {
        // Words are kept whole (for `return /re/`), other characters alone.
        const word = /[\w$]/.test(c);
        lastSignificant = word && /[\w$]$/.test(text[i - 2] ?? "") ? lastSignificant + c : c;
      }
    }
  }
  return { code: out, strings };
}

/**
 * The import specifiers of one TypeScript source, in order, comments and
 * string contents excluded.
 *
 * @example
 * ```ts
 * import { importSpecifiers } from "./_graph.ts";
 * const src = `import { a } from "./a.ts";\nexport * from "./b.ts";\nawait import("./c.ts");`;
 * console.log(importSpecifiers(src)); // [ "./a.ts", "./b.ts", "./c.ts" ]
 * ```
 */
export function importSpecifiers(text: string): string[] {
  const { code, strings } = maskSource(text);
  const found: { at: number; spec: string }[] = [];
  const patterns = [
    // import x from "s"; import { a, b } from "s"; export { a } from "s"; export * from "s"
    /\b(?:import|export)\b[^;"]*?\bfrom\s*"#(\d+)"/g,
    // import "s" (side effect)
    /\bimport\s*"#(\d+)"/g,
    // import("s") (dynamic, or a type position)
    /\bimport\s*\(\s*"#(\d+)"/g,
  ];
  for (const re of patterns) {
    for (const m of code.matchAll(re)) {
      found.push({ at: m.index! + m[0].length, spec: strings[Number(m[1])] });
    }
  }
  return found.sort((a, b) => a.at - b.at).map((f) => f.spec);
}

async function* tsFiles(dir: string): AsyncGenerator<string> {
  const entries = [];
  for await (const e of Deno.readDir(dir)) entries.push(e);
  entries.sort((a, b) => a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory) yield* tsFiles(path);
    else if (e.isFile && e.name.endsWith(".ts")) yield path;
  }
}

const toPosix = (p: string) => p.split(sep).join("/");

/**
 * Every relative import of every `.ts` under `<root>/src`, resolved against
 * its file; paths relative to `root`.
 *
 * @example
 * ```ts
 * import { srcImports } from "./_graph.ts";
 * const edges = await srcImports(".");
 * console.log(edges.filter((e) => e.to === "src/tf.ts").length > 0); // true
 * ```
 */
export async function srcImports(root: string): Promise<ImportEdge[]> {
  const edges: ImportEdge[] = [];
  const base = resolve(root);
  for await (const file of tsFiles(join(base, "src"))) {
    const from = toPosix(relative(base, file));
    for (const spec of importSpecifiers(await Deno.readTextFile(file))) {
      if (!spec.startsWith("./") && !spec.startsWith("../")) continue;
      const to = toPosix(relative(base, resolve(file, "..", spec)));
      edges.push({ from, to });
    }
  }
  return edges;
}

/** The graph node of a path under `src/`: its top folder, or the file itself. */
function nodeOf(path: string): string {
  return path.split("/")[1];
}

/**
 * The module-graph problems of the project at `root`, one line each, empty
 * when there are none: every cycle between `src/` nodes (shortest cycle
 * through each node of each strongly connected set, named from its
 * alphabetically first node) and every import from `src/` into `bench/`,
 * `tests/` or `deploy/`.
 *
 * @example
 * ```ts
 * import { checkGraph } from "./_graph.ts";
 * for (const line of await checkGraph(".")) console.error(line);
 * ```
 */
export async function checkGraph(root: string): Promise<string[]> {
  const problems: string[] = [];
  // node -> node -> the first file pair (in sorted file order) that makes the edge.
  const witness = new Map<string, Map<string, ImportEdge>>();
  for (const edge of await srcImports(root)) {
    const top = edge.to.split("/")[0];
    if (top !== "src") {
      if (FORBIDDEN_FROM_SRC.includes(top)) {
        problems.push(
          `outward import: ${edge.from} imports ${edge.to} (src/ never imports ${top}/)`,
        );
      }
      continue;
    }
    const a = nodeOf(edge.from);
    const b = nodeOf(edge.to);
    if (a === b) continue;
    if (!witness.has(a)) witness.set(a, new Map());
    if (!witness.get(a)!.has(b)) witness.get(a)!.set(b, edge);
  }
  const nodes = [
    ...new Set([...witness.keys(), ...[...witness.values()].flatMap((m) => [...m.keys()])]),
  ]
    .sort();
  const next = (n: string) => [...(witness.get(n)?.keys() ?? [])].sort();
  const seen = new Set<string>();
  for (const start of nodes) {
    // Shortest path from a successor of `start` back to `start` (breadth first).
    const prev = new Map<string, string>([[start, ""]]);
    let queue = [start];
    let closed = false;
    while (queue.length > 0 && !closed) {
      const level: string[] = [];
      for (const n of queue) {
        for (const m of next(n)) {
          if (m === start) {
            const path = [n];
            while (prev.get(path[0])) path.unshift(prev.get(path[0])!);
            // Rotate to the alphabetically first node so each cycle is named once.
            const first = path.indexOf([...path].sort()[0]);
            const cycle = [...path.slice(first), ...path.slice(0, first)];
            const key = cycle.join(" ");
            if (!seen.has(key)) {
              seen.add(key);
              const hops = cycle.map((x, k) => witness.get(x)!.get(cycle[(k + 1) % cycle.length])!);
              problems.push(
                `cycle: ${[...cycle, cycle[0]].join(" -> ")} (` +
                  hops.map((h) => `${h.from} imports ${h.to}`).join("; ") + ")",
              );
            }
            closed = true;
            break;
          }
          if (!prev.has(m)) {
            prev.set(m, n);
            level.push(m);
          }
        }
        if (closed) break;
      }
      queue = level;
    }
  }
  return problems;
}

if (import.meta.main) {
  const problems = await checkGraph(fileURLToPath(new URL("..", import.meta.url)));
  for (const line of problems) console.error(`module graph: ${line}`);
  Deno.exit(problems.length === 0 ? 0 : 1);
}
