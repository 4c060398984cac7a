import type { Comment, Project, Task } from "@prisma/client";

/** A task as the API returns it (dates as ISO strings). */
export function serializeTask(task: Task) {
  return {
    id: task.id,
    title: task.title,
    status: task.status,
    dueDate: task.dueDate ? task.dueDate.toISOString() : null,
    projectId: task.projectId,
    createdAt: task.createdAt.toISOString(),
    updatedAt: task.updatedAt.toISOString(),
  };
}

/** A comment as the API returns it. */
export function serializeComment(comment: Comment) {
  return {
    id: comment.id,
    body: comment.body,
    authorId: comment.authorId,
    taskId: comment.taskId,
    createdAt: comment.createdAt.toISOString(),
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
