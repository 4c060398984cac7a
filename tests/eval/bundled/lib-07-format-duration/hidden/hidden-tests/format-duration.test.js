const test = require("node:test");
const assert = require("node:assert/strict");
const lib = require("../dist/index.js");

test("formatDuration is exported from the package root", () => {
  assert.equal(typeof lib.formatDuration, "function");
});

test("formatDuration writes d h m s, leaving out zero units", () => {
  assert.equal(lib.formatDuration(3_723_000), "1h 2m 3s");
  assert.equal(lib.formatDuration(90_061_000), "1d 1h 1m 1s");
  assert.equal(lib.formatDuration(60_000), "1m");
  assert.equal(lib.formatDuration(2 * 86_400_000 + 5_000), "2d 5s");
});

test("formatDuration rounds below a second down and writes 0s for nothing", () => {
  assert.equal(lib.formatDuration(1_500), "1s");
  assert.equal(lib.formatDuration(999), "0s");
  assert.equal(lib.formatDuration(0), "0s");
});

test("formatDuration rejects negative durations", () => {
  assert.throws(() => lib.formatDuration(-5), RangeError);
});
