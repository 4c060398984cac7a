const test = require("node:test");
const assert = require("node:assert/strict");
const { groupBy } = require("../dist/index.js");

const users = [
  { name: "ada", role: "admin" },
  { name: "bob", role: "viewer" },
  { name: "cy", role: "admin" },
];

test("groupBy groups by a property name", () => {
  assert.deepEqual(groupBy(users, "role"), {
    admin: [users[0], users[2]],
    viewer: [users[1]],
  });
});

test("groupBy still takes a key function", () => {
  assert.deepEqual(groupBy(users, (u) => u.name.length), {
    2: [users[2]],
    3: [users[0], users[1]],
  });
});
