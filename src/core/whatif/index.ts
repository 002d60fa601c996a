export { AUDIT_SECRET_MASK, replayAudit, ruleLabel, summariseArgs, type PolicyLayerName, type WhatIfDirection, type WhatIfExample, type WhatIfGroup, type WhatIfOptions, type WhatIfReport } from './replay';
export { parseSince, readExportedAudit, readLiveAudit, type WhatIfSource } from './source';
export { formatWhatIfReport, loosens } from './format';
export { parseDraft } from './draft';
