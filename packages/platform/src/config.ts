import { z } from 'zod';

/**
 * Settings every service reads from its environment. Only its own port, its
 * sidecar's ports and component *names*: peers, brokers and credentials are
 * Dapr's business (components/ YAML and the secret store).
 */
export const baseConfigSchema = z.object({
  APP_ID: z.string().min(1),
  // The Dapr CLI and our launcher both export APP_PORT / DAPR_HTTP_PORT to the app.
  APP_PORT: z.coerce.number().int().min(1).max(65535),
  // Loopback by default (the sidecar shares the host); 0.0.0.0 where probes come from outside (Kubernetes).
  APP_BIND_ADDRESS: z.string().default('127.0.0.1'),
  DAPR_HTTP_PORT: z.coerce.number().int().min(1).max(65535),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SECRET_STORE_NAME: z.string().min(1).default('secretstore'),
  PUBSUB_NAME: z.string().min(1).default('events'),
  SHUTDOWN_TIMEOUT_MS: z.coerce.number().int().positive().default(10_000),
  // After SIGTERM, how long /readyz answers 503 while requests are still served, so load
  // balancers (the kubelet's readiness probe, the sidecar) stop sending before the listener
  // closes. 0 locally (nothing routes by readiness); Compose and Kubernetes set it.
  SHUTDOWN_DRAIN_MS: z.coerce.number().int().min(0).default(0),
  // Set (equal to its sidecar's) where the app's port is reachable from the network: then only
  // requests carrying it (dapr-api-token) are served. The gateway, the public entry, has none.
  APP_API_TOKEN: z.string().min(16).optional(),
  // Outbox relay: how long a claim on a batch lasts (a dead replica's rows wait that long), and
  // how many failed publishes (with the broker otherwise working) park an event.
  OUTBOX_CLAIM_MS: z.coerce.number().int().min(1_000).default(30_000),
  OUTBOX_MAX_ATTEMPTS: z.coerce.number().int().min(1).default(5),
  // A subscriber looks for due dead letters this often and re-drives them (each with its own
  // backoff, see events/dead-letters.ts); 0 leaves them to an admin.
  DEAD_LETTER_REDRIVE_MS: z.coerce.number().int().min(0).default(5_000),
});

export type BaseConfig = z.infer<typeof baseConfigSchema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

/**
 * Parses the environment against the base schema, extended with the service's
 * own settings. Fails fast with one readable message naming every bad variable.
 */
export function loadConfig<Extra extends z.ZodRawShape = Record<never, never>>(
  extra?: Extra,
  env: NodeJS.ProcessEnv = process.env,
): z.infer<typeof baseConfigSchema> & z.infer<z.ZodObject<Extra>> {
  const schema = baseConfigSchema.extend(extra ?? ({} as Extra));
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((issue) => {
        const name = issue.path.join('.') || '(environment)';
        const value = env[name];
        return value === undefined ? `${name}: ${issue.message} (not set)` : `${name}: ${issue.message} (got "${value}")`;
      }),
    );
  }
  return parsed.data as z.infer<typeof baseConfigSchema> & z.infer<z.ZodObject<Extra>>;
}
