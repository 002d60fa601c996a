// run() module for the harness self-test (node test/vscode/run.mjs --self-test).
'use strict';

const { runFolder } = require('../../lib/mocha-runner');

exports.run = () => runFolder(__dirname, { timeout: 60_000 });
