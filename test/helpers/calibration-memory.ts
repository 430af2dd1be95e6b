/**
 * Run in a process of its own (`node --import tsx test/helpers/calibration-memory.ts calibrate|infer`):
 * the tiny model over the calibration inputs of four photos of different widths, calibrating or
 * inferring; prints how far the peak RSS rose above the RSS before the first run, in MB.
 */
import sharp from 'sharp';
import { compileModel } from '../../src/model/load.js';
import { presetConfig } from '../../src/config/presets.js';
import { calibrationInputs } from '../../src/model/quantize.js';
import { observeActivationRanges } from '../../src/backend/onnx/calibrate.js';
import { OnnxNetwork } from '../../src/backend/onnx/session.js';
import { DEMO_IMAGE, TINY_COCO_CHECKPOINT } from '../../src/paths.js';
import { peakRssKb } from '../../bench/peak-rss.js';

const config = presetConfig('tiny_coco');
const model = compileModel(config, TINY_COCO_CHECKPOINT());
const widths = [200, 1000, 450, 700];
const images = await Promise.all(widths.map((width) => sharp(DEMO_IMAGE()).resize(width, 200, { fit: 'fill' }).png().toBuffer()));
const inputs = () => calibrationInputs({ images, settings: { ...config.test, inputSize: 256 } });
const start = process.memoryUsage().rss;
if (process.argv[2] === 'calibrate') {
  await observeActivationRanges(model, inputs());
} else {
  const network = await OnnxNetwork.create(model);
  for await (const input of inputs()) await network.run(input.data, input.dims);
  await network.dispose();
}
console.log(Math.round((peakRssKb() * 1024 - start) / 1e6));
