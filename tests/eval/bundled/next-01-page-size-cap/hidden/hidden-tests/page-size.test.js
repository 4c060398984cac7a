const test = require("node:test");
const assert = require("node:assert/strict");
const { parsePagination, MAX_PAGE_SIZE } = require("../.build/lib/pagination.js");
const { fakeDb, route, request } = require("../test/helpers.js");

test("pageSize above the maximum is capped", () => {
  assert.equal(MAX_PAGE_SIZE, 100);
  assert.deepEqual(parsePagination(new URLSearchParams("pageSize=100000&page=2")), {
    page: 2,
    pageSize: 100,
    skip: 100,
    take: 100,
  });
  assert.equal(parsePagination(new URLSearchParams("pageSize=100")).take, 100);
  assert.equal(parsePagination(new URLSearchParams("pageSize=7")).take, 7);
});

test("GET /api/projects never asks for more than the maximum", async () => {
  const db = fakeDb({ project: { findMany: () => [] } });
  await route("projects").GET(request("/api/projects?pageSize=5000"));
  assert.equal(db.calls[0].args.take, 100);
});
