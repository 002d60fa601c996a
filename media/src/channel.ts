// One channel between the UI and its host, whichever host it is: a VS Code webview
// (postMessage both ways) or the gateway's /ui (fetch for requests, Server-Sent Events for state).
import type { DashboardState, HostToUi, TeamRequest, TeamResults, TeamSection, UiRequest, UiResults, UiView, WebviewToHost } from '../../src/protocol/ui';

export type ConnectionStatus = 'connecting' | 'connected' | 'disconnected' | 'signed-out';

/** Requests of every host, and those only VS Code's Approvals view answers (`team.*`). */
type AnyRequest = UiRequest | TeamRequest;
type Method = AnyRequest['method'];
type ParamsOf<M extends Method> = Extract<AnyRequest, { method: M }>['params'];
type Results = UiResults & TeamResults;

export interface Channel {
  /** Says `ready` for `view`; the host answers with state, then pushes state on every change. */
  ready(view: UiView): void;
  /** A request; resolves with its result, rejects with the host's error message. */
  request<M extends Method>(method: M, params: ParamsOf<M>): Promise<Results[M]>;
  onState(listener: (state: DashboardState) => void): void;
  /** VS Code's Approvals view only: the team control plane's section. */
  onTeam?(listener: (team: TeamSection | null) => void): void;
  onStatus(listener: (status: ConnectionStatus) => void): void;
  /** VS Code only: a draft policy the host picked for the Test Policy view. */
  onDraft?(listener: (name: string, text: string) => void): void;
  /** Web host only: ends the session. */
  signOut?(): Promise<void>;
}

const REQUEST_TIMEOUT_MS = 30_000;

type Success = Extract<HostToUi, { type: 'response'; ok: true }>;

/** Correlates responses with requests by id. */
class Requests {
  private next = 1;
  private readonly pending = new Map<string, { resolve: (value: Success) => void; reject: (err: Error) => void; timer: number }>();

  open(): { id: string; done: Promise<Success> } {
    const id = `r${this.next++}`;
    const done = new Promise<Success>((resolve, reject) => {
      const timer = window.setTimeout(() => {
        this.pending.delete(id);
        reject(new Error('no answer from the control plane'));
      }, REQUEST_TIMEOUT_MS);
      this.pending.set(id, { resolve, reject, timer });
    });
    return { id, done };
  }

  settle(message: HostToUi): void {
    if (message.type !== 'response') return;
    const entry = this.pending.get(message.id);
    if (entry === undefined) return;
    this.pending.delete(message.id);
    window.clearTimeout(entry.timer);
    if (message.ok) entry.resolve(message);
    else entry.reject(new Error(message.error));
  }

  fail(id: string, err: Error): void {
    const entry = this.pending.get(id);
    if (entry === undefined) return;
    this.pending.delete(id);
    window.clearTimeout(entry.timer);
    entry.reject(err);
  }
}

function isHostMessage(value: unknown): value is HostToUi {
  if (typeof value !== 'object' || value === null || !('type' in value)) return false;
  return value.type === 'state' || value.type === 'response' || value.type === 'draft' || value.type === 'team';
}

/** Inside a VS Code webview. */
export function vscodeChannel(): Channel {
  const api = acquireVsCodeApi();
  const requests = new Requests();
  const stateListeners: Array<(state: DashboardState) => void> = [];
  const statusListeners: Array<(status: ConnectionStatus) => void> = [];
  const draftListeners: Array<(name: string, text: string) => void> = [];
  const teamListeners: Array<(team: TeamSection | null) => void> = [];
  window.addEventListener('message', (event: MessageEvent<unknown>) => {
    const message = event.data;
    if (!isHostMessage(message)) return;
    if (message.type === 'state') {
      for (const l of statusListeners) l('connected');
      for (const l of stateListeners) l(message.state);
    } else if (message.type === 'draft') {
      for (const l of draftListeners) l(message.name, message.text);
    } else if (message.type === 'team') {
      for (const l of teamListeners) l(message.team);
    } else {
      requests.settle(message);
    }
  });
  const post = (message: WebviewToHost): void => api.postMessage(message);
  return {
    ready: (view) => post({ type: 'ready', view }),
    request: async (method, params) => {
      const { id, done } = requests.open();
      post({ type: 'request', id, method, params } as WebviewToHost);
      return (await done).result as Results[typeof method];
    },
    onState: (l) => stateListeners.push(l),
    onStatus: (l) => statusListeners.push(l),
    onDraft: (l) => draftListeners.push(l),
    onTeam: (l) => teamListeners.push(l),
  };
}

/** At the gateway's /ui: the session cookie authenticates, the CSRF token comes from the page. */
export function webChannel(csrfToken: string): Channel {
  const requests = new Requests();
  const clientId = randomId();
  const stateListeners: Array<(state: DashboardState) => void> = [];
  const statusListeners: Array<(status: ConnectionStatus) => void> = [];
  let windowMs: number | undefined;
  let source: EventSource | undefined;
  const status = (s: ConnectionStatus): void => {
    for (const l of statusListeners) l(s);
  };
  const signedOut = (): void => {
    source?.close();
    status('signed-out');
  };
  const connect = (view: UiView): void => {
    const query = new URLSearchParams({ view, client: clientId, ...(windowMs !== undefined ? { window: String(windowMs) } : {}) });
    source = new EventSource(`/ui/events?${query}`);
    source.onopen = () => status('connected');
    source.onmessage = (event: MessageEvent<string>) => {
      let message: unknown;
      try {
        message = JSON.parse(event.data);
      } catch {
        return;
      }
      if (isHostMessage(message) && message.type === 'state') for (const l of stateListeners) l(message.state);
    };
    source.addEventListener('expired', signedOut);
    source.onerror = () => {
      // EventSource retries by itself; a refused stream (signed out) closes it for good.
      if (source?.readyState === EventSource.CLOSED) void probeSession().then((ok) => (ok ? reconnect(view) : signedOut()));
      else status('disconnected');
    };
  };
  const reconnect = (view: UiView): void => {
    source?.close();
    window.setTimeout(() => connect(view), 3000);
    status('disconnected');
  };
  const probeSession = async (): Promise<boolean> => {
    try {
      return (await fetch('/ui/api/approvals', { credentials: 'same-origin' })).status !== 401;
    } catch {
      return true;
    }
  };
  const post = async (body: unknown, path = '/ui/api/request'): Promise<Response> =>
    fetch(path, {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json', 'x-csrf-token': csrfToken, 'x-ui-client': clientId },
      body: JSON.stringify(body),
    });
  return {
    ready: (view) => {
      status('connecting');
      connect(view);
    },
    request: async (method, params) => {
      const { id, done } = requests.open();
      const message = { type: 'request', id, method, params };
      void post(message)
        .then(async (res) => {
          if (res.status === 401) {
            signedOut();
            throw new Error('signed out: sign in again');
          }
          const body: unknown = await res.json();
          if (isHostMessage(body)) requests.settle(body);
          else throw new Error(typeof body === 'object' && body !== null && 'error' in body ? String(body.error) : `HTTP ${res.status}`);
        })
        .catch((err: unknown) => requests.fail(id, err instanceof Error ? err : new Error(String(err))));
      const result = (await done).result as Results[typeof method];
      // Kept so that a reconnected stream starts with the window the person chose.
      if ('windowMs' in params) windowMs = params.windowMs;
      return result;
    },
    onState: (l) => stateListeners.push(l),
    onStatus: (l) => statusListeners.push(l),
    signOut: async () => {
      await post({}, '/ui/logout');
      signedOut();
    },
  };
}

function randomId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}
