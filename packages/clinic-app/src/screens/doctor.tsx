/** Doctor: own day and week (mark fulfilled / no-show), own patients' records (care-team scope, narrowed by the API). */
import { useState } from 'preact/hooks';
import { api } from '../api.js';
import { addDays, calendarDay, formatDay, groupBy, localWindow, weekDays, weekStart } from '../format.js';
import { AppointmentList, Loading, Outcome, useAction, useLoad, type Appointment, type Page } from '../ui.js';

function Progress({ appointment, changed }: { appointment: Appointment; changed: () => void }) {
  const action = useAction();
  const set = (status: string, done: string) =>
    action.run(async () => {
      await api('POST', `/appointments/${appointment.id}/status`, { status });
      changed();
      return done;
    });
  const who = <span class="sr-only">: {appointment.patientName}</span>;
  return (
    <>
      {appointment.status === 'checked-in' && (
        <button type="button" disabled={action.busy} onClick={() => void set('fulfilled', 'Marked fulfilled.')}>
          Mark fulfilled{who}
        </button>
      )}
      {appointment.status === 'booked' && (
        <button type="button" disabled={action.busy} onClick={() => void set('noshow', 'Marked as no-show.')}>
          Mark no-show{who}
        </button>
      )}
      <Outcome outcome={action.outcome} />
    </>
  );
}

function useOwnAppointments(firstDay: string, days: number) {
  return useLoad(() => {
    const { from, to } = localWindow(firstDay, days);
    return api<Page<Appointment>>('GET', `/appointments?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}&limit=100`);
  }, [firstDay, days]);
}

export function MyDay() {
  const [day, setDay] = useState(calendarDay(new Date()));
  const list = useOwnAppointments(day, 1);
  return (
    <section aria-labelledby="day-heading">
      <h2 id="day-heading">My day: {formatDay(day)}</h2>
      <div class="row">
        <button type="button" onClick={() => setDay(addDays(day, -1))}>
          Previous day
        </button>
        <label>
          Day
          <input type="date" value={day} onInput={(e) => setDay(e.currentTarget.value)} />
        </label>
        <button type="button" onClick={() => setDay(addDays(day, 1))}>
          Next day
        </button>
      </div>
      <Loading loading={list.loading} error={list.error} />
      {list.data && (
        <AppointmentList items={list.data.items} show="patient" actions={(a) => <Progress appointment={a} changed={list.reload} />} />
      )}
    </section>
  );
}

export function MyWeek() {
  const [monday, setMonday] = useState(weekStart(calendarDay(new Date())));
  const list = useOwnAppointments(monday, 7);
  const byDay = new Map(groupBy(list.data?.items ?? [], (a) => calendarDay(new Date(a.start))).map((b) => [b.key, b.items]));
  return (
    <section aria-labelledby="week-heading">
      <h2 id="week-heading">My week from {formatDay(monday)}</h2>
      <div class="row">
        <button type="button" onClick={() => setMonday(addDays(monday, -7))}>
          Previous week
        </button>
        <button type="button" onClick={() => setMonday(addDays(monday, 7))}>
          Next week
        </button>
      </div>
      <Loading loading={list.loading} error={list.error} />
      {list.data &&
        weekDays(monday).map((day) => (
          <section key={day} aria-label={formatDay(day)} class="week-day">
            <h3>{formatDay(day)}</h3>
            <AppointmentList
              items={byDay.get(day) ?? []}
              show="patient"
              empty="Nothing booked."
              actions={(a) => <Progress appointment={a} changed={list.reload} />}
            />
          </section>
        ))}
    </section>
  );
}

type PatientRecord = {
  id: string;
  name: string;
  email: string;
  phone: string | null;
  dateOfBirth: string;
  gender: string;
  details: { allergies?: string[]; conditions?: string[]; medications?: string[]; [key: string]: unknown };
};

function Record({ patient }: { patient: PatientRecord }) {
  const history = useLoad(() => api<Page<Appointment>>('GET', `/appointments?patientId=${patient.id}&limit=50`), [patient.id]);
  const list = (label: string, values: unknown) =>
    Array.isArray(values) && values.length ? (
      <>
        <dt>{label}</dt>
        <dd>{values.join(', ')}</dd>
      </>
    ) : null;
  return (
    <section class="panel" aria-labelledby="record-heading">
      <h3 id="record-heading">{patient.name}</h3>
      <dl>
        <dt>Born</dt>
        <dd>{patient.dateOfBirth}</dd>
        <dt>Gender</dt>
        <dd>{patient.gender}</dd>
        <dt>Contact</dt>
        <dd>
          {patient.email}
          {patient.phone ? ` · ${patient.phone}` : ''}
        </dd>
        {list('Allergies', patient.details.allergies)}
        {list('Conditions', patient.details.conditions)}
        {list('Medications', patient.details.medications)}
      </dl>
      <h4>Visits with me</h4>
      <Loading loading={history.loading} error={history.error} />
      {history.data && <AppointmentList items={history.data.items} show="doctor" />}
    </section>
  );
}

export function MyPatients() {
  const patients = useLoad(() => api<Page<PatientRecord>>('GET', '/patients?limit=100'), []);
  const [open, setOpen] = useState<string>();
  const action = useAction();
  const [record, setRecord] = useState<PatientRecord>();
  const show = (id: string) =>
    action.run(async () => {
      setOpen(id);
      setRecord(await api<PatientRecord>('GET', `/patients/${id}`));
    });
  return (
    <section aria-labelledby="my-patients-heading">
      <h2 id="my-patients-heading">My patients</h2>
      <Loading loading={patients.loading} error={patients.error} />
      {patients.data && (
        <ul class="cards">
          {patients.data.items.map((p) => (
            <li key={p.id} class="card">
              <strong>{p.name}</strong> <span class="muted">born {p.dateOfBirth}</span>
              <div class="actions">
                <button type="button" aria-expanded={open === p.id} onClick={() => void show(p.id)}>
                  Open record <span class="sr-only">of {p.name}</span>
                </button>
              </div>
            </li>
          ))}
          {!patients.data.items.length && <li class="muted">No patients yet: they appear once booked with you.</li>}
        </ul>
      )}
      <Outcome outcome={action.outcome} />
      {record && <Record patient={record} />}
    </section>
  );
}
