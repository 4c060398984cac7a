import type { Project, Task } from "@prisma/client";

/** Whether `task` is not done and its due date has passed at `now`. */
export function isOverdue(task: Task, now: Date = new Date()): boolean {
  return task.status !== "DONE" && task.dueDate !== null && task.dueDate.getTime() < now.getTime();
}

/** A task as the API returns it (dates as ISO strings). */
export function serializeTask(task: Task, now: Date = new Date()) {
  return {
    id: task.id,
    title: task.title,
    status: task.status,
    dueDate: task.dueDate ? task.dueDate.toISOString() : null,
    overdue: isOverdue(task, now),
    projectId: task.projectId,
    createdAt: task.createdAt.toISOString(),
    updatedAt: task.updatedAt.toISOString(),
  };
}

/** A project as the API returns it. */
export function serializeProject(project: Project) {
  return {
    id: project.id,
    name: project.name,
    ownerId: project.ownerId,
    createdAt: project.createdAt.toISOString(),
  };
}
