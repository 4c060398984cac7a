const test = require("node:test");
const assert = require("node:assert/strict");
const { fakeDb, route, request, taskRow } = require("../test/helpers.js");

function db() {
  return fakeDb({
    task: {
      findUnique: () => taskRow({ id: 4 }),
      update: ({ data }) => taskRow({ id: 4, ...data }),
    },
  });
}

const patch = (body) =>
  route("tasks/[id]").PATCH(request("/api/tasks/4", { method: "PATCH", body }), { params: { id: "4" } });

const updates = (fake) => fake.calls.filter((c) => c.op === "update");

test("only title, status and dueDate reach the database", async () => {
  const fake = db();
  const res = await patch({ status: "DONE" });
  assert.equal(res.status, 200);
  assert.equal((await res.json()).status, "DONE");
  assert.deepEqual(updates(fake)[0].args, { where: { id: 4 }, data: { status: "DONE" } });
});

test("all three fields together", async () => {
  const fake = db();
  const res = await patch({ title: "New", status: "IN_PROGRESS", dueDate: "2026-05-01T00:00:00.000Z" });
  assert.equal(res.status, 200);
  const { data } = updates(fake)[0].args;
  assert.equal(data.title, "New");
  assert.equal(data.status, "IN_PROGRESS");
  assert.equal(new Date(data.dueDate).toISOString(), "2026-05-01T00:00:00.000Z");
});

test("other fields are a 400 naming them, and nothing is written", async () => {
  for (const body of [{ projectId: 99 }, { title: "x", createdAt: "2020-01-01" }, { id: 7 }]) {
    const fake = db();
    const res = await patch(body);
    assert.equal(res.status, 400, JSON.stringify(body));
    const { error } = await res.json();
    for (const key of Object.keys(body).filter((k) => k !== "title")) assert.match(error, new RegExp(key));
    assert.equal(updates(fake).length, 0);
  }
});

test("bad values and empty bodies are a 400", async () => {
  for (const body of [{ status: "WHATEVER" }, { title: "" }, { dueDate: "soon" }, {}]) {
    const fake = db();
    const res = await patch(body);
    assert.equal(res.status, 400, JSON.stringify(body));
    assert.equal(updates(fake).length, 0);
  }
});

test("dueDate null clears it", async () => {
  const fake = db();
  assert.equal((await patch({ dueDate: null })).status, 200);
  assert.deepEqual(updates(fake)[0].args.data, { dueDate: null });
});
