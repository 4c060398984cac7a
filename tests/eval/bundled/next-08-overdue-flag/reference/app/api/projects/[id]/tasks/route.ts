import type { NextRequest } from "next/server";
import { db } from "../../../../../lib/db";
import { error, json, parseId, readJson } from "../../../../../lib/http";
import { serializeTask } from "../../../../../lib/serialize";
import { parseTaskInput } from "../../../../../lib/validation";

type Context = { params: { id: string } };

export async function GET(_req: NextRequest, { params }: Context) {
  const projectId = parseId(params.id);
  if (projectId === undefined) return error(400, "project id must be a positive integer");
  const tasks = await db().task.findMany({ where: { projectId }, orderBy: { createdAt: "asc" } });
  const now = new Date();
  return json(tasks.map((task) => serializeTask(task, now)));
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
