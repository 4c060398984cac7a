const test = require("node:test");
const assert = require("node:assert/strict");
const { parseTaskInput } = require("../.build/lib/validation.js");

test("blank titles are rejected", () => {
  for (const title of ["", "   ", "\t\n"]) {
    const parsed = parseTaskInput({ title });
    assert.equal(parsed.ok, false, JSON.stringify(title));
    assert.equal(parsed.error, "title is required");
  }
  assert.equal(parseTaskInput({ title: 5 }).ok, false);
});

test("titles are trimmed", () => {
  assert.deepEqual(parseTaskInput({ title: "  Ship it \n" }), { ok: true, value: { title: "Ship it" } });
});
