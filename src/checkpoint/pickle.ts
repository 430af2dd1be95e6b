/**
 * A restricted unpickler for PyTorch checkpoints (pickle protocols 2 to 5).
 *
 * Nothing is ever executed: GLOBAL / STACK_GLOBAL resolve only names from a fixed allow-list,
 * and each allowed name maps to a pure function that builds plain data (a dict, a tensor
 * reference, a number). Any other global, and any opcode outside the subset a torch state
 * dict or training checkpoint uses, is rejected with a `CheckpointError` naming it.
 */
import { halfToFloat } from '../io/npy.js';

/** Every failure to read a checkpoint: the message names the file (when known) and the problem. */
export class CheckpointError extends Error {
  override name = 'CheckpointError';
}

export type TensorDtype = 'float32' | 'float16' | 'bfloat16' | 'float64' | 'int64' | 'int32' | 'uint8' | 'bool';

export const ITEM_SIZE: Readonly<Record<TensorDtype, number>> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  uint8: 1,
  bool: 1,
};

/** A value produced by the unpickler. Tuples and lists are both arrays; dicts are Maps. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | PickleDict
  | PickleObject;

export type PickleDict = Map<PickleValue, PickleValue>;

/** Base of the data-only objects the allow-listed globals and persistent ids produce. */
export abstract class PickleObject {}

/** A `torch.XStorage` class named by a checkpoint; it only carries the element type. */
export class StorageType extends PickleObject {
  constructor(
    readonly qualifiedName: string,
    readonly dtype: TensorDtype,
  ) {
    super();
  }
}

/** A storage named by a persistent id; its bytes are located by the container (zip or legacy). */
export class StorageRef extends PickleObject {
  constructor(
    readonly key: string,
    readonly dtype: TensorDtype,
    /** Number of elements of the storage. */
    readonly size: number,
    /** Element offset into the root storage `key` (legacy views), else 0. */
    readonly viewOffset = 0,
  ) {
    super();
  }
}

/** What `torch._utils._rebuild_tensor_v2` would build: a strided view of a storage. */
export class TensorRef extends PickleObject {
  constructor(
    readonly storage: StorageRef,
    readonly storageOffset: number,
    readonly shape: number[],
    readonly strides: number[],
  ) {
    super();
  }
}

/** An `argparse.Namespace` or similar attribute bag, kept as data. */
class AttributeBag extends PickleObject {
  constructor(
    readonly className: string,
    readonly attributes: PickleDict = new Map(),
  ) {
    super();
  }
}

/** A `numpy.dtype`, reduced to what is needed to decode a numpy scalar. */
export class NumpyDtype extends PickleObject {
  littleEndian = true;
  constructor(readonly code: string) {
    super();
  }
}

/** An allow-listed global: calling it (REDUCE / NEWOBJ) builds data, never runs foreign code. */
class AllowedGlobal extends PickleObject {
  constructor(
    readonly qualifiedName: string,
    readonly construct: (args: PickleValue[]) => PickleValue,
  ) {
    super();
  }
}

const STORAGE_DTYPES: Readonly<Record<string, TensorDtype>> = {
  FloatStorage: 'float32',
  HalfStorage: 'float16',
  BFloat16Storage: 'bfloat16',
  DoubleStorage: 'float64',
  LongStorage: 'int64',
  IntStorage: 'int32',
  ByteStorage: 'uint8',
  BoolStorage: 'bool',
  UntypedStorage: 'uint8',
};

function fail(message: string): never {
  throw new CheckpointError(message);
}

function asInt(value: PickleValue, what: string): number {
  if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
  return fail(`${what} must be an integer, got ${describe(value)}`);
}

function asIntTuple(value: PickleValue, what: string): number[] {
  if (!Array.isArray(value)) return fail(`${what} must be a tuple of integers, got ${describe(value)}`);
  return value.map((v, i) => asInt(v, `${what}[${i}]`));
}

function asTensorRef(value: PickleValue, what: string): TensorRef {
  if (value instanceof TensorRef) return value;
  return fail(`${what} must be a tensor, got ${describe(value)}`);
}

function arity(name: string, args: PickleValue[], min: number, max: number): void {
  if (args.length < min || args.length > max) fail(`${name} called with ${args.length} arguments`);
}

/** `_rebuild_tensor_v2(storage, offset, size, stride, requires_grad, hooks[, metadata])`. */
function rebuildTensor(name: string, args: PickleValue[], min: number, max: number): TensorRef {
  arity(name, args, min, max);
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) fail(`${name}: first argument must be a storage, got ${describe(storage)}`);
  const shape = asIntTuple(size, `${name} size`);
  const strides = asIntTuple(stride, `${name} stride`);
  if (shape.length !== strides.length) fail(`${name}: size has ${shape.length} dims but stride has ${strides.length}`);
  return new TensorRef(storage, asInt(offset, `${name} storage offset`), shape, strides);
}

function orderedDict(args: PickleValue[]): PickleDict {
  const [items] = args;
  const dict: PickleDict = new Map();
  if (items === undefined || items === null) return dict;
  if (!Array.isArray(items)) return fail(`collections.OrderedDict: unsupported argument ${describe(items)}`);
  for (const pair of items) {
    if (!Array.isArray(pair) || pair.length !== 2) fail('collections.OrderedDict: items must be (key, value) pairs');
    dict.set(pair[0], pair[1]);
  }
  return dict;
}

/** Protocol 2 writes Python 3 `bytes` as `_codecs.encode(text, 'latin1')`. */
function codecsEncode(args: PickleValue[]): Uint8Array {
  arity('_codecs.encode', args, 2, 2);
  const [text, encoding] = args;
  if (typeof text !== 'string' || (encoding !== 'latin1' && encoding !== 'latin-1')) {
    return fail(`_codecs.encode: only (str, 'latin1') is supported`);
  }
  return Uint8Array.from(text, (c) => c.charCodeAt(0) & 0xff);
}

/** `numpy.core.multiarray.scalar(dtype, bytes)`: a numeric scalar, as found in mmpose `meta`. */
function numpyScalar(args: PickleValue[]): number | bigint | boolean {
  arity('numpy scalar', args, 2, 2);
  const [dtype, raw] = args;
  if (!(dtype instanceof NumpyDtype) || !(raw instanceof Uint8Array)) return fail('numpy scalar: expected (dtype, bytes)');
  const view = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const le = dtype.littleEndian;
  const readers: Record<string, [number, () => number | bigint | boolean]> = {
    f2: [2, () => halfToFloat(view.getUint16(0, le))],
    f4: [4, () => view.getFloat32(0, le)],
    f8: [8, () => view.getFloat64(0, le)],
    i1: [1, () => view.getInt8(0)],
    i2: [2, () => view.getInt16(0, le)],
    i4: [4, () => view.getInt32(0, le)],
    i8: [8, () => view.getBigInt64(0, le)],
    u1: [1, () => view.getUint8(0)],
    u2: [2, () => view.getUint16(0, le)],
    u4: [4, () => view.getUint32(0, le)],
    u8: [8, () => view.getBigUint64(0, le)],
    b1: [1, () => view.getUint8(0) !== 0],
  };
  const reader = readers[dtype.code];
  if (reader === undefined) return fail(`numpy scalar of dtype '${dtype.code}' is not supported`);
  if (raw.byteLength !== reader[0]) return fail(`numpy scalar '${dtype.code}' has ${raw.byteLength} bytes`);
  return reader[1]();
}

function numpyDtype(args: PickleValue[]): NumpyDtype {
  const [code] = args;
  if (typeof code !== 'string') return fail('numpy.dtype: expected a type code');
  return new NumpyDtype(code);
}

function setOf(args: PickleValue[]): PickleValue[] {
  const [items] = args;
  if (items === undefined) return [];
  if (!Array.isArray(items)) return fail('builtins.set: expected a list');
  return [...items];
}

type Constructor = (args: PickleValue[]) => PickleValue;

/** The only globals a checkpoint may name. Each builds data; none has side effects. */
const ALLOWED_GLOBALS: ReadonlyMap<string, Constructor> = new Map<string, Constructor>([
  ['collections.OrderedDict', orderedDict],
  ['torch._utils._rebuild_tensor_v2', (a) => rebuildTensor('_rebuild_tensor_v2', a, 6, 7)],
  ['torch._utils._rebuild_tensor', (a) => rebuildTensor('_rebuild_tensor', a, 4, 4)],
  ['torch._utils._rebuild_parameter', (a) => (arity('_rebuild_parameter', a, 3, 3), asTensorRef(a[0], 'parameter data'))],
  [
    'torch._utils._rebuild_parameter_with_state',
    (a) => (arity('_rebuild_parameter_with_state', a, 4, 4), asTensorRef(a[0], 'parameter data')),
  ],
  ['_codecs.encode', codecsEncode],
  // Protocol 2 writes an empty bytes object as a call of bytes() without arguments.
  ['builtins.bytes', (a) => (arity('bytes', a, 0, 0), new Uint8Array(0))],
  ['builtins.set', setOf],
  ['builtins.frozenset', setOf],
  ['argparse.Namespace', () => new AttributeBag('argparse.Namespace')],
  ['numpy.dtype', numpyDtype],
  ['numpy.core.multiarray.scalar', numpyScalar],
  ['numpy._core.multiarray.scalar', numpyScalar],
]);

/** Resolves GLOBAL / STACK_GLOBAL against the allow-list. */
function resolveGlobal(module: string, name: string): PickleObject {
  // Python 3 writes `builtins` as Python 2's `__builtin__` at protocols 0-2 (torch.save's default is 2).
  const qualifiedName = `${module === '__builtin__' ? 'builtins' : module}.${name}`;
  if (module === 'torch' && Object.hasOwn(STORAGE_DTYPES, name)) {
    return new StorageType(qualifiedName, STORAGE_DTYPES[name]);
  }
  const construct = ALLOWED_GLOBALS.get(qualifiedName);
  if (construct === undefined) {
    const refused = `global '${qualifiedName}' is not allowed in a checkpoint`;
    if (!isModelClass(module, name)) return fail(refused);
    return fail(`${refused}: it is a model class, so the file holds a whole model pickled by torch.save(model), which only Python `
      + "with the model's code can load; load it there (torch.load(path, weights_only=False)) and save its weights: "
      + "torch.save(model.state_dict(), 'weights.pth'), then give weights.pth");
  }
  return new AllowedGlobal(qualifiedName, construct);
}

/**
 * Whether a refused global names the class of a model, as `torch.save(model)` pickles it first: a
 * torch.nn module (or the DataParallel around one), or a class of the training script (`__main__`)
 * or of a `models` package (the reference's `lib/models`, mmpose's, torchvision's).
 */
function isModelClass(module: string, name: string): boolean {
  const isClassName = /^[A-Z]/.test(name);
  return isClassName && (/^torch\.nn\.(modules|parallel)\./.test(module) || module === '__main__' || module.split('.').includes('models'));
}

export function describe(value: PickleValue | undefined): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'None';
  if (Array.isArray(value)) return `a sequence of ${value.length}`;
  if (value instanceof Map) return 'a dict';
  if (value instanceof Uint8Array) return `${value.byteLength} bytes`;
  if (value instanceof PickleObject) {
    if (value instanceof AllowedGlobal || value instanceof StorageType) return value.qualifiedName;
    return value.constructor.name;
  }
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value);
  return `${typeof value} ${String(value)}`;
}

/** Bounds-checked little-endian reads over the pickle bytes. */
class ByteReader {
  private readonly view: DataView;
  pos: number;

  constructor(
    readonly bytes: Uint8Array,
    start: number,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    this.pos = start;
  }

  private need(n: number): number {
    const at = this.pos;
    if (n < 0 || at + n > this.bytes.byteLength) {
      fail(`pickle is truncated: needs ${n} bytes at offset ${at}, ${this.bytes.byteLength - at} left`);
    }
    this.pos += n;
    return at;
  }

  u8(): number {
    return this.view.getUint8(this.need(1));
  }
  u16(): number {
    return this.view.getUint16(this.need(2), true);
  }
  u32(): number {
    return this.view.getUint32(this.need(4), true);
  }
  i32(): number {
    return this.view.getInt32(this.need(4), true);
  }
  u64(): number {
    const value = this.view.getBigUint64(this.need(8), true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(`length ${value} in pickle is too large`);
    return Number(value);
  }
  f64be(): number {
    return this.view.getFloat64(this.need(8), false);
  }
  take(n: number): Uint8Array {
    const at = this.need(n);
    return this.bytes.subarray(at, at + n);
  }
  /** A newline-terminated ASCII line (GLOBAL's arguments). */
  line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) fail(`pickle is truncated: unterminated line at offset ${this.pos}`);
    const text = latin1(this.bytes.subarray(this.pos, end));
    this.pos = end + 1;
    return text;
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function latin1(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += String.fromCharCode(b);
  return out;
}

function decodeUtf8(bytes: Uint8Array, at: number): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return fail(`invalid UTF-8 string in pickle at offset ${at}`);
  }
}

/** Python ints in checkpoints are small; a longer LONG4 only costs quadratic BigInt work. */
const MAX_LONG_BYTES = 256;

/** Little-endian two's-complement integer (LONG1 / LONG4), as a number when it is safe. */
function decodeLong(bytes: Uint8Array): number | bigint {
  if (bytes.length > MAX_LONG_BYTES) fail(`integer of ${bytes.length} bytes in pickle is too large`);
  if (bytes.length === 0) return 0;
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]);
  if (bytes[bytes.length - 1] & 0x80) value -= 1n << BigInt(8 * bytes.length);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

/** Pickle opcodes handled here, by their byte. */
const OP = {
  MARK: 0x28, // (
  STOP: 0x2e, // .
  POP: 0x30, // 0
  POP_MARK: 0x31, // 1
  DUP: 0x32, // 2
  BINFLOAT: 0x47, // G
  BININT: 0x4a, // J
  BININT1: 0x4b, // K
  BININT2: 0x4d, // M
  NONE: 0x4e, // N
  BINPERSID: 0x51, // Q
  REDUCE: 0x52, // R
  BINSTRING: 0x54, // T
  SHORT_BINSTRING: 0x55, // U
  BINUNICODE: 0x58, // X
  EMPTY_LIST: 0x5d, // ]
  APPEND: 0x61, // a
  BUILD: 0x62, // b
  GLOBAL: 0x63, // c
  APPENDS: 0x65, // e
  BINGET: 0x68, // h
  LONG_BINGET: 0x6a, // j
  BINPUT: 0x71, // q
  LONG_BINPUT: 0x72, // r
  SETITEM: 0x73, // s
  TUPLE: 0x74, // t
  SETITEMS: 0x75, // u
  EMPTY_DICT: 0x7d, // }
  EMPTY_TUPLE: 0x29, // )
  PROTO: 0x80,
  NEWOBJ: 0x81,
  TUPLE1: 0x85,
  TUPLE2: 0x86,
  TUPLE3: 0x87,
  NEWTRUE: 0x88,
  NEWFALSE: 0x89,
  LONG1: 0x8a,
  LONG4: 0x8b,
  BINBYTES: 0x42, // B (protocol 3)
  SHORT_BINBYTES: 0x43, // C (protocol 3)
  SHORT_BINUNICODE: 0x8c,
  BINUNICODE8: 0x8d,
  BINBYTES8: 0x8e,
  EMPTY_SET: 0x8f,
  ADDITEMS: 0x90,
  FROZENSET: 0x91,
  NEWOBJ_EX: 0x92,
  STACK_GLOBAL: 0x93,
  MEMOIZE: 0x94,
  FRAME: 0x95,
  BYTEARRAY8: 0x96,
} as const;

/** Standard opcodes deliberately not handled (text protocols 0/1, extension registry, out-of-band buffers). */
const REJECTED_OPCODES: Readonly<Record<string, number>> = {
  INT: 0x49, // I
  LONG: 0x4c, // L
  STRING: 0x53, // S
  UNICODE: 0x56, // V
  FLOAT: 0x46, // F
  PERSID: 0x50, // P
  GET: 0x67, // g
  PUT: 0x70, // p
  DICT: 0x64, // d
  LIST: 0x6c, // l
  INST: 0x69, // i
  OBJ: 0x6f, // o
  EXT1: 0x82,
  EXT2: 0x83,
  EXT4: 0x84,
  NEXT_BUFFER: 0x97,
  READONLY_BUFFER: 0x98,
};

const OPCODE_NAMES = new Map<number, string>(
  [...Object.entries(OP), ...Object.entries(REJECTED_OPCODES)].map(([name, code]) => [code, name]),
);

export interface UnpickleOptions {
  /** Turns a BINPERSID id into a value (torch: the storage descriptor tuple). */
  persistentLoad?: (pid: PickleValue) => PickleValue;
}

export interface UnpickleResult {
  value: PickleValue;
  /** Offset just past the STOP opcode: where the next pickle of a legacy file starts. */
  end: number;
}

/** Unpickles one object starting at `start`. Throws `CheckpointError` on anything unsupported. */
export function unpickle(bytes: Uint8Array, start = 0, options: UnpickleOptions = {}): UnpickleResult {
  return new Unpickler(new ByteReader(bytes, start), options).run();
}

class Unpickler {
  private stack: PickleValue[] = [];
  private readonly marks: PickleValue[][] = [];
  private readonly memo = new Map<number, PickleValue>();

  constructor(
    private readonly reader: ByteReader,
    private readonly options: UnpickleOptions,
  ) {}

  run(): UnpickleResult {
    for (;;) {
      const at = this.reader.pos;
      const code = this.reader.u8();
      if (code === OP.STOP) {
        if (this.stack.length !== 1 || this.marks.length !== 0) fail(`malformed pickle: STOP at offset ${at} with an unbalanced stack`);
        return { value: this.stack[0], end: this.reader.pos };
      }
      this.step(code, at);
    }
  }

  private push(value: PickleValue): void {
    this.stack.push(value);
  }

  private pop(at: number): PickleValue {
    if (this.stack.length === 0) fail(`malformed pickle: stack underflow at offset ${at}`);
    return this.stack.pop() as PickleValue;
  }

  private top(at: number): PickleValue {
    if (this.stack.length === 0) fail(`malformed pickle: stack underflow at offset ${at}`);
    return this.stack[this.stack.length - 1];
  }

  /** Items pushed since the last MARK, restoring the stack below it. */
  private popMark(at: number): PickleValue[] {
    const items = this.stack;
    const below = this.marks.pop();
    if (below === undefined) return fail(`malformed pickle: no MARK before offset ${at}`);
    this.stack = below;
    return items;
  }

  private memoGet(index: number, at: number): PickleValue {
    if (!this.memo.has(index)) fail(`malformed pickle: memo entry ${index} read before written (offset ${at})`);
    return this.memo.get(index) as PickleValue;
  }

  private step(code: number, at: number): void {
    const r = this.reader;
    switch (code) {
      case OP.PROTO: {
        const protocol = r.u8();
        if (protocol < 2 || protocol > 5) fail(`pickle protocol ${protocol} is not supported (2 to 5)`);
        return;
      }
      case OP.FRAME:
        r.u64(); // framing is only a read-ahead hint
        return;
      case OP.MARK:
        this.marks.push(this.stack);
        this.stack = [];
        return;
      case OP.POP:
        this.pop(at);
        return;
      case OP.POP_MARK:
        this.popMark(at);
        return;
      case OP.DUP:
        return this.push(this.top(at));
      case OP.NONE:
        return this.push(null);
      case OP.NEWTRUE:
        return this.push(true);
      case OP.NEWFALSE:
        return this.push(false);
      case OP.BININT:
        return this.push(r.i32());
      case OP.BININT1:
        return this.push(r.u8());
      case OP.BININT2:
        return this.push(r.u16());
      case OP.LONG1:
        return this.push(decodeLong(r.take(r.u8())));
      case OP.LONG4:
        return this.push(decodeLong(r.take(r.u32())));
      case OP.BINFLOAT:
        return this.push(r.f64be());
      case OP.SHORT_BINUNICODE:
        return this.push(decodeUtf8(r.take(r.u8()), at));
      case OP.BINUNICODE:
        return this.push(decodeUtf8(r.take(r.u32()), at));
      case OP.BINUNICODE8:
        return this.push(decodeUtf8(r.take(r.u64()), at));
      // Python 2 `str`: torch.load decodes these as UTF-8 by default.
      case OP.SHORT_BINSTRING:
        return this.push(decodeUtf8(r.take(r.u8()), at));
      case OP.BINSTRING:
        return this.push(decodeUtf8(r.take(r.u32()), at));
      case OP.SHORT_BINBYTES:
        return this.push(r.take(r.u8()).slice());
      case OP.BINBYTES:
        return this.push(r.take(r.u32()).slice());
      case OP.BINBYTES8:
      case OP.BYTEARRAY8:
        return this.push(r.take(r.u64()).slice());
      case OP.EMPTY_LIST:
        return this.push([]);
      case OP.EMPTY_TUPLE:
        return this.push([]);
      case OP.EMPTY_DICT:
        return this.push(new Map());
      case OP.EMPTY_SET:
        return this.push([]);
      case OP.TUPLE:
      case OP.FROZENSET:
        return this.push(this.popMark(at));
      case OP.TUPLE1:
        return this.push([this.pop(at)]);
      case OP.TUPLE2: {
        const b = this.pop(at);
        return this.push([this.pop(at), b]);
      }
      case OP.TUPLE3: {
        const c = this.pop(at);
        const b = this.pop(at);
        return this.push([this.pop(at), b, c]);
      }
      case OP.APPEND:
        this.sequenceAt(at).push(this.pop(at));
        return;
      case OP.APPENDS:
      case OP.ADDITEMS: {
        const items = this.popMark(at);
        const sequence = this.sequenceAt(at);
        // Not push(...items): a long list as call arguments overflows the stack.
        for (const item of items) sequence.push(item);
        return;
      }
      case OP.SETITEM: {
        const value = this.pop(at);
        const key = this.pop(at);
        this.dictAt(at).set(key, value);
        return;
      }
      case OP.SETITEMS: {
        const items = this.popMark(at);
        if (items.length % 2 !== 0) fail(`malformed pickle: SETITEMS with an odd item count at offset ${at}`);
        const dict = this.dictAt(at);
        for (let i = 0; i < items.length; i += 2) dict.set(items[i], items[i + 1]);
        return;
      }
      case OP.BINPUT:
        this.memo.set(r.u8(), this.top(at));
        return;
      case OP.LONG_BINPUT:
        this.memo.set(r.u32(), this.top(at));
        return;
      case OP.MEMOIZE:
        this.memo.set(this.memo.size, this.top(at));
        return;
      case OP.BINGET:
        return this.push(this.memoGet(r.u8(), at));
      case OP.LONG_BINGET:
        return this.push(this.memoGet(r.u32(), at));
      case OP.GLOBAL: {
        const module = r.line();
        const name = r.line();
        return this.push(resolveGlobal(module, name));
      }
      case OP.STACK_GLOBAL: {
        const name = this.pop(at);
        const module = this.pop(at);
        if (typeof module !== 'string' || typeof name !== 'string') fail(`malformed pickle: STACK_GLOBAL needs two strings (offset ${at})`);
        return this.push(resolveGlobal(module, name));
      }
      case OP.REDUCE:
      case OP.NEWOBJ: {
        const args = this.pop(at);
        const callable = this.pop(at);
        return this.push(this.call(callable, args, at));
      }
      case OP.NEWOBJ_EX: {
        const kwargs = this.pop(at);
        const args = this.pop(at);
        const callable = this.pop(at);
        if (!(kwargs instanceof Map) || kwargs.size > 0) fail(`NEWOBJ_EX with keyword arguments is not supported (offset ${at})`);
        return this.push(this.call(callable, args, at));
      }
      case OP.BUILD: {
        const state = this.pop(at);
        build(this.top(at), state, at);
        return;
      }
      case OP.BINPERSID: {
        const pid = this.pop(at);
        if (this.options.persistentLoad === undefined) fail(`unexpected persistent id at offset ${at}`);
        return this.push(this.options.persistentLoad(pid));
      }
      default: {
        const name = OPCODE_NAMES.get(code);
        fail(
          name === undefined
            ? `unsupported pickle opcode 0x${code.toString(16).padStart(2, '0')} at offset ${at}`
            : `pickle opcode ${name} is not allowed (offset ${at})`,
        );
      }
    }
  }

  private sequenceAt(at: number): PickleValue[] {
    const target = this.top(at);
    if (!Array.isArray(target)) return fail(`malformed pickle: append to ${describe(target)} at offset ${at}`);
    return target;
  }

  private dictAt(at: number): PickleDict {
    const target = this.top(at);
    if (!(target instanceof Map)) return fail(`malformed pickle: set item on ${describe(target)} at offset ${at}`);
    return target;
  }

  private call(callable: PickleValue, args: PickleValue, at: number): PickleValue {
    if (!(callable instanceof AllowedGlobal)) return fail(`cannot call ${describe(callable)} (offset ${at})`);
    if (!Array.isArray(args)) return fail(`${callable.qualifiedName}: arguments must be a tuple (offset ${at})`);
    return callable.construct(args);
  }
}

/**
 * BUILD sets an object's state. Only data objects accept it: a dict (torch attaches
 * `_metadata` to state dicts, irrelevant here), a tensor (hooks state), an attribute bag,
 * and a numpy dtype (whose state holds the byte order).
 */
function build(target: PickleValue, state: PickleValue, at: number): void {
  if (target instanceof Map || target instanceof TensorRef) return;
  if (target instanceof AttributeBag) {
    if (!(state instanceof Map)) return fail(`${target.className}: unsupported state (offset ${at})`);
    for (const [k, v] of state) target.attributes.set(k, v);
    return;
  }
  if (target instanceof NumpyDtype) {
    const byteOrder = Array.isArray(state) ? state[1] : undefined;
    if (byteOrder === '>') target.littleEndian = false;
    return;
  }
  fail(`BUILD on ${describe(target)} is not allowed (offset ${at})`);
}
