// Threat: the repository is attacker-controlled content. The second half of the payloads of
// hostile-repository.test.ts (split so each file stays well inside the per-file timeout; see lab.ts).
import { hostileLabs, payloadSuite } from './lab';
import { PAYLOADS } from './payloads';

payloadSuite(PAYLOADS.slice(Math.ceil(PAYLOADS.length / 2)), hostileLabs());
