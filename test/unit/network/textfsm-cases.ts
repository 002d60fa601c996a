// Template/input pairs exercising every TextFSM feature. Used twice: with hand-checked expectations
// (textfsm.test.ts) and against Python textfsm itself (textfsm-python.test.ts).

export interface FsmCase {
  name: string;
  template: string;
  text: string;
}

export const FSM_CASES: FsmCase[] = [
  {
    name: 'filldown-required',
    template: `Value Filldown Chassis (\\S+)
Value Required Slot (\\d+)
Value State (\\w+)

Start
  ^Chassis ${'$'}{Chassis}
  ^  Slot ${'$'}{Slot} is ${'$'}{State} -> Record
`,
    text: `Chassis alpha
  Slot 1 is up
  Slot 2 is down
Chassis beta
  Slot 7 is up
`,
  },
  {
    name: 'list-and-continue',
    template: `Value Interface (\\S+)
Value List Address (\\d+\\.\\d+\\.\\d+\\.\\d+)
Value Mtu (\\d+)

Start
  ^interface -> Continue.Record
  ^interface ${'$'}{Interface} mtu ${'$'}{Mtu}
  ^ address ${'$'}{Address}
`,
    text: `interface a mtu 1500
 address 10.0.0.1
 address 10.0.0.2
interface b mtu 9000
 address 10.0.1.1
`,
  },
  {
    name: 'nested-list',
    template: `Value Name (\\S+)
Value List Pair ((?P<key>\\w+)=(?P<val>\\w+))

Start
  ^name ${'$'}{Name}
  ^  ${'$'}{Pair}
  ^end -> Record
`,
    text: `name x
  a=1
  b=2
end
name y
end
`,
  },
  {
    name: 'fillup',
    template: `Value Item (\\w+)
Value Fillup Group (\\w+)

Start
  ^item ${'$'}{Item} -> Record
  ^group ${'$'}{Group}

EOF
`,
    text: `item one
item two
group g1
item three
group g2
`,
  },
  {
    name: 'states-and-eof',
    template: `Value Name (\\S+)
Value Value (\\S+)

Start
  ^Table: -> Table

Table
  ^${'$'}{Name}\\s+${'$'}{Value}$$ -> Record
  ^--end -> End
`,
    text: `noise 1
Table:
a 1
b 2
--end
c 3
`,
  },
  {
    name: 'explicit-eof-suppresses-record',
    template: `Value Name (\\S+)

Start
  ^name ${'$'}{Name}

EOF
`,
    text: `name last
`,
  },
  {
    name: 'implicit-eof-record',
    template: `Value Name (\\S+)

Start
  ^name ${'$'}{Name}
`,
    text: `name last
`,
  },
  {
    name: 'clear-and-clearall',
    template: `Value Filldown A (\\w+)
Value B (\\w+)

Start
  ^a ${'$'}{A}
  ^b ${'$'}{B}
  ^rec -> Record
  ^clearall -> Clearall
  ^clear -> Clear

EOF
`,
    text: `a x
b 1
rec
b 2
clear
rec
b 3
clearall
rec
a y
b 4
rec
`,
  },
  {
    name: 'next-record-state-transition',
    template: `Value Key,Filldown Host (\\S+)
Value Required Port (\\d+)

Start
  ^host ${'$'}{Host} -> Ports

Ports
  ^port ${'$'}{Port} -> Next.Record
  ^done -> Start
`,
    text: `host h1
port 1
port 2
done
host h2
port 3
done
`,
  },
  {
    name: 'optional-group-and-empty-string',
    template: `Value A (\\w+)
Value B (\\w*)

Start
  ^x ${'$'}{A}(?: ${'$'}{B})?$$ -> Record
`,
    text: `x one two
x three
x four 
`,
  },
  {
    name: 'comments',
    template: `# a comment before values
Value Word (\\w+)

# comment between
Start
  # comment in a state
  ^hello ${'$'}{Word} -> Record
`,
    text: `hello World
hello there
`,
  },
];
