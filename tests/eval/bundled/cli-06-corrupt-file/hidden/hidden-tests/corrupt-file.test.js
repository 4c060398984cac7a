import test from "node:test";
import assert from "node:assert/strict";
import { writeFile, readFile } from "node:fs/promises";
import { run, tempFile } from "../test/helpers.js";

test("a file that is not JSON is reported, with its name, exit 1", async (t) => {
  const file = await tempFile(t);
  const broken = '[{"id": 1, "text": "a", "done": false},]';
  await writeFile(file, broken);
  for (const args of [["list"], ["add", "b"], ["done", "1"]]) {
    const result = await run(args, { file });
    assert.equal(result.code, 1, args.join(" "));
    assert.match(result.stderr, /^error: .*todos\.json is not valid JSON/);
    assert.doesNotMatch(result.stderr, /at JSON\.parse/);
  }
  assert.equal(await readFile(file, "utf8"), broken, "the broken file is left alone");
});

test("JSON that is not a list is reported too", async (t) => {
  const file = await tempFile(t);
  await writeFile(file, '{"todos": []}');
  const result = await run(["list"], { file });
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^error: .*todos\.json/);
});

test("a missing file is still an empty list", async (t) => {
  const file = await tempFile(t);
  assert.equal((await run(["add", "x"], { file })).code, 0);
});
