import assert from "node:assert/strict";
import {
  expectation,
  flagHelp,
  flagMarkdown,
  type FlagTable,
  parseFlagTable,
} from "../../src/util/flags.ts";
import { UserError } from "../../src/util/errors.ts";

const TABLE: FlagTable = {
  size: { kind: "int", min: 1, value: "N", help: "long side" },
  lr: { kind: "number", exclusiveMin: 0, default: 5, help: "rate" },
  beta: { kind: "number", min: 0, exclusiveMax: 1, default: 0.9, help: "beta" },
  backend: { kind: "enum", choices: ["wasm", "cpu"], noun: "backend", default: "wasm", help: "b" },
  layers: { kind: "list", help: "layers" },
  out: { kind: "path", help: "out" },
  help: { kind: "boolean", help: "print this table" },
};

Deno.test("parseFlagTable: typed values, defaults, bounds and enum errors", () => {
  const v = parseFlagTable(["--size", "64", "--layers", "a, b", "--out", "x.png"], TABLE);
  assert.deepEqual({ ...v }, {
    size: 64,
    lr: 5,
    beta: 0.9,
    backend: "wasm",
    layers: ["a", "b"],
    out: "x.png",
    help: undefined,
  });
  const err = (args: string[], msg: string) =>
    assert.throws(
      () => parseFlagTable(args, TABLE),
      (e: Error) => e instanceof UserError && e.message === msg,
    );
  err(["--size", "0"], "--size: expected a positive integer, got '0'");
  err(["--size", "0x20"], "--size: expected a positive integer, got '0x20'");
  err(["--lr=-1"], "--lr: expected a positive number, got '-1'");
  err(["--beta", "1"], "--beta: expected a number in [0, 1), got '1'");
  err(["--backend", "gpu"], "--backend: unknown backend 'gpu' (known: wasm, cpu)");
  err(["--layers", ","], "--layers: expected a comma-separated list, got ','");
  assert.throws(() => parseFlagTable(["--nope"], TABLE), /--nope.*\(see --help\)/);
});

Deno.test("expectation wording", () => {
  assert.equal(expectation({ kind: "int", min: 0, help: "" }), "an integer >= 0");
  assert.equal(expectation({ kind: "int", help: "" }), "an integer");
  assert.equal(expectation({ kind: "number", help: "" }), "a number");
  assert.equal(expectation({ kind: "int", min: 2, max: 9, help: "" }), "a number in [2, 9]");
});

Deno.test("help and Markdown come from the same rows", () => {
  const h = flagHelp("x [options]", TABLE);
  assert.match(h, /--backend wasm\|cpu\s+b \[default: wasm\]/);
  assert.match(h, /--size N\s+long side\n/);
  const md = flagMarkdown(TABLE).split("\n");
  assert.equal(md.length, 2 + 6); // header, rule, one row per flag but --help
  assert.equal(md[2], "| `--size N` |  | long side |");
  assert.equal(md[5], "| `--backend wasm\\|cpu` | wasm | b |");
});
