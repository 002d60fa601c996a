// run() module for `npm run test:vscode`: runs ./*.test.js with mocha inside VS Code's extension
// host (the @vscode/test-electron extensionTestsPath contract). Report: see lib/mocha-runner.js.
'use strict';

const { runFolder } = require('../lib/mocha-runner');

exports.run = () => runFolder(__dirname, { timeout: 60_000 });
