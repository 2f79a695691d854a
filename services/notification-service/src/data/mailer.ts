import type { Sidecar } from '@caregrid/platform';

/** Why a send failed, as the mail server (through the binding) or the sidecar put it. */
export class SendFailed extends Error {
  constructor(readonly detail: string) {
    super(detail);
    this.name = 'SendFailed';
  }
}

/** The text of a failure: the SDK's JSON-encoded error (daprd's ERR_INVOKE_OUTPUT_BINDING with the SMTP reply) unwrapped. */
function detailOf(error: unknown): string {
  const cause = (error as { cause?: unknown }).cause ?? error;
  const message = cause instanceof Error ? cause.message : String(cause);
  try {
    const parsed = JSON.parse(message) as { error_msg?: unknown };
    return typeof parsed.error_msg === 'string' ? parsed.error_msg : message;
  } catch {
    return message;
  }
}

/** Mail leaves only through the SMTP output binding (components/mail.yaml): one HTML mail to one recipient. */
export function mailerOver(sidecar: Sidecar, binding: string) {
  return {
    async send(mail: { to: string; subject: string; html: string }): Promise<void> {
      try {
        await sidecar.invokeBinding(binding, 'create', mail.html, { emailTo: mail.to, subject: mail.subject });
      } catch (error) {
        throw new SendFailed(detailOf(error));
      }
    },
  };
}
export type Mailer = ReturnType<typeof mailerOver>;
