// Owns the public surface of the ONNX writer/reader: re-exports only, no logic.
export * from './graph-builder';
export * from './serialize';
export * from './codec';
export * from './proto-types';
