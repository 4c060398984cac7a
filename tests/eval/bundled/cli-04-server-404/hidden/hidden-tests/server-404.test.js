import test from "node:test";
import assert from "node:assert/strict";
import { createServer } from "../src/server.js";
import { tempFile } from "../test/helpers.js";

async function start(t) {
  const file = await tempFile(t);
  const server = createServer({ file });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise((resolve) => server.close(resolve)));
  return `http://127.0.0.1:${server.address().port}`;
}

test("unknown paths and methods are a JSON 404", async (t) => {
  const base = await start(t);
  for (const [method, path] of [["GET", "/nope"], ["DELETE", "/todos"], ["GET", "/todos/1/done"]]) {
    const res = await fetch(base + path, { method });
    assert.equal(res.status, 404, `${method} ${path}`);
    assert.match(res.headers.get("content-type"), /application\/json/);
    assert.equal(typeof (await res.json()).error, "string");
  }
});

test("known routes still answer", async (t) => {
  const base = await start(t);
  assert.equal((await fetch(`${base}/todos`)).status, 200);
});
