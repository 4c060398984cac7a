const test = require("node:test");
const assert = require("node:assert/strict");
const { fakeDb, route, request, projectRow } = require("../test/helpers.js");

const get = (id) => route("projects/[id]").GET(request(`/api/projects/${id}`), { params: { id } });

test("a missing project is a 404 and no tasks are counted", async () => {
  const fake = fakeDb({ project: { findUnique: () => null }, task: { count: () => 0 } });
  const res = await get("12345");
  assert.equal(res.status, 404);
  assert.match((await res.json()).error, /12345/);
  assert.equal(fake.calls.filter((c) => c.model === "task").length, 0);
});

test("an id that is not a number is a 400 without a query", async () => {
  for (const id of ["abc", "0", "-3", "1.5"]) {
    const fake = fakeDb({
      project: {
        findUnique: ({ where }) => {
          if (!Number.isInteger(where.id)) throw new Error("Argument `id`: Invalid value provided");
          return null;
        },
      },
    });
    const res = await get(id);
    assert.equal(res.status, 400, id);
    assert.equal(fake.calls.length, 0);
  }
});

test("an existing project comes with its task counts", async () => {
  fakeDb({
    project: { findUnique: () => projectRow({ id: 3 }) },
    task: { count: ({ where }) => (where.status === "DONE" ? 2 : 5) },
  });
  const res = await get("3");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.equal(body.id, 3);
  assert.deepEqual(body.tasks, { open: 5, done: 2 });
});
