const test = require("node:test");
const assert = require("node:assert/strict");
const { range } = require("../dist/index.js");

test("range counts down with a negative step", () => {
  assert.deepEqual(range(5, 0, -1), [5, 4, 3, 2, 1]);
  assert.deepEqual(range(10, 0, -4), [10, 6, 2]);
  assert.deepEqual(range(0, 5, -1), []);
});

test("range still counts up", () => {
  assert.deepEqual(range(0, 5), [0, 1, 2, 3, 4]);
  assert.deepEqual(range(5, 0), []);
  assert.throws(() => range(0, 5, 0), RangeError);
});
