import { IntentKeys } from '../src/intent-keys.js';

describe('Idempotency-Keys of the app’s writes', () => {
  let n = 0;
  const keys = () => new IntentKeys(() => `key-${++n}`);
  const booking = { patientId: 'p', doctorId: 'd', start: '2027-03-01T09:00:00Z' };

  it('pressing the button again after a timeout or no answer sends the same key; after a definite answer, a new one', () => {
    const k = keys();
    const first = k.keyFor('POST', '/appointments', booking);
    k.settle(first.intent, 504);
    expect(k.keyFor('POST', '/appointments', booking).key).toBe(first.key);
    k.settle(first.intent, 0);
    expect(k.keyFor('POST', '/appointments', booking).key).toBe(first.key);
    k.settle(first.intent, 201);
    expect(k.keyFor('POST', '/appointments', booking).key).not.toBe(first.key);
  });

  it('a changed form is another intent with another key (the API refuses a key reused with another body)', () => {
    const k = keys();
    const first = k.keyFor('POST', '/appointments', booking);
    const other = k.keyFor('POST', '/appointments', { ...booking, start: '2027-03-01T09:30:00Z' });
    expect(other.key).not.toBe(first.key);
    // A refused request (409: the slot was taken) is definite too.
    k.settle(other.intent, 409);
    expect(k.keyFor('POST', '/appointments', { ...booking, start: '2027-03-01T09:30:00Z' }).key).not.toBe(other.key);
  });
});
