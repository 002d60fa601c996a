// The bundler (esbuild) turns a CSS import into dist/media/main.css.
declare module '*.css';

/** Present only inside a VS Code webview. */
declare function acquireVsCodeApi(): { postMessage(message: unknown): void; getState(): unknown; setState(state: unknown): void };
