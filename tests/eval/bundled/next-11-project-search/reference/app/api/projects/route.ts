import type { NextRequest } from "next/server";
import { db } from "../../../lib/db";
import { error, json, readJson } from "../../../lib/http";
import { paged, parsePagination } from "../../../lib/pagination";
import { serializeProject } from "../../../lib/serialize";
import { parseProjectInput } from "../../../lib/validation";

/** The longest `?q=` search accepted. */
const MAX_QUERY_LENGTH = 100;

export async function GET(req: NextRequest) {
  const params = new URL(req.url).searchParams;
  const pagination = parsePagination(params);
  const q = (params.get("q") ?? "").trim();
  if (q.length > MAX_QUERY_LENGTH) return error(400, `q must be at most ${MAX_QUERY_LENGTH} characters`);
  const where = q === "" ? {} : { name: { contains: q, mode: "insensitive" as const } };
  const [projects, total] = await Promise.all([
    db().project.findMany({ where, orderBy: { createdAt: "desc" }, skip: pagination.skip, take: pagination.take }),
    db().project.count({ where }),
  ]);
  return json(paged(projects.map(serializeProject), total, pagination));
}

export async function POST(req: NextRequest) {
  const input = parseProjectInput(await readJson(req));
  if (!input.ok) return error(400, input.error);
  const project = await db().project.create({ data: input.value });
  return json(serializeProject(project));
}
