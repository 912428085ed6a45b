import assert from "node:assert/strict";
import { parseFlags, strictNumber } from "../../src/util/cli.ts";
import { UserError } from "../../src/util/errors.ts";

Deno.test("strictNumber: decimal integers and numbers only", () => {
  const pos = (n: number) => n > 0;
  assert.equal(strictNumber("size", "64", true, pos, "a positive integer"), 64);
  assert.equal(strictNumber("size", "+7", true, pos, "a positive integer"), 7);
  for (const bad of ["0x20", "1e1", "10.0", " 10", "10 ", "", "Infinity", "0b11", "1_000", "abc"]) {
    assert.throws(
      () => strictNumber("size", bad, true, pos, "a positive integer"),
      (e: Error) =>
        e instanceof UserError && e.message === `--size: expected a positive integer, got '${bad}'`,
      bad,
    );
  }
  assert.throws(() => strictNumber("size", "0", true, pos, "a positive integer"), UserError);
  assert.throws(() => strictNumber("n", "9007199254740993", true, pos, "an integer"), UserError);
  for (
    const [raw, n] of [["5", 5], ["0.5", 0.5], [".5", 0.5], ["1e-3", 1e-3], ["2.", 2]] as const
  ) {
    assert.equal(strictNumber("lr", raw, false, pos, "a positive number"), n);
  }
  for (const bad of ["0x1", "Infinity", "NaN", "", "1e", "e3", "--1"]) {
    assert.throws(() => strictNumber("lr", bad, false, pos, "a positive number"), UserError, bad);
  }
});

Deno.test("parseFlags: unknown flags and positionals are one-line UserErrors", () => {
  assert.throws(() => parseFlags(["--bogus"], {}), /Unknown option '--bogus' \(see --help\)/);
  assert.throws(() => parseFlags(["x"], {}), UserError);
  assert.equal(parseFlags(["-h"], { help: { type: "boolean", short: "h" } }).help, true);
});
