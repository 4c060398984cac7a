const test = require("node:test");
const assert = require("node:assert/strict");
const { paged, parsePagination } = require("../.build/lib/pagination.js");
const { fakeDb, route, request, projectRow } = require("../test/helpers.js");

const projects = [projectRow({ id: 1, name: "Website" }), projectRow({ id: 2, name: "Mobile app" }), projectRow({ id: 3, name: "Webhooks" })];

/** A fake that filters `name: { contains, mode: "insensitive" }` like Prisma. */
function db() {
  const matches = (where = {}) =>
    projects.filter((p) => {
      if (!where.name) return true;
      const { contains, mode } = where.name;
      return mode === "insensitive" ? p.name.toLowerCase().includes(contains.toLowerCase()) : p.name.includes(contains);
    });
  return fakeDb({
    project: {
      findMany: ({ where, skip = 0, take = 20 }) => matches(where).slice(skip, skip + take),
      count: ({ where } = {}) => matches(where).length,
    },
  });
}

const list = async (qs) => route("projects").GET(request(`/api/projects${qs}`));

test("paged builds the envelope", () => {
  assert.deepEqual(paged(["a"], 41, parsePagination(new URLSearchParams("page=3&pageSize=20"))), {
    data: ["a"],
    page: 3,
    pageSize: 20,
    total: 41,
  });
});

test("q searches names case-insensitively and total counts the matches", async () => {
  db();
  const res = await list("?q=WEB");
  assert.equal(res.status, 200);
  const body = await res.json();
  assert.deepEqual(body.data.map((p) => p.id), [1, 3]);
  assert.equal(body.total, 2);
  assert.equal(body.page, 1);
  assert.equal(body.pageSize, 20);
});

test("total is over all pages", async () => {
  db();
  const body = await (await list("?pageSize=1&page=2")).json();
  assert.deepEqual(body.data.map((p) => p.id), [2]);
  assert.equal(body.total, 3);
  assert.equal(body.page, 2);
});

test("a blank q is no filter, a long one a 400", async () => {
  db();
  assert.equal((await (await list("?q=%20%20")).json()).total, 3);
  const fake = db();
  assert.equal((await list(`?q=${"a".repeat(101)}`)).status, 400);
  assert.equal(fake.calls.length, 0);
});
