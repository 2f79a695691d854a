/**
 * Idempotency-Keys for the app's writes that take one (a booking, a payment, a patient's
 * registration): one key per intent — the same call with the same body — kept until the API gives
 * a definite answer. So a user who presses the button again after a timeout or a lost connection
 * sends the same key and gets the first answer (never a second booking), while a changed form is a
 * new intent with a new key. Pure: unit-tested.
 */
export class IntentKeys {
  private readonly pending = new Map<string, string>();

  constructor(private readonly newKey: () => string = randomKey) {}

  /** The key of this intent: the one still pending for it, or a new one. */
  keyFor(method: string, path: string, body: unknown): { intent: string; key: string } {
    const intent = `${method} ${path} ${JSON.stringify(body)}`;
    const key = this.pending.get(intent) ?? this.newKey();
    this.pending.set(intent, key);
    return { intent, key };
  }

  /** An answer below 500 is definite: the next such call is a new intent. A 5xx or none (0) keeps the key for a retry. */
  settle(intent: string, status: number): void {
    if (status > 0 && status < 500) this.pending.delete(intent);
  }
}

/** 128 random bits; crypto.randomUUID exists only in secure contexts (HTTPS, localhost), getRandomValues everywhere. */
function randomKey(): string {
  return [...crypto.getRandomValues(new Uint8Array(16))].map((b) => b.toString(16).padStart(2, '0')).join('');
}
