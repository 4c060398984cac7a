import test from "node:test";
import assert from "node:assert/strict";
import { run, tempFile } from "../test/helpers.js";

test("list on an empty list says so", async (t) => {
  const file = await tempFile(t);
  const result = await run(["list"], { file });
  assert.equal(result.code, 0);
  assert.equal(result.stdout, "No todos.\n");
});

test("list after removing the last todo says so too", async (t) => {
  const file = await tempFile(t);
  await run(["add", "x"], { file });
  await run(["rm", "1"], { file });
  assert.equal((await run(["list"], { file })).stdout, "No todos.\n");
  await run(["add", "y"], { file });
  assert.equal((await run(["list"], { file })).stdout, "  1 [ ] y\n");
});
