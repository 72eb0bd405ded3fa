export * from './mqtt-client.js';
export * from './mqtt-session.js';
