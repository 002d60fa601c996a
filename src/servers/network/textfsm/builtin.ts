/**
 * The TextFSM templates shipped with the server, for the common Cisco commands. Value names follow
 * ntc-templates where it has one, so a user's ntc-templates folder and ours give the same fields.
 * Junos needs none: it answers `| display json`.
 */
import { compileTemplate, type CompiledTemplate } from './template';

interface BuiltinTemplate {
  readonly platforms: readonly string[];
  /** Full command (keywords resolved). */
  readonly command: string;
  /** Whether the template also fits the command followed by arguments (an interface name...). */
  readonly withArgs: boolean;
  readonly text: string;
}

/** Template text: `@{NAME}` stands for TextFSM's `${NAME}` (which a template literal would interpolate). */
function fsm(strings: TemplateStringsArray): string {
  return strings.raw.join('').replace(/@\{(\w+)\}/g, (_m, name: string) => '${' + name + '}');
}

const IOS = ['cisco_ios', 'cisco_xe'];
const NXOS = ['cisco_nxos'];
const CISCO = [...IOS, ...NXOS];

// VERSION: IOS-XE 3.x on Catalyst switches prints "Version 03.06.08E RELEASE" (no comma).
// RELOAD_REASON: routers print "Last reload reason:" (it wins, coming later); Catalyst switches
// on classic IOS print only "System returned to ROM by <reason>".
const IOS_SHOW_VERSION = fsm`Value VERSION (.+?)
Value ROMMON ([^,\s]+)
Value HOSTNAME (\S+)
Value UPTIME (.+)
Value RELOAD_REASON (.+?)
Value RUNNING_IMAGE (\S+)
Value List HARDWARE (\S+)
Value List SERIAL (\S+)
Value CONFIG_REGISTER (\S+)

Start
  ^.*Software\s.+\),\s+Version\s+@{VERSION}(?:,|\s+RELEASE\s)
  ^ROM:\s+(?:System\s+Bootstrap,\s+Version\s+)?@{ROMMON}
  ^\s*@{HOSTNAME}\s+uptime\s+is\s+@{UPTIME}
  ^[Ss]ystem\s+image\s+file\s+is\s+"(?:[^:"]*:)?@{RUNNING_IMAGE}"
  ^System\s+returned\s+to\s+ROM\s+by\s+@{RELOAD_REASON}\s*$$
  ^[Ll]ast\s+reload\s+reason:\s+@{RELOAD_REASON}\s*$$
  ^[Pp]rocessor\s+board\s+ID\s+@{SERIAL}
  ^[Cc]isco\s+@{HARDWARE}\s+\(.+\)\s+(?:processor|with)
  ^[Cc]onfiguration\s+register\s+is\s+@{CONFIG_REGISTER}
`;

const IOS_SHOW_IP_INTERFACE_BRIEF = fsm`Value INTERFACE (\S+)
Value IP_ADDRESS (\S+)
Value STATUS (up|down|administratively\s+down|deleted)
Value PROTO (up|down)

Start
  ^Interface\s+IP-Address\s+OK\?\s+Method\s+Status\s+Protocol\s*$$
  ^@{INTERFACE}\s+@{IP_ADDRESS}\s+\w+\s+\w+\s+@{STATUS}\s+@{PROTO}\s*$$ -> Record
  ^\s*$$
  ^. -> Error "unexpected line in show ip interface brief"
`;

const IOS_SHOW_INTERFACES = fsm`Value Required INTERFACE (\S+)
Value LINK_STATUS (.+?)
Value PROTOCOL_STATUS (.+?)
Value HARDWARE_TYPE (.+?)
Value MAC_ADDRESS ([a-fA-F0-9]{4}\.[a-fA-F0-9]{4}\.[a-fA-F0-9]{4})
Value DESCRIPTION (.+?)
Value IP_ADDRESS (\d+\.\d+\.\d+\.\d+)
Value PREFIX_LENGTH (\d+)
Value MTU (\d+)
Value BANDWIDTH (\d+\s+\w+)
Value INPUT_PACKETS (\d+)
Value OUTPUT_PACKETS (\d+)
Value INPUT_ERRORS (\d+)
Value OUTPUT_ERRORS (\d+)

Start
  ^\S+\s+is\s+.+?,\s+line\s+protocol\s+is -> Continue.Record
  ^@{INTERFACE}\s+is\s+@{LINK_STATUS},\s+line\s+protocol\s+is\s+@{PROTOCOL_STATUS}\s*$$
  ^\s+Hardware\s+is\s+@{HARDWARE_TYPE}(?:,\s+address\s+is\s+@{MAC_ADDRESS}.*)?\s*$$
  ^\s+Description:\s+@{DESCRIPTION}\s*$$
  ^\s+Internet\s+address\s+is\s+@{IP_ADDRESS}\/@{PREFIX_LENGTH}
  ^\s+MTU\s+@{MTU}\s+bytes,\s+BW\s+@{BANDWIDTH}
  ^\s+@{INPUT_PACKETS}\s+packets\s+input
  ^\s+@{INPUT_ERRORS}\s+input\s+errors
  ^\s+@{OUTPUT_PACKETS}\s+packets\s+output
  ^\s+@{OUTPUT_ERRORS}\s+output\s+errors
`;

const NXOS_SHOW_INTERFACE = fsm`Value Required INTERFACE (\S+)
Value LINK_STATUS (.+?)
Value ADMIN_STATE (\S+)
Value HARDWARE_TYPE (.+?)
Value MAC_ADDRESS ([a-fA-F0-9]{4}\.[a-fA-F0-9]{4}\.[a-fA-F0-9]{4})
Value DESCRIPTION (.+?)
Value IP_ADDRESS (\d+\.\d+\.\d+\.\d+)
Value PREFIX_LENGTH (\d+)
Value MTU (\d+)
Value BANDWIDTH (\d+\s+\w+)
Value INPUT_PACKETS (\d+)
Value OUTPUT_PACKETS (\d+)
Value INPUT_ERRORS (\d+)
Value OUTPUT_ERRORS (\d+)

Start
  ^\S+\s+is\s+(?:up|down) -> Continue.Record
  ^@{INTERFACE}\s+is\s+@{LINK_STATUS}\s*$$
  ^admin\s+state\s+is\s+@{ADMIN_STATE},
  ^\s+Hardware:\s+@{HARDWARE_TYPE},\s+address:\s+@{MAC_ADDRESS}
  ^\s+Description:\s+@{DESCRIPTION}\s*$$
  ^\s+Internet\s+Address\s+is\s+@{IP_ADDRESS}\/@{PREFIX_LENGTH}
  ^\s+MTU\s+@{MTU}\s+bytes,\s+BW\s+@{BANDWIDTH}
  ^\s+@{INPUT_PACKETS}\s+input\s+packets
  ^\s+@{INPUT_ERRORS}\s+input\s+error
  ^\s+@{OUTPUT_PACKETS}\s+output\s+packets
  ^\s+@{OUTPUT_ERRORS}\s+output\s+error
`;

const CISCO_SHOW_VLAN = fsm`Value VLAN_ID (\d+)
Value NAME (\S+)
Value STATUS (\S+)
Value List INTERFACES ([\w\/\.\-]+)

Start
  ^VLAN\s+Name\s+Status\s+Ports -> Vlans

Vlans
  ^\d+\s -> Continue.Record
  ^@{VLAN_ID}\s+@{NAME}\s+@{STATUS}\s*$$
  ^@{VLAN_ID}\s+@{NAME}\s+@{STATUS}\s+@{INTERFACES},? -> Continue
  ^\d+\s+\S+\s+\S+\s+\S+,\s+@{INTERFACES},? -> Continue
  ^\d+\s+\S+\s+\S+\s+(?:\S+,\s+){2}@{INTERFACES},? -> Continue
  ^\d+\s+\S+\s+\S+\s+(?:\S+,\s+){3}@{INTERFACES},? -> Continue
  ^\s+@{INTERFACES},? -> Continue
  ^\s+\S+,\s+@{INTERFACES},? -> Continue
  ^\s+(?:\S+,\s+){2}@{INTERFACES},? -> Continue
  ^\s+(?:\S+,\s+){3}@{INTERFACES},? -> Continue
  ^VLAN\s+Type -> Record End
`;

const IOS_SHOW_IP_ROUTE = fsm`Value PROTOCOL ([A-Za-z]+)
Value TYPE (IA|E1|E2|N1|N2|L1|L2|ia|su)
Value NETWORK (\d+\.\d+\.\d+\.\d+)
Value PREFIX_LENGTH (\d+)
Value DISTANCE (\d+)
Value METRIC (\d+)
Value NEXTHOP_IP (\d+\.\d+\.\d+\.\d+)
Value NEXTHOP_IF (\S+)
Value UPTIME (\S+)

Start
  ^Gateway\s+of\s+last\s+resort -> Routes

Routes
  ^\s+\d+\.\d+\.\d+\.\d+\/\d+\s+is\s+(?:variably\s+)?subnetted
  ^@{PROTOCOL}\*?\s+(?:@{TYPE}\s+)?@{NETWORK}\/@{PREFIX_LENGTH}\s+\[@{DISTANCE}\/@{METRIC}\]\s+via\s+@{NEXTHOP_IP}(?:,\s+@{UPTIME})?(?:,\s+@{NEXTHOP_IF})?\s*$$ -> Record
  ^@{PROTOCOL}\*?\s+(?:@{TYPE}\s+)?@{NETWORK}\/@{PREFIX_LENGTH}\s+is\s+directly\s+connected,\s+@{NEXTHOP_IF}\s*$$ -> Record
`;

const NXOS_SHOW_IP_ROUTE = fsm`Value Filldown VRF ([^"]+)
Value Filldown NETWORK (\d+\.\d+\.\d+\.\d+)
Value Filldown PREFIX_LENGTH (\d+)
Value Required NEXTHOP_IP (\d+\.\d+\.\d+\.\d+)
Value NEXTHOP_IF (\S+)
Value DISTANCE (\d+)
Value METRIC (\d+)
Value UPTIME (\S+)
Value PROTOCOL (\S+)

Start
  ^IP\s+Route\s+Table\s+for\s+VRF\s+"@{VRF}"
  ^@{NETWORK}\/@{PREFIX_LENGTH},\s+ubest
  ^\s+\*via\s+@{NEXTHOP_IP},\s+@{NEXTHOP_IF},\s+\[@{DISTANCE}\/@{METRIC}\],\s+@{UPTIME},\s+@{PROTOCOL} -> Record
  ^\s+\*via\s+@{NEXTHOP_IP},\s+\[@{DISTANCE}\/@{METRIC}\],\s+@{UPTIME},\s+@{PROTOCOL} -> Record
`;

const IOS_SHOW_CDP_NEIGHBORS = fsm`Value NEIGHBOR_NAME (\S+)
Value LOCAL_INTERFACE (\S+\s*\d+(?:\/\d+)*)
Value CAPABILITY ([A-Za-z](?:\s[A-Za-z])*)
Value PLATFORM (\S+)
Value NEIGHBOR_INTERFACE (\S+\s*\d+(?:\/\d+)*)

Start
  ^Device[\s-]ID\s+Local\s+Intrfce -> Entries

Entries
  ^@{NEIGHBOR_NAME}\s*$$
  ^\s+@{LOCAL_INTERFACE}\s+\d+\s+@{CAPABILITY}\s+@{PLATFORM}\s+@{NEIGHBOR_INTERFACE}\s*$$ -> Record
  ^@{NEIGHBOR_NAME}\s+@{LOCAL_INTERFACE}\s+\d+\s+@{CAPABILITY}\s+@{PLATFORM}\s+@{NEIGHBOR_INTERFACE}\s*$$ -> Record
  ^Total\s+(?:cdp\s+)?entries -> End
`;

const CISCO_SHOW_LLDP_NEIGHBORS = fsm`Value NEIGHBOR_NAME (\S+)
Value LOCAL_INTERFACE (\S+)
Value CAPABILITIES (\S*)
Value NEIGHBOR_INTERFACE (\S+)

Start
  ^Device\s+ID\s+Local\s+Intf\s+Hold-time\s+Capability\s+Port\s+ID -> Entries

Entries
  ^@{NEIGHBOR_NAME}\s+@{LOCAL_INTERFACE}\s+\d+\s+@{CAPABILITIES}\s+@{NEIGHBOR_INTERFACE}\s*$$ -> Record
  ^Total\s+entries -> End
`;

const CISCO_SHOW_INVENTORY = fsm`Value NAME (.+?)
Value DESCR (.*?)
Value PID (\S*)
Value VID (\S*)
Value SN (\S*)

Start
  ^NAME:\s+"@{NAME}",\s+DESCR:\s+"@{DESCR}"\s*$$
  ^PID:\s+@{PID}\s*,\s+VID:\s+@{VID}\s*,\s+SN:\s+@{SN}\s*$$ -> Record
`;

const NXOS_SHOW_VERSION = fsm`Value UPTIME (.+)
Value LAST_REBOOT_REASON (.+)
Value BIOS (\S*)
Value OS (\S+)
Value BOOT_IMAGE (\S+)
Value PLATFORM (\S+)
Value HOSTNAME (\S+)
Value SERIAL (\S+)

Start
  ^\s+BIOS:\s+version\s*@{BIOS}
  ^\s+(?:NXOS|system):\s+version\s+@{OS}
  ^\s+(?:NXOS|system)\s+image\s+file\s+is:\s+@{BOOT_IMAGE}
  ^\s+cisco\s+(?:Nexus\d*\s+)?@{PLATFORM}\s+(?:\(\d+\s+[Ss]lot\)\s+)?[Cc]hassis
  ^\s+Device\s+name:\s+@{HOSTNAME}
  ^\s+Processor\s+[Bb]oard\s+ID\s+@{SERIAL}
  ^Kernel\s+uptime\s+is\s+@{UPTIME}
  ^\s+Reason:\s+@{LAST_REBOOT_REASON}
`;

const NXOS_SHOW_IP_INTERFACE_BRIEF = fsm`Value Filldown VRF ([^"]+)
Value Required INTERFACE (\S+)
Value IP_ADDRESS (\d+\.\d+\.\d+\.\d+)
Value STATUS (\S+)

Start
  ^IP\s+Interface\s+Status\s+for\s+VRF\s+"@{VRF}"
  ^Interface\s+IP\s+Address\s+Interface\s+Status
  ^@{INTERFACE}\s+@{IP_ADDRESS}\s+@{STATUS}\s*$$ -> Record
`;

export const BUILTIN_TEMPLATES: readonly BuiltinTemplate[] = [
  { platforms: IOS, command: 'show version', withArgs: false, text: IOS_SHOW_VERSION },
  { platforms: IOS, command: 'show ip interface brief', withArgs: false, text: IOS_SHOW_IP_INTERFACE_BRIEF },
  { platforms: IOS, command: 'show interfaces', withArgs: true, text: IOS_SHOW_INTERFACES },
  { platforms: CISCO, command: 'show vlan', withArgs: false, text: CISCO_SHOW_VLAN },
  { platforms: CISCO, command: 'show vlan brief', withArgs: false, text: CISCO_SHOW_VLAN },
  { platforms: IOS, command: 'show ip route', withArgs: true, text: IOS_SHOW_IP_ROUTE },
  { platforms: CISCO, command: 'show cdp neighbors', withArgs: false, text: IOS_SHOW_CDP_NEIGHBORS },
  { platforms: CISCO, command: 'show lldp neighbors', withArgs: false, text: CISCO_SHOW_LLDP_NEIGHBORS },
  { platforms: CISCO, command: 'show inventory', withArgs: false, text: CISCO_SHOW_INVENTORY },
  { platforms: NXOS, command: 'show version', withArgs: false, text: NXOS_SHOW_VERSION },
  { platforms: NXOS, command: 'show ip interface brief', withArgs: false, text: NXOS_SHOW_IP_INTERFACE_BRIEF },
  { platforms: NXOS, command: 'show interface', withArgs: true, text: NXOS_SHOW_INTERFACE },
  { platforms: NXOS, command: 'show ip route', withArgs: true, text: NXOS_SHOW_IP_ROUTE },
];

/** Compiled built-in templates, looked up by platform and resolved command. */
export class BuiltinTemplates {
  private readonly compiled = new Map<BuiltinTemplate, CompiledTemplate>();

  /** The template for `command` (full keywords, arguments after them) on the first matching platform. */
  find(platforms: readonly string[], command: string): CompiledTemplate | undefined {
    for (const p of platforms) {
      const entry =
        BUILTIN_TEMPLATES.find((t) => t.platforms.includes(p) && t.command === command) ??
        BUILTIN_TEMPLATES.find((t) => t.platforms.includes(p) && t.withArgs && command.startsWith(`${t.command} `));
      if (entry === undefined) continue;
      let c = this.compiled.get(entry);
      if (c === undefined) {
        c = compileTemplate(entry.text, `${p}_${entry.command.replace(/ /g, '_')}`);
        this.compiled.set(entry, c);
      }
      return c;
    }
    return undefined;
  }
}
