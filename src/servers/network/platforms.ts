/**
 * Network platforms as data, read by one driver (session.ts) and one command checker
 * (command-policy.ts): prompts per privilege level, how to move between levels, session setup
 * (paging off), pager prompts for when paging cannot be turned off, error and confirmation
 * patterns, the read-only command grammar with its deny list, secret sanitizing, how facts are
 * gathered and the commit strategy. Adding a platform is adding an entry here, not a class.
 *
 * Regexes are given as source strings. In prompts, `{host}` is the hostname learned at login,
 * `{host:20}` the hostname of which only the first 20 characters are required (IOS shortens it in
 * configuration mode) and `{user}` the login name.
 */

export const PLATFORM_IDS = ['cisco_ios', 'cisco_xe', 'cisco_nxos', 'juniper_junos', 'linux'] as const;
export type PlatformId = (typeof PLATFORM_IDS)[number];

/** Privilege levels the driver moves between. `privileged` is where read commands run. */
export type Level = 'user' | 'privileged' | 'config';

export interface ConfirmPrompt {
  /** Matched against the end of the output. */
  readonly pattern: string;
  /** Sent followed by a newline. */
  readonly reply: string;
}

/** A rule of the read-only grammar: words, then `*` when free arguments may follow. */
export type CommandRule = string;

export interface DenyRule {
  /** Regex on the resolved command (full keywords, single spaces). */
  readonly pattern: string;
  readonly reason: string;
}

export type CommitStrategy =
  | {
      /** Junos: private candidate, `commit confirmed N`, a post-check, then a confirming commit. */
      readonly kind: 'commit-confirmed';
      readonly enter: string;
      readonly compare: string;
      readonly check: string;
      readonly commitConfirmed: string;
      readonly confirm: string;
      readonly discard: string;
      readonly exit: string;
      readonly rollback: string;
      readonly history: string;
      /** Output of a passing check and of a successful commit. */
      readonly checkSuccess: string;
      readonly commitSuccess: string;
    }
  | {
      /** IOS/IOS-XE: backup file, `configure terminal revert timer N`, `configure confirm`; `configure replace` to undo. */
      readonly kind: 'archive-replace';
      readonly backupUrl: string;
      readonly backup: string;
      readonly enterWithTimer: string;
      readonly confirm: string;
      readonly restore: string;
      readonly list: string;
      readonly listPattern: string;
      /** Prints a backup's content. */
      readonly show: string;
      /** Output of a successful restore. */
      readonly restoreSuccess: string;
    }
  | {
      /** NX-OS: named checkpoint before the change, `rollback running-config checkpoint` to undo. */
      readonly kind: 'checkpoint';
      readonly create: string;
      readonly restore: string;
      readonly list: string;
      readonly listPattern: string;
      /** Prints a checkpoint's content. */
      readonly show: string;
      /** Output of a successful restore. */
      readonly restoreSuccess: string;
    }
  | { readonly kind: 'none'; readonly reason: string };

export type FactsSpec =
  | {
      readonly kind: 'textfsm';
      readonly command: string;
      /** Fact → TextFSM value name (first element when the value is a List). */
      readonly fields: Readonly<Partial<Record<'hostname' | 'model' | 'osVersion' | 'uptime' | 'serial', string>>>;
    }
  /** `show version`, `show chassis hardware`, `show system uptime` as `| display json`; their text where the pipe is refused. */
  | { readonly kind: 'junos-json' }
  | { readonly kind: 'linux' };

export interface PlatformDefinition {
  readonly id: PlatformId;
  readonly vendor: string;
  readonly title: string;
  /** `shell`: one interactive session with prompts; `exec`: one SSH exec channel per command. */
  readonly transport: 'shell' | 'exec';
  /** Any prompt of the platform in any level, to find the prompt after login; named groups `host` (and `user`). */
  readonly anyPrompt: string;
  /** Prompt per level. A platform without a `user` level lands in `privileged`. */
  readonly prompts: Readonly<Partial<Record<Level, string>>>;
  /** Moving from `user` to `privileged`. */
  readonly enable?: { readonly command: string; readonly passwordPrompt: string };
  /** Entering and leaving `config` (from and to `privileged`). */
  readonly config?: { readonly enter: string; readonly exit: string };
  /** A prompt that means "not the CLI yet" and the command that enters it (Junos root shell). */
  readonly shell?: { readonly prompt: string; readonly command: string };
  /** Sent once after login, in `privileged` when reachable; failures are ignored (the pager covers them). */
  readonly sessionSetup: readonly string[];
  /** Pager prompt at the end of the buffer, and what to send to get the next page. */
  readonly pager?: { readonly pattern: string; readonly reply: string };
  /** An output line matching one of these means the device rejected the command. */
  readonly errorPatterns: readonly string[];
  /** Prompts answered while running the driver's own configuration commands. */
  readonly confirmPrompts: readonly ConfirmPrompt[];
  /** Lines removed from the end of outputs (Junos `[edit]` context before the prompt). */
  readonly noiseLines: readonly string[];
  readonly commands: {
    /** The read-only grammar: a command is allowed when it resolves to one of these rules. */
    readonly allow: readonly CommandRule[];
    /** First words that exist on the device but change it or the session (for abbreviation and a precise refusal). */
    readonly denyWords: readonly string[];
    /** Resolved commands refused even though the grammar allows them. */
    readonly deny: readonly DenyRule[];
    /** Output filters after `|`; undefined: no `|` at all. */
    readonly pipes?: { readonly allow: readonly string[]; readonly deny: readonly string[] };
    /** Characters refused anywhere in a command, besides control characters. */
    readonly forbidden: string;
    /** When set, every argument word must match this (exec transport: no shell syntax). */
    readonly argPattern?: string;
    /** Keywords may be abbreviated to a unique prefix (`sh ip int br`), as network CLIs allow. */
    readonly abbreviations: boolean;
  };
  readonly configCommands: {
    readonly running: string;
    readonly startup?: string;
    /** Shows the candidate; run inside `config`. */
    readonly candidate?: string;
    /** Running configuration as `set` lines (Junos). */
    readonly runningSet?: string;
    readonly save?: { readonly command: string; readonly success: string };
    /** How configuration text is structured, for local diffs. */
    readonly format: 'indented' | 'set' | 'none';
    /** Lines of `show running-config` that are not configuration (headers, timestamps). */
    readonly ignore: readonly string[];
  };
  /** Secret values in configuration and outputs: group 1 is kept, the value after it is replaced. */
  readonly secrets: readonly string[];
  readonly facts: FactsSpec;
  /** Template platforms to look up, in order (built-in templates and ntc-templates index). */
  readonly templatePlatforms: readonly string[];
  /** `parse: true` strategy: TextFSM templates, or the device's own JSON (`| display json`). */
  readonly parse: { readonly kind: 'textfsm' } | { readonly kind: 'json-pipe'; readonly suffix: string } | { readonly kind: 'none' };
  readonly commit: CommitStrategy;
}

const CISCO_PIPES = {
  allow: ['include', 'exclude', 'begin', 'section', 'count'],
  deny: ['append', 'redirect', 'tee', 'format'],
};

const CISCO_DENY_WORDS = [
  'archive', 'clear', 'clock', 'configure', 'copy', 'debug', 'delete', 'disable', 'enable', 'erase', 'exit', 'format',
  'license', 'logout', 'mkdir', 'more', 'reload', 'rename', 'rmdir', 'send', 'setup', 'squeeze', 'ssh', 'telnet', 'terminal',
  'test', 'undebug', 'verify', 'write', 'crypto', 'request', 'install', 'monitor', 'connect', 'release', 'renew',
];

const IOS_SECRETS = [
  String.raw`^(\s*enable (?:secret|password)(?: \d+)? )`,
  String.raw`^(\s*username \S+(?: privilege \d+)? (?:secret|password)(?: \d+)? )`,
  String.raw`^(\s*snmp-server community )`,
  String.raw`^(\s*(?:tacacs-server|radius-server) key(?: \d+)? )`,
  String.raw`^(\s+key [0-7] )`,
  String.raw`^(\s*password(?: \d+)? )`,
  String.raw`^(\s*crypto isakmp key )`,
  String.raw`^(\s*neighbor \S+ password(?: \d+)? )`,
  String.raw`^(\s*(?:ip ospf )?(?:message-digest-key \d+ md5|authentication-key)(?: \d+)? )`,
  String.raw`^(\s*key-string(?: \d+)? )`,
  String.raw`^(\s*pre-shared-key(?: \S+)? )`,
  String.raw`^(\s*standby(?: \d+)? authentication(?: md5 key-string)?(?: \d+)? )`,
];

const IOS_COMMANDS: readonly CommandRule[] = [
  'show version', 'show running-config *', 'show startup-config', 'show ip interface brief *', 'show ip interface *',
  'show ip route *', 'show ip bgp *', 'show ip ospf *', 'show ip arp *', 'show ip protocols', 'show ip eigrp *', 'show ip vrf *',
  'show ipv6 interface brief *', 'show ipv6 route *', 'show interfaces *', 'show vlan *', 'show vlan brief', 'show cdp neighbors *',
  'show lldp neighbors *', 'show inventory', 'show clock', 'show logging *', 'show processes *', 'show mac address-table *',
  'show spanning-tree *', 'show etherchannel *', 'show access-lists *', 'show environment *', 'show users', 'show ntp *',
  'show archive *', 'show standby *', 'show vrf *', 'show platform *', 'show tech-support *', 'show arp', 'show boot',
  'show license *', 'show redundancy *', 'show bgp *', 'show memory *', 'show flash: *', 'show history', 'show privilege',
  'show snmp *', 'show hardware', 'show diag *', 'show module *', 'show power *', 'show controllers *', 'show cdp *', 'show lldp *',
  'dir *', 'ping *', 'traceroute *',
];

const NXOS_COMMANDS: readonly CommandRule[] = [
  'show version', 'show running-config *', 'show startup-config *', 'show ip interface brief *', 'show ip interface *',
  'show interface *', 'show vlan *', 'show vlan brief', 'show ip route *', 'show cdp neighbors *', 'show lldp neighbors *',
  'show inventory', 'show module *', 'show environment *', 'show system *', 'show checkpoint *', 'show clock', 'show logging *',
  'show ip bgp *', 'show bgp *', 'show ip ospf *', 'show port-channel *', 'show mac address-table *', 'show spanning-tree *',
  'show hardware', 'show feature', 'show vpc *', 'show vrf *', 'show tech-support *', 'show ip arp *', 'show users',
  'show processes *', 'show ntp *', 'show hsrp *', 'show license *', 'show boot', 'show cdp *', 'show lldp *', 'show policy-map *',
  'dir *', 'ping *', 'traceroute *',
];

const JUNOS_COMMANDS: readonly CommandRule[] = [
  'show version', 'show interfaces *', 'show interfaces terse *', 'show route *', 'show configuration *', 'show chassis hardware *',
  'show chassis *', 'show system uptime', 'show system *', 'show lldp neighbors *', 'show lldp *', 'show bgp *', 'show ospf *',
  'show isis *', 'show arp *', 'show lacp *', 'show vlans *', 'show ethernet-switching *', 'show log *', 'show ntp *',
  'show bfd *', 'show mpls *', 'show rsvp *', 'show ldp *', 'show firewall *', 'show security *', 'show snmp *', 'show services *',
  'show virtual-chassis *', 'show pfe *', 'traceroute *',
];

const LINUX_COMMANDS: readonly CommandRule[] = [
  'uname *', 'hostname', 'uptime', 'whoami', 'id', 'w', 'who', 'date', 'df *', 'free *', 'ps *', 'ss *', 'lscpu', 'lsblk *',
  'ip address show *', 'ip route show *', 'ip link show *', 'ip neighbour show *', 'ip rule show', 'ip -brief address show *',
  'ip -brief link show *', 'cat /etc/os-release', 'cat /etc/hostname', 'cat /proc/uptime', 'cat /proc/loadavg', 'cat /proc/meminfo',
  'cat /proc/cpuinfo', 'cat /proc/version', 'systemctl status *', 'ls *',
];

function ios(id: 'cisco_ios' | 'cisco_xe'): PlatformDefinition {
  const fs = id === 'cisco_xe' ? 'bootflash:' : 'flash:';
  return {
    id,
    vendor: 'Cisco',
    title: id === 'cisco_xe' ? 'Cisco IOS-XE' : 'Cisco IOS',
    transport: 'shell',
    anyPrompt: String.raw`(?<host>[\w.\-@/:+]{1,63})(?:\(config[^)]*\))?[>#]\s*$`,
    prompts: {
      user: String.raw`{host}>\s*$`,
      privileged: String.raw`{host}#\s*$`,
      config: String.raw`{host:20}\(config[^)]*\)#\s*$`,
    },
    enable: { command: 'enable', passwordPrompt: String.raw`[Pp]assword:\s*$` },
    config: { enter: 'configure terminal', exit: 'end' },
    sessionSetup: ['terminal length 0', 'terminal width 511'],
    pager: { pattern: String.raw`\s?--More--\s?$`, reply: ' ' },
    errorPatterns: [
      String.raw`^% ?Invalid input detected`,
      String.raw`^% ?Incomplete command`,
      String.raw`^% ?Ambiguous command`,
      String.raw`^% ?Unknown command`,
      String.raw`^% ?Bad (?:secrets|passwords)`,
      String.raw`^% ?Access denied`,
      String.raw`^%\s?Error`,
      String.raw`^% ?No Rollback Confirmed Change pending`,
      String.raw`^Rollback Confirmed Change: Archive path is not configured`,
    ],
    confirmPrompts: [
      { pattern: String.raw`Destination filename \[[^\]]*\]\?\s*$`, reply: '' },
      { pattern: String.raw`Delete filename \[[^\]]*\]\?\s*$`, reply: '' },
      { pattern: String.raw`\[confirm\]\s*$`, reply: '' },
      { pattern: String.raw`\? \[no\]:\s*$`, reply: 'y' },
    ],
    noiseLines: [],
    commands: {
      allow: IOS_COMMANDS,
      denyWords: CISCO_DENY_WORDS,
      deny: [{ pattern: String.raw`^show running-config.*\b(?:view full)\b`, reason: 'shows secrets in clear text' }],
      pipes: CISCO_PIPES,
      forbidden: ';`\\',
      abbreviations: true,
    },
    configCommands: {
      running: 'show running-config',
      startup: 'show startup-config',
      save: { command: 'copy running-config startup-config', success: String.raw`\[OK\]|Copy complete` },
      format: 'indented',
      ignore: [String.raw`^Building configuration`, String.raw`^Current configuration`, String.raw`^! Last configuration change`, String.raw`^! NVRAM config last updated`, String.raw`^Using \d+ out of`, String.raw`^!Time:`],
    },
    secrets: IOS_SECRETS,
    facts: { kind: 'textfsm', command: 'show version', fields: { hostname: 'HOSTNAME', model: 'HARDWARE', osVersion: 'VERSION', uptime: 'UPTIME', serial: 'SERIAL' } },
    templatePlatforms: id === 'cisco_xe' ? ['cisco_xe', 'cisco_ios'] : ['cisco_ios'],
    parse: { kind: 'textfsm' },
    commit: {
      kind: 'archive-replace',
      backupUrl: `${fs}mcpcp-{id}.cfg`,
      backup: 'copy running-config {url}',
      enterWithTimer: 'configure terminal revert timer {minutes}',
      confirm: 'configure confirm',
      restore: 'configure replace {url} force',
      list: `dir ${fs}`,
      listPattern: String.raw`\s(mcpcp-[\w.-]+\.cfg)\s*$`,
      show: 'more {url}',
      restoreSuccess: String.raw`Rollback Done|Total number of passes`,
    },
  };
}

export const PLATFORMS: Readonly<Record<PlatformId, PlatformDefinition>> = {
  cisco_ios: ios('cisco_ios'),
  cisco_xe: ios('cisco_xe'),
  cisco_nxos: {
    id: 'cisco_nxos',
    vendor: 'Cisco',
    title: 'Cisco NX-OS',
    transport: 'shell',
    anyPrompt: String.raw`(?<host>[\w.\-@/:+]{1,63})(?:\(config[^)]*\))?#\s*$`,
    prompts: {
      privileged: String.raw`{host}#\s*$`,
      config: String.raw`{host}\(config[^)]*\)#\s*$`,
    },
    config: { enter: 'configure terminal', exit: 'end' },
    sessionSetup: ['terminal length 0', 'terminal width 511'],
    pager: { pattern: String.raw`\s?--More--\s?$`, reply: ' ' },
    errorPatterns: [
      String.raw`^% ?Invalid command`,
      String.raw`^% ?Incomplete command`,
      String.raw`^% ?Ambiguous command`,
      String.raw`^% ?Invalid (?:number|range|parameter)`,
      String.raw`^% ?Permission denied`,
      String.raw`^ERROR:`,
      String.raw`^Error:`,
      String.raw`^Checkpoint \S+ doesn't exist`,
    ],
    confirmPrompts: [
      { pattern: String.raw`Destination filename \[[^\]]*\]\?\s*$`, reply: '' },
      { pattern: String.raw`\(y/n\)\?\s*\[n\]\s*$`, reply: 'y' },
      { pattern: String.raw`\[confirm\]\s*$`, reply: '' },
    ],
    noiseLines: [],
    commands: {
      allow: NXOS_COMMANDS,
      denyWords: [...CISCO_DENY_WORDS, 'checkpoint', 'rollback', 'run', 'source', 'python', 'bash', 'tclsh', 'guestshell', 'feature', 'install', 'no'],
      deny: [],
      pipes: {
        allow: ['include', 'exclude', 'begin', 'section', 'count', 'json', 'json-pretty', 'xml', 'head', 'last', 'no-more', 'egrep', 'grep', 'sort', 'uniq', 'wc'],
        deny: ['redirect', 'tee', 'email', 'vsh', 'cut', 'sed', 'awk', 'diff', 'human', 'less', 'append'],
      },
      forbidden: ';`\\>',
      abbreviations: true,
    },
    configCommands: {
      running: 'show running-config',
      startup: 'show startup-config',
      save: { command: 'copy running-config startup-config', success: String.raw`Copy complete` },
      format: 'indented',
      ignore: [String.raw`^!Command:`, String.raw`^!Running configuration last done at`, String.raw`^!Time:`, String.raw`^!Startup config saved at`],
    },
    secrets: [
      String.raw`^(\s*username \S+ password(?: \d+)? )`,
      String.raw`^(\s*snmp-server community )`,
      String.raw`^(\s*snmp-server user \S+ \S+ auth \S+ )`,
      String.raw`( priv(?: aes-128)? )(?=0x|\S)`,
      String.raw`^(\s*(?:tacacs-server|radius-server) key(?: \d+)? )`,
      String.raw`^(\s*(?:tacacs-server|radius-server) host \S+ key(?: \d+)? )`,
      String.raw`^(\s*password(?: \d+)? )`,
      String.raw`^(\s*key-string(?: \d+)? )`,
      String.raw`^(\s*authentication-key(?: \d+)? )`,
    ],
    facts: { kind: 'textfsm', command: 'show version', fields: { hostname: 'HOSTNAME', model: 'PLATFORM', osVersion: 'OS', uptime: 'UPTIME', serial: 'SERIAL' } },
    templatePlatforms: ['cisco_nxos'],
    parse: { kind: 'textfsm' },
    commit: {
      kind: 'checkpoint',
      create: 'checkpoint {name}',
      restore: 'rollback running-config checkpoint {name}',
      list: 'show checkpoint summary',
      listPattern: String.raw`^\d+\) (mcpcp-[\w.-]+):`,
      show: 'show checkpoint {name}',
      restoreSuccess: String.raw`Rollback completed successfully`,
    },
  },
  juniper_junos: {
    id: 'juniper_junos',
    vendor: 'Juniper',
    title: 'Juniper Junos',
    transport: 'shell',
    anyPrompt: String.raw`(?<user>[\w.\-]+)@(?<host>[\w.\-]+)[>#]\s*$`,
    prompts: {
      privileged: String.raw`{user}@{host}>\s*$`,
      config: String.raw`{user}@{host}#\s*$`,
    },
    config: { enter: 'configure private', exit: 'exit configuration-mode' },
    shell: { prompt: String.raw`(?:^|\s)%\s*$|root@[^:]*:[^#$]*[#$]\s*$`, command: 'cli' },
    sessionSetup: ['set cli screen-length 0', 'set cli screen-width 511', 'set cli complete-on-space off'],
    pager: { pattern: String.raw`---\(more(?: \d+%)?\)---\s*$`, reply: ' ' },
    errorPatterns: [
      String.raw`^syntax error`,
      String.raw`^unknown command`,
      String.raw`^error:`,
      String.raw`^missing argument`,
      String.raw`is ambiguous\.$`,
      String.raw`^invalid (?:value|command|interface)`,
    ],
    confirmPrompts: [
      { pattern: String.raw`Exit with uncommitted changes\? \[yes,no\] \(yes\)\s*$`, reply: 'yes' },
      { pattern: String.raw`Discard uncommitted changes\? \[yes,no\] \(yes\)\s*$`, reply: 'yes' },
    ],
    noiseLines: [String.raw`^\[edit(?: [^\]]*)?\]$`, String.raw`^\{(?:master|backup|primary|secondary|linecard)(?::\d+)?\}(?:\[edit.*\])?$`],
    commands: {
      allow: JUNOS_COMMANDS,
      denyWords: ['clear', 'configure', 'edit', 'exit', 'file', 'help', 'load', 'monitor', 'ping', 'quit', 'request', 'restart', 'set', 'start', 'telnet', 'ssh', 'test', 'op', 'save', 'rollback', 'commit'],
      deny: [],
      pipes: {
        allow: ['match', 'except', 'count', 'last', 'no-more', 'display', 'find', 'trim', 'resolve', 'compare'],
        deny: ['save', 'append', 'tee', 'request', 'hold', 'refresh'],
      },
      forbidden: ';`\\',
      abbreviations: true,
    },
    configCommands: {
      running: 'show configuration',
      runningSet: 'show configuration | display set',
      candidate: 'show',
      format: 'set',
      ignore: [String.raw`^## Last commit:`, String.raw`^## Last changed:`],
    },
    secrets: [
      String.raw`((?:encrypted-password|secret|authentication-key|simple-password|pre-shared-key ascii-text|pre-shared-key hexadecimal|hello-authentication-key|md5 \d+ key) )`,
      String.raw`(snmp community )`,
      String.raw`^(\s*community )`,
    ],
    facts: { kind: 'junos-json' },
    templatePlatforms: ['juniper_junos'],
    parse: { kind: 'json-pipe', suffix: ' | display json' },
    commit: {
      kind: 'commit-confirmed',
      enter: 'configure private',
      compare: 'show | compare',
      check: 'commit check',
      commitConfirmed: 'commit confirmed {minutes} comment "{comment}"',
      // `commit check` confirms a commit confirmed without adding a rollback point, so rollback 1 stays "before the change".
      confirm: 'commit check',
      discard: 'rollback 0',
      exit: 'exit configuration-mode',
      rollback: 'rollback {n}',
      history: 'show system commit',
      checkSuccess: 'configuration check succeeds',
      commitSuccess: 'commit complete',
    },
  },
  linux: {
    id: 'linux',
    vendor: 'Linux',
    title: 'Linux host (OpenSSH)',
    transport: 'exec',
    anyPrompt: String.raw`[$#]\s*$`,
    prompts: {},
    sessionSetup: [],
    errorPatterns: [],
    confirmPrompts: [],
    noiseLines: [],
    commands: {
      allow: LINUX_COMMANDS,
      denyWords: ['rm', 'mv', 'cp', 'dd', 'sudo', 'su', 'reboot', 'shutdown', 'kill', 'sh', 'bash', 'tee', 'chmod', 'chown', 'journalctl'],
      deny: [
        { pattern: String.raw`^ss\b.*\s(?:-\w*K|--kill)`, reason: 'ss -K kills sockets' },
        { pattern: String.raw`^systemctl status\b.*\s(?:--(?:now|force|host)\b|-H\b)`, reason: 'only local status queries' },
      ],
      forbidden: ';`\\|&$<>(){}[]*?!~\'"#',
      argPattern: String.raw`^[A-Za-z0-9_./:=,@%+-]+$`,
      abbreviations: false,
    },
    configCommands: { running: '', format: 'none', ignore: [] },
    secrets: [],
    facts: { kind: 'linux' },
    templatePlatforms: ['linux'],
    parse: { kind: 'none' },
    commit: { kind: 'none', reason: 'Linux hosts are read-only for this server: configuration tools need a network platform.' },
  },
};

export function platform(id: PlatformId): PlatformDefinition {
  return PLATFORMS[id];
}
