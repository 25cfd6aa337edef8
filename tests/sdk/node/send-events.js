'use strict';

// Sends identify, track, page, group, screen and alias through RudderStack's Node SDK
// to one data plane, flushes, and exits 0 when every batch was accepted.
//
//   node send-events.js DATA_PLANE_URL WRITE_KEY
//
// The client goes to DATA_PLANE_URL only: no proxy from the environment, no retries,
// no persistent queue. The events are the ones tests/harness/test_sdk_clients.py
// expects in Refiner's state.

const Analytics = require('@rudderstack/rudder-sdk-node');

function sendEvents(client) {
  client.identify({
    userId: 'user-3003',
    traits: { email: 'sky@example.test', name: 'Sky Doe', seats: 3 },
  });
  client.track({
    userId: 'user-3003',
    event: 'Invite Sent',
    properties: { count: 2 },
  });
  client.page({
    userId: 'user-3003',
    category: 'Settings',
    name: 'Team',
    properties: { path: '/settings/team' },
  });
  client.group({
    userId: 'user-3003',
    groupId: 'acct-9',
    traits: { name: 'Blue Yonder', employees: 1200000 },
  });
  client.screen({
    userId: 'user-3003',
    name: 'Billing',
    properties: { tab: 'invoices' },
  });
  client.alias({ previousId: 'anon-4004', userId: 'user-3003' });
}

async function main(args) {
  if (args.length !== 2) {
    console.error('usage: node send-events.js DATA_PLANE_URL WRITE_KEY');
    return 2;
  }
  const [dataPlaneUrl, writeKey] = args;

  const failures = [];
  const client = new Analytics(writeKey, {
    dataPlaneUrl,
    flushAt: 100,
    flushInterval: 60000,
    retryCount: 0,
    axiosConfig: { proxy: false },
    logLevel: 'error',
    errorHandler: (error) => failures.push(error),
  });

  sendEvents(client);
  await client.flush();

  for (const failure of failures) {
    const status = failure.response ? failure.response.status : failure.code;
    console.error(`batch refused: ${status} ${failure.message}`);
  }
  return failures.length === 0 ? 0 : 1;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(error);
    process.exit(1);
  },
);
