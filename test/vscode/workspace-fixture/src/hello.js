'use strict';

module.exports = function hello(name) {
  return `hello ${name}`;
};
