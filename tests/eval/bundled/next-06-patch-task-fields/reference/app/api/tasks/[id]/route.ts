import type { NextRequest } from "next/server";
import { db } from "../../../../lib/db";
import { error, json, parseId, readJson } from "../../../../lib/http";
import { serializeTask } from "../../../../lib/serialize";
import { parseTaskInput, type TaskInput } from "../../../../lib/validation";

/** The fields a client may change. */
const EDITABLE = ["title", "status", "dueDate"];

type Context = { params: { id: string } };

export async function PATCH(req: NextRequest, { params }: Context) {
  const id = parseId(params.id);
  if (id === undefined) return error(400, "task id must be a positive integer");
  const body = await readJson(req);
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    return error(400, "body must be a JSON object");
  }
  const fields = body as Record<string, unknown>;
  const unknown = Object.keys(fields).filter((key) => !EDITABLE.includes(key));
  if (unknown.length > 0) {
    return error(400, `these fields cannot be changed: ${unknown.join(", ")} (only ${EDITABLE.join(", ")})`);
  }
  if (Object.keys(fields).length === 0) {
    return error(400, `nothing to change: send one of ${EDITABLE.join(", ")}`);
  }
  // The create rules apply to each field sent; a title is only required there.
  const parsed = parseTaskInput({ title: "title" in fields ? fields.title : "unchanged", ...pick(fields) });
  if (!parsed.ok) return error(400, parsed.error);
  const data: Partial<TaskInput> = { ...parsed.value };
  if (!("title" in fields)) delete data.title;
  const existing = await db().task.findUnique({ where: { id } });
  if (!existing) return error(404, `task ${id} not found`);
  const task = await db().task.update({ where: { id }, data });
  return json(serializeTask(task));
}

/** The editable fields other than the title, as sent. */
function pick(fields: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if ("status" in fields) out.status = fields.status;
  if ("dueDate" in fields) out.dueDate = fields.dueDate;
  return out;
}

export async function DELETE(_req: NextRequest, { params }: Context) {
  const id = parseId(params.id);
  if (id === undefined) return error(400, "task id must be a positive integer");
  const existing = await db().task.findUnique({ where: { id } });
  if (!existing) return error(404, `task ${id} not found`);
  await db().task.delete({ where: { id } });
  return new Response(null, { status: 204 });
}
