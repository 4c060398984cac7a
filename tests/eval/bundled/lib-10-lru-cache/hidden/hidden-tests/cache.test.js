const test = require("node:test");
const assert = require("node:assert/strict");
const { LruCache, memoize } = require("../dist/index.js");

test("LruCache evicts the least recently used entry", () => {
  const cache = new LruCache(2);
  assert.equal(cache.set("a", 1), cache);
  cache.set("b", 2);
  assert.equal(cache.get("a"), 1);
  cache.set("c", 3);
  assert.equal(cache.has("b"), false);
  assert.equal(cache.has("a"), true);
  assert.equal(cache.size, 2);
  assert.deepEqual(cache.keys(), ["a", "c"]);
});

test("has does not count as a use; set of an existing key does", () => {
  const cache = new LruCache(2);
  cache.set("a", 1).set("b", 2);
  cache.has("a");
  cache.set("c", 3);
  assert.equal(cache.has("a"), false);
  cache.set("b", 20);
  cache.set("d", 4);
  assert.deepEqual(cache.keys(), ["b", "d"]);
  assert.equal(cache.get("b"), 20);
});

test("delete, clear and bad capacities", () => {
  const cache = new LruCache(3);
  cache.set(1, "x").set(2, "y");
  assert.equal(cache.delete(1), true);
  assert.equal(cache.delete(1), false);
  cache.clear();
  assert.equal(cache.size, 0);
  assert.equal(cache.get(2), undefined);
  assert.throws(() => new LruCache(0), RangeError);
  assert.throws(() => new LruCache(1.5), RangeError);
});

test("memoize caches results, bounded by max", () => {
  let calls = 0;
  const square = memoize((n) => {
    calls += 1;
    return n * n;
  }, { max: 2 });
  assert.equal(square(3), 9);
  assert.equal(square(3), 9);
  assert.equal(calls, 1);
  square(4);
  square(5);
  square(3);
  assert.equal(calls, 4);
});

test("memoize takes a key function and caches undefined results", () => {
  let calls = 0;
  const lookup = memoize((user) => {
    calls += 1;
    return undefined;
  }, { key: (user) => user.id });
  lookup({ id: "u1", name: "a" });
  lookup({ id: "u1", name: "b" });
  assert.equal(calls, 1);
});
