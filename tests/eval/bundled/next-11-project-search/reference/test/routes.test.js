const test = require("node:test");
const assert = require("node:assert/strict");
const { fakeDb, route, request, taskRow, projectRow } = require("./helpers.js");

test("GET /api/health", async () => {
  const res = await route("health").GET();
  assert.deepEqual(await res.json(), { status: "ok" });
});

test("GET /api/projects lists newest first", async () => {
  const db = fakeDb({ project: { findMany: () => [projectRow()], count: () => 21 } });
  const res = await route("projects").GET(request("/api/projects?page=2"));
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.data[0].name, "Website");
  assert.equal(body.total, 21);
  assert.deepEqual(db.calls[0].args, { where: {}, orderBy: { createdAt: "desc" }, skip: 20, take: 20 });
});

test("POST /api/projects/:id/tasks creates a task", async () => {
  fakeDb({
    project: { findUnique: () => projectRow() },
    task: { create: ({ data }) => taskRow({ ...data, id: 7 }) },
  });
  const res = await route("projects/[id]/tasks").POST(
    request("/api/projects/1/tasks", { method: "POST", body: { title: "Plan" } }),
    { params: { id: "1" } },
  );
  assert.equal(res.status, 201);
  assert.equal((await res.json()).title, "Plan");
});

test("POST to a missing project is a 404", async () => {
  fakeDb({ project: { findUnique: () => null } });
  const res = await route("projects/[id]/tasks").POST(
    request("/api/projects/9/tasks", { method: "POST", body: { title: "Plan" } }),
    { params: { id: "9" } },
  );
  assert.equal(res.status, 404);
});

test("DELETE /api/tasks/:id", async () => {
  const db = fakeDb({ task: { findUnique: () => taskRow() } });
  const res = await route("tasks/[id]").DELETE(request("/api/tasks/1", { method: "DELETE" }), { params: { id: "1" } });
  assert.equal(res.status, 204);
  assert.deepEqual(db.calls.at(-1), { model: "task", op: "delete", args: { where: { id: 1 } } });
});
