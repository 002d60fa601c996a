// A real, small file system that fills up: a tmpfs mounted for one test (needs root), with a filler
// file that takes the free space and can be removed to free it again.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestContext } from 'node:test';

export interface SmallDisk {
  readonly dir: string;
  /** Takes (almost) all free space with a filler file, leaving `leaveBytes`. */
  fill(leaveBytes?: number): void;
  /** Removes the filler: space is free again. */
  free(): void;
  freeBytes(): number;
}

/** Whether this process may mount a tmpfs (root on Linux). */
export function canMountTmpfs(): boolean {
  return process.platform === 'linux' && process.getuid?.() === 0;
}

/** Mounts a tmpfs of `sizeKiB` for this test; unmounted (lazily, if busy) when the test ends. */
export function mountSmallDisk(t: TestContext, sizeKiB = 1024): SmallDisk {
  const dir = mkdtempSync(join(tmpdir(), 'mcpcp-smalldisk-'));
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0700`, 'tmpfs', dir]);
  t.after(() => {
    try {
      execFileSync('umount', [dir]);
    } catch {
      execFileSync('umount', ['-l', dir]);
    }
    rmSync(dir, { recursive: true, force: true });
  });
  const filler = join(dir, 'filler');
  const freeBytes = (): number => {
    const s = statfsSync(dir);
    return s.bavail * s.bsize;
  };
  return {
    dir,
    freeBytes,
    fill(leaveBytes = 0) {
      rmSync(filler, { force: true });
      const size = Math.max(0, freeBytes() - leaveBytes);
      try {
        writeFileSync(filler, Buffer.alloc(size, 0x66));
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'ENOSPC') throw err;
      }
    },
    free() {
      rmSync(filler, { force: true });
    },
  };
}
