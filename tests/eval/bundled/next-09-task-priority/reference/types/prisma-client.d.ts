// The part of the generated `@prisma/client` the code uses, so `tsc` and the
// tests run without `prisma generate`. Keep in step with prisma/schema.prisma.
declare module "@prisma/client" {
  export type TaskStatus = "TODO" | "IN_PROGRESS" | "DONE";
  export type TaskPriority = "LOW" | "MEDIUM" | "HIGH";

  export interface User {
    id: number;
    email: string;
    name: string | null;
    createdAt: Date;
  }

  export interface Project {
    id: number;
    name: string;
    ownerId: number;
    createdAt: Date;
  }

  export interface Task {
    id: number;
    title: string;
    status: TaskStatus;
    priority: TaskPriority;
    dueDate: Date | null;
    projectId: number;
    createdAt: Date;
    updatedAt: Date;
  }

  // Query arguments are checked by Prisma at run time; here they are loose.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  type Args = any;

  export interface Delegate<T> {
    findMany(args?: Args): Promise<T[]>;
    findUnique(args: Args): Promise<T | null>;
    findFirst(args?: Args): Promise<T | null>;
    create(args: Args): Promise<T>;
    update(args: Args): Promise<T>;
    delete(args: Args): Promise<T>;
    count(args?: Args): Promise<number>;
  }

  export class PrismaClient {
    user: Delegate<User>;
    project: Delegate<Project>;
    task: Delegate<Task>;
    $transaction<R>(queries: Promise<R>[]): Promise<R[]>;
    $disconnect(): Promise<void>;
  }
}
