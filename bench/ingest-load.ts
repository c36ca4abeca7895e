/**
 * The ingest load generator in a process of its own (bench/ingest.ts's separate-cores serving):
 * pinned beside the telemetry worker's workerd, away from the edge and the edge's own load
 * generator, as the apps sending telemetry are elsewhere. Each IPC message is one `load` to run;
 * the answer carries the figures the bench reads. Exits when its parent disconnects.
 */
import { type IngestLoad, type LoadFigures, load } from "./ingest";

process.on("message", async (message: { id: number; options: IngestLoad }) => {
  const result = await load(message.options);
  const figures: LoadFigures = {
    requests: { average: result.requests.average },
    latency: { p50: result.latency.p50, p99: result.latency.p99 },
    "2xx": result["2xx"],
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
  };
  process.send?.({ id: message.id, figures });
});
process.on("disconnect", () => process.exit(0));
process.send?.({ ready: true });
