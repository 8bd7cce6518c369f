// Owns running the vision encoder (projector included) on preprocessed pixels and returning its feature rows.
// It must not preprocess images, build prompts or touch the decoder.

import { EngineError } from '../shared/errors';
import type { PixelValues } from './image-preprocess';
import type { OrtRuntime, OrtSession, OrtTensor } from './runtime';
import { convertFloat, floatTensor, readFloatData, type FloatData, type FloatType } from './tensor-utils';

/** One image's features: `rows` × `dim` values, one row per `<image>` token. */
export interface ImageFeatures {
  data: FloatData;
  type: FloatType;
  rows: number;
  dim: number;
}

function floatTypeOf(meta: OrtSession['inputMetadata'][number] | undefined): FloatType {
  return meta && meta.isTensor && meta.type === 'float16' ? 'float16' : 'float32';
}

/** Wraps the `vision_encoder` session: pixel_values [1, 3, H, W] → image_features [1, N, D] (or [N, D]). */
export class VisionEncoder {
  private readonly inputName: string;
  private readonly outputName: string;
  private readonly pixelType: FloatType;

  constructor(
    private readonly ort: OrtRuntime,
    private readonly session: OrtSession,
  ) {
    const input = session.inputNames.includes('pixel_values') ? 'pixel_values' : session.inputNames[0];
    const output = session.outputNames.includes('image_features') ? 'image_features' : session.outputNames[0];
    if (input === undefined || output === undefined) {
      throw new EngineError('bad-model', 'The vision encoder has no inputs or outputs. Re-export the model.');
    }
    this.inputName = input;
    this.outputName = output;
    this.pixelType = floatTypeOf(session.inputMetadata.find((m) => m.name === input));
  }

  /**
   * Encodes one image; the row count is what the encoder really returns (CLS dropped or not, per the graph).
   * @throws EngineError('inference-failed') when the runtime fails.
   */
  async encode(pixels: PixelValues): Promise<ImageFeatures> {
    const input = floatTensor(
      this.ort,
      this.pixelType,
      convertFloat(pixels.data, 'float32', this.pixelType),
      [1, 3, pixels.height, pixels.width],
    );
    let out: OrtTensor | undefined;
    try {
      const result = await this.session.run({ [this.inputName]: input });
      out = result[this.outputName] as OrtTensor | undefined;
      for (const [name, value] of Object.entries(result))
        if (name !== this.outputName) (value as OrtTensor).dispose();
    } catch (cause) {
      throw new EngineError(
        'inference-failed',
        'The vision encoder failed on this image. Try another picture.',
        {
          cause,
        },
      );
    } finally {
      input.dispose();
    }
    if (!out)
      throw new EngineError(
        'bad-model',
        'The vision encoder returned no image features. Re-export the model.',
      );
    const dims = out.dims;
    const dim = dims[dims.length - 1] as number;
    // A copy, so the features can be cached after the tensor is released.
    const { data, type } = await readFloatData(out);
    out.dispose();
    return { data, type, rows: data.length / dim, dim };
  }

  async release(): Promise<void> {
    await this.session.release();
  }
}
