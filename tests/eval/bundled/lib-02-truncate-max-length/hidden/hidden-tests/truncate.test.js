const test = require("node:test");
const assert = require("node:assert/strict");
const { truncate } = require("../dist/index.js");

test("truncate counts the suffix in max", () => {
  assert.equal(truncate("hello world", 8), "hello w…");
  assert.equal(truncate("hello world", 8).length, 8);
  assert.equal(truncate("hello world", 8, "..."), "hello...");
});

test("truncate leaves strings that fit alone", () => {
  assert.equal(truncate("hello", 5), "hello");
  assert.equal(truncate("", 3), "");
});
