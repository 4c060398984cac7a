const test = require("node:test");
const assert = require("node:assert/strict");
const { camelCase, kebabCase, snakeCase } = require("../dist/index.js");

test("camelCase", () => {
  assert.equal(camelCase("foo bar-baz"), "fooBarBaz");
  assert.equal(camelCase("Foo_Bar"), "fooBar");
  assert.equal(camelCase("XMLHttpRequest"), "xmlHttpRequest");
  assert.equal(camelCase(""), "");
});

test("kebabCase", () => {
  assert.equal(kebabCase("fooBar baz"), "foo-bar-baz");
  assert.equal(kebabCase("XMLHttpRequest"), "xml-http-request");
  assert.equal(kebabCase("  --Hello__World--  "), "hello-world");
});

test("snakeCase", () => {
  assert.equal(snakeCase("fooBar baz"), "foo_bar_baz");
  assert.equal(snakeCase("version2Beta"), "version_2_beta");
});
