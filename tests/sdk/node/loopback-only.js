'use strict';

// Loaded with `node --require`: refuses, before any packet or name lookup, every TCP
// connection that is not to the loopback interface, so a test fails at once if a
// client sends anywhere but the server the test started.

const net = require('net');

const LOOPBACK_NAMES = new Set(['localhost', '::1', '[::1]']);

function isLoopback(host) {
  return LOOPBACK_NAMES.has(host) || /^127(\.\d{1,3}){3}$/.test(host);
}

// The host of a `Socket.prototype.connect` call, or null for a local socket path.
// `net.connect` passes its arguments normalized, as an array holding the options.
function targetHost(args) {
  const first = Array.isArray(args[0]) ? args[0][0] : args[0];
  if (first !== null && typeof first === 'object') {
    return first.path ? null : String(first.host || 'localhost');
  }
  if (typeof first === 'string' && Number.isNaN(Number(first))) {
    return null;
  }
  return typeof args[1] === 'string' ? args[1] : 'localhost';
}

const connect = net.Socket.prototype.connect;

net.Socket.prototype.connect = function loopbackOnly(...args) {
  const host = targetHost(args);
  if (host !== null && !isLoopback(host)) {
    throw new Error(`refused a connection to ${host}: only loopback is allowed`);
  }
  return connect.apply(this, args);
};
