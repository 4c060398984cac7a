import type { NextRequest } from "next/server";
import { db } from "../../../../../lib/db";
import { error, json, parseId, readJson } from "../../../../../lib/http";
import { serializeTask } from "../../../../../lib/serialize";
import { TASK_STATUSES, parseStatus, parseTaskInput } from "../../../../../lib/validation";

type Context = { params: { id: string } };

export async function GET(req: NextRequest, { params }: Context) {
  const projectId = parseId(params.id);
  if (projectId === undefined) return error(400, "project id must be a positive integer");
  const requested = new URL(req.url).searchParams.getAll("status");
  const statuses = requested.map(parseStatus);
  if (statuses.some((s) => s === undefined)) {
    return error(400, `status must be one of ${TASK_STATUSES.join(", ")}`);
  }
  const where = statuses.length > 0 ? { projectId, status: { in: statuses } } : { projectId };
  const tasks = await db().task.findMany({ where, orderBy: { createdAt: "asc" } });
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
