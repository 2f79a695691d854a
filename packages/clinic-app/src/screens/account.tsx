/**
 * The screens before signing in: sign-up, forgot password, the mailed links' (confirm the
 * address, set a new password, accept an invitation), and choosing one's own password when the
 * clinic set it. A link's token lives only in this page's
 * memory: the shell takes it out of the address bar on arrival, and nothing stores or logs it.
 */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, ApiError, changePassword, type Accepted, type Me } from '../api.js';
import type { PublicScreen } from '../routes.js';
import { message, Notice } from '../ui.js';

export const PUBLIC_TITLES: Record<PublicScreen, string> = {
  'sign-up': 'Create an account',
  forgot: 'Forgot password',
  verify: 'Confirm your email address',
  reset: 'Set a new password',
  invite: 'Accept your invitation',
};

/** Back to the sign-in form (or the app, when signed in). */
export type Leave = () => void;

const isGone = (error: unknown) => error instanceof ApiError && error.status === 410;

function BackToSignIn({ leave, children = 'Back to sign in' }: { leave: Leave; children?: ComponentChildren }) {
  return (
    <a
      href={location.pathname}
      onClick={(event) => {
        event.preventDefault();
        leave();
      }}
    >
      {children}
    </a>
  );
}

function Shell({ heading, children }: { heading: string; children: ComponentChildren }) {
  return (
    <main id="main" class="sign-in">
      <h1>CareGrid clinic</h1>
      <section class="box" aria-labelledby="account-heading">
        <h2 id="account-heading">{heading}</h2>
        {children}
      </section>
    </main>
  );
}

/** A form's submission: busy while it runs, the server's problem in words when it fails. */
function useSubmit<T>(send: (form: FormData) => Promise<T>) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>();
  const [done, setDone] = useState<T>();
  const submit = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      setDone(await send(new FormData(event.currentTarget as HTMLFormElement)));
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return { busy, error, done, onSubmit: (event: Event) => void submit(event) };
}

/** Focus on the first field once on arrival, as the sign-in form does. */
function useFirstFocus() {
  const first = useRef<HTMLInputElement>(null);
  useEffect(() => first.current?.focus(), []);
  return first;
}

/** The links under the sign-in form. */
export function SignInLinks() {
  return (
    <p class="links">
      <a href="#/forgot">Forgot password?</a>
      <a href="#/sign-up">Create an account</a>
    </p>
  );
}

export function SignUp({ leave }: { leave: Leave }) {
  const first = useFirstFocus();
  const form = useSubmit(async (data) => {
    const email = String(data.get('email'));
    await api<Accepted>('POST', '/auth/register', { name: String(data.get('name')), email, password: String(data.get('password')) });
    return email;
  });
  if (form.done)
    return (
      <Shell heading="Check your mail">
        <Notice kind="ok">
          If {form.done} can be registered, we have mailed it a link to confirm the address. Follow it to be able to book appointments.
        </Notice>
        <p>You may sign in meanwhile.</p>
        <BackToSignIn leave={leave}>Sign in</BackToSignIn>
      </Shell>
    );
  return (
    <Shell heading="Create an account">
      <form onSubmit={form.onSubmit}>
        <label>
          Full name
          <input name="name" autoComplete="name" required maxLength={200} ref={first} />
        </label>
        <label>
          Email
          <input name="email" type="email" autoComplete="email" required maxLength={254} />
        </label>
        <label>
          Password <span class="muted">(at least 10 characters)</span>
          <input name="password" type="password" autoComplete="new-password" required minLength={10} maxLength={128} />
        </label>
        <button type="submit" disabled={form.busy}>
          {form.busy ? 'Creating…' : 'Create account'}
        </button>
        {form.error !== undefined && <Notice kind="error">{message(form.error)}</Notice>}
      </form>
      <BackToSignIn leave={leave} />
    </Shell>
  );
}

export function ForgotPassword({ leave }: { leave: Leave }) {
  const first = useFirstFocus();
  const form = useSubmit(async (data) => {
    await api<Accepted>('POST', '/auth/password-reset', { email: String(data.get('email')) });
    return true;
  });
  return (
    <Shell heading="Forgot password">
      {form.done ? (
        // The same words for every address: whether it has an account is not told here.
        <Notice kind="ok">If the address has an account, we have mailed it a link to set a new password.</Notice>
      ) : (
        <form onSubmit={form.onSubmit}>
          <p>We mail you a link to set a new password.</p>
          <label>
            Email
            <input name="email" type="email" autoComplete="username" required maxLength={254} ref={first} />
          </label>
          <button type="submit" disabled={form.busy}>
            {form.busy ? 'Sending…' : 'Send me a link'}
          </button>
          {form.error !== undefined && <Notice kind="error">{message(form.error)}</Notice>}
        </form>
      )}
      <BackToSignIn leave={leave} />
    </Shell>
  );
}

const INCOMPLETE = 'This link is incomplete: open it again from your mail (a link works only in the page it opened).';

/** Confirms the address as soon as the link opens; `onVerified` lets a signed-in session learn it. */
export function VerifyEmail({ token, leave, onVerified }: { token?: string; leave: Leave; onVerified: () => Promise<void> }) {
  const [state, setState] = useState<{ kind: 'working' } | { kind: 'done' } | { kind: 'error'; text: string }>(
    token ? { kind: 'working' } : { kind: 'error', text: INCOMPLETE },
  );
  const sent = useRef(false);
  useEffect(() => {
    if (!token || sent.current) return;
    sent.current = true;
    api('POST', '/auth/verify-email', { token }).then(
      () => onVerified().finally(() => setState({ kind: 'done' })),
      (error: unknown) =>
        setState({
          kind: 'error',
          text: isGone(error)
            ? 'This link no longer works: it was used already, a newer one replaced it, or it expired. Sign in and ask for a new one under Settings.'
            : message(error),
        }),
    );
  }, [token]);
  return (
    <Shell heading={PUBLIC_TITLES.verify}>
      {state.kind === 'working' && <p aria-live="polite">Confirming…</p>}
      {state.kind === 'done' && <Notice kind="ok">Your email address is confirmed: you can book appointments now.</Notice>}
      {state.kind === 'error' && <Notice kind="error">{state.text}</Notice>}
      <BackToSignIn leave={leave}>Continue</BackToSignIn>
    </Shell>
  );
}

/** A new password by a mailed link: a reset (`reset`) or an invitation (`invite`). */
export function SetPassword({ purpose, token, leave }: { purpose: 'reset' | 'invite'; token?: string; leave: Leave }) {
  const first = useFirstFocus();
  const form = useSubmit(async (data) => {
    if (!token) throw new Error(INCOMPLETE);
    const path = purpose === 'reset' ? '/auth/password-reset/confirm' : '/auth/invitations/accept';
    await api('POST', path, { token, password: String(data.get('password')) });
    return true;
  });
  const gone = isGone(form.error);
  return (
    <Shell heading={PUBLIC_TITLES[purpose]}>
      {form.done ? (
        <>
          <Notice kind="ok">Your password is set: sign in with it.</Notice>
          <BackToSignIn leave={leave}>Sign in</BackToSignIn>
        </>
      ) : (
        <>
          <form onSubmit={form.onSubmit}>
            {!token && <Notice kind="error">{INCOMPLETE}</Notice>}
            <label>
              New password <span class="muted">(at least 10 characters)</span>
              <input name="password" type="password" autoComplete="new-password" required minLength={10} maxLength={128} ref={first} />
            </label>
            <button type="submit" disabled={form.busy || !token}>
              {form.busy ? 'Saving…' : 'Set password'}
            </button>
            {form.error !== undefined && (
              <Notice kind="error">
                {gone
                  ? purpose === 'reset'
                    ? 'This link no longer works: it was used already, a newer one replaced it, or it expired. Ask for a new one.'
                    : 'This invitation no longer works: it was used already, replaced, or it expired. Ask the clinic to invite you again.'
                  : message(form.error)}
              </Notice>
            )}
          </form>
          {gone && purpose === 'reset' && <a href="#/forgot">Send me a new link</a>}
          <BackToSignIn leave={leave} />
        </>
      )}
    </Shell>
  );
}

/**
 * Sign-in said the password is right but the clinic set it: the owner chooses their own, and the
 * change signs them in. The current password is the one just typed, kept only in this page's memory.
 */
export function ChooseOwnPassword({
  email,
  currentPassword,
  onSignedIn,
  leave,
}: {
  email: string;
  currentPassword: string;
  onSignedIn: (me: Me) => void;
  leave: Leave;
}) {
  const first = useFirstFocus();
  const form = useSubmit(async (data) => {
    const newPassword = String(data.get('newPassword'));
    if (newPassword !== String(data.get('repeat'))) throw new Error('The two passwords differ: type the same one twice.');
    onSignedIn(await changePassword(email, currentPassword, newPassword));
    return true;
  });
  return (
    <Shell heading="Choose your own password">
      <p>
        The password you signed in with was set for you by the clinic. Choose one only you know to continue; the one you were given stops
        working.
      </p>
      <form onSubmit={form.onSubmit}>
        <label>
          New password <span class="muted">(at least 10 characters)</span>
          <input name="newPassword" type="password" autoComplete="new-password" required minLength={10} maxLength={128} ref={first} />
        </label>
        <label>
          Repeat the new password
          <input name="repeat" type="password" autoComplete="new-password" required minLength={10} maxLength={128} />
        </label>
        <button type="submit" disabled={form.busy}>
          {form.busy ? 'Saving…' : 'Set password and continue'}
        </button>
        {form.error !== undefined && <Notice kind="error">{message(form.error)}</Notice>}
      </form>
      <BackToSignIn leave={leave} />
    </Shell>
  );
}
