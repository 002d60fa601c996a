// Entry of the UI bundle (dist/media/main.js), the same in a VS Code webview and at the gateway's
// /ui. The page says which host and view it is on <body data-host data-view>.
import './styles.css';
import { App } from './app';
import { vscodeChannel, webChannel, type Channel } from './channel';

function boot(): void {
  const root = document.getElementById('app');
  if (root === null) return;
  const host = document.body.dataset['host'] === 'web' ? 'web' : 'vscode';
  const requested = document.body.dataset['view'];
  const view = requested === 'approvals' || requested === 'policy-test' ? requested : 'dashboard';
  let channel: Channel;
  if (host === 'web') {
    const csrf = document.querySelector<HTMLMetaElement>('meta[name="mcpcp-csrf"]')?.content ?? '';
    channel = webChannel(csrf);
  } else {
    channel = vscodeChannel();
  }
  new App(root, channel, { host, view }).start();
}

boot();
