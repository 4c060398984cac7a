const test = require("node:test");
const assert = require("node:assert/strict");
const { formatMoney, allocate, splitEvenly } = require("../dist/index.js");

test("formatMoney formats cents as currency", () => {
  assert.equal(formatMoney(123456), "$1,234.56");
  assert.equal(formatMoney(0), "$0.00");
  assert.equal(formatMoney(-5, "EUR", "de-DE").replace(/\s/g, " "), "-0,05 €");
});

test("allocate loses no cent and gives leftovers to the first parts", () => {
  assert.deepEqual(allocate(100, [1, 1, 1]), [34, 33, 33]);
  assert.deepEqual(allocate(5, [3, 7]), [2, 3]);
  assert.deepEqual(allocate(1000, [1, 0, 1]), [500, 0, 500]);
  const parts = allocate(99_999, [2, 5, 3, 7]);
  assert.equal(parts.reduce((a, b) => a + b, 0), 99_999);
});

test("allocate rejects bad input", () => {
  assert.throws(() => allocate(10.5, [1]), RangeError);
  assert.throws(() => allocate(10, []), RangeError);
  assert.throws(() => allocate(10, [1, -1]), RangeError);
  assert.throws(() => allocate(10, [0, 0]), RangeError);
});

test("splitEvenly", () => {
  assert.deepEqual(splitEvenly(1000, 3), [334, 333, 333]);
  assert.deepEqual(splitEvenly(2, 4), [1, 1, 0, 0]);
  assert.throws(() => splitEvenly(10, 0), RangeError);
  assert.throws(() => splitEvenly(10, 1.5), RangeError);
});
