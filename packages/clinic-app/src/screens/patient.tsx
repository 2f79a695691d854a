/** Patient: own appointments (cancel, move), booking a free slot by specialization, own invoices. */
import { SPECIALIZATIONS } from '@caregrid/contracts/vocabulary';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, download } from '../api.js';
import { calendarDay, formatDay, formatMoney, formatTime } from '../format.js';
import {
  AppointmentList,
  BookSlot,
  Loading,
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

export function MyAppointments() {
  const list = useLoad(() => api<Page<Appointment>>('GET', '/appointments?limit=100'), []);
  return (
    <section aria-labelledby="mine-heading">
      <h2 id="mine-heading">My appointments</h2>
      <Loading loading={list.loading} error={list.error} />
      {list.data && (
        <AppointmentList
          items={list.data.items}
          show="doctor"
          empty="You have no appointments yet."
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
