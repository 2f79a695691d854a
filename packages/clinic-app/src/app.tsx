/** The shell: sign-in, role-aware navigation and the screen of the current path (client routes under /app). */
import { useEffect, useRef, useState } from 'preact/hooks';
import { resume, signIn, signOut, whenSignedOut, type Me } from './api.js';
import { SCREENS, screenAt, screensFor, type ScreenId } from './routes.js';
import { Reports } from './screens/admin.js';
import { Operations } from './screens/operations.js';
import { MyDay, MyPatients, MyWeek } from './screens/doctor.js';
import { Book, MyAppointments, MyInvoices } from './screens/patient.js';
import { Patients, Schedule } from './screens/reception.js';
import { message, Notice } from './ui.js';

function SignIn({ onSignedIn, notice }: { onSignedIn: (me: Me) => void; notice?: string }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const email = useRef<HTMLInputElement>(null);
  // Focus the first field once on arrival (not on every render: a failed attempt leaves focus where it was).
  useEffect(() => email.current?.focus(), []);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(undefined);
    try {
      onSignedIn(await signIn(String(form.get('email')), String(form.get('password'))));
    } catch (e) {
      setError(message(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main id="main" class="sign-in">
      <h1>CareGrid clinic</h1>
      <form onSubmit={(e) => void submit(e)} aria-labelledby="sign-in-heading">
        <h2 id="sign-in-heading">Sign in</h2>
        {notice && <Notice kind="ok">{notice}</Notice>}
        <label>
          Email
          <input name="email" type="email" autoComplete="username" required ref={email} />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" required />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        {error && <Notice kind="error">{error}</Notice>}
      </form>
    </main>
  );
}

function Screen({ id, me }: { id: ScreenId; me: Me }) {
  switch (id) {
    case 'reports':
      return <Reports />;
    case 'operations':
      return <Operations />;
    case 'schedule':
      return <Schedule />;
    case 'patients':
      return <Patients />;
    case 'day':
      return <MyDay />;
    case 'week':
      return <MyWeek />;
    case 'my-patients':
      return <MyPatients />;
    case 'appointments':
      return <MyAppointments />;
    case 'book':
      return <Book patientId={me.patientId} />;
    case 'invoices':
      return <MyInvoices />;
  }
}

export function App() {
  const [me, setMe] = useState<Me | null>();
  const [notice, setNotice] = useState<string>();
  const [path, setPath] = useState(location.pathname);
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    whenSignedOut(() => {
      setNotice('Your session has ended: please sign in again.');
      setMe(null);
    });
    void resume().then((resumed) => setMe(resumed ?? null));
    const onPop = () => setPath(location.pathname);
    addEventListener('popstate', onPop);
    return () => removeEventListener('popstate', onPop);
  }, []);

  const screen = me ? screenAt(path, me.roles) : undefined;
  useEffect(() => {
    if (!screen) return;
    document.title = `${SCREENS[screen].title} · CareGrid`;
    // A new screen: move focus to its heading area so keyboard and screen-reader users start there.
    main.current?.focus();
  }, [screen]);

  if (me === undefined) return <p class="muted center">Loading…</p>;
  if (me === null) return <SignIn notice={notice} onSignedIn={(signedIn) => (setNotice(undefined), setMe(signedIn))} />;

  const go = (event: MouseEvent, to: string) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey) return;
    event.preventDefault();
    history.pushState(null, '', to);
    setPath(to);
  };
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header>
        <span class="brand">CareGrid</span>
        <nav aria-label="Main">
          <ul>
            {screensFor(me.roles).map((id) => (
              <li key={id}>
                <a href={SCREENS[id].path} aria-current={id === screen ? 'page' : undefined} onClick={(e) => go(e, SCREENS[id].path)}>
                  {SCREENS[id].title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <span class="who">
          {me.name} <span class="muted">({me.roles.join(', ')})</span>
        </span>
        <button
          type="button"
          class="secondary"
          onClick={() =>
            void signOut().then(() => {
              setNotice('You are signed out.');
              setMe(null);
            })
          }
        >
          Sign out
        </button>
      </header>
      <main id="main" ref={main} tabIndex={-1}>
        {screen ? <Screen id={screen} me={me} /> : <Notice kind="error">This account has no role the clinic app serves.</Notice>}
      </main>
    </>
  );
}
