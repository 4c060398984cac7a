import test from "node:test";
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import { createServer } from "../src/server.js";
import { run, tempFile } from "../test/helpers.js";

const march = (day) => new Date(`2026-03-${String(day).padStart(2, "0")}T10:00:00Z`);

test("add --due stores the date and list shows it", async (t) => {
  const file = await tempFile(t);
  assert.equal((await run(["add", "pay", "rent", "--due", "2026-03-05"], { file, now: march(1) })).code, 0);
  await run(["add", "no date"], { file, now: march(1) });
  const saved = JSON.parse(await readFile(file, "utf8"));
  assert.equal(saved[0].due, "2026-03-05");
  assert.equal("due" in saved[1], false);
  assert.equal((await run(["list"], { file, now: march(5) })).stdout, "  1 [ ] pay rent (due 2026-03-05)\n  2 [ ] no date\n");
});

test("overdue todos are marked and --overdue lists only them", async (t) => {
  const file = await tempFile(t);
  await run(["add", "a", "--due", "2026-03-02"], { file, now: march(1) });
  await run(["add", "b", "--due", "2026-03-20"], { file, now: march(1) });
  await run(["add", "c", "--due", "2026-03-03"], { file, now: march(1) });
  await run(["add", "d"], { file, now: march(1) });
  await run(["done", "3"], { file, now: march(1) });
  assert.equal(
    (await run(["list"], { file, now: march(10) })).stdout,
    "  1 [ ] a (overdue: 2026-03-02)\n  2 [ ] b (due 2026-03-20)\n  3 [x] c (due 2026-03-03)\n  4 [ ] d\n",
  );
  assert.equal((await run(["list", "--overdue"], { file, now: march(10) })).stdout, "  1 [ ] a (overdue: 2026-03-02)\n");
});

test("bad dates are an error", async (t) => {
  const file = await tempFile(t);
  for (const due of ["tomorrow", "2026-02-30", "2026-3-5"]) {
    const result = await run(["add", "x", "--due", due], { file });
    assert.equal(result.code, 1, due);
    assert.match(result.stderr, /YYYY-MM-DD/);
  }
});

test("the API takes a due date and rejects bad ones", async (t) => {
  const file = await tempFile(t);
  const server = createServer({ file, now: () => march(1) });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  const base = `http://127.0.0.1:${server.address().port}`;
  const post = (body) => fetch(`${base}/todos`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  const ok = await post({ text: "file taxes", due: "2026-04-30" });
  assert.equal(ok.status, 201);
  assert.equal((await ok.json()).due, "2026-04-30");
  const bad = await post({ text: "x", due: "soon" });
  assert.equal(bad.status, 400);
  assert.match((await bad.json()).error, /YYYY-MM-DD/);
});
