/**
 * Which daprd the sidecars run (paths.ts reads its environment once, at import: each case is a
 * fresh Node process).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../src/paths.js';

function daprdBinaryWith(env: Record<string, string>): string {
  const script = `import { daprdBinary } from ${JSON.stringify(path.join(repoRoot, 'packages', 'devkit', 'src', 'paths.ts'))}; console.log(daprdBinary);`;
  return execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    cwd: repoRoot,
    env: { PATH: process.env.PATH, ...env },
    encoding: 'utf8',
  }).trim();
}

describe('daprdBinary', () => {
  it("is infra/infra.sh's build in the state folder by default", () => {
    expect(daprdBinaryWith({ CAREGRID_HOME: '/srv/caregrid-state' })).toBe('/srv/caregrid-state/bin/daprd');
  });

  it('is the binary CAREGRID_DAPRD_BINARY names (CI: the one copied out of the daprd image)', () => {
    expect(daprdBinaryWith({ CAREGRID_HOME: '/srv/caregrid-state', CAREGRID_DAPRD_BINARY: '/tmp/shipped/daprd' })).toBe(
      '/tmp/shipped/daprd',
    );
  });
});
