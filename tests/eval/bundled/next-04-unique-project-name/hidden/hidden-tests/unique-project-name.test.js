const test = require("node:test");
const assert = require("node:assert/strict");
const { readFileSync } = require("node:fs");

const schema = readFileSync("prisma/schema.prisma", "utf8");

function block(kind, name) {
  const m = schema.match(new RegExp(`^${kind}\\s+${name}\\s*\\{([\\s\\S]*?)^\\}`, "m"));
  assert.ok(m, `${kind} ${name} is in the schema`);
  return m[1];
}

test("a project's name is unique per owner", () => {
  const project = block("model", "Project");
  const unique = [...project.matchAll(/@@unique\(\s*(?:fields:\s*)?\[([^\]]*)\]/g)].map((m) =>
    m[1].split(",").map((s) => s.trim()).sort().join(","),
  );
  assert.ok(unique.includes("name,ownerId"), `@@unique over ownerId and name in:\n${project}`);
});

test("name alone is not unique, and nothing else changed in Project", () => {
  const project = block("model", "Project");
  assert.doesNotMatch(project, /^\s*name\s+String\s+@unique/m);
  for (const field of ["id", "name", "ownerId", "owner", "tasks", "createdAt"]) {
    assert.match(project, new RegExp(`^\\s*${field}\\s`, "m"), field);
  }
});
