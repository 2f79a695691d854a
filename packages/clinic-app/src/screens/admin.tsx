/**
 * Admin: the analytics reports as charts. Chart.js draws on a canvas (no style
 * attributes, so the strict CSP holds), registered piece by piece so the bundle
 * carries only bar and line charts; each chart has its data as a table beside it
 * for screen readers and keyboard users.
 */
import { BarController, BarElement, CategoryScale, Chart, Legend, LinearScale, Tooltip, type ChartConfiguration } from 'chart.js';
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api.js';
import { formatMoney, isCurrency } from '../format.js';
import { Loading, useLoad } from '../ui.js';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Legend, Tooltip);
Chart.defaults.font.family = 'system-ui, sans-serif';
Chart.defaults.color = '#1f2933';

// Distinguishable for the common colour-vision deficiencies (Okabe–Ito).
const COLOURS = ['#0072B2', '#D55E00', '#009E73', '#CC79A7', '#E69F00'];

type Summary = { patientsRegistered: number; appointments: Record<string, number>; revenue: { currency: string | null; amount: number }[] };
type Daily = { days: { day: string; booked: number; cancelled: number; fulfilled: number; noshow: number }[] };
type Top = { doctors: { doctorId: string; name: string; specialization: string; appointments: number; revenue: number }[] };
type Specializations = { specializations: { specialization: string; doctors: number; appointments: number }[] };

function BarChart({
  label,
  labels,
  series,
  stacked = false,
}: {
  label: string;
  labels: string[];
  series: { name: string; values: number[] }[];
  stacked?: boolean;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const config: ChartConfiguration<'bar'> = {
      type: 'bar',
      data: {
        labels,
        datasets: series.map((s, i) => ({ label: s.name, data: s.values, backgroundColor: COLOURS[i % COLOURS.length] })),
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        scales: { x: { stacked }, y: { stacked, beginAtZero: true } },
        plugins: { legend: { display: series.length > 1 } },
      },
    };
    const chart = new Chart(canvas.current!, config);
    return () => chart.destroy();
  }, [JSON.stringify([labels, series, stacked])]);
  return (
    <div class="chart">
      <canvas ref={canvas} role="img" aria-label={label} />
    </div>
  );
}

function DataTable({ caption, head, rows }: { caption: string; head: string[]; rows: ComponentChildren[][] }) {
  return (
    <details>
      <summary>Show the data as a table</summary>
      <div class="table-wrap">
        <table>
          <caption>{caption}</caption>
          <thead>
            <tr>
              {head.map((h) => (
                <th scope="col" key={h}>
                  {h}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((row, i) => (
              <tr key={i}>
                {row.map((cell, j) =>
                  j === 0 ? (
                    <th scope="row" key={j}>
                      {cell}
                    </th>
                  ) : (
                    <td key={j}>{cell}</td>
                  ),
                )}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </details>
  );
}

function Report({ id, title, children }: { id: string; title: string; children: ComponentChildren }) {
  return (
    <section class="panel report" aria-labelledby={id}>
      <h3 id={id}>{title}</h3>
      {children}
    </section>
  );
}

export function Reports() {
  const [days, setDays] = useState(30);
  const [currency, setCurrency] = useState('EUR');
  const window = () => {
    const to = new Date(Date.now() + 60_000);
    return `from=${new Date(to.getTime() - days * 86_400_000).toISOString()}&to=${to.toISOString()}`;
  };
  const summary = useLoad(() => api<Summary>('GET', `/analytics/summary?${window()}`), [days]);
  const daily = useLoad(() => api<Daily>('GET', `/analytics/appointments/daily?${window()}`), [days]);
  const topByCount = useLoad(() => api<Top>('GET', '/analytics/doctors/top?by=appointments&limit=10'), []);
  const topByRevenue = useLoad(() => api<Top>('GET', `/analytics/doctors/top?by=revenue&currency=${currency}&limit=10`), [currency]);
  const specializations = useLoad(() => api<Specializations>('GET', '/analytics/specializations'), []);
  const currencies = [...new Set(['EUR', ...(summary.data?.revenue.map((r) => r.currency).filter(isCurrency) ?? [])])];
  const kinds = ['booked', 'fulfilled', 'cancelled', 'noshow'] as const;
  return (
    <section aria-labelledby="reports-heading">
      <h2 id="reports-heading">Reports</h2>
      <label>
        Period
        <select value={days} onChange={(e) => setDays(Number(e.currentTarget.value))}>
          <option value={7}>last 7 days</option>
          <option value={30}>last 30 days</option>
          <option value={90}>last 90 days</option>
        </select>
      </label>
      <Loading loading={summary.loading} error={summary.error} />
      {summary.data && (
        <dl class="figures" aria-label="Summary of the period">
          <div>
            <dt>Patients registered</dt>
            <dd>{summary.data.patientsRegistered}</dd>
          </div>
          {kinds.map((k) => (
            <div key={k}>
              <dt>Appointments {k === 'noshow' ? 'no-show' : k}</dt>
              <dd>{summary.data!.appointments[k] ?? 0}</dd>
            </div>
          ))}
          {summary.data.revenue.map((r) => (
            <div key={String(r.currency)}>
              <dt>Revenue ({isCurrency(r.currency) ? r.currency : 'currency unknown'})</dt>
              <dd>{formatMoney(r.amount, r.currency)}</dd>
            </div>
          ))}
        </dl>
      )}
      <div class="reports">
        <Report id="daily-heading" title="Appointments per day">
          <Loading loading={daily.loading} error={daily.error} />
          {daily.data && (
            <>
              <BarChart
                label={`Appointments per day, ${daily.data.days.length} days with activity`}
                labels={daily.data.days.map((d) => d.day)}
                series={kinds.map((k) => ({ name: k, values: daily.data!.days.map((d) => d[k]) }))}
                stacked
              />
              <DataTable
                caption="Appointments per day"
                head={['Day', ...kinds]}
                rows={daily.data.days.map((d) => [d.day, ...kinds.map((k) => d[k])])}
              />
            </>
          )}
        </Report>
        <Report id="revenue-heading" title="Revenue by doctor">
          <label>
            Currency
            <select value={currency} onChange={(e) => setCurrency(e.currentTarget.value)}>
              {currencies.map((c) => (
                <option key={c}>{c}</option>
              ))}
            </select>
          </label>
          <Loading loading={topByRevenue.loading} error={topByRevenue.error} />
          {topByRevenue.data && (
            <>
              <BarChart
                label={`Revenue in ${currency} of the top ${topByRevenue.data.doctors.length} doctors`}
                labels={topByRevenue.data.doctors.map((d) => d.name)}
                series={[{ name: `revenue (${currency})`, values: topByRevenue.data.doctors.map((d) => d.revenue / 100) }]}
              />
              <DataTable
                caption={`Revenue by doctor (${currency})`}
                head={['Doctor', 'Revenue']}
                rows={topByRevenue.data.doctors.map((d) => [d.name, formatMoney(d.revenue, currency)])}
              />
            </>
          )}
        </Report>
        <Report id="top-heading" title="Top doctors by appointments">
          <Loading loading={topByCount.loading} error={topByCount.error} />
          {topByCount.data && (
            <>
              <BarChart
                label={`Appointments of the top ${topByCount.data.doctors.length} doctors`}
                labels={topByCount.data.doctors.map((d) => d.name)}
                series={[{ name: 'appointments', values: topByCount.data.doctors.map((d) => d.appointments) }]}
              />
              <DataTable
                caption="Top doctors by appointments"
                head={['Doctor', 'Specialization', 'Appointments']}
                rows={topByCount.data.doctors.map((d) => [d.name, d.specialization, d.appointments])}
              />
            </>
          )}
        </Report>
        <Report id="spec-heading" title="Specializations">
          <Loading loading={specializations.loading} error={specializations.error} />
          {specializations.data && (
            <>
              <BarChart
                label={`Doctors and booked appointments for ${specializations.data.specializations.length} specializations`}
                labels={specializations.data.specializations.map((s) => s.specialization)}
                series={[
                  { name: 'doctors', values: specializations.data.specializations.map((s) => s.doctors) },
                  { name: 'appointments', values: specializations.data.specializations.map((s) => s.appointments) },
                ]}
              />
              <DataTable
                caption="Specializations"
                head={['Specialization', 'Doctors', 'Appointments']}
                rows={specializations.data.specializations.map((s) => [s.specialization, s.doctors, s.appointments])}
              />
            </>
          )}
        </Report>
      </div>
    </section>
  );
}
