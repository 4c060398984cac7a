const test = require("node:test");
const assert = require("node:assert/strict");
const { fakeDb, route, request, projectRow } = require("../test/helpers.js");

test("POST /api/projects answers 201 with the project", async () => {
  fakeDb({ project: { create: ({ data }) => projectRow({ ...data, id: 5 }) } });
  const res = await route("projects").POST(
    request("/api/projects", { method: "POST", body: { name: "Docs", ownerId: 2 } }),
  );
  assert.equal(res.status, 201);
  const body = await res.json();
  assert.equal(body.id, 5);
  assert.equal(body.name, "Docs");
});

test("a bad body is still a 400", async () => {
  fakeDb();
  const res = await route("projects").POST(request("/api/projects", { method: "POST", body: { name: "" } }));
  assert.equal(res.status, 400);
});
