/**
 * The report as a list of blocks, and its Markdown and HTML renderings.
 * Both documents are made from one block list so that they cannot disagree.
 * The HTML inlines the SVG charts (it reads with no network and as a single
 * file) and references images by relative path; the Markdown references both.
 *
 * @example
 * ```ts
 * import { toMarkdown } from "./document.ts";
 * console.log(toMarkdown([{ kind: "h", level: 1, text: "Results" }])); // "# Results\n"
 * ```
 * @module
 */

/** A table cell: text, an image (path relative to the report), or a missing file. */
export type Cell = string | { img: string; alt: string } | { missing: string };

/** One element of the report. */
export type Block =
  | { kind: "h"; level: 1 | 2 | 3; text: string }
  | { kind: "p"; text: string }
  | { kind: "ul"; items: string[] }
  | { kind: "table"; head: string[]; rows: Cell[][] }
  | { kind: "chart"; file: string; title: string; svg: string }
  | { kind: "code"; text: string };

function mdEscape(s: string): string {
  return s.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function mdUrl(path: string): string {
  return path.split("/").map(encodeURIComponent).join("/");
}

function mdCell(c: Cell): string {
  if (typeof c === "string") return mdEscape(c);
  if ("img" in c) return `![${mdEscape(c.alt)}](${mdUrl(c.img)})`;
  return `(missing: ${mdEscape(c.missing)})`;
}

function mdBlock(b: Block): string {
  switch (b.kind) {
    case "h":
      return `${"#".repeat(b.level)} ${b.text}`;
    case "p":
      return b.text;
    case "ul":
      return b.items.map((i) => `- ${i}`).join("\n");
    case "table":
      return [
        `| ${b.head.map(mdEscape).join(" | ")} |`,
        `| ${b.head.map(() => "---").join(" | ")} |`,
        ...b.rows.map((r) => `| ${r.map(mdCell).join(" | ")} |`),
      ].join("\n");
    case "chart":
      return `![${mdEscape(b.title)}](${mdUrl(b.file)})`;
    case "code":
      return "```json\n" + b.text + "\n```";
  }
}

/**
 * Markdown of a block list (blocks separated by a blank line).
 *
 * @example
 * ```ts
 * import { toMarkdown } from "./document.ts";
 * console.log(toMarkdown([{ kind: "p", text: "hi" }])); // "hi\n"
 * ```
 */
export function toMarkdown(blocks: readonly Block[]): string {
  return blocks.map(mdBlock).join("\n\n") + "\n";
}

function esc(s: string): string {
  return s.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll(
    '"',
    "&quot;",
  );
}

function htmlCell(c: Cell): string {
  if (typeof c === "string") return esc(c);
  if ("img" in c) return `<img src="${esc(encodeURI(c.img))}" alt="${esc(c.alt)}" loading="lazy">`;
  return `<span class="missing">missing: ${esc(c.missing)}</span>`;
}

/** A table cell; short text stays on one line (intervals must not break), prose wraps. */
function htmlTd(c: Cell): string {
  return typeof c === "string" && c.length > 40
    ? `<td class="prose">${htmlCell(c)}</td>`
    : `<td>${htmlCell(c)}</td>`;
}

function htmlBlock(b: Block): string {
  switch (b.kind) {
    case "h":
      return `<h${b.level}>${esc(b.text)}</h${b.level}>`;
    case "p":
      return `<p>${esc(b.text)}</p>`;
    case "ul":
      return `<ul>\n${b.items.map((i) => `<li>${esc(i)}</li>`).join("\n")}\n</ul>`;
    case "table":
      return `<div class="scroll"><table>\n<thead><tr>${
        b.head.map((h) => `<th>${esc(h)}</th>`).join("")
      }</tr></thead>\n<tbody>\n` +
        b.rows.map((r) => `<tr>${r.map(htmlTd).join("")}</tr>`)
          .join("\n") +
        "\n</tbody>\n</table></div>";
    case "chart":
      return `<figure>\n${b.svg}\n<figcaption>${esc(b.title)} (<a href="${
        esc(b.file)
      }">SVG</a>)</figcaption>\n</figure>`;
    case "code":
      return `<pre><code>${esc(b.text)}</code></pre>`;
  }
}

const CSS =
  `body { font-family: Helvetica, Arial, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; line-height: 1.4; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.85em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.5em; text-align: left; vertical-align: top; }
td { white-space: nowrap; }
td.prose { white-space: normal; min-width: 18em; }
th { background: #f3f3f3; }
td img { max-width: 160px; max-height: 160px; }
figure { margin: 1.5em 0; overflow-x: auto; }
figure svg { max-width: 100%; height: auto; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; }
.missing { color: #a00; }`;

/**
 * A standalone HTML page of a block list.
 *
 * @example
 * ```ts
 * import { toHtml } from "./document.ts";
 * console.log(toHtml([{ kind: "p", text: "a < b" }], "t").includes("<p>a &lt; b</p>")); // true
 * ```
 */
export function toHtml(blocks: readonly Block[], title: string): string {
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>${esc(title)}</title>
<style>
${CSS}
</style>
</head>
<body>
${blocks.map(htmlBlock).join("\n")}
</body>
</html>
`;
}
