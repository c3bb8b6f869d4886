import { secret, z } from "@orch/core/plugin";

export const FLAVOR = "aws";

/** `<account>.dkr.ecr.<region>.amazonaws.com` (also `.com.cn`): the region is part of the host. */
const ECR_HOST = /^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/;

export const configSchema = z
  .object({
    uri: z.string().min(1).describe("ECR registry URI, e.g. 123456789012.dkr.ecr.eu-west-1.amazonaws.com (optionally /namespace); images go to repositories below it."),
    region: z.string().optional().describe("AWS region of the registry. Default: the region in uri."),
    endpoint: z.string().url().optional().describe("ECR API endpoint, for a VPC endpoint or an ECR-compatible server (e.g. http://127.0.0.1:4566). Default: the AWS endpoint of the region."),
    accessKeyId: secret(z.string().optional()).describe("Access key id ({{env.NAME}} reads it at push time). Default: the AWS default credential chain (env, profile, SSO, instance role)."),
    secretAccessKey: secret(z.string().optional()).describe("Secret access key, with accessKeyId."),
    sessionToken: secret(z.string().optional()).describe("Session token of temporary credentials."),
    createRepository: z.boolean().default(true).describe("Create the image's ECR repository when it does not exist yet (ECR refuses pushes to missing repositories)."),
  })
  .strict();

export type AwsRegistryConfig = z.output<typeof configSchema>;

/** The region of an ECR URI, or undefined when the host is not an ECR host. */
export function regionOfUri(uri: string): string | undefined {
  return ECR_HOST.exec(uri.split("/")[0]!)?.[2];
}
