const test = require("node:test");
const assert = require("node:assert/strict");
const { slugify } = require("../dist/index.js");

test("slugify folds accented letters to plain ones", () => {
  assert.equal(slugify("Crème brûlée"), "creme-brulee");
  assert.equal(slugify("Ångström Über Café"), "angstrom-uber-cafe");
});

test("slugify still joins words with dashes", () => {
  assert.equal(slugify("Hello, World!"), "hello-world");
});
