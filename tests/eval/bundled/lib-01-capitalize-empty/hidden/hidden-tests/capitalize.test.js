const test = require("node:test");
const assert = require("node:assert/strict");
const { capitalize } = require("../dist/index.js");

test("capitalize returns the empty string unchanged", () => {
  assert.equal(capitalize(""), "");
});

test("capitalize still upper-cases the first letter", () => {
  assert.equal(capitalize("hello world"), "Hello world");
  assert.equal(capitalize("a"), "A");
});
