import test from "node:test";
import assert from "node:assert/strict";
import { formatTodo, formatList } from "../src/format.js";

const text = "call the insurance about the dent in the back door and ask whether the rental car is covered";

test("long todos wrap at 80 columns under the text", () => {
  assert.equal(
    formatTodo({ id: 4, text, done: false }),
    "  4 [ ] call the insurance about the dent in the back door and ask whether the\n" +
      "        rental car is covered",
  );
  for (const line of formatTodo({ id: 4, text, done: false }).split("\n")) {
    assert.ok(line.length <= 80, line);
  }
});

test("the width can be chosen and long words stay whole", () => {
  assert.equal(
    formatTodo({ id: 12, text: "see https://example.com/a/very/long/path today", done: true }, 30),
    " 12 [x] see\n        https://example.com/a/very/long/path\n        today",
  );
});

test("short todos are one line as before", () => {
  assert.equal(formatTodo({ id: 1, text: "buy milk", done: false }), "  1 [ ] buy milk");
  assert.equal(formatList([{ id: 1, text: "a", done: true }, { id: 2, text: "b", done: false }]), "  1 [x] a\n  2 [ ] b");
});
