/** Building blocks the screens share: loading and error states, messages, appointment rows and their mail, booking. */
import { SERVICE_TYPES } from '@caregrid/contracts/vocabulary';
import type { AppointmentRecord as Appointment, DoctorView as Doctor } from '@caregrid/contracts';
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { api, ApiError, resendVerification } from './api.js';
import { calendarDay, describeNotice, formatDay, formatMoney, formatTime, type AppointmentNotice } from './format.js';

// The services' answers as their contracts declare them (type-only: nothing of zod reaches the bundle).
export type { Appointment, Doctor };
export type Page<T> = { items: T[]; nextCursor: string | null };

export const message = (error: unknown) => (error instanceof Error ? error.message : String(error));

/** Loads on mount and whenever a dependency changes; `reload` runs it again. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[]): { data?: T; error?: string; loading: boolean; reload: () => void } {
  const [state, setState] = useState<{ data?: T; error?: string; loading: boolean }>({ loading: true });
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    setState((s) => ({ ...s, loading: true }));
    load().then(
      (data) => live && setState({ data, loading: false }),
      (error: unknown) => live && setState({ error: message(error), loading: false }),
    );
    return () => {
      live = false;
    };
  }, [...deps, round]);
  return { ...state, reload: useCallback(() => setRound((r) => r + 1), []) };
}

/** A message announced to screen readers; errors interrupt (alert), successes wait (status). */
export function Notice({ kind, children }: { kind: 'error' | 'ok'; children: ComponentChildren }) {
  return (
    <p class={`notice notice-${kind}`} role={kind === 'error' ? 'alert' : 'status'}>
      {children}
    </p>
  );
}

export function Loading({ loading, error }: { loading: boolean; error?: string }) {
  if (error) return <Notice kind="error">{error}</Notice>;
  return loading ? (
    <p class="muted" aria-live="polite">
      Loading…
    </p>
  ) : null;
}

/** Runs an action, keeps its outcome in words, and disables its button while it runs. */
export function useAction(): {
  busy: boolean;
  outcome?: { kind: 'error' | 'ok'; text: string };
  run: (action: () => Promise<string | void>) => Promise<void>;
} {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<{ kind: 'error' | 'ok'; text: string }>();
  const run = useCallback(async (action: () => Promise<string | void>) => {
    setBusy(true);
    setOutcome(undefined);
    try {
      const text = await action();
      if (text) setOutcome({ kind: 'ok', text });
    } catch (error) {
      setOutcome({ kind: 'error', text: error instanceof ApiError || error instanceof Error ? error.message : String(error) });
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, outcome, run };
}

export function Outcome({ outcome }: { outcome?: { kind: 'error' | 'ok'; text: string } }) {
  return outcome ? <Notice kind={outcome.kind}>{outcome.text}</Notice> : null;
}

const STATUS_LABEL: Record<Appointment['status'], string> = {
  booked: 'Booked',
  'checked-in': 'Checked in',
  fulfilled: 'Fulfilled',
  cancelled: 'Cancelled',
  noshow: 'No-show',
};

export function StatusBadge({ status }: { status: Appointment['status'] }) {
  return <span class={`badge badge-${status}`}>{STATUS_LABEL[status]}</span>;
}

/** Appointments as a list of cards (reads well at phone width), each with what the screen adds (`details`) and its actions. */
export function AppointmentList({
  items,
  show,
  details,
  actions,
  empty = 'No appointments.',
}: {
  items: Appointment[];
  show: 'patient' | 'doctor' | 'both';
  details?: (appointment: Appointment) => ComponentChildren;
  actions?: (appointment: Appointment) => ComponentChildren;
  empty?: string;
}) {
  if (!items.length) return <p class="muted">{empty}</p>;
  return (
    <ul class="cards">
      {items.map((a) => (
        <li key={a.id} class="card" data-appointment={a.id}>
          <div class="card-head">
            <strong>
              <time dateTime={a.start}>
                {formatDay(calendarDay(new Date(a.start)))} {formatTime(a.start)}–{formatTime(a.end)}
              </time>
            </strong>
            <StatusBadge status={a.status} />
          </div>
          <div>
            {show !== 'doctor' && <span>{a.patientName}</span>}
            {show === 'both' && <span> with </span>}
            {show !== 'patient' && (
              <span>
                {a.doctorName} <span class="muted">({a.specialization})</span>
              </span>
            )}
          </div>
          <div class="muted">
            {a.serviceType} · {formatMoney(a.amount, a.currency)}
            {a.payment ? ` · paid (${a.payment.method})` : ''}
          </div>
          {details?.(a)}
          {actions && <div class="actions">{actions(a)}</div>}
        </li>
      ))}
    </ul>
  );
}

/** The mail about one appointment, in words; skipped notices (no longer true) are left out. */
export function NoticeList({ notices }: { notices: AppointmentNotice[] }) {
  const lines = notices.flatMap((notice) => {
    const text = describeNotice(notice);
    return text ? [{ notice, text }] : [];
  });
  if (!lines.length) return <p class="muted mail-none">No mail yet.</p>;
  return (
    <ul class="mail" aria-label="Mail about this appointment">
      {lines.map(({ notice, text }) => (
        <li key={notice.id} class={`mail-${notice.status}`}>
          {text}
        </li>
      ))}
    </ul>
  );
}

function LoadedNotices({ appointmentId }: { appointmentId: string }) {
  const list = useLoad(
    () => api<Page<AppointmentNotice>>('GET', `/notifications?appointmentId=${appointmentId}&limit=100`),
    [appointmentId],
  );
  return (
    <>
      <Loading loading={list.loading} error={list.error} />
      {list.data && <NoticeList notices={list.data.items} />}
    </>
  );
}

/** Staff views: an appointment's mail, read when opened (a day's schedule does not ask for every card's). */
export function NoticesOnDemand({ appointmentId }: { appointmentId: string }) {
  const [open, setOpen] = useState(false);
  return (
    <details class="mail-details" onToggle={(event) => setOpen(event.currentTarget.open)}>
      <summary>Mail to the patient</summary>
      {open && <LoadedNotices appointmentId={appointmentId} />}
    </details>
  );
}

/** The booking refusal of an account whose address is not confirmed yet, with a way to get a new link. */
export function EmailNotVerified() {
  const resend = useAction();
  return (
    <div class="panel">
      <Notice kind="error">
        Please confirm your email address before booking: follow the link in the mail we sent you when you signed up.
      </Notice>
      <button
        type="button"
        class="secondary"
        disabled={resend.busy}
        onClick={() => void resend.run(async () => (await resendVerification()).detail)}
      >
        Resend the confirmation mail
      </button>
      <Outcome outcome={resend.outcome} />
    </div>
  );
}

const EMAIL_NOT_VERIFIED = 'urn:caregrid:problem:email-not-verified';
export const isEmailNotVerified = (error: unknown) => error instanceof ApiError && error.problem?.type === EMAIL_NOT_VERIFIED;

export type Slot = { start: string; end: string };

/**
 * A doctor's free slots on a chosen day (from the API: working hours minus bookings), each a
 * button; `children` join the day in its row. After a pick, whatever its outcome, the slots are
 * read again (a slot taken meanwhile disappears).
 */
export function SlotPicker({
  doctorId,
  initialDay = calendarDay(new Date()),
  busy,
  onPick,
  children,
}: {
  doctorId: string;
  initialDay?: string;
  busy: boolean;
  onPick: (slot: Slot) => Promise<void>;
  children?: ComponentChildren;
}) {
  const [day, setDay] = useState(initialDay);
  const slots = useLoad(() => api<{ slots: Slot[] }>('GET', `/appointments/slots?doctorId=${doctorId}&date=${day}`), [doctorId, day]);
  const pick = (slot: Slot) => void onPick(slot).finally(slots.reload);
  return (
    <>
      <div class="row">
        <label>
          Day
          <input type="date" value={day} min={calendarDay(new Date())} onInput={(e) => setDay(e.currentTarget.value)} />
        </label>
        {children}
      </div>
      <Loading loading={slots.loading} error={slots.error} />
      {slots.data && (
        <fieldset class="slots">
          <legend>Free slots on {formatDay(day)}</legend>
          {slots.data.slots.length ? (
            slots.data.slots.map((slot) => (
              <button type="button" key={slot.start} disabled={busy} onClick={() => pick(slot)}>
                {formatTime(slot.start)}
              </button>
            ))
          ) : (
            <p class="muted">No free slot on this day.</p>
          )}
        </fieldset>
      )}
    </>
  );
}

/**
 * Choose a doctor's free slot on a day and book it: the slots come from the
 * API (working hours minus bookings); the price is the doctor's tariff.
 */
export function BookSlot({ patientId, doctor, onBooked }: { patientId: string; doctor: Doctor; onBooked: (a: Appointment) => void }) {
  const services = SERVICE_TYPES.filter((s) => doctor.fees[s] !== undefined);
  const [serviceType, setServiceType] = useState(services[0] ?? '');
  const [unconfirmed, setUnconfirmed] = useState(false);
  const booking = useAction();
  const book = (slot: Slot) =>
    booking.run(async () => {
      setUnconfirmed(false);
      // Taken meanwhile (409) or otherwise refused: the picker shows the slots as they are now.
      const booked = await api<Appointment>(
        'POST',
        '/appointments',
        {
          patientId,
          doctorId: doctor.id,
          start: slot.start,
          end: slot.end,
          serviceType,
        },
        { idempotent: true },
      ).catch((error: unknown) => {
        // Said once, with its remedy, instead of the general refusal.
        if (isEmailNotVerified(error)) setUnconfirmed(true);
        throw error;
      });
      onBooked(booked);
      return `Booked ${formatDay(calendarDay(new Date(booked.start)))} ${formatTime(booked.start)} with ${booked.doctorName} (${formatMoney(booked.amount, booked.currency)}).`;
    });
  return (
    <section aria-labelledby="book-heading" class="panel">
      <h3 id="book-heading">Book with {doctor.name}</h3>
      {!services.length ? (
        <Notice kind="error">This doctor offers no bookable service.</Notice>
      ) : (
        <SlotPicker doctorId={doctor.id} busy={booking.busy} onPick={book}>
          <label>
            Service
            <select value={serviceType} onChange={(e) => setServiceType(e.currentTarget.value)}>
              {services.map((s) => (
                <option key={s} value={s}>
                  {s} ({formatMoney(doctor.fees[s]!, doctor.currency)})
                </option>
              ))}
            </select>
          </label>
        </SlotPicker>
      )}
      {unconfirmed ? <EmailNotVerified /> : <Outcome outcome={booking.outcome} />}
    </section>
  );
}
