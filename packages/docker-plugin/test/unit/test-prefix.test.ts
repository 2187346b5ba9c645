// The tests' plugin prefixes (testkit claimTestPrefix): processes running at once never get the same one, a
// claim of a process that is gone is taken over, a process reuses its own released claims, and its claims go
// when it exits. In a claims folder of its own (OCNT_PREFIX_DIR), so it takes nothing from running tests.
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { run } from '@ovs-container-network/testkit';
import t from 'tap';

const dir = mkdtempSync(join(tmpdir(), 'ocnt-prefix-test-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A child that claims `n` prefixes, releases the last and claims again, prints them, and holds for `holdMs`. */
async function child(n: number, holdMs: number): Promise<string[]> {
  const code = `
    import { claimTestPrefix, releaseTestPrefix } from '@ovs-container-network/testkit';
    const got = Array.from({ length: ${n} }, () => claimTestPrefix());
    releaseTestPrefix(got.at(-1));
    const again = claimTestPrefix();
    console.log(JSON.stringify({ got, again }));
    setTimeout(() => {}, ${holdMs});
  `;
  const { stdout } = await run(process.execPath, ['--input-type=module', '-e', code], {
    env: { ...process.env, OCNT_PREFIX_DIR: dir },
    cwd: new URL('..', import.meta.url).pathname,
  });
  const { got, again } = JSON.parse(stdout) as { got: string[]; again: string };
  if (again !== got.at(-1)) throw new Error(`released ${got.at(-1)} but claimed ${again} again`);
  return got;
}

t.test('processes running at once get distinct prefixes, and their claims go with them', async (t) => {
  const all = (await Promise.all([child(3, 400), child(3, 400), child(3, 400), child(3, 400)])).flat();
  t.equal(all.length, 12);
  t.equal(new Set(all).size, 12, `all distinct: ${all.join(' ')}`);
  t.ok(
    all.every((p) => /^ocntz[a-z0-9]$/.test(p)),
    'ocntz + one character',
  );
  t.same(readdirSync(dir), [], 'no claim left after the processes exited');
});

t.test('a claim whose holder is gone is taken over; a live holder keeps its own', async (t) => {
  const chars = 'abcdefghijklmnopqrstuvwxyz0123456789';
  // Every prefix but one held by this (live) process, one by a pid that does not exist.
  for (const c of chars.slice(1)) writeFileSync(join(dir, c), String(process.pid));
  writeFileSync(join(dir, 'a'), '2147483646');
  const [got] = await child(1, 0);
  t.equal(got, 'ocntza', "the only free one: the dead holder's");
  for (const c of chars) rmSync(join(dir, c), { force: true });
});
