// The schemas of the local_docker flavor: imported by the entry (index.ts) and the runtime alike,
// so neither imports the other.
import { isValidMemory, z } from "@orch/core/plugin";

export const FLAVOR = "local-docker";
/** How users write the flavor. */
export const DISPLAY = "local_docker";

const memory = (what: string) =>
  z
    .string()
    .refine(isValidMemory, { message: 'expected a memory size with a unit, e.g. "256MiB" or "1GB"' })
    .describe(what);

const envSchema = z.record(z.string(), z.string());

const gpusSchema = z
  .union([z.literal("all"), z.number().int().min(1)])
  .describe('GPUs for every step container: "all" or a count (needs the NVIDIA container toolkit on the engine).');

export const configSchema = z
  .object({
    host: z
      .string()
      .min(1)
      .optional()
      .describe("Docker engine: a socket path, unix://, tcp:// or http(s):// address. Default: $DOCKER_HOST, else /var/run/docker.sock."),
    image: z
      .string()
      .min(1)
      .optional()
      .describe("A prebuilt image holding node, the project and its node_modules: nothing is built. Excludes the build settings."),
    projectRootInImage: z
      .string()
      .startsWith("/")
      .optional()
      .describe("Where the project is inside `image` (default: the same absolute path as on this machine, as orch builds it)."),
    baseImage: z
      .string()
      .min(1)
      .default("node:20-bookworm-slim")
      .describe("Image the step image is built FROM (needs `node` on PATH); also the image run in mountSource mode."),
    dockerfileLines: z.array(z.string()).default([]).describe("Extra Dockerfile lines after FROM, e.g. RUN apt-get install -y libgomp1."),
    installCommand: z
      .string()
      .min(1)
      .optional()
      .describe("Command run in the project folder after its files are copied (e.g. `npm ci --omit=dev`); node_modules are copied from the host otherwise."),
    buildArgs: envSchema.default({}).describe("Build args (ARG) for the Dockerfile lines."),
    imageName: z
      .string()
      .regex(/^[a-z0-9]+([._/-][a-z0-9]+)*$/, "must be a lower-case Docker repository name")
      .optional()
      .describe("Repository of built images; the tag is the content hash. Default: orch-<project folder>."),
    keepImages: z
      .number()
      .int()
      .min(0)
      .default(5)
      .describe("After a build, keep this many images of the project (newest first) and remove older unused ones; 0 keeps all."),
    includeDevDependencies: z.boolean().default(false).describe("Copy the project's devDependencies into the image too (tsx always is)."),
    precompile: z
      .boolean()
      .default(true)
      .describe(
        "Compile the pipeline's modules and @orch/core to one JavaScript bundle at submit (esbuild), so step containers start without a TypeScript loader. Not with a prebuilt `image`.",
      ),
    mountSource: z
      .boolean()
      .default(false)
      .describe("Development mode: bind-mount the project and its node_modules read-only instead of building an image."),
    env: envSchema.default({}).describe("Environment variables for every step container."),
    volumes: z
      .array(z.string().regex(/^[^:]+:\/[^:]*(:(ro|rw))?$/, 'expected "host-path:/container/path[:ro|rw]"'))
      .default([])
      .describe('Extra bind mounts, "host-path:/container/path[:ro|rw]".'),
    user: z
      .string()
      .min(1)
      .optional()
      .describe("User the steps run as (uid[:gid] or name). Default: this process's uid:gid, so files in the artifact store stay yours."),
    network: z.enum(["host", "none"]).default("host").describe("Container network: the host's, or none (no network at all)."),
    shmSize: memory("Size of /dev/shm in each container, e.g. 1GB (Docker's default is 64MB).").optional(),
    gpus: gpusSchema.optional(),
    maxParallelism: z.number().int().min(1).default(4).describe("How many step containers run at once."),
    executionMode: z
      .enum(["fail-fast", "continue-on-failure"])
      .optional()
      .describe("Overrides the pipeline's execution mode for runs on this orchestrator."),
    timeoutGraceSeconds: z
      .number()
      .int()
      .min(0)
      .default(30)
      .describe(
        "For steps with a `timeout`: seconds beyond all attempts' timeouts and retry delays after which the container is killed (a step function that ignores its abort signal would otherwise keep it alive).",
      ),
    removeContainers: z.boolean().default(true).describe("Remove each step container after it ended (false keeps them for docker inspect)."),
    stopGraceSeconds: z.number().int().min(0).default(10).describe("On stop, seconds a step gets after SIGTERM before it is killed."),
  })
  .strict()
  .superRefine((config, ctx) => {
    if (config.image && (config.mountSource || config.installCommand || config.dockerfileLines.length > 0 || Object.keys(config.buildArgs).length > 0)) {
      ctx.addIssue({
        code: "custom",
        path: ["image"],
        message: "a prebuilt `image` cannot be combined with build settings (mountSource, installCommand, dockerfileLines, buildArgs)",
      });
    }
  });

export type LocalDockerOrchestratorConfig = z.output<typeof configSchema>;

/** Per-step settings: `settings: { local_docker: { env: { … }, shmSize: "1GB" } }`. */
export const settingsSchema = z
  .object({
    env: envSchema.optional().describe("Extra environment variables for this step's container."),
    shmSize: memory("Size of /dev/shm for this step's container.").optional(),
    gpus: gpusSchema.optional(),
  })
  .strict();

export type LocalDockerStepSettings = z.output<typeof settingsSchema>;
