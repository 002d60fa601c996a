// The only file that touches ssh2: SSH connections (direct or through a jump host), interactive
// shells and exec channels, host-key checking through a callback, and the mapping of every ssh2
// failure to our ControlPlaneError with a code a tool can branch on and a hint a model can act on.
import { Client, type ClientChannel, type ConnectConfig } from 'ssh2';
import { ControlPlaneError, errorMessage } from '../../core/errors';

/** Codes of network failures, beside the kit's own (`INVALID_ARGUMENT`, `CANCELLED`...). */
export const NetworkErrorCode = {
  unreachable: 'DEVICE_UNREACHABLE',
  timeout: 'TIMEOUT',
  authFailed: 'AUTH_FAILED',
  hostKeyChanged: 'HOST_KEY_CHANGED',
  hostKeyUnknown: 'HOST_KEY_UNKNOWN',
  algorithms: 'NO_COMMON_ALGORITHM',
  dropped: 'CONNECTION_DROPPED',
  sshFailed: 'SSH_FAILED',
  promptNotFound: 'PROMPT_NOT_FOUND',
  enableFailed: 'ENABLE_FAILED',
  commandRejected: 'COMMAND_REJECTED',
  commandFailed: 'COMMAND_FAILED',
  notAllowed: 'COMMAND_NOT_ALLOWED',
  unknownDevice: 'UNKNOWN_DEVICE',
  inventory: 'INVENTORY_INVALID',
  noInventory: 'NO_INVENTORY',
  secretMissing: 'SECRET_MISSING',
  unsupported: 'UNSUPPORTED',
  configFailed: 'CONFIG_FAILED',
  template: 'TEMPLATE_ERROR',
  noParser: 'NO_PARSER',
  cancelled: 'CANCELLED',
} as const;

export interface SshCredentials {
  readonly username: string;
  readonly password?: string | undefined;
  readonly privateKey?: string | undefined;
  readonly passphrase?: string | undefined;
  /** Path of the SSH agent socket (SSH_AUTH_SOCK) when the agent may be used. */
  readonly agent?: string | undefined;
}

export interface SshTarget {
  /** Device name, for messages. */
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly credentials: SshCredentials;
  /** Also offer the old key exchanges, host keys, ciphers and MACs that old IOS images need. */
  readonly legacyAlgorithms: boolean;
  /** Host key check: resolves to accept; throws (a HOST_KEY_* error) to refuse. */
  readonly verifyHostKey: (keyType: string, keyBase64: string) => Promise<void>;
  readonly jump?: SshTarget | undefined;
  readonly connectTimeoutMs: number;
  readonly keepaliveIntervalMs: number;
}

/** The interactive shell of a connection: bytes in, bytes out. */
export interface ShellChannel {
  write(data: string): void;
  onData(listener: (text: string) => void): void;
  /** Called once when the channel or its connection ends. */
  onClose(listener: () => void): void;
  close(): void;
}

export interface ExecResult {
  readonly stdout: string;
  readonly stderr: string;
  readonly exitCode: number | undefined;
}

const LEGACY = {
  kex: ['diffie-hellman-group14-sha1', 'diffie-hellman-group-exchange-sha1', 'diffie-hellman-group1-sha1'],
  serverHostKey: ['ssh-dss'],
  cipher: ['aes128-cbc', 'aes192-cbc', 'aes256-cbc', '3des-cbc'],
  hmac: ['hmac-sha1', 'hmac-md5'],
} as const;

/** An open SSH connection. Every method maps failures to ControlPlaneError. */
export class SshConnection {
  private closed = false;
  private readonly closeListeners: (() => void)[] = [];

  private constructor(
    private readonly target: SshTarget,
    private readonly client: Client,
    private readonly via: SshConnection | undefined,
  ) {
    client.on('close', () => this.markClosed());
    client.on('end', () => this.markClosed());
  }

  /** Connects (through the jump host when the target has one) and authenticates. */
  static async open(target: SshTarget, signal?: AbortSignal): Promise<SshConnection> {
    let via: SshConnection | undefined;
    let sock: NodeJS.ReadableStream | undefined;
    if (target.jump !== undefined) {
      via = await SshConnection.open(target.jump, signal);
      try {
        sock = await via.forward(target.host, target.port);
      } catch (err) {
        via.close();
        throw err;
      }
    }
    const client = new Client();
    let hostKeyError: unknown;
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.credentials.username,
      readyTimeout: target.connectTimeoutMs,
      keepaliveInterval: target.keepaliveIntervalMs,
      keepaliveCountMax: 3,
      tryKeyboard: target.credentials.password !== undefined,
      ...(target.credentials.password === undefined ? {} : { password: target.credentials.password }),
      ...(target.credentials.privateKey === undefined ? {} : { privateKey: target.credentials.privateKey }),
      ...(target.credentials.passphrase === undefined ? {} : { passphrase: target.credentials.passphrase }),
      ...(target.credentials.agent === undefined ? {} : { agent: target.credentials.agent }),
      ...(sock === undefined ? {} : { sock: sock as NonNullable<ConnectConfig['sock']> }),
      ...(target.legacyAlgorithms
        ? {
            algorithms: {
              kex: { append: [...LEGACY.kex], prepend: [], remove: [] },
              serverHostKey: { append: [...LEGACY.serverHostKey], prepend: [], remove: [] },
              cipher: { append: [...LEGACY.cipher], prepend: [], remove: [] },
              hmac: { append: [...LEGACY.hmac], prepend: [], remove: [] },
            } as ConnectConfig['algorithms'],
          }
        : {}),
      hostVerifier: (key: Buffer, verify: (valid: boolean) => void) => {
        const type = keyType(key);
        target.verifyHostKey(type, key.toString('base64')).then(
          () => verify(true),
          (err: unknown) => {
            hostKeyError = err;
            verify(false);
          },
        );
      },
    };
    // Without ssh2's optional native crypto binding (never bundled) a packet can leave in two
    // writes; with Nagle on, the second waits for a delayed ACK: ~40 ms per command.
    client.once('connect', () => client.setNoDelay(true));
    client.on('keyboard-interactive', (_name, _instructions, _lang, prompts, finish) => {
      finish(prompts.map(() => target.credentials.password ?? ''));
    });
    try {
      await new Promise<void>((resolve, reject) => {
        const onAbort = (): void => {
          client.end();
          reject(new ControlPlaneError(NetworkErrorCode.cancelled, `connection to ${target.name} cancelled`));
        };
        if (signal?.aborted === true) return onAbort();
        signal?.addEventListener('abort', onAbort, { once: true });
        client.once('ready', () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        });
        client.once('error', (err: Error & { level?: string; code?: string }) => {
          signal?.removeEventListener('abort', onAbort);
          reject(hostKeyError ?? mapConnectError(target, err));
        });
        client.connect(config);
      });
    } catch (err) {
      client.end();
      via?.close();
      throw err;
    }
    client.on('error', () => undefined);
    return new SshConnection(target, client, via);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  onClose(listener: () => void): void {
    if (this.closed) listener();
    else this.closeListeners.push(listener);
  }

  /** Opens an interactive shell with a pseudo-terminal (vt100, 511 columns so lines do not wrap). */
  async shell(): Promise<ShellChannel> {
    const stream = await new Promise<ClientChannel>((resolve, reject) => {
      this.client.shell({ term: 'vt100', cols: 511, rows: 24, width: 0, height: 0 }, (err, s) => (err ? reject(this.mapError(err)) : resolve(s)));
    });
    let closed = false;
    const listeners: (() => void)[] = [];
    const fire = (): void => {
      if (closed) return;
      closed = true;
      for (const l of listeners) l();
    };
    stream.on('close', fire);
    this.onClose(fire);
    return {
      write: (data) => {
        if (!closed) stream.write(data);
      },
      onData: (listener) => {
        stream.on('data', (d: Buffer) => listener(d.toString('utf8')));
        stream.stderr.on('data', (d: Buffer) => listener(d.toString('utf8')));
      },
      onClose: (listener) => {
        if (closed) listener();
        else listeners.push(listener);
      },
      close: () => {
        stream.end();
        stream.close();
      },
    };
  }

  /** Runs one command on an exec channel; stops reading stdout beyond `maxBytes`. */
  async exec(command: string, options: { timeoutMs: number; maxBytes: number; signal?: AbortSignal }): Promise<ExecResult & { truncated: boolean }> {
    const stream = await new Promise<ClientChannel>((resolve, reject) => {
      this.client.exec(command, (err, s) => (err ? reject(this.mapError(err)) : resolve(s)));
    });
    return new Promise((resolve, reject) => {
      let stdout = '';
      let stderr = '';
      let truncated = false;
      let exitCode: number | undefined;
      const timer = setTimeout(() => {
        stream.close();
        reject(new ControlPlaneError(NetworkErrorCode.timeout, `${this.target.name}: "${command}" did not finish within ${Math.round(options.timeoutMs / 1000)} s`, { details: { timedOut: true } }));
      }, options.timeoutMs);
      const onAbort = (): void => {
        clearTimeout(timer);
        stream.close();
        reject(new ControlPlaneError(NetworkErrorCode.cancelled, `${this.target.name}: "${command}" cancelled`));
      };
      options.signal?.addEventListener('abort', onAbort, { once: true });
      stream.on('data', (d: Buffer) => {
        if (stdout.length >= options.maxBytes) {
          truncated = true;
          return;
        }
        stdout += d.toString('utf8');
      });
      stream.stderr.on('data', (d: Buffer) => {
        if (stderr.length < 64_000) stderr += d.toString('utf8');
      });
      stream.on('exit', (code: number | null) => {
        exitCode = code ?? undefined;
      });
      stream.on('close', () => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (this.closed && exitCode === undefined) {
          reject(new ControlPlaneError(NetworkErrorCode.dropped, `${this.target.name}: connection dropped while running "${command}"`));
          return;
        }
        resolve({ stdout, stderr, exitCode, truncated });
      });
    });
  }

  /** A TCP stream to host:port through this connection (jump host). */
  private async forward(host: string, port: number): Promise<NodeJS.ReadableStream> {
    return new Promise((resolve, reject) => {
      this.client.forwardOut('127.0.0.1', 0, host, port, (err, stream) => {
        if (err) {
          reject(
            new ControlPlaneError(NetworkErrorCode.unreachable, `jump host ${this.target.name} could not reach ${host}:${port}: ${err.message}`, {
              cause: err,
              details: { hint: 'Check that the jump host allows TCP forwarding (AllowTcpForwarding) and can reach the device.' },
            }),
          );
        } else resolve(stream);
      });
    });
  }

  close(): void {
    this.client.end();
    this.via?.close();
    this.markClosed();
  }

  private markClosed(): void {
    if (this.closed) return;
    this.closed = true;
    this.via?.close();
    for (const l of this.closeListeners.splice(0)) l();
  }

  private mapError(err: Error): ControlPlaneError {
    if (this.closed) return new ControlPlaneError(NetworkErrorCode.dropped, `${this.target.name}: the connection is closed`, { cause: err });
    return new ControlPlaneError(NetworkErrorCode.sshFailed, `${this.target.name}: ${err.message}`, { cause: err });
  }
}

/** Algorithm name from an SSH public key blob (first string of the wire format). */
function keyType(blob: Buffer): string {
  if (blob.length < 4) return 'unknown';
  const len = blob.readUInt32BE(0);
  return blob.subarray(4, 4 + len).toString('latin1');
}

function mapConnectError(target: SshTarget, err: Error & { level?: string; code?: string }): ControlPlaneError {
  const where = `${target.name} (${target.host}:${target.port})`;
  const msg = err.message;
  if (err.level === 'client-authentication' || /authentication methods failed/i.test(msg)) {
    return new ControlPlaneError(NetworkErrorCode.authFailed, `${where}: authentication failed for user "${target.credentials.username}"`, {
      cause: err,
      details: { hint: `Check the credential of ${target.name} in the inventory and the secrets it references.` },
    });
  }
  if (err.code === 'ECONNREFUSED') {
    return new ControlPlaneError(NetworkErrorCode.unreachable, `${where}: connection refused (is SSH enabled on that port?)`, { cause: err });
  }
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
    return new ControlPlaneError(NetworkErrorCode.unreachable, `${where}: host name not found`, { cause: err });
  }
  if (err.code === 'EHOSTUNREACH' || err.code === 'ENETUNREACH') {
    return new ControlPlaneError(NetworkErrorCode.unreachable, `${where}: no route to host`, { cause: err });
  }
  if (err.level === 'client-timeout' || err.code === 'ETIMEDOUT' || /timed out/i.test(msg)) {
    return new ControlPlaneError(NetworkErrorCode.timeout, `${where}: no SSH handshake within ${Math.round(target.connectTimeoutMs / 1000)} s`, {
      cause: err,
      details: { timedOut: true },
    });
  }
  if (/no matching/i.test(msg) || /handshake failed/i.test(msg)) {
    return new ControlPlaneError(NetworkErrorCode.algorithms, `${where}: no common SSH algorithm (${msg})`, {
      cause: err,
      details: {
        hint: target.legacyAlgorithms
          ? 'Even the legacy algorithms do not match this device.'
          : `Old devices need legacy algorithms: set "legacyAlgorithms: true" on ${target.name} in the inventory.`,
      },
    });
  }
  if (err.code === 'ECONNRESET' || /connection lost|socket hang up|closed/i.test(msg)) {
    return new ControlPlaneError(NetworkErrorCode.dropped, `${where}: the connection was closed during login (${msg})`, { cause: err });
  }
  return new ControlPlaneError(NetworkErrorCode.sshFailed, `${where}: ${errorMessage(err)}`, { cause: err });
}
