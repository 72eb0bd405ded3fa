export * from './device-simulator.js';
export * from './https-json.js';
