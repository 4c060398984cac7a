import type { TaskStatus } from "@prisma/client";

export const TASK_STATUSES: readonly TaskStatus[] = ["TODO", "IN_PROGRESS", "DONE"];

export type Parsed<T> = { ok: true; value: T } | { ok: false; error: string };

export interface TaskInput {
  title: string;
  status?: TaskStatus;
  dueDate?: Date | null;
}

function isObject(body: unknown): body is Record<string, unknown> {
  return typeof body === "object" && body !== null && !Array.isArray(body);
}

/** A task status from user input, or undefined. */
export function parseStatus(raw: unknown): TaskStatus | undefined {
  return TASK_STATUSES.find((s) => s === raw);
}

/** A due date: an ISO date string, or null to clear it. */
function parseDueDate(raw: unknown): Parsed<Date | null> {
  if (raw === null) return { ok: true, value: null };
  if (typeof raw !== "string" || Number.isNaN(Date.parse(raw))) {
    return { ok: false, error: "dueDate must be an ISO date string or null" };
  }
  return { ok: true, value: new Date(raw) };
}

/** The body of `POST /api/projects/:id/tasks`. */
export function parseTaskInput(body: unknown): Parsed<TaskInput> {
  if (!isObject(body)) return { ok: false, error: "body must be a JSON object" };
  const { title, status, dueDate } = body;
  if (typeof title !== "string" || title.length === 0) {
    return { ok: false, error: "title is required" };
  }
  if (title.length > 200) return { ok: false, error: "title must be at most 200 characters" };
  const input: TaskInput = { title };
  if (status !== undefined) {
    const parsed = parseStatus(status);
    if (!parsed) return { ok: false, error: `status must be one of ${TASK_STATUSES.join(", ")}` };
    input.status = parsed;
  }
  if (dueDate !== undefined) {
    const parsed = parseDueDate(dueDate);
    if (!parsed.ok) return parsed;
    input.dueDate = parsed.value;
  }
  return { ok: true, value: input };
}

export const MAX_COMMENT_LENGTH = 2000;

/** The body of `POST /api/tasks/:id/comments`. */
export function parseCommentInput(body: unknown): Parsed<{ body: string; authorId: number }> {
  if (!isObject(body)) return { ok: false, error: "body must be a JSON object" };
  const text = typeof body.body === "string" ? body.body.trim() : "";
  if (text.length === 0) return { ok: false, error: "body is required" };
  if (text.length > MAX_COMMENT_LENGTH) {
    return { ok: false, error: `body must be at most ${MAX_COMMENT_LENGTH} characters` };
  }
  const { authorId } = body;
  if (typeof authorId !== "number" || !Number.isInteger(authorId)) {
    return { ok: false, error: "authorId must be an integer" };
  }
  return { ok: true, value: { body: text, authorId } };
}

/** The body of `POST /api/projects`. */
export function parseProjectInput(body: unknown): Parsed<{ name: string; ownerId: number }> {
  if (!isObject(body)) return { ok: false, error: "body must be a JSON object" };
  const { name, ownerId } = body;
  if (typeof name !== "string" || name.trim() === "") return { ok: false, error: "name is required" };
  if (typeof ownerId !== "number" || !Number.isInteger(ownerId)) {
    return { ok: false, error: "ownerId must be an integer" };
  }
  return { ok: true, value: { name: name.trim(), ownerId } };
}
