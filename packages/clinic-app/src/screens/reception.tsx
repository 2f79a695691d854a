/** Receptionist (and admin): the day's schedule per doctor, finding or registering patients, booking. */
import { PAYMENT_METHODS } from '@caregrid/contracts/vocabulary';
import { useState } from 'preact/hooks';
import { api, download } from '../api.js';
import { calendarDay, formatDay, formatMoney, groupBy, localWindow } from '../format.js';
import {
  AppointmentList,
  BookSlot,
  Loading,
  NoticesOnDemand,
  Outcome,
  useAction,
  useLoad,
  type Appointment,
  type Doctor,
  type Page,
} from '../ui.js';

type Invoice = { id: string; number: string };

function ScheduleActions({ appointment, changed }: { appointment: Appointment; changed: () => void }) {
  const action = useAction();
  const [method, setMethod] = useState<string>('debit');
  const status = (next: string, done: string) =>
    action.run(async () => {
      await api('POST', `/appointments/${appointment.id}/status`, { status: next });
      changed();
      return done;
    });
  const pay = () =>
    action.run(async () => {
      await api('POST', `/appointments/${appointment.id}/payment`, { method, amount: appointment.amount }, { idempotent: true });
      changed();
      return `Payment of ${formatMoney(appointment.amount, appointment.currency)} recorded.`;
    });
  const invoice = () =>
    action.run(async () => {
      const page = await api<Page<Invoice>>('GET', `/billing/invoices?appointmentId=${appointment.id}`);
      const found = page.items[0];
      if (!found) return 'The invoice is being issued: try again in a moment.';
      return `Downloaded ${await download(`/billing/invoices/${found.id}/pdf`, `${found.number}.pdf`)}.`;
    });
  const who = `${appointment.patientName}, ${new Date(appointment.start).toLocaleTimeString()}`;
  return (
    <>
      {appointment.status === 'booked' && (
        <button type="button" disabled={action.busy} onClick={() => void status('checked-in', `${appointment.patientName} is checked in.`)}>
          Check in <span class="sr-only">{who}</span>
        </button>
      )}
      {!appointment.payment &&
        (appointment.status === 'booked' || appointment.status === 'checked-in' || appointment.status === 'fulfilled') && (
          <span class="inline">
            <label>
              Method <span class="sr-only">of payment for {who}</span>
              <select value={method} onChange={(e) => setMethod(e.currentTarget.value)}>
                {PAYMENT_METHODS.map((m) => (
                  <option key={m}>{m}</option>
                ))}
              </select>
            </label>
            <button type="button" disabled={action.busy} onClick={() => void pay()}>
              Record payment <span class="sr-only">for {who}</span>
            </button>
          </span>
        )}
      {appointment.payment && (
        <button type="button" disabled={action.busy} onClick={() => void invoice()}>
          Invoice PDF <span class="sr-only">for {who}</span>
        </button>
      )}
      <Outcome outcome={action.outcome} />
    </>
  );
}

export function Schedule() {
  const [day, setDay] = useState(calendarDay(new Date()));
  const list = useLoad(() => {
    const { from, to } = localWindow(day);
    return api<Page<Appointment>>('GET', `/appointments?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&limit=100`);
  }, [day]);
  const byDoctor = groupBy(list.data?.items ?? [], (a) => a.doctorName);
  return (
    <section aria-labelledby="schedule-heading">
      <h2 id="schedule-heading">Schedule for {formatDay(day)}</h2>
      <label>
        Day
        <input type="date" value={day} onInput={(e) => setDay(e.currentTarget.value)} />
      </label>
      <Loading loading={list.loading} error={list.error} />
      {list.data && !byDoctor.length && <p class="muted">No appointments on this day.</p>}
      {byDoctor.map((bucket) => (
        <section key={bucket.key} aria-label={`Appointments of ${bucket.key}`}>
          <h3>{bucket.key}</h3>
          <AppointmentList
            items={bucket.items}
            show="patient"
            details={(a) => <NoticesOnDemand appointmentId={a.id} />}
            actions={(a) => <ScheduleActions appointment={a} changed={list.reload} />}
          />
        </section>
      ))}
    </section>
  );
}

type Patient = { id: string; name: string; email: string; dateOfBirth: string };

function RegisterPatient({ onCreated }: { onCreated: (p: Patient) => void }) {
  const action = useAction();
  const submit = (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    void action.run(async () => {
      const created = await api<Patient>(
        'POST',
        '/patients',
        {
          name: String(form.get('name')),
          email: String(form.get('email')),
          dateOfBirth: String(form.get('dateOfBirth')),
          gender: String(form.get('gender')),
          phone: String(form.get('phone') || '') || undefined,
        },
        { idempotent: true },
      );
      onCreated(created);
      return `${created.name} is registered.`;
    });
  };
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="register-heading">
      <h3 id="register-heading">Register a patient</h3>
      <div class="row">
        <label>
          Full name
          <input name="name" required maxLength={200} autoComplete="off" />
        </label>
        <label>
          Email
          <input name="email" type="email" required autoComplete="off" />
        </label>
        <label>
          Date of birth
          <input name="dateOfBirth" type="date" required max={calendarDay(new Date())} />
        </label>
        <label>
          Gender
          <select name="gender" required>
            <option value="female">female</option>
            <option value="male">male</option>
            <option value="other">other</option>
            <option value="unknown">unknown</option>
          </select>
        </label>
        <label>
          Phone (optional)
          <input name="phone" type="tel" maxLength={40} />
        </label>
      </div>
      <button type="submit" disabled={action.busy}>
        Register
      </button>
      <Outcome outcome={action.outcome} />
    </form>
  );
}

export function Patients() {
  const [query, setQuery] = useState('');
  const [submitted, setSubmitted] = useState('');
  const [chosen, setChosen] = useState<Patient>();
  const [doctorId, setDoctorId] = useState('');
  const found = useLoad(
    () => api<Page<Patient>>('GET', `/patients?limit=20${submitted ? `&q=${encodeURIComponent(submitted)}` : ''}`),
    [submitted],
  );
  const doctors = useLoad(() => api<Page<Doctor>>('GET', '/doctors?accepting=true&limit=100'), []);
  const doctor = doctors.data?.items.find((d) => d.id === doctorId);
  return (
    <section aria-labelledby="patients-heading">
      <h2 id="patients-heading">Patients</h2>
      <form
        role="search"
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          setSubmitted(query.trim());
        }}
      >
        <label>
          Find a patient (name or email)
          <input type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        </label>
        <button type="submit">Search</button>
      </form>
      <Loading loading={found.loading} error={found.error} />
      {found.data && (
        <ul class="cards">
          {found.data.items.map((p) => (
            <li key={p.id} class={`card ${chosen?.id === p.id ? 'chosen' : ''}`}>
              <strong>{p.name}</strong>{' '}
              <span class="muted">
                {p.email} · born {p.dateOfBirth}
              </span>
              <div class="actions">
                <button type="button" aria-pressed={chosen?.id === p.id} onClick={() => setChosen(p)}>
                  Book for <span class="sr-only">{p.name}</span>
                  <span aria-hidden="true">this patient</span>
                </button>
              </div>
            </li>
          ))}
          {!found.data.items.length && <li class="muted">No patient matches.</li>}
        </ul>
      )}
      <RegisterPatient
        onCreated={(p) => {
          setChosen(p);
          setQuery(p.email);
          setSubmitted(p.email);
        }}
      />
      {chosen && (
        <section class="panel" aria-labelledby="booking-for">
          <h3 id="booking-for">Booking for {chosen.name}</h3>
          <Loading loading={doctors.loading} error={doctors.error} />
          <label>
            Doctor
            <select value={doctorId} onChange={(e) => setDoctorId(e.currentTarget.value)}>
              <option value="">Choose a doctor…</option>
              {doctors.data?.items.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.name} ({d.specialization})
                </option>
              ))}
            </select>
          </label>
          {doctor && <BookSlot key={`${chosen.id}-${doctor.id}`} patientId={chosen.id} doctor={doctor} onBooked={() => {}} />}
        </section>
      )}
    </section>
  );
}
