import test from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { run, tempFile } from "./helpers.js";

test("add, list, done and rm", async (t) => {
  const file = await tempFile(t);
  assert.equal((await run(["add", "buy", "milk"], { file })).code, 0);
  await run(["add", "call mum"], { file });
  assert.equal((await run(["done", "1"], { file })).code, 0);
  const listed = await run(["list", "--all"], { file });
  assert.equal(listed.stdout, "  1 [x] buy milk\n  2 [ ] call mum\n");
  assert.equal((await run(["rm", "2"], { file })).code, 0);
  const saved = JSON.parse(await readFile(file, "utf8"));
  assert.deepEqual(saved, [
    { id: 1, text: "buy milk", done: true, createdAt: "2026-03-01T10:00:00.000Z" },
  ]);
});

test("add without text is an error", async (t) => {
  const file = await tempFile(t);
  const result = await run(["add"], { file });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /needs some text/);
});

test("unknown commands print the usage", async () => {
  const result = await run(["frobnicate"]);
  assert.equal(result.code, 2);
  assert.match(result.stderr, /usage: todo/);
});
