import { z } from 'zod';

/**
 * Event contracts shared by publishers and consumers: one vocabulary for the
 * pub/sub component, topics, CloudEvent types and payload schemas.
 */
export const PUBSUB_COMPONENT = 'events';

export const Topics = {
  patients: 'patients',
  doctors: 'doctors',
  appointments: 'appointments',
  invoices: 'invoices',
  /**
   * The one audit topic of before the per-service topics (auditTopic): nobody publishes it any
   * more; analytics-service still drains what an existing deployment left on it.
   */
  audit: 'audit',
  /** auth-service's account mail requests (verify, reset, invite): ids only, for the mailer. */
  accounts: 'accounts',
} as const;

export type Topic = (typeof Topics)[keyof typeof Topics];

/**
 * The most an event's `data` may weigh, serialized as JSON (bytes). Refused at the write above
 * it (413), so whatever a bulk delivery brings fits the subscriber's body limit
 * (`deliveryBodyLimit`): a batch that the app cannot take would be retried whole and then
 * dead-lettered entry by entry. Kafka's own limit (1 MB per message) is far above.
 */
export const MAX_EVENT_DATA_BYTES = 64 * 1024;
/** What daprd wraps around `data` in a delivery: CloudEvent attributes, trace context, a bulk entry's id and metadata. */
export const EVENT_ENVELOPE_BYTES = 4 * 1024;
/**
 * The most events daprd hands a subscription route at once. Every Subscription's
 * `bulkSubscribe.maxMessagesCount` stays at or under it (a unit test reads the YAML).
 */
export const MAX_DELIVERY_BATCH = 200;
/** The body limit of a subscription route: its largest batch of the largest events a contract allows. */
export const deliveryBodyLimit = (batchSize = MAX_DELIVERY_BATCH) => batchSize * (MAX_EVENT_DATA_BYTES + EVENT_ENVELOPE_BYTES);

/**
 * The services that record access to patient data in the audit trail through their outbox, each
 * on a topic of its own (auditTopic) that only it may publish: the topic a delivered entry came
 * from names the service that wrote it, whatever the entry itself says.
 */
export const AUDIT_PUBLISHERS = ['patient-service', 'appointment-service', 'billing-service', 'notification-service'] as const;
const AUDIT_TOPIC_PREFIX = `${Topics.audit}.`;
/** `audit.<app-id>`: the audit entries of one service. */
export const auditTopic = (appId: string) => `${AUDIT_TOPIC_PREFIX}${appId}`;
/** The app-id whose audit topic this is; undefined for any other topic (the old `audit` among them). */
export function auditPublisherOf(topic: string | undefined): string | undefined {
  return topic?.startsWith(AUDIT_TOPIC_PREFIX) && topic.length > AUDIT_TOPIC_PREFIX.length
    ? topic.slice(AUDIT_TOPIC_PREFIX.length)
    : undefined;
}

/** One dead-letter topic per subscription: a subscriber's failures are its own, drained by it alone. */
export const deadLetterTopic = (topic: string, subscriber: string) => `${topic}.${subscriber}.dlq`;

/** `caregrid.<aggregate>.<verb>.v<version>`, e.g. `caregrid.appointment.paid.v1`. */
export const eventType = (aggregate: string, verb: string, version = 1) => `caregrid.${aggregate}.${verb}.v${version}`;

/** CloudEvents 1.0 envelope as Dapr delivers it (Dapr adds its own extension fields). */
export const cloudEventSchema = z.looseObject({
  specversion: z.literal('1.0'),
  id: z.string().min(1),
  source: z.string().min(1),
  type: z.string().min(1),
  time: z.string().optional(),
  subject: z.string().optional(),
  datacontenttype: z.string().optional(),
  topic: z.string().optional(),
  traceparent: z.string().optional(),
  data: z.unknown(),
});

export type CloudEvent<T = unknown> = {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time?: string;
  subject?: string;
  datacontenttype?: string;
  topic?: string;
  traceparent?: string;
  data: T;
  /** Dapr's own extension attributes (pubsubname, traceid…). */
  [extension: string]: unknown;
};

export type EventContract<S extends z.ZodType> = {
  type: string;
  topic: string;
  data: S;
  /** Validates a delivered CloudEvent: right type, payload matching the schema. */
  parse: (event: unknown) => CloudEvent<z.output<S>>;
};

export class ContractViolation extends Error {
  constructor(
    readonly eventType: string,
    readonly issues: { path: string; message: string }[],
  ) {
    super(`event does not match ${eventType}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`);
    this.name = 'ContractViolation';
  }
}

export function defineEvent<S extends z.ZodType>(definition: {
  aggregate: string;
  verb: string;
  topic: string;
  data: S;
  version?: number;
}): EventContract<S> {
  const type = eventType(definition.aggregate, definition.verb, definition.version);
  const envelope = cloudEventSchema.extend({ type: z.literal(type), data: definition.data });
  return {
    type,
    topic: definition.topic,
    data: definition.data,
    parse(event) {
      const result = envelope.safeParse(event);
      if (!result.success) {
        throw new ContractViolation(
          type,
          result.error.issues.map((issue) => ({ path: issue.path.join('.') || '(root)', message: issue.message })),
        );
      }
      return result.data as CloudEvent<z.output<S>>;
    },
  };
}
