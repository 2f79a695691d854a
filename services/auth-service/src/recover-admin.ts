import { parseArgs } from 'node:util';
import { z } from 'zod';
import { Sidecar, type BaseConfig } from '@caregrid/platform';
import { createPgPool } from '@caregrid/platform/postgres';
import { postgresAccountUseCases } from './app.js';
import { emailAddressSchema } from './domain/users.js';
import type { AccountMailSettings } from './events/account-mail.js';
import type { KeyRing } from './use-cases.js';

const USAGE = 'usage: recover-admin --email <address> [--name <display name>]';

const argsSchema = z.object({
  email: emailAddressSchema,
  name: z.string().trim().min(1).max(200).optional(),
});

// Recovery signs no tokens: the new password is set through the service's reset route.
const NO_KEYS: KeyRing = {
  current: () => {
    throw new Error('recover-admin signs no tokens');
  },
  all: () => [],
};

/**
 * `node dist/main.js recover-admin --email <address>`: the operator's way back in when no admin
 * can sign in. Runs beside the service's sidecar (the same process environment as the service)
 * and reads the database URL from the service's secret as the service does. Prints a link that
 * sets the account's new password; answers the process's exit code.
 */
export async function recoverAdminCommand(argv: string[], config: BaseConfig, mailSettings: AccountMailSettings): Promise<number> {
  let args: z.infer<typeof argsSchema>;
  try {
    const { values } = parseArgs({ args: argv, options: { email: { type: 'string' }, name: { type: 'string' } }, strict: true });
    args = argsSchema.parse(values);
  } catch (error) {
    console.error(`${error instanceof z.ZodError ? z.prettifyError(error) : (error as Error).message}\n${USAGE}`);
    return 2;
  }
  const sidecar = new Sidecar({
    appId: config.APP_ID,
    httpPort: config.DAPR_HTTP_PORT,
    pubsubName: config.PUBSUB_NAME,
    secretStoreName: config.SECRET_STORE_NAME,
  });
  try {
    const { databaseUrl } = await sidecar.getSecret(config.APP_ID);
    if (!databaseUrl) throw new Error(`secret "${config.APP_ID}" has no databaseUrl key`);
    const pool = createPgPool(databaseUrl, { max: 2 });
    try {
      const accounts = postgresAccountUseCases({ db: pool, keys: NO_KEYS, mailSettings });
      const { user, created, link } = await accounts.recoverAdmin(args.email, args.name);
      console.log(
        [
          `${created ? 'created' : 'recovered'} admin account ${user.email} (id ${user.id}, roles ${user.roles.join(', ')}): enabled; no password works for it until a new one is set.`,
          `Set its password before ${link.expiresAt} by opening:`,
          `  ${link.link}`,
          `or with the token: POST /api/auth/password-reset/confirm {"token": "${link.token}", "password": "<new password>"}`,
          'The link works once; running this again replaces it.',
        ].join('\n'),
      );
      return 0;
    } finally {
      await pool.end();
    }
  } catch (error) {
    console.error(`recover-admin failed: ${(error as Error).message}`);
    return 1;
  } finally {
    await sidecar.stop().catch(() => undefined);
  }
}
