import test from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer } from "../src/server.js";
import { run, tempFile } from "../test/helpers.js";

test("+words are stored as tags; todos without them are stored as before", async (t) => {
  const file = await tempFile(t);
  await run(["add", "call", "bob", "+work", "+Phone", "+work"], { file });
  await run(["add", "plain"], { file });
  const saved = JSON.parse(await readFile(file, "utf8"));
  assert.deepEqual(saved[0].tags, ["work", "phone"]);
  assert.equal(saved[0].text, "call bob +work +Phone +work");
  assert.deepEqual(Object.keys(saved[1]).sort(), ["createdAt", "done", "id", "text"]);
});

test("list --tag filters, case-insensitively", async (t) => {
  const file = await tempFile(t);
  await run(["add", "a", "+work"], { file });
  await run(["add", "b", "+home"], { file });
  await run(["add", "c", "+WORK", "+phone"], { file });
  assert.equal((await run(["list", "--tag", "Work"], { file })).stdout, "  1 [ ] a +work\n  3 [ ] c +WORK +phone\n");
  assert.equal((await run(["list", "--tag", "none"], { file })).stdout, "");
});

test("tags counts open todos per tag, by name", async (t) => {
  const file = await tempFile(t);
  await run(["add", "a", "+work"], { file });
  await run(["add", "b", "+work", "+phone"], { file });
  await run(["add", "c", "+home"], { file });
  await run(["done", "3"], { file });
  const result = await run(["tags"], { file });
  assert.equal(result.code, 0);
  assert.equal(result.stdout, "phone 1\nwork 2\n");
});

test("GET /todos?tag= filters", async (t) => {
  const file = await tempFile(t);
  await run(["add", "a", "+work"], { file });
  await run(["add", "b"], { file });
  const server = createServer({ file });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const base = `http://127.0.0.1:${server.address().port}`;
  const tagged = await (await fetch(`${base}/todos?tag=work`)).json();
  assert.deepEqual(tagged.map((x) => x.id), [1]);
  const all = await (await fetch(`${base}/todos`)).json();
  assert.equal(all.length, 2);
});
