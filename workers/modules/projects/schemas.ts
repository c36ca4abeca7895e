import { z } from "@hono/zod-openapi";

/** The projects module's response schemas; its verbs return the view types inferred from them. */

export const Project = z
  .object({
    id: z.string(),
    name: z.string(),
    protectedLabels: z.array(z.string()),
    allowedOrigins: z.array(z.string()).openapi({
      description: "Browser origins that may call the edge with this project's keys",
    }),
    createdAt: z.string(),
  })
  .openapi("Project");
export type ProjectView = z.infer<typeof Project>;
