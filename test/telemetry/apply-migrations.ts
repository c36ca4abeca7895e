import { applyD1Migrations } from "cloudflare:test";
import { env } from "cloudflare:workers";

// Setup files may run more than once; applyD1Migrations only applies what is not applied yet.
await applyD1Migrations(env.TELEMETRY_DB, env.TEST_MIGRATIONS);
