import type { NextRequest } from "next/server";
import { db } from "../../../lib/db";
import { error, json, readJson } from "../../../lib/http";
import { parsePagination } from "../../../lib/pagination";
import { serializeProject } from "../../../lib/serialize";
import { parseProjectInput } from "../../../lib/validation";

export async function GET(req: NextRequest) {
  const { skip, take } = parsePagination(new URL(req.url).searchParams);
  const projects = await db().project.findMany({ orderBy: { createdAt: "desc" }, skip, take });
  return json(projects.map(serializeProject));
}

export async function POST(req: NextRequest) {
  const input = parseProjectInput(await readJson(req));
  if (!input.ok) return error(400, input.error);
  const project = await db().project.create({ data: input.value });
  return json(serializeProject(project), 201);
}
