/** Reported in the inventory; a test keeps it equal to the package version. */
export const AGENT_VERSION = '0.1.0';
