import type { RunningSidecar } from './daprd.js';
import type { ManagedProcess } from './processes.js';
import type { ResolvedApp } from './runfile.js';

/** Restart delays after a crash: doubling from the first to the last, back to the first once a process stayed up. */
export const RESTART_BACKOFF = { firstMs: 500, maxMs: 10_000, stableMs: 30_000 };

export type Part = 'app' | 'sidecar';

export type StackMember = {
  app: ResolvedApp;
  process: ManagedProcess;
  sidecar: RunningSidecar;
  status: string;
  /** The token the sidecar presents to the app (dapr-api-token); undefined for public apps. */
  appApiToken?: string;
  /**
   * When the app and its sidecar were (last) started and first answered their health checks (epoch ms).
   * daprd reports healthy only once the app listens: its own start is `sidecar.waitingForAppAt()`.
   */
  timings: { appStartedAt: number; appReadyAt?: number; sidecarStartedAt: number; sidecarReadyAt?: number };
  /** Whether callers' sidecars resolve the app-id to this instance (undefined: not known yet, or no SQLite registry). */
  inRotation?: boolean;
  /** Stops the app gracefully (not its sidecar) and starts it again; resolves when it is healthy and routed to again (or says why not in `status`). */
  restartApp: () => Promise<void>;
};

/**
 * What outlives any one process of the stack: the timers that must die with it, and the processes
 * stopped on purpose (whose exit is no crash). Once stopped, nothing scheduled runs any more.
 */
export type Lifecycle = {
  readonly stopping: boolean;
  /** Runs `run` after `ms`, unless the stack stops first. */
  later: (ms: number, run: () => void) => void;
  /** Marks a process as stopped on purpose: its exit restarts nothing. */
  intend: (process: ManagedProcess) => void;
  wasIntended: (process: ManagedProcess) => boolean;
  stop: () => void;
};

export function createLifecycle(): Lifecycle {
  let stopping = false;
  const timers = new Set<NodeJS.Timeout>();
  const intended = new WeakSet<ManagedProcess>();
  return {
    get stopping() {
      return stopping;
    },
    later: (ms, run) => {
      const timer = setTimeout(() => {
        timers.delete(timer);
        if (!stopping) run();
      }, ms);
      timers.add(timer);
    },
    intend: (process) => void intended.add(process),
    wasIntended: (process) => intended.has(process),
    stop: () => {
      stopping = true;
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
    },
  };
}

/**
 * One app instance and its sidecar under supervision, as Kubernetes would keep them: a process that
 * exits on its own is started again after a backoff (doubling per crash, reset once it stayed up);
 * `restartApp` stops the app on purpose and starts it again.
 */
export function superviseMember(options: {
  app: ResolvedApp;
  appApiToken?: string;
  launchApp: () => ManagedProcess;
  launchSidecar: () => RunningSidecar;
  lifecycle: Lifecycle;
  /** Health checks after a (re)start; `routed` also waits until callers are routed to the instance again. */
  checkHealth: (member: StackMember, options?: { routed?: boolean }) => Promise<void>;
  onUnexpectedExit?: (member: StackMember, what: Part, code: number | string) => void;
  log: (message: string) => void;
}): StackMember {
  const { app, lifecycle, log } = options;
  const name = app.instanceName ?? app.appId;
  const delays: Record<Part, number> = { app: RESTART_BACKOFF.firstMs, sidecar: RESTART_BACKOFF.firstMs };

  const startApp = () => {
    member.process = options.launchApp();
    member.timings = { ...member.timings, appStartedAt: Date.now(), appReadyAt: undefined };
    supervise('app', member.process);
  };
  const startSidecar = () => {
    member.sidecar = options.launchSidecar();
    member.timings = { ...member.timings, sidecarStartedAt: Date.now(), sidecarReadyAt: undefined };
    supervise('sidecar', member.sidecar);
  };

  const supervise = (what: Part, handle: ManagedProcess) => {
    const startedAt = Date.now();
    void handle.exited.then((code) => {
      if (lifecycle.stopping || lifecycle.wasIntended(handle)) return;
      options.onUnexpectedExit?.(member, what, code);
      if (Date.now() - startedAt >= RESTART_BACKOFF.stableMs) delays[what] = RESTART_BACKOFF.firstMs;
      const delay = delays[what];
      delays[what] = Math.min(delay * 2, RESTART_BACKOFF.maxMs);
      member.status = `${what} exited (${code}), restarting`;
      log(`${name} ${what} exited (${code}); restarting it in ${delay} ms`);
      lifecycle.later(delay, () => {
        // Replaced meanwhile (a test's restartApp after killing it): one process per instance.
        if ((what === 'app' ? member.process : member.sidecar) !== handle) return;
        if (what === 'app') startApp();
        else startSidecar();
        void options.checkHealth(member).then(() => log(`${name} ${what} restarted: ${member.status}`));
      });
    });
  };

  const member: StackMember = {
    app,
    process: options.launchApp(),
    sidecar: options.launchSidecar(),
    status: 'starting',
    timings: { appStartedAt: Date.now(), sidecarStartedAt: Date.now() },
    appApiToken: options.appApiToken,
    restartApp: async () => {
      lifecycle.intend(member.process);
      await member.process.stop();
      startApp();
      member.status = 'restarting';
      await options.checkHealth(member, { routed: true });
    },
  };
  supervise('app', member.process);
  supervise('sidecar', member.sidecar);
  return member;
}
