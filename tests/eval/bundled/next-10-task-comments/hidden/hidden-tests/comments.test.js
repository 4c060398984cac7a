const test = require("node:test");
const assert = require("node:assert/strict");
const { readFileSync, existsSync } = require("node:fs");
const { fakeDb, route, request, taskRow } = require("../test/helpers.js");

const schema = readFileSync("prisma/schema.prisma", "utf8");
const block = (name) => {
  const m = schema.match(new RegExp(`^model\\s+${name}\\s*\\{([\\s\\S]*?)^\\}`, "m"));
  assert.ok(m, `model ${name} is in the schema`);
  return m[1];
};
const field = (model, name) => {
  const line = block(model).split("\n").find((l) => l.trim().split(/\s+/)[0] === name);
  assert.ok(line, `${model}.${name} is in the schema`);
  return line.trim();
};

test("the schema has Comment with its relations both ways", () => {
  assert.match(field("Comment", "id"), /^id\s+Int\s+@id/);
  assert.match(field("Comment", "body"), /^body\s+String\b/);
  assert.match(field("Comment", "createdAt"), /^createdAt\s+DateTime\s+@default\(now\(\)\)/);
  assert.match(field("Comment", "taskId"), /^taskId\s+Int\b/);
  assert.match(field("Comment", "authorId"), /^authorId\s+Int\b/);
  const task = field("Comment", "task");
  assert.match(task, /^task\s+Task\s+@relation\(/);
  assert.match(task, /fields:\s*\[taskId\]/);
  assert.match(task, /references:\s*\[id\]/);
  assert.match(task, /onDelete:\s*Cascade/);
  const author = Object.values(block("Comment").split("\n")).map((l) => l.trim()).find((l) => /\bUser\b.*@relation/.test(l));
  assert.ok(author && /fields:\s*\[authorId\]/.test(author), "a User relation over authorId");
  assert.match(field("Task", "comments"), /^comments\s+Comment\[\]/);
  assert.ok(block("User").split("\n").some((l) => /^\s*\w+\s+Comment\[\]/.test(l)), "User has its comments");
});

const comments = () => route("tasks/[id]/comments");
const ctx = (id) => ({ params: { id } });
const row = (fields) => ({ id: 1, body: "hi", authorId: 2, taskId: 4, createdAt: new Date("2026-02-01T00:00:00Z"), ...fields });

test("the route file exists where Next.js looks for it", () => {
  assert.ok(existsSync("app/api/tasks/[id]/comments/route.ts"));
});

test("GET lists a task's comments, oldest first", async () => {
  const fake = fakeDb({ task: { findUnique: () => taskRow({ id: 4 }) }, comment: { findMany: () => [row({ id: 1 }), row({ id: 2 })] } });
  const res = await comments().GET(request("/api/tasks/4/comments"), ctx("4"));
  assert.equal(res.status, 200);
  assert.deepEqual(await res.json(), [
    { id: 1, body: "hi", authorId: 2, taskId: 4, createdAt: "2026-02-01T00:00:00.000Z" },
    { id: 2, body: "hi", authorId: 2, taskId: 4, createdAt: "2026-02-01T00:00:00.000Z" },
  ]);
  const query = fake.calls.find((c) => c.model === "comment" && c.op === "findMany").args;
  assert.deepEqual(query.where, { taskId: 4 });
  assert.deepEqual(Array.isArray(query.orderBy) ? query.orderBy : [query.orderBy], [{ createdAt: "asc" }]);
});

test("POST adds a trimmed comment and answers 201", async () => {
  const fake = fakeDb({ task: { findUnique: () => taskRow({ id: 4 }) }, comment: { create: ({ data }) => row({ ...data, id: 9 }) } });
  const res = await comments().POST(
    request("/api/tasks/4/comments", { method: "POST", body: { body: "  looks good  ", authorId: 2 } }),
    ctx("4"),
  );
  assert.equal(res.status, 201);
  assert.equal((await res.json()).id, 9);
  assert.deepEqual(fake.calls.find((c) => c.op === "create").args.data, { body: "looks good", authorId: 2, taskId: 4 });
});

test("bad bodies are a 400 and nothing is created", async () => {
  for (const body of [{ body: "   ", authorId: 2 }, { body: "x".repeat(2001), authorId: 2 }, { body: "ok" }, { body: "ok", authorId: "2" }, "nope"]) {
    const fake = fakeDb({ task: { findUnique: () => taskRow({ id: 4 }) }, comment: { create: ({ data }) => row(data) } });
    const res = await comments().POST(request("/api/tasks/4/comments", { method: "POST", body }), ctx("4"));
    assert.equal(res.status, 400, JSON.stringify(body).slice(0, 60));
    assert.equal(fake.calls.filter((c) => c.op === "create").length, 0);
  }
  const fake = fakeDb({ task: { findUnique: () => taskRow({ id: 4 }) }, comment: { create: ({ data }) => row(data) } });
  const res = await comments().POST(request("/api/tasks/4/comments", { method: "POST", body: { body: "x".repeat(2000), authorId: 2 } }), ctx("4"));
  assert.equal(res.status, 201);
  assert.equal(fake.calls.filter((c) => c.op === "create").length, 1);
});

test("missing tasks are a 404, bad ids a 400", async () => {
  fakeDb({ task: { findUnique: () => null } });
  assert.equal((await comments().GET(request("/api/tasks/5/comments"), ctx("5"))).status, 404);
  assert.equal(
    (await comments().POST(request("/api/tasks/5/comments", { method: "POST", body: { body: "x", authorId: 1 } }), ctx("5"))).status,
    404,
  );
  assert.equal((await comments().GET(request("/api/tasks/x/comments"), ctx("x"))).status, 400);
});
