import { z } from "@hono/zod-openapi";

/** The projects module's response schemas; its verbs return the view types inferred from them. */

export const Project = z
  .object({
    id: z.string(),
    name: z.string(),
    protectedLabels: z.array(z.string()),
    createdAt: z.string(),
  })
  .openapi("Project");
export type ProjectView = z.infer<typeof Project>;
