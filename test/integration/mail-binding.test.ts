/**
 * The `mail` output binding (components/mail.yaml, bindings.smtp registered in our daprd build)
 * against the real Mailpit of infra/infra.sh: a sidecar whose secret store holds what
 * provisioning writes for an app that sends mail (server, login, sender) delivers an HTML mail,
 * read back through Mailpit's HTTP API. With Mailpit's chaos answering 451 to recipients, the
 * binding call fails (a retryable refusal for notification-service), and the same call succeeds
 * once the server accepts again.
 */
import { createServer, type Server } from 'node:http';
import {
  eventually,
  freePort,
  localMailpit,
  mailpit,
  provisionServiceSecrets,
  renderResources,
  startTestSidecar,
  uniqueName,
  type RunningSidecar,
} from '@caregrid/devkit';

const appId = uniqueName('notification-service');
const server = mailpit();
let app: Server;
let sidecar: RunningSidecar;

/** POST /v1.0/bindings/mail as notification-service will: HTML body, recipient and subject per mail. */
async function sendMail(to: string, subject: string, html: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${sidecar.httpPort}/v1.0/bindings/mail`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ operation: 'create', data: html, metadata: { emailTo: to, subject } }),
  });
  return { status: response.status, body: await response.text() };
}

const recipient = () => `${uniqueName('patient')}@example.org`;

beforeAll(async () => {
  const port = await freePort();
  app = createServer((req, res) => res.writeHead(req.url === '/healthz' ? 200 : 404).end()).listen(port, '127.0.0.1');
  const resources = renderResources({ components: ['components/secretstore.yaml', 'components/mail.yaml'], scopes: [appId] });
  // What the launcher writes for an app with CAREGRID_SENDS_MAIL (the secret is named after the real app-id).
  await provisionServiceSecrets([{ appId: 'notification-service', env: { CAREGRID_SENDS_MAIL: 'true' } }], resources.secretsFile);
  sidecar = await startTestSidecar({ appId, appPort: port, resourcesDir: resources.dir, secretsFile: resources.secretsFile });
});

afterAll(async () => {
  await server.setChaos({}).catch(() => undefined);
  await sidecar?.stop();
  await new Promise((resolve) => app?.close(resolve));
});

describe('mail through the SMTP binding', () => {
  it('delivers an HTML mail to the recipient, from the sender and with the login of the secret store', async () => {
    const to = recipient();
    const subject = `Your appointment tomorrow ${uniqueName('at')}`;
    const html = '<html><body><h1>Reminder</h1><p>Dr. Grey, <b>09:30</b>, room 4.</p></body></html>';

    const sent = await sendMail(to, subject, html);
    expect(sent.status).toBeLessThan(300);

    const [summary, ...others] = await eventually(async () => {
      const found = await server.messagesTo(to);
      return found.length ? found : undefined;
    });
    expect(others).toEqual([]);
    const message = await server.message(summary!.ID);
    expect(message.To.map((a) => a.Address)).toEqual([to]);
    expect(message.From.Address).toBe(localMailpit().sender);
    expect(message.Subject).toBe(subject);
    expect(message.HTML).toContain('<p>Dr. Grey, <b>09:30</b>, room 4.</p>');
    // Mailpit tags a message with the SMTP user it was sent as: the login reached the server.
    expect(message.Tags).toContain('notification-service');
    await server.deleteMessages([message.ID]);
  });

  it('fails the call while the server answers 451, and the same call succeeds once it accepts again', async () => {
    const to = recipient();
    const subject = `Password reset ${uniqueName('at')}`;
    await server.setChaos({ recipient: { errorCode: 451, probability: 100 } });
    try {
      const refused = await sendMail(to, subject, '<p>Reset your password</p>');
      // daprd answers a binding error with 500 ERR_INVOKE_OUTPUT_BINDING and the SMTP reply.
      expect(refused.status).toBe(500);
      expect(JSON.parse(refused.body)).toMatchObject({ errorCode: 'ERR_INVOKE_OUTPUT_BINDING' });
      expect(refused.body).toContain('451');
    } finally {
      await server.setChaos({});
    }
    expect(await server.messagesTo(to)).toEqual([]);

    const retried = await sendMail(to, subject, '<p>Reset your password</p>');
    expect(retried.status).toBeLessThan(300);
    const found = await eventually(async () => {
      const messages = await server.messagesTo(to);
      return messages.length ? messages : undefined;
    });
    expect(found.map((m) => m.Subject)).toEqual([subject]);
    await server.deleteMessages(found.map((m) => m.ID));
  });
});
