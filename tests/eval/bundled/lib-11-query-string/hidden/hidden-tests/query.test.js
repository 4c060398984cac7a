const test = require("node:test");
const assert = require("node:assert/strict");
const { parseQuery, stringifyQuery } = require("../dist/index.js");

const plain = (o) => JSON.parse(JSON.stringify(o));

test("parseQuery decodes, repeats keys into arrays and keeps bare keys", () => {
  assert.deepEqual(plain(parseQuery("?tag=a&tag=b&q=hello+world&flag")), {
    tag: ["a", "b"],
    q: "hello world",
    flag: "",
  });
  assert.deepEqual(plain(parseQuery("name=J%C3%BCrgen&x=1%262")), { name: "Jürgen", x: "1&2" });
  assert.deepEqual(plain(parseQuery("")), {});
  assert.deepEqual(plain(parseQuery("?")), {});
});

test("parseQuery results have no prototype", () => {
  const q = parseQuery("__proto__=x&constructor=y");
  assert.equal(Object.getPrototypeOf(q), null);
  assert.equal(q["__proto__"], "x");
  assert.equal(q.constructor, "y");
  assert.equal({}.x, undefined);
});

test("stringifyQuery writes repeated keys and leaves out empty values", () => {
  assert.equal(
    stringifyQuery({ q: "hello world", tag: ["a", "b"], page: 2, draft: undefined, empty: null }),
    "q=hello%20world&tag=a&tag=b&page=2",
  );
  assert.equal(stringifyQuery({ "a b": "c&d", ok: true }), "a%20b=c%26d&ok=true");
  assert.equal(stringifyQuery({}), "");
});

test("round trip", () => {
  const q = { q: "50% off", tag: ["x", "y"] };
  assert.deepEqual(plain(parseQuery(stringifyQuery(q))), q);
});
