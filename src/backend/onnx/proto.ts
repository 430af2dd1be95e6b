/** Small constructors over the ONNX protobuf schema (the `onnx-proto` package). */
import onnxProto from 'onnx-proto';

export const { onnx } = onnxProto;
export type ModelProto = onnxProto.onnx.ModelProto;
export type GraphProto = onnxProto.onnx.IGraphProto;
export type NodeProto = onnxProto.onnx.INodeProto;
export type TensorProto = onnxProto.onnx.ITensorProto;
export type AttributeProto = onnxProto.onnx.IAttributeProto;
export type ValueInfoProto = onnxProto.onnx.IValueInfoProto;

const { AttributeType } = onnx.AttributeProto;
const { DataType } = onnx.TensorProto;

export function intsAttr(name: string, ints: number[]): AttributeProto {
  return { name, type: AttributeType.INTS, ints };
}

export function intAttr(name: string, i: number): AttributeProto {
  return { name, type: AttributeType.INT, i };
}

export function stringAttr(name: string, value: string): AttributeProto {
  return { name, type: AttributeType.STRING, s: new TextEncoder().encode(value) };
}

export function floatTensor(name: string, dims: number[], data: Float32Array): TensorProto {
  return { name, dims, dataType: DataType.FLOAT, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

/** A tensor of 8- or 32-bit integers (quantized weights, zero points, biases); `dims` `[]` is a scalar. */
export function integerTensor(name: string, dims: number[], data: Int8Array | Uint8Array | Int32Array): TensorProto {
  const dataType = data instanceof Int8Array ? DataType.INT8 : data instanceof Uint8Array ? DataType.UINT8 : DataType.INT32;
  return { name, dims, dataType, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export function node(opType: string, inputs: string[], outputs: string[], attribute: AttributeProto[] = [], name = outputs[0]): NodeProto {
  return { opType, input: inputs, output: outputs, attribute, name };
}

/** A float32 value of any shape (an intermediate tensor exposed as an output). */
export function floatValue(name: string): ValueInfoProto {
  return { name, type: { tensorType: { elemType: DataType.FLOAT } } };
}

/** A float32 NCHW value whose batch, height and width are symbolic. */
export function dynamicImageValue(name: string, channels: number): ValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType: DataType.FLOAT,
        shape: { dim: [{ dimParam: 'batch' }, { dimValue: channels }, { dimParam: `${name}_height` }, { dimParam: `${name}_width` }] },
      },
    },
  };
}
