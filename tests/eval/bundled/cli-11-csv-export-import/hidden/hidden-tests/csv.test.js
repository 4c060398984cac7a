import test from "node:test";
import assert from "node:assert/strict";
import { readFile, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { run, tempFile } from "../test/helpers.js";

test("export writes RFC 4180 CSV with a header", async (t) => {
  const file = await tempFile(t);
  await run(["add", "buy milk, eggs"], { file });
  await run(["add", 'say "hi"'], { file });
  await run(["done", "2"], { file });
  const result = await run(["export"], { file });
  assert.equal(result.code, 0);
  const lines = result.stdout.trim().split(/\r?\n/);
  assert.deepEqual(lines, [
    "id,text,done,createdAt",
    '1,"buy milk, eggs",false,2026-03-01T10:00:00.000Z',
    '2,"say ""hi""",true,2026-03-01T10:00:00.000Z',
  ]);
});

test("import adds rows with new ids, columns in any order", async (t) => {
  const file = await tempFile(t);
  await run(["add", "existing"], { file });
  const csv = join(dirname(file), "in.csv");
  await writeFile(csv, 'done,text,extra\ntrue,"multi\nline",x\nfalse,plain,y\n');
  const result = await run(["import", csv], { file });
  assert.equal(result.code, 0, result.stderr);
  assert.equal(result.stdout, "imported 2 todos\n");
  const saved = JSON.parse(await readFile(file, "utf8"));
  assert.deepEqual(saved.map((x) => [x.id, x.text, x.done]), [[1, "existing", false], [2, "multi\nline", true], [3, "plain", false]]);
  assert.equal(saved[2].createdAt, "2026-03-01T10:00:00.000Z");
});

test("export then import round-trips", async (t) => {
  const file = await tempFile(t);
  await run(["add", 'tricky, "quoted" text'], { file, now: new Date("2026-01-02T03:04:05Z") });
  const csv = join(dirname(file), "out.csv");
  await writeFile(csv, (await run(["export"], { file })).stdout);
  const other = join(dirname(file), "other.json");
  assert.equal((await run(["import", csv], { file: other })).code, 0);
  assert.deepEqual(JSON.parse(await readFile(other, "utf8")), JSON.parse(await readFile(file, "utf8")));
});

test("bad CSV is an error and imports nothing", async (t) => {
  const file = await tempFile(t);
  await run(["add", "keep"], { file });
  const dir = dirname(file);
  await writeFile(join(dir, "notext.csv"), "title,done\na,false\n");
  await writeFile(join(dir, "open.csv"), 'text\n"never closed\n');
  for (const name of ["notext.csv", "open.csv"]) {
    const result = await run(["import", join(dir, name)], { file });
    assert.equal(result.code, 1, name);
    assert.match(result.stderr, /^error: /);
  }
  assert.equal(JSON.parse(await readFile(file, "utf8")).length, 1);
});
