import { describe, expect, it } from '@jest/globals';
import { claimedEventOfRow, parkedEventOfRow } from '../src/data/outbox.js';

describe('outbox row mappers (shared by the PostgreSQL and MySQL stores)', () => {
  const createdAt = new Date('2026-12-08T00:00:00.000Z');

  it('read a row the same whether the driver typed its columns (pg) or gave strings and bigints (mysql2)', () => {
    const typed = {
      id: 'e1',
      topic: 'appointments',
      type: 't',
      subject: 's',
      data: { a: 1 },
      created_at: createdAt,
      attempts: 2,
      traceparent: null,
    };
    const loose = { ...typed, attempts: '2', traceparent: '' };
    expect(claimedEventOfRow(typed)).toEqual({
      id: 'e1',
      topic: 'appointments',
      type: 't',
      subject: 's',
      data: { a: 1 },
      time: createdAt,
      attempts: 2,
      traceparent: undefined,
    });
    expect(claimedEventOfRow(loose)).toEqual(claimedEventOfRow(typed));
  });

  it('a parked row shows no payload, and no error as null', () => {
    const row = {
      id: 7,
      topic: 'x',
      type: 't',
      subject: 's',
      attempts: 8n,
      created_at: createdAt,
      last_error: null,
      parked_at: createdAt,
      held: '3',
    };
    const parked = parkedEventOfRow(row);
    expect(parked).toEqual({
      id: '7',
      topic: 'x',
      type: 't',
      subject: 's',
      attempts: 8,
      lastError: null,
      createdAt: createdAt.toISOString(),
      parkedAt: createdAt.toISOString(),
      held: 3,
    });
    expect(parked).not.toHaveProperty('data');
  });
});
