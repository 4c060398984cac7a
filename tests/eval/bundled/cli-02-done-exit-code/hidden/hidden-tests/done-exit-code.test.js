import test from "node:test";
import assert from "node:assert/strict";
import { run, tempFile } from "../test/helpers.js";

test("done with an unknown id fails with exit code 1", async (t) => {
  const file = await tempFile(t);
  await run(["add", "x"], { file });
  const result = await run(["done", "42"], { file });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /no todo 42/);
});

test("done with a known id still succeeds", async (t) => {
  const file = await tempFile(t);
  await run(["add", "x"], { file });
  assert.equal((await run(["done", "1"], { file })).code, 0);
});
