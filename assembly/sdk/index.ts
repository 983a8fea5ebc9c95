// The plugin side of the pathcheck ABI (docs/ABI.md). Checkers import from "../sdk".
export * from "./wasi";
export * from "./state";
export * from "./message";
export * from "./scsi";
export * from "./sg";
export * from "./sense";
export * from "./strings";
export * from "./exchange";
export * from "./sector0-read";
export * from "./vpd-inquiry";
