import type { NextRequest } from "next/server";
import { db } from "../../../../lib/db";
import { error, json, parseId } from "../../../../lib/http";
import { serializeProject } from "../../../../lib/serialize";

type Context = { params: { id: string } };

export async function GET(_req: NextRequest, { params }: Context) {
  const id = parseId(params.id);
  if (id === undefined) return error(400, "project id must be a positive integer");
  const project = await db().project.findUnique({ where: { id } });
  if (!project) return error(404, `project ${id} not found`);
  const [open, done] = await Promise.all([
    db().task.count({ where: { projectId: id, status: { not: "DONE" } } }),
    db().task.count({ where: { projectId: id, status: "DONE" } }),
  ]);
  return json({ ...serializeProject(project), tasks: { open, done } });
}

export async function DELETE(_req: NextRequest, { params }: Context) {
  const id = parseId(params.id);
  if (id === undefined) return error(400, "project id must be a positive integer");
  const project = await db().project.findUnique({ where: { id } });
  if (!project) return error(404, `project ${id} not found`);
  await db().project.delete({ where: { id } });
  return new Response(null, { status: 204 });
}
