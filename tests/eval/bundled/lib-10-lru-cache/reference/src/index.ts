export * from "./string";
export * from "./array";
export * from "./object";
export * from "./date";
export * from "./cache";
