/** Patient: own appointments (their mail; cancel, move), booking a free slot by specialization, own invoices, settings. */
import { SPECIALIZATIONS } from '@caregrid/contracts/vocabulary';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, download, resendVerification, type Me } from '../api.js';
import { calendarDay, formatDay, formatMoney, formatTime, type AppointmentNotice } from '../format.js';
import {
  AppointmentList,
  BookSlot,
  Loading,
  NoticeList,
  Notice,
  Outcome,
  SlotPicker,
  useAction,
  useLoad,
  type Appointment,
  type Doctor,
  type Page,
  type Slot,
} from '../ui.js';

function Cancel({ appointment, changed }: { appointment: Appointment; changed: () => void }) {
  const [asking, setAsking] = useState(false);
  const [reason, setReason] = useState('');
  const action = useAction();
  const reasonField = useRef<HTMLInputElement>(null);
  // Opening the form moves focus into it; closing it is the person's own Tab away.
  useEffect(() => {
    if (asking) reasonField.current?.focus();
  }, [asking]);
  if (appointment.status !== 'booked') return null;
  const confirm = (event: Event) => {
    event.preventDefault();
    void action.run(async () => {
      await api('POST', `/appointments/${appointment.id}/status`, { status: 'cancelled', reason });
      changed();
      return 'Cancelled.';
    });
  };
  return asking ? (
    <form class="inline" onSubmit={confirm}>
      <label>
        Reason for cancelling
        <input value={reason} required maxLength={1000} onInput={(e) => setReason(e.currentTarget.value)} ref={reasonField} />
      </label>
      <button type="submit" disabled={action.busy}>
        Confirm cancellation
      </button>
      <button type="button" class="secondary" onClick={() => setAsking(false)}>
        Keep it
      </button>
      <Outcome outcome={action.outcome} />
    </form>
  ) : (
    <button type="button" onClick={() => setAsking(true)}>
      Cancel appointment
    </button>
  );
}

/** To another free slot of the same doctor; from the version shown, so a move made meanwhile elsewhere is a 409 told in words. */
function Move({ appointment, changed }: { appointment: Appointment; changed: () => void }) {
  const [choosing, setChoosing] = useState(false);
  const action = useAction();
  if (appointment.status !== 'booked') return null;
  const moveTo = (slot: Slot) =>
    action.run(async () => {
      const moved = await api<Appointment>(
        'POST',
        `/appointments/${appointment.id}/reschedule`,
        { start: slot.start, expectedVersion: appointment.version },
        { idempotent: true },
      );
      setChoosing(false);
      changed();
      return `Moved to ${formatDay(calendarDay(new Date(moved.start)))} ${formatTime(moved.start)}.`;
    });
  return (
    <>
      {choosing ? (
        <div class="panel">
          <SlotPicker
            doctorId={appointment.doctorId}
            initialDay={calendarDay(new Date(appointment.start))}
            busy={action.busy}
            onPick={moveTo}
          />
          <button type="button" class="secondary" onClick={() => setChoosing(false)}>
            Keep the time
          </button>
        </div>
      ) : (
        <button type="button" onClick={() => setChoosing(true)}>
          Move appointment
        </button>
      )}
      <Outcome outcome={action.outcome} />
    </>
  );
}

/** Pages of the patient's mail read (a few appointments' worth each) before the list stops asking. */
const NOTICE_PAGES = 5;

/** All of a patient's mail in a few calls (not one per appointment), grouped by appointment. */
async function noticesOf(patientId: string): Promise<Map<string, AppointmentNotice[]>> {
  const byAppointment = new Map<string, AppointmentNotice[]>();
  let cursor: string | null = null;
  for (let page = 0; page < NOTICE_PAGES; page++) {
    const answer: Page<AppointmentNotice> = await api(
      'GET',
      `/notifications?patientId=${patientId}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`,
    );
    for (const notice of answer.items)
      byAppointment.set(notice.appointmentId, [...(byAppointment.get(notice.appointmentId) ?? []), notice]);
    cursor = answer.nextCursor;
    if (!cursor) break;
  }
  return byAppointment;
}

export function MyAppointments({ patientId }: { patientId: string | null }) {
  const list = useLoad(() => api<Page<Appointment>>('GET', '/appointments?limit=100'), []);
  // Mail is an extra: when it cannot be read, the appointments still show (with the reason).
  const notices = useLoad(
    () => (patientId ? noticesOf(patientId) : Promise.resolve(new Map<string, AppointmentNotice[]>())),
    [patientId, list.data],
  );
  return (
    <section aria-labelledby="mine-heading">
      <h2 id="mine-heading">My appointments</h2>
      <Loading loading={list.loading} error={list.error} />
      {notices.error && <Notice kind="error">Your mail about appointments cannot be shown right now: {notices.error}</Notice>}
      {list.data && (
        <AppointmentList
          items={list.data.items}
          show="doctor"
          empty="You have no appointments yet."
          details={(a) => notices.data && <NoticeList notices={notices.data.get(a.id) ?? []} />}
          actions={(a) => (
            <>
              <Move appointment={a} changed={list.reload} />
              <Cancel appointment={a} changed={list.reload} />
            </>
          )}
        />
      )}
    </section>
  );
}

export function Book({ patientId }: { patientId: string | null }) {
  const [specialization, setSpecialization] = useState('');
  const [doctorId, setDoctorId] = useState('');
  const doctors = useLoad(
    () =>
      specialization
        ? api<Page<Doctor>>('GET', `/doctors?specialization=${specialization}&accepting=true&limit=100`)
        : Promise.resolve({ items: [], nextCursor: null }),
    [specialization],
  );
  const doctor = doctors.data?.items.find((d) => d.id === doctorId);
  if (!patientId) return <p class="notice notice-error">Your account is not linked to a patient record yet: ask the reception.</p>;
  return (
    <section aria-labelledby="book-page-heading">
      <h2 id="book-page-heading">Book an appointment</h2>
      <div class="row">
        <label>
          Specialization
          <select
            value={specialization}
            onChange={(e) => {
              setSpecialization(e.currentTarget.value);
              setDoctorId('');
            }}
          >
            <option value="">Choose…</option>
            {SPECIALIZATIONS.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </label>
        {specialization && (
          <label>
            Doctor
            <select value={doctorId} onChange={(e) => setDoctorId(e.currentTarget.value)}>
              <option value="">{doctors.data?.items.length ? 'Choose a doctor…' : 'No doctor available'}</option>
              {doctors.data?.items.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name}
                </option>
              ))}
            </select>
          </label>
        )}
      </div>
      <Loading loading={doctors.loading} error={doctors.error} />
      {doctor && <BookSlot key={doctor.id} patientId={patientId} doctor={doctor} onBooked={() => {}} />}
    </section>
  );
}

type Invoice = { id: string; number: string; gross: number; currency: string; status: string; issuedAt: string; doctor: { name: string } };

export function MyInvoices() {
  const list = useLoad(() => api<Page<Invoice>>('GET', '/billing/invoices?limit=100'), []);
  const action = useAction();
  return (
    <section aria-labelledby="invoices-heading">
      <h2 id="invoices-heading">My invoices</h2>
      <Loading loading={list.loading} error={list.error} />
      {list.data && !list.data.items.length && <p class="muted">No invoices yet.</p>}
      {list.data && list.data.items.length > 0 && (
        // Scrolls on its own at phone width (focusable, so the keyboard scrolls it too); the page does not.
        <div class="table-wrap" tabIndex={0} role="region" aria-label="Your invoices">
          <table>
            <caption class="sr-only">Your invoices</caption>
            <thead>
              <tr>
                <th scope="col">Number</th>
                <th scope="col">Issued</th>
                <th scope="col">Doctor</th>
                <th scope="col">Amount</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="sr-only">Download</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((invoice) => (
                <tr key={invoice.id}>
                  <td>{invoice.number}</td>
                  <td>{invoice.issuedAt.slice(0, 10)}</td>
                  <td>{invoice.doctor.name}</td>
                  <td>{formatMoney(invoice.gross, invoice.currency)}</td>
                  <td>{invoice.status}</td>
                  <td>
                    <button
                      type="button"
                      disabled={action.busy}
                      onClick={() =>
                        void action.run(
                          async () => `Downloaded ${await download(`/billing/invoices/${invoice.id}/pdf`, `${invoice.number}.pdf`)}.`,
                        )
                      }
                    >
                      PDF <span class="sr-only">of {invoice.number}</span>
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <Outcome outcome={action.outcome} />
    </section>
  );
}

/**
 * The patient's settings: the address's confirmation (a new link on request) and appointment
 * reminders on or off, as notification-service has them.
 */
export function Settings({ me }: { me: Me }) {
  const [reminders, setReminders] = useState<boolean>();
  const preference = useAction();
  useEffect(() => {
    if (!me.patientId) return;
    // Shown once known; a failed read leaves the choice open rather than guessing.
    void api<{ reminders: boolean }>('GET', '/notifications/preferences').then(
      (current) => setReminders((shown) => shown ?? current.reminders),
      () => undefined,
    );
  }, [me.patientId]);
  const resend = useAction();
  // The choice shows at once; a refusal puts back what was shown before, with the reason.
  const choose = (wanted: boolean) => {
    const before = reminders;
    setReminders(wanted);
    void preference.run(async () => {
      try {
        const saved = await api<{ reminders: boolean }>('PUT', '/notifications/preferences', { reminders: wanted });
        setReminders(saved.reminders);
        return saved.reminders ? 'Reminders are on.' : 'Reminders are off.';
      } catch (error) {
        setReminders(before);
        throw error;
      }
    });
  };
  return (
    <section aria-labelledby="settings-heading">
      <h2 id="settings-heading">Settings</h2>
      <section aria-labelledby="address-heading" class="panel">
        <h3 id="address-heading">Email address</h3>
        <p>{me.email}</p>
        {me.emailVerified ? (
          <p class="muted">Confirmed.</p>
        ) : (
          <>
            <p>Not confirmed yet: you can book once you follow the link we mailed to this address.</p>
            <button
              type="button"
              class="secondary"
              disabled={resend.busy}
              onClick={() => void resend.run(async () => (await resendVerification()).detail)}
            >
              Resend the confirmation mail
            </button>
            <Outcome outcome={resend.outcome} />
          </>
        )}
      </section>
      <section aria-labelledby="reminders-heading" class="panel">
        <h3 id="reminders-heading">Appointment reminders</h3>
        {me.patientId ? (
          <fieldset class="choice">
            <legend>Mail me a reminder before each appointment</legend>
            <label>
              <input type="radio" name="reminders" checked={reminders === true} disabled={preference.busy} onChange={() => choose(true)} />
              Yes, remind me
            </label>
            <label>
              <input
                type="radio"
                name="reminders"
                checked={reminders === false}
                disabled={preference.busy}
                onChange={() => choose(false)}
              />
              No reminders
            </label>
            <p class="muted">Confirmations, cancellation notices and receipts are always mailed.</p>
          </fieldset>
        ) : (
          <p class="muted">Your account is not linked to a patient record yet: ask the reception.</p>
        )}
        <Outcome outcome={preference.outcome} />
      </section>
    </section>
  );
}
