/**
 * The shell: sign-in, role-aware navigation and the screen of the current path (client routes
 * under /app); the screens before signing in by the URL's fragment (`#/verify?token=…` and others).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, isPasswordChangeRequired, refresh, resume, signIn, signOut, whenSignedOut, type Me } from './api.js';
import { publicScreenAt, SCREENS, screenAt, screensFor, type PublicScreen, type ScreenId } from './routes.js';
import {
  ChooseOwnPassword,
  ForgotPassword,
  PUBLIC_TITLES,
  SetPassword,
  SignInLinks,
  SignUp,
  VerifyEmail,
  type Leave,
} from './screens/account.js';
import { Reports } from './screens/admin.js';
import { Operations } from './screens/operations.js';
import { MyDay, MyPatients, MyWeek } from './screens/doctor.js';
import { Book, MyAppointments, MyInvoices, Settings } from './screens/patient.js';
import { Patients, Schedule } from './screens/reception.js';
import { message, Notice } from './ui.js';

function SignIn({ onSignedIn, notice }: { onSignedIn: (me: Me) => void; notice?: string }) {
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  // The password was right but set by the clinic: its owner chooses their own before any session.
  const [handedOver, setHandedOver] = useState<{ email: string; currentPassword: string }>();
  const email = useRef<HTMLInputElement>(null);
  // Focus the first field once on arrival (not on every render: a failed attempt leaves focus where it was).
  useEffect(() => email.current?.focus(), []);
  const submit = async (event: Event) => {
    event.preventDefault();
    const form = new FormData(event.currentTarget as HTMLFormElement);
    setBusy(true);
    setError(undefined);
    const credentials = { email: String(form.get('email')), currentPassword: String(form.get('password')) };
    try {
      onSignedIn(await signIn(credentials.email, credentials.currentPassword));
    } catch (e) {
      if (isPasswordChangeRequired(e)) setHandedOver(credentials);
      else setError(message(e));
    } finally {
      setBusy(false);
    }
  };
  if (handedOver) return <ChooseOwnPassword {...handedOver} onSignedIn={onSignedIn} leave={() => setHandedOver(undefined)} />;
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
      <SignInLinks />
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
      return <MyAppointments patientId={me.patientId} />;
    case 'book':
      return <Book patientId={me.patientId} />;
    case 'invoices':
      return <MyInvoices />;
    case 'settings':
      return <Settings me={me} />;
  }
}

/**
 * The public screen the URL's fragment names. A mailed link's token is taken out of the address
 * bar (and so out of the tab's history) at once: from here on it lives only in this page's memory.
 */
function takePublicRoute(): { screen: PublicScreen; token?: string } | undefined {
  const route = publicScreenAt(location.hash);
  if (route?.token) history.replaceState(history.state, '', `${location.pathname}${location.search}#/${route.screen}`);
  return route;
}

function PublicScreenOf({
  route,
  leave,
  onVerified,
}: {
  route: { screen: PublicScreen; token?: string };
  leave: Leave;
  onVerified: () => Promise<void>;
}) {
  switch (route.screen) {
    case 'sign-up':
      return <SignUp leave={leave} />;
    case 'forgot':
      return <ForgotPassword leave={leave} />;
    case 'verify':
      return <VerifyEmail token={route.token} leave={leave} onVerified={onVerified} />;
    case 'reset':
    case 'invite':
      return <SetPassword key={route.screen} purpose={route.screen} token={route.token} leave={leave} />;
  }
}

export function App() {
  const [me, setMe] = useState<Me | null>();
  const [notice, setNotice] = useState<string>();
  const [path, setPath] = useState(location.pathname);
  const [publicRoute, setPublicRoute] = useState(takePublicRoute);
  const main = useRef<HTMLElement>(null);

  useEffect(() => {
    whenSignedOut(() => {
      setNotice('Your session has ended: please sign in again.');
      setMe(null);
    });
    void resume().then((resumed) => setMe(resumed ?? null));
    const onPop = () => setPath(location.pathname);
    const onHash = () => setPublicRoute(takePublicRoute());
    addEventListener('popstate', onPop);
    addEventListener('hashchange', onHash);
    return () => {
      removeEventListener('popstate', onPop);
      removeEventListener('hashchange', onHash);
    };
  }, []);

  const screen = me ? screenAt(path, me.roles) : undefined;
  useEffect(() => {
    if (publicRoute) document.title = `${PUBLIC_TITLES[publicRoute.screen]} · CareGrid`;
    if (publicRoute || !screen) return;
    document.title = `${SCREENS[screen].title} · CareGrid`;
    // A new screen: move focus to its heading area so keyboard and screen-reader users start there.
    main.current?.focus();
  }, [screen, publicRoute?.screen]);

  if (publicRoute) {
    const leave = () => {
      history.pushState(null, '', `${location.pathname}${location.search}`);
      setPublicRoute(undefined);
    };
    // A session in this tab learns of the confirmation at once: its next access token says so.
    const onVerified = async () => {
      if (me && (await refresh())) setMe(await api<Me>('GET', '/auth/me'));
    };
    return <PublicScreenOf route={publicRoute} leave={leave} onVerified={onVerified} />;
  }
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
