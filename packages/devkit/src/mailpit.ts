import { localMailpit } from './paths.js';

/** A message as Mailpit's list and search answer it. */
export type MailpitSummary = {
  ID: string;
  From: { Name: string; Address: string };
  To: { Name: string; Address: string }[];
  Subject: string;
  /** The SMTP user the sender logged in as (infra.sh starts Mailpit with --tags-username), among others. */
  Tags: string[];
};

/** A whole message (GET /api/v1/message/<id>). */
export type MailpitMessage = MailpitSummary & { HTML: string; Text: string };

/** An SMTP answer Mailpit gives on demand (chaos): `errorCode` with `probability` percent. */
export type ChaosTrigger = { errorCode: number; probability: number };

/**
 * Tests' view of a Mailpit (default: infra/infra.sh's, ports from infra.env) through its HTTP
 * API: what arrived, and chaos, which makes its SMTP server refuse senders or recipients.
 */
export function mailpit(apiUrl = localMailpit().apiUrl) {
  const call = async (method: string, route: string, body?: unknown): Promise<unknown> => {
    const response = await fetch(`${apiUrl}/api/v1${route}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (!response.ok) throw new Error(`Mailpit ${method} ${route}: ${response.status} ${text}`);
    return text && response.headers.get('content-type')?.includes('json') ? JSON.parse(text) : text;
  };
  const trigger = (t?: ChaosTrigger) => (t ? { ErrorCode: t.errorCode, Probability: t.probability } : undefined);
  return {
    apiUrl,
    /** The messages to one address, newest first (Mailpit's search, `to:`). */
    async messagesTo(address: string): Promise<MailpitSummary[]> {
      const found = (await call('GET', `/search?query=${encodeURIComponent(`to:"${address}"`)}`)) as { messages: MailpitSummary[] };
      return found.messages;
    },
    message: async (id: string) => (await call('GET', `/message/${encodeURIComponent(id)}`)) as MailpitMessage,
    /** Deletes the given messages, or every message when none are given. */
    async deleteMessages(ids: string[] = []): Promise<void> {
      await call('DELETE', '/messages', ids.length ? { IDs: ids } : {});
    },
    /** Sets the chaos triggers: an omitted one (and so `setChaos({})`) fails nothing. */
    async setChaos(triggers: { sender?: ChaosTrigger; recipient?: ChaosTrigger; authentication?: ChaosTrigger }): Promise<void> {
      await call('PUT', '/chaos', {
        Sender: trigger(triggers.sender),
        Recipient: trigger(triggers.recipient),
        Authentication: trigger(triggers.authentication),
      });
    },
  };
}

export type Mailpit = ReturnType<typeof mailpit>;
