import { afterEach, beforeEach, describe, expect, it, jest } from '@jest/globals';
import type { ChildProcess } from 'node:child_process';
import type { RunningSidecar } from '../src/daprd.js';
import type { ManagedProcess } from '../src/processes.js';
import type { ResolvedApp } from '../src/runfile.js';
import { createLifecycle, RESTART_BACKOFF, superviseMember, type StackMember } from '../src/supervisor.js';

/** A process handle whose exit the test decides (the restart policy is logic; real processes are the launcher tests'). */
function handle(name: string) {
  let exit!: (code: number | string) => void;
  const exited = new Promise<number | string>((resolve) => (exit = resolve));
  const process: ManagedProcess = { name, child: {} as ChildProcess, exited, stop: async () => exit('SIGTERM') };
  return { process, exit };
}

const app = { appId: 'patient-service' } as ResolvedApp;

describe('superviseMember', () => {
  beforeEach(() => void jest.useFakeTimers());
  afterEach(() => void jest.useRealTimers());

  function supervised() {
    const apps: ReturnType<typeof handle>[] = [];
    const sidecars: ReturnType<typeof handle>[] = [];
    const lifecycle = createLifecycle();
    const exits: string[] = [];
    const member = superviseMember({
      app,
      launchApp: () => (apps.push(handle(`app${apps.length}`)), apps.at(-1)!.process),
      launchSidecar: () => (sidecars.push(handle(`sidecar${sidecars.length}`)), sidecars.at(-1)!.process as RunningSidecar),
      lifecycle,
      checkHealth: async (m: StackMember) => void (m.status = 'healthy'),
      onUnexpectedExit: (_m, what, code) => void exits.push(`${what} ${code}`),
      log: () => undefined,
    });
    return { member, apps, sidecars, lifecycle, exits };
  }

  it('starts a crashed app again after a backoff that doubles per crash', async () => {
    const { member, apps, exits } = supervised();
    apps[0]!.exit(1);
    await jest.advanceTimersByTimeAsync(RESTART_BACKOFF.firstMs - 1);
    expect(apps).toHaveLength(1);
    expect(member.status).toBe('app exited (1), restarting');
    await jest.advanceTimersByTimeAsync(1);
    expect(apps).toHaveLength(2);
    expect(member.process).toBe(apps[1]!.process);
    expect(member.status).toBe('healthy');

    apps[1]!.exit(1);
    await jest.advanceTimersByTimeAsync(RESTART_BACKOFF.firstMs * 2 - 1);
    expect(apps).toHaveLength(2);
    await jest.advanceTimersByTimeAsync(1);
    expect(apps).toHaveLength(3);
    expect(exits).toEqual(['app 1', 'app 1']);
  });

  it('restarts the sidecar on its own, leaving the app alone', async () => {
    const { member, apps, sidecars } = supervised();
    sidecars[0]!.exit('SIGKILL');
    await jest.advanceTimersByTimeAsync(RESTART_BACKOFF.firstMs);
    expect(sidecars).toHaveLength(2);
    expect(member.sidecar).toBe(sidecars[1]!.process);
    expect(apps).toHaveLength(1);
  });

  it('an app stopped on purpose (restartApp) is no crash: started once, no backoff restart', async () => {
    const { member, apps, exits } = supervised();
    await member.restartApp();
    await jest.advanceTimersByTimeAsync(RESTART_BACKOFF.maxMs);
    expect(apps).toHaveLength(2);
    expect(exits).toEqual([]);
  });

  it('nothing restarts once the stack stops, not even a restart already scheduled', async () => {
    const { apps, lifecycle } = supervised();
    apps[0]!.exit(1);
    await jest.advanceTimersByTimeAsync(0);
    lifecycle.stop();
    await jest.advanceTimersByTimeAsync(RESTART_BACKOFF.maxMs);
    expect(apps).toHaveLength(1);
  });
});
