/** A line of a child's stderr, or a supervisor note about it. */
export interface LogLine {
  at: number;
  server: string;
  source: 'stderr' | 'supervisor';
  text: string;
}

/** Where log lines go besides memory: a LogOutputChannel in VS Code, a file or stderr headless. */
export type LogSink = (line: LogLine) => void;

/** The recent lines of one server, bounded in count and line length. */
export class ServerLog {
  private readonly lines: LogLine[] = [];
  private partial = '';

  constructor(
    readonly server: string,
    private readonly sink: LogSink | undefined,
    private readonly redact: (text: string) => string = (text) => text,
    private readonly maxLines = 1000,
    private readonly maxLineLength = 4000,
  ) {}

  /** Feeds raw stderr bytes; complete lines are recorded. */
  write(chunk: Buffer | string): void {
    const text = this.partial + chunk.toString();
    const parts = text.split(/\r?\n/);
    this.partial = parts.pop() ?? '';
    if (this.partial.length > this.maxLineLength) {
      parts.push(this.partial);
      this.partial = '';
    }
    for (const part of parts) this.push('stderr', part);
  }

  /** Records a supervisor event about this server. */
  note(text: string): void {
    this.push('supervisor', text);
  }

  /** Flushes an unterminated last line (the child exited). */
  flush(): void {
    if (this.partial) this.push('stderr', this.partial);
    this.partial = '';
  }

  recent(count = this.maxLines): LogLine[] {
    return this.lines.slice(-count);
  }

  private push(source: LogLine['source'], raw: string): void {
    const cut = raw.length > this.maxLineLength ? `${raw.slice(0, this.maxLineLength)}… [line truncated]` : raw;
    const text = this.redact(cut);
    const line: LogLine = { at: Date.now(), server: this.server, source, text };
    this.lines.push(line);
    if (this.lines.length > this.maxLines) this.lines.splice(0, this.lines.length - this.maxLines);
    this.sink?.(line);
  }
}
