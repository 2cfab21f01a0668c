/**
 * A strict pass over ONNX protobuf bytes before protobufjs decodes them.
 *
 * protobufjs (through onnx-proto's generated decoders) trusts the wire format:
 * a known field with the wrong wire type is read as if it had the right one
 * (garbage values), group wire types are skipped by unbounded recursion, a
 * negative enum is kept, and a 6- to 9-byte varint read as a 32-bit value
 * (a tag, a length, an int32) is misread — it assumes such a varint is always
 * 10 bytes. onnxruntime refuses most of these files ("Protobuf parsing
 * failed") while `weights` analysed them. This pass walks every field of
 * every message against the ONNX schema below and refuses, naming the field:
 *
 *   - a known field with a wire type its type cannot have (packed and
 *     unpacked repeated scalars are both accepted, as protobuf does);
 *   - group wire types (3, 4) and the invalid wire types 6 and 7, field 0;
 *   - nesting deeper than 100 messages (protobuf's default recursion limit);
 *   - negative values of the enum-typed fields (AttributeProto.type,
 *     TensorProto.data_location), which onnxruntime's parser refuses;
 *   - varints longer than 10 bytes, lengths that run past their message.
 *
 * Varints of up to 10 bytes are valid protobuf. When one that protobufjs
 * would misread occurs (rare: only non-minimal encoders write them), the
 * message is re-encoded with minimal varints, which protobufjs reads right.
 *
 * Unknown fields (newer ONNX versions) are checked for a valid wire type and
 * skipped, as protobuf does.
 */
import { ModeldiffError } from '../errors';

type Scalar = 'int64' | 'int32' | 'enum' | 'float' | 'double' | 'bytes';

interface Field {
  name: string;
  kind: Scalar | MessageSchema;
  repeated?: boolean;
}

export interface MessageSchema {
  name: string;
  fields: Record<number, Field>;
}

function message(name: string): MessageSchema {
  return { name, fields: {} };
}

// The ONNX messages (onnx.proto), the field numbers onnx-proto decodes.
const Model = message('ModelProto');
const Graph = message('GraphProto');
const Node = message('NodeProto');
const Attribute = message('AttributeProto');
const ValueInfo = message('ValueInfoProto');
const Tensor = message('TensorProto');
const Segment = message('TensorProto.Segment');
const SparseTensor = message('SparseTensorProto');
const Shape = message('TensorShapeProto');
const Dimension = message('TensorShapeProto.Dimension');
const Type = message('TypeProto');
const TypeTensor = message('TypeProto.Tensor');
const TypeSequence = message('TypeProto.Sequence');
const TypeMap = message('TypeProto.Map');
const TypeOptional = message('TypeProto.Optional');
const TypeSparse = message('TypeProto.SparseTensor');
const OpsetId = message('OperatorSetIdProto');
const Entry = message('StringStringEntryProto');
const Annotation = message('TensorAnnotation');
const TrainingInfo = message('TrainingInfoProto');
const Function = message('FunctionProto');

const f = (name: string, kind: Field['kind'], repeated = false): Field => ({ name, kind, repeated });
Model.fields = {
  1: f('ir_version', 'int64'),
  8: f('opset_import', OpsetId, true),
  2: f('producer_name', 'bytes'),
  3: f('producer_version', 'bytes'),
  4: f('domain', 'bytes'),
  5: f('model_version', 'int64'),
  6: f('doc_string', 'bytes'),
  7: f('graph', Graph),
  14: f('metadata_props', Entry, true),
  20: f('training_info', TrainingInfo, true),
  25: f('functions', Function, true),
};
Graph.fields = {
  1: f('node', Node, true),
  2: f('name', 'bytes'),
  5: f('initializer', Tensor, true),
  15: f('sparse_initializer', SparseTensor, true),
  10: f('doc_string', 'bytes'),
  11: f('input', ValueInfo, true),
  12: f('output', ValueInfo, true),
  13: f('value_info', ValueInfo, true),
  14: f('quantization_annotation', Annotation, true),
};
Node.fields = {
  1: f('input', 'bytes', true),
  2: f('output', 'bytes', true),
  3: f('name', 'bytes'),
  4: f('op_type', 'bytes'),
  7: f('domain', 'bytes'),
  5: f('attribute', Attribute, true),
  6: f('doc_string', 'bytes'),
};
Attribute.fields = {
  1: f('name', 'bytes'),
  21: f('ref_attr_name', 'bytes'),
  13: f('doc_string', 'bytes'),
  20: f('type', 'enum'),
  2: f('f', 'float'),
  3: f('i', 'int64'),
  4: f('s', 'bytes'),
  5: f('t', Tensor),
  6: f('g', Graph),
  22: f('sparse_tensor', SparseTensor),
  14: f('tp', Type),
  7: f('floats', 'float', true),
  8: f('ints', 'int64', true),
  9: f('strings', 'bytes', true),
  10: f('tensors', Tensor, true),
  11: f('graphs', Graph, true),
  23: f('sparse_tensors', SparseTensor, true),
  15: f('type_protos', Type, true),
};
ValueInfo.fields = { 1: f('name', 'bytes'), 2: f('type', Type), 3: f('doc_string', 'bytes') };
Tensor.fields = {
  1: f('dims', 'int64', true),
  2: f('data_type', 'int32'),
  3: f('segment', Segment),
  4: f('float_data', 'float', true),
  5: f('int32_data', 'int32', true),
  6: f('string_data', 'bytes', true),
  7: f('int64_data', 'int64', true),
  8: f('name', 'bytes'),
  12: f('doc_string', 'bytes'),
  9: f('raw_data', 'bytes'),
  13: f('external_data', Entry, true),
  14: f('data_location', 'enum'),
  10: f('double_data', 'double', true),
  11: f('uint64_data', 'int64', true),
};
Segment.fields = { 1: f('begin', 'int64'), 2: f('end', 'int64') };
SparseTensor.fields = { 1: f('values', Tensor), 2: f('indices', Tensor), 3: f('dims', 'int64', true) };
Shape.fields = { 1: f('dim', Dimension, true) };
Dimension.fields = { 1: f('dim_value', 'int64'), 2: f('dim_param', 'bytes'), 3: f('denotation', 'bytes') };
Type.fields = {
  1: f('tensor_type', TypeTensor),
  4: f('sequence_type', TypeSequence),
  5: f('map_type', TypeMap),
  9: f('optional_type', TypeOptional),
  8: f('sparse_tensor_type', TypeSparse),
  6: f('denotation', 'bytes'),
};
TypeTensor.fields = { 1: f('elem_type', 'int32'), 2: f('shape', Shape) };
TypeSequence.fields = { 1: f('elem_type', Type) };
TypeMap.fields = { 1: f('key_type', 'int32'), 2: f('value_type', Type) };
TypeOptional.fields = { 1: f('elem_type', Type) };
TypeSparse.fields = { 1: f('elem_type', 'int32'), 2: f('shape', Shape) };
OpsetId.fields = { 1: f('domain', 'bytes'), 2: f('version', 'int64') };
Entry.fields = { 1: f('key', 'bytes'), 2: f('value', 'bytes') };
Annotation.fields = { 1: f('tensor_name', 'bytes'), 2: f('quant_parameter_tensor_names', Entry, true) };
TrainingInfo.fields = {
  1: f('initialization', Graph),
  2: f('algorithm', Graph),
  3: f('initialization_binding', Entry, true),
  4: f('update_binding', Entry, true),
};
Function.fields = {
  1: f('name', 'bytes'),
  4: f('input', 'bytes', true),
  5: f('output', 'bytes', true),
  6: f('attribute', 'bytes', true),
  7: f('node', Node, true),
  8: f('doc_string', 'bytes'),
  9: f('opset_import', OpsetId, true),
  10: f('domain', 'bytes'),
};

export const ONNX_MODEL: MessageSchema = Model;
export const ONNX_TENSOR: MessageSchema = Tensor;

/** protobuf's default recursion limit (C++ and upb). */
export const MAX_DEPTH = 100;

const WIRE_NAMES = ['varint', 'fixed64', 'length-delimited', 'start-group', 'end-group', 'fixed32', 'wire type 6', 'wire type 7'];

/** The wire type a field's values have when not packed. */
function scalarWire(kind: Field['kind']): number {
  switch (kind) {
    case 'int64':
    case 'int32':
    case 'enum':
      return 0;
    case 'double':
      return 1;
    case 'float':
      return 5;
    default:
      return 2;
  }
}

/** Where the walk is, for messages: field names and repeated-field indices, built only on error. */
interface Frame {
  field: string;
  index: number;
}

/**
 * Check `bytes` as a serialized message of `schema`. Returns `bytes` itself, or a re-encoded
 * copy with minimal varints when protobufjs would misread a non-minimal one. `fail(why)` makes
 * the error (the caller names the file and picks the code).
 */
export function checkProtobuf(bytes: Uint8Array, schema: MessageSchema, fail: (why: string) => ModeldiffError): Uint8Array {
  const walker = new Walker(new MemoryBytes(bytes), fail);
  walker.walk(0, bytes.length, schema, 0, null);
  if (!walker.misreadVarint) return bytes;
  const out: Uint8Array[] = [];
  walker.walk(0, bytes.length, schema, 0, out);
  return concat(out);
}

/** Where one graph initializer's raw_data bytes are in the model bytes. */
export interface RawDataRange {
  /** Index in graph.initializer. */
  initializer: number;
  offset: number;
  length: number;
}

/** A file (or any byte store) read by ranges: `read(offset, length)` returns those bytes. */
export interface RangeReader {
  readonly length: number;
  read(offset: number, length: number): Uint8Array;
}

/**
 * Check a model (as checkProtobuf) and return it without the raw_data of the main graph's
 * initializers, plus where each one's bytes are: the weights can then be read one tensor at
 * a time instead of keeping the whole model in memory. Given a RangeReader (a model file),
 * the walk reads the file through a small window and jumps over each detached raw_data, so
 * the weights are never read here at all.
 */
export function detachInitializerData(source: Uint8Array | RangeReader, fail: (why: string) => ModeldiffError): { model: Uint8Array; ranges: RawDataRange[] } {
  const bytes = source instanceof Uint8Array ? new MemoryBytes(source) : new WindowBytes(source);
  const walker = new Walker(bytes, fail);
  const out: Uint8Array[] = [];
  walker.detach = [];
  // One pass: it checks what it emits (and emits minimal varints, so no second pass is needed).
  walker.walk(0, bytes.length, ONNX_MODEL, 0, out);
  return { model: concat(out), ranges: walker.detach };
}

/** What the walk reads: one byte at a time, and ranges to emit. */
interface Bytes {
  readonly length: number;
  at(pos: number): number;
  /** Bytes [start, end), never modified by the walk (a view in memory, a copy from a file). */
  slice(start: number, end: number): Uint8Array;
}

class MemoryBytes implements Bytes {
  constructor(private readonly bytes: Uint8Array) {}
  get length(): number {
    return this.bytes.length;
  }
  at(pos: number): number {
    return this.bytes[pos];
  }
  slice(start: number, end: number): Uint8Array {
    return this.bytes.subarray(start, end);
  }
}

/**
 * A RangeReader seen through a window of WINDOW bytes: reading the message structure costs
 * one read per window, and a skipped field longer than the window (a weight's raw_data) is
 * never read.
 */
class WindowBytes implements Bytes {
  static readonly WINDOW = 1 << 16;
  private window: Uint8Array = new Uint8Array(0);
  private start = 0;

  constructor(private readonly reader: RangeReader) {}

  get length(): number {
    return this.reader.length;
  }

  at(pos: number): number {
    const i = pos - this.start;
    if (i >= 0 && i < this.window.length) return this.window[i];
    this.start = pos;
    this.window = this.reader.read(pos, Math.min(WindowBytes.WINDOW, this.reader.length - pos));
    return this.window[0];
  }

  slice(start: number, end: number): Uint8Array {
    const i = start - this.start;
    if (i >= 0 && end - this.start <= this.window.length) return this.window.slice(i, end - this.start);
    return this.reader.read(start, end - start);
  }
}

class Walker {
  pos = 0;
  /** Set when a varint read as 32 bits is 6-9 bytes long (protobufjs misreads those). */
  misreadVarint = false;
  /** When set (emitting), the main graph's initializer raw_data is left out and its range recorded here. */
  detach: RawDataRange[] | null = null;
  /** Start of the last varint read and its byte length. */
  private varintStart = 0;
  private readonly stack: Frame[] = [];

  constructor(
    private readonly bytes: Bytes,
    private readonly fail: (why: string) => ModeldiffError,
  ) {}

  private where(schema: MessageSchema, field?: string): string {
    const parts = this.stack.map((s) => (s.index >= 0 ? `${s.field}[${s.index}]` : s.field));
    if (field !== undefined) parts.push(field);
    return parts.length > 0 ? `field ${parts.join('.')}` : schema.name;
  }

  private error(schema: MessageSchema, field: string | undefined, why: string): ModeldiffError {
    return this.fail(`malformed protobuf: ${this.where(schema, field)} (${schema.name}): ${why}`);
  }

  /** Read a varint of at most 10 bytes ending before `end`; returns its low 32 bits and value (exact to 2^53). */
  private varint(end: number, schema: MessageSchema, field: string | undefined): { lo: number; value: number; length: number } {
    const start = (this.varintStart = this.pos);
    let lo = 0;
    let value = 0;
    let scale = 1;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= end) throw this.error(schema, field, 'truncated varint');
      const b = this.bytes.at(this.pos++);
      if (i < 5) lo = (lo | ((b & 0x7f) << (7 * i))) >>> 0;
      value += (b & 0x7f) * scale;
      scale *= 128;
      if (b < 0x80) return { lo, value, length: this.pos - start };
    }
    throw this.error(schema, field, 'varint longer than 10 bytes');
  }

  /** Note a varint protobufjs reads as 32 bits (tags, lengths, int32, enums). */
  private read32(length: number): void {
    if (length > 5 && length < 10) this.misreadVarint = true;
  }

  walk(start: number, end: number, schema: MessageSchema, depth: number, out: Uint8Array[] | null): void {
    if (depth > MAX_DEPTH) throw this.error(schema, undefined, `messages nested more than ${MAX_DEPTH} deep`);
    this.pos = start;
    const counts = new Map<number, number>();
    while (this.pos < end) {
      const tag = this.varint(end, schema, undefined);
      this.read32(tag.length);
      if (tag.value > 0xffffffff) throw this.error(schema, undefined, `tag ${tag.value} is out of range`);
      const number = tag.lo >>> 3;
      const wire = tag.lo & 7;
      const field = schema.fields[number];
      const name = field?.name ?? `#${number}`;
      if (number === 0) throw this.error(schema, undefined, 'field number 0');
      if (wire === 3 || wire === 4) throw this.error(schema, name, 'group wire types are not supported');
      if (wire > 5) throw this.error(schema, name, `invalid wire type ${wire}`);
      if (field) {
        const scalar = scalarWire(field.kind);
        const packable = field.repeated === true && scalar !== 2;
        if (wire !== scalar && !(packable && wire === 2)) {
          throw this.error(schema, name, `has wire type ${WIRE_NAMES[wire]}, but a ${typeof field.kind === 'string' ? field.kind : 'message'} field needs ${WIRE_NAMES[scalar]}${packable ? ' or length-delimited (packed)' : ''}`);
        }
      }
      const tagAt = out ? out.push(encodeVarint(tag.lo)) - 1 : -1;
      switch (wire) {
        case 0: {
          const v = this.varint(end, schema, name);
          const is32 = field?.kind === 'int32' || field?.kind === 'enum';
          if (is32) this.read32(v.length);
          if (field?.kind === 'enum' && (v.lo | 0) < 0) throw this.error(schema, name, `negative enum value ${v.lo | 0}`);
          if (out) out.push(is32 ? encodeInt32(v.lo | 0) : this.bytes.slice(this.varintStart, this.pos));
          break;
        }
        case 1:
        case 5: {
          const size = wire === 1 ? 8 : 4;
          if (this.pos + size > end) throw this.error(schema, name, `truncated ${WIRE_NAMES[wire]} value`);
          if (out) out.push(this.bytes.slice(this.pos, this.pos + size));
          this.pos += size;
          break;
        }
        default: {
          const len = this.varint(end, schema, name);
          this.read32(len.length);
          const bodyStart = this.pos;
          if (len.value > end - bodyStart) throw this.error(schema, name, `length ${len.value} runs past the end of its message`);
          const bodyEnd = bodyStart + len.value;
          if (field && typeof field.kind === 'object') {
            const index = field.repeated ? (counts.get(number) ?? 0) : -1;
            if (field.repeated) counts.set(number, index + 1);
            this.stack.push({ field: name, index });
            const inner: Uint8Array[] | null = out ? [] : null;
            this.walk(bodyStart, bodyEnd, field.kind, depth + 1, inner);
            this.stack.pop();
            if (out && inner) {
              const body = concat(inner);
              out.push(encodeVarint(body.length), body);
            }
          } else if (field && field.kind !== 'bytes') {
            this.packed(bodyStart, bodyEnd, field, schema, out);
          } else if (this.detach && number === 9 && schema === Tensor && this.isMainInitializer()) {
            this.detach.push({ initializer: this.stack[1].index, offset: bodyStart, length: len.value });
            if (out) out[tagAt] = new Uint8Array(0); // the field goes entirely, tag included
          } else if (out) {
            out.push(encodeVarint(len.value), this.bytes.slice(bodyStart, bodyEnd));
          }
          this.pos = bodyEnd;
        }
      }
    }
  }

  /** Whether the walk is in ModelProto.graph.initializer[i] itself (not a nested graph's). */
  private isMainInitializer(): boolean {
    return this.stack.length === 2 && this.stack[0].field === 'graph' && this.stack[1].field === 'initializer';
  }

  /** A packed repeated scalar: a whole number of fixed-size values, or a run of valid varints. */
  private packed(start: number, end: number, field: Field, schema: MessageSchema, out: Uint8Array[] | null): void {
    const length = end - start;
    if (field.kind === 'float' || field.kind === 'double') {
      const size = field.kind === 'float' ? 4 : 8;
      if (length % size !== 0) throw this.error(schema, field.name, `packed ${field.kind} data of ${length} bytes is not a whole number of values`);
      if (out) out.push(encodeVarint(length), this.bytes.slice(start, end));
      return;
    }
    const is32 = field.kind === 'int32';
    const values: Uint8Array[] = [];
    this.pos = start;
    while (this.pos < end) {
      const v = this.varint(end, schema, field.name);
      if (is32) this.read32(v.length);
      if (out) values.push(is32 ? encodeInt32(v.lo | 0) : this.bytes.slice(this.varintStart, this.pos));
    }
    if (out) {
      const body = concat(values);
      out.push(encodeVarint(body.length), body);
    }
  }
}

/** Minimal varint of a non-negative value below 2^32. */
function encodeVarint(v: number): Uint8Array {
  const b: number[] = [];
  while (v >= 0x80) {
    b.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  b.push(v);
  return Uint8Array.from(b);
}

/** An int32 as protobuf writes it: minimal when non-negative, sign-extended to 10 bytes when negative. */
function encodeInt32(v: number): Uint8Array {
  if (v >= 0) return encodeVarint(v);
  const b = new Uint8Array(10);
  let lo = v >>> 0;
  for (let i = 0; i < 4; i++) {
    b[i] = (lo & 0x7f) | 0x80;
    lo >>>= 7;
  }
  b[4] = (lo & 0x0f) | 0x70 | 0x80; // bits 28-31, then the sign extension
  b.fill(0xff, 5, 9);
  b[9] = 0x01;
  return b;
}

function concat(parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
