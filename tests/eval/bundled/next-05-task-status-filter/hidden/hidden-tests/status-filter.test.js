const test = require("node:test");
const assert = require("node:assert/strict");
const { fakeDb, route, request, taskRow } = require("../test/helpers.js");

const rows = [taskRow({ id: 1, status: "TODO" }), taskRow({ id: 2, status: "DONE" }), taskRow({ id: 3, status: "IN_PROGRESS" })];

/** A fake that filters like Prisma for `status` / `status: { in }`. */
function db() {
  return fakeDb({
    task: {
      findMany: ({ where }) =>
        rows.filter((r) => {
          if (r.projectId !== where.projectId) return false;
          if (where.status === undefined) return true;
          if (typeof where.status === "string") return r.status === where.status;
          if (where.status.in) return where.status.in.includes(r.status);
          if (where.status.equals) return r.status === where.status.equals;
          return false;
        }),
    },
  });
}

const get = (qs) => route("projects/[id]/tasks").GET(request(`/api/projects/1/tasks${qs}`), { params: { id: "1" } });

test("?status= filters the tasks", async () => {
  db();
  const res = await get("?status=DONE");
  assert.equal(res.status, 200);
  assert.deepEqual((await res.json()).map((t) => t.id), [2]);
});

test("several statuses can be asked for", async () => {
  db();
  const res = await get("?status=TODO&status=IN_PROGRESS");
  assert.deepEqual((await res.json()).map((t) => t.id).sort(), [1, 3]);
});

test("without status every task is listed", async () => {
  db();
  assert.equal((await (await get("")).json()).length, 3);
});

test("an unknown status is a 400 naming the valid ones", async () => {
  const fake = db();
  const res = await get("?status=done");
  assert.equal(res.status, 400);
  assert.match((await res.json()).error, /TODO.*IN_PROGRESS.*DONE/);
  assert.equal(fake.calls.length, 0, "no query for a bad request");
});
