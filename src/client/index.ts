/** The TypeScript client of tinyo. */
export type { Key, KeyValue, ScanOptions, Served, TinyoBatch, TinyoClientOptions } from "./tinyo-client.js";
export { Consistency, TinyoClient } from "./tinyo-client.js";
