import test from "node:test";
import assert from "node:assert/strict";
import { createServer } from "../src/server.js";
import { tempFile } from "../test/helpers.js";

async function start(t) {
  const file = await tempFile(t);
  const server = createServer({ file });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  t.after(() => new Promise((resolve) => { server.closeAllConnections(); server.close(resolve); }));
  return `http://127.0.0.1:${server.address().port}`;
}

const post = (base, body) =>
  fetch(`${base}/todos`, { method: "POST", headers: { "content-type": "application/json" }, body });

test("bad bodies are a 400 with a JSON error and the server keeps going", async (t) => {
  const base = await start(t);
  for (const body of ["oops", "{}", '{"text": 5}', '{"text": "   "}', "null", JSON.stringify({ text: "x".repeat(501) })]) {
    const res = await post(base, body);
    assert.equal(res.status, 400, body.slice(0, 40));
    assert.equal(typeof (await res.json()).error, "string");
  }
  const ok = await post(base, JSON.stringify({ text: "x".repeat(500) }));
  assert.equal(ok.status, 201);
  const list = await (await fetch(`${base}/todos`)).json();
  assert.equal(list.length, 1);
});

test("bodies over 10 kB are a 413", async (t) => {
  const base = await start(t);
  const res = await post(base, JSON.stringify({ text: "a", pad: "x".repeat(11 * 1024) }));
  assert.equal(res.status, 413);
  assert.equal((await fetch(`${base}/todos`)).status, 200);
});
