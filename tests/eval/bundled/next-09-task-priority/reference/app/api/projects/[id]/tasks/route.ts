import type { NextRequest } from "next/server";
import { db } from "../../../../../lib/db";
import { error, json, parseId, readJson } from "../../../../../lib/http";
import { serializeTask } from "../../../../../lib/serialize";
import { parseTaskInput } from "../../../../../lib/validation";

type Context = { params: { id: string } };

/** The orders `?sort=` can ask for. */
const SORTS = {
  created: [{ createdAt: "asc" }],
  priority: [{ priority: "desc" }, { createdAt: "asc" }],
} as const;

export async function GET(req: NextRequest, { params }: Context) {
  const projectId = parseId(params.id);
  if (projectId === undefined) return error(400, "project id must be a positive integer");
  const sort = new URL(req.url).searchParams.get("sort") ?? "created";
  if (sort !== "created" && sort !== "priority") {
    return error(400, `sort must be one of ${Object.keys(SORTS).join(", ")}`);
  }
  const tasks = await db().task.findMany({ where: { projectId }, orderBy: SORTS[sort] });
  return json(tasks.map(serializeTask));
}

export async function POST(req: NextRequest, { params }: Context) {
  const projectId = parseId(params.id);
  if (projectId === undefined) return error(400, "project id must be a positive integer");
  const input = parseTaskInput(await readJson(req));
  if (!input.ok) return error(400, input.error);
  const project = await db().project.findUnique({ where: { id: projectId } });
  if (!project) return error(404, `project ${projectId} not found`);
  const task = await db().task.create({ data: { ...input.value, projectId } });
  return json(serializeTask(task), 201);
}
