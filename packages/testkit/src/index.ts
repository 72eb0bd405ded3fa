export * from './boot-simulator.js';
export * from './device-simulator.js';
export * from './https-json.js';
export * from './mosquitto.js';
export * from './openssl-certificate.js';
export * from './trust-fixtures.js';
