const test = require("node:test");
const assert = require("node:assert/strict");
const { serializeTask } = require("../.build/lib/serialize.js");
const { fakeDb, route, request, taskRow } = require("../test/helpers.js");

const now = new Date("2026-03-10T12:00:00Z");

test("a task past its due date and not done is overdue", () => {
  const task = taskRow({ dueDate: new Date("2026-03-10T11:59:00Z"), status: "IN_PROGRESS" });
  assert.equal(serializeTask(task, now).overdue, true);
});

test("done tasks, tasks without a due date and future ones are not", () => {
  assert.equal(serializeTask(taskRow({ dueDate: new Date("2026-03-01T00:00:00Z"), status: "DONE" }), now).overdue, false);
  assert.equal(serializeTask(taskRow({ dueDate: null }), now).overdue, false);
  assert.equal(serializeTask(taskRow({ dueDate: new Date("2026-03-10T12:01:00Z") }), now).overdue, false);
});

test("the other fields are unchanged", () => {
  const out = serializeTask(taskRow({ dueDate: new Date("2026-04-01T00:00:00Z") }), now);
  assert.equal(out.dueDate, "2026-04-01T00:00:00.000Z");
  assert.equal(out.title, "Write docs");
  assert.equal(out.createdAt, "2026-01-01T00:00:00.000Z");
});

test("the API's task lists carry the flag", async () => {
  fakeDb({ task: { findMany: () => [taskRow({ dueDate: new Date("2000-01-01T00:00:00Z") })] } });
  const res = await route("projects/[id]/tasks").GET(request("/api/projects/1/tasks"), { params: { id: "1" } });
  assert.equal((await res.json())[0].overdue, true);
});
