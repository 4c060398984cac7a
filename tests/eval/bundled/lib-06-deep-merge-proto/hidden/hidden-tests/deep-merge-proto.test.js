const test = require("node:test");
const assert = require("node:assert/strict");
const { deepMerge } = require("../dist/index.js");

test("deepMerge ignores __proto__ from the source", () => {
  const merged = deepMerge({}, JSON.parse('{"__proto__": {"isAdmin": true}}'));
  assert.equal(merged.isAdmin, undefined);
  assert.equal(Object.getPrototypeOf(merged), Object.prototype);
  assert.equal({}.isAdmin, undefined);
});

test("deepMerge ignores unsafe keys in nested objects", () => {
  const merged = deepMerge(
    { settings: { theme: "dark" } },
    JSON.parse('{"settings": {"__proto__": {"isAdmin": true}, "constructor": {"prototype": {"x": 1}}, "lang": "en"}}'),
  );
  assert.equal(merged.settings.isAdmin, undefined);
  assert.deepEqual(Object.keys(merged.settings).sort(), ["lang", "theme"]);
  assert.equal(merged.settings.constructor, Object);
});

test("deepMerge still merges", () => {
  assert.deepEqual(deepMerge({ a: { x: 1 } }, { a: { y: 2 }, b: [1] }), { a: { x: 1, y: 2 }, b: [1] });
});
