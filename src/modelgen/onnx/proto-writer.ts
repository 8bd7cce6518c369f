// Owns encoding plain onnx messages to protobuf bytes by walking the schema table in onnx-schema.ts, with no
// generated code: protobufjs's reflected coders are built with `Function`, which the app's CSP refuses in the
// browser converter. It follows protobufjs's output byte for byte (fields in number order, implicit presence:
// 0 / '' / empty bytes left out, repeated numbers packed), so a model encodes the same in Node and in the browser.
import protobuf from 'protobufjs';
import { ONNX_MESSAGES, type FieldSpec } from './onnx-schema';

const WIRE = { varint: 0, fixed64: 1, len: 2, fixed32: 5 } as const;

type Scalar = 'int32' | 'int64' | 'uint64' | 'float' | 'double' | 'string' | 'bytes';
const NUMERIC: ReadonlySet<string> = new Set(['int32', 'int64', 'uint64', 'float', 'double']);

function wireOf(type: Scalar): number {
  if (type === 'float') return WIRE.fixed32;
  if (type === 'double') return WIRE.fixed64;
  if (type === 'string' || type === 'bytes') return WIRE.len;
  return WIRE.varint;
}

function writeScalar(w: protobuf.Writer, type: Scalar, value: unknown): void {
  switch (type) {
    case 'int32':
      w.int32(value as number);
      return;
    case 'int64':
      w.int64(value as number);
      return;
    case 'uint64':
      w.uint64(value as number);
      return;
    case 'float':
      w.float(value as number);
      return;
    case 'double':
      w.double(value as number);
      return;
    case 'string':
      w.string(value as string);
      return;
    case 'bytes':
      w.bytes(value as Uint8Array);
      return;
  }
}

/** A scalar at its protobuf default is not written (proto3-style implicit presence, as protobufjs does here). */
function isDefault(type: Scalar, value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (type === 'string') return value === '';
  if (type === 'bytes') return (value as Uint8Array).byteLength === 0;
  return value === 0;
}

const sortedFields = new Map<string, readonly FieldSpec[]>();

function fieldsInOrder(name: string): readonly FieldSpec[] {
  let fields = sortedFields.get(name);
  if (!fields) {
    const spec = ONNX_MESSAGES[name];
    if (!spec) throw new Error(`onnx schema: no message ${name}`);
    fields = [...spec].sort((a, b) => a[2] - b[2]);
    sortedFields.set(name, fields);
  }
  return fields;
}

function writeMessage(w: protobuf.Writer, name: string, message: Readonly<Record<string, unknown>>): void {
  for (const [field, type, id, repeated] of fieldsInOrder(name)) {
    const value = message[field];
    if (value === undefined || value === null) continue;
    const isMessage = ONNX_MESSAGES[type] !== undefined;
    if (repeated) {
      const items = value as readonly unknown[];
      if (items.length === 0) continue;
      if (NUMERIC.has(type)) {
        w.uint32((id << 3) | WIRE.len).fork();
        for (const item of items) writeScalar(w, type as Scalar, item);
        w.ldelim();
      } else {
        for (const item of items) writeField(w, type, id, isMessage, item);
      }
    } else if (isMessage || !isDefault(type as Scalar, value)) {
      writeField(w, type, id, isMessage, value);
    }
  }
}

function writeField(w: protobuf.Writer, type: string, id: number, isMessage: boolean, value: unknown): void {
  if (isMessage) {
    w.uint32((id << 3) | WIRE.len).fork();
    writeMessage(w, type, value as Record<string, unknown>);
    w.ldelim();
  } else {
    w.uint32((id << 3) | wireOf(type as Scalar));
    writeScalar(w, type as Scalar, value);
  }
}

/** Encodes one onnx message (e.g. 'ModelProto', 'GraphProto', 'TensorProto') given as a plain object. */
export function encodeOnnxMessage(name: string, message: object): Uint8Array {
  const w = protobuf.Writer.create();
  writeMessage(w, name, message as Record<string, unknown>);
  return w.finish();
}
