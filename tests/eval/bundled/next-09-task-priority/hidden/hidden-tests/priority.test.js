const test = require("node:test");
const assert = require("node:assert/strict");
const { readFileSync } = require("node:fs");
const { parseTaskInput } = require("../.build/lib/validation.js");
const { serializeTask } = require("../.build/lib/serialize.js");
const { fakeDb, route, request, taskRow, projectRow } = require("../test/helpers.js");

const schema = readFileSync("prisma/schema.prisma", "utf8");
const block = (kind, name) => {
  const m = schema.match(new RegExp(`^${kind}\\s+${name}\\s*\\{([\\s\\S]*?)^\\}`, "m"));
  assert.ok(m, `${kind} ${name} is in the schema`);
  return m[1];
};

test("the schema has TaskPriority and Task.priority defaulting to MEDIUM", () => {
  const values = block("enum", "TaskPriority").split(/\s+/).filter(Boolean);
  assert.deepEqual(values, ["LOW", "MEDIUM", "HIGH"]);
  assert.match(block("model", "Task"), /^\s*priority\s+TaskPriority\s+@default\(MEDIUM\)\s*$/m);
});

test("priority is accepted when valid and rejected otherwise", () => {
  const ok = parseTaskInput({ title: "x", priority: "HIGH" });
  assert.equal(ok.ok, true);
  assert.equal(ok.value.priority, "HIGH");
  const bad = parseTaskInput({ title: "x", priority: "URGENT" });
  assert.equal(bad.ok, false);
  assert.match(bad.error, /priority/);
  assert.equal("priority" in parseTaskInput({ title: "x" }).value, false);
});

test("tasks are returned with their priority", () => {
  assert.equal(serializeTask(taskRow({ priority: "LOW" })).priority, "LOW");
});

test("creating a task passes the priority on", async () => {
  const fake = fakeDb({ project: { findUnique: () => projectRow() }, task: { create: ({ data }) => taskRow(data) } });
  const res = await route("projects/[id]/tasks").POST(
    request("/api/projects/1/tasks", { method: "POST", body: { title: "Fix", priority: "HIGH" } }),
    { params: { id: "1" } },
  );
  assert.equal(res.status, 201);
  assert.equal((await res.json()).priority, "HIGH");
  assert.equal(fake.calls.find((c) => c.op === "create").args.data.priority, "HIGH");
});

const list = (qs) => route("projects/[id]/tasks").GET(request(`/api/projects/1/tasks${qs}`), { params: { id: "1" } });
const orderOf = (fake) => {
  const o = fake.calls.find((c) => c.op === "findMany").args.orderBy;
  return Array.isArray(o) ? o : [o];
};

test("?sort=priority orders by priority, then age", async () => {
  const fake = fakeDb({ task: { findMany: () => [] } });
  assert.equal((await list("?sort=priority")).status, 200);
  assert.deepEqual(orderOf(fake), [{ priority: "desc" }, { createdAt: "asc" }]);
});

test("the default order is unchanged and unknown sorts are a 400", async () => {
  const fake = fakeDb({ task: { findMany: () => [] } });
  await list("");
  assert.deepEqual(orderOf(fake), [{ createdAt: "asc" }]);
  assert.equal((await list("?sort=title")).status, 400);
});
