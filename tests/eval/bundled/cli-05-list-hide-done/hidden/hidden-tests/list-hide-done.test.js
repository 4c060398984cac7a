import test from "node:test";
import assert from "node:assert/strict";
import { run, tempFile } from "../test/helpers.js";

test("list shows open todos only; --all shows everything", async (t) => {
  const file = await tempFile(t);
  await run(["add", "a"], { file });
  await run(["add", "b"], { file });
  await run(["add", "c"], { file });
  await run(["done", "2"], { file });
  assert.equal((await run(["list"], { file })).stdout, "  1 [ ] a\n  3 [ ] c\n");
  assert.equal((await run(["list", "--all"], { file })).stdout, "  1 [ ] a\n  2 [x] b\n  3 [ ] c\n");
});

test("list says so when everything is done", async (t) => {
  const file = await tempFile(t);
  await run(["add", "a"], { file });
  await run(["add", "b"], { file });
  await run(["done", "1"], { file });
  await run(["done", "2"], { file });
  const result = await run(["list"], { file });
  assert.equal(result.code, 0);
  assert.equal(result.stdout, "Nothing left to do (2 done).\n");
});
