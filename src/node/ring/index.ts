/** The ring's public surface: routing a key to its partition and placing partitions on nodes. */

export { murmurHash3X64_128, murmurHash3X86_32, partitionOf, ringPosition } from "./hash.js";
export { balancedLeaders } from "./leader-balance.js";
export type { Placement, PlacementConfig, PlacementDiff, Replica } from "./placement.js";
export { buildPlacement, PLACEMENT_DEFAULTS } from "./placement.js";
