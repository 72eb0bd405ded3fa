export * from './logs/deployment-log.js';
export * from './logs/log-key.js';
export * from './state/atomic-file.js';
export * from './state/state-store.js';
export * from './state/transitions.js';
export * from './state/update-machine.js';
export * from './transport/resumable-download.js';
export * from './trust/device-trust.js';
