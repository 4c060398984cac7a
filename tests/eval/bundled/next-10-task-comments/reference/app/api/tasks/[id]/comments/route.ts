import type { NextRequest } from "next/server";
import { db } from "../../../../../lib/db";
import { error, json, parseId, readJson } from "../../../../../lib/http";
import { serializeComment } from "../../../../../lib/serialize";
import { parseCommentInput } from "../../../../../lib/validation";

type Context = { params: { id: string } };

export async function GET(_req: NextRequest, { params }: Context) {
  const taskId = parseId(params.id);
  if (taskId === undefined) return error(400, "task id must be a positive integer");
  const task = await db().task.findUnique({ where: { id: taskId } });
  if (!task) return error(404, `task ${taskId} not found`);
  const comments = await db().comment.findMany({ where: { taskId }, orderBy: { createdAt: "asc" } });
  return json(comments.map(serializeComment));
}

export async function POST(req: NextRequest, { params }: Context) {
  const taskId = parseId(params.id);
  if (taskId === undefined) return error(400, "task id must be a positive integer");
  const input = parseCommentInput(await readJson(req));
  if (!input.ok) return error(400, input.error);
  const task = await db().task.findUnique({ where: { id: taskId } });
  if (!task) return error(404, `task ${taskId} not found`);
  const comment = await db().comment.create({ data: { ...input.value, taskId } });
  return json(serializeComment(comment), 201);
}
