// A capturing SSH listener on 127.0.0.1: an ssh2 server that records every authentication attempt
// (user, method, password or key) and rejects it. If a secret left the control plane for this
// address, it is in `attempts`.
import { Server, utils } from 'ssh2';

export interface Attempt {
  username: string;
  method: string;
  password?: string;
}

export interface CapturingListener {
  port: number;
  attempts: Attempt[];
  close(): Promise<void>;
}

export async function startCapturingSsh(): Promise<CapturingListener> {
  const key = utils.generateKeyPairSync('ed25519');
  const attempts: Attempt[] = [];
  const server = new Server({ hostKeys: [key.private] }, (client) => {
    client.on('authentication', (ctx) => {
      attempts.push({ username: ctx.username, method: ctx.method, ...(ctx.method === 'password' ? { password: ctx.password } : {}) });
      ctx.reject(['password', 'publickey', 'keyboard-interactive']);
    });
    client.on('error', () => undefined);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    port,
    attempts,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
